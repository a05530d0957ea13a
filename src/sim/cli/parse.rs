//! IOS command parsing: keyword abbreviation, the `%` error kinds, and the
//! command grammar of each mode. Parsing never touches the device: it turns a
//! line into a [`Cmd`], and `cli.rs` executes it. Keeping them apart lets a
//! sub-mode line fall back to the global grammar without half-applying.

use super::super::device::{Entry, V6Entry};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Why a line was refused; rendered by `cli.rs` in IOS's exact layouts.
#[derive(Debug, Clone, PartialEq)]
pub enum Fail {
    /// `% Invalid input detected at '^' marker.`, caret at this byte offset of the line.
    Invalid(usize),
    /// `% Incomplete command.`
    Incomplete,
    /// `% Ambiguous command:  "<line>"`
    Ambiguous,
    /// A one-line message, printed as is (it starts with `%`).
    Msg(String),
}

pub type Parsed<T> = Result<T, Fail>;

/// Exec keywords in user exec (privilege 1). Only some are implemented; the
/// rest exist so abbreviations are as (un)ambiguous as on a real router,
/// e.g. `dis` is ambiguous and `conf` fails at the `f` in user exec.
const USER_EXEC: &[&str] = &[
    "connect",
    "disable",
    "disconnect",
    "enable",
    "exit",
    "help",
    "logout",
    "ping",
    "quit",
    "show",
    "ssh",
    "telnet",
    "terminal",
    "traceroute",
];

/// Extra exec keywords at privilege 15.
const PRIV_EXEC: &[&str] = &[
    "clear",
    "clock",
    "configure",
    "copy",
    "debug",
    "delete",
    "dir",
    "erase",
    "more",
    "reload",
    "undebug",
    "verify",
    "write",
];

/// `show` keywords. Enough real ones that prefixes behave like IOS: `show fo`
/// still matches `format`, so `show foooooooo` fails at the third character.
const SHOW: &[&str] = &[
    "aaa",
    "access-lists",
    "arp",
    "archive",
    "boot",
    "cdp",
    "clock",
    "configuration",
    "controllers",
    "crypto",
    "debugging",
    "environment",
    "file",
    "flash:",
    "format",
    "history",
    "hosts",
    "interfaces",
    "inventory",
    "ip",
    "ipv6",
    "line",
    "logging",
    "memory",
    "ntp",
    "object-group",
    "parser",
    "privilege",
    "processes",
    "protocols",
    "running-config",
    "sessions",
    "snmp",
    "ssh",
    "startup-config",
    "tech-support",
    "terminal",
    "users",
    "version",
];

/// `show` keywords a privilege-1 user does not see.
const SHOW_PRIV_ONLY: &[&str] = &[
    "archive",
    "configuration",
    "file",
    "running-config",
    "startup-config",
    "tech-support",
];

const TERMINAL: &[&str] = &[
    "default",
    "editing",
    "escape-character",
    "exec-character-bits",
    "full-help",
    "history",
    "length",
    "monitor",
    "no",
    "width",
];

const COPY_SOURCES: &[&str] = &[
    "archive:",
    "flash:",
    "ftp:",
    "http:",
    "https:",
    "null:",
    "nvram:",
    "rcp:",
    "running-config",
    "scp:",
    "startup-config",
    "system:",
    "tftp:",
    "xmodem:",
    "ymodem:",
];

/// Global configuration keywords; as with exec, most are only there so that
/// abbreviations such as `en` (enable/end) stay ambiguous as on IOS.
const GLOBAL: &[&str] = &[
    "aaa",
    "access-list",
    "banner",
    "boot",
    "cdp",
    "clock",
    "crypto",
    "default",
    "do",
    "enable",
    "end",
    "exit",
    "hostname",
    "interface",
    "ip",
    "ipv6",
    "line",
    "logging",
    "no",
    "ntp",
    "object-group",
    "router",
    "service",
    "snmp-server",
    "username",
];

const GLOBAL_NO: &[&str] = &[
    "aaa",
    "access-list",
    "banner",
    "boot",
    "cdp",
    "crypto",
    "enable",
    "hostname",
    "interface",
    "ip",
    "ipv6",
    "logging",
    "ntp",
    "object-group",
    "router",
    "service",
    "snmp-server",
    "username",
];

