//! The commented starter inventory `tsfleet init` writes, from the answers
//! the single-router script's setup asked for (block and allow list names,
//! device addresses, DNS port, maximum policy size, SSH username). Never a
//! secret: passwords are `{ env: ... }` references. Pure.
//!
//! A value not given is a placeholder marked [`MARK`], which [`placeholders`]
//! finds again so that no command takes the file as it is; the allow list is
//! optional, so none given means none written.

use super::diagnostic::Diagnostic;
use super::located::Loc;

/// What `tsfleet init` was told; `None`/empty means "write a placeholder"
/// (for the allow list: "none").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answers {
    pub block_list: Option<String>,
    pub allow_list: Option<String>,
    /// Addresses (IP or DNS name) tsfleet connects to over SSH.
    pub devices: Vec<String>,
    pub username: Option<String>,
    pub dns_servers: Vec<String>,
    pub dns_port: u16,
    pub max_policy_size: usize,
}

pub const DEFAULT_DNS_PORT: u16 = 53;
pub use super::model::DEFAULT_MAX_POLICY_SIZE;
pub const PLACEHOLDER_BLOCK: &str = "BLOCK-LIST.ACCOUNT.threatstop.local";
pub const PLACEHOLDER_DEVICE: &str = "192.0.2.1";
pub const PLACEHOLDER_USERNAME: &str = "tsadmin";
pub const PLACEHOLDER_DNS: &str = "192.0.2.53";

impl Default for Answers {
    fn default() -> Self {
        Answers {
            block_list: None,
            allow_list: None,
            devices: Vec::new(),
            username: None,
            dns_servers: Vec::new(),
            dns_port: DEFAULT_DNS_PORT,
            max_policy_size: DEFAULT_MAX_POLICY_SIZE,
        }
    }
}

/// The comment after each placeholder value.
pub const MARK: &str = "# CHANGE ME";

/// `   # CHANGE ME` after a placeholder value.
fn mark(given: bool) -> String {
    if given {
        String::new()
    } else {
        format!("   {MARK}")
    }
}

/// One mistake per line still marked [`MARK`]: a placeholder `tsfleet init`
/// wrote (or its mark, left after the value was set). Every command that
/// reads an inventory file refuses them, `inventory check` included.
pub fn placeholders(text: &str) -> Vec<Diagnostic> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let column = line.find(MARK)? + 1;
            Some(
                Diagnostic::new(
                    Some(Loc {
                        line: i + 1,
                        column,
                    }),
                    format!("a placeholder `tsfleet init` wrote is still here (marked `{MARK}`)"),
                )
                .help(format!(
                    "put your value in its place, then delete the `{MARK}` mark"
                )),
            )
        })
        .collect()
}

/// YAML double-quoted scalar (values come from a terminal or flags).
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// A device name for the n-th address: `rtr-001`, `rtr-002`, …
pub fn device_name(n: usize) -> String {
    format!("rtr-{n:03}")
}

