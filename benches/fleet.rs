//! The fleet benchmark: `tsfleet apply` (and `plan`) side by side with
//! netmiko `send_config_set` on a thread pool, Nornir with nornir_netmiko and
//! scrapli's `Cli` (`send_inputs` in configuration mode) on a thread pool,
//! against the same simulated fleet, in one run.
//!
//! ```text
//! scripts/bench-fleet [--rtt-ms 5] [--line-cost-us 200] [--concurrency 64]
//!     [--scenarios device,first,churn,plan] [--tools tsfleet,netmiko,nornir,scrapli]
//!     [--device-entries 5000] [--devices 200] [--entries 2000] [--plan-devices 1000]
//!     [--scale-devices 10000] [--scale-concurrency 256]
//! ```
//!
//! For example, one tool on one scenario:
//! `scripts/bench-fleet --scenarios device --device-entries 2000 --tools scrapli`.
//!
//! Scenarios: one device × 5,000 entries (first sync); 200 devices × 2,000
//! entries, first sync; the same with 1% churn; `plan` only on 1,000 devices
//! × 2,000 entries (1% churn pending); and, only when asked for (`scale`),
//! `plan` of 10,000 devices already in sync at concurrency 256, for the memory
//! a large shard needs (peak RSS must not grow with the fleet). Every tool
//! starts from the same device state, and after an apply the benchmark checks
//! that each device holds exactly the lists (a tool that did not converge
//! shows as failed).
//!
//! For each run it prints wall time (the whole process, start-up included),
//! lines per second, peak RSS (VmHWM, sampled every 20 ms), the ratio to the
//! ideal bound and tsfleet's speed-up over each peer. The ideal bound comes
//! from the simulator's cost model: a device needs at least two round trips
//! (its prompt, then the answer to the last line) plus its lines × line cost,
//! devices are identical jobs on `concurrency` sessions, so the bound is
//! ⌈devices ÷ sessions⌉ × (2 × rtt + lines × line cost).
//!
//! `scripts/bench-fleet` installs the pinned peers first (`scripts/python-peers`)
//! and runs `cargo bench --bench fleet`; the peers live in
//! `benches/peers/fleet_peer.py` (`TSFLEET_TEST_PYTHON` picks another python).

use ipnet::Ipv4Net;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tsfleet::device::ios::entry_line;
use tsfleet::inventory::Policy;
use tsfleet::inventory::effective::{DEFAULT_ALLOW_GROUP, DEFAULT_BLOCK_GROUP};
use tsfleet::sim::device::{Entry, ObjectGroup};
use tsfleet::sim::{PublishedList, SimFleet, TestBed};

const BLOCK_LIST: &str = "bench-block.acme.threatstop.local";
const ALLOW_LIST: &str = "bench-allow.acme.threatstop.local";
const PASSWORD: &str = "bench-Pw-1";
const ENABLE_SECRET: &str = "bench-En-1";
const TSFLEET: &str = env!("CARGO_BIN_EXE_tsfleet");
/// The tools `--tools` picks from; all but tsfleet run in `benches/peers/fleet_peer.py`.
const TOOLS: [&str; 4] = ["tsfleet", "netmiko", "nornir", "scrapli"];

/// What `--help` prints.
const USAGE: &str = "\
usage: scripts/bench-fleet [--rtt-ms 5] [--line-cost-us 200] [--concurrency 64]
    [--scenarios device,first,churn,plan] [--tools tsfleet,netmiko,nornir,scrapli]
    [--device-entries 5000] [--devices 200] [--entries 2000] [--plan-devices 1000]
    [--scale-devices 10000] [--scale-concurrency 256]   (scenario `scale`, only when named)
example, scrapli pushing 2,000 entries to one device at rtt 10 ms:
    scripts/bench-fleet --scenarios device --device-entries 2000 --rtt-ms 10 --tools tsfleet,scrapli";

/// The command line: `--name value` pairs after `cargo bench --bench fleet --`.
struct Args(Vec<String>);

/// Every option the benchmark takes (`--bench` is what cargo adds).
const OPTIONS: [&str; 12] = [
    "--rtt-ms",
    "--line-cost-us",
    "--concurrency",
    "--scenarios",
    "--tools",
    "--device-entries",
    "--devices",
    "--entries",
    "--plan-devices",
    "--scale-devices",
    "--scale-concurrency",
    "--bench",
];

