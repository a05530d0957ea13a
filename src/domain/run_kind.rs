//! Which run this is (`plan`, `apply`, `check`, `remove`): the one place
//! that says whether a run changes devices.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The subcommand a report comes from. `plan` and `check` only read and
/// diff (`changed` = pending); `apply` and `remove` push (`changed` =
/// applied).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(schemars::JsonSchema)]
pub enum RunKind {
    Plan,
    Apply,
    Check,
    Remove,
}

impl RunKind {
    pub const ALL: [RunKind; 4] = [
        RunKind::Plan,
        RunKind::Apply,
        RunKind::Check,
        RunKind::Remove,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Plan => "plan",
            RunKind::Apply => "apply",
            RunKind::Check => "check",
            RunKind::Remove => "remove",
        }
    }

    /// Reads and diffs only: its `changed` devices still have changes pending.
    pub fn is_dry_run(self) -> bool {
        matches!(self, RunKind::Plan | RunKind::Check)
    }

    /// Compares the devices with the lists (`check` and `remove` need none).
    pub fn needs_lists(self) -> bool {
        matches!(self, RunKind::Plan | RunKind::Apply)
    }

    /// Syncs the lists onto the devices (`plan` only diffs them).
    pub fn pushes_lists(self) -> bool {
        self == RunKind::Apply
    }
}

impl FromStr for RunKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        RunKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| format!("{text:?} is not a run (plan, apply, check or remove)"))
    }
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_text_and_json() {
        for kind in RunKind::ALL {
            assert_eq!(kind.as_str().parse::<RunKind>(), Ok(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        assert!("Plan".parse::<RunKind>().is_err());
    }
}
