//! The effective settings of each device: `defaults`, then the device's
//! groups in the order it lists them, then the device itself (the last level
//! that sets a key wins), then tsfleet's built-in defaults for what no level
//! sets. Paths are resolved against the inventory's folder here, so users of
//! a [`ResolvedDevice`] never need to know where the inventory was.
//!
//! Pure apart from reading `$HOME` for `~` (passed in as `home`).

use super::diagnostic::Diagnostic;
use super::located::{Located, Seg, yaml_path};
use super::{DeviceSettings, HostKeyPolicy, Inventory, Secret};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_PORT: u16 = 22;
pub const DEFAULT_BLOCK_GROUP: &str = "threatstop-block";
pub const DEFAULT_ALLOW_GROUP: &str = "threatstop-allow";
pub const DEFAULT_BLOCK_GROUP_V6: &str = "threatstop-block-v6";
pub const DEFAULT_ALLOW_GROUP_V6: &str = "threatstop-allow-v6";
pub const DEFAULT_KNOWN_HOSTS: &str = "~/.ssh/known_hosts";
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_COMMAND_TIMEOUT_MS: u64 = 30_000;

/// One device with every setting decided and validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedDevice {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub groups: Vec<String>,
    pub username: String,
    /// File secrets carry absolute paths (resolved against the inventory's folder).
    pub password: Option<Secret>,
    pub enable_secret: Option<Secret>,
    pub private_key: Option<PathBuf>,
    /// A key of `policies`. `None` only when the inventory defines no policy
    /// at all (e.g. the one `tsfleet sim --write-inventory` writes): such an
    /// inventory can be checked and shown but has no lists to push.
    pub policy: Option<String>,
    pub block_group: String,
    pub allow_group: String,
    /// Whether the lists' IPv6 items go into `block_group_v6` and
    /// `allow_group_v6` (`object-group v6-network`, IOS XE only).
    pub ipv6: bool,
    pub block_group_v6: String,
    pub allow_group_v6: String,
    pub host_key_policy: HostKeyPolicy,
    pub known_hosts: PathBuf,
    pub legacy_algorithms: bool,
    pub save_config: bool,
    pub connect_timeout: Duration,
    /// Longest wait for any output from the router (inactivity, not total).
    pub command_timeout: Duration,
    /// YAML line of the device entry, for messages.
    pub line: usize,
    /// Which level set each setting (keyed by the YAML key name).
    pub origins: BTreeMap<&'static str, Origin>,
}

/// Where an effective setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    Defaults,
    Group(String),
    Device,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built-in default"),
            Origin::Defaults => f.write_str("defaults"),
            Origin::Group(g) => write!(f, "group {g}"),
            Origin::Device => f.write_str("device"),
        }
    }
}

/// Where paths in the inventory resolve: its folder, and `$HOME` for `~`.
#[derive(Clone, Debug)]
pub struct PathContext<'a> {
    pub base_dir: &'a Path,
    pub home: Option<&'a Path>,
}

impl PathContext<'_> {
    /// `~/x` → `$HOME/x`; relative → against the inventory's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if let (Ok(rest), Some(home)) = (p.strip_prefix("~"), self.home) {
            return home.join(rest);
        }
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    fn secret(&self, s: &Secret) -> Secret {
        match s {
            Secret::File { file } => Secret::File {
                file: self.resolve(file),
            },
            other => other.clone(),
        }
    }
}

/// The levels that apply to device `index`, most general first.
fn levels(inv: &Inventory, index: usize) -> Vec<(Origin, &DeviceSettings)> {
    let device = &inv.devices[index];
    let mut levels = vec![(Origin::Defaults, &inv.defaults)];
    for g in &device.groups {
        if let Some(settings) = inv.groups.get(g) {
            levels.push((Origin::Group(g.clone()), settings));
        }
    }
    levels.push((Origin::Device, &device.settings));
    levels
}

