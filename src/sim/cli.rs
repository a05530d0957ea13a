//! The IOS command line of one vty session: prompts, echo, enable, paging,
//! show and configuration commands, `%` errors with carets. Pure: bytes in,
//! bytes out, no I/O or clocks, so every dialogue is testable without SSH.
//!
//! Layouts (`\r\n` on the wire; those marked *chosen* are not in the captures):
//!
//! * Each completed line: its characters were echoed as typed, Enter prints
//!   `\r\n`, then the command's output, then the next prompt. An empty line
//!   prints `\r\n` and the prompt.
//! * Invalid input (capture): spaces up to the caret column (prompt length +
//!   offset in the line), `^`, `\r\n`, `% Invalid input detected at '^'
//!   marker.\r\n`, `\r\n`, prompt.
//! * `% Incomplete command.\r\n\r\n` then the prompt; `% Ambiguous command:
//!   "<line>"\r\n` then the prompt, without a blank line (IOS habit, *chosen*).
//!   A bare `show` answers `% Type "show ?" for a list of subcommands` (IOS).
//! * `enable` (*chosen* layout): `Password: `, the secret is not
//!   echoed; good → `\r\nHOST#`; wrong (tries 1-2) →
//!   `\r\n% Access denied\r\n\r\nPassword: `; wrong third time →
//!   `\r\n% Bad secrets\r\n\r\nHOST>`. No secret configured →
//!   `% No password set` (as IOS on a vty).
//! * Paging (*chosen*): a page is `length - 1` lines followed by ` --More-- `;
//!   each key then first erases it with 9 backspaces, 9 spaces, 9 backspaces.
//!   Space: next page; Enter: one more line; anything else: stop, prompt.
//!   Page keys are consumed, not echoed, and do not count as input lines.
//! * Ctrl-Z in a configuration mode prints `^Z\r\n` then `HOST#`; any text
//!   typed on that line is discarded (*chosen*). `end` prints nothing.
//! * `% Object-group X is being used` refuses deleting or emptying a group an
//!   ACL or another group references (*chosen*, unconfirmed wording).
//! * A refused `error_entries` line gets the invalid-input caret under the
//!   entry's first character; a full group (`max_group_entries`) answers
//!   `% Object-group X: maximum of N entries reached` (*chosen*).
//! * Commands and `show` keywords that exist on IOS but are not modelled are
//!   accepted by the parser (so abbreviations stay as ambiguous as on a real
//!   router) and answer `% Not supported by this simulator` (*chosen*).
//! * Addresses: `A.B.C.D M.M.M.M` needs a contiguous mask (a wildcard gets the
//!   caret under the mask); host bits set are kept as typed, and `range A B`
//!   is not checked for order (*chosen*, IOS behaviour unconfirmed).
//! * Removing an entry moves the group's last entry into its place (O(1) on
//!   30,000-entry groups); real IOS order after removals is unconfirmed.
//!
//! IOS XE (a version of 16.x or 17.x) also has `object-group v6-network`, as
//! issue 17 describes it; classic IOS refuses the keyword with the caret under
//! its `v`. What the sources do not say is *chosen*:
//!
//! * The sub-mode prompt is `HOST(config-ipv6-object-group)#` (*chosen*; real
//!   prompts may differ, clients accept any `HOST(config-…)#`); `ipv6
//!   access-list X` enters `HOST(config-ipv6-acl)#`.
//! * Entries are `host X:X::X` and `X:X::X/LEN`, kept as addresses (any case,
//!   compressed or not, are one entry) and shown in upper case, compressed.
//!   A prefix without its length is `% Incomplete command.` (*chosen*).
//! * A v6 group exists only while it has entries: entering a new one creates
//!   nothing until its first entry, and removing its last entry deletes it
//!   (the issue: "deleted automatically"). A description typed while it has
//!   no entries is dropped (*chosen*). Removing an absent entry is silently
//!   accepted, as for IPv4 groups.
//! * A v6 group an `ipv6 access-list` line uses cannot be deleted or lose its
//!   last entry: `% Object-group X is being used`, the IPv4 wording (*chosen*).
//! * Group names are one namespace: a name taken by the other type answers
//!   `% Object-group X already exists with a different type` (*chosen*).

