//! `--metrics FILE`: the run for Prometheus, in node_exporter's textfile
//! format (the text exposition format, `# HELP` and `# TYPE` per family), to
//! be written where the textfile collector reads (`*.prom` in its
//! `--collector.textfile.directory`). [`render`] is pure; [`write`] writes
//! the file atomically through [`crate::files`], whose temporary file ends
//! in `.tmp`, so the collector never reads half a file.
//!
//! Every series carries `command` and `inventory` (the path as given) and,
//! on a sharded run, `shard` ("2/4"): an hourly `plan` and a nightly
//! `apply`, two shards, or two inventories on one host then write files
//! whose series never collide (node_exporter refuses duplicates). A merged
//! report has no inventory label and no shard.
//!
//! The per-device last success is kept across runs in the state directory
//! ([`SuccessFile`], `metrics/<digest>.json`, per inventory as
//! [`crate::lists::applied`] does, per command): a device that fails now
//! keeps the time of its last success. It only feeds monitoring, so a
//! damaged file never stops a sync: it is replaced, with a warning naming it.

use super::{ReportError, RunKind, RunReport, Shard, Status, Summary};
use crate::domain::Family;
use crate::files::Output;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What labels every series.
#[derive(Clone, Debug)]
pub struct Labels {
    pub command: RunKind,
    /// The inventory's path as the command line gave it; `None` for a merge.
    pub inventory: Option<String>,
    pub shard: Option<Shard>,
}

/// One run as the metrics file shows it.
#[derive(Clone, Debug)]
pub struct Metrics<'a> {
    pub labels: Labels,
    /// When the run ended.
    pub finished_at: SystemTime,
    /// See [`SUCCESS_HELP`].
    pub success: bool,
    pub duration: Duration,
    /// The devices' counts; all zero when the run stopped before contact.
    pub summary: Summary,
    /// Entries added and removed per address family (none when the run
    /// stopped before contact: every family then shows 0).
    pub entries: BTreeMap<Family, (u64, u64)>,
    /// Per device, its last success (Unix milliseconds).
    pub last_success: &'a BTreeMap<String, u64>,
}

const SUCCESS_HELP: &str = "1 if the last run succeeded: it exited 0, or 2 (changes pending, \
     with --detailed-exitcode); 0 if a device failed or was skipped, a report could not be \
     written (exit 1), or it stopped before contacting any device (exit 3: bad input, lock held, \
     shrink guard).";

/// The text of the metrics file (pure).
pub fn render(m: &Metrics) -> String {
    let base = base_labels(&m.labels);
    let mut out = String::new();
    let mut family = |name: &str, help: &str, series: &[(String, String)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in series {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    };
    let one = |value: String| [(base.clone(), value)];
    family(
        "tsfleet_last_run_timestamp_seconds",
        "When the last run ended, Unix time.",
        &one(seconds(millis_since_epoch(m.finished_at))),
    );
    family(
        "tsfleet_last_run_success",
        SUCCESS_HELP,
        &one(u8::from(m.success).to_string()),
    );
    family(
        "tsfleet_last_run_duration_seconds",
        "How long the last run took.",
        &one(seconds(
            u64::try_from(m.duration.as_millis()).unwrap_or(u64::MAX),
        )),
    );
    let s = &m.summary;
    let statuses = Status::ALL.map(|status| {
        let count = match status {
            Status::Ok => s.ok,
            Status::Changed => s.changed,
            Status::Failed => s.failed,
            Status::Skipped => s.skipped,
        };
        (with(&base, "status", status.as_str()), count.to_string())
    });
    family(
        "tsfleet_devices",
        "Devices of the last run by status: ok (nothing to change), changed (applied, or pending \
         for plan and check), failed, skipped (the run stopped before them).",
        &statuses,
    );
    family(
        "tsfleet_entries",
        "Object-group entries the last run added and removed (pending for plan and check), \
         by address family (ipv4: object-group network, ipv6: object-group v6-network).",
        &Family::ALL
            .map(|f| {
                let (added, removed) = m.entries.get(&f).copied().unwrap_or_default();
                let base = with(&base, "family", f.as_str());
                [
                    (with(&base, "change", "added"), added.to_string()),
                    (with(&base, "change", "removed"), removed.to_string()),
                ]
            })
            .concat(),
    );
    let devices: Vec<_> = (m.last_success.iter())
        .map(|(device, ms)| (with(&base, "device", device), seconds(*ms)))
        .collect();
    family(
        "tsfleet_device_last_success_timestamp_seconds",
        "When this command last ended ok or changed on the device, Unix time (kept across runs; \
         absent until its first success).",
        &devices,
    );
    out
}

/// Write the metrics file atomically (temporary file, then rename), or stdout.
pub fn write(output: &Output, metrics: &Metrics) -> Result<(), ReportError> {
    // node_exporter runs as another user: 0644 whatever tsfleet's umask.
    (output.write_readable(render(metrics).as_bytes())).map_err(|source| ReportError::Write {
        path: output.to_string().into(),
        source,
    })
}

impl Metrics<'_> {
    /// A run that reached its end (`success` from its exit code), or a
    /// merged report, ending at `started_at` plus its duration.
    pub fn of_report<'a>(
        report: &RunReport,
        labels: Labels,
        success: bool,
        last_success: &'a BTreeMap<String, u64>,
    ) -> Metrics<'a> {
        let duration = Duration::from_millis(report.duration_ms);
        Metrics {
            labels,
            finished_at: report.started_at + duration,
            success,
            duration,
            summary: report.summary(),
            entries: entries_by_family(report),
            last_success,
        }
    }
}

