//! The human rendering of a run: one aligned row per device, then one summary
//! line. It is read in terminals and in CI logs alike, so it is ASCII only
//! (`-7`, not `−7`; no box drawing) and colours only the status, only when
//! asked to (the caller passes `color: true` when stdout is a terminal).
//!
//! Rows come in [`sorted`](super::sorted) order: failed, changed, ok, skipped,
//! by name within each. The error column is last and the only one shortened,
//! so the numbers stay aligned whatever the messages say; the JSON report
//! keeps every message whole.

use super::{Command, DeviceReport, RunReport, Status, Summary};
use crate::domain::escape_controls;
use std::fmt::Write;

/// How to render the table.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableOptions {
    /// Colour the status column with ANSI escapes.
    pub color: bool,
    /// Shorten the error column so that rows fit this many columns
    /// (the terminal width); `None` keeps messages whole (logs, pipes).
    pub width: Option<usize>,
}

const HEADERS: [&str; 9] = [
    "DEVICE", "STATUS", "ADDED", "REMOVED", "KEPT", "CAPPED", "TIME", "LINES/S", "ERROR",
];
/// Columns right-aligned (the numbers).
const RIGHT: [bool; 9] = [false, false, true, true, true, true, true, true, false];
const GAP: &str = "  ";
/// The error column is never shortened below this, even on a narrow terminal.
const MIN_ERROR_WIDTH: usize = 24;
const ELLIPSIS: &str = "...";

/// The table and the summary line, each line ending in `\n`.
pub fn render(report: &RunReport, options: TableOptions) -> String {
    let devices = report.sorted_devices();
    let rows: Vec<[String; 9]> = devices.iter().map(|d| cells(d)).collect();
    let mut widths = HEADERS.map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(width(cell));
        }
    }
    let fixed: usize = widths[..8].iter().sum::<usize>() + GAP.len() * 8;
    let error_width = options
        .width
        .map(|total| total.saturating_sub(fixed).max(MIN_ERROR_WIDTH));

    let mut out = String::new();
    line(
        &mut out,
        &HEADERS.map(String::from),
        &widths,
        None,
        error_width,
    );
    for (row, device) in rows.iter().zip(&devices) {
        let color = options.color.then(|| ansi(device.status));
        line(&mut out, row, &widths, color, error_width);
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

/// `5 devices: 1 ok, 1 changed, 2 failed (auth 1, timeout 1), 1 skipped; +50 -7 applied in 31.4s`
///
/// "applied" for `apply` and `remove`, "pending" for the dry runs.
pub fn summary_line(report: &RunReport) -> String {
    let s: Summary = report.summary();
    let mut out = format!(
        "{} device{}: {} ok, {} changed, {} failed",
        s.devices,
        if s.devices == 1 { "" } else { "s" },
        s.ok,
        s.changed,
        s.failed
    );
    if !s.failures_by_class.is_empty() {
        // The commonest cause first: "failed (auth 12, timeout 1)".
        let mut by_count: Vec<_> = s.failures_by_class.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let classes: Vec<String> = by_count
            .iter()
            .map(|(class, n)| format!("{class} {n}"))
            .collect();
        let _ = write!(out, " ({})", classes.join(", "));
    }
    let _ = write!(
        out,
        ", {} skipped; +{} -{} {} in {}",
        s.skipped,
        s.added,
        s.removed,
        if report.command.is_dry_run() {
            "pending"
        } else {
            "applied"
        },
        seconds(report.duration_ms)
    );
    if s.capped > 0 {
        let _ = write!(out, "; {} capped", s.capped);
    }
    if let Some(shard) = report.shard {
        let _ = write!(out, " (shard {}/{})", shard.index, shard.count);
    }
    if report.command == Command::Apply && s.changed > 0 {
        let unsaved = report
            .devices
            .iter()
            .filter(|d| d.status == Status::Changed && !d.saved)
            .count();
        if unsaved > 0 {
            let _ = write!(out, "; {unsaved} changed but not saved");
        }
    }
    out
}

fn cells(d: &DeviceReport) -> [String; 9] {
    // A skipped device, or a failed one that reached no group, has no diff
    // to show: "-" rather than zeros, which would read as "an empty group".
    // A failed device that did shows what reached its running configuration.
    let synced = matches!(d.status, Status::Ok | Status::Changed) || !d.groups.is_empty();
    let count = |n: u64, sign: &str| match (synced, n) {
        (false, _) => "-".to_string(),
        (true, 0) => "0".to_string(),
        (true, n) => format!("{sign}{n}"),
    };
    let detail = match (&d.error, &d.reason) {
        (Some(e), _) => format!("{}: {}", e.class, e.message),
        (None, Some(reason)) => reason.clone(),
        (None, None) => d.notes.join("; "),
    };
    [
        d.name.clone(),
        d.status.to_string(),
        count(d.added, "+"),
        count(d.removed, "-"),
        count(d.kept, ""),
        count(d.capped, ""),
        if d.status == Status::Skipped {
            "-".into()
        } else {
            seconds(d.duration_ms)
        },
        if d.lines_sent == 0 {
            "-".into()
        } else {
            format!("{:.0}", d.lines_per_sec)
        },
        // Messages and notes quote the device: its control characters must
        // not reach the operator's terminal (the JSON report keeps them).
        escape_controls(&one_line(&detail)).into_owned(),
    ]
}

fn line(
    out: &mut String,
    cells: &[String; 9],
    widths: &[usize; 9],
    color: Option<&str>,
    error_width: Option<usize>,
) {
    let start = out.len();
    for (i, cell) in cells[..8].iter().enumerate() {
        let pad = " ".repeat(widths[i] - width(cell));
        let text = match (i, color) {
            (1, Some(code)) => format!("\x1b[{code}m{cell}\x1b[0m"),
            _ => cell.clone(),
        };
        if RIGHT[i] {
            out.push_str(&pad);
            out.push_str(&text);
        } else {
            out.push_str(&text);
            out.push_str(&pad);
        }
        out.push_str(GAP);
    }
    match error_width {
        Some(w) => out.push_str(&shorten(&cells[8], w)),
        None => out.push_str(&cells[8]),
    }
    // No trailing blanks on rows without an error.
    let trimmed = out[start..].trim_end().len();
    out.truncate(start + trimmed);
    out.push('\n');
}

fn ansi(status: Status) -> &'static str {
    match status {
        Status::Failed => "1;31",
        Status::Changed => "33",
        Status::Ok => "32",
        Status::Skipped => "35",
    }
}

