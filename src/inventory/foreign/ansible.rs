//! Ansible inventories: the YAML form (`all: { hosts, vars, children }`)
//! and the INI form (`[group]` host lines with `key=value`, `[group:vars]`,
//! `[group:children]`). Host ranges (`rtr[01:20]`, `sw[a:c]`, `[1:9:2]`)
//! are expanded.
//!
//! The INI form is hand-read: it is Ansible's own dialect (a host line is
//! split like a shell line; `:vars` and `:children` sections), which no
//! general INI crate reads (they want `key=value` in every line).
//!
//! Ansible's precedence is defaults (`all`) < parent groups < child groups
//! (siblings by name) < host; a device's groups are written in that order.
//! `host_vars/` and `group_vars/` folders, dynamic inventory scripts and
//! inventory plugins are not read: `ansible-inventory -i SOURCE --list -y`
//! prints the merged result, which this reads.

use super::{Host, Options, Scope, Setting, Source, Val, Var, build, line_of, yaml};
use crate::inventory::import::{ConfError, Imported, unquote};
use crate::inventory::located::Node;
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, BTreeSet};

/// The most hosts one range pattern may make.
const MAX_RANGE_HOSTS: usize = 10_000;

fn setting(key: &str) -> Option<Setting> {
    Some(match key {
        "ansible_host" | "ansible_ssh_host" => Setting::Host,
        "ansible_port" | "ansible_ssh_port" => Setting::Port,
        "ansible_user" | "ansible_ssh_user" => Setting::User,
        "ansible_password" | "ansible_ssh_pass" | "ansible_ssh_password" => Setting::Password,
        "ansible_become_password" | "ansible_become_pass" | "ansible_enable_password" => {
            Setting::Enable
        }
        "ansible_ssh_private_key_file" | "ansible_private_key_file" => Setting::Key,
        "ansible_network_os" => Setting::Platform,
        "ansible_connection" => Setting::Connection,
        "ansible_connect_timeout" | "ansible_timeout" | "ansible_ssh_timeout" => {
            Setting::ConnectTimeout
        }
        "ansible_command_timeout" => Setting::CommandTimeout,
        // tsfleet enters enable mode itself when the device needs it.
        "ansible_become" | "ansible_become_method" | "ansible_python_interpreter" => {
            Setting::Needless
        }
        _ => return None,
    })
}

fn var(key: &str, val: Val, line: usize) -> Var {
    Var {
        key: key.to_string(),
        setting: setting(key),
        val,
        line,
    }
}

#[derive(Default)]
struct Group {
    line: usize,
    vars: Vec<Var>,
    children: Vec<(String, usize)>,
    hosts: Vec<String>,
}

/// Groups and hosts as read, before precedence.
#[derive(Default)]
struct Read {
    file: String,
    groups: BTreeMap<String, Group>,
    /// In order of first mention.
    hosts: Vec<(String, Scope)>,
    notes: Vec<String>,
    errors: Vec<ConfError>,
}

impl Read {
    fn err(&mut self, line: usize, message: impl Into<String>) {
        self.errors.push(ConfError {
            file: self.file.clone(),
            line,
            message: message.into(),
        });
    }

    fn group(&mut self, name: &str, line: usize) -> &mut Group {
        self.groups
            .entry(name.to_string())
            .or_insert_with(|| Group {
                line,
                ..Group::default()
            })
    }

    /// Add the hosts a pattern names to `group`, with these variables.
    fn hosts(&mut self, pattern: &str, line: usize, group: &str, mut vars: Vec<Var>) {
        // `name:PORT`, as Ansible writes a port in the host pattern: one
        // colon outside ranges (an IPv6 address has several).
        let mut depth = 0i32;
        let colons = pattern
            .chars()
            .filter(|c| {
                match c {
                    '[' => depth += 1,
                    ']' => depth -= 1,
                    _ => {}
                }
                *c == ':' && depth == 0
            })
            .count();
        let pattern = match pattern.rsplit_once(':') {
            Some((name, port))
                if colons == 1 && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                vars.insert(0, var("ansible_port", Val::text(port), line));
                name
            }
            _ => pattern,
        };
        let names = match expand(pattern) {
            Ok(n) => n,
            Err(why) => return self.err(line, format!("host pattern `{pattern}`: {why}")),
        };
        for name in names {
            match self.hosts.iter_mut().find(|(n, _)| *n == name) {
                // A host mentioned again: Ansible merges its variables.
                Some((_, scope)) => scope.vars.extend(vars.iter().cloned()),
                None => self.hosts.push((
                    name.clone(),
                    Scope {
                        file: self.file.clone(),
                        line,
                        vars: vars.clone(),
                    },
                )),
            }
            let g = self.group(group, line);
            if !g.hosts.contains(&name) {
                g.hosts.push(name);
            }
        }
    }
}

