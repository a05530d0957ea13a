//! One device end to end over real SSH: the simulator's own server, and
//! `tsfleet sim --stdio` behind a real OpenSSH sshd (legacy and modern).

use crate::harness::sshd::{LEGACY, MODERN, Sshd};
use crate::harness::{fleet, free_port, peer_async};
use ipnet::Ipv4Net;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use tsfleet::device::DeviceError;
use tsfleet::device::ssh::{Credentials, SshTarget};
use tsfleet::device::sync::{GroupTarget, SyncOutcome, SyncRequest};
use tsfleet::device::transcript::Transcript;
use tsfleet::inventory::HostKeyPolicy;
use tsfleet::sim::SimFleet;

const PASSWORD: &str = "admin";
const ENABLE: &str = "enable";

fn wide(nets: BTreeSet<Ipv4Net>) -> BTreeSet<ipnet::IpNet> {
    nets.into_iter().map(Into::into).collect()
}

fn nets(range: std::ops::Range<u32>) -> BTreeSet<Ipv4Net> {
    range
        .map(|i| Ipv4Net::new((0x0A00_0000 + i).into(), 32).unwrap())
        .collect()
}

fn known_hosts(fleet: &SimFleet, dir: &Path) -> std::path::PathBuf {
    let path = dir.join("known_hosts");
    std::fs::write(&path, fleet.known_hosts()).unwrap();
    path
}

fn target(fleet: &SimFleet, name: &str, known_hosts: &Path) -> SshTarget {
    SshTarget {
        device: name.into(),
        host: "127.0.0.1".into(),
        port: fleet.device(name).unwrap().addr.port(),
        username: "admin".into(),
        credentials: Credentials::Password(PASSWORD.into()),
        host_key_policy: HostKeyPolicy::Strict,
        known_hosts: known_hosts.into(),
        legacy_algorithms: true,
        connect_timeout: Duration::from_secs(5),
    }
}

fn request(block: BTreeSet<Ipv4Net>) -> SyncRequest {
    SyncRequest {
        enable_secret: Some(ENABLE.into()),
        groups: vec![
            GroupTarget {
                name: "threatstop-allow".into(),
                family: tsfleet::domain::Family::Ipv4,
                desired: std::sync::Arc::new(wide(nets(900_000..900_002))),
                planned: None,
            },
            GroupTarget {
                name: "threatstop-block".into(),
                family: tsfleet::domain::Family::Ipv4,
                desired: std::sync::Arc::new(wide(block)),
                planned: None,
            },
        ],
        apply: true,
        record_observed: false,
        save_config: true,
        change_sets: Default::default(),
    }
}

async fn run(
    target: &SshTarget,
    request: &SyncRequest,
    transcript: Transcript,
) -> Result<SyncOutcome, DeviceError> {
    let cap = tsfleet::device::shell::answer_cap(tsfleet::lists::policy::DEFAULT_MAX_POLICY_SIZE);
    run_capped(target, request, transcript, cap).await
}

