//! IPv6 lists end to end (issue 17): one DNS-published list carried into
//! both families on a mixed fleet of simulated classic IOS and IOS XE
//! routers, from the inventory's `ipv6:` to the reports, the saved plan and
//! the router's `v6-network` groups.

use crate::fleet::{code, text};
use crate::harness::nsd::Nsd;
use crate::harness::{self, Zone};
use ipnet::{IpNet, Ipv6Net};
use std::collections::BTreeSet;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::Output;
use tsfleet::sim::TestBed;
use tsfleet::sim::device::V6Entry;

/// rtr-001: classic IOS, IPv4 only. rtr-002: IOS XE with `ipv6: true`; its
/// block-v6 group already holds one listed entry in lower case and one
/// stale entry. rtr-003: classic IOS with `ipv6: true`, which it cannot do.
const PROFILE: &str = r#"
devices:
  rtr-002:
    version: "17.9.4a"
    running:
      v6_groups:
        - { name: threatstop-block-v6, entries: ["host 2001:db8:2::1", "2001:db8:ff::/48"] }
  rtr-003:
    version: "15.7(3)M5"
"#;

struct Dual {
    bed: TestBed,
    _nsd: Nsd,
    dir: tempfile::TempDir,
    inventory: PathBuf,
}

impl Dual {
    async fn start() -> Dual {
        // Block: IPv4 and IPv6 items, an IPv6 item negated inside another.
        let zone = Zone::new()
            .apl(
                "dual-block.acme",
                &[
                    "1:203.0.113.0/24".into(),
                    "1:198.51.100.7/32".into(),
                    "2:2001:db8:1::/48".into(),
                    "2:2001:db8:2::1/128".into(),
                    "2:2001:db8:3::/48".into(),
                    "!2:2001:db8:3:1::/64".into(),
                ],
            )
            .apl("dual-allow.acme", &["2:2001:db8:a::/64".into()]);
        let nsd = Nsd::start(&zone);
        let lists = harness::lists_inventory(
            &["127.0.0.1".into()],
            nsd.port,
            "tcp",
            &["dual-block.acme"],
            &["dual-allow.acme"],
        );
        let dir = tempfile::tempdir().unwrap();
        let inventory = dir.path().join("fleet.yaml");
        let bed = TestBed::builder()
            .devices(3)
            .profile(PROFILE)
            .edit(move |inv| {
                inv.defaults.connect_timeout_ms = Some(3000);
                inv.defaults.command_timeout_ms = Some(3000);
                inv.dns = lists.dns;
                inv.policies = lists.policies;
                for d in &mut inv.devices[1..] {
                    d.settings.ipv6 = Some(true);
                }
            })
            .start(&inventory)
            .await
            .unwrap();
        Dual {
            bed,
            _nsd: nsd,
            dir,
            inventory,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Run the binary off the async runtime (the simulator lives on it).
    async fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["-i".into(), self.inventory.display().to_string()]);
        harness::tsfleet_async(all, self.dir.path().to_path_buf()).await
    }

    /// The addresses `group` holds on `device` (a v6-network group).
    fn v6_group(&self, device: &str, group: &str) -> BTreeSet<IpNet> {
        let state = self.bed.fleet().device(device).unwrap().snapshot();
        let Some(g) = state.v6_group(group) else {
            return BTreeSet::new();
        };
        g.entries
            .iter()
            .map(|e| match e {
                V6Entry::Host(a) => IpNet::V6(Ipv6Net::from(*a)),
                V6Entry::Prefix(p) => IpNet::V6(*p),
            })
            .collect()
    }

    fn config_lines(&self, device: &str) -> u64 {
        let d = self.bed.fleet().device(device).unwrap();
        d.snapshot().stats.config_lines
    }
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn device<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    (report["devices"].as_array().unwrap().iter())
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {report}"))
}

fn covers(set: &BTreeSet<IpNet>, address: &str) -> bool {
    let a: Ipv6Addr = address.parse().unwrap();
    set.iter().any(|n| match n {
        IpNet::V6(n) => n.contains(&a),
        IpNet::V4(_) => false,
    })
}

