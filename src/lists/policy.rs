//! What one device carries, decided from a snapshot and the device's policy.
//! Pure functions, no I/O: `plan`/`apply` call [`build`] per policy.
//!
//! Steps, in order:
//! 1. guards per list, allow lists then block lists: a block list with no
//!    IPv4 prefix, or a list whose IPv4 part (and, for a policy built with
//!    IPv6, whose IPv6 part) shrank by more than `max_shrink` against its
//!    own [`Baseline`] (the `--previous` snapshot, else the record of the
//!    last successful apply, [`super::applied`]), is refused (the
//!    operator's `--allow-shrink` overrides both);
//!
//! then per family (IPv4, and IPv6 only for a policy an `ipv6: true` device
//! carries), allow side then block side, with the same code ([`Prefix`]):
//! 2. canonicalise (host bits cleared, reported), drop prefixes shorter than
//!    the family's floor, `min_prefix_len` / `min_prefix_len_v6` (reported);
//! 3. carve each list's negated items out of that list's prefixes;
//! 4. union the lists of the side, dedupe (identical prefixes and prefixes
//!    inside a wider one of the same side, which add nothing);
//! 5. block only: subtract `protect:` prefixes and the addresses tsfleet
//!    itself depends on ([`OwnAddress`], found by the runner), reporting
//!    each list prefix that covered one of the latter;
//! 6. optionally aggregate (the result covers exactly the same addresses);
//! 7. cap at `max_policy_size`, per family (each family's pair of groups on
//!    its own): allow entries first, then block entries, wider prefixes
//!    first (they cover the most), the cut reported per group.
//!
//! Every set operation works on address ranges (numbered in `u128` for both
//! families), so results are exact.

use super::snapshot::{Entry, ListSnapshot, Snapshot};
use crate::domain::Family;
use crate::inventory::Policy;
use ipnet::{IpNet, Ipv4Net, Ipv4Subnets, Ipv6Net, Ipv6Subnets};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use crate::inventory::DEFAULT_MAX_POLICY_SIZE;
pub const DEFAULT_MIN_PREFIX_LEN: u8 = 8;
/// The IPv6 floor: a shorter prefix spans more than the largest allocation
/// an RIR makes to one network (about /19 for the biggest ISPs; IANA hands
/// RIRs /12s), so a list item that wide is a mistake, not a threat.
pub const DEFAULT_MIN_PREFIX_LEN_V6: u8 = 16;
pub const DEFAULT_MAX_SHRINK: f64 = 0.5;

/// The entries one device must carry, and what was done to get there.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DevicePolicy {
    /// Sorted by address; never overlaps a `protect:` prefix nor covers an
    /// [`OwnAddress`].
    pub block: Vec<Ipv4Net>,
    /// Sorted by address.
    pub allow: Vec<Ipv4Net>,
    /// The IPv6 sides, built only for a policy some `ipv6: true` device
    /// uses; as `block` and `allow`.
    pub block_v6: Vec<Ipv6Net>,
    pub allow_v6: Vec<Ipv6Net>,
    pub report: PolicyReport,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyReport {
    /// Prefixes published with host bits set, and what was used instead.
    pub canonicalised: Vec<Canonicalised>,
    /// Prefixes shorter than their family's floor, dropped.
    pub too_broad: Vec<ListPrefix>,
    /// Negated items carved out of their list.
    pub excluded: usize,
    /// Identical or nested prefixes dropped.
    pub redundant: usize,
    /// Block prefixes cut back because they overlapped a `protect:` prefix
    /// (or an IPv6 range the router needs, [`IPV6_ROUTER_NEEDS`]).
    pub protected: Vec<IpNet>,
    /// List prefixes that covered an address tsfleet depends on (not already
    /// under `protect:`): that address was left out of the block side.
    pub own_protected: Vec<OwnProtected>,
    /// Entries before and after aggregation, when enabled: (allow, block).
    pub aggregated: Option<((usize, usize), (usize, usize))>,
    pub aggregated_v6: Option<((usize, usize), (usize, usize))>,
    /// Entries cut by `max_policy_size`, per group.
    pub capped_allow: Vec<Ipv4Net>,
    pub capped_block: Vec<Ipv4Net>,
    pub capped_allow_v6: Vec<Ipv6Net>,
    pub capped_block_v6: Vec<Ipv6Net>,
    /// Items in the snapshot of an unknown address family.
    pub skipped: usize,
    /// IPv6 items (positive and negated) of the policy's lists left out
    /// because it was built without IPv6 (no `ipv6: true` device uses it).
    pub ipv6_not_carried: usize,
    /// Lists that shrank beyond `max_shrink` or came back empty but were
    /// accepted because the operator allowed it.
    pub shrink_overridden: Vec<String>,
}

impl PolicyReport {
    /// Entries cut by the cap, all groups together.
    pub fn capped(&self) -> usize {
        self.capped_allow.len()
            + self.capped_block.len()
            + self.capped_allow_v6.len()
            + self.capped_block_v6.len()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canonicalised {
    pub list: String,
    pub published: IpNet,
    pub used: IpNet,
}

/// An address tsfleet itself depends on (a device's management address, a
/// DNS server, the address tsfleet connects from): never blocked, whatever
/// a list says, as if it were under the policy's `protect:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnAddress {
    pub address: IpAddr,
    /// What it is, for the report: "management address of rtr-001", ….
    pub role: String,
}

/// A block list prefix that covered an [`OwnAddress`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnProtected {
    pub list: String,
    pub prefix: IpNet,
    pub address: IpAddr,
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
    pub prefix: IpNet,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PolicyError {
    #[error("list {list} is not in the snapshot (it has: {known}); re-run `tsfleet resolve`")]
    UnknownList { list: String, known: String },
    #[error(
        "block list {list} came back {}; refusing to unblock everything (--allow-shrink accepts it)",
        empty_what(*ipv6)
    )]
    EmptyList {
        list: String,
        /// Its IPv6 prefixes: a list with only those still leaves the IPv4
        /// block group empty.
        ipv6: usize,
    },
    #[error(
        "list {list}'s {family} prefixes shrank from {previous} to {now} since {since}, more than max_shrink {max_shrink} allows; if the list is right, --allow-shrink accepts it"
    )]
    Shrink {
        list: String,
        family: Family,
        previous: usize,
        now: usize,
        max_shrink: f64,
        /// Where `previous` comes from ([`BaselineList::since`]).
        since: String,
    },
    #[error("invalid policy setting: {0}")]
    Invalid(String),
}

