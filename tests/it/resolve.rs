//! `tsfleet resolve` against a real NSD: the ThreatSTOP list layout (PTR →
//! sub-lists → APL, A/TXT fallbacks), oversize answers, failover, and the
//! exit codes of the real binary.

use crate::harness::{self, Zone, fake_dns, nsd::Nsd, prefixes};
use ipnet::Ipv4Net;
use std::collections::BTreeSet;
use tsfleet::lists::{self, ListsError, Snapshot};

const BLOCK: &str = "corp-block.acme.threatstop.local";

/// 30,000 prefixes over 10 PTR sub-lists of 3,000 (about 25 KB per answer).
fn big_zone() -> (Zone, Vec<Ipv4Net>) {
    let all = prefixes(30_000, 42);
    let sublists: Vec<String> = (0..10)
        .map(|i| format!("s{i:02}.corp-block.acme"))
        .collect();
    let mut zone = Zone::new().ptrs("corp-block.acme", &sublists);
    for (i, chunk) in all.chunks(3_000).enumerate() {
        let items: Vec<String> = chunk.iter().map(|p| format!("1:{p}")).collect();
        zone = zone.apl(&sublists[i], &items);
    }
    (zone, all)
}

async fn resolve(yaml: &str) -> Result<lists::Resolution, ListsError> {
    let inventory = tsfleet::inventory::parse(yaml).expect("inventory parses");
    lists::resolve(&inventory).await
}

fn prefix_set(snapshot: &Snapshot, list: &str) -> BTreeSet<Ipv4Net> {
    snapshot
        .list(list)
        .expect("list in snapshot")
        .prefixes
        .iter()
        .filter_map(|e| match e.prefix {
            ipnet::IpNet::V4(n) => Some(n),
            ipnet::IpNet::V6(_) => None,
        })
        .collect()
}

#[tokio::test]
async fn resolves_30000_prefixes_from_ptr_sublists_over_tcp_exactly() {
    let (zone, expected) = big_zone();
    let nsd = Nsd::start(&zone);
    let yaml = harness::inventory(
        &["127.0.0.1".into()],
        nsd.port,
        "tcp",
        &["corp-block.acme"],
        &[],
    );
    let r = resolve(&yaml).await.expect("resolves");
    let list = r.snapshot.list(BLOCK).unwrap();
    assert_eq!(list.prefixes.len(), 30_000);
    assert_eq!(
        prefix_set(&r.snapshot, BLOCK),
        expected.into_iter().collect()
    );
    assert_eq!(list.sublists.len(), 10);
    assert!(
        list.sublists
            .iter()
            .all(|s| s.prefixes == 3_000 && s.record_type == "APL")
    );
    assert_eq!(list.record_types, ["PTR", "APL"]);
    assert_eq!(list.server, nsd.server());
    assert!(list.excluded.is_empty() && list.skipped.is_empty());
    // Each prefix names the sub-list it came from.
    let first = &list.sublists[0].name;
    assert_eq!(
        list.prefixes.iter().filter(|e| &e.sublist == first).count(),
        3_000
    );
}

#[tokio::test]
async fn udp_transport_retries_truncated_answers_over_tcp() {
    let (zone, expected) = big_zone();
    let nsd = Nsd::start(&zone);
    let yaml = harness::inventory(
        &["127.0.0.1".into()],
        nsd.port,
        "udp",
        &["corp-block.acme"],
        &[],
    );
    let r = resolve(&yaml).await.expect("resolves");
    assert_eq!(
        prefix_set(&r.snapshot, BLOCK),
        expected.into_iter().collect()
    );
}

