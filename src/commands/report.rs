//! `tsfleet report merge`: join shard reports and exit as the run would have.

use crate::cli::{MergeArgs, ReportCommand};
use crate::error::{Error, Outcome};
use crate::report::{json, merge};

pub fn run(command: ReportCommand) -> Result<Outcome, Error> {
    match command {
        ReportCommand::Merge(args) => merge_reports(args),
    }
}

fn merge_reports(args: MergeArgs) -> Result<Outcome, Error> {
    let on_stderr = super::run::check_reports(&args.reports)?;
    let mut reports = Vec::with_capacity(args.files.len());
    for path in &args.files {
        reports.push((path.clone(), json::read(path)?));
    }
    let merged = merge::merge(reports, args.expect_shards)?;
    super::run::print_table(&merged, on_stderr);
    let detailed = args.detailed.detailed_exitcode;
    let source = format!("{} shard reports", args.files.len());
    let for_metrics = super::run::ForMetrics {
        inventory: None,
        last_success: crate::report::metrics::successes_of(&merged),
    };
    let mut unwritten = super::run::write_reports(&merged, &args.reports, &source, detailed);
    super::run::write_metrics(
        &merged,
        &args.reports,
        detailed,
        &for_metrics,
        &mut unwritten,
    );
    Ok(Outcome::of_report(&merged, detailed).unless_unwritten(unwritten))
}
