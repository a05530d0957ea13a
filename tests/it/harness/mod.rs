//! Test harness: real peers (NSD) on loopback ports, zone-file generation,
//! and running the real `tsfleet` binary.

pub mod fake_dns;
pub mod nsd;

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Command, Output};

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// A loopback port with nothing listening: connections to it are refused.
pub fn dead_port() -> u16 {
    free_port()
}

/// Run the real binary; returns its output (exit code, stdout, stderr).
pub fn tsfleet(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tsfleet"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .env_remove("TSFLEET_INVENTORY")
        .output()
        .expect("run tsfleet")
}

/// Zone-file text for `threatstop.local`, built record by record.
pub struct Zone {
    text: String,
}

/// NSD refuses APL records with too many items; DESIGN §3 found 60 works.
pub const APL_ITEMS_PER_RECORD: usize = 60;

impl Zone {
    pub const ORIGIN: &'static str = "threatstop.local";

    pub fn new() -> Zone {
        Zone {
            text: "$ORIGIN threatstop.local.\n$TTL 300\n\
                   @ IN SOA ns.threatstop.local. hostmaster.threatstop.local. 1 3600 600 86400 300\n\
                   @ IN NS ns.threatstop.local.\nns IN A 127.0.0.1\n"
                .to_string(),
        }
    }

    /// One line, relative names allowed.
    pub fn line(mut self, line: &str) -> Zone {
        self.text.push_str(line);
        self.text.push('\n');
        self
    }

    /// PTR records from `list` to each sub-list (relative names).
    pub fn ptrs(mut self, list: &str, sublists: &[String]) -> Zone {
        for s in sublists {
            self.text
                .push_str(&format!("{list} IN PTR {s}.{}.\n", Zone::ORIGIN));
        }
        self
    }

    /// APL records for `name`, items in zone syntax (`1:10.0.0.0/8`,
    /// `!1:…`, `2:…`), split into records of at most 60 items.
    pub fn apl(mut self, name: &str, items: &[String]) -> Zone {
        for chunk in items.chunks(APL_ITEMS_PER_RECORD) {
            self.text
                .push_str(&format!("{name} IN APL {}\n", chunk.join(" ")));
        }
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// `count` distinct IPv4 prefixes (lengths /16 to /32, host bits clear),
/// deterministic for a given seed.
pub fn prefixes(count: usize, seed: u64) -> Vec<ipnet::Ipv4Net> {
    let mut state = seed | 1;
    let mut next = || {
        // xorshift64: cheap, deterministic, good enough to spread prefixes.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut set = std::collections::BTreeSet::new();
    while set.len() < count {
        let r = next();
        let len = 16 + (r % 17) as u8;
        let addr = Ipv4Addr::from((r >> 20) as u32);
        let net = ipnet::Ipv4Net::new(addr, len).expect("len <= 32").trunc();
        set.insert(net);
    }
    set.into_iter().collect()
}

/// An inventory with a `dns:` section and one policy.
pub fn inventory(
    servers: &[String],
    port: u16,
    transport: &str,
    block: &[&str],
    allow: &[&str],
) -> String {
    let q = |v: &[&str]| {
        v.iter()
            .map(|s| format!("{s}.{}", Zone::ORIGIN))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "dns:\n  servers: [{}]\n  port: {port}\n  transport: {transport}\n  timeout_ms: 2000\n  attempts: 1\n\
         policies:\n  corp:\n    block: [{}]\n    allow: [{}]\n",
        servers.join(", "),
        q(block),
        q(allow)
    )
}
