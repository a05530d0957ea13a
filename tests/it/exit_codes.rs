//! The exit contract (`src/error.rs`), one test per code and per rule, run
//! through the real binary against the simulated fleet: 3 means nothing was
//! contacted, 1 a device failed or a report was lost after the run, 2
//! changes pending with `--detailed-exitcode`. Also: no colour on a stderr
//! that is not a terminal, nor with `NO_COLOR` on one.

use crate::harness;
use std::path::{Path, PathBuf};
use std::process::Output;
use tsfleet::lists::Snapshot;
use tsfleet::lists::snapshot::{Entry, ListSnapshot, SubListSummary};
use tsfleet::sim::SimFleet;

const LIST: &str = "corp-block.acme.threatstop.local";

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A simulated fleet, its inventory (one policy blocking [`LIST`]) and a
/// snapshot of that list, so plan and apply need no DNS server.
struct Bed {
    fleet: SimFleet,
    dir: tempfile::TempDir,
}

impl Bed {
    async fn start(devices: usize) -> Bed {
        let fleet = harness::fleet(devices, "").await;
        let dir = tempfile::tempdir().unwrap();
        let inventory = dir.path().join("fleet.yaml");
        fleet.write_inventory(&inventory).unwrap();
        let mut text = std::fs::read_to_string(&inventory).unwrap();
        text.push_str(&format!(
            "dns:\n  servers: ['127.0.0.1:{}']\npolicies:\n  corp:\n    block: [{LIST}]\n",
            harness::dead_port()
        ));
        std::fs::write(&inventory, text).unwrap();
        let prefixes: Vec<Entry> = ["203.0.113.7/32", "203.0.113.9/32"]
            .iter()
            .map(|p| Entry {
                prefix: p.parse().unwrap(),
                sublist: LIST.into(),
            })
            .collect();
        let snapshot = Snapshot::new(
            vec!["127.0.0.1:53".into()],
            vec![ListSnapshot {
                name: LIST.into(),
                server: "127.0.0.1:53".into(),
                elapsed_ms: 1,
                record_types: vec!["APL".into()],
                sublists: vec![SubListSummary {
                    name: LIST.into(),
                    record_type: "APL".into(),
                    prefixes: prefixes.len(),
                    excluded: 0,
                    skipped: 0,
                }],
                prefixes,
                excluded: vec![],
                skipped: vec![],
            }],
        );
        snapshot
            .write(&tsfleet::files::Output::File(dir.path().join("lists.json")))
            .unwrap();
        Bed { fleet, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `tsfleet COMMAND -i fleet.yaml [--lists lists.json] [--run-dir runs] --retries 0 ARGS...`
    async fn run(&self, command: &str, args: &[&str]) -> Output {
        let mut all: Vec<String> = vec![command.into(), "-i".into(), "fleet.yaml".into()];
        if matches!(command, "plan" | "apply") {
            all.extend(["--lists".into(), "lists.json".into()]);
        }
        if !args.contains(&"--run-dir") {
            all.extend(["--run-dir".into(), "runs".into()]);
        }
        all.extend(["--retries".into(), "0".into()]);
        all.extend(args.iter().map(|s| s.to_string()));
        let cwd = self.dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = all.iter().map(String::as_str).collect();
            harness::tsfleet(&refs, &cwd)
        })
        .await
        .unwrap()
    }

    /// SSH logins the simulated devices have seen, in all.
    fn logins(&self) -> u64 {
        self.fleet
            .devices()
            .iter()
            .map(|d| d.snapshot().stats.logins)
            .sum()
    }

    /// Object groups configured on the devices, in all.
    fn groups(&self) -> usize {
        self.fleet
            .devices()
            .iter()
            .map(|d| d.snapshot().running.groups.len())
            .sum()
    }
}

#[test]
fn usage_errors_exit_3_with_claps_message_once_and_help_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["plan", "-i", "fleet.yaml", "--no-such-flag"][..],
        &["plan"],
        &["apply", "-i", "fleet.yaml", "--concurrency", "0"],
        &["plan", "-i", "fleet.yaml", "--yes"],
        &["check", "-i", "fleet.yaml", "--lists", "lists.json"],
        &["remove", "-i", "fleet.yaml", "--previous", "old.json"],
        &["apply", "-i", "fleet.yaml", "--detailed-exitcode"],
        &["resolve", "-i", "fleet.yaml", "--json"],
    ] {
        let o = harness::tsfleet(args, dir.path());
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
        assert_eq!(
            stderr(&o).matches("error:").count(),
            1,
            "{args:?}: printed once: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("try '--help'"),
            "clap's format: {}",
            stderr(&o)
        );
    }
    for args in [&["--help"][..], &["plan", "--help"], &["--version"]] {
        let o = harness::tsfleet(args, dir.path());
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stdout(&o).is_empty(), "{args:?} prints on stdout");
    }
}

