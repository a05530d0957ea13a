//! The saved plan (`plan --out PLAN.json`, `apply --plan PLAN.json`): what
//! one `plan` found, pinned so that a later `apply` does exactly that or
//! nothing. It holds the inventory's content digest, the lists' snapshot
//! itself (so the apply queries no DNS and reads no other file), and per
//! device what each group held when read (a digest of its entries, see
//! `crate::device::ios::entries_digest`) and the change set, each set once
//! as the JSON report does. Its own `digest` covers everything else, so an
//! edited plan is refused. It holds no secret: names, addresses and lines.
//!
//! Sits beside the report in the data flow: built from a run's report by
//! `crate::commands::run`, read back there and turned into the device
//! requests by `crate::runner`.

use crate::domain::sha256_digest;
use crate::files::Output;
use crate::lists::Snapshot;
use crate::plan::ChangeSet;
use crate::report::{DeviceReport, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The `format_version` written and read.
pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    pub format_version: u32,
    /// When the plan was made, RFC 3339 UTC.
    pub created_at: String,
    pub inventory: InventoryPin,
    /// The lists the plan used.
    pub snapshot: Snapshot,
    /// The devices planned, in inventory order.
    pub devices: Vec<PlannedDevice>,
    /// Each change set once, by its digest.
    pub change_sets: BTreeMap<String, ChangeSet>,
    /// `sha256:` over the canonical JSON of everything above ([`SavedPlan::compute_digest`]).
    pub digest: String,
}

/// The inventory a plan was made for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryPin {
    /// For people; the digest is what is compared.
    pub path: String,
    /// `sha256:` over the inventory file's bytes.
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedDevice {
    pub name: String,
    /// `host:port` tsfleet connected to.
    pub address: String,
    /// `planned`, or `failed` (the plan could not read it: apply skips it).
    pub status: PlannedStatus,
    /// Why a `failed` device failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub groups: Vec<PlannedGroupEntry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlannedStatus {
    Planned,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedGroupEntry {
    pub name: String,
    /// Which `object-group` it is. Written only for `ipv6`, so an IPv4
    /// group is written as before IPv6 groups existed: the digest of a
    /// plan made by an older tsfleet still matches (absent: `ipv4`).
    #[serde(default, skip_serializing_if = "crate::domain::Family::is_ipv4")]
    pub family: crate::domain::Family,
    /// The digest of the managed entries the plan read.
    pub observed: String,
    /// The key of its change in `change_sets`; `null` when nothing changes.
    pub change_set: Option<String>,
}

/// A saved plan that cannot be used; found before any device is contacted.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// Not readable, of another format version, or not a plan.
    #[error("the plan {path} {source}: make it again with `tsfleet plan --out`")]
    File {
        path: PathBuf,
        #[source]
        source: crate::files::ReadVersioned,
    },
    #[error("cannot write the plan {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the plan {path} was changed after it was made (its digest {recorded} does not match its content, {computed}): run `tsfleet plan --out` again"
    )]
    Digest {
        path: PathBuf,
        recorded: String,
        computed: String,
    },
    #[error(
        "the plan {path} was made for other inventory content ({planned}, {planned_path} then) than {inventory} holds now ({found}): re-run `tsfleet plan -i {inventory} --out {path}`"
    )]
    Inventory {
        path: PathBuf,
        planned_path: String,
        planned: String,
        inventory: PathBuf,
        found: String,
    },
    /// Older than `--max-plan-age`, or of an unknown age.
    #[error(
        "the plan {path} {source}: run `tsfleet plan --out` again, or pass a longer --max-plan-age (0 = no limit)"
    )]
    Age {
        path: PathBuf,
        #[source]
        source: crate::domain::AgeError,
    },
}

