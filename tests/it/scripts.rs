//! What the single-router ThreatSTOP script did, for the fleet: `tsfleet acl`,
//! `tsfleet import-conf` (threatstop.conf files modelled on the vendor page),
//! `tsfleet init`, and the cron/systemd scheduling examples. Each runs the
//! real binary; every inventory written must pass `tsfleet inventory check`
//! once the environment variables it names are set.

use crate::harness::{repo_root, tsfleet, tsfleet_env};
use clap::Parser;
use std::path::Path;

fn out(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn check(dir: &Path, inventory: &str) {
    // The check reads every secret, as a run would: set those it names.
    let loaded = tsfleet::inventory::load(&dir.join(inventory)).unwrap();
    let names: Vec<String> = loaded
        .devices()
        .iter()
        .flat_map(|d| [&d.password, &d.enable_secret])
        .filter_map(|s| match s {
            Some(tsfleet::inventory::Secret::Env { env }) => Some(env.clone()),
            _ => None,
        })
        .collect();
    let vars: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "set")).collect();
    let o = tsfleet_env(&["inventory", "check", "-i", inventory], dir, &vars);
    assert!(o.status.success(), "inventory check: {}", err(&o));
}

/// A threatstop.conf as the script's setup writes it (see the vendor page).
fn conf(device: &str, block: &str, password: &str, enable: &str) -> String {
    format!(
        "# Configuration file for ThreatSTOP Cisco ISR script\n\
         # ThreatSTOP DNS Servers\n\
         dns_server=192.0.2.53\n\
         # Internal IP Address of the ISR\n\
         device={device}\n\
         # ThreatSTOP Block List Name\n\
         block_list={block}.acme.threatstop.local\n\
         # ThreatSTOP Allow List Name\n\
         allow_list=corp-allow.acme.threatstop.local\n\
         # Name of the network object group for the block lists\n\
         object_group_block=threatstop-block\n\
         # Name of the network object group for the allow lists\n\
         object_group_allow=threatstop-allow\n\
         # IOS username for SSH access\n\
         username=tsadmin\n\
         # IOS password for SSH access\n\
         password={password}\n\
         # Enable password for the ISR\n\
         enable_pw={enable}\n\
         # The type of Cisco device. Current only supports FWSM3\n\
         platform=FWSM3\n\
         # The type of Cisco device. Current always ios\n\
         personality=ios\n\
         \n\
         # Configuration for the script.\n\
         dns_port=53\n\
         max_policy_size=30000\n\
         # Log file to be uploaded by the script\n\
         logfile=/var/log/cisco.log\n\
         # URL to upload logs to. Used by the script\n\
         url=https://logs.example.net/upload\n"
    )
}

