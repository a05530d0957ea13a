//! The outcome of one run (`plan`, `apply`, later `check` and `remove`) as a
//! plain value, and its renderings: the terminal table ([`table`]), the JSON
//! file ([`json`], described by `schemas/report.schema.json`, which is
//! generated from these types by [`schema`]), JUnit XML ([`junit`]), a
//! Markdown summary for CI ([`markdown`]), Prometheus metrics
//! ([`metrics`]) and a self-contained web page ([`html`]). The
//! doc comments of the types written to that file are the schema's
//! descriptions, so they are written for its readers; notes for Rust readers
//! are plain comments.
//!
//! This module owns the report model, the per-run [`Summary`] and the mapping
//! of a run to its summary (`crate::error::Outcome::of_report` turns it into an
//! exit code); the values it records ([`RunKind`], [`Shard`], [`ErrorClass`])
//! are `crate::domain`'s. Everything here is pure
//! except the file writers ([`json::write`], [`junit::write`],
//! [`markdown::write`], [`html::write`]), so the
//! fleet runner builds a [`RunReport`] from [`DeviceReport`]s and hands it on.
//!
//! Devices that `--limit` or `--shard` left out are not part of the run and
//! never appear in a report; a `skipped` device was selected but not synced
//! because the run was stopped.

pub mod diff;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod metrics;
pub mod schema;
pub mod schema_rules;
pub mod table;

use crate::device::DeviceError;
use crate::device::sync::SyncOutcome;
use crate::domain::Family;
pub use crate::fleet::StopReason;
use crate::plan::ChangeSet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The JSON schema version written in every report (`version`). Bump it on
/// any change a reader would notice (`schemas/report.schema.json` follows the
/// types: see [`schema`]).
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: cannot write the report: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot read the report: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a tsfleet report: {reason}")]
    Parse { path: PathBuf, reason: String },
    /// `--metrics`' state file (`metrics::SuccessFile`).
    #[error(
        "{path}: cannot keep the devices' last successes for --metrics: {source}; the next run starts from the ones kept before"
    )]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot render the JUnit report: {0}")]
    Junit(#[from] quick_junit::SerializeError),
}

/// The subcommand a report comes from (the old name of [`RunKind`]).
pub use crate::domain::RunKind as Command;
pub use crate::domain::{ErrorClass, RunKind, Shard};

