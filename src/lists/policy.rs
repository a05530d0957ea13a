//! What one device carries, decided from a snapshot and the device's policy.
//! Pure functions, no I/O: `plan`/`apply` call [`build`] per device.
//!
//! Steps, in order, for the allow side then the block side:
//! 1. guards per list: a block list that came back empty, or a list that
//!    shrank by more than `max_shrink` against its [`Baseline`] (the
//!    `--previous` snapshot, else the record of the last successful apply,
//!    [`super::applied`]), is refused (the operator's `--allow-shrink`
//!    overrides both);
//! 2. canonicalise (host bits cleared, reported), drop prefixes shorter than
//!    the floor `min_prefix_len` (reported);
//! 3. carve each list's negated items out of that list's prefixes;
//! 4. union the lists of the side, dedupe (identical prefixes and prefixes
//!    inside a wider one of the same side, which add nothing);
//! 5. block only: subtract `protect:` prefixes and the addresses tsfleet
//!    itself depends on ([`OwnAddress`], found by the runner), reporting
//!    each list prefix that covered one of the latter;
//! 6. optionally aggregate (the result covers exactly the same addresses);
//! 7. cap at `max_policy_size`: allow entries first, then block entries,
//!    wider prefixes first (they cover the most), the cut reported.
//!
//! Every set operation works on address ranges, so results are exact.

use super::snapshot::{ListSnapshot, Snapshot};
use crate::inventory::Policy;
use ipnet::{IpNet, Ipv4Net, Ipv4Subnets, Ipv6Net};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

pub use crate::inventory::DEFAULT_MAX_POLICY_SIZE;
pub const DEFAULT_MIN_PREFIX_LEN: u8 = 8;
pub const DEFAULT_MAX_SHRINK: f64 = 0.5;

/// The entries one device must carry, and what was done to get there.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DevicePolicy {
    /// Sorted by address; never overlaps a `protect:` prefix nor covers an
    /// [`OwnAddress`].
    pub block: Vec<Ipv4Net>,
    /// Sorted by address.
    pub allow: Vec<Ipv4Net>,
    /// The IPv6 sides, built only for a policy some `ipv6: true` device uses.
    pub block_v6: Vec<Ipv6Net>,
    pub allow_v6: Vec<Ipv6Net>,
    pub report: PolicyReport,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyReport {
    /// Prefixes published with host bits set, and what was used instead.
    pub canonicalised: Vec<Canonicalised>,
    /// Prefixes shorter than the floor, dropped.
    pub too_broad: Vec<ListPrefix>,
    /// Negated items carved out of their list.
    pub excluded: usize,
    /// Identical or nested prefixes dropped.
    pub redundant: usize,
    /// Block prefixes cut back because they overlapped a `protect:` prefix.
    pub protected: Vec<Ipv4Net>,
    /// List prefixes that covered an address tsfleet depends on (not already
    /// under `protect:`): that address was left out of the block side.
    pub own_protected: Vec<OwnProtected>,
    /// Entries before and after aggregation, when enabled: (allow, block).
    pub aggregated: Option<((usize, usize), (usize, usize))>,
    /// Entries cut by `max_policy_size`.
    pub capped_allow: Vec<Ipv4Net>,
    pub capped_block: Vec<Ipv4Net>,
    /// Items in the snapshot that a device cannot carry (IPv6).
    pub skipped: usize,
    /// Lists that shrank beyond `max_shrink` or came back empty but were
    /// accepted because the operator allowed it.
    pub shrink_overridden: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canonicalised {
    pub list: String,
    pub published: Ipv4Net,
    pub used: Ipv4Net,
}

/// An address tsfleet itself depends on (a device's management address, a
/// DNS server, the address tsfleet connects from): never blocked, whatever
/// a list says, as if it were under the policy's `protect:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnAddress {
    pub address: Ipv4Addr,
    /// What it is, for the report: "management address of rtr-001", ….
    pub role: String,
}

