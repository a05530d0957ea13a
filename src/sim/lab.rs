//! The lists a lab publishes: `tsfleet sim` and `tsfleet demo` generate
//! their block list here from a size, a seed and a churn share. The same
//! seed gives the same list; a churn of P replaces about P % of its entries
//! with others, so a second run shows a real diff to plan and apply.
//!
//! Entries are unique by construction: entry `i` comes from a bijection of
//! `i` (odd multiplier modulo a power of two), kept entries in one /8 and
//! churned ones in the next. Every 50th entry is a /24 (from its own
//! bijection and /8s), the rest are hosts. None falls in 127.0.0.0/8 or the
//! documentation ranges the lab and the demo protect.
//!
//! The block list also carries `entries_v6` IPv6 items, after the IPv4 ones
//! (which do not depend on them), all in the documentation prefix
//! 2001:db8::/32, built the same way: hosts (/128) in 2001:db8:a000::/48
//! (kept) or 2001:db8:a001::/48 (churned), every 10th a /48 in
//! 2001:db8:4000::/36 (kept) or 2001:db8:5000::/36 (churned), with their
//! own churn draw. 2001:db8::/48 is left free for what the lab protects.

use super::list_server::PublishedList;
use crate::inventory::Policy;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{Ipv4Addr, Ipv6Addr};

/// The lab's policy name in the inventory `tsfleet sim` writes and in `inventory/lab.yaml`.
pub const POLICY: &str = "lab";
/// The lab's block list (`inventory/lab.yaml` names it).
pub const BLOCK_LIST: &str = "lab-block.threatstop.local";
/// The lab's allow list (`inventory/lab.yaml` names it).
pub const ALLOW_LIST: &str = "lab-allow.threatstop.local";

/// One entry in this many is a /24, the others hosts.
const NETWORK_EVERY: u32 = 50;
/// First octets: hosts kept / churned, networks kept / churned.
const HOSTS: [u32; 2] = [203, 204];
const NETWORKS: [u32; 2] = [185, 186];
/// Keeps the churn draw apart from the entries' own permutation.
const CHURN_SALT: u64 = 0xC4A2_0000_0000_0000;

/// IPv6 items in the block list unless told otherwise (`tsfleet sim
/// --entries-v6`, `tsfleet demo`).
pub const DEFAULT_ENTRIES_V6: u32 = 100;
/// Most IPv6 items: the /48s (one in [`NETWORK_EVERY_V6`]) have 12 bits.
pub const MAX_ENTRIES_V6: u32 = 40_000;
/// One IPv6 entry in this many is a /48, the others hosts.
const NETWORK_EVERY_V6: u32 = 10;
/// Third group of the IPv6 address: hosts kept / churned, networks kept /
/// churned (networks take its low 12 bits).
const HOSTS_V6: [u16; 2] = [0xa000, 0xa001];
const NETWORKS_V6: [u16; 2] = [0x4000, 0x5000];
/// The IPv6 churn draw, apart from the IPv4 one.
const CHURN_SALT_V6: u64 = 0x6C4A_2000_0000_0000;

/// What the block list holds: how many entries (IPv4, and IPv6 at most
/// [`MAX_ENTRIES_V6`]), from which seed, and the share of them (percent)
/// replaced by others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockSpec {
    pub entries: u32,
    pub entries_v6: u32,
    pub seed: u64,
    pub churn: u8,
}

/// The block list's prefixes: `spec.entries` of them, all distinct.
pub fn block_prefixes(spec: BlockSpec) -> Vec<Ipv4Net> {
    (0..spec.entries)
        .map(|i| {
            // Whether entry i is churned depends on the seed and i only, so a
            // larger churn replaces a superset of what a smaller one did.
            let draw = mix(spec.seed ^ CHURN_SALT ^ u64::from(i)) % 100;
            let churned = usize::from(draw < u64::from(spec.churn));
            if i % NETWORK_EVERY == 0 {
                let v = permute(spec.seed ^ 0x5A, u64::from(i / NETWORK_EVERY), 16);
                let addr = Ipv4Addr::from((NETWORKS[churned] << 24) | (v << 8));
                Ipv4Net::new(addr, 24).expect("a /24 is valid")
            } else {
                let v = permute(spec.seed, u64::from(i), 24);
                Ipv4Net::new(Ipv4Addr::from((HOSTS[churned] << 24) | v), 32)
                    .expect("a /32 is valid")
            }
        })
        .collect()
}

