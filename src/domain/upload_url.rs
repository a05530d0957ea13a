//! The URLs of `log_upload`: the upload endpoint (HTTPS only) and the
//! optional proxy (HTTP or HTTPS). Both may carry `user:password@`, which
//! `Display` never shows.

use reqwest::Url;
use std::fmt;
use std::str::FromStr;

/// A checked `log_upload.url`: HTTPS with a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadUrl(Url);

/// A checked `log_upload.proxy`: `http://` or `https://`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyUrl(Url);

impl UploadUrl {
    /// The full URL, credentials included: for the request only, never a message.
    pub fn as_url(&self) -> &Url {
        &self.0
    }
}

impl ProxyUrl {
    /// The full URL, credentials included: for the client only, never a message.
    pub fn as_url(&self) -> &Url {
        &self.0
    }
}

impl FromStr for UploadUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let u = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
        if u.scheme() != "https" {
            return Err(format!(
                "the scheme is `{}`; logs are uploaded over HTTPS only (https://...)",
                u.scheme()
            ));
        }
        if u.host_str().is_none_or(str::is_empty) {
            return Err("no host".into());
        }
        Ok(UploadUrl(u))
    }
}

impl FromStr for ProxyUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let u = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(format!(
                "the scheme is `{}`; use http://HOST:PORT or https://HOST:PORT",
                u.scheme()
            ));
        }
        Ok(ProxyUrl(u))
    }
}

/// Without `user:password@`.
impl fmt::Display for UploadUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&masked(&self.0))
    }
}

/// Without `user:password@`.
impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&masked(&self.0))
    }
}

fn masked(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// Any URL text made fit for a message: `user:password@` removed, and a
/// text that is no URL at all (it may be a mistyped secret) not shown.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => masked(&u),
        Err(_) => "<unparsable URL>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_drops_userinfo() {
        assert_eq!(
            redact("https://user:s3cret@logs.example.net/up?x=1"),
            "https://logs.example.net/up?x=1"
        );
        assert_eq!(
            redact("https://logs.example.net/"),
            "https://logs.example.net/"
        );
        assert!(!redact("not a url s3cret").contains("s3cret"));
    }

    #[test]
    fn upload_urls_are_https_and_never_show_the_password() {
        let u: UploadUrl = "https://user:s3cret@logs.example.net/up".parse().unwrap();
        assert_eq!(u.to_string(), "https://logs.example.net/up");
        assert_eq!(u.as_url().password(), Some("s3cret"));
        assert!(
            "http://logs.example.net/up"
                .parse::<UploadUrl>()
                .unwrap_err()
                .contains("HTTPS only")
        );
        assert!("logs.example.net".parse::<UploadUrl>().is_err());
    }

    #[test]
    fn proxies_are_http_or_https() {
        let p: ProxyUrl = "http://u:pw@proxy:3128".parse().unwrap();
        assert!(!p.to_string().contains("pw"));
        assert!("ftp://proxy".parse::<ProxyUrl>().is_err());
    }
}
