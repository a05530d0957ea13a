//! One file per subcommand; each is thin glue between the CLI and the library.

mod acl;
mod completions;
mod demo;
mod import_conf;
mod import_inventory;
mod init;
mod inventory;
mod logs;
mod man;
mod report;
mod resolve;
mod run;
mod select;
mod sim;

use crate::cli::{Cli, Command};
use crate::error::{Error, Outcome};

pub async fn dispatch(cli: Cli) -> Result<Outcome, Error> {
    use crate::report::Command as Run;
    let quiet = cli.global.quiet;
    match cli.command {
        Command::Demo(args) => demo::run(args, quiet).await,
        Command::Plan(args) => run::run(args.into(), Run::Plan, quiet).await,
        Command::Apply(args) => run::run(args.into(), Run::Apply, quiet).await,
        Command::Check(args) => run::run(args.into(), Run::Check, quiet).await,
        Command::Remove(args) => run::run(args.into(), Run::Remove, quiet).await,
        Command::Report { command } => report::run(command),
        Command::Resolve(args) => resolve::run(args).await,
        Command::Sim(args) => sim::run(args).await,
        Command::Inventory { command } => inventory::run(command),
        Command::Acl(args) => acl::run(args),
        Command::ImportConf(args) => import_conf::run(args),
        Command::ImportInventory(args) => import_inventory::run(args),
        Command::Init(args) => init::run(args),
        Command::Logs { command } => logs::run(command, quiet).await,
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}
