//! Command-line definitions (clap derive) and logging set-up. Only
//! subcommands that work are listed here.

use clap::{Args, Parser, Subcommand};
use std::net::IpAddr;
use std::path::PathBuf;

use crate::files::Output;

#[derive(Debug, Parser)]
#[command(
    name = "tsfleet",
    version,
    about = "Keep ThreatSTOP IP block and allow lists in sync on a fleet of Cisco IOS routers",
    long_about = concat!(
        "Keep ThreatSTOP IP block and allow lists in sync on a fleet of Cisco IOS routers.\n\n\
        The lists are published over DNS; each router holds them as network object-groups \
        that its ACLs reference. tsfleet resolves every list once, connects to the routers \
        over SSH, pushes only the difference and reports per device.\n\n\
        Start with `tsfleet demo` (no routers needed), then `tsfleet init`, `tsfleet import-conf` or `tsfleet import-inventory`.\n\n\
        A FILE argument given as `-` means stdout; the table then goes to stderr.\n\n",
        crate::error::exit_codes_help!()
    )
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors (and security warnings, such as a secret file others can read).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// See tsfleet work: a simulated fleet and a local list server, then plan, apply and plan again.
    Demo(DemoArgs),
    /// Connect to every device, read its groups and show what `apply` would change (changes nothing).
    Plan(PlanArgs),
    /// Push the changes to every device: add, remove, verify, save.
    Apply(ApplyArgs),
    /// Preflight every device, changing nothing: reachability, SSH algorithms, host key, login,
    /// enable, IOS release, whether IPv6 object groups are available (IOS XE), whether the
    /// groups exist and whether an ACL uses them.
    Check(CheckArgs),
    /// Back to the state before tsfleet: delete its groups, IPv4 and IPv6 (a device whose ACLs still use them is left untouched).
    Remove(RemoveArgs),
    /// Work with run reports (merge the reports of sharded runs).
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Resolve every list the inventory's policies name over DNS, once, into a snapshot.
    Resolve(ResolveArgs),
    /// Run a simulated fleet of IOS routers over SSH (for tests, demos and benchmarks).
    Sim(SimArgs),
    /// Check an inventory, or show each device's effective settings.
    Inventory {
        #[command(subcommand)]
        command: InventoryCommand,
    },
    /// Print the IOS ACL that makes each device's groups effective, to paste by hand.
    Acl(AclArgs),
    /// Turn threatstop.conf files of the single-router script into one inventory.
    ImportConf(ImportConfArgs),
    /// Turn a Nornir or Ansible inventory into a tsfleet inventory (secrets become env references).
    ImportInventory(ImportInventoryArgs),
    /// Write a commented starter inventory (asks the original setup's questions on a terminal).
    Init(InitArgs),
    /// The routers' syslog: upload each device's new lines to its policy's log_upload URL.
    Logs {
        #[command(subcommand)]
        command: LogsCommand,
    },
    /// Print the shell completion script for bash, zsh, fish or PowerShell.
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command and subcommand into a folder.
    Man(ManArgs),
}

/// `tsfleet completions`.
#[derive(Debug, Args)]
#[command(
    after_help = "Where each shell looks (open a new shell afterwards):\n  \
    tsfleet completions bash > ~/.local/share/bash-completion/completions/tsfleet\n  \
    tsfleet completions zsh > ~/.zfunc/_tsfleet\n  \
    tsfleet completions fish > ~/.config/fish/completions/tsfleet.fish\n  \
    tsfleet completions powershell >> $PROFILE\n\n\
    For zsh, ~/.zshrc needs fpath+=~/.zfunc before its compinit."
)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `tsfleet man`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    tsfleet man | man -l -\n  \
    tsfleet man --dir ~/.cargo/share/man/man1   # then: man tsfleet-plan\n\n\
    man finds ~/.cargo/share/man when ~/.cargo/bin is on the PATH.")]
pub struct ManArgs {
    /// Write tsfleet.1, tsfleet-plan.1, tsfleet-report-merge.1, ... into DIR
    /// (created, mode 0755, if missing; a symbolic link is refused) instead of printing tsfleet.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Split a syslog file by sending device and upload each device's new lines (gzip, HTTPS POST).
    Upload(LogsUploadArgs),
}

/// `tsfleet logs upload`.
#[derive(Debug, Args)]
#[command(
    long_about = "Split a syslog file by sending device (the host in each line's header, \
        RFC 3164, RFC 5424 or an ISO timestamp first, matched to a device's `host` or `name`, \
        case-insensitive) and POST each device's new lines, gzip-compressed, to the \
        `log_upload.url` of its policy. A device's position in the file moves only after a 2xx \
        answer: a failed upload (exit 1, naming the device, the URL and the status) is sent \
        again next run, an accepted one never. A partial last line waits for the next run. \
        Lines from senders that are not in the inventory are counted and reported, never \
        uploaded.\n\n\
        Rotation (a new inode, or a file shorter than the saved position) is detected: the rest \
        of the old file is read from FILE.1 first when it is there (logrotate's default; use \
        `delaycompress` if you compress), then the new file from its start. When the old file \
        is gone the lines it held past the saved position cannot be read: the device is named \
        in a warning and starts the new file at 0.",
    after_help = "Inventory keys used:\n  \
    policies:\n    \
      corp:\n      \
        block: [corp-block.acme.threatstop.local]\n      \
        log_upload:\n        \
          url: https://logs.example.net/upload   # HTTPS only; user:password@ is never printed\n        \
          ca_file: upload-ca.pem                 # optional, relative to the inventory\n        \
          proxy: http://proxy.example.net:3128   # optional; else HTTPS_PROXY/NO_PROXY apply\n\n\
Examples:\n  \
    tsfleet logs upload -i fleet.yaml --syslog /var/log/routers/routers.log\n  \
    tsfleet logs upload -i fleet.yaml --syslog routers.log \\\n      \
      --state /var/lib/tsfleet/upload.json\n\n\
Exit codes: 0 every device's lines accepted, 1 a device's upload failed (its lines go next run), \
3 invalid input (inventory, syslog or state file; nothing was uploaded)."
)]
pub struct LogsUploadArgs {
    #[command(flatten)]
    pub inventory: InventoryPath,
    /// The syslog file the routers log to.
    #[arg(long, value_name = "FILE")]
    pub syslog: PathBuf,
    /// Where each device's upload position is kept (default: FILE.tsfleet-upload.json beside --syslog).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Largest request, in bytes of lines before compression: a longer backlog goes in
    /// several requests, each moving the device's position once accepted.
    #[arg(long, value_name = "BYTES", default_value_t = 8 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_body_bytes: u64,
}

