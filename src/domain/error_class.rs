//! The class of a device failure (`connect`, `host-key`, `auth`, …): a
//! closed set that reports count, JUnit uses as the failure type, the JSON
//! schema (`schemas/report.schema.json`) enumerates, and the fleet's circuit
//! breakers compare.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The class of a device failure: what went wrong, as a closed set (the
/// message says the rest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(schemars::JsonSchema)]
pub enum ErrorClass {
    Connect,
    HostKey,
    Auth,
    Enable,
    Timeout,
    // The device kept answering without its prompt (past the byte cap or
    // the total time of one answer). A plain comment: a doc comment would
    // turn the schema's enum into a oneOf.
    Flood,
    DeviceError,
    Verify,
    GroupFull,
    Refused,
    Interrupted,
    Unsupported,
    Protocol,
    // A saved plan's device whose groups changed since the plan read them:
    // nothing was sent to it.
    Drift,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 14] = [
        ErrorClass::Connect,
        ErrorClass::HostKey,
        ErrorClass::Auth,
        ErrorClass::Enable,
        ErrorClass::Timeout,
        ErrorClass::Flood,
        ErrorClass::DeviceError,
        ErrorClass::Verify,
        ErrorClass::GroupFull,
        ErrorClass::Refused,
        ErrorClass::Interrupted,
        ErrorClass::Unsupported,
        ErrorClass::Protocol,
        ErrorClass::Drift,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Connect => "connect",
            ErrorClass::HostKey => "host-key",
            ErrorClass::Auth => "auth",
            ErrorClass::Enable => "enable",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Flood => "flood",
            ErrorClass::DeviceError => "device-error",
            ErrorClass::Verify => "verify",
            ErrorClass::GroupFull => "group-full",
            ErrorClass::Refused => "refused",
            ErrorClass::Interrupted => "interrupted",
            ErrorClass::Unsupported => "unsupported",
            ErrorClass::Protocol => "protocol",
            ErrorClass::Drift => "drift",
        }
    }
}

impl FromStr for ErrorClass {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        ErrorClass::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| format!("{text:?} is not an error class"))
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_are_the_kebab_case_names() {
        for class in ErrorClass::ALL {
            assert_eq!(
                serde_json::to_value(class).unwrap(),
                serde_json::json!(class.as_str())
            );
            assert_eq!(class.as_str().parse::<ErrorClass>(), Ok(class));
        }
    }
}
