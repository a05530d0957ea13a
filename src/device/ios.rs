//! The IOS dialect: the commands tsfleet sends and parsers of what real IOS
//! prints back (`show object-group`, `show version`). Pure functions, tested
//! on real device captures.

use crate::domain::Family;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};

/// One network object-group as `show object-group` prints it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupContents {
    pub name: String,
    /// `Network object group` (IPv4) or `V6-Network object group` (IPv6).
    pub family: Family,
    /// `host A` and `A MASK` (IPv4) or `host A` and `A/LEN` (IPv6) entries:
    /// the ones tsfleet manages, as addresses (IOS XE prints IPv6 in upper
    /// case; the text is never compared).
    pub managed: BTreeSet<IpNet>,
    /// Entries tsfleet never removes (`range`, `group-object`, `any`,
    /// `Description`), as printed.
    pub unmanaged: Vec<String>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of `show object-group`: {message}: {text:?}")]
pub struct ParseError {
    pub line: usize,
    pub text: String,
    pub message: &'static str,
}

/// Parse the network object-groups (IPv4 and IPv6) in `show object-group`
/// output. Service groups are skipped; unknown entry forms are errors, so a
/// reply tsfleet does not understand never looks like an empty group.
pub fn parse_object_groups(output: &str) -> Result<Vec<GroupContents>, ParseError> {
    let mut groups = Vec::new();
    let mut current: Option<GroupContents> = None;
    // True while inside a group of another kind (service, v6) whose entries we skip.
    let mut skipping = false;
    for (i, raw) in output.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let err = |message| ParseError {
            line: i + 1,
            text: line.to_string(),
            message,
        };
        if !line.starts_with(' ') {
            if let Some(g) = current.take() {
                groups.push(g);
            }
            let header = Family::ALL
                .into_iter()
                .find_map(|family| Some((line.strip_prefix(group_header(family))?, family)));
            if let Some((name, family)) = header {
                current = Some(GroupContents {
                    name: name.trim().to_string(),
                    family,
                    ..Default::default()
                });
                skipping = false;
            } else if line.contains("object group ") {
                skipping = true;
            } else {
                return Err(err("not an object-group header"));
            }
            continue;
        }
        if skipping {
            continue;
        }
        let Some(group) = current.as_mut() else {
            return Err(err("an entry before any group header"));
        };
        let entry = line.trim();
        match parse_entry(group.family, entry) {
            Some(EntryKind::Managed(net)) => {
                group.managed.insert(net);
            }
            Some(EntryKind::Unmanaged) => group.unmanaged.push(entry.to_string()),
            None => return Err(err("not a network object-group entry")),
        }
    }
    if let Some(g) = current.take() {
        groups.push(g);
    }
    Ok(groups)
}

/// The contents of group `name` in `show object-group name NAME` output;
/// IOS prints nothing for a group that does not exist (and IOS XE deletes
/// an IPv6 group that became empty), which is an empty group of `family`.
/// A group of that name in the other family is returned as found: the
/// caller refuses it.
pub fn parse_group(output: &str, name: &str, family: Family) -> Result<GroupContents, ParseError> {
    Ok(parse_object_groups(output)?
        .into_iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| GroupContents {
            name: name.to_string(),
            family,
            ..Default::default()
        }))
}

enum EntryKind {
    Managed(IpNet),
    Unmanaged,
}

fn parse_entry(family: Family, entry: &str) -> Option<EntryKind> {
    match family {
        Family::Ipv4 => parse_v4_entry(entry),
        Family::Ipv6 => parse_v6_entry(entry),
    }
}

/// `host A`, `A/LEN`, `group-object G`, `any`, `Description …`; any case.
fn parse_v6_entry(entry: &str) -> Option<EntryKind> {
    let words: Vec<&str> = entry.split_whitespace().collect();
    match words.as_slice() {
        [host, a] if host.eq_ignore_ascii_case("host") => Some(EntryKind::Managed(
            Ipv6Net::new(a.parse::<Ipv6Addr>().ok()?, 128).ok()?.into(),
        )),
        ["group-object", _] | ["any"] => Some(EntryKind::Unmanaged),
        ["Description", ..] | ["description", ..] => Some(EntryKind::Unmanaged),
        [p] => Some(EntryKind::Managed(p.parse::<Ipv6Net>().ok()?.into())),
        _ => None,
    }
}

