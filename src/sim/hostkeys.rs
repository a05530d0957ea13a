//! Host keys of simulated devices: Ed25519 for modern devices, RSA for
//! legacy-only ones (old IOS has nothing else), kept in `--state-dir` so a
//! device keeps its identity across runs unless told to rotate it.

use super::SimError;
use russh::keys::{Algorithm, HashAlg, PrivateKey, PublicKey};
use std::path::Path;

/// Load the device's key from `state_dir`, or make one (and keep it there).
pub fn load_or_generate(
    state_dir: Option<&Path>,
    name: &str,
    legacy: bool,
    rotate: bool,
) -> Result<PrivateKey, SimError> {
    let algorithm = if legacy {
        Algorithm::Rsa { hash: None }
    } else {
        Algorithm::Ed25519
    };
    let file = state_dir.map(|d| d.join(format!("{name}.{}.key", key_kind(legacy))));
    if let (Some(path), false) = (&file, rotate)
        && path.exists()
    {
        return PrivateKey::read_openssh_file(path)
            .map_err(|e| SimError::Other(format!("host key {}: {e}", path.display())));
    }
    let key = generate(algorithm)?;
    if let (Some(path), false) = (&file, rotate) {
        key.write_openssh_file(path, russh::keys::ssh_key::LineEnding::LF)
            .map_err(|e| {
                SimError::Other(format!("cannot write host key {}: {e}", path.display()))
            })?;
    }
    Ok(key)
}

fn key_kind(legacy: bool) -> &'static str {
    if legacy { "rsa" } else { "ed25519" }
}

fn generate(algorithm: Algorithm) -> Result<PrivateKey, SimError> {
    let mut rng = rand::rng();
    match algorithm {
        Algorithm::Rsa { .. } => {
            let rsa = russh::keys::ssh_key::private::RsaKeypair::random(&mut rng, 2048)
                .map_err(|e| SimError::Other(format!("cannot generate an RSA host key: {e}")))?;
            PrivateKey::new(rsa.into(), "tsfleet-sim")
                .map_err(|e| SimError::Other(format!("cannot generate an RSA host key: {e}")))
        }
        other => PrivateKey::random(&mut rng, other)
            .map_err(|e| SimError::Other(format!("cannot generate a host key: {e}"))),
    }
}

/// The OpenSSH known_hosts line for a key served at `host:port`.
pub fn known_hosts_line(host: &str, port: u16, key: &PublicKey) -> String {
    let host = if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    };
    let mut key = key.clone();
    key.set_comment("");
    let text = key.to_openssh().unwrap_or_default();
    format!("{host} {}", text.trim_end())
}

/// `SHA256:...` as OpenSSH prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}
