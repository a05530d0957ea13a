//! Writing output files safely: readers see the old file or the whole new
//! one, never half of it; and reading back the versioned JSON files tsfleet
//! writes ([`read_versioned`]). One helper, used by every writer (reports,
//! snapshots, simulator state, transcripts' folder), and [`Output`], the `FILE` argument that
//! takes `-` for stdout and can be checked before anything is done.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
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

    /// [`Output::write`], a new file getting `mode` (0600 for what only
    /// its owner may read).
    pub fn write_mode(&self, bytes: &[u8], mode: u32) -> std::io::Result<()> {
        match self {
            Output::Stdout => self.write(bytes),
            Output::File(path) => write_atomic_mode(path, bytes, mode),
        }
    }

    /// [`Output::write`] for a file another service's user reads
    /// (node_exporter's textfile collector): mode 0644 whatever the umask,
    /// so the service running tsfleet can keep `UMask=0077`.
    pub fn write_readable(&self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Stdout => self.write(bytes),
            Output::File(path) => write_atomic_with(path, bytes, 0o644, true),
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

/// Why [`read_versioned`] could not give a file's value.
#[derive(Debug, thiserror::Error)]
pub enum ReadVersioned {
    #[error("cannot be read: {0}")]
    Read(#[source] std::io::Error),
    /// The file's `version` (or `format_version`) is `found`: checked
    /// before the rest, so a file of another release gets this message
    /// rather than a parse error.
    #[error("has version {found}; this tsfleet reads version {expected}")]
    Version { found: u64, expected: u64 },
    #[error("is not valid JSON for its schema: {0}")]
    Parse(#[source] serde_json::Error),
}

/// The largest file tsfleet reads whole (an inventory, a snapshot, a saved
/// plan, a report, a simulator profile, an inventory to import): the lists
/// of a big policy set (hundreds of thousands of prefixes) or the report of
/// a 100,000-device run are tens of MiB; anything far larger is a wrong
/// path (`/dev/zero`), not an input, and must not fill memory.
pub const MAX_READ_BYTES: u64 = 256 << 20;

/// The text of the regular file `path`: [`read_regular`] up to
/// [`MAX_READ_BYTES`], and UTF-8. The one way tsfleet reads an input file
/// whole, so `-i /dev/zero` or a FIFO is refused at once, never read.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read_bytes(path)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "is not UTF-8 text"))
}

/// Open the regular file `path` for reading: opened non-blocking (a FIFO
/// swapped in after a check cannot block the open) and its type checked on
/// the open file, so a FIFO, a device or a folder is refused, never read.
/// `follow`: a symbolic link at `path` is followed; otherwise refused.
pub fn open_regular(path: &Path, follow: bool) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let mut flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    let file = rustix::fs::open(path, flags, Mode::empty())
        .map(std::fs::File::from)
        .map_err(|e| {
            if e == rustix::io::Errno::LOOP && !follow {
                std::io::Error::other("it is a symbolic link (not followed)")
            } else {
                e.into()
            }
        })?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other(
            "is not a regular file (a FIFO, a device or a folder)",
        ));
    }
    Ok(file)
}

/// The bytes of the regular file `path`: [`read_regular`] up to
/// [`MAX_READ_BYTES`]; see [`read_text`].
pub fn read_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    read_regular(path, MAX_READ_BYTES)
}

/// The bytes of the regular file `path` (links followed), refused before it
/// is opened when it is a FIFO, a device or a folder (a FIFO would block the
/// open), and refused past `limit` bytes.
fn read_regular(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    open_regular(path, true)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "is larger than {} MiB: not a file tsfleet wrote",
            limit >> 20
        )));
    }
    Ok(bytes)
}

/// Read the JSON file `path` as a `T` whose `version` (or
/// `format_version`) must be `expected`.
pub fn read_versioned<T: serde::de::DeserializeOwned>(
    path: &Path,
    expected: u64,
) -> Result<T, ReadVersioned> {
    let text = read_regular(path, MAX_READ_BYTES).map_err(ReadVersioned::Read)?;
    #[derive(serde::Deserialize)]
    struct VersionOnly {
        #[serde(alias = "format_version")]
        version: u64,
    }
    if let Ok(v) = serde_json::from_slice::<VersionOnly>(&text)
        && v.version != expected
    {
        return Err(ReadVersioned::Version {
            found: v.version,
            expected,
        });
    }
    serde_json::from_slice(&text).map_err(ReadVersioned::Parse)
}

/// Check, before a run, that [`write_atomic`] will be able to write `path`:
/// it is not a folder, its folder exists, and a file can be created there
/// (a temporary, created and removed again). An existing file is left as
/// it is; what [`write_atomic`] writes through (a device, a FIFO, a link
/// under `/dev` or `/proc`) is accepted as it is (opening a FIFO would wait
/// for its reader).
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    match target(path) {
        Target::Folder => return Err(std::io::Error::other("is a folder, not a file")),
        Target::WriteThrough => return Ok(()),
        Target::Replace => {}
    }
    let dir = folder_of(path);
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
    check_dir_writable(dir)
}

/// Check that files can be created in the folder `dir` (which must exist):
/// a temporary with a random name is created and removed again.
pub fn check_dir_writable(dir: &Path) -> std::io::Result<()> {
    tempfile::Builder::new()
        .prefix(".tsfleet-probe")
        .tempfile_in(dir)
        .map(drop)
}