mod parse;
mod show;
#[cfg(test)]
mod tests;

/// The `show object-group [name X]` renderer, for benchmarks that need the
/// exact text a (simulated) router prints.
pub use show::object_groups;

use super::device::{Acl, DeviceState, Entry, ObjectGroup, SharedState, V6Entry, V6Group};
use parse::{Cmd, Fail, Show, Words};
use std::collections::HashSet;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

/// The per-device processing cost the transport waits for (the cost model).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CostModel {
    /// Time to process one configuration line.
    pub line_cost: Duration,
    /// Extra time per configuration line inside a group, per 1,000 entries it holds.
    pub per_1000_entries: Duration,
}

/// Per-device behaviour of the CLI, fixed for the life of the fleet.
#[derive(Clone, Debug, Default)]
pub struct CliOptions {
    pub enable_secret: String,
    /// Log in directly at `HOST#` (a privilege-15 user).
    pub privileged_login: bool,
    pub cost: CostModel,
    /// Entry lines (normalised, e.g. `host 10.0.0.5`) that are refused with a `%` error.
    pub error_entries: HashSet<String>,
    /// Most entries a network object-group may hold.
    pub max_group_entries: Option<usize>,
    /// Inject an asynchronous syslog line after every N input lines.
    pub syslog_every: Option<u32>,
    /// Printed instead of IOS's message when an `error_entries` line is refused.
    pub error_text: Option<String>,
    /// Echo the enable secret as it is typed (IOS does not).
    pub echo_secret: bool,
    /// Refuse `configure terminal`: another session holds the lock.
    pub config_locked: bool,
    /// IOS XE without IPv6 object groups: parse as classic IOS does.
    pub no_v6_groups: bool,
}

/// What one call to [`Cli::input`] produced.
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    /// Bytes to send to the client (echo, output, prompts), `\r\n` line endings.
    pub output: Vec<u8>,
    /// Input lines completed by this call (Enter pressed).
    pub lines: u32,
    /// Processing time the device spends on them, per the cost model.
    pub cost: Duration,
    /// The session ended (`exit`/`logout` in exec mode).
    pub close: bool,
}

/// Where the session is in IOS's mode tree.
#[derive(Clone, Debug, PartialEq)]
enum Mode {
    UserExec,
    PrivExec,
    Config,
    /// `(config-network-group)#`, editing this group.
    Group(String),
    /// `(config-ext-nacl)#`, editing this ACL.
    Acl(String),
    /// `(config-ipv6-object-group)#`, editing this v6-network group (IOS XE).
    V6Group(String),
    /// `(config-ipv6-acl)#`, editing this IPv6 ACL (IOS XE).
    V6Acl(String),
}

impl Mode {
    fn is_config(&self) -> bool {
        !matches!(self, Mode::UserExec | Mode::PrivExec)
    }
}

/// What the next completed line answers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Awaiting {
    Command,
    /// The enable secret, after this many wrong tries.
    Password {
        failed: u8,
    },
    /// `Destination filename [startup-config]? ` of `copy run start`.
    CopyDestination,
    /// `Configuring from terminal, memory, or network [terminal]? `
    ConfigureSource,
}

/// Output held back at ` --More-- `.
struct Pager {
    text: String,
    pos: usize,
}

const MORE: &[u8] = b" --More-- ";
/// Erases ` --More-- ` before the output goes on.
const MORE_ERASE: &[u8] =
    b"\x08\x08\x08\x08\x08\x08\x08\x08\x08         \x08\x08\x08\x08\x08\x08\x08\x08\x08";
const UNSUPPORTED: &str = "% Not supported by this simulator";
const CONFIG_BANNER: &str = "Enter configuration commands, one per line.  End with CNTL/Z.\n";

/// IOS's answer to `configure terminal` while another session holds the
/// exclusive configuration lock (no `%`).
const CONFIG_LOCKED: &str = "Configuration mode is locked by process '212' user 'ops' from terminal '3'. Please try later.\n";