const IP_GLOBAL: &[&str] = &[
    "access-list",
    "cef",
    "domain",
    "http",
    "name-server",
    "route",
    "routing",
    "ssh",
];

const GROUP_MODE: &[&str] = &[
    "any",
    "description",
    "exit",
    "group-object",
    "host",
    "no",
    "range",
];
const GROUP_NO: &[&str] = &["any", "description", "group-object", "host", "range"];

/// `(config-ipv6-object-group)#` keywords; an entry that is not `host X`
/// is a prefix, which starts with a hex digit or `:` (recognised by its `:`).
const V6_GROUP_MODE: &[&str] = &["description", "exit", "host", "no"];
const V6_GROUP_NO: &[&str] = &["description", "host"];

const V6_ACL_MODE: &[&str] = &[
    "default", "deny", "evaluate", "exit", "no", "permit", "remark", "sequence",
];
const V6_ACL_NO: &[&str] = &["deny", "evaluate", "permit", "remark", "sequence"];
const V6_ACL_PROTOCOLS: &[&str] = &[
    "ahp", "esp", "hbh", "icmp", "ipv6", "pcp", "sctp", "tcp", "udp",
];

const ACL_MODE: &[&str] = &[
    "default", "deny", "dynamic", "evaluate", "exit", "no", "permit", "remark",
];
const ACL_NO: &[&str] = &["deny", "dynamic", "evaluate", "permit", "remark"];
const ACL_PROTOCOLS: &[&str] = &[
    "ahp", "eigrp", "esp", "gre", "icmp", "igmp", "ip", "ipinip", "nos", "ospf", "pcp", "pim",
    "tcp", "udp",
];

const PIPE: &[&str] = &[
    "append", "begin", "count", "exclude", "format", "include", "redirect", "section", "tee",
];

/// The words of one input line with their byte offsets, consumed left to right.
pub struct Words<'a> {
    line: &'a str,
    words: Vec<(usize, &'a str)>,
    next: usize,
}

