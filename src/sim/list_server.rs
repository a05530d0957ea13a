//! The list server of the test bed: an in-process authoritative DNS server
//! that publishes lists in the ThreatSTOP layout, paired with the simulated
//! routers for `tsfleet demo`, the fleet benchmark and the tests (see
//! [`super::testbed`]).
//!
//! This module owns the layout of published lists (which names carry which
//! PTR and APL records) and the server answering for them on a loopback
//! address, over UDP and TCP on the same port. It is the mirror image of
//! [`crate::lists::dns`]: whatever it publishes, that module must read back
//! exactly.
//!
//! Layout of one list `L`:
//! - IPv4 items are APL address family 1, IPv6 ones family 2, in the same
//!   records and sub-lists, in the order given (the layout does not depend
//!   on the family);
//! - up to [`SUBLIST_ITEMS`] items: `L` holds the APL records itself (no PTR),
//!   so it is its own only sub-list;
//! - more: `L` holds PTR records naming `s000.L`, `s001.L`, …, each holding
//!   at most [`SUBLIST_ITEMS`] items, so every answer stays below the
//!   65,535-byte limit of a DNS message (even of /128s, 20 bytes an item);
//! - items are spread over APL records of at most [`RECORD_ITEMS`] items
//!   (NSD refuses about 60 and more; we stay as strict as a real server);
//! - positive prefixes come first, then the excluded (negated) ones;
//! - an empty list is one empty TXT record (hickory-proto 0.26 refuses to
//!   decode the RFC 3123 way, an APL record with empty RDATA).
//!
//! The server is authoritative for one zone: the closest common ancestor of
//! the lists' parent names (e.g. `threatstop.local` for lists under it). It
//! answers with AA set; NXDOMAIN for names in the zone that do not exist,
//! NODATA for a name without the asked type, both with the zone's SOA in the
//! authority section (RFC 2308) so negative answers are well-formed and
//! cacheable; REFUSED for names outside the zone. Over UDP an answer that
//! does not fit the client's buffer is truncated (TC set) so the client
//! retries over TCP; over TCP anything up to 65,535 bytes is answered whole.

use crate::lists::apl::{self, AplItem, AplPrefix};
use crate::lists::dns::{display_name, list_name};
use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{Edns, Header, HeaderCounts, Metadata, OpCode, ResponseCode};
use hickory_server::proto::rr::rdata::{NULL, PTR, SOA, TXT};
use hickory_server::proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use ipnet::IpNet;
use std::collections::{HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};

/// Most items one sub-list holds: about 25 KB of answer for IPv4 /32s,
/// about 61 KB for IPv6 /128s (20 bytes an item, plus 12 per record), below
/// the 65,535-byte limit of a DNS message whatever the names (the owner is
/// a compression pointer); `layout_keeps_records_and_sub_lists_small`
/// checks the worst case.
pub const SUBLIST_ITEMS: usize = 3_000;

/// Most items in one APL record (NSD refuses about 60 and more per record).
pub const RECORD_ITEMS: usize = 50;

/// TTL of every record, and the negative TTL in the SOA: 0, so a caching
/// resolver never serves a list that [`ListServer::replace`] has changed.
const TTL: u32 = 0;

/// The SOA serial of the lists given to [`ListServer::start`]; each
/// [`ListServer::replace`] adds one.
const FIRST_SERIAL: u32 = 1;

/// A TCP connection idle this long is closed (hickory-server requires a limit).
const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Responses queued per TCP connection before the handler waits.
const TCP_RESPONSE_BUFFER: usize = 32;

/// How often a free port is sought when port 0 is asked for and the port
/// the UDP socket got is taken for TCP.
const BIND_ATTEMPTS: usize = 16;

/// One list to publish: its name and its prefixes (and negated items).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublishedList {
    /// The list name as an inventory names it, e.g.
    /// `corp-block.acme.threatstop.local` (case and trailing dot ignored).
    pub name: String,
    /// Published as positive APL items, in this order: IPv4 (address
    /// family 1) and IPv6 (family 2) alike.
    pub prefixes: Vec<IpNet>,
    /// Published as negated APL items (the N bit): carved out of the list's
    /// prefixes of the same family.
    pub excluded: Vec<IpNet>,
}

/// Why lists could not be published or the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the list server listens on loopback addresses only, not {0}")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("list {name:?}: invalid DNS name: {reason}")]
    BadName { name: String, reason: String },
    #[error("list {name} is published twice")]
    Duplicate { name: String },
    #[error("{name} would hold records of both list {first} and list {second}")]
    Collision {
        name: String,
        first: String,
        second: String,
    },
}