/// `tsfleet acl`.
#[derive(Debug, Args)]
#[command(
    long_about = "Print, per selected device, the extended ACL that makes its object-groups \
        effective: permit the allow group (as source and as destination), then deny the block \
        group as source and as destination, then permit everything else. tsfleet never creates \
        rules: paste the lines in configuration mode and apply the ACL (`ip access-group NAME \
        in`) to the interfaces you choose. A device with `ipv6: true` also gets the same rules \
        over its IPv6 groups as `ipv6 access-list NAME-V6` (apply it with `ipv6 traffic-filter \
        NAME-V6 in`). Devices with the same group names share one block, headed by a `!` comment \
        naming each of them. Nothing is contacted.",
    after_help = "Examples:\n  \
    tsfleet acl -i fleet.yaml --all\n  \
    tsfleet acl -i fleet.yaml hq-core-1 'br-*'\n  \
    tsfleet acl -i fleet.yaml @branch --acl-name TS-EDGE-IN"
)]
pub struct AclArgs {
    #[command(flatten)]
    pub inventory: InventoryPath,
    /// Devices, as `--limit` takes them: a name, a glob (`br-*`), `@GROUP`, `!PATTERN`.
    #[arg(
        value_name = "DEVICE",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub devices: Vec<String>,
    /// Every device in the inventory.
    #[arg(long)]
    pub all: bool,
    /// Name of the extended ACL (letters, digits, `-`, `_`, `.`; starting with a letter; at
    /// most 64 characters, 61 when a device has `ipv6: true`, as its IPv6 ACL adds `-V6`).
    #[arg(long, default_value = crate::device::acl::DEFAULT_ACL_NAME, value_name = "NAME",
          value_parser = acl_name)]
    pub acl_name: String,
}

fn acl_name(s: &str) -> Result<String, String> {
    match crate::device::acl::acl_name_problem(s) {
        Some(p) => Err(p),
        None => Ok(s.to_string()),
    }
}

// Bounds on numeric flags: past them a value is a mistake, and some would
// overflow a deadline or a backoff (`FanOutSettings::backoff` doubles per retry).
const MAX_RETRIES: i64 = 10;
const MAX_DEVICE_TIMEOUT_S: u64 = 24 * 3600;
const MAX_SIM_DELAY_MS: u64 = 60_000;
const MAX_SIM_COST_US: u64 = 1_000_000;
/// The slowest limit `--connect-rate` takes: one connection per 1,000 s.
const MIN_CONNECT_RATE: f64 = 0.001;

/// `--connect-rate`: 0 (no limit), or a finite rate of at least [`MIN_CONNECT_RATE`].
fn connect_rate(s: &str) -> Result<f64, String> {
    let bad = || {
        format!(
            "{s:?} is not a connection rate: use a number of new connections per second, \
             from {MIN_CONNECT_RATE} up, or 0 for no limit"
        )
    };
    let rate: f64 = s.trim().parse().map_err(|_| bad())?;
    if rate == 0.0 || (rate.is_finite() && rate >= MIN_CONNECT_RATE) {
        Ok(rate)
    } else {
        Err(bad())
    }
}

/// `tsfleet import-conf`.
#[derive(Debug, Args)]
#[command(
    long_about = "Read threatstop.conf files of the single-router ThreatSTOP script (`key=value`, \
        `#` comments) and write one inventory: one device per file, named after the file \
        (`rtr-001.conf` -> rtr-001; a file called threatstop.conf -> its `device=` address). \
        Devices with the same lists and maximum policy size share one policy. Passwords are \
        never copied: they become { env: TSFLEET_PASSWORD_<DEVICE> } and \
        { env: TSFLEET_ENABLE_<DEVICE> }, and the variables to set are printed on stderr. \
        `url` becomes the policy's log_upload.url (HTTPS without a password in it; otherwise a \
        note); `logfile` is the file to give `tsfleet logs upload --syslog` (a note says so); \
        `platform` and `personality` are not used (Cisco IOS only). Notes go to stderr and the \
        header comment. Unknown keys are reported with file:line.",
    after_help = "Examples:\n  \
    tsfleet import-conf /opt/ts-isr/threatstop.conf     # inventory on stdout\n  \
    tsfleet import-conf confs/*.conf -o fleet.yaml\n  \
    tsfleet inventory check -i fleet.yaml\n\n\
Keys read: dns_server, dns_port (or port), max_policy_size (or max_policy), device, block_list, \
allow_list, object_group_block, object_group_allow, username, password, enable_pw, url \
(-> log_upload.url), logfile (-> tsfleet logs upload --syslog FILE); not used: platform, \
personality.\n\n\
Exit codes: 0 written, 3 a file has a mistake (each reported as file:line; nothing written)."
)]
pub struct ImportConfArgs {
    /// threatstop.conf files, one per router.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Write the inventory here (default, or `-`: stdout).
    #[arg(short, long, value_name = "INVENTORY")]
    pub output: Option<Output>,
    /// Overwrite the --output file if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
}

/// Where `tsfleet import-inventory` reads from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InventoryFormat {
    /// Nornir SimpleInventory: HOSTS.yaml [GROUPS.yaml [DEFAULTS.yaml]].
    Nornir,
    /// Ansible: one inventory file, YAML or INI.
    Ansible,
}

