//! The shrink guard by default (`src/lists/applied.rs`): the record of the
//! lists last applied, in the state directory, is the guard's baseline when
//! no `--previous` is given. Through the real binary, against the test bed
//! (simulated fleet over SSH, lists served by the list server).

use crate::harness;
use ipnet::{IpNet, Ipv4Net};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Output;
use tsfleet::inventory::Policy;
use tsfleet::lists::applied::{Applied, RecordFile};
use tsfleet::sim::list_server::PublishedList;
use tsfleet::sim::{TestBed, TestBedBuilder};

const LIST: &str = "corp-block.acme.threatstop.local";
/// An entry rtr-002 refuses (its `error_entries` fault in [`Bed::start`]'s profile).
const REFUSED: &str = "198.51.100.11/32";

/// `count` host prefixes from 10.0.0.0 up.
pub(crate) fn hosts(count: u32) -> Vec<Ipv4Net> {
    (0..count)
        .map(|i| Ipv4Net::new(Ipv4Addr::from(0x0A00_0000 + i), 32).unwrap())
        .collect()
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub(crate) struct Bed {
    pub(crate) bed: TestBed,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) inventory: PathBuf,
}

impl Bed {
    pub(crate) async fn start(
        devices: usize,
        profile: &str,
        prefixes: impl IntoIterator<Item = impl Into<IpNet>>,
    ) -> Bed {
        Bed::start_with(devices, profile, prefixes, |b| b).await
    }

    /// [`Bed::start`], the builder changed by `more` first (credentials, …).
    pub(crate) async fn start_with(
        devices: usize,
        profile: &str,
        prefixes: impl IntoIterator<Item = impl Into<IpNet>>,
        more: impl FnOnce(TestBedBuilder) -> TestBedBuilder,
    ) -> Bed {
        let dir = tempfile::tempdir().unwrap();
        let inventory = dir.path().join("fleet.yaml");
        let bed = more(TestBed::builder())
            .devices(devices)
            .profile(profile)
            .list(LIST, prefixes)
            .policy(
                "corp",
                Policy {
                    block: vec![LIST.into()],
                    ..Policy::default()
                },
            )
            .start(&inventory)
            .await
            .unwrap();
        Bed {
            bed,
            dir,
            inventory,
        }
    }

    pub(crate) async fn publish(&self, prefixes: impl IntoIterator<Item = impl Into<IpNet>>) {
        let list = PublishedList {
            name: LIST.into(),
            prefixes: prefixes.into_iter().map(Into::into).collect(),
            excluded: Vec::new(),
        };
        self.bed
            .list_server()
            .unwrap()
            .replace(&[list])
            .await
            .unwrap();
    }

    /// `tsfleet COMMAND -i fleet.yaml [--run-dir runs --retries 0] ARGS...`
    pub(crate) async fn run(&self, command: &str, args: &[&str]) -> Output {
        let mut all: Vec<String> = vec![
            command.into(),
            "-i".into(),
            self.inventory.display().to_string(),
        ];
        if command != "resolve" {
            all.extend(["--run-dir", "runs", "--retries", "0"].map(String::from));
        }
        all.extend(args.iter().map(|s| s.to_string()));
        harness::tsfleet_async(all, self.dir.path().to_path_buf()).await
    }

    /// Where the runs [`Bed::run`] starts keep this inventory's record.
    fn record_file(&self) -> RecordFile {
        RecordFile::of(&harness::state_dir(self.dir.path()), &self.inventory).unwrap()
    }

    fn record(&self) -> Applied {
        self.record_file().read().unwrap().expect("a record")
    }

    fn recorded(&self) -> usize {
        self.record().lists[LIST].prefixes
    }

    /// SSH logins the simulated devices have seen, in all.
    pub(crate) fn logins(&self) -> u64 {
        let devices = self.bed.fleet().devices();
        devices.iter().map(|d| d.snapshot().stats.logins).sum()
    }

