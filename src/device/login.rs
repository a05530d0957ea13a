//! The fleet's say over when a device may be sent credentials. A wrong
//! shared password or enable secret must cost at most a few failed logins
//! fleet-wide (AAA servers lock the account after a handful), so a device
//! asks its [`Login`] for leave right before the first credential goes out
//! and tells it how the credentials fared once it is privileged (or refused).
//! The policy (slow start, the authentication breaker) is the fan-out's;
//! this is only the handle a device session holds.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// How a device's credentials fared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Logged in and privileged: the credentials are good.
    Accepted,
    /// The password, key or enable secret was refused.
    Refused,
    /// The session ended before it was known (connection lost, timeout).
    Unknown,
}

/// Leave to log in was refused: the run has stopped (authentication
/// breaker, failure budget, Ctrl-C), so no credential may be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped;

/// What the fan-out implements; `device` is the device's index in the run.
pub trait LoginGate: Send + Sync {
    /// Wait until this device may send credentials, or the run stops.
    fn admit(
        &self,
        device: usize,
    ) -> Pin<Box<dyn Future<Output = Result<(), Stopped>> + Send + '_>>;
    /// The outcome of an admitted login (called once per admission).
    fn settle(&self, device: usize, verdict: Verdict);
}

/// One device's handle on the gate. Without a gate (a single device, the
/// tests) every login goes ahead. An admitted login not settled by the time
/// the handle is dropped settles as [`Verdict::Unknown`].
#[derive(Default)]
pub struct Login {
    gate: Option<(Arc<dyn LoginGate>, usize)>,
    admitted: bool,
}

impl Login {
    /// Every login goes ahead.
    pub fn open() -> Login {
        Login::default()
    }

    /// Logins wait for `gate`'s leave; `device` is the index it knows the device by.
    pub fn gated(gate: Arc<dyn LoginGate>, device: usize) -> Login {
        Login {
            gate: Some((gate, device)),
            admitted: false,
        }
    }

    /// Wait for leave to send credentials (right before the first one).
    pub async fn admit(&mut self) -> Result<(), Stopped> {
        if self.admitted {
            return Ok(());
        }
        if let Some((gate, device)) = &self.gate {
            gate.admit(*device).await?;
        }
        self.admitted = true;
        Ok(())
    }

    /// Report how the credentials fared; later reports are ignored.
    pub fn settle(&mut self, verdict: Verdict) {
        if !std::mem::take(&mut self.admitted) {
            return;
        }
        if let Some((gate, device)) = self.gate.take() {
            gate.settle(device, verdict);
        }
    }
}

impl Drop for Login {
    fn drop(&mut self) {
        self.settle(Verdict::Unknown);
    }
}
