//! Fetching lists over DNS: PTR expansion into sub-lists, APL with A then
//! TXT fallbacks, sub-lists fetched concurrently, failover across the
//! configured servers, and which server answered.
//!
//! This is the only module here that does I/O. Every failure names the list
//! or sub-list concerned; a truncated, malformed or missing answer is an
//! error, never a shorter or empty list.
//!
//! A list is fetched whole from one server (all its sub-lists), so its
//! content is consistent even while the servers are mid-update. Servers are
//! tried in the configured order; one that fails at the transport level
//! (refused, timeout, SERVFAIL/REFUSED) is marked down and tried last for the
//! rest of the run. An answer about the data itself (the name does not
//! exist, the answer does not fit, the RDATA is malformed) is final: another
//! server of the same zone would say the same.

use super::apl::{self, AplItem, AplPrefix};
use crate::domain::{DnsServer, ListName};
use crate::inventory::{DnsSettings, DnsTransport};
use futures::{StreamExt, TryStreamExt, stream};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError, NoRecords};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use ipnet::{Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

const APL: RecordType = RecordType::Unknown(apl::APL_TYPE);

/// Queries in flight at once per server, across all lists. hickory
/// multiplexes them over one connection and answers "busy" beyond 32 in
/// flight, which would look like a server fault and trigger a failover.
const QUERIES_PER_SERVER: usize = 16;

/// Where a sub-list's items came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Apl,
    A,
    Txt,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Apl => "APL",
            Source::A => "A",
            Source::Txt => "TXT",
        }
    }
}

/// One configured server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// As configured, with the port (`127.0.0.1:5353`): what reports show.
    pub label: String,
    pub addr: SocketAddr,
}

/// How to query, derived from the inventory's `dns:` section.
#[derive(Clone, Debug)]
pub struct ResolveConfig {
    pub servers: Vec<Server>,
    pub transport: DnsTransport,
    pub timeout: Duration,
    pub attempts: u32,
}

/// One sub-list as fetched.
#[derive(Clone, Debug, PartialEq)]
pub struct SubList {
    pub name: String,
    pub source: Source,
    pub items: Vec<AplItem>,
}

/// One list as fetched from one server.
#[derive(Debug)]
pub struct FetchedList {
    pub name: String,
    /// Whether the list name had PTR records (else it is its own sub-list).
    pub via_ptr: bool,
    pub sublists: Vec<SubList>,
    pub server: String,
    pub elapsed: Duration,
    /// Servers that failed before `server` answered, with their errors.
    pub failed_over: Vec<ServerFailure>,
}

/// Why one server could not provide one list.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{name}: {rtype} query failed: {source}")]
    Query {
        name: String,
        rtype: &'static str,
        #[source]
        source: NetError,
    },
    #[error(
        "{name}: the {rtype} answer does not fit in one DNS message (truncated even over TCP); \
         the publisher must spread it over more PTR sub-lists"
    )]
    Truncated { name: String, rtype: &'static str },
    #[error("{name}: no such list (NXDOMAIN)")]
    NoSuchList { name: String },
    #[error("{name}: sub-list named by a PTR record does not exist (NXDOMAIN)")]
    NoSuchSubList { name: String },
    #[error("{name}: no APL, A or TXT records")]
    NoData { name: String },
    #[error("{name}: malformed APL record: {source}")]
    MalformedApl {
        name: String,
        #[source]
        source: apl::AplError,
    },
    #[error("{name}: TXT token {token:?} is not an address or prefix (a.b.c.d[/len])")]
    MalformedTxt { name: String, token: String },
    #[error("{name}: PTR record points at an invalid name {target:?}")]
    BadPtr { name: String, target: String },
}

impl FetchError {
    /// A fault of the server or the path to it, worth trying the next server.
    fn is_server_fault(&self) -> bool {
        match self {
            FetchError::Query { source, .. } => match source {
                // NXDOMAIN/NODATA are handled before they get here; anything
                // else (refused, timeout, SERVFAIL, REFUSED, garbled message)
                // may be that server's alone.
                NetError::Dns(DnsError::NoRecordsFound(_)) => false,
                _ => true,
            },
            _ => false,
        }
    }
}

