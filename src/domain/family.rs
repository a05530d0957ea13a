//! The address family of an object-group and of the entries it holds:
//! IPv4 (`object-group network`) or IPv6 (`object-group v6-network`, IOS XE).

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    #[default]
    Ipv4,
    Ipv6,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    pub fn of(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::Ipv4,
            IpNet::V6(_) => Family::Ipv6,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }

    /// The IOS configuration command of a group of this family, before its
    /// name: `object-group network`, `object-group v6-network` (IOS XE).
    pub fn object_group(self) -> &'static str {
        match self {
            Family::Ipv4 => "object-group network",
            Family::Ipv6 => "object-group v6-network",
        }
    }

    /// The other family (IOS has one namespace for both kinds of group).
    pub fn other(self) -> Family {
        match self {
            Family::Ipv4 => Family::Ipv6,
            Family::Ipv6 => Family::Ipv4,
        }
    }

    /// What uses a group of this family: an `ip access-list` ("ACL") or an
    /// `ipv6 access-list` ("IPv6 ACL").
    pub fn acl(self) -> &'static str {
        match self {
            Family::Ipv4 => "ACL",
            Family::Ipv6 => "IPv6 ACL",
        }
    }

    /// As people write it: "IPv4", "IPv6".
    pub fn label(self) -> &'static str {
        match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        }
    }

    /// For `skip_serializing_if`: IPv4 is left out where files written
    /// before IPv6 groups must read and digest the same (saved plans).
    pub fn is_ipv4(&self) -> bool {
        *self == Family::Ipv4
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}
