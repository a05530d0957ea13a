//! SSH to one router with russh: algorithm preferences (modern first, the
//! IOS legacy set after them unless turned off), host-key policy against a
//! known_hosts file, authentication by password, keyboard-interactive or
//! private key, and an interactive shell with a PTY.
//!
//! This module owns everything below the IOS dialogue: TCP, the SSH
//! transport, trust in the device's identity, login, and a byte pipe to the
//! vty. It knows nothing about prompts or commands (that is [`super::ios`]).
//! Here live the types callers hold ([`SshTarget`], [`Credentials`],
//! [`HostKeyStatus`], [`Negotiated`]); the work is in:
//!
//! - `connect`: [`open_shell`], the stages from name lookup to shell, and
//!   what a failed connect or handshake tells the user.
//! - `algorithms`: the algorithm preferences offered in the key exchange.
//! - `handler`: the russh client handler (host-key check, negotiated names).
//! - `known_hosts`: the host-key policy against the known_hosts file.
//! - `auth`: the offered methods, then one password, keyboard-interactive or private-key login.
//! - `channel`: [`Shell`], the session channel as a byte pipe to the vty.
//!
//! Every failure is a [`DeviceError`](super::DeviceError) naming the device
//! and `host:port` and saying what to do; no secret (password, passphrase)
//! ever reaches an error, a log line or a `Debug` output.

mod algorithms;
mod auth;
mod channel;
mod connect;
mod handler;
mod known_hosts;

pub use channel::Shell;
pub use connect::{open_shell, open_shell_gated};

use crate::inventory::HostKeyPolicy;
use russh::keys::Algorithm;
use std::path::PathBuf;
use std::time::Duration;

/// How to authenticate. Secrets are held only here and never printed.
#[derive(Clone)]
pub enum Credentials {
    /// Sent once: by `password`, or by `keyboard-interactive` when only that is offered.
    Password(String),
    /// Decoded before any device is contacted (`inventory::login`); the
    /// path is for messages.
    PrivateKey {
        path: PathBuf,
        key: std::sync::Arc<russh::keys::PrivateKey>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Password(_) => f.write_str("Password(******)"),
            Credentials::PrivateKey { path, .. } => write!(f, "PrivateKey({})", path.display()),
        }
    }
}

/// Where and how to reach one device.
#[derive(Clone, Debug)]
pub struct SshTarget {
    /// The device's inventory name, used in every error.
    pub device: String,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub credentials: Credentials,
    pub host_key_policy: HostKeyPolicy,
    pub known_hosts: PathBuf,
    /// Offer the IOS legacy algorithms after the modern ones.
    pub legacy_algorithms: bool,
    pub connect_timeout: Duration,
}

impl SshTarget {
    /// `host:port` as errors show it (`[v6]:port` for IPv6 literals).
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// How the device's host key came to be trusted for this connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKeyStatus {
    /// It was already in known_hosts.
    Known,
    /// It was unknown and has just been recorded (`accept-new`).
    Learned,
    /// Not checked at all (`off`).
    Unchecked,
}

/// The algorithms the key exchange settled on, for logs and reports
/// (a device that still needs the legacy set is worth knowing about).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Negotiated {
    pub kex: String,
    pub host_key: String,
    pub cipher: String,
    /// Client-to-server MAC (`none` with an AEAD cipher).
    pub mac: String,
}

impl Negotiated {
    /// True when only a legacy algorithm made the connection possible.
    pub fn uses_legacy(&self) -> bool {
        use algorithms::{LEGACY_CIPHERS, LEGACY_KEX, LEGACY_MACS};
        LEGACY_KEX.iter().any(|k| k.as_ref() == self.kex)
            || LEGACY_CIPHERS.iter().any(|c| c.as_ref() == self.cipher)
            || LEGACY_MACS.iter().any(|m| m.as_ref() == self.mac)
            || self.host_key == Algorithm::Rsa { hash: None }.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target that is never connected to (TEST-NET-1 address).
    pub(super) fn target(password: &str) -> SshTarget {
        SshTarget {
            device: "rtr-001".into(),
            host: "192.0.2.1".into(),
            port: 2222,
            username: "admin".into(),
            credentials: Credentials::Password(password.into()),
            host_key_policy: HostKeyPolicy::Strict,
            known_hosts: PathBuf::from("/nonexistent/known_hosts"),
            legacy_algorithms: true,
            connect_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let t = target("s3cr3t-pw");
        assert!(!format!("{t:?}").contains("s3cr3t-pw"));
        let key =
            russh::keys::PrivateKey::random(&mut rand::rng(), russh::keys::Algorithm::Ed25519)
                .unwrap();
        let secret = key.to_bytes().unwrap();
        let k = Credentials::PrivateKey {
            path: "/k".into(),
            key: std::sync::Arc::new(key),
        };
        let shown = format!("{k:?}");
        assert_eq!(shown, "PrivateKey(/k)");
        assert!(!secret.is_empty());
    }
}