/// Entries added and removed per address family, over every device.
pub fn entries_by_family(report: &RunReport) -> BTreeMap<Family, (u64, u64)> {
    let mut counts: BTreeMap<Family, (u64, u64)> = BTreeMap::new();
    for g in report.devices.iter().flat_map(|d| &d.groups) {
        let c = counts.entry(g.family).or_default();
        c.0 += g.added;
        c.1 += g.removed;
    }
    counts
}

/// The devices of `report` that ended ok or changed, each at the run's end:
/// the per-device series of a merged report (which has no state).
pub fn successes_of(report: &RunReport) -> BTreeMap<String, u64> {
    let end = millis_since_epoch(report.started_at) + report.duration_ms;
    (report.devices.iter())
        .filter(|d| matches!(d.status, Status::Ok | Status::Changed))
        .map(|d| (d.name.clone(), end))
        .collect()
}

fn base_labels(l: &Labels) -> String {
    let mut out = format!("command=\"{}\"", escape(l.command.as_str()));
    if let Some(inventory) = &l.inventory {
        let _ = write!(out, ",inventory=\"{}\"", escape(inventory));
    }
    if let Some(shard) = l.shard {
        let _ = write!(out, ",shard=\"{shard}\"");
    }
    out
}

fn with(base: &str, name: &str, value: &str) -> String {
    format!("{base},{name}=\"{}\"", escape(value))
}

/// A label value as the exposition format quotes it: backslash, double
/// quote and line feed escaped.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Milliseconds as seconds with three decimals (`1764556800.123`).
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

pub fn millis_since_epoch(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The schema version of the state file.
const SUCCESSES_VERSION: u32 = 1;

/// Far more than the successes of any fleet: a bigger file is not one.
const MAX_SUCCESSES_BYTES: u64 = 64 << 20;

/// The per-device last successes of one inventory, per command.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Successes {
    pub version: u32,
    /// The inventory it belongs to (canonical path), for whoever reads the file.
    pub inventory: PathBuf,
    /// Per command (`apply`), per device, Unix milliseconds.
    pub commands: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Successes {
    /// After a run of `command` that ended at `end_ms`: its ok and changed
    /// devices succeeded then; only devices in `inventory_now` are kept
    /// (for every command), so a device removed from the inventory drops out.
    pub fn after_run<'a>(
        mut self,
        report: &RunReport,
        end_ms: u64,
        inventory_now: impl IntoIterator<Item = &'a str>,
    ) -> Successes {
        let now: std::collections::HashSet<&str> = inventory_now.into_iter().collect();
        let times = self
            .commands
            .entry(report.command.as_str().to_string())
            .or_default();
        for d in &report.devices {
            if matches!(d.status, Status::Ok | Status::Changed) {
                times.insert(d.name.clone(), end_ms);
            }
        }
        for times in self.commands.values_mut() {
            times.retain(|name, _| now.contains(name.as_str()));
        }
        self.commands.retain(|_, times| !times.is_empty());
        self
    }

    /// The last successes of `command`, of the devices `keep` accepts.
    pub fn of(&self, command: RunKind, keep: impl Fn(&str) -> bool) -> BTreeMap<String, u64> {
        (self.commands.get(command.as_str()).into_iter())
            .flatten()
            .filter(|(name, _)| keep(name))
            .map(|(name, ms)| (name.clone(), *ms))
            .collect()
    }
}

