//! A fleet run at scale: N simulated devices × M entries, first sync and
//! then a 1% churn, through the release `tsfleet apply` binary at a given
//! concurrency. Prints wall time, the tsfleet process's peak RSS, and the
//! ratio to the ideal (total device work ÷ concurrency, from the
//! simulator's cost model).
//!
//! `cargo bench --bench fleet_apply -- [--devices 500] [--entries 2000] [--concurrency 64] [--line-cost-us 200] [--rtt-ms 5]`
//! (build the binary first: `cargo build --release`).

#[path = "common/mod.rs"]
mod common;
use common::arg;
use ipnet::Ipv4Net;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};
use tsfleet::lists::publish::{ListServer, PublishedList};
use tsfleet::sim::{FleetConfig, SimFleet};

fn hosts(range: std::ops::Range<u32>) -> Vec<Ipv4Net> {
    range
        .map(|i| Ipv4Net::new(Ipv4Addr::from(0x0B00_0000 + 3 * i), 32).unwrap())
        .collect()
}

/// The peak resident set of a running process, in MiB (VmHWM).
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let devices = arg("--devices", 500) as usize;
    let entries = arg("--entries", 2000) as u32;
    let concurrency = arg("--concurrency", 64);
    let line_cost_us = arg("--line-cost-us", 200);
    let rtt_ms = arg("--rtt-ms", 5);
    let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/tsfleet");
    assert!(
        std::path::Path::new(bin).exists(),
        "build the binary first: cargo build --release"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let block = |range| PublishedList { name: "bench-block.acme.threatstop.local".into(), prefixes: hosts(range), excluded: vec![] };
        let allow = PublishedList { name: "bench-allow.acme.threatstop.local".into(), prefixes: hosts(1_000_000..1_000_002), excluded: vec![] };
        let lists = ListServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), &[block(0..entries), allow.clone()])
            .await
            .unwrap();
        let fleet = SimFleet::start(FleetConfig {
            devices,
            rtt: Duration::from_millis(rtt_ms),
            line_cost: Duration::from_micros(line_cost_us),
            password: "bench-Pw-1".into(),
            enable_secret: "bench-En-1".into(),
            ..FleetConfig::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let inventory = dir.path().join("bench.yaml");
        fleet.write_inventory(&inventory).unwrap();
        let text = std::fs::read_to_string(&inventory).unwrap()
            + &format!(
                "dns: {{ servers: ['{}'] }}\npolicies:\n  bench: {{ block: [bench-block.acme.threatstop.local], allow: [bench-allow.acme.threatstop.local] }}\n",
                lists.addr()
            );
        std::fs::write(&inventory, text).unwrap();
        println!("fleet_apply: {devices} devices x {entries} entries, concurrency {concurrency}, line cost {line_cost_us} us, rtt {rtt_ms} ms");
        println!("{:<12} {:>9} {:>10} {:>9} {:>8} {:>10}", "scenario", "lines", "seconds", "ideal s", "ratio", "peak RSS");
        let churn = (entries / 100).max(1);
        for (scenario, lines_per_device) in [("first sync", entries + 2), ("1% churn", 2 * churn)] {
            if scenario == "1% churn" {
                lists.replace(&[block(churn..entries + churn), allow.clone()]).await.unwrap();
            }
            let started = Instant::now();
            let mut child = Command::new(bin)
                .args(["-q", "apply", "--yes", "--connect-rate", "0", "--concurrency", &concurrency.to_string(), "-i"])
                .arg(&inventory)
                .arg("--run-dir")
                .arg(dir.path().join("runs"))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let pid = child.id();
            let mut peak: f64 = 0.0;
            let status = loop {
                if let Some(rss) = peak_rss_mib(pid) {
                    peak = peak.max(rss);
                }
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            let seconds = started.elapsed().as_secs_f64();
            assert!(status.success(), "{scenario}: tsfleet apply failed ({status})");
            let work = devices as f64 * f64::from(lines_per_device) * line_cost_us as f64 / 1e6;
            let ideal = work / concurrency as f64;
            println!(
                "{scenario:<12} {:>9} {seconds:>10.1} {ideal:>9.1} {:>7.2}x {:>7.0} MiB",
                devices as u64 * u64::from(lines_per_device),
                seconds / ideal,
                peak
            );
        }
        for d in fleet.devices() {
            let state = d.snapshot();
            let g = state.group("threatstop-block").expect("block group");
            assert_eq!(g.entries.len(), entries as usize, "{} converged", d.name);
        }
    });
}
