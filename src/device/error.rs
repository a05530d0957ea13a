//! Typed failures of one device, so reports, retries and the fleet's circuit
//! breakers can tell them apart (by [`ErrorClass`]). Messages name the device
//! and what to fix, and never contain a secret; [`DeviceError::message`] is
//! the same text without the device, for reports that name it already.

use super::outcome::SyncOutcome;
use crate::domain::ErrorClass;
use std::fmt;
use std::time::Duration;

#[derive(Debug)]
pub enum DeviceError {
    /// TCP or SSH transport failure before login; transient ones may be retried.
    Connect {
        device: String,
        addr: String,
        reason: String,
        /// Refused, reset or timed out: worth a retry with backoff.
        transient: bool,
    },
    /// The host key is unknown or changed (strict policy), or known_hosts is unusable.
    HostKey {
        device: String,
        addr: String,
        problem: String,
    },
    Auth {
        device: String,
        user: String,
        methods: String,
    },
    Enable {
        device: String,
        reason: String,
    },
    Timeout {
        device: String,
        doing: String,
        after: Duration,
    },
    /// The device kept answering without its prompt, past the most one
    /// answer may be (bytes, or total time): tsfleet stopped reading it.
    Flood {
        device: String,
        /// The command (or step) whose answer it was.
        doing: String,
        received: usize,
        elapsed: Duration,
        past: FloodPast,
    },
    /// The device answered a command with a `%` error.
    Command {
        device: String,
        command: String,
        message: String,
    },
    Verify {
        device: String,
        group: String,
        rounds: u32,
        missing: usize,
        extra: usize,
    },
    /// The device refused adds because the group reached its size limit:
    /// nothing was removed, so the group holds its old list and the adds
    /// that went in.
    GroupFull {
        device: String,
        group: String,
        /// The limit as the device stated it.
        limit: usize,
        /// The device's refusal, as printed.
        reported: String,
        /// Adds that went in, of `adds`.
        accepted: usize,
        adds: usize,
    },
    /// `error` came after changes reached the running configuration:
    /// `reached` says which (per group, as acknowledged or read back) and
    /// whether they were saved.
    Partial {
        error: Box<DeviceError>,
        reached: Box<SyncOutcome>,
    },
    /// tsfleet refused to make a change that would weaken the device.
    Refused {
        device: String,
        group: String,
        reason: String,
    },
    /// The run was interrupted (Ctrl-C, SIGTERM, SIGHUP) while this device was being changed;
    /// what was sent was acknowledged, config mode left, nothing saved.
    Interrupted {
        device: String,
        pushed: usize,
        total: usize,
    },
    /// A second stop signal: the session had `grace` more to stop and leave
    /// configuration mode, then was closed wherever it was.
    Abandoned {
        device: String,
        grace: Duration,
    },
    /// The device cannot carry the lists (e.g. an IOS release without
    /// object-group ACLs).
    Unsupported {
        device: String,
        reason: String,
    },
    /// The session ended or the device said something tsfleet cannot read.
    Protocol {
        device: String,
        reason: String,
    },
    /// `apply --plan`: a group no longer holds what the saved plan read
    /// from it (someone changed it since), so nothing was sent.
    Drift {
        device: String,
        group: String,
        planned: String,
        found: String,
    },
}

impl DeviceError {
    /// The class reports count and the fleet's breakers compare. Exhaustive
    /// on purpose: a new variant does not compile until it has a class (and
    /// `schemas/report.schema.json` lists it).
    pub fn class(&self) -> ErrorClass {
        match self {
            DeviceError::Connect { .. } => ErrorClass::Connect,
            DeviceError::HostKey { .. } => ErrorClass::HostKey,
            DeviceError::Auth { .. } => ErrorClass::Auth,
            DeviceError::Enable { .. } => ErrorClass::Enable,
            DeviceError::Timeout { .. } => ErrorClass::Timeout,
            DeviceError::Flood { .. } => ErrorClass::Flood,
            DeviceError::Command { .. } => ErrorClass::DeviceError,
            DeviceError::Verify { .. } => ErrorClass::Verify,
            DeviceError::GroupFull { .. } => ErrorClass::GroupFull,
            DeviceError::Partial { error, .. } => error.class(),
            DeviceError::Refused { .. } => ErrorClass::Refused,
            DeviceError::Interrupted { .. } | DeviceError::Abandoned { .. } => {
                ErrorClass::Interrupted
            }
            DeviceError::Unsupported { .. } => ErrorClass::Unsupported,
            DeviceError::Protocol { .. } => ErrorClass::Protocol,
            DeviceError::Drift { .. } => ErrorClass::Drift,
        }
    }

    /// The device the failure happened on.
    pub fn device(&self) -> &str {
        match self {
            DeviceError::Connect { device, .. }
            | DeviceError::HostKey { device, .. }
            | DeviceError::Auth { device, .. }
            | DeviceError::Enable { device, .. }
            | DeviceError::Timeout { device, .. }
            | DeviceError::Flood { device, .. }
            | DeviceError::Command { device, .. }
            | DeviceError::Verify { device, .. }
            | DeviceError::Refused { device, .. }
            | DeviceError::Interrupted { device, .. }
            | DeviceError::Abandoned { device, .. }
            | DeviceError::Unsupported { device, .. }
            | DeviceError::Protocol { device, .. }
            | DeviceError::Drift { device, .. }
            | DeviceError::GroupFull { device, .. } => device,
            DeviceError::Partial { error, .. } => error.device(),
        }
    }

