//! SSH to one router with russh: algorithm preferences (modern first, the
//! IOS legacy set after them unless turned off), host-key policy against a
//! known_hosts file, authentication by password, keyboard-interactive or
//! private key, and an interactive shell with a PTY.
//!
//! This module owns everything below the IOS dialogue: TCP, the SSH
//! transport, trust in the device's identity, login, and a byte pipe to the
//! vty. It knows nothing about prompts or commands (that is [`super::ios`]).
//!
//! Every failure is a [`DeviceError`] naming the device and `host:port` and
//! saying what to do; no secret (password, passphrase) ever reaches an
//! error, a log line or a `Debug` output.

use super::DeviceError;
use crate::inventory::HostKeyPolicy;
use russh::client::{self, AuthResult, KeyboardInteractiveAuthResponse};
use russh::keys::known_hosts::known_host_keys_path;
use russh::keys::{Algorithm, HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{
    AlgorithmKind, ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Disconnect, MethodKind,
    Preferred, SshId, cipher, kex, mac,
};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How to authenticate. Secrets are held only here and never printed.
#[derive(Clone)]
pub enum Credentials {
    /// Tried as `password`, then as `keyboard-interactive`.
    Password(String),
    PrivateKey {
        path: PathBuf,
        passphrase: Option<String>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Password(_) => f.write_str("Password(******)"),
            Credentials::PrivateKey { path, .. } => write!(f, "PrivateKey({})", path.display()),
        }
    }
}

/// Where and how to reach one device.
#[derive(Clone, Debug)]
pub struct SshTarget {
    /// The device's inventory name, used in every error.
    pub device: String,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub credentials: Credentials,
    pub host_key_policy: HostKeyPolicy,
    pub known_hosts: PathBuf,
    /// Offer the IOS legacy algorithms after the modern ones.
    pub legacy_algorithms: bool,
    pub connect_timeout: Duration,
}

impl SshTarget {
    /// `host:port` as errors show it (`[v6]:port` for IPv6 literals).
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// How the device's host key came to be trusted for this connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKeyStatus {
    /// It was already in known_hosts.
    Known,
    /// It was unknown and has just been recorded (`accept-new`).
    Learned,
    /// Not checked at all (`off`).
    Unchecked,
}

/// The algorithms the key exchange settled on, for logs and reports
/// (a device that still needs the legacy set is worth knowing about).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Negotiated {
    pub kex: String,
    pub host_key: String,
    pub cipher: String,
    /// Client-to-server MAC (`none` with an AEAD cipher).
    pub mac: String,
}

impl Negotiated {
    /// True when only a legacy algorithm made the connection possible.
    pub fn uses_legacy(&self) -> bool {
        LEGACY_KEX.iter().any(|k| k.as_ref() == self.kex)
            || LEGACY_CIPHERS.iter().any(|c| c.as_ref() == self.cipher)
            || LEGACY_MACS.iter().any(|m| m.as_ref() == self.mac)
            || self.host_key == Algorithm::Rsa { hash: None }.as_str()
    }
}

/// An open interactive shell on the device.
pub struct Shell {
    device: String,
    handle: client::Handle<Client>,
    reader: ChannelReadHalf,
    writer: ChannelWriteHalf<client::Msg>,
    /// Data that arrived while a `send` was waiting for window space; handed
    /// out by `recv` before anything newer.
    pending: VecDeque<Vec<u8>>,
    /// The device sent EOF or closed the channel: nothing more will arrive.
    ended: bool,
    host_key: HostKeyStatus,
    negotiated: Negotiated,
}

impl std::fmt::Debug for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell")
            .field("device", &self.device)
            .field("host_key", &self.host_key)
            .field("negotiated", &self.negotiated)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// How long `close` waits for each step of a polite goodbye.
const CLOSE_STEP: Duration = Duration::from_secs(2);

