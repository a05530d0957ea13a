//! Micro benchmarks of the pure, CPU-bound steps between a list server and a
//! router, each on the project's own public functions at realistic sizes:
//!
//! - `apl_decode`: decoding 30,000 APL items, split into the records and
//!   sub-lists the list server publishes ([`tsfleet::lists::apl::decode`]);
//! - `parse_group`: parsing `show object-group name G` output of a
//!   30,000-entry group as the simulator prints it, entries in address order
//!   (as tsfleet pushes them) and in scattered order
//!   ([`tsfleet::device::ios::parse_group`]);
//! - `diff`: the diff of two 1,000,000-entry sets that share 99% of their
//!   entries ([`tsfleet::plan::diff`]);
//! - `aggregate`: aggregating 1,000,000 prefixes, runs of adjacent /32s
//!   among scattered prefixes ([`tsfleet::lists::policy::aggregate`]).
//!
//! Run with `cargo bench --bench micro` (about a minute on two cores); add
//! a filter to run one group, e.g. `cargo bench --bench micro -- diff`
//! (every group's inputs are still built, a few seconds). Throughput is reported in elements (items, entries, prefixes) per
//! second. Inputs are built deterministically, outside the timed loops.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnet::{IpNet, Ipv4Net};
use std::collections::BTreeSet;
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Duration;
use tsfleet::device::ios;
use tsfleet::domain::Family;
use tsfleet::lists::apl::{self, AplItem, AplPrefix};
use tsfleet::lists::policy;
use tsfleet::plan;
use tsfleet::sim::cli::object_groups;
use tsfleet::sim::device::{Config, Entry, ObjectGroup};
use tsfleet::sim::list_server::{RECORD_ITEMS, SUBLIST_ITEMS};

/// Items of one list as a DNS answer carries them (group `apl_decode`).
const APL_ITEMS: u32 = 30_000;
/// Entries of the object-group (group `parse_group`).
const GROUP_ENTRIES: u32 = 30_000;
/// Entries of each set (group `diff`).
const DIFF_ENTRIES: u32 = 1_000_000;
/// Entries in one set but not the other: 1% churn each way.
const DIFF_CHURN: u32 = DIFF_ENTRIES / 100;
/// Prefixes given to `aggregate` (group `aggregate`).
const AGGREGATE_PREFIXES: usize = 1_000_000;

/// The object-group name tsfleet manages by default.
const GROUP: &str = "threatstop-block";

/// An odd multiplier: `x * SCATTER` is a bijection on `u32` (and, masked,
/// on the low `n` bits), so distinct indexes give distinct addresses spread
/// over the whole address space.
const SCATTER: u32 = 0x9E37_79B1;

/// The `i`-th prefix of a block list: 19 in 20 are /32 hosts, the rest
/// networks of /16 to /24 (host bits clear). Distinct for distinct `i` (up
/// to millions), so sets built from index ranges have exactly that size.
fn list_prefix(i: u32) -> Ipv4Net {
    if i % 20 != 19 {
        return Ipv4Net::new(Ipv4Addr::from(i.wrapping_mul(SCATTER)), 32).unwrap();
    }
    let k = i / 20;
    let len = 16 + (k % 9) as u8;
    // The `j`-th network of this length: a bijection on its `len` bits.
    let j = k / 9;
    let bits = j.wrapping_mul(SCATTER) & ((1u32 << len) - 1);
    Ipv4Net::new(Ipv4Addr::from(bits << (32 - len)), len).unwrap()
}

