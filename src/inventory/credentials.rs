//! What logging in to each device takes, read and checked before any device
//! is contacted: the secrets (environment variables set, secret files
//! readable), the private key file, and one login method at least. Both a
//! run (`runner::prepare`) and `tsfleet inventory check` ask this module, so
//! the check passes exactly what a run accepts.

use super::diagnostic::Diagnostic;
use super::effective::{Origin, level_path};
use super::located::{Located, Seg, yaml_path};
use super::secret::{SecretError, SecretFiles};
use super::{Inventory, ResolvedDevice};
use std::path::{Path, PathBuf};

/// One device's login, ready to use; secrets in memory only.
#[derive(Clone)]
pub struct Login {
    pub password: Option<String>,
    pub enable_secret: Option<String>,
    /// Read (a regular file under the size cap) and decoded.
    pub private_key: Option<PrivateKeyFile>,
}

/// A private key, decoded once per run, and the file it came from (for
/// messages).
#[derive(Clone)]
pub struct PrivateKeyFile {
    pub path: PathBuf,
    pub key: std::sync::Arc<russh::keys::PrivateKey>,
}

/// Why a device cannot log in, found without contacting it.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CredentialError {
    /// `key` is `password`, `enable_secret` or `private_key`.
    #[error("`{key}`: {source}")]
    Unreadable {
        key: &'static str,
        source: SecretError,
    },
    #[error("no `password` and no `private_key`: set one of them")]
    Missing,
}

/// Every reason `device` cannot log in (all of them, not the first), or its login.
pub fn login(
    device: &ResolvedDevice,
    files: &mut SecretFiles,
) -> Result<Login, Vec<CredentialError>> {
    let mut errors = Vec::new();
    let mut reveal = |key: &'static str, secret: &Option<super::Secret>| {
        let secret = secret.as_ref()?;
        // Resolved devices hold absolute paths.
        files
            .reveal(secret, Path::new("/"))
            .map_err(|source| errors.push(CredentialError::Unreadable { key, source }))
            .ok()
    };
    let password = reveal("password", &device.password);
    let enable_secret = reveal("enable_secret", &device.enable_secret);
    let private_key = (device.private_key.as_ref()).and_then(|path| match files.key(path) {
        Ok(key) => Some(PrivateKeyFile {
            path: path.clone(),
            key,
        }),
        Err(source) => {
            errors.push(CredentialError::Unreadable {
                key: "private_key",
                source,
            });
            None
        }
    });
    if device.password.is_none() && device.private_key.is_none() {
        errors.push(CredentialError::Missing);
    }
    if errors.is_empty() {
        Ok(Login {
            password,
            enable_secret,
            private_key,
        })
    } else {
        Err(errors)
    }
}

/// What a run would refuse before contacting a device, located in the
/// inventory: no device at all, and every device's [`login`] problems.
/// A problem set under `defaults` or a group is reported once, where it is
/// written, however many devices share it.
pub(super) fn diagnostics(
    inv: &Inventory,
    devices: &[ResolvedDevice],
    tree: &Located,
    files: &mut SecretFiles,
) -> Vec<Diagnostic> {
    if inv.devices.is_empty() {
        return vec![
            Diagnostic::new(
                tree.key(yaml_path!["devices"]),
                "the inventory lists no device",
            )
            .help("add the routers under `devices:`, e.g. - { name: r1, host: 192.0.2.1 }"),
        ];
    }
    let mut out: Vec<Diagnostic> = Vec::new();
    for (i, d) in devices.iter().enumerate() {
        let Err(errors) = login(d, files) else {
            continue;
        };
        for e in errors {
            let diag = match &e {
                CredentialError::Unreadable { key, source } => {
                    let origin = d.origins.get(key).cloned().unwrap_or(Origin::Device);
                    let mut path = level_path(&origin, i);
                    path.push(Seg::Key(key));
                    let here = match &origin {
                        Origin::Defaults => "`defaults`".to_string(),
                        Origin::Group(g) => format!("group `{g}`"),
                        Origin::Device | Origin::BuiltIn => format!("device `{}`", d.name),
                    };
                    Diagnostic::new(tree.value(&path), format!("{here}: `{key}`: {source}"))
                        .help(help(source))
                }
                CredentialError::Missing => Diagnostic::new(
                    tree.value(yaml_path!["devices", i]),
                    format!("device `{}`: {e}", d.name),
                )
                .help(
                    "set `password:` ({ env: NAME } or { file: PATH }) or `private_key:` under \
                     `defaults:`, in one of the device's groups, or on the device",
                ),
            };
            if !out.contains(&diag) {
                out.push(diag);
            }
        }
    }
    out
}

