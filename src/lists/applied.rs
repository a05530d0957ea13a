//! The record of the lists last applied: per inventory, how many prefixes
//! each list held when an `apply` last pushed it to every device that
//! carries it without an error, per family: the IPv4 count in `lists`, the
//! IPv6 count in `lists_v6` (moved only by an apply that pushed the list to
//! `ipv6: true` devices, all of them without an error). `plan` and `apply`
//! compare each list with it (the shrink guard's [`Baseline`]) unless
//! `--previous` names a snapshot; only a finished `apply` moves it, list by
//! list and family by family ([`after_apply`]), so a failed, interrupted or
//! skipped device keeps the old baseline for the lists it carries.
//!
//! A small versioned JSON file in the state directory,
//! `applied/<digest>.json` (named by [`crate::state_dir::inventory_file`]
//! as the run lock is, so every path to one inventory shares it): per list
//! its prefix count, when the apply started, its run folder and the
//! snapshot's sha256; never the prefixes themselves. Written whole and
//! mode 0600 by [`crate::files`]; read without following a symbolic link.
//! No record (the first apply) means no guard; an unreadable one is an
//! error naming the file, never passed over.

use super::policy::{Baseline, BaselineList};
use super::snapshot::Snapshot;
use crate::domain::Family;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The schema version written to and required from `version`.
pub const APPLIED_VERSION: u32 = 1;

/// Far more than a record of every list ever holds: a bigger file is not one.
const MAX_RECORD_BYTES: u64 = 1 << 20;

/// What to do about a record that cannot be read.
const FIX: &str = "fix or remove it (the next apply then runs without a shrink guard, unless \
     --previous SNAPSHOT names one, and writes a new record)";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Applied {
    pub version: u32,
    /// The inventory it belongs to (canonical path), for whoever reads the file.
    pub inventory: PathBuf,
    /// Per list name, as the snapshot names it: its IPv4 prefixes.
    pub lists: BTreeMap<String, AppliedList>,
    /// Per list name: its IPv6 prefixes. Missing (records written before
    /// IPv6 lists, lists never applied to an `ipv6: true` device): no IPv6
    /// baseline yet.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lists_v6: BTreeMap<String, AppliedList>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliedList {
    /// Positive prefixes of the family, counted as the shrink guard counts them.
    pub prefixes: usize,
    /// When the apply that pushed it started, RFC 3339 UTC.
    pub applied_at: String,
    /// That apply's run folder (transcripts), when it had one.
    pub run: Option<String>,
    /// The sha256 of the snapshot it came from.
    pub snapshot_sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AppliedError {
    #[error("the inventory {path}: {source}")]
    Inventory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot read the record of the last applied lists {path}: {source}; {}",
        FIX
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the record of the last applied lists {path} is damaged: {source}; {}",
        FIX
    )]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the record of the last applied lists {path} has version {found}; this tsfleet reads version {APPLIED_VERSION}: {}",
        FIX
    )]
    Version { path: PathBuf, found: u32 },
    #[error(
        "cannot write the record of the last applied lists {path}: {source}; the next run still compares with the record before this one"
    )]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where one inventory's record is kept.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordFile {
    pub path: PathBuf,
    /// The inventory's canonical path.
    pub inventory: PathBuf,
}

impl RecordFile {
    /// The record of `inventory` in the state directory `state_dir`.
    pub fn of(state_dir: &Path, inventory: &Path) -> Result<RecordFile, AppliedError> {
        let canonical =
            std::fs::canonicalize(inventory).map_err(|source| AppliedError::Inventory {
                path: inventory.to_path_buf(),
                source,
            })?;
        Ok(RecordFile {
            path: crate::state_dir::inventory_file(state_dir, "applied", &canonical, "json"),
            inventory: canonical,
        })
    }

    /// The record, or `None` when there is none yet.
    pub fn read(&self) -> Result<Option<Applied>, AppliedError> {
        let path = &self.path;
        let read_err = |source| AppliedError::Read {
            path: path.clone(),
            source,
        };
        match crate::state_dir::read(path, MAX_RECORD_BYTES).map_err(read_err)? {
            Some(text) => parse(path, &text).map(Some),
            None => Ok(None),
        }
    }

