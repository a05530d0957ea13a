//! The exit contract: the one place that defines the process exit codes and
//! maps every way a command ends — an [`Outcome`] or an [`Error`] — to one of
//! them ([`exit_code`]). Commands decide *what* happened; only this module
//! decides the number. The README's exit-code table and `tsfleet --help`
//! ([`exit_codes_help!`]) describe the same mapping.

use std::path::PathBuf;

/// Success; with `--detailed-exitcode`, also "no changes".
pub const EXIT_OK: u8 = 0;
/// One or more devices failed or were skipped, an upload failed, or a report
/// could not be written after devices were contacted.
pub const EXIT_DEVICE_FAILED: u8 = 1;
/// Success with changes pending (`plan`/`check --detailed-exitcode`).
pub const EXIT_CHANGES: u8 = 2;
/// Invalid input (arguments, inventory, lists, output paths, lock held);
/// nothing was contacted.
pub const EXIT_INVALID: u8 = 3;

/// The exit codes as `--help` shows them (a macro so `concat!` can use it;
/// not exported, so `cli` reaches it here rather than at the crate root).
macro_rules! exit_codes_help {
    () => {
        "Exit codes: 0 success (with --detailed-exitcode: and no change pending); \
         1 a device failed or was skipped because the run stopped, an upload failed, or a \
         report could not be written after devices were contacted; 2 changes pending \
         (with --detailed-exitcode); 3 invalid input (arguments, inventory, lists, output \
         paths) or another run holds the inventory's lock: nothing was contacted."
    };
    // `apply` and `remove` have no --detailed-exitcode, so no 2.
    (changes routers) => {
        "Exit codes: 0 every selected device is in the state asked for; 1 a device failed \
         or was skipped because the run stopped, or a report could not be written after \
         devices were contacted; 3 invalid input (arguments, inventory, lists, a saved \
         plan, output paths) or another run holds the inventory's lock: nothing was contacted."
    };
}
pub(crate) use exit_codes_help;

/// How a command that ran to its end came out (errors are [`Error`]).
#[derive(Debug)]
pub enum Outcome {
    /// Everything asked for was done (and, with `--detailed-exitcode`, no
    /// change is pending).
    Done,
    /// A dry run found changes pending and `--detailed-exitcode` was given.
    ChangesPending,
    /// A device failed or was skipped, or a device's log upload failed.
    DevicesFailed,
    /// Devices were contacted (or the run was merged), but these reports
    /// could not be written; the table was printed. Each error is printed.
    ReportsNotWritten(Vec<Error>),
}

impl Outcome {
    /// How a run came out, from what its report holds:
    ///
    /// - devices failed if any device failed or was skipped. A skipped
    ///   device was selected but left untouched because the run was stopped
    ///   (authentication breaker, failed canary, `--max-failures`, Ctrl-C),
    ///   so the fleet is not in the state asked for.
    /// - else, with `detailed` (`--detailed-exitcode`), changes pending if a
    ///   dry run (`plan`, `check`) found changes. For `apply` a `changed`
    ///   device had its changes applied: that is success.
    /// - else done.
    pub fn of_report(report: &crate::report::RunReport, detailed: bool) -> Outcome {
        let summary = report.summary();
        if summary.failed + summary.skipped > 0 {
            Outcome::DevicesFailed
        } else if detailed && report.command.is_dry_run() && summary.changed > 0 {
            Outcome::ChangesPending
        } else {
            Outcome::Done
        }
    }