    /// What reached the device's running configuration before the failure,
    /// when anything may have.
    pub fn reached(&self) -> Option<&SyncOutcome> {
        match self {
            DeviceError::Partial { reached, .. } => Some(reached),
            _ => None,
        }
    }

    /// What went wrong, without the leading `device: ` that `Display` adds.
    pub fn message(&self) -> Message<'_> {
        Message(self)
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

/// Which bound an answer went past.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloodPast {
    /// The most bytes one answer may be.
    Bytes(usize),
    /// The most time one answer may take.
    Time(Duration),
}

/// A duration as messages show it: to the millisecond.
fn shown(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis().try_into().unwrap_or(u64::MAX))
}

/// `device: message`.
impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.device(), self.message())
    }
}

impl std::error::Error for DeviceError {}

/// [`DeviceError::message`]: the failure without the device's name.
pub struct Message<'a>(&'a DeviceError);

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            DeviceError::Connect { addr, reason, .. } => {
                write!(f, "cannot connect to {addr}: {reason}")
            }
            DeviceError::HostKey { addr, problem, .. } => {
                write!(f, "host key for {addr} {problem}")
            }
            DeviceError::Auth { user, methods, .. } => {
                write!(f, "authentication failed for user {user:?} ({methods})")
            }
            DeviceError::Enable { reason, .. } => write!(f, "enable failed: {reason}"),
            DeviceError::Timeout { doing, after, .. } => {
                write!(f, "no answer within {:?} while {doing}", shown(*after))
            }
            DeviceError::Flood {
                doing,
                received,
                elapsed,
                past,
                ..
            } => {
                let elapsed = shown(*elapsed);
                match past {
                    FloodPast::Bytes(cap) => write!(
                        f,
                        "{received} bytes and no prompt in {elapsed:?} while {doing}: past the {cap}-byte cap on one answer; stopped reading"
                    ),
                    FloodPast::Time(budget) => write!(
                        f,
                        "still no prompt after {elapsed:?} ({received} bytes) while {doing}: past the {:?} one answer may take; stopped reading",
                        shown(*budget)
                    ),
                }
            }
            DeviceError::Command {
                command, message, ..
            } => write!(f, "`{command}` was refused: {message}"),
            DeviceError::Verify {
                group,
                rounds,
                missing,
                extra,
                ..
            } => write!(
                f,
                "after {rounds} push rounds the group {group} still differs: {missing} missing, {extra} extra"
            ),
            DeviceError::Refused { group, reason, .. } => write!(f, "group {group}: {reason}"),
            DeviceError::GroupFull {
                group,
                limit,
                reported,
                accepted,
                adds,
                ..
            } => write!(
                f,
                "group {group} is full: the device refused adds past its limit of {limit} entries ({reported:?}); \
                 {accepted} of {adds} adds went in and nothing was removed, so the group holds its old list and those. \
                 A swap holds the old and the new list at once: lower the policy's max_policy_size to at most {} or raise the device's limit",
                limit / 2
            ),
            DeviceError::Partial { error, reached } => {
                write!(f, "{}; in the running configuration:", error.message())?;
                for (i, g) in reached.groups.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}{} +{} -{}", g.name, g.added, g.removed)?;
                    if g.taken_back > 0 {
                        write!(f, " ({} adds taken back)", g.taken_back)?;
                    }
                }
                // An interruption says "not saved" already.
                match (reached.saved, error.as_ref()) {
                    (true, _) => f.write_str("; saved"),
                    (false, DeviceError::Interrupted { .. }) => Ok(()),
                    (false, _) => f.write_str("; not saved"),
                }
            }
            DeviceError::Interrupted { pushed, total, .. } => write!(
                f,
                "interrupted after {pushed} of {total} lines; configuration mode left, not saved"
            ),
            DeviceError::Abandoned { grace, .. } => write!(
                f,
                "stopped by a second signal: the session was closed {grace:?} after it, wherever it was (configuration mode may not have been left)"
            ),
            DeviceError::Unsupported { reason, .. } | DeviceError::Protocol { reason, .. } => {
                f.write_str(reason)
            }
            DeviceError::Drift {
                group,
                planned,
                found,
                ..
            } => write!(
                f,
                "group {group} changed since the plan read it (entries {found}, the plan saw {planned}): nothing was sent; run plan again"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_device_then_the_message() {
        let e = DeviceError::Auth {
            device: "rtr-1".into(),
            user: "netops".into(),
            methods: "password".into(),
        };
        assert_eq!(e.device(), "rtr-1");
        assert_eq!(
            e.message().to_string(),
            r#"authentication failed for user "netops" (password)"#
        );
        assert_eq!(e.to_string(), format!("rtr-1: {}", e.message()));
        assert_eq!(e.class(), ErrorClass::Auth);
    }
}
