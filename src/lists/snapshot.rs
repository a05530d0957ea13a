//! The snapshot: the result of one resolution, as a versioned JSON file.
//!
//! This module owns the schema, its canonical ordering and its sha256. A
//! snapshot records what the DNS published, faithfully: positive prefixes
//! and negated ones (`excluded`) are kept apart, each with the sub-list it
//! came from, and host bits are left as published. Turning that into what a
//! device carries (carving, protecting, capping) is [`super::policy`]'s job.
//!
//! The sha256 covers the content only (list names, sub-lists, prefixes,
//! exclusions, skipped items), not when or from which server it was fetched,
//! so two shards that fetched the same data at different times agree.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The schema version written to and required from `version`.
/// Version 2: IPv6 items are prefixes like IPv4 ones (version 1 skipped them).
pub const SNAPSHOT_VERSION: u32 = 2;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub version: u32,
    /// When the resolution finished, RFC 3339 UTC.
    pub created_at: String,
    /// The configured servers, in the order they are tried (`host:port`).
    pub servers: Vec<String>,
    /// Sorted by name.
    pub lists: Vec<ListSnapshot>,
    /// Hex sha256 over the canonical content (see the module doc).
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListSnapshot {
    pub name: String,
    /// The server that answered for every sub-list of this list.
    pub server: String,
    pub elapsed_ms: u64,
    /// Record types used, e.g. `["PTR", "APL"]`.
    pub record_types: Vec<String>,
    pub sublists: Vec<SubListSummary>,
    /// Positive prefixes, IPv4 then IPv6, sorted, each with its sub-list.
    pub prefixes: Vec<Entry>,
    /// Negated prefixes (APL `!`): carved out of this list's prefixes of
    /// the same family.
    pub excluded: Vec<Entry>,
    /// Items that cannot be used (unknown address families), reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubListSummary {
    pub name: String,
    /// `APL`, `A` or `TXT`: where its items came from.
    pub record_type: String,
    pub prefixes: usize,
    pub excluded: usize,
    pub skipped: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// `a.b.c.d/len` or `2001:db8::/32`, host bits as published.
    pub prefix: IpNet,
    pub sublist: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skipped {
    /// The item in zone-file syntax, e.g. `2:2001:db8::/32`.
    pub item: String,
    pub sublist: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read snapshot {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write snapshot {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("snapshot {path} is not valid JSON for this schema: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "snapshot {path} has schema version {found}; this tsfleet reads version {SNAPSHOT_VERSION} (re-run `tsfleet resolve`)"
    )]
    Version { path: PathBuf, found: u64 },
    #[error(
        "snapshot {path}: sha256 {recorded} does not match its content ({computed}); the file was edited or damaged"
    )]
    Checksum {
        path: PathBuf,
        recorded: String,
        computed: String,
    },
    /// Older than `--max-snapshot-age`, or of an unknown age.
    #[error(
        "snapshot {path} {source}: resolve the lists again (`tsfleet resolve -o {path}`), or pass a longer --max-snapshot-age (0 = no limit)"
    )]
    Age {
        path: PathBuf,
        #[source]
        source: crate::domain::AgeError,
    },
}

/// The hashed part of a list: everything except when and from where.
#[derive(Serialize)]
struct CanonicalList<'a> {
    name: &'a str,
    record_types: &'a [String],
    sublists: &'a [SubListSummary],
    prefixes: &'a [Entry],
    excluded: &'a [Entry],
    skipped: &'a [Skipped],
}

impl Snapshot {
    /// Build a snapshot: sort everything into canonical order, stamp the
    /// time and compute the sha256.
    pub fn new(servers: Vec<String>, mut lists: Vec<ListSnapshot>) -> Snapshot {
        for list in &mut lists {
            list.prefixes.sort();
            list.excluded.sort();
            list.skipped.sort();
        }
        lists.sort_by(|a, b| a.name.cmp(&b.name));
        let mut snapshot = Snapshot {
            version: SNAPSHOT_VERSION,
            created_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            servers,
            lists,
            sha256: String::new(),
        };
        snapshot.sha256 = snapshot.content_sha256();
        snapshot
    }

    /// The hex sha256 of the canonical content.
    pub fn content_sha256(&self) -> String {
        let canonical: Vec<CanonicalList<'_>> = self
            .lists
            .iter()
            .map(|l| CanonicalList {
                name: &l.name,
                record_types: &l.record_types,
                sublists: &l.sublists,
                prefixes: &l.prefixes,
                excluded: &l.excluded,
                skipped: &l.skipped,
            })
            .collect();
        let mut hasher = Sha256::new();
        hasher.update(format!("tsfleet-snapshot-v{}\n", self.version));
        // Serialising plain structs and vectors is infallible and deterministic.
        hasher.update(serde_json::to_vec(&canonical).unwrap_or_default());
        hasher.finalize().iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }

