//! Secrets in the inventory are references (`{ env: NAME }`, `{ file: PATH }`)
//! so the file itself can be shared; a literal string is accepted with a
//! warning. A secret's value is never printed: `Debug` and `Display` mask it.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// Deserialised by hand (not `untagged`) so a mistake such as `{ nev: X }`
/// is reported as an unknown key with its line and column, not as "data did
/// not match any variant".
#[derive(Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Secret {
    Env { env: String },
    File { file: PathBuf },
    Literal(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set (it holds a secret the inventory refers to)")]
    EnvMissing(String),
    #[error("cannot read secret file {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Secret {
    /// The secret's value; `base_dir` is the inventory's folder.
    pub fn reveal(&self, base_dir: &Path) -> Result<String, SecretError> {
        match self {
            Secret::Env { env } => {
                std::env::var(env).map_err(|_| SecretError::EnvMissing(env.clone()))
            }
            Secret::File { file } => {
                let path = if file.is_absolute() {
                    file.clone()
                } else {
                    base_dir.join(file)
                };
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| SecretError::File { path, source })?;
                Ok(text.trim_end_matches(['\r', '\n']).to_string())
            }
            Secret::Literal(s) => Ok(s.clone()),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

const SECRET_KEYS: &[&str] = &["env", "file"];

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a secret reference `{ env: NAME }` or `{ file: PATH }` (or a literal string)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
        Ok(Secret::Literal(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Secret, E> {
        Ok(Secret::Literal(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Secret, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(
                "empty secret: write `{ env: NAME }` or `{ file: PATH }`",
            ));
        };
        let secret = match key.as_str() {
            "env" => {
                let name: String = map.next_value()?;
                if name.is_empty() {
                    return Err(de::Error::custom(
                        "`env:` needs the name of an environment variable",
                    ));
                }
                Secret::Env { env: name }
            }
            "file" => Secret::File {
                file: map.next_value()?,
            },
            other => return Err(de::Error::unknown_field(other, SECRET_KEYS)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "a secret has exactly one key, `env` or `file`; remove `{extra}`"
            )));
        }
        Ok(secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Env { env } => write!(f, "{{ env: {env} }}"),
            Secret::File { file } => write!(f, "{{ file: {} }}", file.display()),
            Secret::Literal(_) => f.write_str("******"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_forms_deserialise() {
        let s: Secret = serde_saphyr::from_str("{ env: PW }").unwrap();
        assert_eq!(s, Secret::Env { env: "PW".into() });
        let s: Secret = serde_saphyr::from_str("file: secrets/pw").unwrap();
        assert_eq!(
            s,
            Secret::File {
                file: "secrets/pw".into()
            }
        );
        let s: Secret = serde_saphyr::from_str("hunter2").unwrap();
        assert_eq!(s, Secret::Literal("hunter2".into()));
        assert_eq!(s.to_string(), "******");
    }

    #[test]
    fn secret_mistakes_are_refused() {
        let e = serde_saphyr::from_str::<Secret>("{ nev: PW }").unwrap_err();
        assert!(e.to_string().contains("unknown field `nev`"), "{e}");
        let e = serde_saphyr::from_str::<Secret>("{ env: A, file: b }").unwrap_err();
        assert!(e.to_string().contains("exactly one key"), "{e}");
        assert!(serde_saphyr::from_str::<Secret>("[a]").is_err());
    }
}
