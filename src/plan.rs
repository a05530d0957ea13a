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

use crate::domain::Family;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// One change to a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Add(IpNet),
    Remove(IpNet),
}

/// The difference between a group's managed entries and the desired set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupDiff {
    pub add: Vec<IpNet>,
    pub remove: Vec<IpNet>,
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
pub fn diff(current: &BTreeSet<IpNet>, desired: &BTreeSet<IpNet>) -> GroupDiff {
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

/// The lines one plan changes in one object-group: each line once, adds
/// first, in the order they are pushed. Identified by its `sha256:` digest
/// (the key of the report's `change_sets`), which every device with the same
/// change to the same group shares.
// Immutable once built (the digest covers the fields); a run shares one
// `Arc` per digest through [`ChangeSets`], so 1,000 devices with the same
// change hold one copy. The lines are IOS entries as
// `crate::device::ios::entry_line` writes them; a removal is pushed as
// `no ` + the entry (`crate::device::sync::change_line`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ChangeSet {
    /// The object-group the lines go to.
    #[schemars(length(min = 1))]
    group: String,
    /// `ipv6` for an `object-group v6-network` group; absent for an IPv4
    /// one, written as before IPv6 groups existed, so the saved plans and
    /// reports of an older tsfleet read (and digest) the same.
    #[serde(default, skip_serializing_if = "Family::is_ipv4")]
    family: Family,
    /// Entries added (`host 198.51.100.7`, `10.0.0.0 255.0.0.0`), in the
    /// order pushed; all go in before any removal.
    add: Vec<String>,
    /// Entries removed, in the order pushed (each as `no ` + the entry).
    remove: Vec<String>,
    #[serde(skip)]
    digest: String,
}

/// What a report file holds of a [`ChangeSet`]; the digest is recomputed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeSetFields {
    group: String,
    #[serde(default)]
    family: Family,
    add: Vec<String>,
    remove: Vec<String>,
}

impl<'de> Deserialize<'de> for ChangeSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ChangeSet, D::Error> {
        let f = ChangeSetFields::deserialize(d)?;
        Ok(ChangeSet::new(f.group, f.family, f.add, f.remove))
    }
}

impl ChangeSet {
    /// A group's change: `add` and `remove` are IOS entries in push order.
    pub fn new(
        group: impl Into<String>,
        family: Family,
        add: Vec<String>,
        remove: Vec<String>,
    ) -> ChangeSet {
        let mut set = ChangeSet {
            group: group.into(),
            family,
            add,
            remove,
            digest: String::new(),
        };
        set.digest = set.compute_digest();
        set
    }

    /// `sha256:` and the hex sha256 of the canonical text: the
    /// configuration-mode lines this change is, one per line, each ending
    /// in a newline (`object-group network G` or `object-group v6-network
    /// G`, the adds, `no ` + each removal), so the same lines in another
    /// order are another set.
    fn compute_digest(&self) -> String {
        let header = format!("{} {}\n", self.family.object_group(), self.group);
        let adds = self.add.iter().map(|l| format!("{l}\n"));
        let removes = self.remove.iter().map(|l| format!("no {l}\n"));
        crate::domain::sha256_digest(std::iter::once(header).chain(adds).chain(removes))
    }

    pub fn digest(&self) -> &str {
        &self.digest
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn add(&self) -> &[String] {
        &self.add
    }

    pub fn remove(&self) -> &[String] {
        &self.remove
    }
}

/// A run's change sets, one `Arc` per digest: devices that plan the same
/// change to the same group share it. Clones share the map; it lives as
/// long as the run's jobs.
#[derive(Clone, Debug, Default)]
pub struct ChangeSets(Arc<Mutex<HashMap<String, Arc<ChangeSet>>>>);

impl ChangeSets {
    /// The run's copy of `set` (`set` itself the first time its digest is seen).
    pub fn intern(&self, set: ChangeSet) -> Arc<ChangeSet> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(set.digest.clone())
            .or_insert_with(|| Arc::new(set))
            .clone()
    }

