//! Checks of what the inventory says, made where each value is written
//! (`defaults`, a group, a device, a policy), so every mistake is reported
//! once, at its own line and column, even in a group no device uses yet.
//!
//! Pure: takes the typed inventory and the location tree, returns the
//! mistakes (errors) and the risky-but-accepted things (warnings). Values
//! other layers parse too (list names, DNS servers, upload URLs, hosts) are
//! checked by their `crate::domain` types, so both agree.

use super::diagnostic::{Diagnostic, closest};
use super::located::{Located, Seg, yaml_path};
use super::{DeviceSettings, Inventory, ResolvedDevice, Secret};
use crate::domain::{DnsServer, ListName, ProxyUrl, UploadUrl, host_problem, redact};
use std::collections::HashMap;

/// Longest object-group name tsfleet writes (IOS accepts 64 characters).
pub const MAX_OBJECT_GROUP_NAME: usize = 64;

/// Why `name` cannot be an IOS network object-group name, if it cannot.
///
/// The rule chosen (stricter than some IOS releases, so it holds on all):
/// 1–64 characters; letters, digits, `-`, `_` and `.`; the first a letter or
/// a digit. Spaces would end the name on the CLI, and `?` or `|` are read by
/// the IOS parser itself.
pub fn object_group_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if name.chars().count() > MAX_OBJECT_GROUP_NAME {
        return Some(format!(
            "is {} characters long; IOS allows at most {MAX_OBJECT_GROUP_NAME}",
            name.chars().count()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        let c = if c == ' ' {
            "a space".to_string()
        } else {
            format!("`{c}`")
        };
        return Some(format!(
            "contains {c}; use only letters, digits, `-`, `_` and `.`"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Some("must start with a letter or a digit".into());
    }
    None
}

/// Why `name` cannot name a device or a group, if it cannot. Names are used
/// by `--limit` (globs, `@group`) and in file names of transcripts.
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if let Some(c) = name.chars().find(|c| {
        c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '/' | '\\' | '*' | '?' | '[' | ']' | '{' | '}' | ',' | '!'
            )
    }) {
        return Some(format!(
            "contains {c:?}; names are used in --limit patterns and file names: use letters, digits, `-`, `_`, `.`, `:`"
        ));
    }
    if name.starts_with('@') {
        return Some("must not start with `@` (`@NAME` selects a group in --limit)".into());
    }
    None
}

/// Every mistake (and every warning) in `inv`.
pub struct Findings {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

pub fn check(inv: &Inventory, tree: &Located) -> Findings {
    let mut f = Findings {
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    check_dns(inv, tree, &mut f);
    check_policies(inv, tree, &mut f);
    check_settings(
        inv,
        tree,
        "`defaults`",
        yaml_path!["defaults"],
        &inv.defaults,
        &mut f,
    );
    for (name, settings) in &inv.groups {
        if let Some(p) = name_problem(name) {
            f.errors.push(Diagnostic::new(
                tree.key(yaml_path!["groups", name.as_str()]),
                format!("group name `{name}` {p}"),
            ));
        }
        let here = format!("group `{name}`");
        check_settings(
            inv,
            tree,
            &here,
            yaml_path!["groups", name.as_str()],
            settings,
            &mut f,
        );
    }
    check_devices(inv, tree, &mut f);
    f
}

fn check_dns(inv: &Inventory, tree: &Located, f: &mut Findings) {
    let Some(dns) = &inv.dns else { return };
    if dns.servers.is_empty() {
        f.errors.push(
            Diagnostic::new(
                tree.nearest(yaml_path!["dns", "servers"]),
                "`dns`: `servers` is empty",
            )
            .help("name at least one DNS server, e.g. servers: [127.0.0.1]"),
        );
    }
    for (i, s) in dns.servers.iter().enumerate() {
        if let Err(p) = s.parse::<DnsServer>() {
            f.errors.push(Diagnostic::new(
                tree.value(yaml_path!["dns", "servers", i]),
                format!("`dns`: server `{s}`: {p}"),
            ));
        }
    }
    if dns.timeout_ms == 0 {
        f.errors.push(Diagnostic::new(
            tree.value(yaml_path!["dns", "timeout_ms"]),
            "`dns`: `timeout_ms` must be above 0",
        ));
    }
}

fn check_policies(inv: &Inventory, tree: &Located, f: &mut Findings) {
    for (name, p) in &inv.policies {
        let at = |key: &str| tree.nearest(yaml_path!["policies", name.as_str(), key]);
        if p.block.is_empty() && p.allow.is_empty() {
            f.errors.push(
                Diagnostic::new(
                    tree.key(yaml_path!["policies", name.as_str()]),
                    format!("policy `{name}` names no list"),
                )
                .help("add `block: [LIST]` and/or `allow: [LIST]` (ThreatSTOP list names)"),
            );
        }
        for (key, lists) in [("block", &p.block), ("allow", &p.allow)] {
            for (i, l) in lists.iter().enumerate() {
                if let Err(reason) = l.parse::<ListName>() {
                    f.errors.push(Diagnostic::new(
                        tree.value(yaml_path!["policies", name.as_str(), key, i]),
                        format!("policy `{name}`: `{key}` list `{l}` is not a DNS name: {reason}"),
                    ));
                }
            }
        }
        if p.max_policy_size == Some(0) {
            f.errors.push(
                Diagnostic::new(
                    at("max_policy_size"),
                    format!("policy `{name}`: `max_policy_size` is 0"),
                )
                .help(
                    "remove it for no cap, or set the largest number of entries the router holds",
                ),
            );
        }
        if let Some(len) = p.min_prefix_len.filter(|&l| l > 32) {
            f.errors.push(Diagnostic::new(
                at("min_prefix_len"),
                format!(
                    "policy `{name}`: `min_prefix_len` {len} is not an IPv4 prefix length (0–32)"
                ),
            ));
        }
        if let Some(len) = p.min_prefix_len_v6.filter(|&l| l > 128) {
            f.errors.push(Diagnostic::new(
                at("min_prefix_len_v6"),
                format!(
                    "policy `{name}`: `min_prefix_len_v6` {len} is not an IPv6 prefix length (0–128)"
                ),
            ));
        }
        if let Some(s) = p.max_shrink.filter(|s| !(0.0..=1.0).contains(s)) {
            f.errors.push(
                Diagnostic::new(at("max_shrink"), format!("policy `{name}`: `max_shrink` {s} is not a fraction"))
                    .help("write a fraction from 0.0 to 1.0, e.g. 0.5 refuses a list that lost more than half"),
            );
        }
        if let Some(up) = &p.log_upload {
            let at = |key: &str| {
                tree.value(yaml_path!["policies", name.as_str(), "log_upload", key])
                    .or_else(|| tree.nearest(yaml_path!["policies", name.as_str(), "log_upload"]))
            };
            if let Err(problem) = up.url.parse::<UploadUrl>() {
                f.errors.push(
                    Diagnostic::new(
                        at("url"),
                        format!(
                            "policy `{name}`: `log_upload.url` {} is not usable: {problem}",
                            redact(&up.url)
                        ),
                    )
                    .help("write the upload endpoint as https://HOST[:PORT]/PATH"),
                );
            }
            if let Some(Err(problem)) = up.proxy.as_deref().map(str::parse::<ProxyUrl>) {
                f.errors.push(Diagnostic::new(
                    at("proxy"),
                    format!("policy `{name}`: `log_upload.proxy` is not usable: {problem}"),
                ));
            }
        }
    }
}

/// Checks of one level's settings (`defaults`, a group or a device).
fn check_settings(
    inv: &Inventory,
    tree: &Located,
    here: &str,
    at: &[Seg],
    s: &DeviceSettings,
    f: &mut Findings,
) {
    let loc = |key: &'static str| {
        let mut p = at.to_vec();
        p.push(Seg::Key(key));
        tree.value(&p).or_else(|| tree.nearest(at))
    };
    if s.port == Some(0) {
        f.errors.push(
            Diagnostic::new(loc("port"), format!("{here}: `port` 0 is not a TCP port"))
                .help("the SSH port, usually 22"),
        );
    }
    for (key, v) in [
        ("block_group", &s.block_group),
        ("allow_group", &s.allow_group),
        ("block_group_v6", &s.block_group_v6),
        ("allow_group_v6", &s.allow_group_v6),
    ] {
        if let Some((name, p)) = v
            .as_ref()
            .and_then(|n| Some((n, object_group_name_problem(n)?)))
        {
            f.errors.push(
                Diagnostic::new(loc(key), format!("{here}: `{key}` `{name}` is not a valid IOS object-group name: it {p}"))
                    .help("object-group names are 1–64 letters, digits, `-`, `_` or `.`, starting with a letter or digit"),
            );
        }
    }
    if let Some(policy) = s.policy.as_ref().filter(|p| !inv.policies.contains_key(*p)) {
        let known: Vec<&str> = inv.policies.keys().map(String::as_str).collect();
        let help = match (closest(policy, &known), known.is_empty()) {
            (_, true) => "define it under `policies:` (no policy is defined)".to_string(),
            (Some(near), _) => format!("did you mean `{near}`? Policies: {}", known.join(", ")),
            (None, _) => format!("policies defined: {}", known.join(", ")),
        };
        f.errors.push(
            Diagnostic::new(loc("policy"), format!("{here}: unknown policy `{policy}`")).help(help),
        );
    }
    for (key, v) in [
        ("connect_timeout_ms", s.connect_timeout_ms),
        ("command_timeout_ms", s.command_timeout_ms),
    ] {
        if v == Some(0) {
            f.errors.push(Diagnostic::new(
                loc(key),
                format!("{here}: `{key}` must be above 0"),
            ));
        }
    }
    if s.username.as_deref().is_some_and(|u| u.trim().is_empty()) {
        f.errors.push(Diagnostic::new(
            loc("username"),
            format!("{here}: `username` is empty"),
        ));
    }
    for (key, v) in [
        ("password", &s.password),
        ("enable_secret", &s.enable_secret),
    ] {
        match v {
            Some(Secret::Literal(_)) => f.warnings.push(
                Diagnostic::new(
                    loc(key),
                    format!("{here}: `{key}` is written in the inventory itself"),
                )
                .help("use `{ env: NAME }` or `{ file: PATH }` so the file can be shared"),
            ),
            Some(Secret::Env { env })
                if env.contains(|c: char| c == '=' || c == '\0' || c.is_whitespace()) =>
            {
                f.errors.push(Diagnostic::new(
                    loc(key),
                    format!("{here}: `{key}`: `{env}` is not an environment variable name"),
                ));
            }
            _ => {}
        }
    }
}

fn check_devices(inv: &Inventory, tree: &Located, f: &mut Findings) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, d) in inv.devices.iter().enumerate() {
        let here = format!("device `{}`", d.name);
        if let Some(p) = name_problem(&d.name) {
            f.errors.push(Diagnostic::new(
                tree.value(yaml_path!["devices", i, "name"]),
                format!("device name `{}` {p}", d.name),
            ));
        }
        if let Some(first) = seen.insert(d.name.as_str(), i) {
            let first_line = tree
                .value(yaml_path!["devices", first, "name"])
                .map(|l| l.line);
            let mut diag = Diagnostic::new(
                tree.value(yaml_path!["devices", i, "name"]),
                format!("device name `{}` is used twice", d.name),
            );
            diag = match first_line {
                Some(line) => diag.help(format!(
                    "the first `{}` is at line {line}; give each device its own name",
                    d.name
                )),
                None => diag.help("give each device its own name"),
            };
            f.errors.push(diag);
            seen.insert(d.name.as_str(), first);
        }
        if let Some(p) = host_problem(&d.host) {
            f.errors.push(Diagnostic::new(
                tree.value(yaml_path!["devices", i, "host"])
                    .or_else(|| tree.value(yaml_path!["devices", i])),
                format!("{here}: `host` `{}` {p}", d.host),
            ));
        }
        for (j, g) in d.groups.iter().enumerate() {
            if !inv.groups.contains_key(g) {
                let known: Vec<&str> = inv.groups.keys().map(String::as_str).collect();
                let help = match (closest(g, &known), known.is_empty()) {
                    (_, true) => "define it under `groups:` (no group is defined)".to_string(),
                    (Some(near), _) => {
                        format!("did you mean `{near}`? Groups: {}", known.join(", "))
                    }
                    (None, _) => format!("groups defined: {}", known.join(", ")),
                };
                f.errors.push(
                    Diagnostic::new(
                        tree.value(yaml_path!["devices", i, "groups", j]),
                        format!("{here}: unknown group `{g}`"),
                    )
                    .help(help),
                );
            } else if d.groups[..j].contains(g) {
                f.errors.push(Diagnostic::new(
                    tree.value(yaml_path!["devices", i, "groups", j]),
                    format!("{here}: group `{g}` is listed twice"),
                ));
            }
        }
        check_settings(inv, tree, &here, yaml_path!["devices", i], &d.settings, f);
    }
}

