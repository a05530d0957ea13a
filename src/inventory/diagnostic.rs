//! A mistake in an inventory, as shown to the person who must fix it:
//! `file:line:column: what is wrong`, the lines around it with a caret under
//! the fault, and a `help:` line saying what to write instead.
//!
//! serde-saphyr's own messages are short ("invalid u16", "unknown field …");
//! [`from_yaml_error`] rewords the common ones, names where in the inventory
//! the mistake is (device, group, policy) and suggests the nearest valid key.
//! Snippets are rendered here, for YAML and semantic mistakes alike, so both
//! look the same.

use super::located::{Loc, Located};
use std::fmt;

/// One mistake, located.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub loc: Option<Loc>,
    pub message: String,
    pub help: Option<String>,
    /// The source lines with a caret, already rendered (may be empty).
    pub snippet: String,
}

impl Diagnostic {
    pub fn new(loc: Option<Loc>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            loc,
            message: message.into(),
            help: None,
            snippet: String::new(),
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Render the snippet from the inventory text.
    pub fn with_snippet(mut self, text: &MaskedText) -> Diagnostic {
        if let Some(loc) = self.loc {
            self.snippet = render(&text.0, loc);
        }
        self
    }

    /// `file:line:column: message`, then the snippet and the help.
    pub fn display<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        DisplayDiagnostic { d: self, file }
    }
}

struct DisplayDiagnostic<'a> {
    d: &'a Diagnostic,
    file: &'a str,
}

impl fmt::Display for DisplayDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.d.loc {
            Some(Loc { line, column }) => write!(f, "{}:{line}:{column}: ", self.file)?,
            None => write!(f, "{}: ", self.file)?,
        }
        f.write_str(&self.d.message)?;
        if !self.d.snippet.is_empty() {
            write!(f, "\n{}", self.d.snippet.trim_end())?;
        }
        if let Some(help) = &self.d.help {
            let pad = match self.d.loc {
                Some(loc) if !self.d.snippet.is_empty() => {
                    " ".repeat(loc.line.to_string().len() + 1)
                }
                _ => String::new(),
            };
            write!(f, "\n{pad}= help: {help}")?;
        }
        Ok(())
    }
}

/// An inventory's lines with every secret masked: all a snippet may show.
/// Masked once per inventory (a value can continue over many lines).
pub struct MaskedText(Vec<String>);

impl MaskedText {
    pub fn new(text: &str) -> MaskedText {
        MaskedText(masked_lines(&text.lines().collect::<Vec<_>>(), None))
    }
}

/// The lines up to `loc` (two before it) with a caret under the token at
/// `loc`: rustc's layout, as serde-saphyr renders its own snippets.
#[cfg(test)]
pub fn snippet(text: &str, loc: Loc) -> String {
    render(&MaskedText::new(text).0, loc)
}

/// [`snippet`], masking also the literal value of the key `also` (an
/// unknown key, which may be a secret under a name tsfleet does not know).
fn snippet_masking(text: &str, loc: Loc, also: Option<&str>) -> String {
    let lines: Vec<&str> = text.lines().take(loc.line).collect();
    render(&masked_lines(&lines, also), loc)
}

/// The masked `lines` up to `loc` (two before it) with a caret under the
/// token at `loc`.
fn render(lines: &[String], loc: Loc) -> String {
    if loc.line == 0 || loc.line > lines.len() {
        return String::new();
    }
    let first = loc.line.saturating_sub(2).max(1);
    let width = loc.line.to_string().len();
    let mut out = format!("{:width$} |\n", "");
    for n in first..=loc.line {
        let l = &lines[n - 1];
        if l.is_empty() {
            out.push_str(&format!("{n:>width$} |\n"));
        } else {
            out.push_str(&format!("{n:>width$} | {l}\n"));
        }
    }
    let line = &lines[loc.line - 1];
    let pad: String = line
        .chars()
        .take(loc.column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let rest: String = line.chars().skip(loc.column.saturating_sub(1)).collect();
    let carets = "^".repeat(token_len(&rest).max(1));
    out.push_str(&format!("{:width$} | {pad}{carets}\n", ""));
    out
}

/// `lines` with every secret masked, so a snippet never shows one, even on
/// a neighbouring line: the literal written after a secret key (`password:`,
/// `enable_secret:`, a typo or alias of them) or after the key `also`,
/// including a value written on the lines below its key (`password: |`, or
/// the value alone on the next line); references such as `{ env: NAME }`
/// are kept. The `user:password@` of any URL likewise.
fn masked_lines(lines: &[&str], also: Option<&str>) -> Vec<String> {
    let secret = |k: &str, v: &str| is_secret_key(k) || (Some(k) == also && !is_plain_value(v));
    // The indentation of the line whose secret value continues below it.
    let mut open: Option<usize> = None;
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let body = line.trim_start();
        let indent = line.len() - body.len();
        if let Some(key_indent) = open {
            // A reference written as a block mapping is shown.
            let reference = body.starts_with("env:") || body.starts_with("file:");
            if body.is_empty() || (indent > key_indent && reference) {
                out.push(line.to_string());
                continue;
            }
            if indent > key_indent {
                out.push(format!("{}******", &line[..indent]));
                continue;
            }
            open = None;
        }
        let (masked, continues) = mask_keys(line, &secret);
        if continues {
            open = Some(indent);
        }
        out.push(mask_url_userinfo(&masked));
    }
    out
}

