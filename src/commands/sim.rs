//! `tsfleet sim`: start the simulated fleet and serve until interrupted.

use crate::cli::SimArgs;
use crate::error::{Error, Outcome};
use crate::sim::lab::{self, BlockSpec};
use crate::sim::list_server::PublishError;
use crate::sim::testbed::list_server_dns;
use crate::sim::{FleetConfig, ListServer, Profile, SimError, SimFleet, stdio};
use std::net::SocketAddr;
use std::time::Duration;

pub async fn run(args: SimArgs) -> Result<Outcome, Error> {
    let profile = match &args.profile {
        Some(path) => {
            let text = crate::files::read_text(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            Profile::parse(&text)
                .map_err(|e| SimError::Other(format!("profile {}: {e}", path.display())))?
        }
        None => Profile::default(),
    };
    let config = FleetConfig {
        devices: args.devices,
        base_port: args.base_port,
        listen: args.listen,
        username: args.username,
        password: args.password,
        enable_secret: args.enable_secret,
        rtt: Duration::from_millis(args.rtt_ms),
        line_cost: Duration::from_micros(args.line_cost_us),
        entry_cost: Duration::from_micros(args.entry_cost_us),
        profile,
        state_dir: args.state_dir,
    };
    if args.stdio {
        stdio::run(config, args.device).await?;
        return Ok(Outcome::Done);
    }
    if !config.listen.is_loopback() {
        return Err(Error::NotLoopback(config.listen));
    }
    let spec = BlockSpec {
        entries: args.entries,
        entries_v6: args.entries_v6,
        seed: args.seed,
        churn: args.churn,
    };
    let lists = ListServer::start(
        SocketAddr::new(config.listen, args.dns_port),
        &lab::lists(lab::BLOCK_LIST, lab::ALLOW_LIST, spec),
    )
    .await
    .map_err(|e| match e {
        PublishError::Bind { addr, source } => SimError::ListBind(addr, source),
        other => SimError::from(other),
    })?;
    let fleet = SimFleet::start(config).await?;
    // Listen for the stop before saying the fleet is up, so a caller that
    // stops it on that line never kills it before its state is saved.
    let shutdown = shutdown_signals();
    if let Some(path) = &args.write_inventory {
        let dns = list_server_dns(lists.addr());
        fleet.write_inventory_with(path, |inventory| {
            inventory.dns = Some(dns);
            inventory.policies.insert(lab::POLICY.into(), lab::policy());
        })?;
    }
    let devices = fleet.devices();
    if let (Some(first), Some(last)) = (devices.first(), devices.last()) {
        eprintln!(
            "tsfleet sim: {} devices ({} on {} … {} on {}); Ctrl-C to stop",
            devices.len(),
            first.name,
            first.addr,
            last.name,
            last.addr
        );
    }
    eprintln!(
        "tsfleet sim: lists served by DNS on {} ({}: {} entries and {} IPv6, seed {}, churn {} %; {})",
        lists.addr(),
        lab::BLOCK_LIST,
        spec.entries,
        spec.entries_v6,
        spec.seed,
        spec.churn,
        lab::ALLOW_LIST
    );
    if let Some(path) = &args.write_inventory {
        eprintln!("tsfleet sim: inventory written to {}", path.display());
    }
    wait_for_shutdown(shutdown).await;
    lists.shutdown().await;
    fleet.save_state()?;
    if let Some(path) = &args.dump_state {
        fleet.write_dump(path)?;
        eprintln!("tsfleet sim: state written to {}", path.display());
    }
    Ok(Outcome::Done)
}

/// SIGINT and SIGTERM handlers, installed now.
fn shutdown_signals() -> [tokio::signal::unix::Signal; 2] {
    use tokio::signal::unix::{SignalKind, signal};
    [SignalKind::interrupt(), SignalKind::terminate()]
        .map(|kind| signal(kind).expect("signal handlers install"))
}

async fn wait_for_shutdown([mut int, mut term]: [tokio::signal::unix::Signal; 2]) {
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}
