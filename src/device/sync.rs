//! One device, start to finish: enable, terminal settings, read each group,
//! diff it, and (when applying) push the ordered changes, verify by reading
//! back, push what still differs (at most twice more), save, and leave. Config
//! mode is always left, on errors too.

use super::DeviceError;
use super::ios::{self, GroupContents};
use super::shell::{CliSession, Link};
use crate::plan::{self, Change};
use ipnet::Ipv4Net;
use std::collections::BTreeSet;

/// A group and the prefixes it must hold.
#[derive(Clone, Debug)]
pub struct GroupTarget {
    pub name: String,
    pub desired: BTreeSet<Ipv4Net>,
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
    /// Most entries a group may hold at any moment (the device's limit).
    pub group_limit: Option<usize>,
}

/// Push rounds after the first one, for what the read-back still finds missing.
pub const MAX_REPUSH_ROUNDS: u32 = 2;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupOutcome {
    pub name: String,
    pub added: usize,
    pub removed: usize,
    pub kept: usize,
    /// Entries tsfleet does not manage (`range`, `group-object`, …), left alone.
    pub unmanaged: Vec<String>,
    /// Push rounds used (0 when nothing was pushed).
    pub push_rounds: u32,
    /// Lines the device never acknowledged, later fixed by a re-push.
    pub lost_lines: usize,
}

#[derive(Clone, Debug, Default)]
pub struct SyncOutcome {
    pub hostname: String,
    pub groups: Vec<GroupOutcome>,
    pub saved: bool,
}

impl SyncOutcome {
    pub fn changed(&self) -> bool {
        self.groups.iter().any(|g| g.added + g.removed > 0)
    }
}

/// Bring the device's groups to the desired sets (or, with `apply: false`, report the diff).
pub async fn sync<L: Link>(
    session: &mut CliSession<L>,
    request: &SyncRequest,
) -> Result<SyncOutcome, DeviceError> {
    let result = sync_inner(session, request).await;
    if result.is_err() {
        session.transcript.note("error: leaving configuration mode");
        let _ = session.leave_config().await;
    }
    result
}

async fn sync_inner<L: Link>(
    session: &mut CliSession<L>,
    request: &SyncRequest,
) -> Result<SyncOutcome, DeviceError> {
    super::phase("enable");
    session.enable(request.enable_secret.as_deref()).await?;
    // Terminal settings and every group's contents in one round trip.
    let shows: Vec<String> = request
        .groups
        .iter()
        .map(|g| format!("show object-group name {}", g.name))
        .collect();
    let mut batch = vec!["terminal length 0", "terminal width 511"];
    batch.extend(shows.iter().map(String::as_str));
    super::phase("reading groups");
    let outputs = session.commands(&batch).await?;
    let mut outcome = SyncOutcome {
        hostname: session.hostname().to_string(),
        ..Default::default()
    };
    let mut current = Vec::with_capacity(request.groups.len());
    for ((group, output), command) in request.groups.iter().zip(&outputs[2..]).zip(&shows) {
        let contents = parse_group_output(session, command, output, &group.name)?;
        let diff = plan::diff(&contents.managed, &group.desired);
        outcome.groups.push(GroupOutcome {
            name: group.name.clone(),
            added: diff.add.len(),
            removed: diff.remove.len(),
            kept: diff.kept,
            unmanaged: contents.unmanaged.clone(),
            ..Default::default()
        });
        current.push(contents);
    }
    if !request.apply || !outcome.changed() {
        return Ok(outcome);
    }
    if session.cancel.is_cancelled() {
        let total = outcome.groups.iter().map(|g| g.added + g.removed).sum();
        return Err(DeviceError::Interrupted {
            device: session.device().to_string(),
            pushed: 0,
            total,
        });
    }
    session.command("configure terminal").await?;
    for ((group, contents), result) in request.groups.iter().zip(&current).zip(&mut outcome.groups)
    {
        if result.added + result.removed == 0 {
            continue;
        }
        push_group(session, request, group, contents, result).await?;
    }
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
    Ok(outcome)
}