/// One vty session's CLI.
pub struct Cli {
    state: SharedState,
    options: Arc<CliOptions>,
    mode: Mode,
    awaiting: Awaiting,
    /// The partial line typed so far.
    line: Vec<u8>,
    /// The last byte was `\r`: a `\n` right after it is the same Enter,
    /// even when it arrives in the next call.
    after_cr: bool,
    /// `terminal length`: 0 turns paging off. A vty starts at 24.
    term_length: u32,
    /// `terminal width`: kept, not used (long lines are not scrolled).
    term_width: u32,
    pager: Option<Pager>,
    lines_seen: u64,
    syslog_due: bool,
    syslogs_sent: u32,
    closed: bool,
}

impl Cli {
    pub fn new(state: SharedState, options: Arc<CliOptions>) -> Self {
        let mode = if options.privileged_login {
            Mode::PrivExec
        } else {
            Mode::UserExec
        };
        Cli {
            state,
            options,
            mode,
            awaiting: Awaiting::Command,
            line: Vec::new(),
            after_cr: false,
            term_length: 24,
            term_width: 80,
            pager: None,
            lines_seen: 0,
            syslog_due: false,
            syslogs_sent: 0,
            closed: false,
        }
    }

    /// What the router prints when the shell opens.
    pub fn greeting(&mut self) -> Vec<u8> {
        let state = Arc::clone(&self.state);
        let dev = state.lock().unwrap_or_else(PoisonError::into_inner);
        format!("\r\n{}", self.prompt(&dev)).into_bytes()
    }

    /// Feed bytes the client typed.
    pub fn input(&mut self, data: &[u8]) -> Step {
        let mut step = Step::default();
        if self.closed {
            return step;
        }
        let state = Arc::clone(&self.state);
        let mut dev = state.lock().unwrap_or_else(PoisonError::into_inner);
        for &b in data {
            if std::mem::take(&mut self.after_cr) && b == b'\n' {
                continue;
            }
            self.after_cr = b == b'\r';
            if self.pager.is_some() {
                self.page_key(b, &dev, &mut step.output);
                continue;
            }
            let echo =
                self.options.echo_secret || !matches!(self.awaiting, Awaiting::Password { .. });
            match b {
                b'\r' | b'\n' => {
                    step.lines += 1;
                    self.enter(&mut dev, &mut step);
                    if step.close {
                        break;
                    }
                }
                0x1a => self.ctrl_z(&dev, &mut step.output),
                0x08 | 0x7f => {
                    if self.line.pop().is_some() && echo {
                        step.output.extend_from_slice(b"\x08 \x08");
                    }
                }
                0 => {}
                _ => {
                    self.line.push(b);
                    if echo {
                        step.output.push(b);
                    }
                }
            }
        }
        step
    }

    /// True while the session is in any configuration mode.
    pub fn in_config_mode(&self) -> bool {
        self.mode.is_config()
    }

    fn prompt(&self, dev: &DeviceState) -> String {
        let host = &dev.hostname;
        match &self.mode {
            Mode::UserExec => format!("{host}>"),
            Mode::PrivExec => format!("{host}#"),
            Mode::Config => format!("{host}(config)#"),
            Mode::Group(_) => format!("{host}(config-network-group)#"),
            Mode::Acl(_) => format!("{host}(config-ext-nacl)#"),
            Mode::V6Group(_) => format!("{host}(config-ipv6-object-group)#"),
            Mode::V6Acl(_) => format!("{host}(config-ipv6-acl)#"),
        }
    }

    /// Print the prompt, then any syslog line that fell due, reprinting the
    /// prompt after it as `logging synchronous` does.
    fn prompt_out(&mut self, dev: &DeviceState, out: &mut Vec<u8>) {
        let prompt = self.prompt(dev);
        out.extend_from_slice(prompt.as_bytes());
        if std::mem::take(&mut self.syslog_due) {
            let msg = self.syslog_line();
            out.extend_from_slice(format!("\r\n{msg}\r\n{prompt}").as_bytes());
        }
    }