#[test]
fn import_conf_writes_a_valid_inventory_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("rtr-001.conf"),
        conf("192.0.2.1", "corp-block", "Sw0rdfish-1", "En4ble-1"),
    )
    .unwrap();
    std::fs::write(
        d.join("rtr-002.conf"),
        conf("192.0.2.2", "corp-block", "Sw0rdfish-2", "En4ble-2"),
    )
    .unwrap();
    std::fs::create_dir(d.join("lab")).unwrap();
    std::fs::write(
        d.join("lab/threatstop.conf"),
        conf("192.0.2.3", "lab-block", "Sw0rdfish-3", "") + "colour=blue\n",
    )
    .unwrap();
    let args = [
        "import-conf",
        "rtr-001.conf",
        "rtr-002.conf",
        "lab/threatstop.conf",
        "-o",
        "fleet.yaml",
    ];
    let o = tsfleet(&args, d);
    assert!(o.status.success(), "{}", err(&o));
    let yaml = std::fs::read_to_string(d.join("fleet.yaml")).unwrap();
    let all = format!("{yaml}{}{}", out(&o), err(&o));
    for secret in ["Sw0rdfish", "En4ble"] {
        assert!(!all.contains(secret), "a secret leaked:\n{all}");
    }
    // The variables to set are named on stderr.
    for var in [
        "TSFLEET_PASSWORD_RTR_001",
        "TSFLEET_ENABLE_RTR_002",
        "TSFLEET_PASSWORD_192_0_2_3",
    ] {
        assert!(err(&o).contains(var), "{var} not named: {}", err(&o));
    }
    assert!(
        !err(&o).contains("TSFLEET_ENABLE_192_0_2_3"),
        "blank enable_pw means none"
    );
    assert!(
        err(&o).contains("lab/threatstop.conf:32: unknown key `colour`"),
        "{}",
        err(&o)
    );
    assert!(
        yaml.contains("logfile is not an inventory setting: upload it with `tsfleet logs upload -i INVENTORY --syslog /var/log/cisco.log`"),
        "{yaml}"
    );
    assert!(
        yaml.contains("    log_upload:\n      url: https://logs.example.net/upload\n"),
        "{yaml}"
    );
    check(d, "fleet.yaml");
    let inv = tsfleet::inventory::load(&d.join("fleet.yaml")).unwrap();
    assert_eq!(inv.inventory.policies.len(), 2, "corp and lab lists");
    let names: Vec<&str> = inv.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["rtr-001", "rtr-002", "192.0.2.3"]);
    assert_eq!(inv.devices[0].policy, inv.devices[1].policy);

    // Never over an existing file without --force.
    let o = tsfleet(&args, d);
    assert_eq!(o.status.code(), Some(3));
    assert!(err(&o).contains("--force"), "{}", err(&o));
    let mut forced = args.to_vec();
    forced.push("--force");
    assert!(tsfleet(&forced, d).status.success());
}

#[test]
fn import_conf_mistakes_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bad = conf("192.0.2.1", "corp-block", "Sw0rdfish", "x")
        .replace("dns_port=53", "dns_port=fifty-three");
    std::fs::write(d.join("r1.conf"), bad).unwrap();
    let o = tsfleet(&["import-conf", "r1.conf"], d);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        err(&o).contains("r1.conf:26: `dns_port` is not a port number"),
        "{}",
        err(&o)
    );
    assert!(!err(&o).contains("Sw0rdfish"));
    assert!(out(&o).is_empty(), "nothing written on a mistake");
}

#[test]
fn acl_prints_the_groups_each_device_uses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("fleet.yaml"),
        "dns: { servers: [127.0.0.1] }\n\
         policies: { corp: { block: [corp-block.acme.threatstop.local] } }\n\
         defaults: { username: netops, password: { env: TSFLEET_PASSWORD } }\n\
         groups: { lab: { block_group: lab-block } }\n\
         devices:\n  \
           - { name: rtr-001, host: 192.0.2.1 }\n  \
           - { name: rtr-002, host: 192.0.2.2 }\n  \
           - { name: lab-1, host: 192.0.2.9, groups: [lab] }\n  \
           - { name: xe-1, host: 192.0.2.10, ipv6: true }\n",
    )
    .unwrap();
    // 64 characters fit an IPv4 ACL; with an `ipv6: true` device selected
    // the IPv6 ACL's `-V6` would not fit: refused, naming the flag.
    let long = "A".repeat(64);
    let o = tsfleet(
        &["acl", "-i", "fleet.yaml", "rtr-*", "--acl-name", &long],
        d,
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains(&format!("ip access-list extended {long}\n")));
    let o = tsfleet(&["acl", "-i", "fleet.yaml", "xe-1", "--acl-name", &long], d);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    assert!(
        err(&o).contains("--acl-name") && err(&o).contains("at most 61"),
        "{}",
        err(&o)
    );
    let o = tsfleet(&["acl", "-i", "fleet.yaml", "xe-1"], d);
    assert!(
        out(&o).contains("ipv6 access-list THREATSTOP-V6\n"),
        "{}",
        out(&o)
    );
    let o = tsfleet(&["acl", "-i", "fleet.yaml", "--all"], d);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    assert!(
        text.starts_with(
            "! rtr-001 (192.0.2.1), rtr-002 (192.0.2.2): paste in configuration mode, then apply the ACL to the interfaces you choose\n\
             ip access-list extended THREATSTOP\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(" deny ip any object-group threatstop-block\n"),
        "{text}"
    );
    assert!(text.contains("! lab-1 (192.0.2.9): paste"), "{text}");
    assert!(
        text.contains(" deny ip object-group lab-block any\n"),
        "{text}"
    );

    let o = tsfleet(
        &["acl", "-i", "fleet.yaml", "lab-*", "--acl-name", "TS-IN"],
        d,
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("ip access-list extended TS-IN\n"));
    assert!(!out(&o).contains("rtr-001"));

    // Neither devices nor --all (a usage error: 3); a bad ACL name.
    assert_eq!(
        tsfleet(&["acl", "-i", "fleet.yaml"], d).status.code(),
        Some(3)
    );
    let o = tsfleet(
        &["acl", "-i", "fleet.yaml", "--all", "--acl-name", "101"],
        d,
    );
    assert!(!o.status.success());
    assert!(err(&o).contains("must start with a letter"), "{}", err(&o));
}