/// `tsfleet import-inventory`.
#[derive(Debug, Args)]
#[command(
    long_about = "Read a Nornir SimpleInventory (hosts.yaml, and groups.yaml and defaults.yaml if \
        given) or an Ansible inventory file and write a commented tsfleet inventory: hosts become \
        devices (hostname/ansible_host, port/ansible_port), groups become groups (with children \
        and vars; a device's groups are ordered so the most specific wins, as in the source), \
        defaults (Nornir defaults.yaml, Ansible `all` vars) become `defaults`; username, SSH key \
        file, timeouts, platform and ansible_network_os are mapped. A host whose platform is not \
        Cisco IOS or IOS-XE is left out and reported. An Ansible file ending in .ini is INI, one \
        ending in .yml/.yaml/.json is YAML, any other is told by its content; host ranges such \
        as rtr[01:20] are expanded.\n\n\
        Secrets are never copied: every password or enable secret (literal, !vault or template) \
        becomes { env: TSFLEET_PASSWORD... } / { env: TSFLEET_ENABLE... } for the defaults, a \
        group or a host, and the variables to set are printed on stderr. What cannot be mapped \
        (per-host data, unknown variables, templates) is listed with file:line on stderr and in \
        the header comment. The lists are not in these inventories: give them with --block and \
        --allow; without them the devices name a policy `threatstop` that is not defined, and \
        `tsfleet inventory check` refuses the file until you define it.",
    after_help = "Examples:\n  \
    tsfleet import-inventory --from nornir hosts.yaml groups.yaml \\\n      \
    defaults.yaml --block corp-block.acme.threatstop.local \\\n      \
    --dns 192.0.2.53 -o fleet.yaml\n  \
    tsfleet import-inventory --from ansible inventory.ini   # on stdout\n  \
    tsfleet inventory check -i fleet.yaml\n\n\
With host_vars/, group_vars/, plugins or scripts, let Ansible merge first:\n  \
    ansible-inventory -i inventory/ --list -y > all.yml\n  \
    tsfleet import-inventory --from ansible all.yml -o fleet.yaml\n\n\
Exit codes: 0 written, 3 a file has a mistake (each reported as file:line; nothing written)."
)]
pub struct ImportInventoryArgs {
    /// The source's format.
    #[arg(long, value_enum)]
    pub from: InventoryFormat,
    /// Nornir: HOSTS.yaml [GROUPS.yaml [DEFAULTS.yaml]]; Ansible: one INVENTORY file.
    #[arg(value_name = "FILE", required = true, num_args = 1..=3)]
    pub files: Vec<PathBuf>,
    /// A block list of the policy every device gets (repeat for more).
    #[arg(long, value_name = "LIST")]
    pub block: Vec<String>,
    /// An allow list of that policy (repeat for more).
    #[arg(long, value_name = "LIST")]
    pub allow: Vec<String>,
    /// A DNS server the lists are resolved from (repeat for more, tried in order).
    #[arg(long, value_name = "SERVER")]
    pub dns: Vec<String>,
    /// The DNS servers' port (default 53).
    #[arg(long, value_name = "PORT", requires = "dns")]
    pub dns_port: Option<u16>,
    /// Write the inventory here (mode 0600; default, or `-`: stdout).
    #[arg(short, long, value_name = "INVENTORY")]
    pub output: Option<Output>,
    /// Overwrite the --output file if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
}

/// `tsfleet init`.
#[derive(Debug, Args)]
#[command(
    long_about = "Write a commented starter inventory. On a terminal it asks what the \
        single-router script's setup asked: block list, allow list, device addresses, DNS port \
        (53), maximum policy size (30000) and SSH username. It never asks for a secret: the \
        inventory refers to { env: TSFLEET_PASSWORD } and { env: TSFLEET_ENABLE }. The allow \
        list is optional: an empty answer (or `none`, or --no-allow-list) writes none. Without a \
        terminal (or with --no-input) nothing is asked: the flags given are used, no allow list \
        is written unless --allow-list names one, and the rest are placeholders marked \
        `# CHANGE ME`, which `tsfleet inventory check` (and every command) refuses until they \
        are replaced.",
    after_help = "Examples:\n  \
    tsfleet init -o fleet.yaml                  # asks on a terminal\n  \
    tsfleet init -o fleet.yaml --no-input \\\n      \
      --block-list corp-block.acme.threatstop.local \\\n      \
      --allow-list corp-allow.acme.threatstop.local \\\n      \
      --device 192.0.2.1 --device 192.0.2.2 --username tsadmin\n  \
    tsfleet init -o fleet.yaml --no-allow-list  # asks, but not for an allow list\n  \
    tsfleet init > fleet.yaml                   # placeholders, no questions\n\n\
Exit codes: 0 written, 3 the file exists (use --force) or an answer is invalid."
)]
pub struct InitArgs {
    /// Write the inventory here (default, or `-`: stdout).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<Output>,
    /// Overwrite the --output file if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Never ask, even on a terminal.
    #[arg(long)]
    pub no_input: bool,
    /// The ThreatSTOP block list (e.g. NAME.ACCOUNT.threatstop.local).
    #[arg(long, value_name = "LIST")]
    pub block_list: Option<String>,
    /// The ThreatSTOP allow list (without it, none is written; a terminal asks).
    #[arg(long, value_name = "LIST")]
    pub allow_list: Option<String>,
    /// No allow list, and no question about it.
    #[arg(long, conflicts_with = "allow_list")]
    pub no_allow_list: bool,
    /// A router's address for SSH; repeat for more (named rtr-001, rtr-002, ...).
    #[arg(long = "device", value_name = "HOST")]
    pub devices: Vec<String>,
    /// The SSH username.
    #[arg(long)]
    pub username: Option<String>,
    /// A DNS server the lists are published on; repeat for more.
    #[arg(long = "dns-server", value_name = "ADDR")]
    pub dns_servers: Vec<String>,
    /// The DNS port.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub dns_port: Option<u16>,
    /// Most entries a router holds.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_policy_size: Option<u64>,
}