/// [`run`] with answers capped at `answer_bytes`.
async fn run_capped(
    target: &SshTarget,
    request: &SyncRequest,
    transcript: Transcript,
    answer_bytes: usize,
) -> Result<SyncOutcome, DeviceError> {
    tsfleet::device::run_device(
        target,
        request,
        transcript,
        tsfleet::device::AnswerLimits {
            inactivity: Duration::from_secs(3),
            bytes: answer_bytes,
        },
        Duration::from_secs(120),
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .map(|(outcome, _)| outcome)
}

fn group_len(fleet: &SimFleet, device: &str, group: &str) -> usize {
    let state = fleet.device(device).unwrap().snapshot();
    state.group(group).map(|g| g.entries.len()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_of_5000_then_incremental_over_ssh_with_a_private_transcript() {
    let fleet = fleet(1, "").await;
    let dir = tempfile::tempdir().unwrap();
    let kh = known_hosts(&fleet, dir.path());
    let t = target(&fleet, "rtr-001", &kh);
    let log = dir.path().join("rtr-001.log");
    let secrets = vec![PASSWORD.to_string(), ENABLE.to_string()];
    let out = run(
        &t,
        &request(nets(0..5000)),
        Transcript::create(&log, secrets).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(out.groups[1].added, 5000);
    assert!(out.saved);
    assert_eq!(group_len(&fleet, "rtr-001", "threatstop-block"), 5000);
    let state = fleet.device("rtr-001").unwrap().snapshot();
    assert!(state.saved());
    let out = run(&t, &request(nets(50..5050)), Transcript::none(vec![]))
        .await
        .unwrap();
    assert_eq!((out.groups[1].added, out.groups[1].removed), (50, 50));
    let transcript = std::fs::read_to_string(&log).unwrap();
    assert!(
        transcript.contains(">>> host 10.0.19.135"),
        "every line sent is in the transcript"
    );
    assert!(transcript.contains("rtr-001(config-network-group)#"));
    // The enable secret is typed but never shown; "admin" is also the user name,
    // so only the dedicated enable secret is checked here (see the secrets test).
    assert!(transcript.contains(">>> ******"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&log).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fleet
            .device("rtr-001")
            .unwrap()
            .snapshot()
            .stats
            .left_in_config_mode,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_transcripts_or_errors() {
    let fleet = tsfleet::sim::SimFleet::start(tsfleet::sim::FleetConfig {
        devices: 3,
        password: "pw-Zq81x".into(),
        enable_secret: "en-Kx55q".into(),
        // rtr-003 echoes the enable secret as typed, each byte in an SSH
        // packet of its own: no single read holds it whole.
        profile: tsfleet::sim::Profile::parse(
            "devices: { rtr-002: { faults: { wrong_enable_secret: true } }, rtr-003: { faults: { echo_secret: true, byte_writes: true } } }",
        )
        .unwrap(),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kh = known_hosts(&fleet, dir.path());
    let secrets = vec!["pw-Zq81x".to_string(), "en-Kx55q".to_string()];
    for name in ["rtr-001", "rtr-002", "rtr-003"] {
        let mut t = target(&fleet, name, &kh);
        t.credentials = Credentials::Password("pw-Zq81x".into());
        let mut req = request(nets(0..10));
        req.enable_secret = Some("en-Kx55q".into());
        let log = dir.path().join(format!("{name}.log"));
        let result = run(&t, &req, Transcript::create(&log, secrets.clone()).unwrap()).await;
        let text =
            std::fs::read_to_string(&log).unwrap() + &format!("{result:?}") + &format!("{t:?}");
        if let Err(e) = &result {
            assert_eq!(e.class().as_str(), "enable", "{e}");
        }
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{name}: a secret leaked: {text}"
            );
        }
        if name == "rtr-003" {
            // The line tsfleet typed, then the device's echo of it, both masked.
            assert!(text.contains(">>> ******\n ******\n"), "{text}");
        }
    }
    // A wrong password: the error names the user, never the password tried.
    let mut t = target(&fleet, "rtr-001", &kh);
    t.credentials = Credentials::Password("not-the-pw-Yy31".into());
    let err = run(&t, &request(nets(0..1)), Transcript::none(vec![]))
        .await
        .unwrap_err();
    assert_eq!(err.class().as_str(), "auth", "{err}");
    assert!(!err.to_string().contains("not-the-pw-Yy31"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_gives_its_typed_error_and_config_mode_is_left() {
    let profile = "devices:\n  rtr-001: { faults: { wrong_password: true } }\n  rtr-002: { faults: { wrong_enable_secret: true } }\n  rtr-003: { faults: { refuse_connections: true } }\n  rtr-004: { faults: { disconnect_after_lines: 8 } }\n  rtr-005: { faults: { hang_after_lines: 8 } }\n  rtr-006: { faults: { error_entries: ['host 10.0.0.3'] } }\n  rtr-007: { faults: { max_group_entries: 5 } }\n  rtr-008: { faults: { legacy_only: true } }\n  rtr-009: { faults: { syslog_every_lines: 3 } }\n  rtr-010: { line_cost_us: 300, faults: { drop_input_over_bytes: 3000 } }\n";
    let fleet = fleet(10, profile).await;
    let dir = tempfile::tempdir().unwrap();
    let kh = known_hosts(&fleet, dir.path());
    let expect = [
        ("rtr-001", Some("auth")),
        ("rtr-002", Some("enable")),
        ("rtr-003", Some("connect")),
        ("rtr-004", Some("protocol")),
        ("rtr-005", Some("timeout")),
        ("rtr-006", Some("device-error")),
        ("rtr-007", Some("group-full")),
        ("rtr-008", None),
        ("rtr-009", None),
        ("rtr-010", None),
    ];
    for (name, class) in expect {
        let t = target(&fleet, name, &kh);
        let result = run(&t, &request(nets(0..2000)), Transcript::none(vec![])).await;
        match (class, &result) {
            (Some(class), Err(e)) => assert_eq!(e.class().as_str(), class, "{name}: {e}"),
            (None, Ok(out)) => assert_eq!(
                group_len(&fleet, name, "threatstop-block"),
                2000,
                "{name}: {out:?}"
            ),
            _ => panic!("{name}: expected {class:?}, got {result:?}"),
        }
        let stats = fleet.device(name).unwrap().snapshot().stats;
        if !matches!(name, "rtr-004" | "rtr-005") {
            // (a dropped or hung session cannot be walked out of config mode)
            assert_eq!(
                stats.left_in_config_mode, 0,
                "{name} was left in config mode"
            );
        }
    }
    // The legacy-only device refuses a client without the legacy set.
    let mut t = target(&fleet, "rtr-008", &kh);
    t.legacy_algorithms = false;
    let err = run(&t, &request(nets(0..1)), Transcript::none(vec![]))
        .await
        .unwrap_err();
    assert_eq!(err.class().as_str(), "connect", "{err}");
    // Nothing listening at all.
    let mut t = target(&fleet, "rtr-009", &kh);
    t.port = free_port();
    let err = run(&t, &request(nets(0..1)), Transcript::none(vec![]))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
}

fn sshd_target(sshd: &Sshd) -> SshTarget {
    SshTarget {
        device: "rtr-001".into(),
        host: "127.0.0.1".into(),
        port: sshd.port,
        username: sshd.user.clone(),
        credentials: crate::harness::key_credentials(&sshd.client_key),
        host_key_policy: HostKeyPolicy::AcceptNew,
        known_hosts: sshd.dir.path().join("client_known_hosts"),
        legacy_algorithms: true,
        connect_timeout: Duration::from_secs(5),
    }
}

async fn full_sync_behind_sshd(algorithms: &'static str) {
    let state = tempfile::tempdir().unwrap();
    let sim_args = format!("--state-dir {}", state.path().display());
    let sshd = tokio::task::spawn_blocking(move || Sshd::start(algorithms, &sim_args))
        .await
        .unwrap();
    let t = sshd_target(&sshd);
    let out = run(&t, &request(nets(0..3000)), Transcript::none(vec![]))
        .await
        .unwrap();
    assert_eq!(out.groups[1].added, 3000);
    // The simulator behind sshd keeps its state in a file; it lands shortly after.
    let file = state.path().join("rtr-001.json");
    let mut saved = None;
    crate::harness::wait_until_async(
        &format!("a saved state in {}", file.display()),
        Duration::from_secs(10),
        || {
            saved = std::fs::read_to_string(&file)
                .ok()
                .and_then(|t| serde_json::from_str::<tsfleet::sim::device::DeviceState>(&t).ok())
                .filter(|s| s.saved() && !s.running.groups.is_empty());
            saved.is_some()
        },
    )
    .await;
    let saved = saved.expect("the wait returned once it was read");
    let block = saved.group("threatstop-block").unwrap();
    assert_eq!(block.entries.len(), 3000);
    // A second run (a new sshd session, a new process) finds nothing to do.
    let out = run(&t, &request(nets(0..3000)), Transcript::none(vec![]))
        .await
        .unwrap();
    assert!(!out.changed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_converges_behind_a_legacy_only_openssh_sshd() {
    full_sync_behind_sshd(LEGACY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_converges_behind_a_modern_only_openssh_sshd() {
    full_sync_behind_sshd(MODERN).await;
}

// A device that streams without its prompt, as fast as SSH takes it, fails
// at the answer's byte cap (class flood, naming the bytes and the cap), and
// tsfleet stopped reading there: what the simulator got out is the cap plus
// what the SSH window and russh's bounded queue let through. One that
// trickles (a line every 50 ms, never silent for the 3 s inactivity
// timeout) fails at the answer's total time, with the real elapsed time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_or_trickling_device_fails_with_class_flood_and_is_not_read_further() {
    use tsfleet::device::error::FloodPast;
    let profile = "devices:\n  rtr-001: { faults: { flood_after_lines: 4 } }\n  rtr-002: { faults: { flood_after_lines: 4, flood_pause_ms: 50 } }\n";
    let fleet = fleet(3, profile).await;
    let dir = tempfile::tempdir().unwrap();
    let kh = known_hosts(&fleet, dir.path());
    let req = request(nets(0..50));
    let cap = tsfleet::device::shell::answer_cap(100);

    let log = dir.path().join("rtr-001.log");
    let transcript = Transcript::create(&log, vec![]).unwrap();
    let err = run_capped(&target(&fleet, "rtr-001", &kh), &req, transcript, cap)
        .await
        .unwrap_err();
    assert_eq!(err.class().as_str(), "flood", "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("past the {cap}-byte cap on one answer"))
            && message.contains("while terminal width 511"),
        "{message}"
    );
    let DeviceError::Flood { received, .. } = err else {
        unreachable!()
    };
    assert!(received > cap && received <= cap + 64 * 1024, "{received}");
    crate::harness::flood_stopped_near(fleet.device("rtr-001").unwrap(), cap);
    let transcript = std::fs::read_to_string(&log).unwrap();
    assert!(
        transcript.contains("### stopped reading: ") && transcript.len() < cap + 64 * 1024,
        "{}",
        transcript.len()
    );

    let err = run_capped(
        &target(&fleet, "rtr-002", &kh),
        &req,
        Transcript::none(vec![]),
        cap,
    )
    .await
    .unwrap_err();
    assert_eq!(err.class().as_str(), "flood", "{err}");
    let budget = match &err {
        DeviceError::Flood {
            past: FloodPast::Time(budget),
            elapsed,
            received,
            ..
        } => {
            assert!(*received > 0 && *received < cap, "{err}");
            // The real time, not the inactivity timeout or a configured value.
            assert!(
                elapsed >= budget && *elapsed < Duration::from_secs(60),
                "{err}"
            );
            *budget
        }
        _ => panic!("expected the answer's total time: {err}"),
    };
    assert!(budget > Duration::from_secs(3), "{budget:?}");
    assert!(err.to_string().contains("still no prompt after"), "{err}");

    // The healthy device beside them converges.
    run(
        &target(&fleet, "rtr-003", &kh),
        &req,
        Transcript::none(vec![]),
    )
    .await
    .unwrap();
    assert_eq!(group_len(&fleet, "rtr-003", "threatstop-block"), 50);
}

/// Logout types `exit` and closes the SSH session without waiting for the
/// device's answer (a round trip saved per device): the device still ends
/// the session, frees its only vty, and is not left in configuration mode,
/// so the next run gets in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_frees_the_vty_without_waiting_for_the_device() {
    let fleet = fleet(1, "devices: { rtr-001: { faults: { max_sessions: 1 } } }").await;
    let dir = tempfile::tempdir().unwrap();
    let kh = known_hosts(&fleet, dir.path());
    let t = target(&fleet, "rtr-001", &kh);
    let device = fleet.device("rtr-001").unwrap();
    let sessions = || {
        device
            .active_sessions
            .load(std::sync::atomic::Ordering::Acquire)
    };
    for (run_no, block) in [nets(0..20), nets(10..30)].into_iter().enumerate() {
        let transcript = dir.path().join(format!("t{run_no}.log"));
        let out = run(
            &t,
            &request(block),
            Transcript::create(&transcript, vec![]).unwrap(),
        )
        .await
        .unwrap();
        assert!(out.saved, "{out:?}");
        crate::harness::wait_until_async(
            "the device to end the session and free its vty",
            Duration::from_secs(10),
            || sessions() == 0,
        )
        .await;
        let text = std::fs::read_to_string(&transcript).unwrap();
        assert!(
            text.trim_end().ends_with(">>> exit"),
            "…{}",
            &text[text.len().saturating_sub(300)..]
        );
    }
    let stats = device.snapshot().stats;
    assert_eq!(stats.logins, 2);
    assert_eq!(stats.left_in_config_mode, 0);
    assert_eq!(group_len(&fleet, "rtr-001", "threatstop-block"), 20);
}

/// `configure terminal` goes out with the first `object-group` line in one
/// round trip. A device that refuses configuration mode (another session
/// holds the lock; IOS's message has no `%`) gets the `object-group` line
/// in exec mode, where it is refused: the device fails naming that line,
/// and no entry line is ever typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_configure_terminal_types_no_entry_and_fails_naming_the_line() {
    let fleet = fleet(
        1,
        "devices: { rtr-001: { faults: { config_locked: true } } }",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let kh = known_hosts(&fleet, dir.path());
    let t = target(&fleet, "rtr-001", &kh);
    let err = run(&t, &request(nets(0..20)), Transcript::none(vec![]))
        .await
        .unwrap_err();
    assert_eq!(err.class().as_str(), "device-error", "{err}");
    assert!(
        err.to_string()
            .contains("object-group network threatstop-allow"),
        "{err}"
    );
    let stats = fleet.device("rtr-001").unwrap().snapshot().stats;
    assert_eq!(stats.config_lines, 0, "{stats:?}");
    assert_eq!(stats.left_in_config_mode, 0);
    assert_eq!(group_len(&fleet, "rtr-001", "threatstop-allow"), 0);
    assert_eq!(group_len(&fleet, "rtr-001", "threatstop-block"), 0);
}

// IPv6 groups (issue 17) on a simulated IOS XE device.

/// `count` IPv6 entries from `start`: hosts `2001:db8::I`, and every third
/// one a /64 instead, so both entry forms go over the wire.
fn nets6(start: u32, count: u32) -> BTreeSet<ipnet::IpNet> {
    (start..start + count)
        .map(|i| {
            if i % 3 == 0 {
                format!("2001:db8:1:{i:x}::/64")
            } else {
                format!("2001:db8::{i:x}/128")
            }
            .parse()
            .unwrap()
        })
        .collect()
}

/// [`request`] with the two IPv6 groups after the IPv4 ones, as the runner
/// orders them for a device with `ipv6: true`.
fn dual_request(block6: BTreeSet<ipnet::IpNet>) -> SyncRequest {
    let mut req = request(nets(0..100));
    for (name, desired) in [
        ("threatstop-allow-v6", nets6(0xf000, 2)),
        ("threatstop-block-v6", block6),
    ] {
        req.groups.push(GroupTarget {
            name: name.into(),
            family: tsfleet::domain::Family::Ipv6,
            desired: std::sync::Arc::new(desired),
            planned: None,
        });
    }
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_groups_sync_over_ssh_on_ios_xe_and_netmiko_reads_back_what_was_pushed() {
    let fleet = fleet(
        3,
        "devices:\n  rtr-001: { version: '17.9.4a' }\n  rtr-002: { version: '15.7(3)M5' }\n  rtr-003: { version: '17.9.4a', faults: { no_v6_groups: true } }\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let kh = known_hosts(&fleet, dir.path());
    let t = target(&fleet, "rtr-001", &kh);
    let log = dir.path().join("rtr-001.log");
    let block6 = nets6(0, 600);
    let out = run(
        &t,
        &dual_request(block6.clone()),
        Transcript::create(&log, vec![PASSWORD.into(), ENABLE.into()]).unwrap(),
    )
    .await
    .unwrap();
    let counts: Vec<(&str, usize)> = (out.groups.iter())
        .map(|g| (g.name.as_str(), g.added))
        .collect();
    assert_eq!(
        counts,
        [
            ("threatstop-allow", 2),
            ("threatstop-block", 100),
            ("threatstop-allow-v6", 2),
            ("threatstop-block-v6", 600)
        ]
    );
    assert!(out.saved);
    let transcript = std::fs::read_to_string(&log).unwrap();
    for part in [
        ">>> show version",
        ">>> object-group v6-network threatstop-block-v6",
        "rtr-001(config-ipv6-object-group)#",
        ">>> host 2001:DB8::1\n",
        ">>> 2001:DB8:1:3::/64",
    ] {
        assert!(transcript.contains(part), "{part:?} in the transcript");
    }

    // An independent client reads the groups back as tsfleet pushed them.
    let read = peer_async(serde_json::json!({
        "action": "netmiko", "host": "127.0.0.1", "port": t.port,
        "password": PASSWORD, "secret": ENABLE,
        "shows": ["show object-group name threatstop-block-v6",
                  "show object-group name threatstop-allow-v6"],
    }))
    .await;
    let shown = read["shows"][0].as_str().unwrap();
    assert!(
        shown.starts_with("V6-Network object group threatstop-block-v6\n host 2001:DB8::1\n"),
        "{shown}"
    );
    let parsed = |text: &str, name: &str| {
        tsfleet::device::ios::parse_group(text, name, tsfleet::domain::Family::Ipv6)
            .unwrap()
            .managed
    };
    assert_eq!(parsed(shown, "threatstop-block-v6"), block6);
    assert_eq!(
        parsed(read["shows"][1].as_str().unwrap(), "threatstop-allow-v6"),
        nets6(0xf000, 2)
    );

    // Churn: adds before removals, the IPv4 groups untouched.
    let churned = nets6(30, 600);
    let out = run(&t, &dual_request(churned.clone()), Transcript::none(vec![]))
        .await
        .unwrap();
    let g = &out.groups[3];
    assert_eq!((g.added, g.removed, g.kept), (30, 30, 570));
    assert_eq!((out.groups[1].added, out.groups[1].removed), (0, 0));
    let state = fleet.device("rtr-001").unwrap().snapshot();
    let held: BTreeSet<ipnet::IpNet> = (state.v6_group("threatstop-block-v6").unwrap().entries)
        .iter()
        .map(|e| e.to_string())
        .map(|line| {
            tsfleet::device::ios::managed_entry(tsfleet::domain::Family::Ipv6, &line).unwrap()
        })
        .collect();
    assert_eq!(held, churned);
    assert!(state.saved());
    assert_eq!(state.stats.left_in_config_mode, 0);

    // Classic IOS: refused, naming the release and the fix, nothing sent.
    let t2 = target(&fleet, "rtr-002", &kh);
    let err = run(&t2, &dual_request(nets6(0, 10)), Transcript::none(vec![]))
        .await
        .unwrap_err();
    assert_eq!(
        err.class(),
        tsfleet::domain::ErrorClass::Unsupported,
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("rtr-002: runs IOS 15.7(3)M5, which has no `object-group v6-network`"),
        "{err}"
    );
    assert!(err.to_string().contains("set `ipv6: false`"), "{err}");
    let classic = fleet.device("rtr-002").unwrap().snapshot();
    assert_eq!(classic.stats.config_lines, 0, "nothing was sent");
    assert!(classic.running.groups.is_empty());

    // IOS XE by its `show version`, yet no `object-group v6-network`: the
    // IPv4 groups are pushed and saved, the device fails `unsupported`.
    let t3 = target(&fleet, "rtr-003", &kh);
    let err = run(&t3, &dual_request(nets6(0, 10)), Transcript::none(vec![]))
        .await
        .unwrap_err();
    assert_eq!(
        err.class(),
        tsfleet::domain::ErrorClass::Unsupported,
        "{err}"
    );
    assert!(
        err.to_string().contains("refused `object-group v6-network"),
        "{err}"
    );
    assert_eq!(err.reached().unwrap().groups[1].added, 100, "{err}");
    let state = fleet.device("rtr-003").unwrap().snapshot();
    assert_eq!(group_len(&fleet, "rtr-003", "threatstop-block"), 100);
    assert!(state.saved() && state.running.v6_groups.is_empty());
    assert_eq!(state.stats.left_in_config_mode, 0);
}
