//! `--junit FILE`: the run as JUnit XML, so a CI system shows one test per
//! device. One suite per run (`tsfleet apply`), one case per device (class
//! `tsfleet.apply`, named after the device): a failed device is a `failure`
//! whose type is its error class, a skipped device is `skipped` with the
//! reason, and the counts go to `system-out` (the device's, then a line per
//! object-group, IPv4 and IPv6).

use super::{DeviceReport, ReportError, RunReport, Status, table, write_output};
use crate::files::Output;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::fmt::Write as _;
use std::time::Duration;

/// Build the JUnit document (pure).
pub fn build(report: &RunReport) -> Report {
    let command = report.command.as_str();
    let mut suite = TestSuite::new(format!("tsfleet {command}"));
    suite.set_time(Duration::from_millis(report.duration_ms));
    suite.add_property(Property::new(
        "started_at",
        humantime::format_rfc3339_millis(report.started_at).to_string(),
    ));
    if let Some(sha256) = &report.snapshot_sha256 {
        suite.add_property(Property::new("snapshot_sha256", sha256.as_str()));
    }
    if let Some(shard) = report.shard {
        suite.add_property(Property::new(
            "shard",
            format!("{}/{}", shard.index, shard.count),
        ));
    }
    let classname = format!("tsfleet.{command}");
    for device in report.sorted_devices() {
        suite.add_test_case(case(device, &classname));
    }
    suite.set_system_out(table::summary_line(report) + "\n");
    let mut junit = Report::new("tsfleet");
    junit.add_test_suite(suite);
    junit
}

fn case(device: &DeviceReport, classname: &str) -> TestCase {
    let status = match device.status {
        Status::Ok | Status::Changed => TestCaseStatus::success(),
        Status::Failed => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            if let Some(error) = &device.error {
                status.set_type(error.class.as_str());
                status.set_message(error.message.as_str());
            }
            status
        }
        Status::Skipped => {
            let mut status = TestCaseStatus::skipped();
            if let Some(reason) = &device.reason {
                status.set_message(reason.as_str());
            }
            status
        }
    };
    let mut case = TestCase::new(device.name.as_str(), status);
    case.set_classname(classname);
    case.set_time(Duration::from_millis(device.duration_ms));
    let mut out = format!(
        "host {}: {}; +{} -{} kept {} capped {}; {} lines sent{}\n",
        device.host,
        device.status,
        device.added,
        device.removed,
        device.kept,
        device.capped,
        device.lines_sent,
        if device.saved { "; saved" } else { "" },
    );
    for g in &device.groups {
        let _ = writeln!(
            out,
            "{} {}: +{} -{} kept {} capped {}",
            g.family.object_group(),
            g.name,
            g.added,
            g.removed,
            g.kept,
            g.capped
        );
    }
    case.set_system_out(out);
    case
}

pub fn to_string(report: &RunReport) -> Result<String, ReportError> {
    Ok(build(report).to_string()?)
}

/// Write the JUnit XML to a file atomically (temporary file, then rename), or stdout.
pub fn write(output: &Output, report: &RunReport) -> Result<(), ReportError> {
    write_output(output, to_string(report)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Command;
    use crate::report::tests::sample;

    #[test]
    fn one_suite_one_case_per_device() {
        let junit = build(&sample(Command::Apply));
        assert_eq!(junit.test_suites.len(), 1);
        let suite = &junit.test_suites[0];
        assert_eq!(suite.name.as_str(), "tsfleet apply");
        assert_eq!((suite.tests, suite.failures, suite.errors), (5, 2, 0));
        assert_eq!(suite.skipped, 1);
        let names: Vec<&str> = suite.test_cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["core-01", "edge-02", "edge-01", "edge-03", "edge-05"]
        );
        let xml = to_string(&sample(Command::Plan)).unwrap();
        assert!(xml.contains(r#"classname="tsfleet.plan""#), "{xml}");
        assert!(xml.contains(r#"type="timeout""#), "{xml}");
        assert!(
            xml.contains(r#"<skipped message="not started: 1 of the 2 canary devices failed"/>"#),
            "{xml}"
        );
    }
}
