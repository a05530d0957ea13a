//! `tsfleet plan`, `apply`, `check` and `remove`: one runner, four commands
//! (each with its own flags, gathered into a [`Request`]). Checks the report
//! outputs and loads everything first (exit 3 on bad input, nothing
//! contacted), takes the inventory's lock, asks before changing routers on a
//! terminal, then fans out, prints the table and writes the reports.

use crate::cli::{ApplyArgs, CheckArgs, FleetArgs, ListsArgs, PlanArgs, RemoveArgs, ReportFiles};
use crate::domain::escape_controls;
use crate::error::{Error, Outcome};
use crate::fleet::{Event, FanOutSettings};
use crate::inventory;
use crate::lists::applied::{RecordFile, Update};
use crate::report::{Command, RunReport, diff, json, junit, markdown, metrics, table};
use crate::runner::{self, Prepared, RunOptions};
use crate::saved_plan::{InventoryPin, SavedPlan};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tracing_indicatif::span_ext::IndicatifSpanExt;

/// What plan, apply, check and remove share, from each one's own flags.
pub struct Request {
    pub fleet: FleetArgs,
    /// Plan and apply only.
    pub lists: Option<ListsArgs>,
    /// `--detailed-exitcode` (plan and check only).
    pub detailed: bool,
    /// `--yes` (apply and remove only).
    pub yes: bool,
    /// `--diff` (plan and apply only).
    pub diff: bool,
    /// `plan --out`: where the saved plan goes.
    pub out: Option<crate::files::Output>,
    /// `apply --plan` and its `--max-plan-age`.
    pub saved_plan: Option<(PathBuf, Duration)>,
}

impl From<PlanArgs> for Request {
    fn from(a: PlanArgs) -> Request {
        let detailed = a.detailed.detailed_exitcode;
        Request {
            fleet: a.fleet,
            lists: Some(a.lists),
            detailed,
            yes: false,
            diff: a.show_diff.diff,
            out: a.out,
            saved_plan: None,
        }
    }
}

impl From<ApplyArgs> for Request {
    fn from(a: ApplyArgs) -> Request {
        let yes = a.confirm.yes;
        Request {
            fleet: a.fleet,
            lists: Some(a.lists),
            detailed: false,
            yes,
            diff: a.show_diff.diff,
            out: None,
            saved_plan: a.saved.plan.map(|p| (p, a.saved.max_plan_age)),
        }
    }
}

impl From<CheckArgs> for Request {
    fn from(a: CheckArgs) -> Request {
        let detailed = a.detailed.detailed_exitcode;
        Request {
            fleet: a.fleet,
            lists: None,
            detailed,
            yes: false,
            diff: false,
            out: None,
            saved_plan: None,
        }
    }
}

impl From<RemoveArgs> for Request {
    fn from(a: RemoveArgs) -> Request {
        let yes = a.confirm.yes;
        Request {
            fleet: a.fleet,
            lists: None,
            detailed: false,
            yes,
            diff: false,
            out: None,
            saved_plan: None,
        }
    }
}

pub async fn run(args: Request, command: Command, quiet: bool) -> Result<Outcome, Error> {
    let started = SystemTime::now();
    let result = run_checked(&args, command, quiet).await;
    if let (Err(e), Some(output)) = (&result, &args.fleet.reports.metrics)
        && !about_metrics(e)
    {
        metrics_not_run(output, &args.fleet, command, started);
    }
    result
}

