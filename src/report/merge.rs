//! `tsfleet report merge`: the reports of the shards of one run, joined into
//! the report a single run would have written — after checking that every
//! shard is there once, that all used the same snapshot and the same
//! command, and that no device appears twice.

use super::{RunReport, Shard};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("no report files to merge")]
    Empty,
    #[error("{file}: not a shard report (it was written without --shard)")]
    NotSharded { file: String },
    #[error("the reports disagree on the number of shards: {0}")]
    ShardCount(String),
    #[error("shard {index}/{count} is missing (expected {count} shards; have {have})")]
    Missing {
        index: u32,
        count: u32,
        have: String,
    },
    #[error("shard {index}/{count} appears twice: {first} and {second}")]
    DuplicateShard {
        index: u32,
        count: u32,
        first: String,
        second: String,
    },
    #[error(
        "the shards used different list snapshots ({0}); run every shard with the same --lists SNAPSHOT"
    )]
    Snapshot(String),
    #[error("the reports come from different commands ({0})")]
    Command(String),
    #[error("device {device} appears in two reports: {first} and {second}")]
    DuplicateDevice {
        device: String,
        first: String,
        second: String,
    },
}

/// Join shard reports; `expect_shards` makes a missing shard an error even
/// when the reports do not say how many there were meant to be.
pub fn merge(
    reports: Vec<(PathBuf, RunReport)>,
    expect_shards: Option<u32>,
) -> Result<RunReport, MergeError> {
    let first = reports.first().ok_or(MergeError::Empty)?;
    let name = |p: &PathBuf| p.display().to_string();
    let mut shards: BTreeMap<u32, String> = BTreeMap::new();
    let mut counts: BTreeMap<u32, String> = BTreeMap::new();
    for (path, report) in &reports {
        let Some(Shard { index, count }) = report.shard else {
            return Err(MergeError::NotSharded { file: name(path) });
        };
        counts.entry(count).or_insert_with(|| name(path));
        if let Some(other) = shards.insert(index, name(path)) {
            return Err(MergeError::DuplicateShard {
                index,
                count,
                first: other,
                second: name(path),
            });
        }
    }
    if let Some(n) = expect_shards {
        counts.entry(n).or_insert_with(|| "--expect-shards".into());
    }
    if counts.len() > 1 {
        let list: Vec<String> = counts.iter().map(|(n, f)| format!("{n} in {f}")).collect();
        return Err(MergeError::ShardCount(list.join(", ")));
    }
    let count = *counts.keys().next().expect("at least one report");
    if let Some(index) = (1..=count).find(|i| !shards.contains_key(i)) {
        let have: Vec<String> = shards.keys().map(|i| format!("{i}/{count}")).collect();
        return Err(MergeError::Missing {
            index,
            count,
            have: have.join(", "),
        });
    }
    let differing = |f: &dyn Fn(&RunReport) -> String| {
        let values: BTreeMap<String, String> =
            reports.iter().map(|(p, r)| (f(r), name(p))).collect();
        (values.len() > 1).then(|| {
            values
                .iter()
                .map(|(v, p)| format!("{v} in {p}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    if let Some(list) = differing(&|r| {
        r.snapshot_sha256
            .clone()
            .unwrap_or_else(|| "no snapshot".into())
    }) {
        return Err(MergeError::Snapshot(list));
    }
    if let Some(list) = differing(&|r| r.command.as_str().to_string()) {
        return Err(MergeError::Command(list));
    }
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    for (path, report) in &reports {
        for d in &report.devices {
            if let Some(other) = seen.insert(&d.name, name(path)) {
                return Err(MergeError::DuplicateDevice {
                    device: d.name.clone(),
                    first: other,
                    second: name(path),
                });
            }
        }
    }
    let start = reports
        .iter()
        .map(|(_, r)| r.started_at)
        .min()
        .expect("at least one report");
    let end = reports
        .iter()
        .map(|(_, r)| r.started_at + Duration::from_millis(r.duration_ms))
        .max()
        .expect("at least one report");
    // Change sets are united by digest: the shards' copies of one set
    // become one shared value, written once under `change_sets`.
    let sets = crate::plan::ChangeSets::default();
    let devices = reports
        .iter()
        .flat_map(|(_, r)| r.devices.iter().cloned())
        .map(|mut d| {
            for g in &mut d.groups {
                g.lines = g.lines.as_ref().map(|l| sets.share(l));
            }
            d
        })
        .collect();
    Ok(RunReport::new(
        first.1.command,
        start,
        end.duration_since(start).unwrap_or_default(),
        first.1.snapshot_sha256.clone(),
        None,
        devices,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Command, DeviceReport};
    use std::time::SystemTime;

    fn shard(index: u32, count: u32, sha: &str, devices: &[&str]) -> (PathBuf, RunReport) {
        let devices = devices
            .iter()
            .map(|d| DeviceReport::skipped(*d, "h", "x"))
            .collect();
        let report = RunReport::new(
            Command::Plan,
            SystemTime::now(),
            Duration::from_secs(1),
            Some(sha.to_string()),
            Some(Shard { index, count }),
            devices,
        );
        (PathBuf::from(format!("shard-{index}.json")), report)
    }

    #[test]
    fn joins_complete_shards() {
        let merged = merge(
            vec![shard(2, 2, "abc", &["b"]), shard(1, 2, "abc", &["a", "c"])],
            Some(2),
        )
        .unwrap();
        assert_eq!(merged.devices.len(), 3);
        assert_eq!(merged.shard, None);
        assert_eq!(merged.snapshot_sha256.as_deref(), Some("abc"));
    }

    #[test]
    fn change_sets_are_united_by_digest() {
        use crate::report::tests::{change_set, outcome};
        let changed = |name: &str, block| {
            DeviceReport::from_outcome(name, "h", &outcome(block, false), &[], Duration::ZERO, 1)
        };
        let report = |index, devices| {
            let r = RunReport::new(
                Command::Plan,
                SystemTime::now(),
                Duration::from_secs(1),
                Some("abc".into()),
                Some(Shard { index, count: 2 }),
                devices,
            );
            // Through the file, as `report merge` reads them: each shard's own copy.
            let text = crate::report::json::to_string(&r);
            (
                PathBuf::from(format!("shard-{index}.json")),
                crate::report::json::from_str(&text).unwrap(),
            )
        };
        let one = vec![changed("a", (2, 1, 5)), changed("b", (3, 0, 5))];
        let two = vec![changed("c", (2, 1, 5)), changed("d", (0, 0, 5))];
        let merged = merge(vec![report(1, one), report(2, two)], Some(2)).unwrap();
        let sets = merged.change_sets();
        let shared = change_set(2, 1).unwrap();
        let other = change_set(3, 0).unwrap();
        assert_eq!(
            sets.keys()
                .copied()
                .collect::<std::collections::BTreeSet<_>>(),
            [shared.digest(), other.digest()].into(),
            "the union, each set once"
        );
        let lines = |name: &str| {
            let d = merged.devices.iter().find(|d| d.name == name).unwrap();
            d.groups[1].lines.clone().unwrap()
        };
        assert!(
            std::sync::Arc::ptr_eq(&lines("a"), &lines("c")),
            "one copy across shards"
        );
        let value: serde_json::Value =
            serde_json::from_str(&crate::report::json::to_string(&merged)).unwrap();
        assert_eq!(value["change_sets"].as_object().unwrap().len(), 2);
        assert_eq!(
            value["change_sets"][shared.digest()]["add"],
            serde_json::json!(shared.add())
        );
    }

    #[test]
    fn a_missing_shard_a_duplicate_device_and_a_snapshot_mismatch_are_errors() {
        let err = merge(
            vec![shard(1, 3, "abc", &["a"]), shard(3, 3, "abc", &["c"])],
            None,
        )
        .unwrap_err();
        assert_eq!(
            err,
            MergeError::Missing {
                index: 2,
                count: 3,
                have: "1/3, 3/3".into()
            }
        );
        let err = merge(vec![shard(1, 1, "abc", &["a"])], Some(2)).unwrap_err();
        assert!(matches!(err, MergeError::ShardCount(_)), "{err}");
        let err = merge(
            vec![shard(1, 2, "abc", &["a"]), shard(2, 2, "abc", &["a"])],
            None,
        )
        .unwrap_err();
        assert!(
            matches!(err, MergeError::DuplicateDevice { ref device, .. } if device == "a"),
            "{err}"
        );
        let err = merge(
            vec![shard(1, 2, "abc", &["a"]), shard(2, 2, "def", &["b"])],
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("abc in shard-1.json, def in shard-2.json"),
            "{err}"
        );
        let err = merge(
            vec![shard(1, 2, "abc", &["a"]), shard(1, 2, "abc", &["b"])],
            None,
        )
        .unwrap_err();
        assert!(matches!(err, MergeError::DuplicateShard { .. }), "{err}");
    }
}