/// Where one device ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(schemars::JsonSchema)]
pub enum Status {
    /// Converged: nothing to change.
    Ok,
    /// Changes applied (`apply`, `remove`) or pending (`plan`, `check`).
    Changed,
    /// The sync failed: see the device's `error`.
    Failed,
    /// Selected but never synced because the run was stopped: see the
    /// device's `reason`.
    Skipped,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Ok, Status::Changed, Status::Failed, Status::Skipped];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }

    /// Display order: what needs attention first (failed, then changed), and
    /// skipped last because a stopped run skips a long tail of devices that
    /// would otherwise bury the changes.
    fn rank(self) -> u8 {
        match self {
            Status::Failed => 0,
            Status::Changed => 1,
            Status::Ok => 2,
            Status::Skipped => 3,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object-group on one device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct GroupReport {
    #[schemars(length(min = 1))]
    pub name: String,
    /// `ipv4` (`object-group network`) or `ipv6` (`object-group
    /// v6-network`); reports written before IPv6 groups read as `ipv4`.
    #[serde(default)]
    pub family: Family,
    pub added: u64,
    pub removed: u64,
    pub kept: u64,
    /// Entries tsfleet does not manage (`range`, `group-object`, …), left alone.
    pub unmanaged: u64,
    /// Entries of this group's list that the policy's `max_policy_size`
    /// cut (allow groups are filled first, per address family). Reports
    /// written before read as 0.
    #[serde(default)]
    pub capped: u64,
    /// The digest of this group's lines in the report's `change_sets`:
    /// planned (`plan`), pushed (`apply`); for a `failed` device, the plan,
    /// while the counts say what reached it. `null` when nothing changes.
    #[schemars(regex(pattern = schema_rules::CHANGE_SET_DIGEST))]
    pub change_set: Option<String>,
    // The set itself, shared with every device of the run that has it
    // (`crate::plan::ChangeSets`); the JSON writes it once, under
    // `change_sets`, and a report read back links it again (`json::from_str`).
    #[serde(skip)]
    pub lines: Option<Arc<ChangeSet>>,
    // What the run read from the group before any change
    // (`crate::device::ios::entries_digest`), for `plan --out`; not in
    // the JSON report.
    #[serde(skip)]
    pub observed: Option<String>,
}

impl GroupReport {
    /// A group's counts, without a change set.
    pub fn counts(name: String, added: u64, removed: u64, kept: u64, unmanaged: u64) -> Self {
        GroupReport {
            name,
            family: Family::Ipv4,
            added,
            capped: 0,
            removed,
            kept,
            unmanaged,
            change_set: None,
            lines: None,
            observed: None,
        }
    }
}

/// Why a device failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ErrorReport {
    pub class: ErrorClass,
    /// The error with its context (command, group, address), without the
    /// device's name.
    pub message: String,
}

/// One device's row of the report.
///
/// Every field is always present in the JSON (`null` when absent) so that
/// `jq` filters need no defaults. A `failed` device has an `error` and no
/// `reason`; a `skipped` one a `reason` and no `error`; others neither.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields, transform = schema_rules::device_rules)]
pub struct DeviceReport {
    /// The inventory name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The address tsfleet connects to.
    pub host: String,
    pub status: Status,
    /// Why a `skipped` device was not synced; `null` otherwise.
    pub reason: Option<String>,
    pub groups: Vec<GroupReport>,
    /// Totals over `groups`: applied by `apply`, pending for `plan`; for a
    /// `failed` device, what reached its running configuration before the
    /// failure (`groups` is empty when nothing can have).
    pub added: u64,
    pub removed: u64,
    pub kept: u64,
    /// Desired entries left out by the policy cap (device group limit).
    pub capped: u64,
    pub duration_ms: u64,
    /// Lines typed to the device, commands included.
    // RunStats::lines_sent (src/device/mod.rs).
    pub lines_sent: u64,
    /// `lines_sent` over the whole device duration (0 when nothing was sent).
    #[schemars(range(min = 0.0))]
    pub lines_per_sec: f64,
    /// Why a `failed` device failed; `null` otherwise.
    pub error: Option<ErrorReport>,
    /// The configuration was saved (`write memory`), by a failed device too
    /// (a group that refused adds is saved holding at least its old list).
    pub saved: bool,
    /// Warnings and findings that are not failures (`check`: an old IOS
    /// release, a group no ACL uses, the SSH algorithms negotiated; `plan`,
    /// `apply`: a block list prefix that covered an address tsfleet depends
    /// on, which was left unblocked).
    pub notes: Vec<String>,
    /// The inventory groups the device belongs to, in inventory order
    /// (the HTML report's grid is by group); empty when it is in none.
    // Absent from reports written before it was added: read as none.
    #[serde(default)]
    pub inventory_groups: Vec<String>,
}

impl DeviceReport {
    /// A device that completed its sync. Whether `changed` means applied or
    /// pending follows from the run's [`Command`].
    pub fn from_outcome(
        name: impl Into<String>,
        host: impl Into<String>,
        outcome: &SyncOutcome,
        capped: &[u64],
        duration: Duration,
        lines_sent: u64,
    ) -> Self {
        let mut report = Self::empty(name.into(), host.into(), Status::Ok, duration);
        report.set_groups(outcome);
        report.status = if outcome.changed() {
            Status::Changed
        } else {
            Status::Ok
        };
        for (g, &cut) in report.groups.iter_mut().zip(capped) {
            g.capped = cut;
        }
        report.capped = report.groups.iter().map(|g| g.capped).sum();
        report.lines_sent = lines_sent;
        report.lines_per_sec = rate(lines_sent, duration);
        report
    }

    /// The groups, their totals and `saved` from a sync's outcome.
    fn set_groups(&mut self, outcome: &SyncOutcome) {
        self.groups = outcome
            .groups
            .iter()
            .map(|g| GroupReport {
                change_set: g.change_set.as_ref().map(|c| c.digest().to_string()),
                lines: g.change_set.clone(),
                observed: g.observed.clone(),
                family: g.family,
                ..GroupReport::counts(
                    g.name.clone(),
                    g.added as u64,
                    g.removed as u64,
                    g.kept as u64,
                    g.unmanaged.len() as u64,
                )
            })
            .collect();
        self.added = self.groups.iter().map(|g| g.added).sum();
        self.removed = self.groups.iter().map(|g| g.removed).sum();
        self.kept = self.groups.iter().map(|g| g.kept).sum();
        self.saved = outcome.saved;
    }

    /// A device `check` went through: ok, with its findings as notes.
    pub fn checked(
        name: impl Into<String>,
        host: impl Into<String>,
        notes: Vec<String>,
        duration: Duration,
        lines_sent: u64,
    ) -> Self {
        let mut report = Self::empty(name.into(), host.into(), Status::Ok, duration);
        report.notes = notes;
        report.lines_sent = lines_sent;
        report.lines_per_sec = rate(lines_sent, duration);
        report
    }

    /// A device `remove` went through: the groups deleted and their entries.
    pub fn removed(
        name: impl Into<String>,
        host: impl Into<String>,
        groups: &[(String, Family, usize)],
        saved: bool,
        duration: Duration,
        lines_sent: u64,
    ) -> Self {
        let status = if groups.is_empty() {
            Status::Ok
        } else {
            Status::Changed
        };
        let mut report = Self::empty(name.into(), host.into(), status, duration);
        report.groups = groups
            .iter()
            .map(|(g, family, n)| GroupReport {
                family: *family,
                ..GroupReport::counts(g.clone(), 0, *n as u64, 0, 0)
            })
            .collect();
        report.removed = report.groups.iter().map(|g| g.removed).sum();
        report.saved = saved;
        report.lines_sent = lines_sent;
        report.lines_per_sec = rate(lines_sent, duration);
        report
    }

    /// A device whose run ended with `error`. Its message is
    /// [`DeviceError::message`], without the device (the report names it).
    /// Its groups and counts are what reached the running configuration
    /// when the error says ([`DeviceError::reached`]), none otherwise.
    pub fn failed(
        name: impl Into<String>,
        host: impl Into<String>,
        error: &DeviceError,
        duration: Duration,
    ) -> Self {
        let mut report = Self::empty(name.into(), host.into(), Status::Failed, duration);
        if let Some(reached) = error.reached() {
            report.set_groups(reached);
        }
        report.error = Some(ErrorReport {
            class: error.class(),
            message: error.message().to_string(),
        });
        report
    }

    /// A device the run never started; `reason` is usually a [`StopReason`].
    pub fn skipped(
        name: impl Into<String>,
        host: impl Into<String>,
        reason: impl fmt::Display,
    ) -> Self {
        let mut report = Self::empty(name.into(), host.into(), Status::Skipped, Duration::ZERO);
        report.reason = Some(reason.to_string());
        report
    }

    fn empty(name: String, host: String, status: Status, duration: Duration) -> Self {
        DeviceReport {
            name,
            host,
            status,
            reason: None,
            groups: Vec::new(),
            added: 0,
            removed: 0,
            kept: 0,
            capped: 0,
            duration_ms: millis(duration),
            lines_sent: 0,
            lines_per_sec: 0.0,
            error: None,
            saved: false,
            notes: Vec::new(),
            inventory_groups: Vec::new(),
        }
    }
}

/// The whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RunReport {
    /// The schema version; a reader refuses versions it does not know.
    // Always SCHEMA_VERSION.
    #[schemars(extend("const" = SCHEMA_VERSION))]
    pub version: u32,
    pub command: Command,
    /// RFC 3339, UTC, millisecond precision.
    #[serde(with = "rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"), regex(pattern = schema_rules::RFC3339_UTC))]
    pub started_at: SystemTime,
    /// Wall time of the whole run.
    pub duration_ms: u64,
    /// The sha256 of the list snapshot's content: shard reports merge only
    /// when it is the same. `null` for `check` and `remove`, which use no
    /// lists.
    // Snapshot::sha256 (src/lists/snapshot.rs).
    #[schemars(regex(pattern = schema_rules::SHA256))]
    pub snapshot_sha256: Option<String>,
    /// `--shard index/count` (1-based), or `null` for a whole-fleet run.
    pub shard: Option<Shard>,
    /// The devices selected for this run (those `--limit` or `--shard` left
    /// out are absent), in the order the runner produced them.
    // Renderers sort them (see `sorted`).
    pub devices: Vec<DeviceReport>,
}