/// [`run`], less the metrics of a run that stops before contact.
async fn run_checked(args: &Request, command: Command, quiet: bool) -> Result<Outcome, Error> {
    // Outputs first: a report that cannot be written must stop the run
    // before any device is contacted, not after the routers were changed.
    let FleetArgs {
        devices: selection,
        fanout,
        reports,
        state,
    } = &args.fleet;
    let on_stderr =
        check_outputs(&[&report_outputs(reports)[..], &[("--out", &args.out)]].concat())?;
    let loaded = inventory::load(&selection.inventory.path)?;
    let saved_plan = match &args.saved_plan {
        Some((path, max_age)) => Some(Arc::new(read_plan(path, &loaded, *max_age)?)),
        None => None,
    };
    // An interactive apply asks about a plan and then applies that plan.
    let asks = command == Command::Apply && !args.yes;
    // Pinned now: the plan is of the inventory this run read.
    let pin = if args.out.is_some() || (asks && saved_plan.is_none()) {
        Some(inventory_pin(&loaded))
    } else {
        None
    };
    let mut devices = super::select::devices(loaded.devices(), &selection.limit.patterns)?;
    if let Some(shard) = selection.shard {
        devices.retain(|d| crate::shard::contains(shard, &d.name));
    }
    let state_dir = state.resolve();
    let _lock = crate::lock::acquire_inventory(&selection.inventory.path, state_dir.as_deref())?;
    // Plan and apply keep the shrink guard's baseline beside the lock.
    let applied = match (&state_dir, &args.lists) {
        (Some(dir), Some(_)) => Some(
            RecordFile::of(dir, &selection.inventory.path)
                .map_err(crate::lists::ListsError::from)?,
        ),
        _ => None,
    };
    let interactive = std::io::stdin().is_terminal();
    let changes_routers = !command.is_dry_run();
    if changes_routers && !args.yes && !interactive {
        return Err(Error::NeedsYes {
            command: command.as_str(),
        });
    }
    let options = RunOptions {
        command,
        lists: args.lists.as_ref().and_then(|l| l.lists.clone()),
        max_snapshot_age: args
            .lists
            .as_ref()
            .map_or(Duration::ZERO, |l| l.max_snapshot_age),
        previous: args.lists.as_ref().and_then(|l| l.shrink.previous.clone()),
        allow_shrink: args.lists.as_ref().is_some_and(|l| l.shrink.allow_shrink),
        applied,
        fanout: FanOutSettings {
            concurrency: usize::from(fanout.concurrency),
            connect_rate: fanout.connect_rate,
            retries: fanout.retries,
            auth_failure_limit: fanout.auth_failure_limit,
            canary: fanout.canary,
            max_failures: fanout.max_failures,
            ..FanOutSettings::default()
        },
        run_dir: Some(
            fanout
                .run_dir
                .clone()
                .unwrap_or_else(|| runner::default_run_dir(command)),
        ),
        device_deadline: Duration::from_secs(fanout.device_timeout),
        shard: selection.shard,
        saved_plan: saved_plan.clone(),
        record_observed: pin.is_some(),
    };
    let prepared = runner::prepare(&loaded, &devices, &options).await?;
    let say = |text: &str| {
        if on_stderr {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    };

    if command == Command::Remove
        && !args.yes
        && !confirm(
            &format!(
                "Remove the groups tsfleet manages from {} device(s)? [y/N] ",
                prepared.jobs.len()
            ),
            on_stderr,
        )
        .await
    {
        say("Nothing removed.");
        return Ok(Outcome::Done);
    }
    let (prepared, options) = if asks {
        // Show what would change and ask, as a careful operator would.
        let plan_options = RunOptions {
            command: Command::Plan,
            ..options.clone()
        };
        let preview = prepared_for(&prepared, false);
        let report = execute(&preview, &plan_options, quiet).await;
        print_table(&report, on_stderr);
        if args.diff {
            print_diff(&report, on_stderr);
        }
        let pending = report.summary().changed;
        if pending == 0 {
            say("Nothing to apply.");
            return Ok(Outcome::of_report(&report, false));
        }
        if !confirm(
            &format!("Apply the changes to {pending} device(s)? [y/N] "),
            on_stderr,
        )
        .await
        {
            say("Nothing applied.");
            return Ok(Outcome::Done);
        }
        match pin.clone() {
            // Apply what was shown, not a second computation: the preview
            // is the plan, and a device changed since it fails `drift`.
            Some(pin) => {
                let plan = plan_of(pin, &prepared, &report);
                let options = RunOptions {
                    saved_plan: Some(Arc::new(plan)),
                    ..options
                };
                (runner::prepare(&loaded, &devices, &options).await?, options)
            }
            // `--plan`: the preview was of that plan already.
            None => (prepared, options),
        }
    } else {
        (prepared, options)
    };

    let report = execute(&prepared, &options, quiet).await;
    print_table(&report, on_stderr);
    if args.diff {
        print_diff(&report, on_stderr);
    }
    if let Some((path, _)) = &args.saved_plan
        && !prepared.not_in_plan.is_empty()
    {
        say(&format!(
            "{} selected device(s) not in the plan {}, not touched: {}",
            prepared.not_in_plan.len(),
            path.display(),
            prepared.not_in_plan.join(", ")
        ));
    }
    let inventory = selection.inventory.path.display().to_string();
    let (for_metrics, state_unwritten) = match &reports.metrics {
        Some(_) => last_successes(&report, &loaded, &args.fleet, state_dir.as_deref()),
        None => (ForMetrics::default(), None),
    };
    let mut unwritten = write_reports(&report, reports, &inventory, args.detailed);
    unwritten.extend(state_unwritten);
    if let Some(out) = &args.out
        && let Some(pin) = pin
        && let Err(e) = save_plan(out, pin, &prepared, &report)
    {
        unwritten.push(e);
    }
    if command == Command::Apply {
        match runner::record_applied(&prepared, &report, &options) {
            Ok(Some(update)) => log_recorded(&update),
            Ok(None) => {}
            Err(e) => unwritten.push(e.into()),
        }
    }
    write_metrics(
        &report,
        reports,
        args.detailed,
        &for_metrics,
        &mut unwritten,
    );
    if let Some(dir) = &options.run_dir {
        tracing::info!("transcripts in {}", dir.display());
    }
    Ok(Outcome::of_report(&report, args.detailed).unless_unwritten(unwritten))
}

/// `apply --plan`: the plan, refused (exit 3, nothing contacted) when it
/// was changed, is of another format, was made for other content of
/// `inventory`, or is older than `max_age`.
fn read_plan(
    path: &Path,
    inventory: &inventory::LoadedInventory,
    max_age: Duration,
) -> Result<SavedPlan, Error> {
    let plan = SavedPlan::read(path)?;
    plan.check_usable(path, &inventory_pin(inventory), max_age, SystemTime::now())?;
    Ok(plan)
}

/// The inventory file's path and the digest of its bytes, as loaded.
fn inventory_pin(inventory: &inventory::LoadedInventory) -> InventoryPin {
    InventoryPin {
        path: inventory.path.display().to_string(),
        sha256: inventory.sha256.clone(),
    }
}

/// `plan --out`: save what this plan found, for `apply --plan`.
fn save_plan(
    out: &crate::files::Output,
    pin: InventoryPin,
    prepared: &Prepared,
    report: &RunReport,
) -> Result<(), Error> {
    plan_of(pin, prepared, report).write(out)?;
    tracing::info!("plan saved to {out}: apply it with `tsfleet apply --plan {out}`");
    Ok(())
}

/// The saved plan of a `plan` run (the preview of an interactive apply).
fn plan_of(pin: InventoryPin, prepared: &Prepared, report: &RunReport) -> SavedPlan {
    let addresses: std::collections::HashMap<&str, String> = (prepared.jobs.iter())
        .map(|j| {
            (
                j.name.as_str(),
                format!("{}:{}", j.target.host, j.target.port),
            )
        })
        .collect();
    let devices = report.devices.iter().map(|d| {
        let address = addresses.get(d.name.as_str()).cloned();
        (d, address.unwrap_or_else(|| d.host.clone()))
    });
    let snapshot = prepared.snapshot.clone().expect("plan has a snapshot");
    SavedPlan::new(pin, snapshot, devices, SystemTime::now())
}

/// Say which lists the shrink guard now compares with this apply, and
/// which keep the baseline of an earlier one.
fn log_recorded(update: &Update) {
    if !update.moved.is_empty() {
        tracing::info!(
            "shrink guard: the next runs compare {} with this apply",
            update.moved.join(", ")
        );
    }
    if !update.kept.is_empty() {
        tracing::warn!(
            "shrink guard: {} keep the baseline of an earlier apply: a device that carries them failed or was skipped",
            update.kept.join(", ")
        );
    }
    if !update.moved_v6.is_empty() {
        tracing::info!(
            "shrink guard: the next runs compare the IPv6 part of {} with this apply",
            update.moved_v6.join(", ")
        );
    }
    if !update.kept_v6.is_empty() {
        tracing::warn!(
            "shrink guard: the IPv6 part of {} keeps the baseline of an earlier apply: an `ipv6: true` device that carries them failed or was skipped",
            update.kept_v6.join(", ")
        );
    }
}

/// Check the report outputs before anything is done (exit 3, nothing
/// contacted): each file must be writable, and at most one may be stdout.
/// Returns whether the table goes to stderr (a report holds stdout).
pub(crate) fn check_reports(reports: &ReportFiles) -> Result<bool, Error> {
    check_outputs(&report_outputs(reports))
}

/// The report files, each with the flag that names it.
fn report_outputs(reports: &ReportFiles) -> [(&'static str, &Option<crate::files::Output>); 5] {
    [
        ("--json", &reports.json),
        ("--junit", &reports.junit),
        ("--summary-md", &reports.summary_md),
        ("--metrics", &reports.metrics),
        ("--html", &reports.html),
    ]
}

/// Check outputs named by their flag: see [`check_reports`].
pub(crate) fn check_outputs(
    outputs: &[(&'static str, &Option<crate::files::Output>)],
) -> Result<bool, Error> {
    let on_stdout: Vec<&'static str> = outputs
        .iter()
        .filter(|(_, o)| o.as_ref().is_some_and(|o| o.is_stdout()))
        .map(|(flag, _)| *flag)
        .collect();
    if let [first, second, ..] = on_stdout[..] {
        return Err(Error::TwoOnStdout { first, second });
    }
    for &(flag, output) in outputs {
        if let Some(output) = output {
            output.check().map_err(|e| Error::Output {
                flag,
                path: output.to_string(),
                problem: e.to_string(),
            })?;
        }
    }
    Ok(!on_stdout.is_empty())
}

/// Write the JSON, JUnit, Markdown and HTML reports a run was asked for: each is
/// tried, and the ones that failed are returned (the run has happened; one
/// unwritable report must not cost the others). `source` is what the run was
/// on (the inventory, or the shards merged) and `detailed` its
/// `--detailed-exitcode`, for the summary's title.
pub(crate) fn write_reports(
    report: &RunReport,
    reports: &ReportFiles,
    source: &str,
    detailed: bool,
) -> Vec<Error> {
    let mut failed = Vec::new();
    if let Some(output) = &reports.json
        && let Err(e) = json::write(output, report)
    {
        failed.push(e.into());
    }
    if let Some(output) = &reports.junit
        && let Err(e) = junit::write(output, report)
    {
        failed.push(e.into());
    }
    // The summary's and the page's title: what the run was on and its exit code.
    let heading = markdown::Heading {
        source,
        exit_code: crate::error::exit_code(&Ok(Outcome::of_report(report, detailed))),
    };
    if let Some(output) = &reports.summary_md
        && let Err(e) = markdown::write(output, report, &heading)
    {
        failed.push(e.into());
    }
    if let Some(output) = &reports.html
        && let Err(e) = crate::report::html::write(output, report, &heading)
    {
        failed.push(e.into());
    }
    failed
}

/// Write `--metrics` (when asked for) after everything else the run
/// writes, `unwritten` holding what could not be (reports, the saved plan,
/// the record of the lists applied, the metrics' state): success is the
/// exit code the run will have, 0 or 2, so a run that exits 1 because a
/// file was not written never shows success 1.
pub(crate) fn write_metrics(
    report: &RunReport,
    reports: &ReportFiles,
    detailed: bool,
    for_metrics: &ForMetrics,
    unwritten: &mut Vec<Error>,
) {
    let Some(output) = &reports.metrics else {
        return;
    };
    let code = crate::error::exit_code(&Ok(Outcome::of_report(report, detailed)));
    let success = unwritten.is_empty() && matches!(code, 0 | 2);
    let labels = metrics::Labels {
        command: report.command,
        inventory: for_metrics.inventory.clone(),
        shard: report.shard,
    };
    let m = metrics::Metrics::of_report(report, labels, success, &for_metrics.last_success);
    if let Err(e) = metrics::write(output, &m) {
        unwritten.push(e.into());
    }
}

/// What `--metrics` shows besides the report: the inventory label (none for
/// a merge) and each device's last success.
#[derive(Default)]
pub(crate) struct ForMetrics {
    pub inventory: Option<String>,
    pub last_success: std::collections::BTreeMap<String, u64>,
}

/// The last successes after this run, kept in the state directory (the
/// run's own when there is none), of the devices of this shard; and the
/// error when the state cannot be written.
fn last_successes(
    report: &RunReport,
    loaded: &inventory::LoadedInventory,
    fleet: &FleetArgs,
    state_dir: Option<&Path>,
) -> (ForMetrics, Option<Error>) {
    let inventory = &fleet.devices.inventory.path;
    let mut for_metrics = ForMetrics {
        inventory: Some(inventory.display().to_string()),
        last_success: metrics::successes_of(report),
    };
    let Some(file) = state_dir.and_then(|dir| metrics::SuccessFile::of(dir, inventory).ok()) else {
        return (for_metrics, None);
    };
    let end = metrics::millis_since_epoch(report.started_at) + report.duration_ms;
    let names = loaded.devices().iter().map(|d| d.name.as_str());
    let successes = file.read().after_run(report, end, names);
    let shard = fleet.devices.shard;
    for_metrics.last_success = successes.of(report.command, in_shard(shard));
    (for_metrics, file.write(&successes).err().map(Error::from))
}

/// Whether a device belongs to `shard` (every device when there is none).
fn in_shard(shard: Option<crate::shard::Shard>) -> impl Fn(&str) -> bool {
    move |name| shard.is_none_or(|s| crate::shard::contains(s, name))
}

/// Whether `e` is about the `--metrics` output itself (which then cannot be
/// written either).
fn about_metrics(e: &Error) -> bool {
    match e {
        Error::Output { flag, .. } => *flag == "--metrics",
        Error::TwoOnStdout { first, second } => [first, second].contains(&&"--metrics"),
        _ => false,
    }
}

/// `--metrics` for a run that stopped before contacting any device (exit
/// 3): success 0, no device counted, and the last successes kept in the
/// state directory as they were (of this shard's devices; not checked
/// against the inventory, which may be what failed). A file that cannot be
/// written is warned about: the run's own error is the one that counts.
fn metrics_not_run(
    output: &crate::files::Output,
    fleet: &FleetArgs,
    command: Command,
    started: SystemTime,
) {
    let inventory = &fleet.devices.inventory.path;
    let shard = fleet.devices.shard;
    let kept = (fleet.state.resolve())
        .and_then(|dir| metrics::SuccessFile::of(&dir, inventory).ok())
        .map(|file| file.read().of(command, in_shard(shard)))
        .unwrap_or_default();
    let now = SystemTime::now();
    let m = metrics::Metrics {
        labels: metrics::Labels {
            command,
            inventory: Some(inventory.display().to_string()),
            shard,
        },
        finished_at: now,
        success: false,
        duration: now.duration_since(started).unwrap_or_default(),
        summary: Default::default(),
        entries: Default::default(),
        last_success: &kept,
    };
    if let Err(e) = metrics::write(output, &m) {
        tracing::warn!("{e}");
    }
}

fn prepared_for(p: &Prepared, apply: bool) -> Prepared {
    let mut copy = Prepared {
        snapshot: p.snapshot.clone(),
        jobs: p.jobs.clone(),
        policies: p.policies.clone(),
        applied: p.applied.clone(),
        skipped: p.skipped.clone(),
        not_in_plan: p.not_in_plan.clone(),
    };
    copy.jobs.iter_mut().for_each(|j| j.request.apply = apply);
    copy
}

/// Run with a progress bar (on a terminal) and the stop signals: Ctrl-C,
/// SIGTERM (systemd, Kubernetes) and SIGHUP (a dropped terminal) alike.
/// The first stops the run at a batch boundary (devices in flight leave
/// configuration mode and log out, unfinished ones are not saved); a second
/// closes the sessions still in flight [`runner::ABANDON_GRACE`] later. The
/// report comes back either way, so every report is written.
pub(crate) async fn execute(prepared: &Prepared, options: &RunOptions, quiet: bool) -> RunReport {
    let stop = runner::Stop::default();
    let watcher = tokio::spawn(watch_signals(StopSignals::install(), stop.clone()));
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
        runner::execute(prepared, options, stop, move |job, event| match event {
            Event::Started { .. } => tracing::debug!("{}: started", job.name),
            Event::Retrying { attempt, error, .. } => {
                // The error can quote the device; log lines show its controls escaped.
                let error = escape_controls(&error.to_string()).into_owned();
                tracing::warn!("{}: retry {attempt}: {error}", job.name)
            }
            Event::Finished { ok, skipped, .. } => {
                bar.pb_inc(1);
                if ok {
                    tracing::info!("{}: done", job.name);
                } else if skipped {
                    tracing::info!(
                        "{}: not started (the run stopped before its login)",
                        job.name
                    );
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

/// The signals that stop a run, caught from now on.
struct StopSignals([(tokio::signal::unix::Signal, &'static str); 3]);

impl StopSignals {
    fn install() -> StopSignals {
        use tokio::signal::unix::{SignalKind, signal};
        StopSignals(
            [
                (SignalKind::interrupt(), "SIGINT (Ctrl-C)"),
                (SignalKind::terminate(), "SIGTERM"),
                (SignalKind::hangup(), "SIGHUP"),
            ]
            .map(|(kind, name)| (signal(kind).expect("signal handlers install"), name)),
        )
    }

    /// The name of the next signal caught.
    async fn next(&mut self) -> &'static str {
        let [(int, i), (term, t), (hup, h)] = &mut self.0;
        tokio::select! {
            _ = int.recv() => i,
            _ = term.recv() => t,
            _ = hup.recv() => h,
        }
    }
}

async fn watch_signals(mut signals: StopSignals, stop: runner::Stop) {
    // Written, not `eprintln!`: after SIGHUP the terminal may be gone, and
    // a failed write must not cost the reports.
    let say = |text: String| {
        let _ = writeln!(std::io::stderr(), "{text}");
    };
    let first = signals.next().await;
    say(format!(
        "tsfleet: {first}: stopping: no new devices; devices in flight stop at a batch boundary, leave configuration mode and are not saved (a second signal closes them)"
    ));
    stop.cancel.cancel();
    let second = signals.next().await;
    say(format!(
        "tsfleet: {second} again: closing the sessions still in flight in {:?}; reports are still written",
        runner::ABANDON_GRACE
    ));
    stop.abandon.cancel();
}

/// Print the run's table on stdout, or on stderr when a report holds
/// stdout; coloured and fitted only on a terminal (see [`crate::cli::use_color`]).
pub(crate) fn print_table(report: &RunReport, on_stderr: bool) {
    print_human(on_stderr, |terminal| {
        table::render(
            report,
            table::TableOptions {
                color: crate::cli::use_color(terminal),
                width: if terminal { terminal_width() } else { None },
            },
        )
    });
}

/// `--diff`: the change sets after the table, where the table goes and
/// coloured as it is.
fn print_diff(report: &RunReport, on_stderr: bool) {
    print_human(on_stderr, |terminal| {
        diff::render(report, crate::cli::use_color(terminal))
    });
}

/// Write text for people on stdout, or on stderr when a report holds
/// stdout; `render` is told whether that stream is a terminal.
fn print_human(on_stderr: bool, render: impl FnOnce(bool) -> String) {
    let terminal = if on_stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let text = render(terminal);
    // A terminal gone after SIGHUP, or a closed pipe, must not abort the
    // run before its reports are written.
    let _ = if on_stderr {
        std::io::stderr().write_all(text.as_bytes())
    } else {
        std::io::stdout().write_all(text.as_bytes())
    };
}

fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or(Some(160))
}

/// Ask on the terminal; on stderr when a report holds stdout. A stop signal
/// while waiting is a no (the handlers of an earlier run would otherwise
/// swallow it, leaving the prompt deaf to Ctrl-C and SIGTERM).
async fn confirm(question: &str, on_stderr: bool) -> bool {
    if on_stderr {
        eprint!("{question}");
    } else {
        print!("{question}");
        let _ = std::io::stdout().flush();
    }
    let mut signals = StopSignals::install();
    // The read blocks its thread until a line comes; it is left behind on a
    // signal (the runtime does not wait for it, see `crate::run`).
    let answer = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        answer
    });
    tokio::select! {
        answer = answer => {
            matches!(answer.unwrap_or_default().trim(), "y" | "Y" | "yes" | "YES" | "Yes")
        }
        name = signals.next() => {
            let _ = writeln!(std::io::stderr(), "\ntsfleet: {name}: stopping");
            false
        }
    }
}
