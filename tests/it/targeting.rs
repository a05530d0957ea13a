//! `--limit` through the real binary: a re-run of the devices a JSON report
//! lists as failed (`@failed:REPORT.json`) against the test bed, and every `--limit` example in the
//! README and `--help` parsing as written.

use crate::harness::repo_root;
use crate::inventory::stderr;
use crate::shrink::{Bed, hosts, text};
use clap::Parser;
use serde_json::Value;
use tsfleet::sim::Faults;

fn statuses(bed: &Bed, report: &str) -> Vec<(String, String)> {
    let json: Value =
        serde_json::from_slice(&std::fs::read(bed.dir.path().join(report)).unwrap()).unwrap();
    json["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_with_limit_failed_report_acts_on_exactly_the_failed_devices() {
    // rtr-003 refuses one entry of the list: its apply fails.
    let profile = "devices:\n  rtr-003: { faults: { error_entries: ['host 10.0.0.4'] } }\n";
    let bed = Bed::start(4, profile, hosts(8)).await;
    let out = bed.run("apply", &["--yes", "--json", "run.json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        statuses(&bed, "run.json"),
        pairs(&[
            ("rtr-001", "changed"),
            ("rtr-002", "changed"),
            ("rtr-003", "failed"),
            ("rtr-004", "changed"),
        ])
    );

    // The others, by exclusion of the failures: converged.
    let out = bed
        .run(
            "plan",
            &["--limit", "!@failed:run.json", "--json", "others.json"],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        statuses(&bed, "others.json"),
        pairs(&[("rtr-001", "ok"), ("rtr-002", "ok"), ("rtr-004", "ok")])
    );

    // The cause fixed, the re-run contacts rtr-003 alone and converges it.
    bed.bed
        .fleet()
        .device("rtr-003")
        .unwrap()
        .set_faults(Faults::default());
    let logins = |name: &str| {
        bed.bed
            .fleet()
            .device(name)
            .unwrap()
            .snapshot()
            .stats
            .logins
    };
    let before: Vec<u64> = ["rtr-001", "rtr-002", "rtr-004"].map(logins).to_vec();
    let out = bed
        .run(
            "apply",
            &[
                "--yes",
                "--limit",
                "@failed:run.json",
                "--json",
                "again.json",
            ],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        statuses(&bed, "again.json"),
        pairs(&[("rtr-003", "changed")])
    );
    let after: Vec<u64> = ["rtr-001", "rtr-002", "rtr-004"].map(logins).to_vec();
    assert_eq!(before, after, "no other device was contacted");

    // A report of another inventory, as the failed rtr-003 renamed.
    let other = std::fs::read_to_string(bed.dir.path().join("run.json"))
        .unwrap()
        .replace("\"rtr-003\"", "\"edge-9\"");
    std::fs::write(bed.dir.path().join("other.json"), other).unwrap();
    // Each refused before any login (exit 3), the message naming the problem.
    for (limit, says) in [
        // Nothing failed in the re-run: selecting its failures is an error.
        (
            "@failed:again.json",
            "--limit @failed:again.json: no device failed in",
        ),
        // Another inventory's report: an error naming the strangers.
        ("@failed:other.json", "does not have: edge-9"),
        // A missing report names its path.
        ("@unfinished:nope.json", "nope.json"),
    ] {
        let out = bed.run("plan", &["--limit", limit]).await;
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        assert!(stderr(&out).contains(says), "{says}: {}", text(&out));
    }
}

/// The values given to `--limit` in a text (`--limit 'x'`, `--limit x`).
fn limit_values(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("--limit ") {
        let rest = &text[at + "--limit ".len()..];
        let value = match rest.strip_prefix('\'') {
            Some(quoted) => quoted.split('\'').next().unwrap(),
            None => rest
                .split(|c: char| c.is_whitespace() || c == '`')
                .next()
                .unwrap(),
        };
        // The option tables' placeholder is not an example.
        if value != "PATTERN" && !value.is_empty() {
            found.push(value.to_string());
        }
    }
    found
}

#[test]
fn every_limit_example_in_the_readme_and_help_parses() {
    use clap::CommandFactory;
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let mut cli = tsfleet::cli::Cli::command();
    let mut help = String::new();
    for name in ["plan", "apply", "check", "remove"] {
        help += &cli
            .find_subcommand_mut(name)
            .unwrap()
            .render_long_help()
            .to_string();
    }
    let from_help = limit_values(&help);
    assert!(
        ["hq-{a,b}", "!@lab", "@failed:run.json"]
            .iter()
            .all(|e| from_help.iter().any(|v| v == e)),
        "--help teaches braces and exclusions: {from_help:?}"
    );
    let from_readme = limit_values(&readme);
    assert!(
        from_readme.iter().any(|v| v.starts_with("@failed:")),
        "{from_readme:?}"
    );
    for value in from_help.iter().chain(&from_readme) {
        if let Err(e) = tsfleet::inventory::Limit::parse(std::slice::from_ref(value)) {
            panic!("--limit {value} does not parse: {e}");
        }
    }
    // Whole README command lines with --limit parse as command lines too.
    for line in readme.lines().map(str::trim) {
        if !(line.starts_with("tsfleet ") && line.contains("--limit ")) {
            continue;
        }
        let command = line.split(" #").next().unwrap();
        let argv: Vec<String> = command
            .split_whitespace()
            .map(|w| w.trim_matches('\'').to_string())
            .collect();
        if let Err(e) = tsfleet::cli::Cli::try_parse_from(&argv) {
            panic!("`{command}` does not parse:\n{e}");
        }
    }
}
