//! The simulated router's configuration: hostname, IOS version, object groups
//! (IPv4 `network` and, on IOS XE, IPv6 `v6-network`), ACLs, running vs
//! startup configuration. Plain data, serialisable as JSON for
//! `--dump-state`; the CLI in `sim::cli` reads and changes it.

use indexmap::IndexSet;
use ipnet::Ipv6Net;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

/// One device's state, shared by all its vty sessions.
pub type SharedState = Arc<Mutex<DeviceState>>;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceState {
    pub hostname: String,
    /// IOS version as `show version` prints it, e.g. `15.7(3)M5` or `16.09.03` (IOS-XE).
    pub version: String,
    pub running: Config,
    pub startup: Config,
    #[serde(default)]
    pub stats: SessionStats,
}

impl DeviceState {
    /// True when the running configuration has been saved.
    pub fn saved(&self) -> bool {
        self.running == self.startup
    }

    /// A network object-group of the running configuration.
    pub fn group(&self, name: &str) -> Option<&ObjectGroup> {
        self.running.groups.iter().find(|g| g.name == name)
    }

    /// A v6-network object-group of the running configuration.
    pub fn v6_group(&self, name: &str) -> Option<&V6Group> {
        self.running.v6_groups.iter().find(|g| g.name == name)
    }

    /// IOS XE (16.x, 17.x: `16.09.03`, `17.9.4a`) rather than classic IOS:
    /// only IOS XE has `object-group v6-network`.
    pub fn is_ios_xe(&self) -> bool {
        is_ios_xe(&self.version)
    }
}

/// Whether a version string is IOS XE's (16.x or 17.x).
pub fn is_ios_xe(version: &str) -> bool {
    version.starts_with("16.") || version.starts_with("17.")
}

/// What `show running-config` would print for the parts the simulator models.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub groups: Vec<ObjectGroup>,
    #[serde(default)]
    pub acls: Vec<Acl>,
    /// `object-group v6-network` groups (IOS XE). Never empty: IOS XE deletes
    /// a v6 group when its last entry goes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub v6_groups: Vec<V6Group>,
    /// `ipv6 access-list` ACLs; lines as typed, e.g. `deny ipv6 object-group X any`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub v6_acls: Vec<Acl>,
}

/// Counters the transport keeps so tests can see how sessions ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionStats {
    pub logins: u64,
    /// Login attempts that carried a credential (a password, a
    /// keyboard-interactive answer), accepted or not.
    #[serde(default)]
    pub auth_attempts: u64,
    /// Enable secrets typed at a `Password:` prompt, accepted or not.
    #[serde(default)]
    pub enable_attempts: u64,
    pub config_lines: u64,
    /// Sessions that closed while still in a configuration mode.
    pub left_in_config_mode: u64,
    /// Bytes the `flood_after_lines` fault got out to the client (what the
    /// client's SSH window let through).
    #[serde(default)]
    pub flood_bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectGroup {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Entries in the order IOS shows them.
    #[serde(default)]
    pub entries: IndexSet<Entry>,
}

/// A network object-group entry, written and parsed in IOS syntax.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entry {
    Host(Ipv4Addr),
    /// Address and a real (not wildcard) mask.
    Network(Ipv4Addr, Ipv4Addr),
    Range(Ipv4Addr, Ipv4Addr),
    GroupObject(String),
    Any,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Host(a) => write!(f, "host {a}"),
            Entry::Network(a, m) => write!(f, "{a} {m}"),
            Entry::Range(a, b) => write!(f, "range {a} {b}"),
            Entry::GroupObject(g) => write!(f, "group-object {g}"),
            Entry::Any => f.write_str("any"),
        }
    }
}

impl FromStr for Entry {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let ip = |w: &str| {
            w.parse::<Ipv4Addr>()
                .map_err(|_| format!("bad address {w:?} in {s:?}"))
        };
        match words.as_slice() {
            ["host", a] => Ok(Entry::Host(ip(a)?)),
            ["range", a, b] => Ok(Entry::Range(ip(a)?, ip(b)?)),
            ["group-object", g] => Ok(Entry::GroupObject((*g).to_string())),
            ["any"] => Ok(Entry::Any),
            [a, m] => Ok(Entry::Network(ip(a)?, ip(m)?)),
            _ => Err(format!("not a network object-group entry: {s:?}")),
        }
    }
}

impl Serialize for Entry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V6Group {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Entries in the order IOS shows them.
    #[serde(default)]
    pub entries: IndexSet<V6Entry>,
}

/// A v6-network object-group entry. Kept as addresses, so `2001:db8::1` and
/// `2001:DB8:0::1` are one entry; shown in upper case, compressed (as the
/// issue's IOS XE guides show them). A prefix keeps host bits as typed, as the
/// ntc capture's `2001:db8:111:1::/48` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum V6Entry {
    Host(Ipv6Addr),
    Prefix(Ipv6Net),
}

impl fmt::Display for V6Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V6Entry::Host(a) => write!(f, "host {}", a.to_string().to_uppercase()),
            V6Entry::Prefix(p) => f.write_str(&p.to_string().to_uppercase()),
        }
    }
}

impl FromStr for V6Entry {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        match words.as_slice() {
            ["host", a] => a
                .parse()
                .map(V6Entry::Host)
                .map_err(|_| format!("bad IPv6 address {a:?} in {s:?}")),
            [p] => p
                .parse()
                .map(V6Entry::Prefix)
                .map_err(|_| format!("bad IPv6 prefix {p:?} in {s:?}")),
            _ => Err(format!("not a v6-network object-group entry: {s:?}")),
        }
    }
}

impl Serialize for V6Entry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for V6Entry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A named extended ACL; lines as typed, e.g. `deny ip object-group X any`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acl {
    pub name: String,
    #[serde(default)]
    pub lines: Vec<String>,
}