/// One server's failure for one list.
#[derive(Debug)]
pub struct ServerFailure {
    pub server: String,
    pub error: FetchError,
}

impl fmt::Display for ServerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.server, self.error)
    }
}

/// A list no server could provide.
#[derive(Debug)]
pub struct ListFailure {
    pub list: String,
    /// Every server tried, in order, with its error.
    pub tried: Vec<ServerFailure>,
}

impl fmt::Display for ListFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let servers: Vec<&str> = self.tried.iter().map(|t| t.server.as_str()).collect();
        write!(
            f,
            "cannot resolve list {} (servers tried: {})",
            self.list,
            servers.join(", ")
        )?;
        for t in &self.tried {
            write!(f, "\n  {t}")?;
        }
        Ok(())
    }
}

/// Parse one `servers:` entry ([`DnsServer`]); the port defaults to
/// `dns.port`. Host names are looked up with the system resolver.
pub async fn parse_server(entry: &str, default_port: u16) -> Result<Server, String> {
    let server: DnsServer = entry.parse()?;
    let port = server.port_or(default_port);
    let host = match server {
        DnsServer::Addr { ip, .. } => {
            let addr = SocketAddr::new(ip, port);
            return Ok(Server {
                label: addr.to_string(),
                addr,
            });
        }
        DnsServer::Host { host, .. } => host,
    };
    let addr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot look up {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))?;
    Ok(Server {
        label: format!("{host}:{port}"),
        addr,
    })
}

impl ResolveConfig {
    pub async fn from_settings(dns: &DnsSettings) -> Result<ResolveConfig, String> {
        if dns.servers.is_empty() {
            return Err("dns.servers is empty: name at least one DNS server".into());
        }
        let mut servers = Vec::new();
        for s in &dns.servers {
            servers.push(
                parse_server(s, dns.port)
                    .await
                    .map_err(|e| format!("dns.servers entry {s:?}: {e}"))?,
            );
        }
        if dns.timeout_ms == 0 {
            return Err("dns.timeout_ms must be above 0".into());
        }
        Ok(ResolveConfig {
            servers,
            transport: dns.transport,
            timeout: Duration::from_millis(dns.timeout_ms),
            attempts: dns.attempts.max(1),
        })
    }

    /// One resolver per server, so failover order and the answering server
    /// are ours to decide and report, not the pool's.
    fn upstream(&self, server: &Server) -> Result<Upstream, NetError> {
        let mut connections = Vec::new();
        if self.transport == DnsTransport::Udp {
            // hickory retries over the next connection (TCP) when UDP is truncated.
            let mut udp = ConnectionConfig::udp();
            udp.port = server.addr.port();
            connections.push(udp);
        }
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = server.addr.port();
        connections.push(tcp);
        let ns = NameServerConfig::new(server.addr.ip(), true, connections);
        let mut opts = ResolverOpts::default();
        opts.timeout = self.timeout;
        opts.attempts = self.attempts as usize;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.num_concurrent_reqs = 1;
        // Each list is fetched once per run; a cache only holds memory.
        opts.cache_size = 0;
        TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(vec![ns]),
            TokioRuntimeProvider::default(),
        )
        .with_options(opts)
        .build()
        .map(|resolver| Upstream {
            resolver,
            permits: Semaphore::new(QUERIES_PER_SERVER),
        })
    }
}

/// One server's resolver and its share of in-flight queries.
struct Upstream {
    resolver: TokioResolver,
    permits: Semaphore,
}

/// Parse and normalise a list name (lowercase, fully qualified): the
/// [`ListName`] rules, as the DNS name to query.
pub fn list_name(name: &str) -> Result<Name, String> {
    name.parse::<ListName>().map(ListName::into_name)
}

