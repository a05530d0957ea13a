//! The record of the lists last applied: per inventory, how many prefixes
//! each list held when an `apply` last pushed it to every device that
//! carries it without an error. `plan` and `apply` compare each list with
//! it (the shrink guard's [`Baseline`]) unless `--previous` names a
//! snapshot; only a finished `apply` moves it, list by list
//! ([`after_apply`]), so a failed, interrupted or skipped device keeps the
//! old baseline for the lists it carries.
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
    /// Per list name, as the snapshot names it.
    pub lists: BTreeMap<String, AppliedList>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliedList {
    /// Positive prefixes, counted as the shrink guard counts them.
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
    let lists = record
        .lists
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
        .collect();
    Baseline { lists }
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
    /// Lists whose entry is now this apply's count.
    pub moved: Vec<String>,
    /// Lists the apply pushed but that keep their old entry: a device that
    /// carries them failed or was skipped.
    pub kept: Vec<String>,
}

/// The record after an apply of `snapshot`: `devices` gives, per selected
/// device, the lists its policy uses (as the snapshot names them) and
/// whether it finished without error. A list moves to its count in
/// `snapshot` only when every device that carries it finished without
/// error; every other entry stays as it was.
pub fn after_apply<'a>(
    old: Option<&Applied>,
    inventory: &Path,
    snapshot: &Snapshot,
    devices: impl IntoIterator<Item = (&'a [String], bool)>,
    stamp: &RunStamp,
) -> Update {
    let mut done: BTreeMap<&str, bool> = BTreeMap::new();
    for (lists, ok) in devices {
        for list in lists {
            *done.entry(list.as_str()).or_insert(true) &= ok;
        }
    }
    let mut record = old.cloned().unwrap_or_else(|| Applied {
        version: APPLIED_VERSION,
        inventory: inventory.to_path_buf(),
        lists: BTreeMap::new(),
    });
    record.inventory = inventory.to_path_buf();
    let (mut moved, mut kept) = (Vec::new(), Vec::new());
    for (name, ok) in done {
        let Some(list) = snapshot.list(name) else {
            continue;
        };
        if !ok {
            kept.push(name.to_string());
            continue;
        }
        record.lists.insert(
            list.name.clone(),
            AppliedList {
                prefixes: list.prefixes.len(),
                applied_at: stamp.applied_at.clone(),
                run: stamp.run.clone(),
                snapshot_sha256: snapshot.sha256.clone(),
            },
        );
        moved.push(list.name.clone());
    }
    Update {
        record,
        moved,
        kept,
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

    #[test]
    fn a_list_moves_only_when_every_device_that_carries_it_succeeded() {
        let snap = Snapshot::new(vec![], vec![list("a", 30), list("b", 5), list("c", 7)]);
        let (ab, b, c) = (names(&["a", "b"]), names(&["b"]), names(&["c"]));
        let first = after_apply(
            None,
            Path::new("/inv.yaml"),
            &snap,
            [(&ab[..], true), (&b[..], true)],
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
            [(&ab[..], true), (&b[..], false), (&c[..], true)],
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
            [(&a[..], true)],
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
        let up = after_apply(None, &file.inventory, &snap, [(&a[..], true)], &stamp("t"));
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
