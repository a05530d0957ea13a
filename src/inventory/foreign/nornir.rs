//! Nornir's SimpleInventory: `hosts.yaml`, `groups.yaml`, `defaults.yaml`.
//!
//! A host or group has `hostname`, `port`, `username`, `password`,
//! `platform`, `groups`, `data` and `connection_options` (per plugin: the
//! same five keys and `extras`; mapped for the SSH CLI plugins only). Nornir looks a value up in the host, then
//! in each of its groups in order (a group before its own parents), then in
//! the defaults; tsfleet applies groups in order with the last winning, so
//! each device's groups are that lookup order reversed.

use super::{Host, Options, Scope, Setting, Source, Val, Var, build, line_of, yaml};
use crate::inventory::import::{ConfError, Imported};
use crate::inventory::located::Node;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

type Entries = Vec<(Spanned<String>, Spanned<Node>)>;

fn setting(key: &str) -> Option<Setting> {
    Some(match key {
        "hostname" => Setting::Host,
        "port" => Setting::Port,
        "username" => Setting::User,
        "password" => Setting::Password,
        "platform" => Setting::Platform,
        _ => return None,
    })
}

/// A key of a connection plugin's `extras` (netmiko, scrapli, napalm's
/// `optional_args`, paramiko).
fn extra(key: &str) -> Option<Setting> {
    Some(match key {
        "secret" | "auth_secondary" | "enable_secret" => Setting::Enable,
        "key_file" | "auth_private_key" | "key_filename" => Setting::Key,
        "conn_timeout" | "timeout_socket" | "timeout_transport" | "auth_timeout" => {
            Setting::ConnectTimeout
        }
        "timeout" | "timeout_ops" | "read_timeout_override" => Setting::CommandTimeout,
        "use_keys" | "allow_agent" | "auth_strict_key" | "fast_cli" | "global_delay_factor" => {
            Setting::Needless
        }
        _ => return None,
    })
}

/// One host, group or defaults entry: its variables and its `groups:`.
fn scope(
    file: &str,
    node: &Spanned<Node>,
    errors: &mut Vec<ConfError>,
) -> (Scope, Vec<(String, usize)>) {
    let mut s = Scope {
        file: file.to_string(),
        line: line_of(node),
        vars: Vec::new(),
    };
    let mut groups = Vec::new();
    let entries: &Entries = match &node.value {
        Node::Map(e) => e,
        Node::Scalar(t) if t.is_empty() => return (s, groups),
        _ => {
            errors.push(ConfError {
                file: file.into(),
                line: line_of(node),
                message: "expected a mapping of settings (hostname, port, username, ...)".into(),
            });
            return (s, groups);
        }
    };
    for (k, v) in entries {
        let key = k.value.as_str();
        match (key, &v.value) {
            ("groups", Node::Seq(items)) => {
                for g in items {
                    match &g.value {
                        Node::Scalar(name) => groups.push((name.clone(), line_of(g))),
                        _ => errors.push(ConfError {
                            file: file.into(),
                            line: line_of(g),
                            message: "`groups` holds group names".into(),
                        }),
                    }
                }
            }
            ("groups", Node::Scalar(t)) if t.is_empty() => {}
            ("groups", _) => errors.push(ConfError {
                file: file.into(),
                line: line_of(k),
                message: "`groups` is a list of group names".into(),
            }),
            ("data", Node::Map(data)) => {
                for (dk, _) in data {
                    s.vars.push(Var {
                        key: format!("data.{}", dk.value),
                        setting: None,
                        val: Val::Nested,
                        line: line_of(dk),
                    });
                }
            }
            ("connection_options", Node::Map(plugins)) => {
                for (plugin, opts) in plugins {
                    connection_options(&mut s, plugin, opts);
                }
            }
            _ => s.vars.push(Var {
                key: key.to_string(),
                setting: setting(key),
                val: Val::of(&v.value),
                line: line_of(k),
            }),
        }
    }
    (s, groups)
}

/// Nornir's connection plugins that are SSH to the device CLI, as tsfleet
/// connects: their options are mapped. Another plugin's (`netconf` on port
/// 830, `ncclient`, ...) would set the SSH settings wrongly: a note.
const SSH_PLUGINS: &[&str] = &["netmiko", "scrapli", "paramiko", "napalm"];

