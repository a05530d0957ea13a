//! `--limit`: which devices a command acts on.
//!
//! A value holds one or more patterns separated by commas; a comma inside
//! `{…}` or `[…]` belongs to the pattern (`hq-{a,b}` is one pattern). A
//! pattern is:
//! - `@GROUP`: every device in that group;
//! - `@failed:REPORT.json` / `@unfinished:REPORT.json`: the devices a JSON
//!   report (`--json`) lists as failed / as failed or skipped; the caller
//!   reads the report ([`Limit::reports`]) and hands the names in;
//! - anything else: a glob on device names (`rtr-*`, `branch-0[1-3]`,
//!   `hq-{a,b}`, nested braces; globset syntax). A plain word is always a
//!   device-name glob, never a group, so a device and a group may share a
//!   name without ambiguity;
//! - any of these after `!`: an exclusion.
//!
//! Inclusions add up (union), then exclusions are taken away; only
//! exclusions means every device but those. The result keeps the
//! inventory's order. A pattern (inclusion or exclusion) that selects
//! nothing is an error naming it: a typo must not silently shrink or widen
//! a run.

use super::{InventoryError, ResolvedDevice};
use globset::{GlobBuilder, GlobMatcher};
use std::collections::HashMap;
use std::path::PathBuf;

/// Which devices of a report `@failed:` / `@unfinished:` stand for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unfinished {
    /// `@failed:`: status `failed`.
    Failed,
    /// `@unfinished:`: status `failed` or `skipped` (a stopped run's tail).
    FailedOrSkipped,
}

/// A `@failed:` / `@unfinished:` pattern: the report to read and which of
/// its devices to take.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReportRef {
    pub path: PathBuf,
    pub which: Unfinished,
}

#[derive(Debug)]
enum Matcher {
    Group(String),
    Report(ReportRef),
    Glob(GlobMatcher),
}

#[derive(Debug)]
struct Pattern {
    /// As written (without the `!`), for messages.
    text: String,
    exclude: bool,
    matcher: Matcher,
}

/// Parsed `--limit` values.
#[derive(Debug)]
pub struct Limit {
    patterns: Vec<Pattern>,
}

impl Limit {
    /// Parse `--limit` values (each may hold several comma-separated
    /// patterns); a glob that does not parse or an unbalanced brace is an
    /// error naming it.
    pub fn parse(values: &[String]) -> Result<Limit, InventoryError> {
        let mut patterns = Vec::new();
        for value in values {
            for part in split(value)? {
                patterns.push(pattern(part)?);
            }
        }
        Ok(Limit { patterns })
    }

    /// The reports that `@failed:` / `@unfinished:` patterns name, for the
    /// caller to read before [`Limit::select`].
    pub fn reports(&self) -> impl Iterator<Item = &ReportRef> {
        self.patterns.iter().filter_map(|p| match &p.matcher {
            Matcher::Report(r) => Some(r),
            _ => None,
        })
    }

    /// The selected devices, in inventory order; all of them when there is
    /// no pattern. `reported` holds, for each of [`Limit::reports`], the
    /// device names the report lists with the statuses asked for.
    pub fn select(
        &self,
        devices: &[ResolvedDevice],
        reported: &HashMap<ReportRef, Vec<String>>,
    ) -> Result<Vec<ResolvedDevice>, InventoryError> {
        if self.patterns.is_empty() {
            return Ok(devices.to_vec());
        }
        let includes = self.patterns.iter().any(|p| !p.exclude);
        let mut chosen = vec![!includes; devices.len()];
        // Inclusions first, whatever the order they were written in.
        let ordered = self
            .patterns
            .iter()
            .filter(|p| !p.exclude)
            .chain(self.patterns.iter().filter(|p| p.exclude));
        for p in ordered {
            let hits = hits(devices, p, reported)?;
            if !hits.iter().any(|&h| h) {
                return Err(InventoryError::Limit {
                    pattern: p.written(),
                    message: nothing_matched(devices, p),
                });
            }
            for (c, h) in chosen.iter_mut().zip(hits) {
                if h {
                    *c = !p.exclude;
                }
            }
        }
        if !chosen.iter().any(|&c| c) {
            return Err(InventoryError::Limit {
                pattern: self
                    .patterns
                    .iter()
                    .map(Pattern::written)
                    .collect::<Vec<_>>()
                    .join(","),
                message: "the exclusions leave no device".into(),
            });
        }
        Ok(devices
            .iter()
            .zip(chosen)
            .filter(|(_, c)| *c)
            .map(|(d, _)| d.clone())
            .collect())
    }
}