impl Args {
    /// A misspelt option would silently measure the defaults: refuse it.
    fn check(&self) {
        if self.0.iter().any(|a| a == "--help") {
            println!("{USAGE}");
            std::process::exit(0);
        }
        for a in self.0.iter().skip(1).filter(|a| a.starts_with("--")) {
            if !OPTIONS.contains(&a.as_str()) {
                eprintln!(
                    "unknown option {a}; the options are {}",
                    OPTIONS[..OPTIONS.len() - 1].join(" ")
                );
                std::process::exit(2);
            }
        }
    }

    fn value(&self, name: &str) -> Option<&str> {
        let i = self.0.iter().position(|a| a == name)?;
        Some(
            self.0
                .get(i + 1)
                .map(String::as_str)
                .unwrap_or_else(|| panic!("{name} needs a value")),
        )
    }

    fn number(&self, name: &str, default: u64) -> u64 {
        self.value(name).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} {v}: not a whole number"))
        })
    }

    fn list(&self, name: &str, default: &str) -> Vec<String> {
        self.value(name)
            .unwrap_or(default)
            .split(',')
            .map(str::to_string)
            .collect()
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    FirstSync,
    Churn,
    Plan,
    /// `plan` of devices that already hold the lists.
    InSync,
}

struct Scenario {
    title: String,
    devices: usize,
    entries: u32,
    kind: Kind,
    concurrency: u64,
}

impl Scenario {
    fn churn(&self) -> u32 {
        (self.entries / 100).max(1)
    }

    /// The block list the devices hold before the run.
    fn before(&self) -> Option<std::ops::Range<u32>> {
        (self.kind != Kind::FirstSync).then_some(0..self.entries)
    }

    /// The block list published for the run.
    fn published(&self) -> std::ops::Range<u32> {
        match self.kind {
            Kind::FirstSync => 0..self.entries,
            Kind::Churn | Kind::Plan => self.churn()..self.entries + self.churn(),
            Kind::InSync => 0..self.entries,
        }
    }

    /// `plan` rather than `apply`.
    fn plans(&self) -> bool {
        matches!(self.kind, Kind::Plan | Kind::InSync)
    }

    /// Lines each device processes: configuration lines for an apply
    /// (entries, not counting the mode changes around them), entries read
    /// for a plan.
    fn lines_per_device(&self) -> u64 {
        match self.kind {
            Kind::Churn => 2 * u64::from(self.churn()),
            Kind::FirstSync | Kind::Plan | Kind::InSync => {
                u64::from(self.entries) + ALLOW.len() as u64
            }
        }
    }
}

const ALLOW: [u32; 2] = [1_000_000, 1_000_001];

fn hosts(range: impl IntoIterator<Item = u32>) -> Vec<Ipv4Net> {
    range
        .into_iter()
        .map(|i| Ipv4Net::new(Ipv4Addr::from(0x0B00_0000 + 3 * i), 32).unwrap())
        .collect()
}

fn published_lists(block: std::ops::Range<u32>) -> Vec<PublishedList> {
    let list = |name: &str, prefixes| PublishedList {
        name: name.into(),
        prefixes,
        excluded: vec![],
    };
    vec![
        list(BLOCK_LIST, hosts(block)),
        list(ALLOW_LIST, hosts(ALLOW)),
    ]
}

/// The groups a device holds when it has these lists, as the simulator stores them.
fn groups(block: std::ops::Range<u32>) -> Vec<ObjectGroup> {
    let group = |name: &str, nets: Vec<Ipv4Net>| ObjectGroup {
        name: name.into(),
        description: None,
        entries: nets
            .iter()
            .map(|n| entry_line(n).parse::<Entry>().unwrap())
            .collect(),
    };
    vec![
        group(DEFAULT_BLOCK_GROUP, hosts(block)),
        group(DEFAULT_ALLOW_GROUP, hosts(ALLOW)),
    ]
}

/// Devices whose groups differ from `want` (names and entries as sets).
fn not_converged(fleet: &SimFleet, want: &[ObjectGroup]) -> usize {
    let as_sets = |gs: &[ObjectGroup]| -> BTreeMap<String, BTreeSet<String>> {
        gs.iter()
            .map(|g| {
                (
                    g.name.clone(),
                    g.entries.iter().map(|e| e.to_string()).collect(),
                )
            })
            .collect()
    };
    let want = as_sets(want);
    fleet
        .devices()
        .iter()
        .filter(|d| {
            let state = d.snapshot();
            as_sets(&state.running.groups) != want || !state.saved()
        })
        .count()
}

/// One tool's run: wall time and the process's peak resident set.
struct Measured {
    seconds: f64,
    peak_mib: f64,
    stdout: Vec<u8>,
    success: bool,
}

