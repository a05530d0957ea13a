//! `threatstop.conf` files of the single-router ThreatSTOP script, turned
//! into one inventory (`tsfleet import-conf`). Pure: file names and texts in,
//! inventory text and notes out.
//!
//! - One device per file. Its name is the file name without `.conf`, unless
//!   that is `threatstop` (the script's own name for it) or already taken:
//!   then the device address (`device=`).
//! - Devices with the same block lists, allow lists and maximum policy size
//!   share one policy, named after the first block list's first label.
//! - `password` and `enable_pw` become `{ env: TSFLEET_PASSWORD_<DEVICE> }`
//!   and `{ env: TSFLEET_ENABLE_<DEVICE> }`; no secret value is ever copied
//!   into the inventory or into a message (messages never quote a line).
//! - `url` (where the script uploaded the logs) becomes the policy's
//!   `log_upload.url` when `inventory check` takes it (an HTTPS URL with a
//!   host) and it has no `user:password@`; `logfile`
//!   is what `tsfleet logs upload --syslog` reads (a note says so).
//!   `platform`, `personality` and `external_ip` have no tsfleet
//!   equivalent (it drives Cisco IOS only): noted as not used.
//! - Unknown keys are reported as `file:line` (key only) and listed in the
//!   header comment, never silently dropped.

use super::effective::{DEFAULT_ALLOW_GROUP, DEFAULT_BLOCK_GROUP};
use super::validate::name_problem;
use super::{
    Device, DeviceSettings, DnsSettings, DnsTransport, Inventory, LogUpload, Policy, Secret,
};
use crate::domain::{DnsServer, ListName, UploadUrl, host_problem};
use std::collections::BTreeMap;
use std::fmt;

/// A mistake in a conf file, at `file:line` (line 0: the file as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

/// An environment variable the imported inventory refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    /// What it holds, e.g. `SSH password of rtr-001 (password= in rtr-001.conf)`.
    pub holds: String,
}

/// The imported inventory.
#[derive(Clone, Debug)]
pub struct Imported {
    pub inventory: Inventory,
    /// Header comment plus the inventory, ready to write.
    pub yaml: String,
    /// Variables to set before `plan`/`apply` (names only).
    pub env: Vec<EnvVar>,
    /// `file:line: ...` notes: unknown keys, keys not used, missing DNS servers.
    pub notes: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    DnsServer,
    DnsPort,
    MaxPolicySize,
    Device,
    BlockList,
    AllowList,
    GroupBlock,
    GroupAllow,
    Username,
    Password,
    Enable,
    /// The log upload URL: the policy's `log_upload.url`.
    Url,
    /// The syslog file: `tsfleet logs upload --syslog`, not an inventory setting.
    LogFile,
    /// No tsfleet equivalent (platform, personality, external_ip).
    Unused,
}

/// The key a conf-file key means, spelled any reasonable way
/// (`dns_port`, `DNS-Port`, `dnsport`, `max_policy_size`, `maxpolicy`, …).
fn key(raw: &str) -> Option<Key> {
    let k: String = raw
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' ' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    Some(match k.as_str() {
        "dnsserver" | "dnsservers" => Key::DnsServer,
        "dnsport" | "port" => Key::DnsPort,
        "maxpolicysize" | "maxpolicy" | "policysize" | "maxsize" => Key::MaxPolicySize,
        "device" | "deviceip" | "internalip" | "host" => Key::Device,
        "blocklist" => Key::BlockList,
        "allowlist" => Key::AllowList,
        "objectgroupblock" => Key::GroupBlock,
        "objectgroupallow" => Key::GroupAllow,
        "username" | "user" => Key::Username,
        "password" | "sshpassword" => Key::Password,
        "enablepw" | "enablepassword" | "enable" | "enablesecret" => Key::Enable,
        "url" => Key::Url,
        "logfile" => Key::LogFile,
        "platform" | "personality" | "externalip" => Key::Unused,
        _ => return None,
    })
}

const KNOWN_KEYS: &str = "dns_server, dns_port, max_policy_size, device, block_list, allow_list, \
    object_group_block, object_group_allow, username, password, enable_pw, url, logfile, \
    platform, personality";

