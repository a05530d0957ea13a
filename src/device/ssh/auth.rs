//! Login: the private key (decoded once per run before any device is
//! contacted, `inventory::login`); the methods the device
//! offers asked for first (no credential sent); then one attempt: publickey,
//! or the password by `password` or, when only that is offered, by
//! `keyboard-interactive`. The failure names what was tried and what the
//! device accepts, never the secret.

use super::handler::Client;
use super::{Credentials, SshTarget};
use crate::device::DeviceError;
use crate::domain::escape_controls;
use russh::client::{self, AuthResult, KeyboardInteractiveAuthResponse};
use russh::keys::PrivateKeyWithHashAlg;
use russh::{MethodKind, MethodSet};
use std::sync::Arc;

/// Ask the device which login methods it offers (the `none` method: no
/// credential is sent, so nothing counts against the account). `None` when
/// the device let us in without credentials.
pub(super) async fn offered_methods(
    target: &SshTarget,
    handle: &mut client::Handle<Client>,
) -> Result<Option<MethodSet>, DeviceError> {
    let result = handle
        .authenticate_none(target.username.clone())
        .await
        .map_err(|e| lost(target, e.to_string()))?;
    Ok(refused(result))
}

/// `None` when the device let us in, else the methods it still offers.
fn refused(result: AuthResult) -> Option<MethodSet> {
    match result {
        AuthResult::Success => None,
        AuthResult::Failure {
            remaining_methods, ..
        } => Some(remaining_methods),
    }
}

fn lost(target: &SshTarget, e: String) -> DeviceError {
    DeviceError::Connect {
        device: target.device.clone(),
        addr: target.addr(),
        reason: format!("the connection was lost during login: {e}"),
        transient: true,
    }
}

/// Log in with the target's credentials (`key` already loaded for a
/// private key) in one attempt: a password goes out once, by `password`
/// when the device offers it, else by `keyboard-interactive` — never by
/// both, since a secret refused once would only count a second failure
/// against the account. The error says what was tried and what the device
/// accepts.
pub(super) async fn authenticate(
    target: &SshTarget,
    handle: &mut client::Handle<Client>,
    key: Option<Arc<russh::keys::PrivateKey>>,
    offered: &MethodSet,
) -> Result<(), DeviceError> {
    let user = target.username.clone();
    let lost = |e: String| lost(target, e);
    let mut tried = None;
    let mut remaining = offered.clone();
    match (&target.credentials, key) {
        (Credentials::PrivateKey { .. }, Some(key)) => {
            tried = Some("publickey");
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
            match refused(result) {
                None => return Ok(()),
                Some(methods) => remaining = methods,
            }
        }
        (Credentials::Password(password), _) if offered.contains(&MethodKind::Password) => {
            tried = Some("password");
            let result = handle
                .authenticate_password(user.clone(), password.clone())
                .await
                .map_err(|e| lost(e.to_string()))?;
            match refused(result) {
                None => return Ok(()),
                Some(methods) => remaining = methods,
            }
        }
        // IOS with some AAA setups offers only keyboard-interactive.
        (Credentials::Password(password), _)
            if offered.contains(&MethodKind::KeyboardInteractive) =>
        {
            tried = Some("keyboard-interactive");
            match keyboard_interactive(handle, &user, password).await {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                // The password was sent: a hang-up now is the device giving
                // up on us, not a network fault, and a retry would only
                // count more failures against us.
                Err(e) => tracing::debug!(
                    device = %target.device,
                    "keyboard-interactive: {}",
                    escape_controls(&e.to_string())
                ),
            }
        }
        (Credentials::Password(_), _) | (Credentials::PrivateKey { .. }, None) => {}
    }
    // A device that hangs up after refusing us has still refused us: this
    // stays an auth error (a retry would only count more failures).
    let closed = if handle.is_closed() {
        "; the device then closed the connection"
    } else {
        ""
    };
    let offered = if remaining.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = remaining.iter().map(<&'static str>::from).collect();
        format!("; the device accepts {}", names.join(", "))
    };
    let tried = match tried {
        Some(method) => format!("tried {method}"),
        None => "no method tried (the device offers none tsfleet can use with these credentials)"
            .to_string(),
    };
    Err(DeviceError::Auth {
        device: target.device.clone(),
        user,
        methods: format!(
            "{tried}{offered}{closed}; check the username and {}",
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