    /// [`ChangeSets::intern`] of a borrowed set (a saved plan's): copied only
    /// the first time its digest is seen, not once per device.
    pub fn intern_ref(&self, set: &ChangeSet) -> Arc<ChangeSet> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(set.digest.clone())
            .or_insert_with(|| Arc::new(set.clone()))
            .clone()
    }

    /// The run's copy of a set already shared elsewhere (reports read back
    /// and merged): `set` itself the first time its digest is seen.
    pub fn share(&self, set: &Arc<ChangeSet>) -> Arc<ChangeSet> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(set.digest.clone())
            .or_insert_with(|| set.clone())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(v: &[&str]) -> BTreeSet<IpNet> {
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

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_change_set_digest_is_stable_and_follows_the_push_order() {
        let set = ChangeSet::new(
            "threatstop-block",
            Family::Ipv4,
            lines(&["host 198.51.100.7"]),
            lines(&["10.0.0.0 255.0.0.0"]),
        );
        // sha256 of "object-group network threatstop-block\nhost 198.51.100.7\nno 10.0.0.0 255.0.0.0\n"
        // (`printf ... | sha256sum`): the digest is a published key, it must not drift.
        assert_eq!(
            set.digest(),
            "sha256:51e0d92f835f517c2b7ea73b3b9f38fe3c31f38bfda3823621683908410caf93"
        );
        let again = ChangeSet::new(
            "threatstop-block",
            Family::Ipv4,
            lines(&["host 198.51.100.7"]),
            lines(&["10.0.0.0 255.0.0.0"]),
        );
        assert_eq!(again.digest(), set.digest());
        let two = lines(&["host 192.0.2.1", "host 192.0.2.2"]);
        let swapped = lines(&["host 192.0.2.2", "host 192.0.2.1"]);
        assert_ne!(
            ChangeSet::new("g", Family::Ipv4, two.clone(), vec![]).digest(),
            ChangeSet::new("g", Family::Ipv4, swapped, vec![]).digest(),
            "another push order is another change"
        );
        assert_ne!(
            ChangeSet::new("g", Family::Ipv4, two.clone(), vec![]).digest(),
            ChangeSet::new("g", Family::Ipv4, vec![], two.clone()).digest(),
            "an add is not a removal"
        );
        assert_ne!(
            ChangeSet::new("g", Family::Ipv4, two.clone(), vec![]).digest(),
            ChangeSet::new("h", Family::Ipv4, two.clone(), vec![]).digest(),
            "the group is part of the change"
        );
        assert_ne!(
            ChangeSet::new("g", Family::Ipv4, two.clone(), vec![]).digest(),
            ChangeSet::new("g", Family::Ipv6, two, vec![]).digest(),
            "the family is part of the change (`object-group v6-network g`)"
        );
    }

    #[test]
    fn a_change_set_read_back_has_its_digest_and_devices_share_one_copy() {
        let set = ChangeSet::new("g", Family::Ipv4, lines(&["host 192.0.2.1"]), vec![]);
        let json = serde_json::to_value(&set).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"group": "g", "add": ["host 192.0.2.1"], "remove": []}),
            "an IPv4 set is written as before IPv6 groups"
        );
        let v6 = ChangeSet::new("g6", Family::Ipv6, lines(&["host 2001:DB8::1"]), vec![]);
        let json6 = serde_json::to_value(&v6).unwrap();
        assert_eq!(json6["family"], "ipv6");
        let back6: ChangeSet = serde_json::from_value(json6).unwrap();
        assert_eq!(
            (back6.family(), back6.digest()),
            (Family::Ipv6, v6.digest())
        );
        let old: ChangeSet = serde_json::from_value(
            serde_json::json!({"group": "g", "add": ["host 192.0.2.1"], "remove": []}),
        )
        .unwrap();
        assert_eq!(old, set, "a set written before IPv6 groups is IPv4");
        let back: ChangeSet = serde_json::from_value(json).unwrap();
        assert_eq!(back, set);
        let run = ChangeSets::default();
        let first = run.intern(set.clone());
        let second = run.clone().intern(back);
        assert!(Arc::ptr_eq(&first, &second));
        let other = run.intern(ChangeSet::new(
            "g",
            Family::Ipv4,
            vec![],
            lines(&["host 192.0.2.1"]),
        ));
        assert!(!Arc::ptr_eq(&first, &other));
        // A borrowed set (a saved plan's) joins the same copy.
        assert!(Arc::ptr_eq(&run.intern_ref(&set), &first));
    }

    fn nets() -> impl Strategy<Value = BTreeSet<IpNet>> {
        proptest::collection::btree_set(
            (0u32..64).prop_map(|i| {
                IpNet::new(std::net::Ipv4Addr::from(0xC000_0200 + i).into(), 32).unwrap()
            }),
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
