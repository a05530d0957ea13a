//! The test bed: the simulated IOS fleet (`tsfleet sim`) and the list server
//! it is paired with. Many devices on consecutive loopback ports in one
//! process, each an SSH server whose CLI follows real IOS to the character,
//! with a cost model and injectable faults; a DNS server publishing lists.
//! The sync path (`lists`, `device`, `fleet`) never imports this module.
//!
//! - [`device`]: the configuration model (IPv4 groups, IOS XE v6-network
//!   groups, ACLs, running vs startup).
//! - [`cli`]: the IOS command line, pure bytes in → bytes out.
//! - [`session`]: drives a CLI over a byte stream with costs and faults.
//! - [`runtime`]: one running device, shared by its connections.
//! - [`server`]: the russh server of one device.
//! - [`fleet`]: starts N devices, exposes their state, writes an inventory.
//! - [`profile`]: per-device overrides and faults from YAML.
//! - [`stdio`]: one device's CLI on stdin/stdout, for OpenSSH's sshd.
//! - [`list_server`]: the lists, published over DNS in the ThreatSTOP layout.
//! - [`lab`]: what the lab's lists hold (size, seed, churn), for `sim` and `demo`.
//! - [`testbed`]: fleet, list server and the inventory for both, built and
//!   started together (`tsfleet demo`, the fleet benchmark, the tests).

pub mod cli;
pub mod device;
pub mod fleet;
pub mod hostkeys;
pub mod lab;
pub mod list_server;
pub mod profile;
pub mod runtime;
pub mod server;
pub mod session;
pub mod stdio;
pub mod testbed;

pub use fleet::{FleetConfig, SimFleet};
pub use list_server::{ListServer, PublishedList};
pub use profile::{Faults, Profile};
pub use runtime::DeviceRuntime;
pub use testbed::{TestBed, TestBedBuilder};

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {0}: {1} (is another simulator running? try another --base-port)")]
    Bind(SocketAddr, #[source] std::io::Error),
    #[error("{0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    #[error(
        "cannot serve the lists on {0}: {1} (is another simulator running? try another --dns-port)"
    )]
    ListBind(SocketAddr, #[source] std::io::Error),
    #[error("cannot start the list server: {0}")]
    ListServer(#[from] list_server::PublishError),
    #[error("{0}")]
    Other(String),
}
