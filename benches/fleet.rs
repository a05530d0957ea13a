//! The fleet benchmark: `tsfleet apply` (and `plan`) side by side with
//! netmiko `send_config_set` on a thread pool, Nornir with nornir_netmiko and
//! scrapli's `Cli` (`send_inputs` in configuration mode) on a thread pool,
//! against the same simulated fleet, in one run.
//!
//! ```text
//! scripts/bench-fleet [--rtt-ms 5] [--line-cost-us 200] [--concurrency 64]
//!     [--scenarios device,first,churn,plan] [--tools tsfleet,netmiko,nornir,scrapli]
//!     [--device-entries 5000] [--devices 200] [--entries 2000] [--plan-devices 1000]
//!     [--scale-devices 10000] [--scale-concurrency 256] [--link-rtt-ms 0]
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
//! Round trips (`--link-rtt-ms N`): every device is reached through a TCP
//! proxy in this process that delays each chunk by N/2 ms each way, order
//! kept (the kernel here has no `netem`), so the SSH handshake and login pay
//! the link's round trips too (the simulator's `--rtt-ms` delays only its CLI
//! answers). tsfleet then runs with its phase marks on (`RUST_LOG=tsfleet=debug`)
//! and the benchmark prints, per scenario, each phase's time per device and
//! that time in round trips (with `--rtt-ms 0 --line-cost-us 0`, a phase's
//! time is its round trips × N), against the protocol bound of issue 16: the
//! measured login + one read per group + the push + one verify read + save.
//!
//! `scripts/bench-fleet` installs the pinned peers first (`scripts/python-peers`)
//! and runs `cargo bench --bench fleet`; the peers live in
//! `benches/peers/fleet_peer.py` (`TSFLEET_TEST_PYTHON` picks another python).

use ipnet::Ipv4Net;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tsfleet::device::ios::entry_line;
use tsfleet::inventory::effective::{DEFAULT_ALLOW_GROUP, DEFAULT_BLOCK_GROUP};
use tsfleet::inventory::{HostKeyPolicy, Policy};
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
    [--link-rtt-ms 0]   (a delaying TCP proxy before each device; tsfleet's round trips by phase)
example, scrapli pushing 2,000 entries to one device at rtt 10 ms:
    scripts/bench-fleet --scenarios device --device-entries 2000 --rtt-ms 10 --tools tsfleet,scrapli
example, tsfleet's round trips per phase on one device, 1% churn, a 100 ms link:
    scripts/bench-fleet --scenarios churn --devices 1 --tools tsfleet --rtt-ms 0 --line-cost-us 0 --link-rtt-ms 100";

/// The command line: `--name value` pairs after `cargo bench --bench fleet --`.
struct Args(Vec<String>);

/// Every option the benchmark takes (`--bench` is what cargo adds).
const OPTIONS: [&str; 13] = [
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
    "--link-rtt-ms",
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
    let list = |name: &str, prefixes: Vec<Ipv4Net>| PublishedList {
        name: name.into(),
        prefixes: prefixes.into_iter().map(Into::into).collect(),
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
            .map(|n| entry_line(&(*n).into()).parse::<Entry>().unwrap())
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
    /// Captured only when counting round trips (tsfleet's phase marks).
    stderr: Vec<u8>,
    success: bool,
}

/// The peak resident set of a running process, in MiB (VmHWM).
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn measure(mut command: Command, stdin: Option<String>, stderr: bool) -> Measured {
    let started = Instant::now();
    let mut child = command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(if stderr {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
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
    // Read the pipes on threads so a chatty child never blocks on a full pipe.
    let read_all = |mut from: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            from.read_to_end(&mut buf).map(|_| buf)
        })
    };
    let reader = read_all(Box::new(child.stdout.take().unwrap()));
    let errors = child
        .stderr
        .take()
        .map(|e| read_all(Box::new(e) as Box<dyn std::io::Read + Send>));
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
        stderr: errors.map_or_else(Vec::new, |e| e.join().unwrap().unwrap_or_default()),
        success: status.success(),
    }
}

/// A simulated fleet, its list server and the inventory tsfleet reads for
/// them; with a link rtt, the inventory reaches each device through a
/// delaying proxy ([`delay_proxy`]).
struct Bench {
    bed: TestBed,
    link_rtt: Option<Duration>,
    /// The proxies' ports, by device (empty without a link rtt).
    proxy_ports: Vec<u16>,
}