/// The peak resident set of a running process, in MiB (VmHWM).
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn measure(mut command: Command, stdin: Option<String>) -> Measured {
    let started = Instant::now();
    let mut child = command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    // Read stdout on a thread so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut buf).map(|_| buf)
    });
    let mut peak: f64 = 0.0;
    let status = loop {
        if let Some(rss) = peak_rss_mib(child.id()) {
            peak = peak.max(rss);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    Measured {
        seconds: started.elapsed().as_secs_f64(),
        peak_mib: peak,
        stdout: reader.join().unwrap().unwrap_or_default(),
        success: status.success(),
    }
}

/// A simulated fleet, its list server and the inventory tsfleet reads for them.
async fn start_bed(devices: usize, rtt: Duration, line_cost: Duration, dir: &Path) -> TestBed {
    TestBed::builder()
        .devices(devices)
        .costs(rtt, line_cost)
        .credentials(PASSWORD, ENABLE_SECRET)
        .lists(published_lists(0..1))
        .policy(
            "bench",
            Policy {
                block: vec![BLOCK_LIST.into()],
                allow: vec![ALLOW_LIST.into()],
                ..Policy::default()
            },
        )
        .start(&dir.join(format!("fleet-{devices}.yaml")))
        .await
        .expect("the simulator starts")
}

fn python() -> String {
    std::env::var("TSFLEET_TEST_PYTHON")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python").into())
}

/// The JSON job `fleet_peer.py` reads: the devices and the desired groups.
fn peer_job(tool: &str, scenario: &Scenario, fleet: &SimFleet, concurrency: u64) -> String {
    let entries = |nets: Vec<Ipv4Net>| nets.iter().map(entry_line).collect::<Vec<_>>();
    serde_json::json!({
        "tool": tool,
        "mode": if scenario.plans() { "plan" } else { "apply" },
        "concurrency": concurrency,
        "username": "admin",
        "password": PASSWORD,
        "secret": ENABLE_SECRET,
        "devices": fleet.devices().iter().map(|d| serde_json::json!({
            "name": d.name, "host": d.addr.ip().to_string(), "port": d.addr.port(),
        })).collect::<Vec<_>>(),
        "groups": {
            DEFAULT_BLOCK_GROUP: entries(hosts(scenario.published())),
            DEFAULT_ALLOW_GROUP: entries(hosts(ALLOW)),
        },
    })
    .to_string()
}

/// Run one tool on the scenario; returns the measurement and how many devices failed.
async fn run_tool(
    tool: &str,
    scenario: &Scenario,
    bench: &TestBed,
    concurrency: u64,
    dir: &Path,
) -> (Measured, usize) {
    let runs = tempfile::tempdir_in(dir).unwrap();
    let (measured, reported_failures) = if tool == "tsfleet" {
        let mut command = Command::new(TSFLEET);
        let verb = if scenario.plans() { "plan" } else { "apply" };
        command.args([
            "-q",
            verb,
            "--connect-rate",
            "0",
            "--concurrency",
            &concurrency.to_string(),
            "-i",
        ]);
        command
            .arg(bench.inventory_path())
            .arg("--run-dir")
            .arg(runs.path())
            // The run lock and the record of applied lists stay with the
            // benchmark (kept across its runs, as a scheduled job keeps them),
            // never in the user's own state directory.
            .env("TSFLEET_STATE_DIR", dir.join("state"));
        if !scenario.plans() {
            command.arg("--yes");
        }
        let m = measure(command, None).await;
        let failed = if m.success { 0 } else { scenario.devices };
        (m, failed)
    } else {
        let mut command = Command::new(python());
        command.arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/peers/fleet_peer.py"
        ));
        let m = measure(
            command,
            Some(peer_job(tool, scenario, bench.fleet(), concurrency)),
        )
        .await;
        let answer: serde_json::Value = serde_json::from_slice(&m.stdout).unwrap_or_else(|_| {
            panic!("{tool} gave no answer: install the peers with scripts/python-peers, or run scripts/bench-fleet")
        });
        let failed = answer["failed"].as_object().map_or(0, |f| f.len());
        if let Some((device, error)) = answer["failed"].as_object().and_then(|f| f.iter().next()) {
            eprintln!("  {tool}: {failed} devices failed, e.g. {device}: {error}");
        }
        (m, failed)
    };
    let want = match scenario.kind {
        Kind::Plan | Kind::InSync => groups(scenario.before().unwrap()),
        _ => groups(scenario.published()),
    };
    (
        measured,
        reported_failures.max(not_converged(bench.fleet(), &want)),
    )
}

