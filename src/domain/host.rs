//! The syntax of a host written in the inventory (a device's `host`, the
//! host part of a `dns.servers` entry): an IP address or a DNS name.

use std::net::{IpAddr, SocketAddr};

/// Why `host` is not an IP address or a DNS name, if it is not.
pub fn host_problem(host: &str) -> Option<String> {
    if host.trim().is_empty() {
        return Some("is empty: write the router's IP address or DNS name".into());
    }
    if host.parse::<IpAddr>().is_ok() {
        return None;
    }
    if host.parse::<SocketAddr>().is_ok()
        || host
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.contains(':') && p.parse::<u16>().is_ok())
    {
        return Some("includes a port: write the port under `port:`".into());
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Some(format!("contains {c:?}: write an IP address or a DNS name"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_and_dns_names_only() {
        assert_eq!(host_problem("192.0.2.1"), None);
        assert_eq!(host_problem("2001:db8::1"), None);
        assert_eq!(host_problem("rtr-1.example.net"), None);
        assert!(host_problem("192.0.2.1:22").unwrap().contains("port"));
        assert!(host_problem("").is_some());
        assert!(host_problem("rtr/1").is_some());
    }
}
