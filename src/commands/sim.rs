//! `tsfleet sim`: start the simulated fleet and serve until interrupted.

use crate::cli::SimArgs;
use crate::error::Error;
use std::process::ExitCode;

pub async fn run(_args: SimArgs) -> Result<ExitCode, Error> {
    Ok(ExitCode::SUCCESS)
}
