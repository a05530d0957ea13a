//! The extended ACL that makes a device's object-groups effective, as text
//! for the operator to paste (tsfleet itself never creates rules): permit
//! the allow group first (both directions), then deny the block group as
//! source and as destination, then permit everything else. A device with
//! `ipv6: true` also gets the same rules over its IPv6 groups, as an `ipv6
//! access-list` named `NAME-V6`. Pure.

use std::fmt::Write as _;

/// The default ACL name of `tsfleet acl`.
pub const DEFAULT_ACL_NAME: &str = "THREATSTOP";

/// What the IPv6 ACL's name adds to the IPv4 one's.
pub const V6_SUFFIX: &str = "-V6";

/// The longest ACL name IOS takes.
const MAX_ACL_NAME: usize = 64;

/// Why `name` cannot be an IOS extended named ACL, if it cannot: 1–64
/// letters, digits, `-`, `_` or `.`, starting with a letter (a name
/// starting with a digit would be read as a numbered ACL).
pub fn acl_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > MAX_ACL_NAME {
        return Some(format!("must be 1-{MAX_ACL_NAME} characters"));
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

/// Why `name` leaves no room for the IPv6 ACL's [`V6_SUFFIX`], if it does
/// not: only asked when a device gets the IPv6 ACL too.
pub fn v6_acl_name_problem(name: &str) -> Option<String> {
    (name.len() + V6_SUFFIX.len() > MAX_ACL_NAME).then(|| {
        format!(
            "must be at most {} characters when a device has `ipv6: true` (its IPv6 ACL's name adds `{V6_SUFFIX}`)",
            MAX_ACL_NAME - V6_SUFFIX.len()
        )
    })
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

/// The `ipv6 access-list` lines of the same rules over the IPv6 groups,
/// named `NAME-V6`; entry lines indented as [`acl_lines`]'.
pub fn acl_v6_lines(acl_name: &str, block_group: &str, allow_group: &str) -> Vec<String> {
    vec![
        format!("ipv6 access-list {acl_name}{V6_SUFFIX}"),
        " remark ThreatSTOP: IPv6 allow list first, then block list both ways (tsfleet acl)".into(),
        format!(" permit ipv6 object-group {allow_group} any"),
        format!(" permit ipv6 any object-group {allow_group}"),
        format!(" deny ipv6 object-group {block_group} any"),
        format!(" deny ipv6 any object-group {block_group}"),
        " permit ipv6 any any".into(),
    ]
}

/// One device as `tsfleet acl` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclDevice {
    pub name: String,
    pub host: String,
    pub block_group: String,
    pub allow_group: String,
    /// With `ipv6: true`: its IPv6 groups, which get an `ipv6 access-list`.
    pub v6: Option<V6Groups>,
}

/// A device's `object-group v6-network` groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V6Groups {
    pub block_group: String,
    pub allow_group: String,
}

