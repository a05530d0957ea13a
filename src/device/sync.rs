//! One device, start to finish: enable, terminal settings, read each group,
//! diff it, and (when applying) push the changes, verify by reading back,
//! push what still differs (at most twice more per step), save, and leave.
//! Config mode is always left, on errors too.
//!
//! Never neither the old list nor the new one (issue 13, point 3): a group
//! gets all its adds first, and its removals only once every add was
//! acknowledged without error (or read back), so at every moment it holds
//! the whole old list or the whole new one. Then:
//! * A refused add (a full group, or any `%` error) stops the group's push:
//!   nothing is removed, the group holds the old list and the adds that went
//!   in. That is at least what was saved, so it is saved (when `save_config`)
//!   and a reload cannot bring back less; the device fails (`group-full` for
//!   a full group, with the limit it stated).
//! * A stop (Ctrl-C, SIGTERM) during a group's adds takes this run's adds
//!   back, leaving exactly the old list, so interrupted runs never grow a
//!   group; during its removals (the new list is whole) they are finished.
//!   Nothing is saved, and no further group is started.
//! * A failed or stopped device reports what reached the running
//!   configuration ([`DeviceError::Partial`]).

use super::DeviceError;
use super::ios::{self, GroupContents};
pub use super::outcome::{GroupOutcome, SyncOutcome};
use super::shell::{CliSession, Link, PushResult};
use crate::domain::Family;
use crate::plan::{self, Change};
use ipnet::IpNet;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A group and the prefixes it must hold.
#[derive(Clone, Debug)]
pub struct GroupTarget {
    pub name: String,
    /// `object-group network` (IPv4) or `object-group v6-network` (IPv6).
    pub family: Family,
    /// Shared by every device of the policy: a run keeps one copy per
    /// policy, not one per device (`runner::prepare`).
    pub desired: Arc<BTreeSet<IpNet>>,
    /// `apply --plan`: what the saved plan read and will change; `desired`
    /// is then ignored and becomes what was read with the plan's change
    /// made ([`desired_of_plan`]), once the group is found as the plan saw it.
    pub planned: Option<PlannedGroup>,
}

/// One group of a saved plan, for `apply --plan`.
#[derive(Clone, Debug)]
pub struct PlannedGroup {
    /// The digest of the entries the plan read ([`ios::entries_digest`]).
    pub observed: String,
    /// The lines the plan found (`None`: no change).
    pub change_set: Option<std::sync::Arc<plan::ChangeSet>>,
}

/// What a group must hold after a saved plan's change: `observed` less the
/// plan's removals, plus its adds. The lines are read back with the IOS
/// entry parser; a line that is not an entry, a removal of an entry not
/// held or an add of one already held is refused (the plan was not made
/// from `observed`), naming the line.
pub fn desired_of_plan(
    family: Family,
    observed: &BTreeSet<IpNet>,
    set: Option<&plan::ChangeSet>,
) -> Result<BTreeSet<IpNet>, String> {
    let mut desired = observed.clone();
    let Some(set) = set else {
        return Ok(desired);
    };
    let entry = |line: &String| {
        ios::managed_entry(family, line)
            .ok_or_else(|| format!("{line:?} in the plan is not an {family} entry"))
    };
    for line in set.remove() {
        if !desired.remove(&entry(line)?) {
            return Err(format!(
                "the plan removes {line:?}, which the group does not hold"
            ));
        }
    }
    for line in set.add() {
        if !desired.insert(entry(line)?) {
            return Err(format!(
                "the plan adds {line:?}, which the group holds already"
            ));
        }
    }
    Ok(desired)
}

#[derive(Clone, Debug)]
pub struct SyncRequest {
    pub enable_secret: Option<String>,
    /// In the order they are handled (allow group first).
    pub groups: Vec<GroupTarget>,
    /// Push the changes (`apply`); otherwise only read and diff (`plan`).
    pub apply: bool,
    /// `write memory` after a change.
    pub save_config: bool,
    /// The run's change sets, shared by its devices' outcomes.
    pub change_sets: plan::ChangeSets,
    /// Report each group's digest as read (`observed`): only a plan that is
    /// saved needs it (`plan --out`, an interactive apply's preview), so
    /// other runs do not hash every entry of every device.
    pub record_observed: bool,
}

/// Push rounds of a step (adds, or removals) after its first one, for what
/// the read-back still finds missing.
pub const MAX_REPUSH_ROUNDS: u32 = 2;

/// Bring the device's groups to the desired sets (or, with `apply: false`,
/// report the diff). An error after the push began is a
/// [`DeviceError::Partial`] with what reached the device.
pub async fn sync<L: Link>(
    session: &mut CliSession<L>,
    request: &SyncRequest,
) -> Result<SyncOutcome, DeviceError> {
    let mut outcome = SyncOutcome::default();
    let mut pushing = false;
    match sync_inner(session, request, &mut outcome, &mut pushing).await {
        Ok(()) => Ok(outcome),
        Err(error) => {
            session.transcript.note("error: leaving configuration mode");
            let _ = session.leave_config().await;
            Err(if pushing {
                DeviceError::Partial {
                    error: Box::new(error),
                    reached: Box::new(outcome),
                }
            } else {
                error
            })
        }
    }
}

/// A saved plan's group as it is pushed: refused with `drift` (before
/// anything is sent) when it no longer holds what the plan read.
fn planned_target(
    device: &str,
    group: &GroupTarget,
    planned: &PlannedGroup,
    managed: &BTreeSet<IpNet>,
    observed: &str,
) -> Result<GroupTarget, DeviceError> {
    if planned.observed != observed {
        return Err(DeviceError::Drift {
            device: device.to_string(),
            group: group.name.clone(),
            planned: planned.observed.clone(),
            found: observed.to_string(),
        });
    }
    let desired = desired_of_plan(group.family, managed, planned.change_set.as_deref()).map_err(
        |reason| DeviceError::Refused {
            device: device.to_string(),
            group: group.name.clone(),
            reason,
        },
    )?;
    Ok(GroupTarget {
        name: group.name.clone(),
        family: group.family,
        desired: Arc::new(desired),
        planned: None,
    })
}

/// How a group's push ended, when the session is still usable.
enum GroupEnd {
    /// The group holds the desired list.
    Done,
    /// The run was stopped: the group holds its old list (or, if it had
    /// none, the adds that went in).
    Stopped,
    /// The device refused a line: the group holds the old list and the adds
    /// that went in (or the new list and what was not removed yet).
    Refused(DeviceError),
}

