//! The inventory's YAML schema. Every struct refuses unknown keys so a typo is
//! an error with its line and column, not a silently ignored setting.

use super::Secret;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsSettings>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, Policy>,
    #[serde(default)]
    pub defaults: DeviceSettings,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, DeviceSettings>,
    #[serde(default)]
    pub devices: Vec<Device>,
}

/// Where and how the lists are resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSettings {
    /// Tried in order; the first that answers is used.
    pub servers: Vec<String>,
    #[serde(default = "default_dns_port")]
    pub port: u16,
    #[serde(default)]
    pub transport: DnsTransport,
    #[serde(default = "default_dns_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_dns_attempts")]
    pub attempts: u32,
}

fn default_dns_port() -> u16 {
    53
}
fn default_dns_timeout_ms() -> u64 {
    3000
}
fn default_dns_attempts() -> u32 {
    2
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DnsTransport {
    /// TCP only (lists are long; this is what ThreatSTOP requires).
    #[default]
    Tcp,
    /// UDP first, retried over TCP when the answer is truncated.
    Udp,
}

/// `max_policy_size` when a policy does not set it: what `init` writes and
/// what the policy build caps at.
pub const DEFAULT_MAX_POLICY_SIZE: usize = 30_000;

/// Which lists a device carries and the guards applied to them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub block: Vec<String>,
    #[serde(default)]
    pub allow: Vec<String>,
    /// Prefixes that must never be blocked (management networks), IPv4 or IPv6.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protect: Vec<IpNet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_policy_size: Option<usize>,
    /// Shortest prefix accepted from a list (default /8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_prefix_len: Option<u8>,
    /// Shortest IPv6 prefix accepted from a list (default /16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_prefix_len_v6: Option<u8>,
    /// Merge adjacent prefixes (covers exactly the same addresses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<bool>,
    /// Refuse a list that shrinks by more than this fraction (0.0–1.0) against the previous snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_shrink: Option<f64>,
    /// Where `tsfleet logs upload` sends the syslog lines of this policy's devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_upload: Option<LogUpload>,
}

/// The log upload endpoint of a policy (`tsfleet logs upload`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogUpload {
    /// `https://...`; each device's new lines are POSTed here, gzip-compressed.
    /// A `user:password@` in it is sent as basic authentication and never printed.
    pub url: String,
    /// PEM CA certificate(s) trusted besides the built-in web roots (relative
    /// to the inventory's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// `http://HOST:PORT` proxy; without it the `HTTPS_PROXY`/`NO_PROXY` environment applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
}

/// How host keys are checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyPolicy {
    /// Only keys already in known_hosts are accepted.
    #[default]
    Strict,
    /// Unknown keys are learned and recorded; changed keys are refused.
    AcceptNew,
    /// No checking at all (a loud warning).
    Off,
}

/// Settings that `defaults`, `groups` and devices can each set; the most
/// specific wins (defaults → groups in order → device).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_secret: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<PathBuf>,
    /// Name of a key under `policies`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_group: Option<String>,
    /// Carry the lists' IPv6 items into `object-group v6-network` groups
    /// (IOS XE only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_group_v6: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_group_v6: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key_policy: Option<HostKeyPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
    /// Offer the legacy IOS SSH algorithms after the modern ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_algorithms: Option<bool>,
    /// `write memory` after a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_config: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_timeout_ms: Option<u64>,
}

/// One router. Its settings are written beside `name`, `host` and `groups`
/// (serialised flattened); see [`DeviceEntry`] for why reading does not use
/// `#[serde(flatten)]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "DeviceEntry")]
pub struct Device {
    pub name: String,
    pub host: String,
    /// Groups whose settings apply, in order, after `defaults`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(flatten)]
    pub settings: DeviceSettings,
}

