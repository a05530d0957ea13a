//! The lab that needs nothing else: the README's lab commands run as typed
//! (the fenced block after `<!-- lab-commands -->`), and a list change
//! rehearsed with `sim --state-dir` and `--churn`.
//!
//! The README block uses the simulator's default ports (20000 for the
//! lists, 20001.. for the routers) because that is what a user types; no
//! other test binds them (every other test asks for port 0).

use crate::harness::{self, sim_process::SimProcess};
use std::path::Path;

/// One line of the README block.
#[derive(Debug, PartialEq)]
enum Step {
    /// `tsfleet sim … &`: started in the background.
    Background(Vec<String>),
    /// `tsfleet …`, and the exit code its comment promises (`# exit N`, else 0).
    Run(Vec<String>, i32),
    /// `kill %1`: SIGTERM to the background sim.
    Kill,
}

/// The commands of the blocks after `<!-- lab-commands -->`, in order.
fn lab_steps(readme: &str) -> Vec<Step> {
    let blocks: Vec<&str> = readme
        .split("<!-- lab-commands -->\n```sh\n")
        .skip(1)
        .map(|after| after.split_once("\n```").expect("the block ends").0)
        .collect();
    assert!(
        !blocks.is_empty(),
        "README.md has a ```sh block right after <!-- lab-commands -->"
    );
    blocks
        .iter()
        .flat_map(|block| block.lines())
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (command, comment) = line.split_once(" #").unwrap_or((line, ""));
            let command = command.trim();
            assert!(
                !command.contains(['\'', '"', '$', '|', ';']),
                "the test runs words, not shell: {line}"
            );
            if command == "kill %1" {
                return Step::Kill;
            }
            let (command, background) = match command.strip_suffix('&') {
                Some(c) => (c.trim(), true),
                None => (command, false),
            };
            let words: Vec<String> = command
                .strip_prefix("tsfleet ")
                .unwrap_or_else(|| panic!("not a tsfleet command: {line}"))
                .split_whitespace()
                .map(String::from)
                .collect();
            if background {
                return Step::Background(words);
            }
            let exit = comment
                .split_once("exit ")
                .map(|(_, rest)| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits
                        .parse()
                        .unwrap_or_else(|_| panic!("exit what? {line}"))
                })
                .unwrap_or(0);
            Step::Run(words, exit)
        })
        .collect()
}

#[test]
fn the_readme_block_is_read_as_commands_and_promised_exit_codes() {
    let readme = "x\n<!-- lab-commands -->\n```sh\n\
        tsfleet sim --devices 3 &   # up\n\
        tsfleet plan -i a.yaml --detailed-exitcode   # exit 2: pending\n\
        \n\
        tsfleet apply -i a.yaml --yes\n\
        kill %1   # stop\n```\nmore\n<!-- lab-commands -->\n```sh\nkill %1\n```\n";
    let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    assert_eq!(
        lab_steps(readme),
        [
            Step::Background(words("sim --devices 3")),
            Step::Run(words("plan -i a.yaml --detailed-exitcode"), 2),
            Step::Run(words("apply -i a.yaml --yes"), 0),
            Step::Kill,
            Step::Kill,
        ]
    );
}

#[test]
fn the_readme_lab_commands_work_as_typed() {
    let root = harness::repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let steps = lab_steps(&readme);
    // The block shows the whole story, so it cannot lose a step unnoticed.
    let runs: Vec<(&str, i32)> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Run(words, exit) => Some((words[0].as_str(), *exit)),
            _ => None,
        })
        .collect();
    for wanted in [("plan", 2), ("apply", 0), ("plan", 0)] {
        assert!(runs.contains(&wanted), "{wanted:?} in {runs:?}");
    }
    assert!(matches!(steps.first(), Some(Step::Background(_))));
    assert_eq!(steps.last(), Some(&Step::Kill));

    // The README's ports must be free: a lab the reader left running (the
    // README tells them how) would make the sim fail later, less clearly.
    for port in 20000..=20003u16 {
        if let Err(e) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            panic!(
                "127.0.0.1:{port}, a port of the README's lab, is taken ({e}): \
                 stop the `tsfleet sim` (or whatever holds it) and run again"
            );
        }
    }
    // The repository's folder as the README says, with only what it reads.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("inventory")).unwrap();
    std::fs::copy(
        root.join("inventory/lab.yaml"),
        dir.path().join("inventory/lab.yaml"),
    )
    .unwrap();
    let mut sim: Option<SimProcess> = None;
    for step in &steps {
        match step {
            Step::Background(words) => {
                assert_eq!(words[0], "sim", "only the sim runs in the background");
                let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
                let mut started = SimProcess::spawn(&args, dir.path());
                started.wait_for_line("tsfleet sim: lists served by DNS on 127.0.0.1:20000 ");
                if args.contains(&"--write-inventory") {
                    started.wait_for_line("tsfleet sim: inventory written to");
                }
                sim = Some(started);
            }
            Step::Run(words, exit) => {
                let args: Vec<&str> = words.iter().map(String::as_str).collect();
                let out = harness::tsfleet(&args, dir.path());
                assert_eq!(
                    out.status.code(),
                    Some(*exit),
                    "tsfleet {}: {}{}",
                    words.join(" "),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Step::Kill => {
                let (status, stderr) = sim.take().expect("a sim to stop").terminate();
                assert!(status.success(), "{stderr}");
            }
        }
    }
    assert!(sim.is_none(), "the block stops what it starts");
}

/// Plan's added and removed entries, per device, from its JSON report.
fn pending(dir: &Path, inventory: &str) -> Vec<(u64, u64)> {
    let out = harness::tsfleet(&["plan", "-i", inventory, "--json", "-"], dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["added"].as_u64().unwrap(), d["removed"].as_u64().unwrap()))
        .collect()
}