/// Where one inventory's last successes are kept: `metrics/<digest>.json`
/// in the state directory, mode 0600.
#[derive(Clone, Debug)]
pub struct SuccessFile {
    pub path: PathBuf,
    /// The inventory's canonical path.
    pub inventory: PathBuf,
}

impl SuccessFile {
    /// The file of `inventory` (which must exist) in `state_dir`.
    pub fn of(state_dir: &Path, inventory: &Path) -> std::io::Result<SuccessFile> {
        let canonical = std::fs::canonicalize(inventory)?;
        Ok(SuccessFile {
            path: crate::state_dir::inventory_file(state_dir, "metrics", &canonical, "json"),
            inventory: canonical,
        })
    }

    /// The successes kept, empty when there are none yet. A file that cannot
    /// be read or parsed is passed over with a warning naming it (and then
    /// replaced by the next run that writes): losing the history costs a
    /// failing device its last-success series, refusing the run would cost
    /// the sync itself.
    pub fn read(&self) -> Successes {
        let empty = Successes {
            version: SUCCESSES_VERSION,
            inventory: self.inventory.clone(),
            commands: BTreeMap::new(),
        };
        let problem = match self.read_checked() {
            Ok(Some(s)) => return s,
            Ok(None) => return empty,
            Err(problem) => problem,
        };
        tracing::warn!(
            "{}: the per-device last successes for --metrics {problem}; starting afresh (the file is replaced)",
            self.path.display()
        );
        empty
    }

    fn read_checked(&self) -> Result<Option<Successes>, String> {
        let read = crate::state_dir::read(&self.path, MAX_SUCCESSES_BYTES);
        let Some(text) = read.map_err(|e| format!("cannot be read: {e}"))? else {
            return Ok(None);
        };
        let s: Successes =
            serde_json::from_slice(&text).map_err(|e| format!("are damaged: {e}"))?;
        if s.version != SUCCESSES_VERSION {
            return Err(format!(
                "have version {}; this tsfleet reads version {SUCCESSES_VERSION}",
                s.version
            ));
        }
        Ok(Some(s))
    }