fn empty_what(ipv6: usize) -> String {
    match ipv6 {
        0 => "empty".to_string(),
        1 => "with no IPv4 prefix (only 1 IPv6 one)".to_string(),
        n => format!("with no IPv4 prefix (only {n} IPv6 ones)"),
    }
}

/// What the shrink guard compares each list with: its prefix count per
/// family when it was last used, per list name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Baseline {
    /// IPv4 prefix counts.
    pub lists: BTreeMap<String, BaselineList>,
    /// IPv6 prefix counts; a list missing here has no IPv6 baseline yet.
    pub lists_v6: BTreeMap<String, BaselineList>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BaselineList {
    pub prefixes: usize,
    /// Where the count comes from, as a refusal says it ("the snapshot
    /// prev.json (--previous)", "the last apply …").
    pub since: String,
}

impl Baseline {
    /// Every list of `snapshot`, counted per family as the guard counts them.
    pub fn of_snapshot(snapshot: &Snapshot, since: &str) -> Baseline {
        let count = |family| {
            (snapshot.lists.iter())
                .map(|l| {
                    let b = BaselineList {
                        prefixes: count(&l.prefixes, family),
                        since: since.to_string(),
                    };
                    (l.name.clone(), b)
                })
                .collect()
        };
        Baseline {
            lists: count(Family::Ipv4),
            lists_v6: count(Family::Ipv6),
        }
    }

    fn get(&self, family: Family, list: &str) -> Option<&BaselineList> {
        match family {
            Family::Ipv4 => self.lists.get(list),
            Family::Ipv6 => self.lists_v6.get(list),
        }
    }
}

/// How many of `entries` are of `family`: what the guards and the record of
/// the last apply count.
pub fn count(entries: &[Entry], family: Family) -> usize {
    (entries.iter())
        .filter(|e| Family::of(&e.prefix) == family)
        .count()
}

/// Which side of the policy a list feeds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Allow,
    Block,
}

/// An IPv4 or IPv6 prefix as the set operations see it: a range of
/// addresses numbered in `u128`. Implemented for ipnet's two types only.
pub trait Prefix:
    Copy + Ord + std::fmt::Debug + std::fmt::Display + Into<IpNet> + sealed::Sealed
{
    const FAMILY: Family;
    /// The prefix of this family in `net`, if it is one.
    fn of(net: IpNet) -> Option<Self>;
    fn first(&self) -> u128;
    fn last(&self) -> u128;
    fn prefix_len(&self) -> u8;
    fn trunc(&self) -> Self;
    /// The fewest prefixes covering exactly `start..=end`, appended to `out`.
    fn push_range(out: &mut Vec<Self>, start: u128, end: u128);
    /// Merge adjacent and nested prefixes (ipnet's aggregate).
    fn aggregate(set: &[Self]) -> Vec<Self>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for ipnet::Ipv4Net {}
    impl Sealed for ipnet::Ipv6Net {}
}

/// [`Prefix`] for ipnet's type `$net` of family `$family` (`IpNet::$variant`),
/// whose addresses are `$addr`, numbered in `$int`.
macro_rules! prefix {
    ($net:ident, $family:ident, $variant:ident, $addr:ident, $int:ty, $subnets:ident) => {
        impl Prefix for $net {
            const FAMILY: Family = Family::$family;
            fn of(net: IpNet) -> Option<Self> {
                match net {
                    IpNet::$variant(n) => Some(n),
                    _ => None,
                }
            }
            fn first(&self) -> u128 {
                <$int>::from(self.network()).into()
            }
            fn last(&self) -> u128 {
                <$int>::from(self.broadcast()).into()
            }
            fn prefix_len(&self) -> u8 {
                $net::prefix_len(self)
            }
            fn trunc(&self) -> Self {
                $net::trunc(self)
            }
            fn push_range(out: &mut Vec<Self>, start: u128, end: u128) {
                // A range of this family's prefixes never leaves its space.
                let addr = |x: u128| $addr::from(x as $int);
                out.extend($subnets::new(addr(start), addr(end), 0));
            }
            fn aggregate(set: &[Self]) -> Vec<Self> {
                $net::aggregate(&set.to_vec())
            }
        }
    };
}
prefix!(Ipv4Net, Ipv4, V4, Ipv4Addr, u32, Ipv4Subnets);
prefix!(Ipv6Net, Ipv6, V6, Ipv6Addr, u128, Ipv6Subnets);

/// The settings [`build`] reads, checked.
struct Settings {
    floor: u8,
    floor_v6: u8,
    max_shrink: f64,
    max_size: usize,
    aggregate: bool,
}

impl Settings {
    fn of(policy: &Policy) -> Result<Settings, PolicyError> {
        let floor = policy.min_prefix_len.unwrap_or(DEFAULT_MIN_PREFIX_LEN);
        if floor > 32 {
            return Err(PolicyError::Invalid(format!(
                "min_prefix_len {floor} is above 32"
            )));
        }
        let floor_v6 = (policy.min_prefix_len_v6).unwrap_or(DEFAULT_MIN_PREFIX_LEN_V6);
        if floor_v6 > 128 {
            return Err(PolicyError::Invalid(format!(
                "min_prefix_len_v6 {floor_v6} is above 128"
            )));
        }
        let max_shrink = policy.max_shrink.unwrap_or(DEFAULT_MAX_SHRINK);
        if !(0.0..=1.0).contains(&max_shrink) {
            return Err(PolicyError::Invalid(format!(
                "max_shrink {max_shrink} is not a fraction between 0 and 1"
            )));
        }
        Ok(Settings {
            floor,
            floor_v6,
            max_shrink,
            max_size: policy.max_policy_size.unwrap_or(DEFAULT_MAX_POLICY_SIZE),
            aggregate: policy.aggregate == Some(true),
        })
    }
}

