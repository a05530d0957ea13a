//! `tsfleet import-conf`: threatstop.conf files → one inventory, on stdout
//! or `-o FILE`. The environment variables to set go to stderr; no secret is
//! ever written or printed.

use crate::cli::ImportConfArgs;
use crate::error::{Error, Outcome};
use crate::inventory::import;

pub fn run(args: ImportConfArgs) -> Result<Outcome, Error> {
    super::init::check_output(args.output.as_ref(), args.force)?;
    let files = super::import_inventory::read_texts(&args.files)?;
    let imported = import::import(&files).map_err(super::import_inventory::mistakes)?;
    for note in &imported.notes {
        eprintln!("note: {note}");
    }
    super::init::write_output(args.output.as_ref(), &imported.yaml)?;
    super::import_inventory::print_env(&imported.env);
    Ok(Outcome::Done)
}
