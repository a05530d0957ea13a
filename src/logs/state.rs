//! The upload state file: for each device, how far into which syslog file
//! (by inode) its lines have been delivered, and the rotation decision that
//! says where each device starts next. Pure apart from [`State::load`] and
//! [`State::save`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A place in a syslog file: the file's inode and a byte offset just past a
/// newline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub inode: u64,
    pub offset: u64,
}

/// What is known of a file on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileMeta {
    pub inode: u64,
    pub len: u64,
}

/// The state file (`<syslog>.tsfleet-upload.json` by default).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Device name → how far its lines were accepted by the server.
    #[serde(default)]
    pub devices: BTreeMap<String, Position>,
    /// How far lines from unknown senders were counted (so each is reported once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<Position>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the upload state {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the upload state {path} is not valid ({source}); fix it, or move it away to upload the whole syslog file again"
    )]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write the upload state {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl State {
    /// The saved state, or an empty one when the file does not exist yet.
    pub fn load(path: &Path) -> Result<State, StateError> {
        match crate::files::read_bytes(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StateError::Parse {
                path: path.to_path_buf(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(StateError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Write the state whole (readers and crashes see the old or the new file).
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("the state serialises");
        bytes.push(b'\n');
        crate::files::write_atomic(path, &bytes).map_err(|source| StateError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Where one device's (or the unknown senders') next lines start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// In the current file, at `offset` (0 on a first run: the whole file).
    Current { offset: u64 },
    /// The file was rotated and the old one is `FILE.1`: finish it from
    /// `offset`, then the current file from 0.
    Rotated { offset: u64 },
    /// The file was rotated and the old one is gone: whatever it held past
    /// `offset` cannot be read; the current file from 0.
    Lost { offset: u64 },
}

/// The rotation decision. The syslog file was rotated since `saved` when its
/// inode changed (rename, the logrotate default) or it is shorter than the
/// saved offset (`copytruncate`). The rotated file is taken as the old one
/// when it has the saved inode, or, after a `copytruncate`, when it is at
/// least as long as the saved offset.
pub fn start(saved: Option<Position>, current: FileMeta, rotated: Option<FileMeta>) -> Start {
    let Some(p) = saved else {
        return Start::Current { offset: 0 };
    };
    if p.inode == current.inode {
        if p.offset <= current.len {
            return Start::Current { offset: p.offset };
        }
        return match rotated {
            Some(r) if r.len >= p.offset => Start::Rotated { offset: p.offset },
            _ => Start::Lost { offset: p.offset },
        };
    }
    match rotated {
        Some(r) if r.inode == p.inode => Start::Rotated { offset: p.offset },
        _ => Start::Lost { offset: p.offset },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUR: FileMeta = FileMeta { inode: 7, len: 100 };

    #[test]
    fn first_run_takes_the_whole_file() {
        assert_eq!(start(None, CUR, None), Start::Current { offset: 0 });
    }

    #[test]
    fn same_file_continues_at_the_offset() {
        let p = Position {
            inode: 7,
            offset: 40,
        };
        assert_eq!(start(Some(p), CUR, None), Start::Current { offset: 40 });
        let end = Position {
            inode: 7,
            offset: 100,
        };
        assert_eq!(start(Some(end), CUR, None), Start::Current { offset: 100 });
    }

    #[test]
    fn renamed_file_is_finished_from_dot_one() {
        let p = Position {
            inode: 3,
            offset: 40,
        };
        let old = FileMeta { inode: 3, len: 90 };
        assert_eq!(
            start(Some(p), CUR, Some(old)),
            Start::Rotated { offset: 40 }
        );
        let other = FileMeta { inode: 4, len: 90 };
        assert_eq!(start(Some(p), CUR, Some(other)), Start::Lost { offset: 40 });
        assert_eq!(start(Some(p), CUR, None), Start::Lost { offset: 40 });
    }

    #[test]
    fn truncated_file_is_a_copytruncate_rotation() {
        let p = Position {
            inode: 7,
            offset: 150,
        };
        let copy = FileMeta { inode: 9, len: 160 };
        assert_eq!(
            start(Some(p), CUR, Some(copy)),
            Start::Rotated { offset: 150 }
        );
        let short = FileMeta { inode: 9, len: 120 };
        assert_eq!(
            start(Some(p), CUR, Some(short)),
            Start::Lost { offset: 150 }
        );
        assert_eq!(start(Some(p), CUR, None), Start::Lost { offset: 150 });
    }

    #[test]
    fn state_round_trips_and_a_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        assert_eq!(State::load(&path).unwrap(), State::default());
        let mut s = State::default();
        s.devices.insert(
            "r1".into(),
            Position {
                inode: 1,
                offset: 2,
            },
        );
        s.unknown = Some(Position {
            inode: 1,
            offset: 3,
        });
        s.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), s);
        std::fs::write(&path, "{").unwrap();
        let e = State::load(&path).unwrap_err().to_string();
        assert!(e.contains("move it away"), "{e}");
    }
}
