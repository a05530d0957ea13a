//! Saved plans (`plan --out`, `apply --plan`, `src/saved_plan.rs`) through
//! the real binary against the test bed (simulated fleet over SSH, lists
//! from the list server): applied exactly with the lists' DNS stopped,
//! drift refused per device with nothing sent, and plans that cannot be
//! trusted refused before any login.

use crate::fleet::{capture, exit_status, group_of, schema_valid};
use crate::harness;
use crate::shrink::{Bed, hosts, text};
use ipnet::Ipv4Net;
use serde_json::Value;
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;

const GROUP: &str = "threatstop-block";
const PASSWORD: &str = "pw-Qx81zLk";
const ENABLE: &str = "en-Vt27mRb";

/// 3 devices with secrets worth searching for; rtr-001 starts with a stale
/// entry and one of the list, so its change adds and removes.
async fn bed() -> Bed {
    let profile = format!(
        "devices:\n  rtr-001: {{ running: {{ groups: [{{ name: {GROUP}, \
         entries: ['host 192.0.2.99', 'host 10.0.0.3'] }}] }} }}\n"
    );
    Bed::start_with(3, &profile, hosts(20), |b| b.credentials(PASSWORD, ENABLE)).await
}

fn block(bed: &Bed, device: &str) -> BTreeSet<Ipv4Net> {
    group_of(bed.bed.fleet(), device, GROUP)
}

/// An entry added to `device`'s block group behind tsfleet's back.
fn add_by_hand(bed: &Bed, device: &str, entry: &str) {
    let d = bed.bed.fleet().device(device).unwrap();
    let mut state = d.state.lock().unwrap();
    let groups = &mut state.running.groups;
    if !groups.iter().any(|g| g.name == GROUP) {
        groups.push(tsfleet::sim::device::ObjectGroup {
            name: GROUP.into(),
            description: None,
            entries: Default::default(),
        });
    }
    let g = groups.iter_mut().find(|g| g.name == GROUP).unwrap();
    g.entries.insert(entry.parse().unwrap());
}

fn config_lines(bed: &Bed, device: &str) -> u64 {
    let d = bed.bed.fleet().device(device).unwrap();
    d.snapshot().stats.config_lines
}

/// `tsfleet apply --plan plan.json --yes ARGS...`
async fn apply_plan(bed: &Bed, args: &[&str]) -> std::process::Output {
    bed.run("apply", &[&["--plan", "plan.json", "--yes"], args].concat())
        .await
}

