//! Typed failures of one device, so reports, retries and the fleet's circuit
//! breakers can tell them apart. Messages name the device and what to fix,
//! and never contain a secret.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// TCP or SSH transport failure before login; transient ones may be retried.
    #[error("{device}: cannot connect to {addr}: {reason}")]
    Connect {
        device: String,
        addr: String,
        reason: String,
        /// Refused, reset or timed out: worth a retry with backoff.
        transient: bool,
    },
    /// The host key is unknown or changed (strict policy), or known_hosts is unusable.
    #[error("{device}: host key for {addr} {problem}")]
    HostKey {
        device: String,
        addr: String,
        problem: String,
    },
    #[error("{device}: authentication failed for user {user:?} ({methods})")]
    Auth {
        device: String,
        user: String,
        methods: String,
    },
    #[error("{device}: enable failed: {reason}")]
    Enable { device: String, reason: String },
    #[error("{device}: no answer within {after:?} while {doing}")]
    Timeout {
        device: String,
        doing: String,
        after: Duration,
    },
    /// The device answered a command with a `%` error.
    #[error("{device}: `{command}` was refused: {message}")]
    Command {
        device: String,
        command: String,
        message: String,
    },
    #[error(
        "{device}: after {rounds} push rounds the group {group} still differs: {missing} missing, {extra} extra"
    )]
    Verify {
        device: String,
        group: String,
        rounds: u32,
        missing: usize,
        extra: usize,
    },
    /// tsfleet refused to make a change that would weaken the device.
    #[error("{device}: group {group}: {reason}")]
    Refused {
        device: String,
        group: String,
        reason: String,
    },
    /// The run was interrupted (Ctrl-C) while this device was being changed;
    /// what was sent was acknowledged, config mode left, nothing saved.
    #[error(
        "{device}: interrupted after {pushed} of {total} lines; configuration mode left, not saved"
    )]
    Interrupted {
        device: String,
        pushed: usize,
        total: usize,
    },
    /// The device cannot carry the lists (e.g. an IOS release without
    /// object-group ACLs).
    #[error("{device}: {reason}")]
    Unsupported { device: String, reason: String },
    /// The session ended or the device said something tsfleet cannot read.
    #[error("{device}: {reason}")]
    Protocol { device: String, reason: String },
}

impl DeviceError {
    /// A short class name for reports and JUnit (`connect`, `auth`, …).
    pub fn class(&self) -> &'static str {
        match self {
            DeviceError::Connect { .. } => "connect",
            DeviceError::HostKey { .. } => "host-key",
            DeviceError::Auth { .. } => "auth",
            DeviceError::Enable { .. } => "enable",
            DeviceError::Timeout { .. } => "timeout",
            DeviceError::Command { .. } => "device-error",
            DeviceError::Verify { .. } => "verify",
            DeviceError::Refused { .. } => "refused",
            DeviceError::Interrupted { .. } => "interrupted",
            DeviceError::Unsupported { .. } => "unsupported",
            DeviceError::Protocol { .. } => "protocol",
        }
    }

    /// Worth retrying the whole device with backoff.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DeviceError::Connect {
                transient: true,
                ..
            }
        )
    }
}