    /// Entries in each device's block group.
    fn entries(&self) -> Vec<usize> {
        let devices = self.bed.fleet().devices();
        let count = |d: &std::sync::Arc<tsfleet::sim::DeviceRuntime>| {
            let running = d.snapshot().running;
            let group = running.groups.iter().find(|g| g.name == "threatstop-block");
            group.map_or(0, |g| g.entries.len())
        };
        devices.iter().map(count).collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_that_shrank_since_the_last_apply_is_refused_before_any_login() {
    let bed = Bed::start(2, "", hosts(3000)).await;
    assert_eq!(bed.record_file().read().unwrap(), None, "no record yet");
    let out = bed.run("apply", &["--yes", "-v"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("no shrink guard this run"),
        "the first run says so: {all}"
    );
    assert_eq!(bed.recorded(), 3000);
    assert_eq!(bed.entries(), [3000, 3000]);

    bed.publish(hosts(30)).await;
    let logins = bed.logins();
    let record = std::fs::read(&bed.record_file().path).unwrap();
    for command in ["apply", "plan"] {
        let args: &[&str] = if command == "apply" { &["--yes"] } else { &[] };
        let out = bed.run(command, args).await;
        let all = text(&out);
        assert_eq!(out.status.code(), Some(3), "{command}: {all}");
        let path = bed.record_file().path.display().to_string();
        for part in [
            LIST,
            "from 3000 to 30",
            "last apply",
            &path,
            "--allow-shrink",
        ] {
            assert!(all.contains(part), "{command}: no {part:?} in {all}");
        }
        assert_eq!(bed.logins(), logins, "{command}: a device was contacted");
    }
    assert_eq!(
        std::fs::read(&bed.record_file().path).unwrap(),
        record,
        "refused runs leave the record alone"
    );

    // --previous wins over the record: a snapshot of 30 lets the 30 through.
    let out = bed.run("resolve", &["-o", "now.json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = bed.run("plan", &["--previous", "now.json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = bed.run("apply", &["--yes", "--allow-shrink"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(bed.entries(), [30, 30]);
    assert_eq!(bed.recorded(), 30, "the record moved with the apply");

    // A damaged record is an error naming it, never passed over.
    std::fs::write(&bed.record_file().path, "{\"version\": 1, \"lists\"").unwrap();
    let logins = bed.logins();
    let out = bed.run("plan", &[]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    let path = bed.record_file().path.display().to_string();
    assert!(all.contains(&path) && all.contains("remove it"), "{all}");
    assert_eq!(bed.logins(), logins);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_device_keeps_the_old_baseline_and_plan_never_moves_it() {
    let profile = format!(
        "devices:\n  rtr-002: {{ faults: {{ error_entries: ['host {}'] }} }}\n",
        REFUSED.trim_end_matches("/32")
    );
    let bed = Bed::start(2, &profile, hosts(3000)).await;
    let out = bed.run("apply", &["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let first = bed.record();
    assert_eq!(first.lists[LIST].prefixes, 3000);

    // 2,001 prefixes: within max_shrink (0.5) of 3,000, and one rtr-002 refuses.
    let mut shrunk = hosts(2000);
    shrunk.push(REFUSED.parse().unwrap());
    bed.publish(shrunk).await;
    let out = bed.run("plan", &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(bed.record(), first, "plan never moves the record");

    let out = bed.run("apply", &["--yes"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "rtr-002 fails: {all}");
    assert_eq!(bed.entries()[0], 2001, "rtr-001 took the new list");
    assert_eq!(
        bed.record(),
        first,
        "a failed device keeps the old baseline"
    );
    assert!(
        all.contains("keep the baseline of an earlier apply"),
        "{all}"
    );

    // 1,400 is within max_shrink of 2,001 but not of the 3,000 recorded.
    bed.publish(hosts(1400)).await;
    let out = bed.run("apply", &["--yes"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains("from 3000 to 1400"), "{all}");
}

/// `v4` IPv4 host prefixes and `v6` IPv6 /48s.
fn dual(v4: u32, v6: u32) -> Vec<IpNet> {
    let v6 = (0..v6).map(|i| format!("2001:db8:{i:x}::/48").parse::<IpNet>().unwrap());
    hosts(v4).into_iter().map(IpNet::from).chain(v6).collect()
}

/// The IPv6 part of a list has its own baseline: an apply to an `ipv6:
/// true` IOS XE device records it, and a list whose IPv6 part then shrank
/// is refused before any login even though its IPv4 part grew; an
/// inventory with no `ipv6: true` device never builds nor guards it.
#[tokio::test(flavor = "multi_thread")]
async fn a_list_whose_ipv6_part_shrank_is_refused_though_its_ipv4_part_grew() {
    // rtr-001 is IOS XE with `ipv6: true`, rtr-002 classic IOS.
    let bed = Bed::start_with(2, "", dual(10, 100), |b| b.ios_xe("rtr-001")).await;
    let out = bed.run("apply", &["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let record = bed.record();
    assert_eq!(record.lists[LIST].prefixes, 10);
    assert_eq!(record.lists_v6[LIST].prefixes, 100, "{record:?}");
    let v6 = |name: &str| {
        let running = bed.bed.fleet().device(name).unwrap().snapshot().running;
        let group = running
            .v6_groups
            .iter()
            .find(|g| g.name == "threatstop-block-v6");
        group.map_or(0, |g| g.entries.len())
    };
    assert_eq!((v6("rtr-001"), v6("rtr-002")), (100, 0));

    // IPv4 grew from 10 to 20, IPv6 went from 100 to 5.
    bed.publish(dual(20, 5)).await;
    let logins = bed.logins();
    for command in ["plan", "apply"] {
        let args: &[&str] = if command == "apply" { &["--yes"] } else { &[] };
        let out = bed.run(command, args).await;
        let all = text(&out);
        assert_eq!(out.status.code(), Some(3), "{command}: {all}");
        let refusal =
            format!("list {LIST}'s IPv6 prefixes shrank from 100 to 5 since the last apply");
        assert!(all.contains(&refusal), "{command}: {all}");
        assert_eq!(bed.logins(), logins, "{command}: a device was contacted");
    }

    // Without an `ipv6: true` device, the IPv6 part is neither built nor guarded.
    let yaml = std::fs::read_to_string(&bed.inventory).unwrap();
    assert!(yaml.contains("ipv6: true"), "{yaml}");
    std::fs::write(&bed.inventory, yaml.replace("ipv6: true", "ipv6: false")).unwrap();
    let out = bed.run("plan", &["-v"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("5 IPv6 items of its lists not carried: no selected device of this policy has `ipv6: true`"),
        "{all}"
    );
}

#[tokio::test]
async fn the_ipv6_count_is_recorded_though_an_ipv4_only_device_failed() {
    // rtr-001 (IOS XE, `ipv6: true`) takes the list; rtr-002, classic IOS
    // carrying only its IPv4 part, fails. The IPv4 count stays unrecorded,
    // the IPv6 count moves, and the file is written for it alone.
    let profile = "devices: { rtr-002: { faults: { wrong_password: true } } }";
    let bed = Bed::start_with(2, profile, dual(10, 100), |b| b.ios_xe("rtr-001")).await;
    let out = bed.run("apply", &["--yes"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let record = bed.record();
    assert!(!record.lists.contains_key(LIST), "{record:?}");
    assert_eq!(record.lists_v6[LIST].prefixes, 100, "{record:?}");

    // And it guards: the IPv6 part going from 100 to 5 is refused.
    bed.publish(dual(10, 5)).await;
    let out = bed.run("plan", &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("IPv6 prefixes shrank from 100 to 5"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn turning_ipv6_on_says_the_ipv6_part_has_no_guard_until_applied() {
    let bed = Bed::start_with(1, "", dual(10, 100), |b| b.ios_xe("rtr-001")).await;
    let yaml = std::fs::read_to_string(&bed.inventory).unwrap();
    std::fs::write(&bed.inventory, yaml.replace("ipv6: true", "ipv6: false")).unwrap();
    let out = bed.run("apply", &["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(bed.record().lists_v6.is_empty(), "IPv4 only so far");

    std::fs::write(&bed.inventory, &yaml).unwrap();
    let out = bed.run("plan", &["-v"]).await;
    let all = text(&out);
    assert!(
        all.contains(&format!(
            "list {LIST}: its IPv6 part was never applied to this inventory: no IPv6 shrink guard"
        )),
        "{all}"
    );
}

#[tokio::test]
async fn a_private_key_that_is_no_key_stops_the_run_before_any_login() {
    // Decoded once per run in preparation: a wrong file (a public key, an
    // encrypted key, junk) is exit 3 naming it, never an auth failure on
    // each router.
    let bed = Bed::start(2, "", hosts(5)).await;
    let key = bed.dir.path().join("id_ed25519");
    std::fs::write(&key, "ssh-ed25519 AAAAC3Nza-not-a-private-key\n").unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let yaml = std::fs::read_to_string(&bed.inventory).unwrap();
    let yaml = yaml.replacen(
        "defaults:\n",
        &format!("defaults:\n  private_key: {}\n", key.display()),
        1,
    );
    std::fs::write(&bed.inventory, yaml).unwrap();
    let check = || {
        let args = ["inventory", "check", "-i", bed.inventory.to_str().unwrap()];
        harness::tsfleet_async(
            args.map(String::from).to_vec(),
            bed.dir.path().to_path_buf(),
        )
    };
    for command in ["plan", "apply", "inventory check"] {
        let out = match command {
            "plan" => bed.run("plan", &[]).await,
            "apply" => bed.run("apply", &["--yes"]).await,
            _ => check().await,
        };
        let all = text(&out);
        assert_eq!(out.status.code(), Some(3), "{command}: {all}");
        assert!(
            all.contains(&format!(
                "private key file {} cannot be used",
                key.display()
            )),
            "{command}: {all}"
        );
        assert!(
            !all.contains("AAAAC3Nza"),
            "the file's content is not shown: {all}"
        );
    }
    assert_eq!(bed.logins(), 0, "no device was contacted");
}