    /// A varied, plausible asynchronous log message.
    fn syslog_line(&mut self) -> String {
        self.syslogs_sent += 1;
        let k = self.syslogs_sent;
        let secs = 62 + 17 * k;
        let ms = (345 + 211 * k) % 1000;
        let msg = if k % 2 == 1 {
            "%SYS-5-CONFIG_I: Configured from console by vty0 (127.0.0.1)"
        } else {
            "%LINEPROTO-5-UPDOWN: Line protocol on Interface GigabitEthernet0/1, changed state to up"
        };
        format!(
            "*Mar  1 {:02}:{:02}:{:02}.{ms:03}: {msg}",
            secs / 3600 % 24,
            secs / 60 % 60,
            secs % 60
        )
    }

    /// Enter pressed: answer the completed line.
    fn enter(&mut self, dev: &mut DeviceState, step: &mut Step) {
        let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
        self.lines_seen += 1;
        if let Some(n) = self.options.syslog_every.filter(|n| *n > 0) {
            self.syslog_due |= self.lines_seen.is_multiple_of(u64::from(n));
        }
        step.output.extend_from_slice(b"\r\n");
        let mut text = String::new();
        match self.awaiting {
            Awaiting::Command => {
                step.cost += self.line_cost(dev);
                let prompt_len = self.prompt(dev).chars().count();
                if let Err(fail) = self.command(&line, dev, &mut text) {
                    render_fail(&fail, &line, prompt_len, &mut text);
                }
            }
            Awaiting::Password { failed } => {
                dev.stats.enable_attempts += 1;
                self.awaiting = Awaiting::Command;
                if line == self.options.enable_secret {
                    self.mode = Mode::PrivExec;
                } else if failed < 2 {
                    text.push_str("% Access denied\n\nPassword: ");
                    self.awaiting = Awaiting::Password { failed: failed + 1 };
                } else {
                    text.push_str("% Bad secrets\n\n");
                }
            }
            Awaiting::CopyDestination => {
                self.awaiting = Awaiting::Command;
                match line.trim() {
                    "" | "startup-config" | "nvram:startup-config" => save(dev, &mut text),
                    _ => text.push_str(UNSUPPORTED),
                }
            }
            Awaiting::ConfigureSource => {
                self.awaiting = Awaiting::Command;
                let answer = line.trim().to_ascii_lowercase();
                if "terminal".starts_with(&answer) {
                    text.push_str(CONFIG_BANNER);
                    self.mode = Mode::Config;
                } else if "memory".starts_with(&answer) || "network".starts_with(&answer) {
                    text.push_str(UNSUPPORTED);
                    text.push('\n');
                } else {
                    text.push_str("?Must be \"terminal\", \"memory\" or \"network\"\n");
                }
            }
        }
        if self.closed {
            step.output.extend_from_slice(crlf(&text).as_bytes());
            step.close = true;
        } else if self.awaiting != Awaiting::Command {
            // A question is waiting for its answer: it stands in for the prompt.
            step.output.extend_from_slice(crlf(&text).as_bytes());
        } else {
            self.show_text(text, dev, &mut step.output);
        }
    }

    /// The cost model's time for a line processed in the current mode.
    fn line_cost(&self, dev: &DeviceState) -> Duration {
        let cost = self.options.cost;
        match &self.mode {
            Mode::Group(name) => {
                let n = group(dev, name).map_or(0, |g| g.entries.len());
                cost.line_cost + cost.per_1000_entries.mul_f64(n as f64 / 1000.0)
            }
            Mode::V6Group(name) => {
                let n = dev.v6_group(name).map_or(0, |g| g.entries.len());
                cost.line_cost + cost.per_1000_entries.mul_f64(n as f64 / 1000.0)
            }
            m if m.is_config() => cost.line_cost,
            _ => Duration::ZERO,
        }
    }

    fn ctrl_z(&mut self, dev: &DeviceState, out: &mut Vec<u8>) {
        if self.awaiting != Awaiting::Command || !self.mode.is_config() {
            return;
        }
        self.line.clear();
        self.mode = Mode::PrivExec;
        out.extend_from_slice(b"^Z\r\n");
        self.prompt_out(dev, out);
    }

