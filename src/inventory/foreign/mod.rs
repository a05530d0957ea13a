//! Nornir and Ansible inventories turned into a tsfleet inventory
//! (`tsfleet import-inventory`). Pure: file names and texts in, inventory
//! text and notes out. `nornir` and `ansible` read their format into one
//! `Source`; this module maps it:
//!
//! - defaults (Nornir `defaults.yaml`, Ansible `all: vars`) → `defaults`;
//!   groups → `groups` (every group a device is in, parents before children,
//!   so the most specific wins as in the source); hosts → `devices`.
//! - address, port, username, SSH key file and timeouts are mapped; a host
//!   whose platform is known and is not Cisco IOS or IOS-XE is left out and
//!   reported (tsfleet would fail on it).
//! - Passwords and enable secrets are never copied: each place that sets
//!   one (literal, vault-encrypted or template) gets an `{ env: NAME }`
//!   reference, and a note names the variable and the source line. No note
//!   or error ever quotes a value (a value may be a secret under a key
//!   tsfleet does not know).
//! - Anything else (per-host data, unknown variables, templates) is listed
//!   as `file:line` notes: on stderr and in the header comment.
//! - The lists are not in these inventories: `--block`/`--allow` make the
//!   policy; without them the devices name policy `threatstop`, which is
//!   not defined, so `inventory check` refuses the file until it is.

mod ansible;
mod nornir;

use super::import::{ConfError, EnvVar, Imported, env_block, env_name};
use super::located::Node;
use super::validate::name_problem;
use super::{Device, DeviceSettings, DnsSettings, DnsTransport, Inventory, Policy, Secret};
use crate::domain::{escape_controls, host_problem};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

pub use ansible::import as import_ansible;
pub use nornir::import as import_nornir;

/// The name of the one policy the imported inventory has (or asks for).
pub const POLICY: &str = "threatstop";

/// What the command line adds to what the source inventory holds.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Block and allow lists of the one policy (none: a TODO policy).
    pub block: Vec<String>,
    pub allow: Vec<String>,
    /// DNS servers the lists are resolved from, and their port.
    pub dns: Vec<String>,
    pub dns_port: Option<u16>,
    /// Notes the caller found (files beside the source that are not read).
    pub notes: Vec<String>,
}

/// What a source key means for tsfleet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setting {
    Host,
    Port,
    User,
    Password,
    Enable,
    Key,
    Platform,
    Connection,
    /// Seconds, as Nornir's plugins and Ansible write them.
    ConnectTimeout,
    CommandTimeout,
    /// Understood, and needs nothing in tsfleet.
    Needless,
    /// The options of a Nornir connection plugin that is not SSH to the CLI.
    OtherPlugin,
}

/// A value as read.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Text(String),
    /// `!vault` or `$ANSIBLE_VAULT;...`: encrypted with ansible-vault.
    Vault,
    /// A mapping or a list.
    Nested,
}

impl Val {
    fn of(node: &Node) -> Val {
        match node {
            Node::Scalar(s) if s.trim_start().starts_with("$ANSIBLE_VAULT") => Val::Vault,
            Node::Scalar(s) => Val::Text(s.clone()),
            Node::Map(_) | Node::Seq(_) => Val::Nested,
        }
    }

    fn text(s: &str) -> Val {
        if s.trim_start().starts_with("$ANSIBLE_VAULT") {
            Val::Vault
        } else {
            Val::Text(s.to_string())
        }
    }

    fn is_template(&self) -> bool {
        matches!(self, Val::Text(s) if s.contains("{{") || s.contains("{%"))
    }

    fn is_empty(&self) -> bool {
        matches!(self, Val::Text(s) if s.is_empty())
    }

    /// Empty, blank or null (`key:`, `key: ~`, `key=`): unset, as in the source.
    fn is_unset(&self) -> bool {
        matches!(self, Val::Text(s) if s.trim().is_empty())
    }
}