/// A block list prefix that covered an [`OwnAddress`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnProtected {
    pub list: String,
    pub prefix: Ipv4Net,
    pub address: Ipv4Addr,
    pub role: String,
}

impl std::fmt::Display for OwnProtected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "block list {} has {}, which covers {} ({}): that address is not blocked",
            self.list, self.prefix, self.address, self.role
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListPrefix {
    pub list: String,
    pub prefix: Ipv4Net,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PolicyError {
    #[error("list {list} is not in the snapshot (it has: {known}); re-run `tsfleet resolve`")]
    UnknownList { list: String, known: String },
    #[error(
        "block list {list} came back empty; refusing to unblock everything (--allow-shrink accepts it)"
    )]
    EmptyList { list: String },
    #[error(
        "list {list} shrank from {previous} to {now} prefixes since {since}, more than max_shrink {max_shrink} allows; if the list is right, --allow-shrink accepts it"
    )]
    Shrink {
        list: String,
        previous: usize,
        now: usize,
        max_shrink: f64,
        /// Where `previous` comes from ([`BaselineList::since`]).
        since: String,
    },
    #[error("invalid policy setting: {0}")]
    Invalid(String),
}

/// What the shrink guard compares each list with: its prefix count when it
/// was last used, per list name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Baseline {
    pub lists: BTreeMap<String, BaselineList>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BaselineList {
    pub prefixes: usize,
    /// Where the count comes from, as a refusal says it ("the snapshot
    /// prev.json (--previous)", "the last apply …").
    pub since: String,
}

impl Baseline {
    /// Every list of `snapshot`, counted as the guard counts them.
    pub fn of_snapshot(snapshot: &Snapshot, since: &str) -> Baseline {
        let lists = snapshot
            .lists
            .iter()
            .map(|l| {
                let b = BaselineList {
                    prefixes: l.prefixes.len(),
                    since: since.to_string(),
                };
                (l.name.clone(), b)
            })
            .collect();
        Baseline { lists }
    }
}

/// Which side of the policy a list feeds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Allow,
    Block,
}

/// Build one device's entries. `previous` is what each list held when last
/// used, for the shrink guard; `allow_shrink` is the operator's override;
/// `own` the addresses tsfleet depends on, protected whatever the policy says.
pub fn build(
    snapshot: &Snapshot,
    policy: &Policy,
    previous: Option<&Baseline>,
    allow_shrink: bool,
    own: &[OwnAddress],
    _ipv6: bool,
) -> Result<DevicePolicy, PolicyError> {
    let floor = policy.min_prefix_len.unwrap_or(DEFAULT_MIN_PREFIX_LEN);
    if floor > 32 {
        return Err(PolicyError::Invalid(format!(
            "min_prefix_len {floor} is above 32"
        )));
    }
    let max_shrink = policy.max_shrink.unwrap_or(DEFAULT_MAX_SHRINK);
    if !(0.0..=1.0).contains(&max_shrink) {
        return Err(PolicyError::Invalid(format!(
            "max_shrink {max_shrink} is not a fraction between 0 and 1"
        )));
    }
    let max_size = policy.max_policy_size.unwrap_or(DEFAULT_MAX_POLICY_SIZE);
    let mut report = PolicyReport::default();
    let protect: Vec<Ipv4Net> = policy.protect.iter().map(Ipv4Net::trunc).collect();
    // Own addresses the policy already protects are its report's business.
    let user_ranges = ranges(&protect);
    let mut own: Vec<&OwnAddress> = own
        .iter()
        .filter(|o| !in_ranges(&user_ranges, u32::from(o.address)))
        .collect();
    own.sort_by_key(|o| o.address);

    let mut side = |side: Side, names: &[String]| -> Result<Vec<Ipv4Net>, PolicyError> {
        let mut all = Vec::new();
        for name in names {
            let list = find(snapshot, name)?;
            guard(list, side, previous, max_shrink, allow_shrink, &mut report)?;
            let prefixes = list_prefixes(list, floor, &mut report);
            if side == Side::Block && !own.is_empty() {
                report
                    .own_protected
                    .extend(own_hits(&list.name, &prefixes, &own));
            }
            all.extend(prefixes);
        }
        let before = all.len();
        let all = dedupe(all);
        report.redundant += before - all.len();
        Ok(all)
    };
    let allow = side(Side::Allow, &policy.allow)?;
    let mut block = side(Side::Block, &policy.block)?;

    if !protect.is_empty() {
        let hit: Vec<Ipv4Net> = block
            .iter()
            .filter(|b| protect.iter().any(|p| overlaps(b, p)))
            .copied()
            .collect();
        if !hit.is_empty() {
            block = subtract(&block, &protect);
            report.protected = hit;
        }
    }
    if !report.own_protected.is_empty() {
        let own: Vec<Ipv4Net> = report
            .own_protected
            .iter()
            .map(|o| Ipv4Net::from(o.address))
            .collect();
        block = subtract(&block, &own);
    }

    let (allow, block) = if policy.aggregate == Some(true) {
        let (a, b) = (aggregate(&allow), aggregate(&block));
        report.aggregated = Some(((allow.len(), a.len()), (block.len(), b.len())));
        (a, b)
    } else {
        (allow, block)
    };

    let capped = cap(allow, block, max_size);
    report.capped_allow = capped.allow_cut;
    report.capped_block = capped.block_cut;
    Ok(DevicePolicy {
        block: capped.block,
        allow: capped.allow,
        block_v6: Vec::new(),
        allow_v6: Vec::new(),
        report,
    })
}

