//! The diff: what to add to and remove from one object-group so it holds
//! exactly the desired prefixes, and in which order. Pure; the device session
//! turns the changes into IOS lines.
//!
//! Order keeps the router at least as protected as before, whatever
//! happens part way: every new entry goes in before any old one comes out, so
//! until the adds are all in the group holds the whole old list, and from
//! then on the whole new list (see `crate::device::sync`, which sends the
//! removals only once every add was acknowledged). The group is never
//! emptied. Nothing makes room first: a device that cannot hold the old and
//! new lists together refuses adds, and then keeps the old list.

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
}

/// Adds and removes that turn `current` into `desired`.
pub fn diff(current: &BTreeSet<Ipv4Net>, desired: &BTreeSet<Ipv4Net>) -> GroupDiff {
    GroupDiff {
        add: desired.difference(current).copied().collect(),
        remove: current.difference(desired).copied().collect(),
        kept: current.intersection(desired).count(),
    }
}

/// Order the changes: every add, then every removal.
pub fn order(diff: &GroupDiff) -> Result<Vec<Change>, PlanError> {
    let managed_now = diff.kept + diff.remove.len();
    if diff.kept + diff.add.len() == 0 && managed_now > 0 {
        return Err(PlanError::WouldEmpty(managed_now));
    }
    let adds = diff.add.iter().copied().map(Change::Add);
    let removes = diff.remove.iter().copied().map(Change::Remove);
    Ok(adds.chain(removes).collect())
}

/// What to send now of ordered `changes`: the adds while any is left, the
/// removals only when none is. The caller sends the step, waits until every
/// line of it is acknowledged (or reads the group back), and asks again.
pub fn next_step(changes: &[Change]) -> &[Change] {
    let adds = changes
        .iter()
        .take_while(|c| matches!(c, Change::Add(_)))
        .count();
    if adds > 0 { &changes[..adds] } else { changes }
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
        assert_eq!(order(&d).unwrap(), []);
        assert_eq!(next_step(&[]), []);
    }

    #[test]
    fn adds_come_before_removes_and_are_a_step_of_their_own() {
        let d = diff(
            &set(&["192.0.2.1/32", "192.0.2.2/32"]),
            &set(&["192.0.2.2/32", "192.0.2.3/32"]),
        );
        let changes = order(&d).unwrap();
        let add = Change::Add("192.0.2.3/32".parse().unwrap());
        let remove = Change::Remove("192.0.2.1/32".parse().unwrap());
        assert_eq!(changes, [add, remove]);
        assert_eq!(next_step(&changes), [add]);
        assert_eq!(next_step(&changes[1..]), [remove]);
    }

    #[test]
    fn the_group_is_never_emptied() {
        assert_eq!(
            order(&diff(&set(&["192.0.2.1/32"]), &set(&[]))),
            Err(PlanError::WouldEmpty(1))
        );
        // An empty group filled, and a group replaced whole, are fine.
        assert!(order(&diff(&set(&[]), &set(&["192.0.2.1/32"]))).is_ok());
        assert!(order(&diff(&set(&["192.0.2.0/32"]), &set(&["192.0.2.1/32"]))).is_ok());
    }

    fn nets() -> impl Strategy<Value = BTreeSet<Ipv4Net>> {
        proptest::collection::btree_set(
            (0u32..64).prop_map(|i| Ipv4Net::new((0xC000_0200 + i).into(), 32).unwrap()),
            0..40,
        )
    }

    proptest! {
        /// Sent step by step, the changes yield the desired set, and a device
        /// stopped after any prefix of them holds the whole old list (while
        /// adds are left) or the whole new one (once they are in); it is
        /// never empty on the way, and the first step holds every add.
        #[test]
        fn every_prefix_holds_the_old_or_the_new_list(current in nets(), desired in nets()) {
            let d = diff(&current, &desired);
            match order(&d) {
                Ok(changes) => {
                    let first = next_step(&changes);
                    prop_assert_eq!(first.len(), if d.add.is_empty() { d.remove.len() } else { d.add.len() });
                    let mut group = current.clone();
                    for (i, c) in changes.iter().enumerate() {
                        match c {
                            Change::Add(n) => prop_assert!(group.insert(*n)),
                            Change::Remove(n) => prop_assert!(group.remove(n)),
                        }
                        let adds_done = i + 1 >= d.add.len();
                        prop_assert!(current.is_subset(&group) || (adds_done && desired.is_subset(&group)));
                        if adds_done {
                            prop_assert!(desired.is_subset(&group), "after the adds the new list is whole");
                        }
                        prop_assert!(!group.is_empty());
                    }
                    prop_assert_eq!(group, desired);
                }
                Err(PlanError::WouldEmpty(_)) => prop_assert!(desired.is_empty() && !current.is_empty()),
            }
        }
    }
}