impl SavedPlan {
    /// The plan of a run: `devices` are the run's device reports, each
    /// with the `host:port` it was reached at.
    pub fn new<'a>(
        inventory: InventoryPin,
        snapshot: Snapshot,
        devices: impl IntoIterator<Item = (&'a DeviceReport, String)>,
        now: SystemTime,
    ) -> SavedPlan {
        let mut change_sets = BTreeMap::new();
        let devices = devices
            .into_iter()
            .map(|(d, address)| {
                let planned = matches!(d.status, Status::Ok | Status::Changed);
                let groups = d
                    .groups
                    .iter()
                    .filter(|_| planned)
                    .map(|g| {
                        if let Some(set) = &g.lines {
                            change_sets
                                .entry(set.digest().to_string())
                                .or_insert_with(|| ChangeSet::clone(set));
                        }
                        PlannedGroupEntry {
                            name: g.name.clone(),
                            family: g.family,
                            observed: g.observed.clone().unwrap_or_default(),
                            change_set: g.change_set.clone(),
                        }
                    })
                    .collect();
                let error = d
                    .error
                    .as_ref()
                    .map(|e| format!("{}: {}", e.class, e.message))
                    .or_else(|| d.reason.clone());
                PlannedDevice {
                    name: d.name.clone(),
                    address,
                    status: if planned {
                        PlannedStatus::Planned
                    } else {
                        PlannedStatus::Failed
                    },
                    error: if planned { None } else { error },
                    groups,
                }
            })
            .collect();
        let mut plan = SavedPlan {
            format_version: PLAN_FORMAT_VERSION,
            created_at: humantime::format_rfc3339_seconds(now).to_string(),
            inventory,
            snapshot,
            devices,
            change_sets,
            digest: String::new(),
        };
        plan.digest = plan.compute_digest();
        plan
    }

    /// `sha256:` over the canonical JSON of the plan without its `digest`
    /// (compact, fields in declaration order, maps sorted).
    pub fn compute_digest(&self) -> String {
        let mut unsigned = self.clone();
        unsigned.digest = String::new();
        // Plain structs, vectors and string-keyed maps: infallible.
        let json = serde_json::to_vec(&unsigned).unwrap_or_default();
        sha256_digest([&b"tsfleet-plan-v1\n"[..], &json])
    }