/// One variable of a scope: the key as written in the source (dotted for
/// nested keys), what it means, its value and line.
#[derive(Clone, Debug)]
struct Var {
    key: String,
    setting: Option<Setting>,
    val: Val,
    line: usize,
}

/// Defaults, a group or a host, as read.
#[derive(Clone, Debug, Default)]
struct Scope {
    file: String,
    line: usize,
    vars: Vec<Var>,
}

impl Scope {
    /// The value that holds for `s`: the last one set (an empty or null
    /// value sets nothing, as [`settings`] skips it).
    fn last(&self, s: Setting) -> Option<&Var> {
        self.vars
            .iter()
            .rev()
            .find(|v| v.setting == Some(s) && !v.val.is_unset())
    }
}

#[derive(Clone, Debug)]
struct Host {
    name: String,
    scope: Scope,
    /// Groups in tsfleet's order: least specific first.
    groups: Vec<String>,
}

/// An inventory as read, in any format.
#[derive(Clone, Debug, Default)]
struct Source {
    /// "Nornir", "Ansible YAML", "Ansible INI".
    kind: &'static str,
    files: Vec<String>,
    defaults: Scope,
    groups: BTreeMap<String, Scope>,
    hosts: Vec<Host>,
    /// What the reader could not map (file:line ...).
    notes: Vec<String>,
}

/// The untyped tree of a YAML file, or its mistake at file:line. The
/// parser's message is kept without any snippet of the text: a line may
/// hold a password.
fn yaml(file: &str, text: &str) -> Result<Spanned<Node>, ConfError> {
    super::located::tree(text).map_err(|e| ConfError {
        file: file.to_string(),
        line: e.location().map_or(0, |l| l.line() as usize),
        message: format!("not valid YAML: {}", yaml_reason(&e)),
    })
}

/// The first line of serde-saphyr's message without its position (given
/// separately) and without any quoted text.
fn yaml_reason(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("").trim();
    let first = first.split(" at line ").next().unwrap_or(first);
    if first.contains('`') || first.contains('"') || first.contains('\'') {
        "the YAML syntax is broken here".into()
    } else {
        first.to_string()
    }
}

fn line_of<T>(s: &Spanned<T>) -> usize {
    s.referenced.line() as usize
}

/// The IOS platforms of Nornir's plugins (netmiko, napalm, scrapli) and
/// Ansible's `ansible_network_os`, lower case.
const IOS: &[&str] = &[
    "ios",
    "iosxe",
    "ios-xe",
    "ios_xe",
    "cisco_ios",
    "cisco_xe",
    "cisco_iosxe",
    "cisco_ios_ssh",
    "cisco_xe_ssh",
    "cisco.ios",
    "cisco.ios.ios",
    "cisco_iosxe_ssh",
];

/// The platforms of [`IOS`] that name IOS XE itself (`cisco_ios` and
/// `cisco.ios.ios` cover both): IOS XE has IPv6 object groups.
const IOS_XE: &[&str] = &[
    "iosxe",
    "ios-xe",
    "ios_xe",
    "cisco_xe",
    "cisco_iosxe",
    "cisco_xe_ssh",
    "cisco_iosxe_ssh",
];

/// Ansible connections that are SSH to the device CLI (or the old `local`
/// with a provider), as tsfleet connects.
const SSH_CONNECTIONS: &[&str] = &[
    "network_cli",
    "ansible.netcommon.network_cli",
    "ssh",
    "paramiko",
    "paramiko_ssh",
    "smart",
    "local",
    "libssh",
    "ansible.netcommon.libssh",
];

/// Seconds as written (`30`, `7.5`) → milliseconds.
fn seconds_ms(s: &str) -> Option<u64> {
    let secs: f64 = s.trim().parse().ok()?;
    (secs.is_finite() && secs > 0.0 && secs < 86_400.0).then(|| (secs * 1000.0).round() as u64)
}

