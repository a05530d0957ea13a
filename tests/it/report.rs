//! Report files read by independent tools: the JSON report validates against
//! `schemas/report.schema.json` under Python's `jsonschema` (draft 2020-12),
//! and `junitparser` reads the JUnit XML with the right counts and names.

use crate::harness::{python, repo_root};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command as Process;
use std::time::{Duration, SystemTime};
use tsfleet::device::DeviceError;
use tsfleet::device::sync::{GroupOutcome, SyncOutcome};
use tsfleet::files::Output;
use tsfleet::report::{
    self, Command, DeviceReport, RunReport, Shard, StopReason, json as report_json, junit,
};

fn outcome(added: usize, removed: usize, kept: usize, saved: bool) -> SyncOutcome {
    SyncOutcome {
        hostname: "R".into(),
        groups: vec![
            GroupOutcome {
                name: "threatstop-allow".into(),
                kept: 3,
                ..Default::default()
            },
            GroupOutcome {
                name: "threatstop-block".into(),
                change_set: (added + removed > 0).then(|| {
                    let hosts = |n: usize, base: u32| {
                        (0..n as u32)
                            .map(|i| format!("host {}", std::net::Ipv4Addr::from(base + i)))
                            .collect()
                    };
                    std::sync::Arc::new(tsfleet::plan::ChangeSet::new(
                        "threatstop-block",
                        tsfleet::domain::Family::Ipv4,
                        hosts(added, 0x0A00_0000),
                        hosts(removed, 0x0B00_0000),
                    ))
                }),
                added,
                removed,
                kept,
                unmanaged: vec!["group-object LOCAL-BLOCK".into()],
                ..Default::default()
            },
        ],
        saved,
    }
}

/// One failure of every class, as the device layer raises them.
fn errors(device: &str) -> Vec<DeviceError> {
    let d = || device.to_string();
    vec![
        DeviceError::Connect {
            device: d(),
            addr: "192.0.2.10:22".into(),
            reason: "connection refused".into(),
            transient: true,
        },
        DeviceError::HostKey {
            device: d(),
            addr: "192.0.2.10:22".into(),
            problem: "changed since it was recorded".into(),
        },
        DeviceError::Auth {
            device: d(),
            user: "tsfleet".into(),
            methods: "password".into(),
        },
        DeviceError::Enable {
            device: d(),
            reason: "% Access denied".into(),
        },
        DeviceError::Timeout {
            device: d(),
            doing: "reading threatstop-block".into(),
            after: Duration::from_secs(30),
        },
        DeviceError::Command {
            device: d(),
            command: "host 10.0.0.7".into(),
            message: "% Invalid input detected at '^' marker.\n<\"quoted\" & tagged>".into(),
        },
        DeviceError::Verify {
            device: d(),
            group: "threatstop-block".into(),
            rounds: 3,
            missing: 2,
            extra: 0,
        },
        DeviceError::Refused {
            device: d(),
            group: "threatstop-block".into(),
            reason: "the group would exceed its limit".into(),
        },
        DeviceError::Protocol {
            device: d(),
            reason: "the session closed".into(),
        },
    ]
}