/// A DNS server on a loopback address answering for the lists, over UDP and TCP.
///
/// Dropping it stops the server too (hickory-server aborts its tasks);
/// [`ListServer::shutdown`] also waits until they have stopped.
pub struct ListServer {
    addr: SocketAddr,
    zone: Arc<RwLock<Arc<Zone>>>,
    /// Held across a whole [`ListServer::replace`], so concurrent calls
    /// publish in turn (the last call wins) while queries go on being
    /// answered from the current zone; holds the SOA serial last published.
    replacing: tokio::sync::Mutex<u32>,
    server: Server<Handler>,
}

impl std::fmt::Debug for ListServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ListServer {
    /// Start on `addr` (port 0 picks a free port; loopback only — anything
    /// else is refused, as is a list that cannot be published).
    pub async fn start(
        addr: SocketAddr,
        lists: &[PublishedList],
    ) -> Result<ListServer, PublishError> {
        if !addr.ip().is_loopback() {
            return Err(PublishError::NotLoopback(addr));
        }
        let zone = Arc::new(RwLock::new(Arc::new(Zone::build(lists, FIRST_SERIAL)?)));
        let (udp, tcp) = bind_pair(addr)
            .await
            .map_err(|source| PublishError::Bind { addr, source })?;
        let bound = udp
            .local_addr()
            .map_err(|source| PublishError::Bind { addr, source })?;
        let mut server = Server::new(Handler { zone: zone.clone() });
        server.register_socket(udp);
        server.register_listener(tcp, TCP_IDLE_TIMEOUT, TCP_RESPONSE_BUFFER);
        tracing::debug!("list server on {bound} (UDP and TCP)");
        Ok(ListServer {
            addr: bound,
            zone,
            replacing: tokio::sync::Mutex::new(FIRST_SERIAL),
            server,
        })
    }

    /// The bound address: the same port answers over UDP and TCP.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replace the published lists. Queries answered after this returns see
    /// only the new lists; each query is answered wholly from the old or the
    /// new ones (a resolution straddling the call may see both, as with any
    /// DNS server mid-update). On error the previous lists stay published.
    pub async fn replace(&self, lists: &[PublishedList]) -> Result<(), PublishError> {
        let mut serial = self.replacing.lock().await;
        // A new serial, as a real primary would, so the change shows in the SOA.
        let next = serial.wrapping_add(1);
        // Built before taking the write lock: queries are not held up by it.
        let zone = Arc::new(Zone::build(lists, next)?);
        *self.zone.write().unwrap_or_else(PoisonError::into_inner) = zone;
        *serial = next;
        Ok(())
    }

    /// Stop answering and wait until the server's tasks have ended.
    pub async fn shutdown(mut self) {
        if let Err(e) = self.server.shutdown_gracefully().await {
            tracing::debug!("list server on {}: shutdown: {e}", self.addr);
        }
    }
}

/// Bind UDP and TCP on the same port. With port 0 the UDP socket picks one;
/// if that port is taken for TCP, another is tried.
async fn bind_pair(addr: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    if addr.port() != 0 {
        let udp = UdpSocket::bind(addr).await?;
        let tcp = TcpListener::bind(addr).await?;
        return Ok((udp, tcp));
    }
    let mut last = None;
    for _ in 0..BIND_ATTEMPTS {
        let udp = UdpSocket::bind(addr).await?;
        let port = udp.local_addr()?.port();
        match TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free port")))
}

/// Everything served, built once per [`ListServer::start`]/[`ListServer::replace`]
/// and never changed: queries read it without locking for long.
#[derive(Debug)]
struct Zone {
    apex: LowerName,
    soa: Record,
    /// Every record, by owner name.
    records: HashMap<LowerName, Vec<Record>>,
    /// Every name that exists: owners and the names between them and the
    /// apex (empty non-terminals answer NODATA, not NXDOMAIN: RFC 8020).
    names: HashSet<LowerName>,
}

/// What one query gets.
struct Reply<'z> {
    code: ResponseCode,
    authoritative: bool,
    answers: Vec<&'z Record>,
    soa: Option<&'z Record>,
}

