//! One router over SSH: connect, authenticate, enter enable, read the
//! groups, push the changes and verify them.
//!
//! - [`ssh`]: the russh client (algorithms, host keys, authentication).
//! - [`ios`]: the IOS dialect (commands and parsers of real output).
//! - [`shell`]: the prompt-driven CLI session and the pipelined push.
//! - [`sync`]: one device start to finish (read, diff, push, verify, save).
//! - [`transcript`]: the per-device transcript with secrets masked.
//! - [`error`]: typed failures.

pub mod error;
pub mod ios;
pub mod shell;
pub mod ssh;
pub mod sync;
pub mod transcript;

pub use error::DeviceError;