impl Shell {
    /// Send bytes as typed.
    ///
    /// Waits for the channel's window; meanwhile whatever the device sends
    /// is kept for `recv`, so a large send cannot deadlock against the
    /// device's echo filling our side (russh stops reading the socket when
    /// a channel's queue is full, and then no window adjust would arrive).
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
        if bytes.is_empty() {
            return Ok(());
        }
        let data = bytes.to_vec();
        let Shell {
            writer,
            reader,
            pending,
            ended,
            device,
            ..
        } = self;
        let write = writer.data_bytes(data);
        tokio::pin!(write);
        let mut reading = true;
        loop {
            tokio::select! {
                biased;
                result = &mut write => {
                    return result.map_err(|e| DeviceError::Protocol {
                        device: device.clone(),
                        reason: format!("the SSH session ended while sending: {e}"),
                    });
                }
                msg = reader.wait(), if reading => match msg {
                    Some(ChannelMsg::Data { data }) | Some(ChannelMsg::ExtendedData { data, .. }) => {
                        pending.push_back(Vec::from(data));
                    }
                    Some(ChannelMsg::Eof) => *ended = true,
                    Some(ChannelMsg::Close) | None => {
                        // No window will ever open on a closed channel.
                        *ended = true;
                        return Err(DeviceError::Protocol {
                            device: device.clone(),
                            reason: "the device closed the SSH session while tsfleet was sending".into(),
                        });
                    }
                    Some(_) => {}
                },
            }
            // After the device's EOF the channel may still take our data:
            // keep writing, but there is nothing more to read.
            if *ended {
                reading = false;
            }
        }
    }

    /// The next bytes the device sent; `None` once the session has ended.
    ///
    /// A chunk is whatever one SSH data packet carried (up to 32 KiB): one
    /// allocation per packet, never per byte or per line.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        if let Some(data) = self.pending.pop_front() {
            return Some(data);
        }
        if self.ended {
            return None;
        }
        loop {
            match self.reader.wait().await {
                Some(ChannelMsg::Data { data }) | Some(ChannelMsg::ExtendedData { data, .. }) => {
                    if !data.is_empty() {
                        return Some(Vec::from(data));
                    }
                }
                Some(ChannelMsg::Eof) | Some(ChannelMsg::Close) | None => {
                    self.ended = true;
                    return None;
                }
                // Exit status, window adjusts, request replies: not data.
                Some(_) => {}
            }
        }
    }

    /// How the host key was trusted.
    pub fn host_key_status(&self) -> HostKeyStatus {
        self.host_key
    }

    /// The algorithms in use.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// Close the channel and the connection. Never waits more than a few
    /// seconds, whatever the device does.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(CLOSE_STEP, async {
            let _ = self.writer.eof().await;
            let _ = self.writer.close().await;
        })
        .await;
        if !self.ended {
            // Let the device acknowledge the close so its vty is freed
            // cleanly; data still arriving is of no interest any more.
            let _ = tokio::time::timeout(CLOSE_STEP, async {
                while let Some(msg) = self.reader.wait().await {
                    if matches!(msg, ChannelMsg::Close) {
                        break;
                    }
                }
            })
            .await;
        }
        let _ = tokio::time::timeout(
            CLOSE_STEP,
            self.handle
                .disconnect(Disconnect::ByApplication, "tsfleet done", "en"),
        )
        .await;
    }
}

/// Connect, check the host key, authenticate, and open a shell with a PTY.
///
/// The whole of it (TCP, SSH handshake, login, shell) is bounded by
/// `target.connect_timeout`.
pub async fn open_shell(target: &SshTarget) -> Result<Shell, DeviceError> {
    // Read the key before touching the device: a bad path or passphrase
    // should not cost a failed login on a router that may block sources.
    let key = match &target.credentials {
        Credentials::PrivateKey { path, passphrase } => Some(load_key(target, path, passphrase)?),
        Credentials::Password(_) => None,
    };
    let mut stage = Stage::Tcp;
    let result = tokio::time::timeout(
        target.connect_timeout,
        open_shell_inner(target, key, &mut stage),
    )
    .await;
    match result {
        Ok(r) => r,
        Err(_) => Err(timeout_error(target, stage)),
    }
}

/// Where `open_shell` was when the connect timeout struck.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Resolve,
    Tcp,
    Handshake,
    Auth,
    Shell,
}

