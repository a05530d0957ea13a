//! The state directory: what tsfleet keeps between runs, per user, and
//! never beside the inventory (which may sit on a read-only mount, as in
//! `examples/kubernetes/`). It holds the run locks, `locks/<digest>.lock`
//! (see [`crate::lock`]), and the record of the lists last applied,
//! `applied/<digest>.json` (see [`crate::lists::applied`]), and the devices'
//! last successes for `--metrics`, `metrics/<digest>.json` (see
//! [`crate::report::metrics`]): all named by [`inventory_file`]; state kept
//! across runs belongs here too.
//!
//! Where it is: `--state-dir` (or `TSFLEET_STATE_DIR`), else
//! `$XDG_STATE_HOME/tsfleet`, else `~/.local/state/tsfleet`. Folders tsfleet
//! creates there are mode 0700.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// `--state-dir`, flattened into every command that takes the run lock.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StateDirArg {
    /// Where tsfleet keeps its locks and state between runs (default
    /// $XDG_STATE_HOME/tsfleet or ~/.local/state/tsfleet).
    #[arg(long = "state-dir", env = "TSFLEET_STATE_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl StateDirArg {
    /// The state directory this run uses, from the flag or the environment.
    pub fn resolve(&self) -> Option<PathBuf> {
        choose(
            self.dir.clone(),
            std::env::var_os("XDG_STATE_HOME"),
            std::env::var_os("HOME"),
        )
    }
}

/// The state directory from the flag, `XDG_STATE_HOME` and `HOME` (the XDG
/// base-directory rules: a relative `XDG_STATE_HOME` is ignored). `None`
/// when none of them gives one.
pub fn choose(
    flag: Option<PathBuf>,
    xdg_state_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let absolute = |v: Option<OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    flag.filter(|p| !p.as_os_str().is_empty())
        .or_else(|| absolute(xdg_state_home).map(|x| x.join("tsfleet")))
        .or_else(|| absolute(home).map(|h| h.join(".local/state/tsfleet")))
}

/// The file `sub/<digest>.ext` in the state directory `state_dir` that
/// belongs to the inventory `canonical` (an absolute path without links):
/// the digest names the inventory, so every path that reaches the same
/// file shares its state.
pub fn inventory_file(state_dir: &Path, sub: &str, canonical: &Path, ext: &str) -> PathBuf {
    use sha2::Digest;
    use std::os::unix::ffi::OsStrExt;
    let digest = sha2::Sha256::digest(canonical.as_os_str().as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    state_dir.join(sub).join(format!("{hex}.{ext}"))
}

/// Create `dir` (and `dir/sub`) when missing, each new folder mode 0700
/// ([`crate::files::create_private_dir`]); a link at `dir/sub` is refused.
pub fn subfolder(dir: &Path, sub: &str) -> std::io::Result<PathBuf> {
    let path = dir.join(sub);
    crate::files::create_private_dir(&path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// The bytes of the state file `path`, `None` when there is none. A
/// symbolic link there is refused, not followed, as is anything but a
/// regular file ([`crate::files::open_regular`]: a FIFO planted there would
/// block the run), and a file over `limit` bytes (a bigger one is not a file
/// tsfleet wrote).
pub fn read(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let file = match crate::files::open_regular(path, false) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut text = Vec::new();
    file.take(limit + 1).read_to_end(&mut text)?;
    if text.len() as u64 > limit {
        return Err(std::io::Error::other(format!("larger than {limit} bytes")));
    }
    Ok(Some(text))
}

/// Replace the state file `path` with `value` as JSON (atomically, mode
/// 0600), creating its folder (0700) when missing.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    crate::files::create_private_dir(path.parent().unwrap_or(Path::new(".")))?;
    crate::files::write_atomic_mode(path, &text, 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_then_xdg_then_home() {
        let some = |s: &str| Some(OsString::from(s));
        assert_eq!(
            choose(Some("/s".into()), some("/x"), some("/h")),
            Some("/s".into())
        );
        assert_eq!(
            choose(None, some("/x"), some("/h")),
            Some("/x/tsfleet".into())
        );
        assert_eq!(
            choose(None, some("relative"), some("/h")),
            Some("/h/.local/state/tsfleet".into()),
            "a relative XDG_STATE_HOME is ignored"
        );
        assert_eq!(choose(Some("".into()), None, None), None);
    }

    #[test]
    fn a_planted_fifo_link_or_folder_is_refused_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Nobody writes to it: a blocking open would never return.
        let err = read(&fifo, 1024).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let real = dir.path().join("real.json");
        std::fs::write(&real, "{}").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = read(&link, 1024).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        let err = read(dir.path(), 1024).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        assert_eq!(read(&real, 1024).unwrap().as_deref(), Some(&b"{}"[..]));
        assert_eq!(read(&dir.path().join("none"), 1024).unwrap(), None);
    }

    #[test]
    fn creates_private_folders_and_refuses_links() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let locks = subfolder(&state, "locks").unwrap();
        for d in [&state, &locks] {
            let mode = std::fs::metadata(d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, state.join("linked")).unwrap();
        let err = subfolder(&state, "linked").unwrap_err().to_string();
        assert!(
            err.contains("linked") && err.contains("symbolic link"),
            "{err}"
        );
    }
}
