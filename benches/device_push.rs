//! First sync of N entries to one simulated device, tsfleet against netmiko
//! `send_config_set` on an identical device, in one run.
//!
//! `cargo bench --bench device_push -- [--entries 5000] [--rtt-ms 20] [--line-cost-us 200] [--skip-netmiko]`
//!
//! Prints wall time and lines per second for each, the ratio, and the
//! device's own line-rate limit (1 / line cost).

#[path = "common/mod.rs"]
mod common;
use common::arg;
use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tsfleet::device::ssh::{Credentials, SshTarget};
use tsfleet::device::sync::{GroupTarget, SyncRequest};
use tsfleet::device::transcript::Transcript;
use tsfleet::inventory::HostKeyPolicy;
use tsfleet::sim::{FleetConfig, SimFleet};

fn main() {
    let entries = arg("--entries", 5000) as u32;
    let rtt_ms = arg("--rtt-ms", 20);
    let line_cost_us = arg("--line-cost-us", 200);
    let skip_netmiko = std::env::args().any(|a| a == "--skip-netmiko");
    // RUST_LOG=debug shows each phase with its time.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let fleet = SimFleet::start(FleetConfig {
            devices: 2,
            rtt: Duration::from_millis(rtt_ms),
            line_cost: Duration::from_micros(line_cost_us),
            ..FleetConfig::default()
        })
        .await
        .expect("simulator starts");
        let dir = tempfile::tempdir().unwrap();
        let known_hosts = dir.path().join("known_hosts");
        std::fs::write(&known_hosts, fleet.known_hosts()).unwrap();
        let desired: BTreeSet<ipnet::Ipv4Net> = (0..entries)
            .map(|i| ipnet::Ipv4Net::new((0x0A00_0000 + i).into(), 32).unwrap())
            .collect();

        let d1 = &fleet.devices()[0];
        let target = SshTarget {
            device: d1.name.clone(),
            host: "127.0.0.1".into(),
            port: d1.addr.port(),
            username: "admin".into(),
            credentials: Credentials::Password("admin".into()),
            host_key_policy: HostKeyPolicy::Strict,
            known_hosts: known_hosts.clone(),
            legacy_algorithms: true,
            connect_timeout: Duration::from_secs(10),
        };
        let request = SyncRequest {
            enable_secret: Some("enable".into()),
            groups: vec![GroupTarget { name: "threatstop-block".into(), desired }],
            apply: true,
            save_config: true,
            group_limit: None,
        };
        let started = Instant::now();
        let (outcome, _) = tsfleet::device::run_device(
            &target,
            &request,
            Transcript::none(vec![]),
            Duration::from_secs(30),
            Duration::from_secs(3600), tokio_util::sync::CancellationToken::new(),
        )
        .await
        .expect("tsfleet sync succeeds");
        let tsfleet_s = started.elapsed().as_secs_f64();
        assert_eq!(outcome.groups[0].added, entries as usize);
        let limit = if line_cost_us > 0 { 1e6 / line_cost_us as f64 } else { f64::INFINITY };
        println!("device_push: {entries} entries, rtt {rtt_ms} ms, line cost {line_cost_us} us (device limit {limit:.0} lines/s)");
        println!("{:<10} {:>10} {:>12} {:>14}", "tool", "seconds", "lines/s", "of the limit");
        let row = |tool: &str, s: f64| {
            let rate = f64::from(entries) / s;
            println!("{tool:<10} {s:>10.2} {rate:>12.0} {:>13.0}%", 100.0 * rate / limit);
            rate
        };
        let ours = row("tsfleet", tsfleet_s);
        if skip_netmiko {
            return;
        }
        let d2 = &fleet.devices()[1];
        let mut lines = vec!["object-group network threatstop-block".to_string()];
        lines.extend((0..entries).map(|i| format!("host {}", std::net::Ipv4Addr::from(0x0A00_0000 + i))));
        let request = serde_json::json!({
            "host": "127.0.0.1", "port": d2.addr.port(), "username": "admin",
            "password": "admin", "secret": "enable", "lines": lines,
        });
        let python = std::env::var("TSFLEET_TEST_PYTHON")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python").into());
        let answer = tokio::task::spawn_blocking(move || {
            let mut child = Command::new(python)
                .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peers/netmiko_push.py"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("python with netmiko (run scripts/test once to install it)");
            child.stdin.take().unwrap().write_all(request.to_string().as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("netmiko answered")
        })
        .await
        .unwrap();
        let theirs = row("netmiko", answer["total_s"].as_f64().unwrap());
        println!("tsfleet / netmiko: {:.1}x", ours / theirs);
        let state = d2.snapshot();
        assert_eq!(state.running.groups[0].entries.len(), entries as usize, "netmiko pushed every line");
    });
}