    /// Send command output, pausing at ` --More-- ` when it is longer than a page.
    fn show_text(&mut self, text: String, dev: &DeviceState, out: &mut Vec<u8>) {
        let page = self.page_lines();
        if self.term_length == 0 || text.lines().nth(page).is_none() {
            out.extend_from_slice(crlf(&text).as_bytes());
            self.prompt_out(dev, out);
            return;
        }
        self.pager = Some(Pager { text, pos: 0 });
        self.next_page(page, dev, out);
    }

    fn page_lines(&self) -> usize {
        (self.term_length as usize).saturating_sub(1).max(1)
    }

    /// Send up to `n` more held-back lines, then ` --More-- ` or the prompt.
    fn next_page(&mut self, n: usize, dev: &DeviceState, out: &mut Vec<u8>) {
        let Some(pager) = &mut self.pager else {
            return;
        };
        let rest = &pager.text[pager.pos..];
        let end = rest
            .match_indices('\n')
            .nth(n - 1)
            .map_or(rest.len(), |(i, _)| i + 1);
        out.extend_from_slice(crlf(&rest[..end]).as_bytes());
        pager.pos += end;
        if pager.pos < pager.text.len() {
            out.extend_from_slice(MORE);
        } else {
            self.pager = None;
            self.prompt_out(dev, out);
        }
    }

    /// A key typed at ` --More-- `.
    fn page_key(&mut self, key: u8, dev: &DeviceState, out: &mut Vec<u8>) {
        out.extend_from_slice(MORE_ERASE);
        match key {
            b' ' => self.next_page(self.page_lines(), dev, out),
            b'\r' | b'\n' => self.next_page(1, dev, out),
            _ => {
                self.pager = None;
                self.prompt_out(dev, out);
            }
        }
    }

    /// Parse and run one command line; its output goes to `text` (`\n` endings).
    fn command(
        &mut self,
        line: &str,
        dev: &mut DeviceState,
        text: &mut String,
    ) -> Result<(), Fail> {
        let mut words = Words::new(line);
        if words.is_empty() {
            return Ok(());
        }
        let xe = dev.is_ios_xe() && !self.options.no_v6_groups;
        let cmd = match &self.mode {
            Mode::UserExec => parse::exec(&mut words, false, xe),
            Mode::PrivExec => parse::exec(&mut words, true, xe),
            Mode::Config => parse::global(&mut words, xe),
            Mode::Group(_) => parse::sub_mode(&mut words, parse::group_line, xe),
            Mode::Acl(_) => parse::sub_mode(&mut words, parse::acl_line, xe),
            Mode::V6Group(_) => parse::sub_mode(&mut words, parse::v6_group_line, xe),
            Mode::V6Acl(_) => parse::sub_mode(&mut words, parse::v6_acl_line, xe),
        }?;
        self.run(cmd, dev, text)
    }

