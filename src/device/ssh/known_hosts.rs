//! Trust in the device's identity: the host-key policy applied against the
//! known_hosts file (known, learned on first contact, changed or unknown),
//! appending learned keys, and the key types on record for a device.
//! The file is read as OpenSSH reads it: `@revoked` lines win, negated
//! patterns exclude, hashed names match, `@cert-authority` lines are
//! reported as unsupported.

use super::{HostKeyStatus, SshTarget};
use crate::inventory::HostKeyPolicy;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::ssh_key::known_hosts::{Entry, HostPatterns, Marker};
use russh::keys::{Algorithm, HashAlg, PublicKey};
use sha1::Sha1;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What the handler needs to judge the server's key.
pub(super) struct HostKeyCheck {
    pub(super) device: String,
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) addr: String,
    pub(super) policy: HostKeyPolicy,
    pub(super) known_hosts: PathBuf,
}

/// `SHA256:...` as OpenSSH prints it.
fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Serialises appends to known_hosts files within this process: devices
/// connect in parallel and may learn keys into the same file.
static KNOWN_HOSTS_LOCK: Mutex<()> = Mutex::new(());

/// Apply the host-key policy; `Err` is the problem to report.
pub(super) fn verify_host_key(t: &HostKeyCheck, key: &PublicKey) -> Result<HostKeyStatus, String> {
    let presented = fingerprint(key);
    if t.policy == HostKeyPolicy::Off {
        tracing::warn!(
            device = %t.device,
            "host key of {} NOT checked (host_key_policy: off); presented {} {}. \
             Anyone on the path could impersonate {} and capture its credentials",
            t.addr,
            key.algorithm().as_str(),
            presented,
            t.device
        );
        return Ok(HostKeyStatus::Unchecked);
    }
    let path = t.known_hosts.display();
    let _guard = KNOWN_HOSTS_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let hosts = read_known_hosts(&t.known_hosts)
        .map_err(|e| format!("cannot be checked: known_hosts file {path} cannot be read ({e})"))?;
    let judgement = judge(&hosts, &t.host, t.port, key);
    let ca_note = cert_authority_note(&judgement.cert_authority);
    let presented_key = format!("{} {presented}", key.algorithm().as_str());
    match judgement.verdict {
        Verdict::BadLine { line, error } => Err(format!(
            "cannot be checked: known_hosts {path} line {line} names this host but cannot be \
             read ({error}); fix or remove that line"
        )),
        Verdict::Revoked { line } => Err(format!(
            "is REVOKED: the device presented {presented_key}, which known_hosts {path} \
             line {line} marks @revoked; tsfleet never connects to a revoked key. Give the \
             router a new host key and record it, or remove line {line} if the revocation \
             was a mistake"
        )),
        Verdict::Known { .. } => {
            if !ca_note.is_empty() {
                tracing::warn!(device = %t.device, "known_hosts {path}:{ca_note}");
            }
            Ok(HostKeyStatus::Known)
        }
        Verdict::Changed { recorded } => {
            // Another key is on record. Even one of another type is refused:
            // we asked for the recorded type first, so the device no longer
            // offers it — that is a changed identity, not a new one.
            let known: Vec<String> = recorded
                .iter()
                .map(|(line, k)| {
                    format!(
                        "{} {} (line {line})",
                        k.algorithm().as_str(),
                        fingerprint(k)
                    )
                })
                .collect();
            Err(format!(
                "has CHANGED: known_hosts {path} has {}, the device presented {presented_key}. \
                 This may be an attack (man in the middle) or a re-keyed/replaced router. \
                 Verify the new key out of band, then remove the old line(s) \
                 (`ssh-keygen -R '{}' -f {path}`) and add the new one.{ca_note}",
                known.join(", "),
                known_hosts_host(&t.host, t.port),
            ))
        }
        // The operator chose to trust this host through a certificate
        // authority; learning a bare key instead would bypass that choice.
        Verdict::Unknown if !ca_note.is_empty() => Err(format!(
            "is unknown: the device presented {presented_key}, which no plain line of \
             known_hosts {path} lists.{ca_note} Add the device's own key \
             (e.g. `ssh-keyscan -p {} {} >> {path}`)",
            t.port, t.host,
        )),
        Verdict::Unknown => match t.policy {
            HostKeyPolicy::AcceptNew => {
                learn(&t.known_hosts, &t.host, t.port, key).map_err(|e| {
                    format!("is unknown ({presented}) and cannot be recorded in {path}: {e}")
                })?;
                tracing::info!(
                    device = %t.device,
                    "learned host key {presented_key} of {} into {path}",
                    t.addr
                );
                Ok(HostKeyStatus::Learned)
            }
            _ => Err(format!(
                "is unknown: the device presented {presented_key}, which is not in known_hosts \
                 {path}. Verify the fingerprint, then add it (e.g. `ssh-keyscan -p {} {} >> {path}`), \
                 or set `host_key_policy: accept-new` to record keys on first contact",
                t.port, t.host,
            )),
        },
    }
}