#[tokio::test]
async fn one_list_into_both_families_on_a_mixed_fleet() {
    let lab = Dual::start().await;
    let (plan_json, saved) = (lab.path("plan.json"), lab.path("saved.json"));
    let plan_json_arg = plan_json.display().to_string();
    let saved_arg = saved.display().to_string();

    // The plan: rtr-003 cannot carry IPv6 and fails before anything is
    // sent; rtr-002's IPv6 groups are planned like its IPv4 ones.
    let out = lab
        .run(&[
            "plan",
            "--detailed-exitcode",
            "--diff",
            "--json",
            &plan_json_arg,
            "--out",
            &saved_arg,
            "--limit",
            "!rtr-003",
        ])
        .await;
    assert_eq!(code(&out), 2, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("rtr-002: object-group v6-network threatstop-block-v6 (+"),
        "the diff names the IPv6 group and its kind: {stdout}"
    );
    assert!(
        stdout.contains("+ 2001:DB8:1::/48") && stdout.contains("- 2001:DB8:FF::/48"),
        "IPv6 lines as pushed: {stdout}"
    );
    assert!(
        !stdout.contains("+ host 2001:DB8:2::1"),
        "the entry held in lower case is the listed one: no change: {stdout}"
    );
    let report = json(&plan_json);
    let groups = &device(&report, "rtr-002")["groups"];
    let families: Vec<(&str, &str)> = (groups.as_array().unwrap().iter())
        .map(|g| (g["name"].as_str().unwrap(), g["family"].as_str().unwrap()))
        .collect();
    assert_eq!(
        families,
        [
            ("threatstop-allow", "ipv4"),
            ("threatstop-block", "ipv4"),
            ("threatstop-allow-v6", "ipv6"),
            ("threatstop-block-v6", "ipv6"),
        ]
    );
    let rtr1 = &device(&report, "rtr-001")["groups"];
    assert_eq!(rtr1.as_array().unwrap().len(), 2, "ipv6: false: IPv4 only");
    assert_eq!(lab.config_lines("rtr-002"), 0, "a plan configures nothing");

    // rtr-003 alone: refused as classic IOS, nothing sent.
    let out = lab.run(&["plan", "--limit", "rtr-003"]).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("unsupported") && all.contains("IOS XE") && all.contains("ipv6: false"),
        "says what it is and what to do: {all}"
    );

    // The saved plan is applied exactly.
    let out = lab.run(&["apply", "--plan", &saved_arg, "--yes"]).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    let block = lab.v6_group("rtr-002", "threatstop-block-v6");
    for held in ["2001:db8:1::5", "2001:db8:2::1", "2001:db8:3::5"] {
        assert!(covers(&block, held), "{held} in {block:?}");
    }
    for not in ["2001:db8:3:1::5", "2001:db8:ff::1"] {
        assert!(!covers(&block, not), "{not} carved or removed: {block:?}");
    }
    let allow = lab.v6_group("rtr-002", "threatstop-allow-v6");
    assert!(covers(&allow, "2001:db8:a::1"), "{allow:?}");
    let state = lab.bed.fleet().device("rtr-002").unwrap().snapshot();
    assert!(state.saved(), "saved");
    let rtr1 = lab.bed.fleet().device("rtr-001").unwrap().snapshot();
    assert!(rtr1.running.v6_groups.is_empty());

    // In sync now: the IPv6 groups read back as the plan made them.
    let out = lab.run(&["plan", "--limit", "!rtr-003"]).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(lab.config_lines("rtr-003"), 0, "never configured");
}

#[tokio::test]
async fn reports_count_the_ipv6_groups() {
    let lab = Dual::start().await;
    let (report, junit, prom) = (lab.path("r.json"), lab.path("r.xml"), lab.path("r.prom"));
    let args = [
        "apply",
        "--yes",
        "--limit",
        "rtr-002",
        "--json",
        report.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--metrics",
        prom.to_str().unwrap(),
    ];
    let out = lab.run(&args).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    let r = json(&report);
    let d = device(&r, "rtr-002");
    let v6_added: u64 = (d["groups"].as_array().unwrap().iter())
        .filter(|g| g["family"] == "ipv6")
        .map(|g| g["added"].as_u64().unwrap())
        .sum();
    assert!(v6_added > 0, "{d}");
    let sets = r["change_sets"].as_object().unwrap();
    assert!(
        sets.values().any(|s| s["family"] == "ipv6"),
        "change sets carry their family: {sets:?}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("object-group v6-network threatstop-block-v6: +") && xml.contains(" capped 0"),
        "{xml}"
    );
    let metrics = std::fs::read_to_string(&prom).unwrap();
    let line = (metrics.lines())
        .find(|l| {
            l.starts_with("tsfleet_entries{") && l.contains("family=\"ipv6\",change=\"added\"")
        })
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(line.ends_with(&format!(" {v6_added}")), "{line}");
}