macro_rules! inventory_format {
    () => {
        "Inventory format (YAML):\n  \
    dns: { servers: [127.0.0.1] }          # where the lists are published\n  \
    policies:                              # named once, referenced by devices\n    \
      corp: { block: [corp-block.acme.threatstop.local], protect: [192.0.2.0/24] }\n  \
    defaults:                              # every device\n    \
      username: netops\n    \
      password: { env: TSFLEET_PASSWORD }  # or { file: secrets/pw } (relative to this file)\n    \
      enable_secret: { file: secrets/enable }\n  \
    groups:                                # applied in the order a device lists them\n    \
      branch: { connect_timeout_ms: 20000, save_config: false }\n  \
    devices:\n    \
      - { name: hq-core-1, host: 192.0.2.1, policy: corp }\n    \
      - { name: br-01, host: br-01.example.net, groups: [branch], port: 2222 }\n\n\
Device settings (in defaults, a group or a device; the most specific wins):\n  \
    port (22), username (required), password, enable_secret, private_key, policy (the only \
    policy if there is one, else required), block_group (threatstop-block), allow_group \
    (threatstop-allow), ipv6 (false; true: the lists' IPv6 items go into IOS XE \
    `object-group v6-network` groups), block_group_v6 (threatstop-block-v6), allow_group_v6 \
    (threatstop-allow-v6), host_key_policy (strict | accept-new | off), known_hosts \
    (~/.ssh/known_hosts), legacy_algorithms (true), save_config (true), connect_timeout_ms \
    (10000), command_timeout_ms (30000, inactivity).\n\n\
Object-group names: 1-64 letters, digits, `-`, `_` or `.`, starting with a letter or digit; \
    a device's group names must differ (the v6 ones too, when ipv6 is on)."
    };
}

#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Validate an inventory: every mistake with file:line:column and what to fix.
    #[command(
        long_about = "Validate an inventory without contacting anything: YAML syntax, unknown or \
            duplicate keys, duplicate device names, missing hosts, bad prefixes, object-group \
            names, references to groups and policies that do not exist, two devices on one \
            host and port, that every device ends up with a username and a policy, and \
            everything a run would refuse before contacting a device: no device at all, an \
            unset environment variable, a secret or key file that is missing, unreadable, not a \
            regular file or over 64 KiB, a device with neither password nor private_key. Every \
            mistake is reported with file:line:column, the line with a caret under the fault \
            and what to write instead. Secrets are read, never shown. A password written in \
            the file itself is accepted with a warning; a secret or key file other users can \
            read is warned about, even with -q.",
        after_help = concat!(
            "Examples:\n  ",
            "tsfleet inventory check -i inventory/example.yaml\n  ",
            "TSFLEET_INVENTORY=fleet.yaml tsfleet inventory check\n\n",
            "Exit codes: 0 valid (one summary line on stdout), 3 invalid (the mistakes on stderr)."
        ),
        after_long_help = concat!(
            "Examples:\n  ",
            "tsfleet inventory check -i inventory/example.yaml\n  ",
            "TSFLEET_INVENTORY=fleet.yaml tsfleet inventory check\n\n",
            "Exit codes: 0 valid (one summary line on stdout), 3 invalid (the mistakes on stderr)."
        , "\n\n", inventory_format!())
    )]
    Check(InventoryCheckArgs),
    /// Print each device's effective settings and where each one came from.
    #[command(
        long_about = "Print each device's effective settings: defaults, then its groups in the \
            order the device lists them, then the device itself (the most specific level wins), \
            then built-in defaults. Each value is followed by the level that set it. Secrets \
            are never printed: a reference is shown as written ({ env: NAME }, { file: PATH }), \
            a literal as ******. Relative paths are shown resolved against the inventory's folder.",
        after_help = concat!(
            "Examples:\n  ",
            "tsfleet inventory show -i inventory/example.yaml            # every device\n  ",
            "tsfleet inventory show -i inventory/example.yaml hq-core-1  # one device\n  ",
            "tsfleet inventory show -i inventory/example.yaml @branch 'hq-*'\n\n",
            "PATTERN: @GROUP selects the devices in a group; anything else is a glob on device \
            names (*, ?, [a-c], {a,b}). Several patterns add up; one that selects nothing is an error."
        ),
        after_long_help = concat!(
            "Examples:\n  ",
            "tsfleet inventory show -i inventory/example.yaml            # every device\n  ",
            "tsfleet inventory show -i inventory/example.yaml hq-core-1  # one device\n  ",
            "tsfleet inventory show -i inventory/example.yaml @branch 'hq-*'\n\n",
            "PATTERN: @GROUP selects the devices in a group; anything else is a glob on device \
            names (*, ?, [a-c], {a,b}). Several patterns add up; one that selects nothing is an error."
        , "\n\n", inventory_format!())
    )]
    Show(InventoryShowArgs),
}

#[derive(Debug, Args)]
pub struct InventoryCheckArgs {
    #[command(flatten)]
    pub inventory: InventoryPath,
}

#[derive(Debug, Args)]
pub struct InventoryShowArgs {
    #[command(flatten)]
    pub inventory: InventoryPath,
    /// Devices to show, as `--limit` takes them (`br-*`, `@GROUP`, `!PATTERN`); all when omitted.
    #[arg(value_name = "PATTERN")]
    pub devices: Vec<String>,
}

/// `--limit` for the commands that act on devices.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Only these devices; repeat, or separate with commas (a comma inside
    /// braces does not separate). A pattern that selects nothing is an error.
    ///
    ///   br-*, hq-{a,b}           device names matching a glob (braces nest)
    ///   @GROUP                   a group's devices
    ///   @failed:REPORT.json      the devices a --json report lists as failed
    ///   @unfinished:REPORT.json  those it lists as failed or skipped
    ///   !PATTERN                 not these: after the inclusions; alone, all but these
    ///
    /// Examples:
    ///   --limit 'hq-{a,b}'
    ///   --limit '@branch,!br-07' --limit 'hq-*'
    ///   --limit '!@lab'
    ///   --limit @failed:run.json
    #[arg(
        short = 'l',
        long = "limit",
        value_name = "PATTERN",
        verbatim_doc_comment
    )]
    pub patterns: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Join the JSON reports of the shards of one run into one report, table and exit code.
    #[command(
        after_help = "Example (a CI matrix of 4 shard jobs, then one merge job):\n  \
        tsfleet resolve -i fleet.yaml -o lists.json\n  \
        tsfleet apply -i fleet.yaml --lists lists.json --shard 3/4 --yes \\\n      \
          --json shard-3.json\n  \
        tsfleet report merge shard-*.json --expect-shards 4 \\\n      \
          --json fleet.json --junit fleet.xml --summary-md fleet.md\n\n\
        Exit codes: as the single run would (0, 1, 2 with --detailed-exitcode; 1 also when a \
        report cannot be written); 3 when a shard is missing or twice, the shards used different \
        snapshots, a device is in two shards, or an output cannot be written."
    )]
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' JSON reports (from `--json`).
    #[arg(required = true, value_name = "REPORT.json")]
    pub files: Vec<PathBuf>,
    /// Fail unless shards 1..=N are all there.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub expect_shards: Option<u32>,
    #[command(flatten)]
    pub reports: ReportFiles,
    #[command(flatten)]
    pub detailed: DetailedExitcode,
}

