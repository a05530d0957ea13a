//! Where each key and value of the inventory's YAML text is.
//!
//! The typed parse (serde) says *what* the inventory holds; checks made after
//! it (duplicate names, unknown groups, bad object-group names…) still need a
//! line and column. serde-saphyr's `Spanned` gives them, but putting `Spanned`
//! in the public model would leak into every user of it, so the text is read a
//! second time into this untyped tree, and a check asks for the location of a
//! path such as `devices[3].groups[1]`.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// A line and column in the inventory text, both from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Loc {
    pub line: usize,
    pub column: usize,
}

impl Loc {
    fn of(l: &serde_saphyr::Location) -> Option<Loc> {
        let (line, column) = (l.line() as usize, l.column() as usize);
        (line > 0).then_some(Loc { line, column })
    }
}

/// One step of a path: a mapping key or a sequence index.
#[derive(Clone, Copy, Debug)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> From<&'a str> for Seg<'a> {
    fn from(k: &'a str) -> Self {
        Seg::Key(k)
    }
}

impl From<usize> for Seg<'_> {
    fn from(i: usize) -> Self {
        Seg::Index(i)
    }
}

/// Build a path: `yaml_path!["devices", 3, "groups", 1]`.
macro_rules! yaml_path {
    ($($seg:expr),* $(,)?) => { &[$($crate::inventory::located::Seg::from($seg)),*][..] };
}
pub(crate) use yaml_path;

/// An untyped YAML node (also what `foreign` walks when it reads
/// Nornir and Ansible inventories).
#[derive(Debug)]
pub(super) enum Node {
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    /// The scalar's text (numbers and booleans as written back).
    Scalar(String),
}

/// The untyped tree of an inventory text, with locations.
#[derive(Debug)]
pub struct Located {
    root: Option<Spanned<Node>>,
}

impl Located {
    /// Read `text`; a text that does not parse gives a tree that locates nothing.
    pub fn parse(text: &str) -> Located {
        Located {
            root: tree(text).ok(),
        }
    }

    fn node(&self, path: &[Seg]) -> Option<(&Spanned<Node>, Option<&Spanned<String>>)> {
        let mut node = self.root.as_ref()?;
        let mut key = None;
        for seg in path {
            match (seg, &node.value) {
                (Seg::Key(k), Node::Map(entries)) => {
                    let (kk, v) = entries.iter().find(|(kk, _)| kk.value == *k)?;
                    key = Some(kk);
                    node = v;
                }
                (Seg::Index(i), Node::Seq(items)) => {
                    node = items.get(*i)?;
                    key = None;
                }
                _ => return None,
            }
        }
        Some((node, key))
    }

    /// Where the value at `path` is written; for a mapping or a block
    /// sequence, where its first entry starts.
    pub fn value(&self, path: &[Seg]) -> Option<Loc> {
        let (node, _) = self.node(path)?;
        Loc::of(&node.referenced)
    }

    /// Where the key that ends `path` is written (the value's location when
    /// the path ends with an index).
    pub fn key(&self, path: &[Seg]) -> Option<Loc> {
        match self.node(path)? {
            (_, Some(k)) => Loc::of(&k.referenced),
            (node, None) => Loc::of(&node.referenced),
        }
    }

