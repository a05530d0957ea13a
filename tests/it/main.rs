//! All integration tests, in one binary. The harness starts the real peers
//! (the simulator over SSH, OpenSSH's sshd, netmiko, NSD) on loopback addresses.

mod bench_peers;
mod device;
mod device_ssh;
mod diff;
mod examples;
mod exit_codes;
mod fleet;
mod harness;
mod html;
mod import_inventory;
mod install;
mod inventory;
mod ipv6;
mod lab;
mod logs;
mod metrics;
mod modules;
mod protect;
mod report;
mod resolve;
mod saved_plan;
mod scripts;
mod shrink;
mod sim;
mod sim_sshd;
mod targeting;
