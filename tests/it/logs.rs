//! `tsfleet logs upload` against a local HTTPS server (127.0.0.1, a
//! certificate from a CA the test makes, given to tsfleet as `ca_file`): the
//! server records every body it accepts, so each test checks that every line
//! arrives exactly once, in order, per device.

use crate::harness::tsfleet_bin;
use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

/// One accepted request: device header, basic-auth header, decompressed body.
#[derive(Clone, Debug)]
struct Accepted {
    device: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: String,
}

#[derive(Default)]
struct Recorder {
    accepted: Vec<Accepted>,
    /// Devices answered with 500 (their bodies are not recorded).
    failing: HashSet<String>,
    /// When set, requests accepted before every request is answered 500.
    budget: Option<usize>,
    refused: usize,
}

struct Server {
    addr: SocketAddr,
    ca_pem: String,
    rec: Arc<Mutex<Recorder>>,
}

impl Server {
    async fn start() -> Server {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tsfleet test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let rec = Arc::new(Mutex::new(Recorder::default()));
        let r = rec.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let r = r.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = serve(tls, r).await;
                    }
                });
            }
        });
        Server {
            addr,
            ca_pem: ca_cert.pem(),
            rec,
        }
    }

    fn fail(&self, device: &str, on: bool) {
        let mut r = self.rec.lock().unwrap();
        if on {
            r.failing.insert(device.to_string());
        } else {
            r.failing.remove(device);
        }
    }

    /// Every accepted line, per device, in the order received.
    fn lines(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for a in &self.rec.lock().unwrap().accepted {
            assert!(a.body.ends_with('\n'), "every body ends with a newline");
            out.entry(a.device.clone())
                .or_default()
                .extend(a.body.lines().map(str::to_string));
        }
        out
    }

    fn requests(&self) -> usize {
        let r = self.rec.lock().unwrap();
        r.accepted.len() + r.refused
    }
}

/// One HTTP/1.1 request per connection (`Connection: close`).
async fn serve<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut s: S,
    rec: Arc<Mutex<Recorder>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    assert!(head.starts_with("POST /upload "), "{head}");
    assert_eq!(header("content-encoding").as_deref(), Some("gzip"));
    let len: usize = header("content-length").unwrap().parse().unwrap();
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let device = header("x-tsfleet-device").unwrap_or_default();
    let status = {
        let mut r = rec.lock().unwrap();
        let spent = r.budget == Some(0);
        if let Some(b) = r.budget.as_mut() {
            *b = b.saturating_sub(1);
        }
        if r.failing.contains(&device) || spent {
            r.refused += 1;
            "500 Internal Server Error"
        } else {
            let mut body = String::new();
            flate2::read::GzDecoder::new(&buf[head_end..head_end + len])
                .read_to_string(&mut body)
                .unwrap();
            r.accepted.push(Accepted {
                device,
                authorization: header("authorization"),
                content_type: header("content-type"),
                body,
            });
            "200 OK"
        }
    };
    let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    s.write_all(answer.as_bytes()).await?;
    s.shutdown().await
}