async fn sync_inner<L: Link>(
    session: &mut CliSession<L>,
    request: &SyncRequest,
    outcome: &mut SyncOutcome,
    pushing: &mut bool,
) -> Result<(), DeviceError> {
    super::phase("enable");
    session.enable(request.enable_secret.as_deref()).await?;
    // Terminal settings and every group's contents in one round trip; with
    // an IPv6 group, `show version` too, since only IOS XE has them.
    let shows: Vec<String> = request
        .groups
        .iter()
        .map(|g| format!("show object-group name {}", g.name))
        .collect();
    let ipv6 = request.groups.iter().any(|g| g.family == Family::Ipv6);
    let mut batch = vec!["terminal length 0", "terminal width 511"];
    if ipv6 {
        batch.push("show version");
    }
    batch.extend(shows.iter().map(String::as_str));
    super::phase("reading groups");
    let outputs = session.commands(&batch).await?;
    outcome.hostname = session.hostname().to_string();
    if ipv6
        && let Some(reason) = ios::v6_groups_problem(ios::parse_show_version(&outputs[2]).as_ref())
    {
        return Err(DeviceError::Unsupported {
            device: session.device().to_string(),
            reason,
        });
    }
    let group_outputs = &outputs[batch.len() - shows.len()..];
    let mut current = Vec::with_capacity(request.groups.len());
    let mut targets = Vec::with_capacity(request.groups.len());
    // Groups whose change would empty them: never pushed (see `held_back`).
    let mut held: Vec<(String, DeviceError)> = Vec::new();
    for ((group, output), command) in request.groups.iter().zip(group_outputs).zip(&shows) {
        let contents = parse_group_output(session, command, output, group)?;
        // A saved plan's group is compared with what was read: always then.
        let observed = (request.record_observed || group.planned.is_some())
            .then(|| ios::entries_digest(&contents.managed));
        let group = match (&group.planned, &observed) {
            (Some(planned), Some(observed)) => Cow::Owned(planned_target(
                session.device(),
                group,
                planned,
                &contents.managed,
                observed,
            )?),
            _ => Cow::Borrowed(group),
        };
        let diff = plan::diff(&contents.managed, &group.desired);
        let entries = |nets: &[IpNet]| nets.iter().map(ios::entry_line).collect();
        let change_set = (!diff.is_empty()).then(|| {
            request.change_sets.intern(plan::ChangeSet::new(
                &group.name,
                group.family,
                entries(&diff.add),
                entries(&diff.remove),
            ))
        });
        if !diff.is_empty()
            && let Err(e) = plan::order(&diff)
        {
            held.push(held_back(session.device(), &group, &e));
        }
        outcome.groups.push(GroupOutcome {
            name: group.name.clone(),
            family: group.family,
            observed,
            change_set,
            added: diff.add.len(),
            removed: diff.remove.len(),
            kept: diff.kept,
            unmanaged: contents.unmanaged.clone(),
            ..Default::default()
        });
        current.push(contents);
        targets.push(group);
    }
    let pushable =
        |g: &GroupOutcome| g.added + g.removed > 0 && !held.iter().any(|(n, _)| *n == g.name);
    if !request.apply || !outcome.groups.iter().any(pushable) {
        // A plan says it now; an apply with nothing else to push too.
        return match held.into_iter().next() {
            Some((_, e)) if outcome.changed() => Err(e),
            _ => Ok(()),
        };
    }
    let total: usize = outcome.groups.iter().map(|g| g.added + g.removed).sum();
    if session.cancel.is_cancelled() {
        return Err(DeviceError::Interrupted {
            device: session.device().to_string(),
            pushed: 0,
            total,
        });
    }
    // From here the counts are what reached the device.
    let planned: Vec<usize> = (outcome.groups.iter())
        .map(|g| if pushable(g) { g.added + g.removed } else { 0 })
        .collect();
    for g in &mut outcome.groups {
        (g.added, g.removed) = (0, 0);
    }
    *pushing = true;
    // `configure terminal` goes with the first group's `object-group`
    // line (one round trip for both; see `push_group`).
    let mut configuring = true;
    let mut acked = 0;
    let mut refused = None;
    for (i, (group, contents)) in targets.iter().zip(&current).enumerate() {
        if planned[i] == 0 {
            continue;
        }
        if session.cancel.is_cancelled() {
            break;
        }
        let result = &mut outcome.groups[i];
        let enter = std::mem::take(&mut configuring);
        match push_group(session, group, contents, result, &mut acked, enter).await? {
            GroupEnd::Done => {}
            GroupEnd::Stopped => break,
            GroupEnd::Refused(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    if session.cancel.is_cancelled() && refused.is_none() {
        // Leaves configuration mode if it was entered (a stop between groups).
        session.leave_config().await?;
        return Err(DeviceError::Interrupted {
            device: session.device().to_string(),
            pushed: acked,
            total,
        });
    }
    // A refusal left every group holding at least its old list: saving it
    // keeps a reload from bringing back less (the first sync's empty group).
    if request.save_config {
        super::phase("write memory");
        let out = session.commands(&["end", "write memory"]).await?.remove(1);
        if !out.contains("[OK]") {
            return Err(DeviceError::Command {
                device: session.device().to_string(),
                command: "write memory".into(),
                message: format!("no [OK] in the answer: {}", out.trim()),
            });
        }
        outcome.saved = true;
    } else {
        session.command("end").await?;
    }
    // A held-back group fails the device once the others are in and saved.
    match refused.or_else(|| held.into_iter().next().map(|(_, e)| e)) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// A group whose change would empty it (its list has nothing left, most
/// often an IPv6 part that lost every item) is held back: never pushed,
/// left as it is, while the device's other groups still get their lists.
/// The device then fails `refused`, naming it.
fn held_back(device: &str, group: &GroupTarget, e: &plan::PlanError) -> (String, DeviceError) {
    let what = match group.family {
        Family::Ipv4 => "",
        Family::Ipv6 => {
            "; its lists have no IPv6 item now. The group is left as it is: if that is right, \
             remove it (and the ACL lines using it) by hand, or set `ipv6: false` for the device"
        }
    };
    let error = DeviceError::Refused {
        device: device.to_string(),
        group: group.name.clone(),
        reason: format!("{e}{what}"),
    };
    (group.name.clone(), error)
}

/// Push one group's changes step by step (all adds, then the removals; see
/// [`plan::next_step`]), reading back and pushing again what a step lost.
/// `result` always counts what the group holds of this run's changes;
/// `acked` adds the lines the device acknowledged. `enter`: the session is
/// not in configuration mode yet.
async fn push_group<L: Link>(
    session: &mut CliSession<L>,
    group: &GroupTarget,
    original: &GroupContents,
    result: &mut GroupOutcome,
    acked: &mut usize,
    enter: bool,
) -> Result<GroupEnd, DeviceError> {
    let device = session.device().to_string();
    let refuse = |e: plan::PlanError| DeviceError::Refused {
        device: device.clone(),
        group: group.name.clone(),
        reason: e.to_string(),
    };
    let object_group = ios::group_command(group.family, &group.name);
    let entered = if enter {
        // Typed ahead in one round trip: a `%` answer to either line still
        // names its own command ([`CliSession::commands`]), and a refused
        // `configure terminal` leaves the `object-group` line to exec mode,
        // where it is refused as an unknown command, changing nothing.
        super::phase("configure terminal");
        session
            .commands(&["configure terminal", &object_group])
            .await
            .map(drop)
    } else {
        session.command(&object_group).await.map(drop)
    };
    match entered {
        // An IOS XE release without IPv6 object groups: nothing of this
        // group was sent, and the groups before it are kept (and saved).
        Err(DeviceError::Command {
            command, message, ..
        }) if group.family == Family::Ipv6
            && command == object_group
            && session.mode().is_config() =>
        {
            return Ok(GroupEnd::Refused(DeviceError::Unsupported {
                device: session.device().to_string(),
                reason: format!(
                    "refused `{command}` ({message}): this release has no IPv6 object groups; \
                     set `ipv6: false` for it"
                ),
            }));
        }
        entered => entered?,
    }
    let old = &original.managed;
    // What the group holds, as read back (`fresh`) or as acknowledged.
    let mut holds = old.clone();
    let mut fresh = true;
    // A stop during the adds aims back at the old list.
    let mut target: &BTreeSet<IpNet> = &group.desired;
    let mut stopped = false;
    // Push rounds of the adds, and of the removals.
    let mut rounds = [0u32; 2];
    loop {
        let changes = plan::order(&plan::diff(&holds, target)).map_err(refuse)?;
        let step = plan::next_step(&changes);
        if step.is_empty() && fresh {
            return Ok(if stopped {
                GroupEnd::Stopped
            } else {
                GroupEnd::Done
            });
        }
        if step.is_empty() {
            holds = read_back(session, group).await?.managed;
            fresh = true;
            tally(result, old, &holds);
            continue;
        }
        let adding = matches!(step[0], Change::Add(_));
        let round = &mut rounds[usize::from(!adding)];
        if *round > MAX_REPUSH_ROUNDS {
            let diff = plan::diff(&holds, target);
            return Err(DeviceError::Verify {
                device: session.device().to_string(),
                group: group.name.clone(),
                rounds: *round,
                missing: diff.add.len(),
                extra: diff.remove.len(),
            });
        }
        *round += 1;
        let lines: Vec<String> = step.iter().map(change_line).collect();
        session.transcript.note(&format!(
            "push round {} to {}: {} {}",
            *round,
            group.name,
            lines.len(),
            if adding { "adds" } else { "removals" }
        ));
        super::phase(&format!("pushing {} lines to {}", lines.len(), group.name));
        let mut pushed = PushResult::default();
        // Only adds stop early: removals complete the new list's swap, and
        // taking adds back must run to the end.
        let sent = session.push(&lines, adding && !stopped, &mut pushed).await;
        result.push_rounds += 1;
        result.lost_lines += pushed.lost;
        if !stopped {
            // Lines of this run's changes; taking adds back is not one.
            *acked += pushed.confirmed;
        }
        if let Err(e) = sent {
            // As acknowledged: the session cannot read the group back.
            let done = pushed.confirmed;
            if adding {
                result.added += done;
            } else if stopped {
                result.added = result.added.saturating_sub(done);
            } else {
                result.removed += done;
            }
            return Err(e);
        }
        if pushed.confirmed == lines.len() && adding {
            // Every add acknowledged: no read-back before the removals.
            holds.extend(step.iter().map(|c| match c {
                Change::Add(n) | Change::Remove(n) => *n,
            }));
            fresh = false;
        } else {
            holds = read_back(session, group).await?.managed;
            fresh = true;
        }
        tally(result, old, &holds);
        if let Some((index, message)) = pushed.errors.first() {
            return Ok(GroupEnd::Refused(refusal(
                session,
                group,
                old,
                &holds,
                &lines[*index],
                message,
                &pushed,
            )));
        }
        if pushed.stopped && !old.is_empty() {
            // Take this run's adds back: the old list, no more.
            stopped = true;
            target = old;
            result.taken_back = holds.difference(old).count();
        } else if pushed.stopped {
            // A group that was empty keeps what went in: it is part of the new list.
            return Ok(GroupEnd::Stopped);
        }
    }
}

/// The counts of what the group holds of this run's changes.
fn tally(result: &mut GroupOutcome, old: &BTreeSet<IpNet>, holds: &BTreeSet<IpNet>) {
    result.added = holds.difference(old).count();
    result.removed = old.difference(holds).count();
}

/// The error for a refused line: a full group says so, with its limit.
fn refusal<L: Link>(
    session: &CliSession<L>,
    group: &GroupTarget,
    old: &BTreeSet<IpNet>,
    holds: &BTreeSet<IpNet>,
    line: &str,
    message: &str,
    pushed: &PushResult,
) -> DeviceError {
    let device = session.device().to_string();
    let full = (pushed.errors.iter()).find_map(|(_, m)| Some((ios::group_full_limit(m)?, m)));
    if let Some((limit, reported)) = full {
        return DeviceError::GroupFull {
            device,
            group: group.name.clone(),
            limit,
            reported: reported.clone(),
            accepted: holds.difference(old).count(),
            adds: group.desired.difference(old).count(),
        };
    }
    let more = pushed.errors.len() - 1;
    DeviceError::Command {
        device,
        command: line.to_string(),
        message: if more > 0 {
            format!("{message} (and {more} more lines refused)")
        } else {
            message.to_string()
        },
    }
}

/// Read a group back from configuration mode (`do show object-group name G`).
async fn read_back<L: Link>(
    session: &mut CliSession<L>,
    group: &GroupTarget,
) -> Result<GroupContents, DeviceError> {
    super::phase(&format!("verifying {}", group.name));
    let command = format!("do show object-group name {}", group.name);
    let output = session.command(&command).await?;
    parse_group_output(session, &command, &output, group)
}

/// The group as read; a group of that name in the other family is refused
/// before anything is sent (IOS has one namespace for both).
fn parse_group_output<L: Link>(
    session: &CliSession<L>,
    command: &str,
    output: &str,
    group: &GroupTarget,
) -> Result<GroupContents, DeviceError> {
    let contents =
        ios::parse_group(output, &group.name, group.family).map_err(|e| DeviceError::Protocol {
            device: session.device().to_string(),
            reason: format!("cannot read the answer to `{command}`: {e}"),
        })?;
    if contents.family != group.family {
        return Err(DeviceError::Refused {
            device: session.device().to_string(),
            group: group.name.clone(),
            reason: format!(
                "the device has an {} object-group of this name, and tsfleet keeps its {} entries here: \
                 give the {} groups other names in the inventory",
                contents.family, group.family, group.family
            ),
        });
    }
    Ok(contents)
}

/// The IOS line for one change.
pub fn change_line(change: &Change) -> String {
    match change {
        Change::Add(net) => ios::entry_line(net),
        Change::Remove(net) => format!("no {}", ios::entry_line(net)),
    }
}

#[cfg(test)]
mod tests {
    //! The whole flow against the simulator's real IOS CLI, over an in-memory
    //! pipe instead of SSH (the SSH path is covered by the integration tests).

    use super::*;
    use crate::device::shell::Timeouts;
    use crate::device::transcript::Transcript;
    use crate::domain::ErrorClass;
    use crate::sim::cli::{Cli, CliOptions, CostModel};
    use crate::sim::device::{Acl, Config, DeviceState, Entry, ObjectGroup, SharedState, V6Group};
    use crate::sim::session::{SessionBehaviour, drive};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    struct PipeLink {
        to_device: DuplexStream,
        from_device: DuplexStream,
    }

    impl Link for PipeLink {
        async fn send(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
            self.to_device
                .write_all(bytes)
                .await
                .map_err(|e| DeviceError::Protocol {
                    device: "test".into(),
                    reason: e.to_string(),
                })
        }
        async fn recv(&mut self) -> Option<Vec<u8>> {
            let mut buf = vec![0; 64 * 1024];
            match self.from_device.read(&mut buf).await {
                Ok(0) | Err(_) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some(buf)
                }
            }
        }
    }

    fn device(running: Config) -> SharedState {
        Arc::new(Mutex::new(DeviceState {
            hostname: "R1".into(),
            version: "15.7(3)M5".into(),
            startup: running.clone(),
            running,
            stats: Default::default(),
        }))
    }

    async fn connect(
        state: &SharedState,
        options: CliOptions,
        behaviour: SessionBehaviour,
    ) -> CliSession<PipeLink> {
        let (to_device, device_in) = tokio::io::duplex(1 << 16);
        let (device_out, from_device) = tokio::io::duplex(1 << 16);
        let options = CliOptions {
            enable_secret: "en".into(),
            ..options
        };
        let cli = Cli::new(state.clone(), Arc::new(options));
        tokio::spawn(drive(cli, state.clone(), device_in, device_out, behaviour));
        let timeouts = Timeouts {
            inactivity: Duration::from_secs(3),
            deadline: tokio::time::Instant::now() + Duration::from_secs(60),
            answer_bytes: crate::device::shell::ANSWER_CEILING,
        };
        CliSession::start(
            PipeLink {
                to_device,
                from_device,
            },
            "R1",
            timeouts,
            Transcript::none(vec![]),
        )
        .await
        .unwrap()
    }

    fn nets(range: std::ops::Range<u32>) -> BTreeSet<IpNet> {
        range
            .map(|i| IpNet::new(std::net::Ipv4Addr::from(0x0A00_0000 + i).into(), 32).unwrap())
            .collect()
    }

    fn request(block: BTreeSet<IpNet>, allow: BTreeSet<IpNet>) -> SyncRequest {
        SyncRequest {
            enable_secret: Some("en".into()),
            groups: vec![
                GroupTarget {
                    name: "threatstop-allow".into(),
                    family: Family::Ipv4,
                    desired: Arc::new(allow),
                    planned: None,
                },
                GroupTarget {
                    name: "threatstop-block".into(),
                    family: Family::Ipv4,
                    desired: Arc::new(block),
                    planned: None,
                },
            ],
            apply: true,
            record_observed: true,
            save_config: true,
            change_sets: Default::default(),
        }
    }

    fn managed(state: &SharedState, group: &str) -> BTreeSet<IpNet> {
        held(state, group, Family::Ipv4)
    }

    /// A group of `family` as the device holds it, read the way `show
    /// object-group` prints it (IPv6 in upper case).
    fn held(state: &SharedState, group: &str, family: Family) -> BTreeSet<IpNet> {
        let s = state.lock().unwrap();
        let entries: Option<Vec<String>> = match family {
            Family::Ipv4 => s
                .group(group)
                .map(|g| g.entries.iter().map(ToString::to_string).collect()),
            Family::Ipv6 => s
                .v6_group(group)
                .map(|g| g.entries.iter().map(ToString::to_string).collect()),
        };
        let text: String = entries
            .map(|entries| {
                let mut t = format!("{}{group}\n", ios::group_header(family));
                for e in entries {
                    t.push_str(&format!(" {e}\n"));
                }
                t
            })
            .unwrap_or_default();
        ios::parse_group(&text, group, family).unwrap().managed
    }

    async fn run(
        state: &SharedState,
        req: &SyncRequest,
        options: CliOptions,
        behaviour: SessionBehaviour,
    ) -> Result<SyncOutcome, DeviceError> {
        let mut session = connect(state, options, behaviour).await;
        let result = sync(&mut session, req).await;
        assert!(!session.mode().is_config(), "config mode is always left");
        session.logout().await;
        result
    }

    #[tokio::test]
    async fn first_sync_then_one_percent_then_no_op() {
        let state = device(Config::default());
        let block = nets(0..5000);
        let allow = nets(100_000..100_002);
        let out = run(
            &state,
            &request(block.clone(), allow.clone()),
            CliOptions::default(),
            SessionBehaviour::default(),
        )
        .await
        .unwrap();
        assert_eq!((out.groups[1].added, out.groups[1].removed), (5000, 0));
        assert_eq!(
            out.groups[0].added, 2,
            "the allow group is handled like the block group"
        );
        assert!(out.saved && state.lock().unwrap().saved());
        assert_eq!(managed(&state, "threatstop-block"), block);
        assert_eq!(managed(&state, "threatstop-allow"), allow);

        let churned: BTreeSet<IpNet> = nets(50..5050);
        let out = run(
            &state,
            &request(churned.clone(), allow.clone()),
            CliOptions::default(),
            SessionBehaviour::default(),
        )
        .await
        .unwrap();
        assert_eq!(
            (
                out.groups[1].added,
                out.groups[1].removed,
                out.groups[1].kept
            ),
            (50, 50, 4950)
        );
        assert_eq!(managed(&state, "threatstop-block"), churned);

        let lines_before = state.lock().unwrap().stats.config_lines;
        let out = run(
            &state,
            &request(churned.clone(), allow),
            CliOptions::default(),
            SessionBehaviour::default(),
        )
        .await
        .unwrap();
        assert!(!out.changed() && !out.saved);
        assert_eq!(
            state.lock().unwrap().stats.config_lines,
            lines_before,
            "a no-op run configures nothing"
        );
        assert_eq!(state.lock().unwrap().stats.left_in_config_mode, 0);
    }

    #[tokio::test]
    async fn plan_reads_and_diffs_without_touching_the_device() {
        let state = device(Config::default());
        let mut req = request(nets(0..10), nets(100..101));
        req.apply = false;
        let out = run(
            &state,
            &req,
            CliOptions::default(),
            SessionBehaviour::default(),
        )
        .await
        .unwrap();
        assert_eq!(out.groups[1].added, 10);
        assert!(state.lock().unwrap().running.groups.is_empty());
        assert_eq!(state.lock().unwrap().stats.config_lines, 0);
    }

    #[tokio::test]
    async fn unmanaged_entries_and_a_group_used_by_an_acl_are_respected() {
        let entries: indexmap::IndexSet<Entry> = [
            "Description keep me",
            "range 192.0.2.1 192.0.2.9",
            "group-object OTHER",
            "host 10.9.9.9",
        ]
        .iter()
        .filter_map(|e| e.parse().ok())
        .collect();
        let running = Config {
            groups: vec![
                ObjectGroup {
                    name: "OTHER".into(),
                    description: None,
                    entries: ["host 203.0.113.1".parse().unwrap()].into_iter().collect(),
                },
                ObjectGroup {
                    name: "threatstop-block".into(),
                    description: Some("keep me".into()),
                    entries,
                },
            ],
            acls: vec![Acl {
                name: "OUTSIDE-IN".into(),
                lines: vec!["deny ip object-group threatstop-block any".into()],
            }],
            ..Config::default()
        };
        let state = device(running);
        let desired = nets(0..20);
        let out = run(
            &state,
            &request(desired.clone(), nets(100..101)),
            CliOptions::default(),
            SessionBehaviour::default(),
        )
        .await
        .unwrap();
        assert_eq!((out.groups[1].added, out.groups[1].removed), (20, 1));
        assert_eq!(
            out.groups[1].unmanaged.len(),
            3,
            "{:?}",
            out.groups[1].unmanaged
        );
        assert_eq!(managed(&state, "threatstop-block"), desired);
        let s = state.lock().unwrap();
        let g = s.group("threatstop-block").unwrap();
        assert!(
            g.entries
                .iter()
                .any(|e| e.to_string() == "range 192.0.2.1 192.0.2.9")
        );
        assert!(
            g.entries
                .iter()
                .any(|e| e.to_string() == "group-object OTHER")
        );
        assert_eq!(g.description.as_deref(), Some("keep me"));
    }

    #[tokio::test]
    async fn paging_left_on_is_answered() {
        let mut entries = indexmap::IndexSet::new();
        for i in 0..100u32 {
            entries.insert(Entry::Host((0x0A00_0000 + i).into()));
        }
        let state = device(Config {
            groups: vec![ObjectGroup {
                name: "G".into(),
                description: None,
                entries,
            }],
            acls: vec![],
            ..Config::default()
        });
        let mut session = connect(&state, CliOptions::default(), SessionBehaviour::default()).await;
        session.enable(Some("en")).await.unwrap();
        // Terminal length is still 24: the output comes in pages.
        let out = session.command("show object-group name G").await.unwrap();
        let g = ios::parse_group(&out, "G", Family::Ipv4).unwrap();
        assert_eq!(g.managed.len(), 100, "{out}");
    }

    #[tokio::test]
    async fn asynchronous_syslog_lines_do_not_disturb_the_push() {
        let state = device(Config::default());
        let options = CliOptions {
            syslog_every: Some(7),
            ..Default::default()
        };
        let out = run(
            &state,
            &request(nets(0..500), nets(900..901)),
            options,
            SessionBehaviour::default(),
        )
        .await
        .unwrap();
        assert_eq!(out.groups[1].added, 500);
        assert_eq!(out.groups[1].push_rounds, 1);
        assert_eq!(managed(&state, "threatstop-block"), nets(0..500));
    }

    #[tokio::test]
    async fn dropped_input_converges_through_verify_and_repush() {
        let state = device(Config::default());
        let options = CliOptions {
            cost: CostModel {
                line_cost: Duration::from_micros(300),
                per_1000_entries: Duration::ZERO,
            },
            ..Default::default()
        };
        let behaviour = SessionBehaviour {
            drop_input_over_bytes: Some(3000),
            ..Default::default()
        };
        let out = run(
            &state,
            &request(nets(0..2000), nets(900..901)),
            options,
            behaviour,
        )
        .await
        .unwrap();
        assert_eq!(managed(&state, "threatstop-block"), nets(0..2000));
        assert!(out.groups[1].lost_lines > 0, "the fault did drop input");
        assert!(out.groups[1].push_rounds > 1);
    }

    /// A device whose block group holds `block` (saved).
    fn holding(block: &BTreeSet<IpNet>) -> SharedState {
        let entries = block
            .iter()
            .map(|n| {
                Entry::Host(match n.addr() {
                    std::net::IpAddr::V4(a) => a,
                    _ => unreachable!(),
                })
            })
            .collect();
        device(Config {
            groups: vec![ObjectGroup {
                name: "threatstop-block".into(),
                description: None,
                entries,
            }],
            acls: vec![],
            ..Config::default()
        })
    }

    /// What reached the block group, as the error reports it.
    fn reached_block(err: &DeviceError) -> (usize, usize, bool) {
        let reached = err
            .reached()
            .expect("the error says what reached the device");
        let g = &reached.groups[1];
        (g.added, g.removed, reached.saved)
    }

    /// A group that refuses adds keeps `old` and what it accepted, is saved
    /// that way, and the device fails as `group-full` naming its limit.
    async fn full_group_keeps_the_old_list(limit: usize, old: usize, new: usize) {
        let old_list = nets(0..old as u32);
        let new_list = nets(100_000..100_000 + new as u32);
        let state = holding(&old_list);
        let options = CliOptions {
            max_group_entries: Some(limit),
            ..Default::default()
        };
        let err = run(
            &state,
            &request(new_list.clone(), BTreeSet::new()),
            options,
            SessionBehaviour::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.class(), ErrorClass::GroupFull, "{err}");
        let message = err.to_string();
        let accepted = limit - old;
        for part in [
            format!("limit of {limit} entries"),
            format!("{accepted} of {new} adds went in"),
            format!("max_policy_size to at most {}", limit / 2),
            format!("threatstop-block +{accepted} -0; saved"),
        ] {
            assert!(message.contains(&part), "{part:?} in {message}");
        }
        assert_eq!(reached_block(&err), (accepted, 0, true));
        let group = managed(&state, "threatstop-block");
        assert!(old_list.is_subset(&group), "no old entry was removed");
        assert_eq!(group.len(), limit, "old + accepted");
        let s = state.lock().unwrap();
        assert!(s.saved(), "saved holding old + accepted");
        assert_eq!(s.stats.left_in_config_mode, 0);
    }

    #[tokio::test]
    async fn a_full_group_keeps_3000_old_entries_and_1000_new_and_saves() {
        full_group_keeps_the_old_list(4000, 3000, 3000).await;
    }

    #[tokio::test]
    async fn a_full_group_keeps_2000_old_entries_and_500_new_and_saves() {
        full_group_keeps_the_old_list(2500, 2000, 2000).await;
    }

    #[tokio::test]
    async fn a_refused_entry_keeps_the_old_list_names_the_line_and_saves() {
        let old = nets(0..50);
        let state = holding(&old);
        let options = CliOptions {
            error_entries: ["host 10.0.1.7".to_string()].into(),
            ..Default::default()
        };
        // 10.0.1.0..: the 8th add is refused.
        let new = nets(256..276);
        let err = run(
            &state,
            &request(new, nets(900..901)),
            options,
            SessionBehaviour::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.class(), ErrorClass::DeviceError, "{err}");
        match &err {
            DeviceError::Partial { error, .. } => match error.as_ref() {
                DeviceError::Command {
                    command, message, ..
                } => {
                    assert_eq!(command, "host 10.0.1.7");
                    assert!(message.starts_with('%'), "{message}");
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        let (added, removed, saved) = reached_block(&err);
        assert!(added >= 7 && removed == 0 && saved, "{err}");
        let group = managed(&state, "threatstop-block");
        assert!(old.is_subset(&group), "no old entry was removed");
        assert_eq!(group.len(), old.len() + added);
        let s = state.lock().unwrap();
        assert!(
            s.saved(),
            "old + accepted is saved: a reload keeps the old list"
        );
        assert_eq!(s.stats.left_in_config_mode, 0);
    }

    #[tokio::test]
    async fn a_first_sync_refused_part_way_saves_what_went_in() {
        // Before, a first sync that hit the limit saved nothing: after a
        // reload the device had no list at all.
        let full = device(Config::default());
        let options = CliOptions {
            max_group_entries: Some(10),
            ..Default::default()
        };
        let err = run(
            &full,
            &request(nets(0..20), nets(900..901)),
            options,
            SessionBehaviour::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.class(), ErrorClass::GroupFull, "{err}");
        assert_eq!(reached_block(&err), (10, 0, true));
        let s = full.lock().unwrap();
        assert_eq!(s.stats.left_in_config_mode, 0);
        assert!(s.saved());
        assert_eq!(
            s.startup
                .groups
                .iter()
                .map(|g| g.entries.len())
                .sum::<usize>(),
            11
        );
    }

    /// Run a sync that is stopped once `stop_when` holds of the device.
    async fn stopped_run(
        state: &SharedState,
        req: &SyncRequest,
        stop_when: impl Fn(&DeviceState) -> bool + Send + 'static,
    ) -> DeviceError {
        let options = CliOptions {
            cost: CostModel {
                line_cost: Duration::from_millis(1),
                per_1000_entries: Duration::ZERO,
            },
            ..Default::default()
        };
        let mut session = connect(state, options, SessionBehaviour::default()).await;
        let cancel = session.cancel.clone();
        let watched = state.clone();
        tokio::spawn(async move {
            while !stop_when(&watched.lock().unwrap()) {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            cancel.cancel();
        });
        let err = sync(&mut session, req).await.unwrap_err();
        assert!(!session.mode().is_config());
        session.logout().await;
        assert_eq!(err.class(), ErrorClass::Interrupted, "{err}");
        assert!(
            !err.reached().unwrap().saved,
            "an interrupted device is not saved"
        );
        assert_eq!(state.lock().unwrap().stats.left_in_config_mode, 0);
        err
    }

    fn block_len(s: &DeviceState) -> usize {
        s.group("threatstop-block").map_or(0, |g| g.entries.len())
    }

    #[tokio::test]
    async fn a_stop_during_the_adds_takes_them_back() {
        let old = nets(0..1000);
        let state = holding(&old);
        let err = stopped_run(&state, &request(nets(5000..7000), BTreeSet::new()), |s| {
            block_len(s) >= 1100
        })
        .await;
        assert_eq!(
            managed(&state, "threatstop-block"),
            old,
            "exactly the old list"
        );
        let reached = err.reached().unwrap();
        let g = &reached.groups[1];
        assert_eq!((g.added, g.removed), (0, 0), "{err}");
        assert!(g.taken_back >= 100, "{err}");
        assert!(err.to_string().contains("adds taken back"), "{err}");
    }

    #[tokio::test]
    async fn a_stop_during_the_removals_finishes_them() {
        let old = nets(0..1000);
        let new = nets(500..1500);
        let state = holding(&old);
        // `object-group network`, the 500 adds, then 20 removals: stop there.
        let err = stopped_run(&state, &request(new.clone(), BTreeSet::new()), |s| {
            s.stats.config_lines >= 521
        })
        .await;
        assert_eq!(
            managed(&state, "threatstop-block"),
            new,
            "exactly the new list"
        );
        let reached = err.reached().unwrap();
        assert_eq!(
            (reached.groups[1].added, reached.groups[1].removed),
            (500, 500)
        );
    }

    #[tokio::test]
    async fn interrupted_runs_never_grow_a_group() {
        // Before, four interrupted runs grew a 3,000-entry group to 14,218.
        let old = nets(0..1000);
        let state = holding(&old);
        for run in 1..=4u32 {
            let new = nets(run * 10_000..run * 10_000 + 1000);
            stopped_run(&state, &request(new, BTreeSet::new()), move |s| {
                block_len(s) >= 1000 + 100 * run as usize
            })
            .await;
            assert_eq!(managed(&state, "threatstop-block"), old, "run {run}");
        }
    }

    #[tokio::test]
    async fn adds_are_acknowledged_before_any_removal_is_sent() {
        // The group never holds fewer than the old list's entries until it
        // holds the whole new one.
        let old = nets(0..500);
        let new = nets(2000..2500);
        let state = holding(&old);
        let options = CliOptions {
            cost: CostModel {
                line_cost: Duration::from_micros(200),
                per_1000_entries: Duration::ZERO,
            },
            ..Default::default()
        };
        let watched = state.clone();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let (old_list, new_list) = (old.clone(), new.clone());
        let watcher = tokio::spawn(async move {
            let mut shrank_early = false;
            loop {
                let group = managed(&watched, "threatstop-block");
                shrank_early |= !old_list.is_subset(&group) && !new_list.is_subset(&group);
                if stopped.try_recv().is_ok() {
                    return shrank_early;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        let out = run(
            &state,
            &request(new.clone(), BTreeSet::new()),
            options,
            SessionBehaviour::default(),
        )
        .await
        .unwrap();
        stop.send(()).unwrap();
        assert!(
            !watcher.await.unwrap(),
            "the group held neither list at some point"
        );
        assert_eq!((out.groups[1].added, out.groups[1].removed), (500, 500));
        assert_eq!(managed(&state, "threatstop-block"), new);
        assert_eq!(
            out.groups[1].push_rounds, 2,
            "one round of adds, one of removals"
        );
    }

    #[tokio::test]
    async fn an_interrupted_push_stops_leaves_config_mode_and_does_not_save() {
        let state = device(Config::default());
        let options = CliOptions {
            cost: CostModel {
                line_cost: Duration::from_millis(1),
                per_1000_entries: Duration::ZERO,
            },
            ..Default::default()
        };
        let mut session = connect(&state, options, SessionBehaviour::default()).await;
        let cancel = session.cancel.clone();
        // Stop once the device has taken some of the push, not after a guess
        // at how long that takes.
        let pushing = state.clone();
        tokio::spawn(async move {
            while pushing.lock().unwrap().stats.config_lines < 10 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            cancel.cancel();
        });
        let err = sync(&mut session, &request(nets(0..3000), nets(900..901)))
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Interrupted, "{err}");
        assert!(!session.mode().is_config());
        session.logout().await;
        let s = state.lock().unwrap();
        let pushed: usize = s.running.groups.iter().map(|g| g.entries.len()).sum();
        assert!(pushed > 0 && pushed < 3001, "stopped part way ({pushed})");
        assert!(!s.saved());
        assert_eq!(s.stats.left_in_config_mode, 0);
    }

    #[tokio::test]
    async fn wrong_enable_secret_hang_and_disconnect_are_typed() {
        let state = device(Config::default());
        let mut session = connect(&state, CliOptions::default(), SessionBehaviour::default()).await;
        let err = session.enable(Some("wrong")).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Enable);
        assert!(
            err.to_string().contains("% Access denied") && !err.to_string().contains("wrong"),
            "{err}"
        );

        let hang = SessionBehaviour {
            hang_after_lines: Some(4),
            ..Default::default()
        };
        let err = run(
            &device(Config::default()),
            &request(nets(0..20), nets(900..901)),
            CliOptions::default(),
            hang,
        )
        .await
        .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Timeout, "{err}");

        let cut = SessionBehaviour {
            disconnect_after_lines: Some(6),
            ..Default::default()
        };
        let err = run(
            &device(Config::default()),
            &request(nets(0..20), nets(900..901)),
            CliOptions::default(),
            cut,
        )
        .await
        .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Protocol, "{err}");
    }

    fn any_nets() -> impl proptest::strategy::Strategy<Value = BTreeSet<IpNet>> {
        use proptest::prelude::*;
        // Hosts and networks of several lengths, so both entry forms are read back.
        proptest::collection::btree_set(
            (0u32..48, prop::sample::select(vec![32u8, 30, 24, 16])).prop_map(|(i, len)| {
                IpNet::new(
                    std::net::Ipv4Addr::from(0x0A00_0000 + (i << 16)).into(),
                    len,
                )
                .unwrap()
                .trunc()
            }),
            0..30,
        )
    }

    proptest::proptest! {
        /// A saved plan's change set, made from what a group held, turns
        /// that into exactly the set planned, and is the same change set
        /// (same digest) when planned again from it.
        #[test]
        fn applying_a_plans_change_set_to_the_observed_group_yields_the_planned_set(
            observed in any_nets(),
            planned in any_nets(),
        ) {
            let diff = plan::diff(&observed, &planned);
            let lines = |n: &[IpNet]| n.iter().map(ios::entry_line).collect::<Vec<_>>();
            let set = plan::ChangeSet::new("g", Family::Ipv4, lines(&diff.add), lines(&diff.remove));
            let desired = desired_of_plan(Family::Ipv4, &observed, Some(&set)).unwrap();
            proptest::prop_assert_eq!(&desired, &planned);
            let again = plan::diff(&observed, &desired);
            let same = plan::ChangeSet::new("g", Family::Ipv4, lines(&again.add), lines(&again.remove));
            proptest::prop_assert_eq!(same.digest(), set.digest());
            // Applied to anything else, it is refused or yields another set.
            if !diff.is_empty() {
                let mut other = observed.clone();
                let first = diff.add.first().or(diff.remove.first()).unwrap();
                if !other.remove(first) { other.insert(*first); }
                prop_assert_ne_or_err(&other, &set, &planned)?;
            }
        }
    }

    fn prop_assert_ne_or_err(
        observed: &BTreeSet<IpNet>,
        set: &plan::ChangeSet,
        planned: &BTreeSet<IpNet>,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        if let Ok(got) = desired_of_plan(Family::Ipv4, observed, Some(set)) {
            proptest::prop_assert_ne!(&got, planned);
        }
        Ok(())
    }

    #[test]
    fn a_change_set_that_does_not_fit_the_group_is_refused_naming_the_line() {
        let held: BTreeSet<IpNet> = ["10.0.0.1/32".parse().unwrap()].into();
        let twice = plan::ChangeSet::new("g", Family::Ipv4, vec!["host 10.0.0.1".into()], vec![]);
        let e = desired_of_plan(Family::Ipv4, &held, Some(&twice)).unwrap_err();
        assert!(
            e.contains("host 10.0.0.1") && e.contains("holds already"),
            "{e}"
        );
        let gone = plan::ChangeSet::new("g", Family::Ipv4, vec![], vec!["host 10.0.0.2".into()]);
        let e = desired_of_plan(Family::Ipv4, &held, Some(&gone)).unwrap_err();
        assert!(e.contains("does not hold"), "{e}");
        let junk = plan::ChangeSet::new(
            "g",
            Family::Ipv4,
            vec!["range 1.1.1.1 1.1.1.2".into()],
            vec![],
        );
        assert!(
            desired_of_plan(Family::Ipv4, &held, Some(&junk))
                .unwrap_err()
                .contains("is not an IPv4 entry")
        );
        assert_eq!(desired_of_plan(Family::Ipv4, &held, None).unwrap(), held);
    }

    // IPv6 groups (issue 17) on the simulated IOS XE.

    /// [`run`] on a healthy device.
    async fn healthy(state: &SharedState, req: &SyncRequest) -> Result<SyncOutcome, DeviceError> {
        run(
            state,
            req,
            CliOptions::default(),
            SessionBehaviour::default(),
        )
        .await
    }

    fn xe_device(running: Config) -> SharedState {
        let state = device(running);
        state.lock().unwrap().version = "17.9.4a".into();
        state
    }

    /// IPv6 hosts `2001:db8::I`, and every fourth one a /48 instead, so
    /// both entry forms are pushed and read back.
    fn nets6(range: std::ops::Range<u32>) -> BTreeSet<IpNet> {
        range
            .map(|i| {
                if i % 4 == 0 {
                    format!("2001:db8:{:x}::/48", 0x8000 + i)
                } else {
                    format!("2001:db8::{i:x}/128")
                }
                .parse()
                .unwrap()
            })
            .collect()
    }

    /// Allow, block, then the two IPv6 groups, as the runner orders them.
    fn dual_request(
        block: BTreeSet<IpNet>,
        allow: BTreeSet<IpNet>,
        block6: BTreeSet<IpNet>,
        allow6: BTreeSet<IpNet>,
    ) -> SyncRequest {
        let mut req = request(block, allow);
        for (name, desired) in [
            ("threatstop-allow-v6", allow6),
            ("threatstop-block-v6", block6),
        ] {
            req.groups.push(GroupTarget {
                name: name.into(),
                family: Family::Ipv6,
                desired: Arc::new(desired),
                planned: None,
            });
        }
        req
    }

    fn managed6(state: &SharedState, group: &str) -> BTreeSet<IpNet> {
        held(state, group, Family::Ipv6)
    }

    /// [`dual_request`] with only the IPv6 block group non-empty.
    fn block6_request(block6: BTreeSet<IpNet>) -> SyncRequest {
        dual_request(BTreeSet::new(), BTreeSet::new(), block6, BTreeSet::new())
    }

    /// An IOS XE device whose IPv6 block group holds `block6` (saved).
    fn holding6(block6: &BTreeSet<IpNet>) -> SharedState {
        let entries = block6
            .iter()
            .map(|n| ios::entry_line(n).parse().unwrap())
            .collect();
        xe_device(Config {
            v6_groups: vec![V6Group {
                name: "threatstop-block-v6".into(),
                description: None,
                entries,
            }],
            ..Config::default()
        })
    }

    fn block6_len(s: &DeviceState) -> usize {
        s.v6_group("threatstop-block-v6")
            .map_or(0, |g| g.entries.len())
    }

    #[tokio::test]
    async fn dual_stack_first_sync_then_churn_then_no_op_on_ios_xe() {
        let state = xe_device(Config::default());
        let (block, allow) = (nets(0..300), nets(100_000..100_002));
        let (block6, allow6) = (nets6(0..400), nets6(10_000..10_003));
        let out = run(
            &state,
            &dual_request(block.clone(), allow.clone(), block6.clone(), allow6.clone()),
            CliOptions::default(),
            SessionBehaviour::default(),
        )
        .await
        .unwrap();
        let counts: Vec<(Family, usize, usize)> = out
            .groups
            .iter()
            .map(|g| (g.family, g.added, g.removed))
            .collect();
        assert_eq!(
            counts,
            [
                (Family::Ipv4, 2, 0),
                (Family::Ipv4, 300, 0),
                (Family::Ipv6, 3, 0),
                (Family::Ipv6, 400, 0)
            ]
        );
        assert!(out.saved && state.lock().unwrap().saved());
        assert_eq!(managed(&state, "threatstop-block"), block);
        assert_eq!(managed6(&state, "threatstop-block-v6"), block6);
        assert_eq!(managed6(&state, "threatstop-allow-v6"), allow6);
        // Upper case, as IOS XE prints it back; the change set has the same lines.
        let lines = out.groups[3].change_set.as_ref().unwrap().add().to_vec();
        assert!(lines.contains(&"host 2001:DB8::1".to_string()), "{lines:?}");
        assert!(
            lines.contains(&"2001:DB8:8000::/48".to_string()),
            "{lines:?}"
        );

        let churned6 = nets6(40..440);
        let out = run(
            &state,
            &dual_request(
                block.clone(),
                allow.clone(),
                churned6.clone(),
                allow6.clone(),
            ),
            CliOptions::default(),
            SessionBehaviour::default(),
        )
        .await
        .unwrap();
        let g = &out.groups[3];
        assert_eq!((g.added, g.removed, g.kept), (40, 40, 360));
        assert_eq!(g.push_rounds, 2, "one round of adds, one of removals");
        assert_eq!(
            (out.groups[1].added, out.groups[1].removed),
            (0, 0),
            "IPv4 untouched"
        );
        assert_eq!(managed6(&state, "threatstop-block-v6"), churned6);

        let lines_before = state.lock().unwrap().stats.config_lines;
        let out = run(
            &state,
            &dual_request(block, allow, churned6, allow6),
            CliOptions::default(),
            SessionBehaviour::default(),
        )
        .await
        .unwrap();
        assert!(!out.changed() && !out.saved);
        let s = state.lock().unwrap();
        assert_eq!(
            s.stats.config_lines, lines_before,
            "a no-op configures nothing"
        );
        assert_eq!(s.stats.left_in_config_mode, 0);
    }

    #[tokio::test]
    async fn ipv6_entries_typed_in_any_case_or_form_show_no_diff() {
        // An operator typed the entries in lower case and uncompressed.
        let state = xe_device(Config::default());
        let mut session = connect(&state, CliOptions::default(), SessionBehaviour::default()).await;
        session.enable(Some("en")).await.unwrap();
        session
            .commands(&[
                "configure terminal",
                "object-group v6-network threatstop-block-v6",
                "host 2001:db8:0:0::1",
                "2001:0db8:00ab::/48",
                "end",
            ])
            .await
            .unwrap();
        session.logout().await;
        let desired: BTreeSet<IpNet> = ["2001:db8::1/128", "2001:db8:ab::/48"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let lines_before = state.lock().unwrap().stats.config_lines;
        let out = healthy(&state, &block6_request(desired.clone()))
            .await
            .unwrap();
        let g = &out.groups[3];
        assert_eq!((g.added, g.removed, g.kept), (0, 0, 2), "{g:?}");
        assert_eq!(state.lock().unwrap().stats.config_lines, lines_before);
        // A device printing them lower case and uncompressed reads the same.
        let text =
            "V6-Network object group G\n host 2001:db8:0:0:0:0:0:1\n 2001:0DB8:00AB:0000::/48\n";
        let read = ios::parse_group(text, "G", Family::Ipv6).unwrap();
        assert!(plan::diff(&read.managed, &desired).is_empty());
    }

    #[tokio::test]
    async fn a_v6_group_ios_xe_deleted_is_created_again() {
        let block6 = nets6(0..20);
        // Absent: never created, or deleted by IOS XE when it became empty.
        let state = xe_device(Config::default());
        let req = block6_request(block6.clone());
        healthy(&state, &req).await.unwrap();
        assert_eq!(managed6(&state, "threatstop-block-v6"), block6);
        // Emptied by hand: IOS XE deletes it with its last entry.
        let mut session = connect(&state, CliOptions::default(), SessionBehaviour::default()).await;
        session.enable(Some("en")).await.unwrap();
        let mut lines = vec![
            "configure terminal".to_string(),
            "object-group v6-network threatstop-block-v6".into(),
        ];
        lines.extend(block6.iter().map(|n| format!("no {}", ios::entry_line(n))));
        lines.push("end".into());
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        session.commands(&lines).await.unwrap();
        session.logout().await;
        assert!(
            state
                .lock()
                .unwrap()
                .v6_group("threatstop-block-v6")
                .is_none()
        );
        let out = healthy(&state, &req).await.unwrap();
        assert_eq!((out.groups[3].added, out.groups[3].removed), (20, 0));
        assert_eq!(managed6(&state, "threatstop-block-v6"), block6);
        assert!(state.lock().unwrap().saved());
    }

    #[tokio::test]
    async fn classic_ios_refuses_ipv6_groups_before_anything_is_sent() {
        for apply in [true, false] {
            let state = device(Config::default());
            let mut req = dual_request(nets(0..10), BTreeSet::new(), nets6(0..10), BTreeSet::new());
            req.apply = apply;
            let err = healthy(&state, &req).await.unwrap_err();
            assert_eq!(err.class(), ErrorClass::Unsupported, "{err}");
            assert!(err.reached().is_none(), "{err}");
            let message = err.to_string();
            for part in [
                "R1: ",
                "IOS 15.7(3)M5",
                "object-group v6-network",
                "IOS XE",
                "`ipv6: false`",
            ] {
                assert!(message.contains(part), "{part:?} in {message}");
            }
            let s = state.lock().unwrap();
            assert_eq!(s.stats.config_lines, 0, "nothing sent (apply: {apply})");
            assert!(s.running.groups.is_empty());
        }
        // IPv4 only, classic IOS is fine, and `show version` is not asked:
        // an IPv6 request sends it and its two groups' shows, no more.
        let lines_of = |state: SharedState, req: SyncRequest| async move {
            let mut session =
                connect(&state, CliOptions::default(), SessionBehaviour::default()).await;
            let mut req = req;
            req.apply = false;
            sync(&mut session, &req).await.unwrap();
            let sent = session.lines_sent;
            session.logout().await;
            sent
        };
        let v4 = lines_of(
            device(Config::default()),
            request(nets(0..10), nets(100..101)),
        )
        .await;
        let dual = lines_of(
            xe_device(Config::default()),
            dual_request(nets(0..10), nets(100..101), nets6(0..10), BTreeSet::new()),
        )
        .await;
        assert_eq!(dual, v4 + 3);
    }

    #[tokio::test]
    async fn an_ios_xe_refusing_v6_groups_fails_unsupported_keeping_and_saving_the_ipv4_push() {
        let state = xe_device(Config::default());
        let options = CliOptions {
            no_v6_groups: true,
            ..Default::default()
        };
        let req = dual_request(nets(0..10), nets(100..101), nets6(0..10), BTreeSet::new());
        let err = run(&state, &req, options, SessionBehaviour::default())
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Unsupported, "{err}");
        let message = err.to_string();
        for part in [
            "refused `object-group v6-network threatstop-block-v6`",
            "% Invalid input",
            "`ipv6: false`",
        ] {
            assert!(message.contains(part), "{part:?} in {message}");
        }
        let reached = err.reached().expect("the IPv4 groups went in");
        let counts: Vec<(usize, usize)> = (reached.groups.iter())
            .map(|g| (g.added, g.removed))
            .collect();
        assert_eq!(counts, [(1, 0), (10, 0), (0, 0), (0, 0)], "{err}");
        assert!(reached.saved);
        assert_eq!(managed(&state, "threatstop-block"), nets(0..10));
        let s = state.lock().unwrap();
        assert!(s.saved() && s.running.v6_groups.is_empty());
        assert_eq!(s.stats.left_in_config_mode, 0);
    }

    #[tokio::test]
    async fn a_group_that_would_be_emptied_is_held_back_while_the_others_get_their_lists() {
        // The IPv6 list lost all its items: its group is left as it is,
        // the IPv4 groups still get theirs (saved), and the device fails
        // `refused` naming the group.
        let old6 = nets6(0..2);
        let state = holding6(&old6);
        let (block, allow) = (nets(0..10), nets(100..101));
        let req = dual_request(
            block.clone(),
            allow.clone(),
            BTreeSet::new(),
            BTreeSet::new(),
        );
        let err = healthy(&state, &req).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Refused, "{err}");
        let message = err.to_string();
        assert!(
            message.contains("threatstop-block-v6")
                && message.contains("empty")
                && message.contains("ipv6: false"),
            "{message}"
        );
        let reached = err.reached().expect("the IPv4 groups reached it");
        assert_eq!(reached.groups[1].added, 10, "{err}");
        assert_eq!((reached.groups[3].added, reached.groups[3].removed), (0, 0));
        assert!(reached.saved, "{err}");
        assert_eq!(managed(&state, "threatstop-block"), block);
        assert_eq!(managed6(&state, "threatstop-block-v6"), old6, "untouched");
        assert!(state.lock().unwrap().saved());

        // A plan says so, and an apply with nothing else to push sends nothing.
        let mut plan = req.clone();
        plan.apply = false;
        let err = healthy(&state, &plan).await.unwrap_err();
        assert!(err.to_string().contains("threatstop-block-v6"), "{err}");
        let lines = state.lock().unwrap().stats.config_lines;
        let err = healthy(&state, &req).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Refused, "{err}");
        assert!(err.reached().is_none(), "{err}");
        assert_eq!(state.lock().unwrap().stats.config_lines, lines);
    }

    #[tokio::test]
    async fn a_name_held_by_an_ipv4_group_is_refused_before_anything_is_sent() {
        let state = xe_device(Config {
            groups: vec![ObjectGroup {
                name: "threatstop-block-v6".into(),
                description: None,
                entries: ["host 192.0.2.1".parse().unwrap()].into_iter().collect(),
            }],
            ..Config::default()
        });
        let req = dual_request(nets(0..10), BTreeSet::new(), nets6(0..10), BTreeSet::new());
        let err = healthy(&state, &req).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Refused, "{err}");
        let message = err.to_string();
        assert!(
            message.contains("threatstop-block-v6") && message.contains("IPv4"),
            "{message}"
        );
        assert_eq!(state.lock().unwrap().stats.config_lines, 0);
    }

    #[tokio::test]
    async fn a_stop_during_the_v6_adds_takes_them_back() {
        let old = nets6(0..1000);
        let state = holding6(&old);
        let req = block6_request(nets6(5000..7000));
        let err = stopped_run(&state, &req, |s| block6_len(s) >= 1100).await;
        assert_eq!(
            managed6(&state, "threatstop-block-v6"),
            old,
            "exactly the old list"
        );
        let g = &err.reached().unwrap().groups[3];
        assert_eq!((g.added, g.removed), (0, 0), "{err}");
        assert!(g.taken_back >= 100, "{err}");
    }

    #[tokio::test]
    async fn a_v6_group_refusing_adds_keeps_the_old_list_and_saves() {
        let old = nets6(0..300);
        let state = holding6(&old);
        let options = CliOptions {
            max_group_entries: Some(400),
            ..Default::default()
        };
        let req = block6_request(nets6(1000..1300));
        let err = run(&state, &req, options, SessionBehaviour::default())
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::GroupFull, "{err}");
        assert!(err.to_string().contains("threatstop-block-v6"), "{err}");
        let group = managed6(&state, "threatstop-block-v6");
        assert!(old.is_subset(&group), "no old entry was removed");
        assert_eq!(group.len(), 400, "old + accepted");
        let reached = err.reached().unwrap();
        assert_eq!(
            (reached.groups[3].added, reached.groups[3].removed),
            (100, 0)
        );
        assert!(reached.saved && state.lock().unwrap().saved());

        // One refused line: named as typed, nothing removed.
        let state = holding6(&old);
        let options = CliOptions {
            error_entries: ["host 2001:DB8::3EF".to_string()].into(),
            ..Default::default()
        };
        let req = block6_request(nets6(1000..1010));
        let err = run(&state, &req, options, SessionBehaviour::default())
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::DeviceError, "{err}");
        assert!(err.to_string().contains("host 2001:DB8::3EF"), "{err}");
        assert!(old.is_subset(&managed6(&state, "threatstop-block-v6")));
        assert_eq!(state.lock().unwrap().stats.left_in_config_mode, 0);
    }

    #[tokio::test]
    async fn a_v6_group_an_acl_uses_is_swapped_whole_never_emptied() {
        // Old and new lists share nothing: the ACL's group must never be empty.
        let old = nets6(0..50);
        let state = holding6(&old);
        state.lock().unwrap().running.v6_acls.push(Acl {
            name: "OUTSIDE-IN-V6".into(),
            lines: vec!["deny ipv6 object-group threatstop-block-v6 any".into()],
        });
        let new = nets6(500..550);
        let req = block6_request(new.clone());
        let out = healthy(&state, &req).await.unwrap();
        assert_eq!((out.groups[3].added, out.groups[3].removed), (50, 50));
        assert_eq!(managed6(&state, "threatstop-block-v6"), new);
    }
}
