//! `--summary-md FILE`: the run as a Markdown summary for CI, to append to a
//! GitHub step summary (`$GITHUB_STEP_SUMMARY`) or post as a merge-request
//! note. A title with the command, what it ran on and the result, a counts
//! table, the failed devices, the skipped devices by reason, and each change
//! folded in `<details>`.
//!
//! Device text (error messages, skip reasons, and anything a merged report
//! file holds) is untrusted: [`md`] makes it inert, so a router cannot add
//! links, HTML, table cells or lines to the summary. Long runs stay readable
//! and far below GitHub's 1 MiB step-summary limit: every list stops at
//! [`MAX_LISTED`] and counts the rest.

use super::{DeviceReport, ReportError, RunReport, Status, Summary, table, write_output};
use crate::domain::escape_controls;
use crate::files::Output;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The most failed devices (and skip reasons, and changed devices) listed in
/// full; the rest are counted. A reader of a CI summary acts on the first
/// few dozen failures, which usually share a cause (the counts by class say
/// so), and the JSON and JUnit reports keep every device. At 50 rows of at
/// most [`MAX_CELL_CHARS`] a 1,000-device run stays well under GitHub's
/// 1 MiB step-summary limit.
pub const MAX_LISTED: usize = 50;

/// The longest device text shown in one cell (in characters, before
/// escaping); the JSON report keeps every message whole.
const MAX_CELL_CHARS: usize = 300;

/// What the summary says that the report itself does not hold.
#[derive(Clone, Copy, Debug)]
pub struct Heading<'a> {
    /// What the command ran on: the inventory's path, or the shard reports merged.
    pub source: &'a str,
    /// The exit code the report gives (`crate::error::Outcome::of_report`);
    /// the title says what it means. A report that then cannot be written
    /// makes the run exit 1 whatever this says (the summary is written by then).
    pub exit_code: u8,
}

/// Render the summary (pure).
pub fn render(report: &RunReport, heading: &Heading) -> String {
    let summary = report.summary();
    let mut out = String::new();
    title(&mut out, report, heading, &summary);
    counts(&mut out, report, &summary);
    failed_devices(&mut out, report, &summary);
    skipped_devices(&mut out, report);
    fold_changes(&mut out, report);
    out
}

/// Write the summary to a file atomically (temporary file, then rename), or stdout.
pub fn write(output: &Output, report: &RunReport, heading: &Heading) -> Result<(), ReportError> {
    write_output(output, render(report, heading).as_bytes())
}

fn title(out: &mut String, report: &RunReport, heading: &Heading, s: &Summary) {
    let command = report.command.as_str();
    let (result, meaning) = result(report, heading, s);
    let _ = writeln!(
        out,
        "## tsfleet {command} on {}: {result} (exit {})\n",
        md(heading.source),
        heading.exit_code
    );
    let _ = write!(
        out,
        "**{}**: {meaning}\n\nStarted {}, took {}",
        capitalise(result),
        humantime::format_rfc3339_millis(report.started_at),
        table::seconds(report.duration_ms)
    );
    if let Some(shard) = report.shard {
        let _ = write!(out, ", shard {}/{}", shard.index, shard.count);
    }
    if let Some(sha256) = &report.snapshot_sha256 {
        // Twelve hex digits tell snapshots apart at a glance; the JSON has all.
        let short: String = sha256.chars().take(12).collect();
        let _ = write!(out, ", lists sha256 {}", md(&short));
    }
    out.push_str(".\n\n");
}

/// The run's result in a word and what it means, from the exit code (the
/// HTML report says the same).
pub(super) fn result(report: &RunReport, heading: &Heading, s: &Summary) -> (&'static str, String) {
    match heading.exit_code {
        0 => ("success", success_meaning(report, s)),
        1 => (
            "failed",
            format!(
                "{} failed and {} skipped: the fleet is not in the state asked for.",
                devices(s.failed),
                s.skipped
            ),
        ),
        2 => (
            "changes pending",
            format!("{} would change.", devices(s.changed)),
        ),
        _ => ("not run", "nothing was contacted.".to_string()),
    }
}

fn success_meaning(report: &RunReport, s: &Summary) -> String {
    if report.command.is_dry_run() && s.changed > 0 {
        format!(
            "{} would change (exit 2 with `--detailed-exitcode`).",
            devices(s.changed)
        )
    } else if report.command.is_dry_run() {
        "no change pending.".to_string()
    } else {
        format!(
            "every device is in the state asked for ({} changed, {} already were).",
            s.changed, s.ok
        )
    }
}

