//! Secrets in the inventory are references (`{ env: NAME }`, `{ file: PATH }`)
//! so the file itself can be shared; a literal string is accepted with a
//! warning. A secret's value is never printed: `Debug` and `Display` mask it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, PartialEq, Serialize, Deserialize)]
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
