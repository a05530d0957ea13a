//! `tsfleet import-conf`: threatstop.conf files → one inventory, on stdout
//! or `-o FILE`. The environment variables to set go to stderr; no secret is
//! ever written or printed.

use crate::cli::ImportConfArgs;
use crate::error::{Error, Outcome};
use crate::inventory::import;

pub fn run(args: ImportConfArgs) -> Result<Outcome, Error> {
    super::init::check_output(args.output.as_ref(), args.force)?;
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
        Error::Mistakes {
            mistakes: text,
            then: "",
        }
    })?;
    for note in &imported.notes {
        eprintln!("note: {note}");
    }
    super::init::write_output(args.output.as_ref(), &imported.yaml)?;
    if !imported.env.is_empty() {
        eprintln!("Set these environment variables before plan/apply (values are not shown):");
        let w = imported.env.iter().map(|e| e.name.len()).max().unwrap_or(0);
        for e in &imported.env {
            eprintln!("  {:<w$}  {}", e.name, e.holds);
        }
    }
    Ok(Outcome::Done)
}