#[tokio::test]
async fn a_and_txt_fallbacks() {
    let zone = Zone::new()
        .ptrs("mixed", &["m-apl".into(), "m-a".into(), "m-txt".into()])
        .line("m-apl IN APL 1:10.0.0.0/8")
        .line("m-a IN A 192.0.2.1")
        .line("m-a IN A 192.0.2.2")
        .line("m-txt IN TXT \"198.51.100.0/24 198.51.100.200\" \"203.0.113.9\"")
        .line("plain IN TXT \"203.0.113.0/25\"");
    let nsd = Nsd::start(&zone);
    let yaml = harness::inventory(
        &["127.0.0.1".into()],
        nsd.port,
        "tcp",
        &["mixed"],
        &["plain"],
    );
    let r = resolve(&yaml).await.expect("resolves");
    let mixed = r.snapshot.list("mixed.threatstop.local").unwrap();
    let kinds: Vec<(&str, &str, usize)> = mixed
        .sublists
        .iter()
        .map(|s| (s.name.as_str(), s.record_type.as_str(), s.prefixes))
        .collect();
    assert_eq!(
        kinds,
        [
            ("m-a.threatstop.local", "A", 2),
            ("m-apl.threatstop.local", "APL", 1),
            ("m-txt.threatstop.local", "TXT", 3),
        ]
    );
    assert_eq!(mixed.record_types, ["PTR", "APL", "A", "TXT"]);
    let got: Vec<String> = mixed
        .prefixes
        .iter()
        .map(|e| e.prefix.to_string())
        .collect();
    assert_eq!(
        got,
        [
            "10.0.0.0/8",
            "192.0.2.1/32",
            "192.0.2.2/32",
            "198.51.100.0/24",
            "198.51.100.200/32",
            "203.0.113.9/32"
        ]
    );
    // No PTR: the list is its own only sub-list.
    let plain = r.snapshot.list("plain.threatstop.local").unwrap();
    assert_eq!(plain.record_types, ["TXT"]);
    assert_eq!(plain.sublists.len(), 1);
    assert_eq!(plain.prefixes[0].prefix.to_string(), "203.0.113.0/25");
}

#[tokio::test]
async fn negated_items_ipv6_and_several_items_and_records_per_name() {
    let zone = Zone::new()
        .line("neg IN APL 1:10.0.0.0/8 !1:10.1.0.0/16 2:2001:db8::/32 1:192.0.2.0/24")
        .line("neg IN APL !2:2001:db8:1::/48 1:198.51.100.7/32 1:10.2.3.0/8");
    let nsd = Nsd::start(&zone);
    let yaml = harness::inventory(&["127.0.0.1".into()], nsd.port, "tcp", &["neg"], &[]);
    let r = resolve(&yaml).await.expect("resolves");
    let l = r.snapshot.list("neg.threatstop.local").unwrap();
    let got: Vec<String> = l.prefixes.iter().map(|e| e.prefix.to_string()).collect();
    // Host bits are kept as published (10.2.3.0/8); policy canonicalises.
    // IPv6 items are prefixes like the others (after IPv4 ones).
    assert_eq!(
        got,
        [
            "10.0.0.0/8",
            "10.2.3.0/8",
            "192.0.2.0/24",
            "198.51.100.7/32",
            "2001:db8::/32"
        ]
    );
    let excluded: Vec<String> = l.excluded.iter().map(|e| e.prefix.to_string()).collect();
    assert_eq!(excluded, ["10.1.0.0/16", "2001:db8:1::/48"]);
    assert!(l.skipped.is_empty());

    // And the policy carves the exclusion out, canonicalising with a report.
    let inv = tsfleet::inventory::parse(&yaml).unwrap();
    let d =
        lists::policy::build(&r.snapshot, &inv.policies["corp"], None, false, &[], false).unwrap();
    assert!(
        d.block
            .iter()
            .all(|p| !p.contains(&"10.1.0.1".parse::<std::net::Ipv4Addr>().unwrap()))
    );
    assert!(
        d.block
            .iter()
            .any(|p| p.contains(&"10.2.0.1".parse::<std::net::Ipv4Addr>().unwrap()))
    );
    assert_eq!(d.report.canonicalised.len(), 1);
    // Built without IPv6: its two IPv6 items are counted, not built.
    assert_eq!((d.report.skipped, d.report.ipv6_not_carried), (0, 2));
    assert!(d.block_v6.is_empty());
}

