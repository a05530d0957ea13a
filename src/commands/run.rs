//! `tsfleet plan` and `tsfleet apply`: one runner, two commands. Loads and
//! checks everything first (exit 3 on bad input, nothing contacted), takes
//! the inventory's lock, asks before applying on a terminal, then fans out
//! and reports.

use crate::cli::{ReportOutput, RunArgs};
use crate::error::Error;
use crate::fleet::{Event, FanOutSettings};
use crate::inventory;
use crate::report::{Command, RunReport, json, junit, table};
use crate::runner::{self, Prepared, RunOptions};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing_indicatif::span_ext::IndicatifSpanExt;

pub async fn run(args: RunArgs, command: Command, quiet: bool) -> Result<ExitCode, Error> {
    let loaded = inventory::load(&args.inventory.path)?;
    let mut devices = inventory::select(loaded.devices(), &args.limit.patterns)?;
    if let Some(shard) = args.shard {
        devices.retain(|d| crate::shard::contains(shard, &d.name));
    }
    let _lock =
        crate::lock::acquire(&args.inventory.path).map_err(|e| Error::Usage(e.to_string()))?;
    let interactive = std::io::stdin().is_terminal();
    let changes_routers = matches!(command, Command::Apply | Command::Remove);
    if changes_routers && !args.yes && !interactive {
        return Err(Error::Usage(format!(
            "{} changes routers: pass --yes to confirm (stdin is not a terminal, so tsfleet cannot ask)",
            command.as_str()
        )));
    }
    let options = RunOptions {
        command,
        lists: args.lists.clone(),
        previous: args.shrink.previous.clone(),
        allow_shrink: args.shrink.allow_shrink,
        fanout: FanOutSettings {
            concurrency: usize::from(args.concurrency),
            connect_rate: args.connect_rate,
            retries: args.retries,
            auth_failure_limit: args.auth_failure_limit,
            canary: args.canary,
            max_failures: args.max_failures,
            ..FanOutSettings::default()
        },
        run_dir: Some(
            args.run_dir
                .clone()
                .unwrap_or_else(|| runner::default_run_dir(command)),
        ),
        device_deadline: Duration::from_secs(args.device_timeout),
        shard: args.shard,
    };
    let prepared = runner::prepare(&loaded, &devices, &options)
        .await
        .map_err(|e| Error::Usage(e.to_string()))?;

    if command == Command::Remove
        && !args.yes
        && !confirm(&format!(
            "Remove the groups tsfleet manages from {} device(s)? [y/N] ",
            prepared.jobs.len()
        ))
    {
        println!("Nothing removed.");
        return Ok(ExitCode::SUCCESS);
    }
    if command == Command::Apply && !args.yes {
        // Show what would change and ask, as a careful operator would.
        let plan_options = RunOptions {
            command: Command::Plan,
            ..options.clone()
        };
        let preview = prepared_for(&prepared, false);
        let report = execute(&preview, &plan_options, quiet).await;
        print!("{}", table::render(&report, table_options()));
        let pending = report.summary().changed;
        if pending == 0 {
            println!("Nothing to apply.");
            return Ok(ExitCode::from(report.exit_code(false)));
        }
        if !confirm(&format!("Apply the changes to {pending} device(s)? [y/N] ")) {
            println!("Nothing applied.");
            return Ok(ExitCode::SUCCESS);
        }
    }

    let report = execute(&prepared, &options, quiet).await;
    print!("{}", table::render(&report, table_options()));
    write_outputs(&report, &args.output)?;
    if let Some(dir) = &options.run_dir {
        tracing::info!("transcripts in {}", dir.display());
    }
    Ok(ExitCode::from(
        report.exit_code(args.output.detailed_exitcode),
    ))
}

/// Write the JSON and JUnit files a run was asked for.
pub(crate) fn write_outputs(report: &RunReport, output: &ReportOutput) -> Result<(), Error> {
    if let Some(path) = &output.json {
        json::write(path, report).map_err(|e| Error::Usage(e.to_string()))?;
    }
    if let Some(path) = &output.junit {
        junit::write(path, report).map_err(|e| Error::Usage(e.to_string()))?;
    }
    Ok(())
}

fn prepared_for(p: &Prepared, apply: bool) -> Prepared {
    let mut copy = Prepared {
        snapshot: p.snapshot.clone(),
        jobs: p.jobs.clone(),
        policies: p.policies.clone(),
    };
    copy.jobs.iter_mut().for_each(|j| j.request.apply = apply);
    copy
}

/// Run with a progress bar (on a terminal) and Ctrl-C handling.
pub(crate) async fn execute(prepared: &Prepared, options: &RunOptions, quiet: bool) -> RunReport {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "tsfleet: interrupted: starting no new devices; devices in flight finish and leave configuration mode"
            );
            on_signal.cancel();
        }
    });
    let overall = tracing::info_span!("run", command = options.command.as_str());
    overall.pb_set_style(
        &indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} devices {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    overall.pb_set_length(prepared.jobs.len() as u64);
    overall.pb_set_message(options.command.as_str());
    let bar = overall.clone();
    let report = tracing::Instrument::instrument(
        runner::execute(prepared, options, cancel, move |job, event| match event {
            Event::Started { .. } => tracing::debug!("{}: started", job.name),
            Event::Retrying { attempt, error, .. } => {
                tracing::warn!("{}: retry {attempt}: {error}", job.name)
            }
            Event::Finished { ok, .. } => {
                bar.pb_inc(1);
                if ok {
                    tracing::info!("{}: done", job.name);
                } else if !quiet {
                    tracing::info!("{}: failed", job.name);
                }
            }
        }),
        overall,
    )
    .await;
    watcher.abort();
    report
}

pub(crate) fn table_options() -> table::TableOptions {
    let terminal = std::io::stdout().is_terminal();
    table::TableOptions {
        color: terminal,
        width: if terminal { terminal_width() } else { None },
    }
}

fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or(Some(160))
}

fn confirm(question: &str) -> bool {
    print!("{question}");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
}
