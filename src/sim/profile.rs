//! The `--profile` YAML: per-device overrides (IOS version, hostname, cost
//! model, initial groups and ACLs) and injected faults. Devices not named in
//! the profile are healthy ISRs with empty configurations.
//!
//! ```yaml
//! devices:
//!   rtr-002:
//!     version: "12.4(6)T2"
//!     auth_methods: [keyboard-interactive]
//!     faults: { wrong_password: true }
//!   rtr-003:
//!     running:
//!       groups: [{ name: threatstop-block, entries: ["host 192.0.2.1"] }]
//!       acls: [{ name: OUTSIDE-IN, lines: ["deny ip object-group threatstop-block any"] }]
//!   rtr-004:
//!     version: "17.9.4a"          # 16.x/17.x: IOS XE, which has v6-network groups
//!     running:
//!       v6_groups: [{ name: threatstop-block-v6, entries: ["host 2001:DB8::1", "2001:DB8:1::/48"] }]
//!       v6_acls: [{ name: OUTSIDE-IN-V6, lines: ["deny ipv6 object-group threatstop-block-v6 any"] }]
//! ```
//!
//! A device is IOS XE when its `version` is 16.x or 17.x, classic IOS
//! otherwise; `v6_groups` and `v6_acls` need IOS XE.

use super::device::Config;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub devices: BTreeMap<String, DeviceProfile>,
}

/// Overrides for one device; anything unset takes the fleet's value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_cost_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_cost_us: Option<u64>,
    /// Log in at `HOST#` (a privilege-15 user) instead of `HOST>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged_login: Option<bool>,
    /// SSH login methods the device offers (default: both). `[keyboard-interactive]`
    /// is what IOS with some AAA setups does: `password` is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_methods: Option<Vec<AuthMethod>>,
    /// Initial running configuration (also saved as the startup configuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<Config>,
    #[serde(default)]
    pub faults: Faults,
}

/// An SSH login method the simulator can offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    Password,
    KeyboardInteractive,
}

/// Faults a device can be told to show. All off by default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// The device refuses the fleet's login password.
    #[serde(default)]
    pub wrong_password: bool,
    /// The device refuses the fleet's enable secret.
    #[serde(default)]
    pub wrong_enable_secret: bool,
    /// Nothing listens on the device's port (TCP connection refused).
    #[serde(default)]
    pub refuse_connections: bool,
    /// Drop the connection after this many input lines in a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disconnect_after_lines: Option<u64>,
    /// Stop answering (keep the connection open) after this many input lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hang_after_lines: Option<u64>,
    /// After this many input lines, stream output forever (never a prompt),
    /// as fast as the client takes it: a device gone wild.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flood_after_lines: Option<u64>,
    /// With `flood_after_lines`: pause this long between the flood's lines
    /// (a trickle that is never silent long enough to time out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flood_pause_ms: Option<u64>,
    /// Echo the enable secret as it is typed (IOS does not): a misconfigured
    /// or hostile device.
    #[serde(default)]
    pub echo_secret: bool,
    /// Send every byte of output in a write of its own (an SSH packet per
    /// byte, as a device echoing keystrokes one at a time does).
    #[serde(default)]
    pub byte_writes: bool,
    /// Print an asynchronous syslog line after every N input lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syslog_every_lines: Option<u32>,
    /// Entry lines (e.g. `host 192.0.2.7`) the device refuses with a `%` error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_entries: Vec<String>,
    /// Most entries an object-group may hold; more are refused with a `%` error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_group_entries: Option<usize>,
    /// Most concurrent SSH sessions (vty lines); more are closed at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_sessions: Option<usize>,
    /// Offer only the legacy IOS algorithms (group1/group14-sha1, aes128-cbc/3des-cbc, hmac-sha1, ssh-rsa).
    #[serde(default)]
    pub legacy_only: bool,
    /// A new host key at every start, never kept in --state-dir.
    #[serde(default)]
    pub rotate_host_key: bool,
    /// Drop input while more than this many bytes are waiting unread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_input_over_bytes: Option<usize>,
    /// What the device prints when it refuses an `error_entries` line, instead
    /// of IOS's `% Invalid input` (hostile text, e.g. terminal escapes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_text: Option<String>,
    /// `configure terminal` is refused because another session holds the
    /// configuration lock (`configuration mode exclusive`), with IOS's
    /// message, which has no `%`: the session stays in exec mode.
    #[serde(default)]
    pub config_locked: bool,
    /// An IOS XE device (by its `show version`) without `object-group
    /// v6-network` (and `ipv6 access-list`), refused as classic IOS refuses
    /// them: a release or image without IPv6 object groups.
    #[serde(default)]
    pub no_v6_groups: bool,
}

impl Profile {
    /// The overrides for one device (none: the fleet's settings).
    pub fn device(&self, name: &str) -> DeviceProfile {
        self.devices.get(name).cloned().unwrap_or_default()
    }

    /// Parse a profile; errors name line and column.
    pub fn parse(text: &str) -> Result<Profile, String> {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }
}
