//! The human rendering of a run: one aligned row per device, then one summary
//! line. It is read in terminals and in CI logs alike, so it is ASCII only
//! (`-7`, not `−7`; no box drawing) and colours only the status, only when
//! asked to (the caller passes `color: true` when stdout is a terminal).
//!
//! Rows come in [`sorted`](super::sorted) order: failed, changed, ok, skipped,
//! by name within each. Each command shows only the columns that mean
//! something for it (see [`columns`]). The text columns, ERROR and NOTES
//! (findings that are not failures, so a healthy device never shows under
//! ERROR), come last and are the only ones shortened, so the numbers stay
//! aligned whatever the messages say; the JSON report keeps every message whole.

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

/// A column of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Device,
    Status,
    Added,
    Removed,
    Kept,
    Capped,
    Time,
    LinesPerSec,
    /// A failed device's class and message, or why a device was skipped.
    Error,
    /// Findings that are not failures (`check`'s, a protected prefix).
    Notes,
}

impl Column {
    fn header(self) -> &'static str {
        match self {
            Column::Device => "DEVICE",
            Column::Status => "STATUS",
            Column::Added => "ADDED",
            Column::Removed => "REMOVED",
            Column::Kept => "KEPT",
            Column::Capped => "CAPPED",
            Column::Time => "TIME",
            Column::LinesPerSec => "LINES/S",
            Column::Error => "ERROR",
            Column::Notes => "NOTES",
        }
    }

    /// Numbers are right-aligned.
    fn right(self) -> bool {
        matches!(
            self,
            Column::Added
                | Column::Removed
                | Column::Kept
                | Column::Capped
                | Column::Time
                | Column::LinesPerSec
        )
    }

    /// Free text: shortened to the terminal, never a width of its own.
    fn text(self) -> bool {
        matches!(self, Column::Error | Column::Notes)
    }
}

/// Every column, in table order.
const ALL: [Column; 10] = [
    Column::Device,
    Column::Status,
    Column::Added,
    Column::Removed,
    Column::Kept,
    Column::Capped,
    Column::Time,
    Column::LinesPerSec,
    Column::Error,
    Column::Notes,
];

/// The columns that mean something for `command`, NOTES only when a device
/// has one. `check` compares no list and pushes nothing (no counts, no
/// LINES/S); `plan` pushes nothing (no LINES/S); `remove` only deletes
/// groups (REMOVED, the entries they held) with a command per group, so a
/// line rate says nothing there either.
fn columns(command: Command, devices: &[&DeviceReport]) -> Vec<Column> {
    let notes = devices.iter().any(|d| !d.notes.is_empty());
    let means_something = |c: Column| match c {
        Column::Device | Column::Status | Column::Time | Column::Error => true,
        Column::Notes => notes,
        Column::Removed => command != Command::Check,
        Column::Added | Column::Kept | Column::Capped => {
            matches!(command, Command::Plan | Command::Apply)
        }
        Column::LinesPerSec => command == Command::Apply,
    };
    ALL.into_iter().filter(|&c| means_something(c)).collect()
}

const GAP: &str = "  ";
/// A text column is never shortened below this, even on a narrow terminal.
const MIN_ERROR_WIDTH: usize = 24;
const ELLIPSIS: &str = "...";