fn parse_v4_entry(entry: &str) -> Option<EntryKind> {
    let words: Vec<&str> = entry.split_whitespace().collect();
    match words.as_slice() {
        ["host", a] => Some(EntryKind::Managed(
            Ipv4Net::new(a.parse().ok()?, 32).ok()?.into(),
        )),
        ["range", a, b] => {
            a.parse::<Ipv4Addr>().ok()?;
            b.parse::<Ipv4Addr>().ok()?;
            Some(EntryKind::Unmanaged)
        }
        ["group-object", _] | ["any"] => Some(EntryKind::Unmanaged),
        ["Description", ..] | ["description", ..] => Some(EntryKind::Unmanaged),
        [a, m] => {
            let addr: Ipv4Addr = a.parse().ok()?;
            let mask: Ipv4Addr = m.parse().ok()?;
            let len = ipnet::ipv4_mask_to_prefix(mask).ok()?;
            Some(EntryKind::Managed(Ipv4Net::new(addr, len).ok()?.into()))
        }
        _ => None,
    }
}

/// A managed entry line of a `family` group back to its prefix, as
/// [`entry_line`] writes it; `None` for anything else.
pub fn managed_entry(family: Family, line: &str) -> Option<IpNet> {
    match parse_entry(family, line)? {
        EntryKind::Managed(net) => Some(net),
        EntryKind::Unmanaged => None,
    }
}

/// The digest of a group's managed entries (`sha256:` hex over each entry
/// line in sorted order, each ending in a newline): what a saved plan
/// records a group held, and `apply --plan` compares before sending anything.
pub fn entries_digest(managed: &BTreeSet<IpNet>) -> String {
    crate::domain::sha256_digest(managed.iter().map(|n| format!("{}\n", entry_line(n))))
}

/// The entry line for a prefix: IPv4 `host A` for a /32, `A MASK`
/// otherwise; IPv6 `host A` for a /128, `A/LEN` otherwise, in upper case
/// and compressed, as IOS XE prints them back.
pub fn entry_line(net: &IpNet) -> String {
    match net {
        IpNet::V4(n) if n.prefix_len() == 32 => format!("host {}", n.addr()),
        IpNet::V4(n) => format!("{} {}", n.network(), n.netmask()),
        IpNet::V6(n) if n.prefix_len() == 128 => {
            format!("host {}", n.addr().to_string().to_ascii_uppercase())
        }
        IpNet::V6(n) => format!("{}/{}", n.network(), n.prefix_len()).to_ascii_uppercase(),
    }
}

/// The configuration command that enters (and creates) a group.
pub fn group_command(family: Family, name: &str) -> String {
    format!("{} {name}", family.object_group())
}

/// How `show object-group` heads a group of `family`, up to its name.
pub fn group_header(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "Network object group ",
        Family::Ipv6 => "V6-Network object group ",
    }
}

/// Why a device cannot carry IPv6 object groups, if it cannot: only IOS XE
/// has `object-group v6-network` (issue 17), so classic IOS, or a release
/// `show version` did not name, is refused before anything is pushed.
pub fn v6_groups_problem(version: Option<&IosVersion>) -> Option<String> {
    match version {
        Some(v) if v.ios_xe => None,
        Some(v) => Some(format!(
            "runs IOS {}, which has no `object-group v6-network`: IPv6 object groups need \
             IOS XE; set `ipv6: false` for it",
            v.version
        )),
        None => Some(
            "`show version` did not say which IOS release this is, and IPv6 object groups \
             (`object-group v6-network`) need IOS XE; check the device, or set `ipv6: false` for it"
                .into(),
        ),
    }
}

/// The group size limit a `%` refusal of an entry states, if it is a full
/// group's: `% Object-group G: maximum of N entries reached` (the
/// simulator's wording, `src/sim/cli.rs`; no capture of a real router's is
/// in the repository, so any `maximum of N entries` is read as one).
pub fn group_full_limit(message: &str) -> Option<usize> {
    let (_, rest) = message.split_once("maximum of ")?;
    let (number, rest) = rest.split_once(' ')?;
    rest.starts_with("entries")
        .then(|| number.replace(',', "").parse().ok())
        .flatten()
}

