//! `tsfleet import-conf`: threatstop.conf files → one inventory, on stdout
//! or `-o FILE`. The environment variables to set go to stderr; no secret is
//! ever written or printed.

use crate::cli::ImportConfArgs;
use crate::error::Error;
use crate::inventory::import;
use std::process::ExitCode;

pub fn run(args: ImportConfArgs) -> Result<ExitCode, Error> {
    super::init::refuse_overwrite(args.output.as_deref(), args.force)?;
    let mut files = Vec::new();
    for path in &args.files {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        files.push((path.display().to_string(), text));
    }
    let imported = import::import(&files).map_err(|errors| {
        let n = errors.len();
        let mut text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        if n > 1 {
            text.push(format!("{n} mistakes; nothing written"));
        }
        Error::Usage(text.join("\nerror: "))
    })?;
    for note in &imported.notes {
        eprintln!("note: {note}");
    }
    super::init::write_output(args.output.as_deref(), &imported.yaml)?;
    if !imported.env.is_empty() {
        eprintln!("Set these environment variables before plan/apply (values are not shown):");
        let w = imported.env.iter().map(|e| e.name.len()).max().unwrap_or(0);
        for e in &imported.env {
            eprintln!("  {:<w$}  {}", e.name, e.holds);
        }
    }
    Ok(ExitCode::SUCCESS)
}