/// `apply` of the lab's inventory succeeds and leaves nothing to change on
/// its two routers.
fn apply_converges(dir: &Path) {
    let out = harness::tsfleet(&["apply", "-i", "lab/lab.yaml", "--yes"], dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(pending(dir, "lab/lab.yaml"), [(0, 0), (0, 0)]);
}

#[test]
fn a_second_sim_with_churn_shows_that_share_of_the_list_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let start = |extra: &[&str]| {
        let mut args = vec![
            "--devices",
            "2",
            "--entries",
            "500",
            "--state-dir",
            "lab/state",
            "--write-inventory",
            "lab/lab.yaml",
        ];
        args.extend(extra);
        let mut sim = SimProcess::spawn_on_free_ports(&args, dir.path());
        sim.wait_for_line("tsfleet sim: inventory written to");
        sim
    };
    let sim = start(&[]);
    apply_converges(dir.path());
    let (status, stderr) = sim.terminate();
    assert!(status.success(), "{stderr}");

    // Same seed, same state: nothing to do; 20 % churn: about 100 of 500 swapped.
    let sim = start(&[]);
    assert_eq!(pending(dir.path(), "lab/lab.yaml"), [(0, 0), (0, 0)]);
    sim.terminate();
    let sim = start(&["--churn", "20"]);
    let changes = pending(dir.path(), "lab/lab.yaml");
    sim.terminate();
    assert_eq!(changes[0], changes[1], "both routers held the same list");
    let (added, removed) = changes[0];
    assert_eq!(added, removed, "the list kept its size");
    assert!((60..=140).contains(&added), "{added} of 500 replaced");
}

#[test]
fn a_taken_dns_port_is_refused_naming_the_address_and_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = harness::tsfleet(
        &[
            "sim",
            "--devices",
            "1",
            "--base-port",
            "0",
            "--dns-port",
            &port,
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")) && stderr.contains("--dns-port"),
        "{stderr}"
    );
}

#[test]
fn an_ios_xe_lab_router_gets_ipv6_on_and_the_lab_lists_carry_ipv6_items() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("xe.yaml"),
        "devices: { rtr-002: { version: \"17.9.4a\" } }\n",
    )
    .unwrap();
    let mut sim = SimProcess::spawn_on_free_ports(
        &[
            "--devices",
            "2",
            "--entries",
            "200",
            "--entries-v6",
            "30",
            "--profile",
            "xe.yaml",
            "--write-inventory",
            "lab/lab.yaml",
        ],
        dir.path(),
    );
    let served = sim.wait_for_line("tsfleet sim: lists served by DNS on ");
    assert!(served.contains("200 entries and 30 IPv6"), "{served}");
    sim.wait_for_line("tsfleet sim: inventory written to");
    let loaded = tsfleet::inventory::load(&dir.path().join("lab/lab.yaml")).unwrap();
    let ipv6: Vec<(&str, bool)> = (loaded.devices().iter())
        .map(|d| (d.name.as_str(), d.ipv6))
        .collect();
    assert_eq!(ipv6, [("rtr-001", false), ("rtr-002", true)]);

    let out = harness::tsfleet(
        &["resolve", "-i", "lab/lab.yaml", "-o", "lists.json"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snapshot = tsfleet::lists::Snapshot::read(&dir.path().join("lists.json")).unwrap();
    let families = |list: &str| {
        let l = snapshot.list(list).unwrap();
        let v6 = l
            .prefixes
            .iter()
            .filter(|e| e.prefix.addr().is_ipv6())
            .count();
        (l.prefixes.len() - v6, v6)
    };
    assert_eq!(families("lab-block.threatstop.local"), (200, 30));
    assert_eq!(families("lab-allow.threatstop.local"), (2, 1));

    // Both routers converge, the classic IOS one with its IPv4 groups only.
    apply_converges(dir.path());
    let (status, stderr) = sim.terminate();
    assert!(status.success(), "{stderr}");
}