/// Build one policy's entries. `previous` is what each list held when last
/// used, for the shrink guard; `allow_shrink` is the operator's override;
/// `own` the addresses tsfleet depends on, protected whatever the policy
/// says; `ipv6` builds the IPv6 sides too (and guards the lists' IPv6
/// parts), for a policy an `ipv6: true` device carries.
pub fn build(
    snapshot: &Snapshot,
    policy: &Policy,
    previous: Option<&Baseline>,
    allow_shrink: bool,
    own: &[OwnAddress],
    ipv6: bool,
) -> Result<DevicePolicy, PolicyError> {
    let settings = Settings::of(policy)?;
    let mut report = PolicyReport::default();
    let guard = Guard {
        previous,
        max_shrink: settings.max_shrink,
        allow_shrink,
        ipv6,
    };
    let mut lists = Vec::with_capacity(policy.allow.len() + policy.block.len());
    for (side, names) in [(Side::Allow, &policy.allow), (Side::Block, &policy.block)] {
        for name in names {
            let list = find(snapshot, name)?;
            guard.check(list, side, &mut report)?;
            report.skipped += list.skipped.len();
            lists.push((side, list));
        }
    }

    let v4 = family::<Ipv4Net>(&lists, &settings, &policy.protect, own, &mut report);
    report.capped_allow = v4.allow_cut;
    report.capped_block = v4.block_cut;
    report.aggregated = v4.aggregated;
    let (allow_v6, block_v6) = if ipv6 {
        let v6 = family::<Ipv6Net>(&lists, &settings, &policy.protect, own, &mut report);
        report.capped_allow_v6 = v6.allow_cut;
        report.capped_block_v6 = v6.block_cut;
        report.aggregated_v6 = v6.aggregated;
        (v6.allow, v6.block)
    } else {
        // Each list once, though both sides may name it.
        let distinct: BTreeMap<&str, &ListSnapshot> =
            (lists.iter()).map(|(_, l)| (l.name.as_str(), *l)).collect();
        report.ipv6_not_carried = (distinct.values())
            .map(|l| count(&l.prefixes, Family::Ipv6) + count(&l.excluded, Family::Ipv6))
            .sum();
        (Vec::new(), Vec::new())
    };
    Ok(DevicePolicy {
        block: v4.block,
        allow: v4.allow,
        block_v6,
        allow_v6,
        report,
    })
}

/// One family's entries (steps 2 to 7 of the module doc).
fn family<N: Prefix>(
    lists: &[(Side, &ListSnapshot)],
    settings: &Settings,
    protect: &[IpNet],
    own: &[OwnAddress],
    report: &mut PolicyReport,
) -> Capped<N> {
    let floor = match N::FAMILY {
        Family::Ipv4 => settings.floor,
        Family::Ipv6 => settings.floor_v6,
    };
    let mut protect: Vec<N> = (protect.iter())
        .filter_map(|&p| N::of(p))
        .map(|p| p.trunc())
        .collect();
    // Own addresses the policy already protects are its report's business.
    let user_ranges = ranges(&protect);
    let mut own: Vec<(u128, &OwnAddress)> = (own.iter())
        .filter_map(|o| Some((N::of(IpNet::from(o.address))?.first(), o)))
        .filter(|&(x, _)| !in_ranges(&user_ranges, x))
        .collect();
    own.sort_by_key(|&(x, _)| x);

    let mut side = |which: Side| -> Vec<N> {
        let mut all = Vec::new();
        for (_, list) in lists.iter().filter(|(s, _)| *s == which) {
            let prefixes = list_prefixes::<N>(list, floor, report);
            if which == Side::Block && !own.is_empty() {
                report
                    .own_protected
                    .extend(own_hits(&list.name, &prefixes, &own));
            }
            all.extend(prefixes);
        }
        let before = all.len();
        let all = dedupe(all);
        report.redundant += before - all.len();
        all
    };
    let allow = side(Side::Allow);
    let mut block = side(Side::Block);
    // What the router itself needs (after the own-address hits, which only
    // the operator's `protect:` silences) is never blocked either.
    protect.extend(router_needs::<N>());

    if !protect.is_empty() {
        let hit: Vec<N> = (block.iter())
            .filter(|b| protect.iter().any(|p| overlaps(*b, p)))
            .copied()
            .collect();
        if !hit.is_empty() {
            block = subtract(&block, &protect);
            report.protected.extend(hit.into_iter().map(Into::into));
        }
    }
    let own_hit: Vec<N> = (report.own_protected.iter())
        .filter_map(|o| N::of(IpNet::from(o.address)))
        .collect();
    if !own_hit.is_empty() {
        block = subtract(&block, &own_hit);
    }

    let mut aggregated = None;
    let (allow, block) = if settings.aggregate {
        let (a, b) = (N::aggregate(&allow), N::aggregate(&block));
        aggregated = Some(((allow.len(), a.len()), (block.len(), b.len())));
        (a, b)
    } else {
        (allow, block)
    };
    let mut capped = cap(allow, block, settings.max_size);
    capped.aggregated = aggregated;
    capped
}

/// Addresses a router needs whatever a list says, protected like `protect:`
/// prefixes: for IPv6, link-local `fe80::/10` (neighbour discovery, routing
/// protocol next hops), multicast `ff00::/8` (neighbour discovery, OSPFv3,
/// DHCPv6), the unspecified `::/128` (duplicate address detection) and
/// loopback `::1/128`. Blocking them would cut a branch off its own link,
/// and no threat list has a reason to name them. None for IPv4, as before.
pub const IPV6_ROUTER_NEEDS: [&str; 4] = ["fe80::/10", "ff00::/8", "::/128", "::1/128"];

fn router_needs<N: Prefix>() -> Vec<N> {
    match N::FAMILY {
        Family::Ipv4 => Vec::new(),
        Family::Ipv6 => (IPV6_ROUTER_NEEDS.iter())
            .filter_map(|p| N::of(p.parse().expect("valid prefixes")))
            .collect(),
    }
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

/// The empty and shrink guards, as one build applies them to each list.
struct Guard<'a> {
    previous: Option<&'a Baseline>,
    max_shrink: f64,
    allow_shrink: bool,
    /// Whether the lists' IPv6 parts are built, and so guarded.
    ipv6: bool,
}

