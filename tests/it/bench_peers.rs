//! The fleet benchmark (`benches/fleet.rs`) times netmiko, Nornir and scrapli
//! doing tsfleet's job. These tests run its peer script,
//! `benches/peers/fleet_peer.py`, against the simulator and check that each
//! tool really does that job: it pushes exactly the difference, the devices
//! end with the desired groups, saved, and a plan changes nothing.

use crate::harness;
use serde_json::json;
use tsfleet::sim::SimFleet;
use tsfleet::sim::device::{Entry, ObjectGroup};

const GROUP: &str = "threatstop-block";

fn group(entries: &[&str]) -> ObjectGroup {
    ObjectGroup {
        name: GROUP.into(),
        description: None,
        entries: entries
            .iter()
            .map(|e| e.parse::<Entry>().unwrap())
            .collect(),
    }
}

fn job(tool: &str, mode: &str, fleet: &SimFleet, desired: &[&str]) -> serde_json::Value {
    let devices: Vec<_> = fleet
        .devices()
        .iter()
        .map(|d| json!({"name": d.name, "host": "127.0.0.1", "port": d.addr.port()}))
        .collect();
    json!({
        "tool": tool, "mode": mode, "concurrency": 2,
        "username": "admin", "password": "admin", "secret": "enable",
        "devices": devices, "groups": { GROUP: desired },
    })
}

/// Runs `tool`'s peer on `fleet` from the same state each time: a plan
/// reports the difference and changes nothing, an apply pushes exactly it and
/// leaves every device with the desired entries, saved, and a second apply
/// pushes nothing.
async fn check_peer(tool: &str, fleet: &SimFleet) {
    let before = group(&[
        "host 192.0.2.1",
        "host 192.0.2.2",
        "198.51.100.0 255.255.255.0",
    ]);
    let desired = [
        "host 192.0.2.2",
        "198.51.100.0 255.255.255.0",
        "host 192.0.2.3",
        "203.0.113.0 255.255.255.128",
    ];
    fleet.set_groups(std::slice::from_ref(&before));
    let run = |mode: &str| {
        let request = job(tool, mode, fleet, &desired);
        tokio::task::spawn_blocking(move || {
            harness::python_peer("benches/peers/fleet_peer.py", request)
        })
    };
    let plan = run("plan").await.unwrap();
    assert_eq!(plan["failed"], json!({}), "{tool} plan: {plan}");
    // Per device: the group line, two adds and one removal.
    assert_eq!(plan["lines"], 8, "{tool} plan: {plan}");
    for d in fleet.devices() {
        assert_eq!(
            d.snapshot().group(GROUP),
            Some(&before),
            "{tool} plan changed {}",
            d.name
        );
    }

    let apply = run("apply").await.unwrap();
    assert_eq!(apply["failed"], json!({}), "{tool} apply: {apply}");
    assert_eq!(apply["lines"], 8, "{tool} apply: {apply}");
    for d in fleet.devices() {
        let state = d.snapshot();
        let entries: std::collections::BTreeSet<String> = state
            .group(GROUP)
            .unwrap()
            .entries
            .iter()
            .map(|e| e.to_string())
            .collect();
        let want: std::collections::BTreeSet<String> =
            desired.iter().map(|e| e.to_string()).collect();
        assert_eq!(entries, want, "{tool} left {} with other entries", d.name);
        assert!(state.saved(), "{tool} did not save {}", d.name);
    }

    let again = run("apply").await.unwrap();
    assert_eq!(again["failed"], json!({}), "{tool} second apply: {again}");
    assert_eq!(again["lines"], 0, "{tool} second apply: {again}");
}

#[tokio::test(flavor = "multi_thread")]
async fn netmiko_and_nornir_peers_push_the_difference_and_plan_changes_nothing() {
    let fleet = harness::fleet(2, "").await;
    for tool in ["netmiko", "nornir"] {
        check_peer(tool, &fleet).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scrapli_peer_pushes_the_difference_also_to_a_legacy_only_device() {
    // rtr-002 offers only old IOS's algorithms: the peer's OpenSSH options
    // for them are what lets scrapli reach it.
    let fleet = harness::fleet(2, "devices: { rtr-002: { faults: { legacy_only: true } } }").await;
    check_peer("scrapli", &fleet).await;
}
