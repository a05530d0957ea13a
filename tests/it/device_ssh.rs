//! The SSH client (`tsfleet::device::ssh`) against real peers: the
//! in-process simulator (password, keyboard-interactive, legacy-only,
//! host-key and connection faults) and OpenSSH's sshd (private keys,
//! legacy and modern algorithm sets).

use crate::harness::fleet;
use crate::harness::sshd::{LEGACY, MODERN, Sshd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tsfleet::device::DeviceError;
use tsfleet::device::ssh::{Credentials, HostKeyStatus, Shell, SshTarget, open_shell};
use tsfleet::inventory::HostKeyPolicy;
use tsfleet::sim::hostkeys::{fingerprint, known_hosts_line};
use tsfleet::sim::{FleetConfig, Profile, SimFleet};

const WAIT: Duration = Duration::from_secs(10);

fn sim_target(fleet: &SimFleet, name: &str, known_hosts: &Path) -> SshTarget {
    let d = fleet.device(name).unwrap();
    SshTarget {
        device: name.to_string(),
        host: d.addr.ip().to_string(),
        port: d.addr.port(),
        username: "admin".into(),
        credentials: Credentials::Password("admin".into()),
        host_key_policy: HostKeyPolicy::Strict,
        known_hosts: known_hosts.to_path_buf(),
        legacy_algorithms: true,
        connect_timeout: WAIT,
    }
}

/// A known_hosts file trusting the given devices' real keys.
fn trust(fleet: &SimFleet, names: &[&str], dir: &Path) -> PathBuf {
    let path = dir.join("known_hosts");
    let text: String = names
        .iter()
        .map(|n| fleet.device(n).unwrap().known_hosts_line() + "\n")
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// Read until `needle` has arrived; everything read so far. Only the new
/// tail is searched, so megabytes of echo stay cheap.
async fn read_until(shell: &mut Shell, needle: &str) -> String {
    let needle_b = needle.as_bytes();
    let mut seen: Vec<u8> = Vec::new();
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let tail = |seen: &Vec<u8>| {
            String::from_utf8_lossy(&seen[seen.len().saturating_sub(2000)..]).into_owned()
        };
        match tokio::time::timeout(left, shell.recv()).await {
            Ok(Some(chunk)) => {
                let from = seen.len().saturating_sub(needle_b.len());
                seen.extend_from_slice(&chunk);
                if seen[from..].windows(needle_b.len()).any(|w| w == needle_b) {
                    return String::from_utf8_lossy(&seen).into_owned();
                }
            }
            Ok(None) => panic!("session ended before {needle:?}; got …{:?}", tail(&seen)),
            Err(_) => panic!("no {needle:?} within {WAIT:?}; got …{:?}", tail(&seen)),
        }
    }
}

async fn open_err(target: &SshTarget) -> DeviceError {
    match open_shell(target).await {
        Ok(shell) => {
            shell.close().await;
            panic!("{} connected but should not have", target.device)
        }
        Err(e) => e,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_password_shell_greets_and_answers() {
    let fleet = fleet(1, "").await;
    let dir = tempfile::tempdir().unwrap();
    let kh = trust(&fleet, &["rtr-001"], dir.path());
    let mut shell = open_shell(&sim_target(&fleet, "rtr-001", &kh))
        .await
        .unwrap();
    assert_eq!(shell.host_key_status(), HostKeyStatus::Known);
    assert!(
        !shell.negotiated().uses_legacy(),
        "{:?}",
        shell.negotiated()
    );
    read_until(&mut shell, "rtr-001>").await;
    shell.send(b"terminal length 0\r").await.unwrap();
    read_until(&mut shell, "rtr-001>").await;
    shell.send(b"show version\r").await.unwrap();
    let out = read_until(&mut shell, "\r\nrtr-001>").await;
    assert!(out.contains("Cisco IOS Software"), "{out}");
    let started = Instant::now();
    shell.close().await;
    assert!(started.elapsed() < Duration::from_secs(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_large_send_does_not_deadlock() {
    // 3 MB in one send, more than the device's 2 MiB window: the send has
    // to wait for window adjusts while the device echoes everything, far
    // more than fits in russh's channel queue unread.
    let fleet = fleet(1, "").await;
    let dir = tempfile::tempdir().unwrap();
    let kh = trust(&fleet, &["rtr-001"], dir.path());
    let mut shell = open_shell(&sim_target(&fleet, "rtr-001", &kh))
        .await
        .unwrap();
    read_until(&mut shell, "rtr-001>").await;
    let lines = 130_000;
    let mut input = String::new();
    for _ in 0..lines {
        input.push_str("terminal length 0\r");
    }
    input.push_str("show version\r");
    tokio::time::timeout(Duration::from_secs(30), shell.send(input.as_bytes()))
        .await
        .expect("a large send completes")
        .unwrap();
    let out = read_until(&mut shell, "Cisco IOS Software").await;
    let echoed = out.matches("terminal length 0\r\n").count();
    assert_eq!(echoed, lines, "{}", &out[..out.len().min(400)]);
    shell.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_legacy_only_device_needs_legacy_algorithms() {
    let fleet = fleet(
        1,
        "devices:\n  rtr-001:\n    faults: { legacy_only: true }\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let kh = trust(&fleet, &["rtr-001"], dir.path());
    let mut target = sim_target(&fleet, "rtr-001", &kh);
    let mut shell = open_shell(&target).await.unwrap();
    let n = shell.negotiated().clone();
    assert!(n.uses_legacy(), "{n:?}");
    assert_eq!(n.host_key, "ssh-rsa", "{n:?}");
    assert_eq!(n.kex, "diffie-hellman-group14-sha1", "{n:?}");
    read_until(&mut shell, "rtr-001>").await;
    shell.close().await;

    target.legacy_algorithms = false;
    let err = open_err(&target).await;
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            DeviceError::Connect {
                transient: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(msg.contains("no common key exchange"), "{msg}");
    assert!(msg.contains("diffie-hellman-group14-sha1"), "{msg}");
    assert!(msg.contains("legacy_algorithms: true"), "{msg}");
    assert!(
        msg.contains("rtr-001") && msg.contains(&target.addr()),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_unknown_host_key_is_refused_under_strict() {
    let fleet = fleet(1, "").await;
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("missing/known_hosts");
    let target = sim_target(&fleet, "rtr-001", &kh);
    let err = open_err(&target).await;
    let msg = err.to_string();
    assert!(matches!(err, DeviceError::HostKey { .. }), "{err:?}");
    let fp = fingerprint(&fleet.device("rtr-001").unwrap().host_key);
    assert!(msg.contains(&fp), "{msg}");
    assert!(msg.contains(&kh.display().to_string()), "{msg}");
    assert!(
        msg.contains("accept-new") && msg.contains("ssh-keyscan"),
        "{msg}"
    );
    assert!(!kh.exists(), "strict never writes known_hosts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_accept_new_learns_then_strict_accepts() {
    let fleet = fleet(1, "").await;
    let dir = tempfile::tempdir().unwrap();
    // A folder that does not exist yet: accept-new creates it.
    let kh = dir.path().join("state/ssh/known_hosts");
    let mut target = sim_target(&fleet, "rtr-001", &kh);
    target.host_key_policy = HostKeyPolicy::AcceptNew;
    let shell = open_shell(&target).await.unwrap();
    assert_eq!(shell.host_key_status(), HostKeyStatus::Learned);
    shell.close().await;
    let d = fleet.device("rtr-001").unwrap();
    let expected = known_hosts_line(&d.addr.ip().to_string(), d.addr.port(), &d.host_key);
    let text = std::fs::read_to_string(&kh).unwrap();
    assert_eq!(text.lines().collect::<Vec<_>>(), [expected.as_str()]);

    // Known now: accepted under both policies, and not written twice.
    let shell = open_shell(&target).await.unwrap();
    assert_eq!(shell.host_key_status(), HostKeyStatus::Known);
    shell.close().await;
    target.host_key_policy = HostKeyPolicy::Strict;
    let mut shell = open_shell(&target).await.unwrap();
    assert_eq!(shell.host_key_status(), HostKeyStatus::Known);
    read_until(&mut shell, "rtr-001>").await;
    shell.close().await;
    assert_eq!(std::fs::read_to_string(&kh).unwrap(), text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_changed_host_key_is_refused_under_strict_and_accept_new() {
    let fleet = fleet(2, "").await;
    let dir = tempfile::tempdir().unwrap();
    let one = fleet.device("rtr-001").unwrap();
    let two = fleet.device("rtr-002").unwrap();
    // rtr-002's key recorded for rtr-001's address: a changed identity.
    let kh = dir.path().join("known_hosts");
    let line = known_hosts_line(&one.addr.ip().to_string(), one.addr.port(), &two.host_key);
    std::fs::write(&kh, format!("# comment\n{line}\n")).unwrap();
    for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew] {
        let mut target = sim_target(&fleet, "rtr-001", &kh);
        target.host_key_policy = policy;
        let err = open_err(&target).await;
        let msg = err.to_string();
        assert!(matches!(err, DeviceError::HostKey { .. }), "{err:?}");
        assert!(msg.contains("CHANGED"), "{msg}");
        assert!(
            msg.contains(&fingerprint(&one.host_key)),
            "presented: {msg}"
        );
        assert!(msg.contains(&fingerprint(&two.host_key)), "known: {msg}");
        assert!(msg.contains("ssh-keygen -R"), "{msg}");
    }
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap(),
        format!("# comment\n{line}\n"),
        "a changed key is never learned"
    );

    // The same with a key of another type on record (RSA of a legacy
    // device for an Ed25519 device): refused too, not learned as new.
    let legacy = fleet_legacy().await;
    let rsa = &legacy.device("rtr-001").unwrap().host_key;
    let line = known_hosts_line(&one.addr.ip().to_string(), one.addr.port(), rsa);
    std::fs::write(&kh, format!("{line}\n")).unwrap();
    let mut target = sim_target(&fleet, "rtr-001", &kh);
    target.host_key_policy = HostKeyPolicy::AcceptNew;
    let msg = open_err(&target).await.to_string();
    assert!(
        msg.contains("CHANGED") && msg.contains(&fingerprint(rsa)),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_revoked_host_key_is_refused_and_never_learned() {
    let fleet = fleet(1, "").await;
    let dir = tempfile::tempdir().unwrap();
    let d = fleet.device("rtr-001").unwrap();
    let trusted = d.known_hosts_line();
    let revoked = format!("@revoked {}", known_hosts_line("*", 22, &d.host_key));
    let kh = dir.path().join("known_hosts");
    // Under accept-new the revoked key alone is not "new"; under strict
    // another line trusting it does not outweigh the revocation.
    for (policy, text, line) in [
        (HostKeyPolicy::AcceptNew, format!("# ops\n{revoked}\n"), 2),
        (HostKeyPolicy::Strict, format!("{trusted}\n{revoked}\n"), 2),
        (
            HostKeyPolicy::AcceptNew,
            format!("{revoked}\n{trusted}\n"),
            1,
        ),
    ] {
        std::fs::write(&kh, &text).unwrap();
        let mut target = sim_target(&fleet, "rtr-001", &kh);
        target.host_key_policy = policy;
        let err = open_err(&target).await;
        let msg = err.to_string();
        assert!(matches!(err, DeviceError::HostKey { .. }), "{err:?}");
        assert_eq!(err.class().as_str(), "host-key");
        assert!(msg.contains("REVOKED"), "{msg}");
        assert!(msg.contains(&format!("line {line}")), "{msg}");
        assert!(msg.contains(&fingerprint(&d.host_key)), "{msg}");
        assert_eq!(
            std::fs::read_to_string(&kh).unwrap(),
            text,
            "never appended"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_negated_and_cert_authority_lines_do_not_trust() {
    let fleet = fleet(1, "").await;
    let dir = tempfile::tempdir().unwrap();
    let d = fleet.device("rtr-001").unwrap();
    let ip = d.addr.ip().to_string();
    let name = format!("[{ip}]:{}", d.addr.port());
    let kh = dir.path().join("known_hosts");
    let key_text = |pattern: &str| known_hosts_line(pattern, 22, &d.host_key);

    // `host,!host`: the negation rules the line out, so the key is unknown.
    let negated = key_text(&format!("{name},!{name}"));
    std::fs::write(&kh, format!("{negated}\n")).unwrap();
    let msg = open_err(&sim_target(&fleet, "rtr-001", &kh))
        .await
        .to_string();
    assert!(msg.contains("is unknown"), "{msg}");
    // The same line without the negation trusts it.
    std::fs::write(&kh, format!("{}\n", key_text(&name))).unwrap();
    let shell = open_shell(&sim_target(&fleet, "rtr-001", &kh))
        .await
        .unwrap();
    assert_eq!(shell.host_key_status(), HostKeyStatus::Known);
    shell.close().await;

    // A CA line is reported as unsupported, and accept-new does not learn
    // a bare key in place of the CA the operator chose.
    let ca = format!("@cert-authority {}", key_text(&name));
    std::fs::write(&kh, format!("{ca}\n")).unwrap();
    let mut target = sim_target(&fleet, "rtr-001", &kh);
    target.host_key_policy = HostKeyPolicy::AcceptNew;
    let err = open_err(&target).await;
    let msg = err.to_string();
    assert!(matches!(err, DeviceError::HostKey { .. }), "{err:?}");
    assert!(
        msg.contains("@cert-authority")
            && msg.contains("does not support")
            && msg.contains("Line(s) 1"),
        "{msg}"
    );
    assert_eq!(std::fs::read_to_string(&kh).unwrap(), format!("{ca}\n"));
}

async fn fleet_legacy() -> SimFleet {
    fleet(
        1,
        "devices:\n  rtr-001:\n    faults: { legacy_only: true }\n",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_hashed_known_hosts_entry_is_accepted() {
    // `ssh-keygen -H` output for the device's line, made with the real tool.
    let fleet = fleet(1, "").await;
    let dir = tempfile::tempdir().unwrap();
    let kh = trust(&fleet, &["rtr-001"], dir.path());
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-H", "-f"])
        .arg(&kh)
        .output()
        .expect("ssh-keygen runs (scripts/test installs openssh-client)");
    assert!(
        out.status.success(),
        "ssh-keygen -H failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&kh).unwrap();
    assert!(text.starts_with("|1|"), "{text}");
    let shell = open_shell(&sim_target(&fleet, "rtr-001", &kh))
        .await
        .unwrap();
    assert_eq!(shell.host_key_status(), HostKeyStatus::Known);
    shell.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_policy_off_connects_without_known_hosts() {
    let fleet = fleet(1, "").await;
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    let mut target = sim_target(&fleet, "rtr-001", &kh);
    target.host_key_policy = HostKeyPolicy::Off;
    let mut shell = open_shell(&target).await.unwrap();
    assert_eq!(shell.host_key_status(), HostKeyStatus::Unchecked);
    read_until(&mut shell, "rtr-001>").await;
    shell.close().await;
    assert!(!kh.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_wrong_password_is_an_auth_error_without_the_secret() {
    const SECRET: &str = "Tr0ub4dor&3-secret";
    let profile =
        Profile::parse("devices:\n  rtr-001:\n    faults: { wrong_password: true }\n").unwrap();
    let fleet = SimFleet::start(FleetConfig {
        devices: 1,
        password: SECRET.into(),
        profile,
        ..FleetConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kh = trust(&fleet, &["rtr-001"], dir.path());
    let mut target = sim_target(&fleet, "rtr-001", &kh);
    target.credentials = Credentials::Password(SECRET.into());
    let err = open_err(&target).await;
    let msg = err.to_string();
    assert!(matches!(err, DeviceError::Auth { .. }), "{err:?}");
    assert!(
        msg.contains("rtr-001") && msg.contains("\"admin\""),
        "{msg}"
    );
    assert!(
        msg.contains("password") && msg.contains("keyboard-interactive"),
        "{msg}"
    );
    assert!(!msg.contains(SECRET), "{msg}");
    assert!(!format!("{err:?}").contains(SECRET));
    assert!(!format!("{target:?}").contains(SECRET));
    assert!(!err.is_transient());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_keyboard_interactive_only_device() {
    let fleet = fleet(
        1,
        "devices:\n  rtr-001:\n    auth_methods: [keyboard-interactive]\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let kh = trust(&fleet, &["rtr-001"], dir.path());
    let mut target = sim_target(&fleet, "rtr-001", &kh);
    let mut shell = open_shell(&target).await.unwrap();
    read_until(&mut shell, "rtr-001>").await;
    shell.close().await;
    assert_eq!(fleet.device("rtr-001").unwrap().snapshot().stats.logins, 1);

    target.credentials = Credentials::Password("not-the-password".into());
    let msg = open_err(&target).await.to_string();
    assert!(msg.contains("tried keyboard-interactive;"), "{msg}");
    let stats = fleet.device("rtr-001").unwrap().snapshot().stats;
    assert_eq!(
        stats.auth_attempts, 2,
        "one answer per login, good then wrong"
    );
    assert!(
        msg.contains("the device accepts keyboard-interactive"),
        "{msg}"
    );
    assert!(!msg.contains("not-the-password"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_password_only_device_is_not_asked_keyboard_interactive() {
    let fleet = fleet(1, "devices:\n  rtr-001:\n    auth_methods: [password]\n").await;
    let dir = tempfile::tempdir().unwrap();
    let kh = trust(&fleet, &["rtr-001"], dir.path());
    let mut target = sim_target(&fleet, "rtr-001", &kh);
    let shell = open_shell(&target).await.unwrap();
    shell.close().await;
    target.credentials = Credentials::Password("wrong".into());
    let err = open_err(&target).await;
    assert!(matches!(err, DeviceError::Auth { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("tried password;"), "{msg}");
    let stats = fleet.device("rtr-001").unwrap().snapshot().stats;
    assert_eq!(
        stats.auth_attempts, 2,
        "one password per login, good then wrong"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_refused_connection_is_transient() {
    let fleet = fleet(
        1,
        "devices:\n  rtr-001:\n    faults: { refuse_connections: true }\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let target = sim_target(&fleet, "rtr-001", &dir.path().join("known_hosts"));
    let err = open_err(&target).await;
    assert!(
        matches!(
            err,
            DeviceError::Connect {
                transient: true,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("rtr-001") && msg.contains(&target.addr()),
        "{msg}"
    );
    assert!(msg.contains("refused"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_full_vty_lines_are_transient() {
    let fleet = fleet(1, "devices:\n  rtr-001:\n    faults: { max_sessions: 1 }\n").await;
    let dir = tempfile::tempdir().unwrap();
    let kh = trust(&fleet, &["rtr-001"], dir.path());
    let target = sim_target(&fleet, "rtr-001", &kh);
    let mut first = open_shell(&target).await.unwrap();
    read_until(&mut first, "rtr-001>").await;
    let err = open_err(&target).await;
    assert!(err.is_transient(), "{err:?}");
    first.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_silent_listener_times_out() {
    // Accepts TCP and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let target = SshTarget {
        device: "rtr-silent".into(),
        host: "127.0.0.1".into(),
        port,
        username: "admin".into(),
        credentials: Credentials::Password("admin".into()),
        host_key_policy: HostKeyPolicy::Strict,
        known_hosts: dir.path().join("known_hosts"),
        legacy_algorithms: true,
        connect_timeout: Duration::from_millis(800),
    };
    let started = Instant::now();
    let err = open_err(&target).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(
        matches!(
            err,
            DeviceError::Connect {
                transient: true,
                ..
            } | DeviceError::Timeout { .. }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("rtr-silent") && msg.contains(&target.addr()),
        "{msg}"
    );
    holder.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_unresolvable_host_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let target = SshTarget {
        device: "rtr-typo".into(),
        host: "no-such-router.invalid".into(),
        port: 22,
        username: "admin".into(),
        credentials: Credentials::Password("admin".into()),
        host_key_policy: HostKeyPolicy::Strict,
        known_hosts: dir.path().join("known_hosts"),
        legacy_algorithms: true,
        connect_timeout: Duration::from_secs(3),
    };
    let err = open_err(&target).await;
    let msg = err.to_string();
    assert!(matches!(err, DeviceError::Connect { .. }), "{err:?}");
    // Without a reachable resolver the lookup times out instead.
    assert!(
        msg.contains("resolve") || msg.contains("DNS resolver"),
        "{msg}"
    );
    assert!(
        msg.contains("rtr-typo") && msg.contains("no-such-router.invalid:22"),
        "{msg}"
    );
}

/// A known_hosts trusting sshd's host key of the given kind.
fn trust_sshd(sshd: &Sshd, kind: &str) -> PathBuf {
    let public = std::fs::read_to_string(sshd.dir.path().join(format!("{kind}.pub"))).unwrap();
    let path = sshd.dir.path().join("known_hosts");
    std::fs::write(&path, format!("[127.0.0.1]:{} {public}", sshd.port)).unwrap();
    path
}

fn sshd_target(sshd: &Sshd, known_hosts: PathBuf, legacy: bool) -> SshTarget {
    SshTarget {
        device: "rtr-001".into(),
        host: "127.0.0.1".into(),
        port: sshd.port,
        username: sshd.user.clone(),
        credentials: crate::harness::key_credentials(&sshd.client_key),
        host_key_policy: HostKeyPolicy::Strict,
        known_hosts,
        legacy_algorithms: legacy,
        connect_timeout: WAIT,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_private_key_against_legacy_sshd() {
    let sshd = tokio::task::spawn_blocking(|| Sshd::start(LEGACY, ""))
        .await
        .unwrap();
    let kh = trust_sshd(&sshd, "host_rsa");
    let mut shell = open_shell(&sshd_target(&sshd, kh, true)).await.unwrap();
    assert_eq!(shell.host_key_status(), HostKeyStatus::Known);
    let n = shell.negotiated().clone();
    assert_eq!(n.host_key, "ssh-rsa", "{n:?}");
    assert!(n.uses_legacy(), "{n:?}");
    read_until(&mut shell, "rtr-001>").await;
    shell.send(b"show version\r").await.unwrap();
    read_until(&mut shell, "Cisco IOS Software").await;
    shell.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_private_key_against_modern_sshd() {
    let sshd = tokio::task::spawn_blocking(|| Sshd::start(MODERN, ""))
        .await
        .unwrap();
    let kh = trust_sshd(&sshd, "host_ed25519");
    // Modern only: the legacy set is not needed.
    let mut shell = open_shell(&sshd_target(&sshd, kh, false)).await.unwrap();
    assert_eq!(shell.host_key_status(), HostKeyStatus::Known);
    assert_eq!(shell.negotiated().host_key, "ssh-ed25519");
    read_until(&mut shell, "rtr-001>").await;
    shell.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ssh_unauthorised_key_is_an_auth_error() {
    let sshd = tokio::task::spawn_blocking(|| Sshd::start(MODERN, ""))
        .await
        .unwrap();
    let other = sshd.dir.path().join("other_ed25519");
    let ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", "ed25519", "-f"])
        .arg(&other)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let mut target = sshd_target(&sshd, sshd.dir.path().join("kh"), false);
    target.host_key_policy = HostKeyPolicy::Off;
    target.credentials = crate::harness::key_credentials(&other);
    let err = open_err(&target).await;
    assert!(matches!(err, DeviceError::Auth { .. }), "{err:?}");
    assert!(err.to_string().contains("publickey"), "{err}");
}