/// Expand Ansible's host ranges: `[01:03]` (width kept), `[a:c]`, with an
/// optional step `[1:9:2]`; several ranges multiply.
fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|c| open + c)
        .ok_or("a `[` without its `]`")?;
    let inner = &pattern[open + 1..close];
    let parts: Vec<&str> = inner.split(':').collect();
    let (start, end, step) = match parts[..] {
        [a, b] => (a, b, "1"),
        [a, b, s] => (a, b, s),
        _ => return Err("a range is written [START:END] or [START:END:STEP]".into()),
    };
    let step: usize = step
        .parse()
        .ok()
        .filter(|s| *s > 0)
        .ok_or("the step of a range is a positive number")?;
    let items: Vec<String> = if let (Ok(a), Ok(b)) = (start.parse::<u64>(), end.parse::<u64>()) {
        if a > b {
            return Err("a range must not end before it starts".into());
        }
        let width = if start.len() > 1 && start.starts_with('0') {
            start.len()
        } else {
            0
        };
        if (b - a) as usize / step >= MAX_RANGE_HOSTS {
            return Err(format!("more than {MAX_RANGE_HOSTS} hosts"));
        }
        (a..=b)
            .step_by(step)
            .map(|n| format!("{n:0width$}"))
            .collect()
    } else {
        let one = |s: &str| {
            let mut c = s.chars();
            match (c.next(), c.next()) {
                (Some(x), None) if x.is_ascii_alphabetic() => Some(x as u8),
                _ => None,
            }
        };
        let (Some(a), Some(b)) = (one(start), one(end)) else {
            return Err("a range is numbers ([01:20]) or single letters ([a:f])".into());
        };
        if a > b {
            return Err("a range must not end before it starts".into());
        }
        (a..=b)
            .step_by(step)
            .map(|c| (c as char).to_string())
            .collect()
    };
    let rest = expand(&pattern[close + 1..])?;
    if items.len() * rest.len() > MAX_RANGE_HOSTS {
        return Err(format!("more than {MAX_RANGE_HOSTS} hosts"));
    }
    let head = &pattern[..open];
    Ok(items
        .iter()
        .flat_map(|i| rest.iter().map(move |r| format!("{head}{i}{r}")))
        .collect())
}

/// Whether a file is Ansible's INI form: by extension (`.ini`; `.yml`,
/// `.yaml`, `.json` are YAML), else by its first line that says something.
pub(super) fn is_ini(file: &str, text: &str) -> bool {
    let lower = file.to_ascii_lowercase();
    if lower.ends_with(".ini") {
        return true;
    }
    if [".yml", ".yaml", ".json"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        return false;
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    match first {
        None => false,
        Some(l) if l == "---" || l.starts_with('{') => false,
        Some(l) if l.starts_with('[') && l.ends_with(']') => true,
        // `all:` or `group:` opens the YAML form; a host line has no `key:`.
        Some(l) => !(l.ends_with(':') || l.contains(": ")),
    }
}

/// Split a host line like a shell line: whitespace outside quotes, quotes
/// removed, a `#` starting a word begins a comment.
fn words(line: &str) -> Result<Vec<String>, &'static str> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '#') if !in_word => break,
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("a quote is not closed");
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

fn read_ini(file: &str, text: &str) -> Read {
    let mut r = Read {
        file: file.to_string(),
        ..Read::default()
    };
    enum Section {
        Hosts(String),
        Vars(String),
        Children(String),
    }
    let mut section = Section::Hosts("ungrouped".into());
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let (name, kind) = inner.split_once(':').unwrap_or((inner, ""));
            let name = name.trim().to_string();
            section = match kind {
                "" => Section::Hosts(name.clone()),
                "vars" => Section::Vars(name.clone()),
                "children" => Section::Children(name.clone()),
                _ => {
                    r.err(n, "a section is [GROUP], [GROUP:vars] or [GROUP:children]");
                    continue;
                }
            };
            r.group(&name, n);
            continue;
        }
        match &section {
            Section::Hosts(g) => {
                let g = g.clone();
                let w = match words(line) {
                    Ok(w) => w,
                    Err(why) => {
                        r.err(n, why);
                        continue;
                    }
                };
                let Some((pattern, kvs)) = w.split_first() else {
                    continue;
                };
                let mut vars = Vec::new();
                for kv in kvs {
                    match kv.split_once('=') {
                        Some((k, v)) => vars.push(var(k, Val::text(v), n)),
                        None => r.err(
                            n,
                            "after the host name, a host line holds `key=value` words only",
                        ),
                    }
                }
                r.hosts(pattern, n, &g, vars);
            }
            Section::Vars(g) => {
                let g = g.clone();
                let Some((k, v)) = line.split_once('=') else {
                    r.err(n, "a [GROUP:vars] line is `key=value`");
                    continue;
                };
                let v = var(k.trim(), Val::text(unquote(v)), n);
                r.group(&g, n).vars.push(v);
            }
            Section::Children(g) => {
                let g = g.clone();
                let child = line.split_whitespace().next().unwrap_or("").to_string();
                r.group(&child, n);
                r.group(&g, n).children.push((child, n));
            }
        }
    }
    r
}

