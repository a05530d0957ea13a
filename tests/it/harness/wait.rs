//! Waiting in tests: poll a condition until it holds or a deadline passes.
//! Tests synchronise on what they can observe (a file, a counter, a
//! listener, a prompt), never on a fixed sleep, which is either too short
//! under load or wastes time.

use std::time::{Duration, Instant};

/// How often a condition is polled: short against any deadline here.
const POLL: Duration = Duration::from_millis(20);

/// Poll `cond` until it returns true; panic naming `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, cond: impl FnMut() -> bool) {
    assert!(
        holds_within(timeout, cond),
        "gave up after {timeout:?} waiting for {what}"
    );
}

/// Poll `cond` until it returns true (true) or `timeout` passes (false), for
/// callers that add their own diagnostics to the failure.
pub fn holds_within(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !cond() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
    true
}

/// [`wait_until`] on the async runtime, so the simulator it may be waiting
/// for keeps running on the same threads.
pub async fn wait_until_async(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "gave up after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}