impl Zone {
    fn build(lists: &[PublishedList], serial: u32) -> Result<Zone, PublishError> {
        let mut parsed: Vec<(Name, &PublishedList)> = Vec::with_capacity(lists.len());
        for list in lists {
            let name = list_name(&list.name).map_err(|reason| PublishError::BadName {
                name: list.name.clone(),
                reason,
            })?;
            if parsed.iter().any(|(n, _)| *n == name) {
                return Err(PublishError::Duplicate { name: shown(&name) });
            }
            parsed.push((name, list));
        }
        let apex = common_parent(parsed.iter().map(|(n, _)| n));

        let mut records: HashMap<LowerName, Vec<Record>> = HashMap::new();
        // Which list put records at each name, to report collisions.
        let mut owners: HashMap<LowerName, Name> = HashMap::new();
        let mut add = |owner: &Name, list: &Name, rdata: Vec<RData>| {
            let key = LowerName::new(owner);
            if let Some(first) = owners.get(&key)
                && first != list
            {
                return Err(PublishError::Collision {
                    name: shown(owner),
                    first: shown(first),
                    second: shown(list),
                });
            }
            owners.insert(key.clone(), list.clone());
            records.entry(key).or_default().extend(
                rdata
                    .into_iter()
                    .map(|rd| Record::from_rdata(owner.clone(), TTL, rd)),
            );
            Ok(())
        };
        for (name, list) in &parsed {
            let items: Vec<AplItem> = list
                .prefixes
                .iter()
                .map(|p| (p, false))
                .chain(list.excluded.iter().map(|p| (p, true)))
                .map(|(p, negated)| AplItem {
                    negated,
                    prefix: match *p {
                        IpNet::V4(n) => AplPrefix::V4(n),
                        IpNet::V6(n) => AplPrefix::V6(n),
                    },
                })
                .collect();
            if items.len() <= SUBLIST_ITEMS {
                add(name, name, list_records(&items))?;
                continue;
            }
            let mut ptrs = Vec::new();
            for (i, chunk) in items.chunks(SUBLIST_ITEMS).enumerate() {
                let sub = Name::from_ascii(format!("s{i:03}"))
                    .and_then(|label| label.append_domain(name))
                    .map_err(|e| PublishError::BadName {
                        name: list.name.clone(),
                        reason: format!("sub-list name under it: {e}"),
                    })?;
                add(&sub, name, list_records(chunk))?;
                ptrs.push(RData::PTR(PTR(sub)));
            }
            add(name, name, ptrs)?;
        }

        let apex_name = Name::from(&apex);
        let soa = Record::from_rdata(
            apex_name.clone(),
            TTL,
            RData::SOA(soa_rdata(&apex_name, serial)),
        );
        records.entry(apex.clone()).or_default().push(soa.clone());
        let mut names = HashSet::new();
        for owner in records.keys() {
            let mut n = owner.clone();
            // Every owner is at or below the apex, so this walk ends there.
            while n.num_labels() > apex.num_labels() && names.insert(n.clone()) {
                n = n.base_name();
            }
        }
        names.insert(apex.clone());
        Ok(Zone {
            apex,
            soa,
            records,
            names,
        })
    }

    /// The answer to one question (the header and EDNS are the caller's).
    fn answer(&self, qname: &LowerName, qtype: RecordType, qclass: DNSClass) -> Reply<'_> {
        let refused = Reply {
            code: ResponseCode::Refused,
            authoritative: false,
            answers: Vec::new(),
            soa: None,
        };
        if !matches!(qclass, DNSClass::IN | DNSClass::ANY) || !self.apex.zone_of(qname) {
            return refused;
        }
        // Zone transfers are not offered: the lists are read record by record.
        if matches!(qtype, RecordType::AXFR | RecordType::IXFR) {
            return refused;
        }
        if !self.names.contains(qname) {
            return Reply {
                code: ResponseCode::NXDomain,
                authoritative: true,
                answers: Vec::new(),
                soa: Some(&self.soa),
            };
        }
        let answers: Vec<&Record> = self
            .records
            .get(qname)
            .into_iter()
            .flatten()
            .filter(|r| qtype == RecordType::ANY || r.record_type() == qtype)
            .collect();
        let soa = answers.is_empty().then_some(&self.soa);
        Reply {
            code: ResponseCode::NoError,
            authoritative: true,
            answers,
            soa,
        }
    }
}

/// APL records of at most [`RECORD_ITEMS`] items each.
///
/// An empty list gets one TXT record holding an empty string instead, which
/// the resolver reads as a list without items rather than a missing one. An
/// APL record with empty RDATA would be the RFC 3123 way, but hickory-proto
/// 0.26 refuses to decode any message holding a zero-length RDATA outside an
/// UPDATE (`InvalidEmptyRecord`), so the resolver would only time out.
fn list_records(items: &[AplItem]) -> Vec<RData> {
    if items.is_empty() {
        return vec![RData::TXT(TXT::new(vec![String::new()]))];
    }
    items
        .chunks(RECORD_ITEMS)
        .map(|chunk| {
            // Not `NULL::with`: it debug-asserts on empty data; this is
            // never empty, but the field is what we mean anyway.
            let mut rdata = NULL::new();
            rdata.anything = apl::encode(chunk);
            RData::Unknown {
                code: RecordType::Unknown(apl::APL_TYPE),
                rdata,
            }
        })
        .collect()
}

