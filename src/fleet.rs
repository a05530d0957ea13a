//! Fan-out over the fleet: runs one job per device with a concurrency limit,
//! a connect-rate limit with jitter and no burst (AAA servers lock out
//! bursts), logins that slow-start (one device first, more once logins are
//! accepted), retries with backoff for transient connect errors only, a
//! canary wave first, and the stops: after K refused credentials (so an
//! account is not locked fleet-wide), after a failure budget, and on a stop
//! signal (Ctrl-C, SIGTERM, SIGHUP: the cancellation token). A stopped run
//! launches nothing new, lets no device send credentials (the check is right
//! before each login) and ends its rate-limit and backoff waits; devices
//! already logged in finish (the device session itself stops pushing and
//! leaves configuration mode); the rest are skipped with the reason.
//!
//! Generic over the job, so the scheduling is tested without a network.

use crate::device::DeviceError;
use crate::device::login::{Login, LoginGate, Stopped, Verdict};
use crate::domain::ErrorClass;
use governor::clock::DefaultClock;
use governor::{Jitter, Quota, RateLimiter};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A failure budget: `N` devices or `P%` of the devices in the run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FailureBudget {
    Count(usize),
    Percent(f64),
}

impl FailureBudget {
    /// The number of failures that stops the run, for `total` devices.
    pub fn limit(self, total: usize) -> usize {
        match self {
            FailureBudget::Count(n) => n,
            FailureBudget::Percent(p) => ((p / 100.0) * total as f64).ceil().max(1.0) as usize,
        }
    }
}

impl std::str::FromStr for FailureBudget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad =
            || format!("{s:?} is not a failure budget: use a count (5) or a percentage (10%)");
        match s.trim().strip_suffix('%') {
            Some(p) => {
                let p: f64 = p.trim().parse().map_err(|_| bad())?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(bad());
                }
                Ok(FailureBudget::Percent(p))
            }
            None => s
                .trim()
                .parse()
                .map(FailureBudget::Count)
                .map_err(|_| bad()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct FanOutSettings {
    pub concurrency: usize,
    /// New connections per second, fleet-wide (0 = unlimited).
    pub connect_rate: f64,
    /// Random delay added to each connection start, up to this.
    pub jitter: Duration,
    /// Extra attempts for transient connect errors.
    pub retries: u32,
    /// First retry delay; doubled each attempt.
    pub backoff: Duration,
    /// Stop after this many authentication failures (0 = never).
    pub auth_failure_limit: usize,
    /// Run this many devices first; any failure among them stops the run.
    pub canary: usize,
    pub max_failures: Option<FailureBudget>,
}

impl Default for FanOutSettings {
    fn default() -> Self {
        FanOutSettings {
            concurrency: 32,
            connect_rate: 20.0,
            jitter: Duration::from_millis(50),
            retries: 2,
            backoff: Duration::from_millis(500),
            auth_failure_limit: 3,
            canary: 0,
            max_failures: None,
        }
    }
}

/// What became of one device.
#[derive(Debug)]
pub enum Outcome<R> {
    Done(R),
    Failed(DeviceError),
    Skipped(StopReason),
}

/// Why the runner stopped launching devices; each device it never started
/// is reported `skipped` with this as its reason (its [`Display`](fmt::Display)
/// text is what the report, the table and JUnit show).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The fleet-wide stop after K authentication failures (AAA lockout guard).
    AuthBreaker { failures: usize },
    /// `failed` of the `canary` canary devices failed, so the rest of the
    /// fleet was not touched.
    CanaryFailed { failed: usize, canary: usize },
    /// `--max-failures` was reached.
    MaxFailures { failures: usize },
    /// A stop signal (Ctrl-C, SIGTERM, SIGHUP) before the device started.
    Interrupted,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::AuthBreaker { failures } => write!(
                f,
                "not started: the run stopped after {failures} authentication failures (so the account is not locked out)"
            ),
            StopReason::CanaryFailed { failed, canary } => write!(
                f,
                "not started: {failed} of the {canary} canary devices failed"
            ),
            StopReason::MaxFailures { failures } => write!(
                f,
                "not started: the run stopped after {failures} failures (--max-failures)"
            ),
            StopReason::Interrupted => {
                f.write_str("interrupted (Ctrl-C, SIGTERM or SIGHUP) before it started")
            }
        }
    }
}

