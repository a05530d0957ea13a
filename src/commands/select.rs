//! Device selection for the commands: `--limit` (and `show`'s and `acl`'s
//! patterns) with the reports `@failed:` / `@unfinished:` name read here.

use crate::error::Error;

/// The devices `patterns` (`--limit`, `show`'s and `acl`'s patterns) select,
/// with the JSON reports that `@failed:` / `@unfinished:` name read here
/// (the selection itself is [`crate::inventory::Limit`]'s, pure).
pub(super) fn devices(
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
