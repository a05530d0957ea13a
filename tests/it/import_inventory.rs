//! `tsfleet import-inventory`: a Nornir and an Ansible inventory that point
//! at a simulated fleet are imported by the real binary, and the imported
//! inventories pass `inventory check` and `plan` against the simulator, the
//! passwords supplied through the environment variables the importer named.
//! No secret of the sources appears in the output, the notes or errors.

use crate::harness::tsfleet_env;
use ipnet::Ipv4Net;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use tsfleet::sim::TestBed;

/// Secrets that are not words of the CLI, so a leak is visible.
const PASSWORD: &str = "Imp0rt-Pw-7731";
const ENABLE: &str = "Imp0rt-En-4412";
const LIST: &str = "corp-block.acme.threatstop.local";

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The binary off the async runtime (the simulator lives on it), with
/// `HOME` where the lab's host keys are (`~/.ssh/known_hosts`, what the
/// imported inventory relies on).
async fn run(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let mut vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    vars.push(("HOME".into(), dir.join("home").display().to_string()));
    let cwd = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        tsfleet_env(&args, &cwd, &vars)
    })
    .await
    .unwrap()
}

/// A fleet of three simulated routers and a list server; the lab's own
/// inventory is only read for addresses, the username and host keys.
struct Lab {
    bed: TestBed,
    dir: tempfile::TempDir,
}

