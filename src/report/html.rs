//! `--html FILE`: the run as one self-contained web page, for people who
//! would rather look than read a table (a CI artifact, a file opened
//! offline). The summary, the failed and skipped devices, a status grid of
//! the devices by inventory group, a device table that sorts (click a
//! header) and filters (a text box, a status select), and each distinct
//! change set once, folded in `<details>`, linked from its devices.
//!
//! Everything is in the file: inline CSS and a little inline script, no
//! fonts, images or requests. A `Content-Security-Policy` allows only that
//! style and script (by their sha256) and nothing remote. Without script
//! everything is visible (the filter controls stay hidden). The script
//! honours the URL fragment (`#status=failed`, `&q=TEXT`, `&sort=-added`)
//! and keeps it current, so a link can point at the failed devices.
//!
//! Device text (names, hosts, messages, reasons, notes, and all a merged
//! report file holds) is untrusted: every piece goes through [`esc`], and
//! nothing the report holds reaches the script, attributes other than
//! escaped, double-quoted values, or the page's ids (rows and sets are
//! numbered).

use super::markdown::{self, Heading};
use super::{DeviceReport, ReportError, RunReport, Status, Summary, table, write_output};
use crate::files::Output;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// Lines of one change set written out; the rest are counted. A first sync
/// of 30,000 entries would be most of a megabyte on its own; `--diff` and
/// the `--json` report have every line.
const MAX_LINES_PER_SET: usize = 2_000;

/// Lines of all change sets together: a run whose devices each have a
/// different set (each its own prior state) stays a page a browser opens
/// quickly; sets past it show their header and counts only.
const MAX_LINES: usize = 20_000;

/// The longest device text (a message, a reason, a note) shown, in
/// characters: tsfleet's messages with a router's answer fit; a flood does
/// not make the page megabytes (the `--json` report keeps every message whole).
const MAX_TEXT_CHARS: usize = 2_000;