/// How lists and sub-lists are shown: lowercase, no trailing dot.
pub fn display_name(n: &Name) -> String {
    n.to_lowercase()
        .to_string()
        .trim_end_matches('.')
        .to_string()
}

/// Servers marked down by a transport failure are tried last.
struct ServerHealth {
    down: Mutex<Vec<bool>>,
}

impl ServerHealth {
    fn order(&self) -> Vec<usize> {
        let down = self.down.lock().map(|d| d.clone()).unwrap_or_default();
        let (mut up, mut later): (Vec<usize>, Vec<usize>) =
            (0..down.len()).partition(|i| !down[*i]);
        up.append(&mut later);
        up
    }
    fn mark(&self, i: usize, is_down: bool) {
        if let Ok(mut d) = self.down.lock()
            && let Some(slot) = d.get_mut(i)
        {
            *slot = is_down;
        }
    }
}

/// Fetch every list (concurrently); all or nothing. The result keeps the
/// order of `names`. Every list that failed is reported, not just the first.
pub async fn fetch_lists(
    config: &ResolveConfig,
    names: &[Name],
) -> Result<Vec<FetchedList>, Vec<ListFailure>> {
    let resolvers: Vec<Result<Upstream, String>> = config
        .servers
        .iter()
        .map(|s| config.upstream(s).map_err(|e| e.to_string()))
        .collect();
    let health = Arc::new(ServerHealth {
        down: Mutex::new(vec![false; config.servers.len()]),
    });
    let results = futures::future::join_all(
        names
            .iter()
            .map(|name| fetch_with_failover(config, &resolvers, &health, name)),
    )
    .await;
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for r in results {
        match r {
            Ok(l) => ok.push(l),
            Err(f) => failed.push(f),
        }
    }
    if failed.is_empty() {
        Ok(ok)
    } else {
        Err(failed)
    }
}

async fn fetch_with_failover(
    config: &ResolveConfig,
    resolvers: &[Result<Upstream, String>],
    health: &ServerHealth,
    name: &Name,
) -> Result<FetchedList, ListFailure> {
    let shown = display_name(name);
    let mut tried = Vec::new();
    for i in health.order() {
        let server = &config.servers[i];
        let started = Instant::now();
        let result = match &resolvers[i] {
            Ok(r) => fetch_list(r, name).await,
            Err(e) => Err(FetchError::Query {
                name: shown.clone(),
                rtype: "any",
                source: NetError::Msg(format!("cannot set up a resolver: {e}")),
            }),
        };
        match result {
            Ok((via_ptr, sublists)) => {
                health.mark(i, false);
                return Ok(FetchedList {
                    name: shown,
                    via_ptr,
                    sublists,
                    server: server.label.clone(),
                    elapsed: started.elapsed(),
                    failed_over: tried,
                });
            }
            Err(error) => {
                let error = explain_no_connection(error, server, config.timeout).await;
                let fault = error.is_server_fault();
                tracing::debug!("list {shown}: server {} failed: {error}", server.label);
                tried.push(ServerFailure {
                    server: server.label.clone(),
                    error,
                });
                if !fault {
                    break;
                }
                health.mark(i, true);
            }
        }
    }
    Err(ListFailure { list: shown, tried })
}

/// hickory reports a refused or unreachable server as "no connections
/// available", dropping the socket error; one connect attempt recovers it
/// so the user reads "connection refused" or "timed out".
async fn explain_no_connection(
    error: FetchError,
    server: &Server,
    timeout: Duration,
) -> FetchError {
    let FetchError::Query {
        name,
        rtype,
        source: NetError::NoConnections,
    } = error
    else {
        return error;
    };
    let why = match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(server.addr)).await
    {
        Ok(Ok(_)) => "no connection could be kept open".to_string(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("connect timed out after {} ms", timeout.as_millis()),
    };
    FetchError::Query {
        name,
        rtype,
        source: NetError::Msg(format!("cannot connect to the server: {why}")),
    }
}