/// The text `tsfleet acl` prints: one block per distinct set of group
/// names (IPv4 pair, and IPv6 pair if any), in the order the first device of
/// each appears, headed by an IOS comment naming every device it is for,
/// followed by how to apply it.
pub fn render(acl_name: &str, devices: &[AclDevice]) -> String {
    type Groups<'a> = (&'a str, &'a str, Option<&'a V6Groups>);
    let mut blocks: Vec<(Groups, Vec<&AclDevice>)> = Vec::new();
    for d in devices {
        let groups = (
            d.block_group.as_str(),
            d.allow_group.as_str(),
            d.v6.as_ref(),
        );
        match blocks.iter_mut().find(|(g, _)| *g == groups) {
            Some((_, ds)) => ds.push(d),
            None => blocks.push((groups, vec![d])),
        }
    }
    let mut out = String::new();
    for (i, ((block, allow, v6), ds)) in blocks.iter().enumerate() {
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
        if let Some(v6) = v6 {
            // IOS XE refuses an ACL line naming a group that does not exist,
            // and an IPv6 group exists only while it has entries.
            let _ = writeln!(
                out,
                "! IOS XE keeps no empty IPv6 group: leave out the lines of a v6 group whose list has no IPv6 items yet"
            );
            for line in acl_v6_lines(acl_name, &v6.block_group, &v6.allow_group) {
                let _ = writeln!(out, "{line}");
            }
        }
        let _ = writeln!(out, "!  e.g.: interface GigabitEthernet0/0");
        let _ = writeln!(out, "!          ip access-group {acl_name} in");
        if v6.is_some() {
            let _ = writeln!(
                out,
                "!          ipv6 traffic-filter {acl_name}{V6_SUFFIX} in"
            );
        }
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
            v6: None,
        }
    }

    fn dev6(name: &str, block6: &str, allow6: &str) -> AclDevice {
        AclDevice {
            v6: Some(V6Groups {
                block_group: block6.into(),
                allow_group: allow6.into(),
            }),
            ..dev(name, "b", "a")
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

    /// Configuration mode and two IPv4 groups, as tsfleet leaves them.
    const IPV4_GROUPS: [&str; 5] = [
        "configure terminal",
        "object-group network ts-block",
        "host 203.0.113.9",
        "object-group network ts-allow",
        "host 198.51.100.7",
    ];

    /// A simulated router of `version`, logged in at `R1#`.
    struct Router {
        state: crate::sim::device::SharedState,
        cli: crate::sim::cli::Cli,
    }

    impl Router {
        fn new(version: &str) -> Router {
            use crate::sim::cli::{Cli, CliOptions};
            use crate::sim::device::DeviceState;
            use std::sync::{Arc, Mutex};
            let state = Arc::new(Mutex::new(DeviceState {
                hostname: "R1".into(),
                version: version.into(),
                ..DeviceState::default()
            }));
            let options = CliOptions {
                privileged_login: true,
                ..CliOptions::default()
            };
            let cli = Cli::new(Arc::clone(&state), Arc::new(options));
            Router { state, cli }
        }

        /// Type one line; what the router answered.
        fn send(&mut self, line: &str) -> String {
            let step = self.cli.input(format!("{line}\r").as_bytes());
            String::from_utf8_lossy(&step.output).into_owned()
        }

        /// The lines of ACL `name` (IPv4 or IPv6) but its remarks.
        fn acl(&self, name: &str) -> Vec<String> {
            let dev = self.state.lock().unwrap();
            let acls = dev.running.acls.iter().chain(&dev.running.v6_acls);
            let acl = acls.clone().find(|a| a.name == name);
            let acl = acl.unwrap_or_else(|| panic!("no ACL {name}"));
            (acl.lines.iter())
                .filter(|l| !l.starts_with("remark"))
                .cloned()
                .collect()
        }

        /// Whether the router refuses to delete a group because an ACL uses it.
        fn refuses_deleting(&mut self, group_command: &str) -> bool {
            self.accepts(["configure terminal"]);
            self.send(&format!("no {group_command}"))
                .contains("is being used")
        }

        /// Type each line but `!` comments (the simulator does not model
        /// them), asserting none is refused.
        fn accepts<'a>(&mut self, lines: impl IntoIterator<Item = &'a str>) {
            for line in lines.into_iter().filter(|l| !l.starts_with('!')) {
                let out = self.send(line);
                assert!(!out.contains('%'), "{line}: {out}");
            }
        }
    }

    /// The printed text, pasted into the simulator's configuration mode after
    /// tsfleet created the groups, is accepted line by line and leaves an ACL
    /// that references both groups in the documented order.
    #[test]
    fn the_simulated_router_accepts_the_printed_lines() {
        let mut router = Router::new("15.7(3)M5");
        router.accepts(IPV4_GROUPS);
        router.accepts(["exit"]);
        let text = render("THREATSTOP", &[dev("r1", "ts-block", "ts-allow")]);
        router.accepts(text.lines());
        router.send("end");
        assert_eq!(
            router.acl("THREATSTOP"),
            [
                "permit ip object-group ts-allow any",
                "permit ip any object-group ts-allow",
                "deny ip object-group ts-block any",
                "deny ip any object-group ts-block",
                "permit ip any any",
            ]
        );
        // The groups are now in use: the router refuses to delete them.
        assert!(router.refuses_deleting("object-group network ts-block"));
    }

    #[test]
    fn acl_names() {
        assert_eq!(acl_name_problem("THREATSTOP"), None);
        assert_eq!(acl_name_problem("ts-in_1.v2"), None);
        assert!(acl_name_problem("").is_some());
        assert!(acl_name_problem("101").is_some());
        assert!(acl_name_problem("a b").is_some());
        assert!(acl_name_problem(&"a".repeat(64)).is_none());
        assert!(acl_name_problem(&"a".repeat(65)).is_some());
        assert!(v6_acl_name_problem(&"a".repeat(61)).is_none());
        assert!(
            v6_acl_name_problem(&"a".repeat(62)).is_some(),
            "no room for -V6"
        );
    }

    #[test]
    fn ipv6_devices_also_get_an_ipv6_access_list_and_their_own_block() {
        let lines = acl_v6_lines("TS", "b6", "a6");
        assert_eq!(lines[0], "ipv6 access-list TS-V6");
        let entries: Vec<&str> = lines[2..].iter().map(|l| l.trim()).collect();
        assert_eq!(
            entries,
            [
                "permit ipv6 object-group a6 any",
                "permit ipv6 any object-group a6",
                "deny ipv6 object-group b6 any",
                "deny ipv6 any object-group b6",
                "permit ipv6 any any",
            ]
        );
        let text = render(
            "TS",
            &[
                dev6("r1", "b6", "a6"),
                dev("r2", "b", "a"),
                dev6("r3", "b6", "a6"),
                dev6("r4", "other6", "a6"),
            ],
        );
        assert_eq!(
            text.matches("ip access-list extended TS\n").count(),
            3,
            "{text}"
        );
        assert_eq!(
            text.matches("ipv6 access-list TS-V6\n").count(),
            2,
            "{text}"
        );
        assert_eq!(
            text.matches("ipv6 traffic-filter TS-V6 in").count(),
            2,
            "{text}"
        );
        assert!(
            text.starts_with("! r1 (r1.example.net), r3 (r3.example.net): paste"),
            "{text}"
        );
        let r2 = text.split("\n! r2 ").nth(1).unwrap();
        let r2 = r2.split("\n! r4 ").next().unwrap();
        assert!(
            !r2.contains("ipv6"),
            "an IPv4-only device gets no IPv6 lines: {r2}"
        );
    }

    /// The IPv6 lines pasted into a simulated IOS XE router after tsfleet
    /// created the v6 groups are accepted and use them in the printed order.
    #[test]
    fn the_simulated_ios_xe_router_accepts_the_printed_ipv6_lines() {
        let mut router = Router::new("17.9.4a");
        router.accepts(IPV4_GROUPS);
        router.accepts([
            "object-group v6-network ts-block-v6",
            "host 2001:DB8::9",
            "object-group v6-network ts-allow-v6",
            "2001:DB8:7::/48",
            "exit",
        ]);
        let r1 = AclDevice {
            v6: dev6("r1", "ts-block-v6", "ts-allow-v6").v6,
            ..dev("r1", "ts-block", "ts-allow")
        };
        let text = render("THREATSTOP", &[r1]);
        router.accepts(text.lines());
        router.send("end");
        assert_eq!(router.acl("THREATSTOP").len(), 5, "the IPv4 ACL too");
        assert_eq!(
            router.acl("THREATSTOP-V6"),
            [
                "permit ipv6 object-group ts-allow-v6 any",
                "permit ipv6 any object-group ts-allow-v6",
                "deny ipv6 object-group ts-block-v6 any",
                "deny ipv6 any object-group ts-block-v6",
                "permit ipv6 any any",
            ]
        );
        // The v6 groups are now in use: the router refuses to delete them.
        assert!(router.refuses_deleting("object-group v6-network ts-block-v6"));
    }
}