impl RunReport {
    pub fn new(
        command: Command,
        started_at: SystemTime,
        duration: Duration,
        snapshot_sha256: Option<String>,
        shard: Option<Shard>,
        devices: Vec<DeviceReport>,
    ) -> Self {
        RunReport {
            version: SCHEMA_VERSION,
            command,
            // The JSON keeps milliseconds; truncating here makes a report
            // equal to itself after a round trip through the file.
            started_at: truncate_to_millis(started_at),
            duration_ms: millis(duration),
            snapshot_sha256,
            shard,
            devices,
        }
    }

    pub fn summary(&self) -> Summary {
        Summary::of(&self.devices)
    }

    /// Every distinct change set the devices refer to, by digest.
    pub fn change_sets(&self) -> BTreeMap<&str, &ChangeSet> {
        self.devices
            .iter()
            .flat_map(|d| &d.groups)
            .filter_map(|g| g.lines.as_deref())
            .map(|c| (c.digest(), c))
            .collect()
    }

    /// The devices in display order (see [`sorted`]).
    pub fn sorted_devices(&self) -> Vec<&DeviceReport> {
        sorted(&self.devices)
    }
}

/// Display order of the table and JUnit: failed first, then changed, then ok,
/// then skipped; by name within each status.
pub fn sorted(devices: &[DeviceReport]) -> Vec<&DeviceReport> {
    let mut out: Vec<&DeviceReport> = devices.iter().collect();
    out.sort_by(|a, b| {
        (a.status.rank(), &a.name, &a.host).cmp(&(b.status.rank(), &b.name, &b.host))
    });
    out
}

