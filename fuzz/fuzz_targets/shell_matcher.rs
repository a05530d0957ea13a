//! The prompt and echo matcher of `device::shell::CliSession`, driven for
//! real over a scripted `Link`: the fuzzer's bytes are what the "device"
//! sends, cut into chunks where the input says. Every path must end in `Ok`
//! or a `DeviceError`: never a panic, never a hang.
//!
//! Input format (kept textual so seeds are readable transcripts):
//! - byte 0: options; bit 0: an enable secret is configured, bit 1: Ctrl-C
//!   (the cancel token) is already pressed before the push;
//! - the rest: device output. `0xFF` ends a chunk (one `recv`), `0xFE` is a
//!   silence (that `recv` never answers, so a timeout fires). Neither byte
//!   occurs in UTF-8 text. After the last chunk `recv` returns `None` (the
//!   device closed the session).
//!
//! Time is tokio's paused clock: timeouts fire as soon as nothing else can
//! run, so a run with silences costs no wall time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use std::time::Duration;
use tsfleet::device::DeviceError;
use tsfleet::device::shell::{CliSession, Link, PushResult, Timeouts};
use tsfleet::device::transcript::Transcript;

const CHUNK_END: u8 = 0xFF;
const SILENCE: u8 = 0xFE;

enum Step {
    Bytes(Vec<u8>),
    Silence,
}

struct ScriptedLink {
    script: VecDeque<Step>,
    sent: usize,
}

impl Link for ScriptedLink {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
        self.sent += bytes.len();
        Ok(())
    }

    async fn recv(&mut self) -> Option<Vec<u8>> {
        match self.script.pop_front()? {
            Step::Bytes(b) => Some(b),
            // Every `recv` of the session runs under a timeout, which drops this.
            Step::Silence => std::future::pending().await,
        }
    }
}

fn script(data: &[u8]) -> VecDeque<Step> {
    let mut steps = VecDeque::new();
    let mut chunk = Vec::new();
    for &b in data {
        match b {
            CHUNK_END => steps.push_back(Step::Bytes(std::mem::take(&mut chunk))),
            SILENCE => {
                if !chunk.is_empty() {
                    steps.push_back(Step::Bytes(std::mem::take(&mut chunk)));
                }
                steps.push_back(Step::Silence);
            }
            b => chunk.push(b),
        }
    }
    if !chunk.is_empty() {
        steps.push_back(Step::Bytes(chunk));
    }
    steps
}

async fn session(options: u8, data: &[u8]) {
    let link = ScriptedLink {
        script: script(data),
        sent: 0,
    };
    let secret = "s3cret";
    let timeouts = Timeouts {
        inactivity: Duration::from_secs(30),
        deadline: tokio::time::Instant::now() + Duration::from_secs(600),
        answer_bytes: tsfleet::device::shell::ANSWER_CEILING,
    };
    let transcript = Transcript::none(vec![secret.to_string()]);
    let Ok(mut s) = CliSession::start(link, "fuzz", timeouts, transcript).await else {
        return;
    };
    let _ = s.hostname();
    // Each step runs whatever the one before returned: after an error the
    // real code still leaves config mode and logs out over the same session.
    let _ = s.enable((options & 1 != 0).then_some(secret)).await;
    let _ = s.command("show object-group name TSFLEET-BLOCK").await;
    let _ = s
        .commands(&["configure terminal", "object-group network TSFLEET-BLOCK"])
        .await;
    if options & 2 != 0 {
        s.cancel.cancel();
    }
    let lines: Vec<String> = [
        "no host 192.0.2.1",
        "host 198.51.100.7",
        "203.0.113.0 255.255.255.0",
        "host 198.51.100.7",
    ]
    .iter()
    .map(|l| l.to_string())
    .collect();
    let mut r = PushResult::default();
    if s.push(&lines, options & 4 != 0, &mut r).await.is_ok() {
        // Each line sent is settled once: confirmed, refused or lost; all
        // are sent unless a refusal or a stop held the rest back.
        assert_eq!(r.confirmed + r.lost + r.errors.len(), r.sent);
        assert!(r.sent == lines.len() || !r.errors.is_empty() || r.stopped);
    }
    let _ = s.leave_config().await;
    let _ = s.logout().await;
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
}

fuzz_target!(|data: &[u8]| {
    let Some((&options, rest)) = data.split_first() else {
        return;
    };
    RUNTIME.with(|rt| rt.block_on(session(options, rest)));
});