/// What a lookup found: records, or a definite "nothing here".
enum Answer<T> {
    Records(Vec<T>),
    NxDomain,
    NoData,
}

async fn query(
    upstream: &Upstream,
    name: &Name,
    rtype: RecordType,
) -> Result<Answer<RData>, FetchError> {
    let label = || display_name(name);
    let rname = || match rtype {
        APL => "APL",
        RecordType::PTR => "PTR",
        RecordType::A => "A",
        RecordType::TXT => "TXT",
        _ => "other",
    };
    // The semaphore is never closed, so acquiring cannot fail.
    let _permit = upstream.permits.acquire().await.ok();
    match upstream.resolver.lookup(name.clone(), rtype).await {
        Ok(lookup) => Ok(Answer::Records(
            lookup
                .answers()
                .iter()
                .filter(|r| r.record_type() == rtype)
                .map(|r| r.data.clone())
                .collect(),
        )),
        Err(NetError::Dns(DnsError::NoRecordsFound(NoRecords {
            response_code: ResponseCode::NXDomain,
            ..
        }))) => Ok(Answer::NxDomain),
        Err(NetError::Dns(DnsError::NoRecordsFound(NoRecords {
            response_code: ResponseCode::NoError,
            ..
        }))) => Ok(Answer::NoData),
        Err(NetError::Truncated) => Err(FetchError::Truncated {
            name: label(),
            rtype: rname(),
        }),
        Err(source) => Err(FetchError::Query {
            name: label(),
            rtype: rname(),
            source,
        }),
    }
}

/// One list from one server: PTR expansion, then every sub-list.
async fn fetch_list(resolver: &Upstream, list: &Name) -> Result<(bool, Vec<SubList>), FetchError> {
    let (via_ptr, names) = match query(resolver, list, RecordType::PTR).await? {
        Answer::NxDomain => {
            return Err(FetchError::NoSuchList {
                name: display_name(list),
            });
        }
        Answer::NoData => (false, vec![list.clone()]),
        Answer::Records(rdata) => {
            let mut names: Vec<Name> = Vec::new();
            for rd in rdata {
                let RData::PTR(ptr) = rd else { continue };
                let mut target = ptr.0.to_lowercase();
                if target.is_root() {
                    return Err(FetchError::BadPtr {
                        name: display_name(list),
                        target: target.to_string(),
                    });
                }
                target.set_fqdn(true);
                if !names.contains(&target) {
                    names.push(target);
                }
            }
            // Answers come in server order; sort so reports are stable.
            names.sort();
            (true, names)
        }
    };
    let sublists = stream::iter(names)
        .map(|n| async move { fetch_sublist(resolver, &n).await })
        .buffered(QUERIES_PER_SERVER)
        .try_collect()
        .await?;
    Ok((via_ptr, sublists))
}

/// One sub-list: APL, else A, else TXT.
async fn fetch_sublist(resolver: &Upstream, name: &Name) -> Result<SubList, FetchError> {
    let label = display_name(name);
    let apl = match query(resolver, name, APL).await? {
        Answer::NxDomain => return Err(FetchError::NoSuchSubList { name: label }),
        Answer::NoData => None,
        Answer::Records(r) => Some(r),
    };
    if let Some(rdata) = apl {
        let mut items = Vec::new();
        for rd in rdata {
            let bytes: &[u8] = match &rd {
                RData::Unknown { rdata, .. } => &rdata.anything,
                // hickory turns an empty RDATA into Update0: an APL with no items.
                _ => &[],
            };
            items.extend(
                apl::decode(bytes).map_err(|source| FetchError::MalformedApl {
                    name: label.clone(),
                    source,
                })?,
            );
        }
        return Ok(SubList {
            name: label,
            source: Source::Apl,
            items,
        });
    }
    if let Answer::Records(rdata) = query(resolver, name, RecordType::A).await? {
        let items = rdata
            .into_iter()
            .filter_map(|rd| match rd {
                RData::A(a) => Some(AplItem {
                    negated: false,
                    prefix: AplPrefix::V4(Ipv4Net::from(a.0)),
                }),
                _ => None,
            })
            .collect();
        return Ok(SubList {
            name: label,
            source: Source::A,
            items,
        });
    }
    if let Answer::Records(rdata) = query(resolver, name, RecordType::TXT).await? {
        let mut items = Vec::new();
        for rd in rdata {
            let RData::TXT(txt) = rd else { continue };
            for chunk in txt.txt_data.iter() {
                let text = String::from_utf8_lossy(chunk);
                for token in text.split_whitespace() {
                    items.push(
                        parse_txt_token(token).ok_or_else(|| FetchError::MalformedTxt {
                            name: label.clone(),
                            token: token.to_string(),
                        })?,
                    );
                }
            }
        }
        return Ok(SubList {
            name: label,
            source: Source::Txt,
            items,
        });
    }
    Err(FetchError::NoData { name: label })
}