/// Counts and totals over a run's devices.
// Always computed, never stored in RunReport, so it cannot disagree with the
// devices; the JSON file carries a copy for `jq` users.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Summary {
    pub devices: u64,
    pub ok: u64,
    pub changed: u64,
    pub failed: u64,
    pub skipped: u64,
    pub added: u64,
    pub removed: u64,
    pub kept: u64,
    pub capped: u64,
    pub lines_sent: u64,
    /// Failed devices per error class (only classes that occurred).
    pub failures_by_class: BTreeMap<ErrorClass, u64>,
}

impl Summary {
    pub fn of(devices: &[DeviceReport]) -> Self {
        let mut s = Summary::default();
        for d in devices {
            s.devices += 1;
            match d.status {
                Status::Ok => s.ok += 1,
                Status::Changed => s.changed += 1,
                Status::Failed => s.failed += 1,
                Status::Skipped => s.skipped += 1,
            }
            s.added += d.added;
            s.removed += d.removed;
            s.kept += d.kept;
            s.capped += d.capped;
            s.lines_sent += d.lines_sent;
            if let Some(e) = &d.error {
                *s.failures_by_class.entry(e.class).or_default() += 1;
            }
        }
        s
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn rate(lines: u64, duration: Duration) -> f64 {
    let secs = duration.as_secs_f64();
    if lines == 0 || secs <= 0.0 {
        return 0.0;
    }
    // One decimal is all a reader needs, and it keeps the JSON stable.
    (lines as f64 / secs * 10.0).round() / 10.0
}

fn truncate_to_millis(t: SystemTime) -> SystemTime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + Duration::from_millis(millis(d)),
        Err(_) => t,
    }
}

/// Write a report whole, to a file (see [`crate::files::write_atomic`]) or stdout.
fn write_output(output: &crate::files::Output, bytes: &[u8]) -> Result<(), ReportError> {
    output.write(bytes).map_err(|source| ReportError::Write {
        path: output.to_string().into(),
        source,
    })
}