/// The table and the summary line, each line ending in `\n`.
pub fn render(report: &RunReport, options: TableOptions) -> String {
    let devices = report.sorted_devices();
    let columns = columns(report.command, &devices);
    let rows: Vec<Vec<String>> = devices
        .iter()
        .map(|d| columns.iter().map(|&c| cell(d, c)).collect())
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| c.header().len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    if let Some(total) = options.width {
        fit(&columns, &mut widths, total);
    }

    let mut out = String::new();
    let headers: Vec<String> = columns.iter().map(|c| c.header().to_string()).collect();
    line(&mut out, &columns, &headers, &widths, None);
    for (row, device) in rows.iter().zip(&devices) {
        let color = options.color.then(|| ansi(device.status));
        line(&mut out, &columns, row, &widths, color);
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

/// Shorten the text columns so that rows fit `total` columns: ERROR keeps
/// what it needs up to half of the room when NOTES follows it, and each
/// keeps [`MIN_ERROR_WIDTH`] whatever the terminal.
fn fit(columns: &[Column], widths: &mut [usize], total: usize) {
    let fixed: usize = columns
        .iter()
        .zip(widths.iter())
        .filter(|(c, _)| !c.text())
        .map(|(_, w)| w + GAP.len())
        .sum();
    let mut room = total.saturating_sub(fixed);
    let text: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].text()).collect();
    if let [first, _, ..] = text[..] {
        let half = (room.saturating_sub(GAP.len()) / 2).max(MIN_ERROR_WIDTH);
        widths[first] = widths[first].min(half);
        room = room.saturating_sub(widths[first] + GAP.len());
    }
    if let Some(&last) = text.last() {
        widths[last] = room.max(MIN_ERROR_WIDTH);
    }
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
        let _ = write!(out, " ({})", classes_by_count(&s));
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

fn cell(d: &DeviceReport, column: Column) -> String {
    // A skipped device, or a failed one that reached no group, has no diff
    // to show: "-" rather than zeros, which would read as "an empty group".
    // A failed device that did shows what reached its running configuration.
    let synced = matches!(d.status, Status::Ok | Status::Changed) || !d.groups.is_empty();
    let count = |n: u64, sign: &str| match (synced, n) {
        (false, _) => "-".to_string(),
        (true, 0) => "0".to_string(),
        (true, n) => format!("{sign}{n}"),
    };
    // Messages and notes quote the device: its control characters must
    // not reach the operator's terminal (the JSON report keeps them).
    let text = |t: &str| escape_controls(&one_line(t)).into_owned();
    match column {
        Column::Device => d.name.clone(),
        Column::Status => d.status.to_string(),
        Column::Added => count(d.added, "+"),
        Column::Removed => count(d.removed, "-"),
        Column::Kept => count(d.kept, ""),
        Column::Capped => count(d.capped, ""),
        Column::Time => {
            if d.status == Status::Skipped {
                "-".into()
            } else {
                seconds(d.duration_ms)
            }
        }
        Column::LinesPerSec => {
            if d.lines_sent == 0 {
                "-".into()
            } else {
                format!("{:.0}", d.lines_per_sec)
            }
        }
        Column::Error => match (&d.error, &d.reason) {
            (Some(e), _) => text(&format!("{}: {}", e.class, e.message)),
            (None, Some(reason)) => text(reason),
            (None, None) => String::new(),
        },
        Column::Notes => text(&d.notes.join("; ")),
    }
}

/// One row: every column padded to its width but the last, text columns
/// shortened to theirs.
fn line(
    out: &mut String,
    columns: &[Column],
    cells: &[String],
    widths: &[usize],
    color: Option<&str>,
) {
    let start = out.len();
    for (i, (column, cell)) in columns.iter().zip(cells).enumerate() {
        let cell = if column.text() {
            shorten(cell, widths[i])
        } else {
            cell.clone()
        };
        let last = i + 1 == columns.len();
        let pad = if last {
            String::new()
        } else {
            " ".repeat(widths[i].saturating_sub(width(&cell)))
        };
        let text = match (column, color) {
            (Column::Status, Some(code)) => format!("\x1b[{code}m{cell}\x1b[0m"),
            _ => cell,
        };
        if column.right() {
            out.push_str(&pad);
            out.push_str(&text);
        } else {
            out.push_str(&text);
            out.push_str(&pad);
        }
        if !last {
            out.push_str(GAP);
        }
    }
    // No trailing blanks on rows without an error or a note.
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

/// The failures per error class, the commonest cause first, as the table's
/// summary line, the Markdown summary and the page have it: `auth 3, timeout 1`.
pub(super) fn classes_by_count(s: &Summary) -> String {
    let mut by_count: Vec<_> = s.failures_by_class.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let classes: Vec<String> = by_count.iter().map(|(c, n)| format!("{c} {n}")).collect();
    classes.join(", ")
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

    /// `check`'s report: a healthy device with a note, failed and skipped ones.
    fn checked() -> RunReport {
        let mut report = sample(Command::Check);
        let note = "group threatstop-block is not used by any ACL, so it blocks nothing (`tsfleet acl` prints the lines)";
        report.devices = vec![
            DeviceReport::checked("edge-01", "10.0.0.1", vec![note.into()], ms(900), 6),
            report.devices[2].clone(),
            report.devices[3].clone(),
            DeviceReport::checked("edge-03", "10.0.0.3", Vec::new(), ms(700), 6),
        ];
        report
    }

    fn ms(n: u64) -> std::time::Duration {
        std::time::Duration::from_millis(n)
    }

    #[test]
    fn plan_has_no_line_rate() {
        let table = render(&sample(Command::Plan), TableOptions::default());
        let header = table.lines().next().unwrap();
        assert_eq!(
            header,
            "DEVICE   STATUS   ADDED  REMOVED  KEPT  CAPPED   TIME  ERROR"
        );
        assert!(
            table.contains("\nedge-01  changed    +50       -7  4952      12   2.5s\n"),
            "{table}"
        );
    }

    #[test]
    fn check_shows_notes_apart_from_errors_and_no_counts() {
        let table = render(&checked(), TableOptions::default());
        let expected = "\
DEVICE   STATUS   TIME  ERROR                                                                NOTES
edge-02  failed   1.2s  auth: authentication failed for user \"tsfleet\" (publickey,password)
edge-01  ok       0.9s                                                                       group threatstop-block is not used by any ACL, so it blocks nothing (`tsfleet acl` prints the lines)
edge-03  ok       0.7s
edge-05  skipped     -  not started: 1 of the 2 canary devices failed
4 devices: 2 ok, 0 changed, 1 failed (auth 1), 1 skipped; +0 -0 pending in 31.4s (shard 1/2)
";
        assert_eq!(table, expected, "\n{table}");
        // No note at all: no NOTES column.
        let mut quiet = checked();
        quiet.devices[0].notes.clear();
        let header = render(&quiet, TableOptions::default());
        assert_eq!(header.lines().next(), Some("DEVICE   STATUS   TIME  ERROR"));
    }

    #[test]
    fn errors_and_notes_share_an_80_column_terminal() {
        let table = render(
            &checked(),
            TableOptions {
                color: false,
                width: Some(80),
            },
        );
        let lines: Vec<&str> = table.lines().collect();
        for row in &lines[..5] {
            assert!(row.chars().count() <= 80, "{row:?}\n{table}");
        }
        let notes_at = lines[0].find("NOTES").unwrap();
        assert_eq!(
            lines[2].find("group threatstop-block"),
            Some(notes_at),
            "{table}"
        );
        assert!(
            lines[1].contains("auth: authentication") && lines[1].ends_with("..."),
            "{table}"
        );
        assert!(lines[2].ends_with("..."), "{table}");
    }

    #[test]
    fn remove_shows_the_entries_removed() {
        let mut report = sample(Command::Remove);
        report.devices = vec![
            DeviceReport::removed(
                "edge-01",
                "10.0.0.1",
                &[("threatstop-block".into(), crate::domain::Family::Ipv4, 4952)],
                true,
                ms(1500),
                4,
            ),
            DeviceReport::removed("edge-03", "10.0.0.3", &[], true, ms(600), 3),
        ];
        let table = render(&report, TableOptions::default());
        let expected = "\
DEVICE   STATUS   REMOVED  TIME  ERROR
edge-01  changed    -4952  1.5s
edge-03  ok             0  0.6s
";
        assert!(table.starts_with(expected), "\n{table}");
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
        // Notes quote the device too (`show version`, ACL lines).
        let mut report = checked();
        report.devices[0].notes = vec!["IOS \x1b]0;owned\x07 12.4".into()];
        let table = render(&report, TableOptions::default());
        assert!(!table.contains('\x1b'), "{table:?}");
        assert!(table.contains("IOS \\x1b]0;owned\\x07 12.4\n"), "{table:?}");
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
