//! `--limit`: which devices a command acts on.
//!
//! A pattern is either `@GROUP` (every device in that group) or a glob on
//! device names (`rtr-*`, `branch-0[1-3]`, `hq-{a,b}`; globset syntax). A
//! plain word is always a device-name glob, never a group, so a device and a
//! group may share a name without ambiguity. Several patterns add up (union);
//! the result keeps the inventory's order. A pattern that selects nothing is
//! an error naming it: a typo must not silently shrink a run.

use super::{InventoryError, ResolvedDevice};
use globset::GlobBuilder;

/// The devices matching any of `limit`; all of them when `limit` is empty.
pub fn select(
    devices: &[ResolvedDevice],
    limit: &[String],
) -> Result<Vec<ResolvedDevice>, InventoryError> {
    if limit.is_empty() {
        return Ok(devices.to_vec());
    }
    let mut chosen = vec![false; devices.len()];
    for pattern in limit {
        let hits = matches(devices, pattern)?;
        if !hits.iter().any(|&h| h) {
            return Err(InventoryError::Limit {
                pattern: pattern.clone(),
                message: nothing_matched(devices, pattern),
            });
        }
        for (c, h) in chosen.iter_mut().zip(hits) {
            *c |= h;
        }
    }
    Ok(devices
        .iter()
        .zip(chosen)
        .filter(|(_, c)| *c)
        .map(|(d, _)| d.clone())
        .collect())
}

fn matches(devices: &[ResolvedDevice], pattern: &str) -> Result<Vec<bool>, InventoryError> {
    if let Some(group) = pattern.strip_prefix('@') {
        return Ok(devices
            .iter()
            .map(|d| d.groups.iter().any(|g| g == group))
            .collect());
    }
    let glob = GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .map_err(|e| InventoryError::Limit {
            pattern: pattern.to_string(),
            message: format!("not a valid glob: {}", e.kind()),
        })?
        .compile_matcher();
    Ok(devices.iter().map(|d| glob.is_match(&d.name)).collect())
}

fn nothing_matched(devices: &[ResolvedDevice], pattern: &str) -> String {
    if let Some(group) = pattern.strip_prefix('@') {
        let mut groups: Vec<&str> = devices
            .iter()
            .flat_map(|d| d.groups.iter().map(String::as_str))
            .collect();
        groups.sort_unstable();
        groups.dedup();
        return if groups.is_empty() {
            format!("no device is in group `{group}` (no device is in any group)")
        } else {
            format!(
                "no device is in group `{group}`; groups with devices: {}",
                groups.join(", ")
            )
        };
    }
    if devices
        .iter()
        .any(|d| d.groups.iter().any(|g| g == pattern))
    {
        return format!(
            "no device is named `{pattern}`; to select the group `{pattern}`, write `@{pattern}`"
        );
    }
    format!(
        "no device name matches `{pattern}` ({} devices in the inventory; `tsfleet inventory show` lists them)",
        devices.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::HostKeyPolicy;
    use std::time::Duration;

    fn dev(name: &str, groups: &[&str]) -> ResolvedDevice {
        ResolvedDevice {
            name: name.into(),
            host: "192.0.2.1".into(),
            port: 22,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            username: "u".into(),
            password: None,
            enable_secret: None,
            private_key: None,
            policy: None,
            block_group: "b".into(),
            allow_group: "a".into(),
            host_key_policy: HostKeyPolicy::Strict,
            known_hosts: "kh".into(),
            legacy_algorithms: true,
            save_config: true,
            connect_timeout: Duration::from_secs(1),
            command_timeout: Duration::from_secs(1),
            line: 1,
            origins: Default::default(),
        }
    }

    fn names(d: &[ResolvedDevice]) -> Vec<&str> {
        d.iter().map(|d| d.name.as_str()).collect()
    }

    fn fleet() -> Vec<ResolvedDevice> {
        vec![
            dev("hq-core-1", &["core"]),
            dev("br-01", &["branch"]),
            dev("br-02", &["branch", "lab"]),
            dev("core", &[]),
        ]
    }

    fn l(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn empty_limit_selects_all() {
        assert_eq!(select(&fleet(), &[]).unwrap().len(), 4);
    }

    #[test]
    fn globs_groups_and_union_keep_inventory_order() {
        let f = fleet();
        assert_eq!(
            names(&select(&f, &l(&["br-*"])).unwrap()),
            ["br-01", "br-02"]
        );
        assert_eq!(names(&select(&f, &l(&["@core"])).unwrap()), ["hq-core-1"]);
        assert_eq!(names(&select(&f, &l(&["core"])).unwrap()), ["core"]);
        assert_eq!(
            names(&select(&f, &l(&["@lab", "hq-*", "br-02"])).unwrap()),
            ["hq-core-1", "br-02"]
        );
        assert_eq!(names(&select(&f, &l(&["br-0[2-9]"])).unwrap()), ["br-02"]);
    }

    #[test]
    fn a_pattern_matching_nothing_is_an_error_naming_it() {
        let f = fleet();
        let e = select(&f, &l(&["br-*", "rtr-*"])).unwrap_err().to_string();
        assert!(e.contains("rtr-*"), "{e}");
        let e = select(&f, &l(&["@nope"])).unwrap_err().to_string();
        assert!(e.contains("branch, core, lab"), "{e}");
        let e = select(&f, &l(&["branch"])).unwrap_err().to_string();
        assert!(e.contains("@branch"), "{e}");
        assert!(select(&f, &l(&["br-["])).is_err());
    }
}