/// A value with the line it was read from.
type At<T> = (T, usize);

/// One conf file as read.
#[derive(Debug, Default)]
struct Conf {
    file: String,
    dns_servers: Vec<At<String>>,
    dns_port: Option<At<u16>>,
    max_policy_size: Option<At<usize>>,
    device: Option<At<String>>,
    block: Vec<String>,
    allow: Vec<String>,
    group_block: Option<String>,
    group_allow: Option<String>,
    username: Option<String>,
    has_password: bool,
    has_enable: bool,
    url: Option<At<String>>,
    logfile: Option<At<String>>,
    unused: Vec<At<String>>,
    unknown: Vec<At<String>>,
}

fn list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub(super) fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// Read one conf file. Lines are never quoted back: one may hold a password.
fn parse_conf(file: &str, text: &str, errors: &mut Vec<ConfError>) -> Conf {
    let mut conf = Conf {
        file: file.to_string(),
        ..Conf::default()
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut err = |message: String| {
            errors.push(ConfError {
                file: file.to_string(),
                line: n,
                message,
            })
        };
        let Some((k, v)) = line.split_once('=') else {
            err("not a `key=value` line (comments start with `#`)".into());
            continue;
        };
        let (k, v) = (k.trim(), unquote(v));
        let Some(which) = key(k) else {
            conf.unknown.push((k.to_string(), n));
            continue;
        };
        let norm = format!("{which:?}{}", if which == Key::Unused { k } else { "" });
        if let Some(first) = seen.insert(norm, n) {
            err(format!(
                "`{k}` is set again (first on line {first}): keep one of them"
            ));
            continue;
        }
        match which {
            Key::DnsServer => {
                for s in list(v) {
                    match s.parse::<DnsServer>() {
                        Err(p) => err(format!("`{k}` `{s}`: {p}")),
                        Ok(_) => conf.dns_servers.push((s, n)),
                    }
                }
            }
            Key::DnsPort => match v.parse::<u16>() {
                Ok(p) if p > 0 => conf.dns_port = Some((p, n)),
                _ => err(format!(
                    "`{k}` is not a port number (1-65535); 53 is the usual DNS port"
                )),
            },
            Key::MaxPolicySize => match v.parse::<usize>() {
                Ok(s) if s > 0 => conf.max_policy_size = Some((s, n)),
                _ => err(format!(
                    "`{k}` is not a positive number of entries (the script's default is 30000)"
                )),
            },
            Key::Device => {
                if let Some(p) = host_problem(v) {
                    err(format!("`{k}` {p}"));
                } else {
                    conf.device = Some((v.to_string(), n));
                }
            }
            Key::BlockList | Key::AllowList => {
                for l in list(v) {
                    if let Err(reason) = l.parse::<ListName>() {
                        err(format!("`{k}` `{l}` is not a DNS name: {reason}"));
                    } else if which == Key::BlockList {
                        conf.block.push(l);
                    } else {
                        conf.allow.push(l);
                    }
                }
            }
            Key::GroupBlock | Key::GroupAllow => {
                if let Some(p) = super::object_group_name_problem(v) {
                    err(format!("`{k}`: object-group name {p}"));
                } else if which == Key::GroupBlock {
                    conf.group_block = Some(v.to_string());
                } else {
                    conf.group_allow = Some(v.to_string());
                }
            }
            Key::Username => conf.username = Some(v.to_string()).filter(|u| !u.is_empty()),
            Key::Password => conf.has_password = !v.is_empty(),
            Key::Enable => conf.has_enable = !v.is_empty(),
            Key::Url => conf.url = Some((v.to_string(), n)).filter(|u| !u.0.is_empty()),
            Key::LogFile => conf.logfile = Some((v.to_string(), n)).filter(|f| !f.0.is_empty()),
            Key::Unused => conf.unused.push((format!("{k}={v}"), n)),
        }
    }
    let mut missing = |what: &str, help: &str| {
        errors.push(ConfError {
            file: file.to_string(),
            line: 0,
            message: format!("no `{what}=` line: {help}"),
        })
    };
    if conf.device.is_none() {
        missing("device", "add the address tsfleet connects to over SSH");
    }
    if conf.username.is_none() {
        missing("username", "add the SSH username");
    }
    if conf.block.is_empty() && conf.allow.is_empty() {
        missing(
            "block_list",
            "add the ThreatSTOP list name (e.g. NAME.ACCOUNT.threatstop.local)",
        );
    }
    conf
}