/// Group 1: APL RDATA of 30,000 items, laid out as `sim::list_server` serves
/// a list: sub-lists of at most `SUBLIST_ITEMS` items, each answered as APL
/// records of at most `RECORD_ITEMS` items. Decoding mirrors
/// `lists::dns::fetch_sublist`: every record of a sub-list is decoded and
/// appended to that sub-list's items.
fn apl_decode(c: &mut Criterion) {
    let items: Vec<AplItem> = (0..APL_ITEMS)
        .map(|i| AplItem {
            negated: false,
            prefix: AplPrefix::V4(list_prefix(i)),
        })
        .collect();
    let sublists: Vec<Vec<Vec<u8>>> = items
        .chunks(SUBLIST_ITEMS)
        .map(|sub| sub.chunks(RECORD_ITEMS).map(apl::encode).collect())
        .collect();
    let largest = sublists.iter().flatten().map(Vec::len).max().unwrap_or(0);
    assert!(
        largest <= usize::from(u16::MAX),
        "an RDATA is {largest} bytes"
    );
    let decode_all = |sublists: &[Vec<Vec<u8>>]| -> Vec<Vec<AplItem>> {
        sublists
            .iter()
            .map(|records| {
                let mut items = Vec::new();
                for rdata in records {
                    items.extend(apl::decode(rdata).expect("valid APL"));
                }
                items
            })
            .collect()
    };
    assert_eq!(decode_all(&sublists).concat(), items);

    let mut group = c.benchmark_group("apl_decode");
    group.throughput(Throughput::Elements(u64::from(APL_ITEMS)));
    let records: usize = sublists.iter().map(Vec::len).sum();
    group.bench_function(
        format!(
            "{APL_ITEMS}_items_{}_sublists_{records}_records",
            sublists.len()
        ),
        |b| b.iter(|| decode_all(black_box(&sublists))),
    );
    group.finish();
}

/// The simulator's entry for a prefix (`host A` or `A MASK`).
fn sim_entry(net: Ipv4Net) -> Entry {
    if net.prefix_len() == 32 {
        Entry::Host(net.addr())
    } else {
        Entry::Network(net.network(), net.netmask())
    }
}

/// Group 2: `show object-group name threatstop-block` on a device holding
/// 30,000 entries, rendered by the simulator's own `show` code, parsed as
/// tsfleet parses a device's reply (the shell has already removed `\r`).
///
/// Two entry orders: `sorted` is what a first sync by tsfleet leaves (it
/// adds entries in address order, and IOS lists them in the order added);
/// `scattered` is a group built in no particular order, e.g. by hand.
fn parse_group(c: &mut Criterion) {
    let prefixes: Vec<Ipv4Net> = (0..GROUP_ENTRIES).map(list_prefix).collect();
    let mut sorted = prefixes.clone();
    sorted.sort_unstable();
    let show = |order: &[Ipv4Net]| {
        let config = Config {
            groups: vec![ObjectGroup {
                name: GROUP.into(),
                description: None,
                entries: order.iter().copied().map(sim_entry).collect(),
            }],
            acls: Vec::new(),
            ..Config::default()
        };
        let output = object_groups(&config, Some(GROUP));
        let parsed = ios::parse_group(&output, GROUP, Family::Ipv4).expect("parses");
        assert_eq!(parsed.managed.len(), GROUP_ENTRIES as usize);
        assert!(parsed.unmanaged.is_empty());
        output
    };

    let mut group = c.benchmark_group("parse_group");
    group.throughput(Throughput::Elements(u64::from(GROUP_ENTRIES)));
    for (order, entries) in [("sorted", &sorted), ("scattered", &prefixes)] {
        let output = show(entries);
        group.bench_function(
            format!("{GROUP_ENTRIES}_entries_{order}_{}_bytes", output.len()),
            |b| {
                b.iter(|| {
                    ios::parse_group(black_box(&output), GROUP, Family::Ipv4).expect("parses")
                })
            },
        );
    }
    group.finish();
}