    /// The location of the value at `path`, else of the nearest ancestor
    /// that is written.
    pub fn nearest(&self, path: &[Seg]) -> Option<Loc> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.key(&path[..n]).or_else(|| self.value(&path[..n])))
    }

    /// The text of the scalar at `path`.
    pub fn scalar(&self, path: &[Seg]) -> Option<&str> {
        match &self.node(path)?.0.value {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// Where in the inventory `loc` is: in words, for the mapping that
    /// holds it and for itself, and the scalar written there, if any.
    pub fn describe(&self, loc: Loc) -> Option<Described> {
        let root = self.root.as_ref()?;
        let mut trail = Vec::new();
        let scalar = find(root, loc, &mut trail)?;
        let (parent, key) = match trail.last() {
            Some(PathStep::Key(k)) => (&trail[..trail.len() - 1], Some(k.clone())),
            _ => (&trail[..], None),
        };
        let parent_path: Vec<Seg> = parent
            .iter()
            .map(|s| match s {
                PathStep::Key(k) => Seg::Key(k),
                PathStep::Index(i) => Seg::Index(*i),
            })
            .collect();
        Some(Described {
            place: self.words(&trail),
            parent: self.words(parent),
            parent_loc: self.value(&parent_path),
            key,
            scalar,
        })
    }

    fn words(&self, trail: &[PathStep]) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < trail.len() {
            match (&trail[i], trail.get(i + 1)) {
                (PathStep::Key(k), Some(PathStep::Index(n))) if k == "devices" && i == 0 => {
                    let name = self.scalar(yaml_path!["devices", *n, "name"]);
                    parts.push(match name {
                        Some(name) => format!("device `{name}`"),
                        None => format!("device #{} under `devices:`", n + 1),
                    });
                    i += 2;
                }
                (PathStep::Key(k), Some(PathStep::Key(name)))
                    if i == 0 && (k == "groups" || k == "policies") =>
                {
                    let what = if k == "groups" { "group" } else { "policy" };
                    parts.push(format!("{what} `{name}`"));
                    i += 2;
                }
                (PathStep::Key(k), _) if i == 0 => {
                    parts.push(format!("`{k}`"));
                    i += 1;
                }
                (PathStep::Key(k), _) => {
                    parts.push(format!("key `{k}`"));
                    i += 1;
                }
                (PathStep::Index(n), _) => {
                    parts.push(format!("item {}", n + 1));
                    i += 1;
                }
            }
        }
        parts.join(", ")
    }

    /// The keys at `path`, in the order written, each with its location.
    pub fn keys(&self, path: &[Seg]) -> Vec<(String, Loc)> {
        match self.node(path) {
            Some((
                Spanned {
                    value: Node::Map(entries),
                    ..
                },
                _,
            )) => entries
                .iter()
                .filter_map(|(k, _)| Some((k.value.clone(), Loc::of(&k.referenced)?)))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The untyped tree of a YAML text, or why it does not parse. Duplicate
/// keys are forwarded, so the second one can be located when a typed parse
/// refuses it.
pub(super) fn tree(text: &str) -> Result<Spanned<Node>, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options::<Spanned<Node>>(
        text,
        serde_saphyr::options! {
            duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        },
    )
}

/// See [`Located::describe`].
#[derive(Debug)]
pub struct Described {
    /// "device `r2`, key `port`" (empty at the top level).
    pub place: String,
    /// The same for the mapping or list holding it: "device `r2`".
    pub parent: String,
    /// Where that mapping or list starts.
    pub parent_loc: Option<Loc>,
    /// The key, when the location is a key's.
    pub key: Option<String>,
    pub scalar: Option<String>,
}

#[derive(Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

/// Depth-first search for the key or value written at `loc`; `trail` ends
/// as the path to it. Returns the scalar there, if it is one.
fn find(node: &Spanned<Node>, loc: Loc, trail: &mut Vec<PathStep>) -> Option<Option<String>> {
    match &node.value {
        Node::Map(entries) => {
            for (k, v) in entries {
                trail.push(PathStep::Key(k.value.clone()));
                if Loc::of(&k.referenced) == Some(loc) {
                    return Some(None);
                }
                if let Some(found) = find(v, loc, trail) {
                    return Some(found);
                }
                trail.pop();
            }
        }
        Node::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                trail.push(PathStep::Index(i));
                if let Some(found) = find(v, loc, trail) {
                    return Some(found);
                }
                trail.pop();
            }
        }
        Node::Scalar(s) => {
            if Loc::of(&node.referenced) == Some(loc) {
                return Some(Some(s.clone()));
            }
        }
    }
    if Loc::of(&node.referenced) == Some(loc) {
        return Some(None);
    }
    None
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Scalar(String::new()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar(String::new()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar(String::new()))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
defaults:
  port: 22
devices:
  - name: r1
    groups: [a, b]
  - name: r2
";

    #[test]
    fn locates_keys_values_and_items() {
        let t = Located::parse(TEXT);
        assert_eq!(
            t.key(yaml_path!["defaults", "port"]),
            Some(Loc { line: 2, column: 3 })
        );
        assert_eq!(
            t.value(yaml_path!["defaults", "port"]),
            Some(Loc { line: 2, column: 9 })
        );
        assert_eq!(
            t.value(yaml_path!["devices", 1, "name"]),
            Some(Loc {
                line: 6,
                column: 11
            })
        );
        assert_eq!(
            t.value(yaml_path!["devices", 0, "groups", 1]),
            Some(Loc {
                line: 5,
                column: 17
            })
        );
        assert_eq!(
            t.value(yaml_path!["devices", 1]),
            Some(Loc { line: 6, column: 5 })
        );
        assert_eq!(t.value(yaml_path!["devices", 5]), None);
        assert_eq!(
            t.nearest(yaml_path!["devices", 1, "policy"]),
            Some(Loc { line: 6, column: 5 })
        );
    }
}