fn counts(out: &mut String, report: &RunReport, s: &Summary) {
    let (changed, added, removed) = count_words(report);
    let _ = writeln!(
        out,
        "| devices | ok | {changed} | failed | skipped | {added} | {removed} |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n\
         | {} | {} | {} | {} | {} | {} | {} |\n",
        s.devices, s.ok, s.changed, s.failed, s.skipped, s.added, s.removed
    );
}

/// The counts' headings that differ between a dry run and one that changes
/// routers: changed, entries added, entries removed.
pub(super) fn count_words(report: &RunReport) -> (&'static str, &'static str, &'static str) {
    if report.command.is_dry_run() {
        ("to change", "entries to add", "entries to remove")
    } else {
        ("changed", "entries added", "entries removed")
    }
}

/// The skipped devices' names by reason (in display order): a stopped run
/// skips a long tail of devices for one reason, shown as one row.
pub(super) fn skipped_by_reason(report: &RunReport) -> BTreeMap<&str, Vec<&str>> {
    let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for d in report.sorted_devices() {
        if d.status == Status::Skipped {
            by_reason
                .entry(d.reason.as_deref().unwrap_or(""))
                .or_default()
                .push(&d.name);
        }
    }
    by_reason
}

fn failed_devices(out: &mut String, report: &RunReport, s: &Summary) {
    let failed: Vec<&DeviceReport> = report
        .sorted_devices()
        .into_iter()
        .filter(|d| d.status == Status::Failed)
        .collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Failed devices ({})\n", failed.len());
    let classes = table::classes_by_count(s);
    if !classes.is_empty() {
        let _ = writeln!(out, "By class: {classes}.\n");
    }
    out.push_str("| device | host | class | message |\n| --- | --- | --- | --- |\n");
    for d in failed.iter().take(MAX_LISTED) {
        let (class, message) = d
            .error
            .as_ref()
            .map_or(("", ""), |e| (e.class.as_str(), e.message.as_str()));
        let _ = writeln!(
            out,
            "| {} | {} | {class} | {} |",
            md(&d.name),
            md(&d.host),
            md(message)
        );
    }
    more(out, failed.len(), "failed devices");
    out.push('\n');
}

fn skipped_devices(out: &mut String, report: &RunReport) {
    let by_reason = skipped_by_reason(report);
    if by_reason.is_empty() {
        return;
    }
    let skipped: usize = by_reason.values().map(Vec::len).sum();
    let _ = writeln!(
        out,
        "### Skipped devices ({skipped})\n\n| reason | devices |\n| --- | --- |"
    );
    for (reason, names) in by_reason.iter().take(MAX_LISTED) {
        let mut listed: Vec<String> = names.iter().take(MAX_LISTED).map(|n| md(n)).collect();
        if names.len() > MAX_LISTED {
            listed.push(format!("and {} more", names.len() - MAX_LISTED));
        }
        let _ = writeln!(
            out,
            "| {} | {}: {} |",
            md(reason),
            names.len(),
            listed.join(", ")
        );
    }
    more(out, by_reason.len(), "reasons");
    out.push('\n');
}

/// Lines of one change set shown in the summary; the rest are counted. A
/// first sync of 30,000 entries would otherwise be a megabyte on its own
/// (GitHub's limit for a whole step summary); the `--json` report and
/// `--diff` have every line.
const MAX_LINES_PER_SET: usize = 200;

