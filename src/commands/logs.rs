//! `tsfleet logs upload`: print what each device's upload came to (with
//! `--quiet`, only warnings and errors); exit 1 when one failed.

use crate::cli::LogsCommand;
use crate::error::{Error, Outcome};
use crate::inventory;
use crate::logs::{self, DeviceOutcome};

pub async fn run(command: LogsCommand, quiet: bool) -> Result<Outcome, Error> {
    let LogsCommand::Upload(args) = command;
    let loaded = inventory::load(&args.inventory.path)?;
    let state = args
        .state
        .clone()
        .unwrap_or_else(|| logs::default_state_path(&args.syslog));
    let max_body = usize::try_from(args.max_body_bytes).unwrap_or(usize::MAX);
    let summary = logs::upload(&loaded, &args.syslog, &state, max_body).await?;
    for name in &summary.lost {
        eprintln!(
            "warning: {name}: {} was rotated and the old file is gone (no {} with it): \
             the lines it held past the last upload were not sent; starting the new file from its beginning",
            args.syslog.display(),
            logs::rotated_path(&args.syslog).display()
        );
    }
    for (name, outcome) in &summary.devices {
        if quiet && !matches!(outcome, DeviceOutcome::Failed { .. }) {
            continue;
        }
        match outcome {
            DeviceOutcome::Uploaded { lines, bytes } => {
                println!("{name}: {lines} line(s) uploaded ({bytes} bytes gzip)")
            }
            DeviceOutcome::NothingNew => println!("{name}: no new lines"),
            DeviceOutcome::NotConfigured { lines } => println!(
                "{name}: not uploaded, its policy has no log_upload ({lines} line(s) seen)"
            ),
            DeviceOutcome::Failed {
                sent,
                lines,
                url,
                error,
            } => {
                let accepted = if *sent > 0 {
                    format!(" ({sent} line(s) accepted before)")
                } else {
                    String::new()
                };
                eprintln!(
                    "error: {name}: upload to {url} failed: {error}{accepted}; its other {lines} line(s) will be sent next run"
                )
            }
        }
    }
    if summary.unknown_lines > 0 && !quiet {
        let senders: Vec<String> = summary
            .unknown_senders
            .iter()
            .map(|(s, n)| format!("{} ×{n}", s.as_deref().unwrap_or("(no header)")))
            .collect();
        println!(
            "unknown senders: {} line(s) not uploaded ({}); add the devices to the inventory or fix their `host`",
            summary.unknown_lines,
            senders.join(", ")
        );
    }
    let failed: Vec<&str> = summary.failed().map(|(n, _)| n.as_str()).collect();
    if failed.is_empty() {
        Ok(Outcome::Done)
    } else {
        eprintln!(
            "error: upload failed for {} device(s): {}",
            failed.len(),
            failed.join(", ")
        );
        Ok(Outcome::DevicesFailed)
    }
}