    /// Write the plan (mode 0600, atomically) or to stdout.
    pub fn write(&self, output: &Output) -> Result<(), SavedPlanError> {
        let err = |source| SavedPlanError::Write {
            path: output.to_string(),
            source,
        };
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| err(e.into()))?;
        json.push(b'\n');
        output.write_mode(&json, 0o600).map_err(err)
    }

    /// Read a plan, refusing another format version or a content that does
    /// not match its digest.
    pub fn read(path: &Path) -> Result<SavedPlan, SavedPlanError> {
        let plan: SavedPlan = crate::files::read_versioned(path, PLAN_FORMAT_VERSION.into())
            .map_err(|source| SavedPlanError::File {
                path: path.to_path_buf(),
                source,
            })?;
        let computed = plan.compute_digest();
        if computed != plan.digest {
            return Err(SavedPlanError::Digest {
                path: path.to_path_buf(),
                recorded: plan.digest,
                computed,
            });
        }
        Ok(plan)
    }

    /// Refuse a plan made for other inventory content than `inventory`
    /// holds now, or made more than `max_age` before `now` (zero: no
    /// limit). `path` is the plan's file.
    pub fn check_usable(
        &self,
        path: &Path,
        inventory: &InventoryPin,
        max_age: Duration,
        now: SystemTime,
    ) -> Result<(), SavedPlanError> {
        if inventory.sha256 != self.inventory.sha256 {
            return Err(SavedPlanError::Inventory {
                path: path.to_path_buf(),
                planned_path: self.inventory.path.clone(),
                planned: self.inventory.sha256.clone(),
                inventory: PathBuf::from(&inventory.path),
                found: inventory.sha256.clone(),
            });
        }
        crate::domain::age_past(&self.created_at, max_age, "--max-plan-age", now).map_err(
            |source| SavedPlanError::Age {
                path: path.to_path_buf(),
                source,
            },
        )
    }

    /// The device named `name`, if the plan has it.
    pub fn device(&self, name: &str) -> Option<&PlannedDevice> {
        self.devices.iter().find(|d| d.name == name)
    }

    /// A planned group's change set.
    pub fn change_set(&self, digest: Option<&str>) -> Option<&ChangeSet> {
        digest.and_then(|d| self.change_sets.get(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{DeviceReport, GroupReport};

    fn device(name: &str, set: Option<&ChangeSet>) -> DeviceReport {
        let mut d = DeviceReport::skipped(name, "127.0.0.1", "x");
        d.status = Status::Changed;
        d.reason = None;
        d.groups = vec![GroupReport {
            change_set: set.map(|s| s.digest().to_string()),
            lines: set.map(|s| std::sync::Arc::new(s.clone())),
            observed: Some(sha256_digest(["host 10.0.0.1\n"])),
            ..GroupReport::counts("g".into(), 1, 0, 1, 0)
        }];
        d
    }

    fn plan() -> SavedPlan {
        let set = ChangeSet::new(
            "g",
            crate::domain::Family::Ipv4,
            vec!["host 10.0.0.2".into()],
            vec![],
        );
        let (a, b) = (device("a", Some(&set)), device("b", Some(&set)));
        let pin = InventoryPin {
            path: "fleet.yaml".into(),
            sha256: sha256_digest([b"devices: []\n"]),
        };
        let snapshot = Snapshot::new(vec![], vec![]);
        let devices = [
            (&a, "127.0.0.1:22".to_string()),
            (&b, "127.0.0.1:23".into()),
        ];
        SavedPlan::new(pin, snapshot, devices, SystemTime::now())
    }

    #[test]
    fn a_plan_reads_back_whole_and_any_edit_breaks_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let plan = plan();
        assert_eq!(plan.change_sets.len(), 1, "one set for both devices");
        plan.write(&Output::File(path.clone())).unwrap();
        assert_eq!(SavedPlan::read(&path).unwrap(), plan);

        let mut edited = plan.clone();
        edited.devices[1].address = "192.0.2.1:22".into();
        std::fs::write(&path, serde_json::to_vec(&edited).unwrap()).unwrap();
        assert!(matches!(
            SavedPlan::read(&path),
            Err(SavedPlanError::Digest { .. })
        ));
        let mut other = serde_json::to_value(&plan).unwrap();
        other["format_version"] = 2.into();
        std::fs::write(&path, serde_json::to_vec(&other).unwrap()).unwrap();
        let e = SavedPlan::read(&path).unwrap_err();
        assert!(e.to_string().contains("has version 2"), "{e}");
    }

    #[test]
    fn an_ipv4_plan_is_written_as_before_ipv6_groups_and_an_ipv6_group_keeps_its_family() {
        // No `family` for IPv4: a plan an older tsfleet saved (no such key)
        // reads back to the same digest.
        let text = serde_json::to_string(&plan()).unwrap();
        assert!(!text.contains("family"), "{text}");
        let set = ChangeSet::new(
            "g6",
            crate::domain::Family::Ipv6,
            vec!["host 2001:DB8::2".into()],
            vec![],
        );
        let mut d = device("a", Some(&set));
        d.groups[0].family = crate::domain::Family::Ipv6;
        let pin = InventoryPin {
            path: "fleet.yaml".into(),
            sha256: sha256_digest([b"devices: []\n"]),
        };
        let plan = SavedPlan::new(
            pin,
            Snapshot::new(vec![], vec![]),
            [(&d, "127.0.0.1:22".to_string())],
            SystemTime::now(),
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        plan.write(&Output::File(path.clone())).unwrap();
        let back = SavedPlan::read(&path).unwrap();
        assert_eq!(
            back.devices[0].groups[0].family,
            crate::domain::Family::Ipv6
        );
        let digest = back.devices[0].groups[0].change_set.as_deref();
        assert_eq!(
            back.change_set(digest).unwrap().family(),
            crate::domain::Family::Ipv6
        );
    }

    #[test]
    fn a_plan_is_for_its_inventory_content_and_its_age() {
        let plan = plan();
        let path = Path::new("plan.json");
        let now = SystemTime::now();
        let same = plan.inventory.clone();
        let day = Duration::from_secs(86_400);
        assert!(plan.check_usable(path, &same, day, now).is_ok());
        let other = InventoryPin {
            path: "fleet.yaml".into(),
            sha256: sha256_digest([b"devices: [x]\n"]),
        };
        let e = plan.check_usable(path, &other, day, now).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(&plan.inventory.sha256) && text.contains(&other.sha256),
            "{text}"
        );
        let later = now + 2 * day;
        let e = plan.check_usable(path, &same, day, later).unwrap_err();
        assert!(e.to_string().contains("--max-plan-age 1day"), "{e}");
        assert!(
            plan.check_usable(path, &same, Duration::ZERO, later)
                .is_ok()
        );
    }
}
