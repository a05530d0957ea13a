//! Secrets in the inventory are references (`{ env: NAME }`, `{ file: PATH }`)
//! so the file itself can be shared; a literal string is accepted with a
//! warning. A secret's value is never printed: `Debug` and `Display` mask it.
//!
//! Secret and private key files are read by [`SecretFiles`]: once per run
//! and path, only when they are regular files no larger than
//! [`MAX_SECRET_FILE_BYTES`], with a warning when other users may read them.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The largest secret or private key file tsfleet reads. A password is one
/// line and an OpenSSH private key a few KiB (RSA 8192 bits: about 6.5 KiB);
/// the cap keeps a path that names something else (a log, a disk image)
/// from filling memory.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// The log target of security warnings, which `-q` does not hide (see
/// `cli::init_logging`).
pub const SECURITY_LOG: &str = "tsfleet::security";

/// Deserialised by hand (not `untagged`) so a mistake such as `{ nev: X }`
/// is reported as an unknown key with its line and column, not as "data did
/// not match any variant".
#[derive(Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Secret {
    Env { env: String },
    File { file: PathBuf },
    Literal(String),
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set (it holds a secret the inventory refers to)")]
    EnvMissing(String),
    #[error("cannot read {kind} file {path}: {source}")]
    File {
        kind: FileKind,
        path: PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A FIFO, a device, a folder or a socket: reading one could block
    /// forever or never end.
    #[error("{kind} file {path} is {what}, not a regular file: point it at a regular file")]
    NotRegular {
        kind: FileKind,
        path: PathBuf,
        what: &'static str,
    },
    #[error(
        "{kind} file {path} is larger than {MAX_SECRET_FILE_BYTES} bytes: it cannot be a {kind}; check the path"
    )]
    TooLarge { kind: FileKind, path: PathBuf },
    /// Read, but not a private key tsfleet can use (never its content).
    #[error(
        "private key file {path} cannot be used: {reason}; tsfleet reads OpenSSH and PEM keys without a passphrase (it has no passphrase setting)"
    )]
    KeyUnusable { path: PathBuf, reason: String },
}

/// What a file read by [`SecretFiles`] holds, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Secret,
    PrivateKey,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Secret => "secret",
            FileKind::PrivateKey => "private key",
        })
    }
}

impl Secret {
    /// The secret's value; `base_dir` is the inventory's folder. Reads a
    /// file afresh: a run reads through one [`SecretFiles`] instead.
    pub fn reveal(&self, base_dir: &Path) -> Result<String, SecretError> {
        SecretFiles::default().reveal(self, base_dir)
    }
}

/// The secret and key files of one run, each read (and warned about) once
/// however many devices refer to it.
#[derive(Default)]
pub struct SecretFiles {
    read: HashMap<PathBuf, Result<Arc<str>, SecretError>>,
    keys: HashMap<PathBuf, Result<Arc<russh::keys::PrivateKey>, SecretError>>,
}

impl SecretFiles {
    /// A secret's value; `base_dir` is the inventory's folder.
    pub fn reveal(&mut self, secret: &Secret, base_dir: &Path) -> Result<String, SecretError> {
        match secret {
            Secret::Env { env } => {
                std::env::var(env).map_err(|_| SecretError::EnvMissing(env.clone()))
            }
            Secret::File { file } => {
                let text = self.read(&base_dir.join(file), FileKind::Secret)?;
                Ok(text.trim_end_matches(['\r', '\n']).to_string())
            }
            Secret::Literal(s) => Ok(s.clone()),
        }
    }