/// Device output can carry newlines and tabs; a row must stay one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn shorten(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    let keep = max.saturating_sub(ELLIPSIS.len());
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(ELLIPSIS);
    out
}

fn width(text: &str) -> usize {
    text.chars().count()
}

/// `0.8s`, `31.4s`, `2m05s`.
pub(super) fn seconds(ms: u64) -> String {
    if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        let s = ms / 1000;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn table_layout() {
        let table = render(&sample(Command::Apply), TableOptions::default());
        let expected = "\
DEVICE   STATUS   ADDED  REMOVED  KEPT  CAPPED   TIME  LINES/S  ERROR
core-01  failed       -        -     -       -  30.0s        -  timeout: no answer within 30s while reading threatstop-block
edge-02  failed       -        -     -       -   1.2s        -  auth: authentication failed for user \"tsfleet\" (publickey,password)
edge-01  changed    +50       -7  4952      12   2.5s       28
edge-03  ok           0        0  5002       0   0.8s        -
edge-05  skipped      -        -     -       -      -        -  not started: 1 of the 2 canary devices failed
5 devices: 1 ok, 1 changed, 2 failed (auth 1, timeout 1), 1 skipped; +50 -7 applied in 31.4s; 12 capped (shard 1/2)
";
        assert_eq!(table, expected, "\n{table}");
    }

    #[test]
    fn plan_says_pending_and_apply_warns_about_unsaved_changes() {
        let plan = summary_line(&sample(Command::Plan));
        assert!(plan.contains("+50 -7 pending in 31.4s"), "{plan}");
        let mut apply = sample(Command::Apply);
        for d in &mut apply.devices {
            d.saved = false;
        }
        let line = summary_line(&apply);
        assert!(line.ends_with("; 1 changed but not saved"), "{line}");
    }

    #[test]
    fn errors_are_shortened_to_the_width_and_kept_on_one_line() {
        let mut report = sample(Command::Apply);
        report.devices[2].error.as_mut().unwrap().message =
            "refused:\n% Invalid input detected at '^' marker.\n".repeat(5);
        let table = render(
            &report,
            TableOptions {
                color: false,
                width: Some(100),
            },
        );
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 7, "{table}");
        for row in &lines[..6] {
            assert!(row.chars().count() <= 100, "{row:?}");
        }
        assert!(lines[2].starts_with("edge-02") && lines[2].ends_with("..."));
        // Narrower than the fixed columns: the error keeps a readable minimum.
        let narrow = render(
            &report,
            TableOptions {
                color: false,
                width: Some(40),
            },
        );
        let row = narrow.lines().nth(2).unwrap();
        assert!(row.ends_with("..."), "{row}");
        assert_eq!(
            row.split("  auth: ").nth(1).unwrap().len() + 6,
            MIN_ERROR_WIDTH
        );
    }

    #[test]
    fn device_control_characters_are_shown_escaped() {
        let mut report = sample(Command::Apply);
        report.devices[2].error.as_mut().unwrap().message =
            "% Invalid \x1b[2J\x1b]0;owned\x07 input\r\n".into();
        let table = render(&report, TableOptions::default());
        assert!(
            !table.contains('\x1b') && !table.contains('\x07'),
            "{table:?}"
        );
        assert!(
            table.contains("% Invalid \\x1b[2J\\x1b]0;owned\\x07 input\n"),
            "{table:?}"
        );
    }

    #[test]
    fn color_only_on_the_status_and_alignment_unchanged() {
        let report = sample(Command::Apply);
        let plain = render(&report, TableOptions::default());
        let colored = render(
            &report,
            TableOptions {
                color: true,
                width: None,
            },
        );
        assert!(!plain.contains('\x1b'));
        assert!(colored.contains("\x1b[1;31mfailed\x1b[0m"));
        let stripped = colored
            .replace("\x1b[1;31m", "")
            .replace("\x1b[33m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[35m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, plain);
    }

    #[test]
    fn failure_classes_commonest_first() {
        let mut report = sample(Command::Apply);
        let mut timeout = report.devices[4].clone();
        timeout.name = "core-02".into();
        report.devices.push(timeout);
        let line = summary_line(&report);
        assert!(line.contains("3 failed (timeout 2, auth 1)"), "{line}");
    }

    #[test]
    fn durations() {
        assert_eq!(seconds(0), "0.0s");
        assert_eq!(seconds(59_949), "59.9s");
        assert_eq!(seconds(125_000), "2m05s");
    }
}
