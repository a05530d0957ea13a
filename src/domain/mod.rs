//! Parse-once value types shared by every layer: list names, DNS servers,
//! upload URLs, the run kind, shards, device error classes and address
//! families. Each is built
//! by a constructor that validates (`FromStr`) and shows itself with
//! `Display`, so the layers above pass checked values instead of re-checking
//! strings. Also [`escape_controls`], which makes device text safe to print,
//! and [`sha256_digest`], the form of every digest tsfleet publishes.
//!
//! This module is the bottom of the crate: it imports nothing from it
//! (`tests/it/modules.rs` enforces that no module depends on one above it).

mod age;
mod digest;
mod dns_server;
mod error_class;
mod family;
mod host;
mod list_name;
mod run_kind;
mod shard;
mod terminal_text;
mod upload_url;

pub use age::{AgeError, age_past};
pub use digest::sha256_digest;
pub use dns_server::DnsServer;
pub use error_class::ErrorClass;
pub use family::Family;
pub use host::host_problem;
pub use list_name::ListName;
pub use run_kind::RunKind;
pub use shard::Shard;
pub use terminal_text::escape_controls;
pub use upload_url::{ProxyUrl, UploadUrl, redact};
