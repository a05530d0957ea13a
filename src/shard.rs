//! `--shard i/n`: which devices one of n parallel runs handles (the value
//! itself is [`Shard`], parsed in `domain`). A device belongs to shard i when
//! `xxh64(name, seed 0) % n == i - 1` — a function of the device's name
//! alone, so it is stable across releases and inventory edits (adding or
//! removing other devices never moves a device), as nextest partitions tests.

pub use crate::domain::Shard;
use xxhash_rust::xxh64::xxh64;

/// Parse `i/n` (1 ≤ i ≤ n): [`Shard`]'s `FromStr`, as a function for clap's
/// `value_parser`.
pub fn parse(text: &str) -> Result<Shard, String> {
    text.parse()
}

/// Does the device named `name` belong to `shard`?
pub fn contains(shard: Shard, name: &str) -> bool {
    xxh64(name.as_bytes(), 0) % u64::from(shard.count) == u64::from(shard.index - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(parse("2/8"), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/4", "5/4", "1/0", "x/2", "3", ""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    /// Pinned: a change here moves devices between the shards of running
    /// pipelines. Each name's shard for `--shard i/n` with n = 2, 3, 4, 8 and 16.
    const PINNED: [(&str, [u32; 5]); 8] = [
        ("rtr-001", [1, 2, 3, 3, 3]),
        ("rtr-002", [1, 1, 1, 1, 1]),
        ("rtr-003", [1, 1, 3, 3, 3]),
        ("rtr-010", [2, 2, 2, 2, 10]),
        ("hq-core-1", [2, 3, 4, 8, 8]),
        ("br-lyon", [1, 2, 3, 3, 11]),
        ("edge-42", [1, 3, 1, 1, 9]),
        // Longer than one 32-byte xxh64 stripe.
        ("a-really-long-device-name-over-32-bytes", [2, 1, 4, 4, 4]),
    ];

    #[test]
    fn the_shards_of_known_names_are_stable() {
        assert_eq!(xxh64(b"", 0), 0xEF46_DB37_51D8_E999);
        for (name, indexes) in PINNED {
            for (count, index) in [2, 3, 4, 8, 16].into_iter().zip(indexes) {
                let owner = (1..=count)
                    .find(|i| contains(Shard { index: *i, count }, name))
                    .unwrap();
                assert_eq!(owner, index, "{name} in --shard ?/{count}");
            }
        }
    }

    proptest! {
        /// Every device is in exactly one of the n shards, for n = 1..16.
        #[test]
        fn shards_partition_any_inventory(names in proptest::collection::hash_set("[a-z][a-z0-9-]{0,20}", 0..200), n in 1u32..=16) {
            for name in &names {
                let owners = (1..=n).filter(|i| contains(Shard { index: *i, count: n }, name)).count();
                prop_assert_eq!(owners, 1);
            }
        }
    }
}