async fn start_bed(
    devices: usize,
    rtt: Duration,
    line_cost: Duration,
    link_rtt: Option<Duration>,
    dir: &Path,
) -> Bench {
    let mut listeners = Vec::new();
    for _ in 0..link_rtt.map_or(0, |_| devices) {
        listeners.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    }
    let proxy_ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let ports = proxy_ports.clone();
    let bed = TestBed::builder()
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
        .edit(move |inventory| {
            for (device, port) in inventory.devices.iter_mut().zip(ports) {
                device.settings.port = Some(port);
                // The known_hosts file names the devices' own ports.
                device.settings.host_key_policy = Some(HostKeyPolicy::Off);
            }
        })
        .start(&dir.join(format!("fleet-{devices}.yaml")))
        .await
        .expect("the simulator starts");
    for (listener, device) in listeners.into_iter().zip(bed.fleet().devices()) {
        tokio::spawn(delay_proxy(listener, device.addr, link_rtt.unwrap()));
    }
    Bench {
        bed,
        link_rtt,
        proxy_ports,
    }
}

/// A link with latency in user space: every connection accepted is
/// forwarded to `device`, each chunk in each direction delivered `rtt / 2`
/// after it was read, in order. The TCP handshake with the proxy is the
/// kernel's and costs nothing (see [`PHASES`]).
async fn delay_proxy(listener: tokio::net::TcpListener, device: SocketAddr, rtt: Duration) {
    while let Ok((client, _)) = listener.accept().await {
        tokio::spawn(async move {
            let Ok(server) = tokio::net::TcpStream::connect(device).await else {
                return;
            };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (from_client, to_client) = client.into_split();
            let (from_server, to_server) = server.into_split();
            tokio::join!(
                delayed(from_client, to_server, rtt / 2),
                delayed(from_server, to_client, rtt / 2)
            );
        });
    }
}

