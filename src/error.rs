//! The crate's top-level error and its mapping to exit codes (DESIGN §7).

use std::path::PathBuf;

/// Success; with `--detailed-exitcode`, also "no changes".
pub const EXIT_OK: u8 = 0;
/// One or more devices failed.
pub const EXIT_DEVICE_FAILED: u8 = 1;
/// Success with changes pending (`plan --detailed-exitcode`).
pub const EXIT_CHANGES: u8 = 2;
/// Invalid input (inventory, lists, arguments); nothing was contacted.
pub const EXIT_INVALID: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Sim(_)
            | Error::Inventory(_)
            | Error::Lists(_)
            | Error::Logs(_)
            | Error::Io { .. }
            | Error::Usage(_) => EXIT_INVALID,
        }
    }
}
