//! `tsfleet inventory check` and `tsfleet inventory show`: validate an
//! inventory, and print each device's effective settings with where each
//! came from. Nothing is contacted; secrets are never printed.

use crate::cli::{InventoryCheckArgs, InventoryCommand, InventoryShowArgs};
use crate::error::{Error, Outcome};
use crate::inventory::{self, LoadedInventory, ResolvedDevice, Secret};
use std::path::Path;

pub fn run(command: InventoryCommand) -> Result<Outcome, Error> {
    match command {
        InventoryCommand::Check(args) => check(&args),
        InventoryCommand::Show(args) => show(&args),
    }
}

fn check(args: &InventoryCheckArgs) -> Result<Outcome, Error> {
    let loaded = inventory::check(&args.inventory.path)?;
    println!("{}", summary(&loaded));
    Ok(Outcome::Done)
}

/// `inventory.yaml: ok, 5 devices, 2 groups, 2 policies`.
pub fn summary(loaded: &LoadedInventory) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{}: ok, {}, {}, {}",
        loaded.path.display(),
        plural(loaded.devices.len(), "device", "devices"),
        plural(loaded.inventory.groups.len(), "group", "groups"),
        plural(loaded.inventory.policies.len(), "policy", "policies"),
    )
}

fn show(args: &InventoryShowArgs) -> Result<Outcome, Error> {
    let loaded = inventory::load(&args.inventory.path)?;
    let devices = super::select::devices(loaded.devices(), &args.devices)?;
    let file = loaded.path.display().to_string();
    let blocks: Vec<String> = devices.iter().map(|d| render(d, &file)).collect();
    print!("{}", blocks.join("\n"));
    Ok(Outcome::Done)
}

/// A secret as it may be shown: the reference, or `******` for a literal.
fn masked(s: &Option<Secret>) -> String {
    s.as_ref()
        .map_or_else(|| "-".to_string(), Secret::to_string)
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// One device as aligned `key  value  (origin)` lines.
pub fn render(d: &ResolvedDevice, file: &str) -> String {
    let ms = |t: std::time::Duration| t.as_millis().to_string();
    let rows: Vec<(&str, String)> = vec![
        ("host", d.host.clone()),
        ("port", d.port.to_string()),
        (
            "groups",
            if d.groups.is_empty() {
                "-".into()
            } else {
                d.groups.join(", ")
            },
        ),
        ("username", d.username.clone()),
        ("password", masked(&d.password)),
        ("enable_secret", masked(&d.enable_secret)),
        (
            "private_key",
            d.private_key.as_deref().map_or("-".into(), path),
        ),
        ("policy", d.policy.clone().unwrap_or_else(|| "-".into())),
        ("block_group", d.block_group.clone()),
        ("allow_group", d.allow_group.clone()),
        ("ipv6", d.ipv6.to_string()),
        ("block_group_v6", d.block_group_v6.clone()),
        ("allow_group_v6", d.allow_group_v6.clone()),
        (
            "host_key_policy",
            serde_json::to_value(d.host_key_policy)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        ),
        ("known_hosts", path(&d.known_hosts)),
        ("legacy_algorithms", d.legacy_algorithms.to_string()),
        ("save_config", d.save_config.to_string()),
        ("connect_timeout_ms", ms(d.connect_timeout)),
        ("command_timeout_ms", ms(d.command_timeout)),
    ];
    let key_w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let val_w = rows
        .iter()
        .map(|(_, v)| v.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = format!("{}  ({file}:{})\n", d.name, d.line);
    for (k, v) in rows {
        let origin = d
            .origins
            .get(k)
            .map(|o| format!("  ({o})"))
            .unwrap_or_default();
        let line = format!("  {k:<key_w$}  {v:<val_w$}{origin}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