fn main() {
    let args = Args(std::env::args().collect());
    args.check();
    let rtt_ms = args.number("--rtt-ms", 5);
    let line_cost_us = args.number("--line-cost-us", 200);
    let concurrency = args.number("--concurrency", 64);
    let tools = args.list("--tools", &TOOLS.join(","));
    if let Some(other) = tools.iter().find(|t| !TOOLS.contains(&t.as_str())) {
        eprintln!(
            "--tools: unknown {other:?}; the tools are {}",
            TOOLS.join(",")
        );
        std::process::exit(2);
    }
    let entries = args.number("--entries", 2000) as u32;
    let devices = args.number("--devices", 200) as usize;
    let mut scenarios = Vec::new();
    for key in args.list("--scenarios", "device,first,churn,plan") {
        let mut sessions = concurrency;
        let (devices, entries, kind, what) = match key.as_str() {
            "device" => (
                1,
                args.number("--device-entries", 5000) as u32,
                Kind::FirstSync,
                "first sync",
            ),
            "first" => (devices, entries, Kind::FirstSync, "first sync"),
            "churn" => (devices, entries, Kind::Churn, "1% churn"),
            "plan" => (
                args.number("--plan-devices", 1000) as usize,
                entries,
                Kind::Plan,
                "plan only",
            ),
            "scale" => {
                sessions = args.number("--scale-concurrency", 256);
                (
                    args.number("--scale-devices", 10_000) as usize,
                    entries,
                    Kind::InSync,
                    "in sync, plan",
                )
            }
            other => panic!("--scenarios: unknown {other:?} (device, first, churn, plan, scale)"),
        };
        let title = if sessions == concurrency {
            format!("{devices} × {entries}, {what}")
        } else {
            format!("{devices} × {entries}, {what} ×{sessions}")
        };
        scenarios.push(Scenario {
            title,
            devices,
            entries,
            kind,
            concurrency: sessions,
        });
    }
    let rtt = Duration::from_millis(rtt_ms);
    let line_cost = Duration::from_micros(line_cost_us);

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        println!(
            "fleet benchmark: rtt {rtt_ms} ms, {line_cost_us} µs per configuration line, concurrency {concurrency}, {} cores",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!(
            "{:<32} {:<8} {:>9} {:>9} {:>10} {:>9} {:>8} {:>9} {:>7}",
            "scenario", "tool", "seconds", "lines/s", "peak RSS", "ideal s", "×ideal", "tsfleet÷", "failed"
        );
        let mut fleets: BTreeMap<usize, TestBed> = BTreeMap::new();
        for scenario in &scenarios {
            if let std::collections::btree_map::Entry::Vacant(slot) = fleets.entry(scenario.devices) {
                slot.insert(start_bed(scenario.devices, rtt, line_cost, dir.path()).await);
            }
            let bench = &fleets[&scenario.devices];
            let lists = bench.list_server().expect("the benchmark publishes lists");
            lists.replace(&published_lists(scenario.published())).await.unwrap();
            let start = scenario.before().map(groups).unwrap_or_default();
            let lines = scenario.devices as u64 * scenario.lines_per_device();
            let per_device = 2.0 * rtt.as_secs_f64()
                + match scenario.kind {
                    Kind::Plan | Kind::InSync => 0.0,
                    _ => scenario.lines_per_device() as f64 * line_cost.as_secs_f64(),
                };
            let sessions = (scenario.concurrency as usize).clamp(1, scenario.devices);
            let ideal = scenario.devices.div_ceil(sessions) as f64 * per_device;
            let mut ours = None;
            for tool in &tools {
                bench.fleet().set_groups(&start);
                let (m, failed) =
                    run_tool(tool, scenario, bench, scenario.concurrency, dir.path()).await;
                let rate = lines as f64 / m.seconds;
                let versus = match ours {
                    None if tool == "tsfleet" => {
                        ours = Some(m.seconds);
                        String::new()
                    }
                    Some(t) => format!("{:.1}×", m.seconds / t),
                    None => String::new(),
                };
                println!(
                    "{:<32} {tool:<8} {:>9.2} {rate:>9.0} {:>6.0} MiB {ideal:>9.2} {:>7.2}× {versus:>9} {failed:>7}",
                    scenario.title,
                    m.seconds,
                    m.peak_mib,
                    m.seconds / ideal,
                );
            }
        }
    });
}