fn connection_options(s: &mut Scope, plugin: &Spanned<String>, opts: &Spanned<Node>) {
    let plugin_line = line_of(plugin);
    let plugin = plugin.value.as_str();
    if !SSH_PLUGINS.contains(&plugin) {
        s.vars.push(Var {
            key: format!("connection_options.{plugin}"),
            setting: Some(Setting::OtherPlugin),
            val: Val::Nested,
            line: plugin_line,
        });
        return;
    }
    let Node::Map(entries) = &opts.value else {
        return;
    };
    for (k, v) in entries {
        let key = format!("connection_options.{plugin}.{}", k.value);
        match (k.value.as_str(), &v.value) {
            ("extras", Node::Map(extras)) => {
                for (ek, ev) in extras {
                    // napalm keeps its options one level down.
                    if let ("optional_args", Node::Map(args)) = (ek.value.as_str(), &ev.value) {
                        for (ak, av) in args {
                            s.vars.push(Var {
                                key: format!("{key}.optional_args.{}", ak.value),
                                setting: extra(&ak.value),
                                val: Val::of(&av.value),
                                line: line_of(ak),
                            });
                        }
                        continue;
                    }
                    s.vars.push(Var {
                        key: format!("{key}.{}", ek.value),
                        setting: extra(&ek.value),
                        val: Val::of(&ev.value),
                        line: line_of(ek),
                    });
                }
            }
            (other, _) => s.vars.push(Var {
                key,
                setting: setting(other),
                val: Val::of(&v.value),
                line: line_of(k),
            }),
        }
    }
}

fn top_map<'a>(file: &str, node: &'a Spanned<Node>, what: &str) -> Result<&'a Entries, ConfError> {
    match &node.value {
        Node::Map(e) => Ok(e),
        Node::Scalar(t) if t.is_empty() => Ok(const { &Vec::new() }),
        _ => Err(ConfError {
            file: file.into(),
            line: line_of(node),
            message: format!("expected a mapping of {what}"),
        }),
    }
}

/// `files`: hosts.yaml, then optionally groups.yaml and defaults.yaml (name, text).
pub fn import(files: &[(String, String)], opts: &Options) -> Result<Imported, Vec<ConfError>> {
    if files.is_empty() || files.len() > 3 {
        return Err(vec![ConfError {
            file: "--from nornir".into(),
            line: 0,
            message: "give HOSTS.yaml [GROUPS.yaml [DEFAULTS.yaml]]".into(),
        }]);
    }
    let mut errors = Vec::new();
    let trees: Vec<Spanned<Node>> = files
        .iter()
        .filter_map(|(f, t)| yaml(f, t).map_err(|e| errors.push(e)).ok())
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let file = |i: usize| files[i].0.as_str();
    let mut src = Source {
        kind: "Nornir",
        files: files.iter().map(|(f, _)| f.clone()).collect(),
        ..Source::default()
    };
    // Groups: their scope and parents.
    let mut parents: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
    if let Some(tree) = trees.get(1) {
        match top_map(file(1), tree, "group names to groups") {
            Ok(entries) => {
                for (name, node) in entries {
                    let (mut sc, ps) = scope(file(1), node, &mut errors);
                    sc.line = line_of(name);
                    src.groups.insert(name.value.clone(), sc);
                    parents.insert(name.value.clone(), ps);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if let Some(tree) = trees.get(2) {
        let (sc, ps) = scope(file(2), tree, &mut errors);
        if let Some((_, line)) = ps.first() {
            errors.push(ConfError {
                file: file(2).into(),
                line: *line,
                message: "the defaults cannot have `groups`".into(),
            });
        }
        src.defaults = sc;
    }
    for (g, ps) in &parents {
        for (p, line) in ps {
            if !src.groups.contains_key(p) {
                errors.push(ConfError {
                    file: file(1).into(),
                    line: *line,
                    message: format!(
                        "group {g} names group `{p}`, which groups.yaml does not define"
                    ),
                });
            }
        }
    }
    match top_map(file(0), &trees[0], "host names to hosts") {
        Ok(entries) => {
            for (name, node) in entries {
                let (mut sc, gs) = scope(file(0), node, &mut errors);
                sc.line = line_of(name);
                for (g, line) in &gs {
                    if !src.groups.contains_key(g) {
                        errors.push(ConfError {
                            file: file(0).into(),
                            line: *line,
                            message: format!(
                                "host {} is in group `{g}`, which {} does not define",
                                name.value,
                                files.get(1).map_or("no groups file", |f| f.0.as_str())
                            ),
                        });
                    }
                }
                let mut lookup = Vec::new();
                for (g, _) in &gs {
                    lookup_order(g, &parents, &mut lookup, 0);
                }
                lookup.reverse();
                src.hosts.push(Host {
                    name: name.value.clone(),
                    scope: sc,
                    groups: lookup,
                });
            }
        }
        Err(e) => errors.push(e),
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    build(src, opts)
}

/// Nornir's lookup order from group `g`: itself, then its parents, each
/// once (depth-limited: a cycle ends there).
fn lookup_order(
    g: &str,
    parents: &BTreeMap<String, Vec<(String, usize)>>,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > 64 || out.iter().any(|x| x == g) {
        return;
    }
    out.push(g.to_string());
    for (p, _) in parents.get(g).into_iter().flatten() {
        lookup_order(p, parents, out, depth + 1);
    }
}