fn soa_rdata(apex: &Name, serial: u32) -> SOA {
    let under_apex = |label: &str| Name::parse(label, Some(apex)).unwrap_or_else(|_| apex.clone());
    SOA::new(
        under_apex("ns"),
        under_apex("hostmaster"),
        serial,
        3600,
        600,
        86400,
        TTL,
    )
}

/// The closest common ancestor of the names' parents: the zone apex. With
/// no names, the root (every query is then NXDOMAIN).
fn common_parent<'a>(names: impl Iterator<Item = &'a Name>) -> LowerName {
    let mut apex: Option<Name> = None;
    for name in names {
        let parent = name.base_name();
        apex = Some(match apex {
            None => parent,
            Some(mut a) => {
                while !a.zone_of(&parent) {
                    a = a.base_name();
                }
                a
            }
        });
    }
    LowerName::new(&apex.unwrap_or_else(Name::root))
}

/// A name as reports show it: lowercase, no trailing dot.
fn shown(name: &Name) -> String {
    display_name(name)
}

/// Answers queries from the current [`Zone`].
struct Handler {
    zone: Arc<RwLock<Arc<Zone>>>,
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        // Take the current zone and let go of the lock at once: `replace`
        // never waits for a slow client.
        let zone = self
            .zone
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut metadata = Metadata::response_from_request(&request.metadata);

        // RFC 6891: a request with OPT gets an OPT back; its buffer size is
        // what bounds a UDP answer (hickory truncates to 512 without one).
        let mut edns = None;
        if let Some(req) = &request.edns {
            let mut e = Edns::new();
            e.set_max_payload(req.max_payload().max(512));
            e.set_version(0);
            edns = Some(e);
        }
        let builder = MessageResponseBuilder::new(&request.queries, edns.as_ref());