/// With an `ipv6: true` device on the policy, `resolve` builds and shows
/// the IPv6 side; without one it says the IPv6 items are not carried.
#[test]
fn resolve_shows_each_family_and_builds_ipv6_for_an_ipv6_device() {
    let zone = Zone::new().line(
        "dual IN APL 1:192.0.2.0/24 1:198.51.100.0/24 2:2001:db8::/32 2:2001:db9::/48 2:2000::/12 !2:2001:db8:1::/48",
    );
    let nsd = Nsd::start(&zone);
    let dir = tempfile::tempdir().unwrap();
    let yaml = harness::inventory(&["127.0.0.1".into()], nsd.port, "tcp", &["dual"], &[]);
    let device = |ipv6: bool| {
        format!(
            "devices:\n  - name: rtr-001\n    host: 127.0.0.1\n    username: u\n    password: p\n    policy: corp\n    ipv6: {ipv6}\n"
        )
    };
    let run = |ipv6: bool| {
        let text = yaml.replace("devices: []\n", &device(ipv6));
        assert_ne!(text, yaml, "{yaml}");
        std::fs::write(dir.path().join("inv.yaml"), text).unwrap();
        let out = harness::tsfleet(&["resolve", "-i", "inv.yaml", "--json", "-"], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        (report, stderr)
    };

    let (report, table) = run(true);
    let list = &report["lists"][0];
    assert_eq!(
        (&list["prefixes"], &list["prefixes_v6"]),
        (&2.into(), &3.into()),
        "{report:#}"
    );
    let p = &report["policies"][0];
    assert_eq!(p["ipv6"], true);
    // 2001:db8::/32 minus the /48 (16 prefixes) and 2001:db9::/48; 2000::/12
    // is below the /16 floor.
    assert_eq!(
        (&p["block"], &p["block_v6"]),
        (&2.into(), &17.into()),
        "{p:#}"
    );
    assert_eq!(p["too_broad"][0]["prefix"], "2000::/12");
    let header = table.lines().find(|l| l.starts_with("LIST")).unwrap();
    assert!(
        header.contains("IPV4") && header.contains("IPV6"),
        "{table}"
    );
    assert!(
        table.contains(
            "policy corp: 2 block, 0 allow entries (IPv4); 17 block, 0 allow entries (IPv6)"
        ),
        "{table}"
    );

    let (report, table) = run(false);
    let p = &report["policies"][0];
    assert_eq!(
        (&p["ipv6"], &p["block_v6"], &p["ipv6_not_carried"]),
        (&false.into(), &0.into(), &4.into())
    );
    assert!(
        table.contains("4 IPv6 items not carried: no device of this policy has `ipv6: true`"),
        "{table}"
    );
}

#[test]
fn oversize_sublist_fails_with_exit_3_naming_it() {
    // 9,000 /32 items (about 73 KB) cannot fit in one DNS message: NSD sets
    // TC even over TCP. The run must fail, not return a shorter list.
    let items: Vec<String> = prefixes(9_000, 7)
        .iter()
        .map(|p| format!("1:{}/32", p.addr()))
        .collect();
    let zone = Zone::new()
        .ptrs("huge", &["ok-part".into(), "too-big".into()])
        .line("ok-part IN APL 1:10.0.0.0/8")
        .apl("too-big", &items);
    let nsd = Nsd::start(&zone);
    let yaml = harness::inventory(&["127.0.0.1".into()], nsd.port, "tcp", &["huge"], &[]);
    std::fs::write(nsd.dir().join("inv.yaml"), yaml).unwrap();
    let out = harness::tsfleet(&["resolve", "-i", "inv.yaml", "-o", "snap.json"], nsd.dir());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("too-big.threatstop.local"), "{stderr}");
    assert!(stderr.contains("does not fit"), "{stderr}");
    assert!(stderr.contains("huge.threatstop.local"), "{stderr}");
    assert!(
        !nsd.dir().join("snap.json").exists(),
        "no snapshot on failure"
    );
}

#[tokio::test]
async fn unreachable_first_server_fails_over_to_the_second() {
    let nsd = Nsd::start(&Zone::new().line("one IN APL 1:192.0.2.0/24"));
    let dead = format!("127.0.0.1:{}", harness::dead_port());
    let yaml = harness::inventory(&[dead.clone(), nsd.server()], 53, "tcp", &["one"], &[]);
    let r = resolve(&yaml).await.expect("fails over");
    assert_eq!(
        r.snapshot.list("one.threatstop.local").unwrap().server,
        nsd.server()
    );
    assert_eq!(r.snapshot.servers, [dead.clone(), nsd.server()]);
    let failed = &r.fetched[0].failed_over;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].server, dead);
    assert!(
        failed[0].error.to_string().contains("refused"),
        "{}",
        failed[0].error
    );
}

