//! The simulated IOS fleet (`tsfleet sim`): many devices on consecutive
//! loopback ports in one process, each an SSH server whose CLI follows real
//! IOS to the character, with a cost model and injectable faults.

pub mod cli;
pub mod device;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Other(String),
}