#[test]
fn an_invalid_inventory_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fleet.yaml"), "devices: [{ name: a }]\n").unwrap();
    let o = harness::tsfleet(&["check", "-i", "fleet.yaml"], dir.path());
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("fleet.yaml"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unwritable_output_exits_3_before_any_device_is_contacted() {
    let bed = Bed::start(2).await;
    std::fs::write(bed.path("a-file"), "").unwrap();
    std::fs::create_dir(bed.path("a-folder")).unwrap();
    let cases: [(&[&str], &str); 9] = [
        (&["--json", "no/such/dir/r.json"], "no/such/dir"),
        (&["--html", "no/such/dir/r.html"], "--html no/such/dir"),
        (&["--html", "-", "--json", "-"], "both ask for stdout"),
        (&["--junit", "a-file/r.xml"], "not a folder"),
        (&["--json", "a-folder"], "folder"),
        (&["--json", "-", "--junit", "-"], "both ask for stdout"),
        (
            &["--summary-md", "no/such/dir/s.md"],
            "--summary-md no/such/dir",
        ),
        (
            &["--junit", "-", "--summary-md", "-"],
            "both ask for stdout",
        ),
        (&["--run-dir", "a-file/runs"], "run directory"),
    ];
    for (args, says) in cases {
        let mut all = vec!["--yes"];
        all.extend_from_slice(args);
        let o = bed.run("apply", &all).await;
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?}: no table: {}", stdout(&o));
        assert_eq!(bed.logins(), 0, "{args:?}: a device was contacted");
        assert_eq!(bed.groups(), 0, "{args:?}: a device was changed");
    }
    // The same apply with a writable report does reach the devices.
    let o = bed.run("apply", &["--yes", "--json", "r.json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(bed.logins() > 0);
    assert!(bed.path("r.json").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_lost_after_apply_exits_1_with_the_table_and_the_other_report() {
    let bed = Bed::start(1).await;
    // /dev/full passes every check (it exists and opens for writing) and
    // fails every write: the deterministic "disk full after the run".
    let o = bed
        .run(
            "apply",
            &["--yes", "--json", "/dev/full", "--junit", "r.xml"],
        )
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("changed"), "the table: {}", stdout(&o));
    assert!(stderr(&o).contains("/dev/full"), "{}", stderr(&o));
    assert!(bed.groups() > 0, "the devices were changed");
    let junit = std::fs::read_to_string(bed.path("r.xml")).unwrap();
    assert!(junit.contains("<testsuite"), "the other report is written");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_summary_lost_after_apply_exits_1_with_the_other_reports() {
    let bed = Bed::start(1).await;
    let o = bed
        .run(
            "apply",
            &["--yes", "--summary-md", "/dev/full", "--json", "r.json"],
        )
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("/dev/full"), "{}", stderr(&o));
    assert!(stdout(&o).contains("changed"), "the table: {}", stdout(&o));
    assert!(bed.groups() > 0, "the devices were changed");
    let report = std::fs::read_to_string(bed.path("r.json")).unwrap();
    assert!(
        report.contains("\"changed\""),
        "the other report is written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_summary_on_stdout_moves_the_table_to_stderr_and_says_the_exit_code() {
    let bed = Bed::start(1).await;
    for (args, title) in [
        (&[][..], "## tsfleet plan on fleet.yaml: success (exit 0)\n"),
        (
            &["--detailed-exitcode"][..],
            "## tsfleet plan on fleet.yaml: changes pending (exit 2)\n",
        ),
    ] {
        let mut all = vec!["--summary-md", "-"];
        all.extend_from_slice(args);
        let o = bed.run("plan", &all).await;
        let summary = stdout(&o);
        assert!(
            summary.starts_with(title),
            "stdout is the summary alone: {summary}"
        );
        assert_eq!(
            o.status.code(),
            Some(if args.is_empty() { 0 } else { 2 }),
            "{}",
            stderr(&o)
        );
        assert!(
            summary.contains("| 1 | 0 | 1 | 0 | 0 | 2 | 0 |"),
            "{summary}"
        );
        assert!(
            !summary.contains("1 device: "),
            "no table on stdout: {summary}"
        );
        assert!(
            stderr(&o).contains("1 device: "),
            "the table: {}",
            stderr(&o)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn detailed_exitcode_is_2_with_changes_pending_and_0_without() {
    let bed = Bed::start(1).await;
    let o = bed.run("plan", &[]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = bed.run("plan", &["--detailed-exitcode"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = bed.run("apply", &["--yes"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = bed.run("plan", &["--detailed-exitcode"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_on_stdout_moves_the_table_to_stderr() {
    let bed = Bed::start(1).await;
    let o = bed.run("plan", &["--json", "-"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is the report alone ({e}): {}", stdout(&o)));
    assert_eq!(report["summary"]["changed"], 1);
    assert!(stderr(&o).contains("changed"), "the table: {}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_device_exits_1_and_logs_carry_no_colour_on_a_pipe() {
    let mut bed = Bed::start(1).await;
    bed.fleet.shutdown();
    // -v: info lines too, each with a level that a terminal would colour.
    let o = bed.run("check", &["-v"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("failed"), "{}", stdout(&o));
    assert!(stderr(&o).contains("INFO"), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains('\x1b'),
        "colour on a pipe: {:?}",
        stderr(&o)
    );
    assert!(
        !stdout(&o).contains('\x1b'),
        "colour on a pipe: {:?}",
        stdout(&o)
    );
}

/// SGR sequences (`ESC [ … m`): colour, unlike the progress bars' cursor moves.
fn has_colour(text: &str) -> bool {
    text.split('\x1b').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|r| {
            let end = r.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            end.is_some_and(|i| r[i..].starts_with('m'))
        })
    })
}

/// On a terminal (`script` from util-linux), colour unless `NO_COLOR`.
#[tokio::test(flavor = "multi_thread")]
async fn no_color_turns_colour_off_on_a_terminal() {
    let bed = Bed::start(1).await;
    let on_terminal = |dir: &Path, no_color: Option<&str>| {
        let cmd = format!(
            "{} check -v -i fleet.yaml --run-dir runs",
            harness::tsfleet_bin()
        );
        let mut command = std::process::Command::new("script");
        command
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if let Some(v) = no_color {
            command.env("NO_COLOR", v);
        }
        let mut child = command.spawn().unwrap();
        // Held open until tsfleet ends: `script` ends with it.
        let stdin = child.stdin.take();
        let o = child.wait_with_output().unwrap();
        drop(stdin);
        o
    };
    let dir = bed.dir.path().to_path_buf();
    let coloured = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || on_terminal(&dir, None)
    })
    .await
    .unwrap();
    assert!(coloured.status.success(), "{}", stdout(&coloured));
    assert!(
        has_colour(&stdout(&coloured)),
        "a terminal gets colour: {:?}",
        stdout(&coloured)
    );
    for value in ["1", "true"] {
        let plain = tokio::task::spawn_blocking({
            let dir = dir.clone();
            move || on_terminal(&dir, Some(value))
        })
        .await
        .unwrap();
        assert!(plain.status.success(), "{}", stdout(&plain));
        let name = &bed.fleet.devices()[0].name;
        assert!(
            stdout(&plain).contains(name.as_str()),
            "the table: {}",
            stdout(&plain)
        );
        assert!(
            !has_colour(&stdout(&plain)),
            "NO_COLOR={value}: {:?}",
            stdout(&plain)
        );
    }
}

/// Nonsense numbers are refused by the parser (exit 3, nothing read or
/// contacted), naming the flag and the value.
#[test]
fn nonsense_flag_values_exit_3_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = ["-i", "f.yaml"];
    for (command, flag, value) in [
        (&["plan"][..], "--connect-rate", "NaN"),
        (&["plan"], "--connect-rate", "-1"),
        (&["plan"], "--connect-rate", "inf"),
        (&["plan"], "--connect-rate", "1e-300"),
        (&["apply"], "--device-timeout", "0"),
        (&["check"], "--device-timeout", "99999999999"),
        (&["remove"], "--retries", "40"),
        (&["plan"], "--max-failures", "NaN%"),
        (&["plan"], "--concurrency", "-3"),
        (&["init"], "--dns-port", "0"),
        (&["report", "merge", "a.json"], "--expect-shards", "0"),
        (&["sim"], "--devices", "0"),
        (&["sim"], "--rtt-ms", "18446744073709551615"),
        (&["sim"], "--churn", "101"),
        (&["sim"], "--entries", "0"),
        (&["demo"], "--entries", "0"),
    ] {
        let mut args = command.to_vec();
        if matches!(command[0], "plan" | "apply" | "check" | "remove") {
            args.extend(fleet);
        }
        // `--flag=value`, so a negative value is not read as a flag.
        let pair = format!("{flag}={value}");
        args.push(&pair);
        let o = harness::tsfleet(&args, dir.path());
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("invalid value '{value}' for '{flag}")),
            "{args:?}: names the value and the flag: {}",
            stderr(&o)
        );
    }
}