/// A TXT token: `a.b.c.d` or `a.b.c.d/len` (IPv6 accepted, to be reported
/// and skipped like APL IPv6 items).
pub fn parse_txt_token(token: &str) -> Option<AplItem> {
    let prefix = if let Ok(n) = token.parse::<Ipv4Net>() {
        AplPrefix::V4(n)
    } else if let Ok(a) = token.parse::<std::net::Ipv4Addr>() {
        AplPrefix::V4(Ipv4Net::from(a))
    } else if let Ok(n) = token.parse::<Ipv6Net>() {
        AplPrefix::V6(n)
    } else if let Ok(a) = token.parse::<std::net::Ipv6Addr>() {
        AplPrefix::V6(Ipv6Net::from(a))
    } else {
        return None;
    };
    Some(AplItem {
        negated: false,
        prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn server_entries_parse_with_and_without_port() {
        let s = parse_server("127.0.0.1", 5353).await.unwrap();
        assert_eq!(s.label, "127.0.0.1:5353");
        let s = parse_server("127.0.0.2:53", 5353).await.unwrap();
        assert_eq!(s.addr, "127.0.0.2:53".parse().unwrap());
        let s = parse_server("[::1]:53", 5353).await.unwrap();
        assert_eq!(s.addr, "[::1]:53".parse().unwrap());
        assert!(parse_server("127.0.0.1:http", 53).await.is_err());
        assert!(parse_server("", 53).await.is_err());
    }

    #[test]
    fn txt_tokens() {
        assert_eq!(
            parse_txt_token("192.0.2.1").unwrap().prefix,
            AplPrefix::V4("192.0.2.1/32".parse().unwrap())
        );
        assert_eq!(
            parse_txt_token("10.0.0.0/8").unwrap().prefix,
            AplPrefix::V4("10.0.0.0/8".parse().unwrap())
        );
        assert!(matches!(
            parse_txt_token("2001:db8::/32").unwrap().prefix,
            AplPrefix::V6(_)
        ));
        assert!(parse_txt_token("v=spf1").is_none());
        assert!(parse_txt_token("10.0.0.0/33").is_none());
    }

    #[test]
    fn list_names_are_normalised() {
        let n = list_name("Corp-Block.Acme.ThreatSTOP.local").unwrap();
        assert_eq!(display_name(&n), "corp-block.acme.threatstop.local");
        assert!(n.is_fqdn());
        assert!(list_name(".").is_err());
        assert!(list_name("a..b").is_err());
    }

    #[test]
    fn down_servers_go_last() {
        let h = ServerHealth {
            down: Mutex::new(vec![false; 3]),
        };
        assert_eq!(h.order(), vec![0, 1, 2]);
        h.mark(0, true);
        assert_eq!(h.order(), vec![1, 2, 0]);
        h.mark(0, false);
        assert_eq!(h.order(), vec![0, 1, 2]);
    }
}
