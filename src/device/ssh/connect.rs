//! [`open_shell`]: name lookup, TCP, the SSH handshake, login and the shell,
//! all within the connect timeout, and what a failure at each stage tells
//! the user (which stage, and what to check).

use super::algorithms::client_config;
use super::auth::{authenticate, offered_methods};
use super::handler::{Client, ClientError, Outcome};
use super::known_hosts::{HostKeyCheck, known_algorithms};
use super::{Credentials, HostKeyStatus, Negotiated, Shell, SshTarget};
use crate::device::DeviceError;
use crate::device::login::{Login, Stopped, Verdict};
use crate::domain::ErrorClass;
use russh::AlgorithmKind;
use russh::client;
use std::sync::{Arc, Mutex};

/// Connect, check the host key, authenticate, and open a shell with a PTY.
///
/// The whole of it (TCP, SSH handshake, login, shell) is bounded by
/// `target.connect_timeout`. Every login goes ahead (see [`open_shell_gated`]).
pub async fn open_shell(target: &SshTarget) -> Result<Shell, DeviceError> {
    open_shell_gated(target, &mut Login::open()).await
}

/// [`open_shell`], asking `login` for leave right before the credentials go
/// out (after the handshake, so a run that stopped meanwhile sends none) and
/// settling it when they are refused. The wait for leave is not part of the
/// connect timeout: the time before it and the time after it are each
/// bounded by `target.connect_timeout`.
pub async fn open_shell_gated(target: &SshTarget, login: &mut Login) -> Result<Shell, DeviceError> {
    // Decoded before the run contacted any device (`inventory::login`).
    let key = match &target.credentials {
        Credentials::PrivateKey { key, .. } => Some(key.clone()),
        Credentials::Password(_) => None,
    };
    let mut stage = Stage::Tcp;
    let result = tokio::time::timeout(target.connect_timeout, transport(target, &mut stage)).await;
    let (mut handle, host_key, negotiated, offered) = match result {
        Ok(r) => r?,
        Err(_) => return Err(timeout_error(target, stage)),
    };
    let mut stage = Stage::Auth;
    if offered.is_some() {
        login.admit().await.map_err(|Stopped| not_started(target))?;
        tracing::debug!("login admitted");
    }
    let result = tokio::time::timeout(target.connect_timeout, async {
        if let Some(offered) = &offered {
            authenticate(target, &mut handle, key, offered).await?;
        }
        tracing::debug!("logged in");
        stage = Stage::Shell;
        Shell::open(target, handle, host_key, negotiated).await
    })
    .await;
    match result {
        Ok(Err(e)) if e.class() == ErrorClass::Auth => {
            login.settle(Verdict::Refused);
            Err(e)
        }
        Ok(r) => r,
        Err(_) => Err(timeout_error(target, stage)),
    }
}

/// The run stopped before this device's login: no credential was sent (the
/// fan-out reports the device as not started).
fn not_started(target: &SshTarget) -> DeviceError {
    DeviceError::Interrupted {
        device: target.device.clone(),
        pushed: 0,
        total: 0,
    }
}

/// Where `open_shell` was when the connect timeout struck.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Resolve,
    Tcp,
    Handshake,
    Auth,
    Shell,
}

fn timeout_error(target: &SshTarget, stage: Stage) -> DeviceError {
    let after = target.connect_timeout;
    let connect = |reason: String| DeviceError::Connect {
        device: target.device.clone(),
        addr: target.addr(),
        reason,
        transient: true,
    };
    match stage {
        Stage::Resolve => connect(format!(
            "no answer from the DNS resolver within {after:?} for {:?}",
            target.host
        )),
        Stage::Tcp => connect(format!(
            "TCP connect timed out after {after:?} (is the device up and reachable, and the port right?)"
        )),
        Stage::Handshake => connect(format!(
            "the port accepted TCP but no SSH handshake completed within {after:?} \
             (is it an SSH server? are all vty lines busy?)"
        )),
        Stage::Auth => DeviceError::Timeout {
            device: target.device.clone(),
            doing: format!("logging in to {} as {:?}", target.addr(), target.username),
            after,
        },
        Stage::Shell => DeviceError::Timeout {
            device: target.device.clone(),
            doing: format!("opening a shell on {}", target.addr()),
            after,
        },
    }
}

/// Name lookup, TCP, the SSH handshake (host key checked), and the login
/// methods the device offers (`None`: it let us in without credentials).
#[allow(clippy::type_complexity)]
async fn transport(
    target: &SshTarget,
    stage: &mut Stage,
) -> Result<
    (
        client::Handle<Client>,
        HostKeyStatus,
        Negotiated,
        Option<russh::MethodSet>,
    ),
    DeviceError,
