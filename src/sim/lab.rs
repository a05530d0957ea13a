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

use super::list_server::PublishedList;
use crate::inventory::Policy;
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

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

/// What the block list holds: how many entries, from which seed, and the
/// share of them (percent) replaced by others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockSpec {
    pub entries: u32,
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

/// The allow list: two hosts.
pub fn allow_prefixes() -> Vec<Ipv4Net> {
    vec![
        "198.51.100.53/32".parse().expect("valid"),
        "198.51.100.54/32".parse().expect("valid"),
    ]
}

/// The block list `block` of `spec` and the allow list `allow`, to publish.
pub fn lists(block: &str, allow: &str, spec: BlockSpec) -> Vec<PublishedList> {
    vec![
        PublishedList {
            name: block.into(),
            prefixes: block_prefixes(spec),
            excluded: Vec::new(),
        },
        PublishedList {
            name: allow.into(),
            prefixes: allow_prefixes(),
            excluded: Vec::new(),
        },
    ]
}

/// The lab's policy: its two lists; the loopback range protected.
pub fn policy() -> Policy {
    Policy {
        block: vec![BLOCK_LIST.into()],
        allow: vec![ALLOW_LIST.into()],
        protect: vec!["127.0.0.0/8".parse().expect("valid")],
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
            seed,
            churn,
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

    #[test]
    fn another_seed_gives_another_list() {
        let a: HashSet<_> = block_prefixes(spec(1_000, 1, 0)).into_iter().collect();
        let b: HashSet<_> = block_prefixes(spec(1_000, 2, 0)).into_iter().collect();
        assert!(
            a.intersection(&b).count() < 50,
            "{}",
            a.intersection(&b).count()
        );
    }

    #[test]
    fn churn_replaces_about_that_share_and_keeps_the_size() {
        let before: HashSet<_> = block_prefixes(spec(10_000, 3, 0)).into_iter().collect();
        let after = block_prefixes(spec(10_000, 3, 10));
        assert_eq!(after.iter().collect::<HashSet<_>>().len(), 10_000);
        let replaced = after.iter().filter(|p| !before.contains(*p)).count();
        assert!(
            (800..=1_200).contains(&replaced),
            "{replaced} of 10,000 replaced"
        );
        let all = block_prefixes(spec(10_000, 3, 100));
        assert!(all.iter().all(|p| !before.contains(p)));
    }
}