const CSS: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#111;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em}h3{font-size:1em;margin:.8em 0 .3em}
table{border-collapse:collapse}th,td{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#eee}td.n,th.n{text-align:right}
.facts span{margin-right:1.5em}
.result{padding:0 .3em;border-radius:3px}
.st{white-space:nowrap;font-weight:600}.st span{padding:0 .3em;border-radius:2px}
.failed{background:#a40018;color:#fff;border:2px solid #000}
.changed{background:#f3c04a;color:#000;border:2px solid #6b4e00}
.ok{background:#dff2e1;color:#000;border:1px solid #7a9a7e}
.skipped{background:#fff;color:#444;border:1px dashed #666}
.legend span{display:inline-block;padding:0 .4em;margin-right:.5em}
ul.cells{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:3px}
ul.cells a{display:block;padding:.1em .4em;text-decoration:none;font-size:12px;border-radius:2px}
.controls{margin:.5em 0}.controls label{margin-right:1em}
#devices th{cursor:pointer;user-select:none}
#devices th[aria-sort=ascending]::after{content:" \25B2"}#devices th[aria-sort=descending]::after{content:" \25BC"}
#devices th button{font:inherit;font-weight:700;border:0;background:none;padding:0;cursor:pointer}
tr:target{outline:3px solid #06c}
pre{margin:.3em 0 .8em;padding:.4em;background:#f6f6f6;overflow-x:auto}
.add{color:#05610f}.rem{color:#8a0010}
.msg{max-width:60em;word-break:break-word}
ul.notes{margin:0;padding-left:1.2em}
"#;

const SCRIPT: &str = r#"
(function () {
  var table = document.getElementById('devices');
  var body = table.tBodies[0], heads = table.tHead.rows[0].cells;
  var rows = Array.prototype.slice.call(body.rows);
  var q = document.getElementById('q'), st = document.getElementById('status');
  var shown = document.getElementById('shown');
  var sortAt = -1, dir = 1;
  document.getElementById('controls').hidden = false;
  function value(row, i) {
    var c = row.cells[i];
    return c.hasAttribute('data-v') ? c.getAttribute('data-v') : c.textContent;
  }
  function sortBy(i, d) {
    var num = heads[i].className === 'n';
    sortAt = i; dir = d;
    rows.sort(function (a, b) {
      var x = value(a, i), y = value(b, i);
      var c = num ? x - y : x.localeCompare(y);
      return d * c || a.getAttribute('data-i') - b.getAttribute('data-i');
    });
    rows.forEach(function (r) { body.appendChild(r); });
    for (var j = 0; j < heads.length; j++) {
      heads[j].setAttribute('aria-sort', j === i ? (d > 0 ? 'ascending' : 'descending') : 'none');
    }
  }
  function filter() {
    var text = q.value.toLowerCase(), s = st.value, n = 0;
    rows.forEach(function (r) {
      var keep = (!s || r.getAttribute('data-status') === s) &&
        (!text || r.textContent.toLowerCase().indexOf(text) >= 0);
      r.hidden = !keep;
      if (keep) n++;
    });
    shown.textContent = n + ' of ' + rows.length + ' devices shown';
  }
  function toFragment() {
    var p = [];
    if (st.value) p.push('status=' + encodeURIComponent(st.value));
    if (q.value) p.push('q=' + encodeURIComponent(q.value));
    if (sortAt >= 0) p.push('sort=' + (dir < 0 ? '-' : '') + heads[sortAt].getAttribute('data-key'));
    try { history.replaceState(null, '', p.length ? '#' + p.join('&') : location.pathname); } catch (e) {}
  }
  function fromFragment() {
    var h = location.hash.slice(1);
    var target = /^(cs|d)-\d+$/.test(h) && document.getElementById(h);
    if (target && target.tagName === 'DETAILS') target.open = true;
    if (target && target.hidden) {
      // A grid cell's row, hidden by the filter: show every row again.
      st.value = q.value = '';
      filter();
      target.scrollIntoView();
    }
    if (h.indexOf('=') < 0) return;
    var p = new URLSearchParams(h);
    st.value = p.get('status') || '';
    q.value = p.get('q') || '';
    var s = p.get('sort') || '', d = s.charAt(0) === '-' ? -1 : 1;
    for (var i = 0; i < heads.length; i++) {
      if (heads[i].getAttribute('data-key') === s.replace(/^-/, '')) sortBy(i, d);
    }
    filter();
  }
  Array.prototype.forEach.call(heads, function (th, i) {
    var b = document.createElement('button');
    b.type = 'button';
    b.textContent = th.textContent;
    th.textContent = '';
    th.appendChild(b);
    th.setAttribute('aria-sort', 'none');
    th.addEventListener('click', function () { sortBy(i, sortAt === i ? -dir : 1); toFragment(); });
  });
  q.addEventListener('input', function () { filter(); toFragment(); });
  st.addEventListener('change', function () { filter(); toFragment(); });
  window.addEventListener('hashchange', fromFragment);
  filter();
  fromFragment();
})();
"#;

/// Render the page (pure).
pub fn render(report: &RunReport, heading: &Heading) -> String {
    let summary = report.summary();
    let sorted = report.sorted_devices();
    let sets = ChangeSetIndex::of(report);
    // Rough: a row, a grid cell and the sets' lines.
    let mut out = String::with_capacity(8_192 + sorted.len() * 700);
    head(&mut out, report, heading);
    title(&mut out, report, heading, &summary);
    failed_devices(&mut out, &sorted, &summary);
    skipped_devices(&mut out, report);
    grid(&mut out, report, &sorted);
    device_table(&mut out, report, &sorted, &sets);
    change_sets(&mut out, report);
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

/// Write the page to a file atomically (temporary file, then rename), or stdout.
pub fn write(output: &Output, report: &RunReport, heading: &Heading) -> Result<(), ReportError> {
    write_output(output, render(report, heading).as_bytes())
}

/// `'sha256-…'`, the CSP source that allows exactly this inline text.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn head(out: &mut String, report: &RunReport, heading: &Heading) {
    let (result, _) = markdown::result(report, heading, &report.summary());
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src {}; script-src {}; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"tsfleet {}\">\n\
         <title>tsfleet {} on {}: {result} (exit {})</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        csp_hash(CSS),
        csp_hash(SCRIPT),
        env!("CARGO_PKG_VERSION"),
        report.command.as_str(),
        esc(heading.source),
        heading.exit_code
    );
}

fn title(out: &mut String, report: &RunReport, heading: &Heading, s: &Summary) {
    let (result, meaning) = markdown::result(report, heading, s);
    let class = match heading.exit_code {
        0 => "ok",
        1 => "failed",
        2 => "changed",
        _ => "skipped",
    };
    let _ = write!(
        out,
        "<header>\n<h1>tsfleet {} on <code>{}</code>: \
         <span class=\"result {class}\">{result} (exit {})</span></h1>\n<p>{}</p>\n\
         <p class=\"facts\"><span>Started {}</span><span>took {}</span>",
        report.command.as_str(),
        esc(heading.source),
        heading.exit_code,
        esc(&meaning),
        humantime::format_rfc3339_millis(report.started_at),
        table::seconds(report.duration_ms)
    );
    if let Some(shard) = report.shard {
        let _ = write!(out, "<span>shard {}/{}</span>", shard.index, shard.count);
    }
    if let Some(sha256) = &report.snapshot_sha256 {
        let short: String = sha256.chars().take(12).collect();
        let _ = write!(
            out,
            "<span title=\"{}\">lists sha256 {}</span>",
            esc(sha256),
            esc(&short)
        );
    }
    let (changed, added, removed) = markdown::count_words(report);
    let _ = write!(
        out,
        "</p>\n<table class=\"counts\"><tr><th>devices</th><th>ok</th><th>{changed}</th>\
         <th>failed</th><th>skipped</th><th>{added}</th><th>{removed}</th></tr>\n\
         <tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
         <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
         <td class=\"n\">{}</td></tr></table>\n</header>\n",
        s.devices, s.ok, s.changed, s.failed, s.skipped, s.added, s.removed
    );
}

fn failed_devices(out: &mut String, sorted: &[&DeviceReport], s: &Summary) {
    let failed: Vec<&&DeviceReport> = sorted
        .iter()
        .filter(|d| d.status == Status::Failed)
        .collect();
    if failed.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<section id=\"failed\">\n<h2>Failed devices ({}) \
         <a href=\"#status=failed\">in the table</a></h2>\n",
        failed.len()
    );
    let _ = write!(
        out,
        "<p>By class: {}.</p>\n<table><tr><th>device</th><th>host</th><th>class</th>\
         <th>message</th></tr>\n",
        table::classes_by_count(s)
    );
    for d in failed {
        let (class, message) = d
            .error
            .as_ref()
            .map_or(("", ""), |e| (e.class.as_str(), e.message.as_str()));
        let _ = writeln!(
            out,
            "<tr class=\"failed-row\"><td>{}</td><td>{}</td><td>{class}</td>\
             <td class=\"msg\">{}</td></tr>",
            esc(&d.name),
            esc(&d.host),
            esc(message)
        );
    }
    out.push_str("</table>\n</section>\n");
}

fn skipped_devices(out: &mut String, report: &RunReport) {
    let by_reason = markdown::skipped_by_reason(report);
    if by_reason.is_empty() {
        return;
    }
    let skipped: usize = by_reason.values().map(Vec::len).sum();
    let _ = write!(
        out,
        "<section id=\"skipped\">\n<h2>Skipped devices ({skipped})</h2>\n\
         <table><tr><th>reason</th><th>devices</th></tr>\n"
    );
    for (reason, names) in by_reason {
        let names: Vec<String> = names.iter().map(|n| esc(n)).collect();
        let _ = writeln!(
            out,
            "<tr><td class=\"msg\">{}</td><td>{}: {}</td></tr>",
            esc(reason),
            names.len(),
            names.join(", ")
        );
    }
    out.push_str("</table>\n</section>\n");
}

/// The symbol beside a status, so the grid and the table read without colour.
fn symbol(status: Status) -> &'static str {
    match status {
        Status::Failed => "✗",
        Status::Changed => "±",
        Status::Ok => "✓",
        Status::Skipped => "–",
    }
}

/// A status as the page names it: `changed` is "to change" in a dry run.
fn status_word(report: &RunReport, status: Status) -> &'static str {
    match status {
        Status::Changed if report.command.is_dry_run() => "to change",
        s => s.as_str(),
    }
}

/// Every device in a cell under each of its inventory groups (those in none
/// under "no group"), by name, linked to its row.
fn grid(out: &mut String, report: &RunReport, sorted: &[&DeviceReport]) {
    // Each device with its row's number in the table (`#d-N`).
    let mut by_group: BTreeMap<Option<&str>, Vec<(usize, &DeviceReport)>> = BTreeMap::new();
    for (i, d) in sorted.iter().enumerate() {
        if d.inventory_groups.is_empty() {
            by_group.entry(None).or_default().push((i, d));
        }
        for g in &d.inventory_groups {
            by_group.entry(Some(g)).or_default().push((i, d));
        }
    }
    out.push_str("<section id=\"grid\">\n<h2>Devices by group</h2>\n<p class=\"legend\">");
    for status in [Status::Failed, Status::Changed, Status::Ok, Status::Skipped] {
        let _ = write!(
            out,
            "<span class=\"{status}\">{} {}</span>",
            symbol(status),
            status_word(report, status)
        );
    }
    out.push_str("</p>\n");
    // Groups by name, devices in none last.
    let mut groups: Vec<_> = by_group.into_iter().collect();
    groups.sort_by_key(|(g, _)| (g.is_none(), *g));
    for (group, mut devices) in groups {
        devices.sort_by(|(_, a), (_, b)| (&a.name, &a.host).cmp(&(&b.name, &b.host)));
        let failed = devices
            .iter()
            .filter(|(_, d)| d.status == Status::Failed)
            .count();
        let _ = write!(
            out,
            "<div class=\"group\"><h3>{} ({} device{}{})</h3>\n<ul class=\"cells\">",
            group.map_or_else(|| "no group".to_string(), esc),
            devices.len(),
            if devices.len() == 1 { "" } else { "s" },
            if failed > 0 {
                format!(", {failed} failed")
            } else {
                String::new()
            }
        );
        for (row, d) in devices {
            let word = status_word(report, d.status);
            let _ = write!(
                out,
                "<li><a class=\"{}\" href=\"#d-{row}\" title=\"{}: {word}\">{} {}</a></li>",
                d.status,
                esc(&d.name),
                symbol(d.status),
                esc(&d.name)
            );
        }
        out.push_str("</ul></div>\n");
    }
    out.push_str("</section>\n");
}

/// Each distinct change set's number on the page (`cs-N`), in `--diff`'s order.
struct ChangeSetIndex<'a>(HashMap<&'a str, usize>);

impl<'a> ChangeSetIndex<'a> {
    fn of(report: &'a RunReport) -> Self {
        ChangeSetIndex(
            super::diff::blocks(report)
                .iter()
                .enumerate()
                .map(|(i, (set, _))| (set.digest(), i + 1))
                .collect(),
        )
    }
}

fn device_table(
    out: &mut String,
    report: &RunReport,
    sorted: &[&DeviceReport],
    sets: &ChangeSetIndex,
) {
    let (added, removed) = if report.command.is_dry_run() {
        ("to add", "to remove")
    } else {
        ("added", "removed")
    };
    let _ = write!(
        out,
        "<section>\n<h2>Devices ({})</h2>\n\
         <div class=\"controls\" id=\"controls\" hidden>\
         <label>Filter <input id=\"q\" type=\"search\" placeholder=\"name, host, message…\"></label>\
         <label>Status <select id=\"status\"><option value=\"\">all</option>",
        sorted.len()
    );
    for status in Status::ALL {
        let _ = write!(
            out,
            "<option value=\"{status}\">{}</option>",
            status_word(report, status)
        );
    }
    let _ = write!(
        out,
        "</select></label> <span id=\"shown\"></span></div>\n\
         <table id=\"devices\">\n<thead><tr><th data-key=\"name\">device</th>\
         <th data-key=\"host\">host</th><th data-key=\"status\">status</th>\
         <th data-key=\"groups\">groups</th><th data-key=\"added\" class=\"n\">{added}</th>\
         <th data-key=\"removed\" class=\"n\">{removed}</th><th data-key=\"kept\" class=\"n\">kept</th>\
         <th data-key=\"time\" class=\"n\">time</th><th data-key=\"details\">details</th></tr></thead>\n<tbody>\n"
    );
    for (i, d) in sorted.iter().enumerate() {
        let groups: Vec<String> = d.inventory_groups.iter().map(|g| esc(g)).collect();
        let _ = write!(
            out,
            "<tr id=\"d-{i}\" data-i=\"{i}\" data-status=\"{}\"><td>{}</td><td>{}</td>\
             <td class=\"st\" data-v=\"{}\"><span class=\"{}\">{} {}</span></td><td>{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\" data-v=\"{}\">{}</td><td class=\"msg\">",
            d.status,
            esc(&d.name),
            esc(&d.host),
            d.status.rank(),
            d.status,
            symbol(d.status),
            status_word(report, d.status),
            groups.join(", "),
            d.added,
            d.removed,
            d.kept,
            d.duration_ms,
            table::seconds(d.duration_ms)
        );
        details(out, d, sets);
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody></table>\n</section>\n");
}

/// A row's last cell: why it failed or was skipped, its change sets
/// (linked), its notes.
fn details(out: &mut String, d: &DeviceReport, sets: &ChangeSetIndex) {
    if let Some(e) = &d.error {
        let _ = write!(out, "<b>{}</b>: {} ", e.class.as_str(), esc(&e.message));
    }
    if let Some(reason) = &d.reason {
        let _ = write!(out, "{} ", esc(reason));
    }
    for g in &d.groups {
        if let Some(n) = g.change_set.as_deref().and_then(|c| sets.0.get(c)) {
            let _ = write!(
                out,
                "<a href=\"#cs-{n}\">{} +{} −{}</a> ",
                esc(&g.name),
                g.added,
                g.removed
            );
        }
    }
    if !d.notes.is_empty() {
        out.push_str("<ul class=\"notes\">");
        for note in &d.notes {
            let _ = write!(out, "<li>{}</li>", esc(note));
        }
        out.push_str("</ul>");
    }
}

/// Every distinct change set once, folded, under the devices that have it.
fn change_sets(out: &mut String, report: &RunReport) {
    let blocks = super::diff::blocks(report);
    if blocks.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<section id=\"changes\">\n<h2>Change sets ({})</h2>\n",
        blocks.len()
    );
    let mut budget = MAX_LINES;
    for (i, (set, devices)) in blocks.iter().enumerate() {
        let _ = write!(
            out,
            "<details id=\"cs-{}\"><summary>{}</summary>\n<pre>",
            i + 1,
            esc(&super::diff::header(set, devices))
        );
        let total = set.add().len() + set.remove().len();
        let shown = total.min(MAX_LINES_PER_SET).min(budget);
        budget -= shown;
        for line in super::diff::lines(set).take(shown) {
            let class = if line.starts_with('+') { "add" } else { "rem" };
            let _ = writeln!(out, "<span class=\"{class}\">{}</span>", esc(&line));
        }
        out.push_str("</pre>");
        if total > shown {
            let _ = write!(
                out,
                "<p>…and {} more lines (<code>--diff</code> and the <code>--json</code> \
                 report have them all).</p>",
                total - shown
            );
        }
        out.push_str("</details>\n");
    }
    out.push_str("</section>\n");
}

/// Untrusted text as HTML text or a double-quoted attribute value: the
/// Markdown summary's escaping for raw HTML (entities, controls shown
/// escaped), with `'` too, cut at [`MAX_TEXT_CHARS`].
fn esc(text: &str) -> String {
    let text = markdown::cut_at(text, MAX_TEXT_CHARS);
    markdown::html_escape(&text).replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{run, sample};
    use crate::report::{Command, ErrorClass, ErrorReport};

    fn heading(exit_code: u8) -> Heading<'static> {
        Heading {
            source: "fleet.yaml",
            exit_code,
        }
    }

    fn grouped(command: Command) -> RunReport {
        let mut report = sample(command);
        for d in &mut report.devices {
            d.inventory_groups = if d.name.starts_with("edge") {
                vec!["edge".into(), "west".into()]
            } else {
                vec![]
            };
        }
        report
    }

    #[test]
    fn summary_failed_grid_table_and_sets() {
        let page = render(&grouped(Command::Apply), &heading(1));
        assert!(page.starts_with("<!DOCTYPE html>\n"), "{page}");
        assert!(
            page.contains(
                "<h1>tsfleet apply on <code>fleet.yaml</code>: <span class=\"result failed\">failed (exit 1)</span></h1>"
            ),
            "{page}"
        );
        assert!(
            page.contains(
                "2 devices failed and 1 skipped: the fleet is not in the state asked for."
            ),
            "{page}"
        );
        assert!(page.contains("<span>shard 1/2</span>"), "{page}");
        assert!(page.contains("lists sha256 aaaaaaaaaaaa"), "{page}");
        assert!(
            page.contains(
                "<td class=\"n\">5</td><td class=\"n\">1</td><td class=\"n\">1</td><td class=\"n\">2</td><td class=\"n\">1</td><td class=\"n\">50</td><td class=\"n\">7</td>"
            ),
            "{page}"
        );
        // Failed devices before anything else, commonest class first.
        let failed = page.find("<section id=\"failed\">").unwrap();
        assert!(failed < page.find("<section id=\"grid\">").unwrap());
        assert!(page.contains("By class: auth 1, timeout 1."), "{page}");
        assert!(
            page.contains(
                "<tr class=\"failed-row\"><td>core-01</td><td>10.0.1.1</td><td>timeout</td>"
            ),
            "{page}"
        );
        // The grid: both groups list the four edge devices, core-01 has none.
        assert!(
            page.contains("<h3>edge (4 devices, 1 failed)</h3>"),
            "{page}"
        );
        assert!(
            page.contains("<h3>west (4 devices, 1 failed)</h3>"),
            "{page}"
        );
        assert!(
            page.contains("<h3>no group (1 device, 1 failed)</h3>"),
            "{page}"
        );
        assert!(
            page.contains(
                "<a class=\"failed\" href=\"#d-1\" title=\"edge-02: failed\">✗ edge-02</a>"
            ),
            "rows in table order (core-01 is row 0): {page}"
        );
        // The table: failed first, then changed, ok, skipped.
        let order: Vec<usize> = ["d-0\"", "d-1\"", "d-2\"", "d-3\"", "d-4\""]
            .iter()
            .map(|id| page.find(&format!("<tr id=\"{id}")).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]));
        assert!(
            page.contains("<tr id=\"d-2\" data-i=\"2\" data-status=\"changed\"><td>edge-01</td>"),
            "{page}"
        );
        assert!(
            page.contains("<a href=\"#cs-1\">threatstop-block +50 −7</a>"),
            "{page}"
        );
        // One change set, every line, folded.
        assert_eq!(page.matches("<details id=\"cs-").count(), 1, "{page}");
        assert_eq!(page.matches("<span class=\"add\">+ host ").count(), 50);
        assert_eq!(page.matches("<span class=\"rem\">- host ").count(), 7);
    }

    #[test]
    fn a_dry_run_says_to_change() {
        let page = render(&grouped(Command::Plan), &heading(1));
        assert!(page.contains("<th>to change</th>"), "{page}");
        assert!(
            page.contains("<span class=\"changed\">± to change</span></td>"),
            "{page}"
        );
        assert!(
            page.contains("<option value=\"changed\">to change</option>"),
            "{page}"
        );
    }

    #[test]
    fn the_csp_allows_exactly_the_page_style_and_script() {
        let page = render(&sample(Command::Apply), &heading(1));
        let csp = format!(
            "default-src 'none'; style-src {}; script-src {};",
            csp_hash(CSS),
            csp_hash(SCRIPT)
        );
        assert!(page.contains(&csp), "{page}");
        assert_eq!(page.matches("<script").count(), 1);
        assert!(page.contains(&format!("<script>{SCRIPT}</script>")));
        assert!(page.contains(&format!("<style>{CSS}</style>")));
        for remote in ["http:", "https:", "src=", "@import", "url("] {
            assert!(!page.contains(remote), "{remote} in the page");
        }
        // Known answer: sha256 of the empty string.
        assert_eq!(
            csp_hash(""),
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        );
    }

    #[test]
    fn hostile_device_text_stays_inert() {
        let mut report = grouped(Command::Apply);
        let hostile = "</script><script>alert(1)</script><img src=x onerror=alert(2)> \" onmouseover=\"x' &amp;\x1b[2J";
        report.devices[2].error = Some(ErrorReport {
            class: ErrorClass::DeviceError,
            message: hostile.into(),
        });
        report.devices[3].reason = Some(hostile.into());
        report.devices[1].name = hostile.into();
        report.devices[1].host = hostile.into();
        report.devices[1].notes = vec![hostile.into()];
        report.devices[0].inventory_groups = vec![hostile.into()];
        let page = render(&report, &heading(1));
        assert_eq!(page.matches("<script").count(), 1, "only the page's own");
        assert_eq!(page.matches("</script").count(), 1, "only the page's own");
        // Tags and quotes only as text; `&amp;` shown, not read.
        for raw in ["<img", "\" onmouseover", "x'", "\x1b", " &amp;\\"] {
            assert!(!page.contains(raw), "{raw:?} reached the page: {page}");
        }
        let escaped = "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x \
                       onerror=alert(2)&gt; &quot; onmouseover=&quot;x&#39; &amp;amp;\\x1b[2J";
        // The message, the reason, the name (grid, table, failed list, set
        // header), the host, the note and the group.
        assert!(page.matches(escaped).count() >= 7, "{page}");
        assert!(
            page.contains(&format!("<h3>{escaped} (1 device)</h3>")),
            "{page}"
        );
    }

    #[test]
    fn long_sets_and_messages_are_cut_and_counted() {
        let mut report = sample(Command::Apply);
        report.devices[1].groups[1].lines =
            crate::report::tests::change_set(MAX_LINES_PER_SET + 5, 0);
        report.devices[2].error = Some(ErrorReport {
            class: ErrorClass::DeviceError,
            message: "x".repeat(MAX_TEXT_CHARS + 1),
        });
        let page = render(&report, &heading(1));
        assert_eq!(
            page.matches("<span class=\"add\">").count(),
            MAX_LINES_PER_SET
        );
        let cut = format!(">{}…</td>", "x".repeat(MAX_TEXT_CHARS - 1));
        assert!(page.contains(&cut), "a long message is cut: {page}");
        assert!(page.contains("…and 5 more lines"), "{page}");
    }

    /// Twelve distinct sets of about 2,000 lines: the page stops at
    /// [`MAX_LINES`], and the later sets say how many lines they have.
    #[test]
    fn many_sets_stop_at_the_page_budget() {
        let mut report = sample(Command::Apply);
        let template = report.devices[1].clone();
        report.devices = (0..12)
            .map(|i| {
                let mut d = template.clone();
                d.name = format!("r{i:02}");
                d.groups[1].lines = crate::report::tests::change_set(1990 + i, 0);
                d.groups[1].change_set = d.groups[1].lines.as_ref().map(|c| c.digest().into());
                d
            })
            .collect();
        let page = render(&report, &heading(0));
        assert_eq!(page.matches("<details id=\"cs-").count(), 12);
        assert_eq!(page.matches("<span class=\"add\">").count(), MAX_LINES);
        assert!(
            page.contains("…and 2001 more lines"),
            "the last set: {page}"
        );
    }

    /// 1,000 devices (a tenth failed with long messages, every device with
    /// a group, a third with notes): the page stays a few hundred kilobytes.
    #[test]
    fn a_thousand_devices_make_a_reasonable_page() {
        let devices: Vec<DeviceReport> = (0..1000)
            .map(|i| {
                let mut d = DeviceReport::skipped(format!("branch-{i:04}"), format!("10.1.{}.{}", i / 250, i % 250), "x");
                d.reason = None;
                d.status = if i % 10 == 0 { Status::Failed } else { Status::Ok };
                if d.status == Status::Failed {
                    d.error = Some(ErrorReport {
                        class: ErrorClass::Timeout,
                        message: "timed out after 30s waiting for the prompt after `show running-config | section object-group`".into(),
                    });
                }
                if i % 3 == 0 {
                    d.notes = vec!["IOS 15.1 is older than tsfleet is tested with".into()];
                }
                d.inventory_groups = vec![format!("region-{}", i % 8), "branch".into()];
                d.duration_ms = 1234;
                d
            })
            .collect();
        let page = render(&run(Command::Apply, devices), &heading(1));
        assert_eq!(page.matches("<tr id=\"d-").count(), 1000);
        // 1,000 devices: about 490 KB (the README says so).
        println!("{} bytes", page.len());
        assert!(page.len() < 1024 * 1024, "{} bytes", page.len());
    }
}
