//! `tsfleet demo`: the whole product on one machine. A simulated fleet and
//! an in-process DNS server publishing the lists, both on loopback; an
//! inventory written for them; then plan, apply and plan again.

use super::run::{execute, print_table, write_reports};
use crate::cli::{DemoArgs, ReportFiles};
use crate::error::{Error, Outcome};
use crate::files::Output;
use crate::fleet::FanOutSettings;
use crate::inventory::{self, Policy};
use crate::report::Command;
use crate::runner::{self, RunOptions};
use crate::sim::lab::{self, BlockSpec};
use crate::sim::{PublishedList, TestBed};
use std::time::Duration;

const BLOCK_LIST: &str = "demo-block.acme.threatstop.local";
const ALLOW_LIST: &str = "demo-allow.acme.threatstop.local";

/// Devices [`fault_profile`] gives a fault or an old version (the last ones).
const SPECIAL: usize = 4;

/// The device that runs IOS XE, with `ipv6: true`: its IPv6 groups are
/// filled from the lists' IPv6 items beside its IPv4 ones. The first,
/// unless every device is one of the [`SPECIAL`] ones (`--devices 4`).
fn ios_xe_device(devices: usize) -> Option<String> {
    (devices > SPECIAL).then(|| crate::sim::fleet::device_name(0, devices))
}

/// Devices that show what failure rows look like (the last few of the fleet).
fn fault_profile(devices: usize) -> String {
    let name = |from_end: usize| crate::sim::fleet::device_name(devices - from_end, devices);
    format!(
        "devices:\n\
         \x20 {}: {{ faults: {{ wrong_password: true }} }}\n\
         \x20 {}: {{ faults: {{ hang_after_lines: 10 }} }}\n\
         \x20 {}: {{ faults: {{ error_entries: ['host 198.18.0.9'] }} }}\n\
         \x20 {}: {{ version: '12.4(15)T', faults: {{ legacy_only: true, syslog_every_lines: 40 }} }}\n",
        name(1),
        name(2),
        name(3),
        name(4),
    )
}

/// The lists: `entries` IPv4 block prefixes and the lab's default number
/// of IPv6 ones ([`crate::sim::lab`]), one of them the entry a faulty
/// router refuses, and the lab's allow list (IPv4 and IPv6).
fn demo_lists(entries: u32) -> Vec<PublishedList> {
    let spec = BlockSpec {
        entries: entries.saturating_sub(1),
        entries_v6: lab::DEFAULT_ENTRIES_V6,
        seed: 1,
        churn: 0,
    };
    let mut lists = lab::lists(BLOCK_LIST, ALLOW_LIST, spec);
    // Outside the generated ranges: the entry rtr-…-2 refuses (fault_profile).
    lists[0]
        .prefixes
        .push("198.18.0.9/32".parse().expect("valid"));
    lists
}