/// A run over 20 devices with every status, every error class and every
/// stop reason.
fn realistic(command: Command) -> RunReport {
    let apply = !command.is_dry_run();
    let mut devices = Vec::new();
    for i in 0..6 {
        let name = format!("branch-{i:02}");
        let changed = i % 2 == 0;
        let (added, removed) = if changed { (40 + i, 3) } else { (0, 0) };
        devices.push(DeviceReport::from_outcome(
            name,
            format!("198.51.100.{i}"),
            &outcome(added, removed, 9_000 - removed, apply && changed),
            if i == 4 { &[0, 250] } else { &[] },
            Duration::from_millis(1_500 + 100 * i as u64),
            if apply && changed {
                (added + removed + 12) as u64
            } else {
                12
            },
        ));
    }
    for i in 0..errors("").len() {
        let name = format!("edge-{i:02}");
        let error = errors(&name).swap_remove(i);
        devices.push(DeviceReport::failed(
            name,
            format!("192.0.2.{i}"),
            &error,
            Duration::from_millis(700 * i as u64),
        ));
    }
    let reasons = [
        StopReason::AuthBreaker { failures: 3 },
        StopReason::CanaryFailed {
            failed: 1,
            canary: 2,
        },
        StopReason::MaxFailures { failures: 5 },
        StopReason::Interrupted,
    ];
    for (i, reason) in reasons.into_iter().enumerate() {
        devices.push(DeviceReport::skipped(
            format!("core-{i:02}"),
            format!("203.0.113.{i}"),
            reason,
        ));
    }
    devices.push(DeviceReport::skipped("ünïcode-ß", "::1", "interrupted"));
    RunReport::new(
        command,
        SystemTime::now(),
        Duration::from_millis(42_300),
        Some("3f".repeat(32)),
        Some(Shard { index: 2, count: 4 }),
        devices,
    )
}

/// Run `tests/peers/report_check.py` on the files and return its answer.
pub fn check(json_files: &[&Path], junit_file: Option<&Path>) -> Value {
    let mut cmd = Process::new(python());
    cmd.arg(repo_root().join("tests/peers/report_check.py"))
        .arg(repo_root().join("schemas/report.schema.json"));
    for f in json_files {
        cmd.arg("--json").arg(f);
    }
    if let Some(f) = junit_file {
        cmd.arg("--junit").arg(f);
    }
    let out = cmd.output().expect("python runs");
    assert!(
        out.status.success(),
        "report_check.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report_check.py answers JSON")
}

#[test]
fn json_reports_validate_against_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for command in Command::ALL {
        let path = dir.path().join(format!("{command}.json"));
        report_json::write(&Output::File(path.clone()), &realistic(command)).unwrap();
        files.push(path);
    }
    // A whole-fleet run (no shard) with no devices and no snapshot is valid too.
    let empty = RunReport::new(
        Command::Check,
        SystemTime::now(),
        Duration::ZERO,
        None,
        None,
        vec![],
    );
    let path = dir.path().join("empty.json");
    report_json::write(&Output::File(path.clone()), &empty).unwrap();
    files.push(path);

    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let answer = check(&refs, None);
    for result in answer["json"].as_array().unwrap() {
        assert_eq!(result["errors"], json!([]), "{}", result["file"]);
    }
    assert_eq!(answer["json"].as_array().unwrap().len(), files.len());
}

#[test]
fn the_schema_is_strict() {
    let dir = tempfile::tempdir().unwrap();
    let good: Value =
        serde_json::from_str(&report_json::to_string(&realistic(Command::Apply))).unwrap();
    // Device 0 is a success (sorted order is not used in the file: the
    // runner's order is kept), device 6 failed, device 15 was skipped.
    assert_eq!(good["devices"][6]["status"], "failed");
    assert_eq!(good["devices"][15]["status"], "skipped");
    type Edit = fn(&mut Value);
    assert_eq!(good["devices"][0]["status"], "changed");
    let edits: [(&str, Edit); 12] = [
        ("unknown top-level field", |v| v["extra"] = json!(1)),
        ("unknown device field", |v| {
            v["devices"][0]["colour"] = json!("red")
        }),
        ("unknown status", |v| {
            v["devices"][0]["status"] = json!("partial")
        }),
        ("unknown error class", |v| {
            v["devices"][6]["error"]["class"] = json!("dns")
        }),
        ("failed without an error", |v| {
            v["devices"][6]["error"] = Value::Null
        }),
        ("skipped without a reason", |v| {
            v["devices"][15]["reason"] = Value::Null
        }),
        ("missing field", |v| {
            v["devices"][0].as_object_mut().unwrap().remove("capped");
        }),
        ("negative count", |v| v["devices"][0]["added"] = json!(-1)),
        ("short sha256", |v| v["snapshot_sha256"] = json!("abc")),
        ("a change_set that is no digest", |v| {
            v["devices"][0]["groups"][1]["change_set"] = json!("abc")
        }),
        ("a change_sets key that is no digest", |v| {
            v["change_sets"]["abc"] = json!({"group": "g", "add": [], "remove": []})
        }),
        ("a change set without its removals", |v| {
            let key = v["devices"][0]["groups"][1]["change_set"].clone();
            v["change_sets"][key.as_str().unwrap()]
                .as_object_mut()
                .unwrap()
                .remove("remove");
        }),
    ];
    let mut files = Vec::new();
    for (i, (_, edit)) in edits.iter().enumerate() {
        let mut bad = good.clone();
        edit(&mut bad);
        let path = dir.path().join(format!("bad-{i}.json"));
        std::fs::write(&path, bad.to_string()).unwrap();
        files.push(path);
    }
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let answer = check(&refs, None);
    for ((what, _), result) in edits.iter().zip(answer["json"].as_array().unwrap()) {
        assert_ne!(result["errors"], json!([]), "the schema accepts: {what}");
    }
}