/// What [`write_atomic`] does with a path.
enum Target {
    /// Create a new file and rename it over the path (nothing there, a
    /// regular file, or a symbolic link, which is replaced, not followed).
    Replace,
    /// Open and write the path as it is: a FIFO or device, or a link the
    /// system keeps (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`).
    WriteThrough,
    Folder,
}

fn target(path: &Path) -> Target {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Target::Folder,
        Ok(meta) if meta.is_symlink() => {
            // Only root can plant links under /dev and /proc.
            if path.starts_with("/dev") || path.starts_with("/proc") {
                Target::WriteThrough
            } else {
                Target::Replace
            }
        }
        Ok(meta) if !meta.is_file() => Target::WriteThrough,
        _ => Target::Replace,
    }
}

fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Write `bytes` to `path`, mode 0644 (less what the umask removes): into a
/// new temporary file with a random name beside it (created exclusively,
/// so never through a link), synced and renamed into place. A symbolic
/// link at `path` is thereby replaced, and what it pointed to is left
/// alone. A FIFO or device, or a system link to one (`/dev/stdout`), is
/// written directly: renaming over it would replace it with a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, 0o644)
}

/// [`write_atomic`] with another mode for the new file (0600 for secrets).
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    write_atomic_with(path, bytes, mode, false)
}

/// [`write_atomic_mode`]; `exact`: the new file gets `mode` itself, not
/// `mode` less the umask.
fn write_atomic_with(path: &Path, bytes: &[u8], mode: u32, exact: bool) -> std::io::Result<()> {
    match target(path) {
        Target::WriteThrough => {
            let mut out = std::fs::OpenOptions::new().write(true).open(path)?;
            return out.write_all(bytes);
        }
        Target::Folder => return Err(std::io::Error::other("is a folder, not a file")),
        Target::Replace => {}
    }
    let mut tmp = temporary_beside(path, mode)?;
    if exact {
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map(drop).map_err(|e| e.error)
}

/// The new file [`write_atomic_mode`] renames to `path`: `.NAME.XXXXXX.tmp`
/// beside it, hidden and ending in `.tmp`, so a reader of `*.json` or
/// `*.prom` (node_exporter's textfile collector) never picks it up.
fn temporary_beside(path: &Path, mode: u32) -> std::io::Result<tempfile::NamedTempFile> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{} is not a file name", path.display())))?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(folder_of(path))
}

/// Create the folder `path` (and its missing parents), each new one mode
/// 0700, and check that `path` is a folder and not a symbolic link: files
/// created in it then cannot be sent elsewhere by a planted link.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    create_dir_mode(path, 0o700)
}

/// [`create_private_dir`] with another mode for the new folders (0755
/// for what every user may read, such as man pages).
pub fn create_dir_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)?;
    if std::fs::symlink_metadata(path)?.is_dir() {
        Ok(())
    } else {
        Err(std::io::Error::other(
            "is a symbolic link, not a folder (links are not followed: give the folder itself)",
        ))
    }
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
    fn the_temporary_is_hidden_and_never_ends_like_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = temporary_beside(&dir.path().join("tsfleet.prom"), 0o644).unwrap();
        let name = tmp.path().file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(".tsfleet.prom."), "{name}");
        assert!(name.ends_with(".tmp") && !name.ends_with(".prom"), "{name}");
    }

    #[test]
    fn versioned_files_must_be_regular_and_of_a_sane_size() {
        #[derive(Debug, serde::Deserialize)]
        struct V {
            #[allow(dead_code)]
            version: u64,
        }
        let zero = read_versioned::<V>(Path::new("/dev/zero"), 1).unwrap_err();
        assert!(zero.to_string().contains("not a regular file"), "{zero}");
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let err = read_versioned::<V>(&fifo, 1).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let big = dir.path().join("big.json");
        std::fs::write(&big, b"x").unwrap();
        let err = read_regular(&big, 0).unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
        std::fs::write(&big, br#"{"version": 1}"#).unwrap();
        read_versioned::<V>(&big, 1).unwrap();
    }

    #[test]
    fn a_planted_link_is_replaced_and_its_target_left_alone() {
        let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
        let report = dir.path().join("report.json");
        std::os::unix::fs::symlink(&victim, &report).unwrap();
        check_writable(&report).unwrap();
        write_atomic(&report, b"report").unwrap();
        assert!(std::fs::symlink_metadata(&report).unwrap().is_file());
        assert_eq!(std::fs::read(&report).unwrap(), b"report");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(mode(&victim), 0o600);
        // A file that existed with another mode ends with the documented one.
        std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o666)).unwrap();
        write_atomic(&report, b"again").unwrap();
        assert_eq!(mode(&report) & !0o644, 0, "no bit beyond 0644");
        assert_eq!(mode(&report) & 0o600, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        // The system's own links to a stream are written through.
        write_atomic(Path::new("/dev/stdout"), b"").unwrap();
        assert!(
            std::fs::symlink_metadata("/dev/stdout")
                .unwrap()
                .is_symlink()
        );
    }

    #[test]
    fn a_private_folder_is_0700_and_not_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs/2026-01-01-apply");
        create_private_dir(&runs).unwrap();
        for d in [&runs, &dir.path().join("runs")] {
            let mode = std::fs::metadata(d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
        create_private_dir(&runs).expect("an existing folder is fine");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&runs, &link).unwrap();
        let err = create_private_dir(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
    }

    #[test]
    fn checks_outputs_without_touching_them() {
        use std::ffi::OsString;
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
