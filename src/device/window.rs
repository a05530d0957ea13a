//! Flow control of the pipelined push ([`super::shell::CliSession::push`]):
//! how many configuration lines may be in flight, how many to send in one
//! write, and how long a silence means input was lost. Pure decisions, no
//! I/O: the session counts answers and losses, this says what follows.
//!
//! The window is TCP's congestion control counted in lines: slow start
//! (one more line per answer, so it doubles every round trip), a hard
//! back-off when the device drops input, then slow growth above the
//! threshold where it dropped input before.

use std::time::Duration;

/// Lines in flight when a session starts: enough to fill a round trip to
/// a nearby router at once, few enough that a slow one loses little of it.
pub const INITIAL_WINDOW: usize = 64;

/// Largest window of lines in flight; the device's own input buffer is the
/// real limit, and it shows itself by losing input long before this.
pub const MAX_WINDOW: usize = 2048;

/// Smallest window: one line at a time still makes progress.
pub const MIN_WINDOW: usize = 1;

/// A refill waits until this fraction (1/8) of the window is free: a write
/// per answered line would cost an SSH packet each way for nothing.
const REFILL_FRACTION: usize = 8;

/// On a loss the window shrinks to a quarter: the device's buffer has just
/// overflowed and still holds a backlog to work through.
const LOSS_SHRINK: usize = 4;

/// On a loss, slow start will stop at half the window that overflowed:
/// above that the device lost input before, so growth goes slowly there.
const LOSS_THRESHOLD: usize = 2;

/// The lines-in-flight window of one CLI session; it carries over from one
/// push to the next, since it describes the device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushWindow {
    /// Lines in flight the device has shown it can take.
    window: usize,
    /// Above this, the window grows slowly: the device lost input there before.
    threshold: usize,
    /// Answers counted towards the next slow increase.
    acks: usize,
}

impl Default for PushWindow {
    fn default() -> Self {
        PushWindow {
            window: INITIAL_WINDOW,
            threshold: MAX_WINDOW,
            acks: 0,
        }
    }
}

impl PushWindow {
    /// Lines that may be in flight now.
    pub fn size(&self) -> usize {
        self.window
    }

    /// How many lines to send now, given `in_flight` lines sent and not yet
    /// answered and `left` lines not sent yet; 0 means wait for answers.
    ///
    /// With nothing in flight a batch is always sent; otherwise only once a
    /// refill's worth of the window is free, and then it fills the window.
    /// Never more than `left`.
    pub fn batch(&self, in_flight: usize, left: usize) -> usize {
        let refill = (self.window / REFILL_FRACTION).max(1);
        if in_flight == 0 || in_flight + refill <= self.window {
            left.min(self.window.saturating_sub(in_flight))
        } else {
            0
        }
    }

    /// A line answered: grow the window, by one per answer below the
    /// threshold (doubling every round trip) and by one per window above it.
    pub fn on_ack(&mut self) {
        if self.window >= MAX_WINDOW {
            return;
        }
        if self.window < self.threshold {
            self.window += 1;
        } else {
            self.acks += 1;
            if self.acks >= self.window {
                self.acks = 0;
                self.window += 1;
            }
        }
    }

    /// Input was lost (the device's buffer overflowed): back off hard and
    /// remember where it happened.
    pub fn on_loss(&mut self) {
        self.threshold = (self.window / LOSS_THRESHOLD).max(MIN_WINDOW);
        self.window = (self.window / LOSS_SHRINK).max(MIN_WINDOW);
        self.acks = 0;
    }
}

/// Silence tolerated before the first answer of a push, before the device's
/// pace is known: longer than a loaded router's answer to one line, short
/// enough that a lost tail is noticed quickly.
const INITIAL_STALL: Duration = Duration::from_millis(1500);

/// The stall timer is kept at least this many times the time the last
/// answer took: a device's pace varies, a loss is a silence well beyond it.
const STALL_FACTOR: u32 = 8;

/// Shortest stall timer: below this, scheduling noise on a busy host would
/// look like lost input.
const MIN_STALL: Duration = Duration::from_millis(500);

/// Bare prompts asked for on silence and not answered yet; one more
/// silence and the push gives up: a device that answers none of them is
/// gone, not slow.
pub const MAX_MARKERS: usize = 3;

/// The stall timer at the start of a push: [`INITIAL_STALL`], or the
/// inactivity timeout if that is shorter.
pub fn first_stall(inactivity: Duration) -> Duration {
    INITIAL_STALL.min(inactivity)
}

