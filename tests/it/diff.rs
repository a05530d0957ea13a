//! `--diff` and the change sets of the JSON report, through the real binary
//! against the test bed (simulated fleet over SSH, lists from the list
//! server): the lines shown are what the simulated routers received.

use crate::fleet::{group_of, schema_valid};
use crate::harness;
use crate::shrink::{Bed, hosts, text};
use ipnet::Ipv4Net;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const GROUP: &str = "threatstop-block";

/// Each device's block group now.
fn groups(bed: &Bed) -> BTreeMap<String, BTreeSet<Ipv4Net>> {
    let fleet = bed.bed.fleet();
    fleet
        .devices()
        .iter()
        .map(|d| (d.name.clone(), group_of(fleet, &d.name, GROUP)))
        .collect()
}

/// One block of `--diff` output: the devices named in its header (a
/// failed one without its mark), the group, and its lines.
#[derive(Debug, PartialEq)]
struct Block {
    devices: Vec<String>,
    failed: Vec<String>,
    group: String,
    lines: Vec<String>,
}

/// The blocks of a diff in `text` (the table comes first: a block starts
/// with its header, `NAMES: object-group network GROUP (+A -R)`).
fn blocks(text: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for line in text.lines() {
        if let Some((names, rest)) = line.split_once(": object-group network ") {
            let group = rest.split(' ').next().unwrap().to_string();
            let mut block = Block {
                devices: Vec::new(),
                failed: Vec::new(),
                group,
                lines: Vec::new(),
            };
            for name in names.split(", ").flat_map(|n| n.split(" and ")) {
                match name.strip_suffix(" (failed)") {
                    Some(n) => {
                        block.failed.push(n.to_string());
                        block.devices.push(n.to_string());
                    }
                    None => block.devices.push(name.to_string()),
                }
            }
            out.push(block);
        } else if (line.starts_with("+ ") || line.starts_with("- "))
            && let Some(block) = out.last_mut()
        {
            block.lines.push(line.to_string());
        }
    }
    out
}

/// A diff line's entry as a prefix (`+ host 10.0.0.1`, `- 10.0.0.0 255.0.0.0`).
fn entry(line: &str) -> Ipv4Net {
    let text = format!("Network object group G\n {}\n", &line[2..]);
    let managed = tsfleet::device::ios::parse_group(&text, "G", tsfleet::domain::Family::Ipv4)
        .unwrap()
        .managed;
    assert_eq!(managed.len(), 1, "{line}");
    match managed.iter().next().unwrap() {
        ipnet::IpNet::V4(n) => *n,
        ipnet::IpNet::V6(n) => panic!("{n} in an IPv4 group"),
    }
}