fn timeout_error(target: &SshTarget, stage: Stage) -> DeviceError {
    let after = target.connect_timeout;
    let connect = |reason: String| DeviceError::Connect {
        device: target.device.clone(),
        addr: target.addr(),
        reason,
        transient: true,
    };
    match stage {
        Stage::Resolve => connect(format!(
            "no answer from the DNS resolver within {after:?} for {:?}",
            target.host
        )),
        Stage::Tcp => connect(format!(
            "TCP connect timed out after {after:?} (is the device up and reachable, and the port right?)"
        )),
        Stage::Handshake => connect(format!(
            "the port accepted TCP but no SSH handshake completed within {after:?} \
             (is it an SSH server? are all vty lines busy?)"
        )),
        Stage::Auth => DeviceError::Timeout {
            device: target.device.clone(),
            doing: format!("logging in to {} as {:?}", target.addr(), target.username),
            after,
        },
        Stage::Shell => DeviceError::Timeout {
            device: target.device.clone(),
            doing: format!("opening a shell on {}", target.addr()),
            after,
        },
    }
}

async fn open_shell_inner(
    target: &SshTarget,
    key: Option<Arc<russh::keys::PrivateKey>>,
    stage: &mut Stage,
) -> Result<Shell, DeviceError> {
    let addr = target.addr();
    let connect_err = |reason: String, transient: bool| DeviceError::Connect {
        device: target.device.clone(),
        addr: addr.clone(),
        reason,
        transient,
    };

    *stage = Stage::Resolve;
    let addrs: Vec<std::net::SocketAddr> =
        tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|e| {
                // EAI_AGAIN: the resolver is unreachable, not the name unknown.
                let transient = e.to_string().contains("Temporary failure");
                connect_err(
                    format!("cannot resolve the host name ({e}); check `host` in the inventory"),
                    transient,
                )
            })?
            .collect();

    *stage = Stage::Tcp;
    let socket = tokio::net::TcpStream::connect(addrs.as_slice())
        .await
        .map_err(|e| connect_err(tcp_reason(&e), true))?;
    // Pipelined lines must not wait for Nagle.
    let _ = socket.set_nodelay(true);

    *stage = Stage::Handshake;
    let known = known_algorithms(target);
    let config = Arc::new(client_config(target.legacy_algorithms, &known));
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let handler = Client {
        target: Arc::new(HostKeyCheck {
            device: target.device.clone(),
            host: target.host.clone(),
            port: target.port,
            addr: addr.clone(),
            policy: target.host_key_policy,
            known_hosts: target.known_hosts.clone(),
        }),
        outcome: outcome.clone(),
    };
    let mut handle = client::connect_stream(config, socket, handler)
        .await
        .map_err(|e| handshake_error(target, e))?;
    let (host_key, negotiated) = {
        let o = outcome.lock().unwrap_or_else(|p| p.into_inner());
        (
            o.host_key.unwrap_or(HostKeyStatus::Unchecked),
            o.negotiated.clone(),
        )
    };
    tracing::debug!(
        device = %target.device,
        %addr,
        kex = %negotiated.kex,
        host_key = %negotiated.host_key,
        cipher = %negotiated.cipher,
        mac = %negotiated.mac,
        "SSH transport up"
    );
    if negotiated.uses_legacy() {
        tracing::info!(
            device = %target.device,
            "{addr} needed legacy SSH algorithms (kex {}, cipher {}, mac {}, host key {})",
            negotiated.kex,
            negotiated.cipher,
            negotiated.mac,
            negotiated.host_key
        );
    }

    *stage = Stage::Auth;
    authenticate(target, &mut handle, key).await?;

    *stage = Stage::Shell;
    let refused = |what: &str, e: String| DeviceError::Protocol {
        device: target.device.clone(),
        reason: format!("{addr}: {what}: {e}"),
    };
    let channel = handle
        .channel_open_session()
        .await
        .map_err(|e| refused("the device refused a session channel", e.to_string()))?;
    let (mut reader, writer) = channel.split();
    // IOS honours the width, so long lines (and show output) are not wrapped.
    writer
        .request_pty(true, "vt100", 511, 24, 0, 0, &[])
        .await
        .map_err(|e| refused("cannot request a PTY", e.to_string()))?;
    let mut pending = VecDeque::new();
    await_reply(&mut reader, &mut pending)
        .await
        .map_err(|e| refused("the device refused a PTY", e))?;
    writer
        .request_shell(true)
        .await
        .map_err(|e| refused("cannot request a shell", e.to_string()))?;
    await_reply(&mut reader, &mut pending)
        .await
        .map_err(|e| refused("the device refused a shell", e))?;

    Ok(Shell {
        device: target.device.clone(),
        handle,
        reader,
        writer,
        pending,
        ended: false,
        host_key,
        negotiated,
    })
}

