//! `--metrics FILE` (`src/report/metrics.rs`): the node_exporter textfile
//! format, checked by Prometheus's own `promtool check metrics`, through the
//! real binary against the test bed (simulated fleet over SSH, lists served
//! by the list server). The per-device last success is kept across runs in
//! the state directory; a run that stops before contact still writes the
//! file, with success 0.

use crate::harness::{self, repo_root};
use crate::shrink::{Bed, hosts, text};
use std::collections::BTreeMap;
use std::path::Path;
use tsfleet::report::metrics::SuccessFile;

/// An entry rtr-002 refuses (its `error_entries` fault in [`profile`]).
const REFUSED: &str = "198.51.100.11/32";

fn profile() -> String {
    format!(
        "devices:\n  rtr-002: {{ faults: {{ error_entries: ['host {}'] }} }}\n",
        REFUSED.trim_end_matches("/32")
    )
}

/// `promtool check metrics` on the file: its exit status and what it said.
fn promtool_check(path: &Path) -> (bool, String) {
    let out = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(path).unwrap())
        .output()
        .expect("run promtool (Debian package prometheus)");
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

/// The file's series, `name{labels}` → value; every line that is not a
/// comment is one.
fn series(path: &Path) -> BTreeMap<String, f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let (passed, said) = promtool_check(path);
    assert!(passed, "promtool: {said}\n{text}");
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (key, value) = line.rsplit_once(' ').unwrap();
        let old = out.insert(key.to_string(), value.parse::<f64>().unwrap());
        assert!(old.is_none(), "{key} twice");
    }
    out
}

/// The value of the one series of `name` with every label in `labels`.
fn value(series: &BTreeMap<String, f64>, name: &str, labels: &[&str]) -> Option<f64> {
    let found: Vec<f64> = (series.iter())
        .filter(|(k, _)| k.starts_with(&format!("{name}{{")))
        .filter(|(k, _)| labels.iter().all(|l| k.contains(l)))
        .map(|(_, v)| *v)
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?}: {found:?}");
    found.first().copied()
}

/// `tsfleet_devices` for ok, changed, failed and skipped.
fn devices(series: &BTreeMap<String, f64>) -> [Option<f64>; 4] {
    ["ok", "changed", "failed", "skipped"].map(|status| {
        let label = format!("status=\"{status}\"");
        value(series, "tsfleet_devices", &[&label])
    })
}