fn help(e: &SecretError) -> String {
    match e {
        SecretError::EnvMissing(name) => {
            format!("export {name} where tsfleet runs (a run would refuse to start without it)")
        }
        SecretError::File { .. } => {
            "check the path (relative paths start at the inventory's folder) \
             and that this user may read it"
                .into()
        }
        SecretError::NotRegular { .. } | SecretError::TooLarge { .. } => {
            "write the secret, alone, in a regular file with mode 0600".into()
        }
        SecretError::KeyUnusable { path, .. } => format!(
            "point `private_key` at the private key itself (not the .pub), without a passphrase \
             (`ssh-keygen -p -f {}` removes one), mode 0600",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::effective::PathContext;

    fn parse(text: &str, dir: &Path) -> (Inventory, Vec<ResolvedDevice>, Located) {
        let paths = PathContext {
            base_dir: dir,
            home: None,
        };
        let checked = crate::inventory::check_text(text, &paths).unwrap();
        (checked.inventory, checked.devices, Located::parse(text))
    }

    #[test]
    fn every_problem_is_found_once_where_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let text = "defaults:\n  username: u\n  password: { env: TSFLEET_TEST_UNSET_PW }\n\
                    devices:\n  - { name: a, host: 192.0.2.1 }\n  - { name: b, host: 192.0.2.2 }\n\
                    \x20 - { name: c, host: 192.0.2.3, private_key: k, enable_secret: { file: en } }\n";
        let (inv, devices, tree) = parse(text, dir.path());
        let found = diagnostics(&inv, &devices, &tree, &mut SecretFiles::default());
        let found: Vec<(usize, &str)> = found
            .iter()
            .map(|d| (d.loc.unwrap().line, d.message.as_str()))
            .collect();
        let key = dir.path().join("k");
        let en = dir.path().join("en");
        assert_eq!(
            found,
            [
                (3, "`defaults`: `password`: environment variable TSFLEET_TEST_UNSET_PW is not set (it holds a secret the inventory refers to)".to_string()),
                (7, format!("device `c`: `enable_secret`: cannot read secret file {}: No such file or directory (os error 2)", en.display())),
                (7, format!("device `c`: `private_key`: cannot read private key file {}: No such file or directory (os error 2)", key.display())),
            ]
            .iter()
            .map(|(l, m)| (*l, m.as_str()))
            .collect::<Vec<_>>()
        );
        // The same function gives a run its login, or every reason it has none.
        let errors = login(&devices[2], &mut SecretFiles::default())
            .err()
            .unwrap();
        assert_eq!(errors.len(), 3, "{errors:?}");
        std::fs::write(&en, "enable\n").unwrap();
        let d = ResolvedDevice {
            password: None,
            ..devices[2].clone()
        };
        // A file that is no key is refused now, before any device is
        // contacted, without showing what it holds.
        std::fs::write(&key, "hunter2-not-a-key\n").unwrap();
        let errors = login(&d, &mut SecretFiles::default()).err().unwrap();
        let text = errors[0].to_string();
        assert!(
            text.contains("private key file") && text.contains("cannot be used"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
        // A real key is decoded once per run, however many devices use it.
        let real =
            russh::keys::PrivateKey::random(&mut rand::rng(), russh::keys::Algorithm::Ed25519)
                .unwrap();
        let pem = real
            .to_openssh(russh::keys::ssh_key::LineEnding::LF)
            .unwrap();
        std::fs::write(&key, pem.as_bytes()).unwrap();
        let mut files = SecretFiles::default();
        let l = login(&d, &mut files).ok().unwrap();
        assert_eq!(l.enable_secret.as_deref(), Some("enable"));
        let first = l.private_key.unwrap();
        assert_eq!(first.path, key);
        assert_eq!(first.key.public_key(), real.public_key());
        std::fs::remove_file(&key).unwrap();
        let again = login(&d, &mut files).ok().unwrap().private_key.unwrap();
        assert!(std::sync::Arc::ptr_eq(&first.key, &again.key), "read once");
    }

    #[test]
    fn no_login_method_and_no_device_are_problems() {
        let dir = tempfile::tempdir().unwrap();
        let text = "defaults: { username: u }\ndevices:\n  - { name: a, host: 192.0.2.1 }\n";
        let (inv, devices, tree) = parse(text, dir.path());
        let found = diagnostics(&inv, &devices, &tree, &mut SecretFiles::default());
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "device `a`: no `password` and no `private_key`: set one of them"
        );
        let text = "defaults: { username: u }\ndevices: []\n";
        let (inv, devices, tree) = parse(text, dir.path());
        let found = diagnostics(&inv, &devices, &tree, &mut SecretFiles::default());
        assert_eq!(found[0].message, "the inventory lists no device");
        assert_eq!(found[0].loc.map(|l| l.line), Some(2));
    }
}