/// Wait for the answer to a channel request; data arriving first is kept.
async fn await_reply(
    reader: &mut ChannelReadHalf,
    pending: &mut VecDeque<Vec<u8>>,
) -> Result<(), String> {
    loop {
        match reader.wait().await {
            Some(ChannelMsg::Success) => return Ok(()),
            Some(ChannelMsg::Failure) => return Err("request failed".into()),
            Some(ChannelMsg::Data { data }) | Some(ChannelMsg::ExtendedData { data, .. }) => {
                pending.push_back(Vec::from(data))
            }
            Some(ChannelMsg::Eof) | Some(ChannelMsg::Close) | None => {
                return Err("the channel was closed".into());
            }
            Some(_) => {}
        }
    }
}

fn tcp_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => {
            "connection refused (nothing listens on that port: is SSH enabled on the device, the port right?)".into()
        }
        ConnectionReset | ConnectionAborted => format!("connection reset ({e})"),
        TimedOut => format!("TCP connect timed out ({e})"),
        _ => format!("TCP connect failed: {e}"),
    }
}

// ---------------------------------------------------------------------------
// Algorithms

/// Old IOS key exchanges, group14 before group exchange: russh's GEX
/// refuses groups under 2048 bits, which old IOS may offer.
const LEGACY_KEX: &[kex::Name] = &[kex::DH_G14_SHA1, kex::DH_GEX_SHA1, kex::DH_G1_SHA1];
const LEGACY_CIPHERS: &[cipher::Name] = &[
    cipher::AES_128_CBC,
    cipher::AES_256_CBC,
    cipher::TRIPLE_DES_CBC,
];
const LEGACY_MACS: &[mac::Name] = &[mac::HMAC_SHA1];

/// russh's defaults, then (if `legacy`) the IOS legacy set; host-key
/// algorithms for which known_hosts already has a key of this device come
/// first, as OpenSSH does, so a device with several keys presents the one
/// we can check.
fn preferred(legacy: bool, known: &[Algorithm]) -> Preferred {
    let d = Preferred::DEFAULT;
    // Extension pseudo-algorithms (ext-info-c, strict kex) stay at the end.
    let is_ext =
        |k: &kex::Name| k.as_ref().starts_with("ext-info") || k.as_ref().starts_with("kex-strict");
    let mut kex: Vec<kex::Name> = d.kex.iter().filter(|k| !is_ext(k)).cloned().collect();
    let mut cipher: Vec<cipher::Name> = d.cipher.to_vec();
    let mut mac: Vec<mac::Name> = d.mac.to_vec();
    let ssh_rsa = Algorithm::Rsa { hash: None };
    let mut key: Vec<Algorithm> = d.key.iter().filter(|a| **a != ssh_rsa).cloned().collect();
    if legacy {
        kex.extend(
            LEGACY_KEX
                .iter()
                .filter(|k| !kex_contains(&kex, k))
                .cloned()
                .collect::<Vec<_>>(),
        );
        cipher.extend(
            LEGACY_CIPHERS
                .iter()
                .filter(|c| !cipher.contains(c))
                .cloned()
                .collect::<Vec<_>>(),
        );
        mac.extend(
            LEGACY_MACS
                .iter()
                .filter(|m| !mac.contains(m))
                .cloned()
                .collect::<Vec<_>>(),
        );
        key.push(ssh_rsa);
    }
    kex.extend(d.kex.iter().filter(|k| is_ext(k)).cloned());
    // Stable: within each half the original order is kept.
    key.sort_by_key(|a| !known.iter().any(|k| same_key_type(k, a)));
    Preferred {
        kex: Cow::Owned(kex),
        key: Cow::Owned(key),
        cipher: Cow::Owned(cipher),
        mac: Cow::Owned(mac),
        ..d
    }
}

fn kex_contains(list: &[kex::Name], k: &kex::Name) -> bool {
    list.iter().any(|x| x.as_ref() == k.as_ref())
}

fn same_key_type(a: &Algorithm, b: &Algorithm) -> bool {
    match (a, b) {
        (Algorithm::Rsa { .. }, Algorithm::Rsa { .. }) => true,
        (a, b) => a == b,
    }
}