/// A device entry as read: every key spelled out. serde's `flatten` buffers
/// the entry, so with it an unknown key is reported at the entry's first line
/// with no list of valid keys; without it, serde-saphyr points at the key
/// itself. A unit test keeps this list in step with [`DeviceSettings`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceEntry {
    name: String,
    host: String,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<Secret>,
    #[serde(default)]
    enable_secret: Option<Secret>,
    #[serde(default)]
    private_key: Option<PathBuf>,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    block_group: Option<String>,
    #[serde(default)]
    allow_group: Option<String>,
    #[serde(default)]
    ipv6: Option<bool>,
    #[serde(default)]
    block_group_v6: Option<String>,
    #[serde(default)]
    allow_group_v6: Option<String>,
    #[serde(default)]
    host_key_policy: Option<HostKeyPolicy>,
    #[serde(default)]
    known_hosts: Option<PathBuf>,
    #[serde(default)]
    legacy_algorithms: Option<bool>,
    #[serde(default)]
    save_config: Option<bool>,
    #[serde(default)]
    connect_timeout_ms: Option<u64>,
    #[serde(default)]
    command_timeout_ms: Option<u64>,
}

impl From<DeviceEntry> for Device {
    fn from(e: DeviceEntry) -> Device {
        Device {
            name: e.name,
            host: e.host,
            groups: e.groups,
            settings: DeviceSettings {
                port: e.port,
                username: e.username,
                password: e.password,
                enable_secret: e.enable_secret,
                private_key: e.private_key,
                policy: e.policy,
                block_group: e.block_group,
                allow_group: e.allow_group,
                ipv6: e.ipv6,
                block_group_v6: e.block_group_v6,
                allow_group_v6: e.allow_group_v6,
                host_key_policy: e.host_key_policy,
                known_hosts: e.known_hosts,
                legacy_algorithms: e.legacy_algorithms,
                save_config: e.save_config,
                connect_timeout_ms: e.connect_timeout_ms,
                command_timeout_ms: e.command_timeout_ms,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `DeviceSettings` key, set, round-trips through a device entry:
    /// `DeviceEntry` has not fallen behind.
    #[test]
    fn device_entry_knows_every_setting() {
        let settings = DeviceSettings {
            port: Some(2222),
            username: Some("u".into()),
            password: Some(Secret::Env { env: "P".into() }),
            enable_secret: Some(Secret::File { file: "e".into() }),
            private_key: Some("k".into()),
            policy: Some("p".into()),
            block_group: Some("b".into()),
            allow_group: Some("a".into()),
            ipv6: Some(true),
            block_group_v6: Some("b6".into()),
            allow_group_v6: Some("a6".into()),
            host_key_policy: Some(HostKeyPolicy::AcceptNew),
            known_hosts: Some("kh".into()),
            legacy_algorithms: Some(false),
            save_config: Some(false),
            connect_timeout_ms: Some(1),
            command_timeout_ms: Some(2),
        };
        let device = Device {
            name: "r1".into(),
            host: "192.0.2.1".into(),
            groups: vec!["g".into()],
            settings,
        };
        let yaml = serde_saphyr::to_string(&device).unwrap();
        let back: Device = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, device);
    }

    #[test]
    fn log_upload_is_read_under_a_policy_and_refuses_unknown_keys() {
        let yaml = "policies:\n  p:\n    block: [b]\n    log_upload:\n      url: https://h/up\n      ca_file: ca.pem\n";
        let inv: Inventory = serde_saphyr::from_str(yaml).unwrap();
        let up = inv.policies["p"].log_upload.as_ref().unwrap();
        assert_eq!(up.url, "https://h/up");
        assert_eq!(up.ca_file.as_deref(), Some(std::path::Path::new("ca.pem")));
        assert_eq!(up.proxy, None);
        let e =
            serde_saphyr::from_str::<Inventory>(&yaml.replace("ca_file", "cafile")).unwrap_err();
        assert_eq!(e.location().unwrap().line(), 6, "{e}");
    }

    #[test]
    fn unknown_device_key_points_at_the_key() {
        let e = serde_saphyr::from_str::<Device>("name: r1\nhost: h\nprot: 22\n").unwrap_err();
        let loc = e.location().unwrap();
        assert_eq!((loc.line(), loc.column()), (3, 1));
        assert!(e.to_string().contains("expected one of"), "{e}");
    }
}
