//! `--html`: a real apply against the test bed (simulated fleet over SSH,
//! lists from the list server) with a device that fails with hostile text,
//! its page rendered by headless Chromium (Debian package `chromium`) and
//! checked for what it shows after its script ran: the failed device first
//! with its class and message, the grid by inventory group, the table's
//! filter and sort driven by the URL fragment, and no injected markup.

use crate::shrink::{Bed, hosts, text};
use std::path::Path;
use std::process::Command;

/// rtr-002 refuses an entry with a message that would close a script
/// element, add an image with a handler and break out of an attribute if
/// the page pasted it as it is.
const PROFILE: &str = r#"devices:
  rtr-002: { faults: { error_entries: ['host 10.0.0.2'], error_text: "% Bad </script><img src=x onerror=alert(1)> \" onmouseover=\"x" } }
"#;

/// The page after its script ran, as headless Chromium serialises it;
/// `fragment` is the URL's (`#status=failed`), or empty. The flags keep
/// Chromium off the network (without them it waits on this machine's closed
/// one); the console goes to stderr, which is returned too.
fn dump_dom(page: &Path, fragment: &str) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}{fragment}", page.display()))
        .output()
        .expect("headless Chromium (Debian package chromium) renders the page");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// Where each of `needles` is in `haystack` (panics naming a missing one).
fn positions(haystack: &str, needles: &[&str]) -> Vec<usize> {
    needles
        .iter()
        .map(|n| {
            haystack
                .find(n)
                .unwrap_or_else(|| panic!("{n:?} not in {haystack}"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_shows_the_failed_device_first_and_its_table_sorts_and_filters() {
    let bed = Bed::start_with(3, PROFILE, hosts(4), |b| {
        b.edit(|inventory| {
            for group in ["east", "west"] {
                inventory.groups.insert(group.into(), Default::default());
            }
            for d in &mut inventory.devices {
                let group = if d.name == "rtr-003" { "west" } else { "east" };
                d.groups = vec![group.into()];
            }
        })
    })
    .await;
    let o = bed
        .run(
            "apply",
            &["--yes", "--html", "run.html", "--json", "run.json"],
        )
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let page = bed.dir.path().join("run.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(
            "% Bad &lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &quot; onmouseover=&quot;x"
        ),
        "the message, escaped: {html}"
    );
    for remote in ["http://", "https://", "src=\"", "url("] {
        assert!(
            !html.contains(remote),
            "{remote}: the page is self-contained"
        );
    }
    // The JSON report says which groups each device is in.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bed.dir.path().join("run.json")).unwrap())
            .unwrap();
    let groups: Vec<_> = json["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["inventory_groups"].clone()))
        .collect();
    assert!(
        groups.contains(&("rtr-003", serde_json::json!(["west"]))),
        "{groups:?}"
    );

    let (dom, console) = dump_dom(&page, "");
    assert!(
        !console.contains("Content Security Policy"),
        "the policy allows the page's own style and script: {console}"
    );
    // The script ran: the controls are shown and count the rows.
    assert!(
        dom.contains("<div class=\"controls\" id=\"controls\">"),
        "{dom}"
    );
    assert!(dom.contains("3 of 3 devices shown"), "{dom}");
    // Nothing hostile became markup: one script element, no image.
    assert!(!dom.contains("<img"), "{dom}");
    assert_eq!(dom.matches("<script").count(), 1, "{dom}");
    assert!(dom.contains("<title>tsfleet apply on "), "{dom}");
    // The failed device first, with its class and message.
    let failed = "<tr class=\"failed-row\"><td>rtr-002</td><td>127.0.0.1</td><td>device-error</td>\
                  <td class=\"msg\">`host 10.0.0.2` was refused: % Bad &lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; \" onmouseover=\"x";
    let at = positions(
        &dom,
        &[failed, "<section id=\"grid\">", "<table id=\"devices\">"],
    );
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{dom}");
    // The grid, by inventory group, each cell with its symbol and status.
    for cell in [
        "<h3>east (2 devices, 1 failed)</h3>",
        "href=\"#d-0\" title=\"rtr-002: failed\">✗ rtr-002</a>",
        "title=\"rtr-001: changed\">± rtr-001</a>",
        "<h3>west (1 device)</h3>",
        "title=\"rtr-003: changed\">± rtr-003</a>",
    ] {
        assert!(dom.contains(cell), "{cell}: {dom}");
    }
    // Table rows: failed first, then by name; each change set linked.
    let rows = positions(
        &dom,
        &[
            "<tr id=\"d-0\" data-i=\"0\" data-status=\"failed\"><td>rtr-002</td>",
            "<tr id=\"d-1\" data-i=\"1\" data-status=\"changed\"><td>rtr-001</td>",
            "<tr id=\"d-2\" data-i=\"2\" data-status=\"changed\"><td>rtr-003</td>",
        ],
    );
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "{dom}");
    assert!(
        dom.contains("<a href=\"#cs-1\">threatstop-block +4 −0</a>"),
        "{dom}"
    );
    assert!(
        dom.contains("<span class=\"add\">+ host 10.0.0.3</span>"),
        "{dom}"
    );

    // A link to the failed devices: the others are hidden.
    let (dom, _) = dump_dom(&page, "#status=failed");
    assert!(dom.contains("1 of 3 devices shown"), "{dom}");
    assert!(
        dom.contains("<tr id=\"d-0\" data-i=\"0\" data-status=\"failed\"><td>"),
        "shown: {dom}"
    );
    for row in ["d-1", "d-2"] {
        let hidden = format!(
            "<tr id=\"{row}\" data-i=\"{}\" data-status=\"changed\" hidden=\"\">",
            &row[2..]
        );
        assert!(dom.contains(&hidden), "{row} hidden: {dom}");
    }
    assert!(
        !dom.contains("data-status=\"failed\" hidden"),
        "the failed row stays: {dom}"
    );

    // Sorted by name, descending, and filtered by text.
    let (dom, _) = dump_dom(&page, "#sort=-name");
    let table = dom.find("<table id=\"devices\">").unwrap();
    let in_table = |name: &str| table + dom[table..].find(&format!("<td>{name}</td>")).unwrap();
    assert!(
        in_table("rtr-003") < in_table("rtr-002") && in_table("rtr-002") < in_table("rtr-001"),
        "{dom}"
    );
    assert!(
        dom.contains("<th data-key=\"name\" aria-sort=\"descending\">"),
        "{dom}"
    );
    let (dom, _) = dump_dom(&page, "#q=rtr-003");
    assert!(dom.contains("1 of 3 devices shown"), "{dom}");
    // A device's link to its change set opens it.
    let (dom, _) = dump_dom(&page, "#cs-1");
    assert!(dom.contains("<details id=\"cs-1\" open=\"\">"), "{dom}");
}
