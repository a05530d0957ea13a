//! The HTTP edge: one gzip-compressed POST of a device's new lines to its
//! policy's `log_upload.url` ([`UploadUrl`]), over HTTPS (rustls; the
//! built-in web roots plus an optional CA file), optionally through a proxy.
//! Nothing here decides what to send or remembers what was sent.

use crate::domain::{UploadUrl, redact};
use crate::inventory::LogUpload;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Header naming the device whose lines a request carries.
pub const DEVICE_HEADER: &str = "X-Tsfleet-Device";

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("cannot read the CA file {path} (log_upload.ca_file): {source}")]
    CaRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the CA file {path} (log_upload.ca_file) holds no PEM certificate: {reason}")]
    CaParse { path: PathBuf, reason: String },
    #[error("log_upload.{key} {url} is not usable: {reason}")]
    Url {
        key: &'static str,
        url: String,
        reason: String,
    },
    #[error("cannot set up the HTTPS client: {0}")]
    Client(String),
    /// The server answered, but not with a 2xx status.
    #[error("HTTP {status}")]
    Status { status: String },
    /// No answer: DNS, connection, TLS (certificate) or timeout.
    #[error("{0}")]
    Network(String),
}

/// Compress lines (each gets its newline back) as one gzip body.
pub fn gzip_lines<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    for line in lines {
        enc.write_all(line)
            .and_then(|()| enc.write_all(b"\n"))
            .expect("writing to memory");
    }
    enc.finish().expect("writing to memory")
}

/// HTTPS clients, one per distinct (CA file, proxy), built on first use.
#[derive(Default)]
pub struct Clients {
    clients: HashMap<(Option<PathBuf>, Option<String>), reqwest::Client>,
}

impl Clients {
    /// POST `body` (gzip) for `device` to `cfg.url`; `ca_file` is already
    /// resolved against the inventory's folder. Ok only for a 2xx answer.
    pub async fn post(
        &mut self,
        cfg: &LogUpload,
        ca_file: Option<&Path>,
        device: &str,
        body: Vec<u8>,
    ) -> Result<(), UploadError> {
        let client = self.client(ca_file, cfg.proxy.as_deref())?;
        let upload: UploadUrl = cfg.url.parse().map_err(|reason| UploadError::Url {
            key: "url",
            url: redact(&cfg.url),
            reason,
        })?;
        let mut url = upload.as_url().clone();
        let user = url.username().to_string();
        let password = url.password().map(str::to_string);
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let mut request = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "text/plain")
            .header(reqwest::header::CONTENT_ENCODING, "gzip")
            .header(DEVICE_HEADER, device)
            .body(body);
        if !user.is_empty() {
            request = request.basic_auth(user, password);
        }
        let response = request.send().await.map_err(network)?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(UploadError::Status {
                status: status.to_string(),
            })
        }
    }

    fn client(
        &mut self,
        ca_file: Option<&Path>,
        proxy: Option<&str>,
    ) -> Result<&reqwest::Client, UploadError> {
        let key = (ca_file.map(Path::to_path_buf), proxy.map(str::to_string));
        if !self.clients.contains_key(&key) {
            let client = build_client(ca_file, proxy)?;
            self.clients.insert(key.clone(), client);
        }
        Ok(&self.clients[&key])
    }
}

fn build_client(
    ca_file: Option<&Path>,
    proxy: Option<&str>,
) -> Result<reqwest::Client, UploadError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .https_only(true)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("tsfleet/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = ca_file {
        let pem = crate::files::read_bytes(path).map_err(|source| UploadError::CaRead {
            path: path.to_path_buf(),
            source,
        })?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| UploadError::CaParse {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(UploadError::CaParse {
                path: path.to_path_buf(),
                reason: "no `BEGIN CERTIFICATE` block".into(),
            });
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(proxy) = proxy {
        let p = reqwest::Proxy::all(proxy).map_err(|e| UploadError::Url {
            key: "proxy",
            url: redact(proxy),
            reason: e.without_url().to_string(),
        })?;
        builder = builder.proxy(p);
    }
    builder
        .build()
        .map_err(|e| UploadError::Client(e.without_url().to_string()))
}

/// A network error with its causes, never its URL (which may hold a password).
fn network(e: reqwest::Error) -> UploadError {
    let timeout = e.is_timeout();
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    if timeout {
        text.push_str(" (timed out)");
    }
    UploadError::Network(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn gzip_body_has_one_line_each() {
        let body = gzip_lines([&b"a b"[..], b"c"]);
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "a b\nc\n");
    }
}
