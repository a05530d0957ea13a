//! The device tasks besides syncing: `check`, a preflight that changes
//! nothing, and `remove`, back to the state before tsfleet. Both run on an
//! open [`CliSession`] and leave configuration mode on errors too.

use super::DeviceError;
use super::ios::{self, Support};
use super::shell::{CliSession, Link};
use crate::domain::Family;

/// One of tsfleet's groups on a device, as `check` and `remove` name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupName {
    pub name: String,
    /// `object-group network` (IPv4) or `object-group v6-network` (IPv6).
    pub family: Family,
}

/// What `check` found on one device.
#[derive(Clone, Debug, Default)]
pub struct CheckOutcome {
    pub version: Option<String>,
    /// Findings that are not failures, worded for the operator.
    pub notes: Vec<String>,
}

/// Preflight: enable, IOS release, whether IPv6 object groups are
/// available, whether the groups exist and whether an ACL uses them. An
/// unsupported release fails the device (for IPv6 groups: anything but IOS
/// XE); everything else is a note.
pub async fn check<L: Link>(
    session: &mut CliSession<L>,
    enable_secret: Option<&str>,
    groups: &[GroupName],
) -> Result<CheckOutcome, DeviceError> {
    super::phase("enable");
    session.enable(enable_secret).await?;
    super::phase("reading version and groups");
    let outputs = session
        .commands(&[
            "terminal length 0",
            "terminal width 511",
            "show version",
            "show running-config | include object-group",
        ])
        .await?;
    let mut outcome = CheckOutcome::default();
    let version = ios::parse_show_version(&outputs[2]);
    let unsupported = |reason| DeviceError::Unsupported {
        device: session.device().to_string(),
        reason,
    };
    match &version {
        Some(v) => {
            outcome.version = Some(v.version.clone());
            match ios::assess_version(v) {
                Support::Supported => {}
                Support::Warn(text) => outcome.notes.push(text),
                Support::Unsupported(reason) => return Err(unsupported(reason)),
            }
        }
        None => outcome
            .notes
            .push("`show version` did not say which IOS release this is".into()),
    }
    let ipv6 = groups.iter().any(|g| g.family == Family::Ipv6);
    if ipv6 && let Some(reason) = ios::v6_groups_problem(version.as_ref()) {
        return Err(unsupported(reason));
    }
    if let Some(v) = &version {
        outcome.notes.push(match (v.ios_xe, ipv6) {
            (true, true) => format!(
                "IPv6 object groups: available (IOS XE {}); ipv6 is on, so the lists' IPv6 items go into its v6-network groups",
                v.version
            ),
            (true, false) => format!(
                "IPv6 object groups: available (IOS XE {}), so it could carry the lists' IPv6 items too: set `ipv6: true` for it",
                v.version
            ),
            (false, _) => format!(
                "IPv6 object groups: not available (IOS {} is not IOS XE); the lists' IPv6 items are not carried",
                v.version
            ),
        });
    }
    let config = &outputs[3];
    for group in groups {
        let name = &group.name;
        let defined_as = |family| {
            let definition = ios::group_command(family, name);
            config.lines().any(|l| l.trim() == definition)
        };
        let (other, acl) = (group.family.other(), group.family.acl());
        if defined_as(other) {
            outcome.notes.push(format!(
                "group {name} exists as an {other} object-group, where tsfleet keeps {} entries: \
                 apply refuses it; give the {} groups other names in the inventory",
                group.family, group.family
            ));
        } else if !defined_as(group.family) {
            outcome.notes.push(match group.family {
                Family::Ipv4 => format!("IPv4 group {name} does not exist yet (apply creates it)"),
                // IOS XE keeps no empty IPv6 group.
                Family::Ipv6 => format!(
                    "IPv6 group {name} does not exist yet (apply creates it once its lists have IPv6 items)"
                ),
            });
        } else if ios::acl_references(config, name).is_empty() {
            outcome.notes.push(format!(
                "{} group {name} is not used by any {acl}, so it blocks nothing (`tsfleet acl` prints the lines)",
                group.family
            ));
        }
    }
    Ok(outcome)
}

/// What `remove` did on one device.
#[derive(Clone, Debug, Default)]
pub struct RemoveOutcome {
    /// Groups deleted, with their family and the entries they held.
    pub removed: Vec<(String, crate::domain::Family, usize)>,
    pub saved: bool,
}

/// Delete tsfleet's groups, unless an ACL still uses one: then nothing is
/// touched and the ACL lines are shown, for the operator to remove first.
pub async fn remove<L: Link>(
    session: &mut CliSession<L>,
    enable_secret: Option<&str>,
    groups: &[GroupName],
    save_config: bool,
) -> Result<RemoveOutcome, DeviceError> {
    session.enable(enable_secret).await?;
    super::phase("reading groups");
    let mut batch = vec!["terminal length 0".to_string(), "terminal width 511".into()];
    batch.push("show running-config | include object-group".into());
    batch.extend(
        groups
            .iter()
            .map(|g| format!("show object-group name {}", g.name)),
    );
    let commands: Vec<&str> = batch.iter().map(String::as_str).collect();
    let outputs = session.commands(&commands).await?;
    let config = &outputs[2];
    let mut in_use = Vec::new();
    for group in groups {
        in_use.extend(
            ios::acl_references(config, &group.name)
                .into_iter()
                .map(|l| format!("{}: {l}", group.name)),
        );
    }
    if !in_use.is_empty() {
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        return Err(DeviceError::Refused {
            device: session.device().to_string(),
            group: names.join(", "),
            reason: format!(
                "still used by ACL lines, so nothing was removed; remove these lines first: {}",
                in_use.join(" | ")
            ),
        });
    }
    let mut outcome = RemoveOutcome::default();
    let mut lines = vec!["configure terminal".to_string()];
    for (group, output) in groups.iter().zip(&outputs[3..]) {
        // Only a group of its own family: one of the other family that
        // took the name is not tsfleet's.
        let header = format!("{}{}", ios::group_header(group.family), group.name);
        if output.lines().any(|l| l.trim() == header) {
            let entries = output.lines().filter(|l| l.starts_with(' ')).count();
            outcome
                .removed
                .push((group.name.clone(), group.family, entries));
            lines.push(format!(
                "no {}",
                ios::group_command(group.family, &group.name)
            ));
        }
    }
    if outcome.removed.is_empty() {
        return Ok(outcome);
    }
    super::phase("removing groups");
    lines.push("end".into());
    let commands: Vec<&str> = lines.iter().map(String::as_str).collect();
    if let Err(e) = session.commands(&commands).await {
        let _ = session.leave_config().await;
        return Err(e);
    }
    if save_config {
        let out = session.command("write memory").await?;
        outcome.saved = out.contains("[OK]");
    }
    Ok(outcome)
}
