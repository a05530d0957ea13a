//! The per-device transcript (the fleet form of the old script's
//! `tsoutput.log`): every line sent and every byte received, with each
//! secret replaced by `******`, in a file only its owner can read.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

pub const MASK: &str = "******";

/// Writes a transcript, or nothing when no file was asked for.
pub struct Transcript {
    out: Option<BufWriter<File>>,
    secrets: Vec<String>,
}

impl Transcript {
    /// A transcript that records nothing.
    pub fn none(secrets: Vec<String>) -> Transcript {
        Transcript {
            out: None,
            secrets: normalise(secrets),
        }
    }

    /// Create `path`, mode 0600. Whatever is at `path` (an older
    /// transcript, a planted symbolic or hard link) is removed first, never
    /// written through, and the new file is created exclusively: the
    /// transcript is always written, and nothing a link pointed to changes.
    pub fn create(path: &Path, secrets: Vec<String>) -> std::io::Result<Transcript> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::symlink_metadata(path) {
            Ok(meta) if !meta.is_dir() => std::fs::remove_file(path)?,
            _ => {}
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        // Exact, whatever the umask.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(Transcript {
            out: Some(BufWriter::new(file)),
            secrets: normalise(secrets),
        })
    }

    /// Replace every secret in `text` by the mask.
    pub fn mask(&self, text: &str) -> String {
        mask_secrets(text, &self.secrets)
    }

    /// A line tsfleet typed (`secret` lines are never written).
    pub fn sent(&mut self, line: &str, secret: bool) {
        let text = if secret {
            MASK.to_string()
        } else {
            self.mask(line)
        };
        self.write(&format!(">>> {text}\n"));
    }

    /// Bytes the device sent, as received (line endings normalised).
    pub fn received(&mut self, bytes: &[u8]) {
        if self.out.is_none() {
            return;
        }
        let text = String::from_utf8_lossy(bytes)
            .replace("\r\n", "\n")
            .replace('\r', "");
        let text = self.mask(&text);
        self.write(&text);
    }

    /// A note from tsfleet itself (phase changes, errors).
    pub fn note(&mut self, text: &str) {
        let text = self.mask(text);
        self.write(&format!("\n### {text}\n"));
    }

    pub fn flush(&mut self) {
        if let Some(out) = &mut self.out {
            let _ = out.flush();
        }
    }

    fn write(&mut self, text: &str) {
        if let Some(out) = &mut self.out
            && out.write_all(text.as_bytes()).is_err()
        {
            // A transcript that cannot be written must not fail the device.
            self.out = None;
        }
    }
}

impl Drop for Transcript {
    fn drop(&mut self) {
        self.flush();
    }
}

fn normalise(mut secrets: Vec<String>) -> Vec<String> {
    secrets.retain(|s| !s.is_empty());
    // Longest first, so a secret containing another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

/// Replace every occurrence of each secret by the mask.
pub fn mask_secrets(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_string();
    for s in secrets {
        if !s.is_empty() && text.contains(s.as_str()) {
            text = text.replace(s.as_str(), MASK);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rtr-001.log");
        let mut t =
            Transcript::create(&path, vec!["hunter2".into(), "".into(), "en-secret".into()])
                .unwrap();
        t.sent("enable", false);
        t.sent("en-secret", true);
        t.received(b"rtr-001>enable\r\nPassword: \r\nrtr-001#echo hunter2\r\n");
        t.note("login with hunter2 failed");
        drop(t);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("en-secret"),
            "{text}"
        );
        assert!(
            text.contains(">>> ******") && text.contains("echo ******"),
            "{text}"
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_planted_link_or_an_old_0644_file_is_replaced_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
        let soft = dir.path().join("soft.log");
        std::os::unix::fs::symlink(&victim, &soft).unwrap();
        let hard = dir.path().join("hard.log");
        std::fs::hard_link(&victim, &hard).unwrap();
        let old = dir.path().join("old.log");
        std::fs::write(&old, "older run").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        for path in [&soft, &hard, &old] {
            let mut t = Transcript::create(path, vec![]).unwrap();
            t.note("new run");
            drop(t);
            assert!(std::fs::symlink_metadata(path).unwrap().is_file());
            assert_eq!(mode(path), 0o600, "{}", path.display());
            assert_eq!(std::fs::read_to_string(path).unwrap(), "\n### new run\n");
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(mode(&victim), 0o644);
    }
}
