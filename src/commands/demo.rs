//! `tsfleet demo`: the whole product on one machine. A simulated fleet and
//! an in-process DNS server publishing the lists, both on loopback; an
//! inventory written for them; then plan, apply and plan again.

use super::run::{execute, print_table};
use crate::cli::DemoArgs;
use crate::error::{Error, Outcome};
use crate::fleet::FanOutSettings;
use crate::inventory::{self, Policy};
use crate::report::Command;
use crate::runner::{self, RunOptions};
use crate::sim::{PublishedList, TestBed};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;
use std::time::Duration;

const BLOCK_LIST: &str = "demo-block.acme.threatstop.local";
const ALLOW_LIST: &str = "demo-allow.acme.threatstop.local";

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

/// The lists: `entries` block prefixes (hosts and a few networks) and a
/// two-entry allow list.
fn demo_lists(entries: u32) -> Vec<PublishedList> {
    let mut block: Vec<Ipv4Net> = (0..entries.saturating_sub(1))
        .map(|i| {
            let addr =
                Ipv4Addr::from(0xCB00_7100u32.wrapping_add(i.wrapping_mul(7919)) | 0x0100_0000);
            if i % 50 == 0 {
                Ipv4Net::new(addr, 24).expect("a /24 is valid").trunc()
            } else {
                Ipv4Net::new(addr, 32).expect("a /32 is valid")
            }
        })
        .collect();
    // The entry one faulty router refuses (outside the generated range).
    block.push("198.18.0.9/32".parse().expect("valid"));
    vec![
        PublishedList {
            name: BLOCK_LIST.into(),
            prefixes: block,
            excluded: Vec::new(),
        },
        PublishedList {
            name: ALLOW_LIST.into(),
            prefixes: vec![
                "198.51.100.53/32".parse().expect("valid"),
                "198.51.100.54/32".parse().expect("valid"),
            ],
            excluded: Vec::new(),
        },
    ]
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
    let bed = TestBed::builder()
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
                protect: vec!["192.0.2.0/24".parse().expect("valid")],
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
        })
        .start(&inventory_path)
        .await?;
    let (fleet, lists) = (
        bed.fleet(),
        bed.list_server().expect("the demo publishes lists"),
    );

    println!(
        "tsfleet demo: {devices} simulated IOS routers ({} … {}), lists served by DNS on {}",
        fleet.devices()[0].addr,
        fleet.devices()[devices - 1].addr,
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
        run_dir: Some(dir.join("transcripts")),
        device_deadline: Duration::from_secs(120),
        shard: None,
        saved_plan: None,
    };
    for (step, command) in [(1, Command::Plan), (2, Command::Apply), (3, Command::Plan)] {
        options.command = command;
        let prepared = runner::prepare(&loaded, loaded.devices(), &options).await?;
        println!("── step {step}: tsfleet {} ──", command.as_str());
        let report = execute(&prepared, &options, quiet).await;
        print_table(&report, false);
        println!();
    }
    println!(
        "The last {} devices fail on purpose (a wrong password, a hung session, an entry the router refuses);\n\
         the one before them only speaks legacy SSH algorithms and still converges.",
        3
    );
    // Without --dir the folder goes away below: do not point at it.
    if temp.is_some() {
        println!("Transcripts are kept with --dir DIR (secrets masked).");
    } else {
        println!(
            "Transcripts (secrets masked): {}",
            dir.join("transcripts").display()
        );
    }
    bed.shutdown().await;
    drop(temp);
    Ok(Outcome::Done)
}