    fn run(&mut self, cmd: Cmd, dev: &mut DeviceState, text: &mut String) -> Result<(), Fail> {
        match cmd {
            Cmd::NoOp => {}
            Cmd::Enable => {
                if self.mode == Mode::UserExec {
                    if self.options.enable_secret.is_empty() {
                        return Err(Fail::Msg("% No password set".to_string()));
                    }
                    text.push_str("Password: ");
                    self.awaiting = Awaiting::Password { failed: 0 };
                }
            }
            Cmd::Disable => {
                if self.mode == Mode::PrivExec {
                    self.mode = Mode::UserExec;
                }
            }
            Cmd::Logout => self.closed = true,
            Cmd::TerminalLength(n) => self.term_length = n,
            Cmd::TerminalWidth(n) => self.term_width = n,
            Cmd::Show(what, filter) => {
                let out = render_show(&what, &self.mode, dev);
                match filter {
                    Some(f) => text.push_str(&show::filter(&out, &f)),
                    None => text.push_str(&out),
                }
            }
            Cmd::WriteTerminal(filter) => {
                let out = show::running_config(dev);
                match filter {
                    Some(f) => text.push_str(&show::filter(&out, &f)),
                    None => text.push_str(&out),
                }
            }
            Cmd::ConfigureTerminal if self.options.config_locked => {
                text.push_str(CONFIG_LOCKED);
            }
            Cmd::ConfigureTerminal => {
                text.push_str(CONFIG_BANNER);
                self.mode = Mode::Config;
            }
            Cmd::ConfigurePrompt => {
                text.push_str("Configuring from terminal, memory, or network [terminal]? ");
                self.awaiting = Awaiting::ConfigureSource;
            }
            Cmd::WriteMemory => save(dev, text),
            Cmd::CopyRunStart => {
                text.push_str("Destination filename [startup-config]? ");
                self.awaiting = Awaiting::CopyDestination;
            }
            Cmd::Unsupported => return Err(Fail::Msg(UNSUPPORTED.to_string())),
            Cmd::End => self.mode = Mode::PrivExec,
            Cmd::ExitMode => {
                self.mode = match self.mode {
                    Mode::Config => Mode::PrivExec,
                    Mode::Group(_) | Mode::Acl(_) | Mode::V6Group(_) | Mode::V6Acl(_) => {
                        Mode::Config
                    }
                    ref other => other.clone(),
                }
            }
            Cmd::Do(inner) => return self.run(*inner, dev, text),
            Cmd::InParent(inner) => {
                self.mode = Mode::Config;
                return self.run(*inner, dev, text);
            }
            Cmd::GroupEnter(name) => {
                if dev.v6_group(&name).is_some() {
                    return Err(other_type(&name));
                }
                if group(dev, &name).is_none() {
                    dev.running.groups.push(ObjectGroup {
                        name: name.clone(),
                        ..ObjectGroup::default()
                    });
                }
                self.mode = Mode::Group(name);
            }
            Cmd::GroupDelete(name) => {
                if in_use(dev, &name) {
                    return Err(being_used(&name));
                }
                dev.running.groups.retain(|g| g.name != name);
            }
            Cmd::AclEnter(name) => {
                acl_entered(&mut dev.running.acls, &name);
                self.mode = Mode::Acl(name);
            }
            Cmd::AclDelete(name) => dev.running.acls.retain(|a| a.name != name),
            Cmd::V6GroupEnter(name) => {
                if group(dev, &name).is_some() {
                    return Err(other_type(&name));
                }
                // Created by its first entry: IOS XE keeps no empty v6 group.
                self.mode = Mode::V6Group(name);
            }
            Cmd::V6GroupDelete(name) => {
                if v6_in_use(dev, &name) {
                    return Err(being_used(&name));
                }
                dev.running.v6_groups.retain(|g| g.name != name);
            }
            Cmd::V6AclEnter(name) => {
                acl_entered(&mut dev.running.v6_acls, &name);
                self.mode = Mode::V6Acl(name);
            }
            Cmd::V6AclDelete(name) => dev.running.v6_acls.retain(|a| a.name != name),
            Cmd::V6GroupEntry { no, entry, at } => self.v6_group_entry(dev, no, entry, at)?,
            Cmd::GroupEntry { no, entry, at } => self.group_entry(dev, no, entry, at)?,
            Cmd::Description(text) => match &self.mode {
                Mode::Group(name) => {
                    if let Some(g) = group_mut(dev, name) {
                        g.description = text;
                    }
                }
                Mode::V6Group(name) => {
                    if let Some(g) = v6_group_mut(dev, name) {
                        g.description = text;
                    }
                }
                _ => {}
            },
            Cmd::AclLine { no, line, groups } => self.acl_line(dev, no, line, &groups)?,
        }
        Ok(())
    }