/// What `show version` says about the software.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IosVersion {
    /// As printed, e.g. `12.4(22)T5`, `15.7(3)M5`, `16.09.03`.
    pub version: String,
    pub ios_xe: bool,
}

/// Read the version from `show version`'s first lines.
pub fn parse_show_version(output: &str) -> Option<IosVersion> {
    for line in output.lines().take(5) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Cisco IOS XE Software, Version ") {
            return Some(IosVersion {
                version: rest.split([',', ' ']).next()?.to_string(),
                ios_xe: true,
            });
        }
        if line.starts_with("Cisco IOS Software") || line.starts_with("IOS (tm)") {
            let at = line.find("Version ")? + "Version ".len();
            // IOS XE 3.x (ASR 1000, ISR 4000) names its IOSd release first
            // (`Version 15.5(3)S4b`) and says `IOS XE Version: 03.16…` later.
            let ios_xe = output
                .lines()
                .any(|l| l.trim().starts_with("IOS XE Version:"));
            return Some(IosVersion {
                version: line[at..].split([',', ' ']).next()?.to_string(),
                ios_xe,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_real_show_object_group_capture() {
        let groups = parse_object_groups(&fixture("show_object-group.ntc.raw")).unwrap();
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            ["NNNN", "TEST_NET_OGR", "XXXX", "YYYY"],
            "service groups skipped"
        );
        let g = &groups[1];
        assert_eq!(
            g.managed.iter().copied().collect::<Vec<_>>(),
            [net("1.1.1.0/24"), net("1.1.1.1/32")]
        );
        assert_eq!(
            g.unmanaged,
            [
                "Description ###TEST NETWORK OGR###",
                "any",
                "range 2.2.2.2 3.3.3.3",
                "group-object NNNN"
            ]
        );
        assert!(
            groups[0].managed.is_empty() && groups[0].unmanaged.is_empty(),
            "empty group"
        );
    }

    #[test]
    fn ipv6_groups_of_the_real_capture_are_read_as_addresses() {
        let groups = parse_object_groups(&fixture("show_object-group-v6.ntc.raw")).unwrap();
        assert_eq!(groups.len(), 1, "the V6-Service group is skipped");
        let g = &groups[0];
        assert_eq!((g.name.as_str(), g.family), ("TEST-v6-obj", Family::Ipv6));
        let expected: BTreeSet<IpNet> = [
            "2001:db8::1:1111/128",
            "2001:db8::2:2222/128",
            "2001:db8:111:1::/48",
            "2001:db8:222:2::/48",
        ]
        .iter()
        .map(|s| net(s))
        .collect();
        assert_eq!(g.managed, expected);
        // IOS XE's upper case reads as the same addresses.
        let upper = fixture("show_object-group-v6.ntc.raw").to_ascii_uppercase();
        let upper = upper.replace(
            "V6-NETWORK OBJECT GROUP TEST-V6-OBJ",
            "V6-Network object group TEST-v6-obj",
        );
        let upper = upper
            .replace(" HOST ", " host ")
            .replace("V6-SERVICE OBJECT GROUP", "V6-Service object group");
        let g = parse_group(&upper, "TEST-v6-obj", Family::Ipv6).unwrap();
        assert_eq!(g.managed, expected);
    }

    #[test]
    fn ipv6_entry_lines_are_upper_case_and_round_trip() {
        assert_eq!(entry_line(&net("2001:db8::1/128")), "host 2001:DB8::1");
        assert_eq!(entry_line(&net("2001:db8:1::/48")), "2001:DB8:1::/48");
        for s in ["2001:db8::1/128", "2001:db8:1::/48", "::/0"] {
            let line = entry_line(&net(s));
            assert_eq!(managed_entry(Family::Ipv6, &line), Some(net(s)), "{line}");
            assert_eq!(managed_entry(Family::Ipv4, &line), None, "{line}");
        }
    }

    #[test]
    fn an_absent_group_is_empty_and_crlf_is_accepted() {
        assert_eq!(
            parse_group("", "threatstop-block", Family::Ipv4)
                .unwrap()
                .managed
                .len(),
            0
        );
        let out =
            "Network object group threatstop-block\r\n host 192.0.2.1\r\n 10.0.0.0 255.0.0.0\r\n";
        let g = parse_group(out, "threatstop-block", Family::Ipv4).unwrap();
        assert_eq!(g.managed.len(), 2);
    }

    #[test]
    fn unknown_output_is_an_error_not_an_empty_group() {
        let e =
            parse_group("% Invalid input detected at '^' marker.", "G", Family::Ipv4).unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse_group(
            "Network object group G\n host 300.1.1.1\n",
            "G",
            Family::Ipv4,
        )
        .unwrap_err();
        assert_eq!(e.message, "not a network object-group entry");
        let e = parse_group(
            "Network object group G\n 10.0.0.0 255.0.255.0\n",
            "G",
            Family::Ipv4,
        )
        .unwrap_err();
        assert_eq!(e.line, 2, "a non-contiguous mask is not a prefix");
    }

    #[test]
    fn entry_lines_round_trip() {
        for s in ["192.0.2.1/32", "10.0.0.0/8", "198.51.100.0/24", "0.0.0.0/0"] {
            let line = entry_line(&net(s));
            let g = parse_group(
                &format!("Network object group G\n {line}\n"),
                "G",
                Family::Ipv4,
            )
            .unwrap();
            assert_eq!(g.managed.into_iter().next().unwrap(), net(s), "{line}");
        }
        assert_eq!(entry_line(&net("192.0.2.1/32")), "host 192.0.2.1");
        assert_eq!(entry_line(&net("10.0.0.0/8")), "10.0.0.0 255.0.0.0");
    }

    #[test]
    fn ios_xe_3_is_ios_xe_though_it_names_its_iosd_release_first() {
        let out = "Cisco IOS Software, ASR1000 Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), \
                   Version 15.5(3)S4b, RELEASE SOFTWARE (fc1)\n\
                   Technical Support: http://www.cisco.com/techsupport\n\
                   Copyright (c) 1986-2016 by Cisco Systems, Inc.\n\
                   Compiled Tue 04-Oct-16 11:41 by mcpre\n\n\n\
                   IOS XE Version: 03.16.04b.S\n";
        let v = parse_show_version(out).unwrap();
        assert_eq!((v.version.as_str(), v.ios_xe), ("15.5(3)S4b", true));
    }

    #[test]
    fn versions_from_the_real_captures() {
        let v = parse_show_version(&fixture("show_version_c1801_12.4.ntc.raw")).unwrap();
        assert_eq!((v.version.as_str(), v.ios_xe), ("12.4(6)T2", false));
        let v = parse_show_version(&fixture("show_version_iosv_15.8.ntc.raw")).unwrap();
        assert_eq!((v.version.as_str(), v.ios_xe), ("15.8(3)M2", false));
        let v = parse_show_version(&fixture("show_version_c9500_xe16.9.ntc.raw")).unwrap();
        assert_eq!((v.version.as_str(), v.ios_xe), ("16.09.03", true));
        assert_eq!(parse_show_version("% Invalid input"), None);
    }
}

/// Whether an IOS release can carry the lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    Supported,
    /// Works, with a known problem worth upgrading for.
    Warn(String),
    /// Cannot carry object-group ACLs.
    Unsupported(String),
}