fn client_config(legacy: bool, known: &[Algorithm]) -> client::Config {
    client::Config {
        client_id: SshId::Standard(Cow::Owned(format!(
            "SSH-2.0-tsfleet_{}",
            env!("CARGO_PKG_VERSION")
        ))),
        preferred: preferred(legacy, known),
        nodelay: true,
        ..Default::default()
    }
}

/// Key types known_hosts holds for this device (unreadable file: none; the
/// host-key check reports it properly).
fn known_algorithms(target: &SshTarget) -> Vec<Algorithm> {
    if target.host_key_policy == HostKeyPolicy::Off {
        return Vec::new();
    }
    known_host_keys_path(&target.host, target.port, &target.known_hosts)
        .map(|keys| keys.into_iter().map(|(_, k)| k.algorithm()).collect())
        .unwrap_or_default()
}

fn kind_name(kind: &AlgorithmKind) -> &'static str {
    match kind {
        AlgorithmKind::Kex => "key exchange",
        AlgorithmKind::Key => "host key algorithm",
        AlgorithmKind::Cipher => "cipher",
        AlgorithmKind::Compression => "compression",
        AlgorithmKind::Mac => "MAC",
    }
}

/// Turn a failed handshake into an actionable error.
fn handshake_error(target: &SshTarget, e: ClientError) -> DeviceError {
    let connect = |reason: String, transient: bool| DeviceError::Connect {
        device: target.device.clone(),
        addr: target.addr(),
        reason,
        transient,
    };
    let e = match e {
        ClientError::HostKey(problem) => {
            return DeviceError::HostKey {
                device: target.device.clone(),
                addr: target.addr(),
                problem,
            };
        }
        ClientError::Ssh(e) => e,
    };
    match e {
        russh::Error::NoCommonAlgo { kind, theirs, .. } => {
            let hint = if target.legacy_algorithms {
                "tsfleet supports none of them".to_string()
            } else {
                "the device may need legacy_algorithms: true".to_string()
            };
            connect(
                format!(
                    "no common {} (the device offers {}); {hint}",
                    kind_name(&kind),
                    theirs.join(", ")
                ),
                false,
            )
        }
        russh::Error::IO(io) => connect(
            format!("the connection failed during the SSH handshake: {io}"),
            true,
        ),
        // The peer hung up before or during the key exchange: a router
        // with all vty lines busy does exactly this.
        russh::Error::Disconnect | russh::Error::HUP => connect(
            "the device closed the connection during the SSH handshake \
             (all vty lines busy, or an ACL on the vty?)"
                .into(),
            true,
        ),
        russh::Error::Version => connect(
            "the peer does not speak SSH (bad identification string); check the port".into(),
            false,
        ),
        other => connect(format!("SSH handshake failed: {other}"), false),
    }
}

// ---------------------------------------------------------------------------
// Host keys

/// What the handler needs to judge the server's key.
struct HostKeyCheck {
    device: String,
    host: String,
    port: u16,
    addr: String,
    policy: HostKeyPolicy,
    known_hosts: PathBuf,
}

/// What the handler found out, read back once the handshake is over.
#[derive(Default)]
struct Outcome {
    host_key: Option<HostKeyStatus>,
    negotiated: Negotiated,
}

struct Client {
    target: Arc<HostKeyCheck>,
    outcome: Arc<Mutex<Outcome>>,
}

/// The handler's error: russh's, or a host-key verdict with its message.
#[derive(Debug)]
enum ClientError {
    Ssh(russh::Error),
    HostKey(String),
}

impl From<russh::Error> for ClientError {
    fn from(e: russh::Error) -> Self {
        ClientError::Ssh(e)
    }
}

