//! `--shard i/n`: one of n parallel runs, as a checked value. Which devices
//! belong to it is decided by `crate::shard` (outside this leaf module).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// `--shard i/n`: this run handled shard `index` (1-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawShard")]
#[derive(schemars::JsonSchema)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// `--shard i/n`: this run handled shard `index` (1-based) of `count`.
// The JSON form (`{"index": 2, "count": 8}`) before it is checked; schemars
// describes `Shard` by this type because of `try_from`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawShard {
    #[schemars(range(min = 1))]
    index: u32,
    #[schemars(range(min = 1))]
    count: u32,
}

impl Shard {
    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 || index == 0 || index > count {
            return Err(format!(
                "shard {index}/{count}: use I/N with 1 <= I <= N, e.g. 2/8"
            ));
        }
        Ok(Shard { index, count })
    }
}

impl TryFrom<RawShard> for Shard {
    type Error = String;

    fn try_from(raw: RawShard) -> Result<Self, String> {
        Shard::new(raw.index, raw.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `i/n` (1 ≤ i ≤ n).
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("--shard {text:?}: use I/N with 1 <= I <= N, e.g. 2/8");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        Shard::new(index, count).map_err(|_| bad())
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!("2/8".parse(), Ok(Shard { index: 2, count: 8 }));
        assert_eq!(Shard { index: 2, count: 8 }.to_string(), "2/8");
        for bad in ["0/4", "5/4", "1/0", "x/2", "3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn json_keeps_its_form_and_is_checked() {
        let s = Shard { index: 1, count: 2 };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"index":1,"count":2}"#);
        assert_eq!(serde_json::from_str::<Shard>(&json).unwrap(), s);
        assert!(serde_json::from_str::<Shard>(r#"{"index":3,"count":2}"#).is_err());
    }
}