/// The vendor's guidance: object-group ACLs need 12.4(20)T or later, and
/// T releases before 12.4(22)T5 have a firewall defect. 15.x and IOS-XE are fine.
pub fn assess_version(v: &IosVersion) -> Support {
    if v.ios_xe {
        return Support::Supported;
    }
    let Some((major, minor, release, train)) = split_version(&v.version) else {
        return Support::Warn(format!(
            "unrecognised IOS version {:?}; check it supports object-group ACLs",
            v.version
        ));
    };
    if major >= 15 {
        return Support::Supported;
    }
    let t_train = train.starts_with('T');
    if major == 12 && minor == 4 && t_train {
        let rebuild: u32 = train[1..].parse().unwrap_or(0);
        if release < 20 {
            return Support::Unsupported(format!(
                "IOS {} has no object-group ACLs (they came in 12.4(20)T); upgrade to 12.4(22)T5 or later",
                v.version
            ));
        }
        if release < 22 || (release == 22 && rebuild < 5) {
            return Support::Warn(format!(
                "IOS {} has a firewall defect fixed in 12.4(22)T5 (vendor guidance): upgrade",
                v.version
            ));
        }
        return Support::Supported;
    }
    Support::Unsupported(format!(
        "IOS {} has no object-group ACLs (they need 12.4(20)T or later, 15.x or IOS-XE)",
        v.version
    ))
}