/// The stall timer after an answer that took `answered_in`: it never
/// shrinks below what it was, follows a slow device up, and stays above
/// [`MIN_STALL`], but never beyond `inactivity`, the longest silence the
/// user tolerates while an answer is due.
pub fn next_stall(stall: Duration, answered_in: Duration, inactivity: Duration) -> Duration {
    stall
        .max(answered_in * STALL_FACTOR)
        .max(MIN_STALL)
        .min(inactivity)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window after `losses` losses from the start, then `acks` answers.
    fn window_after(losses: usize, acks: usize) -> PushWindow {
        let mut w = PushWindow::default();
        for _ in 0..losses {
            w.on_loss();
        }
        for _ in 0..acks {
            w.on_ack();
        }
        w
    }

    #[test]
    fn starts_in_slow_start() {
        let w = PushWindow::default();
        assert_eq!(w.size(), INITIAL_WINDOW);
        assert_eq!(w.threshold, MAX_WINDOW);
    }

    #[test]
    fn slow_start_doubles_every_round_trip() {
        // One round trip answers a whole window.
        let w = window_after(0, INITIAL_WINDOW);
        assert_eq!(w.size(), 2 * INITIAL_WINDOW);
        let w = window_after(0, INITIAL_WINDOW + 2 * INITIAL_WINDOW);
        assert_eq!(w.size(), 4 * INITIAL_WINDOW);
    }

    #[test]
    fn a_loss_quarters_the_window_and_halves_the_threshold() {
        let mut w = window_after(0, INITIAL_WINDOW); // 128
        w.acks = 5;
        w.on_loss();
        assert_eq!(w.size(), 2 * INITIAL_WINDOW / 4);
        assert_eq!(w.threshold, 2 * INITIAL_WINDOW / 2);
        assert_eq!(w.acks, 0);
    }

    #[test]
    fn after_a_loss_growth_is_fast_to_the_threshold_then_one_per_window() {
        let mut w = PushWindow::default();
        w.on_loss(); // window 16, threshold 32
        assert_eq!((w.size(), w.threshold), (16, 32));
        for _ in 0..16 {
            w.on_ack();
        }
        assert_eq!(w.size(), 32, "slow start up to the threshold");
        for _ in 0..31 {
            w.on_ack();
        }
        assert_eq!(
            w.size(),
            32,
            "above the threshold a window of answers is needed"
        );
        w.on_ack();
        assert_eq!(w.size(), 33);
        for _ in 0..32 {
            w.on_ack();
        }
        assert_eq!(w.size(), 33);
        w.on_ack();
        assert_eq!(w.size(), 34);
    }

    #[test]
    fn never_below_the_minimum() {
        let w = window_after(20, 0);
        assert_eq!(w.size(), MIN_WINDOW);
        assert_eq!(w.threshold, MIN_WINDOW);
        assert_eq!(w.batch(0, 100), MIN_WINDOW);
        // From the minimum, growth is one line per window of answers.
        let w = window_after(20, 1);
        assert_eq!(w.size(), 2);
    }

    #[test]
    fn never_above_the_maximum() {
        let w = window_after(0, 10 * MAX_WINDOW);
        assert_eq!(w.size(), MAX_WINDOW);
        assert_eq!(w.batch(0, 10 * MAX_WINDOW), MAX_WINDOW);
        // Also when the maximum is reached above a threshold.
        let mut w = window_after(0, MAX_WINDOW - INITIAL_WINDOW);
        assert_eq!(w.size(), MAX_WINDOW);
        w.on_loss();
        for _ in 0..MAX_WINDOW * MAX_WINDOW {
            w.on_ack();
        }
        assert_eq!(w.size(), MAX_WINDOW);
    }

    #[test]
    fn nothing_in_flight_sends_a_full_window_or_what_is_left() {
        let w = PushWindow::default();
        assert_eq!(w.batch(0, 1000), INITIAL_WINDOW);
        assert_eq!(w.batch(0, 10), 10);
        assert_eq!(w.batch(0, 0), 0);
    }

    #[test]
    fn a_refill_waits_for_an_eighth_of_the_window() {
        let w = PushWindow::default(); // 64: refills of at least 8
        assert_eq!(w.batch(INITIAL_WINDOW, 1000), 0, "window full");
        assert_eq!(w.batch(57, 1000), 0, "only 7 free");
        assert_eq!(w.batch(56, 1000), 8, "8 free: fill them");
        assert_eq!(w.batch(20, 1000), 44, "fills the window, not just 8");
        assert_eq!(w.batch(20, 5), 5, "never more than is left");
        assert_eq!(w.batch(20, 0), 0);
    }

    #[test]
    fn small_windows_refill_a_line_at_a_time() {
        let w = window_after(2, 0); // 64 / 4 / 4 = 4
        assert_eq!(w.size(), 4);
        assert_eq!(w.batch(3, 100), 1);
        assert_eq!(w.batch(4, 100), 0);
    }

    #[test]
    fn more_in_flight_than_a_shrunk_window_waits() {
        // A loss leaves the lines already sent in flight.
        let w = window_after(1, 0); // 16
        assert_eq!(w.batch(40, 100), 0);
        assert_eq!(w.batch(16, 100), 0);
        assert_eq!(w.batch(0, 100), 16);
    }

    #[test]
    fn the_stall_timer_follows_a_slow_device_up() {
        let inactivity = Duration::from_secs(30);
        let ms = Duration::from_millis;
        // A fast device: the timer stays where it was.
        assert_eq!(next_stall(INITIAL_STALL, ms(1), inactivity), INITIAL_STALL);
        // A slow answer: eight times it.
        assert_eq!(next_stall(INITIAL_STALL, ms(400), inactivity), ms(3200));
        // It does not shrink back when answers speed up again.
        assert_eq!(next_stall(ms(3200), ms(1), inactivity), ms(3200));
        // Never below the floor.
        assert_eq!(next_stall(ms(10), ms(1), inactivity), MIN_STALL);
        // A timer above the inactivity timeout is brought back to it.
        assert_eq!(next_stall(ms(60_000), ms(1), inactivity), inactivity);
    }

    #[test]
    fn the_stall_timer_never_exceeds_the_inactivity_timeout() {
        let ms = Duration::from_millis;
        // A very slow answer would ask for 8 × 5 s = 40 s of silence.
        let inactivity = Duration::from_secs(30);
        assert_eq!(next_stall(INITIAL_STALL, ms(5000), inactivity), inactivity);
        // An inactivity timeout shorter than the floor or the first timer wins.
        let inactivity = ms(200);
        assert_eq!(next_stall(ms(200), ms(1), inactivity), inactivity);
        assert_eq!(first_stall(inactivity), inactivity);
        assert_eq!(first_stall(Duration::from_secs(30)), INITIAL_STALL);
    }
}