/// The block list's IPv6 prefixes: `spec.entries_v6` of them (at most
/// [`MAX_ENTRIES_V6`]), all distinct.
pub fn block_prefixes_v6(spec: BlockSpec) -> Vec<Ipv6Net> {
    (0..spec.entries_v6.min(MAX_ENTRIES_V6))
        .map(|i| {
            let draw = mix(spec.seed ^ CHURN_SALT_V6 ^ u64::from(i)) % 100;
            let churned = usize::from(draw < u64::from(spec.churn));
            let doc = (0x2001_u128 << 112) | (0x0db8_u128 << 96);
            if i % NETWORK_EVERY_V6 == 0 {
                let v = permute(spec.seed ^ 0x6A, u64::from(i / NETWORK_EVERY_V6), 12);
                let third = u128::from(NETWORKS_V6[churned] | v as u16);
                Ipv6Net::new(Ipv6Addr::from(doc | third << 80), 48).expect("a /48 is valid")
            } else {
                let v = permute(spec.seed ^ 0x6B, u64::from(i), 24);
                let third = u128::from(HOSTS_V6[churned]);
                Ipv6Net::new(Ipv6Addr::from(doc | third << 80 | u128::from(v)), 128)
                    .expect("a /128 is valid")
            }
        })
        .collect()
}

/// The allow list: two IPv4 hosts and one IPv6 host.
pub fn allow_prefixes() -> Vec<IpNet> {
    ["198.51.100.53/32", "198.51.100.54/32", "2001:db8::53/128"]
        .iter()
        .map(|p| p.parse().expect("valid"))
        .collect()
}

/// The block list `block` of `spec` (IPv4, then IPv6) and the allow list
/// `allow`, to publish.
pub fn lists(block: &str, allow: &str, spec: BlockSpec) -> Vec<PublishedList> {
    let v4 = block_prefixes(spec).into_iter().map(IpNet::from);
    let v6 = block_prefixes_v6(spec).into_iter().map(IpNet::from);
    vec![
        PublishedList {
            name: block.into(),
            prefixes: v4.chain(v6).collect(),
            excluded: Vec::new(),
        },
        PublishedList {
            name: allow.into(),
            prefixes: allow_prefixes(),
            excluded: Vec::new(),
        },
    ]
}

/// The lab's policy: its two lists; the loopback addresses of both
/// families protected.
pub fn policy() -> Policy {
    Policy {
        block: vec![BLOCK_LIST.into()],
        allow: vec![ALLOW_LIST.into()],
        protect: vec![
            "127.0.0.0/8".parse().expect("valid"),
            "::1/128".parse().expect("valid"),
        ],
        ..Policy::default()
    }
}

/// A bijection of the low `bits` bits of `x`, chosen by `seed`.
fn permute(seed: u64, x: u64, bits: u32) -> u32 {
    let mask = (1u64 << bits) - 1;
    let a = mix(seed) | 1;
    let b = mix(seed.wrapping_add(1));
    let mut v = x.wrapping_mul(a).wrapping_add(b) & mask;
    // An xorshift within the mask is a bijection too; it breaks the stride.
    v ^= v >> (bits / 2);
    (v.wrapping_mul(a) & mask) as u32
}

