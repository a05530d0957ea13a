//! `check` and `remove` on a fleet with IPv6 groups (issue 17), through the
//! binary: whether IOS XE's `object-group v6-network` is there, whether the
//! v6 groups exist and an IPv6 ACL uses them, and both families removed.

use crate::fleet::{code, schema_valid, text};
use crate::harness;
use ipnet::Ipv4Net;
use std::path::Path;
use std::process::Output;
use tsfleet::inventory::Policy;
use tsfleet::sim::testbed::TestBed;

/// rtr-001: IOS XE, ipv6, its v6 block group used by an IPv6 ACL;
/// rtr-002: classic IOS with ipv6 on; rtr-003: IOS XE, ipv6 off, a v6
/// group left from when it was on;
/// rtr-004: IOS XE, ipv6, all four groups held and used by nothing;
/// rtr-005: IOS XE, ipv6, an IPv4 group holding the v6 block group's name.
const PROFILE: &str = "devices:
  rtr-001:
    version: '17.9.4a'
    running:
      v6_groups: [{ name: threatstop-block-v6, entries: ['host 2001:DB8::1'] }]
      v6_acls: [{ name: EDGE-V6, lines: ['deny ipv6 object-group threatstop-block-v6 any'] }]
  rtr-002: { version: '15.7(3)M5' }
  rtr-003:
    version: '16.09.03'
    running:
      v6_groups: [{ name: threatstop-allow-v6, entries: ['host 2001:DB8::3'] }]
  rtr-004:
    version: '17.9.4a'
    running:
      groups: [{ name: threatstop-block, entries: ['host 192.0.2.7'] }, { name: threatstop-allow, entries: ['host 192.0.2.8'] }]
      v6_groups: [{ name: threatstop-block-v6, entries: ['host 2001:DB8::7', '2001:DB8:7::/48'] }, { name: threatstop-allow-v6, entries: ['host 2001:DB8::8'] }]
  rtr-005:
    version: '17.9.4a'
    running:
      groups: [{ name: threatstop-block-v6, entries: ['host 192.0.2.9'] }]
";

async fn bed(dir: &Path) -> TestBed {
    TestBed::builder()
        .devices(5)
        .profile(PROFILE)
        .list(
            "v6-block.acme.threatstop.local",
            [Ipv4Net::new([192, 0, 2, 77].into(), 32).unwrap()],
        )
        .list("v6-allow.acme.threatstop.local", Vec::<Ipv4Net>::new())
        .policy(
            "corp",
            Policy {
                block: vec!["v6-block.acme.threatstop.local".into()],
                allow: vec!["v6-allow.acme.threatstop.local".into()],
                ..Policy::default()
            },
        )
        .edit(|inv| {
            for d in &mut inv.devices {
                d.settings.ipv6 = Some(d.name != "rtr-003");
            }
        })
        .start(&dir.join("fleet.yaml"))
        .await
        .unwrap()
}

/// Run the binary off the runtime; the report it writes, schema-checked.
async fn tsfleet(dir: &Path, args: &[&str]) -> (Output, serde_json::Value) {
    let report = dir.join(format!("{}.json", args[0]));
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(["-i".into(), dir.join("fleet.yaml").display().to_string()]);
    all.extend(["--json".into(), report.display().to_string()]);
    let cwd = dir.to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        harness::tsfleet(&refs, &cwd)
    })
    .await
    .unwrap();
    let file = report.clone();
    tokio::task::spawn_blocking(move || schema_valid(&[&file]))
        .await
        .unwrap();
    let json = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    (out, json)
}

fn device<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    (report["devices"].as_array().unwrap().iter())
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_where_ipv6_groups_work_and_remove_deletes_both_families() {
    let dir = tempfile::tempdir().unwrap();
    let bed = bed(dir.path()).await;
    let (out, report) = tsfleet(dir.path(), &["check"]).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    let notes = |name: &str| device(&report, name)["notes"].to_string();

    let n = notes("rtr-001");
    assert!(
        n.contains("IPv6 object groups: available (IOS XE 17.9.4a)"),
        "{n}"
    );
    assert!(
        !n.contains("threatstop-block-v6 is not used"),
        "used by EDGE-V6: {n}"
    );
    assert!(
        n.contains("IPv6 group threatstop-allow-v6 does not exist yet"),
        "{n}"
    );

    let failed = device(&report, "rtr-002");
    assert_eq!(failed["error"]["class"], "unsupported", "{failed}");
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("IOS 15.7(3)M5, which has no `object-group v6-network`")
            && message.contains("set `ipv6: false`"),
        "{message}"
    );

    let n = notes("rtr-003");
    assert!(
        n.contains("available (IOS XE 16.09.03)") && n.contains("set `ipv6: true`"),
        "{n}"
    );
    assert!(
        !n.contains("v6 does not exist"),
        "ipv6 is off: no v6 group is expected: {n}"
    );

    let n = notes("rtr-004");
    assert!(
        n.contains("IPv6 group threatstop-block-v6 is not used by any IPv6 ACL"),
        "{n}"
    );
    assert!(
        n.contains("IPv4 group threatstop-block is not used by any ACL"),
        "{n}"
    );

    let n = notes("rtr-005");
    assert!(
        n.contains("group threatstop-block-v6 exists as an IPv4 object-group"),
        "{n}"
    );
    for d in bed.fleet().devices() {
        assert_eq!(
            d.snapshot().stats.config_lines,
            0,
            "check changed {}",
            d.name
        );
    }

    let (out, report) = tsfleet(dir.path(), &["remove", "--yes", "--limit", "rtr-00[1345]"]).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    let refused = device(&report, "rtr-001");
    assert_eq!(refused["error"]["class"], "refused", "{report}");
    assert!(
        (refused["error"]["message"].as_str().unwrap())
            .contains("threatstop-block-v6: deny ipv6 object-group threatstop-block-v6 any"),
        "the IPv6 ACL line is shown: {refused}"
    );
    let snapshot = |name: &str| bed.fleet().device(name).unwrap().snapshot();
    assert_eq!(
        snapshot("rtr-001").running.v6_groups.len(),
        1,
        "in use: untouched"
    );

    assert_eq!(device(&report, "rtr-004")["status"], "changed", "{report}");
    let removed = snapshot("rtr-004");
    assert!(
        removed.running.groups.is_empty() && removed.running.v6_groups.is_empty(),
        "both families deleted: {:?}",
        removed.running
    );
    assert!(removed.saved());
    let families: Vec<&str> = (device(&report, "rtr-004")["groups"]
        .as_array()
        .unwrap()
        .iter())
    .map(|g| g["family"].as_str().unwrap())
    .collect();
    assert!(
        families.contains(&"ipv4") && families.contains(&"ipv6"),
        "the report says which kind of group went: {families:?}"
    );
    // `ipv6` is off now, but the v6 group it left is tsfleet's to delete.
    assert_eq!(device(&report, "rtr-003")["status"], "changed", "{report}");
    assert!(snapshot("rtr-003").running.v6_groups.is_empty());
    // Not tsfleet's: an IPv4 group under the IPv6 group's name is left alone.
    assert_eq!(device(&report, "rtr-005")["status"], "ok", "{report}");
    assert_eq!(snapshot("rtr-005").running.groups.len(), 1);
    assert_eq!(snapshot("rtr-005").stats.config_lines, 0);
}
