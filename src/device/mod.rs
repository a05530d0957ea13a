//! One router over SSH: connect, authenticate, enter enable, read the
//! groups, push the changes and verify them.
//!
//! - [`ssh`]: the russh client (algorithms, host keys, authentication).
//! - [`ios`]: the IOS dialect (commands and parsers of real output).
//! - [`acl`]: the ACL text `tsfleet acl` prints for the operator.
//! - [`login`]: the fan-out's leave to send credentials, and their verdict.
//! - [`progress`]: the step a device is at, for the progress display.
//! - [`shell`]: the prompt-driven CLI session and the pipelined push.
//! - [`window`]: the push's flow control (lines in flight, batches, stalls).
//! - [`sync`]: one device start to finish (read, diff, push, verify, save).
//! - [`outcome`]: what a sync did to each group (and a failed one reached).
//! - [`tasks`]: `check` (preflight) and `remove` on one device.
//! - [`transcript`]: the per-device transcript with secrets masked.
//! - [`error`]: typed failures.

pub mod acl;
pub mod error;
pub mod ios;
pub mod login;
pub mod outcome;
pub mod progress;
pub mod shell;
pub mod ssh;
pub mod sync;
pub mod tasks;
pub mod transcript;
pub mod window;

pub use error::DeviceError;
pub use progress::phase;

use shell::{CliSession, Link, Timeouts};
use std::time::Duration;
use sync::{SyncOutcome, SyncRequest};
use transcript::Transcript;

/// What one device run produced, besides its outcome.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Lines typed to the device (commands and configuration lines).
    pub lines_sent: u64,
}

impl Link for ssh::Shell {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
        ssh::Shell::send(self, bytes).await
    }

    async fn recv(&mut self) -> Option<Vec<u8>> {
        ssh::Shell::recv(self).await
    }
}

/// What one answer of the device may cost: the silence tolerated while it
/// is due, and its size (see [`shell::answer_cap`]).
#[derive(Clone, Copy, Debug)]
pub struct AnswerLimits {
    pub inactivity: Duration,
    pub bytes: usize,
}

/// What to do on a device once logged in.
#[derive(Clone, Debug)]
pub enum Task {
    /// Plan or apply.
    Sync(SyncRequest),
    /// Preflight, changes nothing.
    Check {
        enable_secret: Option<String>,
        groups: Vec<tasks::GroupName>,
    },
    /// Delete tsfleet's groups unless an ACL uses them.
    Remove {
        enable_secret: Option<String>,
        groups: Vec<tasks::GroupName>,
        save_config: bool,
    },
}

/// What a task produced.
#[derive(Clone, Debug)]
pub enum TaskOutcome {
    Sync(SyncOutcome),
    Check(tasks::CheckOutcome),
    Remove(tasks::RemoveOutcome),
}

/// Connect over SSH, sync (or plan) the device, log out. The deadline covers
/// everything; `limits` bound each answer (silence, bytes, total time).
pub async fn run_device(
    target: &ssh::SshTarget,
    request: &SyncRequest,
    transcript: Transcript,
    limits: AnswerLimits,
    deadline: Duration,
    cancel: tokio_util::sync::CancellationToken,
) -> Result<(SyncOutcome, RunStats), DeviceError> {
    let task = Task::Sync(request.clone());
    let login = login::Login::open();
    match run_task(target, &task, transcript, limits, deadline, cancel, login).await? {
        (TaskOutcome::Sync(outcome), stats) => Ok((outcome, stats)),
        _ => unreachable!("a sync task gives a sync outcome"),
    }
}

/// Connect over SSH, run `task`, log out (on errors too). `login` gives
/// leave to send credentials and hears how they fared (the password at
/// login, the enable secret once privileged).
pub async fn run_task(
    target: &ssh::SshTarget,
    task: &Task,
    transcript: Transcript,
    limits: AnswerLimits,
    deadline: Duration,
    cancel: tokio_util::sync::CancellationToken,
    mut login: login::Login,
) -> Result<(TaskOutcome, RunStats), DeviceError> {
    let started = tokio::time::Instant::now();
    let deadline = started + deadline;
    let work = async {
        phase("connecting");
        let shell = ssh::open_shell_gated(target, &mut login).await?;
        let negotiated = shell.negotiated().clone();
        let host_key = shell.host_key_status();
        let timeouts = Timeouts {
            inactivity: limits.inactivity,
            deadline,
            answer_bytes: limits.bytes,
        };
        let mut session = CliSession::start(shell, &target.device, timeouts, transcript).await?;
        session.cancel = cancel;
        session.login = login;
        let result = match task {
            Task::Sync(request) => sync::sync(&mut session, request)
                .await
                .map(TaskOutcome::Sync),
            Task::Check {
                enable_secret,
                groups,
            } => tasks::check(&mut session, enable_secret.as_deref(), groups)
                .await
                .map(|mut o| {
                    let key = match host_key {
                        ssh::HostKeyStatus::Known => "known",
                        ssh::HostKeyStatus::Learned => "learned and recorded now (accept-new)",
                        ssh::HostKeyStatus::Unchecked => "NOT checked (host_key_policy: off)",
                    };
                    let legacy = if negotiated.uses_legacy() {
                        " (legacy algorithms)"
                    } else {
                        ""
                    };
                    o.notes.insert(
                        0,
                        format!(
                            "SSH{legacy}: kex {}, cipher {}, mac {}, host key {} {key}",
                            negotiated.kex, negotiated.cipher, negotiated.mac, negotiated.host_key
                        ),
                    );
                    TaskOutcome::Check(o)
                }),
            Task::Remove {
                enable_secret,
                groups,
                save_config,
            } => tasks::remove(&mut session, enable_secret.as_deref(), groups, *save_config)
                .await
                .map(TaskOutcome::Remove),
        };
        let stats = RunStats {
            lines_sent: session.lines_sent,
        };
        phase("logging out");
        let shell = session.logout().await;
        shell.close().await;
        tracing::debug!("logged out");
        result.map(|outcome| (outcome, stats))
    };
    match tokio::time::timeout_at(deadline, work).await {
        Ok(result) => result,
        Err(_) => Err(DeviceError::Timeout {
            device: target.device.clone(),
            doing: "working through the device (its deadline passed)".into(),
            after: started.elapsed(),
        }),
    }
}
