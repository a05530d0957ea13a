//! How old a file tsfleet made is, from the `created_at` it recorded (not
//! the file's time, which a copy or a CI artifact download resets): the one
//! age check of `--max-snapshot-age` and `--max-plan-age`.

use std::time::{Duration, SystemTime};

/// A recorded `created_at` against a limit.
#[derive(Debug, PartialEq, Eq)]
pub enum Age {
    /// Within the limit (or no limit).
    Fresh,
    /// Older than the limit by this age, in whole seconds.
    Stale(Duration),
    /// `created_at` is not an RFC 3339 UTC time.
    Unknown,
}

/// Whether `created_at` lies more than `max` before `now` (`max` zero: no
/// limit). A `created_at` ahead of `now` (another machine's clock) is age zero.
pub fn age_past(created_at: &str, max: Duration, now: SystemTime) -> Age {
    if max.is_zero() {
        return Age::Fresh;
    }
    let Ok(created) = humantime::parse_rfc3339(created_at) else {
        return Age::Unknown;
    };
    let age = now.duration_since(created).unwrap_or_default();
    if age > max {
        // Whole seconds: messages need no nanoseconds.
        Age::Stale(Duration::from_secs(age.as_secs()))
    } else {
        Age::Fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_from_created_at_and_zero_is_no_limit() {
        let made = "2026-01-01T00:00:00Z";
        let at = |s: &str| humantime::parse_rfc3339(s).unwrap();
        let hour = Duration::from_secs(3600);
        assert_eq!(age_past(made, hour, at("2026-01-01T00:30:00Z")), Age::Fresh);
        assert_eq!(
            age_past(made, hour, at("2026-01-01T02:00:00Z")),
            Age::Stale(2 * hour)
        );
        assert_eq!(age_past(made, hour, at("2025-12-31T00:00:00Z")), Age::Fresh);
        assert_eq!(
            age_past(made, Duration::ZERO, at("2030-01-01T00:00:00Z")),
            Age::Fresh
        );
        assert_eq!(age_past("yesterday", hour, SystemTime::now()), Age::Unknown);
    }
}
