//! `tsfleet report merge`: join shard reports and exit as the run would have.

use crate::cli::{MergeArgs, ReportCommand};
use crate::error::Error;
use crate::report::{json, merge, table};
use std::process::ExitCode;

pub fn run(command: ReportCommand) -> Result<ExitCode, Error> {
    match command {
        ReportCommand::Merge(args) => merge_reports(args),
    }
}

fn merge_reports(args: MergeArgs) -> Result<ExitCode, Error> {
    let mut reports = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let report = json::read(path).map_err(|e| Error::Usage(e.to_string()))?;
        reports.push((path.clone(), report));
    }
    let merged =
        merge::merge(reports, args.expect_shards).map_err(|e| Error::Usage(e.to_string()))?;
    print!("{}", table::render(&merged, super::run::table_options()));
    super::run::write_outputs(&merged, &args.output)?;
    Ok(ExitCode::from(
        merged.exit_code(args.output.detailed_exitcode),
    ))
}