impl Lab {
    async fn start() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let prefixes: Vec<Ipv4Net> = (0..20u32)
            .map(|i| Ipv4Net::new(std::net::Ipv4Addr::from(0xC633_6400 + i), 32).unwrap())
            .collect();
        let bed = TestBed::builder()
            .devices(3)
            .credentials(PASSWORD, ENABLE)
            .list(LIST, prefixes)
            .start(&dir.path().join("lab/lab.yaml"))
            .await
            .unwrap();
        let ssh = dir.path().join("home/.ssh");
        std::fs::create_dir_all(&ssh).unwrap();
        std::fs::copy(
            dir.path().join("lab/lab.known_hosts"),
            ssh.join("known_hosts"),
        )
        .unwrap();
        Lab { bed, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn username(&self) -> String {
        self.bed.inventory().defaults.username.clone().unwrap()
    }

    /// `--block`, `--dns`, `--dns-port` for the lab's list server.
    fn lists_args(&self) -> Vec<String> {
        let dns = self.bed.inventory().dns.as_ref().unwrap();
        vec![
            "--block".into(),
            LIST.into(),
            "--dns".into(),
            dns.servers[0].clone(),
            "--dns-port".into(),
            dns.port.to_string(),
        ]
    }

    /// Import, then check and plan with the imported inventory; `vars` are
    /// the secrets, named as the importer asked.
    async fn import_and_plan(&self, from: &str, files: &[&str], out: &str, vars: &[(&str, &str)]) {
        let d = self.dir.path();
        let mut args = vec!["import-inventory", "--from", from];
        args.extend(files);
        let lists = self.lists_args();
        args.extend(lists.iter().map(String::as_str));
        args.extend(["-o", out]);
        let o = run(d, &args, &[]).await;
        assert!(o.status.success(), "import: {}", text(&o));
        let yaml = std::fs::read_to_string(self.path(out)).unwrap();
        let all = format!("{yaml}{}", text(&o));
        for secret in [PASSWORD, ENABLE] {
            assert!(!all.contains(secret), "a secret leaked:\n{all}");
        }
        for (var, _) in vars {
            assert!(text(&o).contains(var), "{var} is not named: {}", text(&o));
        }
        let mode = std::fs::metadata(self.path(out))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the inventory is written 0600");

        let o = run(d, &["inventory", "check", "-i", out], vars).await;
        assert!(o.status.success(), "inventory check: {}", text(&o));
        let o = run(d, &["plan", "-i", out, "--detailed-exitcode"], vars).await;
        // 2: every device was reached, logged in and has the list to add.
        assert_eq!(o.status.code(), Some(2), "plan: {}", text(&o));
        for dev in &self.bed.inventory().devices {
            assert!(
                text(&o).contains(&dev.name),
                "{} not planned: {}",
                dev.name,
                text(&o)
            );
        }
        assert!(!text(&o).contains(PASSWORD));
        // Without the variables the references name, nothing is contacted.
        let o = run(d, &["plan", "-i", out], &[]).await;
        assert_eq!(o.status.code(), Some(3), "{}", text(&o));
        assert!(text(&o).contains(vars[0].0), "{}", text(&o));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn imported_nornir_inventory_plans_against_the_simulator() {
    let lab = Lab::start().await;
    let mut hosts = String::from("---\n");
    for dev in &lab.bed.inventory().devices {
        writeln!(
            hosts,
            "{}:\n  hostname: {}\n  port: {}\n  groups: [sim]\n  data: {{ site: lab }}",
            dev.name,
            dev.host,
            dev.settings.port.unwrap()
        )
        .unwrap();
    }
    std::fs::write(lab.path("hosts.yaml"), hosts).unwrap();
    std::fs::write(
        lab.path("groups.yaml"),
        format!(
            "sim:\n  platform: cisco_ios\n  connection_options:\n    netmiko:\n      extras:\n        secret: {ENABLE}\n        conn_timeout: 10\n"
        ),
    )
    .unwrap();
    std::fs::write(
        lab.path("defaults.yaml"),
        format!("username: {}\npassword: {PASSWORD}\n", lab.username()),
    )
    .unwrap();
    lab.import_and_plan(
        "nornir",
        &["hosts.yaml", "groups.yaml", "defaults.yaml"],
        "nornir.yaml",
        &[
            ("TSFLEET_PASSWORD", PASSWORD),
            ("TSFLEET_ENABLE_GROUP_SIM", ENABLE),
        ],
    )
    .await;
    lab.bed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn imported_ansible_inventory_plans_against_the_simulator() {
    let lab = Lab::start().await;
    let mut ini = String::from("[sim]\n");
    for dev in &lab.bed.inventory().devices {
        writeln!(
            ini,
            "{} ansible_host={} ansible_port={}",
            dev.name,
            dev.host,
            dev.settings.port.unwrap()
        )
        .unwrap();
    }
    write!(
        ini,
        "\n[routers:children]\nsim\n\n[routers:vars]\nansible_network_os=cisco.ios.ios\n\
         ansible_become_password={ENABLE}\nansible_command_timeout=30\n\n\
         [all:vars]\nansible_connection=ansible.netcommon.network_cli\nansible_user={}\n\
         ansible_password=\"{PASSWORD}\"\n",
        lab.username()
    )
    .unwrap();
    std::fs::write(lab.path("hosts"), ini).unwrap();
    lab.import_and_plan(
        "ansible",
        &["hosts"],
        "ansible.yaml",
        &[
            ("TSFLEET_PASSWORD", PASSWORD),
            ("TSFLEET_ENABLE_GROUP_ROUTERS", ENABLE),
        ],
    )
    .await;
    lab.bed.shutdown().await;
}

/// Without `--block`, the devices name a policy that is not defined: a
/// marked TODO that `inventory check` refuses. A link at `-o` is refused,
/// and so is an existing file without `--force`.
#[test]
fn without_lists_the_import_is_refused_by_check_and_outputs_are_guarded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("inv.yml"),
        "all:\n  hosts:\n    r1:\n      ansible_host: 192.0.2.1\n      ansible_password: Hunter2-Lit\n",
    )
    .unwrap();
    let args = [
        "import-inventory",
        "--from",
        "ansible",
        "inv.yml",
        "-o",
        "fleet.yaml",
    ];
    let o = tsfleet_env(&args, d, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let yaml = std::fs::read_to_string(d.join("fleet.yaml")).unwrap();
    assert!(
        yaml.contains("# TODO: the lists are not in the source inventory"),
        "{yaml}"
    );
    assert!(!format!("{yaml}{}", text(&o)).contains("Hunter2"));
    let o = tsfleet_env(
        &["inventory", "check", "-i", "fleet.yaml"],
        d,
        &[("TSFLEET_PASSWORD_R1", "x")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("unknown policy `threatstop`"),
        "{}",
        text(&o)
    );

    let o = tsfleet_env(&args, d, &[]);
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).contains("--force"), "{}", text(&o));

    std::os::unix::fs::symlink(d.join("elsewhere.yaml"), d.join("link.yaml")).unwrap();
    let mut linked = args.to_vec();
    linked[5] = "link.yaml";
    let o = tsfleet_env(&linked, d, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("symbolic link"), "{}", text(&o));
    assert!(!d.join("elsewhere.yaml").exists());

    // A mistake: the file and line, nothing written, exit 3.
    std::fs::write(d.join("bad.ini"), "[r]\nr1 ansible_port=22 stray\n").unwrap();
    let o = tsfleet_env(
        &["import-inventory", "--from", "ansible", "bad.ini"],
        d,
        &[],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o).contains("bad.ini:2: after the host name"),
        "{}",
        text(&o)
    );
    assert!(o.stdout.is_empty(), "nothing printed as if whole");
}

/// Every `tsfleet import-inventory` example in the README and in `--help`
/// (continuation lines joined) parses as a command line.
#[test]
fn every_import_inventory_example_parses() {
    use clap::{CommandFactory, Parser};
    let readme = std::fs::read_to_string(crate::harness::repo_root().join("README.md")).unwrap();
    let help = tsfleet::cli::Cli::command()
        .find_subcommand_mut("import-inventory")
        .unwrap()
        .render_long_help()
        .to_string();
    let mut found = 0;
    for text in [readme.as_str(), help.as_str()] {
        let mut lines = text.lines().map(str::trim);
        while let Some(line) = lines.next() {
            if !line.starts_with("tsfleet import-inventory ") {
                continue;
            }
            let mut command = line.to_string();
            while command.ends_with('\\') {
                command.pop();
                command.push_str(lines.next().unwrap_or(""));
            }
            let command = command.split(" #").next().unwrap().to_string();
            let argv: Vec<&str> = command.split_whitespace().collect();
            if let Err(e) = tsfleet::cli::Cli::try_parse_from(&argv) {
                panic!("`{command}` does not parse:\n{e}");
            }
            found += 1;
        }
    }
    assert!(found >= 6, "only {found} examples found");
}