    /// This outcome, unless writing the reports failed (which is worse than
    /// pending changes and no better than a failed device: exit 1 either way).
    pub fn unless_unwritten(self, failures: Vec<Error>) -> Outcome {
        if failures.is_empty() {
            self
        } else {
            Outcome::ReportsNotWritten(failures)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line did not parse (clap's message, printed as clap formats it).
    #[error(transparent)]
    Cli(#[from] clap::Error),
    #[error(transparent)]
    Sim(#[from] crate::sim::SimError),
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
    /// A list could not be resolved, or a snapshot or policy is unusable;
    /// raised before any device is contacted.
    #[error(transparent)]
    Lists(#[from] crate::lists::ListsError),
    /// `logs upload` could not read its syslog or state file (nothing was uploaded).
    #[error(transparent)]
    Logs(#[from] crate::logs::LogsError),
    /// Another run holds the inventory's lock, or the lock file cannot be made.
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
    /// A device's settings or credentials, the lists or the run directory
    /// are unusable (found before any device is contacted).
    #[error(transparent)]
    Prepare(#[from] crate::runner::PrepareError),
    /// A report could not be read or written.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// Shard reports that do not make one run.
    #[error(transparent)]
    Merge(#[from] crate::report::merge::MergeError),
    /// A saved plan (`apply --plan`) that cannot be used: changed after it
    /// was made, made for other inventory content, too old, another format.
    #[error(transparent)]
    SavedPlan(#[from] crate::saved_plan::SavedPlanError),
    /// An output path that cannot be written, found before anything was done.
    #[error("{flag} {path}: {problem}; nothing was done")]
    Output {
        flag: &'static str,
        path: String,
        problem: String,
    },
    /// Two outputs asked for stdout.
    #[error("{first} - and {second} - both ask for stdout: send one of them to a file")]
    TwoOnStdout {
        first: &'static str,
        second: &'static str,
    },
    /// A command that changes routers without `--yes` and without a terminal.
    #[error(
        "{command} changes routers: pass --yes to confirm (stdin is not a terminal, so tsfleet cannot ask)"
    )]
    NeedsYes { command: &'static str },
    /// An output file that exists, without `--force`.
    #[error("{0} exists: choose another file or add --force to overwrite it")]
    Exists(PathBuf),
    /// Mistakes in input files or answers, each with its place, and what
    /// to do about them; nothing was written.
    #[error("{}{}{then}", .mistakes.join("\nerror: "), if .then.is_empty() { "" } else { "\n" })]
    Mistakes {
        mistakes: Vec<String>,
        then: &'static str,
    },
    /// An answer to one of `init`'s questions that cannot be used.
    #[error("{what} {answer:?}: {expected}")]
    Answer {
        what: &'static str,
        answer: String,
        expected: &'static str,
    },
    /// The simulator serves loopback addresses only.
    #[error("--listen {0} is not a loopback address: the simulator only serves this machine")]
    NotLoopback(std::net::IpAddr),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The exit code of a finished command: the single mapping from outcomes
/// and errors to 0, 1, 2 and 3.
pub fn exit_code(result: &Result<Outcome, Error>) -> u8 {
    match result {
        Ok(Outcome::Done) => EXIT_OK,
        Ok(Outcome::ChangesPending) => EXIT_CHANGES,
        Ok(Outcome::DevicesFailed | Outcome::ReportsNotWritten(_)) => EXIT_DEVICE_FAILED,
        // `--help` and `--version` reach here as clap "errors" that are not.
        Err(Error::Cli(e)) if !e.use_stderr() => EXIT_OK,
        Err(
            Error::Cli(_)
            | Error::Sim(_)
            | Error::Inventory(_)
            | Error::Lists(_)
            | Error::Logs(_)
            | Error::Lock(_)
            | Error::Prepare(_)
            | Error::Report(_)
            | Error::Merge(_)
            | Error::SavedPlan(_)
            | Error::Output { .. }
            | Error::TwoOnStdout { .. }
            | Error::NeedsYes { .. }
            | Error::Exists(_)
            | Error::Mistakes { .. }
            | Error::Answer { .. }
            | Error::NotLoopback(_)
            | Error::Io { .. },
        ) => EXIT_INVALID,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Outcome, Error> {
        crate::cli::Cli::try_parse_from(args)
            .map(|_| Outcome::Done)
            .map_err(Error::from)
    }

    #[test]
    fn outcomes_map_to_their_codes() {
        assert_eq!(exit_code(&Ok(Outcome::Done)), 0);
        assert_eq!(exit_code(&Ok(Outcome::ChangesPending)), 2);
        assert_eq!(exit_code(&Ok(Outcome::DevicesFailed)), 1);
        // Outcome::of_report is tested with real reports in report::tests::exit_codes.
        let unwritten = Error::Io {
            path: "r.json".into(),
            source: std::io::Error::other("disk full"),
        };
        // A report that could not be written after the run: 1, even when
        // the run itself would have exited 0 or 2.
        for run in [Outcome::Done, Outcome::ChangesPending] {
            let o = run.unless_unwritten(vec![Error::NeedsYes { command: "x" }]);
            assert_eq!(exit_code(&Ok(o)), 1);
        }
        let o = Outcome::Done.unless_unwritten(vec![unwritten]);
        assert!(matches!(o, Outcome::ReportsNotWritten(ref v) if v.len() == 1));
        assert_eq!(exit_code(&Ok(Outcome::Done.unless_unwritten(vec![]))), 0);
    }

    #[test]
    fn usage_errors_exit_3_and_help_exits_0() {
        for bad in [
            &["tsfleet", "plan", "--no-such-flag", "-i", "x"][..],
            &["tsfleet", "plan"],
            &["tsfleet", "apply", "-i", "x", "--concurrency", "zero"],
            &["tsfleet", "plan", "-i", "x", "--yes"],
            &["tsfleet"],
        ] {
            assert_eq!(exit_code(&parse(bad)), EXIT_INVALID, "{bad:?}");
        }
        assert_eq!(exit_code(&parse(&["tsfleet", "--help"])), EXIT_OK);
        assert_eq!(exit_code(&parse(&["tsfleet", "plan", "--help"])), EXIT_OK);
        assert_eq!(exit_code(&parse(&["tsfleet", "--version"])), EXIT_OK);
        let e = Error::Lock(crate::lock::LockError::Held {
            pid: "1".into(),
            path: "x".into(),
        });
        assert_eq!(exit_code(&Err(e)), EXIT_INVALID);
    }
}