#[test]
fn junitparser_reads_the_junit_report() {
    let dir = tempfile::tempdir().unwrap();
    let report = realistic(Command::Apply);
    let json_path = dir.path().join("apply.json");
    let junit_path = dir.path().join("apply.xml");
    report_json::write(&Output::File(json_path.clone()), &report).unwrap();
    junit::write(&Output::File(junit_path.clone()), &report).unwrap();
    let answer = check(&[&json_path], Some(&junit_path));
    assert_eq!(answer["json"][0]["errors"], json!([]));

    let suites = answer["junit"]["suites"].as_array().unwrap();
    assert_eq!(suites.len(), 1, "one suite per run");
    let suite = &suites[0];
    assert_eq!(suite["name"], "tsfleet apply");
    assert_eq!(suite["tests"], 20);
    assert_eq!(suite["failures"], 9);
    assert_eq!(suite["errors"], 0);
    assert_eq!(suite["skipped"], 5);
    assert!((suite["time"].as_f64().unwrap() - 42.3).abs() < 1e-6);
    assert!(
        suite["system_out"]
            .as_str()
            .unwrap()
            .starts_with("20 devices: 3 ok, 3 changed, 9 failed (connect 1, host-key 1,"),
        "{}",
        suite["system_out"]
    );

    let cases = suite["cases"].as_array().unwrap();
    let names: Vec<&str> = cases.iter().map(|c| c["name"].as_str().unwrap()).collect();
    let expected: Vec<&str> = report::sorted(&report.devices)
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names, expected);
    assert!(cases.iter().all(|c| c["classname"] == "tsfleet.apply"));

    let by_name = |n: &str| cases.iter().find(|c| c["name"] == n).unwrap();
    let auth = by_name("edge-02");
    assert_eq!(
        (&auth["result"], &auth["type"]),
        (&json!("failure"), &json!("auth"))
    );
    assert_eq!(
        auth["message"],
        "authentication failed for user \"tsfleet\" (password)"
    );
    let refused = by_name("edge-05");
    assert_eq!(refused["type"], "device-error");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("<\"quoted\" & tagged>"),
        "XML escaping round-trips: {}",
        refused["message"]
    );
    let canary = by_name("core-01");
    assert_eq!(
        (&canary["result"], &canary["message"]),
        (
            &json!("skipped"),
            &json!("not started: 1 of the 2 canary devices failed")
        )
    );
    assert_eq!(by_name("ünïcode-ß")["result"], "skipped");
    assert_eq!(by_name("branch-00")["result"], "passed");
    assert_eq!(by_name("branch-01")["result"], "passed");
}
