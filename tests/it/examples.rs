//! The files in `examples/` are read as users' CI systems would read them
//! (YAML), and every tsfleet command in them must parse with this build's
//! command line: a renamed flag breaks this test, not someone's pipeline.

use crate::harness::repo_root;
use clap::Parser;
use std::path::{Path, PathBuf};

/// Every example file (YAML and shell-like), recursively.
fn example_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo_root().join("examples"), &mut out);
    out.sort();
    out
}

/// Values the CI systems would put in place of their variables.
fn substitute(line: &str) -> String {
    let mut s = line.to_string();
    for (from, to) in [
        ("${{ matrix.shard }}", "1"),
        ("${{ env.SHARDS }}", "4"),
        ("$((JOB_COMPLETION_INDEX + 1))", "1"),
        ("$CI_NODE_INDEX", "1"),
        ("$CI_NODE_TOTAL", "4"),
    ] {
        s = s.replace(from, to);
    }
    s
}

/// Shell words, with simple single and double quotes.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// The tsfleet command lines in a text: each starts at a `tsfleet` word and
/// runs to the end of its line (after joining `\` continuations), stopping at
/// shell operators.
fn commands(text: &str) -> Vec<String> {
    use clap::CommandFactory;
    let subcommands: Vec<String> = tsfleet::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let joined = text.replace("\\\n", " ");
    let mut found = Vec::new();
    for line in joined.lines() {
        let line = line.trim_start_matches(|c: char| c == '#' || c == '-' || c.is_whitespace());
        for (at, _) in line.match_indices("tsfleet ") {
            let before = &line[..at];
            if !(before.is_empty() || before.ends_with(' ') || before.ends_with('/')) {
                continue;
            }
            let command = line[at..]
                .split(['|', ';', '>', '&'])
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            // Prose and paths also say `tsfleet` (`useradd ... tsfleet`,
            // `cd /var/lib/tsfleet && ...`): a command is `tsfleet SUBCOMMAND`,
            // or any `tsfleet ...` at the start of a line or after `bin/`.
            let invoked = before.is_empty() || before.ends_with("bin/");
            let next = command.split_whitespace().nth(1).unwrap_or("");
            if !invoked && !subcommands.iter().any(|s| s == next) {
                continue;
            }
            found.push(command);
        }
    }
    found
}

/// Every string value in a YAML document, but for labels (`name:`), which
/// are prose.
fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(o) => o
            .iter()
            .filter(|(k, _)| k.as_str() != "name")
            .for_each(|(_, v)| strings(v, out)),
        _ => {}
    }
}

#[test]
fn every_tsfleet_command_in_the_examples_exists_with_its_flags() {
    let files = example_files();
    assert!(files.len() >= 3, "{files:?}");
    let mut checked = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let is_yaml = matches!(
            file.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        );
        let mut texts = Vec::new();
        if is_yaml {
            // Comments hold commands too (the Kubernetes example's steps).
            texts.push(
                text.lines()
                    .filter(|l| l.trim_start().starts_with('#'))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            // Parsed as the CI system would; the commands are in its values.
            let doc: serde_json::Value = serde_saphyr::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not valid YAML: {e}", file.display()));
            strings(&doc, &mut texts);
        } else {
            texts.push(text.clone());
        }
        let mut in_file = 0;
        for t in &texts {
            for command in commands(t) {
                let argv = words(&substitute(&command));
                if let Err(e) = tsfleet::cli::Cli::try_parse_from(&argv) {
                    panic!("{}: `{command}` does not parse:\n{e}", file.display());
                }
                in_file += 1;
            }
        }
        // A systemd timer only starts its service, which holds the command.
        let is_timer = file.extension().is_some_and(|e| e == "timer");
        assert!(
            in_file > 0 || is_timer,
            "{}: no tsfleet command found",
            file.display()
        );
        checked += in_file;
    }
    assert!(checked >= 10, "only {checked} commands checked");
}

#[test]
fn the_ci_examples_shard_the_same_way() {
    let gha =
        std::fs::read_to_string(repo_root().join("examples/github-actions/tsfleet-rollout.yml"))
            .unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&gha).unwrap();
    let apply = &doc["jobs"]["apply"];
    assert_eq!(apply["strategy"]["fail-fast"], false);
    assert_eq!(
        apply["strategy"]["matrix"]["shard"],
        serde_json::json!([1, 2, 3, 4])
    );
    assert_eq!(doc["jobs"]["merge"]["needs"], "apply");
    let gitlab =
        std::fs::read_to_string(repo_root().join("examples/gitlab-ci/.gitlab-ci.yml")).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&gitlab).unwrap();
    assert_eq!(doc["apply"]["parallel"], 4);
    assert_eq!(doc["report"]["artifacts"]["reports"]["junit"], "fleet.xml");
    let k8s =
        std::fs::read_to_string(repo_root().join("examples/kubernetes/tsfleet-indexed-job.yaml"))
            .unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&k8s).unwrap();
    assert_eq!(doc["spec"]["completionMode"], "Indexed");
    assert_eq!(doc["spec"]["completions"], 4);
}