/// SplitMix64's finaliser: a well-spread 64-bit hash.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn spec(entries: u32, seed: u64, churn: u8) -> BlockSpec {
        BlockSpec {
            entries,
            entries_v6: 0,
            seed,
            churn,
        }
    }

    fn spec_v6(entries_v6: u32, seed: u64, churn: u8) -> BlockSpec {
        BlockSpec {
            entries_v6,
            ..spec(0, seed, churn)
        }
    }

    #[test]
    fn entries_are_distinct_and_the_same_for_the_same_seed() {
        let list = block_prefixes(spec(20_000, 7, 0));
        assert_eq!(list.len(), 20_000);
        assert_eq!(list.iter().collect::<HashSet<_>>().len(), 20_000);
        assert_eq!(list, block_prefixes(spec(20_000, 7, 0)));
        assert_eq!(list.iter().filter(|p| p.prefix_len() == 24).count(), 400);
        assert!(list.iter().all(|p| p.trunc() == *p), "networks are aligned");
        let protected: [Ipv4Net; 3] = [
            "127.0.0.0/8".parse().unwrap(),
            "192.0.2.0/24".parse().unwrap(),
            "198.51.100.0/24".parse().unwrap(),
        ];
        assert!(
            list.iter()
                .all(|p| protected.iter().all(|q| !q.contains(p) && !p.contains(q)))
        );
    }

    /// The block list's entries of one family: (entries, seed, churn) → list.
    type Generator = fn(u32, u64, u8) -> Vec<IpNet>;

    const FAMILIES: [Generator; 2] = [
        |n, seed, churn| to_ip(block_prefixes(spec(n, seed, churn))),
        |n, seed, churn| to_ip(block_prefixes_v6(spec_v6(n, seed, churn))),
    ];

    fn to_ip<N: Into<IpNet>>(list: Vec<N>) -> Vec<IpNet> {
        list.into_iter().map(Into::into).collect()
    }

    #[test]
    fn another_seed_gives_another_list() {
        for list in FAMILIES {
            let a: HashSet<_> = list(1_000, 1, 0).into_iter().collect();
            let b: HashSet<_> = list(1_000, 2, 0).into_iter().collect();
            let common = a.intersection(&b).count();
            assert!(common < 50, "{common}");
        }
    }

    #[test]
    fn churn_replaces_about_that_share_and_keeps_the_size() {
        for list in FAMILIES {
            let before: HashSet<_> = list(10_000, 3, 0).into_iter().collect();
            let after = list(10_000, 3, 10);
            assert_eq!(after.iter().collect::<HashSet<_>>().len(), 10_000);
            let replaced = after.iter().filter(|p| !before.contains(*p)).count();
            assert!(
                (800..=1_200).contains(&replaced),
                "{replaced} of 10,000 replaced"
            );
            let all = list(10_000, 3, 100);
            assert!(all.iter().all(|p| !before.contains(p)));
        }
    }

    #[test]
    fn ipv6_entries_are_distinct_documentation_prefixes_the_same_for_the_same_seed() {
        let list = block_prefixes_v6(spec_v6(MAX_ENTRIES_V6, 7, 0));
        assert_eq!(list.len(), 40_000);
        assert_eq!(list.iter().collect::<HashSet<_>>().len(), 40_000);
        assert_eq!(list, block_prefixes_v6(spec_v6(MAX_ENTRIES_V6, 7, 0)));
        assert_eq!(list.iter().filter(|p| p.prefix_len() == 48).count(), 4_000);
        assert!(list.iter().all(|p| p.trunc() == *p), "networks are aligned");
        let doc: Ipv6Net = "2001:db8::/32".parse().unwrap();
        let free: Ipv6Net = "2001:db8::/48".parse().unwrap();
        assert!(list.iter().all(|p| doc.contains(p) && !free.contains(p)));
        let allow = allow_prefixes();
        assert!(
            list.iter()
                .all(|p| !allow.iter().any(|a| IpNet::from(*p).contains(a))),
            "the allow list is not blocked"
        );
        assert_eq!(
            block_prefixes_v6(spec_v6(MAX_ENTRIES_V6 + 1, 7, 0)).len(),
            40_000,
            "capped"
        );
    }

    #[test]
    fn the_ipv4_part_of_the_block_list_does_not_depend_on_the_ipv6_entries() {
        let with = |entries_v6| {
            lists(
                BLOCK_LIST,
                ALLOW_LIST,
                BlockSpec {
                    entries_v6,
                    ..spec(1_000, 1, 5)
                },
            )
        };
        let (none, some) = (with(0), with(100));
        let v4: Vec<IpNet> = block_prefixes(spec(1_000, 1, 5))
            .into_iter()
            .map(IpNet::from)
            .collect();
        assert_eq!(none[0].prefixes, v4);
        assert_eq!(some[0].prefixes[..1_000], v4[..], "IPv4 first, unchanged");
        assert_eq!(some[0].prefixes.len(), 1_100);
        assert!(
            some[0].prefixes[1_000..]
                .iter()
                .all(|p| matches!(p, IpNet::V6(_)))
        );
        // The lab's default list is what it was before IPv6 entries existed.
        let first: Vec<String> = (block_prefixes(spec(1_000, 1, 0)).iter().take(3))
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            first,
            ["185.234.72.0/24", "203.236.121.20/32", "203.1.98.81/32"]
        );
    }
}