/// Who a scope is, for notes and variable names.
#[derive(Clone, Copy)]
enum Who<'a> {
    Defaults,
    Group(&'a str),
    Host(&'a str),
}

impl std::fmt::Display for Who<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Who::Defaults => f.write_str("the defaults"),
            Who::Group(g) => write!(f, "group {g}"),
            Who::Host(h) => write!(f, "host {h}"),
        }
    }
}

impl Who<'_> {
    /// `TSFLEET_PASSWORD`, `TSFLEET_PASSWORD_GROUP_HQ`, `TSFLEET_PASSWORD_RTR_1`.
    fn env(&self, prefix: &str) -> String {
        match self {
            Who::Defaults => prefix.to_string(),
            Who::Group(g) => env_name(&format!("{prefix}_GROUP"), g),
            Who::Host(h) => env_name(prefix, h),
        }
    }
}

/// What mapping found besides the settings.
#[derive(Default)]
struct Found {
    notes: Vec<String>,
    env: Vec<EnvVar>,
    errors: Vec<ConfError>,
    /// Variable names given so far, by prefix and scope (`TSFLEET_PASSWORD
    /// host rtr-1`), and the names taken.
    env_names: BTreeMap<String, String>,
    env_taken: std::collections::BTreeSet<String>,
}

impl Found {
    /// The variable of a scope: [`Who::env`], or with `_2`, `_3` … when
    /// another scope has that name already (hosts `rtr-1` and `rtr_1`, host
    /// `group-hq` and group `hq`): one device must never get another's secret.
    fn env_name(&mut self, who: Who, prefix: &str) -> String {
        let owner = format!("{prefix} {who}");
        if let Some(name) = self.env_names.get(&owner) {
            return name.clone();
        }
        let base = who.env(prefix);
        let mut name = base.clone();
        let mut n = 2;
        while self.env_taken.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.env_taken.insert(name.clone());
        self.env_names.insert(owner, name.clone());
        name
    }
}