/// `+` lines, then `-` lines, of what turned `before` into `after`, in the
/// order tsfleet pushes them (sorted prefixes, adds first).
fn expected(before: &BTreeSet<Ipv4Net>, after: &BTreeSet<Ipv4Net>) -> Vec<Ipv4Net> {
    after
        .difference(before)
        .chain(before.difference(after))
        .copied()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_lines_are_what_the_simulator_received_and_identical_sets_are_printed_once() {
    // rtr-001 and rtr-002 start alike (one stale entry, one kept): one
    // change set for both. rtr-003 starts empty. rtr-004 starts with one
    // entry of the list and refuses one add: it fails, its diff is still
    // the plan, its counts what reached it.
    let stale = "['host 192.0.2.99', 'host 10.0.0.3']";
    let profile = format!(
        "devices:\n  \
         rtr-001: {{ running: {{ groups: [{{ name: {GROUP}, entries: {stale} }}] }} }}\n  \
         rtr-002: {{ running: {{ groups: [{{ name: {GROUP}, entries: {stale} }}] }} }}\n  \
         rtr-004: {{ running: {{ groups: [{{ name: {GROUP}, entries: ['host 10.0.0.5'] }}] }}, \
         faults: {{ error_entries: ['host 10.0.0.7'] }} }}\n"
    );
    let bed = Bed::start(4, &profile, hosts(12)).await;
    let before = groups(&bed);

    // `--json -` holds stdout: the table and the diff go to stderr.
    let plan = bed.run("plan", &["--diff", "--json", "-"]).await;
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let report: Value = serde_json::from_slice(&plan.stdout).expect("stdout is the JSON alone");
    let stderr = String::from_utf8_lossy(&plan.stderr).to_string();
    assert!(
        !stderr.contains('\x1b'),
        "no colour off a terminal: {stderr}"
    );
    let planned = blocks(&stderr);
    assert_eq!(planned.len(), 3, "{stderr}");
    let shared: Vec<&Block> = planned
        .iter()
        .filter(|b| b.devices == ["rtr-001", "rtr-002"])
        .collect();
    assert_eq!(shared.len(), 1, "one block under both names: {stderr}");
    assert_eq!(
        shared[0].lines.first().map(String::as_str),
        Some("+ host 10.0.0.0")
    );
    assert_eq!(
        shared[0].lines.last().map(String::as_str),
        Some("- host 192.0.2.99")
    );
    assert_eq!(
        report["change_sets"].as_object().unwrap().len(),
        3,
        "{report}"
    );

    let out = bed
        .run("apply", &["--yes", "--diff", "--json", "apply.json"])
        .await;
    assert_eq!(out.status.code(), Some(1), "rtr-004 fails: {}", text(&out));
    let file = bed.dir.path().join("apply.json");
    schema_valid(&[&file]);
    let applied: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let pushed = blocks(&stdout);
    // In table order: failed devices come first after the apply.
    let unmarked = |b: &[Block]| -> BTreeSet<(Vec<String>, Vec<String>)> {
        b.iter()
            .map(|b| (b.devices.clone(), b.lines.clone()))
            .collect()
    };
    assert_eq!(
        unmarked(&pushed),
        unmarked(&planned),
        "apply shows the lines the plan showed"
    );
    assert_eq!(pushed[0].failed, ["rtr-004"], "{stdout}");
    let after = groups(&bed);

    for block in &pushed {
        assert_eq!(block.group, GROUP);
        let lines: Vec<Ipv4Net> = block.lines.iter().map(|l| entry(l)).collect();
        let (adds, removals) = block
            .lines
            .iter()
            .partition::<Vec<_>, _>(|l| l.starts_with('+'));
        assert!(
            block
                .lines
                .starts_with(&adds.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            "adds first: {block:?}"
        );
        for name in &block.devices {
            let received = expected(&before[name], &after[name]);
            if block.failed.contains(name) {
                // The plan: all it was meant to get; it got only some of it.
                assert!(
                    received.iter().all(|n| lines.contains(n)),
                    "{name}: {block:?}"
                );
                assert!(received.len() < lines.len(), "{name}: {block:?}");
                let device = applied["devices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|d| d["name"] == *name)
                    .unwrap();
                assert_eq!(device["status"], "failed");
                let group = &device["groups"][1];
                assert_eq!(
                    group["added"].as_u64().unwrap() + group["removed"].as_u64().unwrap(),
                    received.len() as u64,
                    "the counts say what reached it: {device}"
                );
                let set = &applied["change_sets"][group["change_set"].as_str().unwrap()];
                assert_eq!(set["add"].as_array().unwrap().len(), adds.len());
                assert_eq!(set["remove"].as_array().unwrap().len(), removals.len());
            } else {
                assert_eq!(
                    received, lines,
                    "{name}: the simulator got exactly the diff"
                );
            }
        }
    }
    let named: BTreeSet<&str> = pushed
        .iter()
        .flat_map(|b| b.devices.iter().map(String::as_str))
        .collect();
    assert_eq!(named, ["rtr-001", "rtr-002", "rtr-003", "rtr-004"].into());
    assert!(pushed.iter().any(|b| b.failed == ["rtr-004"]), "{stdout}");

    // Converged devices have nothing to show.
    let again = bed.run("plan", &["--diff", "--limit", "rtr-00[123]"]).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.ends_with("\nNo changes.\n"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_devices_with_one_change_set_have_one_entry_in_change_sets() {
    let bed = Bed::start(20, "", hosts(30)).await;
    let out = bed.run("plan", &["--diff", "--json", "plan.json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let file = bed.dir.path().join("plan.json");
    schema_valid(&[&file]);
    let report: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let sets = report["change_sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1, "{report}");
    let (digest, set) = sets.iter().next().unwrap();
    assert_eq!(set["group"], GROUP);
    assert_eq!(set["add"].as_array().unwrap().len(), 30);
    assert_eq!(set["add"][0], "host 10.0.0.0");
    assert_eq!(set["remove"], serde_json::json!([]));
    for d in report["devices"].as_array().unwrap() {
        assert_eq!(d["groups"][0]["change_set"], Value::Null, "{d}");
        assert_eq!(d["groups"][1]["change_set"], *digest, "{d}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let headers: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(": object-group network "))
        .collect();
    assert_eq!(
        headers,
        [
            "rtr-001, rtr-002, rtr-003, rtr-004, rtr-005, rtr-006, rtr-007, rtr-008 and 12 more: \
             object-group network threatstop-block (+30 -0)"
        ],
        "{stdout}"
    );
    assert_eq!(stdout.lines().filter(|l| l.starts_with("+ ")).count(), 30);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_diff_is_coloured_on_a_terminal_unless_no_color() {
    let bed = Bed::start(
        1,
        &format!(
            "devices:\n  rtr-001: {{ running: {{ groups: [{{ name: {GROUP}, entries: ['host 192.0.2.99'] }}] }} }}\n"
        ),
        hosts(2),
    )
    .await;
    // `script` gives tsfleet a terminal; its screen comes back on stdout.
    let on_terminal = |no_color: &'static str| {
        let cmd = format!(
            "exec {} plan -i {} --run-dir runs --diff",
            harness::tsfleet_bin(),
            bed.inventory.display()
        );
        let dir = bed.dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("script")
                .args(["-qec", &cmd, "/dev/null"])
                .current_dir(&dir)
                .env_remove("RUST_LOG")
                .env("NO_COLOR", no_color)
                .env("TSFLEET_STATE_DIR", harness::state_dir(&dir))
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap()
        })
    };
    let coloured = on_terminal("").await.unwrap();
    let screen = String::from_utf8_lossy(&coloured.stdout);
    assert!(coloured.status.success(), "{screen}");
    assert!(
        screen.contains("\x1b[32m+ host 10.0.0.0\x1b[0m")
            && screen.contains("\x1b[31m- host 192.0.2.99\x1b[0m"),
        "{screen:?}"
    );
    let plain = on_terminal("1").await.unwrap();
    let screen = String::from_utf8_lossy(&plain.stdout);
    assert!(plain.status.success(), "{screen}");
    assert!(
        screen.contains("\n+ host 10.0.0.0") && !screen.contains("\x1b[32m"),
        "{screen:?}"
    );
}