#[test]
fn init_without_a_terminal_uses_the_flags_and_check_refuses_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = tsfleet(&["init", "-o", "starter.yaml"], d);
    assert!(o.status.success(), "{}", err(&o));
    let text = std::fs::read_to_string(d.join("starter.yaml")).unwrap();
    assert!(text.contains("CHANGE ME"), "{text}");
    assert!(
        text.contains("password: { env: TSFLEET_PASSWORD }"),
        "{text}"
    );
    assert!(
        err(&o).contains("4 placeholders marked `# CHANGE ME`"),
        "{}",
        err(&o)
    );
    // No allow list was named: none is written, not a placeholder.
    assert!(!text.contains("ALLOW-LIST"), "{text}");
    // Every placeholder (DNS servers, block list, username, device) is
    // refused, each at its line; nothing is called fine.
    let env = [("TSFLEET_PASSWORD", "set"), ("TSFLEET_ENABLE", "set")];
    let o = tsfleet_env(&["inventory", "check", "-i", "starter.yaml"], d, &env);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    assert!(!out(&o).contains("ok"), "{}", out(&o));
    for (n, line) in text.lines().enumerate() {
        if line.contains("# CHANGE ME") {
            let at = format!("starter.yaml:{}:", n + 1);
            assert!(err(&o).contains(&at), "{at} not refused:\n{}", err(&o));
        }
    }
    assert_eq!(
        err(&o)
            .matches("a placeholder `tsfleet init` wrote")
            .count(),
        4
    );
    // A run refuses them too, before contacting anything.
    let o = tsfleet_env(&["plan", "-i", "starter.yaml"], d, &env);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    assert!(err(&o).contains("a placeholder"), "{}", err(&o));

    // Everything but the allow list given: a file that checks, with no allow list.
    let o = tsfleet(
        &[
            "init",
            "-o",
            "no-allow.yaml",
            "--block-list",
            "corp-block.acme.threatstop.local",
            "--device",
            "192.0.2.1",
            "--username",
            "tsadmin",
            "--dns-server",
            "192.0.2.53",
        ],
        d,
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(!err(&o).contains("placeholder"), "{}", err(&o));
    check(d, "no-allow.yaml");
    let inv = tsfleet::inventory::load(&d.join("no-allow.yaml")).unwrap();
    assert!(inv.inventory.policies["threatstop"].allow.is_empty());

    let o = tsfleet(
        &[
            "init",
            "-o",
            "fleet.yaml",
            "--block-list",
            "corp-block.acme.threatstop.local",
            "--allow-list",
            "corp-allow.acme.threatstop.local",
            "--device",
            "192.0.2.1",
            "--device",
            "br-2.example.net",
            "--username",
            "tsadmin",
            "--dns-port",
            "5353",
            "--max-policy-size",
            "20000",
        ],
        d,
    );
    assert!(o.status.success(), "{}", err(&o));
    // Only the DNS servers were left: one placeholder, refused.
    assert!(
        err(&o).contains("1 placeholder marked `# CHANGE ME`"),
        "{}",
        err(&o)
    );
    let text = std::fs::read_to_string(d.join("fleet.yaml")).unwrap();
    let fixed = text.replace(
        "[192.0.2.53]   # CHANGE ME: the ThreatSTOP DNS servers of your account",
        "[192.0.2.53]",
    );
    assert_ne!(fixed, text);
    std::fs::write(d.join("fleet.yaml"), fixed).unwrap();
    check(d, "fleet.yaml");
    let inv = tsfleet::inventory::load(&d.join("fleet.yaml")).unwrap();
    assert_eq!(
        inv.inventory.policies["threatstop"].allow,
        ["corp-allow.acme.threatstop.local"]
    );
    assert_eq!(inv.devices.len(), 2);
    assert_eq!(inv.devices[1].host, "br-2.example.net");
    assert_eq!(inv.inventory.dns.as_ref().unwrap().port, 5353);
    assert_eq!(
        inv.inventory.policies["threatstop"].max_policy_size,
        Some(20000)
    );

    // Never over an existing file without --force.
    let o = tsfleet(&["init", "-o", "fleet.yaml"], d);
    assert_eq!(o.status.code(), Some(3));
    assert!(err(&o).contains("--force"), "{}", err(&o));
    assert!(
        tsfleet(&["init", "-o", "fleet.yaml", "--force"], d)
            .status
            .success()
    );
}