    /// Add or remove one entry of the group being edited.
    fn group_entry(
        &self,
        dev: &mut DeviceState,
        no: bool,
        entry: Entry,
        at: usize,
    ) -> Result<(), Fail> {
        let Mode::Group(name) = &self.mode else {
            return Ok(());
        };
        if no {
            let Some(g) = group(dev, name) else {
                return Ok(());
            };
            if !g.entries.contains(&entry) {
                return Ok(());
            }
            if g.entries.len() == 1 && in_use(dev, name) {
                return Err(being_used(name));
            }
            if let Some(g) = group_mut(dev, name) {
                g.entries.swap_remove(&entry);
            }
            return Ok(());
        }
        if let Entry::GroupObject(child) = &entry
            && (child == name || group(dev, child).is_none())
        {
            return Err(Fail::Msg(format!("% Object-group {child} does not exist")));
        }
        self.check_error_entry(&entry.to_string(), at)?;
        let max = self.options.max_group_entries;
        // The group may have been deleted by another session meanwhile; IOS
        // would keep editing a detached group, the simulator just drops the line.
        let Some(g) = group_mut(dev, name) else {
            return Ok(());
        };
        if g.entries.contains(&entry) {
            return Ok(());
        }
        if let Some(max) = max.filter(|m| g.entries.len() >= *m) {
            return Err(Fail::Msg(format!(
                "% Object-group {name}: maximum of {max} entries reached"
            )));
        }
        g.entries.insert(entry);
        Ok(())
    }

    /// Add or remove one entry of the v6-network group being edited; the
    /// group appears with its first entry and goes with its last.
    fn v6_group_entry(
        &self,
        dev: &mut DeviceState,
        no: bool,
        entry: V6Entry,
        at: usize,
    ) -> Result<(), Fail> {
        let Mode::V6Group(name) = &self.mode else {
            return Ok(());
        };
        if no {
            let Some(g) = dev.v6_group(name) else {
                return Ok(());
            };
            if !g.entries.contains(&entry) {
                return Ok(());
            }
            if g.entries.len() == 1 && v6_in_use(dev, name) {
                return Err(being_used(name));
            }
            if let Some(g) = v6_group_mut(dev, name) {
                g.entries.swap_remove(&entry);
            }
            dev.running.v6_groups.retain(|g| !g.entries.is_empty());
            return Ok(());
        }
        self.check_error_entry(&entry.to_string(), at)?;
        if group(dev, name).is_some() {
            // Another session created an IPv4 group of this name meanwhile.
            return Err(other_type(name));
        }
        let held = dev
            .v6_group(name)
            .map(|g| (g.entries.len(), g.entries.contains(&entry)));
        if let Some((_, true)) = held {
            return Ok(());
        }
        let len = held.map_or(0, |(n, _)| n);
        if let Some(max) = self.options.max_group_entries.filter(|m| len >= *m) {
            return Err(Fail::Msg(format!(
                "% Object-group {name}: maximum of {max} entries reached"
            )));
        }
        match v6_group_mut(dev, name) {
            Some(g) => {
                g.entries.insert(entry);
            }
            None => dev.running.v6_groups.push(V6Group {
                name: name.clone(),
                description: None,
                entries: [entry].into_iter().collect(),
            }),
        }
        Ok(())
    }

    /// The `error_entries` fault: refuse this (normalised) entry line.
    fn check_error_entry(&self, entry: &str, at: usize) -> Result<(), Fail> {
        if !self.options.error_entries.is_empty() && self.options.error_entries.contains(entry) {
            return Err(match &self.options.error_text {
                Some(text) => Fail::Msg(text.clone()),
                None => Fail::Invalid(at),
            });
        }
        Ok(())
    }

    /// Add or remove one line of the ACL being edited (IPv4, or IPv6 whose
    /// lines use v6-network groups).
    fn acl_line(
        &self,
        dev: &mut DeviceState,
        no: bool,
        line: String,
        groups: &[String],
    ) -> Result<(), Fail> {
        let (name, v6) = match &self.mode {
            Mode::Acl(name) => (name, false),
            Mode::V6Acl(name) => (name, true),
            _ => return Ok(()),
        };
        let exists = |g: &str| {
            if v6 {
                dev.v6_group(g).is_some()
            } else {
                group(dev, g).is_some()
            }
        };
        if !no && let Some(missing) = groups.iter().find(|g| !exists(g)) {
            return Err(Fail::Msg(format!(
                "% Object-group {missing} does not exist"
            )));
        }
        let acls = if v6 {
            &mut dev.running.v6_acls
        } else {
            &mut dev.running.acls
        };
        let Some(acl) = acls.iter_mut().find(|a| a.name == *name) else {
            return Ok(());
        };
        let present = acl.lines.iter().position(|l| *l == line);
        match (no, present) {
            (true, Some(i)) => {
                acl.lines.remove(i);
            }
            (false, None) => acl.lines.push(line),
            _ => {}
        }
        Ok(())
    }
}