/// Events for progress display.
#[derive(Clone, Debug)]
pub enum Event {
    Started {
        index: usize,
    },
    Retrying {
        index: usize,
        attempt: u32,
        error: String,
    },
    Finished {
        index: usize,
        ok: bool,
        /// The run stopped before the device sent credentials: it is
        /// reported skipped.
        skipped: bool,
    },
}

/// Logins slow-start: one at first, so a wrong shared password or enable
/// secret is refused on one device, not on every device already in flight;
/// each accepted login doubles the logins allowed at once, up to the
/// concurrency, and a refused one brings it back to one. With 32 devices at
/// once the fleet is fully open after 5 accepted logins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SlowStart {
    /// Logins allowed in flight at once.
    window: usize,
    in_flight: usize,
    ceiling: usize,
}

impl SlowStart {
    fn new(ceiling: usize) -> SlowStart {
        SlowStart {
            window: 1,
            in_flight: 0,
            ceiling: ceiling.max(1),
        }
    }

    /// Take a login slot if one is free.
    fn try_admit(&mut self) -> bool {
        let free = self.in_flight < self.window;
        self.in_flight += usize::from(free);
        free
    }

    fn settle(&mut self, verdict: Verdict) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.window = match verdict {
            Verdict::Accepted => (self.window * 2).min(self.ceiling),
            Verdict::Refused => 1,
            Verdict::Unknown => self.window,
        };
    }
}

struct Tally {
    failures: usize,
    /// Devices whose password, key or enable secret was refused (classes
    /// `auth` and `enable`), whether the session said so at once or the
    /// device's error did.
    refused: BTreeSet<usize>,
    /// Why launching stopped, once it has.
    stopped: Option<StopReason>,
    logins: SlowStart,
    /// Devices the login gate turned away (the run stopped before they sent
    /// a credential), with the reason they are reported skipped.
    turned_away: BTreeMap<usize, StopReason>,
}

impl Tally {
    /// A refused credential; the breaker trips at the `limit`th (0 = never).
    fn note_refused(&mut self, device: usize, limit: usize) {
        self.refused.insert(device);
        let failures = self.refused.len();
        if limit > 0 && failures >= limit && self.stopped.is_none() {
            self.stopped = Some(StopReason::AuthBreaker { failures });
        }
    }
}

/// The fan-out's side of [`Login`]: slow start and the stops, checked right
/// before each device sends credentials.
struct Gate {
    tally: Mutex<Tally>,
    /// Woken whenever a login settles or the run stops.
    changed: Notify,
    cancel: CancellationToken,
    auth_failure_limit: usize,
}

impl Gate {
    fn stop_if(&self, stop: impl FnOnce(&mut Tally)) {
        stop(&mut self.tally.lock().unwrap());
        self.changed.notify_waiters();
    }
}

impl LoginGate for Gate {
    fn admit(
        &self,
        device: usize,
    ) -> Pin<Box<dyn Future<Output = Result<(), Stopped>> + Send + '_>> {
        Box::pin(async move {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                {
                    let mut t = self.tally.lock().unwrap();
                    let stop = match &t.stopped {
                        Some(reason) => Some(reason.clone()),
                        None if self.cancel.is_cancelled() => Some(StopReason::Interrupted),
                        None => None,
                    };
                    if let Some(reason) = stop {
                        t.turned_away.insert(device, reason);
                        return Err(Stopped);
                    }
                    if t.logins.try_admit() {
                        return Ok(());
                    }
                }
                tokio::select! {
                    _ = changed => {}
                    _ = self.cancel.cancelled() => {}
                }
            }
        })
    }

    fn settle(&self, device: usize, verdict: Verdict) {
        self.stop_if(|t| {
            t.logins.settle(verdict);
            if verdict == Verdict::Refused {
                t.note_refused(device, self.auth_failure_limit);
            }
        });
    }
}