impl Guard<'_> {
    fn check(
        &self,
        list: &ListSnapshot,
        side: Side,
        report: &mut PolicyReport,
    ) -> Result<(), PolicyError> {
        match self.refusal(list, side) {
            Some(_) if self.allow_shrink => {
                report.shrink_overridden.push(list.name.clone());
                Ok(())
            }
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn refusal(&self, list: &ListSnapshot, side: Side) -> Option<PolicyError> {
        let v4 = count(&list.prefixes, Family::Ipv4);
        // An empty allow list is ordinary (many sites have none); a block
        // list without IPv4 prefixes is the classic failure that silently
        // unblocks everything. Its IPv6 part may be empty: many lists have
        // none.
        // Built with IPv6, a block list of IPv6 prefixes only is a list of
        // its own (a device whose IPv4 group would be emptied by it holds
        // that group back, `crate::device::sync`).
        let v6 = count(&list.prefixes, Family::Ipv6);
        if side == Side::Block && v4 == 0 && (v6 == 0 || !self.ipv6) {
            return Some(PolicyError::EmptyList {
                list: list.name.clone(),
                ipv6: v6,
            });
        }
        let families: &[Family] = if self.ipv6 {
            &Family::ALL
        } else {
            &[Family::Ipv4]
        };
        families.iter().find_map(|&family| {
            let now = count(&list.prefixes, family);
            let prev = self.previous?.get(family, &list.name)?;
            (prev.prefixes > 0 && shrink_fraction(prev.prefixes, now) > self.max_shrink).then(
                || PolicyError::Shrink {
                    list: list.name.clone(),
                    family,
                    previous: prev.prefixes,
                    now,
                    max_shrink: self.max_shrink,
                    since: prev.since.clone(),
                },
            )
        })
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

/// One list's usable prefixes of family `N`: canonicalised, floor applied,
/// negated items of the same family carved.
fn list_prefixes<N: Prefix>(list: &ListSnapshot, floor: u8, report: &mut PolicyReport) -> Vec<N> {
    let mut canon = |p: N| {
        let used = p.trunc();
        if used != p {
            tracing::warn!(list = %list.name, published = %p, used = %used, "host bits set; cleared");
            report.canonicalised.push(Canonicalised {
                list: list.name.clone(),
                published: p.into(),
                used: used.into(),
            });
        }
        used
    };
    let of = |e: &Entry| N::of(e.prefix);
    let mut positives = Vec::with_capacity(list.prefixes.len());
    let mut too_broad = Vec::new();
    for p in list.prefixes.iter().filter_map(of) {
        let p = canon(p);
        if p.prefix_len() < floor {
            too_broad.push(p);
        } else {
            positives.push(p);
        }
    }
    let excluded: Vec<N> = list
        .excluded
        .iter()
        .filter_map(of)
        .map(&mut canon)
        .collect();
    report
        .too_broad
        .extend(too_broad.into_iter().map(|p| ListPrefix {
            list: list.name.clone(),
            prefix: p.into(),
        }));
    report.excluded += excluded.len();
    if excluded.is_empty() {
        positives
    } else {
        subtract(&positives, &excluded)
    }
}

/// The prefixes of one block list that cover an own address, each pair
/// once. `own` is sorted by address, so each prefix costs a binary search.
fn own_hits<N: Prefix>(
    list: &str,
    prefixes: &[N],
    own: &[(u128, &OwnAddress)],
) -> Vec<OwnProtected> {
    let mut hits = Vec::new();
    for p in prefixes {
        let (s, e) = (p.first(), p.last());
        let start = own.partition_point(|&(x, _)| x < s);
        for (_, o) in own[start..].iter().take_while(|&&(x, _)| x <= e) {
            hits.push(OwnProtected {
                list: list.to_string(),
                prefix: (*p).into(),
                address: o.address,
                role: o.role.clone(),
            });
        }
    }
    hits
}

/// Whether `x` lies in one of the sorted, merged `ranges`.
fn in_ranges(ranges: &[(u128, u128)], x: u128) -> bool {
    let i = ranges.partition_point(|&(_, e)| e < x);
    ranges.get(i).is_some_and(|&(s, _)| s <= x)
}

fn overlaps<N: Prefix>(a: &N, b: &N) -> bool {
    a.first() <= b.last() && b.first() <= a.last()
}

/// The addresses covered by `set`, as sorted, merged, inclusive ranges.
pub fn ranges<N: Prefix>(set: &[N]) -> Vec<(u128, u128)> {
    let mut r: Vec<(u128, u128)> = set.iter().map(|n| (n.first(), n.last())).collect();
    r.sort_unstable();
    let mut merged: Vec<(u128, u128)> = Vec::with_capacity(r.len());
    for (s, e) in r {
        match merged.last_mut() {
            // Saturating: a range ending at the top of the space absorbs
            // everything after it.
            Some((_, le)) if s <= le.saturating_add(1) => *le = (*le).max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Sort, drop identical prefixes and prefixes inside a wider one. Covers the
/// same addresses as the input.
pub fn dedupe<N: Prefix>(set: Vec<N>) -> Vec<N> {
    let mut set: Vec<N> = set.into_iter().map(|n| n.trunc()).collect();
    // By start address, wider first: a prefix is redundant iff it lies
    // inside the last kept one (prefixes nest or are disjoint).
    set.sort_unstable_by_key(|n| (n.first(), n.prefix_len()));
    let mut kept: Vec<N> = Vec::with_capacity(set.len());
    for n in set {
        match kept.last() {
            Some(k) if k.last() >= n.last() => {}
            _ => kept.push(n),
        }
    }
    kept
}

/// `set` minus the addresses of `remove`. Prefixes that overlap nothing in
/// `remove` come out unchanged; the others are split into the fewest
/// prefixes covering what is left of them.
pub fn subtract<N: Prefix>(set: &[N], remove: &[N]) -> Vec<N> {
    let holes = ranges(remove);
    let mut out = Vec::with_capacity(set.len());
    for n in set {
        let (s, e) = (n.first(), n.last());
        // First hole that ends at or after this prefix's start.
        let mut i = holes.partition_point(|&(_, he)| he < s);
        if i == holes.len() || holes[i].0 > e {
            out.push(n.trunc());
            continue;
        }
        // The first address not yet kept nor removed; `None` past the top
        // of the space.
        let mut cursor = Some(s);
        while let (Some(c), Some(&(hs, he))) = (cursor, holes.get(i)) {
            if hs > e {
                break;
            }
            if hs > c {
                N::push_range(&mut out, c, hs - 1);
            }
            cursor = he.checked_add(1).map(|after| after.max(c));
            i += 1;
        }
        if let Some(c) = cursor.filter(|&c| c <= e) {
            N::push_range(&mut out, c, e);
        }
    }
    out
}

/// Merge adjacent and nested prefixes into the fewest that cover exactly the
/// same addresses (ipnet's aggregate), sorted.
pub fn aggregate<N: Prefix>(set: &[N]) -> Vec<N> {
    N::aggregate(set)
}

/// The result of [`cap`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capped<N> {
    pub allow: Vec<N>,
    pub block: Vec<N>,
    pub allow_cut: Vec<N>,
    pub block_cut: Vec<N>,
    /// Entries before and after aggregation, when [`build`] aggregated.
    pub aggregated: Option<((usize, usize), (usize, usize))>,
}

/// Keep at most `max` entries in total: allow entries first (an allow entry
/// lost could block a partner), then block entries. Within a side, wider
/// prefixes are kept first, ties by address, so the cut is deterministic and
/// the most addresses stay covered. Kept entries come back sorted by address.
pub fn cap<N: Prefix>(allow: Vec<N>, block: Vec<N>, max: usize) -> Capped<N> {
    fn keep<N: Prefix>(mut v: Vec<N>, budget: usize) -> (Vec<N>, Vec<N>) {
        if v.len() <= budget {
            v.sort_unstable();
            return (v, Vec::new());
        }
        v.sort_unstable_by_key(|n| (n.prefix_len(), n.first()));
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
        aggregated: None,
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
    fn net6(s: &str) -> Ipv6Net {
        s.parse().unwrap()
    }
    fn nets6(v: &[&str]) -> Vec<Ipv6Net> {
        v.iter().map(|s| net6(s)).collect()
    }
    /// Prefixes of either family, as `protect:` and the report hold them.
    fn ips(v: &[&str]) -> Vec<IpNet> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }
    /// An address as [`ranges`] numbers it.
    fn at(a: IpAddr) -> u128 {
        match a {
            IpAddr::V4(a) => u128::from(u32::from(a)),
            IpAddr::V6(a) => u128::from(a),
        }
    }

    fn list(name: &str, prefixes: &[&str], excluded: &[&str]) -> ListSnapshot {
        let e = |p: &&str| Entry {
            prefix: p.parse().unwrap(),
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
        assert_eq!(d.report.canonicalised[0].used, net("10.1.0.0/16").into());
        assert_eq!(d.report.too_broad[0].prefix, net("12.0.0.0/7").into());
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
            protect: ips(&["10.0.0.0/9"]),
            max_policy_size: Some(4),
            ..policy(&["b"], &["a"])
        };
        let d = build(&snap, &p, None, false, &[], false).unwrap();
        assert_eq!(d.allow, nets(&["40.0.0.1/32", "40.0.0.3/32"]));
        // 10.128.0.0/9 (what protect left), 30.0.0.0/16 and 20.0.0.0/24 compete
        // for 2 slots: the widest win.
        assert_eq!(d.block, nets(&["10.128.0.0/9", "30.0.0.0/16"]));
        assert_eq!(d.report.capped_block, nets(&["20.0.0.0/24"]));
        assert_eq!(d.report.protected, ips(&["10.0.0.0/8"]));
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
            protect: ips(&["192.0.2.0/25"]),
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
        let hits: Vec<(&str, IpNet, String)> = d
            .report
            .own_protected
            .iter()
            .map(|h| (h.list.as_str(), h.prefix, h.address.to_string()))
            .collect();
        assert_eq!(
            hits,
            [
                ("b1", net("20.0.0.1/32").into(), "20.0.0.1".to_string()),
                ("b1", net("127.0.0.0/8").into(), "127.0.0.1".to_string()),
                ("b2", net("127.0.0.1/32").into(), "127.0.0.1".to_string()),
            ]
        );
        assert_eq!(
            d.report.own_protected[1].to_string(),
            "block list b1 has 127.0.0.0/8, which covers 127.0.0.1 (management address of \
             rtr-001): that address is not blocked"
        );
        assert_eq!(d.report.protected, ips(&["192.0.2.0/24"]));
        let blocked = ranges(&d.block);
        for o in &own {
            assert!(!in_ranges(&blocked, at(o.address)), "{o:?} blocked");
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
        assert!(in_ranges(&ranges(&plain.block), at(own[0].address)));
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

    #[test]
    fn ipv6_set_operations_hold_at_the_top_and_bottom_of_the_space() {
        let all = nets6(&["::/0"]);
        let top = nets6(&["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"]);
        let cut = subtract(&all, &top);
        assert_eq!(cut.len(), 128);
        assert_eq!(ranges(&cut), [(0, u128::MAX - 1)]);
        assert_eq!(subtract(&all, &nets6(&["::/128"])).len(), 128);
        assert!(subtract(&top, &all).is_empty());
        assert!(subtract(&all, &all).is_empty());
        assert_eq!(
            subtract(&all, &nets6(&["::/1", "ffff::/16"])),
            nets6(&[
                "8000::/2",
                "c000::/3",
                "e000::/4",
                "f000::/5",
                "f800::/6",
                "fc00::/7",
                "fe00::/8",
                "ff00::/9",
                "ff80::/10",
                "ffc0::/11",
                "ffe0::/12",
                "fff0::/13",
                "fff8::/14",
                "fffc::/15",
                "fffe::/16"
            ])
        );
        // Adjacent at the top: merged, no overflow.
        assert_eq!(
            ranges(&nets6(&["8000::/1", "::/1", "ffff::/16"])),
            [(0, u128::MAX)]
        );
        assert_eq!(dedupe(nets6(&["ffff::/16", "::/0", "::/0"])), all);
        assert_eq!(aggregate(&nets6(&["8000::/1", "::/1"])), all);
        let capped = cap(nets6(&["2001:db8::/32"]), nets6(&["::/1", "8000::/1"]), 2);
        assert_eq!(capped.block_cut.len(), 1);
    }

    #[test]
    fn link_local_multicast_unspecified_and_loopback_ipv6_are_never_blocked() {
        // A hostile or broken list naming what neighbour discovery and
        // routing protocols use: the block side keeps the rest only.
        let snap = Snapshot::new(
            vec![],
            vec![list(
                "b",
                &[
                    "10.0.0.0/8",
                    "fe80::/16",
                    "ff02::/16",
                    "::/96",
                    "2001:db8::/32",
                ],
                &[],
            )],
        );
        let mut p = policy(&["b"], &[]);
        p.min_prefix_len_v6 = Some(16);
        let d = build(&snap, &p, None, false, &[], true).unwrap();
        let blocked = |a: &str| {
            let a: std::net::Ipv6Addr = a.parse().unwrap();
            d.block_v6.iter().any(|n| n.contains(&a))
        };
        for kept in ["fe80::1", "ff02::5", "ff02::1:ff00:1", "::", "::1"] {
            assert!(!blocked(kept), "{kept} blocked: {:?}", d.block_v6);
        }
        assert!(blocked("::2") && blocked("2001:db8::1"), "{:?}", d.block_v6);
        let cut: Vec<String> = d.report.protected.iter().map(ToString::to_string).collect();
        assert_eq!(cut, ["::/96", "fe80::/16", "ff02::/16"], "reported");
        assert_eq!(d.block, nets(&["10.0.0.0/8"]), "IPv4 unchanged");
    }

    #[test]
    fn ipv6_items_go_through_the_same_steps_as_ipv4() {
        let snap = Snapshot::new(
            vec![],
            vec![
                list(
                    "b",
                    &[
                        "10.0.0.0/8",
                        // Host bits set.
                        "2001:db8:0:1::1/48",
                        // Below the default IPv6 floor of /16.
                        "2000::/12",
                        "2001:db8:100::/40",
                        "2001:db8:200::/40",
                        "2001:db8:300::/40",
                        // Inside 2001:db8:100::/40: redundant.
                        "2001:db8:100:1::/64",
                    ],
                    // Carves only its own family.
                    &["2001:db8:280::/41", "10.128.0.0/9"],
                ),
                list("a", &["2001:db8:ffff::/48", "192.0.2.1/32"], &[]),
            ],
        );
        let p = Policy {
            protect: ips(&["2001:db8:300::/41", "10.1.0.0/16"]),
            ..policy(&["b"], &["a"])
        };
        let own = [
            own("2001:db8:100::22", "management address of rtr-006"),
            own("10.2.0.1", "DNS server"),
        ];
        let d = build(&snap, &p, None, false, &own, true).unwrap();
        assert_eq!(d.allow_v6, nets6(&["2001:db8:ffff::/48"]));
        assert_eq!(d.allow, nets(&["192.0.2.1/32"]));
        let expected = subtract(
            &nets6(&[
                "2001:db8::/48",
                "2001:db8:100::/40",
                "2001:db8:200::/41",
                "2001:db8:380::/41",
            ]),
            &nets6(&["2001:db8:100::22/128"]),
        );
        assert_eq!(d.block_v6, expected);
        assert!(
            d.block_v6
                .iter()
                .all(|n| !n.contains(&"2001:db8:100::22".parse::<Ipv6Addr>().unwrap()))
        );
        assert_eq!(
            ranges(&d.block),
            ranges(&subtract(
                &nets(&["10.0.0.0/9"]),
                &nets(&["10.1.0.0/16", "10.2.0.1/32"])
            ))
        );
        let r = &d.report;
        assert!(
            r.canonicalised
                .iter()
                .any(|c| c.used == "2001:db8::/48".parse().unwrap())
        );
        assert_eq!(r.too_broad.len(), 1);
        assert_eq!(r.too_broad[0].prefix, "2000::/12".parse().unwrap());
        assert_eq!(r.excluded, 2);
        assert_eq!(r.redundant, 1);
        assert_eq!(r.protected, ips(&["10.0.0.0/9", "2001:db8:300::/40"]));
        let hits: Vec<String> = r.own_protected.iter().map(|h| h.to_string()).collect();
        assert_eq!(hits.len(), 2, "{hits:?}");
        assert!(
            hits.iter()
                .any(|h| h.contains("2001:db8:100::/40, which covers 2001:db8:100::22")),
            "{hits:?}"
        );
        assert_eq!(r.ipv6_not_carried, 0);

        // A floor of /8 lets 2000::/12 through.
        let wide = Policy {
            min_prefix_len_v6: Some(8),
            ..p.clone()
        };
        let d = build(&snap, &wide, None, false, &own, true).unwrap();
        assert!(d.report.too_broad.is_empty());
        assert!(in_ranges(
            &ranges(&d.block_v6),
            at("2000::1".parse().unwrap())
        ));
        let bad = Policy {
            min_prefix_len_v6: Some(129),
            ..p.clone()
        };
        assert!(matches!(
            build(&snap, &bad, None, false, &own, true),
            Err(PolicyError::Invalid(m)) if m.contains("min_prefix_len_v6")
        ));
    }

    #[test]
    fn without_ipv6_the_ipv6_items_are_counted_once_and_nothing_else() {
        let snap = Snapshot::new(
            vec![],
            vec![list(
                "b",
                &["10.0.0.0/8", "2001:db8::/32", "2001:db9::/32", "2000::/3"],
                &["2001:db8:1::/48"],
            )],
        );
        let p = policy(&["b"], &[]);
        let d = build(&snap, &p, None, false, &[], false).unwrap();
        assert!(d.block_v6.is_empty() && d.allow_v6.is_empty());
        assert_eq!(d.block, nets(&["10.0.0.0/8"]));
        assert_eq!(d.report.ipv6_not_carried, 4);
        let both = build(&snap, &policy(&["b"], &["b"]), None, false, &[], false).unwrap();
        assert_eq!(
            both.report.ipv6_not_carried, 4,
            "a list named twice counts once"
        );
        // Nothing about them in the report: no floor, no exclusion counted.
        assert!(d.report.too_broad.is_empty());
        assert_eq!((d.report.excluded, d.report.skipped), (0, 0));
        // With IPv6 they are built.
        let d = build(&snap, &p, None, false, &[], true).unwrap();
        assert_eq!(d.report.ipv6_not_carried, 0);
        assert_eq!(d.block_v6.len(), 16 + 1, "{:?}", d.block_v6);
    }

    #[test]
    fn the_cap_counts_each_family_on_its_own_allow_first() {
        let snap = Snapshot::new(
            vec![],
            vec![
                list(
                    "b",
                    &[
                        "10.0.0.0/8",
                        "11.0.0.0/24",
                        "2001:db8::/32",
                        "2001:db9::/48",
                        "2001:dba::/64",
                    ],
                    &[],
                ),
                list(
                    "a",
                    &[
                        "192.0.2.1/32",
                        "2001:db8:ffff::1/128",
                        "2001:db8:ffff::3/128",
                    ],
                    &[],
                ),
            ],
        );
        let p = Policy {
            max_policy_size: Some(3),
            ..policy(&["b"], &["a"])
        };
        let d = build(&snap, &p, None, false, &[], true).unwrap();
        assert_eq!(d.allow.len() + d.block.len(), 3, "IPv4 alone fits");
        assert!(d.report.capped_allow.is_empty() && d.report.capped_block.is_empty());
        assert_eq!(d.allow_v6.len(), 2, "allow first");
        assert_eq!(
            d.block_v6,
            nets6(&["2001:db8::/32"]),
            "the widest block entry"
        );
        assert_eq!(
            d.report.capped_block_v6,
            nets6(&["2001:db9::/48", "2001:dba::/64"])
        );
        assert!(d.report.capped_allow_v6.is_empty());
        assert_eq!(d.report.capped(), 2);
    }

    #[test]
    fn the_shrink_guard_counts_each_family_against_its_own_baseline() {
        let v6 =
            |n: usize| -> Vec<String> { (0..n).map(|i| format!("2001:db8:{i:x}::/48")).collect() };
        let with = |v4: &[&str], v6: &[String]| {
            let mut all: Vec<&str> = v4.to_vec();
            all.extend(v6.iter().map(String::as_str));
            Snapshot::new(vec![], vec![list("b", &all, &[])])
        };
        let prev = with(&["1.0.0.0/8"], &v6(800));
        let prev = Baseline::of_snapshot(&prev, "the snapshot prev.json");
        assert_eq!(
            (prev.lists["b"].prefixes, prev.lists_v6["b"].prefixes),
            (1, 800)
        );
        // The IPv4 part grew, the IPv6 part went from 800 to 10.
        let now = with(&["1.0.0.0/8", "2.0.0.0/8"], &v6(10));
        let p = policy(&["b"], &[]);
        let err = build(&now, &p, Some(&prev), false, &[], true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "list b's IPv6 prefixes shrank from 800 to 10 since the snapshot prev.json, more \
             than max_shrink 0.5 allows; if the list is right, --allow-shrink accepts it"
        );
        let d = build(&now, &p, Some(&prev), true, &[], true).unwrap();
        assert_eq!(d.report.shrink_overridden, ["b"]);
        // Built without IPv6, the IPv6 part is not guarded.
        assert!(build(&now, &p, Some(&prev), false, &[], false).is_ok());
        // An IPv4 shrink names IPv4.
        let prev4 =
            Baseline::of_snapshot(&with(&["1.0.0.0/8", "2.0.0.0/8", "3.0.0.0/8"], &[]), "x");
        assert!(
            build(&now, &p, Some(&prev4), false, &[], true).is_ok(),
            "3 to 2 is within 0.5"
        );
        let one = with(&["1.0.0.0/8"], &v6(10));
        let err = build(&one, &p, Some(&prev4), false, &[], true).unwrap_err();
        assert!(
            matches!(
                err,
                PolicyError::Shrink {
                    family: Family::Ipv4,
                    previous: 3,
                    now: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("list b's IPv4 prefixes shrank from 3 to 1"),
            "{err}"
        );
        // No IPv6 baseline (an IPv4-only record): the IPv6 part passes.
        let no_v6 = Baseline {
            lists_v6: BTreeMap::new(),
            ..prev.clone()
        };
        assert!(build(&now, &p, Some(&no_v6), false, &[], true).is_ok());
    }

    #[test]
    fn a_block_list_of_ipv6_prefixes_only_is_refused_unless_ipv6_is_built() {
        let snap = Snapshot::new(vec![], vec![list("b", &["2001:db8::/32"], &[])]);
        let p = policy(&["b"], &[]);
        let err = build(&snap, &p, None, false, &[], false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "block list b came back with no IPv4 prefix (only 1 IPv6 one); refusing to \
             unblock everything (--allow-shrink accepts it)"
        );
        let d = build(&snap, &p, None, false, &[], true).unwrap();
        assert_eq!(d.block_v6, nets6(&["2001:db8::/32"]));
        assert!(d.block.is_empty());
        let empty = Snapshot::new(vec![], vec![list("b", &[], &[])]);
        assert!(matches!(
            build(&empty, &p, None, false, &[], true),
            Err(PolicyError::EmptyList { ipv6: 0, .. })
        ));
        // An IPv4 list without IPv6 items is ordinary, with IPv6 built.
        let v4 = Snapshot::new(vec![], vec![list("b", &["10.0.0.0/8"], &[])]);
        assert!(build(&v4, &p, None, false, &[], true).is_ok());
    }

    /// Prefixes in a small space (10.0.0.0/16) so that they overlap often.
    fn small_net() -> impl Strategy<Value = Ipv4Net> + Clone {
        (0u32..65536, 16u8..=32).prop_map(|(a, len)| {
            Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 | a), len)
                .unwrap()
                .trunc()
        })
    }

    /// The small IPv4 space, numbered as [`ranges`] numbers it.
    const SPACE: [u128; 1] = [0x0a00_0000];
    /// IPv6: 2001:db8::/112, and the very top of the space, where `last + 1`
    /// overflows.
    const SPACE_V6: [u128; 2] = [0x2001_0db8 << 96, u128::MAX - 0xffff];

    /// IPv6 prefixes in one of the [`SPACE_V6`] /112s.
    fn small_net6() -> impl Strategy<Value = Ipv6Net> + Clone {
        (any::<bool>(), 0u128..65536, 112u8..=128).prop_map(|(top, a, len)| {
            let base = SPACE_V6[usize::from(top)];
            Ipv6Net::new(Ipv6Addr::from(base | a), len).unwrap().trunc()
        })
    }

    /// Reference implementation of `a` minus `b` over the 65,536 addresses
    /// from each of `spaces`, address by address.
    fn minus(a: &[(u128, u128)], b: &[(u128, u128)], spaces: &[u128]) -> Vec<(u128, u128)> {
        let inside = |r: &[(u128, u128)], x: u128| r.iter().any(|&(s, e)| s <= x && x <= e);
        let mut out: Vec<(u128, u128)> = Vec::new();
        for x in spaces
            .iter()
            .flat_map(|&base| (0..=0xffffu128).map(move |a| base | a))
        {
            if inside(a, x) && !inside(b, x) {
                match out.last_mut() {
                    Some((_, e)) if *e + 1 == x => *e = x,
                    _ => out.push((x, x)),
                }
            }
        }
        out
    }

    /// Aggregation and dedupe keep the covered addresses; subtract is exact.
    fn set_operations_hold<N: Prefix>(
        set: &[N],
        remove: &[N],
        spaces: &[u128],
    ) -> Result<(), TestCaseError> {
        let agg = aggregate(set);
        prop_assert_eq!(ranges(&agg), ranges(set));
        prop_assert!(agg.len() <= dedupe(set.to_vec()).len());
        prop_assert_eq!(ranges(&dedupe(set.to_vec())), ranges(set));
        let out = subtract(set, remove);
        prop_assert_eq!(ranges(&out), minus(&ranges(set), &ranges(remove), spaces));
        Ok(())
    }

    /// One family's side of [`build`]: (allow, block, entries cut).
    type Sides<N> = fn(&DevicePolicy) -> (Vec<N>, Vec<N>, usize);

    /// One policy for [`build_holds`]: its lists, protected prefixes and
    /// own addresses drawn from `net`.
    #[derive(Debug)]
    struct Case<N> {
        block: Vec<N>,
        allow: Vec<N>,
        protect: Vec<N>,
        own: Vec<IpAddr>,
        max: usize,
        aggregate: bool,
    }

    fn case<N: Prefix>(net: impl Strategy<Value = N> + Clone) -> impl Strategy<Value = Case<N>> {
        use proptest::collection::vec;
        let own = vec(net.clone().prop_map(|n| n.into().addr()), 0..5);
        let sets = (
            vec(net.clone(), 0..80),
            vec(net.clone(), 0..30),
            vec(net, 0..5),
        );
        (sets, own, 0usize..60, any::<bool>()).prop_map(
            |((block, allow, protect), own, max, aggregate)| Case {
                block,
                allow,
                protect,
                own,
                max,
                aggregate,
            },
        )
    }

    /// [`build`] keeps family `N`'s pair of groups within the cap, never
    /// blocks an own address nor overlaps a `protect:` prefix, and
    /// aggregation changes no address.
    fn build_holds<N: Prefix>(
        c: Case<N>,
        ipv6: bool,
        sides: Sides<N>,
    ) -> Result<(), TestCaseError> {
        let Case {
            block,
            allow,
            protect,
            own,
            max,
            aggregate,
        } = c;
        let strs = |v: &[N]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let (mut b, a) = (strs(&block), strs(&allow));
        // One always-present IPv4 prefix so the empty-block guard stays out of the way.
        b.push("192.0.2.0/24".into());
        let b: Vec<&str> = b.iter().map(String::as_str).collect();
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let snap = Snapshot::new(vec![], vec![list("b", &b, &[]), list("a", &a, &[])]);
        let p = Policy {
            protect: protect.iter().map(|&p| p.into()).collect(),
            max_policy_size: Some(max),
            aggregate: Some(aggregate),
            ..policy(&["b"], &["a"])
        };
        let own: Vec<OwnAddress> = (own.into_iter())
            .map(|address| OwnAddress {
                address,
                role: "own".into(),
            })
            .collect();
        let d = build(&snap, &p, None, false, &own, ipv6).unwrap();
        let (allow, block, cut) = sides(&d);
        prop_assert!(block.len() + allow.len() <= max);
        let blocked = ranges(&block);
        for o in &own {
            prop_assert!(
                !in_ranges(&blocked, at(o.address)),
                "own {} blocked",
                o.address
            );
        }
        for entry in &block {
            for p in &protect {
                prop_assert!(!overlaps(entry, p), "{} overlaps protected {}", entry, p);
            }
        }
        if aggregate && cut == 0 {
            let unlimited = Policy {
                aggregate: Some(false),
                max_policy_size: Some(usize::MAX),
                ..p.clone()
            };
            let plain = sides(&build(&snap, &unlimited, None, false, &own, ipv6).unwrap());
            prop_assert_eq!(ranges(&block), ranges(&plain.1));
            prop_assert_eq!(ranges(&allow), ranges(&plain.0));
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn set_operations_keep_the_covered_addresses(
            set in proptest::collection::vec(small_net(), 0..60),
            remove in proptest::collection::vec(small_net(), 0..10),
        ) {
            set_operations_hold(&set, &remove, &SPACE)?;
        }

        #[test]
        fn ipv6_set_operations_keep_the_covered_addresses(
            set in proptest::collection::vec(small_net6(), 0..60),
            remove in proptest::collection::vec(small_net6(), 0..10),
        ) {
            set_operations_hold(&set, &remove, &SPACE_V6)?;
        }

        #[test]
        fn build_never_exceeds_the_cap_nor_blocks_protected_addresses(c in case(small_net())) {
            let sides: Sides<Ipv4Net> = |d| (d.allow.clone(), d.block.clone(), d.report.capped());
            build_holds(c, false, sides)?;
        }

        #[test]
        fn build_caps_each_family_and_never_blocks_protected_ipv6_addresses(c in case(small_net6())) {
            let sides: Sides<Ipv6Net> = |d| {
                let cut = d.report.capped_allow_v6.len() + d.report.capped_block_v6.len();
                (d.allow_v6.clone(), d.block_v6.clone(), cut)
            };
            build_holds(c, true, sides)?;
        }
    }
}
