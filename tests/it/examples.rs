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
        // The CI examples' switch for accepting a real shrink, when set.
        ("$TSFLEET_EXTRA", "--allow-shrink"),
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

/// The Kubernetes Job's container, run as the pod would run it: its `sh -c`
/// command and environment, each volume a folder here, and the volumes
/// marked `readOnly` bind-mounted read-only (in a private mount namespace;
/// where `unshare` is not allowed, the folders are only checked to be left
/// as they were). The inventory's folder being read-only must not matter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubernetes_job_runs_with_its_inventory_read_only() {
    use tsfleet::inventory::{Policy, Secret};
    const LIST: &str = "corp-block.acme.threatstop.local";
    let yaml =
        std::fs::read_to_string(repo_root().join("examples/kubernetes/tsfleet-indexed-job.yaml"))
            .unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    let pod = &doc["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["command"], serde_json::json!(["/bin/sh", "-c"]));
    let script = container["args"][0].as_str().unwrap().to_string();

    // Each volume mount becomes a folder named after the volume.
    let dir = tempfile::tempdir().unwrap();
    let mut mounts: Vec<(String, PathBuf, bool)> = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let folder = dir.path().join(m["name"].as_str().unwrap());
            std::fs::create_dir(&folder).unwrap();
            let read_only = m["readOnly"].as_bool().unwrap_or(false);
            (
                m["mountPath"].as_str().unwrap().to_string(),
                folder,
                read_only,
            )
        })
        .collect();
    // The longest first: /etc/tsfleet-lists before /etc/tsfleet.
    mounts.sort_by_key(|(at, _, _)| std::cmp::Reverse(at.len()));
    let here = |text: &str| {
        let mut text = text.to_string();
        for (at, folder, _) in &mounts {
            text = text.replace(at.as_str(), &folder.display().to_string());
        }
        text
    };
    let folder = |name: &str| dir.path().join(name);
    assert!(
        mounts
            .iter()
            .any(|(_, f, ro)| *f == folder("inventory") && *ro),
        "the example mounts its inventory read-only"
    );

    // The inventory the ConfigMap would hold, its secrets from the environment.
    let prefixes: Vec<ipnet::Ipv4Net> = (0..50u32)
        .map(|i| ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(0xCB00_7100 + i), 32).unwrap())
        .collect();
    let inventory = folder("inventory").join("fleet.yaml");
    let bed = tsfleet::sim::TestBed::builder()
        .devices(8)
        .credentials("k8s-Pw-1618", "k8s-En-1414")
        .list(LIST, prefixes)
        .policy(
            "corp",
            Policy {
                block: vec![LIST.into()],
                ..Policy::default()
            },
        )
        .edit(|inv| {
            inv.defaults.password = Some(Secret::Env {
                env: "TSFLEET_PASSWORD".into(),
            });
            inv.defaults.enable_secret = Some(Secret::Env {
                env: "TSFLEET_ENABLE".into(),
            });
        })
        .start(&inventory)
        .await
        .unwrap();
    let inventory_text = inventory.display().to_string();
    let lists = folder("lists").join("lists.json");
    let lists_text = lists.display().to_string();
    let cwd = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        crate::harness::tsfleet(&["resolve", "-i", &inventory_text, "-o", &lists_text], &cwd)
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let before = |name: &str| {
        let mut names: Vec<_> = std::fs::read_dir(folder(name))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let (inventory_before, lists_before) = (before("inventory"), before("lists"));

    // The pod: its environment (secrets from the Secret), its script.
    let mut command = std::process::Command::new("unshare");
    let can_unshare = std::process::Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if can_unshare {
        let mut setup = String::from("set -e; ");
        for (_, f, _) in mounts.iter().filter(|(_, _, ro)| *ro) {
            setup += &format!("mount --bind -o ro '{0}' '{0}'; ", f.display());
        }
        // Proves the mount holds (tests run as root, who could write a 0555 folder).
        setup += &format!(
            "if touch '{}/probe' 2>/dev/null; then exit 99; fi; ",
            folder("inventory").display()
        );
        command.args(["-m", "--propagation", "private", "/bin/sh", "-c"]);
        command.arg(setup + &here(&script));
    } else {
        command = std::process::Command::new("/bin/sh");
        command.arg("-c").arg(here(&script));
    }
    let bin_dir = Path::new(crate::harness::tsfleet_bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    command
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", path)
        .env("JOB_COMPLETION_INDEX", "0")
        .env("TSFLEET_PASSWORD", "k8s-Pw-1618")
        .env("TSFLEET_ENABLE", "k8s-En-1414");
    let mut state_dir = None;
    for var in container["env"].as_array().unwrap() {
        if let Some(value) = var["value"].as_str() {
            command.env(var["name"].as_str().unwrap(), here(value));
            if var["name"] == "TSFLEET_STATE_DIR" {
                state_dir = Some(PathBuf::from(here(value)));
            }
        }
    }
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(folder("reports").join("shard-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["summary"]["failed"], 0, "{report}");
    let changed = report["summary"]["changed"].as_u64().unwrap();
    assert!(changed > 0, "the shard pushed its lists: {report}");
    for d in report["devices"].as_array().unwrap() {
        let name = d["name"].as_str().unwrap();
        let state = bed.fleet().device(name).unwrap().snapshot();
        assert_eq!(
            state.group("threatstop-block").unwrap().entries.len(),
            50,
            "{name}"
        );
    }
    assert!(
        folder("reports").join("transcripts-1").is_dir(),
        "transcripts written"
    );
    assert_eq!(
        before("inventory"),
        inventory_before,
        "nothing beside the inventory"
    );
    assert_eq!(before("lists"), lists_before);
    let state_dir = state_dir.expect("the example sets TSFLEET_STATE_DIR");
    // The lock, and the shrink guard's record for the next Job (on the state volume).
    for sub in ["locks", "applied"] {
        assert_eq!(
            std::fs::read_dir(state_dir.join(sub)).unwrap().count(),
            1,
            "{sub}: in the state dir"
        );
    }
    assert!(
        matches!(&pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "state"),
            Some(v) if v.get("persistentVolumeClaim").is_some()),
        "the state outlives the pod"
    );
    bed.shutdown().await;
}

/// The reviewed rollouts (issue 14): the plan job saves a plan and hands it
/// on as an artifact; the apply job waits for approval and applies exactly
/// that file.
#[test]
fn the_reviewed_rollouts_apply_after_approval_the_plan_they_saved() {
    let read = |path: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(repo_root().join(path)).unwrap();
        serde_saphyr::from_str(&text).unwrap()
    };
    let flag = |command: &str, flag: &str| {
        let words = words(command);
        let at = words.iter().position(|w| w == flag);
        at.map(|i| words[i + 1].clone())
            .unwrap_or_else(|| panic!("no {flag} in `{command}`"))
    };
    let one = |texts: &[String], sub: &str| {
        let found: Vec<String> = texts
            .iter()
            .flat_map(|t| commands(t))
            .filter(|c| c.starts_with(&format!("tsfleet {sub} ")))
            .collect();
        assert_eq!(found.len(), 1, "{sub}: {found:?}");
        found[0].clone()
    };
    let texts = |v: &serde_json::Value| {
        let mut out = Vec::new();
        strings(v, &mut out);
        out
    };

    let gha = read("examples/github-actions/tsfleet-reviewed-rollout.yml");
    let (plan_job, apply_job) = (&gha["jobs"]["plan"], &gha["jobs"]["apply"]);
    assert_eq!(apply_job["needs"], "plan");
    assert_eq!(
        apply_job["environment"], "routers",
        "reviewers approve the apply"
    );
    let plan = one(&texts(plan_job), "plan");
    let apply = one(&texts(apply_job), "apply");
    let saved = flag(&plan, "--out");
    assert_eq!(flag(&apply, "--plan"), saved);
    assert!(
        texts(plan_job).iter().any(|t| t.contains(&saved)),
        "uploaded"
    );

    let gitlab = read("examples/gitlab-ci/reviewed-rollout.gitlab-ci.yml");
    let (plan_job, apply_job) = (&gitlab["plan"], &gitlab["apply"]);
    assert_eq!(apply_job["when"], "manual");
    assert_eq!(apply_job["environment"]["name"], "routers");
    let plan = one(&texts(plan_job), "plan");
    let apply = one(&texts(apply_job), "apply");
    let saved = flag(&plan, "--out");
    assert_eq!(flag(&apply, "--plan"), saved);
    let artifacts = &plan_job["artifacts"]["paths"];
    assert!(
        artifacts
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == saved.as_str())
    );
}