/// Where a run's report goes besides the table. Each is checked before
/// any device is contacted.
#[derive(Debug, Default, Args)]
pub struct ReportFiles {
    /// Write the report as JSON (schema: schemas/report.schema.json); `-` for stdout.
    #[arg(long, value_name = "FILE")]
    pub json: Option<Output>,
    /// Write the report as JUnit XML (one test case per device); `-` for stdout.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<Output>,
    /// Write a Markdown summary for CI (counts, failed and skipped devices,
    /// changes folded); `-` for stdout. Append it to `$GITHUB_STEP_SUMMARY`
    /// or post it as a merge-request note.
    #[arg(long, value_name = "FILE")]
    pub summary_md: Option<Output>,
    /// Write Prometheus metrics for node_exporter's textfile collector (last
    /// run time and success, devices by status, each device's last success)
    /// atomically; `-` for stdout. Written too when the run stops before
    /// contacting any device (success 0).
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<Output>,
    /// Write the report as one self-contained web page (summary, failed
    /// devices, a status grid by inventory group, a table that sorts and
    /// filters, each change folded); `-` for stdout. No external assets:
    /// open it offline or keep it as a CI artifact. `report.html#status=failed`
    /// opens on the failed devices. Example: --html run.html
    #[arg(long, value_name = "FILE")]
    pub html: Option<Output>,
}

/// `--detailed-exitcode`, for the commands that change nothing (plan,
/// check, and the merge of their reports): only they can have changes pending.
#[derive(Debug, Args)]
pub struct DetailedExitcode {
    /// Exit 2 when changes are pending, 0 when none.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// `--yes`, for the commands that change routers (apply, remove).
#[derive(Debug, Args)]
pub struct Confirm {
    /// Do not ask before changing routers (required when stdin is not a terminal).
    #[arg(short, long)]
    pub yes: bool,
}

/// `--diff`, for the commands that compute changes from the lists (plan, apply).
#[derive(Debug, Args)]
pub struct ShowDiff {
    /// After the table, every change as the IOS line the router gets (`+ host
    /// 198.51.100.7`, `- 10.0.0.0 255.0.0.0`, adds first as pushed), per group, with
    /// devices whose change is identical listed once under one header.
    #[arg(long)]
    pub diff: bool,
}

/// `-i/--inventory`, for every command that reads one.
#[derive(Debug, Args)]
pub struct InventoryPath {
    /// The inventory file.
    #[arg(
        short = 'i',
        long = "inventory",
        env = "TSFLEET_INVENTORY",
        value_name = "FILE"
    )]
    pub path: PathBuf,
}

/// The guard against lists that shrank too much since the last snapshot.
#[derive(Debug, Args)]
pub struct ShrinkGuard {
    /// The snapshot used last time, for the shrink guard (plan, apply: instead of the record of the last successful apply in --state-dir; resolve: default the --output file, if it exists).
    #[arg(long, value_name = "SNAPSHOT.json")]
    pub previous: Option<PathBuf>,
    /// Accept lists that came back empty or shrank by more than their policy's max_shrink since --previous or the last successful apply.
    #[arg(long)]
    pub allow_shrink: bool,
}

