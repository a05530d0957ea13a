//! Starts and stops the real peers the tests talk to: the simulated fleet,
//! independent Python clients (netmiko, paramiko), OpenSSH's sshd, NSD with
//! zone files the tests write. Loopback addresses only.

#![allow(dead_code)]

pub mod fake_dns;
pub mod nsd;
pub mod sim_process;
pub mod sshd;
pub mod wait;

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use tsfleet::inventory::{DnsSettings, DnsTransport, Inventory, Policy};
use tsfleet::sim::{FleetConfig, Profile, SimFleet};
pub use wait::{wait_until, wait_until_async};

/// The tsfleet binary under test.
pub fn tsfleet_bin() -> &'static str {
    env!("CARGO_BIN_EXE_tsfleet")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python with the pinned test peers (netmiko, paramiko) installed by
/// `scripts/test`.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("TSFLEET_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python test peers at {}: run scripts/test, which installs them",
        venv.display()
    );
    venv
}

/// Run one request through `tests/peers/sim_client.py` and return its JSON answer.
pub fn peer(request: serde_json::Value) -> serde_json::Value {
    python_peer("tests/peers/sim_client.py", request)
}

/// Run a Python peer script (a path from the repository root) with one JSON
/// request on stdin and return its JSON answer.
pub fn python_peer(script: &str, request: serde_json::Value) -> serde_json::Value {
    let mut child = Command::new(python())
        .arg(repo_root().join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("python runs");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "peer answered no JSON ({e}); stdout: {} stderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Same, off the async runtime's worker threads.
pub async fn peer_async(request: serde_json::Value) -> serde_json::Value {
    tokio::task::spawn_blocking(move || peer(request))
        .await
        .unwrap()
}

/// A fleet on any free loopback ports, with an optional YAML profile.
pub async fn fleet(devices: usize, profile_yaml: &str) -> SimFleet {
    let profile = if profile_yaml.is_empty() {
        Profile::default()
    } else {
        Profile::parse(profile_yaml).expect("test profile parses")
    };
    SimFleet::start(FleetConfig {
        devices,
        profile,
        ..FleetConfig::default()
    })
    .await
    .expect("simulated fleet starts")
}

/// The simulated `device`'s flood (`flood_after_lines`) got no more out
/// than an answer's `cap` plus what is in flight when tsfleet stops
/// reading: the SSH window (2 MiB), russh's queue (100 packets of 32 KiB)
/// and what the close drains (1 MiB), with room. A client that kept
/// reading would take it without end.
pub fn flood_stopped_near(device: &tsfleet::sim::DeviceRuntime, cap: usize) {
    let sent = device.snapshot().stats.flood_bytes;
    assert!(
        sent <= (cap + 8 * 1024 * 1024) as u64,
        "{}: the flood got {sent} bytes out (answer cap {cap})",
        device.name
    );
}

/// A port nothing listens on right now.
/// A private key file as a run hands it to the SSH layer: decoded.
pub fn key_credentials(path: &Path) -> tsfleet::device::ssh::Credentials {
    let key = russh::keys::load_secret_key(path, None)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    tsfleet::device::ssh::Credentials::PrivateKey {
        path: path.to_path_buf(),
        key: std::sync::Arc::new(key),
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An executable askpass script that answers `password` (OpenSSH reads
/// passwords only from a terminal or SSH_ASKPASS).
pub fn askpass(dir: &Path, password: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("askpass.sh");
    std::fs::write(&path, format!("#!/bin/sh\necho '{password}'\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
    path
}

/// Run the stock OpenSSH client with `args`, feeding `input`; returns (success, stdout, stderr).
pub fn openssh(dir: &Path, password: &str, args: &[&str], input: &str) -> (bool, String, String) {
    let mut child = Command::new("ssh")
        .args([
            "-F",
            "/dev/null",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "NumberOfPasswordPrompts=1",
        ])
        .args(args)
        .env("SSH_ASKPASS", askpass(dir, password))
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", "none")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh starts");
    // Type each line once the device shows a prompt (a CLI prompt,
    // `Password:` or ` --More-- `) or the session has ended, as a person
    // would: typed-ahead lines would land before the device asks for them.
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), false)));
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut chunk = [0u8; 4096];
            loop {
                let n = stdout.read(&mut chunk).unwrap_or(0);
                let mut seen = seen.lock().unwrap();
                if n == 0 {
                    seen.1 = true;
                    return;
                }
                seen.0.extend_from_slice(&chunk[..n]);
            }
        })
    };
    let prompted_after = |sent: usize| {
        let seen = seen.lock().unwrap();
        let text = String::from_utf8_lossy(&seen.0[sent.min(seen.0.len())..]).into_owned();
        let text = text.trim_end_matches(' ');
        let prompt = text.ends_with(['>', '#', ':']) || text.ends_with("--More--");
        seen.1 || (seen.0.len() > sent && prompt)
    };
    let mut sent = 0;
    for line in input.split_inclusive('\n') {
        wait_until("a prompt from the device", Duration::from_secs(20), || {
            prompted_after(sent)
        });
        {
            let seen = seen.lock().unwrap();
            if seen.1 {
                break;
            }
            sent = seen.0.len();
        }
        if stdin.write_all(line.as_bytes()).is_err() {
            break;
        }
    }
    // End of input, as the device's `exit` may have gone to a pager.
    drop(stdin);
    wait_until("the session to end", Duration::from_secs(20), || {
        seen.lock().unwrap().1
    });
    let out = child.wait_with_output().unwrap();
    reader.join().unwrap();
    let stdout = std::mem::take(&mut seen.lock().unwrap().0);
    (
        out.status.success(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A loopback port with nothing listening: connections to it are refused.
pub fn dead_port() -> u16 {
    free_port()
}

/// The state directory (locks) of the runs [`tsfleet`] starts in `cwd`:
/// inside the test's folder, not the user's home.
pub fn state_dir(cwd: &Path) -> PathBuf {
    cwd.join(".tsfleet-state")
}

/// Run the real binary; returns its output (exit code, stdout, stderr).
pub fn tsfleet(args: &[&str], cwd: &Path) -> Output {
    tsfleet_env(args, cwd, &[])
}

/// [`tsfleet`] with these environment variables set.
pub fn tsfleet_env(args: &[&str], cwd: &Path, vars: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tsfleet"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .env_remove("TSFLEET_INVENTORY")
        .env("TSFLEET_STATE_DIR", state_dir(cwd))
        .envs(vars.iter().copied())
        .output()
        .expect("run tsfleet")
}

/// [`tsfleet`] off the async runtime (the simulator and list server live on it).
pub async fn tsfleet_async(args: Vec<String>, cwd: PathBuf) -> Output {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        tsfleet(&refs, &cwd)
    })
    .await
    .unwrap()
}