        let queries = request.queries.queries();
        let code = if request.metadata.op_code != OpCode::Query {
            Some(ResponseCode::NotImp)
        } else if request.edns.as_ref().is_some_and(|e| e.version() > 0) {
            Some(ResponseCode::BADVERS)
        } else if queries.len() != 1 {
            Some(ResponseCode::FormErr)
        } else {
            None
        };
        let result = match (code, queries) {
            (None, [q]) => {
                let reply = zone.answer(q.name(), q.query_type(), q.query_class());
                metadata.response_code = reply.code;
                metadata.authoritative = reply.authoritative;
                let response = builder.build(metadata, reply.answers, [], reply.soa, []);
                response_handle.send_response(response).await
            }
            (code, _) => {
                metadata.response_code = code.unwrap_or(ResponseCode::FormErr);
                response_handle
                    .send_response(builder.build_no_records(metadata))
                    .await
            }
        };
        result.unwrap_or_else(|e| {
            tracing::debug!("list server: cannot send a response: {e}");
            metadata.response_code = ResponseCode::ServFail;
            ResponseInfo::from(Header {
                metadata,
                counts: HeaderCounts::default(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{DnsSettings, DnsTransport, Inventory, Policy};
    use crate::lists::{self, ListsError, Snapshot};
    use hickory_server::proto::op::{Message, MessageType, Query};
    use ipnet::{Ipv4Net, Ipv6Net};
    use std::collections::BTreeSet;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const BLOCK: &str = "corp-block.acme.threatstop.local";
    const ALLOW: &str = "corp-allow.acme.threatstop.local";
    const PARTNER: &str = "partner.acme.threatstop.local";

    fn loopback() -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
    }

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    /// `n` distinct prefixes: /32s spread over 10/8 (a bijection, as 7919 is
    /// odd) and every fifth a /24 in 192/8, so AFD trimming is exercised.
    fn prefixes(n: u32) -> Vec<Ipv4Net> {
        (0..n)
            .map(|i| {
                if i % 5 == 0 {
                    Ipv4Net::new(Ipv4Addr::from(0xc000_0000 | (i << 8)), 24).unwrap()
                } else {
                    let host = i.wrapping_mul(7919) & 0x00ff_ffff;
                    Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 | host), 32).unwrap()
                }
            })
            .collect()
    }

    /// `n` distinct IPv6 prefixes in 2001:db8::/32: /128s whose last byte
    /// is never zero (so every item is the longest APL encodes, 20 bytes),
    /// every fifth a /48.
    fn prefixes_v6(n: u32) -> Vec<Ipv6Net> {
        (0..n)
            .map(|i| {
                let base = 0x2001_0db8_u128 << 96;
                if i % 5 == 0 {
                    Ipv6Net::new(Ipv6Addr::from(base | u128::from(i) << 80), 48).unwrap()
                } else {
                    let host = base | 0xffff_u128 << 80 | u128::from(i) << 8 | 0x01;
                    Ipv6Net::new(Ipv6Addr::from(host), 128).unwrap()
                }
            })
            .collect()
    }

    fn list(name: &str, prefixes: Vec<Ipv4Net>, excluded: Vec<Ipv4Net>) -> PublishedList {
        PublishedList {
            name: name.into(),
            prefixes: prefixes.into_iter().map(IpNet::from).collect(),
            excluded: excluded.into_iter().map(IpNet::from).collect(),
        }
    }

    /// An inventory whose one policy names the lists, resolved from `server`.
    fn inventory(server: SocketAddr, transport: DnsTransport, lists: &[&str]) -> Inventory {
        let policy = Policy {
            block: lists.iter().map(|l| l.to_string()).collect(),
            ..Policy::default()
        };
        Inventory {
            dns: Some(DnsSettings {
                servers: vec![server.to_string()],
                port: server.port(),
                transport,
                timeout_ms: 5_000,
                attempts: 1,
            }),
            policies: [("p".to_string(), policy)].into_iter().collect(),
            ..Inventory::default()
        }
    }

    async fn resolve(
        server: &ListServer,
        transport: DnsTransport,
        lists: &[&str],
    ) -> Result<Snapshot, ListsError> {
        let inventory = inventory(server.addr(), transport, lists);
        lists::resolve(&inventory).await.map(|r| r.snapshot)
    }

    fn prefix_set(snapshot: &Snapshot, list: &str) -> BTreeSet<Ipv4Net> {
        v4_set(&snapshot.list(list).expect("list in snapshot").prefixes)
    }

    fn excluded_set(snapshot: &Snapshot, list: &str) -> BTreeSet<Ipv4Net> {
        v4_set(&snapshot.list(list).expect("list in snapshot").excluded)
    }

    /// The IPv4 prefixes of snapshot entries.
    fn v4_set(entries: &[crate::lists::snapshot::Entry]) -> BTreeSet<Ipv4Net> {
        (entries.iter())
            .filter_map(|e| match e.prefix {
                ipnet::IpNet::V4(n) => Some(n),
                ipnet::IpNet::V6(_) => None,
            })
            .collect()
    }

    fn set(prefixes: &[Ipv4Net]) -> BTreeSet<Ipv4Net> {
        prefixes.iter().copied().collect()
    }

    /// One hand-made query, so the tests see the header and sections the
    /// resolver hides.
    async fn raw_query(server: SocketAddr, name: &str, rtype: RecordType, tcp: bool) -> Message {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut q = Message::new(0x4242, MessageType::Query, OpCode::Query);
        q.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
        let bytes = q.to_vec().unwrap();
        let reply = if tcp {
            let mut s = tokio::net::TcpStream::connect(server).await.unwrap();
            let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&bytes);
            s.write_all(&framed).await.unwrap();
            let len = s.read_u16().await.unwrap();
            let mut buf = vec![0; usize::from(len)];
            s.read_exact(&mut buf).await.unwrap();
            buf
        } else {
            let s = UdpSocket::bind(loopback()).await.unwrap();
            s.send_to(&bytes, server).await.unwrap();
            let mut buf = vec![0; 65_535];
            let n = s.recv(&mut buf).await.unwrap();
            buf.truncate(n);
            buf
        };
        Message::from_vec(&reply).unwrap()
    }

    #[tokio::test]
    async fn resolver_reads_back_exactly_what_is_published() {
        let big = prefixes(10_000);
        let big_excluded = vec![net("10.0.0.0/32"), net("192.0.5.0/24")];
        let small = vec![net("198.51.100.0/24"), net("203.0.113.7/32")];
        let partner = vec![net("10.0.0.0/8"), net("172.16.0.0/12")];
        let partner_excluded = vec![net("10.1.0.0/16"), net("10.2.3.4/32")];
        let server = ListServer::start(
            loopback(),
            &[
                list(BLOCK, big.clone(), big_excluded.clone()),
                list(ALLOW, small.clone(), vec![]),
                // Case and a trailing dot do not matter, as for the resolver.
                list(
                    "Partner.ACME.threatstop.local.",
                    partner.clone(),
                    partner_excluded.clone(),
                ),
                list("empty.acme.threatstop.local", vec![], vec![]),
            ],
        )
        .await
        .unwrap();
        assert!(server.addr().ip().is_loopback() && server.addr().port() != 0);

        let snap = resolve(
            &server,
            DnsTransport::Tcp,
            &[BLOCK, ALLOW, PARTNER, "empty.acme.threatstop.local"],
        )
        .await
        .expect("resolves");

        // The big list: PTR to four sub-lists of at most 3,000 items.
        let block = snap.list(BLOCK).unwrap();
        assert_eq!(block.record_types, ["PTR", "APL"]);
        assert_eq!(block.prefixes.len(), 10_000);
        assert_eq!(prefix_set(&snap, BLOCK), set(&big));
        assert_eq!(excluded_set(&snap, BLOCK), set(&big_excluded));
        let subs: Vec<(&str, usize, usize)> = block
            .sublists
            .iter()
            .map(|s| (s.name.as_str(), s.prefixes, s.excluded))
            .collect();
        assert_eq!(
            subs,
            [
                ("s000.corp-block.acme.threatstop.local", 3_000, 0),
                ("s001.corp-block.acme.threatstop.local", 3_000, 0),
                ("s002.corp-block.acme.threatstop.local", 3_000, 0),
                ("s003.corp-block.acme.threatstop.local", 1_000, 2),
            ]
        );
        assert_eq!(block.server, server.addr().to_string());

        // Small lists are their own only sub-list: no PTR.
        let allow = snap.list(ALLOW).unwrap();
        assert_eq!(allow.record_types, ["APL"]);
        assert_eq!(allow.sublists.len(), 1);
        assert_eq!(allow.sublists[0].name, ALLOW);
        assert_eq!(prefix_set(&snap, ALLOW), set(&small));
        assert!(allow.excluded.is_empty());

        assert_eq!(snap.list(PARTNER).unwrap().record_types, ["APL"]);
        assert_eq!(prefix_set(&snap, PARTNER), set(&partner));
        assert_eq!(excluded_set(&snap, PARTNER), set(&partner_excluded));

        // An empty list is an empty list, not a missing one (see `list_records`).
        let empty = snap.list("empty.acme.threatstop.local").unwrap();
        assert!(empty.prefixes.is_empty() && empty.excluded.is_empty());
        assert_eq!(empty.record_types, ["TXT"]);

        server.shutdown().await;
    }

    #[tokio::test]
    async fn replace_changes_what_is_served() {
        let server = ListServer::start(loopback(), &[list(BLOCK, vec![net("10.0.0.0/8")], vec![])])
            .await
            .unwrap();
        let snap = resolve(&server, DnsTransport::Tcp, &[BLOCK]).await.unwrap();
        assert_eq!(prefix_set(&snap, BLOCK), set(&[net("10.0.0.0/8")]));
        let serial = |m: &Message| match m.authorities.first().map(|r| &r.data) {
            Some(RData::SOA(soa)) => soa.serial,
            other => panic!("expected an SOA, got {other:?}"),
        };
        let before = raw_query(
            server.addr(),
            "nowhere.acme.threatstop.local.",
            RecordType::A,
            true,
        )
        .await;

        // The block list changes (and moves to PTR sub-lists); a list appears.
        let big = prefixes(4_000);
        server
            .replace(&[
                list(BLOCK, big.clone(), vec![]),
                list(ALLOW, vec![net("192.0.2.0/24")], vec![]),
            ])
            .await
            .unwrap();
        let snap = resolve(&server, DnsTransport::Tcp, &[BLOCK, ALLOW])
            .await
            .unwrap();
        assert_eq!(prefix_set(&snap, BLOCK), set(&big));
        assert_eq!(snap.list(BLOCK).unwrap().record_types, ["PTR", "APL"]);
        assert_eq!(prefix_set(&snap, ALLOW), set(&[net("192.0.2.0/24")]));
        let after = raw_query(
            server.addr(),
            "nowhere.acme.threatstop.local.",
            RecordType::A,
            true,
        )
        .await;
        assert!(serial(&after) > serial(&before), "the SOA serial moves on");

        // A refused replacement leaves the lists as they were.
        let err = server
            .replace(&[
                list(ALLOW, vec![], vec![]),
                list("CORP-allow.acme.threatstop.local", vec![], vec![]),
            ])
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::Duplicate { .. }), "{err}");
        let snap = resolve(&server, DnsTransport::Tcp, &[ALLOW]).await.unwrap();
        assert_eq!(prefix_set(&snap, ALLOW), set(&[net("192.0.2.0/24")]));