#[derive(Debug, Args)]
#[command(
    long_about = "Resolve every distinct list named under `policies:` exactly once, from the \
        servers under `dns:` (tried in order; the one that answered is reported), and check each \
        policy against the result (empty and shrink guards, protect, cap). Nothing but the DNS \
        servers is contacted.\n\n\
        A list name has PTR records naming its sub-lists (or is its own only sub-list); each \
        sub-list has APL records (RFC 3123), else A records, else TXT records of prefixes. A \
        truncated, malformed or missing answer fails the run (exit 3) naming the sub-list: a list \
        is never silently shorter.",
    after_help = "Inventory keys used:\n  \
    dns:\n    \
      servers: [127.0.0.1, 127.0.0.2:5353]   # tried in order; IP, IP:PORT or HOST[:PORT]\n    \
      port: 53                               # default port; 5353 where 53 is blocked\n    \
      transport: tcp                         # or udp (retried over TCP when truncated)\n    \
      timeout_ms: 3000\n    \
      attempts: 2\n  \
    policies:\n    \
      corp:\n      \
        block: [corp-block.acme.threatstop.local]\n      \
        allow: [corp-allow.acme.threatstop.local]\n      \
        protect: [192.0.2.0/24, 2001:db8::/48] # never blocked (IPv4 or IPv6)\n      \
        max_policy_size: 30000                # per family: allow first, then the widest block ones\n      \
        min_prefix_len: 8                     # shorter IPv4 prefixes from a list are dropped\n      \
        min_prefix_len_v6: 16                 # the same for IPv6 (built for `ipv6: true` devices)\n      \
        aggregate: false                      # merge adjacent prefixes (same addresses)\n      \
        max_shrink: 0.5                       # refuse a list that lost more than half (per family)\n\n\
Examples:\n  \
    tsfleet resolve -i fleet.yaml                    # what each list holds\n  \
    tsfleet resolve -i fleet.yaml -o lists.json      # a snapshot for --lists\n  \
    tsfleet resolve -i fleet.yaml --json - | jq .lists\n  \
    tsfleet resolve -i fleet.yaml -o lists.json --allow-shrink\n\n\
Exit codes: 0 resolved, 3 a list could not be resolved, a policy guard refused it, or an \
output cannot be written (nothing was written)."
)]
pub struct ResolveArgs {
    #[command(flatten)]
    pub inventory: InventoryPath,
    /// Write the snapshot here (JSON; `-` for stdout); `plan` and `apply` read it with `--lists`.
    #[arg(short, long, value_name = "SNAPSHOT.json")]
    pub output: Option<Output>,
    /// Write the report as JSON (`-` for stdout: the table goes to stderr then).
    #[arg(long, value_name = "FILE")]
    pub json: Option<Output>,
    #[command(flatten)]
    pub shrink: ShrinkGuard,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Besides the routers, a DNS server publishes the lab's lists \
    (lab-block.threatstop.local, lab-allow.threatstop.local) on --dns-port. The inventory \
    --write-inventory writes (dns, the `lab` policy, host keys, secret files) works with plan \
    and apply as it is, with no other process; inventory/lab.yaml fits the defaults of \
    `tsfleet sim --devices 3`.\n\n\
    Examples:\n  \
    tsfleet sim --devices 3 --write-inventory lab/lab.yaml &\n  \
    tsfleet plan -i lab/lab.yaml\n  \
    ssh -p 20001 admin@127.0.0.1        # password: admin, then `enable` with secret: enable\n  \
    tsfleet sim --stdio                  # one device's CLI on this terminal\n  \
    tsfleet sim --profile xe.yaml        # IOS XE: object-group v6-network, when\n  \
    \x20                                    # xe.yaml sets a version: \"17.9.4a\"; with\n  \
    \x20                                    # --write-inventory, ipv6: true on those devices\n\n\
    Rehearse a list change (the routers keep what was applied with --state-dir):\n  \
    tsfleet sim --state-dir lab/state --write-inventory lab/lab.yaml &\n  \
    tsfleet apply -i lab/lab.yaml --yes; kill %1\n  \
    tsfleet sim --state-dir lab/state --write-inventory lab/lab.yaml --churn 10 &\n  \
    tsfleet plan -i lab/lab.yaml --diff   # about 10 % of the block list replaced"
)]
pub struct SimArgs {
    /// Number of devices, on consecutive ports from --base-port.
    #[arg(long, default_value_t = 3,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65535))]
    pub devices: usize,
    /// Port of the first device; 0 picks any free ports (not consecutive).
    #[arg(long, default_value_t = 20001)]
    pub base_port: u16,
    /// Loopback address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub listen: IpAddr,
    /// Login username of every device.
    #[arg(long, default_value = "admin")]
    pub username: String,
    /// Login password of every device.
    #[arg(
        long,
        default_value = "admin",
        env = "TSFLEET_SIM_PASSWORD",
        hide_env_values = true
    )]
    pub password: String,
    /// Enable secret of every device.
    #[arg(
        long,
        default_value = "enable",
        env = "TSFLEET_SIM_ENABLE",
        hide_env_values = true
    )]
    pub enable_secret: String,
    /// Round-trip latency added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(..=MAX_SIM_DELAY_MS))]
    pub rtt_ms: u64,
    /// Processing time per configuration line, in microseconds.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(..=MAX_SIM_COST_US))]
    pub line_cost_us: u64,
    /// Extra processing time per configuration line per 1,000 entries in the group, in microseconds.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(..=MAX_SIM_COST_US))]
    pub entry_cost_us: u64,
    /// YAML profile: per-device versions (16.x/17.x is IOS XE, with IPv6 object groups),
    /// initial groups and ACLs, and faults.
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Keep host keys (and reload device state) here across runs.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Write an inventory for the started fleet (with known_hosts and secret files beside it).
    #[arg(long)]
    pub write_inventory: Option<PathBuf>,
    /// On Ctrl-C or SIGTERM, write every device's state here as JSON.
    #[arg(long)]
    pub dump_state: Option<PathBuf>,
    /// Port of the DNS server publishing the lab's lists (UDP and TCP, on --listen); 0 picks a free port.
    /// The inventory --write-inventory writes names the real port.
    #[arg(long, default_value_t = 20000, value_name = "PORT")]
    pub dns_port: u16,
    /// Prefixes in the block list (hosts, and a /24 in every 50).
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub entries: u32,
    /// IPv6 prefixes in the block list, after the IPv4 ones (in 2001:db8::/32: hosts, and a /48
    /// in every 10; seed and churn apply to them too). They reach the IOS XE devices, which
    /// the inventory --write-inventory writes gives `ipv6: true`.
    #[arg(long, default_value_t = crate::sim::lab::DEFAULT_ENTRIES_V6, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=i64::from(crate::sim::lab::MAX_ENTRIES_V6)))]
    pub entries_v6: u32,
    /// Seed of the block list: the same seed gives the same list.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub seed: u64,
    /// Percent of the block list's entries replaced by others (same size): start the
    /// simulator again with another --churn or --seed to rehearse a list change.
    #[arg(long, default_value_t = 0, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub churn: u8,
    /// Run one device's CLI on stdin/stdout instead of SSH servers (for use behind OpenSSH's sshd).
    #[arg(long, conflicts_with_all = ["devices", "base_port", "write_inventory", "dns_port", "entries", "entries_v6", "seed", "churn"])]
    pub stdio: bool,
    /// With --stdio: the device's name from the profile (default the first device).
    #[arg(long, requires = "stdio")]
    pub device: Option<String>,
}

/// The devices a fleet command works on.
#[derive(Debug, Args)]
pub struct DeviceSelection {
    #[command(flatten)]
    pub inventory: InventoryPath,
    #[command(flatten)]
    pub limit: LimitArgs,
    /// Only shard I of N: the devices with xxh64(name) % N == I - 1 (stable across
    /// releases and inventory edits). Run every shard with the same --lists SNAPSHOT.
    #[arg(long, value_name = "I/N", value_parser = crate::shard::parse)]
    pub shard: Option<crate::report::Shard>,
}

/// Where plan and apply take the lists from, and the shrink guard.
#[derive(Debug, Args)]
pub struct ListsArgs {
    /// Use this snapshot (from `tsfleet resolve -o`) instead of querying DNS.
    #[arg(long, value_name = "SNAPSHOT.json")]
    pub lists: Option<PathBuf>,
    /// Refuse a --lists snapshot created longer ago than this (36h, 7d; 0 = no limit).
    #[arg(long, value_name = "AGE", default_value = "24h", value_parser = humantime::parse_duration,
          requires = "lists")]
    pub max_snapshot_age: std::time::Duration,
    #[command(flatten)]
    pub shrink: ShrinkGuard,
}