    /// Replace the record with `record` (atomically, mode 0600), creating
    /// the `applied` folder (0700) when missing.
    pub fn write(&self, record: &Applied) -> Result<(), AppliedError> {
        crate::state_dir::write_json(&self.path, record).map_err(|source| AppliedError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

/// A record from its text: the version first, so a newer file gets the
/// clearer message.
fn parse(path: &Path, text: &[u8]) -> Result<Applied, AppliedError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        version: u32,
    }
    if let Ok(v) = serde_json::from_slice::<VersionOnly>(text)
        && v.version != APPLIED_VERSION
    {
        return Err(AppliedError::Version {
            path: path.to_path_buf(),
            found: v.version,
        });
    }
    serde_json::from_slice(text).map_err(|source| AppliedError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// The shrink guard's baseline from the record kept at `path`.
pub fn baseline(record: &Applied, path: &Path) -> Baseline {
    Baseline {
        lists: family_baseline(&record.lists, path),
        lists_v6: family_baseline(&record.lists_v6, path),
    }
}

fn family_baseline(
    lists: &BTreeMap<String, AppliedList>,
    path: &Path,
) -> BTreeMap<String, BaselineList> {
    lists
        .iter()
        .map(|(name, l)| {
            let run = l
                .run
                .as_deref()
                .map(|r| format!("run {r}, "))
                .unwrap_or_default();
            let since = format!(
                "the last apply that pushed it, {} ({run}recorded in {})",
                l.applied_at,
                path.display()
            );
            let b = BaselineList {
                prefixes: l.prefixes,
                since,
            };
            (name.clone(), b)
        })
        .collect()
}

/// The apply a record's entries come from.
#[derive(Clone, Debug)]
pub struct RunStamp {
    /// When it started, RFC 3339 UTC.
    pub applied_at: String,
    /// Its run folder.
    pub run: Option<String>,
}

/// A record after an apply, and which lists moved.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub record: Applied,
    /// Lists whose entry is now this apply's count (IPv4, then IPv6).
    pub moved: Vec<String>,
    pub moved_v6: Vec<String>,
    /// Lists the apply pushed but that keep their old entry: a device that
    /// carries them (an `ipv6: true` one, for IPv6) failed or was skipped.
    pub kept: Vec<String>,
    pub kept_v6: Vec<String>,
}

/// One selected device, as [`after_apply`] reads it.
#[derive(Clone, Copy, Debug)]
pub struct AppliedDevice<'a> {
    /// The lists its policy uses, as the snapshot names them.
    pub lists: &'a [String],
    /// It finished without error.
    pub ok: bool,
    /// It has `ipv6: true`: the lists' IPv6 parts went to it too.
    pub ipv6: bool,
}

/// The record after an apply of `snapshot`. A list's IPv4 count moves to
/// its count in `snapshot` only when every device that carries it finished
/// without error; its IPv6 count only when at least one `ipv6: true`
/// device carries it and every such device finished without error. Every
/// other count stays as it was.
pub fn after_apply<'a>(
    old: Option<&Applied>,
    inventory: &Path,
    snapshot: &Snapshot,
    devices: impl IntoIterator<Item = AppliedDevice<'a>>,
    stamp: &RunStamp,
) -> Update {
    let (mut done, mut done_v6): (BTreeMap<&str, bool>, BTreeMap<&str, bool>) = Default::default();
    for d in devices {
        for list in d.lists {
            *done.entry(list.as_str()).or_insert(true) &= d.ok;
            if d.ipv6 {
                *done_v6.entry(list.as_str()).or_insert(true) &= d.ok;
            }
        }
    }
    let mut record = old.cloned().unwrap_or_else(|| Applied {
        version: APPLIED_VERSION,
        inventory: inventory.to_path_buf(),
        lists: BTreeMap::new(),
        lists_v6: BTreeMap::new(),
    });
    record.inventory = inventory.to_path_buf();
    let mut family = |done: BTreeMap<&str, bool>, family: Family| {
        let (mut moved, mut kept) = (Vec::new(), Vec::new());
        let lists = match family {
            Family::Ipv4 => &mut record.lists,
            Family::Ipv6 => &mut record.lists_v6,
        };
        for (name, ok) in done {
            let Some(list) = snapshot.list(name) else {
                continue;
            };
            if !ok {
                kept.push(list.name.clone());
                continue;
            }
            let entry = AppliedList {
                prefixes: super::policy::count(&list.prefixes, family),
                applied_at: stamp.applied_at.clone(),
                run: stamp.run.clone(),
                snapshot_sha256: snapshot.sha256.clone(),
            };
            lists.insert(list.name.clone(), entry);
            moved.push(list.name.clone());
        }
        (moved, kept)
    };
    let (moved, kept) = family(done, Family::Ipv4);
    let (moved_v6, kept_v6) = family(done_v6, Family::Ipv6);
    Update {
        record,
        moved,
        moved_v6,
        kept,
        kept_v6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lists::snapshot::{Entry, ListSnapshot};

    fn list(name: &str, count: usize) -> ListSnapshot {
        let prefixes = (0..count)
            .map(|i| Entry {
                prefix: format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap(),
                sublist: name.into(),
            })
            .collect();
        ListSnapshot {
            name: name.into(),
            server: "127.0.0.1:53".into(),
            elapsed_ms: 1,
            record_types: vec!["APL".into()],
            sublists: vec![],
            prefixes,
            excluded: vec![],
            skipped: vec![],
        }
    }

    fn stamp(at: &str) -> RunStamp {
        RunStamp {
            applied_at: at.into(),
            run: Some("runs/x-apply".into()),
        }
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// A device without `ipv6: true`.
    fn dev(lists: &[String], ok: bool) -> AppliedDevice<'_> {
        AppliedDevice {
            lists,
            ok,
            ipv6: false,
        }
    }

    fn dev6(lists: &[String], ok: bool) -> AppliedDevice<'_> {
        AppliedDevice {
            ipv6: true,
            ..dev(lists, ok)
        }
    }

    /// `list(name, v4)` with `v6` IPv6 prefixes added.
    fn dual(name: &str, v4: usize, v6: usize) -> ListSnapshot {
        let mut l = list(name, v4);
        l.prefixes.extend((0..v6).map(|i| Entry {
            prefix: format!("2001:db8:{i:x}::/48").parse().unwrap(),
            sublist: name.into(),
        }));
        l
    }

    #[test]
    fn the_ipv6_count_moves_only_with_every_ipv6_device_that_carries_the_list() {
        let snap = Snapshot::new(vec![], vec![dual("a", 30, 800), dual("b", 5, 9)]);
        let (a, b) = (names(&["a"]), names(&["b"]));
        // a goes to an IPv4-only device and an ipv6 one; b to IPv4-only ones.
        let first = after_apply(
            None,
            Path::new("/inv.yaml"),
            &snap,
            [dev(&a, true), dev6(&a, true), dev(&b, true)],
            &stamp("2026-01-01T00:00:00Z"),
        );
        assert_eq!(first.record.lists["a"].prefixes, 30, "IPv4 only");
        assert_eq!(first.record.lists_v6["a"].prefixes, 800);
        assert_eq!(
            (first.moved_v6.clone(), first.kept_v6.clone()),
            (names(&["a"]), vec![])
        );
        assert!(
            !first.record.lists_v6.contains_key("b"),
            "no ipv6 device carries b: no IPv6 baseline"
        );
        let b6 = baseline(&first.record, Path::new("/x.json"));
        assert_eq!(b6.lists_v6["a"].prefixes, 800);
        assert!(!b6.lists_v6.contains_key("b"));

        // The ipv6 device fails: a's IPv6 count stays, its IPv4 count too
        // (that device carries IPv4 as well).
        let next = Snapshot::new(vec![], vec![dual("a", 40, 10), dual("b", 5, 9)]);
        let failed = after_apply(
            Some(&first.record),
            Path::new("/inv.yaml"),
            &next,
            [dev(&a, true), dev6(&a, false)],
            &stamp("2026-01-02T00:00:00Z"),
        );
        assert_eq!(failed.kept_v6, names(&["a"]));
        assert_eq!(failed.record.lists_v6["a"], first.record.lists_v6["a"]);
        assert_eq!(failed.record.lists["a"], first.record.lists["a"]);

        // An IPv4-only device fails, the ipv6 one succeeds: the IPv6 count
        // moves, the IPv4 one stays.
        let split = after_apply(
            Some(&first.record),
            Path::new("/inv.yaml"),
            &next,
            [dev(&a, false), dev6(&a, true)],
            &stamp("2026-01-03T00:00:00Z"),
        );
        assert_eq!(
            (split.moved_v6.clone(), split.kept.clone()),
            (names(&["a"]), names(&["a"]))
        );
        assert_eq!(split.record.lists_v6["a"].prefixes, 10);
        assert_eq!(
            split.record.lists_v6["a"].applied_at,
            "2026-01-03T00:00:00Z"
        );
        assert_eq!(split.record.lists["a"], first.record.lists["a"]);

        // Only IPv4-only devices this time: the IPv6 count is not touched.
        let v4 = after_apply(
            Some(&first.record),
            Path::new("/inv.yaml"),
            &next,
            [dev(&a, true)],
            &stamp("2026-01-04T00:00:00Z"),
        );
        assert_eq!(v4.record.lists["a"].prefixes, 40);
        assert_eq!(v4.record.lists_v6["a"], first.record.lists_v6["a"]);
        assert!(v4.moved_v6.is_empty() && v4.kept_v6.is_empty());
    }

    #[test]
    fn a_record_without_ipv6_counts_still_reads_and_writes_none() {
        let old = r#"{"version": 1, "inventory": "/inv.yaml", "lists": {"a": {"prefixes": 3,
            "applied_at": "t", "run": null, "snapshot_sha256": "x"}}}"#;
        let record = parse(Path::new("/r.json"), old.as_bytes()).unwrap();
        assert_eq!(record.lists["a"].prefixes, 3);
        assert!(record.lists_v6.is_empty(), "no IPv6 baseline yet");
        let text = serde_json::to_string(&record).unwrap();
        assert!(!text.contains("lists_v6"), "{text}");
    }

    #[test]
    fn a_list_moves_only_when_every_device_that_carries_it_succeeded() {
        let snap = Snapshot::new(vec![], vec![list("a", 30), list("b", 5), list("c", 7)]);
        let (ab, b, c) = (names(&["a", "b"]), names(&["b"]), names(&["c"]));
        let first = after_apply(
            None,
            Path::new("/inv.yaml"),
            &snap,
            [dev(&ab, true), dev(&b, true)],
            &stamp("2026-01-01T00:00:00Z"),
        );
        assert_eq!(first.moved, names(&["a", "b"]));
        assert_eq!(first.record.lists["a"].prefixes, 30);
        assert!(!first.record.lists.contains_key("c"), "no device carries c");

        let smaller = Snapshot::new(vec![], vec![list("a", 3), list("b", 1), list("c", 7)]);
        let second = after_apply(
            Some(&first.record),
            Path::new("/inv.yaml"),
            &smaller,
            // A device carrying b failed: b keeps its old count, a moves.
            [dev(&ab, true), dev(&b, false), dev(&c, true)],
            &stamp("2026-01-02T00:00:00Z"),
        );
        assert_eq!(second.moved, names(&["a", "c"]));
        assert_eq!(second.kept, names(&["b"]));
        assert_eq!(second.record.lists["a"].prefixes, 3);
        assert_eq!(second.record.lists["a"].applied_at, "2026-01-02T00:00:00Z");
        assert_eq!(second.record.lists["b"], first.record.lists["b"]);
        assert_eq!(second.record.lists["c"].snapshot_sha256, smaller.sha256);
    }

    #[test]
    fn the_baseline_names_when_and_where_it_was_recorded() {
        let snap = Snapshot::new(vec![], vec![list("a", 30)]);
        let a = names(&["a"]);
        let up = after_apply(
            None,
            Path::new("/inv.yaml"),
            &snap,
            [dev(&a, true)],
            &stamp("2026-01-01T00:00:00Z"),
        );
        let b = baseline(&up.record, Path::new("/state/applied/x.json"));
        assert_eq!(b.lists["a"].prefixes, 30);
        let since = &b.lists["a"].since;
        for part in [
            "2026-01-01T00:00:00Z",
            "runs/x-apply",
            "/state/applied/x.json",
        ] {
            assert!(since.contains(part), "{since}");
        }
    }

    #[test]
    fn written_0600_read_back_missing_is_none_and_damage_is_an_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("fleet.yaml");
        std::fs::write(&inv, "devices: []\n").unwrap();
        let state = dir.path().join("state");
        let file = RecordFile::of(&state, &inv).unwrap();
        assert!(file.path.starts_with(state.join("applied")));
        assert_eq!(file.read().unwrap(), None, "no record yet");

        let snap = Snapshot::new(vec![], vec![list("a", 2)]);
        let a = names(&["a"]);
        let up = after_apply(None, &file.inventory, &snap, [dev(&a, true)], &stamp("t"));
        file.write(&up.record).unwrap();
        let mode = std::fs::metadata(&file.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(file.read().unwrap(), Some(up.record.clone()));
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&inv, &link).unwrap();
        assert_eq!(
            RecordFile::of(&state, &link).unwrap(),
            file,
            "a link shares the record"
        );

        std::fs::write(&file.path, "{\"version\": 1, \"lists\": ").unwrap();
        let err = file.read().unwrap_err().to_string();
        assert!(
            err.contains(&file.path.display().to_string()) && err.contains("remove it"),
            "{err}"
        );
        std::fs::write(&file.path, "{\"version\": 9}").unwrap();
        let err = file.read().unwrap_err().to_string();
        assert!(err.contains("version 9"), "{err}");

        std::fs::remove_file(&file.path).unwrap();
        let elsewhere = dir.path().join("elsewhere.json");
        std::fs::write(&elsewhere, serde_json::to_vec(&up.record).unwrap()).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &file.path).unwrap();
        let err = file.read().unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
    }
}