fn find<'a>(snapshot: &'a Snapshot, name: &str) -> Result<&'a ListSnapshot, PolicyError> {
    snapshot.list(name).ok_or_else(|| PolicyError::UnknownList {
        list: name.to_string(),
        known: snapshot
            .lists
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The empty and shrink guards for one list.
fn guard(
    list: &ListSnapshot,
    side: Side,
    previous: Option<&Baseline>,
    max_shrink: f64,
    allow_shrink: bool,
    report: &mut PolicyReport,
) -> Result<(), PolicyError> {
    let now = list.prefixes.len();
    // An empty allow list is ordinary (many sites have none); an empty block
    // list is the classic failure that silently unblocks everything.
    let refused = if side == Side::Block && now == 0 {
        Some(PolicyError::EmptyList {
            list: list.name.clone(),
        })
    } else {
        previous
            .and_then(|p| p.lists.get(&list.name))
            .filter(|prev| prev.prefixes > 0 && shrink_fraction(prev.prefixes, now) > max_shrink)
            .map(|prev| PolicyError::Shrink {
                list: list.name.clone(),
                previous: prev.prefixes,
                now,
                max_shrink,
                since: prev.since.clone(),
            })
    };
    match refused {
        Some(_) if allow_shrink => {
            report.shrink_overridden.push(list.name.clone());
            Ok(())
        }
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The fraction lost going from `prev` to `now` prefixes (0 when it grew).
pub fn shrink_fraction(prev: usize, now: usize) -> f64 {
    if prev == 0 || now >= prev {
        0.0
    } else {
        (prev - now) as f64 / prev as f64
    }
}

/// One list's usable prefixes: canonicalised, floor applied, negated items carved.
fn list_prefixes(list: &ListSnapshot, floor: u8, report: &mut PolicyReport) -> Vec<Ipv4Net> {
    let mut canon = |p: Ipv4Net| {
        let used = p.trunc();
        if used != p {
            tracing::warn!(list = %list.name, published = %p, used = %used, "host bits set; cleared");
            report.canonicalised.push(Canonicalised {
                list: list.name.clone(),
                published: p,
                used,
            });
        }
        used
    };
    let v4 = |e: &super::snapshot::Entry| match e.prefix {
        IpNet::V4(p) => Some(p),
        IpNet::V6(_) => None,
    };
    let mut positives = Vec::with_capacity(list.prefixes.len());
    for p in list.prefixes.iter().filter_map(v4) {
        let p = canon(p);
        if p.prefix_len() < floor {
            report.too_broad.push(ListPrefix {
                list: list.name.clone(),
                prefix: p,
            });
        } else {
            positives.push(p);
        }
    }
    let excluded: Vec<Ipv4Net> = list.excluded.iter().filter_map(v4).map(canon).collect();
    report.excluded += excluded.len();
    report.skipped += list.skipped.len();
    if excluded.is_empty() {
        positives
    } else {
        subtract(&positives, &excluded)
    }
}

/// The prefixes of one block list that cover an own address, each pair
/// once. `own` is sorted by address, so each prefix costs a binary search.
fn own_hits(list: &str, prefixes: &[Ipv4Net], own: &[&OwnAddress]) -> Vec<OwnProtected> {
    let mut hits = Vec::new();
    for p in prefixes {
        let (s, e) = (first(p), last(p));
        let start = own.partition_point(|o| u32::from(o.address) < s);
        for o in own[start..]
            .iter()
            .take_while(|o| u32::from(o.address) <= e)
        {
            hits.push(OwnProtected {
                list: list.to_string(),
                prefix: *p,
                address: o.address,
                role: o.role.clone(),
            });
        }
    }
    hits
}

/// Whether `x` lies in one of the sorted, merged `ranges`.
fn in_ranges(ranges: &[(u32, u32)], x: u32) -> bool {
    let i = ranges.partition_point(|&(_, e)| e < x);
    ranges.get(i).is_some_and(|&(s, _)| s <= x)
}

fn first(n: &Ipv4Net) -> u32 {
    u32::from(n.network())
}
fn last(n: &Ipv4Net) -> u32 {
    u32::from(n.broadcast())
}
fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    first(a) <= last(b) && first(b) <= last(a)
}

/// The addresses covered by `set`, as sorted, merged, inclusive ranges.
pub fn ranges(set: &[Ipv4Net]) -> Vec<(u32, u32)> {
    let mut r: Vec<(u32, u32)> = set.iter().map(|n| (first(n), last(n))).collect();
    r.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(r.len());
    for (s, e) in r {
        match merged.last_mut() {
            Some((_, le)) if u64::from(s) <= u64::from(*le) + 1 => *le = (*le).max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Sort, drop identical prefixes and prefixes inside a wider one. Covers the
/// same addresses as the input.
pub fn dedupe(mut set: Vec<Ipv4Net>) -> Vec<Ipv4Net> {
    let mut set_trunc: Vec<Ipv4Net> = set.drain(..).map(|n| n.trunc()).collect();
    // By start address, wider first: a prefix is redundant iff it lies
    // inside the last kept one (prefixes nest or are disjoint).
    set_trunc.sort_unstable_by_key(|n| (first(n), n.prefix_len()));
    let mut kept: Vec<Ipv4Net> = Vec::with_capacity(set_trunc.len());
    for n in set_trunc {
        match kept.last() {
            Some(k) if k.contains(&n) => {}
            _ => kept.push(n),
        }
    }
    kept
}

/// `set` minus the addresses of `remove`. Prefixes that overlap nothing in
/// `remove` come out unchanged; the others are split into the fewest
/// prefixes covering what is left of them.
pub fn subtract(set: &[Ipv4Net], remove: &[Ipv4Net]) -> Vec<Ipv4Net> {
    let holes = ranges(remove);
    let mut out = Vec::with_capacity(set.len());
    for n in set {
        let (s, e) = (first(n), last(n));
        // First hole that ends at or after this prefix's start.
        let mut i = holes.partition_point(|&(_, he)| he < s);
        if i == holes.len() || holes[i].0 > e {
            out.push(n.trunc());
            continue;
        }
        let mut cursor = u64::from(s);
        while i < holes.len() && holes[i].0 <= e {
            let (hs, he) = holes[i];
            if u64::from(hs) > cursor {
                push_range(&mut out, cursor as u32, hs - 1);
            }
            cursor = cursor.max(u64::from(he) + 1);
            i += 1;
        }
        if cursor <= u64::from(e) {
            push_range(&mut out, cursor as u32, e);
        }
    }
    out
}

fn push_range(out: &mut Vec<Ipv4Net>, start: u32, end: u32) {
    out.extend(Ipv4Subnets::new(
        Ipv4Addr::from(start),
        Ipv4Addr::from(end),
        0,
    ));
}

/// Merge adjacent and nested prefixes into the fewest that cover exactly the
/// same addresses (ipnet's aggregate), sorted.
pub fn aggregate(set: &[Ipv4Net]) -> Vec<Ipv4Net> {
    Ipv4Net::aggregate(&set.to_vec())
}

/// The result of [`cap`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capped {
    pub allow: Vec<Ipv4Net>,
    pub block: Vec<Ipv4Net>,
    pub allow_cut: Vec<Ipv4Net>,
    pub block_cut: Vec<Ipv4Net>,
}

/// Keep at most `max` entries in total: allow entries first (an allow entry
/// lost could block a partner), then block entries. Within a side, wider
/// prefixes are kept first, ties by address, so the cut is deterministic and
/// the most addresses stay covered. Kept entries come back sorted by address.
pub fn cap(allow: Vec<Ipv4Net>, block: Vec<Ipv4Net>, max: usize) -> Capped {
    fn keep(mut v: Vec<Ipv4Net>, budget: usize) -> (Vec<Ipv4Net>, Vec<Ipv4Net>) {
        if v.len() <= budget {
            v.sort_unstable();
            return (v, Vec::new());
        }
        v.sort_unstable_by_key(|n| (n.prefix_len(), first(n)));
        let mut cut = v.split_off(budget);
        v.sort_unstable();
        cut.sort_unstable();
        (v, cut)
    }
    let (allow, allow_cut) = keep(allow, max);
    let (block, block_cut) = keep(block, max - allow.len());
    Capped {
        allow,
        block,
        allow_cut,
        block_cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lists::snapshot::{Entry, ListSnapshot, Snapshot};
    use proptest::prelude::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }
    fn nets(v: &[&str]) -> Vec<Ipv4Net> {
        v.iter().map(|s| net(s)).collect()
    }

    fn list(name: &str, prefixes: &[&str], excluded: &[&str]) -> ListSnapshot {
        let e = |p: &&str| Entry {
            prefix: net(p).into(),
            sublist: name.into(),
        };
        ListSnapshot {
            name: name.into(),
            server: "127.0.0.1:53".into(),
            elapsed_ms: 0,
            record_types: vec!["APL".into()],
            sublists: vec![],
            prefixes: prefixes.iter().map(e).collect(),
            excluded: excluded.iter().map(e).collect(),
            skipped: vec![],
        }
    }

    fn policy(block: &[&str], allow: &[&str]) -> Policy {
        Policy {
            block: block.iter().map(|s| s.to_string()).collect(),
            allow: allow.iter().map(|s| s.to_string()).collect(),
            ..Policy::default()
        }
    }

    #[test]
    fn subtract_splits_only_what_overlaps() {
        let out = subtract(
            &nets(&["10.0.0.0/8", "192.0.2.0/24"]),
            &nets(&["10.0.0.0/9", "10.192.0.0/10"]),
        );
        assert_eq!(out, nets(&["10.128.0.0/10", "192.0.2.0/24"]));
        assert!(subtract(&nets(&["10.1.0.0/16"]), &nets(&["10.0.0.0/8"])).is_empty());
        assert_eq!(
            subtract(&nets(&["0.0.0.0/0"]), &nets(&["255.255.255.255/32"])).len(),
            32
        );
    }

    #[test]
    fn dedupe_drops_identical_and_nested() {
        let out = dedupe(nets(&[
            "10.1.0.0/16",
            "10.0.0.0/8",
            "10.0.0.0/8",
            "11.0.0.0/8",
        ]));
        assert_eq!(out, nets(&["10.0.0.0/8", "11.0.0.0/8"]));
    }

    #[test]
    fn build_canonicalises_carves_and_applies_the_floor() {
        let snap = Snapshot::new(
            vec![],
            vec![list(
                "b",
                &["10.1.2.3/16", "12.0.0.0/7", "192.0.2.0/24"],
                &["192.0.2.128/25"],
            )],
        );
        let p = Policy {
            min_prefix_len: Some(8),
            ..policy(&["b"], &[])
        };
        let d = build(&snap, &p, None, false, &[], false).unwrap();
        assert_eq!(d.block, nets(&["10.1.0.0/16", "192.0.2.0/25"]));
        assert_eq!(d.report.canonicalised.len(), 1);
        assert_eq!(d.report.canonicalised[0].used, net("10.1.0.0/16"));
        assert_eq!(d.report.too_broad[0].prefix, net("12.0.0.0/7"));
        assert_eq!(d.report.excluded, 1);
    }

    #[test]
    fn build_protects_and_caps_allow_first() {
        let snap = Snapshot::new(
            vec![],
            vec![
                list("b", &["10.0.0.0/8", "20.0.0.0/24", "30.0.0.0/16"], &[]),
                list("a", &["40.0.0.1/32", "40.0.0.3/32"], &[]),
            ],
        );
        let p = Policy {
            protect: nets(&["10.0.0.0/9"]),
            max_policy_size: Some(4),
            ..policy(&["b"], &["a"])
        };
        let d = build(&snap, &p, None, false, &[], false).unwrap();
        assert_eq!(d.allow, nets(&["40.0.0.1/32", "40.0.0.3/32"]));
        // 10.128.0.0/9 (what protect left), 30.0.0.0/16 and 20.0.0.0/24 compete
        // for 2 slots: the widest win.
        assert_eq!(d.block, nets(&["10.128.0.0/9", "30.0.0.0/16"]));
        assert_eq!(d.report.capped_block, nets(&["20.0.0.0/24"]));
        assert_eq!(d.report.protected, nets(&["10.0.0.0/8"]));
    }

    fn own(address: &str, role: &str) -> OwnAddress {
        OwnAddress {
            address: address.parse().unwrap(),
            role: role.into(),
        }
    }

    #[test]
    fn own_addresses_are_never_blocked_and_each_hit_is_reported() {
        let snap = Snapshot::new(
            vec![],
            vec![
                list("b1", &["127.0.0.0/8", "10.0.0.0/8", "20.0.0.1/32"], &[]),
                list("b2", &["127.0.0.1/32", "192.0.2.0/24"], &[]),
                list("a", &["127.0.0.1/32"], &[]),
            ],
        );
        let p = Policy {
            protect: nets(&["192.0.2.0/25"]),
            ..policy(&["b1", "b2"], &["a"])
        };
        let own = [
            own("127.0.0.1", "management address of rtr-001"),
            own("20.0.0.1", "DNS server"),
            // Under the policy's own `protect:`: carved, reported there.
            own("192.0.2.5", "management address of rtr-002"),
            // In no list.
            own("198.51.100.1", "tsfleet's own address"),
        ];
        let d = build(&snap, &p, None, false, &own, false).unwrap();
        let hits: Vec<(&str, Ipv4Net, String)> = d
            .report
            .own_protected
            .iter()
            .map(|h| (h.list.as_str(), h.prefix, h.address.to_string()))
            .collect();
        assert_eq!(
            hits,
            [
                ("b1", net("20.0.0.1/32"), "20.0.0.1".to_string()),
                ("b1", net("127.0.0.0/8"), "127.0.0.1".to_string()),
                ("b2", net("127.0.0.1/32"), "127.0.0.1".to_string()),
            ]
        );
        assert_eq!(
            d.report.own_protected[1].to_string(),
            "block list b1 has 127.0.0.0/8, which covers 127.0.0.1 (management address of \
             rtr-001): that address is not blocked"
        );
        assert_eq!(d.report.protected, nets(&["192.0.2.0/24"]));
        let blocked = ranges(&d.block);
        for o in &own {
            assert!(!in_ranges(&blocked, u32::from(o.address)), "{o:?} blocked");
        }
        // Everything else of 127.0.0.0/8 stays blocked: 24 prefixes around the hole.
        assert_eq!(
            ranges(&d.block),
            ranges(&subtract(
                &nets(&["127.0.0.0/8", "10.0.0.0/8", "192.0.2.128/25"]),
                &nets(&["127.0.0.1/32"])
            ))
        );
        assert_eq!(
            d.block
                .iter()
                .filter(|b| b.addr().octets()[0] == 127)
                .count(),
            24
        );
        // The allow side is never cut.
        assert_eq!(d.allow, nets(&["127.0.0.1/32"]));
        // Without own addresses, the same policy blocks them.
        let plain = build(&snap, &p, None, false, &[], false).unwrap();
        assert!(plain.report.own_protected.is_empty());
        assert!(in_ranges(&ranges(&plain.block), u32::from(own[0].address)));
    }

    #[test]
    fn guards_refuse_empty_block_lists_and_big_shrinks_unless_overridden() {
        let empty = Snapshot::new(vec![], vec![list("b", &[], &[])]);
        let p = policy(&["b"], &[]);
        assert!(matches!(
            build(&empty, &p, None, false, &[], false),
            Err(PolicyError::EmptyList { .. })
        ));
        let d = build(&empty, &p, None, true, &[], false).unwrap();
        assert_eq!(d.report.shrink_overridden, vec!["b".to_string()]);

        let prev = Snapshot::new(
            vec![],
            vec![list(
                "b",
                &["1.0.0.0/8", "2.0.0.0/8", "3.0.0.0/8", "4.0.0.0/8"],
                &[],
            )],
        );
        let prev = Baseline::of_snapshot(&prev, "the snapshot prev.json");
        let now = Snapshot::new(vec![], vec![list("b", &["1.0.0.0/8"], &[])]);
        let err = build(&now, &p, Some(&prev), false, &[], false).unwrap_err();
        assert!(
            matches!(
                err,
                PolicyError::Shrink {
                    previous: 4,
                    now: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("since the snapshot prev.json") && text.contains("--allow-shrink"),
            "{text}"
        );
        let lenient = Policy {
            max_shrink: Some(0.8),
            ..p.clone()
        };
        assert!(build(&now, &lenient, Some(&prev), false, &[], false).is_ok());
        assert!(build(&now, &p, Some(&prev), true, &[], false).is_ok());
        // An empty allow list is fine without history.
        let s = Snapshot::new(
            vec![],
            vec![list("b", &["1.0.0.0/8"], &[]), list("a", &[], &[])],
        );
        assert!(build(&s, &policy(&["b"], &["a"]), None, false, &[], false).is_ok());
    }

    #[test]
    fn unknown_list_names_what_the_snapshot_has() {
        let snap = Snapshot::new(vec![], vec![list("b", &["1.0.0.0/8"], &[])]);
        let err = build(&snap, &policy(&["nope"], &[]), None, false, &[], false).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        assert!(err.to_string().contains("it has: b"), "{err}");
    }

    #[test]
    fn invalid_settings_are_refused() {
        let snap = Snapshot::new(vec![], vec![list("b", &["1.0.0.0/8"], &[])]);
        let p = Policy {
            max_shrink: Some(1.5),
            ..policy(&["b"], &[])
        };
        assert!(matches!(
            build(&snap, &p, None, false, &[], false),
            Err(PolicyError::Invalid(_))
        ));
    }

    /// Prefixes in a small space (10.0.0.0/16) so that they overlap often.
    fn small_net() -> impl Strategy<Value = Ipv4Net> {
        (0u32..65536, 16u8..=32).prop_map(|(a, len)| {
            Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 | a), len)
                .unwrap()
                .trunc()
        })
    }

    fn minus(a: &[(u32, u32)], b: &[(u32, u32)]) -> Vec<(u32, u32)> {
        // Reference implementation over the small space, address by address.
        let inside = |r: &[(u32, u32)], x: u32| r.iter().any(|&(s, e)| s <= x && x <= e);
        let mut out: Vec<Ipv4Net> = Vec::new();
        for x in 0x0a00_0000u32..=0x0a00_ffff {
            if inside(a, x) && !inside(b, x) {
                out.push(Ipv4Net::from(Ipv4Addr::from(x)));
            }
        }
        ranges(&out)
    }

    proptest! {
        #[test]
        fn aggregation_keeps_the_covered_addresses(set in proptest::collection::vec(small_net(), 0..60)) {
            let agg = aggregate(&set);
            prop_assert_eq!(ranges(&agg), ranges(&set));
            prop_assert!(agg.len() <= dedupe(set.clone()).len());
        }

        #[test]
        fn dedupe_keeps_the_covered_addresses(set in proptest::collection::vec(small_net(), 0..60)) {
            prop_assert_eq!(ranges(&dedupe(set.clone())), ranges(&set));
        }

        #[test]
        fn subtract_is_exact(
            set in proptest::collection::vec(small_net(), 0..20),
            remove in proptest::collection::vec(small_net(), 0..10),
        ) {
            let out = subtract(&set, &remove);
            prop_assert_eq!(ranges(&out), minus(&ranges(&set), &ranges(&remove)));
        }

        #[test]
        fn build_never_exceeds_the_cap_nor_blocks_protected_addresses(
            block in proptest::collection::vec(small_net(), 0..80),
            allow in proptest::collection::vec(small_net(), 0..30),
            protect in proptest::collection::vec(small_net(), 0..5),
            own in proptest::collection::vec(0u32..65536, 0..5),
            max in 0usize..60,
            aggregate in any::<bool>(),
        ) {
            let strs = |v: &[Ipv4Net]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>();
            let (b, a) = (strs(&block), strs(&allow));
            let b: Vec<&str> = b.iter().map(String::as_str).collect();
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            // One always-present prefix so the empty-block guard stays out of the way.
            let mut b = b;
            b.push("192.0.2.0/24");
            let snap = Snapshot::new(vec![], vec![list("b", &b, &[]), list("a", &a, &[])]);
            let p = Policy {
                protect: protect.clone(),
                max_policy_size: Some(max),
                aggregate: Some(aggregate),
                ..policy(&["b"], &["a"])
            };
            let own: Vec<OwnAddress> = own
                .iter()
                .map(|&a| OwnAddress { address: Ipv4Addr::from(0x0a00_0000 | a), role: "own".into() })
                .collect();
            let d = build(&snap, &p, None, false, &own, false).unwrap();
            prop_assert!(d.block.len() + d.allow.len() <= max);
            let blocked = ranges(&d.block);
            for o in &own {
                prop_assert!(!in_ranges(&blocked, u32::from(o.address)), "own {} blocked", o.address);
            }
            for entry in &d.block {
                for p in &protect {
                    prop_assert!(!overlaps(entry, p), "{} overlaps protected {}", entry, p);
                }
            }
            if aggregate && d.report.capped_allow.is_empty() && d.report.capped_block.is_empty() {
                let plain = build(&snap, &Policy { aggregate: Some(false), max_policy_size: Some(usize::MAX), ..p.clone() }, None, false, &own, false).unwrap();
                prop_assert_eq!(ranges(&d.block), ranges(&plain.block));
                prop_assert_eq!(ranges(&d.allow), ranges(&plain.allow));
            }
        }
    }
}
