//! One run per inventory at a time: an advisory lock on a file beside the
//! inventory, holding the holder's pid so a second run can say who has it.
//! The lock goes with the process (a crashed run leaves no stale lock).

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Held for the life of a run.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another tsfleet run (pid {pid}) is using this inventory (lock {path}); wait for it or stop it"
    )]
    Held { pid: String, path: PathBuf },
    #[error("cannot create the lock file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The lock file of an inventory: `.NAME.lock` beside it.
pub fn lock_path(inventory: &Path) -> PathBuf {
    let name = inventory
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("inventory");
    inventory.with_file_name(format!(".{name}.lock"))
}

/// Take the inventory's lock or say who holds it.
pub fn acquire(inventory: &Path) -> Result<RunLock, LockError> {
    let path = lock_path(inventory);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        let mut pid = String::new();
        let _ = file.read_to_string(&mut pid);
        let pid = pid.trim();
        return Err(LockError::Held {
            pid: if pid.is_empty() {
                "unknown".into()
            } else {
                pid.to_string()
            },
            path,
        });
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    write!(file, "{}", std::process::id()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(RunLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("fleet.yaml");
        let held = acquire(&inv).unwrap();
        assert_eq!(held.path, dir.path().join(".fleet.yaml.lock"));
        // flock locks belong to the open file description: a second open conflicts.
        let err = acquire(&inv).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(held);
        acquire(&inv).expect("free again once the holder is gone");
    }
}