impl client::Handler for Client {
    type Error = ClientError;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            // We never advertise certificate algorithms, so this is a
            // server ignoring our list: refuse rather than guess whom to trust.
            PublicKeyOrCertificate::Certificate(cert) => {
                return Err(ClientError::HostKey(format!(
                    "is a certificate (key id {:?}); tsfleet checks plain host keys only",
                    cert.key_id()
                )));
            }
        };
        let status = verify_host_key(&self.target, key).map_err(ClientError::HostKey)?;
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .host_key = Some(status);
        Ok(true)
    }

    async fn kex_done(
        &mut self,
        _shared_secret: Option<&[u8]>,
        names: &russh::Names,
        _session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .negotiated = Negotiated {
            kex: names.kex.as_ref().to_string(),
            host_key: names.key.as_str().to_string(),
            cipher: names.cipher.as_ref().to_string(),
            mac: names.client_mac.as_ref().to_string(),
        };
        Ok(())
    }

    async fn auth_banner(
        &mut self,
        banner: &str,
        _session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        tracing::debug!(device = %self.target.device, banner = banner.trim_end(), "login banner");
        Ok(())
    }
}

/// `SHA256:...` as OpenSSH prints it.
fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Serialises appends to known_hosts files within this process: devices
/// connect in parallel and may learn keys into the same file.
static KNOWN_HOSTS_LOCK: Mutex<()> = Mutex::new(());

/// Apply the host-key policy; `Err` is the problem to report.
fn verify_host_key(t: &HostKeyCheck, key: &PublicKey) -> Result<HostKeyStatus, String> {
    let presented = fingerprint(key);
    if t.policy == HostKeyPolicy::Off {
        tracing::warn!(
            device = %t.device,
            "host key of {} NOT checked (host_key_policy: off); presented {} {}. \
             Anyone on the path could impersonate {} and capture its credentials",
            t.addr,
            key.algorithm().as_str(),
            presented,
            t.device
        );
        return Ok(HostKeyStatus::Unchecked);
    }
    let path = t.known_hosts.display();
    let _guard = KNOWN_HOSTS_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let recorded = known_host_keys_path(&t.host, t.port, &t.known_hosts).map_err(|e| {
        format!(
            "cannot be checked: known_hosts file {path} is unreadable or has a bad entry \
             for this host ({e}); fix or remove that line"
        )
    })?;
    if recorded.iter().any(|(_, k)| k.key_data() == key.key_data()) {
        return Ok(HostKeyStatus::Known);
    }
    if !recorded.is_empty() {
        // Another key is on record. Even one of another type is refused:
        // we asked for the recorded type first, so the device no longer
        // offers it — that is a changed identity, not a new one.
        let known: Vec<String> = recorded
            .iter()
            .map(|(line, k)| {
                format!(
                    "{} {} (line {line})",
                    k.algorithm().as_str(),
                    fingerprint(k)
                )
            })
            .collect();
        return Err(format!(
            "has CHANGED: known_hosts {path} has {}, the device presented {} {presented}. \
             This may be an attack (man in the middle) or a re-keyed/replaced router. \
             Verify the new key out of band, then remove the old line(s) \
             (`ssh-keygen -R '{}' -f {path}`) and add the new one",
            known.join(", "),
            key.algorithm().as_str(),
            known_hosts_host(&t.host, t.port),
        ));
    }
    match t.policy {
        HostKeyPolicy::AcceptNew => {
            learn(&t.known_hosts, &t.host, t.port, key).map_err(|e| {
                format!("is unknown ({presented}) and cannot be recorded in {path}: {e}")
            })?;
            tracing::info!(
                device = %t.device,
                "learned host key {} {presented} of {} into {path}",
                key.algorithm().as_str(),
                t.addr
            );
            Ok(HostKeyStatus::Learned)
        }
        _ => Err(format!(
            "is unknown: the device presented {} {presented}, which is not in known_hosts {path}. \
             Verify the fingerprint, then add it (e.g. `ssh-keyscan -p {} {} >> {path}`), \
             or set `host_key_policy: accept-new` to record keys on first contact",
            key.algorithm().as_str(),
            t.port,
            t.host,
        )),
    }
}

