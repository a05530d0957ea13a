//! The IOS command line of one vty session: prompts, echo, enable, paging,
//! show and configuration commands, `%` errors with carets. Pure: bytes in,
//! bytes out, no I/O or clocks, so every dialogue is testable without SSH.

use super::device::SharedState;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// The per-device processing cost the transport waits for (the cost model).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CostModel {
    /// Time to process one configuration line.
    pub line_cost: Duration,
    /// Extra time per configuration line inside a group, per 1,000 entries it holds.
    pub per_1000_entries: Duration,
}

/// Per-device behaviour of the CLI, fixed for the life of the fleet.
#[derive(Clone, Debug, Default)]
pub struct CliOptions {
    pub enable_secret: String,
    /// Log in directly at `HOST#` (a privilege-15 user).
    pub privileged_login: bool,
    pub cost: CostModel,
    /// Entry lines (normalised, e.g. `host 10.0.0.5`) that are refused with a `%` error.
    pub error_entries: HashSet<String>,
    /// Most entries a network object-group may hold.
    pub max_group_entries: Option<usize>,
    /// Inject an asynchronous syslog line after every N input lines.
    pub syslog_every: Option<u32>,
}

/// What one call to [`Cli::input`] produced.
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    /// Bytes to send to the client (echo, output, prompts), `\r\n` line endings.
    pub output: Vec<u8>,
    /// Input lines completed by this call (Enter pressed).
    pub lines: u32,
    /// Processing time the device spends on them, per the cost model.
    pub cost: Duration,
    /// The session ended (`exit`/`logout` in exec mode).
    pub close: bool,
}

/// One vty session's CLI.
pub struct Cli {
    state: SharedState,
    options: Arc<CliOptions>,
}

impl Cli {
    pub fn new(state: SharedState, options: Arc<CliOptions>) -> Self {
        Cli { state, options }
    }

    /// What the router prints when the shell opens.
    pub fn greeting(&mut self) -> Vec<u8> {
        let host = self.state.lock().unwrap().hostname.clone();
        format!("\r\n{host}>").into_bytes()
    }

    /// Feed bytes the client typed.
    pub fn input(&mut self, data: &[u8]) -> Step {
        let _ = &self.options;
        Step {
            output: data.to_vec(),
            ..Step::default()
        }
    }

    /// True while the session is in any configuration mode.
    pub fn in_config_mode(&self) -> bool {
        false
    }
}
