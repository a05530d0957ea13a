//! Never block the way in (issue 13, point 11): the addresses tsfleet itself
//! depends on are carved out of every block list, and a stale `--lists`
//! snapshot is refused before any device is contacted. Real binary, the
//! test bed (simulated routers over SSH, lists from its DNS server), all on
//! 127.0.0.1, so the test bed's own addresses are the ones at stake.

use crate::fleet::{code, group_of, schema_valid, text};
use crate::harness;
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, SystemTime};
use tsfleet::inventory::Policy;
use tsfleet::sim::{PublishedList, TestBed};

const WIDE: &str = "wide-block.acme.threatstop.local";
const EXACT: &str = "exact-block.acme.threatstop.local";

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn published(name: &str, prefixes: &[&str]) -> PublishedList {
    PublishedList {
        name: name.into(),
        prefixes: prefixes.iter().map(|p| net(p).into()).collect(),
        excluded: Vec::new(),
    }
}

/// Two routers and the block lists `lists`, all in policy `corp`.
async fn bed(dir: &Path, lists: Vec<PublishedList>) -> TestBed {
    let names: Vec<String> = lists.iter().map(|l| l.name.clone()).collect();
    TestBed::builder()
        .devices(2)
        .credentials("protect-Pw-5771", "protect-En-6653")
        .lists(lists)
        .policy(
            "corp",
            Policy {
                block: names,
                ..Policy::default()
            },
        )
        .start(&dir.join("fleet.yaml"))
        .await
        .unwrap()
}

/// A fleet command (`plan`, `apply`) on the bed's inventory, transcripts in `runs`.
async fn fleet_command(dir: &Path, args: &[&str]) -> Output {
    let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    args.extend(["-i", "fleet.yaml", "--run-dir", "runs"].map(String::from));
    tsfleet(dir, args).await
}

/// Run the binary in `dir` off the async runtime (the simulator lives on it).
async fn tsfleet(dir: &Path, args: Vec<String>) -> Output {
    let cwd = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        harness::tsfleet(&refs, &cwd)
    })
    .await
    .unwrap()
}

fn covers(set: &std::collections::BTreeSet<Ipv4Net>, address: Ipv4Addr) -> bool {
    set.iter().any(|n| n.contains(&address))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_never_block_the_devices_dns_or_tsfleet_itself() {
    let dir = tempfile::tempdir().unwrap();
    // 127.0.0.1 is every router's management address, the list server's and
    // the address tsfleet connects from: one list holds a prefix around it,
    // the other the exact address.
    let bed = bed(
        dir.path(),
        vec![
            published(WIDE, &["127.0.0.0/8", "198.51.100.0/24"]),
            published(EXACT, &["127.0.0.1/32", "203.0.113.7/32"]),
        ],
    )
    .await;
    let out = fleet_command(dir.path(), &["apply", "--yes", "--json", "run.json"]).await;
    assert_eq!(code(&out), 0, "{}", text(&out));

    let home = Ipv4Addr::LOCALHOST;
    let role =
        "(management address of rtr-001, rtr-002; DNS server; the address tsfleet connects from)";
    let wide = format!("block list {WIDE} has 127.0.0.0/8, which covers 127.0.0.1 {role}");
    let exact = format!("block list {EXACT} has 127.0.0.1/32, which covers 127.0.0.1 {role}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in [&wide, &exact] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains("WARN") && l.contains(line.as_str())),
            "a warning says {line:?}:\n{stderr}"
        );
    }

    for d in bed.fleet().devices() {
        let block = group_of(bed.fleet(), &d.name, "threatstop-block");
        assert!(!covers(&block, home), "{}: {block:?} blocks {home}", d.name);
        // Everything else the lists hold is blocked: 127.0.0.0/8 around its
        // one hole (24 prefixes), and the rest as published.
        assert!(covers(&block, "127.0.0.0".parse().unwrap()), "{block:?}");
        assert!(
            covers(&block, "127.255.255.255".parse().unwrap()),
            "{block:?}"
        );
        assert_eq!(
            block.iter().filter(|n| n.addr().octets()[0] == 127).count(),
            24
        );
        assert!(block.contains(&net("198.51.100.0/24")) && block.contains(&net("203.0.113.7/32")));
    }

    let run = dir.path().join("run.json");
    schema_valid(&[&run]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&run).unwrap()).unwrap();
    for d in report["devices"].as_array().unwrap() {
        let notes: Vec<&str> = d["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        for line in [&wide, &exact] {
            assert!(
                notes.iter().any(|n| n.starts_with(line.as_str())),
                "{line:?} in {d}"
            );
        }
    }
    bed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_snapshot_is_refused_before_any_device_is_contacted() {
    let dir = tempfile::tempdir().unwrap();
    let bed = bed(dir.path(), vec![published(WIDE, &["198.51.100.0/24"])]).await;
    let resolve = ["resolve", "-i", "fleet.yaml", "-o", "lists.json"];
    let out = tsfleet(dir.path(), resolve.map(String::from).to_vec()).await;
    assert_eq!(code(&out), 0, "{}", text(&out));

    // A CI artifact from two days ago: only its own timestamp says so (the
    // file was just written), and the sha256 does not cover it.
    let path = dir.path().join("lists.json");
    let mut snapshot: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let created = SystemTime::now() - Duration::from_secs(49 * 3600);
    snapshot["created_at"] = humantime::format_rfc3339_seconds(created)
        .to_string()
        .into();
    std::fs::write(&path, serde_json::to_vec_pretty(&snapshot).unwrap()).unwrap();

    for command in [&["apply", "--yes"][..], &["plan"]] {
        let args = [command, &["--lists", "lists.json"]].concat();
        let out = fleet_command(dir.path(), &args).await;
        assert_eq!(code(&out), 3, "{command:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        for part in [
            "lists.json was created 2days 1h",
            "ago",
            "--max-snapshot-age 1day",
        ] {
            assert!(stderr.contains(part), "{part:?} in {stderr}");
        }
    }
    for d in bed.fleet().devices() {
        let stats = d.snapshot().stats;
        assert_eq!(
            (stats.logins, stats.auth_attempts),
            (0, 0),
            "{} was contacted",
            d.name
        );
    }

    // The flag overrides, and names no other meaning without --lists.
    let out = fleet_command(
        dir.path(),
        &[
            "apply",
            "--yes",
            "--lists",
            "lists.json",
            "--max-snapshot-age",
            "3d",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(bed.fleet().devices().iter().all(|d| {
        group_of(bed.fleet(), &d.name, "threatstop-block").contains(&net("198.51.100.0/24"))
    }));
    let out = fleet_command(dir.path(), &["plan", "--max-snapshot-age", "0"]).await;
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--lists"),
        "{}",
        text(&out)
    );
    bed.shutdown().await;
}
