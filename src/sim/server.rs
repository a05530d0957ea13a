//! The SSH side of a simulated device: a russh server that identifies as
//! `SSH-2.0-Cisco-1.25`, offers modern algorithms plus the IOS legacy set (or
//! only the legacy set), authenticates by password or keyboard-interactive,
//! enforces the vty limit, and hands each shell to [`super::session::drive`].

use super::cli::Cli;
use super::profile::AuthMethod;
use super::runtime::DeviceRuntime;
use super::session::{self, Ending};
use russh::keys::{Algorithm, PrivateKey};
use russh::server::{Auth, Msg, Session};
use russh::{Channel, ChannelId, MethodKind, MethodSet, Preferred, SshId, cipher, kex, mac};
use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;

/// The identification string real IOS sends.
pub const CISCO_SSH_ID: &str = "SSH-2.0-Cisco-1.25";

/// What old IOS offers: nothing else is negotiable with a legacy-only device.
pub fn legacy_preferred() -> Preferred {
    Preferred {
        kex: Cow::Borrowed(&[kex::DH_G14_SHA1, kex::DH_G1_SHA1]),
        key: Cow::Borrowed(&[Algorithm::Rsa { hash: None }]),
        cipher: Cow::Borrowed(&[
            cipher::AES_128_CBC,
            cipher::TRIPLE_DES_CBC,
            cipher::AES_256_CBC,
        ]),
        mac: Cow::Borrowed(&[mac::HMAC_SHA1]),
        ..Preferred::DEFAULT
    }
}

/// A current IOS image: modern algorithms first, the legacy ones still accepted.
pub fn modern_preferred() -> Preferred {
    let mut p = Preferred::DEFAULT;
    p.kex = Cow::Owned(
        Preferred::DEFAULT
            .kex
            .iter()
            .cloned()
            .chain([kex::DH_G14_SHA1, kex::DH_G1_SHA1])
            .collect(),
    );
    p.cipher = Cow::Owned(
        Preferred::DEFAULT
            .cipher
            .iter()
            .cloned()
            .chain([
                cipher::AES_128_CBC,
                cipher::AES_256_CBC,
                cipher::TRIPLE_DES_CBC,
            ])
            .collect(),
    );
    p.mac = Cow::Owned(
        Preferred::DEFAULT
            .mac
            .iter()
            .cloned()
            .chain([mac::HMAC_SHA1])
            .collect(),
    );
    p
}

/// `auth` lists the login methods offered (the profile's `auth_methods`).
pub fn server_config(
    key: PrivateKey,
    legacy_only: bool,
    auth: &[AuthMethod],
) -> russh::server::Config {
    let mut methods = MethodSet::empty();
    for m in auth {
        methods.push(match m {
            AuthMethod::Password => MethodKind::Password,
            AuthMethod::KeyboardInteractive => MethodKind::KeyboardInteractive,
        });
    }
    russh::server::Config {
        server_id: SshId::Standard(Cow::Borrowed(CISCO_SSH_ID)),
        methods,
        auth_rejection_time: Duration::from_millis(300),
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![key],
        preferred: if legacy_only {
            legacy_preferred()
        } else {
            modern_preferred()
        },
        // A vty's exec-timeout.
        inactivity_timeout: Some(Duration::from_secs(600)),
        nodelay: true,
        ..Default::default()
    }
}

/// Accept connections for one device until the listener is dropped.
pub async fn serve(
    listener: TcpListener,
    device: Arc<DeviceRuntime>,
    config: Arc<russh::server::Config>,
) {
    loop {
        let Ok((socket, _peer)) = listener.accept().await else {
            continue;
        };
        let limit = device.faults().max_sessions;
        let active = device.active_sessions.fetch_add(1, Ordering::AcqRel);
        if limit.is_some_and(|max| active >= max) {
            // No free vty line: the router closes the connection at once.
            device.active_sessions.fetch_sub(1, Ordering::AcqRel);
            drop(socket);
            continue;
        }
        let device = device.clone();
        let config = config.clone();
        tokio::spawn(async move {
            let _ = socket.set_nodelay(true);
            let handler = DeviceHandler {
                device: device.clone(),
                channel: None,
            };
            if let Ok(session) = russh::server::run_stream(config, socket, handler).await {
                let _ = session.await;
            }
            device.active_sessions.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

struct DeviceHandler {
    device: Arc<DeviceRuntime>,
    channel: Option<Channel<Msg>>,
}

impl DeviceHandler {
    fn password_ok(&self, user: &str, password: &str) -> bool {
        let d = &self.device;
        user == d.username && password == d.password && !d.faults().wrong_password
    }
}

impl russh::server::Handler for DeviceHandler {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        self.device.state.lock().unwrap().stats.auth_attempts += 1;
        // russh calls this even for a method the config does not offer.
        let offered = self.device.auth_methods.contains(&AuthMethod::Password);
        Ok(if offered && self.password_ok(user, password) {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        response: Option<russh::server::Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        if !self
            .device
            .auth_methods
            .contains(&AuthMethod::KeyboardInteractive)
        {
            return Ok(Auth::reject());
        }
        let Some(mut response) = response else {
            return Ok(Auth::Partial {
                name: Cow::Borrowed(""),
                instructions: Cow::Borrowed(""),
                prompts: Cow::Owned(vec![(Cow::Borrowed("Password: "), false)]),
            });
        };
        self.device.state.lock().unwrap().stats.auth_attempts += 1;
        let answer = response
            .next()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        Ok(if self.password_ok(user, &answer) {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn auth_succeeded(&mut self, _session: &mut Session) -> Result<(), Self::Error> {
        self.device.state.lock().unwrap().stats.logins += 1;
        Ok(())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel.is_some() {
            // One shell per connection, as on a vty.
            reply
                .reject(russh::ChannelOpenFailure::ResourceShortage)
                .await;
            return Ok(());
        }
        self.channel = Some(channel);
        reply.accept().await;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(ch) = self.channel.take() else {
            session.channel_failure(channel)?;
            return Ok(());
        };
        session.channel_success(channel)?;
        let handle = session.handle();
        let device = self.device.clone();
        tokio::spawn(async move {
            let faults = device.faults();
            let cli = Cli::new(device.state.clone(), Arc::new(device.cli_options(&faults)));
            let (mut read_half, write_half) = ch.split();
            let (reader_w, reader_r) = tokio::io::duplex(64 * 1024);
            // ChannelReadHalf yields messages; turn its data into a byte stream.
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let mut reader_w = reader_w;
                while let Some(msg) = read_half.wait().await {
                    match msg {
                        russh::ChannelMsg::Data { data }
                            if reader_w.write_all(&data).await.is_err() =>
                        {
                            break;
                        }
                        russh::ChannelMsg::Eof | russh::ChannelMsg::Close => break,
                        _ => {}
                    }
                }
            });
            let ending = session::drive(
                cli,
                device.state.clone(),
                reader_r,
                write_half.make_writer(),
                device.behaviour(&faults),
            )
            .await;
            if ending == Ending::Normal {
                let _ = handle.eof(channel).await;
                let _ = handle.close(channel).await;
                // The client closes the connection once its channel is gone;
                // one that lingers is cut off so it does not hold a vty.
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            let _ = handle
                .disconnect(
                    russh::Disconnect::ByApplication,
                    String::new(),
                    String::new(),
                )
                .await;
        });
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // IOS runs a single command over exec; tsfleet never needs it and the
        // simulator keeps to interactive shells.
        session.channel_failure(channel)?;
        Ok(())
    }
}