    pub fn list(&self, name: &str) -> Option<&ListSnapshot> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.lists.iter().find(|l| l.name == name)
    }

    /// Read a snapshot, refusing another schema version or a content that
    /// does not match its sha256.
    pub fn read(path: &Path) -> Result<Snapshot, SnapshotError> {
        use crate::files::ReadVersioned;
        let path_buf = || path.to_path_buf();
        let snapshot: Snapshot = crate::files::read_versioned(path, SNAPSHOT_VERSION.into())
            .map_err(|e| match e {
                ReadVersioned::Read(source) => SnapshotError::Read {
                    path: path_buf(),
                    source,
                },
                ReadVersioned::Version { found, .. } => SnapshotError::Version {
                    path: path_buf(),
                    found,
                },
                ReadVersioned::Parse(source) => SnapshotError::Parse {
                    path: path_buf(),
                    source,
                },
            })?;
        let computed = snapshot.content_sha256();
        if computed != snapshot.sha256 {
            return Err(SnapshotError::Checksum {
                path: path.to_path_buf(),
                recorded: snapshot.sha256,
                computed,
            });
        }
        Ok(snapshot)
    }

    /// Refuse a snapshot (read from `path`) created more than `max` before
    /// `now` (`max` zero: no limit). The age comes from `created_at`, not the
    /// file's time, which a copy or a CI artifact download resets; a
    /// `created_at` ahead of `now` (another machine's clock) is age zero.
    pub fn check_age(
        &self,
        path: &Path,
        max: Duration,
        now: SystemTime,
    ) -> Result<(), SnapshotError> {
        crate::domain::age_past(&self.created_at, max, "--max-snapshot-age", now).map_err(
            |source| SnapshotError::Age {
                path: path.to_path_buf(),
                source,
            },
        )
    }

    /// Write the snapshot atomically (temporary file in the same folder,
    /// then rename), so a reader never sees half a file; or to stdout.
    pub fn write(&self, output: &crate::files::Output) -> Result<(), SnapshotError> {
        let err = |source| SnapshotError::Write {
            path: output.to_string().into(),
            source,
        };
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| err(e.into()))?;
        json.push(b'\n');
        output.write(&json).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(p: &str, s: &str) -> Entry {
        Entry {
            prefix: p.parse().unwrap(),
            sublist: s.into(),
        }
    }

    fn list(name: &str, prefixes: Vec<Entry>) -> ListSnapshot {
        ListSnapshot {
            name: name.into(),
            server: "127.0.0.1:53".into(),
            elapsed_ms: 5,
            record_types: vec!["APL".into()],
            sublists: vec![],
            prefixes,
            excluded: vec![],
            skipped: vec![],
        }
    }

    #[test]
    fn sha256_ignores_order_time_and_server() {
        let a = Snapshot::new(
            vec!["127.0.0.1:53".into()],
            vec![
                list("b", vec![entry("10.0.0.0/8", "b"), entry("1.0.0.0/8", "b")]),
                list("a", vec![]),
            ],
        );
        let mut lb = list("b", vec![entry("1.0.0.0/8", "b"), entry("10.0.0.0/8", "b")]);
        lb.server = "127.0.0.2:53".into();
        lb.elapsed_ms = 99;
        let b = Snapshot::new(vec!["127.0.0.2:53".into()], vec![list("a", vec![]), lb]);
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(a.lists[0].name, "a");
        let c = Snapshot::new(vec![], vec![list("b", vec![entry("1.0.0.0/8", "b")])]);
        assert_ne!(a.sha256, c.sha256);
    }

    #[test]
    fn check_age_refuses_old_snapshots_by_their_own_timestamp() {
        let path = Path::new("lists.json");
        let mut snap = Snapshot::new(vec![], vec![list("a", vec![])]);
        snap.created_at = "2026-01-01T00:00:00Z".into();
        let created = humantime::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let day = Duration::from_secs(24 * 3600);
        assert!(snap.check_age(path, day, created + day).is_ok());
        let err = snap
            .check_age(path, day, created + day + Duration::from_secs(3601))
            .unwrap_err();
        assert!(
            matches!(err, SnapshotError::Age { source: crate::domain::AgeError::Stale { age, .. }, .. } if age == day + Duration::from_secs(3601))
        );
        let text = err.to_string();
        for part in [
            "lists.json",
            "1day 1h 1s ago",
            "2026-01-01T00:00:00Z",
            "--max-snapshot-age 1day",
        ] {
            assert!(text.contains(part), "{part:?} in {text}");
        }
        // Zero is no limit; a clock ahead of ours is no age.
        assert!(
            snap.check_age(path, Duration::ZERO, created + 100 * day)
                .is_ok()
        );
        assert!(snap.check_age(path, day, created - day).is_ok());
        snap.created_at = "yesterday".into();
        assert!(matches!(
            snap.check_age(path, day, created),
            Err(SnapshotError::Age {
                source: crate::domain::AgeError::Unknown { .. },
                ..
            })
        ));
        assert!(snap.check_age(path, Duration::ZERO, created).is_ok());
    }

    #[test]
    fn write_then_read_round_trips_and_detects_edits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap.json");
        let snap = Snapshot::new(vec![], vec![list("a", vec![entry("192.0.2.0/24", "a")])]);
        snap.write(&crate::files::Output::File(path.clone()))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"prefix\": \"192.0.2.0/24\""), "{text}");
        assert_eq!(Snapshot::read(&path).unwrap(), snap);

        std::fs::write(&path, text.replace("192.0.2.0/24", "192.0.3.0/24")).unwrap();
        assert!(matches!(
            Snapshot::read(&path),
            Err(SnapshotError::Checksum { .. })
        ));
        std::fs::write(&path, text.replace("\"version\": 2", "\"version\": 7")).unwrap();
        assert!(matches!(
            Snapshot::read(&path),
            Err(SnapshotError::Version { found: 7, .. })
        ));
    }
}