/// Two devices that reach the same router (host and effective port): their
/// sessions would run at once and fight over its configuration. Reported
/// at the second device's `host`, naming the first. Hosts compare as
/// addresses when they are IP addresses, else as DNS names (case and a
/// final dot ignored).
pub fn same_address(devices: &[ResolvedDevice], tree: &Located) -> Vec<Diagnostic> {
    let mut seen: HashMap<(String, u16), usize> = HashMap::new();
    let mut errors = Vec::new();
    for (i, d) in devices.iter().enumerate() {
        let host = match d.host.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => d.host.trim_end_matches('.').to_ascii_lowercase(),
        };
        let Some(&first) = seen.get(&(host.clone(), d.port)) else {
            seen.insert((host, d.port), i);
            continue;
        };
        let first = &devices[first];
        errors.push(
            Diagnostic::new(
                tree.value(yaml_path!["devices", i, "host"])
                    .or_else(|| tree.value(yaml_path!["devices", i])),
                format!(
                    "device `{}`: {}:{} is also device `{}` (line {})",
                    d.name, d.host, d.port, first.name, first.line
                ),
            )
            .help("two sessions to one router would fight over its configuration: keep one device per host and port"),
        );
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_group_names() {
        assert_eq!(object_group_name_problem("threatstop-block"), None);
        assert_eq!(object_group_name_problem("TS_block.v2"), None);
        assert_eq!(object_group_name_problem("9lives"), None);
        assert!(object_group_name_problem("").is_some());
        assert!(
            object_group_name_problem("-block")
                .unwrap()
                .contains("start")
        );
        assert!(
            object_group_name_problem("threat stop")
                .unwrap()
                .contains("a space")
        );
        assert!(
            object_group_name_problem(&"a".repeat(65))
                .unwrap()
                .contains("64")
        );
        assert_eq!(object_group_name_problem(&"a".repeat(64)), None);
    }

    #[test]
    fn prefix_floors_and_protect_of_either_family() {
        let text = "policies:\n\
                    \x20 corp:\n\
                    \x20   block: [b.example]\n\
                    \x20   protect: [192.0.2.0/24, 2001:db8::/32]\n\
                    \x20   min_prefix_len: 33\n\
                    \x20   min_prefix_len_v6: 129\n";
        let paths = crate::inventory::effective::PathContext {
            base_dir: std::path::Path::new("/"),
            home: None,
        };
        // An IPv6 `protect:` prefix is valid; each floor has its own range.
        let messages: Vec<String> = (crate::inventory::check_text(text, &paths).unwrap_err())
            .into_iter()
            .map(|d| format!("{}: {}", d.loc.unwrap().line, d.message))
            .collect();
        assert_eq!(
            messages,
            [
                "5: policy `corp`: `min_prefix_len` 33 is not an IPv4 prefix length (0–32)",
                "6: policy `corp`: `min_prefix_len_v6` 129 is not an IPv6 prefix length (0–128)",
            ]
        );
    }

    #[test]
    fn two_devices_on_one_host_and_port_are_refused() {
        let text = "defaults: { username: u, password: p }\n\
                    groups: { alt: { port: 2222 } }\n\
                    devices:\n\
                    \x20 - { name: a, host: Router.example }\n\
                    \x20 - { name: b, host: router.example., port: 22 }\n\
                    \x20 - { name: c, host: router.example, groups: [alt] }\n\
                    \x20 - { name: d, host: 192.0.2.1, port: 2222 }\n\
                    \x20 - { name: e, host: 192.0.2.1, groups: [alt] }\n";
        let paths = crate::inventory::effective::PathContext {
            base_dir: std::path::Path::new("/"),
            home: None,
        };
        let e = crate::inventory::check_text(text, &paths).unwrap_err();
        let found: Vec<(usize, &str)> = e
            .iter()
            .map(|d| (d.loc.unwrap().line, d.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    5,
                    "device `b`: router.example.:22 is also device `a` (line 4)"
                ),
                (8, "device `e`: 192.0.2.1:2222 is also device `d` (line 7)"),
            ]
        );
    }

    #[test]
    fn names() {
        assert!(name_problem("@core").is_some());
        assert!(name_problem("rtr 1").is_some());
        assert_eq!(name_problem("rtr-1.hq"), None);
    }
}
