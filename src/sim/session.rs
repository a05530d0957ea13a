//! Drives one CLI session over any byte stream (an SSH channel or
//! stdin/stdout): applies the cost model and the round-trip latency, and
//! the per-session faults (disconnect, hang, flood, dropped input).
//!
//! Three tasks, so a slow device never deadlocks its own transport: a
//! reader that queues input (this is where back-pressure starts: when the
//! queue is full the reader stops reading and the transport stalls), a
//! processor that feeds the CLI line by line and pays each line's cost, and
//! a writer that delivers output once its latency has passed.

use super::cli::Cli;
use super::device::SharedState;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Session-level behaviour taken from the device's settings and faults.
#[derive(Clone, Debug, Default)]
pub struct SessionBehaviour {
    pub rtt: Duration,
    pub disconnect_after_lines: Option<u64>,
    pub hang_after_lines: Option<u64>,
    pub flood_after_lines: Option<u64>,
    /// Between two lines of the flood.
    pub flood_pause: Duration,
    pub drop_input_over_bytes: Option<usize>,
    /// Every byte of output in a write of its own.
    pub byte_writes: bool,
}

/// What the processor hands the writer.
enum Out {
    /// Bytes to deliver once their time has come.
    At(Instant, Vec<u8>),
    /// Stream flood lines until the client stops taking them, this long
    /// apart (as fast as the transport takes them when zero).
    Flood(Duration),
}

/// One line of the flood: output with no prompt in it.
const FLOOD_LINE: &[u8] = b"flood: this device streams output and never prints its prompt\r\n";

/// How the session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// `exit`/`logout`, or the client closed its side.
    Normal,
    /// The disconnect fault fired: the transport should drop the connection.
    Disconnect,
}

/// Chunks of at most this many bytes wait in the input queue.
const QUEUE_CHUNKS: usize = 64;

pub async fn drive<R, W>(
    mut cli: Cli,
    state: SharedState,
    mut input: R,
    mut output: W,
    behaviour: SessionBehaviour,
) -> Ending
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let unread = Arc::new(AtomicUsize::new(0));
    let (in_tx, mut in_rx) = mpsc::channel::<Vec<u8>>(QUEUE_CHUNKS);
    let reader_unread = unread.clone();
    let drop_over = behaviour.drop_input_over_bytes;
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match input.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let pending = reader_unread.load(Ordering::Acquire);
            if let Some(limit) = drop_over
                && pending + n > limit
            {
                // The fault: a device whose input buffer overflows loses bytes.
                continue;
            }
            reader_unread.fetch_add(n, Ordering::AcqRel);
            if in_tx.send(buf[..n].to_vec()).await.is_err() {
                break;
            }
        }
    });

    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Out>();
    let flood_state = state.clone();
    let byte_writes = behaviour.byte_writes;
    let writer = tokio::spawn(async move {
        let mut pending = Vec::new();
        let mut held: Option<(Instant, Vec<u8>)> = None;
        let mut flood_pause = None;
        'deliver: loop {
            let (due, bytes) = match held.take() {
                Some(item) => item,
                None => match out_rx.recv().await {
                    Some(Out::At(due, bytes)) => (due, bytes),
                    Some(Out::Flood(pause)) => {
                        flood(&mut output, pause, &flood_state).await;
                        break;
                    }
                    None => break,
                },
            };
            tokio::time::sleep_until(due).await;
            // Everything else already due goes out in the same write, as a
            // real device's TCP stack would coalesce it.
            pending.extend_from_slice(&bytes);
            while pending.len() < 32 * 1024 {
                match out_rx.try_recv() {
                    Ok(Out::At(due, more)) if due <= Instant::now() => {
                        pending.extend_from_slice(&more)
                    }
                    Ok(Out::At(due, later)) => {
                        held = Some((due, later));
                        break;
                    }
                    Ok(Out::Flood(pause)) => {
                        flood_pause = Some(pause);
                        break;
                    }
                    Err(_) => break,
                }
            }
            let writes: Vec<&[u8]> = if byte_writes {
                pending.chunks(1).collect()
            } else {
                vec![&pending]
            };
            for bytes in writes {
                if output.write_all(bytes).await.is_err() || output.flush().await.is_err() {
                    break 'deliver;
                }
            }
            pending.clear();
            if let Some(pause) = flood_pause {
                flood(&mut output, pause, &flood_state).await;
                break;
            }
        }
        let _ = output.shutdown().await;
    });

    let rtt = behaviour.rtt;
    let send = |bytes: Vec<u8>| {
        if !bytes.is_empty() {
            let _ = out_tx.send(Out::At(Instant::now() + rtt, bytes));
        }
    };
    send(cli.greeting());

    let mut lines_seen: u64 = 0;
    // The device's own clock: when it will have finished what it was given.
    let mut busy_until = Instant::now();
    let mut ending = Ending::Normal;
    'session: while let Some(chunk) = in_rx.recv().await {
        for piece in split_after_terminators(&chunk) {
            let in_config = cli.in_config_mode();
            let step = cli.input(piece);
            lines_seen += u64::from(step.lines);
            if in_config && step.lines > 0 {
                state.lock().unwrap().stats.config_lines += u64::from(step.lines);
            }
            if !step.cost.is_zero() {
                // Timers overshoot by up to a tick; credit that back (but not
                // idle time) so the device's average rate is exactly its cost.
                let now = Instant::now();
                busy_until = busy_until
                    .max(now.checked_sub(Duration::from_millis(2)).unwrap_or(now))
                    + step.cost;
                // Sleep only when the debt is worth a timer tick; the average rate stays exact.
                if busy_until > Instant::now() + Duration::from_millis(1) {
                    tokio::time::sleep_until(busy_until).await;
                }
            }
            // Input counts as read once the device has processed it, not when queued.
            unread.fetch_sub(piece.len(), Ordering::AcqRel);
            if behaviour.flood_after_lines.is_some_and(|n| lines_seen >= n) {
                // Flooding: the writer streams; input is read and ignored.
                let _ = out_tx.send(Out::Flood(behaviour.flood_pause));
                while in_rx.recv().await.is_some() {}
                break 'session;
            }
            if behaviour.hang_after_lines.is_some_and(|n| lines_seen >= n) {
                // Hung: read and ignore everything, answer nothing, until the client gives up.
                while in_rx.recv().await.is_some() {}
                break 'session;
            }
            send(step.output);
            if step.close {
                break 'session;
            }
            if behaviour
                .disconnect_after_lines
                .is_some_and(|n| lines_seen >= n)
            {
                ending = Ending::Disconnect;
                break 'session;
            }
        }
    }
    if cli.in_config_mode() {
        state.lock().unwrap().stats.left_in_config_mode += 1;
    }
    reader.abort();
    if ending == Ending::Disconnect {
        writer.abort();
    } else {
        drop(out_tx);
        let _ = writer.await;
    }
    ending
}