/// The host field of a known_hosts line: `[host]:port` unless port 22.
fn known_hosts_host(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Append the key's line, creating the file and its folder if needed.
fn learn(path: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut key = key.clone();
    key.set_comment("");
    let text = key.to_openssh().map_err(std::io::Error::other)?;
    let mut line = format!("{} {}\n", known_hosts_host(host, port), text.trim_end());
    let needs_newline = std::fs::read(path)
        .map(|b| b.last().is_some_and(|c| *c != b'\n'))
        .unwrap_or(false);
    if needs_newline {
        line.insert(0, '\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    // One write, so concurrent processes appending do not interleave lines.
    file.write_all(line.as_bytes())
}

// ---------------------------------------------------------------------------
// Authentication

fn load_key(
    target: &SshTarget,
    path: &Path,
    passphrase: &Option<String>,
) -> Result<Arc<russh::keys::PrivateKey>, DeviceError> {
    russh::keys::load_secret_key(path, passphrase.as_deref())
        .map(Arc::new)
        .map_err(|e| DeviceError::Auth {
            device: target.device.clone(),
            user: target.username.clone(),
            methods: format!(
                "publickey not tried: cannot load private key {}: {e}; check the path{}",
                path.display(),
                if passphrase.is_some() {
                    " and the passphrase"
                } else {
                    " (an encrypted key needs a passphrase)"
                }
            ),
        })
}

async fn authenticate(
    target: &SshTarget,
    handle: &mut client::Handle<Client>,
    key: Option<Arc<russh::keys::PrivateKey>>,
) -> Result<(), DeviceError> {
    let user = target.username.clone();
    let mut tried: Vec<&str> = Vec::new();
    let mut offered = None;
    let lost = |e: String| DeviceError::Connect {
        device: target.device.clone(),
        addr: target.addr(),
        reason: format!("the connection was lost during login: {e}"),
        transient: true,
    };
    match (&target.credentials, key) {
        (Credentials::PrivateKey { .. }, Some(key)) => {
            tried.push("publickey");
            let hash = if key.algorithm().is_rsa() {
                // Old servers send no server-sig-algs: they know only ssh-rsa.
                handle
                    .best_supported_rsa_hash()
                    .await
                    .map_err(|e| lost(e.to_string()))?
                    .flatten()
            } else {
                None
            };
            let result = handle
                .authenticate_publickey(user.clone(), PrivateKeyWithHashAlg::new(key, hash))
                .await
                .map_err(|e| lost(e.to_string()))?;
            match result {
                AuthResult::Success => return Ok(()),
                AuthResult::Failure {
                    remaining_methods, ..
                } => offered = Some(remaining_methods),
            }
        }
        (Credentials::Password(password), _) => {
            tried.push("password");
            let result = handle
                .authenticate_password(user.clone(), password.clone())
                .await
                .map_err(|e| lost(e.to_string()))?;
            let remaining = match result {
                AuthResult::Success => return Ok(()),
                AuthResult::Failure {
                    remaining_methods, ..
                } => remaining_methods,
            };
            // IOS with AAA often accepts only keyboard-interactive. Only
            // when offered: a server with no method left hangs up on us.
            if remaining.contains(&MethodKind::KeyboardInteractive) {
                tried.push("keyboard-interactive");
                match keyboard_interactive(handle, &user, password).await {
                    Ok(true) => return Ok(()),
                    Ok(false) => {}
                    // The password was already refused: a hang-up now is
                    // the device giving up on us, not a network fault, and
                    // a retry would only count more failures against us.
                    Err(e) => tracing::debug!(device = %target.device, "keyboard-interactive: {e}"),
                }
            }
            offered = Some(remaining);
        }
        (Credentials::PrivateKey { .. }, None) => {}
    }
    // A device that hangs up after refusing us has still refused us: this
    // stays an auth error (a retry would only count more failures).
    let closed = if handle.is_closed() {
        "; the device then closed the connection"
    } else {
        ""
    };
    let offered = offered
        .filter(|m| !m.is_empty())
        .map(|m| {
            let names: Vec<&str> = m.iter().map(<&'static str>::from).collect();
            format!("; the device accepts {}", names.join(", "))
        })
        .unwrap_or_default();
    Err(DeviceError::Auth {
        device: target.device.clone(),
        user,
        methods: format!(
            "tried {}{offered}{closed}; check the username and {}",
            tried.join(", "),
            match target.credentials {
                Credentials::Password(_) => "password",
                Credentials::PrivateKey { .. } => "that the key is authorised on the device",
            }
        ),
    })
}

/// Answer every prompt with the password; `Ok(true)` once accepted.
async fn keyboard_interactive(
    handle: &mut client::Handle<Client>,
    user: &str,
    password: &str,
) -> Result<bool, russh::Error> {
    let mut reply = handle
        .authenticate_keyboard_interactive_start(user.to_string(), None)
        .await?;
    // A server may send any number of info requests (even empty ones); a
    // few rounds are plenty for a router and bound a misbehaving one.
    for _ in 0..8 {
        match reply {
            KeyboardInteractiveAuthResponse::Success => return Ok(true),
            KeyboardInteractiveAuthResponse::Failure { .. } => return Ok(false),
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                let answers = prompts.iter().map(|_| password.to_string()).collect();
                reply = handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await?;
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(password: &str) -> SshTarget {
        SshTarget {
            device: "rtr-001".into(),
            host: "192.0.2.1".into(),
            port: 2222,
            username: "admin".into(),
            credentials: Credentials::Password(password.into()),
            host_key_policy: HostKeyPolicy::Strict,
            known_hosts: PathBuf::from("/nonexistent/known_hosts"),
            legacy_algorithms: true,
            connect_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let t = target("s3cr3t-pw");
        assert!(!format!("{t:?}").contains("s3cr3t-pw"));
        let k = Credentials::PrivateKey {
            path: "/k".into(),
            passphrase: Some("pass-phrase-9".into()),
        };
        assert!(!format!("{k:?}").contains("pass-phrase-9"));
    }

    #[test]
    fn legacy_set_comes_after_the_modern_one() {
        let p = preferred(true, &[]);
        let kex: Vec<&str> = p.kex.iter().map(|k| k.as_ref()).collect();
        let g14 = kex
            .iter()
            .position(|k| *k == "diffie-hellman-group14-sha1")
            .unwrap();
        let gex = kex
            .iter()
            .position(|k| *k == "diffie-hellman-group-exchange-sha1")
            .unwrap();
        let g1 = kex
            .iter()
            .position(|k| *k == "diffie-hellman-group1-sha1")
            .unwrap();
        let curve = kex.iter().position(|k| *k == "curve25519-sha256").unwrap();
        assert!(curve < g14 && g14 < gex && gex < g1, "{kex:?}");
        assert!(
            kex.last().unwrap().starts_with("kex-strict")
                || kex.last().unwrap().starts_with("ext-info")
        );
        let ciphers: Vec<&str> = p.cipher.iter().map(|c| c.as_ref()).collect();
        assert!(
            ciphers.ends_with(&["aes128-cbc", "aes256-cbc", "3des-cbc"]),
            "{ciphers:?}"
        );
        assert_eq!(p.mac.last().unwrap().as_ref(), "hmac-sha1");
        let keys: Vec<&str> = p.key.iter().map(|k| k.as_str()).collect();
        let sha2 = keys.iter().position(|k| *k == "rsa-sha2-256").unwrap();
        let sha1 = keys.iter().position(|k| *k == "ssh-rsa").unwrap();
        assert!(sha2 < sha1, "{keys:?}");
    }

    #[test]
    fn modern_only_has_no_legacy() {
        let p = preferred(false, &[]);
        assert!(
            !p.kex
                .iter()
                .any(|k| LEGACY_KEX.iter().any(|l| l.as_ref() == k.as_ref()))
        );
        assert!(!p.cipher.iter().any(|c| LEGACY_CIPHERS.contains(c)));
        assert!(!p.mac.iter().any(|m| LEGACY_MACS.contains(m)));
        assert!(!p.key.contains(&Algorithm::Rsa { hash: None }));
    }

    #[test]
    fn known_key_types_are_asked_for_first() {
        let p = preferred(true, &[Algorithm::Rsa { hash: None }]);
        assert!(matches!(p.key[0], Algorithm::Rsa { .. }), "{:?}", p.key);
        let p = preferred(true, &[]);
        assert_eq!(p.key[0], Algorithm::Ed25519);
    }

    #[test]
    fn timeout_errors_name_device_and_address() {
        let t = target("pw");
        for stage in [
            Stage::Resolve,
            Stage::Tcp,
            Stage::Handshake,
            Stage::Auth,
            Stage::Shell,
        ] {
            let msg = timeout_error(&t, stage).to_string();
            assert!(
                msg.contains("rtr-001") && msg.contains("192.0.2.1:2222"),
                "{msg}"
            );
            assert!(!msg.contains("pw\""), "{msg}");
        }
        assert!(timeout_error(&t, Stage::Handshake).is_transient());
    }
}