/// The setup's questions, answered through a pseudo-terminal (`script` from
/// util-linux, which `scripts/test` checks for).
#[test]
fn init_on_a_terminal_asks_the_setup_questions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let answers = "corp-block.acme.threatstop.local\ncorp-allow.acme.threatstop.local\n192.0.2.1, 192.0.2.2\n\n25000\ntsadmin\n";
    let transcript = init_on_a_terminal(d, "--dns-server 192.0.2.53", answers);
    assert!(
        transcript.contains("Please enter port to use for DNS queries:\r\n[53] ==> "),
        "{transcript}"
    );
    assert!(
        !transcript.to_lowercase().contains("password:"),
        "never asks for a secret"
    );
    check(d, "fleet.yaml");
    let inv = tsfleet::inventory::load(&d.join("fleet.yaml")).unwrap();
    let hosts: Vec<&str> = inv.devices.iter().map(|d| d.host.as_str()).collect();
    assert_eq!(hosts, ["192.0.2.1", "192.0.2.2"]);
    assert_eq!(inv.inventory.dns.as_ref().unwrap().port, 53);
    let policy = &inv.inventory.policies["threatstop"];
    assert_eq!(policy.max_policy_size, Some(25000));
    assert_eq!(policy.allow, ["corp-allow.acme.threatstop.local"]);
    assert_eq!(inv.devices[0].username, "tsadmin");
}