/// How a fleet command fans out over the devices, and where transcripts go.
#[derive(Debug, Args)]
pub struct FanOutArgs {
    /// Devices worked on at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// New SSH connections per second, fleet-wide, with jitter (0 = no limit).
    #[arg(long, default_value_t = 20.0, value_parser = connect_rate)]
    pub connect_rate: f64,
    /// Extra attempts, with backoff, after a transient connection error.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(..=MAX_RETRIES))]
    pub retries: u32,
    /// Stop launching devices after this many authentication failures (0 = never).
    #[arg(long, default_value_t = 3)]
    pub auth_failure_limit: usize,
    /// Run this many devices first; stop if any of them fails.
    #[arg(long, default_value_t = 0)]
    pub canary: usize,
    /// Stop launching devices after this many failures: a count (5) or a share (10%).
    #[arg(long)]
    pub max_failures: Option<crate::fleet::FailureBudget>,
    /// Longest time one device may take, in seconds.
    #[arg(long, default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..=MAX_DEVICE_TIMEOUT_S))]
    pub device_timeout: u64,
    /// Where the per-device transcripts go (default tsfleet-runs/<time>-<command>).
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
}

/// What plan, apply, check and remove all take: the devices, how to fan
/// out over them, and where the reports go.
#[derive(Debug, Args)]
pub struct FleetArgs {
    #[command(flatten)]
    pub devices: DeviceSelection,
    #[command(flatten)]
    pub fanout: FanOutArgs,
    #[command(flatten)]
    pub reports: ReportFiles,
    #[command(flatten)]
    pub state: crate::state_dir::StateDirArg,
}

/// `tsfleet plan`: lists, no `--yes` (it changes nothing).
#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Examples:\n  ",
    "tsfleet plan -i fleet.yaml                      # what would change\n  ",
    "tsfleet plan -i fleet.yaml --detailed-exitcode  # exit 2: changes pending\n  ",
    "tsfleet plan -i fleet.yaml --diff               # and each line it would push\n  ",
    "tsfleet plan -i fleet.yaml --lists lists.json --json - | jq .summary\n  ",
    "tsfleet plan -i fleet.yaml --out plan.json      # for apply --plan\n  ",
    "tsfleet plan -i fleet.yaml --summary-md - >> \"$GITHUB_STEP_SUMMARY\"\n  ",
    "tsfleet plan -i fleet.yaml --html plan.html     # a page: open plan.html\n\n",
    crate::error::exit_codes_help!()
))]
pub struct PlanArgs {
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub lists: ListsArgs,
    #[command(flatten)]
    pub show_diff: ShowDiff,
    #[command(flatten)]
    pub detailed: DetailedExitcode,
    /// Save this plan for `apply --plan`: the lists, a digest of what each group
    /// held and every change, with a digest of its own (mode 0600; `-` for stdout).
    #[arg(long, value_name = "PLAN.json")]
    pub out: Option<Output>,
}

/// `tsfleet apply`: lists and `--yes`; no `--detailed-exitcode` (an apply
/// leaves no change pending on a device that succeeded).
#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Examples:\n  ",
    "tsfleet apply -i fleet.yaml --limit 'branch-*' --yes\n  ",
    "tsfleet apply -i fleet.yaml --canary 5 --max-failures 2% --yes \\\n      ",
    "--json run.json --junit run.xml --summary-md run.md\n  ",
    "tsfleet resolve -i fleet.yaml -o lists.json\n  ",
    "tsfleet apply -i fleet.yaml --lists lists.json --yes\n  ",
    "tsfleet apply -i fleet.yaml --diff              # and each line it pushes\n  ",
    "tsfleet apply -i fleet.yaml --plan plan.json --yes  # exactly that plan\n  ",
    "tsfleet apply -i fleet.yaml --yes \\\n      ",
    "--metrics /var/lib/prometheus/node-exporter/tsfleet-apply.prom  # cron\n\n",
    crate::error::exit_codes_help!(changes routers)
))]
pub struct ApplyArgs {
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub lists: ListsArgs,
    #[command(flatten)]
    pub show_diff: ShowDiff,
    #[command(flatten)]
    pub confirm: Confirm,
    #[command(flatten)]
    pub saved: SavedPlanArgs,
}

/// `apply --plan`: apply a saved plan exactly, instead of planning now.
#[derive(Debug, Args)]
pub struct SavedPlanArgs {
    /// Apply exactly this plan (from `plan --out`), with its lists (no DNS query);
    /// a device whose groups changed since fails `drift` and gets nothing.
    #[arg(long, value_name = "PLAN.json", conflicts_with_all = ["lists", "previous", "allow_shrink"])]
    pub plan: Option<PathBuf>,
    /// Refuse a --plan made longer ago than this (36h, 7d; 0 = no limit).
    #[arg(long, value_name = "AGE", default_value = "24h", value_parser = humantime::parse_duration,
          requires = "plan")]
    pub max_plan_age: std::time::Duration,
}

/// `tsfleet check`: no lists (it reads groups, it does not compare them
/// with a policy), no `--yes` (it changes nothing).
#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Examples:\n  ",
    "tsfleet check -i fleet.yaml\n  ",
    "tsfleet check -i fleet.yaml --limit @branch --junit check.xml\n\n",
    crate::error::exit_codes_help!()
))]
pub struct CheckArgs {
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub detailed: DetailedExitcode,
}

