//! The inventory as a network engineer meets it: `tsfleet inventory check`
//! messages for each kind of mistake (snapshot files), inheritance, paths
//! relative to the inventory's folder, `--limit`, masked secrets in `show`,
//! the example inventories, and the inventory `tsfleet sim` writes.
//!
//! Snapshots: `tests/snapshots/inventory/NAME.yaml` is checked with the real
//! binary from that folder, with `TSFLEET_PASSWORD` set (as where a run
//! would go) and that folder's absolute path written `SNAPSHOTS`; its stderr
//! must equal `NAME.txt`. Run with `UPDATE_SNAPSHOTS=1` to rewrite the `.txt`
//! files, then review them by eye.

use crate::harness::wait::wait_until;
use crate::harness::{repo_root, tsfleet, tsfleet_env};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tsfleet::inventory::{self, HostKeyPolicy, Origin, Secret};

fn snapshot_dir() -> PathBuf {
    repo_root().join("tests/snapshots/inventory")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn every_kind_of_mistake_is_reported_with_line_column_and_a_fix() {
    let dir = snapshot_dir();
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 13, "snapshot cases missing: {cases:?}");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_str().unwrap();
        let out = tsfleet_env(
            &["inventory", "check", "-i", name],
            &dir,
            &[("TSFLEET_PASSWORD", "not-shown")],
        );
        assert_eq!(out.status.code(), Some(3), "{name}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{name}: {}", stdout(&out));
        let got = stderr(&out).replace(&dir.display().to_string(), "SNAPSHOTS");
        // Neither a secret set in the environment nor one written in the
        // file (the cases write it `hunter2`, under typo'd keys too) shows.
        assert!(
            !got.contains("not-shown") && !got.contains("hunter2"),
            "{name}: {got}"
        );
        let expected_path = case.with_extension("txt");
        if update {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failures.push(format!(
                "--- {name}: expected ({})\n{expected}--- got\n{got}",
                expected_path.display()
            ));
        }
        // Every message starts with file:line:column.
        assert!(got.starts_with(&format!("error: {name}:")), "{name}: {got}");
    }
    assert!(
        failures.is_empty(),
        "{}\n(UPDATE_SNAPSHOTS=1 rewrites the snapshots)",
        failures.join("\n")
    );
}

/// `inventory/example.yaml` where it would run: its secret and key files
/// written (mode 0600) and its environment variables set.
fn example_site(dir: &Path) -> Vec<(&'static str, &'static str)> {
    let example = std::fs::read_to_string(repo_root().join("inventory/example.yaml")).unwrap();
    write(dir, "inventory/example.yaml", &example);
    // A real (throwaway) key: a run decodes it before contacting anything.
    let key = russh::keys::PrivateKey::random(&mut rand::rng(), russh::keys::Algorithm::Ed25519)
        .unwrap()
        .to_openssh(russh::keys::ssh_key::LineEnding::LF)
        .unwrap();
    for (file, text) in [
        ("inventory/secrets/enable", "secret\n"),
        ("inventory/keys/netops_ed25519", key.as_str()),
    ] {
        let p = write(dir, file, text);
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    }
    vec![("TSFLEET_PASSWORD", "pw"), ("TSFLEET_NICE_PASSWORD", "pw")]
}

#[test]
fn check_prints_a_one_line_summary() {
    let dir = tempfile::tempdir().unwrap();
    let vars = example_site(dir.path());
    let out = tsfleet_env(
        &["inventory", "check", "-i", "inventory/example.yaml"],
        dir.path(),
        &vars,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "inventory/example.yaml: ok, 5 devices, 2 groups, 2 policies\n"
    );
}

