//! The fleet described in YAML: DNS servers, named policies (which lists a
//! device gets), defaults, groups and devices, and secret references.
//!
//! This module owns the file format and what it means:
//! - [`model`]: the schema (serde; unknown keys refused everywhere);
//! - [`secret`]: `{ env: NAME }`, `{ file: PATH }` or a literal (warned about),
//!   and the safe, once-per-run reading of secret and key files;
//! - `credentials`: what logging in to each device takes, checked before
//!   any device is contacted (shared by runs and `inventory check`);
//! - `located`: where each key and value is written, for messages;
//! - `validate`: checks of each value where it is written;
//! - [`effective`]: defaults → groups (in the device's order) → device, then
//!   built-in defaults, into one [`ResolvedDevice`] per router;
//! - [`select`]: `--limit` patterns (`@group` or a device-name glob);
//! - [`import`]: `threatstop.conf` files of the single-router script → an inventory;
//! - [`foreign`]: Nornir and Ansible inventories → an inventory;
//! - [`starter`]: the commented starter inventory of `tsfleet init`;
//! - `diagnostic`: `file:line:column: message`, a snippet with a caret, help.
//!
//! [`load`] does all of it, so a [`LoadedInventory`] is always usable.
//! Relative paths in the file resolve against the inventory's own folder,
//! never the current directory; `~/` against `$HOME`.

mod credentials;
mod diagnostic;
pub mod effective;
pub mod foreign;
pub mod import;
mod located;
mod model;
mod secret;
pub mod select;
pub mod starter;
mod validate;

pub use credentials::{CredentialError, Login, PrivateKeyFile, login};
pub use diagnostic::Diagnostic;
pub use effective::{Origin, ResolvedDevice};
pub use model::*;
pub use secret::{
    FileKind, MAX_SECRET_FILE_BYTES, SECURITY_LOG, Secret, SecretError, SecretFiles,
    read_secret_file,
};
pub use select::{Limit, ReportRef, Unfinished};
pub use validate::{MAX_OBJECT_GROUP_NAME, object_group_name_problem};

use effective::PathContext;
use located::Located;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("cannot read inventory {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// YAML, schema or meaning mistakes, each with line, column, a snippet
    /// with a caret and what to write instead.
    #[error("{}", DisplayMistakes { path, mistakes })]
    Invalid {
        path: PathBuf,
        mistakes: Vec<Diagnostic>,
    },
    /// A `--limit` pattern that selects nothing or does not parse.
    #[error("--limit {pattern}: {message}")]
    Limit { pattern: String, message: String },
}

struct DisplayMistakes<'a> {
    path: &'a Path,
    mistakes: &'a [Diagnostic],
}

impl fmt::Display for DisplayMistakes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.path.display().to_string();
        for (i, m) in self.mistakes.iter().enumerate() {
            if i > 0 {
                f.write_str("\nerror: ")?;
            }
            write!(f, "{}", m.display(&file))?;
        }
        if self.mistakes.len() > 1 {
            write!(f, "\n{} mistakes in {file}", self.mistakes.len())?;
        }
        Ok(())
    }
}

/// An inventory as loaded and validated, with the folder its relative paths
/// resolve against and the effective settings of every device.
#[derive(Clone, Debug)]
pub struct LoadedInventory {
    pub path: PathBuf,
    /// Absolute.
    pub base_dir: PathBuf,
    pub inventory: Inventory,
    /// In the order of `devices:`.
    pub devices: Vec<ResolvedDevice>,
    /// The digest of the file's bytes as this load read them
    /// ([`crate::domain::sha256_digest`]): what a saved plan pins, so the
    /// pin is of the inventory the run used, not of a second read.
    pub sha256: String,
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

    /// The effective settings of every device, in inventory order.
    pub fn devices(&self) -> &[ResolvedDevice] {
        &self.devices
    }

    /// One device by name.
    pub fn device(&self, name: &str) -> Option<&ResolvedDevice> {
        self.devices.iter().find(|d| d.name == name)
    }
}

/// Read, parse and validate an inventory file: every mistake is reported
/// (with `file:line:column`), warnings (literal secrets) are logged.
pub fn load(path: &Path) -> Result<LoadedInventory, InventoryError> {
    load_with(path, |_, _, _| Vec::new())
}