/// `started_at` as RFC 3339 (`2026-03-01T12:00:00.123Z`).
mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use std::time::SystemTime;

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_millis(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_rfc3339(&text).map_err(|e| D::Error::custom(format!("{text:?}: {e}")))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::device::sync::GroupOutcome;

    pub(crate) fn outcome(block: (usize, usize, usize), saved: bool) -> SyncOutcome {
        SyncOutcome {
            hostname: "R".into(),
            groups: vec![
                GroupOutcome {
                    name: "threatstop-allow".into(),
                    kept: 2,
                    ..Default::default()
                },
                GroupOutcome {
                    name: "threatstop-block".into(),
                    change_set: change_set(block.0, block.1),
                    added: block.0,
                    removed: block.1,
                    kept: block.2,
                    unmanaged: vec!["range 192.0.2.1 192.0.2.9".into()],
                    ..Default::default()
                },
            ],
            saved,
        }
    }

    /// A block-group change of `add` and `remove` host entries (`None`
    /// without either), the same value for the same counts.
    pub(crate) fn change_set(add: usize, remove: usize) -> Option<Arc<ChangeSet>> {
        let hosts = |n: usize, base: u32| {
            (0..n as u32)
                .map(|i| format!("host {}", std::net::Ipv4Addr::from(base + i)))
                .collect()
        };
        (add + remove > 0).then(|| {
            Arc::new(ChangeSet::new(
                "threatstop-block",
                crate::domain::Family::Ipv4,
                hosts(add, 0xC633_6400),
                hosts(remove, 0x0A00_0000),
            ))
        })
    }

    fn auth_error(device: &str) -> DeviceError {
        DeviceError::Auth {
            device: device.into(),
            user: "tsfleet".into(),
            methods: "publickey,password".into(),
        }
    }

    fn timeout_error(device: &str) -> DeviceError {
        DeviceError::Timeout {
            device: device.into(),
            doing: "reading threatstop-block".into(),
            after: Duration::from_secs(30),
        }
    }

    /// A small fleet with every status, as the fleet runner would build it.
    pub(crate) fn sample(command: Command) -> RunReport {
        let apply = command == Command::Apply;
        let devices = vec![
            DeviceReport::from_outcome(
                "edge-03",
                "10.0.0.3",
                &outcome((0, 0, 5000), false),
                &[],
                Duration::from_millis(800),
                0,
            ),
            DeviceReport::from_outcome(
                "edge-01",
                "10.0.0.1",
                &outcome((50, 7, 4950), apply),
                &[0, 12],
                Duration::from_millis(2500),
                if apply { 70 } else { 13 },
            ),
            DeviceReport::failed(
                "edge-02",
                "10.0.0.2",
                &auth_error("edge-02"),
                Duration::from_millis(1200),
            ),
            DeviceReport::skipped(
                "edge-05",
                "10.0.0.5",
                StopReason::CanaryFailed {
                    failed: 1,
                    canary: 2,
                },
            ),
            DeviceReport::failed(
                "core-01",
                "10.0.1.1",
                &timeout_error("core-01"),
                Duration::from_secs(30),
            ),
        ];
        RunReport::new(
            command,
            UNIX_EPOCH + Duration::from_millis(1_772_366_400_123),
            Duration::from_millis(31_400),
            Some("a".repeat(64)),
            Some(Shard { index: 1, count: 2 }),
            devices,
        )
    }

    /// A run of these devices (now, one second, a snapshot, no shard).
    pub(crate) fn run(command: Command, devices: Vec<DeviceReport>) -> RunReport {
        RunReport::new(
            command,
            SystemTime::now(),
            Duration::from_secs(1),
            Some("0".repeat(64)),
            None,
            devices,
        )
    }

    fn ok(name: &str) -> DeviceReport {
        DeviceReport::from_outcome(
            name,
            "h",
            &outcome((0, 0, 10), false),
            &[],
            Duration::ZERO,
            0,
        )
    }

    fn changed(name: &str) -> DeviceReport {
        DeviceReport::from_outcome(
            name,
            "h",
            &outcome((1, 0, 10), true),
            &[],
            Duration::from_secs(1),
            1,
        )
    }

    #[test]
    fn from_outcome_totals_the_groups() {
        let d = DeviceReport::from_outcome(
            "R1",
            "192.0.2.1",
            &outcome((50, 7, 4950), true),
            &[1, 2],
            Duration::from_millis(2000),
            57,
        );
        assert_eq!(d.status, Status::Changed);
        assert_eq!((d.added, d.removed, d.kept, d.capped), (50, 7, 4952, 3));
        assert_eq!(d.groups[1].unmanaged, 1);
        assert_eq!(
            (d.groups[0].capped, d.groups[1].capped),
            (1, 2),
            "per group"
        );
        assert_eq!(d.duration_ms, 2000);
        assert_eq!(d.lines_per_sec, 28.5);
        assert!(d.saved && d.error.is_none() && d.reason.is_none());
        assert_eq!(ok("R2").status, Status::Ok);
        assert_eq!(
            ok("R2").lines_per_sec,
            0.0,
            "no division by a zero duration"
        );
    }

    #[test]
    fn failed_keeps_the_class_and_drops_the_device_prefix() {
        let d = DeviceReport::failed("R1", "h", &auth_error("R1"), Duration::from_secs(2));
        assert_eq!(d.status, Status::Failed);
        let e = d.error.unwrap();
        assert_eq!(e.class, ErrorClass::Auth);
        assert_eq!(
            e.message,
            "authentication failed for user \"tsfleet\" (publickey,password)"
        );
    }

    #[test]
    fn every_error_class_has_a_device_error() {
        let device = || "R1".to_string();
        let errors = [
            DeviceError::Connect {
                device: device(),
                addr: "a".into(),
                reason: "r".into(),
                transient: true,
            },
            DeviceError::HostKey {
                device: device(),
                addr: "a".into(),
                problem: "p".into(),
            },
            auth_error("R1"),
            DeviceError::Enable {
                device: device(),
                reason: "r".into(),
            },
            timeout_error("R1"),
            DeviceError::Flood {
                device: device(),
                doing: "show object-group name G".into(),
                received: 2,
                elapsed: Duration::from_millis(1500),
                past: crate::device::error::FloodPast::Bytes(1),
            },
            DeviceError::Command {
                device: device(),
                command: "c".into(),
                message: "m".into(),
            },
            DeviceError::Verify {
                device: device(),
                group: "g".into(),
                rounds: 3,
                missing: 1,
                extra: 0,
            },
            DeviceError::GroupFull {
                device: device(),
                group: "g".into(),
                limit: 4000,
                reported: "% full".into(),
                accepted: 1000,
                adds: 3000,
            },
            DeviceError::Refused {
                device: device(),
                group: "g".into(),
                reason: "r".into(),
            },
            DeviceError::Interrupted {
                device: device(),
                pushed: 1,
                total: 2,
            },
            DeviceError::Abandoned {
                device: device(),
                grace: Duration::from_secs(1),
            },
            DeviceError::Unsupported {
                device: device(),
                reason: "r".into(),
            },
            DeviceError::Protocol {
                device: device(),
                reason: "r".into(),
            },
            DeviceError::Drift {
                device: device(),
                group: "g".into(),
                planned: "sha256:1".into(),
                found: "sha256:2".into(),
            },
        ];
        let classes: std::collections::BTreeSet<ErrorClass> =
            errors.iter().map(DeviceError::class).collect();
        assert_eq!(classes.into_iter().collect::<Vec<_>>(), ErrorClass::ALL);
        for e in &errors {
            let report = DeviceReport::failed("R1", "h", e, Duration::ZERO);
            assert!(report.groups.is_empty() && !report.saved);
            let message = report.error.unwrap().message;
            assert!(!message.starts_with("R1"), "{message}");
            assert_eq!(format!("R1: {message}"), e.to_string());
        }
    }

    #[test]
    fn a_failed_device_reports_what_reached_it() {
        let error = DeviceError::Partial {
            error: Box::new(timeout_error("R1")),
            reached: Box::new(outcome((1000, 0, 3000), true)),
        };
        let d = DeviceReport::failed("R1", "h", &error, Duration::ZERO);
        assert_eq!(d.status, Status::Failed);
        assert_eq!((d.added, d.removed, d.kept), (1000, 0, 3002));
        assert!(d.saved);
        let e = d.error.unwrap();
        assert_eq!(e.class, ErrorClass::Timeout);
        assert!(
            e.message.ends_with(
                "; in the running configuration: threatstop-allow +0 -0, threatstop-block +1000 -0; saved"
            ),
            "{}",
            e.message
        );
    }

    #[test]
    fn skipped_carries_the_stop_reason() {
        let d = DeviceReport::skipped("R9", "h", StopReason::AuthBreaker { failures: 3 });
        assert_eq!(d.status, Status::Skipped);
        assert_eq!(
            d.reason,
            Some(StopReason::AuthBreaker { failures: 3 }.to_string())
        );
        assert_eq!(
            DeviceReport::skipped("R9", "h", "maintenance window closed")
                .reason
                .as_deref(),
            Some("maintenance window closed")
        );
    }

    #[test]
    fn exit_codes() {
        use crate::error::{EXIT_CHANGES, EXIT_DEVICE_FAILED, EXIT_OK, Outcome, exit_code};
        use Command::*;
        let code = |r: RunReport, detailed| exit_code(&Ok(Outcome::of_report(&r, detailed)));
        for detailed in [false, true] {
            assert_eq!(code(run(Plan, vec![]), detailed), EXIT_OK);
            assert_eq!(code(run(Plan, vec![ok("a")]), detailed), EXIT_OK);
            assert_eq!(
                code(run(Apply, vec![ok("a"), changed("b")]), detailed),
                EXIT_OK,
                "apply applied its changes: success"
            );
            for command in Command::ALL {
                let failed = DeviceReport::failed("c", "h", &auth_error("c"), Duration::ZERO);
                assert_eq!(
                    code(run(command, vec![changed("b"), failed]), detailed),
                    EXIT_DEVICE_FAILED
                );
                let skipped = DeviceReport::skipped("d", "h", StopReason::Interrupted);
                assert_eq!(
                    code(run(command, vec![ok("a"), skipped]), detailed),
                    EXIT_DEVICE_FAILED,
                    "a stopped run is not a success"
                );
            }
        }
        assert_eq!(code(run(Plan, vec![changed("b")]), false), EXIT_OK);
        assert_eq!(code(run(Plan, vec![changed("b")]), true), EXIT_CHANGES);
        assert_eq!(code(run(Check, vec![changed("b")]), true), EXIT_CHANGES);
        assert_eq!(code(run(Remove, vec![changed("b")]), true), EXIT_OK);
    }

    #[test]
    fn sorting_failed_then_changed_then_ok_then_skipped_by_name() {
        let report = sample(Command::Apply);
        let names: Vec<&str> = report
            .sorted_devices()
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["core-01", "edge-02", "edge-01", "edge-03", "edge-05"]
        );
    }

    #[test]
    fn summary_counts_and_totals() {
        let s = sample(Command::Apply).summary();
        assert_eq!(
            (s.devices, s.ok, s.changed, s.failed, s.skipped),
            (5, 1, 1, 2, 1)
        );
        assert_eq!((s.added, s.removed, s.kept, s.capped), (50, 7, 9954, 12));
        assert_eq!(s.lines_sent, 70);
        assert_eq!(
            s.failures_by_class.into_iter().collect::<Vec<_>>(),
            [(ErrorClass::Auth, 1), (ErrorClass::Timeout, 1)]
        );
    }

    #[test]
    fn started_at_is_rfc3339_and_survives_a_round_trip() {
        let report = sample(Command::Plan);
        let value = serde_json::to_value(&report).unwrap();
        assert_eq!(value["started_at"], "2026-03-01T12:00:00.123Z");
        let now = run(Command::Plan, vec![]);
        let back: RunReport = serde_json::from_str(&serde_json::to_string(&now).unwrap()).unwrap();
        assert_eq!(back, now);
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::files::Output::File(dir.path().join("r.json"));
        write_output(&path, b"old").unwrap();
        write_output(&path, b"new").unwrap();
        assert_eq!(std::fs::read(dir.path().join("r.json")).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        let missing = crate::files::Output::File(dir.path().join("no/such/dir/r.json"));
        let err = write_output(&missing, b"x").unwrap_err();
        assert!(err.to_string().contains("no/such/dir/r.json"), "{err}");
    }
}
