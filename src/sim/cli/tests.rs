//! Dialogue tests of the IOS CLI, several against real captures in `tests/golden/`.

use super::*;
use crate::sim::device::Config;
use std::sync::Mutex;

const NTC_OBJECT_GROUP: &str = include_str!("../../../tests/golden/show_object-group.ntc.raw");
const VERSION_12_4: &str = include_str!("../../../tests/golden/show_version_c1801_12.4.ntc.raw");
const VERSION_15_8: &str = include_str!("../../../tests/golden/show_version_iosv_15.8.ntc.raw");
const VERSION_XE: &str = include_str!("../../../tests/golden/show_version_c9500_xe16.9.ntc.raw");
const SESSION_USER: &str =
    include_str!("../../../tests/golden/session_cisco881_user_exec.netmiko.log");
const SESSION_PRIV: &str =
    include_str!("../../../tests/golden/session_cisco881_priv_exec.netmiko.log");

fn device(host: &str, version: &str) -> SharedState {
    Arc::new(Mutex::new(DeviceState {
        hostname: host.to_string(),
        version: version.to_string(),
        ..DeviceState::default()
    }))
}

fn options() -> CliOptions {
    CliOptions {
        enable_secret: "s3cret".to_string(),
        privileged_login: true,
        ..CliOptions::default()
    }
}

fn session(opts: CliOptions) -> (Cli, SharedState) {
    let state = device("R1", "15.7(3)M5");
    (Cli::new(Arc::clone(&state), Arc::new(opts)), state)
}

/// Feed `input`, return the output with `\r\n` turned into `\n`.
fn send(cli: &mut Cli, input: &str) -> String {
    lf(&cli.input(input.as_bytes()).output)
}

fn lf(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace("\r\n", "\n")
}

/// A privileged session with paging off, as clients set it up.
fn ready() -> (Cli, SharedState) {
    let (mut cli, state) = session(options());
    cli.greeting();
    send(&mut cli, "terminal length 0\n");
    (cli, state)
}