#[test]
fn check_reports_everything_a_run_would_refuse_in_one_go() {
    // The example as checked out: no secret set, no secret or key file.
    let out = tsfleet(
        &["inventory", "check", "-i", "inventory/example.yaml"],
        &repo_root(),
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    for needle in [
        "`defaults`: `password`: environment variable TSFLEET_PASSWORD is not set",
        "`defaults`: `enable_secret`: cannot read secret file ",
        "`private_key`: cannot read private key file ",
        "`password`: environment variable TSFLEET_NICE_PASSWORD is not set",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(
        err.ends_with(" mistakes in inventory/example.yaml\n"),
        "{err}"
    );
    // A run refuses the same inventory before contacting anything (exit 3),
    // DNS included: the example's servers are in TEST-NET-1, where a query
    // would time out into another message.
    let dir = tempfile::tempdir().unwrap();
    let vars = example_site(dir.path());
    std::fs::remove_file(dir.path().join("inventory/secrets/enable")).unwrap();
    let run = tsfleet_env(&["plan", "-i", "inventory/example.yaml"], dir.path(), &vars);
    assert_eq!(run.status.code(), Some(3), "{}", stderr(&run));
    let enable = std::path::absolute(dir.path().join("inventory/secrets/enable")).unwrap();
    assert!(
        stderr(&run).contains(&format!(
            "`enable_secret`: cannot read secret file {}",
            enable.display()
        )),
        "{}",
        stderr(&run)
    );
    write(
        dir.path(),
        "empty.yaml",
        "defaults: { username: u, password: p }\ndevices: []\n",
    );
    let run = tsfleet(&["plan", "-i", "empty.yaml"], dir.path());
    assert_eq!(run.status.code(), Some(3), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("empty.yaml: the inventory lists no device"),
        "{}",
        stderr(&run)
    );
}

/// Run tsfleet in `dir` and wait (polling, at most a minute, so a run
/// that blocks fails the test rather than hanging it) for its exit code
/// and stderr.
fn run_to_end(args: &[&str], dir: &std::path::Path) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(crate::harness::tsfleet_bin())
        .args(args)
        .current_dir(dir)
        .env("TSFLEET_STATE_DIR", crate::harness::state_dir(dir))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut status = None;
    wait_until(
        &format!("tsfleet {args:?} to end"),
        Duration::from_secs(60),
        || {
            status = child.try_wait().unwrap();
            status.is_some()
        },
    );
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    (status.unwrap().code(), err)
}

/// A secret that names `/dev/zero` or a FIFO nobody writes to: both the
/// check and a run refuse it at once (exit 3), naming the path, where
/// reading it would fill memory or wait forever.
#[test]
fn endless_and_blocking_secret_files_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pw.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for (file, what) in [("/dev/zero", "a character device"), ("pw.fifo", "a FIFO")] {
        let yaml = format!(
            "defaults:\n  username: u\n  password: {{ file: {file} }}\n\
             devices:\n  - {{ name: r1, host: 192.0.2.1 }}\n"
        );
        write(dir.path(), "inv.yaml", &yaml);
        let path = std::path::absolute(dir.path().join(file)).unwrap();
        let expected = format!(
            "secret file {} is {what}, not a regular file",
            path.display()
        );
        for args in [
            &["inventory", "check", "-i", "inv.yaml"][..],
            &["check", "-i", "inv.yaml"],
        ] {
            let (code, err) = run_to_end(args, dir.path());
            assert_eq!(code, Some(3), "{args:?}: {err}");
            assert!(err.contains(&expected), "{args:?}: {err}");
        }
    }
}

