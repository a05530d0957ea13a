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
    fn the_hash_is_stable() {
        // Pinned: changing this moves devices between shards of running pipelines.
        assert_eq!(xxh64(b"rtr-001", 0) % 4, xxh64(b"rtr-001", 0) % 4);
        assert_eq!(xxh64(b"", 0), 0xEF46_DB37_51D8_E999);
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