/// Zone-file text for `threatstop.local`, built record by record.
pub struct Zone {
    text: String,
}

/// NSD refuses APL records with too many items (about 60 and more; see
/// `tsfleet::sim::list_server::RECORD_ITEMS`); 60 still loads.
pub const APL_ITEMS_PER_RECORD: usize = 60;

impl Zone {
    pub const ORIGIN: &'static str = "threatstop.local";

    pub fn new() -> Zone {
        Zone {
            text: "$ORIGIN threatstop.local.\n$TTL 300\n\
                   @ IN SOA ns.threatstop.local. hostmaster.threatstop.local. 1 3600 600 86400 300\n\
                   @ IN NS ns.threatstop.local.\nns IN A 127.0.0.1\n"
                .to_string(),
        }
    }

    /// One line, relative names allowed.
    pub fn line(mut self, line: &str) -> Zone {
        self.text.push_str(line);
        self.text.push('\n');
        self
    }

    /// PTR records from `list` to each sub-list (relative names).
    pub fn ptrs(mut self, list: &str, sublists: &[String]) -> Zone {
        for s in sublists {
            self.text
                .push_str(&format!("{list} IN PTR {s}.{}.\n", Zone::ORIGIN));
        }
        self
    }

    /// APL records for `name`, items in zone syntax (`1:10.0.0.0/8`,
    /// `!1:…`, `2:…`), split into records of at most 60 items.
    pub fn apl(mut self, name: &str, items: &[String]) -> Zone {
        for chunk in items.chunks(APL_ITEMS_PER_RECORD) {
            self.text
                .push_str(&format!("{name} IN APL {}\n", chunk.join(" ")));
        }
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// `count` distinct IPv4 prefixes (lengths /16 to /32, host bits clear),
/// deterministic for a given seed.
pub fn prefixes(count: usize, seed: u64) -> Vec<ipnet::Ipv4Net> {
    let mut state = seed | 1;
    let mut next = || {
        // xorshift64: cheap, deterministic, good enough to spread prefixes.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut set = std::collections::BTreeSet::new();
    while set.len() < count {
        let r = next();
        let len = 16 + (r % 17) as u8;
        let addr = Ipv4Addr::from((r >> 20) as u32);
        let net = ipnet::Ipv4Net::new(addr, len).expect("len <= 32").trunc();
        set.insert(net);
    }
    set.into_iter().collect()
}

/// The `dns:` section and one policy, `corp`, of an inventory that resolves
/// the lists `block` and `allow` (names relative to [`Zone::ORIGIN`]).
pub fn lists_inventory(
    servers: &[String],
    port: u16,
    transport: &str,
    block: &[&str],
    allow: &[&str],
) -> Inventory {
    let names =
        |v: &[&str]| -> Vec<String> { v.iter().map(|s| format!("{s}.{}", Zone::ORIGIN)).collect() };
    let transport = match transport {
        "tcp" => DnsTransport::Tcp,
        "udp" => DnsTransport::Udp,
        other => panic!("transport {other:?}: tcp or udp"),
    };
    Inventory {
        dns: Some(DnsSettings {
            servers: servers.to_vec(),
            port,
            transport,
            timeout_ms: 2000,
            attempts: 1,
        }),
        policies: [(
            "corp".to_string(),
            Policy {
                block: names(block),
                allow: names(allow),
                ..Policy::default()
            },
        )]
        .into_iter()
        .collect(),
        ..Inventory::default()
    }
}

/// [`lists_inventory`] as YAML.
pub fn inventory(
    servers: &[String],
    port: u16,
    transport: &str,
    block: &[&str],
    allow: &[&str],
) -> String {
    tsfleet::inventory::to_yaml(&lists_inventory(servers, port, transport, block, allow))
}