/// The starter inventory text.
pub fn starter(a: &Answers) -> String {
    let servers = if a.dns_servers.is_empty() {
        format!("[{PLACEHOLDER_DNS}]   # CHANGE ME: the ThreatSTOP DNS servers of your account")
    } else {
        format!(
            "[{}]",
            a.dns_servers
                .iter()
                .map(|s| q(s))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let block = a.block_list.as_deref().unwrap_or(PLACEHOLDER_BLOCK);
    // No allow list: a hint, not a placeholder (the allow list is optional).
    let allow = a.allow_list.as_deref().map_or_else(
        || "# allow: [NAME.ACCOUNT.threatstop.local]   # if your account has an allow list".into(),
        |l| format!("allow: [{}]", q(l)),
    );
    let user = a.username.as_deref().unwrap_or(PLACEHOLDER_USERNAME);
    let mut devices = String::new();
    if a.devices.is_empty() {
        devices.push_str(&format!(
            "  - {{ name: {}, host: {PLACEHOLDER_DEVICE} }}   # CHANGE ME: one line per router\n",
            device_name(1)
        ));
    } else {
        for (i, host) in a.devices.iter().enumerate() {
            devices.push_str(&format!(
                "  - {{ name: {}, host: {} }}\n",
                device_name(i + 1),
                q(host)
            ));
        }
    }
    format!(
        "# tsfleet inventory (written by `tsfleet init`). Check it with:\n\
         #   tsfleet inventory check -i THIS-FILE\n\
         # then `tsfleet plan -i THIS-FILE` to see what `apply` would change.\n\
         \n\
         # Where the lists are published (the script's dns_server and DNS port).\n\
         dns:\n  \
           servers: {servers}\n  \
           port: {port}\n\
         \n\
         # Which lists a device carries (the script's block_list / allow_list).\n\
         policies:\n  \
           threatstop:\n    \
             block: [{block}]{block_mark}\n    \
             {allow}\n    \
             max_policy_size: {size}   # entries the router holds (allow first, then the widest block ones)\n    \
             # protect: [192.0.2.0/24]   # prefixes never blocked (management networks)\n\
         \n\
         # Settings of every device (a group or a device can override any of them).\n\
         defaults:\n  \
           username: {user}{user_mark}\n  \
           # Secrets are never written here: tsfleet reads them from the environment\n  \
           # (export them, or put them in the systemd EnvironmentFile, mode 0600),\n  \
           # or from a file: {{ file: secrets/ssh-password }} (relative to this file).\n  \
           password: {{ env: TSFLEET_PASSWORD }}\n  \
           enable_secret: {{ env: TSFLEET_ENABLE }}   # remove if the user logs in at privilege 15\n  \
           # block_group: threatstop-block   # the object-group names (the script's\n  \
           # allow_group: threatstop-allow   # object_group_block / object_group_allow)\n  \
           # ipv6: true                      # IOS XE: IPv6 items into object-group v6-network\n  \
           # block_group_v6: threatstop-block-v6   # (with allow_group_v6: threatstop-allow-v6)\n  \
           # host_key_policy: strict         # known keys only (~/.ssh/known_hosts); or accept-new\n\
         \n\
         # The routers, by the address tsfleet connects to over SSH.\n\
         devices:\n\
         {devices}",
        port = a.dns_port,
        block = q(block),
        block_mark = mark(a.block_list.is_some()),
        size = a.max_policy_size,
        user = q(user),
        user_mark = mark(a.username.is_some()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Secret, parse};

    #[test]
    fn placeholders_parse_and_are_marked() {
        let text = starter(&Answers::default());
        let inv = parse(&text).unwrap();
        assert_eq!(inv.devices.len(), 1);
        assert_eq!(inv.dns.unwrap().port, 53);
        assert_eq!(inv.policies["threatstop"].max_policy_size, Some(30_000));
        assert_eq!(
            inv.defaults.password,
            Some(Secret::Env {
                env: "TSFLEET_PASSWORD".into()
            })
        );
        assert!(text.matches("CHANGE ME").count() >= 4, "{text}");
        assert!(inv.policies["threatstop"].allow.is_empty(), "{text}");
        // Block list, DNS servers, username, device: each found again.
        let lines: Vec<usize> = placeholders(&text)
            .iter()
            .map(|d| d.loc.unwrap().line)
            .collect();
        assert_eq!(lines.len(), 4, "{text}");
        for (line, what) in lines.iter().zip([
            "servers: [192.0.2.53]",
            "block: [\"BLOCK-LIST.",
            "username: \"tsadmin\"",
            "name: rtr-001, host: 192.0.2.1",
        ]) {
            let at = text.lines().nth(line - 1).unwrap();
            assert!(at.contains(what), "line {line}: {at}");
        }
    }

    #[test]
    fn answers_are_written() {
        let text = starter(&Answers {
            block_list: Some("corp-block.acme.threatstop.local".into()),
            allow_list: Some("corp-allow.acme.threatstop.local".into()),
            devices: vec!["192.0.2.7".into(), "br-2.example.net".into()],
            username: Some("net ops".into()),
            dns_servers: vec!["198.51.100.1".into()],
            dns_port: 5353,
            max_policy_size: 1000,
        });
        let inv = parse(&text).unwrap();
        assert_eq!(inv.devices[1].host, "br-2.example.net");
        assert_eq!(inv.devices[1].name, "rtr-002");
        assert_eq!(inv.defaults.username.as_deref(), Some("net ops"));
        assert_eq!(
            inv.policies["threatstop"].block,
            ["corp-block.acme.threatstop.local"]
        );
        assert_eq!(inv.dns.unwrap().port, 5353);
        assert!(!text.contains("CHANGE ME"), "{text}");
        assert!(placeholders(&text).is_empty());
        assert_eq!(
            inv.policies["threatstop"].allow,
            ["corp-allow.acme.threatstop.local"]
        );
    }
}
