//! Integration tests: one binary, sharing the harness that starts real peers.

mod harness;
mod resolve;