/// Push one group's changes, then read back and push what still differs.
async fn push_group<L: Link>(
    session: &mut CliSession<L>,
    request: &SyncRequest,
    group: &GroupTarget,
    contents: &GroupContents,
    result: &mut GroupOutcome,
) -> Result<(), DeviceError> {
    session
        .command(&format!("object-group network {}", group.name))
        .await?;
    let mut contents = contents.clone();
    for round in 0..=MAX_REPUSH_ROUNDS {
        let diff = plan::diff(&contents.managed, &group.desired);
        if diff.is_empty() {
            return Ok(());
        }
        let size = contents.managed.len() + contents.unmanaged.len();
        let changes =
            plan::order(&diff, size, request.group_limit).map_err(|e| DeviceError::Refused {
                device: session.device().to_string(),
                group: group.name.clone(),
                reason: e.to_string(),
            })?;
        let lines: Vec<String> = changes.iter().map(change_line).collect();
        session.transcript.note(&format!(
            "push round {} to {}: {} lines",
            round + 1,
            group.name,
            lines.len()
        ));
        super::phase(&format!("pushing {} lines to {}", lines.len(), group.name));
        let pushed = session.push(&lines).await?;
        result.push_rounds = round + 1;
        result.lost_lines += pushed.lost;
        if let Some((index, message)) = pushed.errors.first() {
            let more = pushed.errors.len() - 1;
            return Err(DeviceError::Command {
                device: session.device().to_string(),
                command: lines[*index].clone(),
                message: if more > 0 {
                    format!("{message} (and {more} more lines refused)")
                } else {
                    message.clone()
                },
            });
        }
        contents = read_back(session, &group.name).await?;
    }
    let diff = plan::diff(&contents.managed, &group.desired);
    if diff.is_empty() {
        return Ok(());
    }
    Err(DeviceError::Verify {
        device: session.device().to_string(),
        group: group.name.clone(),
        rounds: MAX_REPUSH_ROUNDS + 1,
        missing: diff.add.len(),
        extra: diff.remove.len(),
    })
}

/// Read a group back from configuration mode (`do show object-group name G`).
async fn read_back<L: Link>(
    session: &mut CliSession<L>,
    name: &str,
) -> Result<GroupContents, DeviceError> {
    let command = format!("do show object-group name {name}");
    let output = session.command(&command).await?;
    parse_group_output(session, &command, &output, name)
}

fn parse_group_output<L: Link>(
    session: &CliSession<L>,
    command: &str,
    output: &str,
    name: &str,
) -> Result<GroupContents, DeviceError> {
    ios::parse_group(output, name).map_err(|e| DeviceError::Protocol {
        device: session.device().to_string(),
        reason: format!("cannot read the answer to `{command}`: {e}"),
    })
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
    use crate::sim::device::{Acl, Config, DeviceState, Entry, ObjectGroup, SharedState};
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

    fn nets(range: std::ops::Range<u32>) -> BTreeSet<Ipv4Net> {
        range
            .map(|i| Ipv4Net::new((0x0A00_0000 + i).into(), 32).unwrap())
            .collect()
    }

    fn request(block: BTreeSet<Ipv4Net>, allow: BTreeSet<Ipv4Net>) -> SyncRequest {
        SyncRequest {
            enable_secret: Some("en".into()),
            groups: vec![
                GroupTarget {
                    name: "threatstop-allow".into(),
                    desired: allow,
                },
                GroupTarget {
                    name: "threatstop-block".into(),
                    desired: block,
                },
            ],
            apply: true,
            save_config: true,
            group_limit: None,
        }
    }

    fn managed(state: &SharedState, group: &str) -> BTreeSet<Ipv4Net> {
        let s = state.lock().unwrap();
        let g = s.group(group);
        let text: String = g
            .map(|g| {
                let mut t = format!("Network object group {group}\n");
                for e in &g.entries {
                    t.push_str(&format!(" {e}\n"));
                }
                t
            })
            .unwrap_or_default();
        ios::parse_group(&text, group).unwrap().managed
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

        let churned: BTreeSet<Ipv4Net> = nets(50..5050);
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
        });
        let mut session = connect(&state, CliOptions::default(), SessionBehaviour::default()).await;
        session.enable(Some("en")).await.unwrap();
        // Terminal length is still 24: the output comes in pages.
        let out = session.command("show object-group name G").await.unwrap();
        let g = ios::parse_group(&out, "G").unwrap();
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

    #[tokio::test]
    async fn refused_entries_are_device_errors_naming_the_line() {
        let state = device(Config::default());
        let options = CliOptions {
            error_entries: ["host 10.0.0.7".to_string()].into(),
            ..Default::default()
        };
        let err = run(
            &state,
            &request(nets(0..20), nets(900..901)),
            options,
            SessionBehaviour::default(),
        )
        .await
        .unwrap_err();
        match &err {
            DeviceError::Command {
                command, message, ..
            } => {
                assert_eq!(command, "host 10.0.0.7");
                assert!(message.starts_with('%'), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(state.lock().unwrap().stats.left_in_config_mode, 0);
        assert!(
            !state.lock().unwrap().saved(),
            "a refused push is not saved"
        );

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
        assert_eq!(err.class(), ErrorClass::DeviceError, "{err}");
        assert_eq!(full.lock().unwrap().stats.left_in_config_mode, 0);
        assert!(!full.lock().unwrap().saved(), "a refused push is not saved");
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
}
