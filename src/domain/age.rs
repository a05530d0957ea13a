//! How old a file tsfleet made is, from the `created_at` it recorded (not
//! the file's time, which a copy or a CI artifact download resets): the one
//! age check of `--max-snapshot-age` and `--max-plan-age`.

use std::time::{Duration, SystemTime};

/// A recorded `created_at` past its limit, or unreadable.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AgeError {
    /// Older than `max` (the limit `flag` set) by `age`, in whole seconds.
    #[error(
        "was created {} ago ({created_at}), more than {flag} {} allows",
        humantime::format_duration(*age),
        humantime::format_duration(*max)
    )]
    Stale {
        created_at: String,
        age: Duration,
        max: Duration,
        flag: &'static str,
    },
    #[error("has created_at {created_at:?}, not an RFC 3339 UTC time, so its age is unknown")]
    Unknown { created_at: String },
}

/// Refuse a `created_at` more than `max` (set by `flag`) before `now`
/// (`max` zero: no limit). A `created_at` ahead of `now` (another
/// machine's clock) is age zero.
pub fn age_past(
    created_at: &str,
    max: Duration,
    flag: &'static str,
    now: SystemTime,
) -> Result<(), AgeError> {
    if max.is_zero() {
        return Ok(());
    }
    let created = humantime::parse_rfc3339(created_at).map_err(|_| AgeError::Unknown {
        created_at: created_at.to_string(),
    })?;
    let age = now.duration_since(created).unwrap_or_default();
    if age > max {
        return Err(AgeError::Stale {
            created_at: created_at.to_string(),
            // Whole seconds: messages need no nanoseconds.
            age: Duration::from_secs(age.as_secs()),
            max,
            flag,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_from_created_at_and_zero_is_no_limit() {
        let made = "2026-01-01T00:00:00Z";
        let at = |s: &str| humantime::parse_rfc3339(s).unwrap();
        let hour = Duration::from_secs(3600);
        assert_eq!(
            age_past(made, hour, "--max-x-age", at("2026-01-01T00:30:00Z")),
            Ok(())
        );
        let e = age_past(made, hour, "--max-x-age", at("2026-01-01T02:00:00Z")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("was created 2h ago ({made}), more than --max-x-age 1h allows")
        );
        assert_eq!(
            age_past(made, hour, "--max-x-age", at("2025-12-31T00:00:00Z")),
            Ok(())
        );
        assert_eq!(
            age_past(
                made,
                Duration::ZERO,
                "--max-x-age",
                at("2030-01-01T00:00:00Z")
            ),
            Ok(())
        );
        assert!(matches!(
            age_past("yesterday", hour, "--max-x-age", SystemTime::now()),
            Err(AgeError::Unknown { .. })
        ));
    }
}