impl Pattern {
    fn written(&self) -> String {
        if self.exclude {
            format!("!{}", self.text)
        } else {
            self.text.clone()
        }
    }
}

/// Split one `--limit` value on the commas outside `{…}` and `[…]`.
fn split(value: &str) -> Result<Vec<&str>, InventoryError> {
    let unbalanced = |message: &str| InventoryError::Limit {
        pattern: value.to_string(),
        message: message.to_string(),
    };
    let mut parts = Vec::new();
    let (mut depth, mut in_class, mut escaped, mut start) = (0usize, false, false, 0);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ']' if in_class => in_class = false,
            _ if in_class => {}
            '[' => in_class = true,
            '{' => depth += 1,
            '}' if depth == 0 => return Err(unbalanced("a `}` closes no `{`")),
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err(unbalanced("a `{` is never closed"));
    }
    parts.push(&value[start..]);
    if parts.iter().any(|p| p.is_empty() || *p == "!") {
        return Err(unbalanced(
            "an empty pattern (two commas, or one at an end)",
        ));
    }
    Ok(parts)
}

fn pattern(written: &str) -> Result<Pattern, InventoryError> {
    let (exclude, text) = match written.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, written),
    };
    let bad = |message: String| InventoryError::Limit {
        pattern: written.to_string(),
        message,
    };
    let report = |which, path: &str| {
        if path.is_empty() {
            Err(bad(
                "name the JSON report after the `:` (a file written by --json)".into(),
            ))
        } else {
            Ok(Matcher::Report(ReportRef {
                path: PathBuf::from(path),
                which,
            }))
        }
    };
    let matcher = if let Some(path) = text.strip_prefix("@failed:") {
        report(Unfinished::Failed, path)?
    } else if let Some(path) = text.strip_prefix("@unfinished:") {
        report(Unfinished::FailedOrSkipped, path)?
    } else if let Some(group) = text.strip_prefix('@') {
        Matcher::Group(group.to_string())
    } else {
        Matcher::Glob(
            GlobBuilder::new(text)
                .literal_separator(false)
                .build()
                .map_err(|e| bad(format!("not a valid glob: {}", e.kind())))?
                .compile_matcher(),
        )
    };
    Ok(Pattern {
        text: text.to_string(),
        exclude,
        matcher,
    })
}

fn hits(
    devices: &[ResolvedDevice],
    p: &Pattern,
    reported: &HashMap<ReportRef, Vec<String>>,
) -> Result<Vec<bool>, InventoryError> {
    Ok(match &p.matcher {
        Matcher::Group(group) => devices
            .iter()
            .map(|d| d.groups.iter().any(|g| g == group))
            .collect(),
        Matcher::Glob(glob) => devices.iter().map(|d| glob.is_match(&d.name)).collect(),
        Matcher::Report(r) => {
            let names = reported.get(r).ok_or_else(|| InventoryError::Limit {
                pattern: p.written(),
                message: "a report pattern is not accepted here".into(),
            })?;
            // A report of another inventory: re-running "its" failures here
            // would act on other routers, so names not in this inventory
            // stop the run rather than being dropped.
            let unknown: Vec<&str> = names
                .iter()
                .filter(|n| !devices.iter().any(|d| &d.name == *n))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                return Err(InventoryError::Limit {
                    pattern: p.written(),
                    message: format!(
                        "the report names devices this inventory does not have: {} \
                         (a report of another inventory?)",
                        unknown.join(", ")
                    ),
                });
            }
            devices.iter().map(|d| names.contains(&d.name)).collect()
        }
    })
}

