//! One running simulated device: its credentials, state, host key, costs and
//! faults, shared by its connections. [`super::fleet`] builds it; the SSH
//! server ([`super::server`]) and `--stdio` ([`super::stdio`]) serve it.

use super::cli::{CliOptions, CostModel};
use super::device::{DeviceState, SharedState};
use super::hostkeys;
use super::profile::{AuthMethod, Faults};
use super::session::SessionBehaviour;
use russh::keys::PublicKey;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

/// Everything one running device needs; shared by its connections.
pub struct DeviceRuntime {
    pub name: String,
    pub addr: SocketAddr,
    pub username: String,
    pub password: String,
    pub enable_secret: String,
    pub state: SharedState,
    pub host_key: PublicKey,
    pub active_sessions: AtomicUsize,
    /// Login methods offered (the profile's `auth_methods`, default both).
    pub auth_methods: Vec<AuthMethod>,
    pub(super) privileged_login: bool,
    pub(super) rtt: Duration,
    pub(super) cost: CostModel,
    pub(super) faults: Mutex<Faults>,
}

impl DeviceRuntime {
    /// The faults in force now (tests may change them while the fleet runs).
    pub fn faults(&self) -> Faults {
        self.faults.lock().unwrap().clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock().unwrap() = faults;
    }

    pub(crate) fn cli_options(&self, faults: &Faults) -> CliOptions {
        let enable_secret = if faults.wrong_enable_secret {
            // The device was configured with another secret than the fleet's.
            format!("{}-differs", self.enable_secret)
        } else {
            self.enable_secret.clone()
        };
        CliOptions {
            enable_secret,
            privileged_login: self.privileged_login,
            cost: self.cost,
            error_entries: faults
                .error_entries
                .iter()
                .map(|e| normalise_entry(e))
                .collect(),
            max_group_entries: faults.max_group_entries,
            syslog_every: faults.syslog_every_lines,
            error_text: faults.error_text.clone(),
            echo_secret: faults.echo_secret,
            config_locked: faults.config_locked,
            no_v6_groups: faults.no_v6_groups,
        }
    }

    pub(crate) fn behaviour(&self, faults: &Faults) -> SessionBehaviour {
        SessionBehaviour {
            rtt: self.rtt,
            disconnect_after_lines: faults.disconnect_after_lines,
            hang_after_lines: faults.hang_after_lines,
            flood_after_lines: faults.flood_after_lines,
            flood_pause: Duration::from_millis(faults.flood_pause_ms.unwrap_or(0)),
            drop_input_over_bytes: faults.drop_input_over_bytes,
            byte_writes: faults.byte_writes,
        }
    }

    /// The known_hosts line that trusts this device's host key.
    pub fn known_hosts_line(&self) -> String {
        hostkeys::known_hosts_line(
            &self.addr.ip().to_string(),
            self.addr.port(),
            &self.host_key,
        )
    }

    /// A copy of the device's state now.
    pub fn snapshot(&self) -> DeviceState {
        self.state.lock().unwrap().clone()
    }
}

/// An `error_entries` line as the CLI writes the entry (IPv4 or IPv6), so
/// `host 2001:db8::7` matches whatever case the client types.
fn normalise_entry(e: &str) -> String {
    e.parse::<super::device::Entry>()
        .map(|e| e.to_string())
        .or_else(|_| e.parse::<super::device::V6Entry>().map(|e| e.to_string()))
        .unwrap_or_else(|_| e.split_whitespace().collect::<Vec<_>>().join(" "))
}