impl<'a> Words<'a> {
    pub fn new(line: &'a str) -> Self {
        let mut words = Vec::new();
        let mut start = None;
        for (i, c) in line.char_indices() {
            match (c.is_whitespace(), start) {
                (true, Some(s)) => {
                    words.push((s, &line[s..i]));
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
        if let Some(s) = start {
            words.push((s, &line[s..]));
        }
        Words {
            line,
            words,
            next: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Offset of the first word (where a caret goes when the command itself is unknown).
    pub fn first_offset(&self) -> usize {
        self.words.first().map_or(0, |w| w.0)
    }

    fn peek(&self) -> Option<(usize, &'a str)> {
        self.words.get(self.next).copied()
    }

    pub fn mark(&self) -> usize {
        self.next
    }

    pub fn reset(&mut self, mark: usize) {
        self.next = mark;
    }

    /// A required word of any content.
    pub fn word(&mut self) -> Parsed<(usize, &'a str)> {
        let w = self.peek().ok_or(Fail::Incomplete)?;
        self.next += 1;
        Ok(w)
    }

    /// The rest of the line from the next word on, as typed (e.g. a description).
    pub fn rest(&mut self) -> Parsed<&'a str> {
        let (at, _) = self.peek().ok_or(Fail::Incomplete)?;
        self.next = self.words.len();
        Ok(self.line[at..].trim_end())
    }

    /// The line must end here.
    pub fn done(&self) -> Parsed<()> {
        match self.peek() {
            Some((at, _)) => Err(Fail::Invalid(at)),
            None => Ok(()),
        }
    }

    /// A required keyword from `kws`, abbreviated as IOS allows.
    pub fn keyword(&mut self, kws: &[&'static str]) -> Parsed<&'static str> {
        let (at, w) = self.peek().ok_or(Fail::Incomplete)?;
        let kw = match_keyword(w, kws).map_err(|e| e.at(at))?;
        self.next += 1;
        Ok(kw)
    }

    /// An optional keyword: `None` at the end of the line.
    pub fn opt_keyword(&mut self, kws: &[&'static str]) -> Parsed<Option<&'static str>> {
        if self.peek().is_none() {
            return Ok(None);
        }
        self.keyword(kws).map(Some)
    }

    /// Like [`Words::opt_keyword`], but `|` also ends the command (an output filter follows).
    pub fn opt_keyword_before_pipe(
        &mut self,
        kws: &[&'static str],
    ) -> Parsed<Option<&'static str>> {
        match self.peek() {
            Some((_, "|")) => Ok(None),
            _ => self.opt_keyword(kws),
        }
    }

    pub fn ip(&mut self) -> Parsed<Ipv4Addr> {
        let (at, w) = self.word()?;
        w.parse().map_err(|_| Fail::Invalid(at))
    }

    /// A decimal number in `lo..=hi`; the caret goes under the first bad digit,
    /// or under the number when it is out of range.
    pub fn number(&mut self, lo: u32, hi: u32) -> Parsed<u32> {
        let (at, w) = self.word()?;
        if let Some(bad) = w.find(|c: char| !c.is_ascii_digit()) {
            return Err(Fail::Invalid(at + bad));
        }
        match w.parse::<u32>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => Err(Fail::Invalid(at)),
        }
    }

    /// The next word has a `:`: an IPv6 address or prefix, not a keyword.
    fn at_v6_address(&self) -> bool {
        self.peek().is_some_and(|(_, w)| w.contains(':'))
    }

    pub fn ipv6(&mut self) -> Parsed<Ipv6Addr> {
        let (at, w) = self.word()?;
        w.parse().map_err(|_| Fail::Invalid(at))
    }

    /// `X:X:X:X::X/<0-128>`: the caret goes under the length when only it is bad.
    pub fn ipv6_prefix(&mut self) -> Parsed<ipnet::Ipv6Net> {
        let (at, w) = self.word()?;
        let Some((addr, len)) = w.split_once('/') else {
            // An address without a length is the start of a prefix.
            return match w.parse::<Ipv6Addr>() {
                Ok(_) => Err(Fail::Incomplete),
                Err(_) => Err(Fail::Invalid(at)),
            };
        };
        let addr: Ipv6Addr = addr.parse().map_err(|_| Fail::Invalid(at))?;
        let len_at = at + w.len() - len.len();
        let len: u8 = len.parse().map_err(|_| Fail::Invalid(len_at))?;
        ipnet::Ipv6Net::new(addr, len).map_err(|_| Fail::Invalid(len_at))
    }

    fn starts_with_digit(&self) -> bool {
        self.peek()
            .is_some_and(|(_, w)| w.starts_with(|c: char| c.is_ascii_digit()))
    }
}

/// Where keyword matching failed, before it is placed in the line.
enum KwFail {
    /// The word stops matching any keyword after this many characters.
    NoMatch(usize),
    Ambiguous,
}

impl KwFail {
    fn at(self, word_offset: usize) -> Fail {
        match self {
            KwFail::NoMatch(n) => Fail::Invalid(word_offset + n),
            KwFail::Ambiguous => Fail::Ambiguous,
        }
    }
}

/// IOS abbreviation: an exact keyword wins, else a unique prefix. Case-insensitive.
fn match_keyword(word: &str, kws: &[&'static str]) -> Result<&'static str, KwFail> {
    let lower = word.to_ascii_lowercase();
    if let Some(kw) = kws.iter().find(|k| **k == lower) {
        return Ok(kw);
    }
    let mut found = kws.iter().filter(|k| k.starts_with(&lower));
    match (found.next(), found.next()) {
        (Some(kw), None) => Ok(kw),
        (Some(_), Some(_)) => Err(KwFail::Ambiguous),
        (None, _) => {
            let matched = kws
                .iter()
                .map(|k| common_prefix(k, &lower))
                .max()
                .unwrap_or(0);
            Err(KwFail::NoMatch(matched))
        }
    }
}

/// Length in bytes of the common prefix (whole characters only).
fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .take_while(|((_, x), y)| x == y)
        .map(|((i, x), _)| i + x.len_utf8())
        .last()
        .unwrap_or(0)
}

/// An output filter after `|`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Include(String),
    Exclude(String),
    Begin(String),
    Section(String),
    Count(String),
}

/// Which groups `show object-group` prints.
#[derive(Debug, Clone, PartialEq)]
pub enum Groups {
    All,
    /// `name X`: the group of either family with that name.
    Named(String),
    /// `network`: the IPv4 groups.
    V4,
    /// `v6-network` (IOS XE).
    V6,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Show {
    Version,
    /// `show object-group [name X | network | v6-network]`.
    ObjectGroups(Groups),
    RunningConfig,
    StartupConfig,
    AccessLists(Option<String>),
    Clock,
    Privilege,
    IpInterfaceBrief,
    /// A real `show` keyword the simulator does not model.
    Unsupported,
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    // exec
    Enable,
    Disable,
    Logout,
    TerminalLength(u32),
    TerminalWidth(u32),
    /// Accepted and ignored (e.g. `terminal monitor`).
    NoOp,
    Show(Show, Option<Filter>),
    ConfigureTerminal,
    /// `configure` alone: IOS asks where from.
    ConfigurePrompt,
    WriteMemory,
    WriteTerminal(Option<Filter>),
    CopyRunStart,
    Unsupported,
    // any configuration mode
    End,
    /// `exit` in a configuration mode: up one level.
    ExitMode,
    Do(Box<Cmd>),
    /// A global command typed in a sub-mode: leave the sub-mode, then run it.
    InParent(Box<Cmd>),
    // global configuration
    GroupEnter(String),
    GroupDelete(String),
    AclEnter(String),
    AclDelete(String),
    V6GroupEnter(String),
    V6GroupDelete(String),
    V6AclEnter(String),
    V6AclDelete(String),
    // (config-network-group)
    GroupEntry {
        no: bool,
        entry: Entry,
        /// Offset of the entry in the line, for a caret if it is refused.
        at: usize,
    },
    Description(Option<String>),
    // (config-ipv6-object-group)
    V6GroupEntry {
        no: bool,
        entry: V6Entry,
        /// Offset of the entry in the line, for a caret if it is refused.
        at: usize,
    },
    // (config-ext-nacl) and (config-ipv6-acl)
    AclLine {
        no: bool,
        /// Canonical text, e.g. `deny ip object-group X any`.
        line: String,
        /// Object-groups the line references (network, or v6-network in an IPv6 ACL).
        groups: Vec<String>,
    },
}

/// Exec mode grammar (also used by `do`); `xe`: the device runs IOS XE.
pub fn exec(w: &mut Words, privileged: bool, xe: bool) -> Parsed<Cmd> {
    let kws: Vec<&'static str> = if privileged {
        USER_EXEC.iter().chain(PRIV_EXEC).copied().collect()
    } else {
        USER_EXEC.to_vec()
    };
    let cmd = match w.keyword(&kws)? {
        "enable" => {
            // `enable <level>` exists; only the plain form is modelled.
            w.done()?;
            Cmd::Enable
        }
        "disable" => {
            w.done()?;
            Cmd::Disable
        }
        "exit" | "logout" | "quit" => {
            w.done()?;
            Cmd::Logout
        }
        "terminal" => match w.keyword(TERMINAL)? {
            "length" => {
                let n = w.number(0, 512)?;
                w.done()?;
                Cmd::TerminalLength(n)
            }
            "width" => {
                let n = w.number(0, 512)?;
                w.done()?;
                Cmd::TerminalWidth(n)
            }
            "monitor" => {
                w.done()?;
                Cmd::NoOp
            }
            _ => Cmd::Unsupported,
        },
        "show" => show(w, privileged, xe)?,
        "configure" => match w.opt_keyword(&[
            "confirm",
            "memory",
            "network",
            "overwrite-network",
            "replace",
            "revert",
            "terminal",
        ])? {
            None => Cmd::ConfigurePrompt,
            Some("terminal") => {
                w.done()?;
                Cmd::ConfigureTerminal
            }
            Some(_) => Cmd::Unsupported,
        },
        "write" => match w.opt_keyword(&["erase", "memory", "network", "terminal"])? {
            None | Some("memory") => {
                w.done()?;
                Cmd::WriteMemory
            }
            Some("terminal") => Cmd::WriteTerminal(pipe(w)?),
            Some(_) => Cmd::Unsupported,
        },
        "copy" => {
            let from = w.keyword(COPY_SOURCES)?;
            let to = w.keyword(COPY_SOURCES)?;
            w.done()?;
            match (from, to) {
                ("running-config", "startup-config") => Cmd::CopyRunStart,
                _ => Cmd::Unsupported,
            }
        }
        _ => Cmd::Unsupported,
    };
    Ok(cmd)
}

fn show(w: &mut Words, privileged: bool, xe: bool) -> Parsed<Cmd> {
    if w.peek().is_none() {
        // Real IOS answers a bare `show` with this rather than `% Incomplete command.`
        return Err(Fail::Msg(
            "% Type \"show ?\" for a list of subcommands".to_string(),
        ));
    }
    let kws: Vec<&'static str> = SHOW
        .iter()
        .filter(|k| privileged || !SHOW_PRIV_ONLY.contains(k))
        .copied()
        .collect();
    let what = match w.keyword(&kws)? {
        "version" => Show::Version,
        "object-group" => {
            let kws: &[&'static str] = if xe {
                &["name", "network", "service", "v6-network", "v6-service"]
            } else {
                &["name", "network", "service"]
            };
            Show::ObjectGroups(match w.opt_keyword_before_pipe(kws)? {
                None => Groups::All,
                Some("network") => Groups::V4,
                Some("v6-network") => Groups::V6,
                Some("name") => Groups::Named(w.word()?.1.to_string()),
                // No service groups are modelled, so `service` shows nothing, as a
                // name that matches no group does.
                _ => Groups::Named(String::new()),
            })
        }
        "running-config" => Show::RunningConfig,
        "startup-config" => Show::StartupConfig,
        "access-lists" => {
            let name = match w.peek() {
                Some((_, "|")) | None => None,
                Some((_, name)) => {
                    w.next += 1;
                    Some(name.to_string())
                }
            };
            Show::AccessLists(name)
        }
        "clock" => Show::Clock,
        "privilege" => Show::Privilege,
        "ip" => match w.keyword(&["access-lists", "arp", "interface", "route", "ssh"])? {
            "interface" => {
                w.keyword(&["brief"])?;
                Show::IpInterfaceBrief
            }
            _ => Show::Unsupported,
        },
        _ => Show::Unsupported,
    };
    if what == Show::Unsupported {
        return Ok(Cmd::Show(what, None));
    }
    Ok(Cmd::Show(what, pipe(w)?))
}

/// `| include REGEX` and friends, or the end of the line.
fn pipe(w: &mut Words) -> Parsed<Option<Filter>> {
    match w.peek() {
        None => return Ok(None),
        Some((_, "|")) => w.next += 1,
        Some((at, _)) => return Err(Fail::Invalid(at)),
    }
    let kind = w.keyword(PIPE)?;
    let pattern = w.rest()?.to_string();
    Ok(Some(match kind {
        "include" => Filter::Include(pattern),
        "exclude" => Filter::Exclude(pattern),
        "begin" => Filter::Begin(pattern),
        "section" => Filter::Section(pattern),
        "count" => Filter::Count(pattern),
        _ => return Err(Fail::Msg("% Not supported by this simulator".to_string())),
    }))
}

/// `object-group` types: classic IOS (15.x) has no `v6-network`, so there it
/// fails at the `v` with IOS's caret.
fn group_types(xe: bool) -> &'static [&'static str] {
    if xe {
        &["network", "v6-network"]
    } else {
        &["network"]
    }
}

/// `network|v6-network NAME` after `[no] object-group`: whether it is a v6
/// group, and its name.
fn group_header(w: &mut Words, xe: bool) -> Parsed<(bool, String)> {
    let kind = w.keyword(group_types(xe))?;
    let (_, name) = w.word()?;
    w.done()?;
    Ok((kind == "v6-network", name.to_string()))
}

/// `access-list NAME` after `[no] ipv6` (IOS XE); `None` for the other,
/// unmodelled `ipv6` commands.
fn ipv6_acl_name(w: &mut Words) -> Parsed<Option<String>> {
    if w.keyword(&["access-list", "route", "unicast-routing"])? != "access-list" {
        return Ok(None);
    }
    let (_, name) = w.word()?;
    w.done()?;
    Ok(Some(name.to_string()))
}

/// Global configuration grammar; `xe`: the device runs IOS XE.
pub fn global(w: &mut Words, xe: bool) -> Parsed<Cmd> {
    let cmd = match w.keyword(GLOBAL)? {
        "end" => {
            w.done()?;
            Cmd::End
        }
        "exit" => {
            w.done()?;
            Cmd::ExitMode
        }
        "do" => {
            let inner = exec(w, true, xe)?;
            match inner {
                // Mode changes are not allowed through `do`.
                Cmd::Enable | Cmd::Disable | Cmd::Logout | Cmd::ConfigureTerminal => {
                    return Err(Fail::Invalid(w.first_offset()));
                }
                _ => Cmd::Do(Box::new(inner)),
            }
        }
        "object-group" => match group_header(w, xe)? {
            (true, name) => Cmd::V6GroupEnter(name),
            (false, name) => Cmd::GroupEnter(name),
        },
        "ipv6" if xe => ipv6_acl_name(w)?.map_or(Cmd::Unsupported, Cmd::V6AclEnter),
        "ip" => match w.keyword(IP_GLOBAL)? {
            "access-list" => {
                w.keyword(&["extended"])?;
                let (_, name) = w.word()?;
                w.done()?;
                Cmd::AclEnter(name.to_string())
            }
            _ => Cmd::Unsupported,
        },
        "no" => match w.keyword(GLOBAL_NO)? {
            "object-group" => match group_header(w, xe)? {
                (true, name) => Cmd::V6GroupDelete(name),
                (false, name) => Cmd::GroupDelete(name),
            },
            "ipv6" if xe => ipv6_acl_name(w)?.map_or(Cmd::Unsupported, Cmd::V6AclDelete),
            "ip" => match w.keyword(IP_GLOBAL)? {
                "access-list" => {
                    w.keyword(&["extended"])?;
                    let (_, name) = w.word()?;
                    w.done()?;
                    Cmd::AclDelete(name.to_string())
                }
                _ => Cmd::Unsupported,
            },
            _ => Cmd::Unsupported,
        },
        _ => Cmd::Unsupported,
    };
    Ok(cmd)
}

/// A sub-mode line: its own grammar first; if that fails on an unknown
/// word, IOS tries the parent (global) grammar, and a success there leaves
/// the sub-mode. Of two failures, the one that got further is reported.
pub fn sub_mode(w: &mut Words, own: fn(&mut Words) -> Parsed<Cmd>, xe: bool) -> Parsed<Cmd> {
    let start = w.mark();
    let first = w.first_offset();
    match own(w) {
        Err(Fail::Invalid(mine)) => {
            w.reset(start);
            match global(w, xe) {
                Ok(cmd @ (Cmd::Do(_) | Cmd::End)) => Ok(cmd),
                // `host 2001:db8::zz` abbreviates no modelled global command
                // (`hostname`): the own grammar's caret, which got further, stands.
                Ok(Cmd::Unsupported) if mine > first => Err(Fail::Invalid(mine)),
                Ok(cmd) => Ok(Cmd::InParent(Box::new(cmd))),
                Err(Fail::Invalid(theirs)) => Err(Fail::Invalid(mine.max(theirs))),
                // The parent knew the command but it was incomplete/ambiguous.
                Err(e) if mine == first => Err(e),
                Err(_) => Err(Fail::Invalid(mine)),
            }
        }
        other => other,
    }
}

/// `(config-network-group)#` grammar.
pub fn group_line(w: &mut Words) -> Parsed<Cmd> {
    let mut no = false;
    if !w.starts_with_digit() {
        let mark = w.mark();
        match w.keyword(GROUP_MODE)? {
            "exit" => {
                w.done()?;
                return Ok(Cmd::ExitMode);
            }
            "no" => no = true,
            _ => w.reset(mark),
        }
    }
    if !w.starts_with_digit() {
        let mark = w.mark();
        if w.keyword(GROUP_NO)? == "description" {
            if no {
                // `no description [anything]`
                w.next = w.words.len();
                return Ok(Cmd::Description(None));
            }
            return Ok(Cmd::Description(Some(w.rest()?.to_string())));
        }
        w.reset(mark);
    }
    let at = w.peek().map_or(w.line.len(), |p| p.0);
    let entry = entry(w)?;
    w.done()?;
    Ok(Cmd::GroupEntry { no, entry, at })
}

/// One network object-group entry: `host A`, `A MASK`, `range A B`,
/// `group-object NAME`, `any`.
fn entry(w: &mut Words) -> Parsed<Entry> {
    if w.starts_with_digit() {
        let addr = w.ip()?;
        let (at, _) = w.peek().ok_or(Fail::Incomplete)?;
        let mask = w.ip()?;
        // A real mask: ones then zeros. A wildcard or a non-contiguous mask is refused.
        let bits = u32::from(mask);
        if bits.leading_ones() + bits.trailing_zeros() != 32 {
            return Err(Fail::Invalid(at));
        }
        return Ok(Entry::Network(addr, mask));
    }
    Ok(
        match w.keyword(&["any", "group-object", "host", "range"])? {
            "any" => Entry::Any,
            "host" => Entry::Host(w.ip()?),
            "range" => Entry::Range(w.ip()?, w.ip()?),
            _ => Entry::GroupObject(w.word()?.1.to_string()),
        },
    )
}

/// `(config-ipv6-object-group)#` grammar: `[no] host X:X:X:X::X`,
/// `[no] X:X:X:X::X/<0-128>`, `[no] description TEXT`, `exit`.
pub fn v6_group_line(w: &mut Words) -> Parsed<Cmd> {
    let mut no = false;
    if !w.at_v6_address() {
        let mark = w.mark();
        match w.keyword(V6_GROUP_MODE)? {
            "exit" => {
                w.done()?;
                return Ok(Cmd::ExitMode);
            }
            "no" => no = true,
            _ => w.reset(mark),
        }
    }
    let at = w.peek().map_or(w.line.len(), |p| p.0);
    let entry = if w.at_v6_address() {
        V6Entry::Prefix(w.ipv6_prefix()?)
    } else {
        if w.keyword(V6_GROUP_NO)? == "description" {
            if no {
                w.next = w.words.len();
                return Ok(Cmd::Description(None));
            }
            return Ok(Cmd::Description(Some(w.rest()?.to_string())));
        }
        V6Entry::Host(w.ipv6()?)
    };
    w.done()?;
    Ok(Cmd::V6GroupEntry { no, entry, at })
}

/// `(config-ipv6-acl)#` grammar: `[no] [sequence N] permit|deny PROTO SRC DST
/// [log]`, `remark TEXT`, `exit`; addresses are `any`, `host X`, `X/LEN` or
/// `object-group NAME`.
pub fn v6_acl_line(w: &mut Words) -> Parsed<Cmd> {
    let mut no = false;
    match w.keyword(V6_ACL_MODE)? {
        "exit" => {
            w.done()?;
            return Ok(Cmd::ExitMode);
        }
        "no" => no = true,
        "permit" | "deny" | "remark" | "sequence" => w.next -= 1,
        _ => return Ok(Cmd::Unsupported),
    }
    let mut action = w.keyword(V6_ACL_NO)?;
    if action == "sequence" {
        // Lines are kept in typed order regardless of their number.
        w.number(1, u32::MAX)?;
        action = w.keyword(&["deny", "permit", "remark"])?;
    }
    match action {
        "remark" => acl_remark(w, no),
        "permit" | "deny" => acl_rule(
            w,
            no,
            action,
            V6_ACL_PROTOCOLS,
            v6_acl_address,
            &["log", "log-input"],
        ),
        _ => Ok(Cmd::Unsupported),
    }
}

/// An IPv6 ACL address: `X/LEN`, `any`, `host X`, `object-group NAME`.
fn v6_acl_address(w: &mut Words, out: &mut Vec<String>, groups: &mut Vec<String>) -> Parsed<()> {
    if w.at_v6_address() {
        out.push(w.ipv6_prefix()?.to_string().to_uppercase());
        return Ok(());
    }
    match w.keyword(&["any", "host", "object-group"])? {
        "any" => out.push("any".to_string()),
        "host" => out.push(format!("host {}", w.ipv6()?.to_string().to_uppercase())),
        _ => {
            let (_, name) = w.word()?;
            out.push(format!("object-group {name}"));
            groups.push(name.to_string());
        }
    }
    Ok(())
}

/// `remark TEXT` in an ACL.
fn acl_remark(w: &mut Words, no: bool) -> Parsed<Cmd> {
    let text = w.rest()?;
    Ok(Cmd::AclLine {
        no,
        line: format!("remark {text}"),
        groups: Vec::new(),
    })
}

/// An address of an ACL line: appends its canonical text, and the group it names.
type AclAddress = fn(&mut Words, &mut Vec<String>, &mut Vec<String>) -> Parsed<()>;

/// `PROTO SRC [PORTS] DST [PORTS] [OPTIONS]` after `permit` or `deny`.
fn acl_rule(
    w: &mut Words,
    no: bool,
    action: &str,
    protocols: &[&'static str],
    address: AclAddress,
    options: &[&'static str],
) -> Parsed<Cmd> {
    let mut out = vec![action.to_string()];
    let mut groups = Vec::new();
    let proto = if w.starts_with_digit() {
        w.number(0, 255)?.to_string()
    } else {
        w.keyword(protocols)?.to_string()
    };
    let ports = proto == "tcp" || proto == "udp";
    out.push(proto);
    for _ in 0..2 {
        address(w, &mut out, &mut groups)?;
        if ports {
            acl_port(w, &mut out)?;
        }
    }
    while let Some(kw) = w.opt_keyword(options)? {
        out.push(kw.to_string());
    }
    Ok(Cmd::AclLine {
        no,
        line: out.join(" "),
        groups,
    })
}

/// `(config-ext-nacl)#` grammar: `[no] [SEQ] permit|deny PROTO SRC DST [log]`,
/// `remark TEXT`, `exit`.
pub fn acl_line(w: &mut Words) -> Parsed<Cmd> {
    let mut no = false;
    if !w.starts_with_digit() {
        match w.keyword(ACL_MODE)? {
            "exit" => {
                w.done()?;
                return Ok(Cmd::ExitMode);
            }
            "no" => no = true,
            "permit" | "deny" | "remark" => w.next -= 1,
            _ => return Ok(Cmd::Unsupported),
        }
    }
    // An optional sequence number; lines are kept in typed order regardless.
    if w.starts_with_digit() {
        w.number(1, 2_147_483_647)?;
    }
    let action = w.keyword(ACL_NO)?;
    match action {
        "remark" => acl_remark(w, no),
        "permit" | "deny" => acl_rule(
            w,
            no,
            action,
            ACL_PROTOCOLS,
            acl_address,
            &["established", "log", "log-input"],
        ),
        _ => Ok(Cmd::Unsupported),
    }
}

fn acl_address(w: &mut Words, out: &mut Vec<String>, groups: &mut Vec<String>) -> Parsed<()> {
    if w.starts_with_digit() {
        let addr = w.ip()?;
        let wildcard = w.ip()?;
        out.push(format!("{addr} {wildcard}"));
        return Ok(());
    }
    match w.keyword(&["any", "host", "object-group"])? {
        "any" => out.push("any".to_string()),
        "host" => out.push(format!("host {}", w.ip()?)),
        _ => {
            let (_, name) = w.word()?;
            out.push(format!("object-group {name}"));
            groups.push(name.to_string());
        }
    }
    Ok(())
}

/// An optional tcp/udp port match after an address.
fn acl_port(w: &mut Words, out: &mut Vec<String>) -> Parsed<()> {
    let mark = w.mark();
    let op = match w.peek() {
        Some((_, word)) => match match_keyword(word, &["eq", "gt", "lt", "neq", "range"]) {
            Ok(op) => op,
            Err(_) => return Ok(()),
        },
        None => return Ok(()),
    };
    w.reset(mark + 1);
    let first = w.word()?.1;
    if op == "range" {
        let second = w.word()?.1;
        out.push(format!("range {first} {second}"));
    } else {
        out.push(format!("{op} {first}"));
    }
    Ok(())
}

/// Network object-group names an ACL line references.
pub fn referenced_groups(line: &str) -> impl Iterator<Item = &str> {
    let mut words = line.split_whitespace();
    std::iter::from_fn(move || {
        loop {
            if words.next()? == "object-group" {
                return words.next();
            }
        }
    })
}