/// Run `job` for every item; outcomes come back in the items' order. The
/// job gets a [`Login`] to ask for leave right before it sends credentials
/// and to report how they fared; a device the gate turns away is reported
/// skipped, whatever error its job returns.
pub async fn run<T, R, F, Fut>(
    items: Vec<T>,
    settings: &FanOutSettings,
    cancel: CancellationToken,
    on_event: impl Fn(Event) + Send + Sync + 'static,
    job: F,
) -> Vec<Outcome<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T, Login) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, DeviceError>> + Send + 'static,
    T: Clone,
{
    let total = items.len();
    let mut outcomes: Vec<Option<Outcome<R>>> = (0..total).map(|_| None).collect();
    let gate = Arc::new(Gate {
        tally: Mutex::new(Tally {
            failures: 0,
            refused: BTreeSet::new(),
            stopped: None,
            logins: SlowStart::new(settings.concurrency),
            turned_away: BTreeMap::new(),
        }),
        changed: Notify::new(),
        cancel: cancel.clone(),
        auth_failure_limit: settings.auth_failure_limit,
    });
    let job = Arc::new(job);
    let on_event = Arc::new(on_event);
    let limiter = rate_limiter(settings.connect_rate, DefaultClock::default()).map(Arc::new);
    let budget = settings.max_failures.map(|b| b.limit(total));
    let canary = settings.canary.min(total);
    let mut items: Vec<Option<T>> = items.into_iter().map(Some).collect();

    // Wave one is the canary (when asked for), wave two everything else.
    let waves: Vec<std::ops::Range<usize>> = if canary > 0 {
        vec![0..canary, canary..total]
    } else {
        std::iter::once(0..total).collect()
    };
    for (wave_no, wave) in waves.into_iter().enumerate() {
        let semaphore = Arc::new(tokio::sync::Semaphore::new(settings.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        // A finished task keeps its whole future's memory until joined
        // (~8 KB a device): join as they finish, not after the last spawn,
        // so the run holds `concurrency` of them, not the whole fleet.
        let record = |joined: Result<(usize, Outcome<R>), tokio::task::JoinError>,
                      outcomes: &mut Vec<Option<Outcome<R>>>| {
            let (index, outcome) = match joined {
                Ok(r) => r,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            };
            outcomes[index] = Some(outcome);
        };
        for index in wave {
            while let Some(joined) = tasks.try_join_next() {
                record(joined, &mut outcomes);
            }
            let stop = gate.tally.lock().unwrap().stopped.clone();
            if let Some(reason) = stop {
                outcomes[index] = Some(Outcome::Skipped(reason));
                continue;
            }
            if cancel.is_cancelled() {
                outcomes[index] = Some(Outcome::Skipped(StopReason::Interrupted));
                continue;
            }
            let permit = tokio::select! {
                p = semaphore.clone().acquire_owned() => p.expect("the semaphore is never closed"),
                _ = cancel.cancelled() => {
                    outcomes[index] = Some(Outcome::Skipped(StopReason::Interrupted));
                    continue;
                }
            };
            // A stop may have happened while waiting for a slot.
            let stop = gate.tally.lock().unwrap().stopped.clone();
            if let Some(reason) = stop {
                outcomes[index] = Some(Outcome::Skipped(reason));
                continue;
            }
            let item = items[index].take().expect("each item runs once");
            let (job, on_event, gate, limiter, settings, cancel) = (
                job.clone(),
                on_event.clone(),
                gate.clone(),
                limiter.clone(),
                settings.clone(),
                cancel.clone(),
            );
            tasks.spawn(async move {
                let _permit = permit;
                let mut attempt = 0;
                // The rate-limit and backoff waits end on a stop (Ctrl-C,
                // SIGTERM, SIGHUP): a device that never started is skipped,
                // one between retries keeps its last error.
                let mut last_error = None;
                let result = loop {
                    if let Some(l) = &limiter
                        && cancel
                            .run_until_cancelled(
                                l.until_ready_with_jitter(Jitter::up_to(settings.jitter)),
                            )
                            .await
                            .is_none()
                    {
                        break last_error.map(Err);
                    }
                    if attempt == 0 {
                        on_event(Event::Started { index });
                    }
                    let login = Login::gated(gate.clone(), index);
                    match job(item.clone(), login).await {
                        Err(e) if e.is_transient() && attempt < settings.retries => {
                            on_event(Event::Retrying {
                                index,
                                attempt: attempt + 1,
                                error: e.to_string(),
                            });
                            let backoff = tokio::time::sleep(settings.backoff * 2u32.pow(attempt));
                            if cancel.run_until_cancelled(backoff).await.is_none() {
                                break Some(Err(e));
                            }
                            last_error = Some(e);
                            attempt += 1;
                        }
                        other => break Some(other),
                    }
                };
                let outcome = match result {
                    // Stopped during a rate-limit wait before it started.
                    None => return (index, Outcome::Skipped(StopReason::Interrupted)),
                    Some(Ok(r)) => Outcome::Done(r),
                    Some(Err(e)) => {
                        let turned_away = gate.tally.lock().unwrap().turned_away.remove(&index);
                        match turned_away {
                            Some(reason) => Outcome::Skipped(reason),
                            None => {
                                gate.stop_if(|t| {
                                    t.failures += 1;
                                    if matches!(e.class(), ErrorClass::Auth | ErrorClass::Enable) {
                                        t.note_refused(index, settings.auth_failure_limit);
                                    }
                                    if let Some(limit) = budget
                                        && t.failures >= limit
                                        && t.stopped.is_none()
                                    {
                                        t.stopped = Some(StopReason::MaxFailures {
                                            failures: t.failures,
                                        });
                                    }
                                });
                                Outcome::Failed(e)
                            }
                        }
                    }
                };
                on_event(Event::Finished {
                    index,
                    ok: matches!(outcome, Outcome::Done(_)),
                    skipped: matches!(outcome, Outcome::Skipped(_)),
                });
                (index, outcome)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            record(joined, &mut outcomes);
        }
        if wave_no == 0 && canary > 0 {
            let failed = outcomes[..canary]
                .iter()
                .filter(|o| matches!(o, Some(Outcome::Failed(_))))
                .count();
            if failed > 0 {
                gate.stop_if(|t| {
                    t.stopped
                        .get_or_insert(StopReason::CanaryFailed { failed, canary });
                });
            }
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every device gets an outcome"))
        .collect()
}

type Limiter<C = DefaultClock> = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    C,
    governor::middleware::NoOpMiddleware<<C as governor::clock::Clock>::Instant>,
>;

/// `per_second` connections spaced evenly, one every `1 / per_second`,
/// with no burst at the start (a burst of 20 logins is what AAA servers
/// lock out); `None` for 0 (unlimited).
fn rate_limiter<C: governor::clock::Clock>(per_second: f64, clock: C) -> Option<Limiter<C>> {
    if per_second <= 0.0 || !per_second.is_finite() {
        return None;
    }
    let quota =
        Quota::with_period(Duration::from_secs_f64(1.0 / per_second))?.allow_burst(NonZeroU32::MIN);
    Some(RateLimiter::direct_with_clock(quota, clock))
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn auth_error(i: usize) -> DeviceError {
        DeviceError::Auth {
            device: format!("d{i}"),
            user: "u".into(),
            methods: "password".into(),
        }
    }

    fn fast() -> FanOutSettings {
        FanOutSettings {
            connect_rate: 0.0,
            jitter: Duration::ZERO,
            backoff: Duration::from_millis(1),
            ..Default::default()
        }
    }

    #[test]
    fn failure_budgets_parse() {
        assert_eq!("5".parse::<FailureBudget>(), Ok(FailureBudget::Count(5)));
        assert_eq!(
            "10%".parse::<FailureBudget>(),
            Ok(FailureBudget::Percent(10.0))
        );
        assert!("ten".parse::<FailureBudget>().is_err());
        assert_eq!(FailureBudget::Percent(10.0).limit(50), 5);
        assert_eq!(FailureBudget::Percent(1.0).limit(10), 1);
    }

    #[tokio::test]
    async fn concurrency_is_never_exceeded_and_order_is_kept() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (r, p) = (running.clone(), peak.clone());
        let settings = FanOutSettings {
            concurrency: 4,
            ..fast()
        };
        let out = run(
            (0..40).collect(),
            &settings,
            CancellationToken::new(),
            |_| {},
            move |i: usize, _| {
                let (r, p) = (r.clone(), p.clone());
                async move {
                    let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    r.fetch_sub(1, Ordering::SeqCst);
                    Ok(i * 10)
                }
            },
        )
        .await;
        assert!(peak.load(Ordering::SeqCst) <= 4);
        assert_eq!(
            out.iter()
                .map(|o| match o {
                    Outcome::Done(v) => *v,
                    _ => usize::MAX,
                })
                .collect::<Vec<_>>(),
            (0..40).map(|i| i * 10).collect::<Vec<_>>()
        );
    }

    #[tokio::test]
    async fn auth_failures_stop_the_run() {
        let settings = FanOutSettings {
            concurrency: 1,
            auth_failure_limit: 3,
            ..fast()
        };
        let out = run(
            (0..10).collect(),
            &settings,
            CancellationToken::new(),
            |_| {},
            |i: usize, _| async move {
                if i.is_multiple_of(2) {
                    Err(auth_error(i))
                } else {
                    Ok(())
                }
            },
        )
        .await;
        let failed = out
            .iter()
            .filter(|o| matches!(o, Outcome::Failed(_)))
            .count();
        assert_eq!(
            failed, 3,
            "exactly K authentication failures, then nothing new"
        );
        assert!(
            matches!(
                &out[5],
                Outcome::Skipped(StopReason::AuthBreaker { failures: 3 })
            ),
            "{:?}",
            out[5]
        );
    }

    #[tokio::test]
    async fn a_failed_canary_stops_the_rest() {
        let settings = FanOutSettings {
            canary: 2,
            ..fast()
        };
        let started = Arc::new(AtomicUsize::new(0));
        let s = started.clone();
        let out = run(
            (0..10).collect(),
            &settings,
            CancellationToken::new(),
            |_| {},
            move |i: usize, _| {
                s.fetch_add(1, Ordering::SeqCst);
                async move {
                    if i == 1 {
                        Err(DeviceError::Protocol {
                            device: "d1".into(),
                            reason: "x".into(),
                        })
                    } else {
                        Ok(())
                    }
                }
            },
        )
        .await;
        assert_eq!(started.load(Ordering::SeqCst), 2);
        assert!(out[2..].iter().all(|o| matches!(
            o,
            Outcome::Skipped(StopReason::CanaryFailed {
                failed: 1,
                canary: 2
            })
        )));
    }

    #[tokio::test]
    async fn the_failure_budget_stops_launching() {
        let settings = FanOutSettings {
            concurrency: 1,
            max_failures: Some(FailureBudget::Count(2)),
            ..fast()
        };
        let out = run(
            (0..10).collect(),
            &settings,
            CancellationToken::new(),
            |_| {},
            |i: usize, _| async move {
                Err::<(), _>(DeviceError::Protocol {
                    device: format!("d{i}"),
                    reason: "x".into(),
                })
            },
        )
        .await;
        assert_eq!(
            out.iter()
                .filter(|o| matches!(o, Outcome::Failed(_)))
                .count(),
            2
        );
        assert!(
            out[2..]
                .iter()
                .all(|o| matches!(o, Outcome::Skipped(StopReason::MaxFailures { failures: 2 })))
        );
    }

    #[tokio::test]
    async fn transient_errors_are_retried_others_are_not() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let settings = FanOutSettings {
            retries: 2,
            ..fast()
        };
        let out = run(
            vec![0usize, 1],
            &settings,
            CancellationToken::new(),
            |_| {},
            move |i, _| {
                let n = c.fetch_add(1, Ordering::SeqCst);
                async move {
                    match i {
                        0 => Err::<(), _>(DeviceError::Connect {
                            device: "d0".into(),
                            addr: "a".into(),
                            reason: "refused".into(),
                            transient: true,
                        }),
                        _ => {
                            let _ = n;
                            Err(auth_error(1))
                        }
                    }
                }
            },
        )
        .await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3 + 1,
            "device 0 tried three times, device 1 once"
        );
        assert!(matches!(
            out[0],
            Outcome::Failed(DeviceError::Connect { .. })
        ));
    }

    // Time is paused: the devices' sleeps end only once every other task is
    // idle, so the runner has seen the cancellation while both are in flight
    // however slow the machine.
    #[tokio::test(start_paused = true)]
    async fn cancellation_launches_nothing_new_and_lets_in_flight_finish() {
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        let settings = FanOutSettings {
            concurrency: 2,
            ..fast()
        };
        let out = run(
            (0..10).collect(),
            &settings,
            cancel,
            |_| {},
            move |i: usize, _| {
                let c = c.clone();
                async move {
                    if i == 1 {
                        c.cancel();
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(i)
                }
            },
        )
        .await;
        assert!(
            matches!(out[0], Outcome::Done(0)) && matches!(out[1], Outcome::Done(1)),
            "in-flight devices finish"
        );
        assert!(
            out[2..]
                .iter()
                .all(|o| matches!(o, Outcome::Skipped(StopReason::Interrupted)))
        );
    }

    // Paused time: a wait that is not ended by the stop runs out on the
    // virtual clock, which the assertions on elapsed time then show.
    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_the_backoff_wait_between_retries() {
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        let attempts = Arc::new(AtomicUsize::new(0));
        let a = attempts.clone();
        let settings = FanOutSettings {
            retries: 3,
            backoff: Duration::from_secs(3600),
            ..fast()
        };
        let began = tokio::time::Instant::now();
        let out = run(
            vec![0usize],
            &settings,
            cancel,
            move |event| {
                // The stop comes as the device starts waiting to retry.
                if matches!(event, Event::Retrying { .. }) {
                    c.cancel();
                }
            },
            move |_, _| {
                a.fetch_add(1, Ordering::SeqCst);
                async {
                    Err::<(), _>(DeviceError::Connect {
                        device: "d0".into(),
                        addr: "a".into(),
                        reason: "refused".into(),
                        transient: true,
                    })
                }
            },
        )
        .await;
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            1,
            "no retry after the stop"
        );
        assert!(
            matches!(out[0], Outcome::Failed(DeviceError::Connect { .. })),
            "the device keeps its last error: {:?}",
            out[0]
        );
        assert!(
            began.elapsed() < settings.backoff,
            "the backoff was cut short"
        );
    }

    // The limiter waits on its own clock, not tokio's: under paused time the
    // timeout below fires as soon as the runtime idles, so a wait the stop
    // does not end fails the test at once rather than hanging it.
    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_the_connect_rate_wait_and_skips_the_waiting_device() {
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        let settings = FanOutSettings {
            concurrency: 2,
            // One connection per 1,000 s: the second device waits.
            connect_rate: 0.001,
            ..fast()
        };
        let out = tokio::time::timeout(
            Duration::from_secs(3600),
            run(
                vec![0usize, 1],
                &settings,
                cancel,
                |_| {},
                move |i: usize, _| {
                    // Whichever device gets the first connection stops the run.
                    c.cancel();
                    async move { Ok(i) }
                },
            ),
        )
        .await
        .expect("the rate-limit wait ended on the stop");
        let done = out.iter().filter(|o| matches!(o, Outcome::Done(_))).count();
        let skipped = out
            .iter()
            .filter(|o| matches!(o, Outcome::Skipped(StopReason::Interrupted)))
            .count();
        assert_eq!((done, skipped), (1, 1), "{out:?}");
    }

    #[test]
    fn stop_reasons_say_why_a_device_was_not_started() {
        let cases = [
            (
                StopReason::AuthBreaker { failures: 3 },
                "not started: the run stopped after 3 authentication failures (so the account is not locked out)",
            ),
            (
                StopReason::CanaryFailed {
                    failed: 1,
                    canary: 2,
                },
                "not started: 1 of the 2 canary devices failed",
            ),
            (
                StopReason::MaxFailures { failures: 5 },
                "not started: the run stopped after 5 failures (--max-failures)",
            ),
            (
                StopReason::Interrupted,
                "interrupted (Ctrl-C, SIGTERM or SIGHUP) before it started",
            ),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text);
        }
    }

    #[test]
    fn the_connect_rate_limiter_spaces_connections_without_a_burst() {
        assert!(
            rate_limiter(0.0, FakeRelativeClock::default()).is_none(),
            "0 means unlimited"
        );
        assert!(rate_limiter(f64::NAN, FakeRelativeClock::default()).is_none());
        // The clock moves only when told: 20 per second is one every 50 ms,
        // from the very first connection on.
        let clock = FakeRelativeClock::default();
        let limiter = rate_limiter(20.0, clock.clone()).unwrap();
        for n in 0..20 {
            assert!(limiter.check().is_ok(), "connection {n} may go at its turn");
            assert!(
                limiter.check().is_err(),
                "connection {} waits for its own turn",
                n + 1
            );
            clock.advance(Duration::from_millis(49));
            assert!(limiter.check().is_err(), "not before 50 ms");
            clock.advance(Duration::from_millis(1));
        }
        let clock = FakeRelativeClock::default();
        let slow = rate_limiter(0.5, clock.clone()).unwrap();
        assert!(slow.check().is_ok() && slow.check().is_err());
        clock.advance(Duration::from_secs(2));
        assert!(slow.check().is_ok());
    }

    #[test]
    fn logins_slow_start_and_open_up_in_a_few_round_trips() {
        let mut logins = SlowStart::new(32);
        assert!(
            logins.try_admit() && !logins.try_admit(),
            "one login at first"
        );
        // Round trips of logins until 32 may be in flight at once.
        let mut rounds = 0;
        while logins.window < 32 {
            let in_flight = logins.in_flight;
            for _ in 0..in_flight {
                logins.settle(Verdict::Accepted);
            }
            while logins.try_admit() {}
            rounds += 1;
        }
        assert!(rounds <= 3, "{rounds} round trips to full concurrency");
        assert_eq!(logins.in_flight, 32, "never more than the concurrency");
        logins.settle(Verdict::Refused);
        assert_eq!(logins.window, 1, "a refused login starts over");
        logins.settle(Verdict::Unknown);
        assert_eq!(
            logins.window, 1,
            "an unknown verdict neither widens nor narrows"
        );
    }

    /// A device as the real session behaves: leave, then credentials (all
    /// refused when `wrong`), then its verdict, then its work; counts the
    /// logins let through and the devices logged in at once.
    fn login_job(
        wrong: bool,
        sent: Arc<AtomicUsize>,
        in_flight: Arc<AtomicUsize>,
        peak: Arc<AtomicUsize>,
    ) -> impl Fn(usize, Login) -> futures::future::BoxFuture<'static, Result<usize, DeviceError>>
    + Send
    + Sync
    + 'static {
        move |i, mut login| {
            let (sent, in_flight, peak) = (sent.clone(), in_flight.clone(), peak.clone());
            Box::pin(async move {
                if login.admit().await.is_err() {
                    return Err(DeviceError::Interrupted {
                        device: format!("d{i}"),
                        pushed: 0,
                        total: 0,
                    });
                }
                sent.fetch_add(1, Ordering::SeqCst);
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
                if wrong {
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    login.settle(Verdict::Refused);
                    return Err(auth_error(i));
                }
                login.settle(Verdict::Accepted);
                // The rest of the device's work, logins no longer involved.
                tokio::time::sleep(Duration::from_millis(200)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok(i)
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_wrong_shared_password_is_tried_on_one_device_only() {
        for limit in [1, 2] {
            let counters: [Arc<AtomicUsize>; 3] = Default::default();
            let [sent, in_flight, peak] = counters.clone();
            let settings = FanOutSettings {
                concurrency: 20,
                auth_failure_limit: limit,
                ..fast()
            };
            let out = run(
                (0..20).collect(),
                &settings,
                CancellationToken::new(),
                |_| {},
                login_job(true, sent, in_flight, peak),
            )
            .await;
            let [sent, _, peak] = counters;
            assert_eq!(sent.load(Ordering::SeqCst), limit, "credentials sent");
            assert_eq!(peak.load(Ordering::SeqCst), 1, "one login at a time");
            let failed = out
                .iter()
                .filter(|o| matches!(o, Outcome::Failed(_)))
                .count();
            assert_eq!(failed, limit);
            assert!(out.iter().all(|o| matches!(
                o,
                Outcome::Failed(DeviceError::Auth { .. })
                    | Outcome::Skipped(StopReason::AuthBreaker { .. })
            )));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn good_logins_open_the_fleet_to_full_concurrency() {
        let counters: [Arc<AtomicUsize>; 3] = Default::default();
        let [sent, in_flight, peak] = counters.clone();
        let settings = FanOutSettings {
            concurrency: 16,
            ..fast()
        };
        let out = run(
            (0..64).collect(),
            &settings,
            CancellationToken::new(),
            |_| {},
            login_job(false, sent, in_flight, peak),
        )
        .await;
        assert!(out.iter().all(|o| matches!(o, Outcome::Done(_))));
        let [sent, _, peak] = counters;
        assert_eq!(sent.load(Ordering::SeqCst), 64);
        assert_eq!(
            peak.load(Ordering::SeqCst),
            16,
            "the slow start opens up to the full concurrency"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn ctrl_c_turns_away_devices_waiting_to_log_in() {
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        let settings = FanOutSettings {
            concurrency: 4,
            ..fast()
        };
        let out = run(
            (0..4).collect(),
            &settings,
            cancel,
            |_| {},
            move |i: usize, mut login: Login| {
                let c = c.clone();
                async move {
                    login.admit().await.map_err(|_| DeviceError::Interrupted {
                        device: format!("d{i}"),
                        pushed: 0,
                        total: 0,
                    })?;
                    // The first login hangs until Ctrl-C; the others wait for leave.
                    c.cancel();
                    login.settle(Verdict::Unknown);
                    Ok(i)
                }
            },
        )
        .await;
        assert!(matches!(out[0], Outcome::Done(0)), "{:?}", out[0]);
        assert!(
            out[1..]
                .iter()
                .all(|o| matches!(o, Outcome::Skipped(StopReason::Interrupted))),
            "{out:?}"
        );
    }
}