/// The flood fault: write [`FLOOD_LINE`]s until the client stops taking
/// them (each write waits for the transport, so the client's SSH window
/// sets the pace), counting the bytes that got out.
async fn flood<W: AsyncWrite + Unpin>(output: &mut W, pause: Duration, state: &SharedState) {
    let block = if pause.is_zero() {
        FLOOD_LINE.repeat(32 * 1024 / FLOOD_LINE.len())
    } else {
        FLOOD_LINE.to_vec()
    };
    loop {
        if output.write_all(&block).await.is_err() || output.flush().await.is_err() {
            return;
        }
        state.lock().unwrap().stats.flood_bytes += block.len() as u64;
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
}

/// Split input so each piece ends right after a line terminator (or is the
/// trailing partial line), letting the processor pay each line's cost in turn.
fn split_after_terminators(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .map(|i| {
                // Keep a `\r\n` pair together.
                if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                    i + 2
                } else {
                    i + 1
                }
            })
            .unwrap_or(rest.len());
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::cli::{CliOptions, CostModel};
    use crate::sim::device::DeviceState;
    use std::sync::Mutex;
    use tokio::io::AsyncBufReadExt;

    /// A CLI driven over an in-memory pipe; returns the client's ends.
    fn start(
        options: CliOptions,
        behaviour: SessionBehaviour,
    ) -> (
        tokio::io::DuplexStream,
        tokio::io::BufReader<tokio::io::DuplexStream>,
        SharedState,
    ) {
        let state: SharedState = Arc::new(Mutex::new(DeviceState {
            hostname: "R1".into(),
            version: "15.7(3)M5".into(),
            ..Default::default()
        }));
        let (client_in, device_in) = tokio::io::duplex(1 << 20);
        let (device_out, client_out) = tokio::io::duplex(1 << 20);
        let cli = Cli::new(state.clone(), Arc::new(options));
        tokio::spawn(drive(cli, state.clone(), device_in, device_out, behaviour));
        (client_in, tokio::io::BufReader::new(client_out), state)
    }

    async fn read_until(
        out: &mut tokio::io::BufReader<tokio::io::DuplexStream>,
        text: &str,
    ) -> String {
        let mut seen = Vec::new();
        while !String::from_utf8_lossy(&seen).ends_with(text) {
            let mut byte = Vec::new();
            out.read_until(text.as_bytes()[text.len() - 1], &mut byte)
                .await
                .unwrap();
            assert!(
                !byte.is_empty(),
                "stream ended before {text:?}: {:?}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend(byte);
        }
        String::from_utf8_lossy(&seen).into_owned()
    }

    #[tokio::test]
    async fn every_answer_waits_for_the_round_trip() {
        let started = Instant::now();
        let rtt = Duration::from_millis(150);
        let (_input, mut output, _) = start(
            CliOptions::default(),
            SessionBehaviour {
                rtt,
                ..Default::default()
            },
        );
        read_until(&mut output, "R1>").await;
        assert!(
            started.elapsed() >= rtt,
            "the greeting came back after {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn configuration_lines_cost_their_processing_time() {
        let options = CliOptions {
            enable_secret: "s".into(),
            privileged_login: true,
            cost: CostModel {
                line_cost: Duration::from_millis(10),
                per_1000_entries: Duration::ZERO,
            },
            ..Default::default()
        };
        let (mut input, mut output, state) = start(options, SessionBehaviour::default());
        read_until(&mut output, "R1#").await;
        input
            .write_all(b"configure terminal\nobject-group network G\n")
            .await
            .unwrap();
        read_until(&mut output, "(config-network-group)#").await;
        let started = Instant::now();
        let lines: String = (1..=30).map(|i| format!("host 192.0.2.{i}\n")).collect();
        input.write_all(lines.as_bytes()).await.unwrap();
        input.write_all(b"end\n").await.unwrap();
        read_until(&mut output, "R1#").await;
        let elapsed = started.elapsed();
        // 31 configuration lines at 10 ms each; the pipe itself costs nothing.
        assert!(elapsed >= Duration::from_millis(300), "took {elapsed:?}");
        assert_eq!(state.lock().unwrap().running.groups[0].entries.len(), 30);
        assert!(state.lock().unwrap().stats.config_lines >= 31);
    }

    #[test]
    fn splits_after_each_terminator_keeping_crlf_pairs() {
        let pieces: Vec<&[u8]> = split_after_terminators(b"a\r\nb\nc\rpartial").collect();
        assert_eq!(pieces, vec![&b"a\r\n"[..], b"b\n", b"c\r", b"partial"]);
    }
}