    /// Replace the file with `successes` (atomically, mode 0600), creating
    /// the `metrics` folder (0700) when missing.
    pub fn write(&self, successes: &Successes) -> Result<(), ReportError> {
        crate::state_dir::write_json(&self.path, successes).map_err(|source| ReportError::State {
            path: self.path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{DeviceReport, GroupReport};

    fn labels(shard: Option<Shard>) -> Labels {
        Labels {
            command: RunKind::Apply,
            inventory: Some("fleet.yaml".into()),
            shard,
        }
    }

    fn report() -> RunReport {
        let start = UNIX_EPOCH + Duration::from_millis(1_764_556_800_000);
        let mut changed = DeviceReport::skipped("b", "h", "x");
        changed.status = Status::Changed;
        changed.added = 5;
        changed.removed = 1;
        changed.groups = vec![
            GroupReport::counts("b4".into(), 3, 1, 0, 0),
            GroupReport {
                family: Family::Ipv6,
                ..GroupReport::counts("b6".into(), 2, 0, 0, 0)
            },
        ];
        let mut failed = DeviceReport::skipped("c", "h", "x");
        failed.status = Status::Failed;
        failed.reason = None;
        let ok = DeviceReport::skipped("a", "h", "x");
        let ok = DeviceReport {
            status: Status::Ok,
            reason: None,
            ..ok
        };
        RunReport::new(
            RunKind::Apply,
            start,
            Duration::from_millis(2_500),
            None,
            None,
            vec![ok, changed, failed],
        )
    }

    #[test]
    fn every_family_has_help_and_type_and_every_status_is_there() {
        let report = report();
        let last = BTreeMap::from([("a".to_string(), 1_000_u64)]);
        let text = render(&Metrics::of_report(&report, labels(None), false, &last));
        let expected = "\
tsfleet_last_run_timestamp_seconds{command=\"apply\",inventory=\"fleet.yaml\"} 1764556802.500
tsfleet_last_run_success{command=\"apply\",inventory=\"fleet.yaml\"} 0
tsfleet_last_run_duration_seconds{command=\"apply\",inventory=\"fleet.yaml\"} 2.500
tsfleet_devices{command=\"apply\",inventory=\"fleet.yaml\",status=\"ok\"} 1
tsfleet_devices{command=\"apply\",inventory=\"fleet.yaml\",status=\"changed\"} 1
tsfleet_devices{command=\"apply\",inventory=\"fleet.yaml\",status=\"failed\"} 1
tsfleet_devices{command=\"apply\",inventory=\"fleet.yaml\",status=\"skipped\"} 0
tsfleet_entries{command=\"apply\",inventory=\"fleet.yaml\",family=\"ipv4\",change=\"added\"} 3
tsfleet_entries{command=\"apply\",inventory=\"fleet.yaml\",family=\"ipv4\",change=\"removed\"} 1
tsfleet_entries{command=\"apply\",inventory=\"fleet.yaml\",family=\"ipv6\",change=\"added\"} 2
tsfleet_entries{command=\"apply\",inventory=\"fleet.yaml\",family=\"ipv6\",change=\"removed\"} 0
tsfleet_device_last_success_timestamp_seconds{command=\"apply\",inventory=\"fleet.yaml\",device=\"a\"} 1.000
";
        let series: String = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(series, expected);
        for family in [
            "tsfleet_last_run_timestamp_seconds",
            "tsfleet_last_run_success",
            "tsfleet_last_run_duration_seconds",
            "tsfleet_devices",
            "tsfleet_entries",
            "tsfleet_device_last_success_timestamp_seconds",
        ] {
            assert!(text.contains(&format!("# HELP {family} ")), "{family}");
            assert!(
                text.contains(&format!("# TYPE {family} gauge\n")),
                "{family}"
            );
        }
    }

    #[test]
    fn a_shard_is_a_label_and_label_values_are_escaped() {
        let report = report();
        let last = BTreeMap::from([("r\"1\\\nx".to_string(), 1_u64)]);
        let shard = Shard { index: 2, count: 4 };
        let mut l = labels(Some(shard));
        l.inventory = Some("a\"b\\c\nd.yaml".into());
        let text = render(&Metrics::of_report(&report, l, true, &last));
        assert!(
            text.contains(
                "tsfleet_last_run_success{command=\"apply\",inventory=\"a\\\"b\\\\c\\nd.yaml\",shard=\"2/4\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(",device=\"r\\\"1\\\\\\nx\"} 0.001\n"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 6 * 2 + 12, "no line split: {text}");
    }

    #[test]
    fn a_merged_report_has_no_inventory_and_its_successes_are_its_own() {
        let report = report();
        let last = successes_of(&report);
        assert_eq!(
            last.keys().collect::<Vec<_>>(),
            ["a", "b"],
            "the failed device has none"
        );
        assert_eq!(last["a"], 1_764_556_802_500);
        let l = Labels {
            inventory: None,
            ..labels(None)
        };
        let text = render(&Metrics::of_report(&report, l, true, &last));
        assert!(text.contains("tsfleet_last_run_success{command=\"apply\"} 1\n"));
    }

    #[test]
    fn successes_keep_a_failing_devices_time_and_drop_devices_gone() {
        let old = Successes {
            version: SUCCESSES_VERSION,
            inventory: "/f.yaml".into(),
            commands: BTreeMap::from([
                (
                    "apply".to_string(),
                    BTreeMap::from([("c".to_string(), 5), ("gone".to_string(), 5)]),
                ),
                (
                    "plan".to_string(),
                    BTreeMap::from([("gone".to_string(), 5)]),
                ),
            ]),
        };
        let new = old.after_run(&report(), 9, ["a", "b", "c"]);
        assert_eq!(
            new.of(RunKind::Apply, |_| true),
            BTreeMap::from([("a".into(), 9), ("b".into(), 9), ("c".into(), 5)])
        );
        assert!(!new.commands.contains_key("plan"), "{new:?}");
        assert_eq!(new.of(RunKind::Apply, |n| n == "c").len(), 1);
    }

    #[test]
    fn a_damaged_state_file_is_passed_over_and_replaced_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let inventory = dir.path().join("fleet.yaml");
        std::fs::write(&inventory, "").unwrap();
        let file = SuccessFile::of(&dir.path().join("state"), &inventory).unwrap();
        assert_eq!(file.read().commands.len(), 0, "none yet");
        std::fs::create_dir_all(file.path.parent().unwrap()).unwrap();
        std::fs::write(&file.path, "{ not json").unwrap();
        let read = file.read();
        assert!(read.commands.is_empty());
        let after = read.after_run(&report(), 7, ["a"]);
        file.write(&after).unwrap();
        assert_eq!(file.read(), after);
        let mode = std::fs::metadata(&file.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