/// The changes of the run, each distinct change set once, folded in a
/// `<details>` block under the devices that share it (`--diff`'s header),
/// its IOS lines in a `diff` code block (adds first, as pushed), so a long
/// run stays a page.
fn fold_changes(out: &mut String, report: &RunReport) {
    let blocks = super::diff::blocks(report);
    if blocks.is_empty() {
        return;
    }
    let changed = blocks
        .iter()
        .flat_map(|(_, devices)| devices.iter().map(|d| d.name.as_str()))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let _ = writeln!(
        out,
        "### Changes ({} change set{}, {})\n",
        blocks.len(),
        if blocks.len() == 1 { "" } else { "s" },
        devices(changed as u64)
    );
    for (set, devices) in blocks.iter().take(MAX_LISTED) {
        let _ = writeln!(
            out,
            "<details><summary>{}</summary>\n\n```diff",
            html(&super::diff::header(set, devices))
        );
        // The lines are tsfleet's own (entries it formats), never device text,
        // so nothing in them can close the code block.
        for line in super::diff::lines(set).take(MAX_LINES_PER_SET) {
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str("```\n");
        let total = set.add().len() + set.remove().len();
        if total > MAX_LINES_PER_SET {
            let _ = writeln!(
                out,
                "\n…and {} more lines (`--diff` and the `--json` report have them all).",
                total - MAX_LINES_PER_SET
            );
        }
        out.push_str("\n</details>\n\n");
    }
    more(out, blocks.len(), "change sets");
}

/// "…and N more" after a list cut at [`MAX_LISTED`].
fn more(out: &mut String, total: usize, what: &str) {
    if total > MAX_LISTED {
        let _ = writeln!(
            out,
            "\n…and {} more {what} (the `--json` report lists every device).",
            total - MAX_LISTED
        );
    }
}

fn devices(n: u64) -> String {
    format!("{n} device{}", if n == 1 { "" } else { "s" })
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Untrusted text made inert in Markdown, for a table cell or a line:
/// control characters shown escaped (`\x0a`, `\x1b`: one line, no terminal
/// sequences), `<`, `>` and `&` as entities (no HTML), the characters that
/// start links, images, code, emphasis and table cells backslash-escaped,
/// and so are `:` before `/` (no `http://` autolink) and `.` after `www`
/// (no `www.` one).
/// Cut at [`MAX_CELL_CHARS`].
fn md(text: &str) -> String {
    let text = escape_controls(cut(text).as_ref()).into_owned();
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            ':' if chars.peek() == Some(&'/') => out.push_str("\\:"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '|' | '~' | '!' | '#' | '@' => {
                out.push('\\');
                out.push(c);
            }
            '.' if out.len() >= 3
                && out.as_bytes()[out.len() - 3..].eq_ignore_ascii_case(b"www") =>
            {
                out.push_str("\\.")
            }
            c => out.push(c),
        }
    }
    out
}

/// Untrusted text inside raw HTML (a `<summary>`), where Markdown is not
/// read: entities only, controls shown escaped.
fn html(text: &str) -> String {
    html_escape(cut(text).as_ref())
}

/// Untrusted text as HTML text or a double-quoted attribute value, whole:
/// controls shown escaped, `&`, `<`, `>` and `"` as entities.
pub(super) fn html_escape(text: &str) -> String {
    escape_controls(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn cut(text: &str) -> std::borrow::Cow<'_, str> {
    cut_at(text, MAX_CELL_CHARS)
}

/// `text` cut to `max` characters, the last an ellipsis.
pub(super) fn cut_at(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= max {
        return text.into();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;
    use crate::report::{Command, DeviceReport, ErrorReport, StopReason};
    use std::time::Duration;

    const GOLDEN: &str = "tests/snapshots/summary.md";

    fn heading(exit_code: u8) -> Heading<'static> {
        Heading {
            source: "fleet.yaml",
            exit_code,
        }
    }

    /// The sample run's summary is the checked-in one: change the
    /// rendering, then rewrite it with `UPDATE_SNAPSHOTS=1 cargo test --lib
    /// report::markdown` and review the diff.
    #[test]
    fn the_sample_summary_is_the_golden_one() {
        let text = render(&sample(Command::Apply), &heading(1));
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
            std::fs::write(&path, &text).unwrap();
            return;
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            golden == text,
            "{GOLDEN} differs from the rendering; rewrite it with \
             `UPDATE_SNAPSHOTS=1 cargo test --lib report::markdown` and review the diff:\n{text}"
        );
    }

    #[test]
    fn title_counts_failed_skipped_and_changes() {
        let text = render(&sample(Command::Apply), &heading(1));
        assert!(
            text.starts_with("## tsfleet apply on fleet.yaml: failed (exit 1)\n"),
            "{text}"
        );
        assert!(
            text.contains("**Failed**: 2 devices failed and 1 skipped"),
            "{text}"
        );
        assert!(
            text.contains("| 5 | 1 | 1 | 2 | 1 | 50 | 7 |"),
            "the counts row: {text}"
        );
        assert!(text.contains("By class: auth 1, timeout 1."), "{text}");
        assert!(
            text.contains("| core-01 | 10.0.1.1 | timeout | "),
            "failed first by name: {text}"
        );
        assert!(
            text.contains("not started: 1 of the 2 canary devices failed | 1: edge-05 |"),
            "{text}"
        );
        assert!(
            text.contains("### Changes (1 change set, 1 device)"),
            "{text}"
        );
        assert!(
            text.contains(
                "<details><summary>edge-01: object-group network threatstop-block (+50 -7)</summary>\n\n```diff\n+ host "
            ),
            "{text}"
        );
        let lines = text
            .lines()
            .filter(|l| l.starts_with("+ host ") || l.starts_with("- host "))
            .count();
        assert_eq!(
            lines, 57,
            "every line of the set, adds then removals: {text}"
        );
        assert!(
            !text.contains("summary>edge-03"),
            "a converged device has no change to fold: {text}"
        );
    }

    #[test]
    fn a_dry_run_says_pending_and_what_exit_2_means() {
        let plan = sample(Command::Plan);
        let mut clean = plan.clone();
        clean
            .devices
            .retain(|d| matches!(d.status, Status::Changed | Status::Ok));
        let text = render(&clean, &heading(0));
        assert!(
            text.contains("## tsfleet plan on fleet.yaml: success (exit 0)"),
            "{text}"
        );
        assert!(
            text.contains("1 device would change (exit 2 with `--detailed-exitcode`)"),
            "{text}"
        );
        assert!(text.contains("| to change |"), "{text}");
        let text = render(&clean, &heading(2));
        assert!(text.contains(": changes pending (exit 2)"), "{text}");
        clean.devices.retain(|d| d.status == Status::Ok);
        let text = render(&clean, &heading(0));
        assert!(text.contains("**Success**: no change pending."), "{text}");
        assert!(!text.contains("###"), "nothing to list: {text}");
    }

    #[test]
    fn hostile_device_text_stays_inert() {
        let mut report = sample(Command::Apply);
        let hostile = "% Bad | <script>alert(1)</script> [x](http://e) `code` *b*\n\
                       | injected | row |\x1b[2J www.evil.example @all";
        report.devices[2].error = Some(ErrorReport {
            class: crate::report::ErrorClass::DeviceError,
            message: hostile.into(),
        });
        report.devices[3].reason = Some(hostile.into());
        report.devices[1].name = "<b>edge</b>".into();
        let text = render(&report, &heading(1));
        for raw in [
            "<script",
            "</script",
            "[x]",
            "](",
            "http://",
            "`code`",
            "*b*",
            "\x1b",
            "www.evil",
            "<b>",
            "| injected |",
        ] {
            assert!(!text.contains(raw), "{raw:?} reached the summary: {text}");
        }
        let row = text.lines().find(|l| l.starts_with("| edge-02 |")).unwrap();
        assert_eq!(
            row,
            "| edge-02 | 10.0.0.2 | device-error | % Bad \\| &lt;script&gt;alert\\(1\\)&lt;/script&gt; \
             \\[x\\]\\(http\\://e\\) \\`code\\` \\*b\\*\\\\x0a\\| injected \\| row \\|\\\\x1b\\[2J \
             www\\.evil.example \\@all |",
            "one row, its cells intact"
        );
        // An unescaped `|` would add cells: the row has exactly the four
        // columns' five separators.
        let separators = row.replace("\\|", "").matches('|').count();
        assert_eq!(separators, 5, "{row}");
        assert!(
            text.contains(
                "<summary>&lt;b&gt;edge&lt;/b&gt;: object-group network threatstop-block (+50"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_long_change_set_is_cut_and_counted() {
        let mut report = sample(Command::Apply);
        let block = &mut report.devices[1].groups[1];
        block.lines = crate::report::tests::change_set(MAX_LINES_PER_SET + 50, 0);
        let text = render(&report, &heading(1));
        let shown = text.lines().filter(|l| l.starts_with("+ host ")).count();
        assert_eq!(shown, MAX_LINES_PER_SET, "{text}");
        assert!(
            text.contains("…and 50 more lines (`--diff` and the `--json` report have them all)."),
            "{text}"
        );
    }

    #[test]
    fn a_thousand_failed_devices_give_a_short_summary() {
        let long = "x".repeat(5_000);
        let devices: Vec<DeviceReport> = (0..1000)
            .map(|i| {
                let mut d = DeviceReport::skipped(format!("r{i:04}"), "h", "x");
                if i < 980 {
                    d.status = Status::Failed;
                    d.reason = None;
                    d.error = Some(ErrorReport {
                        class: crate::report::ErrorClass::Timeout,
                        message: long.clone(),
                    });
                } else {
                    d.reason = Some(StopReason::Interrupted.to_string());
                }
                d
            })
            .collect();
        let report = RunReport::new(
            Command::Apply,
            std::time::UNIX_EPOCH,
            Duration::from_secs(60),
            None,
            None,
            devices,
        );
        let text = render(&report, &heading(1));
        assert!(text.len() < 64 * 1024, "{} bytes", text.len());
        assert_eq!(text.matches("| timeout |").count(), MAX_LISTED);
        assert!(
            text.contains("…and 930 more failed devices"),
            "the rest counted: {text}"
        );
        assert!(text.contains(&format!("{}…", "x".repeat(MAX_CELL_CHARS - 1))));
        assert!(text.contains("### Skipped devices (20)"), "{text}");
        assert!(text.contains("| 20: r0980, r0981"), "{text}");
    }
}
