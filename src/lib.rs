//! tsfleet keeps ThreatSTOP IP block and allow lists in sync on a fleet of
//! Cisco IOS routers. `ARCHITECTURE.md` at the repository root is the map:
//! the data path, what each module owns, the invariants.
//!
//! Data flows forward through the modules named after what they own:
//! [`inventory`] (the fleet described in YAML) → [`lists`] (DNS → snapshot →
//! per-device policy) → `device` (one router over SSH) → `fleet` (fan-out) →
//! [`report`]. [`sim`] is the simulated IOS fleet that tests, benchmarks and the
//! demo run against. [`cli`] holds the clap definitions and [`commands`] the
//! thin glue per subcommand; [`error`] maps every outcome and error to an exit code.
//!
//! [`domain`] is the bottom: the parse-once values every layer shares (list
//! names, DNS servers, upload URLs, the run kind, shards, error classes); it
//! imports nothing from the crate. Dependencies point down only: no module,
//! and no file inside a module folder, imports one that imports it back
//! (`tests/it/modules.rs` fails naming the cycle).

pub mod cli;
pub mod commands;
pub mod device;
pub mod domain;
pub mod error;
pub mod files;
pub mod fleet;
pub mod inventory;
pub mod lists;
pub mod lock;
pub mod logs;
pub mod plan;
pub mod report;
pub mod runner;
pub mod saved_plan;
pub mod shard;
pub mod sim;
pub mod state_dir;

use std::process::ExitCode;

pub use error::Error;

/// Parse the command line, run the command, print any error once, and
/// return the exit code (the mapping is [`error::exit_code`]).
pub fn run() -> ExitCode {
    let result = parse_and_run();
    match &result {
        // clap formats its own messages (and `--help`, `--version`).
        Err(Error::Cli(e)) => {
            let _ = e.print();
        }
        Err(e) => eprintln!("error: {e}"),
        Ok(error::Outcome::ReportsNotWritten(failures)) => {
            for e in failures {
                eprintln!("error: {e}");
            }
        }
        Ok(_) => {}
    }
    ExitCode::from(error::exit_code(&result))
}

fn parse_and_run() -> Result<error::Outcome, Error> {
    let args = <cli::Cli as clap::Parser>::try_parse()?;
    cli::init_logging(&args.global);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            path: "<async runtime>".into(),
            source,
        })?;
    let outcome = runtime.block_on(commands::dispatch(args));
    // Do not wait for blocked readers (tokio reads stdin on a blocking
    // thread that only returns with the next input line).
    runtime.shutdown_background();
    outcome
}
