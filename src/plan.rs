//! The diff: what to add to and remove from one object-group so it holds
//! exactly the desired prefixes, and in which order. Pure; the device session
//! turns the changes into IOS lines.
//!
//! Order keeps the router at least as protected as before: every new entry
//! goes in before any old one comes out, unless a size limit forces room to be
//! made first; the group is never emptied.

use ipnet::Ipv4Net;
use std::collections::BTreeSet;

/// One change to a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Add(Ipv4Net),
    Remove(Ipv4Net),
}

/// The difference between a group's managed entries and the desired set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupDiff {
    pub add: Vec<Ipv4Net>,
    pub remove: Vec<Ipv4Net>,
    /// Entries present and desired.
    pub kept: usize,
}

impl GroupDiff {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "the desired list is empty: refusing to empty the group (it would remove all {0} entries)"
    )]
    WouldEmpty(usize),
    #[error("the group would need {needed} entries but may hold at most {limit}")]
    OverLimit { needed: usize, limit: usize },
    #[error("the group is full (at most {limit} entries) and making room would empty it")]
    NoRoom { limit: usize },
}

/// Adds and removes that turn `current` into `desired`.
pub fn diff(current: &BTreeSet<Ipv4Net>, desired: &BTreeSet<Ipv4Net>) -> GroupDiff {
    GroupDiff {
        add: desired.difference(current).copied().collect(),
        remove: current.difference(desired).copied().collect(),
        kept: current.intersection(desired).count(),
    }
}

/// Order the changes. `size` is the group's entry count now (unmanaged
/// entries included); `limit` the most entries it may hold at any moment.
pub fn order(
    diff: &GroupDiff,
    size: usize,
    limit: Option<usize>,
) -> Result<Vec<Change>, PlanError> {
    let managed_now = diff.kept + diff.remove.len();
    if diff.kept + diff.add.len() == 0 && managed_now > 0 {
        return Err(PlanError::WouldEmpty(managed_now));
    }
    let final_size = size + diff.add.len() - diff.remove.len();
    if let Some(limit) = limit
        && final_size > limit
    {
        return Err(PlanError::OverLimit {
            needed: final_size,
            limit,
        });
    }
    let mut changes = Vec::with_capacity(diff.add.len() + diff.remove.len());
    let (mut adds, mut removes) = (diff.add.iter(), diff.remove.iter());
    let mut size = size;
    let mut next_add = adds.next();
    loop {
        let room = limit.is_none_or(|l| size < l);
        match (next_add, room) {
            (Some(net), true) => {
                changes.push(Change::Add(*net));
                size += 1;
                next_add = adds.next();
            }
            // No room: make some, unless that would leave the group empty.
            (Some(_), false) if size <= 1 => {
                return Err(PlanError::NoRoom {
                    limit: limit.unwrap_or(size),
                });
            }
            _ => match removes.next() {
                Some(net) => {
                    changes.push(Change::Remove(*net));
                    size -= 1;
                }
                // Unreachable while final_size <= limit, but never loop forever.
                None if next_add.is_some() => {
                    return Err(PlanError::OverLimit {
                        needed: final_size,
                        limit: limit.unwrap_or(size),
                    });
                }
                None => break,
            },
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(v: &[&str]) -> BTreeSet<Ipv4Net> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn equal_sets_give_no_changes() {
        let s = set(&["10.0.0.0/8", "192.0.2.1/32"]);
        let d = diff(&s, &s);
        assert!(d.is_empty());
        assert_eq!(d.kept, 2);
        assert_eq!(order(&d, 2, None).unwrap(), []);
    }

    #[test]
    fn adds_come_before_removes() {
        let d = diff(
            &set(&["192.0.2.1/32", "192.0.2.2/32"]),
            &set(&["192.0.2.2/32", "192.0.2.3/32"]),
        );
        let changes = order(&d, 2, None).unwrap();
        assert_eq!(
            changes,
            [
                Change::Add("192.0.2.3/32".parse().unwrap()),
                Change::Remove("192.0.2.1/32".parse().unwrap())
            ]
        );
    }

    #[test]
    fn a_full_group_makes_room_first_and_is_never_emptied() {
        let d = diff(
            &set(&["192.0.2.1/32", "192.0.2.2/32"]),
            &set(&["198.51.100.1/32", "198.51.100.2/32"]),
        );
        let changes = order(&d, 2, Some(2)).unwrap();
        assert!(matches!(changes[0], Change::Remove(_)));
        assert!(matches!(changes[1], Change::Add(_)));
        assert_eq!(
            order(&diff(&set(&["192.0.2.1/32"]), &set(&[])), 1, None),
            Err(PlanError::WouldEmpty(1))
        );
        assert_eq!(
            order(
                &diff(&set(&[]), &set(&["192.0.2.1/32", "192.0.2.2/32"])),
                0,
                Some(1)
            ),
            Err(PlanError::OverLimit {
                needed: 2,
                limit: 1
            })
        );
    }

    #[test]
    fn a_full_one_entry_group_cannot_be_replaced_without_emptying_it() {
        // Found by the property test below: limit 1, {a} → {b}.
        let d = diff(&set(&["192.0.2.0/32"]), &set(&["192.0.2.1/32"]));
        assert_eq!(order(&d, 1, Some(1)), Err(PlanError::NoRoom { limit: 1 }));
        assert!(order(&d, 1, Some(2)).is_ok());
    }

    fn nets() -> impl Strategy<Value = BTreeSet<Ipv4Net>> {
        proptest::collection::btree_set(
            (0u32..64).prop_map(|i| Ipv4Net::new((0xC000_0200 + i).into(), 32).unwrap()),
            0..40,
        )
    }

    proptest! {
        /// Applying the ordered changes yields the desired set; the group never
        /// exceeds the limit and never becomes empty on the way.
        #[test]
        fn ordered_changes_reach_desired_within_limits(current in nets(), desired in nets(), slack in 0usize..5) {
            let d = diff(&current, &desired);
            let limit = current.len().max(desired.len()) + slack;
            match order(&d, current.len(), Some(limit)) {
                Ok(changes) => {
                    let mut group = current.clone();
                    for c in changes {
                        match c {
                            Change::Add(n) => prop_assert!(group.insert(n)),
                            Change::Remove(n) => prop_assert!(group.remove(&n)),
                        }
                        prop_assert!(group.len() <= limit);
                        prop_assert!(!group.is_empty());
                    }
                    prop_assert_eq!(group, desired);
                }
                Err(PlanError::WouldEmpty(_)) => prop_assert!(desired.is_empty() && !current.is_empty()),
                // Replacing the only entry of a one-entry group cannot keep it non-empty.
                Err(PlanError::NoRoom { .. }) => prop_assert_eq!(limit, 1),
                Err(e) => prop_assert!(false, "{e}"),
            }
        }
    }
}