#[test]
fn all_servers_down_exits_3_naming_list_servers_and_error() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (harness::dead_port(), harness::dead_port());
    let servers = [format!("127.0.0.1:{a}"), format!("127.0.0.1:{b}")];
    let yaml = harness::inventory(&servers, 53, "tcp", &["corp-block.acme"], &[]);
    std::fs::write(dir.path().join("inv.yaml"), yaml).unwrap();
    let out = harness::tsfleet(&["resolve", "-i", "inv.yaml"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot resolve list {BLOCK}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("servers tried: 127.0.0.1:{a}, 127.0.0.1:{b}")),
        "{stderr}"
    );
    assert!(stderr.contains("Connection refused"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn unknown_list_name_exits_3_with_a_clear_error() {
    let nsd = Nsd::start(&Zone::new().line("one IN APL 1:192.0.2.0/24"));
    let yaml = harness::inventory(
        &["127.0.0.1".into()],
        nsd.port,
        "tcp",
        &["one", "no-such-list"],
        &[],
    );
    std::fs::write(nsd.dir().join("inv.yaml"), yaml).unwrap();
    let out = harness::tsfleet(&["resolve", "-i", "inv.yaml"], nsd.dir());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("no-such-list.threatstop.local: no such list (NXDOMAIN)"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_ptr_to_a_missing_sublist_or_a_name_without_data_is_an_error() {
    let zone = Zone::new()
        .ptrs("dangling", &["gone".into()])
        .line("nodata IN MX 10 mail.threatstop.local.");
    let nsd = Nsd::start(&zone);
    let yaml = harness::inventory(
        &["127.0.0.1".into()],
        nsd.port,
        "tcp",
        &["dangling", "nodata"],
        &[],
    );
    let Err(ListsError::Resolve { failures }) = resolve(&yaml).await else {
        panic!("expected a resolution failure");
    };
    let text: Vec<String> = failures.iter().map(ToString::to_string).collect();
    assert_eq!(failures.len(), 2, "{text:?}");
    assert!(
        text[0].contains("gone.threatstop.local: sub-list named by a PTR record does not exist"),
        "{text:?}"
    );
    assert!(
        text[1].contains("nodata.threatstop.local: no APL, A or TXT records"),
        "{text:?}"
    );
}

#[tokio::test]
async fn malformed_apl_rdata_is_an_error_naming_the_sublist() {
    // NSD refuses to load malformed APL, so a hand-made server serves it.
    let port = fake_dns::serve_apl(vec![0, 1, 24, 3, 10]);
    let yaml = harness::inventory(&["127.0.0.1".into()], port, "tcp", &["broken"], &[]);
    let Err(ListsError::Resolve { failures }) = resolve(&yaml).await else {
        panic!("expected a resolution failure");
    };
    let text = failures[0].to_string();
    assert!(
        text.contains("broken.threatstop.local: malformed APL record"),
        "{text}"
    );
    assert!(text.contains("address needs 3 bytes"), "{text}");
}

#[test]
fn writes_a_snapshot_and_json_report_then_guards_a_shrink() {
    let big = Zone::new().apl(
        "shrinking",
        &prefixes(100, 3)
            .iter()
            .map(|p| format!("1:{p}"))
            .collect::<Vec<_>>(),
    );
    let nsd = Nsd::start(&big);
    let dir = tempfile::tempdir().unwrap();
    let yaml = harness::inventory(&["127.0.0.1".into()], nsd.port, "tcp", &["shrinking"], &[]);
    std::fs::write(dir.path().join("inv.yaml"), &yaml).unwrap();
    let out = harness::tsfleet(
        &[
            "resolve",
            "-i",
            "inv.yaml",
            "-o",
            "snap.json",
            "--json",
            "-",
        ],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let snap = Snapshot::read(&dir.path().join("snap.json")).expect("snapshot reads back");
    assert_eq!(report["sha256"], snap.sha256.as_str());
    assert_eq!(report["lists"][0]["prefixes"], 100);
    assert_eq!(report["policies"][0]["block"], snap.lists[0].prefixes.len());
    drop(nsd);

    // The same list, now with 10 prefixes: a 90% shrink against snap.json.
    let small = Zone::new().apl(
        "shrinking",
        &prefixes(10, 3)
            .iter()
            .map(|p| format!("1:{p}"))
            .collect::<Vec<_>>(),
    );
    let nsd = Nsd::start(&small);
    let yaml = harness::inventory(&["127.0.0.1".into()], nsd.port, "tcp", &["shrinking"], &[]);
    std::fs::write(dir.path().join("inv.yaml"), &yaml).unwrap();
    let out = harness::tsfleet(
        &["resolve", "-i", "inv.yaml", "-o", "snap.json"],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("IPv4 prefixes shrank from 100 to 10"),
        "{stderr}"
    );
    assert_eq!(
        Snapshot::read(&dir.path().join("snap.json")).unwrap(),
        snap,
        "kept"
    );

    let out = harness::tsfleet(
        &[
            "resolve",
            "-i",
            "inv.yaml",
            "-o",
            "snap.json",
            "--allow-shrink",
        ],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("shrink accepted for shrinking.threatstop.local"),
        "{stdout}"
    );
    assert_eq!(
        Snapshot::read(&dir.path().join("snap.json")).unwrap().lists[0]
            .prefixes
            .len(),
        10
    );
}
