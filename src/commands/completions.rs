//! `tsfleet completions SHELL`: the shell's completion script, generated
//! from the clap definitions in `src/cli.rs`, printed to stdout.

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Error, Outcome};
use std::io::Write;

pub fn run(args: CompletionsArgs) -> Result<Outcome, Error> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "tsfleet", &mut script);
    print_stdout(&script)?;
    Ok(Outcome::Done)
}

/// Write `bytes` to stdout; a failure (a closed pipe) is an error naming stdout.
pub(super) fn print_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|source| Error::Io {
            path: "<stdout>".into(),
            source,
        })
}