/// known_hosts as this process last read it, per path, with the file's
/// identity at that moment: every device of a fleet checks its key against
/// the same file, so it is read and indexed once and read again only when it
/// changed (a key learned here or by another process).
static READ_ONCE: Mutex<Vec<ReadOnce>> = Mutex::new(Vec::new());

/// A path, its identity when read (`None`: missing), what it held.
type ReadOnce = (PathBuf, Option<FileStamp>, Arc<KnownHosts>);

/// What tells a changed file from the one already read.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
}

/// The known_hosts file at `path`, indexed; a missing file is an empty one.
fn read_known_hosts(path: &Path) -> std::io::Result<Arc<KnownHosts>> {
    use std::os::unix::fs::MetadataExt;
    let stamp = match std::fs::metadata(path) {
        Ok(m) => Some(FileStamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mut cache = READ_ONCE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, _, hosts)) = cache.iter().find(|(p, s, _)| p == path && *s == stamp) {
        return Ok(hosts.clone());
    }
    let text = match stamp {
        // A stray non-UTF-8 comment elsewhere must not make every host unknown.
        Some(_) => String::from_utf8_lossy(&crate::files::read_bytes(path)?).into_owned(),
        None => String::new(),
    };
    let hosts = Arc::new(KnownHosts::parse(&text));
    cache.retain(|(p, _, _)| p != path);
    cache.push((path.to_path_buf(), stamp, hosts.clone()));
    Ok(hosts)
}

/// The lines of a known_hosts file, indexed by the plain host names they
/// list, so finding a host's lines does not scan the file.
pub(super) struct KnownHosts {
    /// (1-based line number, the line with its fields separated by one space).
    lines: Vec<(usize, String)>,
    /// Plain names (`host`, `[host]:port`, lower case) → indexes into `lines`.
    by_name: HashMap<String, Vec<usize>>,
    /// Lines with wildcards or hashed names: any host may match them.
    any_host: Vec<usize>,
}

impl KnownHosts {
    pub(super) fn parse(text: &str) -> KnownHosts {
        let mut hosts = KnownHosts {
            lines: Vec::new(),
            by_name: HashMap::new(),
            any_host: Vec::new(),
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // Fields are separated by any run of blanks; the parser wants one space.
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            let hosts_field = if fields[0].starts_with('@') {
                fields.get(1)
            } else {
                fields.first()
            };
            // A line without a hosts field names no host.
            let Some(field) = hosts_field else { continue };
            let index = hosts.lines.len();
            hosts.lines.push((i + 1, fields.join(" ")));
            if field.contains(['|', '*', '?']) {
                hosts.any_host.push(index);
                continue;
            }
            // Negated names only ever rule a line out: the line is found
            // under its positive names and the full match decides.
            for name in field.split(',').filter(|n| !n.starts_with('!')) {
                let entries = hosts.by_name.entry(name.to_ascii_lowercase()).or_default();
                if entries.last() != Some(&index) {
                    entries.push(index);
                }
            }
        }
        hosts
    }

