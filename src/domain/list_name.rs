//! The name of a ThreatSTOP list: a DNS name, normalised to lowercase and
//! fully qualified, so two spellings of one list are one list.

use hickory_proto::rr::Name;
use std::fmt;
use std::str::FromStr;

/// A checked list name (never the root).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListName(Name);

impl ListName {
    /// The DNS name to query (lowercase, fully qualified).
    pub fn as_name(&self) -> &Name {
        &self.0
    }

    pub fn into_name(self) -> Name {
        self.0
    }
}

impl FromStr for ListName {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        let mut n = Name::from_str(name.trim()).map_err(|e| e.to_string())?;
        if n.is_root() {
            return Err("the root is not a list".into());
        }
        n.set_fqdn(true);
        Ok(ListName(n.to_lowercase()))
    }
}

/// Lowercase, without the trailing dot: how lists are shown.
impl fmt::Display for ListName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        f.write_str(text.trim_end_matches('.'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_names_are_normalised() {
        let n: ListName = "Corp-Block.Acme.ThreatSTOP.local".parse().unwrap();
        assert_eq!(n.as_name().to_string(), "corp-block.acme.threatstop.local.");
        assert_eq!(n.to_string(), "corp-block.acme.threatstop.local");
        assert!(".".parse::<ListName>().is_err());
        assert!("a..b".parse::<ListName>().is_err());
    }
}
