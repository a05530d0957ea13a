//! Login: the private key loaded before connecting, then publickey, or
//! password followed by keyboard-interactive when the device offers it.
//! The failure names what was tried and what the device accepts, never
//! the secret.

use super::handler::Client;
use super::{Credentials, SshTarget};
use crate::device::DeviceError;
use crate::domain::escape_controls;
use russh::MethodKind;
use russh::client::{self, AuthResult, KeyboardInteractiveAuthResponse};
use russh::keys::PrivateKeyWithHashAlg;
use std::path::Path;
use std::sync::Arc;

/// The private key, read and decrypted; a failure is an auth error naming
/// the path, never the passphrase.
pub(super) fn load_key(
    target: &SshTarget,
    path: &Path,
    passphrase: &Option<String>,
) -> Result<Arc<russh::keys::PrivateKey>, DeviceError> {
    russh::keys::load_secret_key(path, passphrase.as_deref())
        .map(Arc::new)
        .map_err(|e| DeviceError::Auth {
            device: target.device.clone(),
            user: target.username.clone(),
            methods: format!(
                "publickey not tried: cannot load private key {}: {e}; check the path{}",
                path.display(),
                if passphrase.is_some() {
                    " and the passphrase"
                } else {
                    " (an encrypted key needs a passphrase)"
                }
            ),
        })
}

/// Log in with the target's credentials (`key` already loaded for a
/// private key); the error says what was tried and what the device accepts.
pub(super) async fn authenticate(
    target: &SshTarget,
    handle: &mut client::Handle<Client>,
    key: Option<Arc<russh::keys::PrivateKey>>,
) -> Result<(), DeviceError> {
    let user = target.username.clone();
    let mut tried: Vec<&str> = Vec::new();
    let mut offered = None;
    let lost = |e: String| DeviceError::Connect {
        device: target.device.clone(),
        addr: target.addr(),
        reason: format!("the connection was lost during login: {e}"),
        transient: true,
    };
    match (&target.credentials, key) {
        (Credentials::PrivateKey { .. }, Some(key)) => {
            tried.push("publickey");
            let hash = if key.algorithm().is_rsa() {
                // Old servers send no server-sig-algs: they know only ssh-rsa.
                handle
                    .best_supported_rsa_hash()
                    .await
                    .map_err(|e| lost(e.to_string()))?
                    .flatten()
            } else {
                None
            };
            let result = handle
                .authenticate_publickey(user.clone(), PrivateKeyWithHashAlg::new(key, hash))
                .await
                .map_err(|e| lost(e.to_string()))?;
            match result {
                AuthResult::Success => return Ok(()),
                AuthResult::Failure {
                    remaining_methods, ..
                } => offered = Some(remaining_methods),
            }
        }
        (Credentials::Password(password), _) => {
            tried.push("password");
            let result = handle
                .authenticate_password(user.clone(), password.clone())
                .await
                .map_err(|e| lost(e.to_string()))?;
            let remaining = match result {
                AuthResult::Success => return Ok(()),
                AuthResult::Failure {
                    remaining_methods, ..
                } => remaining_methods,
            };
            // IOS with AAA often accepts only keyboard-interactive. Only
            // when offered: a server with no method left hangs up on us.
            if remaining.contains(&MethodKind::KeyboardInteractive) {
                tried.push("keyboard-interactive");
                match keyboard_interactive(handle, &user, password).await {
                    Ok(true) => return Ok(()),
                    Ok(false) => {}
                    // The password was already refused: a hang-up now is
                    // the device giving up on us, not a network fault, and
                    // a retry would only count more failures against us.
                    Err(e) => tracing::debug!(
                        device = %target.device,
                        "keyboard-interactive: {}",
                        escape_controls(&e.to_string())
                    ),
                }
            }
            offered = Some(remaining);
        }
        (Credentials::PrivateKey { .. }, None) => {}
    }
    // A device that hangs up after refusing us has still refused us: this
    // stays an auth error (a retry would only count more failures).
    let closed = if handle.is_closed() {
        "; the device then closed the connection"
    } else {
        ""
    };
    let offered = offered
        .filter(|m| !m.is_empty())
        .map(|m| {
            let names: Vec<&str> = m.iter().map(<&'static str>::from).collect();
            format!("; the device accepts {}", names.join(", "))
        })
        .unwrap_or_default();
    Err(DeviceError::Auth {
        device: target.device.clone(),
        user,
        methods: format!(
            "tried {}{offered}{closed}; check the username and {}",
            tried.join(", "),
            match target.credentials {
                Credentials::Password(_) => "password",
                Credentials::PrivateKey { .. } => "that the key is authorised on the device",
            }
        ),
    })
}

/// Answer every prompt with the password; `Ok(true)` once accepted.
async fn keyboard_interactive(
    handle: &mut client::Handle<Client>,
    user: &str,
    password: &str,
) -> Result<bool, russh::Error> {
    let mut reply = handle
        .authenticate_keyboard_interactive_start(user.to_string(), None)
        .await?;
    // A server may send any number of info requests (even empty ones); a
    // few rounds are plenty for a router and bound a misbehaving one.
    for _ in 0..8 {
        match reply {
            KeyboardInteractiveAuthResponse::Success => return Ok(true),
            KeyboardInteractiveAuthResponse::Failure { .. } => return Ok(false),
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                let answers = prompts.iter().map(|_| password.to_string()).collect();
                reply = handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await?;
            }
        }
    }
    Ok(false)
}
