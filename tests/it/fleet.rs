//! Whole-fleet runs through the real binary: simulated devices over SSH,
//! lists from a real NSD, reports read back from JSON.

use crate::harness::nsd::Nsd;
use crate::harness::{self, Zone};
use ipnet::Ipv4Net;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use tsfleet::domain::Family;
use tsfleet::sim::{Faults, SimFleet, TestBed};

const BLOCK: usize = 2000;
const PASSWORD: &str = "fleet-Pw-8841";
const ENABLE: &str = "fleet-En-1297";

/// A device that already carries an old list: one entry, used by an ACL.
const STALE: &str = "{ groups: [{ name: threatstop-block, entries: ['host 192.0.2.99'] }], acls: [{ name: OUTSIDE-IN, lines: ['deny ip object-group threatstop-block any'] }] }";

struct Lab {
    bed: TestBed,
    _nsd: Nsd,
    dir: tempfile::TempDir,
    inventory: PathBuf,
    block: BTreeSet<Ipv4Net>,
    allow: BTreeSet<Ipv4Net>,
}

/// `devices` simulated routers, a block list of 2,000 prefixes in PTR
/// sub-lists and a two-entry allow list on NSD, and an inventory for both.
async fn lab(devices: usize, profile: &str) -> Lab {
    lab_with_command_timeout(devices, profile, 2000).await
}

/// [`lab`] with another inventory `command_timeout_ms`.
async fn lab_with_command_timeout(devices: usize, profile: &str, command_timeout_ms: u64) -> Lab {
    // Distinct host addresses, so the policy leaves the list as published.
    let block: Vec<Ipv4Net> = (0..BLOCK as u32)
        .map(|i| Ipv4Net::new(std::net::Ipv4Addr::from(0x0B00_0000 + 3 * i), 32).unwrap())
        .collect();
    let allow: Vec<Ipv4Net> = vec![
        "198.51.100.10/32".parse().unwrap(),
        "198.51.100.11/32".parse().unwrap(),
    ];
    let subs: Vec<String> = (0..2).map(|i| format!("s{i}.corp-block.acme")).collect();
    let mut zone = Zone::new().ptrs("corp-block.acme", &subs);
    for (i, chunk) in block.chunks(BLOCK / 2).enumerate() {
        zone = zone.apl(
            &subs[i],
            &chunk.iter().map(|p| format!("1:{p}")).collect::<Vec<_>>(),
        );
    }
    zone = zone.apl(
        "corp-allow.acme",
        &allow.iter().map(|p| format!("1:{p}")).collect::<Vec<_>>(),
    );
    let nsd = Nsd::start(&zone);
    let lists = harness::lists_inventory(
        &["127.0.0.1".into()],
        nsd.port,
        "tcp",
        &["corp-block.acme"],
        &["corp-allow.acme"],
    );
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("fleet.yaml");
    let bed = TestBed::builder()
        .devices(devices)
        // Secrets that are not also words of the CLI, so a leak is visible.
        .credentials(PASSWORD, ENABLE)
        .profile(profile)
        .edit(move |inv| {
            inv.defaults.command_timeout_ms = Some(command_timeout_ms);
            inv.defaults.connect_timeout_ms = Some(3000);
            inv.dns = lists.dns;
            inv.policies = lists.policies;
        })
        .start(&inventory)
        .await
        .unwrap();
    Lab {
        bed,
        _nsd: nsd,
        dir,
        inventory,
        block: block.into_iter().collect(),
        allow: allow.into_iter().collect(),
    }
}

impl Lab {
    fn fleet(&self) -> &SimFleet {
        self.bed.fleet()
    }

    /// Run the binary off the async runtime (the simulator lives on it).
    /// The JSON report it writes must validate against the schema.
    async fn tsfleet(&self, args: &[&str]) -> (Output, serde_json::Value) {
        let report = self
            .dir
            .path()
            .join(format!("report-{}.json", rand_suffix()));
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["-i".into(), self.inventory.display().to_string()]);
        all.extend(["--json".into(), report.display().to_string()]);
        all.extend([
            "--run-dir".into(),
            self.dir.path().join("runs").display().to_string(),
        ]);
        let cwd = self.dir.path().to_path_buf();
        let out = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = all.iter().map(String::as_str).collect();
            harness::tsfleet(&refs, &cwd)
        })
        .await
        .unwrap();
        if report.exists() {
            let file = report.clone();
            tokio::task::spawn_blocking(move || schema_valid(&[&file]))
                .await
                .unwrap();
        }
        let json = std::fs::read_to_string(&report)
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap_or(serde_json::Value::Null);
        (out, json)
    }

    /// Wait until `device` has taken `lines` configuration lines.
    async fn wait_for_config_lines(&self, device: &str, lines: u64) {
        let d = self.fleet().device(device).unwrap();
        harness::wait_until_async(
            &format!("the run to push {lines} lines to {device}"),
            std::time::Duration::from_secs(30),
            || d.snapshot().stats.config_lines >= lines,
        )
        .await;
    }

    fn group(&self, device: &str, group: &str) -> BTreeSet<Ipv4Net> {
        group_of(self.fleet(), device, group)
    }
}

/// The prefixes `group` holds on the simulated `device` now (none without it).
pub(crate) fn group_of(fleet: &SimFleet, device: &str, group: &str) -> BTreeSet<Ipv4Net> {
    let state = fleet.device(device).unwrap().snapshot();
    let Some(g) = state.group(group) else {
        return BTreeSet::new();
    };
    let text: String = std::iter::once(format!("Network object group {group}\n"))
        .chain(g.entries.iter().map(|e| format!(" {e}\n")))
        .collect();
    let managed = tsfleet::device::ios::parse_group(&text, group, Family::Ipv4)
        .unwrap()
        .managed;
    managed
        .into_iter()
        .filter_map(|n| match n {
            ipnet::IpNet::V4(n) => Some(n),
            ipnet::IpNet::V6(_) => None,
        })
        .collect()
}

