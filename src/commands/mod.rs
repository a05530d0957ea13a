//! One file per subcommand; each is thin glue between the CLI and the library.

mod demo;
mod inventory;
mod report;
mod resolve;
mod run;
mod sim;

use crate::cli::{Cli, Command};
use crate::error::Error;
use std::process::ExitCode;

pub async fn dispatch(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Demo(args) => demo::run(args, cli.global.quiet).await,
        Command::Plan(args) => run::run(args, crate::report::Command::Plan, cli.global.quiet).await,
        Command::Apply(args) => {
            run::run(args, crate::report::Command::Apply, cli.global.quiet).await
        }
        Command::Report { command } => report::run(command),
        Command::Resolve(args) => resolve::run(args).await,
        Command::Sim(args) => sim::run(args).await,
        Command::Inventory { command } => inventory::run(command),
    }
}