/// `12.4(22)T5` → (12, 4, 22, "T5").
fn split_version(text: &str) -> Option<(u32, u32, u32, &str)> {
    let (numbers, rest) = text.split_once('(')?;
    let (major, minor) = numbers.split_once('.')?;
    let (release, train) = rest.split_once(')')?;
    let release: String = release.chars().take_while(char::is_ascii_digit).collect();
    Some((
        major.parse().ok()?,
        minor.parse().ok()?,
        release.parse().ok()?,
        train,
    ))
}

/// The lines of `show running-config | include object-group` that use
/// `group` in an ACL (not the group's own definition, not other groups).
pub fn acl_references(running_config_lines: &str, group: &str) -> Vec<String> {
    running_config_lines
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("object-group ") && !l.starts_with("group-object "))
        .filter(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words
                .windows(2)
                .any(|w| w[0] == "object-group" && w[1] == group)
        })
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod version_tests {
    use super::*;

    fn v(text: &str) -> Support {
        assess_version(&IosVersion {
            version: text.into(),
            ios_xe: false,
        })
    }

    #[test]
    fn the_vendor_guidance() {
        assert!(matches!(v("12.4(6)T2"), Support::Unsupported(_)));
        assert!(matches!(v("12.4(20)T"), Support::Warn(_)));
        assert!(matches!(v("12.4(22)T4"), Support::Warn(_)));
        assert_eq!(v("12.4(22)T5"), Support::Supported);
        assert_eq!(v("12.4(24)T1"), Support::Supported);
        assert!(
            matches!(v("12.4(25f)"), Support::Unsupported(_)),
            "mainline 12.4"
        );
        assert_eq!(v("15.7(3)M5"), Support::Supported);
        assert_eq!(
            assess_version(&IosVersion {
                version: "16.09.03".into(),
                ios_xe: true
            }),
            Support::Supported
        );
        assert!(matches!(v("weird"), Support::Warn(_)));
    }

    #[test]
    fn a_full_group_refusal_states_its_limit() {
        assert_eq!(
            group_full_limit("% Object-group threatstop-block: maximum of 4000 entries reached"),
            Some(4000)
        );
        assert_eq!(
            group_full_limit("% Invalid input detected at '^' marker."),
            None
        );
        assert_eq!(group_full_limit("% maximum of many entries"), None);
    }

    #[test]
    fn acl_references_find_ipv6_acl_lines_too() {
        // `show running-config | include object-group` on IOS XE.
        let lines = "object-group network threatstop-block\nobject-group v6-network threatstop-block-v6\n deny   ip object-group threatstop-block any\n deny ipv6 object-group threatstop-block-v6 any\n permit ipv6 any object-group threatstop-block-v6\n";
        assert_eq!(
            acl_references(lines, "threatstop-block-v6"),
            [
                "deny ipv6 object-group threatstop-block-v6 any",
                "permit ipv6 any object-group threatstop-block-v6"
            ]
        );
        assert_eq!(acl_references(lines, "threatstop-block").len(), 1);
    }

    #[test]
    fn ipv6_groups_need_ios_xe() {
        let v = |version: &str, ios_xe| IosVersion {
            version: version.into(),
            ios_xe,
        };
        assert_eq!(v6_groups_problem(Some(&v("17.9.4a", true))), None);
        let problem = v6_groups_problem(Some(&v("15.7(3)M5", false))).unwrap();
        assert!(
            problem.starts_with("runs IOS 15.7(3)M5, which has no `object-group v6-network`")
                && problem.ends_with("set `ipv6: false` for it"),
            "{problem}"
        );
        assert!(
            v6_groups_problem(None)
                .unwrap()
                .contains("`show version` did not say")
        );
    }

    #[test]
    fn acl_references_skip_definitions() {
        let lines = "object-group network threatstop-block\n deny   ip object-group threatstop-block any\n permit ip any object-group threatstop-blocks\n group-object threatstop-block\n";
        assert_eq!(
            acl_references(lines, "threatstop-block"),
            ["deny   ip object-group threatstop-block any"]
        );
    }
}