    /// The lines that may name `name`, in file order.
    fn candidates(&self, name: &str) -> impl Iterator<Item = &(usize, String)> {
        let mut indexes: Vec<usize> = self
            .by_name
            .get(name)
            .into_iter()
            .flatten()
            .chain(&self.any_host)
            .copied()
            .collect();
        indexes.sort_unstable();
        indexes.into_iter().map(|i| &self.lines[i])
    }
}

/// Says that matching `@cert-authority` lines were not used ("" if none).
fn cert_authority_note(lines: &[usize]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = lines.iter().map(usize::to_string).collect();
    format!(
        " Line(s) {} trust a certificate authority for this host (@cert-authority): \
         tsfleet does not support host certificates and did not use them.",
        lines.join(", ")
    )
}

/// What known_hosts says of the key a host presented, as OpenSSH reads it
/// (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT").
#[derive(Debug, PartialEq)]
pub(super) enum Verdict {
    /// A line naming this host cannot be parsed: fail closed, since it could
    /// be a revocation.
    BadLine {
        line: usize,
        error: String,
    },
    /// An `@revoked` line naming this host holds the presented key; this
    /// wins over any line that trusts it.
    Revoked {
        line: usize,
    },
    Known {
        line: usize,
    },
    /// Other keys (line, key) are on record for this host.
    Changed {
        recorded: Vec<(usize, PublicKey)>,
    },
    Unknown,
}

#[derive(Debug, PartialEq)]
pub(super) struct Judgement {
    pub(super) verdict: Verdict,
    /// `@cert-authority` lines naming this host (unsupported; reported).
    pub(super) cert_authority: Vec<usize>,
}

/// Judge the presented key against known_hosts text for `host:port`.
pub(super) fn judge(hosts: &KnownHosts, host: &str, port: u16, key: &PublicKey) -> Judgement {
    let mut cert_authority = Vec::new();
    let mut known = None;
    let mut recorded = Vec::new();
    let lines = match lines_for(hosts, host, port) {
        Ok(lines) => lines,
        Err((line, error)) => {
            return Judgement {
                verdict: Verdict::BadLine { line, error },
                cert_authority,
            };
        }
    };
    for (line, entry) in lines {
        let same = entry.public_key().key_data() == key.key_data();
        match entry.marker() {
            Some(Marker::Revoked) if same => {
                return Judgement {
                    verdict: Verdict::Revoked { line },
                    cert_authority,
                };
            }
            Some(Marker::Revoked) => {}
            Some(Marker::CertAuthority) => cert_authority.push(line),
            None if same => known = known.or(Some(line)),
            None => recorded.push((line, entry.public_key().clone())),
        }
    }
    let verdict = match known {
        Some(line) => Verdict::Known { line },
        None if !recorded.is_empty() => Verdict::Changed { recorded },
        None => Verdict::Unknown,
    };
    Judgement {
        verdict,
        cert_authority,
    }
}

/// The entries (1-based line, entry) whose host patterns match `host:port`;
/// `Err((line, why))` for a line that names the host but does not parse.
/// Lines for other hosts are skipped, valid or not, as OpenSSH does.
fn lines_for(
    hosts: &KnownHosts,
    host: &str,
    port: u16,
) -> Result<Vec<(usize, Entry)>, (usize, String)> {
    let name = known_hosts_host(&host.to_ascii_lowercase(), port);
    let mut out = Vec::new();
    for (number, line) in hosts.candidates(&name) {
        let hosts_field = match line.strip_prefix('@') {
            Some(rest) => rest.split(' ').nth(1),
            None => line.split(' ').next(),
        };
        let names_host = hosts_field
            .and_then(|f| f.parse::<HostPatterns>().ok())
            .is_some_and(|p| patterns_match(&p, &name));
        if !names_host {
            continue;
        }
        match line.parse::<Entry>() {
            Ok(entry) => out.push((*number, entry)),
            Err(e) => return Err((*number, e.to_string())),
        }
    }
    Ok(out)
}