fn read_yaml_group(r: &mut Read, name: &str, node: &Spanned<Node>, line: usize) {
    r.group(name, line);
    let entries = match &node.value {
        Node::Map(e) => e,
        Node::Scalar(s) if s.is_empty() => return,
        _ => {
            return r.err(
                line_of(node),
                format!("group {name} is not a mapping (hosts, vars, children)"),
            );
        }
    };
    for (k, v) in entries {
        match (k.value.as_str(), &v.value) {
            ("hosts", Node::Map(hosts)) => {
                for (h, hv) in hosts {
                    let mut vars = Vec::new();
                    match &hv.value {
                        Node::Map(kvs) => {
                            for (vk, vv) in kvs {
                                vars.push(var(&vk.value, Val::of(&vv.value), line_of(vk)));
                            }
                        }
                        Node::Scalar(s) if s.is_empty() => {}
                        _ => r.err(
                            line_of(hv),
                            format!("host {} is not a mapping of variables", h.value),
                        ),
                    }
                    r.hosts(&h.value, line_of(h), name, vars);
                }
            }
            ("vars", Node::Map(kvs)) => {
                for (vk, vv) in kvs {
                    let v = var(&vk.value, Val::of(&vv.value), line_of(vk));
                    r.group(name, line).vars.push(v);
                }
            }
            ("children", Node::Map(children)) => {
                for (c, cv) in children {
                    r.group(name, line)
                        .children
                        .push((c.value.clone(), line_of(c)));
                    read_yaml_group(r, &c.value, cv, line_of(c));
                }
            }
            ("hosts" | "vars" | "children", Node::Scalar(s)) if s.is_empty() => {}
            ("hosts" | "vars" | "children", _) => r.err(
                line_of(k),
                format!("`{}` of group {name} is not a mapping", k.value),
            ),
            (other, _) => {
                let note = format!(
                    "{}:{}: `{other}` in group {name} is not an Ansible group key (hosts, vars, children): not imported",
                    r.file,
                    line_of(k)
                );
                r.notes.push(note);
            }
        }
    }
}

fn read_yaml(file: &str, text: &str) -> Read {
    let mut r = Read {
        file: file.to_string(),
        ..Read::default()
    };
    let tree = match yaml(file, text) {
        Ok(t) => t,
        Err(e) => {
            r.errors.push(e);
            return r;
        }
    };
    let Node::Map(top) = &tree.value else {
        r.err(
            line_of(&tree),
            "expected groups at the top (all: { hosts, vars, children })",
        );
        return r;
    };
    if let Some((k, _)) = top.iter().find(|(k, _)| k.value == "plugin") {
        r.err(
            line_of(k),
            "an inventory plugin configuration, not an inventory: run `ansible-inventory -i FILE --list -y > inventory.yml` and import that",
        );
        return r;
    }
    for (g, node) in top {
        read_yaml_group(&mut r, &g.value, node, line_of(g));
    }
    r
}

