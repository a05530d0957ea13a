//! The russh client handler: judges the server's host key (through
//! [`super::known_hosts`]) and records the negotiated algorithms, for
//! [`super::connect`] to read back once the handshake is over.

use super::known_hosts::{HostKeyCheck, verify_host_key};
use super::{HostKeyStatus, Negotiated};
use crate::domain::escape_controls;
use russh::client;
use russh::keys::PublicKeyOrCertificate;
use std::sync::{Arc, Mutex};

/// What the handler found out, read back once the handshake is over.
#[derive(Default)]
pub(super) struct Outcome {
    pub(super) host_key: Option<HostKeyStatus>,
    pub(super) negotiated: Negotiated,
}

/// Handles russh's callbacks during the handshake and login.
pub(super) struct Client {
    pub(super) target: Arc<HostKeyCheck>,
    pub(super) outcome: Arc<Mutex<Outcome>>,
}

/// The handler's error: russh's, or a host-key verdict with its message.
#[derive(Debug)]
pub(super) enum ClientError {
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
        let banner = escape_controls(banner.trim_end());
        tracing::debug!(device = %self.target.device, banner = %banner, "login banner");
        Ok(())
    }
}