/// The settings a scope maps to. Host, platform and connection are
/// resolved per device (see [`build`]).
fn settings(scope: &Scope, who: Who, found: &mut Found) -> DeviceSettings {
    let mut s = DeviceSettings::default();
    for v in &scope.vars {
        let at = format!("{}:{}", scope.file, v.line);
        let Some(setting) = v.setting else {
            found.notes.push(format!(
                "{at}: `{}` of {who} not imported: tsfleet has no such setting",
                v.key
            ));
            continue;
        };
        if setting == Setting::OtherPlugin {
            found.notes.push(format!(
                "{at}: `{}` of {who} not imported: tsfleet connects over SSH to the CLI \
                 (the options of netmiko, scrapli, paramiko and napalm are mapped)",
                v.key
            ));
            continue;
        }
        if matches!(setting, Setting::Password | Setting::Enable) {
            if v.val.is_empty() {
                continue;
            }
            let (prefix, what) = if setting == Setting::Password {
                ("TSFLEET_PASSWORD", "SSH password")
            } else {
                ("TSFLEET_ENABLE", "enable secret")
            };
            let name = found.env_name(who, prefix);
            let how = match &v.val {
                Val::Vault => "vault-encrypted",
                v if v.is_template() => "a template",
                _ => "a literal",
            };
            found.notes.push(format!(
                "{at}: `{}` of {who} is {how}, not copied: set {name} to the {what}",
                v.key
            ));
            if !found.env.iter().any(|e| e.name == name) {
                found.env.push(EnvVar {
                    name: name.clone(),
                    holds: format!("{what} of {who} (`{}` in {at})", v.key),
                });
            }
            let secret = Some(Secret::Env { env: name });
            if setting == Setting::Password {
                s.password = secret;
            } else {
                s.enable_secret = secret;
            }
            continue;
        }
        if matches!(
            setting,
            Setting::Host | Setting::Platform | Setting::Connection | Setting::Needless
        ) {
            continue;
        }
        let text = match &v.val {
            Val::Text(t) if !v.val.is_template() => t.trim(),
            Val::Vault => {
                found.notes.push(format!(
                    "{at}: `{}` of {who} is vault-encrypted: not imported; write it in the inventory",
                    v.key
                ));
                continue;
            }
            Val::Nested => {
                found.notes.push(format!(
                    "{at}: `{}` of {who} is a mapping or list: not imported",
                    v.key
                ));
                continue;
            }
            Val::Text(_) => {
                found.notes.push(format!(
                    "{at}: `{}` of {who} is a template: not imported (tsfleet does not evaluate templates); write its value",
                    v.key
                ));
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        let mut bad = |expected: &str| {
            found.errors.push(ConfError {
                file: scope.file.clone(),
                line: v.line,
                message: format!("`{}` of {who} is not {expected}", v.key),
            })
        };
        match setting {
            Setting::Port => match text.parse::<u16>() {
                Ok(p) if p > 0 => s.port = Some(p),
                _ => bad("a port number (1-65535)"),
            },
            Setting::User => s.username = Some(text.to_string()),
            Setting::Key => s.private_key = Some(text.into()),
            Setting::ConnectTimeout => match seconds_ms(text) {
                Some(ms) => s.connect_timeout_ms = Some(ms),
                None => bad("a number of seconds"),
            },
            Setting::CommandTimeout => match seconds_ms(text) {
                Some(ms) => s.command_timeout_ms = Some(ms),
                None => bad("a number of seconds"),
            },
            Setting::Password
            | Setting::Enable
            | Setting::Host
            | Setting::Platform
            | Setting::Connection
            | Setting::Needless
            | Setting::OtherPlugin => {}
        }
    }
    s
}

/// Turn a source into the tsfleet inventory.
fn build(src: Source, opts: &Options) -> Result<Imported, Vec<ConfError>> {
    let mut found = Found::default();
    found.notes.extend(src.notes.iter().cloned());
    found.notes.extend(opts.notes.iter().cloned());
    let defaults = settings(&src.defaults, Who::Defaults, &mut found);
    // Only the groups of imported devices are mapped (and their secrets named).
    let mut group_settings: BTreeMap<String, DeviceSettings> = BTreeMap::new();
    let mut devices = Vec::new();
    let mut left_out = Vec::new();
    // Where an IOS XE platform was noted already (file, line): once per line.
    let mut xe_noted = std::collections::BTreeSet::new();
    for h in &src.hosts {
        let at = format!("{}:{}", h.scope.file, h.scope.line);
        if let Some(p) = name_problem(&h.name) {
            found.errors.push(ConfError {
                file: h.scope.file.clone(),
                line: h.scope.line,
                message: format!("host name `{}` {p}", h.name),
            });
            continue;
        }
        // Most specific first: the host, its groups from the last, the defaults.
        let chain: Vec<&Scope> = std::iter::once(&h.scope)
            .chain(h.groups.iter().rev().filter_map(|g| src.groups.get(g)))
            .chain(std::iter::once(&src.defaults))
            .collect();
        let find = |s: Setting| chain.iter().find_map(|sc| sc.last(s).map(|v| (*sc, v)));
        if let Some((sc, v)) = find(Setting::Platform) {
            match &v.val {
                Val::Text(p) if !v.val.is_template() => {
                    if !IOS.contains(&p.trim().to_ascii_lowercase().as_str()) {
                        left_out.push(ConfError {
                            file: sc.file.clone(),
                            line: v.line,
                            message: format!(
                                "host {} left out: platform `{}` is not Cisco IOS or IOS-XE",
                                h.name,
                                escape_controls(p.trim())
                            ),
                        });
                        continue;
                    }
                    let platform = p.trim().to_ascii_lowercase();
                    if IOS_XE.contains(&platform.as_str())
                        && xe_noted.insert((sc.file.clone(), v.line))
                    {
                        // IPv6 needs ACLs that use the v6 groups: the
                        // operator turns it on, the import never does.
                        found.notes.push(format!(
                            "{}:{}: platform `{}` is IOS XE: `ipv6: true` on {} would carry the lists' IPv6 items too (object-group v6-network); not set",
                            sc.file,
                            v.line,
                            p.trim(),
                            who_of(&src, h, sc)
                        ));
                    }
                }
                _ => found.notes.push(format!(
                    "{}:{}: `{}` of host {} is not plain text: kept; check that it is Cisco IOS or IOS-XE",
                    sc.file, v.line, v.key, h.name
                )),
            }
        }
        if let Some((sc, v)) = find(Setting::Connection)
            && let Val::Text(c) = &v.val
            && !v.val.is_template()
            && !SSH_CONNECTIONS.contains(&c.trim().to_ascii_lowercase().as_str())
        {
            found.notes.push(format!(
                "{}:{}: host {} uses connection `{}`: tsfleet connects over SSH to the CLI",
                sc.file,
                v.line,
                h.name,
                c.trim()
            ));
        }
        let host = match find(Setting::Host) {
            Some((_, v)) if matches!(&v.val, Val::Text(_)) && !v.val.is_template() => {
                let Val::Text(t) = &v.val else { unreachable!() };
                t.trim().to_string()
            }
            Some((sc, v)) => {
                found.notes.push(format!(
                    "{}:{}: `{}` of host {} is not plain text: its name is used as the address",
                    sc.file, v.line, v.key, h.name
                ));
                h.name.clone()
            }
            None => h.name.clone(),
        };
        if let Some(p) = host_problem(&host) {
            found.errors.push(ConfError {
                file: h.scope.file.clone(),
                line: h.scope.line,
                message: format!("address of host {}: {p}", h.name),
            });
            continue;
        }
        for g in &h.groups {
            if let Some(scope) = src.groups.get(g)
                && !group_settings.contains_key(g)
            {
                if let Some(p) = name_problem(g) {
                    found.errors.push(ConfError {
                        file: scope.file.clone(),
                        line: scope.line,
                        message: format!("group name `{g}` {p}"),
                    });
                }
                let s = settings(scope, Who::Group(g), &mut found);
                group_settings.insert(g.clone(), s);
            }
        }
        let settings = settings(&h.scope, Who::Host(&h.name), &mut found);
        let has_login = settings.password.is_some()
            || settings.private_key.is_some()
            || h.groups.iter().any(|g| {
                group_settings
                    .get(g)
                    .is_some_and(|s| s.password.is_some() || s.private_key.is_some())
            })
            || defaults.password.is_some()
            || defaults.private_key.is_some();
        if !has_login {
            found.notes.push(format!(
                "{at}: host {} has no password and no SSH key file: set `password` or `private_key` before plan/apply",
                h.name
            ));
        }
        devices.push(Device {
            name: h.name.clone(),
            host,
            groups: h.groups.clone(),
            settings,
        });
    }
    let mut names = std::collections::BTreeSet::new();
    for d in &devices {
        if !names.insert(d.name.clone()) {
            found.errors.push(ConfError {
                file: src.files.join(", "),
                line: 0,
                message: format!("host {} is defined twice", d.name),
            });
        }
    }
    if !found.errors.is_empty() {
        return Err(found.errors);
    }
    if devices.is_empty() {
        // Say why: each host left out, with its reason.
        let message = if left_out.is_empty() {
            "no host to import (none defined)"
        } else {
            "no host to import: every host is left out (why follows)"
        };
        let mut errors = vec![ConfError {
            file: src.files.join(", "),
            line: 0,
            message: message.into(),
        }];
        errors.extend(left_out);
        return Err(errors);
    }
    let mut policies = BTreeMap::new();
    let mut defaults = defaults;
    if opts.block.is_empty() && opts.allow.is_empty() {
        // Not defined on purpose: `inventory check` refuses the file until it is.
        defaults.policy = Some(POLICY.to_string());
    } else {
        policies.insert(
            POLICY.to_string(),
            Policy {
                block: opts.block.clone(),
                allow: opts.allow.clone(),
                ..Policy::default()
            },
        );
    }
    let inventory = Inventory {
        dns: (!opts.dns.is_empty()).then(|| DnsSettings {
            servers: opts.dns.clone(),
            port: opts.dns_port.unwrap_or(53),
            transport: DnsTransport::default(),
            timeout_ms: 3000,
            attempts: 2,
        }),
        policies,
        defaults,
        groups: group_settings,
        devices,
    };
    let mut notes = found.notes;
    notes.extend(left_out.iter().map(ToString::to_string));
    // In the order of the source files and lines (stable: same-line notes keep theirs).
    let order = |n: &String| {
        let mut parts = n.splitn(3, ':');
        let file = parts.next().unwrap_or("");
        let line: usize = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
        (
            src.files
                .iter()
                .position(|f| f == file)
                .unwrap_or(usize::MAX),
            line,
        )
    };
    notes.sort_by_key(order);
    // Notes quote keys, names and file names as written: a control
    // character (`\r`, `\n`) in one would end the header's comment line
    // and write YAML, or rewrite the operator's terminal.
    let notes: Vec<String> = notes
        .iter()
        .map(|n| escape_controls(n).into_owned())
        .collect();
    for e in &mut found.env {
        e.holds = escape_controls(&e.holds).into_owned();
    }
    let header = header(&src, &inventory, &found.env, &notes);
    let mut yaml = format!("{header}{}", super::to_yaml(&inventory));
    if !yaml.ends_with('\n') {
        yaml.push('\n');
    }
    Ok(Imported {
        inventory,
        yaml,
        env: found.env,
        notes,
    })
}

/// Who `scope`, one of the scopes host `h` inherits from, is.
fn who_of<'a>(src: &'a Source, h: &'a Host, scope: &Scope) -> Who<'a> {
    if std::ptr::eq(scope, &h.scope) {
        return Who::Host(&h.name);
    }
    h.groups
        .iter()
        .find(|g| src.groups.get(*g).is_some_and(|s| std::ptr::eq(s, scope)))
        .map_or(Who::Defaults, |g| Who::Group(g))
}

fn header(src: &Source, inv: &Inventory, env: &[EnvVar], notes: &[String]) -> String {
    let mut h = format!(
        "# tsfleet inventory imported from the {} inventory {} (tsfleet import-inventory).\n\
         # {} devices, {} groups. Host keys are checked against ~/.ssh/known_hosts.\n",
        src.kind,
        escape_controls(&src.files.join(", ")),
        inv.devices.len(),
        inv.groups.len()
    );
    if inv.policies.is_empty() {
        h.push_str(&format!(
            "# TODO: the lists are not in the source inventory. Every device uses policy\n\
             # `{POLICY}`, which is not defined yet: `tsfleet inventory check` refuses this\n\
             # file until you add it, e.g.\n\
             #   policies:\n\
             #     {POLICY}:\n\
             #       block: [NAME.ACCOUNT.threatstop.local]\n\
             # (or import again with --block LIST [--allow LIST]).\n"
        ));
    }
    if inv.dns.is_none() {
        h.push_str(
            "# TODO: add `dns: { servers: [...] }` (the ThreatSTOP DNS servers), or import\n\
             # again with --dns SERVER, before resolve/plan/apply.\n",
        );
    }
    h.push_str(&env_block(env));
    if !notes.is_empty() {
        h.push_str("# Notes from the import (not imported, or to check):\n");
        for n in notes {
            h.push_str(&format!("#   {n}\n"));
        }
    }
    h.push('\n');
    h
}

#[cfg(test)]
mod tests;
