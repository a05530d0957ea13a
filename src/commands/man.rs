//! `tsfleet man`: the roff man page of `tsfleet` on stdout, or with `--dir`
//! one page per command and subcommand, generated from the clap
//! definitions in `src/cli.rs`.

use super::completions::print_stdout;
use crate::cli::{Cli, ManArgs};
use crate::error::{Error, Outcome};
use std::path::Path;

pub fn run(args: ManArgs) -> Result<Outcome, Error> {
    // `help` is not a page of its own; building sets each subcommand's
    // display name (`tsfleet-report-merge`), which names its page.
    let mut cmd = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    cmd.build();
    match args.dir {
        None => print_stdout(&render(&cmd)?),
        Some(dir) => write_pages(&cmd, &dir),
    }?;
    Ok(Outcome::Done)
}

/// Every page under `cmd`, as (file name, roff text), `cmd`'s own first.
fn pages(cmd: &clap::Command) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let name = cmd.get_display_name().unwrap_or(cmd.get_name());
    let mut out = vec![(format!("{name}.1"), render(cmd)?)];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out.extend(pages(sub)?);
    }
    Ok(out)
}

fn render(cmd: &clap::Command) -> Result<Vec<u8>, Error> {
    let mut roff = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut roff)
        .map_err(|source| Error::Io {
            path: "<man page>".into(),
            source,
        })?;
    Ok(roff)
}

fn write_pages(cmd: &clap::Command, dir: &Path) -> Result<(), Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    crate::files::create_dir_mode(dir, 0o755).map_err(io(dir))?;
    let pages = pages(cmd)?;
    for (name, roff) in &pages {
        let path = dir.join(name);
        crate::files::write_atomic(&path, roff).map_err(io(&path))?;
    }
    eprintln!(
        "Wrote {} man pages to {}. Read one with: man {}/tsfleet-plan.1",
        pages.len(),
        dir.display(),
        dir.display()
    );
    Ok(())
}
