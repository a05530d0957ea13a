//! One `dns.servers` entry of the inventory: `IP`, `IP:PORT`, `[IPv6]:PORT`,
//! `HOST` or `HOST:PORT`. Syntax only: host names are looked up when lists
//! are resolved (`lists::dns`).

use super::host::host_problem;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// A checked `dns.servers` entry; a missing port means `dns.port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsServer {
    /// An address, with its own port or none.
    Addr { ip: IpAddr, port: Option<u16> },
    /// A DNS name, looked up with the system resolver.
    Host { host: String, port: Option<u16> },
}

impl DnsServer {
    /// The port to query, `default` (`dns.port`) when the entry names none.
    pub fn port_or(&self, default: u16) -> u16 {
        match self {
            DnsServer::Addr { port, .. } | DnsServer::Host { port, .. } => port.unwrap_or(default),
        }
    }
}

impl FromStr for DnsServer {
    type Err = String;

    fn from_str(entry: &str) -> Result<Self, String> {
        let entry = entry.trim();
        if let Ok(ip) = entry.parse::<IpAddr>() {
            return Ok(DnsServer::Addr { ip, port: None });
        }
        if let Ok(addr) = entry.parse::<SocketAddr>() {
            return Ok(DnsServer::Addr {
                ip: addr.ip(),
                port: Some(addr.port()),
            });
        }
        let (host, port) = match entry.rsplit_once(':') {
            Some((h, p)) => (
                h,
                Some(
                    p.parse::<u16>()
                        .map_err(|_| format!("{p:?} is not a port number"))?,
                ),
            ),
            None => (entry, None),
        };
        if host.is_empty() || host.contains(':') {
            return Err("expected IP, IP:PORT, [IPv6]:PORT, HOST or HOST:PORT".into());
        }
        if let Some(problem) = host_problem(host) {
            return Err(problem);
        }
        Ok(DnsServer::Host {
            host: host.to_string(),
            port,
        })
    }
}

/// As written, normalised: `192.0.2.53`, `192.0.2.53:5353`, `[::1]:53`, `ns1:53`.
impl fmt::Display for DnsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsServer::Addr { ip, port: None } => write!(f, "{ip}"),
            DnsServer::Addr { ip, port: Some(p) } => write!(f, "{}", SocketAddr::new(*ip, *p)),
            DnsServer::Host { host, port: None } => f.write_str(host),
            DnsServer::Host {
                host,
                port: Some(p),
            } => write!(f, "{host}:{p}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_keeps_the_port() {
        for (text, port) in [
            ("192.0.2.53", 53),
            ("192.0.2.53:5353", 5353),
            ("[::1]:5300", 5300),
            ("2001:db8::1", 53),
            ("ns1.example.net", 53),
            ("ns1.example.net:5353", 5353),
        ] {
            let s: DnsServer = text.parse().unwrap();
            assert_eq!(s.port_or(53), port, "{text}");
            assert_eq!(s.to_string(), text);
        }
    }

    #[test]
    fn refuses_what_cannot_work() {
        assert!("ns1:x".parse::<DnsServer>().unwrap_err().contains("port"));
        for bad in ["", ":53", "ns 1", "a:b:c:53x"] {
            assert!(bad.parse::<DnsServer>().is_err(), "{bad}");
        }
    }
}
