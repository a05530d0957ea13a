//! What the `show` commands print, with `\n` line endings (the CLI turns them
//! into `\r\n` on the wire). Layouts follow the captures in
//! `tests/golden/`; where a capture is silent the choice is noted.

use super::super::device::{Config, DeviceState, ObjectGroup, V6Group, is_ios_xe};
use super::parse::{Filter, Groups};
use std::fmt::Write;

/// The version the simulator reports when the device has none set.
pub const DEFAULT_VERSION: &str = "15.7(3)M5";

fn version_of(dev: &DeviceState) -> &str {
    if dev.version.is_empty() {
        DEFAULT_VERSION
    } else {
        &dev.version
    }
}

/// `15.7(3)M5` → `15.7`; `16.09.03` → `16.9` (as `version` in running-config).
fn train(version: &str) -> String {
    let mut parts = version
        .split(['.', '('])
        .map(|p| p.trim_start_matches('0'))
        .map(|p| if p.is_empty() { "0" } else { p });
    let major = parts.next().unwrap_or("15");
    let minor: String = parts
        .next()
        .unwrap_or("0")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    format!("{major}.{minor}")
}

/// `16.09.03` → `16.9.3`, as the second line of XE's `show version` prints it.
fn xe_short(version: &str) -> String {
    version
        .split('.')
        .map(|p| {
            let t = p.trim_start_matches('0');
            if t.is_empty() || !t.starts_with(|c: char| c.is_ascii_digit()) {
                format!("0{t}")
            } else {
                t.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// `12.4(22)T5` → `124-22.T5`, `15.7(3)M5` → `157-3.M5` (image file names).
fn image_tag(version: &str) -> String {
    let cleaned: String = version
        .replace(['(', ')'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut it = cleaned.split(' ');
    let train = it.next().unwrap_or("").replace('.', "");
    let rebuild = it.next().unwrap_or("");
    let rest = it.next().unwrap_or("");
    if rest.is_empty() {
        format!("{train}-{rebuild}")
    } else {
        format!("{train}-{rebuild}.{rest}")
    }
}

const CRYPTO_NOTICE: &str = "\
This product contains cryptographic features and is subject to United
States and local country laws governing import, export, transfer and
use. Delivery of Cisco cryptographic products does not imply
third-party authority to import, export, distribute or use encryption.
Importers, exporters, distributors and users are responsible for
compliance with U.S. and local country laws. By using this product you
agree to comply with applicable laws and regulations. If you are unable
to comply with U.S. and local laws, return this product immediately.

A summary of U.S. laws governing Cisco cryptographic products may be found at:
http://www.cisco.com/wwl/export/crypto/tool/stqrg.html

If you require further assistance please contact us by sending email to
export@cisco.com.
";

const UPTIME: &str = "1 week, 3 days, 16 hours, 11 minutes";

/// `show version`: the 12.4 layout (Cisco 1801 capture), the 15.x layout
/// (IOSv 15.8 capture, as a C2900 ISR) or the IOS-XE layout (C9500 capture,
/// as an ISR4331).
pub fn version(dev: &DeviceState) -> String {
    let v = version_of(dev);
    let host = &dev.hostname;
    if is_ios_xe(v) {
        let short = xe_short(v);
        let release = xe_release(&short);
        return format!(
            "Cisco IOS XE Software, Version {v}
Cisco IOS Software [{release}], ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version {short}, RELEASE SOFTWARE (fc2)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2019 by Cisco Systems, Inc.
Compiled Wed 20-Mar-19 07:56 by mcpre


Cisco IOS-XE software, Copyright (c) 2005-2019 by cisco Systems, Inc.
All rights reserved.  Certain components of Cisco IOS-XE software are
licensed under the GNU General Public License (\"GPL\") Version 2.0.  The
software code licensed under GPL Version 2.0 is free software that comes
with ABSOLUTELY NO WARRANTY.  You can redistribute and/or modify such
GPL code under the terms of GPL Version 2.0.  For more details, see the
documentation or \"License Notice\" file accompanying the IOS-XE software,
or the applicable URL provided on the flyer accompanying the IOS-XE
software.


ROM: IOS-XE ROMMON

{host} uptime is {UPTIME}
Uptime for this control processor is {UPTIME}
System returned to ROM by Reload Command
System image file is \"bootflash:isr4300-universalk9.{v}.SPA.bin\"
Last reload reason: Reload Command



{CRYPTO_NOTICE}

cisco ISR4331/K9 (1RU) processor with 1795999K/6147K bytes of memory.
Processor board ID FDO21520TGH
3 Gigabit Ethernet interfaces
32768K bytes of non-volatile configuration memory.
4194304K bytes of physical memory.
3223551K bytes of flash memory at bootflash:.

Configuration register is 0x2102
"
        );
    }
    let tag = image_tag(v);
    if v.starts_with("12.") {
        return format!(
            "Cisco IOS Software, C180X Software (C180X-ADVIPSERVICESK9-M), Version {v}, RELEASE SOFTWARE (fc1)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2010 by Cisco Systems, Inc.
Compiled Tue 16-Mar-10 12:12 by prod_rel_team

ROM: System Bootstrap, Version 12.3(8r)YH6, RELEASE SOFTWARE (fc1)

{host} uptime is {UPTIME}
System returned to ROM by power-on
System image file is \"flash:c180x-advipservicesk9-mz.{tag}.bin\"


{CRYPTO_NOTICE}
Cisco 1801 (MPC8500) processor (revision 0x400) with 118784K/12288K bytes of memory.
Processor board ID FHK102KKKKK, with hardware revision 0000

9 FastEthernet interfaces
1 ISDN Basic Rate interface
1 ATM interface
62720K bytes of ATA CompactFlash (Read/Write)

Configuration register is 0x2102
"
        );
    }
    format!(
        "Cisco IOS Software, C2900 Software (C2900-UNIVERSALK9-M), Version {v}, RELEASE SOFTWARE (fc1)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2019 by Cisco Systems, Inc.
Compiled Thu 31-Jan-19 10:45 by prod_rel_team


ROM: System Bootstrap, Version 15.0(1r)M16, RELEASE SOFTWARE (fc1)

{host} uptime is {UPTIME}
System returned to ROM by power-on
System image file is \"flash0:c2900-universalk9-mz.SPA.{tag}.bin\"
Last reload type: Normal Reload
Last reload reason: power-on



{CRYPTO_NOTICE}
Cisco CISCO2911/K9 (revision 1.0) with 483328K/40960K bytes of memory.
Processor board ID FTX1840ALBQ
3 Gigabit Ethernet interfaces
1 terminal line
DRAM configuration is 64 bits wide with parity disabled.
255K bytes of non-volatile configuration memory.
250880K bytes of ATA System CompactFlash 0 (Read/Write)



Configuration register is 0x2102
"
    )
}

/// Release names in the bracket of XE's second line.
fn xe_release(short: &str) -> &'static str {
    let mut it = short.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    match (it.next().unwrap_or(16), it.next().unwrap_or(0)) {
        (16, 0..=3) => "Denali",
        (16, 4..=6) => "Everest",
        (16, 7..=9) => "Fuji",
        (16, _) => "Gibraltar",
        (17, 0..=3) => "Amsterdam",
        (17, 4..=6) => "Bengaluru",
        (17, 7..=9) => "Cupertino",
        _ => "Dublin",
    }
}

/// One group as `show object-group` prints it (ntc capture): unindented
/// header, ` Description` first with a capital D, entries indented one space.
pub fn object_group(out: &mut String, g: &ObjectGroup) {
    let _ = writeln!(out, "Network object group {}", g.name);
    if let Some(d) = &g.description {
        let _ = writeln!(out, " Description {d}");
    }
    for e in &g.entries {
        let _ = writeln!(out, " {e}");
    }
}

/// One v6 group as `show object-group` prints it (ntc v6 capture's layout,
/// upper-case addresses as the IOS XE sources show them).
fn v6_object_group(out: &mut String, g: &V6Group) {
    let _ = writeln!(out, "V6-Network object group {}", g.name);
    if let Some(d) = &g.description {
        let _ = writeln!(out, " Description {d}");
    }
    for e in &g.entries {
        let _ = writeln!(out, " {e}");
    }
}

/// `show object-group [name X]`; a name that matches nothing prints nothing.
pub fn object_groups(cfg: &Config, name: Option<&str>) -> String {
    match name {
        Some(n) => groups(cfg, &Groups::Named(n.to_string())),
        None => groups(cfg, &Groups::All),
    }
}

/// `show object-group [name X | network | v6-network]`: IPv4 groups, then
/// IPv6 ones (*chosen* order; the captures hold one family each).
pub fn groups(cfg: &Config, which: &Groups) -> String {
    let named = |name: &str| match which {
        Groups::Named(n) => n == name,
        _ => true,
    };
    let mut out = String::new();
    if *which != Groups::V6 {
        for g in cfg.groups.iter().filter(|g| named(&g.name)) {
            object_group(&mut out, g);
        }
    }
    if *which != Groups::V4 {
        for g in cfg.v6_groups.iter().filter(|g| named(&g.name)) {
            v6_object_group(&mut out, g);
        }
    }
    out
}

/// An ACL line as running-config prints it: IOS pads `deny` to the width of
/// `permit`, so columns line up (` deny   ip any any`).
fn acl_line_padded(line: &str) -> String {
    match line.strip_prefix("deny ") {
        Some(rest) => format!("deny   {rest}"),
        None => line.to_string(),
    }
}

/// The configuration text from the first `!` to `end`.
fn config_body(dev: &DeviceState, cfg: &Config) -> String {
    let mut out = String::with_capacity(
        1024 + cfg
            .groups
            .iter()
            .map(|g| g.entries.len() * 24)
            .sum::<usize>(),
    );
    let _ = write!(
        out,
        "!
version {}
service timestamps debug datetime msec
service timestamps log datetime msec
no service password-encryption
!
hostname {}
!
boot-start-marker
boot-end-marker
!
!
no aaa new-model
!
ip cef
no ipv6 cef
!
",
        train(version_of(dev)),
        dev.hostname
    );
    for g in &cfg.groups {
        let _ = writeln!(out, "object-group network {}", g.name);
        if let Some(d) = &g.description {
            let _ = writeln!(out, " description {d}");
        }
        for e in &g.entries {
            let _ = writeln!(out, " {e}");
        }
        out.push_str("!\n");
    }
    for g in &cfg.v6_groups {
        let _ = writeln!(out, "object-group v6-network {}", g.name);
        if let Some(d) = &g.description {
            let _ = writeln!(out, " description {d}");
        }
        for e in &g.entries {
            let _ = writeln!(out, " {e}");
        }
        out.push_str("!\n");
    }
    out.push_str(
        "!
interface GigabitEthernet0/0
 ip address dhcp
 duplex auto
 speed auto
!
",
    );
    for acl in &cfg.acls {
        let _ = writeln!(out, "ip access-list extended {}", acl.name);
        for l in &acl.lines {
            let _ = writeln!(out, " {}", acl_line_padded(l));
        }
        out.push_str("!\n");
    }
    for acl in &cfg.v6_acls {
        let _ = writeln!(out, "ipv6 access-list {}", acl.name);
        for l in &acl.lines {
            let _ = writeln!(out, " {l}");
        }
        out.push_str("!\n");
    }
    out.push_str(
        "!
line con 0
line vty 0 4
 login local
 transport input ssh
!
end
",
    );
    out
}

/// `show running-config`. The byte count is of the text after its own line.
pub fn running_config(dev: &DeviceState) -> String {
    let body = config_body(dev, &dev.running);
    format!(
        "Building configuration...\n\nCurrent configuration : {} bytes\n{body}",
        body.len()
    )
}

/// `show startup-config`.
pub fn startup_config(dev: &DeviceState) -> String {
    let body = config_body(dev, &dev.startup);
    format!("Using {} out of 262144 bytes\n{body}", body.len())
}

/// `show access-lists [NAME]`: sequence numbers in steps of 10, indented 4.
pub fn access_lists(cfg: &Config, name: Option<&str>) -> String {
    let mut out = String::new();
    for acl in cfg.acls.iter().filter(|a| name.is_none_or(|n| n == a.name)) {
        let _ = writeln!(out, "Extended IP access list {}", acl.name);
        for (i, l) in acl.lines.iter().enumerate() {
            let _ = writeln!(out, "    {} {l}", (i + 1) * 10);
        }
    }
    // IOS prints an IPv6 ACL's sequence numbers after the line.
    for acl in cfg
        .v6_acls
        .iter()
        .filter(|a| name.is_none_or(|n| n == a.name))
    {
        let _ = writeln!(out, "IPv6 access list {}", acl.name);
        for (i, l) in acl.lines.iter().enumerate() {
            let _ = writeln!(out, "    {l} sequence {}", (i + 1) * 10);
        }
    }
    out
}

/// A fixed interface table in the layout of the Cisco 881 capture.
pub const IP_INTERFACE_BRIEF: &str = "\
Interface                  IP-Address      OK? Method Status                Protocol
GigabitEthernet0/0         192.0.2.1       YES DHCP   up                    up      
GigabitEthernet0/1         unassigned      YES unset  administratively down down    
GigabitEthernet0/2         unassigned      YES unset  administratively down down    
";

/// Apply `| include` and friends to `\n`-terminated output.
pub fn filter(text: &str, f: &Filter) -> String {
    let mut out = String::new();
    match f {
        Filter::Include(p) => text
            .lines()
            .filter(|l| matches(p, l))
            .for_each(|l| push_line(&mut out, l)),
        Filter::Exclude(p) => text
            .lines()
            .filter(|l| !matches(p, l))
            .for_each(|l| push_line(&mut out, l)),
        Filter::Begin(p) => text
            .lines()
            .skip_while(|l| !matches(p, l))
            .for_each(|l| push_line(&mut out, l)),
        Filter::Count(p) => {
            let n = text.lines().filter(|l| matches(p, l)).count();
            let _ = writeln!(out, "Number of lines which match regexp = {n}");
        }
        Filter::Section(p) => {
            // A section is an unindented line and the indented lines under
            // it; a section is printed whole when any of its lines matches.
            let mut section: Vec<&str> = Vec::new();
            let mut hit = false;
            let flush = |section: &mut Vec<&str>, hit: &mut bool, out: &mut String| {
                if *hit {
                    section.iter().for_each(|l| push_line(out, l));
                }
                section.clear();
                *hit = false;
            };
            for l in text.lines() {
                if !l.starts_with(' ') {
                    flush(&mut section, &mut hit, &mut out);
                }
                hit |= matches(p, l);
                section.push(l);
            }
            flush(&mut section, &mut hit, &mut out);
        }
    }
    out
}

fn push_line(out: &mut String, l: &str) {
    out.push_str(l);
    out.push('\n');
}

/// A small regular-expression matcher for output filters: literals, `.`,
/// `*` (after a character or `.`), `^` and `$` anchors, and `_` as IOS's
/// word boundary (start, end, space, comma, braces, parentheses).
pub fn matches(pattern: &str, text: &str) -> bool {
    // Most filters are plain words: skip the matcher for them.
    if !pattern.contains(['.', '*', '^', '$', '_']) {
        return text.contains(pattern);
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    if let Some(rest) = p.strip_prefix(&['^']) {
        return match_here(rest, &t, true);
    }
    (0..=t.len()).any(|i| match_here(&p, &t[i..], i == 0))
}

fn match_here(p: &[char], t: &[char], at_start: bool) -> bool {
    match p {
        [] => true,
        ['$'] => t.is_empty(),
        [c, '*', rest @ ..] => {
            let mut i = 0;
            loop {
                if match_here(rest, &t[i..], at_start && i == 0) {
                    return true;
                }
                if i < t.len() && char_matches(*c, t[i]) {
                    i += 1;
                } else {
                    return false;
                }
            }
        }
        ['_', rest @ ..] => {
            if at_start && match_here(rest, t, true) || t.is_empty() && rest.is_empty() {
                return true;
            }
            matches!(t.first(), Some(' ' | ',' | '{' | '}' | '(' | ')'))
                && match_here(rest, &t[1..], false)
        }
        [c, rest @ ..] => t
            .first()
            .is_some_and(|x| char_matches(*c, *x) && match_here(rest, &t[1..], false)),
    }
}

fn char_matches(p: char, c: char) -> bool {
    p == '.' || p == c
}