/// The keys whose literal values are never shown.
const SECRET_KEYS: [&str; 2] = ["password", "enable_secret"];

/// Other names people give a secret: a key written under one of them is
/// unknown to tsfleet, but its value is still a secret.
const SECRET_ALIASES: [&str; 7] = [
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "secret",
    "enable",
    "enable_password",
];

/// A key that holds, or was probably meant to hold, a secret: a secret key,
/// a typo of one (`pasword`, `enable_secrt`), or a usual alias.
fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
        || SECRET_ALIASES.contains(&key)
        || closest(key, &SECRET_KEYS).is_some()
}

/// A value that cannot be a secret worth hiding: a number, a boolean, null.
fn is_plain_value(value: &str) -> bool {
    let v = value.trim();
    v.parse::<f64>().is_ok() || matches!(v, "true" | "false" | "null" | "~")
}

/// `line` with any literal written after a secret key (`password:`,
/// `enable_secret:`, a typo or alias of them) replaced by `******`
/// (references such as `{ env: NAME }` are kept), and the `user:password@`
/// of any URL likewise: one line as [`masked_lines`] masks it.
#[cfg(test)]
pub fn mask_secrets(line: &str) -> String {
    mask_url_userinfo(&mask_keys(line, &|k, _| is_secret_key(k)).0)
}