/// The most specific level that sets a key, with the value.
fn pick<'a, T>(
    levels: &[(Origin, &'a DeviceSettings)],
    get: impl Fn(&'a DeviceSettings) -> Option<&'a T>,
) -> Option<(&'a T, Origin)> {
    levels
        .iter()
        .rev()
        .find_map(|(origin, s)| get(s).map(|v| (v, origin.clone())))
}

/// The YAML path of the level `origin` for device `index`.
pub(super) fn level_path(origin: &Origin, index: usize) -> Vec<Seg<'_>> {
    match origin {
        Origin::Defaults => yaml_path!["defaults"].to_vec(),
        Origin::Group(g) => yaml_path!["groups", g.as_str()].to_vec(),
        Origin::Device | Origin::BuiltIn => yaml_path!["devices", index].to_vec(),
    }
}

/// The effective settings of every device, or every reason some device has
/// none. Dangling group or policy references are skipped here: they are
/// [`super::validate::check`]'s to report.
pub fn resolve_all(
    inv: &Inventory,
    tree: &Located,
    paths: &PathContext<'_>,
) -> Result<Vec<ResolvedDevice>, Vec<Diagnostic>> {
    let mut devices = Vec::new();
    let mut errors = Vec::new();
    for i in 0..inv.devices.len() {
        match resolve_one(inv, tree, paths, i) {
            Ok(d) => devices.push(d),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(devices)
    } else {
        Err(errors)
    }
}

fn resolve_one(
    inv: &Inventory,
    tree: &Located,
    paths: &PathContext<'_>,
    i: usize,
) -> Result<ResolvedDevice, Vec<Diagnostic>> {
    let device = &inv.devices[i];
    let levels = levels(inv, i);
    let entry = tree.value(yaml_path!["devices", i]);
    let mut origins = BTreeMap::new();
    let mut errors = Vec::new();
    let here = format!("device `{}`", device.name);

    macro_rules! setting {
        ($key:ident, $default:expr) => {{
            match pick(&levels, |s| s.$key.as_ref()) {
                Some((v, origin)) => {
                    origins.insert(stringify!($key), origin);
                    Some(v.clone())
                }
                None => {
                    let d: Option<_> = $default;
                    if d.is_some() {
                        origins.insert(stringify!($key), Origin::BuiltIn);
                    }
                    d
                }
            }
        }};
    }

    let port = setting!(port, Some(DEFAULT_PORT)).unwrap_or(DEFAULT_PORT);
    let username = setting!(username, None::<String>);
    if username.is_none() {
        errors.push(
            Diagnostic::new(entry, format!("{here} has no `username`"))
                .help("set `username:` under `defaults:`, in one of the device's groups, or on the device"),
        );
    }
    let password = setting!(password, None::<Secret>).map(|s| paths.secret(&s));
    let enable_secret = setting!(enable_secret, None::<Secret>).map(|s| paths.secret(&s));
    let private_key = setting!(private_key, None::<PathBuf>).map(|p| paths.resolve(&p));
    let policy = setting!(
        policy,
        match inv.policies.len() {
            1 => inv.policies.keys().next().cloned(),
            _ => None,
        }
    );
    if policy.is_none() && inv.policies.len() > 1 {
        errors.push(
            Diagnostic::new(
                entry,
                format!(
                    "{here} has no `policy`, and the inventory defines {}",
                    inv.policies.len()
                ),
            )
            .help(format!(
                "set `policy:` to one of {} under `defaults:`, a group, or the device",
                inv.policies
                    .keys()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }
    let block_group =
        setting!(block_group, Some(DEFAULT_BLOCK_GROUP.to_string())).unwrap_or_default();
    let allow_group =
        setting!(allow_group, Some(DEFAULT_ALLOW_GROUP.to_string())).unwrap_or_default();
    let ipv6 = setting!(ipv6, Some(false)).unwrap_or(false);
    let block_group_v6 =
        setting!(block_group_v6, Some(DEFAULT_BLOCK_GROUP_V6.to_string())).unwrap_or_default();
    let allow_group_v6 =
        setting!(allow_group_v6, Some(DEFAULT_ALLOW_GROUP_V6.to_string())).unwrap_or_default();
    // IOS keeps one namespace for every object-group: the IPv6 names must
    // differ from the IPv4 ones too, when they are used.
    let mut names = vec![("block_group", &block_group), ("allow_group", &allow_group)];
    if ipv6 {
        names.push(("block_group_v6", &block_group_v6));
        names.push(("allow_group_v6", &allow_group_v6));
    }
    // How specific the level that set a key is: the built-in default least,
    // then `defaults`, the device's groups in order, the device most.
    let rank = |key: &str| match origins.get(key) {
        None | Some(Origin::BuiltIn) => 0,
        Some(origin) => 1 + levels.iter().position(|(o, _)| o == origin).unwrap_or(0),
    };
    for (at, &(key, name)) in names.iter().enumerate() {
        let Some(&(first, _)) = names[..at].iter().find(|(_, n)| *n == name) else {
            continue;
        };
        // Point at the setting the user wrote last, where the clash was made.
        let blamed = if rank(first) > rank(key) { first } else { key };
        let origin = origins.get(blamed).cloned().unwrap_or(Origin::Device);
        let mut p = level_path(&origin, i);
        p.push(Seg::Key(blamed));
        let from = |k: &str| origins.get(k).map_or(Origin::BuiltIn, Clone::clone);
        errors.push(
            Diagnostic::new(
                tree.value(&p).or(entry),
                format!(
                    "{here}: `{first}` ({}) and `{key}` ({}) are both `{name}`",
                    from(first),
                    from(key)
                ),
            )
            .help("each list needs its own object-group: give them different names"),
        );
    }
    let host_key_policy =
        setting!(host_key_policy, Some(HostKeyPolicy::Strict)).unwrap_or_default();
    let known_hosts = paths.resolve(
        &setting!(known_hosts, Some(PathBuf::from(DEFAULT_KNOWN_HOSTS))).unwrap_or_default(),
    );
    let legacy_algorithms = setting!(legacy_algorithms, Some(true)).unwrap_or(true);
    let save_config = setting!(save_config, Some(true)).unwrap_or(true);
    let connect_timeout_ms = setting!(connect_timeout_ms, Some(DEFAULT_CONNECT_TIMEOUT_MS))
        .unwrap_or(DEFAULT_CONNECT_TIMEOUT_MS);
    let command_timeout_ms = setting!(command_timeout_ms, Some(DEFAULT_COMMAND_TIMEOUT_MS))
        .unwrap_or(DEFAULT_COMMAND_TIMEOUT_MS);
    if !errors.is_empty() {
        return Err(errors);
    }
    origins.insert("host", Origin::Device);
    origins.insert("groups", Origin::Device);
    Ok(ResolvedDevice {
        name: device.name.clone(),
        host: device.host.clone(),
        port,
        groups: device.groups.clone(),
        username: username.unwrap_or_default(),
        password,
        enable_secret,
        private_key,
        policy,
        block_group,
        allow_group,
        ipv6,
        block_group_v6,
        allow_group_v6,
        host_key_policy,
        known_hosts,
        legacy_algorithms,
        save_config,
        connect_timeout: Duration::from_millis(connect_timeout_ms),
        command_timeout: Duration::from_millis(command_timeout_ms),
        line: entry.map_or(0, |l| l.line),
        origins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line, column and message of each mistake in `text`.
    fn mistakes(text: &str) -> Vec<(usize, usize, String)> {
        let paths = PathContext {
            base_dir: Path::new("/"),
            home: None,
        };
        match super::super::check_text(text, &paths) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .into_iter()
                .map(|d| {
                    let loc = d.loc.expect("located");
                    (loc.line, loc.column, d.message)
                })
                .collect(),
        }
    }

    const HEAD: &str = "policies: { p: { block: [b.threatstop.local] } }\n";

    #[test]
    fn clashing_group_names_point_at_the_setting_that_made_the_clash() {
        // An IPv4 name set in `defaults` clashes with the other's built-in
        // default: the caret is under the value in `defaults`, not the device.
        let text = format!(
            "{HEAD}defaults:\n  username: u\n  password: p\n  block_group: threatstop-allow\n\
             devices:\n  - {{ name: r1, host: 192.0.2.1 }}\n"
        );
        assert_eq!(
            mistakes(&text),
            [(
                5,
                16,
                "device `r1`: `block_group` (defaults) and `allow_group` (built-in default) \
                 are both `threatstop-allow`"
                    .into()
            )]
        );

        // IPv6 names at different levels: the device's own setting is blamed,
        // whichever of the two keys comes first.
        let text = format!(
            "{HEAD}defaults: {{ username: u, password: p }}\n\
             groups:\n  xe:\n    ipv6: true\n    allow_group_v6: TS6\n\
             devices:\n  - name: r1\n    host: 192.0.2.1\n    groups: [xe]\n    block_group_v6: TS6\n"
        );
        assert_eq!(
            mistakes(&text),
            [(
                11,
                21,
                "device `r1`: `block_group_v6` (device) and `allow_group_v6` (group xe) \
                 are both `TS6`"
                    .into()
            )]
        );

        // An IPv6 name that is an IPv4 group's: one namespace on IOS.
        let text = format!(
            "{HEAD}defaults: {{ username: u, password: p }}\n\
             groups:\n  xe: {{ ipv6: true, allow_group_v6: threatstop-block }}\n\
             devices:\n  - {{ name: r1, host: 192.0.2.1, groups: [xe] }}\n"
        );
        assert_eq!(
            mistakes(&text),
            [(
                4,
                37,
                "device `r1`: `block_group` (built-in default) and `allow_group_v6` (group xe) \
                 are both `threatstop-block`"
                    .into()
            )]
        );
    }

    #[test]
    fn the_ipv6_names_count_only_when_ipv6_is_on() {
        let clash = "  block_group_v6: same\n  allow_group_v6: same\n";
        let text = |ipv6: &str| {
            format!(
                "{HEAD}defaults:\n  username: u\n  password: p\n{clash}{ipv6}\
                 devices:\n  - {{ name: r1, host: 192.0.2.1 }}\n"
            )
        };
        assert_eq!(mistakes(&text("")), []);
        assert_eq!(mistakes(&text("  ipv6: false\n")), []);
        assert_eq!(
            mistakes(&text("  ipv6: true\n")),
            [(
                6,
                19,
                "device `r1`: `block_group_v6` (defaults) and `allow_group_v6` (defaults) \
                 are both `same`"
                    .into()
            )]
        );
        // A device that turns IPv6 off is not held to names it does not use.
        let text = format!(
            "{HEAD}defaults:\n  username: u\n  password: p\n{clash}  ipv6: true\n\
             devices:\n  - {{ name: r1, host: 192.0.2.1, ipv6: false }}\n  - {{ name: r2, host: 192.0.2.2 }}\n"
        );
        let found = mistakes(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].2.starts_with("device `r2`: "), "{found:?}");
    }

    #[test]
    fn ipv6_and_its_names_resolve_through_the_levels_with_their_origins() {
        let text = format!(
            "{HEAD}defaults: {{ username: u, password: p, block_group_v6: D-BLOCK6 }}\n\
             groups: {{ xe: {{ ipv6: true }} }}\n\
             devices:\n  - {{ name: r1, host: 192.0.2.1, groups: [xe], allow_group_v6: R1-ALLOW6 }}\n\
             \x20 - {{ name: r2, host: 192.0.2.2 }}\n"
        );
        let paths = PathContext {
            base_dir: Path::new("/"),
            home: None,
        };
        let checked = super::super::check_text(&text, &paths).unwrap();
        let [r1, r2] = &checked.devices[..] else {
            panic!("two devices")
        };
        assert!(r1.ipv6 && !r2.ipv6);
        assert_eq!(
            (r1.block_group_v6.as_str(), r1.allow_group_v6.as_str()),
            ("D-BLOCK6", "R1-ALLOW6")
        );
        assert_eq!(r2.allow_group_v6, DEFAULT_ALLOW_GROUP_V6);
        assert_eq!(r1.origins["ipv6"], Origin::Group("xe".into()));
        assert_eq!(r1.origins["block_group_v6"], Origin::Defaults);
        assert_eq!(r1.origins["allow_group_v6"], Origin::Device);
        assert_eq!(r2.origins["ipv6"], Origin::BuiltIn);
        assert_eq!(r2.origins["allow_group_v6"], Origin::BuiltIn);
    }
}
