//! Starts and stops the real peers the tests talk to: the simulated fleet,
//! independent Python clients (netmiko, paramiko), OpenSSH's sshd. Loopback
//! addresses only.

#![allow(dead_code)]

pub mod sshd;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tsfleet::sim::{FleetConfig, Profile, SimFleet};

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
    let mut child = Command::new(python())
        .arg(repo_root().join("tests/peers/sim_client.py"))
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

/// A port nothing listens on right now.
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
            "LogLevel=ERROR",
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
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    // Type slowly enough that every line arrives after the previous prompt.
    let feeder = std::thread::spawn(move || {
        for line in input.split_inclusive('\n') {
            std::thread::sleep(std::time::Duration::from_millis(150));
            if stdin.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    });
    let out = child.wait_with_output().unwrap();
    let _ = feeder.join();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
