//! One file per subcommand; each is thin glue between the CLI and the library.

mod acl;
mod demo;
mod import_conf;
mod init;
mod inventory;
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
        Command::Resolve(args) => resolve::run(args).await,
        Command::Sim(args) => sim::run(args).await,
        Command::Inventory { command } => inventory::run(command),
        Command::Acl(args) => acl::run(args),
        Command::ImportConf(args) => import_conf::run(args),
        Command::Init(args) => init::run(args),
    }
}