        // A list no longer published is gone (NXDOMAIN), not empty.
        server
            .replace(&[list(ALLOW, vec![], vec![])])
            .await
            .unwrap();
        let err = resolve(&server, DnsTransport::Tcp, &[BLOCK])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no such list (NXDOMAIN)"), "{err}");

        server.shutdown().await;
    }

    #[tokio::test]
    async fn udp_truncates_big_answers_and_the_resolver_retries_over_tcp() {
        let big = prefixes(10_000);
        let server = ListServer::start(loopback(), &[list(BLOCK, big.clone(), vec![])])
            .await
            .unwrap();
        let sub = "s000.corp-block.acme.threatstop.local.";
        let apl = RecordType::Unknown(apl::APL_TYPE);

        let udp = raw_query(server.addr(), sub, apl, false).await;
        assert!(
            udp.metadata.truncation,
            "a 3,000-item answer cannot fit in UDP"
        );
        assert!(udp.metadata.authoritative);
        let tcp = raw_query(server.addr(), sub, apl, true).await;
        assert!(!tcp.metadata.truncation);
        assert_eq!(tcp.answers.len(), SUBLIST_ITEMS / RECORD_ITEMS);

        let snap = resolve(&server, DnsTransport::Udp, &[BLOCK])
            .await
            .expect("resolves");
        assert_eq!(prefix_set(&snap, BLOCK), set(&big));
        server.shutdown().await;
    }

    #[tokio::test]
    async fn negative_answers_are_authoritative_with_the_soa() {
        let server = ListServer::start(
            loopback(),
            &[list(ALLOW, vec![net("192.0.2.0/24")], vec![])],
        )
        .await
        .unwrap();
        let soa_owner = |m: &Message| {
            m.authorities
                .iter()
                .find(|r| r.record_type() == RecordType::SOA)
                .map(|r| r.name.to_string())
        };
        for tcp in [false, true] {
            let m = raw_query(
                server.addr(),
                "nowhere.acme.threatstop.local.",
                RecordType::PTR,
                tcp,
            )
            .await;
            assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
            assert!(m.metadata.authoritative && m.answers.is_empty());
            assert_eq!(soa_owner(&m).as_deref(), Some("acme.threatstop.local."));

            // The list exists but has no PTR: NODATA (that is how the
            // resolver knows it is its own only sub-list).
            let m = raw_query(server.addr(), &format!("{ALLOW}."), RecordType::PTR, tcp).await;
            assert_eq!(m.metadata.response_code, ResponseCode::NoError);
            assert!(m.metadata.authoritative && m.answers.is_empty());
            assert_eq!(soa_owner(&m).as_deref(), Some("acme.threatstop.local."));

            let m = raw_query(server.addr(), "example.com.", RecordType::A, tcp).await;
            assert_eq!(m.metadata.response_code, ResponseCode::Refused);
            assert!(!m.metadata.authoritative);
        }
        let m = raw_query(
            server.addr(),
            "acme.threatstop.local.",
            RecordType::SOA,
            true,
        )
        .await;
        assert_eq!(m.answers.len(), 1);
        assert!(m.metadata.authoritative);
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_taken_port_is_an_error_naming_the_address() {
        let first = ListServer::start(loopback(), &[]).await.unwrap();
        let err = ListServer::start(first.addr(), &[]).await.unwrap_err();
        assert!(
            matches!(err, PublishError::Bind { addr, .. } if addr == first.addr()),
            "{err}"
        );
        assert!(format!("{first:?}").contains(&first.addr().to_string()));
        // Shutting down frees the address (UDP and TCP) for a new server.
        let addr = first.addr();
        first.shutdown().await;
        let again = ListServer::start(addr, &[list(ALLOW, vec![net("192.0.2.0/24")], vec![])])
            .await
            .expect("the address is free again");
        let snap = resolve(&again, DnsTransport::Udp, &[ALLOW]).await.unwrap();
        assert_eq!(prefix_set(&snap, ALLOW), set(&[net("192.0.2.0/24")]));
        again.shutdown().await;
    }

    #[tokio::test]
    async fn only_loopback_addresses_are_accepted() {
        for addr in ["0.0.0.0:0", "192.0.2.1:5353", "[::]:0"] {
            let addr: SocketAddr = addr.parse().unwrap();
            match ListServer::start(addr, &[]).await {
                Err(PublishError::NotLoopback(a)) => assert_eq!(a, addr),
                Err(e) => panic!("{addr}: wrong error {e}"),
                Ok(_) => panic!("{addr}: accepted"),
            }
        }
    }

    #[test]
    fn layout_keeps_records_and_sub_lists_small() {
        let zone = Zone::build(&[list(BLOCK, prefixes(6_001), vec![])], 1).unwrap();
        assert_eq!(zone.apex.to_string(), "acme.threatstop.local.");
        let at =
            |n: &str| &zone.records[&LowerName::from(Name::from_ascii(format!("{n}.")).unwrap())];
        assert_eq!(at(BLOCK).len(), 3, "three PTR records");
        let mut total = 0;
        for sub in ["s000", "s001", "s002"] {
            let mut items = 0;
            for r in at(&format!("{sub}.{BLOCK}")) {
                let RData::Unknown { rdata, .. } = &r.data else {
                    panic!("not APL: {r:?}")
                };
                let n = apl::decode(&rdata.anything).unwrap().len();
                assert!(n <= RECORD_ITEMS);
                items += n;
            }
            assert!(items <= SUBLIST_ITEMS);
            total += items;
        }
        assert_eq!(total, 6_001);

        // Lists in different branches: the apex is their common ancestor,
        // and the names between it and the lists exist (NODATA, not NXDOMAIN).
        let zone = Zone::build(
            &[
                list("a.one.threatstop.local", vec![], vec![]),
                list("b.x.two.threatstop.local", vec![], vec![]),
            ],
            1,
        )
        .unwrap();
        assert_eq!(zone.apex.to_string(), "threatstop.local.");
        let reply = |n: &str| {
            let name = LowerName::from(Name::from_ascii(n).unwrap());
            zone.answer(&name, RecordType::PTR, DNSClass::IN).code
        };
        assert_eq!(reply("x.two.threatstop.local."), ResponseCode::NoError);
        assert_eq!(reply("two.threatstop.local."), ResponseCode::NoError);
        assert_eq!(reply("y.two.threatstop.local."), ResponseCode::NXDomain);
        assert_eq!(reply("threatstop.local."), ResponseCode::NoError);
        assert_eq!(reply("local."), ResponseCode::Refused);
    }

    #[test]
    fn bad_lists_are_refused_not_half_published() {
        let err = Zone::build(&[list("a..b", vec![], vec![])], 1).unwrap_err();
        assert!(matches!(err, PublishError::BadName { .. }), "{err}");
        let err = Zone::build(&[list(".", vec![], vec![])], 1).unwrap_err();
        assert!(matches!(err, PublishError::BadName { .. }), "{err}");
        // A list named like another list's sub-list.
        let err = Zone::build(
            &[
                list("x.threatstop.local", prefixes(3_001), vec![]),
                list("s001.x.threatstop.local", vec![], vec![]),
            ],
            1,
        )
        .unwrap_err();
        assert!(matches!(err, PublishError::Collision { .. }), "{err}");
    }

    #[tokio::test]
    async fn ipv6_items_are_published_beside_ipv4_ones_and_resolved_into_the_snapshot() {
        let v6 = |s: &str| -> IpNet { s.parse().unwrap() };
        let mixed = PublishedList {
            name: PARTNER.into(),
            prefixes: vec![
                v6("192.0.2.0/24"),
                v6("2001:db8:1::/48"),
                v6("2001:DB8::1/128"),
                v6("198.51.100.7/32"),
            ],
            excluded: vec![v6("2001:db8:1:2::/64"), v6("192.0.2.128/25")],
        };
        // Big enough for PTR sub-lists, of the longest items there are.
        let big: Vec<IpNet> = prefixes_v6(7_000).into_iter().map(IpNet::from).collect();
        let server = ListServer::start(
            loopback(),
            &[
                mixed.clone(),
                PublishedList {
                    name: BLOCK.into(),
                    prefixes: big.clone(),
                    excluded: vec![v6("2001:db8:ffff::1/128")],
                },
            ],
        )
        .await
        .unwrap();
        // Over UDP too: the sub-lists' answers are truncated, then read over TCP.
        for transport in [DnsTransport::Tcp, DnsTransport::Udp] {
            let snap = resolve(&server, transport, &[PARTNER, BLOCK])
                .await
                .unwrap();
            assert_eq!(snap.version, 2);
            let all = |entries: &[lists::snapshot::Entry]| -> BTreeSet<IpNet> {
                entries.iter().map(|e| e.prefix).collect()
            };
            let partner = snap.list(PARTNER).unwrap();
            assert_eq!(partner.record_types, ["APL"]);
            assert_eq!(
                all(&partner.prefixes),
                mixed.prefixes.iter().copied().collect()
            );
            assert_eq!(
                all(&partner.excluded),
                mixed.excluded.iter().copied().collect()
            );
            assert!(partner.skipped.is_empty(), "IPv6 is no longer skipped");
            assert_eq!(
                (partner.sublists[0].prefixes, partner.sublists[0].excluded),
                (4, 2)
            );

            let block = snap.list(BLOCK).unwrap();
            assert_eq!(block.record_types, ["PTR", "APL"]);
            assert_eq!(all(&block.prefixes), big.iter().copied().collect());
            assert_eq!(all(&block.excluded), [v6("2001:db8:ffff::1/128")].into());
            let subs: Vec<(usize, usize)> = block
                .sublists
                .iter()
                .map(|s| (s.prefixes, s.excluded))
                .collect();
            assert_eq!(subs, [(3_000, 0), (3_000, 0), (1_000, 1)]);
        }
        // A full sub-list of 20-byte items still fits one TCP answer, in
        // records of at most RECORD_ITEMS items.
        let sub = raw_query(
            server.addr(),
            &format!("s000.{BLOCK}."),
            RecordType::Unknown(apl::APL_TYPE),
            true,
        )
        .await;
        assert_eq!(sub.metadata.response_code, ResponseCode::NoError);
        assert_eq!(sub.answers.len(), SUBLIST_ITEMS / RECORD_ITEMS);
        server.shutdown().await;
    }
}