/// Entering an ACL's mode creates it when absent.
fn acl_entered(acls: &mut Vec<Acl>, name: &str) {
    if !acls.iter().any(|a| a.name == name) {
        acls.push(Acl {
            name: name.to_string(),
            lines: Vec::new(),
        });
    }
}

/// A group an ACL (or another group) uses cannot be deleted or emptied.
fn being_used(name: &str) -> Fail {
    Fail::Msg(format!("% Object-group {name} is being used"))
}

fn v6_group_mut<'a>(dev: &'a mut DeviceState, name: &str) -> Option<&'a mut V6Group> {
    dev.running.v6_groups.iter_mut().find(|g| g.name == name)
}

/// Whether an IPv6 ACL line refers to the v6 group.
fn v6_in_use(dev: &DeviceState, name: &str) -> bool {
    dev.running
        .v6_acls
        .iter()
        .flat_map(|a| &a.lines)
        .any(|l| parse::referenced_groups(l).any(|g| g == name))
}

/// A group name already taken by a group of the other type.
fn other_type(name: &str) -> Fail {
    Fail::Msg(format!(
        "% Object-group {name} already exists with a different type"
    ))
}

fn group<'a>(dev: &'a DeviceState, name: &str) -> Option<&'a ObjectGroup> {
    dev.group(name)
}

fn group_mut<'a>(dev: &'a mut DeviceState, name: &str) -> Option<&'a mut ObjectGroup> {
    dev.running.groups.iter_mut().find(|g| g.name == name)
}

/// Whether an ACL line or another group refers to the group.
fn in_use(dev: &DeviceState, name: &str) -> bool {
    let by_acl = dev
        .running
        .acls
        .iter()
        .flat_map(|a| &a.lines)
        .any(|l| parse::referenced_groups(l).any(|g| g == name));
    let nested = Entry::GroupObject(name.to_string());
    by_acl
        || dev
            .running
            .groups
            .iter()
            .any(|g| g.entries.contains(&nested))
}

/// `write memory` and `copy run start`.
fn save(dev: &mut DeviceState, text: &mut String) {
    dev.startup = dev.running.clone();
    text.push_str("Building configuration...\n[OK]\n");
}

fn render_show(what: &Show, mode: &Mode, dev: &DeviceState) -> String {
    match what {
        Show::Version => show::version(dev),
        Show::ObjectGroups(which) => show::groups(&dev.running, which),
        Show::RunningConfig => show::running_config(dev),
        Show::StartupConfig => show::startup_config(dev),
        Show::AccessLists(name) => show::access_lists(&dev.running, name.as_deref()),
        Show::Clock => "*00:01:02.345 UTC Mon Mar 1 1993\n".to_string(),
        Show::Privilege => {
            let level = if *mode == Mode::UserExec { 1 } else { 15 };
            format!("Current privilege level is {level}\n")
        }
        Show::IpInterfaceBrief => show::IP_INTERFACE_BRIEF.to_string(),
        Show::Unsupported => format!("{UNSUPPORTED}\n"),
    }
}

/// A refused line, in IOS's layouts (see the module docs).
fn render_fail(fail: &Fail, line: &str, prompt_len: usize, text: &mut String) {
    match fail {
        Fail::Invalid(at) => {
            let col = prompt_len + line.get(..*at).map_or(0, |s| s.chars().count());
            text.push_str(&" ".repeat(col));
            text.push_str("^\n% Invalid input detected at '^' marker.\n\n");
        }
        Fail::Incomplete => text.push_str("% Incomplete command.\n\n"),
        Fail::Ambiguous => {
            text.push_str(&format!("% Ambiguous command:  \"{}\"\n", line.trim()));
        }
        Fail::Msg(msg) => {
            text.push_str(msg);
            text.push('\n');
        }
    }
}

/// `\n` → `\r\n` for the wire.
fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}
