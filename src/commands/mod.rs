//! One file per subcommand; each is thin glue between the CLI and the library.

mod acl;
mod demo;
mod import_conf;
mod init;
mod inventory;
mod logs;
mod report;
mod resolve;
mod run;
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
        Command::Init(args) => init::run(args),
        Command::Logs { command } => logs::run(command, quiet).await,
    }
}

/// The devices `patterns` (`--limit`, `show`'s and `acl`'s patterns) select,
/// with the JSON reports that `@failed:` / `@unfinished:` name read here
/// (the selection itself is [`crate::inventory::Limit`]'s, pure).
fn select_devices(
    devices: &[crate::inventory::ResolvedDevice],
    patterns: &[String],
) -> Result<Vec<crate::inventory::ResolvedDevice>, Error> {
    use crate::inventory::{Limit, Unfinished};
    use crate::report::Status;
    let limit = Limit::parse(patterns)?;
    let mut reported = std::collections::HashMap::new();
    for r in limit.reports() {
        let report = crate::report::json::read(&r.path)?;
        let names = report
            .devices
            .iter()
            .filter(|d| match r.which {
                Unfinished::Failed => d.status == Status::Failed,
                Unfinished::FailedOrSkipped => {
                    matches!(d.status, Status::Failed | Status::Skipped)
                }
            })
            .map(|d| d.name.clone())
            .collect();
        reported.insert(r.clone(), names);
    }
    Ok(limit.select(devices, &reported)?)
}