async fn delayed(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let read = async move {
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf).await {
            if tx
                .send((tokio::time::Instant::now(), buf[..n].to_vec()))
                .is_err()
            {
                break;
            }
        }
    };
    let write = async move {
        while let Some((read_at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(read_at + delay).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(read, write);
}

/// tsfleet's phase marks (its debug log lines), in the order a device
/// passes them, and the phase each one starts; `logged out` ends the last.
/// The TCP connect to the proxy is answered by the kernel at once, so the
/// table adds one round trip for it (a real link's SYN, SYN-ACK).
const PHASES: [(&str, &str); 16] = [
    ("connecting", "TCP connect (+1 round trip, not measured)"),
    ("TCP connected", "SSH version + key exchange"),
    ("SSH transport up", "login methods (`none` probe)"),
    ("login methods known", "wait for a login slot (slow start)"),
    ("login admitted", "authentication (password)"),
    ("logged in", "channel, PTY, shell, first prompt"),
    ("enable", "enable"),
    ("reading groups", "terminal settings + group reads"),
    ("configure terminal", "configure terminal + object-group"),
    ("pushing", "push"),
    ("verifying", "verify (read back)"),
    ("write memory", "end + write memory"),
    ("logging out", "logout (exit, close)"),
    ("logged out", ""),
    // Marks of other commands, never between a sync's marks.
    ("reading version", ""),
    ("removing groups", ""),
];

/// The first phases of [`PHASES`], up to the first prompt: the bound's measured login.
const LOGIN_PHASES: usize = 6;

/// Seconds since midnight of an RFC 3339 timestamp (`…T03:40:01.123456Z`).
fn seconds_of_day(stamp: &str) -> Option<f64> {
    let time = stamp.split_once('T')?.1.trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// Seconds per phase (indexes of [`PHASES`]) summed over devices, and the
/// number of devices seen, from tsfleet's debug log.
fn phase_times(log: &str) -> (Vec<f64>, usize) {
    let mut last: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    let mut total = vec![0.0; PHASES.len()];
    let mut devices = BTreeSet::new();
    for line in log.lines() {
        let Some((stamp, rest)) = line.split_once(' ') else {
            continue;
        };
        let Some(at) = seconds_of_day(stamp) else {
            continue;
        };
        // `LEVEL spans: message fields`: the spans name the device.
        let Some((spans, message)) = rest.trim_start().rsplit_once(": ") else {
            continue;
        };
        let Some(phase) = PHASES
            .iter()
            .position(|(mark, _)| message == *mark || message.starts_with(&format!("{mark} ")))
        else {
            continue;
        };
        devices.insert(spans.to_string());
        if let Some((previous, since)) = last.insert(spans.to_string(), (phase, at)) {
            total[previous] += at - since;
        }
    }
    (total, devices.len())
}

/// The per-phase table of one tsfleet run: time per device and round trips.
fn print_round_trips(log: &[u8], rtt: Duration, groups: usize) {
    let (total, devices) = phase_times(&String::from_utf8_lossy(log));
    if devices == 0 {
        eprintln!("  no phase marks in tsfleet's log: is RUST_LOG honoured?");
        return;
    }
    let rtt_s = rtt.as_secs_f64();
    let round_trips = |seconds: f64| seconds / devices as f64 / rtt_s;
    println!(
        "  per device ({devices} devices), link rtt {} ms:",
        rtt.as_millis()
    );
    println!("  {:<40} {:>9} {:>12}", "phase", "ms", "round trips");
    let mut all = 1.0;
    let mut login = 1.0;
    for (i, (_, name)) in PHASES.iter().enumerate() {
        if name.is_empty() {
            continue;
        }
        let mut trips = round_trips(total[i]);
        if i == 0 {
            trips += 1.0;
        }
        all += round_trips(total[i]);
        if i < LOGIN_PHASES {
            login += round_trips(total[i]);
        }
        println!(
            "  {name:<40} {:>9.1} {trips:>12.2}",
            total[i] / devices as f64 * 1000.0
        );
    }
    // Issue 16's bound: the measured login, one read per group, the push,
    // one verify read, the save.
    let bound = login + groups as f64 + 1.0 + 1.0 + 1.0;
    println!(
        "  {:<40} {:>9} {all:>12.2}",
        "all (with the TCP connect)", ""
    );
    println!(
        "  protocol bound: login {login:.2} + {groups} group reads + push 1 + verify 1 + save 1 = {bound:.2} round trips; {:.2}× the bound",
        all / bound
    );
}

fn python() -> String {
    std::env::var("TSFLEET_TEST_PYTHON")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python").into())
}

/// The JSON job `fleet_peer.py` reads: the devices and the desired groups.
fn peer_job(tool: &str, scenario: &Scenario, bench: &Bench, concurrency: u64) -> String {
    let fleet = bench.bed.fleet();
    // Through the delaying proxy when there is one.
    let port = |i: usize, own: u16| bench.proxy_ports.get(i).copied().unwrap_or(own);
    let entries = |nets: Vec<Ipv4Net>| {
        nets.iter()
            .map(|n| entry_line(&(*n).into()))
            .collect::<Vec<_>>()
    };
    serde_json::json!({
        "tool": tool,
        "mode": if scenario.plans() { "plan" } else { "apply" },
        "concurrency": concurrency,
        "username": "admin",
        "password": PASSWORD,
        "secret": ENABLE_SECRET,
        "devices": fleet.devices().iter().enumerate().map(|(i, d)| serde_json::json!({
            "name": d.name, "host": d.addr.ip().to_string(), "port": port(i, d.addr.port()),
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
    bench: &Bench,
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
            .arg(bench.bed.inventory_path())
            .arg("--run-dir")
            .arg(runs.path())
            // The run lock and the record of applied lists stay with the
            // benchmark (kept across its runs, as a scheduled job keeps them),
            // never in the user's own state directory.
            .env("TSFLEET_STATE_DIR", dir.join("state"));
        if !scenario.plans() {
            command.arg("--yes");
        }
        let counting = bench.link_rtt.is_some();
        if counting {
            command.env("RUST_LOG", "tsfleet=debug");
        }
        let m = measure(command, None, counting).await;
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
            Some(peer_job(tool, scenario, bench, concurrency)),
            false,
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
        reported_failures.max(not_converged(bench.bed.fleet(), &want)),
    )
}

fn main() {
    let args = Args(std::env::args().collect());
    args.check();
    let rtt_ms = args.number("--rtt-ms", 5);
    let line_cost_us = args.number("--line-cost-us", 200);
    let concurrency = args.number("--concurrency", 64);
    let link_rtt =
        Some(Duration::from_millis(args.number("--link-rtt-ms", 0))).filter(|r| !r.is_zero());
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
        let mut fleets: BTreeMap<usize, Bench> = BTreeMap::new();
        for scenario in &scenarios {
            if let std::collections::btree_map::Entry::Vacant(slot) = fleets.entry(scenario.devices) {
                slot.insert(start_bed(scenario.devices, rtt, line_cost, link_rtt, dir.path()).await);
            }
            let bench = &fleets[&scenario.devices];
            let lists = bench.bed.list_server().expect("the benchmark publishes lists");
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
                bench.bed.fleet().set_groups(&start);
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
                if let (Some(link), "tsfleet") = (link_rtt, tool.as_str()) {
                    print_round_trips(&m.stderr, link, groups(0..0).len());
                }
            }
        }
    });
}