/// Real report files validate against `schemas/report.schema.json` under
/// Python's `jsonschema`.
pub(crate) fn schema_valid(files: &[&Path]) {
    let checked = crate::report::check(files, None);
    for result in checked["json"].as_array().unwrap() {
        assert_eq!(
            result["errors"],
            serde_json::json!([]),
            "{} does not match the schema",
            result["file"]
        );
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

pub(crate) fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub(crate) fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn device<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_apply_plan_on_fifty_devices() {
    let lab = lab(50, "").await;
    let (out, report) = lab.tsfleet(&["plan", "--detailed-exitcode"]).await;
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        report["snapshot_sha256"]
            .as_str()
            .is_some_and(|s| s.len() == 64),
        "plan names the lists it used: {}",
        report["snapshot_sha256"]
    );
    for d in report["devices"].as_array().unwrap() {
        assert_eq!(d["status"], "changed", "{d}");
        assert_eq!(d["added"], BLOCK as u64 + 2, "{d}");
        assert_eq!(d["removed"], 0);
    }
    assert!(
        lab.fleet()
            .devices()
            .iter()
            .all(|d| d.snapshot().running.groups.is_empty()),
        "plan changes nothing"
    );

    let (out, report) = lab.tsfleet(&["apply", "--yes"]).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(report["summary"]["changed"], 50, "{report}");
    for d in lab.fleet().devices() {
        assert_eq!(
            lab.group(&d.name, "threatstop-block"),
            lab.block,
            "{}",
            d.name
        );
        assert_eq!(
            lab.group(&d.name, "threatstop-allow"),
            lab.allow,
            "{}",
            d.name
        );
        let state = d.snapshot();
        assert!(state.saved(), "{} saved", d.name);
        assert_eq!(state.stats.left_in_config_mode, 0);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("rtr-001") && stdout.contains("50 devices"),
        "{stdout}"
    );

    let (out, report) = lab.tsfleet(&["plan", "--detailed-exitcode"]).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(report["summary"]["ok"], 50, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_escape_sequences_are_escaped_on_the_terminal_and_exact_in_json() {
    // A device whose error clears the screen, retitles the window and rings.
    let profile = "devices:\n  rtr-001: { faults: { error_entries: ['host 198.51.100.11'], \
                   error_text: \"% Bad \\x1b[2J\\x1b]0;owned\\x07 input\" } }\n";
    let lab = lab(1, profile).await;
    let (out, report) = lab
        .tsfleet(&["apply", "--yes", "--retries", "0", "-v"])
        .await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    let error = &device(&report, "rtr-001")["error"];
    assert_eq!(error["class"], "device-error", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("% Bad \x1b[2J\x1b]0;owned\x07 input"),
        "the JSON report keeps the device's text exact: {message:?}"
    );
    let printed = text(&out);
    assert!(
        !printed.contains('\x1b') && !printed.contains('\x07'),
        "raw control characters reached the terminal: {printed:?}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("% Bad \\x1b[2J\\x1b]0;owned\\x07 input"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_markdown_summary_names_the_failed_device_with_its_text_inert() {
    // rtr-001 refuses an entry with a message that would add a link, HTML,
    // table cells and a line to a summary that pasted it as it is.
    let profile = "devices:\n  rtr-001: { faults: { error_entries: ['host 198.51.100.11'], \
                   error_text: \"% Bad | <script>x</script> [x](http://e)\\n| row |\\x1b[2J\" } }\n";
    let lab = lab(2, profile).await;
    let (out, report) = lab
        .tsfleet(&[
            "apply",
            "--yes",
            "--retries",
            "0",
            "--summary-md",
            "summary.md",
        ])
        .await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    let message = device(&report, "rtr-001")["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("<script>x</script>"), "{message:?}");
    let summary = std::fs::read_to_string(lab.dir.path().join("summary.md")).unwrap();
    let inventory = lab.inventory.display().to_string();
    assert!(
        summary.starts_with(&format!(
            "## tsfleet apply on {}: failed (exit 1)\n",
            inventory.replace('_', "\\_")
        )),
        "{summary}"
    );
    assert!(
        summary.contains("| 2 | 0 | 1 | 1 | 0 | "),
        "1 changed, 1 failed: {summary}"
    );
    let row = summary
        .lines()
        .find(|l| l.starts_with("| rtr-001 |"))
        .unwrap_or_else(|| panic!("no row for rtr-001: {summary}"));
    assert!(row.contains("| device-error | "), "{row}");
    assert!(
        row.contains("% Bad \\| &lt;script&gt;x&lt;/script&gt; \\[x\\]\\(http\\://e\\)"),
        "{row}"
    );
    for raw in ["<script", "[x]", "http://", "\x1b", "\n| row |"] {
        assert!(
            !summary.contains(raw),
            "{raw:?} reached the summary: {summary}"
        );
    }
    assert_eq!(
        row.replace("\\|", "").matches('|').count(),
        5,
        "the row keeps its four cells: {row}"
    );
    assert!(
        summary.contains("rtr-002: object-group network threatstop-block (+2000 -0)</summary>")
            && summary.contains("```diff\n+ "),
        "the change set is folded with its lines: {summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_device_keeps_its_old_list_saves_it_and_reports_what_it_got() {
    // rtr-001 holds 1,000 entries at most; rtr-002 refuses the 11th block entry.
    let profile = format!(
        "devices:\n  rtr-001: {{ running: {STALE}, faults: {{ max_group_entries: 1000 }} }}\n  \
         rtr-002: {{ running: {STALE}, faults: {{ error_entries: ['host 11.0.0.30'] }} }}\n"
    );
    let lab = lab(2, &profile).await;
    let (out, report) = lab.tsfleet(&["apply", "--yes", "--retries", "0"]).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    let stale: Ipv4Net = "192.0.2.99/32".parse().unwrap();

    let full = device(&report, "rtr-001");
    assert_eq!(full["status"], "failed", "{full}");
    assert_eq!(full["error"]["class"], "group-full", "{full}");
    let message = full["error"]["message"].as_str().unwrap();
    assert!(message.contains("limit of 1000 entries"), "{message}");
    let block = &full["groups"][1];
    assert_eq!(block["name"], "threatstop-block");
    // The stale entry stays; 999 of the 2,000 adds went in, nothing was removed.
    assert_eq!(
        (&block["added"], &block["removed"]),
        (&999.into(), &0.into()),
        "{full}"
    );
    assert_eq!(
        full["added"],
        2 + 999,
        "the allow group and the block group: {full}"
    );
    assert_eq!(full["saved"], true, "{full}");
    let group = lab.group("rtr-001", "threatstop-block");
    assert!(group.contains(&stale) && group.len() == 1000);
    let d = lab.fleet().device("rtr-001").unwrap().snapshot();
    assert!(d.saved(), "saved holding the old list and what went in");

    let refused = device(&report, "rtr-002");
    assert_eq!(refused["error"]["class"], "device-error", "{refused}");
    let added = refused["groups"][1]["added"].as_u64().unwrap();
    assert!(added >= 10, "{refused}");
    assert_eq!(refused["removed"], 0, "{refused}");
    assert_eq!(refused["saved"], true, "{refused}");
    assert!(lab.group("rtr-002", "threatstop-block").contains(&stale));
    assert!(lab.fleet().device("rtr-002").unwrap().snapshot().saved());

    // The table shows the counts of a failed device, not dashes.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = stdout
        .lines()
        .find(|l| l.starts_with("rtr-001"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(row.contains("+1001") && row.contains("group-full"), "{row}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix_then_recovery() {
    let faults = [
        ("rtr-001", "wrong_password: true", Some("auth")),
        ("rtr-002", "wrong_enable_secret: true", Some("enable")),
        ("rtr-003", "refuse_connections: true", Some("connect")),
        ("rtr-004", "disconnect_after_lines: 12", Some("protocol")),
        ("rtr-005", "hang_after_lines: 12", Some("timeout")),
        (
            "rtr-006",
            "error_entries: ['host 198.51.100.11']",
            Some("device-error"),
        ),
        ("rtr-007", "max_group_entries: 100", Some("group-full")),
        ("rtr-008", "legacy_only: true", None),
        ("rtr-009", "syslog_every_lines: 5", None),
        ("rtr-010", "drop_input_over_bytes: 3000", None),
    ];
    let profile: String = std::iter::once("devices:\n".to_string())
        .chain(faults.iter().map(|(name, f, _)| {
            let cost = if *name == "rtr-010" {
                "line_cost_us: 300, "
            } else {
                ""
            };
            // Every device starts with a stale entry in a group an ACL uses.
            format!("  {name}: {{ {cost}running: {STALE}, faults: {{ {f} }} }}\n")
        }))
        .collect();
    let lab = lab(14, &profile).await;
    let (out, report) = lab.tsfleet(&["apply", "--yes", "--retries", "0"]).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    for (name, _, class) in faults {
        let d = device(&report, name);
        match class {
            Some(class) => assert_eq!(d["error"]["class"], class, "{name}: {d}"),
            None => assert_eq!(d["status"], "changed", "{name}: {d}"),
        }
    }
    for name in ["rtr-011", "rtr-012", "rtr-013", "rtr-014"] {
        assert_eq!(device(&report, name)["status"], "changed");
        assert!(
            lab.group(name, "threatstop-block") == lab.block,
            "{name}: block group differs"
        );
    }
    for d in lab.fleet().devices() {
        let state = d.snapshot();
        if faults.iter().any(|(name, _, _)| *name == d.name) {
            let block = state.group("threatstop-block");
            assert!(
                block.is_some_and(|g| !g.entries.is_empty()),
                "{}: the block group was emptied",
                d.name
            );
        }
        if !matches!(d.name.as_str(), "rtr-004" | "rtr-005") {
            assert_eq!(
                state.stats.left_in_config_mode, 0,
                "{} left in config mode",
                d.name
            );
        }
    }
    // The files of a real run, read by independent consumers.
    let (json_file, junit_file) = (
        lab.dir.path().join("matrix.json"),
        lab.dir.path().join("matrix.xml"),
    );
    let args = [
        "plan",
        "--retries",
        "0",
        "--junit",
        "matrix.xml",
        "--json",
        "matrix.json",
        "-i",
    ];
    let mut cmd: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    cmd.push(lab.inventory.display().to_string());
    let cwd = lab.dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
        harness::tsfleet(&refs, &cwd)
    })
    .await
    .unwrap();
    let checked = crate::report::check(&[&json_file], Some(&junit_file));
    assert_eq!(
        checked["json"][0]["errors"],
        serde_json::json!([]),
        "{checked}"
    );
    let suite = &checked["junit"]["suites"][0];
    assert_eq!(suite["tests"], 14, "{checked}");
    assert!(suite["failures"].as_u64().unwrap() >= 3, "{checked}");

    // Clear the faults: a re-run converges every device.
    for d in lab.fleet().devices() {
        d.set_faults(Faults::default());
    }
    let refused = lab.fleet().device("rtr-003").unwrap();
    assert!(
        std::net::TcpStream::connect(refused.addr).is_err(),
        "(rtr-003 has no listener in this process)"
    );
    let (out, report) = lab
        .tsfleet(&[
            "apply",
            "--yes",
            "--limit",
            "rtr-0[0-9][0-9]",
            "--retries",
            "0",
        ])
        .await;
    for d in report["devices"].as_array().unwrap() {
        if d["name"] != "rtr-003" {
            assert_ne!(d["status"], "failed", "{d}\n{}", text(&out));
        }
    }
    for d in lab.fleet().devices().iter().filter(|d| d.name != "rtr-003") {
        assert_eq!(
            lab.group(&d.name, "threatstop-block"),
            lab.block,
            "{}",
            d.name
        );
    }
}

// A device that streams output without ever sending its prompt fails alone,
// class flood, at its answer's cap (`max_policy_size` 30,000 by default);
// the other devices converge; the simulator got out no more than the cap
// plus what the SSH window and russh's bounded queue let through, and
// tsfleet's peak memory stays small (unbounded, the flood would take it
// past the bound within seconds: the run may last two minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_device_fails_alone_and_tsfleet_memory_stays_bounded() {
    let lab = lab(
        6,
        "devices: { rtr-002: { faults: { flood_after_lines: 4 } } }",
    )
    .await;
    let report = lab.dir.path().join("flood.json");
    let mut child = std::process::Command::new(harness::tsfleet_bin())
        .args([
            "apply",
            "--yes",
            "--retries",
            "0",
            "--device-timeout",
            "120",
        ])
        .arg("-i")
        .arg(&lab.inventory)
        .arg("--json")
        .arg(&report)
        .arg("--run-dir")
        .arg(lab.dir.path().join("runs"))
        .current_dir(lab.dir.path())
        .env_remove("RUST_LOG")
        .env("TSFLEET_STATE_DIR", harness::state_dir(lab.dir.path()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // VmHWM only grows: the last reading before the exit is the peak.
    let (status, peak_kib) = tokio::task::spawn_blocking(move || {
        let status_file = format!("/proc/{}/status", child.id());
        let mut peak_kib = 0u64;
        let ended = harness::wait::holds_within(std::time::Duration::from_secs(180), || {
            if let Some(kib) = std::fs::read_to_string(&status_file)
                .ok()
                .and_then(|s| vm_hwm_kib(&s))
            {
                peak_kib = peak_kib.max(kib);
            }
            child.try_wait().unwrap().is_some()
        });
        if !ended {
            let _ = child.kill();
        }
        (child.wait().unwrap(), peak_kib)
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(1));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let flooded = device(&report, "rtr-002");
    assert_eq!(flooded["error"]["class"], "flood", "{flooded}");
    let cap = tsfleet::device::shell::answer_cap(tsfleet::lists::policy::DEFAULT_MAX_POLICY_SIZE);
    let message = flooded["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("past the {cap}-byte cap")),
        "{message}"
    );
    for d in lab.fleet().devices().iter().filter(|d| d.name != "rtr-002") {
        assert_eq!(device(&report, &d.name)["status"], "changed");
        assert_eq!(
            lab.group(&d.name, "threatstop-block"),
            lab.block,
            "{}",
            d.name
        );
    }
    harness::flood_stopped_near(lab.fleet().device("rtr-002").unwrap(), cap);
    assert!(
        peak_kib > 0 && peak_kib < 256 * 1024,
        "tsfleet's peak RSS: {peak_kib} KiB"
    );
}

/// `VmHWM` (peak resident memory) from `/proc/PID/status`, in KiB.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stops_authentication_canary_and_failure_budget() {
    let profile: String = std::iter::once("devices:\n".to_string())
        .chain((1..=5).map(|i| format!("  rtr-00{i}: {{ faults: {{ wrong_password: true }} }}\n")))
        .collect();
    let lab = lab(8, &profile).await;
    let (out, report) = lab.tsfleet(&["plan", "--concurrency", "1"]).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    let s = &report["summary"];
    assert_eq!(
        s["failed"], 3,
        "three authentication failures, then the run stops: {report}"
    );
    assert_eq!(s["skipped"], 5, "{report}");
    assert!(
        device(&report, "rtr-008")["reason"]
            .as_str()
            .unwrap()
            .contains("authentication"),
        "{report}"
    );

    let (out, report) = lab
        .tsfleet(&["plan", "--canary", "2", "--auth-failure-limit", "0"])
        .await;
    assert_eq!(code(&out), 1);
    assert_eq!(report["summary"]["failed"], 2, "{report}");
    assert!(
        device(&report, "rtr-007")["reason"]
            .as_str()
            .unwrap()
            .contains("canary"),
        "{report}"
    );

    let (out, report) = lab
        .tsfleet(&[
            "plan",
            "--concurrency",
            "1",
            "--max-failures",
            "2",
            "--auth-failure-limit",
            "0",
        ])
        .await;
    assert_eq!(code(&out), 1);
    assert_eq!(report["summary"]["failed"], 2, "{report}");
    assert!(
        device(&report, "rtr-006")["reason"]
            .as_str()
            .unwrap()
            .contains("max-failures"),
        "{report}"
    );
}

/// Per device, the credentials it has seen so far (login attempts, enable secrets).
fn credentials_seen(lab: &Lab) -> Vec<(String, u64, u64)> {
    lab.fleet()
        .devices()
        .iter()
        .map(|d| {
            let stats = d.snapshot().stats;
            (d.name.clone(), stats.auth_attempts, stats.enable_attempts)
        })
        .collect()
}

/// What each device saw during one run: `(name, logins, enable secrets)`
/// for the devices that saw any credential.
fn seen_since(lab: &Lab, before: &[(String, u64, u64)]) -> Vec<(String, u64, u64)> {
    credentials_seen(lab)
        .into_iter()
        .zip(before)
        .map(|((name, a, e), (_, a0, e0))| (name, a - a0, e - e0))
        .filter(|(_, a, e)| *a + *e > 0)
        .collect()
}

/// A lab of `devices` routers that all show `fault`.
async fn lab_all_with(devices: usize, fault: &str) -> Lab {
    let profile: String = std::iter::once("devices:\n".to_string())
        .chain((0..devices).map(|i| {
            format!(
                "  {}: {{ faults: {{ {fault} }} }}\n",
                tsfleet::sim::fleet::device_name(i, devices)
            )
        }))
        .collect();
    lab(devices, &profile).await
}

/// A `plan` with `--auth-failure-limit 1`, every device at once: exactly one
/// device saw credentials and failed with `class`, every other one is
/// skipped by the breaker. Returns what that one device saw: (login
/// attempts, enable secrets).
async fn breaker_run(lab: &Lab, connect_rate: &str, class: &str) -> (u64, u64) {
    let devices = lab.fleet().devices().len();
    let before = credentials_seen(lab);
    let (out, report) = lab
        .tsfleet(&[
            "plan",
            "--auth-failure-limit",
            "1",
            "--concurrency",
            &devices.to_string(),
            "--connect-rate",
            connect_rate,
        ])
        .await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(!text(&out).contains(PASSWORD) && !text(&out).contains(ENABLE));
    let seen = seen_since(lab, &before);
    assert_eq!(
        seen.len(),
        1,
        "--connect-rate {connect_rate}: one device saw credentials: {seen:?}"
    );
    let (name, logins, secrets) = seen[0].clone();
    let s = &report["summary"];
    assert_eq!(
        (&s["failed"], &s["skipped"]),
        (&1.into(), &(devices - 1).into()),
        "{report}"
    );
    assert_eq!(device(&report, &name)["error"]["class"], class, "{report}");
    for d in report["devices"].as_array().unwrap() {
        if d["name"] != name.as_str() {
            let reason = d["reason"].as_str().unwrap_or_default();
            assert!(reason.contains("authentication failures"), "{d}");
        }
    }
    (logins, secrets)
}

// A wrong shared password on 20 devices with everything open wide: one
// device is sent the password, once; the other 19 are never sent a
// credential (they wait for leave after the handshake and are turned away).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_shared_password_is_sent_once_to_one_device() {
    let lab = lab_all_with(20, "wrong_password: true").await;
    for rate in ["0", "20"] {
        assert_eq!(
            breaker_run(&lab, rate, "auth").await,
            (1, 0),
            "--connect-rate {rate}"
        );
    }
}

// A wrong shared enable secret: one device is sent it, once (its next
// `Password:` is left unanswered), and that refusal trips the breaker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_enable_secret_is_sent_once_and_stops_the_run() {
    let lab = lab_all_with(8, "wrong_enable_secret: true").await;
    assert_eq!(breaker_run(&lab, "0", "enable").await, (1, 1));
}

/// `tsfleet apply --yes --concurrency 2` on the lab as a child process,
/// with a JSON and a JUnit report in `dir`.
fn spawn_apply(lab: &Lab, name: &str) -> (std::process::Child, PathBuf, PathBuf) {
    let json = lab.dir.path().join(format!("{name}.json"));
    let junit = lab.dir.path().join(format!("{name}.xml"));
    let child = std::process::Command::new(harness::tsfleet_bin())
        .args(["apply", "--yes", "--concurrency", "2", "-i"])
        .arg(&lab.inventory)
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .arg("--run-dir")
        .arg(lab.dir.path().join("runs"))
        .arg("--metrics")
        .arg(lab.dir.path().join(format!("{name}.prom")))
        .env_remove("RUST_LOG")
        .env("TSFLEET_STATE_DIR", harness::state_dir(lab.dir.path()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    (child, json, junit)
}

/// Send `signal` (`INT`, `TERM`, `HUP`) to the process `pid`.
fn send_signal(pid: u32, signal: &str) {
    assert!(
        std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
}

/// Everything read from `pipe`, as it comes (a thread reads it until EOF).
pub(crate) fn capture(
    mut pipe: impl std::io::Read + Send + 'static,
) -> (
    std::sync::Arc<std::sync::Mutex<String>>,
    std::thread::JoinHandle<()>,
) {
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let into = text.clone();
    let reader = std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut chunk) {
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    (text, reader)
}

/// How `child` exited, or None if it still runs a minute later: generous
/// under load, far below what the tests below would wait without the fix.
pub(crate) async fn exit_status(
    mut child: std::process::Child,
) -> Option<std::process::ExitStatus> {
    tokio::task::spawn_blocking(move || {
        harness::wait::holds_within(std::time::Duration::from_secs(60), || {
            child.try_wait().unwrap().is_some()
        })
        .then(|| child.wait().unwrap())
    })
    .await
    .unwrap()
}

/// A stop signal mid-push: nothing new starts, the devices in flight stop
/// at a batch boundary and leave configuration mode, nothing unfinished is
/// saved, both reports are written, exit 1, and the message names the signal.
async fn a_stop_signal_mid_push(signal: &str, named: &str) {
    let lab = lab(
        6,
        "devices: { rtr-001: { line_cost_us: 1500 }, rtr-002: { line_cost_us: 1500 } }",
    )
    .await;
    let (child, report, junit) = spawn_apply(&lab, signal);
    // Wait until the slow devices are busy in configuration mode.
    lab.wait_for_config_lines("rtr-001", 100).await;
    send_signal(child.id(), signal);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("tsfleet: {named}: stopping")),
        "the message names the signal: {}",
        text(&out)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    // In flight: the push stopped at a batch boundary, every line sent was
    // answered, configuration mode was left, nothing was saved.
    let busy = device(&report, "rtr-001");
    assert_eq!(busy["error"]["class"], "interrupted", "{busy}");
    let state = lab.fleet().device("rtr-001").unwrap().snapshot();
    assert!(!state.saved(), "an interrupted device is not saved");
    let pushed = state
        .running
        .groups
        .iter()
        .map(|g| g.entries.len())
        .sum::<usize>();
    assert!(pushed < BLOCK, "the push stopped early ({pushed} entries)");
    assert_eq!(device(&report, "rtr-006")["status"], "skipped", "{report}");
    assert!(
        device(&report, "rtr-006")["reason"]
            .as_str()
            .unwrap()
            .contains("interrupted")
    );
    for d in lab.fleet().devices() {
        assert_eq!(d.snapshot().stats.left_in_config_mode, 0, "{}", d.name);
    }
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(
        junit.contains("rtr-001") && junit.contains("interrupted"),
        "{junit}"
    );
    // The metrics too, for the monitoring of a stopped scheduled run.
    let metrics = std::fs::read_to_string(lab.dir.path().join(format!("{signal}.prom"))).unwrap();
    let line = |name: &str| {
        let found = metrics.lines().find(|l| l.starts_with(name));
        found
            .unwrap_or_else(|| panic!("{name}: {metrics}"))
            .to_string()
    };
    assert!(line("tsfleet_last_run_success{").ends_with(" 0"));
    assert!(line("tsfleet_devices{command=\"apply\"").contains("status=\"ok\""));
    let skipped = metrics.lines().find(|l| l.contains("status=\"skipped\""));
    assert!(!skipped.unwrap().ends_with(" 0"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_starts_nothing_new_and_in_flight_devices_stop_cleanly() {
    a_stop_signal_mid_push("INT", "SIGINT (Ctrl-C)").await;
}

/// What systemd and Kubernetes send to stop a service or a pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_push_as_ctrl_c_does() {
    a_stop_signal_mid_push("TERM", "SIGTERM").await;
}

/// What a dropped terminal sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_stops_a_push_as_ctrl_c_does() {
    a_stop_signal_mid_push("HUP", "SIGHUP").await;
}

/// A device that stops answering mid-push keeps a first signal waiting (its
/// command timeout is two minutes); a second signal closes its session
/// after a short grace, and the run still ends with its reports, exit 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_ends_the_run_though_a_device_hangs() {
    // The hang comes inside the first batch of entries (64 lines), whatever
    // the handful of commands before configuration mode.
    let lab = lab_with_command_timeout(
        2,
        "devices: { rtr-001: { faults: { hang_after_lines: 50 } } }",
        120_000,
    )
    .await;
    let (mut child, report, junit) = spawn_apply(&lab, "second-signal");
    let (stderr, reader) = capture(child.stderr.take().unwrap());
    // In configuration mode, so the first batch was sent.
    lab.wait_for_config_lines("rtr-001", 5).await;
    send_signal(child.id(), "TERM");
    // Two signals of one kind sent at once may arrive as one: the second
    // goes once the first was seen.
    harness::wait_until_async(
        "the first signal to be seen",
        std::time::Duration::from_secs(30),
        || {
            stderr
                .lock()
                .unwrap()
                .contains("tsfleet: SIGTERM: stopping")
        },
    )
    .await;
    send_signal(child.id(), "TERM");
    // Without the second signal, the hung device would hold the run for
    // its two-minute command timeout and more.
    let status = exit_status(child)
        .await
        .expect("the run ended after the second signal");
    reader.join().unwrap();
    let stderr = stderr.lock().unwrap().clone();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("SIGTERM again"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let hung = device(&report, "rtr-001");
    assert_eq!(hung["error"]["class"], "interrupted", "{hung}");
    assert!(
        hung["error"]["message"]
            .as_str()
            .unwrap()
            .contains("second signal"),
        "{hung}"
    );
    assert!(!lab.fleet().device("rtr-001").unwrap().snapshot().saved());
    assert!(std::fs::read_to_string(&junit).unwrap().contains("rtr-001"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_the_same_inventory_exits_3_naming_the_holder() {
    let lab = lab(1, "").await;
    // Held through a symbolic link to the inventory: the lock is on the
    // canonical path, in the state directory.
    let link = lab.dir.path().join("link-to-fleet.yaml");
    std::os::unix::fs::symlink(&lab.inventory, &link).unwrap();
    let state = harness::state_dir(lab.dir.path());
    let _held = tsfleet::lock::acquire_inventory(&link, Some(&state)).unwrap();
    let (out, _) = lab.tsfleet(&["plan", "--metrics", "plan.prom"]).await;
    assert_eq!(code(&out), 3, "{}", text(&out));
    let metrics = std::fs::read_to_string(lab.dir.path().join("plan.prom")).unwrap();
    assert!(
        (metrics.lines()).any(|l| l.starts_with("tsfleet_last_run_success{") && l.ends_with(" 0")),
        "a run refused by the lock still tells monitoring: {metrics}"
    );
    assert!(
        text(&out).contains(&format!("pid {}", std::process::id())),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains(&state.display().to_string()),
        "{}",
        text(&out)
    );
    let _ = Path::new("");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_links_at_the_report_and_transcript_paths_are_replaced_not_followed() {
    use std::os::unix::fs::PermissionsExt;
    let lab = lab(1, "").await;
    let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
    let victim = lab.dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let junit = lab.dir.path().join("planted.xml");
    std::os::unix::fs::symlink(&victim, &junit).unwrap();
    let runs = lab.dir.path().join("runs");
    std::fs::create_dir(&runs).unwrap();
    std::os::unix::fs::symlink(&victim, runs.join("rtr-001.log")).unwrap();
    let (out, _) = lab.tsfleet(&["plan", "--junit", "planted.xml"]).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(mode(&victim), 0o644);
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("<testsuite")
    );
    let transcript = runs.join("rtr-001.log");
    assert!(std::fs::symlink_metadata(&transcript).unwrap().is_file());
    assert_eq!(mode(&transcript), 0o600);
    assert!(
        std::fs::read_to_string(&transcript)
            .unwrap()
            .contains("rtr-001#")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_needs_yes_without_a_terminal_and_no_secret_is_printed() {
    let lab = lab(2, "").await;
    let (out, _) = lab.tsfleet(&["apply"]).await;
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(text(&out).contains("--yes"));
    let (out, report) = lab
        .tsfleet(&["apply", "--yes", "-vv", "--junit", "junit.xml"])
        .await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    let mut everything = text(&out) + &report.to_string();
    everything += &std::fs::read_to_string(lab.dir.path().join("junit.xml")).unwrap();
    for entry in std::fs::read_dir(lab.dir.path().join("runs")).unwrap() {
        everything += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    assert!(
        everything.contains("rtr-001(config-network-group)#"),
        "the transcripts are there"
    );
    for secret in [PASSWORD, ENABLE] {
        assert!(!everything.contains(secret), "a secret was shown");
    }
}

#[test]
fn the_demo_runs_plan_apply_plan_with_failure_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(harness::tsfleet_bin())
        .args([
            "demo",
            "--devices",
            "6",
            "--entries",
            "300",
            "--rtt-ms",
            "1",
            "--dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    let steps: Vec<&str> = stdout.split("── step ").skip(1).collect();
    assert_eq!(steps.len(), 3, "{stdout}");
    assert!(steps[0].starts_with("1: tsfleet plan") && steps[1].starts_with("2: tsfleet apply"));
    // After apply, the healthy devices have nothing left to change.
    let last = steps[2];
    for healthy in ["rtr-001", "rtr-002", "rtr-003"] {
        let row = last
            .lines()
            .find(|l| l.starts_with(healthy))
            .unwrap_or_else(|| panic!("{last}"));
        assert!(row.contains(" ok "), "{row}");
    }
    let apply = steps[1];
    for (device, class) in [
        ("rtr-004", "device-error"),
        ("rtr-005", "timeout"),
        ("rtr-006", "auth"),
    ] {
        let row = apply.lines().find(|l| l.starts_with(device)).unwrap();
        assert!(row.contains("failed") && row.contains(class), "{row}");
    }
    assert!(dir.path().join("demo-fleet.yaml").exists());
    // Each step keeps its transcripts and reports apart: step 3 left the
    // failures of step 2 in place, and the closing lines point at them.
    for (step, command) in [("1-plan", "plan"), ("2-apply", "apply"), ("3-plan", "plan")] {
        let transcripts = dir.path().join("transcripts").join(step);
        assert!(transcripts.join("rtr-001.log").is_file(), "{step}");
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("reports/{step}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(report["command"], command, "{step}");
        assert_eq!(report["devices"].as_array().unwrap().len(), 6, "{step}");
        let junit =
            std::fs::read_to_string(dir.path().join(format!("reports/{step}.xml"))).unwrap();
        assert!(
            junit.starts_with("<?xml") && junit.contains("rtr-006"),
            "{step}"
        );
        let summary =
            std::fs::read_to_string(dir.path().join(format!("reports/{step}.md"))).unwrap();
        assert!(summary.contains("rtr-006"), "{step}: {summary}");
        let page =
            std::fs::read_to_string(dir.path().join(format!("reports/{step}.html"))).unwrap();
        assert!(
            page.starts_with("<!DOCTYPE html>") && page.contains("rtr-006"),
            "{step}"
        );
    }
    let apply: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("reports/2-apply.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        apply["devices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["status"] == "failed")
            .count(),
        3
    );
    // rtr-001 runs IOS XE with `ipv6: true`: its two v6-network groups are
    // groups of their own after the IPv4 ones (the others have those only),
    // and no IPv6 item reaches an IPv4 group.
    let groups = |report: &serde_json::Value, device: &str| -> Vec<(String, String, u64, u64)> {
        let d = (report["devices"].as_array().unwrap().iter())
            .find(|d| d["name"] == device)
            .unwrap();
        (d["groups"].as_array().unwrap().iter())
            .map(|g| {
                (
                    g["name"].as_str().unwrap().to_string(),
                    g["family"].as_str().unwrap().to_string(),
                    g["added"].as_u64().unwrap(),
                    g["removed"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let named = |groups: Vec<(String, String, u64, u64)>| -> Vec<(String, String)> {
        groups.into_iter().map(|(n, f, ..)| (n, f)).collect()
    };
    let pair = |n: &str, f: &str| (n.to_string(), f.to_string());
    assert_eq!(
        named(groups(&apply, "rtr-001")),
        [
            pair("threatstop-allow", "ipv4"),
            pair("threatstop-block", "ipv4"),
            pair("threatstop-allow-v6", "ipv6"),
            pair("threatstop-block-v6", "ipv6"),
        ]
    );
    assert_eq!(
        named(groups(&apply, "rtr-002")),
        [
            pair("threatstop-allow", "ipv4"),
            pair("threatstop-block", "ipv4")
        ]
    );
    assert_eq!(
        groups(&apply, "rtr-001")[..2],
        groups(&apply, "rtr-002")[..],
        "the IPv4 groups of the IOS XE router get what the others get"
    );
    let v6: Vec<u64> = groups(&apply, "rtr-001")[2..].iter().map(|g| g.2).collect();
    assert_eq!(
        v6,
        [1, 100],
        "the lists' IPv6 items filled the v6-network groups (allow, block)"
    );
    let last: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("reports/3-plan.json")).unwrap(),
    )
    .unwrap();
    assert!(
        groups(&last, "rtr-001")
            .iter()
            .all(|(_, _, added, removed)| (added, removed) == (&0, &0)),
        "every group of rtr-001 converged: {:?}",
        groups(&last, "rtr-001")
    );
    let refused = dir.path().join("transcripts/2-apply/rtr-004.log");
    let transcript = std::fs::read_to_string(&refused).unwrap();
    assert!(
        transcript.contains("198.18.0.9"),
        "the refused entry is in step 2's transcript"
    );
    assert!(
        stdout.contains(&refused.display().to_string()),
        "the closing lines point at the failure: {stdout}"
    );
    assert!(
        stdout.contains("tsfleet sim --devices 3 --write-inventory"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_shards_reach_the_same_state_as_one_run_and_merge() {
    let sharded = lab(12, "").await;
    let single = lab(12, "").await;
    let dir = sharded.dir.path().to_path_buf();
    let inv = sharded.inventory.display().to_string();
    let run = |args: Vec<String>| {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            harness::tsfleet(&refs, &dir)
        })
    };
    let out = run(vec![
        "resolve".into(),
        "-i".into(),
        inv.clone(),
        "-o".into(),
        "lists.json".into(),
    ])
    .await
    .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    for k in 1..=4 {
        let args = [
            "apply",
            "-i",
            &inv,
            "--lists",
            "lists.json",
            "--yes",
            "--shard",
            &format!("{k}/4"),
            "--json",
            &format!("shard-{k}.json"),
        ];
        let out = run(args.iter().map(|s| s.to_string()).collect())
            .await
            .unwrap();
        assert_eq!(code(&out), 0, "shard {k}: {}", text(&out));
    }
    let (out, _) = single.tsfleet(&["apply", "--yes"]).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    for d in sharded.fleet().devices() {
        assert!(
            sharded.group(&d.name, "threatstop-block") == single.group(&d.name, "threatstop-block")
                && sharded.group(&d.name, "threatstop-allow")
                    == single.group(&d.name, "threatstop-allow"),
            "{}: sharded and unsharded runs differ",
            d.name
        );
    }
    let merge = |files: &[&str]| {
        let mut args: Vec<String> = vec![
            "report".into(),
            "merge".into(),
            "--expect-shards".into(),
            "4".into(),
        ];
        args.extend(files.iter().map(|f| f.to_string()));
        args.extend(["--json".into(), "merged.json".into()]);
        args.extend(["--summary-md".into(), "merged.md".into()]);
        args.extend(["--html".into(), "merged.html".into()]);
        run(args)
    };
    let out = merge(&[
        "shard-1.json",
        "shard-2.json",
        "shard-3.json",
        "shard-4.json",
    ])
    .await
    .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let files: Vec<PathBuf> = ["shard-1", "shard-2", "shard-3", "shard-4", "merged"]
        .iter()
        .map(|f| dir.join(format!("{f}.json")))
        .collect();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    schema_valid(&refs);
    let merged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("merged.json")).unwrap()).unwrap();
    assert_eq!(merged["devices"].as_array().unwrap().len(), 12);
    assert!(
        merged["snapshot_sha256"].is_string(),
        "the shards' snapshot: {merged}"
    );
    let summary = std::fs::read_to_string(dir.join("merged.md")).unwrap();
    assert!(
        summary.starts_with("## tsfleet apply on 4 shard reports: success (exit 0)\n"),
        "{summary}"
    );
    assert!(summary.contains("\n| 12 | "), "12 devices: {summary}");
    let page = std::fs::read_to_string(dir.join("merged.html")).unwrap();
    assert!(
        page.contains("<title>tsfleet apply on 4 shard reports: success (exit 0)</title>")
            && page.matches("<tr id=\"d-").count() == 12,
        "{page}"
    );
    let out = merge(&["shard-1.json", "shard-2.json", "shard-4.json"])
        .await
        .unwrap();
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(
        text(&out).contains("shard 3/4 is missing"),
        "{}",
        text(&out)
    );
    let out = merge(&[
        "shard-1.json",
        "shard-2.json",
        "shard-3.json",
        "shard-4.json",
        "shard-4.json",
    ])
    .await
    .unwrap();
    assert_eq!(code(&out), 3, "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_flags_old_releases_and_unused_groups_and_remove_respects_acls() {
    let free = "{ groups: [{ name: threatstop-block, entries: ['host 192.0.2.7'] }, { name: threatstop-allow, entries: ['host 192.0.2.8'] }] }";
    let profile = format!(
        "devices:\n  rtr-001: {{ version: '12.4(6)T2' }}\n  rtr-002: {{ version: '12.4(20)T' }}\n  rtr-003: {{ running: {STALE} }}\n  rtr-004: {{ running: {free} }}\n"
    );
    let lab = lab(5, &profile).await;
    let (out, report) = lab.tsfleet(&["check"]).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert_eq!(
        report["snapshot_sha256"],
        serde_json::Value::Null,
        "check uses no lists"
    );
    assert_eq!(
        device(&report, "rtr-001")["error"]["class"],
        "unsupported",
        "{report}"
    );
    let notes = |name: &str| device(&report, name)["notes"].to_string();
    assert!(notes("rtr-002").contains("12.4(22)T5"), "{report}");
    assert!(
        !notes("rtr-003").contains("threatstop-block is not used"),
        "{report}"
    );
    assert!(
        notes("rtr-004").contains("threatstop-block is not used by any ACL"),
        "{report}"
    );
    assert!(notes("rtr-005").contains("does not exist yet"), "{report}");
    // The table: no counts, no line rate, and the findings of a healthy
    // device under NOTES, not under ERROR.
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    let header = table.lines().next().unwrap_or_default();
    let words: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        words,
        ["DEVICE", "STATUS", "TIME", "ERROR", "NOTES"],
        "{table}"
    );
    let (error_at, notes_at) = (header.find("ERROR").unwrap(), header.find("NOTES").unwrap());
    let row = table.lines().find(|l| l.starts_with("rtr-004 ")).unwrap();
    assert!(row[error_at..notes_at].trim().is_empty(), "{table}");
    assert!(
        row[notes_at..].contains("group threatstop-block is not used by any ACL"),
        "{table}"
    );
    let row = table.lines().find(|l| l.starts_with("rtr-001 ")).unwrap();
    assert!(row[error_at..].starts_with("unsupported: "), "{table}");
    for d in lab.fleet().devices() {
        assert_eq!(
            d.snapshot().stats.config_lines,
            0,
            "check changed {}",
            d.name
        );
    }

    let (out, report) = lab
        .tsfleet(&["remove", "--yes", "--limit", "rtr-00[345]"])
        .await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert_eq!(
        report["snapshot_sha256"],
        serde_json::Value::Null,
        "remove uses no lists"
    );
    let refused = device(&report, "rtr-003");
    assert_eq!(refused["error"]["class"], "refused", "{report}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deny"),
        "the ACL line is shown: {refused}"
    );
    assert_eq!(device(&report, "rtr-004")["status"], "changed");
    assert_eq!(device(&report, "rtr-004")["removed"], 2);
    let groups = |name: &str| {
        lab.fleet()
            .device(name)
            .unwrap()
            .snapshot()
            .running
            .groups
            .len()
    };
    assert_eq!(groups("rtr-003"), 1, "a group in use is left untouched");
    assert_eq!(groups("rtr-004"), 0, "free groups are deleted");
    assert!(lab.fleet().device("rtr-004").unwrap().snapshot().saved());
    assert_eq!(
        device(&report, "rtr-005")["status"],
        "ok",
        "nothing to remove"
    );
}

/// A stop signal at `apply`'s question on a terminal is a no: nothing is
/// applied and the process ends (it used to be swallowed by the handlers
/// the preview installed, leaving the prompt deaf to it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_at_the_apply_question_applies_nothing() {
    let lab = lab(2, "").await;
    // `exec`, so the terminal's shell becomes tsfleet: the child of `script`.
    let cmd = format!(
        "exec {} apply -i {} --run-dir runs",
        harness::tsfleet_bin(),
        lab.inventory.display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(lab.dir.path())
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Held open: the question waits for a line that never comes.
    let _stdin = child.stdin.take();
    let (screen, reader) = capture(child.stdout.take().unwrap());
    harness::wait_until_async("the question", std::time::Duration::from_secs(30), || {
        screen.lock().unwrap().contains("[y/N]")
    })
    .await;
    let children = format!("/proc/{0}/task/{0}/children", child.id());
    let tsfleet: u32 = std::fs::read_to_string(&children)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("tsfleet under script ({children})"))
        .parse()
        .unwrap();
    send_signal(tsfleet, "TERM");
    let status = exit_status(child)
        .await
        .expect("the process ended on the signal");
    reader.join().unwrap();
    let screen = screen.lock().unwrap().clone();
    assert!(status.success(), "{screen}");
    assert!(screen.contains("Nothing applied."), "{screen}");
    for d in lab.fleet().devices() {
        assert!(
            lab.group(&d.name, "threatstop-block").is_empty(),
            "{} was changed",
            d.name
        );
    }
}
