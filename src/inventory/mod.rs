//! The fleet described in YAML: DNS servers, named policies (which lists a
//! device gets), defaults, groups and devices, and secret references.
//!
//! This module owns the file format. Loading reports mistakes with the file,
//! line and column (serde-saphyr); relative paths in the file resolve against
//! the inventory's own folder, never the current directory.

mod model;
mod secret;

pub use model::*;
pub use secret::{Secret, SecretError};

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("cannot read inventory {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A YAML or schema mistake; the message carries line, column and a caret.
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// An inventory as loaded, with the folder its relative paths resolve against.
#[derive(Clone, Debug)]
pub struct LoadedInventory {
    pub path: PathBuf,
    pub base_dir: PathBuf,
    pub inventory: Inventory,
}

impl LoadedInventory {
    /// Resolve a path written in the inventory against its folder.
    pub fn resolve_path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

/// Read and parse an inventory file.
pub fn load(path: &Path) -> Result<LoadedInventory, InventoryError> {
    let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let inventory = parse(&text).map_err(|message| InventoryError::Parse {
        path: path.to_path_buf(),
        message,
    })?;
    let base_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(LoadedInventory {
        path: path.to_path_buf(),
        base_dir,
        inventory,
    })
}

/// Parse inventory YAML text; the error message names line and column.
pub fn parse(text: &str) -> Result<Inventory, String> {
    serde_saphyr::from_str(text).map_err(|e| e.to_string())
}

/// Serialise an inventory as YAML.
pub fn to_yaml(inventory: &Inventory) -> String {
    serde_saphyr::to_string(inventory).expect("an inventory always serialises")
}
