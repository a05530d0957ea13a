//! One run per inventory at a time: an advisory lock (flock) on a file in
//! the state directory ([`crate::state_dir`]), named after a digest of the
//! inventory's canonical path. The inventory reached through a symbolic
//! link or another relative path takes the same lock, and nothing is
//! written beside the inventory (its folder may be read-only). The file
//! holds the holder's pid, so a second run can say who has it; the lock
//! goes with the process (a crashed run leaves no stale lock).
//!
//! A lock file is opened without following symbolic links, must be a
//! regular file with a single link, and is set to mode 0600. Anything else
//! at its path fails the run naming the path: removing it instead could
//! remove a lock another run holds.

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
    #[error("the inventory {path}: {source}")]
    Inventory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot use the state directory {path} (--state-dir, TSFLEET_STATE_DIR): {source}")]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no state directory for the run lock: pass --state-dir DIR or set TSFLEET_STATE_DIR (HOME and XDG_STATE_HOME are unset)"
    )]
    NoStateDir,
}

/// The lock file of the inventory `canonical` (an absolute path without
/// links): `locks/<digest>.lock` in the state directory `state_dir`.
pub fn inventory_lock_path(state_dir: &Path, canonical: &Path) -> PathBuf {
    crate::state_dir::inventory_file(state_dir, "locks", canonical, "lock")
}

/// Take the lock of `inventory` in `state_dir` (created when missing) or
/// say who holds it.
pub fn acquire_inventory(inventory: &Path, state_dir: Option<&Path>) -> Result<RunLock, LockError> {
    let state_dir = state_dir.ok_or(LockError::NoStateDir)?;
    let canonical = std::fs::canonicalize(inventory).map_err(|source| LockError::Inventory {
        path: inventory.to_path_buf(),
        source,
    })?;
    crate::state_dir::subfolder(state_dir, "locks").map_err(|source| LockError::StateDir {
        path: state_dir.to_path_buf(),
        source,
    })?;
    lock_file(inventory_lock_path(state_dir, &canonical))
}

/// Take a lock kept beside `path` (`.NAME.lock`), for state that lives in
/// a folder tsfleet writes anyway (`logs upload`'s state file).
pub fn acquire_beside(path: &Path) -> Result<RunLock, LockError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    lock_file(path.with_file_name(format!(".{name}.lock")))
}

fn lock_file(path: PathBuf) -> Result<RunLock, LockError> {
    use rustix::fs::{Mode, OFlags};
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    let fd = rustix::fs::open(
        &path,
        OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|e| {
        io(if e == rustix::io::Errno::LOOP {
            std::io::Error::other("it is a symbolic link (not followed)")
        } else {
            e.into()
        })
    })?;
    let mut file = File::from(fd);
    let meta = file.metadata().map_err(io)?;
    {
        use std::os::unix::fs::MetadataExt;
        if !meta.is_file() || meta.nlink() != 1 {
            return Err(io(std::io::Error::other(
                "not a regular file with a single link; remove it if no tsfleet run is using it",
            )));
        }
    }
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
    rustix::fs::fchmod(&file, Mode::from_raw_mode(0o600)).map_err(|e| io(e.into()))?;
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
    fn a_second_lock_names_the_holder_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let inv = dir.path().join("fleet.yaml");
        std::fs::write(&inv, "devices: []\n").unwrap();
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&inv, &link).unwrap();
        let held = acquire_inventory(&inv, Some(&state)).unwrap();
        assert!(held.path.starts_with(state.join("locks")), "{held:?}");
        // flock locks belong to the open file description: a second open conflicts.
        let err = acquire_inventory(&link, Some(&state)).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(held);
        acquire_inventory(&link, Some(&state)).expect("free again once the holder is gone");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            3,
            "nothing beside the inventory"
        );
    }

    #[test]
    fn a_planted_link_or_hard_link_is_refused_naming_the_path() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let inv = dir.path().join("fleet.yaml");
        std::fs::write(&inv, "devices: []\n").unwrap();
        let lock = inventory_lock_path(&state, &std::fs::canonicalize(&inv).unwrap());
        std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();

        std::os::unix::fs::symlink(&victim, &lock).unwrap();
        let err = acquire_inventory(&inv, Some(&state))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&lock.display().to_string()) && err.contains("symbolic link"),
            "{err}"
        );
        std::fs::remove_file(&lock).unwrap();

        std::fs::hard_link(&victim, &lock).unwrap();
        let err = acquire_inventory(&inv, Some(&state))
            .unwrap_err()
            .to_string();
        assert!(err.contains("single link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let mode = std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "the target's mode is unchanged");
        std::fs::remove_file(&lock).unwrap();

        // An existing lock file left world-readable ends 0600.
        std::fs::write(&lock, "").unwrap();
        std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o666)).unwrap();
        let held = acquire_inventory(&inv, Some(&state)).unwrap();
        let mode = std::fs::metadata(&held.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn without_a_state_dir_says_how_to_give_one() {
        let err = acquire_inventory(Path::new("x.yaml"), None).unwrap_err();
        assert!(err.to_string().contains("--state-dir"), "{err}");
    }
}