    /// The private key in `path`, read (as [`read_secret_file`] reads)
    /// and decoded once per run however many devices use it: a key that
    /// cannot be used stops the run before any device is contacted, and
    /// the sessions take the decoded key, never the file.
    pub fn key(&mut self, path: &Path) -> Result<Arc<russh::keys::PrivateKey>, SecretError> {
        if let Some(key) = self.keys.get(path) {
            return key.clone();
        }
        let key = self.read(path, FileKind::PrivateKey).and_then(|text| {
            russh::keys::decode_secret_key(&text, None)
                .map(Arc::new)
                .map_err(|e| SecretError::KeyUnusable {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })
        });
        self.keys.insert(path.to_path_buf(), key.clone());
        key
    }

    fn read(&mut self, path: &Path, kind: FileKind) -> Result<Arc<str>, SecretError> {
        self.read
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                let (text, mode) = read_secret_file(path, kind)?;
                if let Some(mode) = mode {
                    warn_unprotected(path, kind, mode);
                }
                Ok(text.into())
            })
            .clone()
    }
}

/// As OpenSSH words it for a key that others may read.
fn warn_unprotected(path: &Path, kind: FileKind, mode: u32) {
    let p = path.display();
    let what = match kind {
        FileKind::Secret => "SECRET",
        FileKind::PrivateKey => "PRIVATE KEY",
    };
    tracing::warn!(
        target: SECURITY_LOG,
        "UNPROTECTED {what} FILE: permissions {mode:04o} for {p} are too open: other users \
         can read it; run `chmod 600 {p}`"
    );
}

/// Read a secret or key file: only a regular file (checked before opening,
/// opened non-blocking so a FIFO swapped in meanwhile cannot block, and
/// checked again once open), at most [`MAX_SECRET_FILE_BYTES`], UTF-8.
/// Symbolic links are followed: Kubernetes mounts secrets through them.
/// Also returns the file's mode when group or others have any access to it.
pub fn read_secret_file(path: &Path, kind: FileKind) -> Result<(String, Option<u32>), SecretError> {
    use rustix::fs::{Mode, OFlags};
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let failed = |source: std::io::Error| SecretError::File {
        kind,
        path: path.to_path_buf(),
        source: Arc::new(source),
    };
    let regular = |meta: &std::fs::Metadata| -> Result<(), SecretError> {
        match file_type_name(&meta.file_type()) {
            None if meta.len() > MAX_SECRET_FILE_BYTES => Err(SecretError::TooLarge {
                kind,
                path: path.to_path_buf(),
            }),
            None => Ok(()),
            Some(what) => Err(SecretError::NotRegular {
                kind,
                path: path.to_path_buf(),
                what,
            }),
        }
    };
    regular(&std::fs::metadata(path).map_err(failed)?)?;
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .map_err(|e| failed(e.into()))?;
    let file = std::fs::File::from(fd);
    let meta = file.metadata().map_err(failed)?;
    regular(&meta)?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(SecretError::TooLarge {
            kind,
            path: path.to_path_buf(),
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        failed(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8 text",
        ))
    })?;
    let mode = meta.permissions().mode() & 0o7777;
    Ok((text, (mode & 0o077 != 0).then_some(mode)))
}