/// Ansible's precedence from what was read: each host's groups by depth
/// (parents first), then by name.
fn source(mut r: Read, kind: &'static str) -> Result<Source, Vec<ConfError>> {
    let file = r.file.clone();
    // Depth: the longest chain of parents above a group (`all` is 0).
    let mut parents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (g, data) in &r.groups {
        for (c, _) in &data.children {
            parents.entry(c.clone()).or_default().push(g.clone());
        }
    }
    /// Memoised per group: walking every path through the parents would
    /// take 3^n steps for n layers of three groups each child of all three
    /// above. Only finished depths are kept, so a cycle is still found from
    /// every group it reaches.
    fn depth(
        g: &str,
        parents: &BTreeMap<String, Vec<String>>,
        seen: &mut Vec<String>,
        memo: &mut BTreeMap<String, usize>,
    ) -> Result<usize, String> {
        if g == "all" {
            return Ok(0);
        }
        if let Some(d) = memo.get(g) {
            return Ok(*d);
        }
        if seen.iter().any(|s| s == g) {
            return Err(seen.join(" > "));
        }
        seen.push(g.to_string());
        let mut d = 1;
        for p in parents.get(g).into_iter().flatten() {
            d = d.max(depth(p, parents, seen, memo)? + 1);
        }
        seen.pop();
        memo.insert(g.to_string(), d);
        Ok(d)
    }
    let mut depths = BTreeMap::new();
    for g in r.groups.keys() {
        match depth(g, &parents, &mut Vec::new(), &mut depths) {
            Ok(_) => {}
            Err(cycle) => {
                let line = r.groups[g].line;
                r.errors.push(ConfError {
                    file: file.clone(),
                    line,
                    message: format!("group {g} is its own child ({cycle} > {g})"),
                });
            }
        }
    }
    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    let mut src = Source {
        kind,
        files: vec![file.clone()],
        notes: r.notes,
        ..Source::default()
    };
    if let Some(all) = r.groups.get_mut("all") {
        src.defaults = Scope {
            file: file.clone(),
            line: all.line,
            vars: std::mem::take(&mut all.vars),
        };
    }
    for (name, scope) in r.hosts {
        // Every group holding the host, directly or through children.
        let mut groups = BTreeSet::new();
        let mut todo: Vec<String> = r
            .groups
            .iter()
            .filter(|(_, g)| g.hosts.contains(&name))
            .map(|(n, _)| n.clone())
            .collect();
        while let Some(g) = todo.pop() {
            if groups.insert(g.clone()) {
                todo.extend(parents.get(&g).into_iter().flatten().cloned());
            }
        }
        let mut groups: Vec<String> = groups
            .into_iter()
            .filter(|g| g != "all" && g != "ungrouped")
            .collect();
        groups.sort_by_key(|g| (depths.get(g).copied().unwrap_or(0), g.clone()));
        src.hosts.push(Host {
            name,
            scope,
            groups,
        });
    }
    for (name, g) in r.groups {
        if name != "all" && name != "ungrouped" {
            src.groups.insert(
                name,
                Scope {
                    file: file.clone(),
                    line: g.line,
                    vars: g.vars,
                },
            );
        }
    }
    Ok(src)
}

/// Import one Ansible inventory file: INI by extension `.ini` or by content,
/// else YAML (see `is_ini`).
pub fn import(file: &str, text: &str, opts: &Options) -> Result<Imported, Vec<ConfError>> {
    let whole = |message: &str| {
        vec![ConfError {
            file: file.to_string(),
            line: 0,
            message: message.to_string(),
        }]
    };
    if text.starts_with("$ANSIBLE_VAULT") {
        return Err(whole(
            "encrypted with ansible-vault: run `ansible-inventory -i FILE --list -y > inventory.yml` (it asks for the vault password) and import that",
        ));
    }
    if text.starts_with("#!") {
        return Err(whole(
            "a dynamic inventory script: run `ansible-inventory -i FILE --list -y > inventory.yml` and import that",
        ));
    }
    let (r, kind) = if is_ini(file, text) {
        (read_ini(file, text), "Ansible INI")
    } else {
        (read_yaml(file, text), "Ansible YAML")
    };
    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    build(source(r, kind)?, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_like_ansible() {
        assert_eq!(expand("rtr[01:03]").unwrap(), ["rtr01", "rtr02", "rtr03"]);
        assert_eq!(
            expand("sw-[a:c].lab").unwrap(),
            ["sw-a.lab", "sw-b.lab", "sw-c.lab"]
        );
        assert_eq!(expand("r[1:9:4]").unwrap(), ["r1", "r5", "r9"]);
        assert_eq!(
            expand("r[1:2]-[a:b]").unwrap(),
            ["r1-a", "r1-b", "r2-a", "r2-b"]
        );
        assert_eq!(expand("plain").unwrap(), ["plain"]);
        let mut r = Read::default();
        r.hosts("edge[1:2].lab:2222", 3, "g", Vec::new());
        r.hosts("2001:db8::1", 4, "g", Vec::new());
        let names: Vec<&str> = r.hosts.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["edge1.lab", "edge2.lab", "2001:db8::1"]);
        assert_eq!(r.hosts[1].1.vars[0].val, Val::Text("2222".into()));
        assert!(r.hosts[2].1.vars.is_empty());
        for bad in ["r[1:", "r[3:1]", "r[1:x]", "r[1:2:0]", "r[0:99999]"] {
            assert!(expand(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn words_split_like_a_shell_line() {
        assert_eq!(
            words(r#"r1 a=1 b="two words" c='x' # comment"#).unwrap(),
            ["r1", "a=1", "b=two words", "c=x"]
        );
        assert!(words("r1 a=\"open").is_err());
    }

    #[test]
    fn ini_or_yaml_by_extension_then_content() {
        assert!(is_ini("hosts.ini", "all:\n"));
        assert!(!is_ini("hosts.yml", "[x]\n"));
        assert!(is_ini("hosts", "# c\n[routers]\nr1\n"));
        assert!(is_ini("hosts", "r1 ansible_host=192.0.2.1\n"));
        assert!(!is_ini("hosts", "---\nall:\n"));
        assert!(!is_ini("hosts", "all:\n  hosts:\n"));
    }
}
