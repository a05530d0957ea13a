//! The extended ACL that makes a device's object-groups effective, as text
//! for the operator to paste (tsfleet itself never creates rules): permit
//! the allow group first (both directions), then deny the block group as
//! source and as destination, then permit everything else. Pure.

use std::fmt::Write as _;

/// The default ACL name of `tsfleet acl`.
pub const DEFAULT_ACL_NAME: &str = "THREATSTOP";

/// Why `name` cannot be an IOS extended named ACL, if it cannot: 1–64
/// letters, digits, `-`, `_` or `.`, starting with a letter (a name starting
/// with a digit would be read as a numbered ACL).
pub fn acl_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 64 {
        return Some("must be 1-64 characters".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Some("must start with a letter (a leading digit makes a numbered ACL)".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Some(format!(
            "contains {c:?}: use letters, digits, `-`, `_` or `.`"
        ));
    }
    None
}

/// The configuration-mode lines of the ACL, starting with
/// `ip access-list extended NAME`; entry lines are indented by one space as
/// `show running-config` prints them.
pub fn acl_lines(acl_name: &str, block_group: &str, allow_group: &str) -> Vec<String> {
    vec![
        format!("ip access-list extended {acl_name}"),
        " remark ThreatSTOP: allow list first, then block list both ways (tsfleet acl)".into(),
        format!(" permit ip object-group {allow_group} any"),
        format!(" permit ip any object-group {allow_group}"),
        format!(" deny ip object-group {block_group} any"),
        format!(" deny ip any object-group {block_group}"),
        " permit ip any any".into(),
    ]
}

/// One device as `tsfleet acl` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclDevice {
    pub name: String,
    pub host: String,
    pub block_group: String,
    pub allow_group: String,
}

/// The text `tsfleet acl` prints: one block per distinct pair of group
/// names, in the order the first device of each pair appears, headed by an
/// IOS comment naming every device it is for, followed by how to apply it.
pub fn render(acl_name: &str, devices: &[AclDevice]) -> String {
    let mut blocks: Vec<(&str, &str, Vec<&AclDevice>)> = Vec::new();
    for d in devices {
        match blocks
            .iter_mut()
            .find(|(b, a, _)| *b == d.block_group && *a == d.allow_group)
        {
            Some((_, _, ds)) => ds.push(d),
            None => blocks.push((&d.block_group, &d.allow_group, vec![d])),
        }
    }
    let mut out = String::new();
    for (i, (block, allow, ds)) in blocks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let names: Vec<String> = ds
            .iter()
            .map(|d| format!("{} ({})", d.name, d.host))
            .collect();
        let _ = writeln!(
            out,
            "! {}: paste in configuration mode, then apply the ACL to the interfaces you choose",
            names.join(", ")
        );
        for line in acl_lines(acl_name, block, allow) {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "!  e.g.: interface GigabitEthernet0/0");
        let _ = writeln!(out, "!          ip access-group {acl_name} in");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(name: &str, block: &str, allow: &str) -> AclDevice {
        AclDevice {
            name: name.into(),
            host: format!("{name}.example.net"),
            block_group: block.into(),
            allow_group: allow.into(),
        }
    }

    #[test]
    fn allow_first_then_block_both_ways_then_permit_the_rest() {
        let lines = acl_lines("THREATSTOP", "ts-b", "ts-a");
        assert_eq!(lines[0], "ip access-list extended THREATSTOP");
        let entries: Vec<&str> = lines[1..].iter().map(|l| l.trim()).collect();
        assert_eq!(
            &entries[1..],
            [
                "permit ip object-group ts-a any",
                "permit ip any object-group ts-a",
                "deny ip object-group ts-b any",
                "deny ip any object-group ts-b",
                "permit ip any any",
            ]
        );
    }

    #[test]
    fn devices_with_the_same_groups_share_one_block() {
        let text = render(
            "TS",
            &[
                dev("r1", "b", "a"),
                dev("r2", "b2", "a"),
                dev("r3", "b", "a"),
            ],
        );
        assert_eq!(text.matches("ip access-list extended TS\n").count(), 2);
        assert!(
            text.starts_with("! r1 (r1.example.net), r3 (r3.example.net): paste"),
            "{text}"
        );
        assert!(text.contains("\n! r2 (r2.example.net): paste"), "{text}");
        assert!(text.contains("ip access-group TS in"), "{text}");
    }

    /// The printed text, pasted into the simulator's configuration mode after
    /// tsfleet created the groups, is accepted line by line and leaves an ACL
    /// that references both groups in the documented order.
    #[test]
    fn the_simulated_router_accepts_the_printed_lines() {
        use crate::sim::cli::{Cli, CliOptions};
        use crate::sim::device::DeviceState;
        use std::sync::{Arc, Mutex};
        let state = Arc::new(Mutex::new(DeviceState {
            hostname: "R1".into(),
            version: "15.7(3)M5".into(),
            ..DeviceState::default()
        }));
        let mut cli = Cli::new(
            Arc::clone(&state),
            Arc::new(CliOptions {
                privileged_login: true,
                ..CliOptions::default()
            }),
        );
        let mut send = |line: &str| {
            String::from_utf8_lossy(&cli.input(format!("{line}\r").as_bytes()).output).into_owned()
        };
        for line in [
            "configure terminal",
            "object-group network ts-block",
            "host 203.0.113.9",
            "object-group network ts-allow",
            "host 198.51.100.7",
            "exit",
        ] {
            let out = send(line);
            assert!(!out.contains('%'), "{line}: {out}");
        }
        let text = render(
            "THREATSTOP",
            &[AclDevice {
                name: "r1".into(),
                host: "192.0.2.1".into(),
                block_group: "ts-block".into(),
                allow_group: "ts-allow".into(),
            }],
        );
        for line in text.lines() {
            // `!` lines are comments to IOS; the simulator does not model them.
            if line.starts_with('!') {
                continue;
            }
            let out = send(line);
            assert!(!out.contains('%'), "{line}: {out}");
        }
        send("end");
        let dev = state.lock().unwrap();
        let acl = dev
            .running
            .acls
            .iter()
            .find(|a| a.name == "THREATSTOP")
            .expect("the ACL exists");
        let entries: Vec<&str> = acl
            .lines
            .iter()
            .map(String::as_str)
            .filter(|l| !l.starts_with("remark"))
            .collect();
        assert_eq!(
            entries,
            [
                "permit ip object-group ts-allow any",
                "permit ip any object-group ts-allow",
                "deny ip object-group ts-block any",
                "deny ip any object-group ts-block",
                "permit ip any any",
            ]
        );
        // The groups are now in use: the router refuses to delete them.
        drop(dev);
        let out = send("configure terminal");
        assert!(!out.contains('%'), "{out}");
        assert!(send("no object-group network ts-block").contains("is being used"));
    }

    #[test]
    fn acl_names() {
        assert_eq!(acl_name_problem("THREATSTOP"), None);
        assert_eq!(acl_name_problem("ts-in_1.v2"), None);
        assert!(acl_name_problem("").is_some());
        assert!(acl_name_problem("101").is_some());
        assert!(acl_name_problem("a b").is_some());
        assert!(acl_name_problem(&"a".repeat(65)).is_some());
    }
}
