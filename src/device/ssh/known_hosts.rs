//! Trust in the device's identity: the host-key policy applied against the
//! known_hosts file (known, learned on first contact, changed or unknown),
//! appending learned keys, and the key types on record for a device.

use super::{HostKeyStatus, SshTarget};
use crate::inventory::HostKeyPolicy;
use russh::keys::known_hosts::known_host_keys_path;
use russh::keys::{Algorithm, HashAlg, PublicKey};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    let recorded = known_host_keys_path(&t.host, t.port, &t.known_hosts).map_err(|e| {
        format!(
            "cannot be checked: known_hosts file {path} is unreadable or has a bad entry \
             for this host ({e}); fix or remove that line"
        )
    })?;
    if recorded.iter().any(|(_, k)| k.key_data() == key.key_data()) {
        return Ok(HostKeyStatus::Known);
    }
    if !recorded.is_empty() {
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
        return Err(format!(
            "has CHANGED: known_hosts {path} has {}, the device presented {} {presented}. \
             This may be an attack (man in the middle) or a re-keyed/replaced router. \
             Verify the new key out of band, then remove the old line(s) \
             (`ssh-keygen -R '{}' -f {path}`) and add the new one",
            known.join(", "),
            key.algorithm().as_str(),
            known_hosts_host(&t.host, t.port),
        ));
    }
    match t.policy {
        HostKeyPolicy::AcceptNew => {
            learn(&t.known_hosts, &t.host, t.port, key).map_err(|e| {
                format!("is unknown ({presented}) and cannot be recorded in {path}: {e}")
            })?;
            tracing::info!(
                device = %t.device,
                "learned host key {} {presented} of {} into {path}",
                key.algorithm().as_str(),
                t.addr
            );
            Ok(HostKeyStatus::Learned)
        }
        _ => Err(format!(
            "is unknown: the device presented {} {presented}, which is not in known_hosts {path}. \
             Verify the fingerprint, then add it (e.g. `ssh-keyscan -p {} {} >> {path}`), \
             or set `host_key_policy: accept-new` to record keys on first contact",
            key.algorithm().as_str(),
            t.port,
            t.host,
        )),
    }
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
    let mut key = key.clone();
    key.set_comment("");
    let text = key.to_openssh().map_err(std::io::Error::other)?;
    let mut line = format!("{} {}\n", known_hosts_host(host, port), text.trim_end());
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

/// Key types known_hosts holds for this device (unreadable file: none; the
/// host-key check reports it properly).
pub(super) fn known_algorithms(target: &SshTarget) -> Vec<Algorithm> {
    if target.host_key_policy == HostKeyPolicy::Off {
        return Vec::new();
    }
    known_host_keys_path(&target.host, target.port, &target.known_hosts)
        .map(|keys| keys.into_iter().map(|(_, k)| k.algorithm()).collect())
        .unwrap_or_default()
}