fn entries(state: &SharedState, name: &str) -> Vec<String> {
    let dev = state.lock().unwrap();
    dev.running
        .groups
        .iter()
        .find(|g| g.name == name)
        .map(|g| g.entries.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}

#[test]
fn greeting_prompts() {
    let (mut cli, _) = session(CliOptions::default());
    assert_eq!(cli.greeting(), b"\r\nR1>");
    let (mut cli, _) = session(options());
    assert_eq!(cli.greeting(), b"\r\nR1#");
}

#[test]
fn show_object_group_matches_ntc_capture() {
    let (mut cli, _) = ready();
    send(
        &mut cli,
        "conf t\n\
         object-group network NNNN\n\
         object-group network TEST_NET_OGR\n\
         description ###TEST NETWORK OGR###\n\
         any\n\
         host 1.1.1.1\n\
         range 2.2.2.2 3.3.3.3\n\
         group-object NNNN\n\
         1.1.1.0 255.255.255.0\n\
         object-group network XXXX\n\
         object-group network YYYY\n\
         end\n",
    );
    let out = send(&mut cli, "show object-group\n");
    let body = out
        .strip_prefix("show object-group\n")
        .and_then(|s| s.strip_suffix("R1#"))
        .expect("echo, output, prompt");
    // The capture's network groups: each header with the indented lines under it.
    let mut expected = String::new();
    let mut keep = false;
    for line in NTC_OBJECT_GROUP.lines() {
        if !line.starts_with(' ') {
            keep = line.starts_with("Network object group ");
        }
        if keep {
            expected.push_str(line);
            expected.push('\n');
        }
    }
    assert_eq!(body, expected);
    // On the wire every line ends in CRLF.
    let raw = cli.input(b"sh obj name XXXX\n").output;
    assert_eq!(raw, b"sh obj name XXXX\r\nNetwork object group XXXX\r\nR1#");
}

#[test]
fn show_object_group_name_missing_prints_nothing() {
    let (mut cli, _) = ready();
    assert_eq!(
        send(&mut cli, "show object-group name NOPE\n"),
        "show object-group name NOPE\nR1#"
    );
}

fn version_output(version: &str) -> String {
    let state = device("rtr-01", version);
    let mut cli = Cli::new(state, Arc::new(options()));
    send(&mut cli, "terminal length 0\n");
    let out = send(&mut cli, "show version\n");
    out.strip_prefix("show version\n")
        .and_then(|s| s.strip_suffix("rtr-01#"))
        .expect("echo, output, prompt")
        .to_string()
}

#[test]
fn show_version_12_4_first_line_is_the_capture() {
    let out = version_output("12.4(6)T2");
    assert_eq!(out.lines().next(), VERSION_12_4.lines().next());
    assert!(out.contains("\nrtr-01 uptime is "));
    assert!(out.ends_with("\nConfiguration register is 0x2102\n"));
    // The same lines in the same places as the capture, up to the uptime.
    let shape = |s: &str| s.lines().take(8).map(str::is_empty).collect::<Vec<_>>();
    assert_eq!(shape(&out), shape(VERSION_12_4));
}

#[test]
fn show_version_15_first_line_has_the_capture_format() {
    let out = version_output("15.8(3)M2");
    let ours = out.lines().next().unwrap_or_default();
    let theirs = VERSION_15_8.lines().next().unwrap_or_default();
    // Same format, different platform: the capture is IOSv, the simulator a C2900.
    let skeleton = |l: &str| {
        let (head, rest) = l.split_once(" Software (").unwrap_or_default();
        let (_, tail) = rest.split_once("), ").unwrap_or_default();
        (
            head.split(',').next().map(str::to_string),
            tail.rsplit_once(" (fc").map(|(t, _)| t.to_string()),
        )
    };
    assert_eq!(skeleton(ours), skeleton(theirs));
    assert_eq!(
        ours,
        "Cisco IOS Software, C2900 Software (C2900-UNIVERSALK9-M), Version 15.8(3)M2, RELEASE SOFTWARE (fc1)"
    );
    assert!(out.contains("\nrtr-01 uptime is "));
    assert!(out.contains("System image file is \"flash0:c2900-universalk9-mz.SPA.158-3.M2.bin\""));
    assert!(out.ends_with("\nConfiguration register is 0x2102\n"));
    let default = version_output("");
    assert!(default.starts_with("Cisco IOS Software, C2900 Software (C2900-UNIVERSALK9-M), Version 15.7(3)M5, RELEASE SOFTWARE (fc1)\n"));
}

#[test]
fn show_version_xe_first_lines_are_the_capture_format() {
    let out = version_output("16.09.03");
    let mut ours = out.lines();
    let mut theirs = VERSION_XE.lines();
    assert_eq!(ours.next(), theirs.next());
    assert_eq!(
        ours.next(),
        Some(
            "Cisco IOS Software [Fuji], ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 16.9.3, RELEASE SOFTWARE (fc2)"
        )
    );
    assert!(
        theirs
            .next()
            .is_some_and(|l| l.starts_with("Cisco IOS Software [Fuji], ")
                && l.ends_with(", Version 16.9.3, RELEASE SOFTWARE (fc2)"))
    );
    assert!(
        version_output("17.03.04a").starts_with(
            "Cisco IOS XE Software, Version 17.03.04a\nCisco IOS Software [Amsterdam], "
        )
    );
}

#[test]
fn user_exec_session_reproduces_the_netmiko_capture() {
    let state = device("cisco1", "15.1(4)M4");
    let mut cli = Cli::new(state, Arc::new(CliOptions::default()));
    let mut out = lf(&cli.greeting());
    out += &send(&mut cli, "terminal width 511\n");
    out += &send(&mut cli, "terminal length 0\n");
    out += &send(&mut cli, "\n");
    out += &send(&mut cli, "show foooooooo\n");
    assert_eq!(
        out,
        "\ncisco1>terminal width 511\ncisco1>terminal length 0\ncisco1>\ncisco1>show foooooooo\n\
         \x20             ^\n% Invalid input detected at '^' marker.\n\ncisco1>"
    );
    // The router's side of the capture (netmiko also logged what it wrote).
    let error = "              ^\n% Invalid input detected at '^' marker.\n\ncisco1>";
    assert!(SESSION_USER.contains(&format!("show foooooooo\n{error}")));
    assert!(out.ends_with(&format!("cisco1>show foooooooo\n{error}")));
    assert!(SESSION_USER.contains("cisco1>terminal width 511\ncisco1>terminal length 0\n"));
    let exit = cli.input(b"exit\n");
    assert!(exit.close);
}

#[test]
fn priv_exec_session_reproduces_the_netmiko_capture() {
    let state = device("cisco1", "15.1(4)M4");
    let mut cli = Cli::new(state, Arc::new(options()));
    let mut out = lf(&cli.greeting());
    for line in ["\n", "terminal width 511\n", "terminal length 0\n", "\n"] {
        out += &send(&mut cli, line);
    }
    out += "show ip interface brief";
    assert!(SESSION_PRIV.starts_with(&out), "{out:?}");
    let table = send(&mut cli, "show ip interface brief\n");
    // Same header line, same column layout.
    assert_eq!(table.lines().nth(1), SESSION_PRIV.lines().nth(6));
}

#[test]
fn enable_good_password() {
    let (mut cli, _) = session(CliOptions {
        privileged_login: false,
        ..options()
    });
    cli.greeting();
    assert_eq!(send(&mut cli, "enable\n"), "enable\nPassword: ");
    assert!(!cli.in_config_mode());
    // The secret is not echoed.
    assert_eq!(send(&mut cli, "s3cret\n"), "\nR1#");
    assert_eq!(send(&mut cli, "enable\n"), "enable\nR1#");
    assert_eq!(send(&mut cli, "disable\n"), "disable\nR1>");
}

#[test]
fn enable_bad_password_then_good() {
    let (mut cli, _) = session(CliOptions {
        privileged_login: false,
        ..options()
    });
    send(&mut cli, "en\n");
    assert_eq!(send(&mut cli, "nope\n"), "\n% Access denied\n\nPassword: ");
    assert_eq!(send(&mut cli, "s3cret\n"), "\nR1#");
}

#[test]
fn enable_three_bad_passwords() {
    let (mut cli, _) = session(CliOptions {
        privileged_login: false,
        ..options()
    });
    let out = send(&mut cli, "enable\nbad1\nbad2\nbad3\n");
    assert_eq!(
        out,
        "enable\nPassword: \n% Access denied\n\nPassword: \n% Access denied\n\nPassword: \n% Bad secrets\n\nR1>"
    );
    assert!(!out.contains("bad"));
    // Back at the exec prompt: commands work again.
    assert_eq!(send(&mut cli, "\n"), "\nR1>");
}

#[test]
fn enable_without_secret() {
    let (mut cli, _) = session(CliOptions::default());
    assert_eq!(send(&mut cli, "enable\n"), "enable\n% No password set\nR1>");
}

#[test]
fn abbreviations() {
    let (mut cli, _) = ready();
    assert_eq!(
        send(&mut cli, "conf t\n"),
        "conf t\nEnter configuration commands, one per line.  End with CNTL/Z.\nR1(config)#"
    );
    assert!(cli.in_config_mode());
    assert_eq!(
        send(&mut cli, "obj n G1\n"),
        "obj n G1\nR1(config-network-group)#"
    );
    assert_eq!(
        send(&mut cli, "ho 10.0.0.1\n"),
        "ho 10.0.0.1\nR1(config-network-group)#"
    );
    assert_eq!(send(&mut cli, "ex\n"), "ex\nR1(config)#");
    assert_eq!(send(&mut cli, "ex\n"), "ex\nR1#");
    assert!(!cli.in_config_mode());
    assert_eq!(send(&mut cli, "term len 0\n"), "term len 0\nR1#");
    assert_eq!(
        send(&mut cli, "sh obj\n"),
        "sh obj\nNetwork object group G1\n host 10.0.0.1\nR1#"
    );
    assert_eq!(
        send(&mut cli, "SH OBJ NAME G1\n"),
        "SH OBJ NAME G1\nNetwork object group G1\n host 10.0.0.1\nR1#"
    );
    assert!(send(&mut cli, "sh run\n").contains("\nobject-group network G1\n host 10.0.0.1\n!\n"));
    assert_eq!(
        send(&mut cli, "wr\n"),
        "wr\nBuilding configuration...\n[OK]\nR1#"
    );
    assert_eq!(
        send(&mut cli, "wr mem\n"),
        "wr mem\nBuilding configuration...\n[OK]\nR1#"
    );
    assert!(cli.input(b"ex\n").close);
}

#[test]
fn ambiguous_invalid_incomplete() {
    let (mut cli, _) = ready();
    assert_eq!(send(&mut cli, "s\n"), "s\n% Ambiguous command:  \"s\"\nR1#");
    assert_eq!(
        send(&mut cli, "sh c\n"),
        "sh c\n% Ambiguous command:  \"sh c\"\nR1#"
    );
    assert_eq!(
        send(&mut cli, "terminal length\n"),
        "terminal length\n% Incomplete command.\n\nR1#"
    );
    assert_eq!(
        send(&mut cli, "show\n"),
        "show\n% Type \"show ?\" for a list of subcommands\nR1#"
    );
    // Caret under the first character that matches nothing: `xyz` at column 3.
    assert_eq!(
        send(&mut cli, "xyz\n"),
        "xyz\n   ^\n% Invalid input detected at '^' marker.\n\nR1#"
    );
    // `terminal length` range is 0-512; the caret marks the number.
    assert_eq!(
        send(&mut cli, "terminal length 1000\n"),
        "terminal length 1000\n                   ^\n% Invalid input detected at '^' marker.\n\nR1#"
    );
    // User exec has no `configure`: `con` matches `connect`, the `f` does not.
    let (mut user, _) = session(CliOptions::default());
    assert_eq!(
        send(&mut user, "conf t\n"),
        "conf t\n      ^\n% Invalid input detected at '^' marker.\n\nR1>"
    );
    // Exec commands are not configuration commands (`s` still matches `service`).
    send(&mut cli, "conf t\n");
    assert_eq!(
        send(&mut cli, "show run\n"),
        "show run\n            ^\n% Invalid input detected at '^' marker.\n\nR1(config)#"
    );
    assert_eq!(
        send(&mut cli, "en\n"),
        "en\n% Ambiguous command:  \"en\"\nR1(config)#"
    );
    assert_eq!(
        send(&mut cli, "object-group network\n"),
        "object-group network\n% Incomplete command.\n\nR1(config)#"
    );
}

#[test]
fn empty_line_reprints_prompt() {
    let (mut cli, _) = ready();
    assert_eq!(send(&mut cli, "\n"), "\nR1#");
    assert_eq!(send(&mut cli, "   \n"), "   \nR1#");
}

#[test]
fn config_entries_add_remove_and_no_ops() {
    let (mut cli, state) = ready();
    let out = send(
        &mut cli,
        "configure terminal\nobject-group network B\nhost 10.0.0.1\n10.1.0.0 255.255.0.0\n\
         range 10.2.0.1 10.2.0.9\nhost 10.0.0.1\nno host 10.9.9.9\nany\nno any\n\
         description blocked by tsfleet\nend\n",
    );
    assert!(!out.contains('%'), "{out}");
    assert!(out.ends_with("end\nR1#"));
    assert_eq!(
        entries(&state, "B"),
        [
            "host 10.0.0.1",
            "10.1.0.0 255.255.0.0",
            "range 10.2.0.1 10.2.0.9"
        ]
    );
    assert_eq!(
        send(&mut cli, "show object-group name B\n"),
        "show object-group name B\nNetwork object group B\n Description blocked by tsfleet\n \
         host 10.0.0.1\n 10.1.0.0 255.255.0.0\n range 10.2.0.1 10.2.0.9\nR1#"
    );
    send(
        &mut cli,
        "conf t\nobject-group network B\nno host 10.0.0.1\nno description\nend\n",
    );
    assert_eq!(entries(&state, "B").len(), 2);
    assert_eq!(state.lock().unwrap().running.groups[0].description, None);
    // A wildcard is not a mask.
    let out = send(
        &mut cli,
        "conf t\nobject-group network B\n10.3.0.0 0.0.255.255\n",
    );
    assert!(
        out.ends_with(
            "10.3.0.0 0.0.255.255\n                                  ^\n\
             % Invalid input detected at '^' marker.\n\nR1(config-network-group)#"
        ),
        "{out}"
    );
    // group-object needs an existing group.
    assert!(send(&mut cli, "group-object NOPE\n").contains("% Object-group NOPE does not exist\n"));
    send(&mut cli, "exit\nno object-group network B\nend\n");
    assert!(state.lock().unwrap().running.groups.is_empty());
}

#[test]
fn referenced_group_cannot_be_deleted_or_emptied() {
    let (mut cli, state) = ready();
    let out = send(
        &mut cli,
        "conf t\nobject-group network BLK\nhost 192.0.2.1\nhost 192.0.2.2\n\
         ip access-list extended EDGE\ndeny ip object-group BLK any\npermit ip any any\nexit\n",
    );
    assert!(!out.contains('%'), "{out}");
    assert_eq!(
        send(&mut cli, "no object-group network BLK\n"),
        "no object-group network BLK\n% Object-group BLK is being used\nR1(config)#"
    );
    send(&mut cli, "object-group network BLK\nno host 192.0.2.1\n");
    assert_eq!(
        send(&mut cli, "no host 192.0.2.2\n"),
        "no host 192.0.2.2\n% Object-group BLK is being used\nR1(config-network-group)#"
    );
    assert_eq!(entries(&state, "BLK"), ["host 192.0.2.2"]);
    // Once the ACL line is gone, the group can go.
    let out = send(
        &mut cli,
        "ip access-list extended EDGE\nno deny ip object-group BLK any\nexit\nno object-group network BLK\n",
    );
    assert!(!out.contains('%'), "{out}");
    assert!(entries(&state, "BLK").is_empty());
    let acl = &state.lock().unwrap().running.acls[0];
    assert_eq!(acl.lines, ["permit ip any any"]);
}

#[test]
fn acl_lines_and_missing_groups() {
    let (mut cli, state) = ready();
    let out = send(
        &mut cli,
        "conf t\nip access-list extended IN\ndeny ip any object-group GONE\n",
    );
    assert!(
        out.ends_with("% Object-group GONE does not exist\nR1(config-ext-nacl)#"),
        "{out}"
    );
    send(
        &mut cli,
        "object-group network A\nany\nip access-list extended IN\n10 deny ip any object-group A log\n\
         permit tcp any host 192.0.2.9 eq 22\nend\n",
    );
    let dev = state.lock().unwrap();
    assert_eq!(
        dev.running.acls[0].lines,
        [
            "deny ip any object-group A log",
            "permit tcp any host 192.0.2.9 eq 22"
        ]
    );
    drop(dev);
    let run = send(&mut cli, "show running-config | section access-list\n");
    assert_eq!(
        run,
        "show running-config | section access-list\nip access-list extended IN\n \
         deny   ip any object-group A log\n permit tcp any host 192.0.2.9 eq 22\nR1#"
    );
    assert_eq!(
        send(&mut cli, "show access-lists\n"),
        "show access-lists\nExtended IP access list IN\n    10 deny ip any object-group A log\n    \
         20 permit tcp any host 192.0.2.9 eq 22\nR1#"
    );
}

#[test]
fn global_commands_switch_context_from_sub_modes() {
    let (mut cli, state) = ready();
    let out = send(
        &mut cli,
        "conf t\nobject-group network A\nhost 1.1.1.1\nobject-group network B\nhost 2.2.2.2\n\
         ip access-list extended X\npermit ip any any\nobject-group network A\nhost 3.3.3.3\n",
    );
    assert!(!out.contains('%'), "{out}");
    assert!(out.ends_with("R1(config-network-group)#"));
    assert_eq!(entries(&state, "A"), ["host 1.1.1.1", "host 3.3.3.3"]);
    assert_eq!(entries(&state, "B"), ["host 2.2.2.2"]);
    // `do` runs an exec command and stays in the sub-mode.
    assert_eq!(
        send(&mut cli, "do show object-group name B\n"),
        "do show object-group name B\nNetwork object group B\n host 2.2.2.2\nR1(config-network-group)#"
    );
    assert_eq!(
        send(&mut cli, "do wr\n"),
        "do wr\nBuilding configuration...\n[OK]\nR1(config-network-group)#"
    );
    assert!(state.lock().unwrap().saved());
    // `do` with a bad exec command: the caret counts the whole line.
    assert_eq!(
        send(&mut cli, "do sh foo\n"),
        "do sh foo\n                                 ^\n% Invalid input detected at '^' marker.\n\n\
         R1(config-network-group)#"
    );
    // Unknown words in a sub-mode: the parent grammar got furthest (`bo` of `boot`).
    assert_eq!(
        send(&mut cli, "bogus\n"),
        "bogus\n                           ^\n% Invalid input detected at '^' marker.\n\n\
         R1(config-network-group)#"
    );
    // A bad address after `host`: `host` also abbreviates the unmodelled
    // `hostname`, but the sub-mode's own caret got further and stands.
    assert_eq!(
        send(&mut cli, "host 10.0.0.zz\n"),
        "host 10.0.0.zz\n                              ^\n% Invalid input detected at '^' marker.\n\n\
         R1(config-network-group)#"
    );
}

#[test]
fn end_and_ctrl_z() {
    let (mut cli, _) = ready();
    send(&mut cli, "conf t\nobject-group network A\n");
    assert_eq!(send(&mut cli, "end\n"), "end\nR1#");
    send(&mut cli, "conf t\nobject-group network A\n");
    assert_eq!(send(&mut cli, "ho\x1a"), "ho^Z\nR1#");
    assert!(!cli.in_config_mode());
    // Ctrl-Z in exec does nothing.
    assert_eq!(send(&mut cli, "\x1a"), "");
}

fn paged() -> (Cli, SharedState) {
    let (mut cli, state) = session(options());
    {
        let mut dev = state.lock().unwrap();
        let mut g = ObjectGroup {
            name: "BIG".to_string(),
            ..ObjectGroup::default()
        };
        for i in 0..49u32 {
            g.entries
                .insert(Entry::Host(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
        }
        dev.running.groups.push(g);
    }
    cli.greeting();
    (cli, state)
}

const ERASE: &str =
    "\x08\x08\x08\x08\x08\x08\x08\x08\x08         \x08\x08\x08\x08\x08\x08\x08\x08\x08";

#[test]
fn paging_space_enter_and_q() {
    let (mut cli, _) = paged();
    // 50 lines of output, 23 a page at the default length 24.
    let out = send(&mut cli, "show object-group\n");
    assert!(out.starts_with("show object-group\nNetwork object group BIG\n host 10.0.0.0\n"));
    assert_eq!(out.matches('\n').count(), 1 + 23);
    assert!(out.ends_with(" host 10.0.0.21\n --More-- "), "{out:?}");
    let out = send(&mut cli, " ");
    assert!(out.starts_with(&format!("{ERASE} host 10.0.0.22\n")));
    assert!(out.ends_with(" host 10.0.0.44\n --More-- "));
    assert_eq!(
        send(&mut cli, "\r"),
        format!("{ERASE} host 10.0.0.45\n --More-- ")
    );
    // The `\n` of that `\r\n` is the same key, even in the next call.
    assert_eq!(send(&mut cli, "\n"), "");
    assert_eq!(send(&mut cli, "q"), format!("{ERASE}R1#"));
    // The whole output with Space only ends in the prompt.
    send(&mut cli, "show object-group\n");
    send(&mut cli, " ");
    assert_eq!(
        send(&mut cli, " "),
        format!("{ERASE} host 10.0.0.45\n host 10.0.0.46\n host 10.0.0.47\n host 10.0.0.48\nR1#")
    );
}

#[test]
fn typed_ahead_lines_are_eaten_by_more() {
    let (mut cli, _) = paged();
    // A client that forgot `terminal length 0`: its next line answers --More--
    // (`s` stops the output), the rest is a line of its own (`h` matches `help`).
    let out = send(&mut cli, "show object-group\nshow clock\n");
    assert!(
        out.ends_with(&format!(
            " --More-- {ERASE}R1#how clock\n    ^\n% Invalid input detected at '^' marker.\n\nR1#"
        )),
        "{out:?}"
    );
}

#[test]
fn terminal_length_zero_turns_paging_off() {
    let (mut cli, _) = paged();
    send(&mut cli, "terminal length 0\n");
    let out = send(&mut cli, "show object-group\n");
    assert!(!out.contains("--More--"));
    assert!(out.ends_with(" host 10.0.0.48\nR1#"));
}

#[test]
fn partial_lines_and_split_crlf() {
    let (mut cli, _) = ready();
    let step = cli.input(b"sh");
    assert_eq!((step.output.as_slice(), step.lines), (&b"sh"[..], 0));
    let step = cli.input(b"ow clock\r");
    assert_eq!(step.lines, 1);
    assert_eq!(
        lf(&step.output),
        "ow clock\n*00:01:02.345 UTC Mon Mar 1 1993\nR1#"
    );
    // The `\n` of the `\r\n` arrives alone: not a second Enter.
    let step = cli.input(b"\n");
    assert_eq!(step, Step::default());
    // Lone `\r`, lone `\n` and `\r\n` are one Enter each.
    let step = cli.input(b"\r\n\n\r");
    assert_eq!(step.lines, 3);
    assert_eq!(lf(&step.output), "\nR1#\nR1#\nR1#");
    // Backspace edits the line.
    assert_eq!(
        send(&mut cli, "shx\x7fow clock\n").lines().nth(1),
        Some("*00:01:02.345 UTC Mon Mar 1 1993")
    );
}

#[test]
fn pipelined_lines_give_ordered_output() {
    let (mut cli, state) = ready();
    let mut input = String::from("conf t\nobject-group network P\n");
    for i in 0..200 {
        input.push_str(&format!("host 10.1.{}.{}\n", i / 250, i % 250));
    }
    input.push_str("end\n");
    let step = cli.input(input.as_bytes());
    assert_eq!(step.lines, 203);
    let mut expected = String::from(
        "conf t\nEnter configuration commands, one per line.  End with CNTL/Z.\n\
         R1(config)#object-group network P\nR1(config-network-group)#",
    );
    for i in 0..200 {
        expected.push_str(&format!(
            "host 10.1.{}.{}\nR1(config-network-group)#",
            i / 250,
            i % 250
        ));
    }
    expected.push_str("end\nR1#");
    assert_eq!(lf(&step.output), expected);
    assert_eq!(entries(&state, "P").len(), 200);
}

#[test]
fn error_entries_are_refused() {
    let (mut cli, state) = session(CliOptions {
        error_entries: ["host 10.0.0.5".to_string()].into(),
        ..options()
    });
    let out = send(
        &mut cli,
        "conf t\nobject-group network E\nhost 10.0.0.4\n host  10.0.0.5\nhost 10.0.0.6\n",
    );
    assert!(
        out.contains(
            "R1(config-network-group)# host  10.0.0.5\n                          ^\n\
             % Invalid input detected at '^' marker.\n\nR1(config-network-group)#host 10.0.0.6"
        ),
        "{out}"
    );
    assert_eq!(entries(&state, "E"), ["host 10.0.0.4", "host 10.0.0.6"]);
}

#[test]
fn max_group_entries_is_enforced() {
    let (mut cli, state) = session(CliOptions {
        max_group_entries: Some(2),
        ..options()
    });
    let out = send(
        &mut cli,
        "conf t\nobject-group network M\nhost 1.0.0.1\nhost 1.0.0.2\nhost 1.0.0.1\nhost 1.0.0.3\n",
    );
    assert!(out.ends_with(
        "host 1.0.0.3\n% Object-group M: maximum of 2 entries reached\nR1(config-network-group)#"
    ));
    assert_eq!(entries(&state, "M"), ["host 1.0.0.1", "host 1.0.0.2"]);
    // Room again after a removal.
    send(&mut cli, "no host 1.0.0.1\nhost 1.0.0.3\n");
    assert_eq!(entries(&state, "M").len(), 2);
}

#[test]
fn syslog_every_n_lines() {
    let (mut cli, _) = session(CliOptions {
        syslog_every: Some(2),
        ..options()
    });
    let out = send(&mut cli, "\n\n\n\n");
    assert_eq!(
        out,
        "\nR1#\nR1#\n*Mar  1 00:01:19.556: %SYS-5-CONFIG_I: Configured from console by vty0 (127.0.0.1)\nR1#\
         \nR1#\nR1#\n*Mar  1 00:01:36.767: %LINEPROTO-5-UPDOWN: Line protocol on Interface GigabitEthernet0/1, changed state to up\nR1#"
    );
}

#[test]
fn cost_accounting() {
    let ms = Duration::from_millis;
    let (mut cli, _) = session(CliOptions {
        cost: CostModel {
            line_cost: ms(2),
            per_1000_entries: ms(10),
        },
        ..options()
    });
    // Exec lines are free; `conf t` itself is an exec line.
    assert_eq!(cli.input(b"show clock\nconf t\n").cost, Duration::ZERO);
    assert_eq!(cli.input(b"object-group network C\n").cost, ms(2));
    let mut bulk = String::new();
    for i in 0..2000u32 {
        bulk.push_str(&format!(
            "host {}\n",
            std::net::Ipv4Addr::from(0x0b00_0000 + i)
        ));
    }
    let step = cli.input(bulk.as_bytes());
    assert_eq!(step.lines, 2000);
    // Sum over the lines of 2 ms + 10 ms * (entries before the line / 1000).
    let expected = ms(2) * 2000 + ms(10).mul_f64((0..2000).map(f64::from).sum::<f64>() / 1000.0);
    assert!(
        step.cost.abs_diff(expected) < Duration::from_micros(10),
        "{:?}",
        step.cost
    );
    assert_eq!(cli.input(b"exit\n").cost, ms(2) + ms(20));
    assert_eq!(cli.input(b"end\n").cost, ms(2));
    assert_eq!(cli.input(b"show clock\n").cost, Duration::ZERO);
}

#[test]
fn exit_closes_in_exec_only() {
    let (mut cli, _) = ready();
    let step = cli.input(b"conf t\nexit\n");
    assert!(!step.close);
    let step = cli.input(b"logout\nshow clock\n");
    assert!(step.close);
    assert_eq!(lf(&step.output), "logout\n");
    assert_eq!(cli.input(b"show clock\n"), Step::default());
    let (mut cli, _) = ready();
    assert!(cli.input(b"quit\r\n").close);
}

#[test]
fn copy_run_start_asks_for_the_destination() {
    let (mut cli, state) = ready();
    send(
        &mut cli,
        "conf t\nobject-group network S\nhost 1.2.3.4\nend\n",
    );
    assert!(!state.lock().unwrap().saved());
    assert_eq!(
        send(&mut cli, "copy run start\n"),
        "copy run start\nDestination filename [startup-config]? "
    );
    assert!(!state.lock().unwrap().saved());
    assert_eq!(
        send(&mut cli, "\n"),
        "\nBuilding configuration...\n[OK]\nR1#"
    );
    assert!(state.lock().unwrap().saved());
    assert!(
        send(&mut cli, "show startup-config\n")
            .contains("\nobject-group network S\n host 1.2.3.4\n!\n")
    );
}

#[test]
fn write_memory_saves() {
    let (mut cli, state) = ready();
    send(
        &mut cli,
        "conf t\nobject-group network S\nhost 1.2.3.4\nend\n",
    );
    assert!(!state.lock().unwrap().saved());
    assert_eq!(
        send(&mut cli, "write memory\n"),
        "write memory\nBuilding configuration...\n[OK]\nR1#"
    );
    let dev = state.lock().unwrap();
    assert!(dev.saved());
    assert_eq!(dev.startup, dev.running);
    assert_ne!(dev.startup, Config::default());
}

#[test]
fn running_config_and_filters() {
    let (mut cli, _) = ready();
    send(
        &mut cli,
        "conf t\nobject-group network A\ndescription d\nhost 1.1.1.1\nobject-group network B\nany\n\
         ip access-list extended X\ndeny ip object-group A any\nend\n",
    );
    let run = send(&mut cli, "show running-config\n");
    let body = run
        .strip_prefix("show running-config\n")
        .unwrap_or_default();
    assert!(body.starts_with("Building configuration...\n\nCurrent configuration : "));
    assert!(body.contains("\n!\nversion 15.7\n"));
    assert!(body.contains("\nhostname R1\n"));
    assert!(body.ends_with("\nend\nR1#"));
    // The byte count is the text from `!` to `end\n`.
    let (count_line, rest) = body
        .split_once("Current configuration : ")
        .and_then(|(_, r)| r.split_once(" bytes\n"))
        .unwrap_or_default();
    assert_eq!(
        count_line.parse::<usize>().ok(),
        rest.strip_suffix("R1#").map(str::len)
    );
    assert_eq!(
        send(&mut cli, "sh run | sec object-group\n"),
        "sh run | sec object-group\nobject-group network A\n description d\n host 1.1.1.1\n\
         object-group network B\n any\nip access-list extended X\n deny   ip object-group A any\nR1#"
    );
    assert_eq!(
        send(&mut cli, "sh run | i ^hostname\n"),
        "sh run | i ^hostname\nhostname R1\nR1#"
    );
    assert_eq!(
        send(&mut cli, "show run | include host\n"),
        "show run | include host\nhostname R1\n host 1.1.1.1\nR1#"
    );
}

#[test]
fn large_group_renders_quickly() {
    let (mut cli, state) = ready();
    let mut input = String::from("conf t\nobject-group network L\n");
    for i in 0..30_000u32 {
        input.push_str(&format!(
            "host {}\n",
            std::net::Ipv4Addr::from(0x0c00_0000 + i)
        ));
    }
    input.push_str("end\n");
    let step = cli.input(input.as_bytes());
    assert_eq!(step.lines, 30_003);
    assert_eq!(entries(&state, "L").len(), 30_000);
    let out = cli.input(b"show object-group name L\n").output;
    assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1 + 1 + 30_000);
    // Removing most entries one by one stays cheap (O(1) each).
    let mut input = String::from("conf t\nobject-group network L\n");
    for i in 1..30_000u32 {
        input.push_str(&format!(
            "no host {}\n",
            std::net::Ipv4Addr::from(0x0c00_0000 + i)
        ));
    }
    cli.input(input.as_bytes());
    assert_eq!(entries(&state, "L"), ["host 12.0.0.0"]);
}

#[test]
fn more_filters_and_privilege() {
    let (mut cli, _) = ready();
    send(
        &mut cli,
        "conf t\nobject-group network A\nhost 1.1.1.1\nhost 1.1.1.2\nend\n",
    );
    assert_eq!(
        send(&mut cli, "show object-group | begin 1.2\n"),
        "show object-group | begin 1.2\n host 1.1.1.2\nR1#"
    );
    assert_eq!(
        send(&mut cli, "show object-group | exclude 1.1.1.1\n"),
        "show object-group | exclude 1.1.1.1\nNetwork object group A\n host 1.1.1.2\nR1#"
    );
    assert_eq!(
        send(&mut cli, "show object-group | count host\n"),
        "show object-group | count host\nNumber of lines which match regexp = 2\nR1#"
    );
    assert_eq!(
        send(&mut cli, "show object-group | i 1.1.1.2$\n"),
        "show object-group | i 1.1.1.2$\n host 1.1.1.2\nR1#"
    );
    assert_eq!(
        send(&mut cli, "show privilege\n"),
        "show privilege\nCurrent privilege level is 15\nR1#"
    );
    assert_eq!(
        send(&mut cli, "show users\n"),
        "show users\n% Not supported by this simulator\nR1#"
    );
}

#[test]
fn show_filter_regex() {
    use super::show::matches;
    assert!(matches("^host", "hostname R1"));
    assert!(!matches("^host", " host 1.1.1.1"));
    assert!(matches("1.*4$", "host 1.2.3.4"));
    assert!(matches("_any_", " permit ip any any"));
    assert!(!matches("_an_", " permit ip any any"));
    assert!(matches("object-group", "object-group network X"));
}

// IOS XE `object-group v6-network` (issue 17): the dialogue as the module docs lay it out.

const NTC_OBJECT_GROUP_V6: &str =
    include_str!("../../../tests/golden/show_object-group-v6.ntc.raw");

/// A privileged IOS XE session with paging off.
fn ready_xe() -> (Cli, SharedState) {
    let state = device("R1", "17.9.4a");
    let mut cli = Cli::new(Arc::clone(&state), Arc::new(options()));
    cli.greeting();
    send(&mut cli, "terminal length 0\n");
    (cli, state)
}

fn v6_entries(state: &SharedState, name: &str) -> Option<Vec<String>> {
    let dev = state.lock().unwrap();
    dev.v6_group(name)
        .map(|g| g.entries.iter().map(ToString::to_string).collect())
}

#[test]
fn v6_group_dialogue_mixed_case_in_upper_case_out() {
    let (mut cli, state) = ready_xe();
    assert_eq!(
        send(&mut cli, "conf t\nobject-group v6-network BLK6\n"),
        "conf t\nEnter configuration commands, one per line.  End with CNTL/Z.\n\
         R1(config)#object-group v6-network BLK6\nR1(config-ipv6-object-group)#"
    );
    // Any case, compressed or not: one address is one entry.
    let out = send(
        &mut cli,
        "host 2001:db8::1\n2001:0DB8:0001:0000::/48\nhost 2001:DB8:0:0:0:0:0:1\n\
         2001:db8:1::/48\nhost fe80::AbCd\n",
    );
    assert!(!out.contains('%'), "{out}");
    assert_eq!(
        v6_entries(&state, "BLK6").unwrap(),
        ["host 2001:DB8::1", "2001:DB8:1::/48", "host FE80::ABCD"]
    );
    assert_eq!(
        send(&mut cli, "do show object-group name BLK6\n"),
        "do show object-group name BLK6\nV6-Network object group BLK6\n host 2001:DB8::1\n \
         2001:DB8:1::/48\n host FE80::ABCD\nR1(config-ipv6-object-group)#"
    );
    let out = send(&mut cli, "no HOST 2001:db8::1\nno 2001:db8:1:0::/48\nend\n");
    assert_eq!(
        out,
        "no HOST 2001:db8::1\nR1(config-ipv6-object-group)#no 2001:db8:1:0::/48\n\
         R1(config-ipv6-object-group)#end\nR1#"
    );
    assert_eq!(
        send(&mut cli, "show object-group\n"),
        "show object-group\nV6-Network object group BLK6\n host FE80::ABCD\nR1#"
    );
}

#[test]
fn v6_groups_in_running_and_startup_config_with_v4_groups() {
    let (mut cli, state) = ready_xe();
    send(
        &mut cli,
        "conf t\nobject-group network BLK\nhost 192.0.2.1\nobject-group v6-network BLK6\n\
         host 2001:db8::1\ndescription managed\nend\n",
    );
    assert_eq!(
        send(&mut cli, "show running-config | include object-group\n"),
        "show running-config | include object-group\nobject-group network BLK\n\
         object-group v6-network BLK6\nR1#"
    );
    assert_eq!(
        send(&mut cli, "show object-group v6-network\n"),
        "show object-group v6-network\nV6-Network object group BLK6\n Description managed\n \
         host 2001:DB8::1\nR1#"
    );
    assert_eq!(
        send(&mut cli, "show object-group network\n"),
        "show object-group network\nNetwork object group BLK\n host 192.0.2.1\nR1#"
    );
    assert!(!state.lock().unwrap().saved());
    send(&mut cli, "write memory\n");
    let dev = state.lock().unwrap();
    assert!(dev.saved());
    assert_eq!(dev.startup.v6_groups[0].name, "BLK6");
    drop(dev);
    let startup = send(&mut cli, "show startup-config\n");
    assert!(
        startup
            .contains("object-group v6-network BLK6\n description managed\n host 2001:DB8::1\n!\n"),
        "{startup}"
    );
    // A name is taken by one group type only.
    let out = send(&mut cli, "conf t\nobject-group v6-network BLK\n");
    assert!(
        out.ends_with(
            "object-group v6-network BLK\n% Object-group BLK already exists with a different type\nR1(config)#"
        ),
        "{out}"
    );
}

#[test]
fn empty_v6_groups_are_deleted_automatically() {
    let (mut cli, state) = ready_xe();
    // Entering a new group and leaving it creates nothing.
    send(
        &mut cli,
        "conf t\nobject-group v6-network E\ndescription nothing yet\nexit\n",
    );
    assert_eq!(v6_entries(&state, "E"), None);
    // The last entry removed takes the group with it.
    send(
        &mut cli,
        "object-group v6-network E\nhost 2001:db8::5\n2001:db8::/32\n",
    );
    send(&mut cli, "no 2001:DB8::/32\n");
    assert_eq!(v6_entries(&state, "E").unwrap(), ["host 2001:DB8::5"]);
    let out = send(&mut cli, "no host 2001:db8::5\n");
    assert_eq!(out, "no host 2001:db8::5\nR1(config-ipv6-object-group)#");
    assert_eq!(v6_entries(&state, "E"), None);
    assert_eq!(
        send(&mut cli, "do show object-group name E\n"),
        "do show object-group name E\nR1(config-ipv6-object-group)#"
    );
    // Removing an absent entry is accepted silently, as for IPv4 groups;
    // the next entry creates the group again.
    assert_eq!(
        send(&mut cli, "no host 2001:db8::9\nhost 2001:db8::6\n"),
        "no host 2001:db8::9\nR1(config-ipv6-object-group)#host 2001:db8::6\n\
         R1(config-ipv6-object-group)#"
    );
    assert_eq!(v6_entries(&state, "E").unwrap(), ["host 2001:DB8::6"]);
    send(&mut cli, "exit\nno object-group v6-network E\n");
    assert!(state.lock().unwrap().running.v6_groups.is_empty());
}

#[test]
fn v6_group_used_by_an_ipv6_acl_cannot_be_deleted_or_emptied() {
    let (mut cli, state) = ready_xe();
    // As a profile sets it up: the group and the ACL that uses it.
    {
        let mut dev = state.lock().unwrap();
        dev.running.v6_groups = vec![crate::sim::device::V6Group {
            name: "BLK6".into(),
            description: None,
            entries: [
                "host 2001:db8::1".parse().unwrap(),
                "2001:db8:1::/48".parse().unwrap(),
            ]
            .into_iter()
            .collect(),
        }];
        dev.running.v6_acls = vec![Acl {
            name: "EDGE6".into(),
            lines: vec!["deny ipv6 object-group BLK6 any".into()],
        }];
    }
    assert_eq!(
        send(&mut cli, "conf t\nno object-group v6-network BLK6\n"),
        "conf t\nEnter configuration commands, one per line.  End with CNTL/Z.\n\
         R1(config)#no object-group v6-network BLK6\n% Object-group BLK6 is being used\nR1(config)#"
    );
    send(
        &mut cli,
        "object-group v6-network BLK6\nno host 2001:db8::1\n",
    );
    assert_eq!(
        send(&mut cli, "no 2001:db8:1::/48\n"),
        "no 2001:db8:1::/48\n% Object-group BLK6 is being used\nR1(config-ipv6-object-group)#"
    );
    assert_eq!(v6_entries(&state, "BLK6").unwrap(), ["2001:DB8:1::/48"]);
    // The ACL is edited in its own mode; once the line is gone the group can go.
    let out = send(
        &mut cli,
        "ipv6 access-list EDGE6\npermit ipv6 any any\nno deny ipv6 object-group BLK6 any\n\
         deny ipv6 object-group NOPE any\n",
    );
    assert!(
        out.contains("R1(config-ipv6-acl)#permit ipv6 any any\nR1(config-ipv6-acl)#"),
        "{out}"
    );
    assert!(
        out.ends_with("% Object-group NOPE does not exist\nR1(config-ipv6-acl)#"),
        "{out}"
    );
    let out = send(
        &mut cli,
        "exit\nobject-group v6-network BLK6\nno 2001:db8:1::/48\n",
    );
    assert!(!out.contains('%'), "{out}");
    assert!(state.lock().unwrap().running.v6_groups.is_empty());
    assert_eq!(
        send(&mut cli, "do show access-lists\n"),
        "do show access-lists\nIPv6 access list EDGE6\n    permit ipv6 any any sequence 10\n\
         R1(config-ipv6-object-group)#"
    );
}

#[test]
fn classic_ios_has_no_v6_network_groups() {
    let (mut cli, state) = ready();
    assert_eq!(
        send(&mut cli, "conf t\nobject-group v6-network BLK6\n"),
        "conf t\nEnter configuration commands, one per line.  End with CNTL/Z.\n\
         R1(config)#object-group v6-network BLK6\n                        ^\n\
         % Invalid input detected at '^' marker.\n\nR1(config)#"
    );
    assert_eq!(
        send(&mut cli, "do show object-group v6-network\n"),
        "do show object-group v6-network\n                                ^\n\
         % Invalid input detected at '^' marker.\n\nR1(config)#"
    );
    assert!(state.lock().unwrap().running.v6_groups.is_empty());
}

#[test]
fn v6_entry_errors_carets_and_faults() {
    let state = device("R1", "16.09.03");
    let opts = CliOptions {
        error_entries: ["host 2001:DB8::66".to_string()].into(),
        max_group_entries: Some(2),
        ..options()
    };
    let mut cli = Cli::new(Arc::clone(&state), Arc::new(opts));
    cli.greeting();
    send(
        &mut cli,
        "terminal length 0\nconf t\nobject-group v6-network G\n",
    );
    assert_eq!(
        send(&mut cli, "host 2001:db8::zz\n"),
        "host 2001:db8::zz\n                                  ^\n\
         % Invalid input detected at '^' marker.\n\nR1(config-ipv6-object-group)#"
    );
    assert_eq!(
        send(&mut cli, "2001:db8::/129\n"),
        "2001:db8::/129\n                                        ^\n\
         % Invalid input detected at '^' marker.\n\nR1(config-ipv6-object-group)#"
    );
    assert_eq!(
        send(&mut cli, "2001:db8::1\n"),
        "2001:db8::1\n% Incomplete command.\n\nR1(config-ipv6-object-group)#"
    );
    // The error_entries fault matches the address in any case; its caret goes
    // under the entry, as for IPv4 entries.
    assert_eq!(
        send(&mut cli, "host 2001:db8::66\n"),
        "host 2001:db8::66\n                             ^\n\
         % Invalid input detected at '^' marker.\n\nR1(config-ipv6-object-group)#"
    );
    assert_eq!(
        v6_entries(&state, "G"),
        None,
        "a refused first entry creates no group"
    );
    let out = send(
        &mut cli,
        "host 2001:db8::1\nhost 2001:db8::2\nhost 2001:db8::3\n",
    );
    assert!(
        out.ends_with(
            "% Object-group G: maximum of 2 entries reached\nR1(config-ipv6-object-group)#"
        ),
        "{out}"
    );
    assert_eq!(
        v6_entries(&state, "G").unwrap(),
        ["host 2001:DB8::1", "host 2001:DB8::2"]
    );
}

#[test]
fn show_v6_object_group_matches_ntc_capture_case_insensitively() {
    // The capture's v6-network group, typed in lower case as the capture shows it.
    let capture: Vec<&str> = NTC_OBJECT_GROUP_V6
        .lines()
        .take_while(|l| !l.starts_with("V6-Service"))
        .collect();
    let name = capture[0].strip_prefix("V6-Network object group ").unwrap();
    let (mut cli, _) = ready_xe();
    let mut typed = format!("conf t\nobject-group v6-network {name}\n");
    for entry in &capture[1..] {
        typed.push_str(&entry.trim().to_lowercase());
        typed.push('\n');
    }
    typed.push_str("end\n");
    let out = send(&mut cli, &typed);
    assert!(!out.contains('%'), "{out}");
    let out = send(&mut cli, "show object-group\n");
    let body = out
        .strip_prefix("show object-group\n")
        .and_then(|s| s.strip_suffix("R1#"))
        .expect("echo, output, prompt");
    let shown: Vec<&str> = body.lines().collect();
    assert_eq!(shown.len(), capture.len(), "{body}");
    for (s, c) in shown.iter().zip(&capture) {
        assert!(s.eq_ignore_ascii_case(c), "{s:?} vs the capture's {c:?}");
    }
    // Upper case, as the issue's IOS XE sources show addresses.
    assert_eq!(shown[1], " host 2001:DB8::1:1111");
}
