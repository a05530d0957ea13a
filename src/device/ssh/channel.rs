//! The session channel as a byte pipe to the vty: opening it with a PTY
//! and a shell, sending without deadlocking against the device's echo,
//! receiving, and a bounded polite close.

use super::handler::Client;
use super::{HostKeyStatus, Negotiated, SshTarget};
use crate::device::DeviceError;
use crate::device::error::FloodPast;
use crate::device::shell::ANSWER_CEILING;
use russh::client;
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Disconnect};
use std::collections::VecDeque;
use std::time::Duration;

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

/// What the device may send while a `send` waits for window space (its
/// echo and answers to earlier lines): beyond the largest answer tsfleet
/// ever takes ([`ANSWER_CEILING`]) it is flooding, not answering.
const MAX_PENDING: usize = ANSWER_CEILING;

// What sits between the socket and `recv` is bounded by russh, not by the
// SSH window: the client session adjusts the window as packets arrive
// (russh `client/encrypted.rs`, `CHANNEL_DATA`: `adjust_window_size` and
// then `chan.send(..).await`), but it hands each packet to a bounded queue
// of `channel_buffer_size` messages (100 by default, kept in
// `algorithms::client_config`) of at most `maximum_packet_size` (32 KiB):
// when `recv` stops reading, the queue fills, the session stops reading the
// socket, the window closes, and the device must stop. So at most ~3 MiB
// per device waits unread; the answer's own cap is in `shell`.

impl Shell {
    /// Open a session channel on the logged-in connection, with a PTY and
    /// a shell on it.
    pub(super) async fn open(
        target: &SshTarget,
        handle: client::Handle<Client>,
        host_key: HostKeyStatus,
        negotiated: Negotiated,
    ) -> Result<Shell, DeviceError> {
        let addr = target.addr();
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
        // Both requests go out before either answer (one round trip, not
        // two): a server answers a channel's requests in order (RFC 4254
        // §5.4), so the first answer is the PTY's, and a shell started on a
        // refused PTY is never used (the refusal fails the login).
        writer
            .request_shell(true)
            .await
            .map_err(|e| refused("cannot request a shell", e.to_string()))?;
        let mut pending = VecDeque::new();
        await_reply(&mut reader, &mut pending)
            .await
            .map_err(|e| refused("the device refused a PTY", e))?;
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
        let mut kept: usize = pending.iter().map(Vec::len).sum();
        let began = std::time::Instant::now();
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
                        kept += data.len();
                        if kept > MAX_PENDING {
                            // Not an echo: the device floods and gives no window.
                            return Err(DeviceError::Flood {
                                device: device.clone(),
                                doing: format!("waiting for window to send {} bytes", bytes.len()),
                                received: kept,
                                elapsed: began.elapsed(),
                                past: FloodPast::Bytes(MAX_PENDING),
                            });
                        }
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
    /// seconds, whatever the device does, and never for the device's answer:
    /// the channel close and the disconnect go out in order behind what was
    /// typed (`exit`), and the disconnect ends the session at the device,
    /// freeing its vty, without the round trip of its acknowledgement.
    pub async fn close(self) {
        let _ = tokio::time::timeout(CLOSE_STEP, async {
            let _ = self.writer.eof().await;
            let _ = self.writer.close().await;
        })
        .await;
        let _ = tokio::time::timeout(
            CLOSE_STEP,
            self.handle
                .disconnect(Disconnect::ByApplication, "tsfleet done", "en"),
        )
        .await;
    }
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