/// OpenSSH's `match_hostname` (patterns, `!` negation, `*`/`?`, case
/// folded) or a hashed name (`|1|salt|hash`, HMAC-SHA1 of the name).
fn patterns_match(patterns: &HostPatterns, name: &str) -> bool {
    match patterns {
        HostPatterns::HashedName { salt, hash } => {
            let Ok(mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(salt) else {
                return false;
            };
            mac.chain_update(name.as_bytes()).verify_slice(hash).is_ok()
        }
        HostPatterns::Patterns(list) => {
            let mut positive = false;
            for pattern in list {
                let (negated, pattern) = match pattern.strip_prefix('!') {
                    Some(p) => (true, p),
                    None => (false, pattern.as_str()),
                };
                if wildcard_match(&pattern.to_ascii_lowercase(), name) {
                    if negated {
                        // A negated match rules the whole line out.
                        return false;
                    }
                    positive = true;
                }
            }
            positive
        }
    }
}

/// `*` (any run) and `?` (one character); everything else literal, `[` too,
/// so `[host]:port` patterns compare as written.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The host field of a known_hosts line: `[host]:port` unless port 22.
fn known_hosts_host(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Append the key's line, creating the file and its folder if needed.
fn learn(path: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = entry_line(&known_hosts_host(host, port), key).map_err(std::io::Error::other)?;
    line.push('\n');
    let needs_newline = std::fs::read(path)
        .map(|b| b.last().is_some_and(|c| *c != b'\n'))
        .unwrap_or(false);
    if needs_newline {
        line.insert(0, '\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    // One write, so concurrent processes appending do not interleave lines.
    file.write_all(line.as_bytes())
}

/// `hosts key-type base64`, without the key's comment.
fn entry_line(hosts: &str, key: &PublicKey) -> Result<String, russh::keys::ssh_key::Error> {
    let mut key = key.clone();
    key.set_comment("");
    Ok(format!("{hosts} {}", key.to_openssh()?.trim_end()))
}

/// Key types known_hosts holds for this device (unreadable file: none; the
/// host-key check reports it properly).
pub(super) fn known_algorithms(target: &SshTarget) -> Vec<Algorithm> {
    if target.host_key_policy == HostKeyPolicy::Off {
        return Vec::new();
    }
    let Ok(hosts) = read_known_hosts(&target.known_hosts) else {
        return Vec::new();
    };
    lines_for(&hosts, &target.host, target.port)
        .map(|lines| {
            lines
                .into_iter()
                .filter(|(_, e)| e.marker().is_none())
                .map(|(_, e)| e.public_key().algorithm())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::PrivateKey;

    fn key() -> PublicKey {
        PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519)
            .unwrap()
            .public_key()
            .clone()
    }

    /// `pattern key` as known_hosts holds it.
    fn line(pattern: &str, key: &PublicKey) -> String {
        entry_line(pattern, key).unwrap()
    }

    fn verdict(text: &str, host: &str, port: u16, key: &PublicKey) -> Verdict {
        judge(&KnownHosts::parse(text), host, port, key).verdict
    }

    #[test]
    fn the_file_is_read_once_and_again_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let k = key();
        let first = read_known_hosts(&path).unwrap();
        assert_eq!(judge(&first, "10.0.0.1", 22, &k).verdict, Verdict::Unknown);
        learn(&path, "10.0.0.1", 22, &k).unwrap();
        let learned = read_known_hosts(&path).unwrap();
        assert_eq!(
            judge(&learned, "10.0.0.1", 22, &k).verdict,
            Verdict::Known { line: 1 }
        );
        assert!(
            Arc::ptr_eq(&learned, &read_known_hosts(&path).unwrap()),
            "an unchanged file is not read again"
        );
    }

    #[test]
    fn plain_line_is_known_and_line_numbers_count_comments_and_blanks() {
        let k = key();
        let text = format!("# fleet\n\n{}\n", line("10.0.0.1", &k));
        assert_eq!(
            verdict(&text, "10.0.0.1", 22, &k),
            Verdict::Known { line: 3 }
        );
        assert_eq!(verdict(&text, "10.0.0.2", 22, &k), Verdict::Unknown);
    }

    #[test]
    fn other_key_on_record_is_a_change() {
        let (k, other) = (key(), key());
        let text = line("10.0.0.1", &other);
        assert_eq!(
            verdict(&text, "10.0.0.1", 22, &k),
            Verdict::Changed {
                recorded: vec![(1, other)]
            }
        );
    }

    #[test]
    fn port_form_is_bracketed_and_distinct_from_port_22() {
        let k = key();
        let text = line("[10.0.0.1]:2222", &k);
        assert_eq!(
            verdict(&text, "10.0.0.1", 2222, &k),
            Verdict::Known { line: 1 }
        );
        assert_eq!(verdict(&text, "10.0.0.1", 22, &k), Verdict::Unknown);
        let text = line("10.0.0.1", &k);
        assert_eq!(verdict(&text, "10.0.0.1", 2222, &k), Verdict::Unknown);
        let text = line("[10.0.0.*]:2222", &k);
        assert_eq!(
            verdict(&text, "10.0.0.9", 2222, &k),
            Verdict::Known { line: 1 }
        );
    }

    #[test]
    fn revoked_wins_over_a_line_that_trusts_the_key_in_either_order() {
        let k = key();
        let trusted = line("10.0.0.1", &k);
        let revoked = format!("@revoked {}", line("*", &k));
        for (text, at) in [
            (format!("{trusted}\n{revoked}\n"), 2),
            (format!("{revoked}\n{trusted}\n"), 1),
        ] {
            assert_eq!(
                verdict(&text, "10.0.0.1", 22, &k),
                Verdict::Revoked { line: at }
            );
        }
        // Revoked alone: refused, not unknown (accept-new would learn it).
        assert_eq!(
            verdict(&revoked, "10.0.0.1", 22, &k),
            Verdict::Revoked { line: 1 }
        );
    }

    #[test]
    fn revocation_applies_only_to_its_key_and_its_hosts() {
        let (k, other) = (key(), key());
        let text = format!(
            "@revoked {}\n{}\n@revoked {}\n",
            line("10.0.0.1", &other),
            line("10.0.0.1", &k),
            line("10.0.0.2", &k)
        );
        assert_eq!(
            verdict(&text, "10.0.0.1", 22, &k),
            Verdict::Known { line: 2 }
        );
        // A revoked key is not "another key on record".
        let text = format!("@revoked {}\n", line("10.0.0.1", &other));
        assert_eq!(verdict(&text, "10.0.0.1", 22, &k), Verdict::Unknown);
    }

    #[test]
    fn negated_pattern_rules_the_line_out() {
        let k = key();
        let text = line("10.0.0.1,!10.0.0.1", &k);
        assert_eq!(verdict(&text, "10.0.0.1", 22, &k), Verdict::Unknown);
        let text = line("10.0.0.*,!10.0.0.2", &k);
        assert_eq!(
            verdict(&text, "10.0.0.1", 22, &k),
            Verdict::Known { line: 1 }
        );
        assert_eq!(verdict(&text, "10.0.0.2", 22, &k), Verdict::Unknown);
        // Negation alone never matches.
        let text = line("!10.0.0.2", &k);
        assert_eq!(verdict(&text, "10.0.0.1", 22, &k), Verdict::Unknown);
        // A negated revocation does not apply to the excluded host either.
        let text = format!(
            "@revoked {}\n{}",
            line("*,!10.0.0.1", &k),
            line("10.0.0.1", &k)
        );
        assert_eq!(
            verdict(&text, "10.0.0.1", 22, &k),
            Verdict::Known { line: 2 }
        );
    }

    #[test]
    fn wildcards_and_case_follow_openssh() {
        let k = key();
        let text = line("RTR-0?.Example.NET", &k);
        assert_eq!(
            verdict(&text, "rtr-01.example.net", 22, &k),
            Verdict::Known { line: 1 }
        );
        assert_eq!(
            verdict(&text, "RTR-01.EXAMPLE.NET", 22, &k),
            Verdict::Known { line: 1 }
        );
        assert_eq!(
            verdict(&text, "rtr-001.example.net", 22, &k),
            Verdict::Unknown
        );
        assert!(wildcard_match("*.net", "a.b.net"));
        assert!(wildcard_match("a*b*c", "aXbYbc"));
        assert!(!wildcard_match("a*b", "aXbY"));
    }

    #[test]
    fn hashed_names_match_their_host_only() {
        let k = key();
        let salt = [7u8; 20];
        let hash = <Hmac<Sha1> as KeyInit>::new_from_slice(&salt)
            .unwrap()
            .chain_update(b"[10.0.0.1]:2222")
            .finalize()
            .into_bytes();
        let field = HostPatterns::HashedName {
            salt: salt.to_vec(),
            hash: hash.as_slice().try_into().unwrap(),
        }
        .to_string();
        let text = line(&field, &k);
        assert_eq!(
            verdict(&text, "10.0.0.1", 2222, &k),
            Verdict::Known { line: 1 }
        );
        assert_eq!(verdict(&text, "10.0.0.1", 22, &k), Verdict::Unknown);
        let revoked = format!("@revoked {text}");
        assert_eq!(
            verdict(&revoked, "10.0.0.1", 2222, &k),
            Verdict::Revoked { line: 1 }
        );
    }

    #[test]
    fn cert_authority_lines_are_reported_and_never_trusted() {
        let (k, ca) = (key(), key());
        let text = format!("@cert-authority {}\n", line("*.example.net,10.0.0.1", &ca));
        let j = judge(&KnownHosts::parse(&text), "10.0.0.1", 22, &k);
        assert_eq!(j.verdict, Verdict::Unknown);
        assert_eq!(j.cert_authority, [1]);
        // The CA key itself presented as a host key is not trusted either.
        let j = judge(&KnownHosts::parse(&text), "10.0.0.1", 22, &ca);
        assert_eq!(j.verdict, Verdict::Unknown);
        let text = format!("{text}{}\n", line("10.0.0.1", &k));
        let j = judge(&KnownHosts::parse(&text), "10.0.0.1", 22, &k);
        assert_eq!(
            (j.verdict, j.cert_authority),
            (Verdict::Known { line: 2 }, vec![1])
        );
        assert!(cert_authority_note(&[1, 4]).contains("Line(s) 1, 4"));
        assert_eq!(cert_authority_note(&[]), "");
    }

    #[test]
    fn a_bad_line_fails_closed_for_its_host_only() {
        let k = key();
        let text = format!(
            "10.0.0.1 ssh-ed25519 AAAAnotbase64!!\n{}\n",
            line("10.0.0.2", &k)
        );
        assert!(matches!(
            verdict(&text, "10.0.0.1", 22, &k),
            Verdict::BadLine { line: 1, .. }
        ));
        assert_eq!(
            verdict(&text, "10.0.0.2", 22, &k),
            Verdict::Known { line: 2 }
        );
        // Unknown markers are bad lines too (they could be a revocation).
        let text = format!("@revokd {}\n", line("10.0.0.1", &k));
        assert!(matches!(
            verdict(&text, "10.0.0.1", 22, &k),
            Verdict::BadLine { line: 1, .. }
        ));
    }

    #[test]
    fn blanks_between_fields_and_comments_after_the_key_are_read() {
        let k = key();
        let text = line("10.0.0.1", &k).replacen(' ', " \t ", 2) + "  # core rtr\n";
        assert_eq!(
            verdict(&text, "10.0.0.1", 22, &k),
            Verdict::Known { line: 1 }
        );
    }
}
