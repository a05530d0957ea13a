//! The per-device transcript (the fleet form of the old script's
//! `tsoutput.log`): every line sent and every byte received, with each
//! secret replaced by `******`, in a file only its owner can read, and no
//! bigger than its cap.
//!
//! A secret the device echoes in pieces (a byte per packet, or split
//! across two reads) is masked too: the last bytes received, as many as
//! the longest secret but one, are held back until more arrive, so every
//! secret is whole when it is masked. A tail rather than whole lines,
//! because prompts (`Password:`, `R1#`) end without a newline and a line
//! can be as long as a device likes; the tail is written out before
//! anything tsfleet writes, so the transcript keeps its order.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

pub const MASK: &str = "******";

/// A transcript's cap, in answers of the device's largest size: a full
/// apply reads both groups, pushes up to every entry out and every entry in
/// (each line echoed with its prompt, about 2.5 times its bytes as read),
/// and verifies up to three times; 16 answers cover that with room.
const ANSWERS_PER_TRANSCRIPT: u64 = 16;

/// The cap of a transcript that was not given one.
const DEFAULT_CAP: u64 = 256 * 1024 * 1024;

/// Writes a transcript, or nothing when no file was asked for.
pub struct Transcript {
    out: Option<BufWriter<File>>,
    secrets: Vec<String>,
    /// Received text not yet written: the tail a secret may still be
    /// arriving in (see the module's documentation).
    held: String,
    /// Bytes written so far, and the most that may be.
    written: u64,
    cap: u64,
}

impl Transcript {
    /// A transcript that records nothing.
    pub fn none(secrets: Vec<String>) -> Transcript {
        Transcript::with(None, secrets)
    }

    fn with(out: Option<BufWriter<File>>, secrets: Vec<String>) -> Transcript {
        Transcript {
            out,
            secrets: normalise(secrets),
            held: String::new(),
            written: 0,
            cap: DEFAULT_CAP,
        }
    }

    /// The cap for a device whose answers may be `answer_bytes` long.
    pub fn cap_for(answer_bytes: usize) -> u64 {
        (answer_bytes as u64).saturating_mul(ANSWERS_PER_TRANSCRIPT)
    }

    /// Write at most `bytes`; then one `[transcript truncated after N
    /// bytes]` line and nothing more.
    pub fn capped(mut self, bytes: u64) -> Transcript {
        self.cap = bytes;
        self
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
        Ok(Transcript::with(Some(BufWriter::new(file)), secrets))
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
        self.release();
        self.write(&format!(">>> {text}\n"));
    }

    /// Bytes the device sent, as received (line endings normalised).
    pub fn received(&mut self, bytes: &[u8]) {
        if self.out.is_none() {
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        self.held.push_str(&text.replace('\r', ""));
        let cut = safe_cut(&self.held, &self.secrets);
        if cut > 0 {
            let text = mask_secrets(&self.held[..cut], &self.secrets);
            self.held.drain(..cut);
            self.write(&text);
        }
    }

    /// A note from tsfleet itself (phase changes, errors).
    pub fn note(&mut self, text: &str) {
        let text = self.mask(text);
        self.release();
        self.write(&format!("\n### {text}\n"));
    }

    pub fn flush(&mut self) {
        self.release();
        if let Some(out) = &mut self.out {
            let _ = out.flush();
        }
    }

    /// Write out the held tail (masked): tsfleet writes next, or the end.
    fn release(&mut self) {
        if !self.held.is_empty() {
            let text = mask_secrets(&std::mem::take(&mut self.held), &self.secrets);
            self.write(&text);
        }
    }

    fn write(&mut self, text: &str) {
        let Some(out) = &mut self.out else {
            return;
        };
        let len = text.len() as u64;
        let result = if self.written.saturating_add(len) > self.cap {
            // Past the cap: say so once and write nothing more.
            let note = format!("\n[transcript truncated after {} bytes]\n", self.written);
            let r = out.write_all(note.as_bytes()).and_then(|()| out.flush());
            self.out = None;
            r
        } else {
            self.written += len;
            out.write_all(text.as_bytes())
        };
        if result.is_err() {
            // A transcript that cannot be written must not fail the device.
            self.out = None;
        }
    }
}

/// How much of `held` can be masked and written now: all but the last
/// (longest secret − 1) bytes, moved past the end of any secret that
/// straddles that point (it is whole, so it is masked in the part written).
/// A secret that starts later may still be arriving: it stays held.
fn safe_cut(held: &str, secrets: &[String]) -> usize {
    let keep = secrets.first().map_or(0, |s| s.len().saturating_sub(1));
    let mut cut = held.len().saturating_sub(keep);
    while !held.is_char_boundary(cut) {
        cut -= 1;
    }
    loop {
        let straddling = secrets
            .iter()
            .flat_map(|s| {
                held.match_indices(s.as_str())
                    .map(|(i, m)| (i, i + m.len()))
            })
            .filter(|&(start, end)| start < cut && end > cut)
            .map(|(_, end)| end)
            .max();
        match straddling {
            Some(end) => cut = end,
            None => return cut,
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
    fn a_secret_echoed_in_pieces_is_masked_and_the_order_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rtr-001.log");
        let secrets = vec!["hunter2".to_string(), "en-secret-long".to_string()];
        let mut t = Transcript::create(&path, secrets).unwrap();
        t.received(b"rtr-001>");
        t.sent("enable", false);
        t.received(b"Password: ");
        // One byte per read, then split across two reads with a prompt after.
        for b in b"en-secret-long\r\n" {
            t.received(&[*b]);
        }
        t.received(b"echo hun");
        t.received(b"ter2\r\nrtr-001#");
        t.received(b"hunter");
        drop(t);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("en-secret"),
            "{text}"
        );
        // A prefix of a secret that never completes is written as it came.
        assert_eq!(
            text,
            "rtr-001>>>> enable\nPassword: ******\necho ******\nrtr-001#hunter"
        );
    }

    #[test]
    fn the_cut_never_splits_a_secret_and_keeps_less_than_the_longest() {
        let secrets = normalise(vec!["abcd".into(), "xy".into()]);
        assert_eq!(safe_cut("0123", &secrets), 1);
        // Whole at the end: written now (nothing longer can start in it).
        assert_eq!(safe_cut("01abcd", &secrets), 6);
        assert_eq!(safe_cut("01abc", &secrets), 2);
        // `abcd` straddles the cut: all of it goes with the part written.
        assert_eq!(safe_cut("0abcd9", &secrets), 5);
        assert_eq!(safe_cut("", &secrets), 0);
        assert_eq!(safe_cut("é", &normalise(vec!["ab".into()])), 0);
        assert_eq!(safe_cut("anything", &[]), 8);
    }

    #[test]
    fn a_transcript_stops_at_its_cap_saying_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rtr-001.log");
        let mut t = Transcript::create(&path, vec!["pw".into()])
            .unwrap()
            .capped(1000);
        for _ in 0..100 {
            t.received(&[b'x'; 64]);
        }
        t.note("after the cap");
        drop(t);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.len() <= 1000 + 64, "{}", text.len());
        assert!(
            text.ends_with("x\n[transcript truncated after 959 bytes]\n"),
            "{text}"
        );
        assert_eq!(text.matches("truncated").count(), 1);
        assert_eq!(Transcript::cap_for(1_000), 16_000);
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
