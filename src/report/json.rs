//! `--json FILE`: the [`RunReport`] as JSON, as `schemas/report.schema.json`
//! describes it, plus a computed `summary` for readers that only want the
//! counts (`jq .summary.failed`). Written atomically, so a CI step or a
//! `report merge` never reads half a file.

use super::{ReportError, RunReport, SCHEMA_VERSION, Summary, write_output};
use crate::files::Output;
use crate::plan::ChangeSet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// One run of `tsfleet plan`, `apply`, `check` or `remove` (`--json FILE`),
/// or shard reports merged by `tsfleet report merge`. Every field is always
/// present; absent values are `null`.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(title = "tsfleet run report", deny_unknown_fields)]
pub(super) struct Document<'a> {
    #[serde(flatten)]
    report: &'a RunReport,
    /// Computed from `devices`: a copy for readers that only want the counts.
    summary: Summary,
    /// Every distinct change set of the run, once, by its digest (`sha256:`
    /// and the sha256 of its configuration lines): each device's group
    /// refers to one by its `change_set`, so devices with the same change
    /// do not repeat its lines.
    #[schemars(with = "BTreeMap<ChangeSetDigest, ChangeSet>")]
    change_sets: BTreeMap<&'a str, &'a ChangeSet>,
}

/// A change set's key: `sha256:` and 64 lowercase hex digits.
// Only for the schema: the property names of `change_sets`.
#[derive(schemars::JsonSchema)]
#[schemars(transparent)]
#[allow(dead_code)]
struct ChangeSetDigest(#[schemars(regex(pattern = super::schema_rules::CHANGE_SET_DIGEST))] String);

#[derive(Deserialize)]
struct OwnedDocument {
    #[serde(flatten)]
    report: RunReport,
    summary: Summary,
    change_sets: BTreeMap<String, ChangeSet>,
}

/// The report as pretty-printed JSON, ending in a newline.
pub fn to_string(report: &RunReport) -> String {
    let document = Document {
        report,
        summary: report.summary(),
        change_sets: report.change_sets(),
    };
    // Plain data with string keys: serialising it cannot fail.
    let mut text = serde_json::to_string_pretty(&document).expect("a report serialises");
    text.push('\n');
    text
}

/// Parse a report file's text. The version must be [`SCHEMA_VERSION`] and
/// the `summary` must agree with the devices (it was edited otherwise).
pub fn from_str(text: &str) -> Result<RunReport, String> {
    #[derive(Deserialize)]
    struct Version {
        version: u32,
    }
    let version: Version = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if version.version != SCHEMA_VERSION {
        return Err(format!(
            "report version {} (this tsfleet reads version {SCHEMA_VERSION})",
            version.version
        ));
    }
    let mut document: OwnedDocument = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if document.summary != document.report.summary() {
        return Err("its summary does not match its devices".into());
    }
    link_change_sets(&mut document.report, document.change_sets)?;
    Ok(document.report)
}

/// Give each device group read back the change set its `change_set` names,
/// one `Arc` per digest, after checking that every set has the digest it is
/// filed under (its lines were edited otherwise) and is there.
fn link_change_sets(
    report: &mut RunReport,
    sets: BTreeMap<String, ChangeSet>,
) -> Result<(), String> {
    let mut shared = BTreeMap::new();
    for (digest, set) in sets {
        if set.digest() != digest {
            return Err(format!(
                "change set {digest} does not match its lines (they hash to {})",
                set.digest()
            ));
        }
        shared.insert(digest, Arc::new(set));
    }
    for device in &mut report.devices {
        for group in &mut device.groups {
            group.lines = match &group.change_set {
                None => None,
                Some(digest) => Some(shared.get(digest).cloned().ok_or_else(|| {
                    format!(
                        "device {} group {} refers to change set {digest}, which is not in change_sets",
                        device.name, group.name
                    )
                })?),
            };
        }
    }
    Ok(())
}

/// Write the report to a file atomically (temporary file, then rename), or stdout.
pub fn write(output: &Output, report: &RunReport) -> Result<(), ReportError> {
    write_output(output, to_string(report).as_bytes())
}

/// Read a report written by [`write`] (for `tsfleet report merge`).
pub fn read(path: &Path) -> Result<RunReport, ReportError> {
    let text = crate::files::read_text(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    from_str(&text).map_err(|reason| ReportError::Parse {
        path: path.to_path_buf(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;
    use crate::report::{Command, ErrorClass, Status};
    use serde_json::Value;

    #[test]
    fn round_trip_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        for command in Command::ALL {
            let report = sample(command);
            write(&Output::File(path.clone()), &report).unwrap();
            assert_eq!(read(&path).unwrap(), report);
        }
    }

    #[test]
    fn fields_are_named_as_the_schema_says() {
        let value: Value = serde_json::from_str(&to_string(&sample(Command::Apply))).unwrap();
        assert_eq!(value["version"], 2);
        let changed = &value["devices"][1];
        let digest = changed["groups"][1]["change_set"].as_str().unwrap();
        assert!(digest.starts_with("sha256:"), "{digest}");
        assert_eq!(changed["groups"][0]["change_set"], Value::Null);
        let set = &value["change_sets"][digest];
        assert_eq!(set["group"], "threatstop-block");
        assert_eq!(set["add"][0], "host 198.51.100.0");
        assert_eq!(set["add"].as_array().unwrap().len(), 50);
        assert_eq!(set["remove"][6], "host 10.0.0.6");
        assert_eq!(value["command"], "apply");
        assert_eq!(value["shard"], serde_json::json!({"index": 1, "count": 2}));
        assert_eq!(value["summary"]["failed"], 2);
        assert_eq!(
            value["summary"]["failures_by_class"],
            serde_json::json!({"auth": 1, "timeout": 1})
        );
        let failed = &value["devices"][2];
        assert_eq!(failed["status"], "failed");
        assert_eq!(failed["error"]["class"], "auth");
        assert_eq!(failed["reason"], Value::Null);
        let skipped = &value["devices"][3];
        assert_eq!(
            skipped["reason"],
            "not started: 1 of the 2 canary devices failed"
        );
        assert_eq!(skipped["error"], Value::Null);
    }

    /// The names written are the names the table and JUnit use (`as_str`
    /// is hand-written; serde's names follow the `rename_all` attributes).
    #[test]
    fn serialised_names_are_the_display_names() {
        let name = |v: Value| v.as_str().unwrap().to_string();
        for s in Status::ALL {
            assert_eq!(name(serde_json::to_value(s).unwrap()), s.as_str());
        }
        for c in Command::ALL {
            assert_eq!(name(serde_json::to_value(c).unwrap()), c.as_str());
        }
        for c in ErrorClass::ALL {
            assert_eq!(name(serde_json::to_value(c).unwrap()), c.as_str());
        }
    }

    /// Every field written is declared and required by the schema, and
    /// nothing more: the schema describes what is written, not what is read.
    #[test]
    fn the_schema_requires_every_field_written() {
        let schema: Value = serde_json::from_str(&crate::report::schema::generate()).unwrap();
        let defs = &schema["$defs"];
        let value: Value = serde_json::from_str(&to_string(&sample(Command::Apply))).unwrap();
        let keys = |v: &Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let required = |v: &Value| -> Vec<String> {
            let mut k: Vec<String> = v["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect();
            k.sort();
            assert_eq!(k, keys(&v["properties"]), "required = declared");
            k
        };
        assert_eq!(keys(&value), required(&schema));
        assert_eq!(keys(&value["devices"][0]), required(&defs["DeviceReport"]));
        assert_eq!(
            keys(&value["devices"][0]["groups"][0]),
            required(&defs["GroupReport"])
        );
        assert_eq!(
            keys(&value["devices"][2]["error"]),
            required(&defs["ErrorReport"])
        );
        assert_eq!(keys(&value["summary"]), required(&defs["Summary"]));
        let (_, set) = value["change_sets"]
            .as_object()
            .unwrap()
            .iter()
            .next()
            .unwrap();
        // `family` is the one optional field: written for an IPv6 set only,
        // so an IPv4 set (and a saved plan) reads as an older tsfleet wrote it.
        let change_set = &defs["ChangeSet"];
        let mut declared = keys(&change_set["properties"]);
        declared.retain(|k| k != "family");
        assert_eq!(keys(set), declared);
        assert_eq!(
            change_set["required"],
            serde_json::json!(["group", "add", "remove"])
        );
        assert_eq!(keys(&value["shard"]), required(&defs["Shard"]));
        assert_eq!(schema["properties"]["version"]["const"], SCHEMA_VERSION);
    }

    #[test]
    fn edited_or_foreign_files_are_refused() {
        let text = to_string(&sample(Command::Plan));
        let edited = text.replacen("\"failed\": 2", "\"failed\": 0", 1);
        assert_eq!(
            from_str(&edited).unwrap_err(),
            "its summary does not match its devices"
        );
        let future = text.replacen("\"version\": 2", "\"version\": 3", 1);
        assert!(from_str(&future).unwrap_err().contains("version 3"));
        let edited = text.replacen("\"host 198.51.100.0\"", "\"host 198.51.100.99\"", 1);
        assert!(
            from_str(&edited)
                .unwrap_err()
                .contains("does not match its lines"),
            "a change set's lines are covered by its digest"
        );
        let value: Value = serde_json::from_str(&text).unwrap();
        let digest = value["devices"][1]["groups"][1]["change_set"]
            .as_str()
            .unwrap();
        let other = format!("sha256:{}", "0".repeat(64));
        let missing = text.replacen(
            &format!("\"change_set\": \"{digest}\""),
            &format!("\"change_set\": \"{other}\""),
            1,
        );
        assert!(
            from_str(&missing)
                .unwrap_err()
                .contains("not in change_sets"),
            "a group's change_set must be there"
        );
        assert!(from_str("{}").is_err());
    }
}
