//! All integration tests, in one binary. The harness starts the real peers
//! (the simulator over SSH, OpenSSH's sshd, netmiko) on loopback addresses.

mod harness;
mod sim;
mod sim_sshd;