fn read_json(bed: &Bed, name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(bed.dir.path().join(name)).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_applied_exactly_with_the_list_server_stopped() {
    let mut bed = bed().await;
    let before = block(&bed, "rtr-001");
    let out = bed.run("plan", &["--out", "plan.json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let path = bed.dir.path().join("plan.json");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the plan is for its owner only");
    let bytes = std::fs::read_to_string(&path).unwrap();
    for secret in [PASSWORD, ENABLE] {
        assert!(!bytes.contains(secret), "a secret in the plan: {bytes}");
    }
    let plan: Value = serde_json::from_str(&bytes).unwrap();
    assert_eq!(plan["format_version"], 1);
    assert_eq!(plan["devices"].as_array().unwrap().len(), 3);
    assert_eq!(plan["devices"][0]["status"], "planned");
    // Devices 2 and 3 start empty: one change set for both.
    assert_eq!(
        plan["change_sets"].as_object().unwrap().len(),
        2,
        "{plan:#}"
    );
    assert!(block(&bed, "rtr-002").is_empty(), "plan changed nothing");

    // No DNS from here: the plan carries its lists.
    bed.bed.stop_list_server().await;
    let out = bed
        .run(
            "apply",
            &[
                "--plan",
                "plan.json",
                "--yes",
                "--json",
                "run.json",
                "--diff",
            ],
        )
        .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let want: BTreeSet<Ipv4Net> = hosts(20).into_iter().collect();
    for device in ["rtr-001", "rtr-002", "rtr-003"] {
        assert_eq!(block(&bed, device), want, "{device}: {all}");
    }
    assert!(before.contains(&"192.0.2.99/32".parse().unwrap()));
    assert!(
        all.contains("- host 192.0.2.99"),
        "the diff shows the removal: {all}"
    );
    let report = read_json(&bed, "run.json");
    schema_valid(&[&bed.dir.path().join("run.json")]);
    assert_eq!(report["summary"]["changed"], 3, "{report:#}");
    // What was applied is what was planned: the same change sets.
    let planned: BTreeSet<&String> = plan["change_sets"].as_object().unwrap().keys().collect();
    let applied: BTreeSet<&String> = report["change_sets"].as_object().unwrap().keys().collect();
    assert_eq!(planned, applied);

    // Applied again, the plan finds every group changed since: drift,
    // nothing sent, exit 1.
    let lines: Vec<u64> = ["rtr-001", "rtr-002"]
        .map(|d| config_lines(&bed, d))
        .to_vec();
    let out = apply_plan(&bed, &["--json", "again.json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let again = read_json(&bed, "again.json");
    assert_eq!(
        again["summary"]["failures_by_class"]["drift"], 3,
        "{again:#}"
    );
    let after: Vec<u64> = ["rtr-001", "rtr-002"]
        .map(|d| config_lines(&bed, d))
        .to_vec();
    assert_eq!(after, lines, "nothing was sent to a drifted device");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_changed_since_the_plan_fails_drift_untouched_and_the_others_converge() {
    let bed = bed().await;
    let out = bed.run("plan", &["--out", "plan.json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Someone adds an entry to rtr-002 by hand after the plan.
    add_by_hand(&bed, "rtr-002", "host 203.0.113.5");
    let edited = block(&bed, "rtr-002");
    let lines = config_lines(&bed, "rtr-002");
    let out = apply_plan(&bed, &["--json", "run.json"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert_eq!(
        block(&bed, "rtr-002"),
        edited,
        "the drifted group is as it was"
    );
    assert_eq!(
        config_lines(&bed, "rtr-002"),
        lines,
        "nothing was sent: {all}"
    );
    let want: BTreeSet<Ipv4Net> = hosts(20).into_iter().collect();
    assert_eq!(block(&bed, "rtr-001"), want);
    assert_eq!(block(&bed, "rtr-003"), want);
    let report = read_json(&bed, "run.json");
    let rtr2 = report["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "rtr-002")
        .unwrap();
    assert_eq!(rtr2["error"]["class"], "drift", "{report:#}");
    let message = rtr2["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(GROUP) && message.contains("nothing was sent"),
        "{message}"
    );
    schema_valid(&[&bed.dir.path().join("run.json")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_that_cannot_be_trusted_are_refused_before_any_login() {
    let bed = bed().await;
    let out = bed.run("plan", &["--out", "plan.json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let path = bed.dir.path().join("plan.json");
    let good: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let logins = bed.logins();
    let refused = |args: Vec<String>, expect: Vec<String>| {
        let bed = &bed;
        async move {
            let mut all_args = vec!["--yes".to_string()];
            all_args.extend(args);
            let refs: Vec<&str> = all_args.iter().map(String::as_str).collect();
            let out = bed.run("apply", &refs).await;
            let all = text(&out);
            assert_eq!(out.status.code(), Some(3), "{refs:?}: {all}");
            for part in &expect {
                assert!(
                    all.contains(part.as_str()),
                    "{refs:?}: no {part:?} in {all}"
                );
            }
        }
    };
    let write = |name: &str, plan: &Value| {
        std::fs::write(bed.dir.path().join(name), serde_json::to_vec(plan).unwrap()).unwrap();
    };

    // One change line edited.
    let mut tampered = good.clone();
    let set = tampered["change_sets"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    set["add"][0] = "host 203.0.113.9".into();
    write("tampered.json", &tampered);
    let args = |plan: &str| vec!["--plan".to_string(), plan.to_string()];
    refused(
        args("tampered.json"),
        vec!["changed after it was made".into()],
    )
    .await;

    // Another format.
    let mut future = good.clone();
    future["format_version"] = 99.into();
    write("future.json", &future);
    refused(args("future.json"), vec!["has version 99".into()]).await;

    // Too old.
    let mut old_args = args("plan.json");
    old_args.extend(["--max-plan-age".to_string(), "1ms".to_string()]);
    refused(old_args, vec!["--max-plan-age".into()]).await;

    // --plan and --lists are one or the other.
    let mut both = args("plan.json");
    both.extend(["--lists".to_string(), "lists.json".to_string()]);
    refused(both, vec!["--lists".into()]).await;

    // The inventory changed since the plan: both digests named.
    let planned = good["inventory"]["sha256"].as_str().unwrap().to_string();
    let mut inventory = std::fs::read_to_string(&bed.inventory).unwrap();
    inventory.push_str("# edited after the plan\n");
    std::fs::write(&bed.inventory, inventory).unwrap();
    refused(
        args("plan.json"),
        vec![planned, "re-run `tsfleet plan".into(), "sha256:".into()],
    )
    .await;

    assert_eq!(bed.logins(), logins, "a refused plan contacted a device");
}

#[tokio::test(flavor = "multi_thread")]
async fn devices_failed_in_the_plan_are_skipped_and_devices_not_in_it_are_not_touched() {
    // rtr-003 refuses connections while the plan is made; rtr-002 is left out.
    let profile = "devices:\n  rtr-003: { faults: { refuse_connections: true } }\n";
    let bed = Bed::start(3, profile, hosts(5)).await;
    let out = bed
        .run(
            "plan",
            &["--out", "plan.json", "--limit", "rtr-001,rtr-003"],
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let plan = read_json(&bed, "plan.json");
    let statuses: Vec<(&str, &str)> = plan["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, [("rtr-001", "planned"), ("rtr-003", "failed")]);
    assert!(
        plan["devices"][1]["error"]
            .as_str()
            .unwrap()
            .starts_with("connect"),
        "{plan:#}"
    );
    // rtr-003 would answer now: it is skipped all the same.
    let rtr3 = bed.bed.fleet().device("rtr-003").unwrap();
    rtr3.set_faults(Default::default());
    let logins = |name: &str| {
        let d = bed.bed.fleet().device(name).unwrap();
        d.snapshot().stats.logins
    };
    let (logins2, logins3) = (logins("rtr-002"), logins("rtr-003"));

    // --limit narrows the plan: a selection outside it touches nothing.
    let out = apply_plan(&bed, &["--limit", "rtr-002"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("not in the plan") && all.contains("rtr-002"),
        "{all}"
    );

    let out = apply_plan(&bed, &["--json", "run.json"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "a skipped device: {all}");
    let report = read_json(&bed, "run.json");
    let device = |name: &str| {
        report["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .cloned()
    };
    assert_eq!(device("rtr-001").unwrap()["status"], "changed");
    let skipped = device("rtr-003").unwrap();
    assert_eq!(skipped["status"], "skipped", "{report:#}");
    let reason = skipped["reason"].as_str().unwrap();
    assert!(reason.contains("failed while planning"), "{reason}");
    assert!(
        device("rtr-002").is_none(),
        "not in the plan, not in the run"
    );
    assert!(
        all.contains("1 selected device(s) not in the plan"),
        "{all}"
    );
    assert_eq!(block(&bed, "rtr-001").len(), 5);
    assert!(block(&bed, "rtr-002").is_empty() && block(&bed, "rtr-003").is_empty());
    assert_eq!((logins("rtr-002"), logins("rtr-003")), (logins2, logins3));
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_out_is_checked_before_any_login_and_dash_is_stdout() {
    let bed = bed().await;
    for (args, says) in [
        (&["--out", "no/such/dir/plan.json"][..], "no/such/dir"),
        (&["--out", "-", "--json", "-"], "both ask for stdout"),
    ] {
        let out = bed.run("plan", args).await;
        let all = text(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {all}");
        assert!(
            all.contains(says) && all.contains("--out"),
            "{args:?}: {all}"
        );
        assert_eq!(bed.logins(), 0, "{args:?}: a device was contacted");
    }
    // `-`: the plan alone on stdout (the table on stderr), as a pipeline wants it.
    let out = bed.run("plan", &["--out", "-"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).expect("stdout is the plan alone");
    assert_eq!(plan["devices"].as_array().unwrap().len(), 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("rtr-001"));
}

/// An interactive apply asks about a plan and applies that plan: lists
/// republished after the question are not pushed, and a device changed
/// after it fails `drift` with nothing sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interactive_apply_applies_what_it_showed_and_refuses_drift_after_the_question() {
    use std::io::Write;
    let bed = bed().await;
    // `exec`, so the terminal's shell becomes tsfleet: the child of `script`.
    let cmd = format!(
        "exec {} apply -i {} --run-dir runs --retries 0 --json run.json",
        harness::tsfleet_bin(),
        bed.inventory.display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(bed.dir.path())
        .env_remove("RUST_LOG")
        .env("TSFLEET_STATE_DIR", harness::state_dir(bed.dir.path()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (screen, reader) = capture(child.stdout.take().unwrap());
    harness::wait_until_async("the question", std::time::Duration::from_secs(30), || {
        screen.lock().unwrap().contains("[y/N]")
    })
    .await;
    // After the question: the lists grow and rtr-002 is changed by hand.
    bed.publish(hosts(25)).await;
    add_by_hand(&bed, "rtr-002", "host 203.0.113.5");
    let edited = block(&bed, "rtr-002");
    let lines = config_lines(&bed, "rtr-002");
    stdin.write_all(b"y\n").unwrap();
    let status = exit_status(child).await.expect("tsfleet ended");
    reader.join().unwrap();
    let screen = screen.lock().unwrap().clone();
    assert_eq!(status.code(), Some(1), "{screen}");
    let shown: BTreeSet<Ipv4Net> = hosts(20).into_iter().collect();
    assert_eq!(block(&bed, "rtr-001"), shown, "what was shown: {screen}");
    assert_eq!(block(&bed, "rtr-003"), shown, "what was shown: {screen}");
    assert_eq!(block(&bed, "rtr-002"), edited);
    assert_eq!(
        config_lines(&bed, "rtr-002"),
        lines,
        "nothing sent to rtr-002"
    );
    let report = read_json(&bed, "run.json");
    assert_eq!(
        report["summary"]["failures_by_class"]["drift"], 1,
        "{report:#}"
    );
}