/// An empty answer to the allow list question means none: said, and none written.
#[test]
fn init_on_a_terminal_writes_no_allow_list_when_there_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let answers = "corp-block.acme.threatstop.local\n\n192.0.2.1\n\n\ntsadmin\n";
    let transcript = init_on_a_terminal(d, "--dns-server 192.0.2.53", answers);
    assert!(
        transcript.contains("Please enter the allow_list to use:\r\n[none] ==> "),
        "{transcript}"
    );
    assert!(
        transcript.contains("No allow list: none is written."),
        "{transcript}"
    );
    assert!(!transcript.contains("placeholder"), "{transcript}");
    check(d, "fleet.yaml");
    let inv = tsfleet::inventory::load(&d.join("fleet.yaml")).unwrap();
    assert!(inv.inventory.policies["threatstop"].allow.is_empty());

    // --no-allow-list: the question is not asked; an empty block list
    // answer leaves a placeholder, said on screen and refused by the check.
    let answers = "\n192.0.2.1\n\n\ntsadmin\n";
    let transcript = init_on_a_terminal(
        d,
        "--no-allow-list --dns-server 192.0.2.53 --force",
        answers,
    );
    assert!(!transcript.contains("allow_list"), "{transcript}");
    assert!(
        transcript.contains("No block list: a placeholder marked `# CHANGE ME` is written"),
        "{transcript}"
    );
    assert!(
        transcript.contains("1 placeholder marked `# CHANGE ME`"),
        "{transcript}"
    );
    let o = tsfleet_env(
        &["inventory", "check", "-i", "fleet.yaml"],
        d,
        &[("TSFLEET_PASSWORD", "set"), ("TSFLEET_ENABLE", "set")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    assert!(
        err(&o).contains("a placeholder `tsfleet init` wrote"),
        "{}",
        err(&o)
    );
}

/// `tsfleet init -o fleet.yaml EXTRA` on a pseudo-terminal (`script` from
/// util-linux, which `scripts/test` checks for), fed `answers`; the
/// terminal's transcript once it succeeded.
fn init_on_a_terminal(d: &Path, extra: &str, answers: &str) -> String {
    let cmd = format!(
        "{} init -o fleet.yaml {extra}",
        crate::harness::tsfleet_bin()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(d)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs: scripts/test checks for it");
    let mut stdin = child.stdin.take().unwrap();
    {
        use std::io::Write;
        stdin.write_all(answers.as_bytes()).unwrap();
    }
    // Keep the terminal's input open until tsfleet has answered: `script`
    // ends when tsfleet does, not when this pipe closes.
    let o = child.wait_with_output().unwrap();
    drop(stdin);
    let transcript = out(&o);
    assert!(o.status.success(), "{transcript}{}", err(&o));
    transcript
}

/// `tsfleet ...` up to a shell operator, from a line of shell.
fn tsfleet_words(line: &str) -> Option<Vec<String>> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let start = words
        .iter()
        .position(|w| *w == "tsfleet" || w.ends_with("/bin/tsfleet"))?;
    let end = words[start..]
        .iter()
        .position(|w| matches!(*w, "&&" | ";" | "|" | "||" | ">" | ">>" | "2>&1"))
        .map_or(words.len(), |i| start + i);
    Some(
        words[start..end]
            .iter()
            // Placeholders such as <INVENTORY> would be written by the operator.
            .map(|w| {
                if w.starts_with('<') {
                    "x".to_string()
                } else {
                    w.to_string()
                }
            })
            .collect(),
    )
}

#[test]
fn scheduling_examples_run_every_two_hours_and_parse() {
    let root = repo_root().join("examples");
    let crontab = std::fs::read_to_string(root.join("cron/tsfleet.crontab")).unwrap();
    let jobs: Vec<&str> = crontab
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.contains('='))
        .collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let fields: Vec<&str> = jobs[0].split_whitespace().take(5).collect();
    assert_eq!(fields, ["23", "*/2", "*", "*", "*"]);
    assert!(!jobs[0].contains('%'), "cron turns % into a newline");
    let mut commands = vec![tsfleet_words(jobs[0]).expect("the job runs tsfleet")];

    let service = std::fs::read_to_string(root.join("systemd/tsfleet.service")).unwrap();
    assert!(service.contains("\nType=oneshot\n"));
    assert!(service.contains("\nEnvironmentFile="));
    for line in service.lines().filter(|l| l.starts_with("ExecStart=")) {
        commands.push(tsfleet_words(line.trim_start_matches("ExecStart=")).unwrap());
    }
    let timer = std::fs::read_to_string(root.join("systemd/tsfleet.timer")).unwrap();
    assert!(timer.contains("\nOnCalendar=*-*-* 00/2:23:00\n"), "{timer}");
    assert!(timer.contains("\nPersistent=true\n"));
    assert!(timer.contains("\nRandomizedDelaySec="));

    assert_eq!(commands.len(), 2);
    for words in commands {
        let cli = tsfleet::cli::Cli::try_parse_from(&words)
            .unwrap_or_else(|e| panic!("{words:?} does not parse: {e}"));
        let tsfleet::cli::Command::Apply(args) = cli.command else {
            panic!("{words:?} is not apply");
        };
        assert!(args.confirm.yes, "{words:?}: no terminal to answer");
        assert!(
            args.fleet.reports.json.is_some(),
            "{words:?}: a report for monitoring"
        );
    }
}