/// A secret file others can read is warned about as OpenSSH does, even
/// with `-q`, which hides other warnings.
#[test]
fn an_unprotected_secret_file_is_warned_about_even_with_quiet() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let pw = write(dir.path(), "pw", "s3cret\n");
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
    write(
        dir.path(),
        "inv.yaml",
        "defaults:\n  username: u\n  password: { file: pw }\n  enable_secret: literal\n\
         devices:\n  - { name: r1, host: 192.0.2.1 }\n  - { name: r2, host: 192.0.2.2 }\n",
    );
    let path = std::path::absolute(&pw).unwrap();
    let warning = format!(
        "UNPROTECTED SECRET FILE: permissions 0644 for {p} are too open: other users can read it; run `chmod 600 {p}`",
        p = path.display()
    );
    let out = tsfleet(&["-q", "inventory", "check", "-i", "inv.yaml"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    // Once, though two devices use the file; the secret written in the
    // inventory is a security warning too (its value masked).
    assert_eq!(err.matches(&warning).count(), 1, "{err}");
    assert!(
        err.contains("`enable_secret` is written in the inventory itself"),
        "{err}"
    );
    assert!(!err.contains("literal"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = tsfleet(&["-q", "inventory", "check", "-i", "inv.yaml"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("UNPROTECTED"), "{}", stderr(&out));
}

#[test]
fn the_example_inventories_load() {
    for name in ["example.yaml", "lab.yaml"] {
        let loaded = inventory::load(&repo_root().join("inventory").join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!loaded.devices().is_empty(), "{name}");
    }
    let lab = inventory::load(&repo_root().join("inventory/lab.yaml")).unwrap();
    let ports: Vec<u16> = lab.devices().iter().map(|d| d.port).collect();
    assert_eq!(ports, [20001, 20002, 20003]);
    assert!(
        lab.devices()
            .iter()
            .all(|d| d.host_key_policy == HostKeyPolicy::AcceptNew)
    );
}

const LAYERS: &str = "\
policies:
  corp: { block: [corp-block.acme.threatstop.local] }
  small: { block: [small-block.acme.threatstop.local] }
defaults:
  username: netops
  policy: corp
  port: 2200
  connect_timeout_ms: 1000
  command_timeout_ms: 1000
groups:
  a: { port: 2201, connect_timeout_ms: 2000, block_group: A-BLOCK }
  b: { port: 2202, policy: small }
devices:
  - { name: ab, host: 192.0.2.1, groups: [a, b] }
  - { name: ba, host: 192.0.2.2, groups: [b, a] }
  - { name: own, host: 192.0.2.3, groups: [a, b], port: 2203, save_config: false }
  - { name: plain, host: 192.0.2.4 }
";

#[test]
fn settings_inherit_defaults_then_groups_in_order_then_device() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = inventory::load(&write(dir.path(), "inv.yaml", LAYERS)).unwrap();
    let d = |n: &str| loaded.device(n).unwrap().clone();

    let ab = d("ab");
    assert_eq!(ab.port, 2202, "the later group wins");
    assert_eq!(ab.origins["port"], Origin::Group("b".into()));
    assert_eq!(ab.connect_timeout, Duration::from_millis(2000));
    assert_eq!(ab.command_timeout, Duration::from_millis(1000));
    assert_eq!(ab.origins["command_timeout_ms"], Origin::Defaults);
    assert_eq!(ab.policy.as_deref(), Some("small"));
    assert_eq!(ab.block_group, "A-BLOCK");
    assert_eq!(ab.allow_group, "threatstop-allow");
    assert_eq!(ab.origins["allow_group"], Origin::BuiltIn);

    assert_eq!(d("ba").port, 2201, "group order is the device's");
    let own = d("own");
    assert_eq!(own.port, 2203, "the device wins");
    assert_eq!(own.origins["port"], Origin::Device);
    assert!(!own.save_config);

    let plain = d("plain");
    assert_eq!(plain.port, 2200);
    assert_eq!(plain.policy.as_deref(), Some("corp"));
    assert!(plain.save_config && plain.legacy_algorithms);
    assert_eq!(plain.host_key_policy, HostKeyPolicy::Strict);
    assert_eq!(plain.line, 17);
}

#[test]
fn built_in_defaults_apply_and_the_only_policy_is_implied() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "policies:\n  only: { block: [b.threatstop.local] }\n\
                defaults: { username: u }\ndevices:\n  - { name: r1, host: r1.example.net }\n";
    let loaded = inventory::load(&write(dir.path(), "inv.yaml", yaml)).unwrap();
    let r1 = &loaded.devices()[0];
    assert_eq!(r1.policy.as_deref(), Some("only"));
    assert_eq!(r1.port, 22);
    assert_eq!(
        (r1.block_group.as_str(), r1.allow_group.as_str()),
        ("threatstop-block", "threatstop-allow")
    );
    assert_eq!(r1.connect_timeout, Duration::from_secs(10));
    assert_eq!(r1.command_timeout, Duration::from_secs(30));
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .expect("the tests run with HOME set (`~` in the default known_hosts)");
    assert_eq!(r1.known_hosts, PathBuf::from(home).join(".ssh/known_hosts"));
}

#[test]
fn relative_paths_resolve_against_the_inventory_folder_not_the_cwd() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    write(&site, "secrets/pw", "s3cret\n");
    write(
        &site,
        "fleet.yaml",
        "defaults:\n  username: u\n  password: { file: secrets/pw }\n  known_hosts: kh\n  private_key: keys/id\n\
         devices:\n  - { name: r1, host: 192.0.2.1 }\n",
    );
    // Loaded from another folder, through a relative path.
    let out = tsfleet(&["inventory", "show", "-i", "site/fleet.yaml"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let site_abs = std::path::absolute(&site).unwrap();
    let text = stdout(&out);
    assert!(
        text.contains(&site_abs.join("kh").display().to_string()),
        "{text}"
    );
    assert!(
        text.contains(&site_abs.join("keys/id").display().to_string()),
        "{text}"
    );

    let loaded = inventory::load(&site.join("fleet.yaml")).unwrap();
    let r1 = &loaded.devices()[0];
    assert_eq!(r1.known_hosts, site_abs.join("kh"));
    match &r1.password {
        Some(Secret::File { file }) => assert_eq!(file, &site_abs.join("secrets/pw")),
        other => panic!("{other:?}"),
    }
    // A resolved secret reveals from anywhere.
    let pw = r1
        .password
        .as_ref()
        .unwrap()
        .reveal(Path::new("/nonexistent"))
        .unwrap();
    assert_eq!(pw, "s3cret");
}

#[test]
fn limit_selects_by_glob_group_braces_and_exclusion_and_refuses_patterns_matching_nothing() {
    let root = repo_root();
    let show = |patterns: &[&str]| {
        let mut args = vec!["inventory", "show", "-i", "inventory/example.yaml"];
        args.extend_from_slice(patterns);
        tsfleet(&args, &root)
    };
    let headers = |o: &std::process::Output| -> Vec<String> {
        stdout(o)
            .lines()
            .filter(|l| !l.starts_with(' ') && !l.is_empty())
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect()
    };
    let out = show(&["@branch"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(headers(&out), ["br-paris", "br-lyon", "br-nice"]);
    let out = show(&["hq-*", "br-lyon"]);
    assert_eq!(headers(&out), ["hq-core-1", "hq-core-2", "br-lyon"]);
    let out = show(&["@legacy", "br-l*"]);
    assert_eq!(headers(&out), ["br-lyon"], "a union, each device once");

    let out = show(&["hq-*", "rtr-9*"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("--limit rtr-9*: no device name matches"),
        "{}",
        stderr(&out)
    );
    let out = show(&["branch"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("write `@branch`"), "{}", stderr(&out));

    // Braces keep their commas; exclusions come after the inclusions.
    let out = show(&["br-{paris,nice}"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(headers(&out), ["br-paris", "br-nice"]);
    let out = show(&["@branch,!br-lyon", "hq-core-{1}"]);
    assert_eq!(headers(&out), ["hq-core-1", "br-paris", "br-nice"]);
    let out = show(&["!@branch"]);
    assert_eq!(headers(&out), ["hq-core-1", "hq-core-2"]);
    for (bad, says) in [
        (
            "br-{paris,nice",
            "--limit br-{paris,nice: a `{` is never closed",
        ),
        ("!br-rome", "--limit !br-rome: no device name matches"),
    ] {
        let out = show(&[bad]);
        assert_eq!(out.status.code(), Some(3));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
}

#[test]
fn show_masks_secrets_and_names_where_values_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "defaults:\n  username: u\n  password: hunter2-literal\n  enable_secret: { env: ENABLE_VAR }\n\
                groups:\n  g: { port: 2222 }\n\
                devices:\n  - { name: r1, host: 192.0.2.1, groups: [g] }\n  - { name: r2, host: 192.0.2.2, password: { file: pw } }\n";
    write(dir.path(), "inv.yaml", yaml);
    let out = tsfleet(&["inventory", "show", "-i", "inv.yaml"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
    assert!(text.contains("******"), "{text}");
    assert!(text.contains("{ env: ENABLE_VAR }"), "{text}");
    assert!(text.contains("{ file: "), "{text}");
    let port_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("port "))
        .unwrap();
    assert!(
        port_line.contains("2222") && port_line.ends_with("(group g)"),
        "{port_line}"
    );
    // The literal is accepted, with a warning naming where it is, not what it is.
    let warn = stderr(&out);
    assert!(
        warn.contains("inv.yaml:3:13") && warn.contains("`password`"),
        "{warn}"
    );
}

#[test]
fn show_names_the_ipv6_settings_and_where_they_came_from_and_check_refuses_clashes() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "defaults:\n  username: u\n  password: { env: PW }\n  block_group_v6: TS-BLOCK6\n\
                groups:\n  xe: { ipv6: true }\n\
                devices:\n  - { name: r1, host: 192.0.2.1, groups: [xe], allow_group_v6: R1-ALLOW6 }\n  - { name: r2, host: 192.0.2.2 }\n";
    write(dir.path(), "inv.yaml", yaml);
    let out = tsfleet(&["inventory", "show", "-i", "inv.yaml"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let rows = |device: &str| -> Vec<String> {
        let block = text.split("\n\n").find(|b| b.starts_with(device)).unwrap();
        ["ipv6", "block_group_v6", "allow_group_v6"]
            .iter()
            .map(|key| {
                let line = block
                    .lines()
                    .find(|l| l.trim_start().starts_with(&format!("{key} ")))
                    .unwrap_or_else(|| panic!("{key} in {block}"));
                line.split_whitespace().collect::<Vec<_>>().join(" ")
            })
            .collect()
    };
    assert_eq!(
        rows("r1"),
        [
            "ipv6 true (group xe)",
            "block_group_v6 TS-BLOCK6 (defaults)",
            "allow_group_v6 R1-ALLOW6 (device)"
        ]
    );
    assert_eq!(
        rows("r2"),
        [
            "ipv6 false (built-in default)",
            "block_group_v6 TS-BLOCK6 (defaults)",
            "allow_group_v6 threatstop-allow-v6 (built-in default)"
        ]
    );

    // The IPv6 names share IOS's one object-group namespace with the IPv4
    // ones: a clash is refused where it was written, once IPv6 is on.
    let yaml = yaml.replace("R1-ALLOW6", "threatstop-allow");
    write(dir.path(), "clash.yaml", &yaml);
    let out = tsfleet(&["inventory", "check", "-i", "clash.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("clash.yaml:8:64: device `r1`: `allow_group` (built-in default) and `allow_group_v6` (device) are both `threatstop-allow`"),
        "{err}"
    );
    assert!(!err.contains("`r2`"), "r2 does not use IPv6: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inventory_written_by_the_simulator_loads_and_resolves() {
    let fleet = tsfleet::sim::SimFleet::start(tsfleet::sim::FleetConfig {
        devices: 3,
        password: "pw-sim".into(),
        profile: tsfleet::sim::Profile::parse("devices: { rtr-002: { version: '17.9.4a' } }")
            .unwrap(),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab/inventory.yaml");
    fleet.write_inventory(&path).unwrap();
    let loaded = inventory::load(&path).unwrap();
    assert_eq!(loaded.devices().len(), 3);
    for (d, sim) in loaded.devices().iter().zip(fleet.devices()) {
        assert_eq!(d.name, sim.name);
        assert_eq!(d.port, sim.addr.port());
        assert_eq!(d.username, "admin");
        assert_eq!(d.policy, None, "the simulator's inventory has no policies");
        assert_eq!(
            d.known_hosts,
            std::path::absolute(dir.path().join("lab/inventory.known_hosts")).unwrap()
        );
        let pw = d.password.as_ref().unwrap().reveal(Path::new("/")).unwrap();
        assert_eq!(pw, "pw-sim");
        // Only the IOS XE device has v6-network groups to carry IPv6 items.
        assert_eq!(d.ipv6, d.name == "rtr-002", "{}", d.name);
    }
    let out = tsfleet(
        &["inventory", "check", "-i", "lab/inventory.yaml"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "lab/inventory.yaml: ok, 3 devices, 0 groups, 0 policies\n"
    );
}

/// Every file tsfleet reads whole (an inventory, a report to merge, an
/// inventory to import, a simulator profile) is refused at once when it is
/// `/dev/zero` or a FIFO nobody writes to (exit 3, naming it), where
/// reading it would fill memory or wait forever.
#[test]
fn endless_and_blocking_input_files_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("in.fifo"))
        .status()
        .unwrap();
    assert!(made.success());
    for file in ["/dev/zero", "in.fifo"] {
        for args in [
            &["inventory", "check", "-i", file][..],
            &["plan", "-i", file],
            &["report", "merge", file],
            &["import-inventory", "--from", "ansible", file],
            &[
                "sim",
                "--profile",
                file,
                "--base-port",
                "0",
                "--dns-port",
                "0",
            ],
        ] {
            let (code, err) = run_to_end(args, dir.path());
            assert_eq!(code, Some(3), "{args:?}: {err}");
            assert!(
                err.contains(file) && err.contains("not a regular file"),
                "{args:?}: {err}"
            );
        }
    }
}