/// `TSFLEET_PASSWORD_` + the device name in capitals, other characters as `_`.
pub(super) fn env_name(prefix: &str, device: &str) -> String {
    let tail: String = device
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}_{tail}")
}

/// Why a conf file's `url` cannot be the policy's `log_upload.url` as it is,
/// never quoting it: a `user:password@` in it is a secret. The check is
/// `inventory check`'s own ([`UploadUrl`]), and a URL with a user or a
/// password is refused besides.
fn log_upload_problem(url: &str) -> Option<String> {
    let https = url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    match url.parse::<UploadUrl>() {
        Err(_) if !https => Some("log_upload needs an https:// URL".into()),
        // UploadUrl's reasons name the problem, never the URL.
        Err(problem) => Some(format!("log_upload refuses it: {problem}")),
        Ok(u) if !u.as_url().username().is_empty() || u.as_url().password().is_some() => {
            Some("it holds a user:password, a secret that is never copied".into())
        }
        Ok(_) => None,
    }
}

/// The device name for a conf file (see the module documentation).
fn device_name(file: &str, host: &str, taken: &[String]) -> String {
    let base = std::path::Path::new(file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = base.strip_suffix(".conf").unwrap_or(&base).to_string();
    if !stem.eq_ignore_ascii_case("threatstop")
        && name_problem(&stem).is_none()
        && !taken.contains(&stem)
    {
        stem
    } else {
        host.to_string()
    }
}

/// A policy name from a list name: its first label, as a name may be written.
fn policy_name(p: &Policy, taken: &BTreeMap<String, Policy>) -> String {
    let first = p
        .block
        .first()
        .or(p.allow.first())
        .map_or("threatstop", |l| {
            l.split('.').next().unwrap_or("threatstop")
        });
    let base: String = first
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let base = if base.is_empty() {
        "threatstop".to_string()
    } else {
        base
    };
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains_key(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// Turn conf files (display name, text) into one inventory. Every mistake
/// in every file is returned, in file order.
pub fn import(files: &[(String, String)]) -> Result<Imported, Vec<ConfError>> {
    let mut errors = Vec::new();
    let confs: Vec<Conf> = files
        .iter()
        .map(|(f, t)| parse_conf(f, t, &mut errors))
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }

    // One DNS section for all: servers in order of first mention, one port.
    let mut servers: Vec<String> = Vec::new();
    let mut port: Option<(u16, &str, usize)> = None;
    for c in &confs {
        for (s, _) in &c.dns_servers {
            if !servers.contains(s) {
                servers.push(s.clone());
            }
        }
        if let Some((p, line)) = c.dns_port {
            match port {
                Some((q, f, l)) if q != p => errors.push(ConfError {
                    file: c.file.clone(),
                    line,
                    message: format!(
                        "DNS port {p} differs from {q} in {f}:{l}; an inventory has one `dns.port`: make them agree"
                    ),
                }),
                Some(_) => {}
                None => port = Some((p, &c.file, line)),
            }
        }
    }
    let mut notes = Vec::new();
    let mut env = Vec::new();
    let mut policies: BTreeMap<String, Policy> = BTreeMap::new();
    let mut devices: Vec<Device> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let same_user = confs
        .iter()
        .map(|c| c.username.clone())
        .collect::<std::collections::BTreeSet<_>>();
    let shared_user = (same_user.len() == 1).then(|| same_user.into_iter().next().flatten());
    for c in &confs {
        let (host, _) = c.device.clone().unwrap_or_default();
        let name = device_name(&c.file, &host, &names);
        if names.contains(&name) {
            errors.push(ConfError {
                file: c.file.clone(),
                line: c.device.as_ref().map_or(0, |d| d.1),
                message: format!(
                    "device `{name}` comes from another file too: rename this file (its name becomes the device name)"
                ),
            });
            continue;
        }
        names.push(name.clone());
        for (k, line) in &c.unknown {
            notes.push(format!(
                "{}:{line}: unknown key `{k}`: not imported (known keys: {KNOWN_KEYS})",
                c.file
            ));
        }
        for (kv, line) in &c.unused {
            notes.push(format!(
                "{}:{line}: not used (tsfleet drives Cisco IOS object-groups only): {kv}",
                c.file
            ));
        }
        if let Some((file, line)) = &c.logfile {
            notes.push(format!(
                "{}:{line}: logfile is not an inventory setting: upload it with `tsfleet logs upload -i INVENTORY --syslog {file}`",
                c.file
            ));
        }
        let log_upload = c.url.as_ref().and_then(|(url, line)| {
            let problem = log_upload_problem(url);
            if let Some(problem) = &problem {
                notes.push(format!(
                    "{}:{line}: url not imported ({problem}): add `log_upload: {{ url: https://... }}` to the policy yourself",
                    c.file
                ));
            }
            problem.is_none().then(|| LogUpload {
                url: url.clone(),
                ca_file: None,
                proxy: None,
            })
        });
        let policy = Policy {
            block: c.block.clone(),
            allow: c.allow.clone(),
            max_policy_size: c.max_policy_size.map(|(s, _)| s),
            log_upload,
            ..Policy::default()
        };
        let pname = match policies.iter().find(|(_, p)| **p == policy) {
            Some((n, _)) => n.clone(),
            None => {
                let n = policy_name(&policy, &policies);
                policies.insert(n.clone(), policy);
                n
            }
        };
        let mut settings = DeviceSettings {
            policy: Some(pname),
            block_group: c.group_block.clone().filter(|g| g != DEFAULT_BLOCK_GROUP),
            allow_group: c.group_allow.clone().filter(|g| g != DEFAULT_ALLOW_GROUP),
            username: if shared_user.is_some() {
                None
            } else {
                c.username.clone()
            },
            ..DeviceSettings::default()
        };
        if c.has_password {
            let var = env_name("TSFLEET_PASSWORD", &name);
            env.push(EnvVar {
                holds: format!("SSH password of {name} (password= in {})", c.file),
                name: var.clone(),
            });
            settings.password = Some(Secret::Env { env: var });
        } else {
            notes.push(format!(
                "{}: no password: set `password` or `private_key` for device {name} before plan/apply",
                c.file
            ));
        }
        if c.has_enable {
            let var = env_name("TSFLEET_ENABLE", &name);
            env.push(EnvVar {
                holds: format!("enable password of {name} (enable_pw= in {})", c.file),
                name: var.clone(),
            });
            settings.enable_secret = Some(Secret::Env { env: var });
        }
        devices.push(Device {
            name,
            host,
            groups: Vec::new(),
            settings,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // One policy: devices need not name it.
    if policies.len() == 1 {
        for d in &mut devices {
            d.settings.policy = None;
        }
    }
    if servers.is_empty() {
        notes.push(
            "no dns_server in any file: add a `dns: { servers: [...] }` section before resolve/plan/apply"
                .into(),
        );
    }
    let inventory = Inventory {
        dns: (!servers.is_empty()).then(|| DnsSettings {
            servers,
            port: port.map_or(53, |p| p.0),
            transport: DnsTransport::default(),
            timeout_ms: 3000,
            attempts: 2,
        }),
        policies,
        defaults: DeviceSettings {
            username: shared_user.flatten(),
            ..DeviceSettings::default()
        },
        groups: BTreeMap::new(),
        devices,
    };
    let mut yaml = format!(
        "{}{}",
        header(files, &inventory, &env, &notes),
        super::to_yaml(&inventory)
    );
    if !yaml.ends_with('\n') {
        yaml.push('\n');
    }
    Ok(Imported {
        inventory,
        yaml,
        env,
        notes,
    })
}

fn header(files: &[(String, String)], inv: &Inventory, env: &[EnvVar], notes: &[String]) -> String {
    let mut h = String::from(
        "# tsfleet inventory imported from threatstop.conf files (tsfleet import-conf).\n",
    );
    for ((file, _), d) in files.iter().zip(&inv.devices) {
        h.push_str(&format!("#   {file} -> device {}\n", d.name));
    }
    h.push_str("# Host keys are checked against ~/.ssh/known_hosts, as the script relied on.\n");
    h.push_str(&env_block(env));
    if !notes.is_empty() {
        h.push_str("# Notes from the import:\n");
        for n in notes {
            h.push_str(&format!("#   {n}\n"));
        }
    }
    h.push('\n');
    h
}

/// The header lines naming the variables to set (none: empty).
pub(super) fn env_block(env: &[EnvVar]) -> String {
    let mut h = String::new();
    if !env.is_empty() {
        h.push_str(
            "# No secret is written here. Set these variables before plan/apply\n\
             # (e.g. in the systemd EnvironmentFile, mode 0600):\n",
        );
        let w = env.iter().map(|e| e.name.len()).max().unwrap_or(0);
        for e in env {
            h.push_str(&format!("#   {:<w$}  {}\n", e.name, e.holds));
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "# Configuration file for ThreatSTOP Cisco ISR script\n\
        # ThreatSTOP DNS Servers\n\
        dns_server=192.0.2.53,198.51.100.53\n\
        device=192.0.2.1\n\
        block_list=corp-block.acme.threatstop.local\n\
        allow_list=corp-allow.acme.threatstop.local\n\
        object_group_block=threatstop-block\n\
        object_group_allow=ts-allow\n\
        username=tsadmin\n\
        password=Hunter2-ssh\n\
        enable_pw=Hunter2-enable\n\
        platform=FWSM3\n\
        personality=ios\n\
        DNS-Port=5353\n\
        maxpolicy=20000\n\
        colour=blue\n";

    fn one(name: &str, text: &str) -> Vec<(String, String)> {
        vec![(name.to_string(), text.to_string())]
    }

    #[test]
    fn a_script_conf_becomes_a_device_with_env_secrets() {
        let out = import(&one("conf/rtr-001.conf", CONF)).unwrap();
        let inv = &out.inventory;
        let dns = inv.dns.as_ref().unwrap();
        assert_eq!(dns.servers, ["192.0.2.53", "198.51.100.53"]);
        assert_eq!(dns.port, 5353);
        let p = &inv.policies["corp-block"];
        assert_eq!(p.max_policy_size, Some(20000));
        let d = &inv.devices[0];
        assert_eq!((d.name.as_str(), d.host.as_str()), ("rtr-001", "192.0.2.1"));
        assert_eq!(d.settings.block_group, None, "the default is not repeated");
        assert_eq!(d.settings.allow_group.as_deref(), Some("ts-allow"));
        assert_eq!(
            d.settings.password,
            Some(Secret::Env {
                env: "TSFLEET_PASSWORD_RTR_001".into()
            })
        );
        assert_eq!(inv.defaults.username.as_deref(), Some("tsadmin"));
        assert!(!out.yaml.contains("Hunter2"), "{}", out.yaml);
        assert!(
            out.notes
                .iter()
                .any(|n| n.contains("rtr-001.conf:16: unknown key `colour`"))
        );
        assert!(
            out.yaml
                .contains("rtr-001.conf:12: not used (tsfleet drives Cisco IOS object-groups only): platform=FWSM3"),
            "{}",
            out.yaml
        );
        assert!(out.yaml.contains("TSFLEET_ENABLE_RTR_001"));
        assert!(out.yaml.ends_with('\n'));
        // What was written reads back as the same inventory.
        assert_eq!(&crate::inventory::parse(&out.yaml).unwrap(), inv);
    }

    #[test]
    fn url_becomes_log_upload_and_logfile_names_the_upload_command() {
        let conf =
            format!("{CONF}logfile=/var/log/cisco.log\nurl=https://logs.example.net/upload\n");
        let out = import(&one("rtr-001.conf", &conf)).unwrap();
        let up = out.inventory.policies["corp-block"].log_upload.as_ref();
        assert_eq!(up.unwrap().url, "https://logs.example.net/upload");
        assert!(
            out.notes.iter().any(|n| n.contains(
                "rtr-001.conf:17: logfile is not an inventory setting: upload it with `tsfleet logs upload -i INVENTORY --syslog /var/log/cisco.log`"
            )),
            "{:?}",
            out.notes
        );
        assert!(!out.yaml.contains("yet"), "{}", out.yaml);
        assert_eq!(&crate::inventory::parse(&out.yaml).unwrap(), &out.inventory);

        // Not HTTPS, or with a password in it: not imported, never quoted.
        for (url, why) in [
            ("http://logs.example.net/up", "needs an https:// URL"),
            (
                "https://ts:S3cret@logs.example.net/up",
                "holds a user:password",
            ),
            ("https://ts@logs.example.net/up", "holds a user:password"),
            // `inventory check` refuses it: so does the import.
            (
                "https://logs host.example/up",
                "log_upload refuses it: not a URL",
            ),
        ] {
            let out = import(&one("rtr-001.conf", &format!("{CONF}url={url}\n"))).unwrap();
            assert_eq!(out.inventory.policies["corp-block"].log_upload, None);
            assert!(
                out.notes
                    .iter()
                    .any(|n| n.starts_with("rtr-001.conf:17: url not imported") && n.contains(why)),
                "{:?}",
                out.notes
            );
            assert!(!format!("{}{:?}", out.yaml, out.notes).contains("S3cret"));
        }
    }

    #[test]
    fn threatstop_conf_is_named_after_its_device_and_lists_are_shared() {
        let other = CONF.replace("192.0.2.1", "192.0.2.2");
        let files = vec![
            ("a/threatstop.conf".to_string(), CONF.to_string()),
            ("b/threatstop.conf".to_string(), other),
        ];
        let out = import(&files).unwrap();
        let names: Vec<&str> = out
            .inventory
            .devices
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(names, ["192.0.2.1", "192.0.2.2"]);
        assert_eq!(out.inventory.policies.len(), 1);
        assert!(
            out.inventory
                .devices
                .iter()
                .all(|d| d.settings.policy.is_none())
        );
    }

    #[test]
    fn different_lists_make_two_policies() {
        let other = CONF
            .replace("192.0.2.1", "192.0.2.2")
            .replace("corp-block", "lab-block");
        let out = import(&[
            ("r1.conf".to_string(), CONF.to_string()),
            ("r2.conf".to_string(), other),
        ])
        .unwrap();
        assert_eq!(out.inventory.policies.len(), 2);
        assert_eq!(
            out.inventory.devices[1].settings.policy.as_deref(),
            Some("lab-block")
        );
    }

    #[test]
    fn mistakes_name_file_and_line_and_never_quote_a_line() {
        let bad =
            "device=192.0.2.1\nHunter2-on-its-own\nusername=u\ndns_port=seventy\nblock_list=a..b\n";
        let errs = import(&one("r.conf", bad)).unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert!(
            text[0].starts_with("r.conf:2: not a `key=value` line"),
            "{text:?}"
        );
        assert!(
            text[1].starts_with("r.conf:4: `dns_port` is not a port"),
            "{text:?}"
        );
        assert!(text[2].starts_with("r.conf:5: `block_list`"), "{text:?}");
        assert!(text.iter().all(|t| !t.contains("Hunter2")));
        let errs = import(&one("r.conf", "password=x\n")).unwrap_err();
        assert!(errs.iter().any(|e| e.to_string()
            == "r.conf: no `device=` line: add the address tsfleet connects to over SSH"));
    }

    #[test]
    fn conflicting_dns_ports_are_refused() {
        let other = CONF.replace("192.0.2.1", "192.0.2.2").replace("5353", "53");
        let errs = import(&[
            ("r1.conf".to_string(), CONF.to_string()),
            ("r2.conf".to_string(), other),
        ])
        .unwrap_err();
        assert!(
            errs[0]
                .to_string()
                .starts_with("r2.conf:14: DNS port 53 differs from 5353 in r1.conf:14"),
            "{errs:?}"
        );
    }

    #[test]
    fn key_spellings() {
        assert_eq!(key("max_policy_size"), Some(Key::MaxPolicySize));
        assert_eq!(key("Max-Policy-Size"), Some(Key::MaxPolicySize));
        assert_eq!(key("dns_port"), Some(Key::DnsPort));
        assert_eq!(key("enable_pw"), Some(Key::Enable));
        assert_eq!(key("frobnicate"), None);
    }
}