fn nothing_matched(devices: &[ResolvedDevice], p: &Pattern) -> String {
    let pattern = p.text.as_str();
    match &p.matcher {
        Matcher::Report(r) => {
            let what = match r.which {
                Unfinished::Failed => "failed",
                Unfinished::FailedOrSkipped => "failed or was skipped",
            };
            return format!("no device {what} in {}", r.path.display());
        }
        Matcher::Group(group) => {
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
        Matcher::Glob(_) => {}
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
            ipv6: false,
            block_group_v6: "b6".into(),
            allow_group_v6: "a6".into(),
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

    fn select(
        devices: &[ResolvedDevice],
        limit: &[String],
    ) -> Result<Vec<ResolvedDevice>, InventoryError> {
        Limit::parse(limit)?.select(devices, &HashMap::new())
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

    #[test]
    fn braces_with_commas_are_one_pattern_and_nest() {
        let f = vec![
            dev("hq-a", &[]),
            dev("hq-b", &[]),
            dev("hq-c", &[]),
            dev("br-01", &[]),
            dev("br-02", &[]),
        ];
        assert_eq!(
            names(&select(&f, &l(&["hq-{a,b}"])).unwrap()),
            ["hq-a", "hq-b"]
        );
        assert_eq!(
            names(&select(&f, &l(&["{hq-{a,c},br-0{2}}"])).unwrap()),
            ["hq-a", "hq-c", "br-02"]
        );
        // Commas outside braces separate patterns, inside classes they do not.
        assert_eq!(
            names(&select(&f, &l(&["hq-{b,c},br-01", "br-0[,2]"])).unwrap()),
            ["hq-b", "hq-c", "br-01", "br-02"]
        );
    }

    #[test]
    fn repeated_and_comma_separated_patterns_add_up() {
        let f = fleet();
        let repeated = select(&f, &l(&["@lab", "core"])).unwrap();
        let commas = select(&f, &l(&["@lab,core"])).unwrap();
        assert_eq!(names(&repeated), ["br-02", "core"]);
        assert_eq!(names(&repeated), names(&commas));
    }

    #[test]
    fn exclusions_apply_after_inclusions_and_alone_mean_all_but() {
        let f = fleet();
        assert_eq!(
            names(&select(&f, &l(&["!hq-*"])).unwrap()),
            ["br-01", "br-02", "core"]
        );
        // Written first, an exclusion still comes after the inclusions.
        assert_eq!(
            names(&select(&f, &l(&["!br-02", "@branch"])).unwrap()),
            ["br-01"]
        );
        assert_eq!(
            names(&select(&f, &l(&["@branch,!@lab"])).unwrap()),
            ["br-01"]
        );
        assert_eq!(
            names(&select(&f, &l(&["!{core,hq-*}"])).unwrap()),
            ["br-01", "br-02"]
        );
        let e = select(&f, &l(&["@branch", "!br-9*"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--limit !br-9*: no device name matches"), "{e}");
        let e = select(&f, &l(&["br-01", "!br-*"])).unwrap_err().to_string();
        assert!(e.contains("leave no device"), "{e}");
    }

    #[test]
    fn unbalanced_braces_and_empty_patterns_are_errors_naming_them() {
        let f = fleet();
        for bad in ["hq-{a,b", "hq-a}", "{a,{b}", "br-01,,core", "br-01,", "!"] {
            let e = select(&f, &l(&[bad])).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--limit {bad}: ")), "{bad}: {e}");
        }
    }

    #[test]
    fn report_patterns_select_the_names_handed_in_and_refuse_strangers() {
        let f = fleet();
        let limit = Limit::parse(&l(&["@failed:run.json", "@unfinished:b.json"])).unwrap();
        let refs: Vec<ReportRef> = limit.reports().cloned().collect();
        assert_eq!(
            refs,
            [
                ReportRef {
                    path: "run.json".into(),
                    which: Unfinished::Failed
                },
                ReportRef {
                    path: "b.json".into(),
                    which: Unfinished::FailedOrSkipped
                }
            ]
        );
        let mut reported = HashMap::new();
        reported.insert(refs[0].clone(), vec!["br-02".to_string()]);
        reported.insert(refs[1].clone(), vec!["core".to_string()]);
        assert_eq!(
            names(&limit.select(&f, &reported).unwrap()),
            ["br-02", "core"]
        );

        // A report of other devices: an error naming them, not a smaller run.
        reported.insert(refs[1].clone(), vec!["core".into(), "gone-1".into()]);
        let e = limit.select(&f, &reported).unwrap_err().to_string();
        assert!(
            e.contains("@unfinished:b.json") && e.contains("gone-1"),
            "{e}"
        );
        // A report with no failure selects nothing: an error like any pattern.
        reported.insert(refs[1].clone(), vec![]);
        let e = limit.select(&f, &reported).unwrap_err().to_string();
        assert!(
            e.contains("no device failed or was skipped in b.json"),
            "{e}"
        );
        // Exclusion of a report's failures.
        let limit = Limit::parse(&l(&["!@failed:run.json"])).unwrap();
        let mut reported = HashMap::new();
        reported.insert(
            limit.reports().next().unwrap().clone(),
            vec!["br-02".into()],
        );
        assert_eq!(
            names(&limit.select(&f, &reported).unwrap()),
            ["hq-core-1", "br-01", "core"]
        );
        assert!(Limit::parse(&l(&["@failed:"])).is_err());
    }
}