pub async fn run(args: DemoArgs, quiet: bool) -> Result<Outcome, Error> {
    let devices = usize::from(args.devices);
    // Without --dir: a new folder with a random name, mode 0700, removed at
    // the end (a predictable name in /tmp could be planted beforehand).
    let temp = match &args.dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("tsfleet-demo-")
                .tempdir()
                .map_err(|source| Error::Io {
                    path: std::env::temp_dir(),
                    source,
                })?,
        ),
    };
    let dir = match (&args.dir, &temp) {
        (Some(dir), _) => dir.clone(),
        (None, temp) => temp.as_ref().expect("made above").path().to_path_buf(),
    };
    crate::files::create_private_dir(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;

    let inventory_path = dir.join("demo-fleet.yaml");
    let xe = ios_xe_device(devices);
    let mut builder = TestBed::builder()
        .devices(devices)
        .costs(
            Duration::from_millis(args.rtt_ms),
            Duration::from_micros(50),
        )
        // Secrets that are not also words of the CLI, so masked transcripts stay readable.
        .credentials("demo-Pw-3141", "demo-En-2718")
        .profile(fault_profile(devices))
        .lists(demo_lists(args.entries))
        .policy(
            "demo",
            Policy {
                block: vec![BLOCK_LIST.into()],
                allow: vec![ALLOW_LIST.into()],
                // One documentation range of each family: the demo's
                // IPv6 items leave 2001:db8::/48 free (`sim::lab`).
                protect: vec![
                    "192.0.2.0/24".parse().expect("valid"),
                    "2001:db8::/48".parse().expect("valid"),
                ],
                ..Policy::default()
            },
        )
        .edit(|inventory| {
            // Short timeouts, so the hung router fails within the demo.
            inventory.defaults.command_timeout_ms = Some(2000);
            inventory.defaults.connect_timeout_ms = Some(5000);
            if let Some(dns) = &mut inventory.dns {
                dns.timeout_ms = 2000;
            }
        });
    if let Some(xe) = &xe {
        builder = builder.ios_xe(xe);
    }
    let bed = builder.start(&inventory_path).await?;
    let (fleet, lists) = (
        bed.fleet(),
        bed.list_server().expect("the demo publishes lists"),
    );

    println!(
        "tsfleet demo: {devices} simulated IOS routers ({} … {}{}), lists served by DNS on {}",
        fleet.devices()[0].addr,
        fleet.devices()[devices - 1].addr,
        xe.as_ref()
            .map(|d| format!("; {d} runs IOS XE, with `ipv6: true`"))
            .unwrap_or_default(),
        lists.addr()
    );
    println!("inventory: {}\n", inventory_path.display());

    let loaded = inventory::load(&inventory_path)?;
    let mut options = RunOptions {
        command: Command::Plan,
        lists: None,
        max_snapshot_age: Duration::ZERO,
        previous: None,
        allow_shrink: false,
        applied: None,
        fanout: FanOutSettings {
            concurrency: 16,
            connect_rate: 0.0,
            retries: 0,
            ..FanOutSettings::default()
        },
        run_dir: None,
        device_deadline: Duration::from_secs(120),
        shard: None,
        saved_plan: None,
        record_observed: false,
    };
    let reports_dir = dir.join("reports");
    crate::files::create_private_dir(&reports_dir).map_err(|source| Error::Io {
        path: reports_dir.clone(),
        source,
    })?;
    let source = inventory_path.display().to_string();
    let mut unwritten = Vec::new();
    let mut failed = Vec::new();
    for (step, command) in [(1, Command::Plan), (2, Command::Apply), (3, Command::Plan)] {
        // Each step keeps its own transcripts and reports, so step 3 does
        // not overwrite the failures step 2 shows.
        let name = step_name(step, command);
        options.command = command;
        options.run_dir = Some(dir.join("transcripts").join(&name));
        let prepared = runner::prepare(&loaded, loaded.devices(), &options).await?;
        println!("── step {step}: tsfleet {} ──", command.as_str());
        let report = execute(&prepared, &options, quiet).await;
        print_table(&report, false);
        println!();
        let output = |ext: &str| {
            Some(Output::from(
                reports_dir.join(format!("{name}.{ext}")).into_os_string(),
            ))
        };
        // The reports people read; not `--metrics` (no monitoring here).
        let files = ReportFiles {
            json: output("json"),
            junit: output("xml"),
            summary_md: output("md"),
            html: output("html"),
            ..ReportFiles::default()
        };
        unwritten.extend(write_reports(&report, &files, &source, false));
        if command == Command::Apply {
            failed = report
                .devices
                .iter()
                .filter_map(|d| d.error.as_ref().map(|e| (d.name.clone(), e.class)))
                .collect();
        }
    }
    println!(
        "The last {} devices fail on purpose (a wrong password, a hung session, an entry the router refuses);\n\
         the one before them only speaks legacy SSH algorithms and still converges.",
        SPECIAL - 1
    );
    if let Some(xe) = &xe {
        println!(
            "{xe} runs IOS XE: the lists' IPv6 items go into its object-group v6-network groups too."
        );
    }
    // Without --dir the folder goes away below: do not point at it.
    if temp.is_some() {
        println!("Transcripts and reports are kept with --dir DIR (secrets masked).");
    } else {
        println!(
            "Transcripts (secrets masked), one folder per step: {}",
            dir.join("transcripts").display()
        );
        println!(
            "Reports per step (JSON, JUnit XML, Markdown summary, web page): {}",
            reports_dir.display()
        );
        println!(
            "  open in a browser: {}",
            reports_dir
                .join(format!("{}.html", step_name(2, Command::Apply)))
                .display()
        );
        let apply = dir.join("transcripts").join(step_name(2, Command::Apply));
        for (device, class) in &failed {
            println!(
                "  failed in step 2 ({}): {}",
                class.as_str(),
                apply.join(format!("{device}.log")).display()
            );
        }
    }
    println!(
        "The fleet and the list server stop with the demo. To keep a lab running:\n  \
         tsfleet sim --devices 3 --write-inventory lab/lab.yaml &\n  \
         tsfleet plan -i lab/lab.yaml"
    );
    bed.shutdown().await;
    drop(temp);
    Ok(Outcome::Done.unless_unwritten(unwritten))
}

/// A step's folder and report name: `1-plan`, `2-apply`, `3-plan`.
fn step_name(step: usize, command: Command) -> String {
    format!("{step}-{}", command.as_str())
}