/// `tsfleet remove`: `--yes`, no lists (it deletes the groups whatever
/// they hold), no `--detailed-exitcode` (it changes routers).
#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Examples:\n  ",
    "tsfleet remove -i fleet.yaml --limit 'lab-*'   # asks on a terminal\n  ",
    "tsfleet remove -i fleet.yaml --yes --json removed.json\n\n",
    crate::error::exit_codes_help!(changes routers)
))]
pub struct RemoveArgs {
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub confirm: Confirm,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Runs tsfleet end to end on this machine, no routers needed: starts a simulated \
    fleet of IOS routers (a few with faults, so the report shows failure rows; the first one IOS \
    XE with `ipv6: true`, so its IPv6 object groups are filled too) and a DNS server publishing a \
    block list (IPv4 and IPv6 prefixes) and an allow list, both on 127.0.0.1; writes an inventory for them; then \
    runs plan, apply, and plan again (no changes left on the healthy devices), printing each report. \
    The fleet stops with the demo: `tsfleet sim` keeps a lab running.\n\n\
    Examples:\n  \
    tsfleet demo\n  \
    tsfleet demo --dir demo     # then: ls demo/reports demo/transcripts/2-apply\n\n\
    With --dir DIR: DIR/demo-fleet.yaml, DIR/transcripts/1-plan/, 2-apply/, 3-plan/ (one log per \
    device, secrets masked) and DIR/reports/1-plan.json, .xml (JUnit), .md (summary), and so on."
)]
pub struct DemoArgs {
    /// Simulated routers.
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u16).range(4..=2000))]
    pub devices: u16,
    /// IPv4 prefixes in the block list (it carries 100 IPv6 ones too).
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub entries: u32,
    /// Latency the simulated routers add to every answer, in milliseconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(..=MAX_SIM_DELAY_MS))]
    pub rtt_ms: u64,
    /// Keep the inventory, each step's transcripts and reports here (default: a temporary folder,
    /// removed at the end).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Whether output to a stream may carry ANSI colour: only when the stream is
/// a terminal, and not when `NO_COLOR` is set to anything but "".
pub fn use_color(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Logs go to stderr, coloured only as [`use_color`] allows (cron logs and
/// the journal get plain text); `-q` and `-v` pick the level, `RUST_LOG`
/// overrides.
pub fn init_logging(global: &GlobalArgs) {
    let level = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // Security warnings (a secret file others may read) show even with -q.
    let security = crate::inventory::SECURITY_LOG;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{level},russh=warn,{security}=warn"))
    });
    if std::io::stderr().is_terminal() && !global.quiet {
        // Progress bars for the spans of devices in flight; log lines print above them.
        use tracing_subscriber::Layer;
        let style = indicatif::ProgressStyle::with_template(
            "{span_child_prefix}{spinner} {span_fields}  {wide_msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
        let bars = tracing_indicatif::IndicatifLayer::new().with_progress_style(style);
        let log_lines = tracing_subscriber::fmt::layer()
            .with_writer(bars.get_stderr_writer())
            .with_ansi(use_color(true))
            .with_target(false)
            .with_filter(filter);
        // The bars follow the run's and devices' spans whatever the log level.
        let spans =
            tracing_subscriber::filter::Targets::new().with_target("tsfleet", tracing::Level::INFO);
        let _ = tracing_subscriber::registry()
            .with(log_lines)
            .with(bars.with_filter(spans))
            .try_init();
    } else {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_target(false)
            .try_init();
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn connect_rates_are_zero_or_a_finite_rate() {
        for ok in ["0", "0.001", "0.5", "20", "1e4"] {
            assert!(super::connect_rate(ok).is_ok(), "{ok}");
        }
        for bad in ["NaN", "inf", "-inf", "-1", "-0.5", "1e-9", "fast", ""] {
            let e = super::connect_rate(bad).unwrap_err();
            assert!(e.contains("0 for no limit"), "{bad}: {e}");
        }
    }

    #[test]
    fn max_snapshot_age_is_a_humantime_age_24h_unless_given() {
        use clap::Parser;
        use std::time::Duration;
        let age = |extra: &[&str]| {
            let argv = [
                &["tsfleet", "plan", "-i", "x", "--lists", "s.json"][..],
                extra,
            ]
            .concat();
            match Cli::try_parse_from(argv).map(|c| c.command) {
                Ok(super::Command::Plan(p)) => Ok(p.lists.max_snapshot_age),
                Ok(_) => unreachable!("plan parses as plan"),
                Err(e) => Err(e.to_string()),
            }
        };
        assert_eq!(age(&[]), Ok(Duration::from_secs(24 * 3600)));
        assert_eq!(
            age(&["--max-snapshot-age", "36h"]),
            Ok(Duration::from_secs(36 * 3600))
        );
        assert_eq!(age(&["--max-snapshot-age", "0"]), Ok(Duration::ZERO));
        assert!(age(&["--max-snapshot-age", "soon"]).is_err());
    }

    /// Every command's path from the top, `tsfleet` itself included.
    fn paths(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(prefix.clone());
        for sub in cmd.get_subcommands() {
            let mut path = prefix.clone();
            path.push(sub.get_name().to_string());
            paths(sub, path, out);
        }
    }

    /// `-h` or `--help` of the command at `path`, rendered `width` columns wide.
    fn help(path: &[String], flag: &str, width: usize) -> String {
        let mut argv = vec!["tsfleet".to_string()];
        argv.extend(path.iter().cloned());
        argv.push(flag.into());
        match Cli::command().term_width(width).try_get_matches_from(argv) {
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.render().to_string(),
            other => panic!("{path:?} {flag}: no help: {other:?}"),
        }
    }

    /// The example command lines: lines starting with `tsfleet `, and the
    /// continuation lines after one ending in ` \`.
    fn example_lines(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut continued = false;
        for line in text.lines() {
            if continued || line.trim_start().starts_with("tsfleet ") {
                out.push(line);
                continued = line.ends_with(" \\");
            }
        }
        out
    }

    #[test]
    fn help_examples_fit_80_columns_and_are_never_wrapped() {
        let mut all = Vec::new();
        paths(&Cli::command(), Vec::new(), &mut all);
        let mut checked = 0;
        for path in &all {
            for flag in ["-h", "--help"] {
                let wide = help(path, flag, 1000);
                let narrow = help(path, flag, 80);
                let narrow_lines: Vec<&str> = narrow.lines().collect();
                // The width took effect: clap wrapped everything else.
                for line in &narrow_lines {
                    assert!(
                        line.trim_end().chars().count() <= 80,
                        "{path:?} {flag}: wider than 80 columns:\n{line}"
                    );
                }
                for line in example_lines(&wide) {
                    let line = line.trim_end();
                    assert!(
                        line.chars().count() <= 80,
                        "{path:?} {flag}: example wider than 80 columns:\n{line}"
                    );
                    assert!(
                        narrow_lines.iter().any(|l| l.trim_end() == line),
                        "{path:?} {flag}: example wrapped at 80 columns:\n{line}\n\n{narrow}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 30, "only {checked} example lines found");
    }
}
