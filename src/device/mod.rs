//! One router over SSH: connect, authenticate, enter enable, read the
//! groups, push the changes and verify them.
//!
//! - [`ssh`]: the russh client (algorithms, host keys, authentication).
//! - [`ios`]: the IOS dialect (commands and parsers of real output).
//! - [`error`]: typed failures.

pub mod error;
pub mod ios;
pub mod ssh;

pub use error::DeviceError;
