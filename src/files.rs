//! Writing output files safely: readers see the old file or the whole new
//! one, never half of it. One helper, used by every writer (reports,
//! snapshots, simulator state), and [`Output`], the `FILE` argument that
//! takes `-` for stdout and can be checked before anything is done.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Where an output goes: a `FILE` argument, `-` meaning stdout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Stdout,
    File(PathBuf),
}

impl Output {
    pub fn is_stdout(&self) -> bool {
        matches!(self, Output::Stdout)
    }

    /// The file, when it is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Output::Stdout => None,
            Output::File(p) => Some(p),
        }
    }

    /// Write `bytes` whole: to stdout, or atomically to the file ([`write_atomic`]).
    pub fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
            Output::File(path) => write_atomic(path, bytes),
        }
    }

    /// Whether [`Output::write`] can succeed, found without touching the
    /// file itself: see [`check_writable`]. Stdout always can.
    pub fn check(&self) -> std::io::Result<()> {
        match self {
            Output::Stdout => Ok(()),
            Output::File(path) => check_writable(path),
        }
    }
}

/// How clap reads a `FILE` argument: `-` is stdout.
impl From<std::ffi::OsString> for Output {
    fn from(s: std::ffi::OsString) -> Output {
        if s == "-" {
            Output::Stdout
        } else {
            Output::File(PathBuf::from(s))
        }
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Stdout => f.write_str("-"),
            Output::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Check, before a run, that [`write_atomic`] will be able to write `path`:
/// it is not a folder, its folder exists, and a file can be created there
/// (the temporary the write renames, created and removed again). An
/// existing file is left as it is; a device or FIFO is accepted as it is
/// (opening a FIFO would wait for its reader).
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(std::io::Error::other("is a folder, not a file"));
        }
        Ok(meta) if !meta.is_file() => return Ok(()),
        _ => {}
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(std::io::Error::other(format!(
                "{} is not a folder",
                dir.display()
            )));
        }
        Err(e) => {
            return Err(std::io::Error::new(
                e.kind(),
                format!("its folder {}: {e}", dir.display()),
            ));
        }
    }
    probe(&temporary_beside(path)?)
}

/// Check that files can be created in the folder `dir` (which must exist).
pub fn check_dir_writable(dir: &Path) -> std::io::Result<()> {
    probe(&temporary_beside(&dir.join("probe"))?)
}

/// Create `tmp` (which must not exist) and remove it again.
fn probe(tmp: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)?;
    std::fs::remove_file(tmp)
}

/// Write `bytes` to `path` through a temporary file beside it, synced and
/// renamed into place. A path that exists and is not a regular file
/// (`/dev/stdout`, a FIFO) is written directly: renaming over it would
/// replace the device with a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        let mut out = std::fs::OpenOptions::new().write(true).open(path)?;
        return out.write_all(bytes);
    }
    let tmp = temporary_beside(path)?;
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn temporary_beside(path: &Path) -> std::io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{} is not a file name", path.display())))?;
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".tmp{}", std::process::id()));
    Ok(path.with_file_name(tmp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_files_whole_and_leaves_devices_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
        write_atomic(Path::new("/dev/null"), b"discarded").unwrap();
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert!(!meta.is_file(), "/dev/null is still a device");
    }

    #[test]
    fn checks_outputs_without_touching_them() {
        use std::ffi::OsString;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("report.json");
        check_writable(&file).unwrap();
        assert!(!file.exists(), "the check creates nothing");
        std::fs::write(&file, "old").unwrap();
        check_writable(&file).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        check_writable(Path::new("/dev/null")).unwrap();

        let err = |p: &Path| check_writable(p).unwrap_err().to_string();
        assert!(err(dir.path()).contains("folder"));
        assert!(err(&dir.path().join("missing/r.json")).contains("missing"));
        assert!(err(&file.join("r.json")).contains("not a folder"));
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
        // root writes anywhere: only check what the permissions can refuse.
        if std::fs::write(locked.join("x"), "").is_err() {
            assert!(check_writable(&locked.join("r.json")).is_err());
            assert!(check_dir_writable(&locked).is_err());
        }
        check_dir_writable(dir.path()).unwrap();

        assert_eq!(Output::from(OsString::from("-")), Output::Stdout);
        assert_eq!(
            Output::from(OsString::from("./-")),
            Output::File("./-".into()),
            "only - itself is stdout"
        );
    }
}
