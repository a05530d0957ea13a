//! The simulator against independent clients: netmiko's cisco_ios driver,
//! paramiko shells and the stock OpenSSH client; one test per fault.

use crate::harness::{self, fleet, openssh, peer_async};
use serde_json::json;
use std::time::Duration;
use tsfleet::sim::device::Entry;

fn entries(fleet: &tsfleet::sim::SimFleet, device: &str, group: &str) -> Vec<String> {
    let state = fleet.device(device).unwrap().snapshot();
    state
        .group(group)
        .map(|g| g.entries.iter().map(Entry::to_string).collect())
        .unwrap_or_default()
}

fn port(fleet: &tsfleet::sim::SimFleet, device: &str) -> u16 {
    fleet.device(device).unwrap().addr.port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netmiko_cisco_ios_driver_configures_and_saves() {
    let fleet = fleet(1, "").await;
    let out = peer_async(json!({
        "action": "netmiko", "host": "127.0.0.1", "port": port(&fleet, "rtr-001"),
        "shows": ["show version", "show object-group name threatstop-block"],
        "config": ["object-group network threatstop-block", "host 192.0.2.1",
                   "198.51.100.0 255.255.255.0", "description managed by tsfleet"],
        "save": true,
        "shows_after": ["show object-group name threatstop-block"],
    }))
    .await;
    assert_eq!(out["prompt_before_enable"], "rtr-001>", "{out}");
    assert_eq!(out["prompt"], "rtr-001#", "{out}");
    let version = out["shows"][0].as_str().unwrap();
    assert!(version.starts_with("Cisco IOS Software, "), "{version}");
    assert_eq!(out["shows"][1], "", "an absent group shows nothing");
    assert!(
        out["save_output"].as_str().unwrap().contains("[OK]"),
        "{out}"
    );
    assert_eq!(
        out["shows_after"][0],
        "Network object group threatstop-block\n Description managed by tsfleet\n host 192.0.2.1\n 198.51.100.0 255.255.255.0"
    );
    assert_eq!(
        entries(&fleet, "rtr-001", "threatstop-block"),
        ["host 192.0.2.1", "198.51.100.0 255.255.255.0"]
    );
    let state = fleet.device("rtr-001").unwrap().snapshot();
    assert!(state.saved(), "write memory saved the running config");
    assert_eq!(state.stats.left_in_config_mode, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netmiko_configures_and_reads_an_ios_xe_v6_network_group() {
    let fleet = fleet(
        2,
        "devices:\n  rtr-001:\n    version: \"17.9.4a\"\n    running:\n      v6_groups: [{ name: IN-USE, entries: ['host 2001:db8::99'] }]\n      v6_acls: [{ name: EDGE6, lines: ['deny ipv6 object-group IN-USE any'] }]\n",
    )
    .await;
    let out = peer_async(json!({
        "action": "netmiko", "host": "127.0.0.1", "port": port(&fleet, "rtr-001"),
        "shows": ["show version"],
        "config": ["object-group v6-network threatstop-block-v6", "host 2001:db8::1",
                   "2001:0db8:0001::/48", "HOST 2001:DB8:0:0::2",
                   "object-group v6-network IN-USE", "no host 2001:DB8::99"],
        "save": true,
        "shows_after": ["show object-group name threatstop-block-v6",
                        "show running-config | include object-group"],
    }))
    .await;
    let version = out["shows"][0].as_str().unwrap();
    assert!(
        version.starts_with("Cisco IOS XE Software, Version 17.9.4a\n"),
        "{version}"
    );
    assert!(
        out["config_output"]
            .as_str()
            .unwrap()
            .contains("% Object-group IN-USE is being used"),
        "{out}"
    );
    assert_eq!(
        out["shows_after"][0],
        "V6-Network object group threatstop-block-v6\n host 2001:DB8::1\n 2001:DB8:1::/48\n host 2001:DB8::2"
    );
    assert_eq!(
        out["shows_after"][1],
        "object-group v6-network IN-USE\nobject-group v6-network threatstop-block-v6\n deny ipv6 object-group IN-USE any"
    );
    let state = fleet.device("rtr-001").unwrap().snapshot();
    assert!(state.saved(), "write memory saved the running config");
    assert_eq!(state.stats.left_in_config_mode, 0);
    // The state dump (`--dump-state`, the JSON of a snapshot) carries the v6
    // groups beside the IPv4 ones, and a classic IOS device has none.
    let json = serde_json::to_value(&state).unwrap();
    assert_eq!(
        json["running"]["v6_groups"][1]["entries"],
        json!(["host 2001:DB8::1", "2001:DB8:1::/48", "host 2001:DB8::2"])
    );
    assert_eq!(json["running"]["groups"], json!([]));
    let classic = serde_json::to_value(fleet.device("rtr-002").unwrap().snapshot()).unwrap();
    assert!(classic["running"].get("v6_groups").is_none(), "{classic}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_refuses_v6_groups_on_classic_ios() {
    for (yaml, says) in [
        (
            "devices:\n  rtr-001:\n    running: { v6_groups: [{ name: G, entries: ['host 2001:db8::1'] }] }\n",
            "classic IOS",
        ),
        (
            "devices:\n  rtr-001:\n    version: '16.09.03'\n    running: { v6_groups: [{ name: G }] }\n",
            "empty v6-network group G",
        ),
    ] {
        let err = tsfleet::sim::SimFleet::start(tsfleet::sim::FleetConfig {
            devices: 1,
            profile: tsfleet::sim::Profile::parse(yaml).unwrap(),
            ..tsfleet::sim::FleetConfig::default()
        })
        .await
        .err()
        .expect("the profile is refused");
        let err = err.to_string();
        assert!(err.contains("rtr-001") && err.contains(says), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_session_follows_the_captured_layout() {
    // The netmiko session log of a Cisco 881 in user exec, replayed over SSH.
    let fleet = fleet(1, "devices: { rtr-001: { hostname: cisco1 } }").await;
    let out = peer_async(json!({
        "action": "raw", "host": "127.0.0.1", "port": port(&fleet, "rtr-001"), "greeting_until": "cisco1>",
        "steps": [
            {"send": "terminal width 511\n", "until": "cisco1>"},
            {"send": "terminal length 0\n", "until": "cisco1>"},
            {"send": "show foooooooo\n", "until": "cisco1>"},
            {"send": "exit\n", "seconds": 1},
        ],
    }))
    .await;
    let text = out["output"].as_str().unwrap();
    assert!(!text.contains("\r\r"), "CRLF, never CR CR: {text:?}");
    let lines: Vec<&str> = text.split("\r\n").collect();
    let capture = std::fs::read_to_string(
        harness::repo_root().join("tests/golden/session_cisco881_user_exec.netmiko.log"),
    )
    .expect("the capture is in the repository");
    let error_block = [
        "cisco1>show foooooooo",
        "              ^",
        "% Invalid input detected at '^' marker.",
        "",
    ];
    let captured: Vec<&str> = capture.lines().collect();
    let at = captured
        .iter()
        .position(|l| *l == "cisco1>show foooooooo")
        .unwrap();
    // The capture echoes the command twice (netmiko logs its own write); the device's part follows.
    assert_eq!(&captured[at + 2..at + 5], &error_block[1..]);
    let at = lines
        .iter()
        .position(|l| *l == error_block[0])
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(&lines[at..at + 4], &error_block);
    assert_eq!(lines[at + 4], "cisco1>exit");
    assert!(out["closed"].as_bool().unwrap(), "exit ends the session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssh_reaches_a_legacy_only_device_only_with_legacy_options() {
    let fleet = fleet(2, "devices: { rtr-002: { faults: { legacy_only: true } } }").await;
    let dir = tempfile::tempdir().unwrap();
    // OpenSSH runs off the runtime's threads: the simulator it talks to
    // lives on them.
    let ssh = |args: Vec<String>, input: &'static str| {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            openssh(&dir, "admin", &args, input)
        })
    };
    let owned = |args: &[&str]| -> Vec<String> { args.iter().map(|a| a.to_string()).collect() };
    let port = port(&fleet, "rtr-002").to_string();
    let dialogue = "enable\nenable\nshow version\nexit\n";
    let base = [
        "-p",
        port.as_str(),
        "-o",
        "PreferredAuthentications=password,keyboard-interactive",
    ];
    let (ok, _, err) = ssh(owned(&[&base[..], &["admin@127.0.0.1"]].concat()), dialogue)
        .await
        .unwrap();
    assert!(!ok, "a modern client must be refused");
    assert!(err.contains("no matching"), "{err}");
    let legacy = [
        "-oKexAlgorithms=+diffie-hellman-group1-sha1",
        "-oHostKeyAlgorithms=+ssh-rsa",
        "-c",
        "aes128-cbc",
        "admin@127.0.0.1",
    ];
    let (ok, out, err) = ssh(owned(&[&base[..], &legacy[..]].concat()), dialogue)
        .await
        .unwrap();
    // Like IOS, the simulator sends no exit-status, so ssh exits 255 even on success.
    let _ = ok;
    assert!(
        !err.contains("no matching"),
        "legacy options reach the device: {err}"
    );
    assert!(out.contains("rtr-002#show version"), "{out}");
    assert!(out.contains("Cisco IOS Software"), "{out}");
    // The same client reaches a normal device without any option.
    let port1 = fleet.device("rtr-001").unwrap().addr.port().to_string();
    let (_, out, err) = ssh(
        owned(&[
            "-p",
            &port1,
            "-o",
            "PreferredAuthentications=password",
            "admin@127.0.0.1",
        ]),
        "show version\nexit\n",
    )
    .await
    .unwrap();
    assert!(out.contains("Cisco IOS Software"), "{out} {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_devices_in_one_process_each_accept_a_login() {
    let fleet = fleet(200, "").await;
    let ports: Vec<u16> = fleet.devices().iter().map(|d| d.addr.port()).collect();
    let out =
        peer_async(json!({"action": "logins", "host": "127.0.0.1", "ports": ports, "workers": 16}))
            .await;
    let prompts = out["prompts"].as_array().unwrap_or_else(|| panic!("{out}"));
    assert_eq!(prompts.len(), 200);
    for (d, p) in fleet.devices().iter().zip(prompts) {
        assert!(
            p.as_str().unwrap().ends_with(&format!("{}>", d.name)),
            "{}: {p}",
            d.name
        );
        assert_eq!(d.snapshot().stats.logins, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_wrong_password_refuses_login() {
    let fleet = fleet(
        2,
        "devices: { rtr-001: { faults: { wrong_password: true } } }",
    )
    .await;
    let bad =
        peer_async(json!({"action": "auth", "host": "127.0.0.1", "port": port(&fleet, "rtr-001")}))
            .await;
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["error"], "auth", "{bad}");
    let good =
        peer_async(json!({"action": "auth", "host": "127.0.0.1", "port": port(&fleet, "rtr-002")}))
            .await;
    assert_eq!(good["ok"], true, "{good}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_wrong_enable_secret_denies_enable() {
    let fleet = fleet(
        1,
        "devices: { rtr-001: { faults: { wrong_enable_secret: true } } }",
    )
    .await;
    let out = peer_async(json!({
        "action": "raw", "host": "127.0.0.1", "port": port(&fleet, "rtr-001"), "greeting_until": ">",
        "steps": [
            {"send": "enable\n", "until": "Password: "},
            {"send": "enable\n", "until": "Password: "},
            {"send": "enable\n", "until": "Password: "},
            {"send": "enable\n", "until": "rtr-001>"},
        ],
    }))
    .await;
    let text = out["output"].as_str().unwrap();
    assert!(text.contains("% Access denied"), "{text}");
    assert!(text.contains("% Bad secrets"), "{text}");
    assert!(!text.contains("rtr-001#"), "{text}");
    let netmiko = peer_async(
        json!({"action": "netmiko", "host": "127.0.0.1", "port": port(&fleet, "rtr-001")}),
    )
    .await;
    assert!(
        netmiko["exception"].is_string(),
        "netmiko's enable() fails: {netmiko}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_refused_connection() {
    let fleet = fleet(
        1,
        "devices: { rtr-001: { faults: { refuse_connections: true } } }",
    )
    .await;
    let addr = fleet.device("rtr-001").unwrap().addr;
    let err = std::net::TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    // The port stays taken while the fleet runs: no other device or test
    // can get it and answer in the refusing device's place.
    let err = std::net::TcpListener::bind(addr).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_disconnect_after_n_lines() {
    let fleet = fleet(
        1,
        "devices: { rtr-001: { faults: { disconnect_after_lines: 3 } } }",
    )
    .await;
    let out = peer_async(json!({
        "action": "raw", "host": "127.0.0.1", "port": port(&fleet, "rtr-001"), "greeting_until": ">",
        "steps": [
            {"send": "terminal length 0\n", "until": "rtr-001>"},
            {"send": "show clock\n", "seconds": 0.5},
            {"send": "terminal width 511\n", "seconds": 1},
            {"send": "show version\n", "seconds": 1},
        ],
    }))
    .await;
    assert!(out["closed"].as_bool().unwrap(), "{out}");
    let text = out["output"].as_str().unwrap();
    assert!(
        !text.contains("Cisco IOS Software"),
        "nothing after the third line: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_hang_after_n_lines() {
    let fleet = fleet(
        1,
        "devices: { rtr-001: { faults: { hang_after_lines: 2 } } }",
    )
    .await;
    let out = peer_async(json!({
        "action": "raw", "host": "127.0.0.1", "port": port(&fleet, "rtr-001"), "greeting_until": ">",
        "steps": [
            {"send": "terminal length 0\n", "until": "rtr-001>"},
            {"send": "show version\n", "seconds": 1.5},
            {"send": "\n", "seconds": 0.5},
        ],
    }))
    .await;
    let text = out["output"].as_str().unwrap();
    assert!(!text.contains("Cisco IOS Software"), "{text}");
    assert!(
        !out["closed"].as_bool().unwrap(),
        "a hung device keeps the connection open: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_asynchronous_syslog_lines() {
    let fleet = fleet(
        1,
        "devices: { rtr-001: { faults: { syslog_every_lines: 2 } } }",
    )
    .await;
    let out = peer_async(json!({
        "action": "raw", "host": "127.0.0.1", "port": port(&fleet, "rtr-001"), "greeting_until": ">",
        "steps": [{"send": "\n\n\n\n", "seconds": 1}],
    }))
    .await;
    let text = out["output"].as_str().unwrap();
    assert!(
        text.contains("%SYS-5-CONFIG_I") || text.contains("%LINEPROTO-5-UPDOWN"),
        "{text}"
    );
    // Devices without the fault print none.
    let quiet = harness::fleet(1, "").await;
    let out = peer_async(json!({
        "action": "raw", "host": "127.0.0.1", "port": port(&quiet, "rtr-001"), "greeting_until": ">",
        "steps": [{"send": "\n\n\n\n", "seconds": 1}],
    }))
    .await;
    assert!(!out["output"].as_str().unwrap().contains('%'), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_error_on_chosen_entries_and_group_size_limit() {
    let fleet = fleet(
        2,
        "devices:\n  rtr-001: { faults: { error_entries: ['host 192.0.2.66'] } }\n  rtr-002: { faults: { max_group_entries: 2 } }\n",
    )
    .await;
    let config = json!([
        "object-group network G",
        "host 192.0.2.1",
        "host 192.0.2.66",
        "host 192.0.2.3"
    ]);
    for name in ["rtr-001", "rtr-002"] {
        let out = peer_async(json!({
            "action": "netmiko", "host": "127.0.0.1", "port": port(&fleet, name), "config": config,
        }))
        .await;
        assert!(
            out["config_output"]
                .as_str()
                .unwrap_or_default()
                .contains('%'),
            "{name}: {out}"
        );
    }
    assert_eq!(
        entries(&fleet, "rtr-001", "G"),
        ["host 192.0.2.1", "host 192.0.2.3"]
    );
    assert_eq!(
        entries(&fleet, "rtr-002", "G"),
        ["host 192.0.2.1", "host 192.0.2.66"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_vty_limit_closes_extra_sessions() {
    let fleet = fleet(1, "devices: { rtr-001: { faults: { max_sessions: 1 } } }").await;
    let device = fleet.device("rtr-001").unwrap();
    let addr = device.addr;
    let sessions = || {
        device
            .active_sessions
            .load(std::sync::atomic::Ordering::Acquire)
    };
    let held = std::net::TcpStream::connect(addr).unwrap();
    harness::wait_until_async(
        "the held connection to take the vty",
        Duration::from_secs(10),
        || sessions() == 1,
    )
    .await;
    let refused =
        peer_async(json!({"action": "auth", "host": "127.0.0.1", "port": addr.port()})).await;
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(refused["error"], "connect", "{refused}");
    drop(held);
    harness::wait_until_async("the vty to be freed", Duration::from_secs(10), || {
        sessions() == 0
    })
    .await;
    let ok = peer_async(json!({"action": "auth", "host": "127.0.0.1", "port": addr.port()})).await;
    assert_eq!(ok["ok"], true, "a free vty accepts again: {ok}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_rotating_host_key_changes_between_runs() {
    let dir = tempfile::tempdir().unwrap();
    let start = || async {
        tsfleet::sim::SimFleet::start(tsfleet::sim::FleetConfig {
            devices: 2,
            state_dir: Some(dir.path().to_path_buf()),
            profile: tsfleet::sim::Profile::parse(
                "devices: { rtr-002: { faults: { rotate_host_key: true } } }",
            )
            .unwrap(),
            ..Default::default()
        })
        .await
        .unwrap()
    };
    let keys = |f: &tsfleet::sim::SimFleet| -> Vec<String> {
        f.devices()
            .iter()
            .map(|d| tsfleet::sim::hostkeys::fingerprint(&d.host_key))
            .collect()
    };
    let first = keys(&start().await);
    let second = keys(&start().await);
    assert_eq!(first[0], second[0], "a device keeps its key in --state-dir");
    assert_ne!(first[1], second[1], "the rotating device has a new key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_input_dropped_when_too_much_is_unread() {
    let profile = "devices:\n  rtr-001: { line_cost_us: 2000, faults: { drop_input_over_bytes: 200 } }\n  rtr-002: { line_cost_us: 2000 }\n";
    let fleet = fleet(2, profile).await;
    let burst: String = (1..=100)
        .map(|i| format!("host 10.0.{}.{}\n", i / 250, i % 250))
        .collect();
    for name in ["rtr-001", "rtr-002"] {
        let out = peer_async(json!({
            "action": "raw", "host": "127.0.0.1", "port": port(&fleet, name), "greeting_until": ">",
            "steps": [
                {"send": "enable\n", "until": "Password: "},
                {"send": "enable\n", "until": "#"},
                {"send": "configure terminal\n", "until": "(config)#"},
                {"send": "object-group network G\n", "until": "(config-network-group)#"},
                {"send": burst, "seconds": 2},
                {"send": "end\n", "seconds": 1},
            ],
        }))
        .await;
        assert!(out["output"].is_string(), "{out}");
    }
    let dropped = entries(&fleet, "rtr-001", "G").len();
    assert!(
        dropped < 100,
        "the overflowing device lost input ({dropped} of 100 arrived)"
    );
    assert_eq!(
        entries(&fleet, "rtr-002", "G").len(),
        100,
        "a slow device without the fault loses nothing"
    );
}

#[test]
fn sim_binary_writes_inventory_and_dumps_state_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("lab/inventory.yaml");
    let dump = dir.path().join("state.json");
    let (inventory_arg, dump_arg) = (inventory.display().to_string(), dump.display().to_string());
    let mut sim = harness::sim_process::SimProcess::spawn_on_free_ports(
        &[
            "--devices",
            "2",
            "--password",
            "s3cret-pw",
            "--write-inventory",
            &inventory_arg,
            "--dump-state",
            &dump_arg,
        ],
        dir.path(),
    );
    // The simulator says when the inventory is complete (and it listens for
    // SIGTERM by then).
    sim.wait_for_line("tsfleet sim: inventory written to");
    let served = sim.wait_for_line("tsfleet sim: lists served by DNS on ");
    let loaded = tsfleet::inventory::load(&inventory).expect("the written inventory loads");
    assert_eq!(loaded.inventory.devices.len(), 2);
    // --dns-port 0: the inventory names the port the list server got.
    let dns = loaded
        .inventory
        .dns
        .as_ref()
        .expect("dns: names the list server");
    assert_ne!(dns.port, 0);
    assert!(
        served.contains(&format!("127.0.0.1:{} ", dns.port)),
        "{served} vs port {}",
        dns.port
    );
    assert!(loaded.inventory.policies.contains_key("lab"));
    let known_hosts =
        std::fs::read_to_string(dir.path().join("lab/inventory.known_hosts")).unwrap();
    assert_eq!(known_hosts.lines().count(), 2);
    let password_file = dir.path().join("lab/inventory.secrets/password");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&password_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let password = loaded
        .inventory
        .defaults
        .password
        .as_ref()
        .unwrap()
        .reveal(&loaded.base_dir)
        .unwrap();
    assert_eq!(password, "s3cret-pw");
    let text = std::fs::read_to_string(&inventory).unwrap();
    assert!(
        !text.contains("s3cret-pw"),
        "no secret in the inventory itself"
    );
    let (status, stderr) = sim.terminate();
    assert!(status.success(), "{stderr}");
    assert!(!stderr.contains("s3cret-pw"), "{stderr}");
    let dumped: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dump).unwrap()).unwrap();
    assert_eq!(dumped["devices"].as_object().unwrap().len(), 2);
    assert_eq!(dumped["devices"]["rtr-001"]["hostname"], "rtr-001");
}
