//! The device tasks besides syncing: `check`, a preflight that changes
//! nothing, and `remove`, back to the state before tsfleet. Both run on an
//! open [`CliSession`] and leave configuration mode on errors too.

use super::DeviceError;
use super::ios::{self, Support};
use super::shell::{CliSession, Link};

/// What `check` found on one device.
#[derive(Clone, Debug, Default)]
pub struct CheckOutcome {
    pub version: Option<String>,
    /// Findings that are not failures, worded for the operator.
    pub notes: Vec<String>,
}

/// Preflight: enable, IOS release, whether the groups exist and whether an
/// ACL uses them. An unsupported release fails the device; everything else
/// is a note.
pub async fn check<L: Link>(
    session: &mut CliSession<L>,
    enable_secret: Option<&str>,
    groups: &[String],
) -> Result<CheckOutcome, DeviceError> {
    super::phase("enable");
    session.enable(enable_secret).await?;
    super::phase("reading version and groups");
    let mut batch = vec![
        "terminal length 0".to_string(),
        "terminal width 511".into(),
        "show version".into(),
    ];
    batch.push("show running-config | include object-group".into());
    let commands: Vec<&str> = batch.iter().map(String::as_str).collect();
    let outputs = session.commands(&commands).await?;
    let mut outcome = CheckOutcome::default();
    let version = ios::parse_show_version(&outputs[2]);
    match &version {
        Some(v) => {
            outcome.version = Some(v.version.clone());
            match ios::assess_version(v) {
                Support::Supported => {}
                Support::Warn(text) => outcome.notes.push(text),
                Support::Unsupported(reason) => {
                    return Err(DeviceError::Unsupported {
                        device: session.device().to_string(),
                        reason,
                    });
                }
            }
        }
        None => outcome
            .notes
            .push("`show version` did not say which IOS release this is".into()),
    }
    let config = &outputs[3];
    for group in groups {
        let defined = config
            .lines()
            .any(|l| l.trim() == format!("object-group network {group}"));
        let used = ios::acl_references(config, group);
        if !defined {
            outcome.notes.push(format!(
                "group {group} does not exist yet (apply creates it)"
            ));
        } else if used.is_empty() {
            outcome.notes.push(format!(
                "group {group} is not used by any ACL, so it blocks nothing (`tsfleet acl` prints the lines)"
            ));
        }
    }
    Ok(outcome)
}

/// What `remove` did on one device.
#[derive(Clone, Debug, Default)]
pub struct RemoveOutcome {
    /// Groups deleted, with the entries they held.
    pub removed: Vec<(String, usize)>,
    pub saved: bool,
}

/// Delete tsfleet's groups, unless an ACL still uses one: then nothing is
/// touched and the ACL lines are shown, for the operator to remove first.
pub async fn remove<L: Link>(
    session: &mut CliSession<L>,
    enable_secret: Option<&str>,
    groups: &[String],
    save_config: bool,
) -> Result<RemoveOutcome, DeviceError> {
    session.enable(enable_secret).await?;
    super::phase("reading groups");
    let mut batch = vec!["terminal length 0".to_string(), "terminal width 511".into()];
    batch.push("show running-config | include object-group".into());
    batch.extend(groups.iter().map(|g| format!("show object-group name {g}")));
    let commands: Vec<&str> = batch.iter().map(String::as_str).collect();
    let outputs = session.commands(&commands).await?;
    let config = &outputs[2];
    let mut in_use = Vec::new();
    for group in groups {
        in_use.extend(
            ios::acl_references(config, group)
                .into_iter()
                .map(|l| format!("{group}: {l}")),
        );
    }
    if !in_use.is_empty() {
        return Err(DeviceError::Refused {
            device: session.device().to_string(),
            group: groups.join(", "),
            reason: format!(
                "still used by ACL lines, so nothing was removed; remove these lines first: {}",
                in_use.join(" | ")
            ),
        });
    }
    let mut outcome = RemoveOutcome::default();
    for (group, output) in groups.iter().zip(&outputs[3..]) {
        if output
            .lines()
            .any(|l| l.trim() == format!("Network object group {group}"))
        {
            let entries = output.lines().filter(|l| l.starts_with(' ')).count();
            outcome.removed.push((group.clone(), entries));
        }
    }
    if outcome.removed.is_empty() {
        return Ok(outcome);
    }
    super::phase("removing groups");
    let mut lines = vec!["configure terminal".to_string()];
    lines.extend(
        outcome
            .removed
            .iter()
            .map(|(g, _)| format!("no object-group network {g}")),
    );
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