/// [`load`], and everything a run would refuse before contacting a device
/// (no device; a secret, key file or login method missing: see
/// `credentials`), every mistake in one error: `tsfleet inventory check`.
/// Reads the secrets, never shows them.
pub fn check(path: &Path) -> Result<LoadedInventory, InventoryError> {
    let mut files = SecretFiles::default();
    load_with(path, |inv, devices, tree| {
        credentials::diagnostics(inv, devices, tree, &mut files)
    })
}

fn load_with(
    path: &Path,
    extra: impl FnOnce(&Inventory, &[ResolvedDevice], &Located) -> Vec<Diagnostic>,
) -> Result<LoadedInventory, InventoryError> {
    let text = crate::files::read_text(path).map_err(|source| InventoryError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base_dir = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    let paths = PathContext {
        base_dir: &base_dir,
        home: home.as_deref(),
    };
    let file = path.display().to_string();
    // Placeholders `tsfleet init` wrote are refused here, not in `check_text`:
    // init itself checks the starter it writes with them.
    let placeholders = starter::placeholders(&text);
    let extra = |inv: &Inventory, devices: &[ResolvedDevice], tree: &Located| {
        let mut mistakes = extra(inv, devices, tree);
        mistakes.extend(placeholders);
        mistakes
    };
    let checked =
        check_text_with(&text, &paths, extra).map_err(|mistakes| InventoryError::Invalid {
            path: path.to_path_buf(),
            mistakes,
        })?;
    // Every inventory warning is about a secret (one written in the file):
    // a security warning, which `-q` does not hide.
    for w in &checked.warnings {
        tracing::warn!(target: SECURITY_LOG, "{}", w.display(&file));
    }
    Ok(LoadedInventory {
        path: path.to_path_buf(),
        base_dir,
        inventory: checked.inventory,
        devices: checked.devices,
        sha256: crate::domain::sha256_digest([text.as_bytes()]),
    })
}

/// What [`check_text`] found in a valid inventory.
#[derive(Debug)]
pub struct Checked {
    pub inventory: Inventory,
    pub devices: Vec<ResolvedDevice>,
    pub warnings: Vec<Diagnostic>,
}

/// Parse and validate inventory text (pure but for nothing: paths are
/// resolved with `paths`). Every mistake found is returned, in file order.
pub fn check_text(text: &str, paths: &PathContext<'_>) -> Result<Checked, Vec<Diagnostic>> {
    check_text_with(text, paths, |_, _, _| Vec::new())
}

/// [`check_text`], with `extra` mistakes found in the resolved devices
/// (when every device resolved) reported alongside.
fn check_text_with(
    text: &str,
    paths: &PathContext<'_>,
    extra: impl FnOnce(&Inventory, &[ResolvedDevice], &Located) -> Vec<Diagnostic>,
) -> Result<Checked, Vec<Diagnostic>> {
    let tree = Located::parse(text);
    let inventory = serde_saphyr::from_str::<Inventory>(text)
        .map_err(|e| vec![diagnostic::from_yaml_error(&e, text, &tree)])?;
    let findings = validate::check(&inventory, &tree);
    let mut errors = findings.errors;
    // Resolution copes with dangling references (validation reports them),
    // so its own mistakes (no username, no policy) are reported alongside.
    let devices = match effective::resolve_all(&inventory, &tree, paths) {
        Ok(devices) => {
            errors.append(&mut validate::same_address(&devices, &tree));
            errors.append(&mut extra(&inventory, &devices, &tree));
            devices
        }
        Err(mut e) => {
            errors.append(&mut e);
            Vec::new()
        }
    };
    if !errors.is_empty() {
        errors.sort_by_key(|d| d.loc);
        let text = diagnostic::MaskedText::new(text);
        return Err(errors.into_iter().map(|d| d.with_snippet(&text)).collect());
    }
    let warnings = if findings.warnings.is_empty() {
        Vec::new()
    } else {
        let text = diagnostic::MaskedText::new(text);
        let warnings = findings.warnings.into_iter();
        warnings.map(|d| d.with_snippet(&text)).collect()
    };
    Ok(Checked {
        inventory,
        devices,
        warnings,
    })
}

/// Parse inventory YAML text (schema only, no checks of meaning); the error
/// message names line and column.
pub fn parse(text: &str) -> Result<Inventory, String> {
    serde_saphyr::from_str(text).map_err(|e| {
        diagnostic::from_yaml_error(&e, text, &Located::parse(text))
            .display("<inventory>")
            .to_string()
    })
}

/// Serialise an inventory as YAML.
pub fn to_yaml(inventory: &Inventory) -> String {
    serde_saphyr::to_string(inventory).expect("an inventory always serialises")
}
