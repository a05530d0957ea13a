//! `--json FILE`: the [`RunReport`] as JSON, as `schemas/report.schema.json`
//! describes it, plus a computed `summary` for readers that only want the
//! counts (`jq .summary.failed`). Written atomically, so a CI step or a
//! `report merge` never reads half a file.

use super::{ReportError, RunReport, SCHEMA_VERSION, Summary, write_output};
use crate::files::Output;
use serde::{Deserialize, Serialize};
use std::path::Path;

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
}

#[derive(Deserialize)]
struct OwnedDocument {
    #[serde(flatten)]
    report: RunReport,
    summary: Summary,
}

/// The report as pretty-printed JSON, ending in a newline.
pub fn to_string(report: &RunReport) -> String {
    let document = Document {
        report,
        summary: report.summary(),
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
    let document: OwnedDocument = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if document.summary != document.report.summary() {
        return Err("its summary does not match its devices".into());
    }
    Ok(document.report)
}

/// Write the report to a file atomically (temporary file, then rename), or stdout.
pub fn write(output: &Output, report: &RunReport) -> Result<(), ReportError> {
    write_output(output, to_string(report).as_bytes())
}

/// Read a report written by [`write`] (for `tsfleet report merge`).
pub fn read(path: &Path) -> Result<RunReport, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
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
        assert_eq!(value["version"], 1);
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
        let future = text.replacen("\"version\": 1", "\"version\": 2", 1);
        assert!(from_str(&future).unwrap_err().contains("version 2"));
        assert!(from_str("{}").is_err());
    }
}