> {
    let addr = target.addr();
    let connect_err = |reason: String, transient: bool| DeviceError::Connect {
        device: target.device.clone(),
        addr: addr.clone(),
        reason,
        transient,
    };

    *stage = Stage::Resolve;
    let addrs: Vec<std::net::SocketAddr> =
        tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|e| {
                // EAI_AGAIN: the resolver is unreachable, not the name unknown.
                let transient = e.to_string().contains("Temporary failure");
                connect_err(
                    format!("cannot resolve the host name ({e}); check `host` in the inventory"),
                    transient,
                )
            })?
            .collect();

    *stage = Stage::Tcp;
    let socket = tokio::net::TcpStream::connect(addrs.as_slice())
        .await
        .map_err(|e| connect_err(tcp_reason(&e), true))?;
    // Pipelined lines must not wait for Nagle.
    let _ = socket.set_nodelay(true);
    // Phase marks (debug level) that the fleet benchmark counts round trips by.
    tracing::debug!("TCP connected");

    *stage = Stage::Handshake;
    let known = known_algorithms(target);
    let config = Arc::new(client_config(target.legacy_algorithms, &known));
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let handler = Client {
        target: Arc::new(HostKeyCheck {
            device: target.device.clone(),
            host: target.host.clone(),
            port: target.port,
            addr: addr.clone(),
            policy: target.host_key_policy,
            known_hosts: target.known_hosts.clone(),
        }),
        outcome: outcome.clone(),
    };
    let mut handle = client::connect_stream(config, socket, handler)
        .await
        .map_err(|e| handshake_error(target, e))?;
    let (host_key, negotiated) = {
        let o = outcome.lock().unwrap_or_else(|p| p.into_inner());
        (
            o.host_key.unwrap_or(HostKeyStatus::Unchecked),
            o.negotiated.clone(),
        )
    };
    tracing::debug!(
        device = %target.device,
        %addr,
        kex = %negotiated.kex,
        host_key = %negotiated.host_key,
        cipher = %negotiated.cipher,
        mac = %negotiated.mac,
        "SSH transport up"
    );
    if negotiated.uses_legacy() {
        tracing::info!(
            device = %target.device,
            "{addr} needed legacy SSH algorithms (kex {}, cipher {}, mac {}, host key {})",
            negotiated.kex,
            negotiated.cipher,
            negotiated.mac,
            negotiated.host_key
        );
    }

    *stage = Stage::Auth;
    let offered = offered_methods(target, &mut handle).await?;
    tracing::debug!("login methods known");
    Ok((handle, host_key, negotiated, offered))
}

fn tcp_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => {
            "connection refused (nothing listens on that port: is SSH enabled on the device, the port right?)".into()
        }
        ConnectionReset | ConnectionAborted => format!("connection reset ({e})"),
        TimedOut => format!("TCP connect timed out ({e})"),
        _ => format!("TCP connect failed: {e}"),
    }
}

/// Turn a failed handshake into an actionable error.
fn handshake_error(target: &SshTarget, e: ClientError) -> DeviceError {
    let connect = |reason: String, transient: bool| DeviceError::Connect {
        device: target.device.clone(),
        addr: target.addr(),
        reason,
        transient,
    };
    let e = match e {
        ClientError::HostKey(problem) => {
            return DeviceError::HostKey {
                device: target.device.clone(),
                addr: target.addr(),
                problem,
            };
        }
        ClientError::Ssh(e) => e,
    };
    match e {
        russh::Error::NoCommonAlgo { kind, theirs, .. } => {
            let hint = if target.legacy_algorithms {
                "tsfleet supports none of them".to_string()
            } else {
                "the device may need legacy_algorithms: true".to_string()
            };
            connect(
                format!(
                    "no common {} (the device offers {}); {hint}",
                    kind_name(&kind),
                    theirs.join(", ")
                ),
                false,
            )
        }
        russh::Error::IO(io) => connect(
            format!("the connection failed during the SSH handshake: {io}"),
            true,
        ),
        // The peer hung up before or during the key exchange: a router
        // with all vty lines busy does exactly this.
        russh::Error::Disconnect | russh::Error::HUP => connect(
            "the device closed the connection during the SSH handshake \
             (all vty lines busy, or an ACL on the vty?)"
                .into(),
            true,
        ),
        russh::Error::Version => connect(
            "the peer does not speak SSH (bad identification string); check the port".into(),
            false,
        ),
        other => connect(format!("SSH handshake failed: {other}"), false),
    }
}

fn kind_name(kind: &AlgorithmKind) -> &'static str {
    match kind {
        AlgorithmKind::Kex => "key exchange",
        AlgorithmKind::Key => "host key algorithm",
        AlgorithmKind::Cipher => "cipher",
        AlgorithmKind::Compression => "compression",
        AlgorithmKind::Mac => "MAC",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::ssh::tests::target;

    #[test]
    fn timeout_errors_name_device_and_address() {
        let t = target("pw");
        for stage in [
            Stage::Resolve,
            Stage::Tcp,
            Stage::Handshake,
            Stage::Auth,
            Stage::Shell,
        ] {
            let msg = timeout_error(&t, stage).to_string();
            assert!(
                msg.contains("rtr-001") && msg.contains("192.0.2.1:2222"),
                "{msg}"
            );
            assert!(!msg.contains("pw\""), "{msg}");
        }
        assert!(timeout_error(&t, Stage::Handshake).is_transient());
    }
}