/// `scheme://user:password@host` → `scheme://******@host`.
fn mask_url_userinfo(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(['/', '?', '#', ' ', '\t', '"', '\'', ',', '}', ']'])
            .unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(at) => {
                out.push_str("******");
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// `line` with the scalar value of every `key: value` for which
/// `secret(key, value)` holds replaced by `******`. A key is a run of
/// letters, digits, `_` and `-` at the start of the line or after a space,
/// `{`, `,` or `-`, followed by `:` and a space, a quote or the line's end.
/// Also says whether such a value goes on below this line: nothing or a
/// comment after the key, a block scalar (`|`, `>`) or an unclosed quote.
fn mask_keys(line: &str, secret: &dyn Fn(&str, &str) -> bool) -> (String, bool) {
    let mut out = String::new();
    let mut rest = line;
    let mut continues = false;
    while let Some(colon) = rest.find(':') {
        let before = &rest[..colon];
        let key_start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .map_or(0, |i| {
                i + before[i..].chars().next().map_or(1, char::len_utf8)
            });
        let key = &before[key_start..];
        let boundary = key_start == 0 || before[..key_start].ends_with([' ', '{', ',', '-', '\t']);
        let after = &rest[colon + 1..];
        out.push_str(&rest[..=colon]);
        rest = after;
        // `key:'x'` is masked too: a quote cannot start anything else there.
        if key.is_empty()
            || !boundary
            || !(after.is_empty() || after.starts_with([' ', '\t', '"', '\'']))
        {
            continue;
        }
        let value_start = rest.len() - rest.trim_start().len();
        let value = &rest[value_start..];
        if value.is_empty() || value.starts_with(['#', '|', '>']) {
            continues |= secret(key, "");
        }
        if value.is_empty() || value.starts_with(['{', '#', '&', '*', '[']) {
            continue;
        }
        let quoted = value.starts_with(['"', '\'']);
        let end = if quoted {
            // token_len counts characters: slice at that character's byte offset.
            value
                .char_indices()
                .nth(token_len(value))
                .map_or(value.len(), |(i, _)| i)
        } else {
            value.find([',', '}', '#']).unwrap_or(value.len())
        };
        if !secret(key, &value[..end]) {
            continue;
        }
        let token = &value[..end];
        let q = token.chars().next();
        if quoted && (token.chars().count() < 2 || token.chars().last() != q) {
            continues = true;
        }
        let trailing = token.len() - token.trim_end().len();
        out.push_str(&rest[..value_start]);
        out.push_str("******");
        out.push_str(&" ".repeat(trailing));
        rest = &value[end..];
    }
    out.push_str(rest);
    (out, continues)
}

/// Length in characters of the YAML token that starts `rest`: a quoted
/// string up to its closing quote, else up to the next delimiter.
fn token_len(rest: &str) -> usize {
    let mut chars = rest.chars();
    match chars.next() {
        Some(q @ ('"' | '\'')) => chars
            .position(|c| c == q)
            .map_or(rest.chars().count(), |p| p + 2),
        Some('[' | '{') | None => 1,
        Some('-') if rest[1..].starts_with([' ', '\t']) || rest.len() == 1 => 1,
        Some(_) => rest
            .char_indices()
            .find(|&(i, c)| {
                matches!(c, ',' | ']' | '}' | '#')
                    || (c == ':' && (i + 1 == rest.len() || rest[i + 1..].starts_with([' ', '\t'])))
            })
            .map_or_else(
                || rest.trim_end().chars().count(),
                |(i, _)| rest[..i].trim_end().chars().count(),
            ),
    }
}

/// A serde-saphyr error as a diagnostic: reworded, placed ("device `r2`,
/// key `port`"), with help where there is something useful to say.
pub fn from_yaml_error(err: &serde_saphyr::Error, text: &str, tree: &Located) -> Diagnostic {
    use serde_saphyr::MessageFormatter;
    let inner = err.without_snippet();
    let raw = serde_saphyr::DefaultMessageFormatter
        .format_message(inner)
        .into_owned();
    let loc = err.location().and_then(|l| {
        let (line, column) = (l.line() as usize, l.column() as usize);
        (line > 0).then_some(Loc { line, column })
    });
    let described = loc.and_then(|l| tree.describe(l));
    let found = described.as_ref().and_then(|d| d.scalar.as_deref());
    let (message, help) = reword(&raw, found);
    // Mistakes about a key (unknown, twice, missing) are about the mapping
    // that holds it; a missing key is reported where that mapping starts.
    let about_key = ["unknown key", "missing key", "key `"]
        .iter()
        .any(|p| message.starts_with(p));
    let (place, loc) = match &described {
        Some(d) if about_key => {
            let loc = if message.starts_with("missing key") {
                d.parent_loc.or(loc)
            } else {
                loc
            };
            (d.parent.clone(), loc)
        }
        Some(d) => (d.place.clone(), loc),
        None => (String::new(), loc),
    };
    // An unknown key in a device's settings may be a secret under a name
    // tsfleet does not know (`passcode: hunter2`): its value is not shown.
    let unknown = message
        .strip_prefix("unknown key `")
        .and_then(|r| r.split_once('`'))
        .map(|(key, _)| key.to_string())
        .filter(|_| {
            ["device ", "group ", "`defaults`"]
                .iter()
                .any(|p| place.starts_with(p))
        });
    let message = if place.is_empty() {
        if about_key && message.starts_with("unknown key") {
            format!("{message} at the top level")
        } else {
            message
        }
    } else {
        format!("{place}: {message}")
    };
    let mut d = Diagnostic::new(loc, message);
    if let Some(loc) = loc {
        d.snippet = snippet_masking(text, loc, unknown.as_deref());
    }
    d.help = help;
    d
}

/// Reword one of serde's or serde-saphyr's messages; `found` is the scalar
/// written at the error's location, when there is one.
pub fn reword(raw: &str, found: Option<&str>) -> (String, Option<String>) {
    let found_note = |what: &str| match found {
        Some(f) if !f.is_empty() => format!("{what}, found `{f}`"),
        _ => what.to_string(),
    };
    if let Some(rest) = raw.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let valid: Vec<&str> = expected
            .trim_start_matches(", expected one of ")
            .trim_start_matches(", expected ")
            .split(", ")
            .map(|s| s.trim_matches('`'))
            .filter(|s| !s.is_empty() && !s.starts_with("there are no"))
            .collect();
        let help = match closest(key, &valid) {
            Some(near) => format!(
                "did you mean `{near}`? Valid keys here: {}",
                valid.join(", ")
            ),
            None if valid.is_empty() => "remove it".to_string(),
            None => format!("valid keys here: {}", valid.join(", ")),
        };
        return (format!("unknown key `{key}`"), Some(help));
    }
    if let Some(rest) = raw.strip_prefix("missing field `") {
        let key = rest.trim_end_matches('`');
        let help = match key {
            "host" => "add `host:` with the router's IP address or DNS name".to_string(),
            "name" => "add `name:` with a name for the router (used by --limit and in reports)"
                .to_string(),
            "servers" => {
                "add `servers:` with the DNS servers that publish the lists, e.g. [127.0.0.1]"
                    .to_string()
            }
            _ => format!("add `{key}:`"),
        };
        return (format!("missing key `{key}`"), Some(help));
    }
    if let Some(rest) = raw.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return (
            format!("key `{key}` is written twice in the same mapping"),
            Some("keep one of them: YAML readers disagree on which one wins".into()),
        );
    }
    let typed = |what: &str| (found_note(&format!("expected {what}")), None);
    match raw {
        "invalid u8" => return typed("a whole number from 0 to 255"),
        "invalid u16" => return typed("a whole number from 0 to 65535"),
        "invalid u32" | "invalid u64" | "invalid usize" => {
            return typed("a whole number (0 or more)");
        }
        "invalid f64" | "invalid f32" => return typed("a number"),
        "invalid boolean" => return typed("true or false"),
        "expected sequence start" => {
            return (
                "expected a list".into(),
                Some("write `[a, b]`, or one `- item` per line".into()),
            );
        }
        "expected mapping start" => {
            return (
                "expected a mapping".into(),
                Some("write `key: value` lines indented under this key".into()),
            );
        }
        _ => {}
    }
    if raw.contains("invalid IP address syntax") || raw.contains("invalid IPv4") {
        return (
            found_note("not an IPv4 prefix"),
            Some("write ADDRESS/LENGTH, e.g. 192.0.2.0/24".into()),
        );
    }
    (raw.to_string(), None)
}

