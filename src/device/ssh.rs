//! SSH to one router with russh: algorithm preferences (modern first, the
//! IOS legacy set after them unless turned off), host-key policy against a
//! known_hosts file, authentication by password, keyboard-interactive or
//! private key, and an interactive shell with a PTY.

use super::DeviceError;
use crate::inventory::HostKeyPolicy;
use std::path::PathBuf;
use std::time::Duration;

/// How to authenticate. Secrets are held only here and never printed.
#[derive(Clone)]
pub enum Credentials {
    /// Tried as `password`, then as `keyboard-interactive`.
    Password(String),
    PrivateKey {
        path: PathBuf,
        passphrase: Option<String>,
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

/// An open interactive shell on the device.
pub struct Shell {
    // Filled in by the implementation.
}

impl Shell {
    /// Send bytes as typed.
    pub async fn send(&mut self, _bytes: &[u8]) -> Result<(), DeviceError> {
        Ok(())
    }

    /// The next bytes the device sent; `None` once the session has ended.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        None
    }

    /// Close the channel and the connection.
    pub async fn close(self) {}
}

/// Connect, check the host key, authenticate, and open a shell with a PTY.
pub async fn open_shell(target: &SshTarget) -> Result<Shell, DeviceError> {
    let _ = target;
    Err(DeviceError::Protocol {
        device: target.device.clone(),
        reason: "not implemented".into(),
    })
}