fn last_success(series: &BTreeMap<String, f64>, device: &str) -> Option<f64> {
    let label = format!("device=\"{device}\"");
    value(
        series,
        "tsfleet_device_last_success_timestamp_seconds",
        &[&label],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_metrics_pass_promtool_and_a_failing_device_keeps_its_last_success() {
    // A device name with a quote (the inventory allows it): escaped.
    let odd = "rtr\"3";
    let bed = Bed::start_with(3, &profile(), hosts(20), |b| {
        b.edit(|inv| inv.devices[2].name = "rtr\"3".into())
    })
    .await;
    let prom = bed.dir.path().join("tsfleet-apply.prom");
    let args = [
        "--yes",
        "--metrics",
        "tsfleet-apply.prom",
        "--json",
        "r.json",
    ];
    let out = bed.run("apply", &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let first = series(&prom);
    let labels = "{command=\"apply\",inventory=\"";
    assert!(
        first.keys().all(|k| k.contains(labels)),
        "every series names the command and inventory: {first:?}"
    );
    assert_eq!(value(&first, "tsfleet_last_run_success", &[]), Some(1.0));
    assert_eq!(devices(&first), [0.0, 3.0, 0.0, 0.0].map(Some));
    assert_eq!(
        value(
            &first,
            "tsfleet_entries",
            &["change=\"added\"", "family=\"ipv4\""]
        ),
        Some(60.0)
    );
    assert_eq!(
        value(
            &first,
            "tsfleet_entries",
            &["change=\"added\"", "family=\"ipv6\""]
        ),
        Some(0.0),
        "both families are always there"
    );
    let t1 = last_success(&first, "rtr-002").expect("rtr-002 succeeded");
    assert!(last_success(&first, "rtr\\\"3").is_some(), "{first:?}");
    let ran = value(&first, "tsfleet_last_run_timestamp_seconds", &[]).unwrap();
    assert_eq!(t1, ran, "a success is stamped with the run's end");

    // rtr-002 refuses an entry of the new list: it fails, the others change.
    let mut more = hosts(20);
    more.push(REFUSED.parse().unwrap());
    bed.publish(more).await;
    let out = bed.run("apply", &args).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let second = series(&prom);
    assert_eq!(value(&second, "tsfleet_last_run_success", &[]), Some(0.0));
    assert_eq!(devices(&second), [0.0, 2.0, 1.0, 0.0].map(Some));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bed.dir.path().join("r.json")).unwrap()).unwrap();
    for change in ["added", "removed"] {
        let label = format!("change=\"{change}\"");
        assert_eq!(
            value(&second, "tsfleet_entries", &[&label, "family=\"ipv4\""]),
            report["summary"][change].as_f64(),
            "{change}"
        );
    }
    assert_eq!(
        last_success(&second, "rtr-002"),
        Some(t1),
        "the failing device keeps its earlier success"
    );
    assert!(last_success(&second, "rtr-001").unwrap() > t1);
    assert!(last_success(&second, odd.replace('"', "\\\"").as_str()).unwrap() > t1);

    let state = harness::state_dir(bed.dir.path()).join("metrics");
    let kept: Vec<_> = std::fs::read_dir(&state).unwrap().collect();
    assert_eq!(kept.len(), 1, "one file per inventory");
    let meta = kept[0].as_ref().unwrap().metadata().unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_stops_before_contact_writes_success_0_and_keeps_the_last_successes() {
    let bed = Bed::start(2, "", hosts(20)).await;
    let prom = bed.dir.path().join("tsfleet-apply.prom");
    // Links planted at the metrics file and at the state file: replaced, and
    // what they point to left alone.
    let victim = bed.dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, &prom).unwrap();
    let state = harness::state_dir(bed.dir.path());
    let kept = SuccessFile::of(&state, &bed.inventory).unwrap().path;
    std::fs::create_dir_all(kept.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&victim, &kept).unwrap();
    let out = bed
        .run("apply", &["--yes", "--metrics", "tsfleet-apply.prom"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("symbolic link"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    for path in [&prom, &kept] {
        assert!(std::fs::symlink_metadata(path).unwrap().is_file());
    }
    let before = series(&prom);
    let logins = bed.logins();

    // The lists file does not exist: exit 3, nothing contacted.
    let args = [
        "--yes",
        "--lists",
        "missing.json",
        "--metrics",
        "tsfleet-apply.prom",
    ];
    let out = bed.run("apply", &args).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(bed.logins(), logins, "nothing contacted");
    let after = series(&prom);
    assert_eq!(value(&after, "tsfleet_last_run_success", &[]), Some(0.0));
    assert_eq!(devices(&after), [Some(0.0); 4]);
    for device in ["rtr-001", "rtr-002"] {
        assert!(last_success(&before, device).is_some());
        assert_eq!(last_success(&after, device), last_success(&before, device));
    }
    assert!(
        value(&after, "tsfleet_last_run_timestamp_seconds", &[])
            >= value(&before, "tsfleet_last_run_timestamp_seconds", &[])
    );

    // The last successes cannot be kept (a file where their folder goes):
    // the run exits 1 naming it, and its metrics say success 0.
    let state = harness::state_dir(bed.dir.path()).join("metrics");
    std::fs::remove_dir_all(&state).unwrap();
    std::fs::write(&state, "").unwrap();
    let out = bed
        .run("apply", &["--yes", "--metrics", "tsfleet-apply.prom"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("cannot keep the devices' last successes"),
        "{}",
        text(&out)
    );
    let unkept = series(&prom);
    assert_eq!(value(&unkept, "tsfleet_last_run_success", &[]), Some(0.0));
    assert_eq!(devices(&unkept), [2.0, 0.0, 0.0, 0.0].map(Some));
    let logins = bed.logins();

    // An unwritable --metrics is refused before contact like any report.
    let args = ["--yes", "--metrics", "no/such/dir/m.prom"];
    let out = bed.run("apply", &args).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("--metrics no/such/dir"),
        "{}",
        text(&out)
    );
    assert_eq!(bed.logins(), logins);
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_plan_apply_and_their_merge_write_files_that_never_collide() {
    let bed = Bed::start(4, "", hosts(20)).await;
    let mut files = Vec::new();
    for shard in ["1/2", "2/2"] {
        let n = &shard[..1];
        let (json, prom) = (format!("shard-{n}.json"), format!("apply-{n}.prom"));
        let args = [
            "--yes",
            "--shard",
            shard,
            "--json",
            &json,
            "--metrics",
            &prom,
        ];
        let out = bed.run("apply", &args).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        files.push(prom);
    }
    let out = bed.run("plan", &["--metrics", "plan.prom"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    files.push("plan.prom".into());
    let args = [
        "report",
        "merge",
        "shard-1.json",
        "shard-2.json",
        "--metrics",
        "merged.prom",
    ];
    let out = harness::tsfleet(&args, bed.dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    files.push("merged.prom".into());

    let mut all = BTreeMap::new();
    for file in &files {
        for (key, v) in series(&bed.dir.path().join(file)) {
            assert!(all.insert(key.clone(), v).is_none(), "{key} in two files");
        }
    }
    let merged = series(&bed.dir.path().join("merged.prom"));
    assert_eq!(value(&merged, "tsfleet_last_run_success", &[]), Some(1.0));
    assert_eq!(
        value(&merged, "tsfleet_devices", &["status=\"changed\""]),
        Some(4.0)
    );
    assert!(merged.keys().all(|k| !k.contains("inventory=")));
    for n in 1..=4 {
        let device = format!("rtr-00{n}");
        assert!(last_success(&merged, &device).is_some(), "{device}");
    }
    // Each shard's file shows its own devices only.
    let shard = |n: u8| series(&bed.dir.path().join(format!("apply-{n}.prom")));
    let per_device = |s: &BTreeMap<String, f64>| {
        s.keys()
            .filter(|k| k.contains("device=\""))
            .map(|k| k.split("device=").nth(1).unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (one, two) = (per_device(&shard(1)), per_device(&shard(2)));
    assert_eq!(one.len() + two.len(), 4, "{one:?} {two:?}");
    assert!(one.iter().all(|d| !two.contains(d)));
    assert!(shard(1).keys().all(|k| k.contains("shard=\"1/2\"")));
}

#[test]
fn the_example_alert_rules_pass_promtool() {
    let rules = repo_root().join("examples/prometheus/tsfleet.rules.yml");
    let out = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .expect("run promtool (Debian package prometheus)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("SUCCESS: 4 rules found"), "{said}");
}

/// node_exporter reads the file as another user: it is 0644 even when
/// tsfleet runs with `UMask=0077` (the systemd example's), on a run that
/// stopped before contact (no inventory) as on any other.
#[test]
fn the_metrics_file_is_readable_by_node_exporter_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("sh")
        .args(["-c", "umask 077 && exec \"$0\" \"$@\""])
        .arg(harness::tsfleet_bin())
        .args(["plan", "-i", "missing.yaml", "--metrics", "tsfleet.prom"])
        .current_dir(dir.path())
        .env("TSFLEET_STATE_DIR", dir.path().join("state"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let prom = dir.path().join("tsfleet.prom");
    let mode = std::fs::metadata(&prom).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "the metrics file's mode");
    assert_eq!(
        value(&series(&prom), "tsfleet_last_run_success", &[]),
        Some(0.0)
    );
}

/// A run that exits 1 because a file it writes after the devices (here the
/// saved plan, onto a full device) could not be written says success 0:
/// the metrics are written last, from the run's real exit code.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_whose_saved_plan_cannot_be_written_says_success_0() {
    let bed = Bed::start(2, "", hosts(20)).await;
    let prom = bed.dir.path().join("tsfleet-plan.prom");
    let args = ["--out", "/dev/full", "--metrics", "tsfleet-plan.prom"];
    let out = bed.run("plan", &args).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let written = series(&prom);
    assert_eq!(value(&written, "tsfleet_last_run_success", &[]), Some(0.0));
    assert_eq!(devices(&written), [0.0, 2.0, 0.0, 0.0].map(Some));
}
