//! `tsfleet import-inventory`: a Nornir or Ansible inventory → one tsfleet
//! inventory, on stdout or `-o FILE` (0600). Notes and the environment
//! variables to set go to stderr; no secret is ever written or printed.

use crate::cli::{ImportInventoryArgs, InventoryFormat};
use crate::domain::{DnsServer, ListName};
use crate::error::{Error, Outcome};
use crate::inventory::foreign::{self, Options};
use crate::inventory::import::{ConfError, EnvVar};

pub fn run(args: ImportInventoryArgs) -> Result<Outcome, Error> {
    if let Some(path) = args.output.as_ref().and_then(|o| o.path())
        && std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink())
    {
        return Err(Error::Output {
            flag: "--output",
            path: path.display().to_string(),
            problem: "is a symbolic link (an inventory is written to the file itself): give the file's own path".into(),
        });
    }
    super::init::check_output(args.output.as_ref(), args.force)?;
    let mut bad = Vec::new();
    let lists = args.block.iter().map(|l| ("--block", l));
    for (flag, l) in lists.chain(args.allow.iter().map(|l| ("--allow", l))) {
        if let Err(reason) = l.parse::<ListName>() {
            bad.push(format!(
                "{flag} `{l}` is not a DNS name ({reason}): give a ThreatSTOP list such as NAME.ACCOUNT.threatstop.local"
            ));
        }
    }
    for s in &args.dns {
        if let Err(p) = s.parse::<DnsServer>() {
            bad.push(format!("--dns `{s}`: {p}"));
        }
    }
    if args.from == InventoryFormat::Ansible && args.files.len() > 1 {
        bad.push(
            "--from ansible reads one inventory file: merge several with `ansible-inventory -i A -i B --list -y`"
                .into(),
        );
    }
    if !bad.is_empty() {
        return Err(Error::Mistakes {
            mistakes: bad,
            then: "",
        });
    }
    let files = read_texts(&args.files)?;
    let opts = Options {
        block: args.block,
        allow: args.allow,
        dns: args.dns,
        dns_port: args.dns_port,
        notes: match args.from {
            InventoryFormat::Ansible => var_folders(&args.files[0]),
            InventoryFormat::Nornir => Vec::new(),
        },
    };
    let imported = match args.from {
        InventoryFormat::Nornir => foreign::import_nornir(&files, &opts),
        InventoryFormat::Ansible => foreign::import_ansible(&files[0].0, &files[0].1, &opts),
    }
    .map_err(mistakes)?;
    for note in &imported.notes {
        eprintln!("note: {note}");
    }
    let output = args.output.unwrap_or(crate::files::Output::Stdout);
    output
        .write_mode(imported.yaml.as_bytes(), 0o600)
        .map_err(|source| Error::Io {
            path: output.to_string().into(),
            source,
        })?;
    print_env(&imported.env);
    Ok(Outcome::Done)
}

/// Each file's name (as given) and text; shared with `import-conf`.
pub(super) fn read_texts(paths: &[std::path::PathBuf]) -> Result<Vec<(String, String)>, Error> {
    paths
        .iter()
        .map(|path| {
            let text = crate::files::read_text(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            Ok((path.display().to_string(), text))
        })
        .collect()
}

/// An importer's mistakes (each `file:line: ...`), as one error; shared
/// with `import-conf`.
pub(super) fn mistakes(errors: Vec<ConfError>) -> Error {
    let n = errors.len();
    let mut text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    if n > 1 {
        text.push(format!("{n} mistakes; nothing written"));
    }
    Error::Mistakes {
        mistakes: text,
        then: "",
    }
}

/// The variables an imported inventory refers to, on stderr (names only);
/// shared with `import-conf`.
pub(super) fn print_env(env: &[EnvVar]) {
    if !env.is_empty() {
        eprintln!("Set these environment variables before plan/apply (values are not shown):");
        let w = env.iter().map(|e| e.name.len()).max().unwrap_or(0);
        for e in env {
            eprintln!("  {:<w$}  {}", e.name, e.holds);
        }
    }
}

/// `host_vars/` and `group_vars/` beside an Ansible inventory hold
/// variables this does not read: say so.
fn var_folders(inventory: &std::path::Path) -> Vec<String> {
    let dir = inventory.parent().unwrap_or(std::path::Path::new(""));
    ["host_vars", "group_vars"]
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.is_dir())
        .map(|p| {
            format!(
                "{}/ is not read: `ansible-inventory -i {} --list -y` merges it into one file to import",
                p.display(),
                inventory.display()
            )
        })
        .collect()
}