/// What a file that is not a regular file is, in words (`None`: regular).
fn file_type_name(t: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a folder")
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        Some("not a file")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

const SECRET_KEYS: &[&str] = &["env", "file"];

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a secret reference `{ env: NAME }` or `{ file: PATH }` (or a literal string)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
        Ok(Secret::Literal(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Secret, E> {
        Ok(Secret::Literal(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Secret, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(
                "empty secret: write `{ env: NAME }` or `{ file: PATH }`",
            ));
        };
        let secret = match key.as_str() {
            "env" => {
                let name: String = map.next_value()?;
                if name.is_empty() {
                    return Err(de::Error::custom(
                        "`env:` needs the name of an environment variable",
                    ));
                }
                Secret::Env { env: name }
            }
            "file" => Secret::File {
                file: map.next_value()?,
            },
            other => return Err(de::Error::unknown_field(other, SECRET_KEYS)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "a secret has exactly one key, `env` or `file`; remove `{extra}`"
            )));
        }
        Ok(secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Env { env } => write!(f, "{{ env: {env} }}"),
            Secret::File { file } => write!(f, "{{ file: {} }}", file.display()),
            Secret::Literal(_) => f.write_str("******"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_forms_deserialise() {
        let s: Secret = serde_saphyr::from_str("{ env: PW }").unwrap();
        assert_eq!(s, Secret::Env { env: "PW".into() });
        let s: Secret = serde_saphyr::from_str("file: secrets/pw").unwrap();
        assert_eq!(
            s,
            Secret::File {
                file: "secrets/pw".into()
            }
        );
        let s: Secret = serde_saphyr::from_str("hunter2").unwrap();
        assert_eq!(s, Secret::Literal("hunter2".into()));
        assert_eq!(s.to_string(), "******");
    }

    #[test]
    fn secret_files_must_be_small_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret\n").unwrap();
        let (text, _) = read_secret_file(&pw, FileKind::Secret).unwrap();
        assert_eq!(text, "s3cret\n");
        // A FIFO with no writer: opening it for reading would wait forever.
        let fifo = dir.path().join("fifo");
        use rustix::fs::{CWD, FileType, Mode, mknodat};
        mknodat(CWD, &fifo, FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
        let e = read_secret_file(&fifo, FileKind::Secret).unwrap_err();
        assert!(
            e.to_string().contains("is a FIFO, not a regular file"),
            "{e}"
        );
        let e = read_secret_file(Path::new("/dev/zero"), FileKind::PrivateKey).unwrap_err();
        assert_eq!(
            e.to_string(),
            "private key file /dev/zero is a character device, not a regular file: point it at a regular file"
        );
        let e = read_secret_file(dir.path(), FileKind::Secret).unwrap_err();
        assert!(e.to_string().contains("is a folder"), "{e}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; MAX_SECRET_FILE_BYTES as usize + 1]).unwrap();
        let e = read_secret_file(&big, FileKind::Secret).unwrap_err();
        assert!(matches!(e, SecretError::TooLarge { .. }), "{e}");
        let e = read_secret_file(&dir.path().join("none"), FileKind::Secret).unwrap_err();
        assert!(e.to_string().starts_with("cannot read secret file "), "{e}");
    }

    #[test]
    fn modes_others_may_use_are_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "x").unwrap();
        for (mode, reported) in [
            (0o600, None),
            (0o400, None),
            (0o640, Some(0o640)),
            (0o604, Some(0o604)),
        ] {
            std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(
                read_secret_file(&pw, FileKind::Secret).unwrap().1,
                reported,
                "{mode:o}"
            );
        }
    }

    #[test]
    fn a_run_reads_each_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "first\n").unwrap();
        let secret = Secret::File { file: "pw".into() };
        let mut files = SecretFiles::default();
        assert_eq!(files.reveal(&secret, dir.path()).unwrap(), "first");
        std::fs::write(&pw, "second\n").unwrap();
        assert_eq!(files.reveal(&secret, dir.path()).unwrap(), "first");
        assert_eq!(secret.reveal(dir.path()).unwrap(), "second");
        // A refusal is remembered too, and names the path each time.
        std::fs::remove_file(&pw).unwrap();
        let mut files = SecretFiles::default();
        for _ in 0..2 {
            let e = files.reveal(&secret, dir.path()).unwrap_err();
            assert!(e.to_string().contains(&pw.display().to_string()), "{e}");
        }
    }

    #[test]
    fn secret_mistakes_are_refused() {
        let e = serde_saphyr::from_str::<Secret>("{ nev: PW }").unwrap_err();
        assert!(e.to_string().contains("unknown field `nev`"), "{e}");
        let e = serde_saphyr::from_str::<Secret>("{ env: A, file: b }").unwrap_err();
        assert!(e.to_string().contains("exactly one key"), "{e}");
        assert!(serde_saphyr::from_str::<Secret>("[a]").is_err());
    }
}
