//! All integration tests, in one binary. The harness starts the real peers
//! (the simulator over SSH, OpenSSH's sshd, netmiko, NSD) on loopback addresses.

mod device_ssh;
mod harness;
mod resolve;
mod sim;
mod sim_sshd;