/// Group 3: the device holds entries `0..N`, the list now says
/// `CHURN..N + CHURN`: 1% to remove, 1% to add, scattered over the range.
/// Both sets are built once; the benchmark times only the diff.
fn diff(c: &mut Criterion) {
    let current: BTreeSet<IpNet> = (0..DIFF_ENTRIES).map(|i| list_prefix(i).into()).collect();
    let desired: BTreeSet<IpNet> = (DIFF_CHURN..DIFF_ENTRIES + DIFF_CHURN)
        .map(|i| list_prefix(i).into())
        .collect();
    assert_eq!(current.len(), DIFF_ENTRIES as usize);
    assert_eq!(desired.len(), DIFF_ENTRIES as usize);
    let d = plan::diff(&current, &desired);
    assert_eq!(d.add.len(), DIFF_CHURN as usize);
    assert_eq!(d.remove.len(), DIFF_CHURN as usize);
    assert_eq!(d.kept, (DIFF_ENTRIES - DIFF_CHURN) as usize);

    let mut group = c.benchmark_group("diff");
    // Elements: the entries of both sets, each visited by the diff.
    group.throughput(Throughput::Elements(2 * u64::from(DIFF_ENTRIES)));
    group.bench_function(
        format!("{DIFF_ENTRIES}_vs_{DIFF_ENTRIES}_entries_1pct_churn"),
        |b| b.iter(|| plan::diff(black_box(&current), black_box(&desired))),
    );
    group.finish();
}

/// Aggregation input: blocks of addresses, each in its own /24. Nine in ten
/// blocks are runs of 1 to 16 adjacent /32s (some starting aligned, so they
/// merge into /31../28, some not); one in ten is a single /16../24 network.
/// Passed through `policy::dedupe` first, as `policy::build` does before it
/// aggregates, so the input is sorted and free of nested prefixes.
fn aggregate_input() -> Vec<Ipv4Net> {
    let mut raw = Vec::with_capacity(AGGREGATE_PREFIXES + AGGREGATE_PREFIXES / 10);
    let mut block = 0u32;
    // Some prefixes fall inside a network of another block and are dropped
    // by dedupe: make a few more, then keep the first N.
    while raw.len() < AGGREGATE_PREFIXES + AGGREGATE_PREFIXES / 20 {
        // A bijection on the 24 high bits: every block gets its own /24.
        let base = (block.wrapping_mul(SCATTER) & 0x00FF_FFFF) << 8;
        if block.is_multiple_of(10) {
            let len = 16 + ((block / 10) % 9) as u8;
            raw.push(Ipv4Net::new(Ipv4Addr::from(base), len).unwrap().trunc());
        } else {
            let run = 1 + (block.wrapping_mul(7) % 16);
            // Even blocks start aligned to 16, odd ones anywhere in the /24.
            let start = if block.is_multiple_of(2) {
                (block % 15) * 16
            } else {
                block.wrapping_mul(13) % (256 - run)
            };
            raw.extend(
                (start..start + run).map(|o| Ipv4Net::new(Ipv4Addr::from(base + o), 32).unwrap()),
            );
        }
        block += 1;
    }
    let mut set = policy::dedupe(raw);
    assert!(
        set.len() >= AGGREGATE_PREFIXES,
        "only {} prefixes",
        set.len()
    );
    set.truncate(AGGREGATE_PREFIXES);
    set
}

/// Group 4: aggregate 1,000,000 sorted prefixes.
fn aggregate(c: &mut Criterion) {
    let set = aggregate_input();
    let merged = policy::aggregate(&set);
    assert!(merged.len() < set.len());

    let mut group = c.benchmark_group("aggregate");
    group.throughput(Throughput::Elements(set.len() as u64));
    group.bench_function(format!("{}_prefixes_to_{}", set.len(), merged.len()), |b| {
        b.iter(|| policy::aggregate(black_box(&set)))
    });
    group.finish();
}

/// Few samples and short measurements: these inputs are large, and the
/// whole run should stay within a couple of minutes on two cores.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8))
}

criterion_group! {
    name = benches;
    config = config();
    targets = apl_decode, parse_group, diff, aggregate
}
criterion_main!(benches);