/// An inventory with rtr-001 (192.0.2.1) and rtr-002 (host 192.0.2.2, logging
/// under its hostname), uploading to `server` with the CA file beside it.
fn inventory(dir: &Path, server: &Server, userinfo: &str) -> PathBuf {
    std::fs::write(dir.join("upload-ca.pem"), &server.ca_pem).unwrap();
    let yaml = format!(
        "policies:\n  corp:\n    block: [corp-block.acme.threatstop.local]\n    log_upload:\n      \
         url: https://{userinfo}{}/upload\n      ca_file: upload-ca.pem\n\
         defaults: {{ username: u }}\n\
         devices:\n  - {{ name: rtr-001, host: 192.0.2.1 }}\n  - {{ name: rtr-002, host: 192.0.2.2 }}\n",
        server.addr
    );
    let path = dir.join("fleet.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn r1(msg: &str) -> String {
    format!("Nov 27 01:02:03 192.0.2.1 1: *Nov 27 01:02:03.456: %SEC-6-IPACCESSLOGP: {msg}")
}
fn r2(msg: &str) -> String {
    format!("<189>Nov 27 01:02:03 rtr-002 2: %SEC-6-IPACCESSLOGP: {msg}")
}
fn text(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

struct Run {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn upload(inventory: &Path, syslog: &Path) -> Run {
    upload_with(inventory, syslog, &[]).await
}

async fn upload_with(inventory: &Path, syslog: &Path, extra: &[&str]) -> Run {
    let out = tokio::process::Command::new(tsfleet_bin())
        .args(["logs", "upload", "-i"])
        .arg(inventory)
        .arg("--syslog")
        .arg(syslog)
        .args(extra)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env_remove("TSFLEET_INVENTORY")
        .output()
        .await
        .unwrap();
    Run {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_upload_interrupted_by_a_500_resumes_and_delivers_each_line_once() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &server, "ts-user:s3cret-pw@");
    let syslog = dir.path().join("routers.log");
    let unknown = "Nov 27 01:02:03 203.0.113.9 9: %SEC-6-IPACCESSLOGP: stranger".to_string();
    let first = [r1("a1"), r2("b1"), unknown.clone(), r1("a2"), r2("b2")];
    append(&syslog, &text(&first));
    append(&syslog, &r1("a3 partial")[..20]); // no newline yet

    server.fail("rtr-002", true);
    let run = upload(&inv, &syslog).await;
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("rtr-002"), "{}", run.stderr);
    assert!(run.stderr.contains("500"), "{}", run.stderr);
    let url = format!("https://{}/upload", server.addr);
    assert!(run.stderr.contains(&url), "names the URL: {}", run.stderr);
    assert!(
        run.stdout.contains("unknown senders: 1 line") && run.stdout.contains("203.0.113.9"),
        "{}",
        run.stdout
    );
    assert_eq!(server.lines()["rtr-001"], vec![r1("a1"), r1("a2")]);

    // The partial line is completed, more lines come, the server heals.
    append(&syslog, &format!("{}\n", &r1("a3 partial")[20..]));
    append(&syslog, &text(&[r2("b3"), r1("a4")]));
    server.fail("rtr-002", false);
    let run = upload(&inv, &syslog).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert!(
        !run.stdout.contains("unknown senders"),
        "counted once: {}",
        run.stdout
    );

    let run = upload(&inv, &syslog).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert_eq!(server.requests(), 4, "nothing new: no request");

    let got = server.lines();
    assert_eq!(
        got["rtr-001"],
        vec![r1("a1"), r1("a2"), r1("a3 partial"), r1("a4")]
    );
    assert_eq!(got["rtr-002"], vec![r2("b1"), r2("b2"), r2("b3")]);
    assert_eq!(got.len(), 2, "unknown senders are never uploaded: {got:?}");
    for a in &server.rec.lock().unwrap().accepted {
        assert!(
            a.authorization
                .as_deref()
                .is_some_and(|h| h.starts_with("Basic "))
        );
        assert_eq!(a.content_type.as_deref(), Some("text/plain"));
    }
    // The URL's password is sent, never shown or stored.
    for run_text in [&run.stdout, &run.stderr] {
        assert!(!run_text.contains("s3cret"), "{run_text}");
    }
    let state =
        std::fs::read_to_string(dir.path().join("routers.log.tsfleet-upload.json")).unwrap();
    assert!(!state.contains("s3cret"), "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_upload_loses_no_line_across_rotations() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &server, "");
    let syslog = dir.path().join("routers.log");
    let rotated = dir.path().join("routers.log.1");
    let mut want1 = Vec::new();
    let mut want2 = Vec::new();
    let write = |n: &str, w1: &mut Vec<String>, w2: &mut Vec<String>, path: &Path| {
        let lines = [r1(n), r2(n)];
        w1.push(lines[0].clone());
        w2.push(lines[1].clone());
        append(path, &text(&lines));
    };

    write("before-first-upload", &mut want1, &mut want2, &syslog);
    assert!(upload(&inv, &syslog).await.ok);
    write("after-upload", &mut want1, &mut want2, &syslog);
    // logrotate (rename): the daemon writes one more line to the old file
    // before it reopens, then the new file fills.
    std::fs::rename(&syslog, &rotated).unwrap();
    write("old-file-after-rename", &mut want1, &mut want2, &rotated);
    write("new-file", &mut want1, &mut want2, &syslog);
    let run = upload(&inv, &syslog).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    let got = server.lines();
    assert_eq!(got["rtr-001"], want1);
    assert_eq!(got["rtr-002"], want2);

    // copytruncate: the file is copied to .1 and emptied.
    write("before-copytruncate", &mut want1, &mut want2, &syslog);
    std::fs::remove_file(&rotated).unwrap();
    std::fs::copy(&syslog, &rotated).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&syslog)
        .unwrap();
    write("x", &mut want1, &mut want2, &syslog);
    let run = upload(&inv, &syslog).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    let got = server.lines();
    assert_eq!(got["rtr-001"], want1);
    assert_eq!(got["rtr-002"], want2);

    // The old file is gone: a warning names each device; the new file is read from 0.
    append(&syslog, &text(&[r1("never-read")]));
    std::fs::remove_file(&rotated).unwrap();
    std::fs::remove_file(&syslog).unwrap();
    write("after-lost-rotation", &mut want1, &mut want2, &syslog);
    let run = upload(&inv, &syslog).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("warning: rtr-001") && run.stderr.contains("is gone"),
        "{}",
        run.stderr
    );
    let got = server.lines();
    assert_eq!(got["rtr-001"], want1);
    assert_eq!(got["rtr-002"], want2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_upload_refuses_a_plain_http_url_and_an_unreachable_server_keeps_the_lines() {
    let dir = tempfile::tempdir().unwrap();
    let syslog = dir.path().join("routers.log");
    append(&syslog, &text(&[r1("a1")]));
    let inv = dir.path().join("fleet.yaml");
    std::fs::write(
        &inv,
        "policies:\n  corp:\n    block: [b.threatstop.local]\n    log_upload: { url: \"http://u:s3cret@127.0.0.1:9/upload\" }\n\
         defaults: { username: u }\ndevices:\n  - { name: rtr-001, host: 192.0.2.1 }\n",
    )
    .unwrap();
    let run = upload(&inv, &syslog).await;
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(run.stderr.contains("HTTPS"), "{}", run.stderr);
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);

    // Nothing listens on the port: a network error, exit 1, the state keeps the line.
    let port = crate::harness::free_port();
    std::fs::write(
        &inv,
        format!(
            "policies:\n  corp:\n    block: [b.threatstop.local]\n    log_upload: {{ url: https://127.0.0.1:{port}/upload }}\n\
             defaults: {{ username: u }}\ndevices:\n  - {{ name: rtr-001, host: 192.0.2.1 }}\n"
        ),
    )
    .unwrap();
    let run = upload(&inv, &syslog).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("rtr-001"), "{}", run.stderr);
    let state =
        std::fs::read_to_string(dir.path().join("routers.log.tsfleet-upload.json")).unwrap();
    assert!(
        !state.contains("rtr-001"),
        "no position for a failed device: {state}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_upload_in_batches_resumes_after_the_last_accepted_one_even_across_a_rotation() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &server, "");
    let syslog = dir.path().join("routers.log");
    let want: Vec<String> = (0..10).map(|i| r1(&format!("line {i:02}"))).collect();
    append(&syslog, &text(&want[..8]));
    let per_batch = r1("line 00").len() * 2 + 2; // two lines a request
    let max = per_batch.to_string();
    let args = ["--max-body-bytes", max.as_str()];

    server.rec.lock().unwrap().budget = Some(2);
    let run = upload_with(&inv, &syslog, &args).await;
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("4 line(s) accepted before") && run.stderr.contains("other 4 line(s)"),
        "{}",
        run.stderr
    );
    assert_eq!(server.lines()["rtr-001"], want[..4]);

    // Rotated while behind: the rest of the old file comes from .1, then the new file.
    std::fs::rename(&syslog, dir.path().join("routers.log.1")).unwrap();
    append(&syslog, &text(&want[8..]));
    server.rec.lock().unwrap().budget = None;
    let run = upload_with(&inv, &syslog, &args).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert_eq!(server.lines()["rtr-001"], want);
    let accepted = server.rec.lock().unwrap().accepted.len();
    assert_eq!(accepted, 5, "two lines a request");
}