/// The candidate nearest to `word` by edit distance, if near enough to be a typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|&(d, c)| d <= 2.max(c.len() / 4) && d < c.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_quoted_secrets_with_non_ascii_characters() {
        // Found by the `inventory_load` fuzz target: an unclosed quote before a
        // multi-byte character sliced the line inside that character (panic).
        let text = String::from_utf8_lossy(b"password:'\xff");
        assert_eq!(mask_secrets(&text), "password:******");
        let at = Loc {
            line: 1,
            column: 10,
        };
        assert!(snippet(&text, at).contains("password:******"));
        // A closed quote was cut short by as many bytes as its multi-byte
        // characters add, showing the end of the secret.
        assert_eq!(
            mask_secrets("  password: \"pässwörd\" # x"),
            "  password: ****** # x"
        );
        assert_eq!(
            mask_secrets("enable_secret: 'ünclosed"),
            "enable_secret: ******"
        );
    }

    #[test]
    fn snippet_puts_carets_under_the_token() {
        let text = "a: 1\nb:\n  prot: 22\n";
        let s = snippet(text, Loc { line: 3, column: 3 });
        assert_eq!(s, "  |\n1 | a: 1\n2 | b:\n3 |   prot: 22\n  |   ^^^^\n");
    }

    #[test]
    fn snippets_never_show_literal_secrets() {
        assert_eq!(mask_secrets("  password: hunter2"), "  password: ******");
        assert_eq!(
            mask_secrets("  - { name: r, password: 'a b', enable_secret: x }"),
            "  - { name: r, password: ******, enable_secret: ****** }"
        );
        assert_eq!(
            mask_secrets("  password: { env: PW }"),
            "  password: { env: PW }"
        );
        assert_eq!(mask_secrets("  my_password: x"), "  my_password: x");
        assert_eq!(
            mask_secrets("  log_upload: { url: \"https://u:pw@h:1/up\", proxy: http://p:3128 }"),
            "  log_upload: { url: \"https://******@h:1/up\", proxy: http://p:3128 }"
        );
        assert_eq!(mask_secrets("url: https://h/a@b"), "url: https://h/a@b");
        let s = snippet(
            "a: 1\npassword: hunter2\nb: 2\n",
            Loc { line: 3, column: 1 },
        );
        assert!(!s.contains("hunter2"), "{s}");
        let s = snippet(
            "password: hunter2\n",
            Loc {
                line: 1,
                column: 11,
            },
        );
        assert!(
            s.ends_with("| ******\n  |           ^^^^^^\n") || s.contains("^^^^^^"),
            "{s}"
        );
    }

    #[test]
    fn typos_and_aliases_of_secret_keys_are_masked() {
        for key in [
            "pasword",
            "passwd",
            "enable_secrt",
            "enable_scret",
            "pwd",
            "secret",
        ] {
            assert_eq!(
                mask_secrets(&format!("    {key}: hunter2")),
                format!("    {key}: ******"),
                "{key}"
            );
        }
        assert_eq!(
            mask_secrets("  - { name: r, pasword: hunter2, port: 22 }"),
            "  - { name: r, pasword: ******, port: 22 }"
        );
        // Keys far from a secret's name keep their values.
        assert_eq!(mask_secrets("    username: netops"), "    username: netops");
        assert_eq!(mask_secrets("    prot: 2222"), "    prot: 2222");
    }

    #[test]
    fn unknown_keys_with_literal_values_are_masked_under_settings() {
        let at = |text: &str| {
            let tree = Located::parse(text);
            let err = serde_saphyr::from_str::<crate::inventory::Inventory>(text).unwrap_err();
            from_yaml_error(&err, text, &tree)
        };
        let text = "devices:\n  - name: r1\n    host: 192.0.2.1\n    passcode: hunter2\n";
        let d = at(text);
        assert!(d.message.contains("unknown key `passcode`"), "{d:?}");
        assert!(!d.snippet.contains("hunter2"), "{}", d.snippet);
        assert!(d.snippet.contains("passcode: ******"), "{}", d.snippet);
        let text = "defaults:\n  usernme: netops\n";
        let d = at(text);
        assert!(!d.snippet.contains("netops"), "{}", d.snippet);
        // A number or a boolean is shown: it helps and cannot be a secret worth hiding.
        let text = "groups:\n  g:\n    prot: 2222\n";
        assert!(at(text).snippet.contains("prot: 2222"));
    }

    #[test]
    fn secrets_written_below_their_key_are_masked() {
        let text = "defaults:\n  password:\n    hunter2\n  enable_secret: |\n    hunter3\n\
                    \n    hunter4\n  username: u\n  pasword: \"multi\n    line\"\n  port: x\n";
        let s = snippet(
            text,
            Loc {
                line: 11,
                column: 9,
            },
        );
        assert!(s.contains("10 |     ******\n"), "{s}");
        assert!(s.contains("11 |   port: x\n"), "{s}");
        let s = snippet(text, Loc { line: 8, column: 3 });
        assert!(!s.contains("hunter"), "{s}");
        assert!(s.contains("8 |   username: u"), "{s}");
        for line in 2..=7 {
            let s = snippet(text, Loc { line, column: 1 });
            assert!(!s.contains("hunter"), "{line}: {s}");
        }
        // A reference written as a block mapping stays readable.
        let text = "defaults:\n  password:\n    env: PW\n  port: x\n";
        let s = snippet(text, Loc { line: 4, column: 9 });
        assert!(s.contains("3 |     env: PW"), "{s}");
    }

    proptest::proptest! {
        /// Masking works on any text (the fuzz target found a panic once):
        /// keys, quotes, block indicators, multi-byte spaces and letters.
        #[test]
        fn masking_any_text_never_panics(text in "[a-z_: \"'|>#{},\\-\n\t\u{3000}é]{0,120}") {
            let lines: Vec<&str> = text.lines().collect();
            let _ = masked_lines(&lines, Some("pw"));
            let _ = snippet(&text, Loc { line: 2, column: 3 });
        }
    }

    #[test]
    fn unknown_key_suggests_the_nearest() {
        let (m, h) = reword(
            "unknown field `prot`, expected one of `port`, `username`",
            None,
        );
        assert_eq!(m, "unknown key `prot`");
        assert!(h.unwrap().starts_with("did you mean `port`?"));
        let (_, h) = reword(
            "unknown field `zzzzzz`, expected one of `port`, `username`",
            None,
        );
        assert_eq!(h.unwrap(), "valid keys here: port, username");
    }

    #[test]
    fn closest_ignores_far_words() {
        assert_eq!(closest("usrname", &["username", "port"]), Some("username"));
        assert_eq!(closest("x", &["port"]), None);
    }
}
