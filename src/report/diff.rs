//! `--diff` on `plan` and `apply`: after the table, every change as the IOS
//! line the router gets (`+ host 198.51.100.7`, `- 10.0.0.0 255.0.0.0`), adds
//! first as pushed, under a header naming the group and the devices. Devices
//! with the same change set (one policy, one prior state) share one block.
//! Pure: the caller decides colour (`crate::cli::use_color`) and the stream.

use super::{DeviceReport, RunReport, Status};
use crate::domain::escape_controls;
use crate::plan::ChangeSet;
use indexmap::IndexMap;

/// Device names a block's header lists before "and K more". Eight names of
/// a typical length keep the header on one terminal line, so the lines stay
/// easy to scan; the JSON report names every device with its `change_set`.
pub const MAX_NAMES: usize = 8;

/// A change set's lines as the diff shows them, uncoloured: `+ ENTRY` for
/// each add, then `- ENTRY` for each removal, in push order.
pub fn lines(set: &ChangeSet) -> impl Iterator<Item = String> + '_ {
    let add = set
        .add()
        .iter()
        .map(|l| format!("+ {}", escape_controls(l)));
    let remove = set
        .remove()
        .iter()
        .map(|l| format!("- {}", escape_controls(l)));
    add.chain(remove)
}

/// The header of a change set's block: the devices (a failed one marked,
/// its lines being the plan; the table's counts say what reached it), the
/// group and the counts.
pub fn header(set: &ChangeSet, devices: &[&DeviceReport]) -> String {
    let mut names: Vec<String> = devices
        .iter()
        .take(MAX_NAMES)
        .map(|d| {
            let name = escape_controls(&d.name);
            if d.status == Status::Failed {
                format!("{name} (failed)")
            } else {
                name.into_owned()
            }
        })
        .collect();
    let more = devices.len().saturating_sub(MAX_NAMES);
    let mut who = names.join(", ");
    if more > 0 {
        who = format!("{who} and {more} more");
    } else if names.len() > 1 {
        let last = names.pop().unwrap_or_default();
        who = format!("{} and {last}", names.join(", "));
    }
    format!(
        "{who}: {} {} (+{} -{})",
        set.family().object_group(),
        escape_controls(set.group()),
        set.add().len(),
        set.remove().len()
    )
}

/// Every distinct change set of the run once, with the devices that have
/// it, in table order (failed first, then changed; by name).
pub fn blocks(report: &RunReport) -> Vec<(&ChangeSet, Vec<&DeviceReport>)> {
    let mut blocks: IndexMap<&str, (&ChangeSet, Vec<&DeviceReport>)> = IndexMap::new();
    for device in report.sorted_devices() {
        for set in device.groups.iter().filter_map(|g| g.lines.as_deref()) {
            blocks
                .entry(set.digest())
                .or_insert_with(|| (set, Vec::new()))
                .1
                .push(device);
        }
    }
    blocks.into_values().collect()
}

/// Every distinct change set of the run once, under the devices that have
/// it, in table order (failed first, then changed; by name), a blank line
/// before each block. `color`: adds green, removals red.
pub fn render(report: &RunReport, color: bool) -> String {
    let blocks = blocks(report);
    if blocks.is_empty() {
        return "\nNo changes.\n".into();
    }
    let mut out = String::new();
    for (set, devices) in &blocks {
        out.push('\n');
        out.push_str(&header(set, devices));
        out.push('\n');
        for line in lines(set) {
            match (color, line.starts_with('+')) {
                (false, _) => out.push_str(&line),
                (true, true) => out.push_str(&format!("\x1b[32m{line}\x1b[0m")),
                (true, false) => out.push_str(&format!("\x1b[31m{line}\x1b[0m")),
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::sync::{GroupOutcome, SyncOutcome};
    use crate::plan::ChangeSets;
    use crate::report::Command;
    use std::time::{Duration, SystemTime};

    fn set(run: &ChangeSets, group: &str, add: &[&str], remove: &[&str]) -> GroupOutcome {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        let set = run.intern(ChangeSet::new(
            group,
            crate::domain::Family::Ipv4,
            owned(add),
            owned(remove),
        ));
        GroupOutcome {
            name: group.into(),
            added: add.len(),
            removed: remove.len(),
            change_set: Some(set),
            ..Default::default()
        }
    }

    fn device(name: &str, groups: Vec<GroupOutcome>) -> DeviceReport {
        let outcome = SyncOutcome {
            hostname: name.into(),
            groups,
            saved: false,
        };
        DeviceReport::from_outcome(name, "h", &outcome, &[], Duration::ZERO, 0)
    }

    fn report(devices: Vec<DeviceReport>) -> RunReport {
        RunReport::new(
            Command::Plan,
            SystemTime::now(),
            Duration::ZERO,
            None,
            None,
            devices,
        )
    }

    #[test]
    fn lines_are_the_adds_then_the_removals_as_pushed() {
        let set = ChangeSet::new(
            "threatstop-block",
            crate::domain::Family::Ipv4,
            vec!["host 198.51.100.7".into(), "192.0.2.0 255.255.255.0".into()],
            vec!["10.0.0.0 255.0.0.0".into()],
        );
        assert_eq!(
            lines(&set).collect::<Vec<_>>(),
            [
                "+ host 198.51.100.7",
                "+ 192.0.2.0 255.255.255.0",
                "- 10.0.0.0 255.0.0.0"
            ]
        );
    }

    #[test]
    fn identical_change_sets_are_printed_once_under_every_name() {
        let run = ChangeSets::default();
        let block = |run: &ChangeSets| {
            set(
                run,
                "threatstop-block",
                &["host 198.51.100.7"],
                &["10.0.0.0 255.0.0.0"],
            )
        };
        let devices = vec![
            device("rtr-002", vec![block(&run)]),
            device("rtr-001", vec![block(&run)]),
            device(
                "rtr-003",
                vec![
                    set(&run, "threatstop-allow", &["host 192.0.2.9"], &[]),
                    block(&run),
                ],
            ),
            device("rtr-004", vec![]),
        ];
        assert_eq!(
            render(&report(devices), false),
            "\n\
             rtr-001, rtr-002 and rtr-003: object-group network threatstop-block (+1 -1)\n\
             + host 198.51.100.7\n\
             - 10.0.0.0 255.0.0.0\n\
             \n\
             rtr-003: object-group network threatstop-allow (+1 -0)\n\
             + host 192.0.2.9\n"
        );
        assert_eq!(render(&report(vec![]), false), "\nNo changes.\n");
    }

    #[test]
    fn long_name_lists_end_in_and_k_more_and_colour_is_only_on_the_lines() {
        let run = ChangeSets::default();
        let devices: Vec<DeviceReport> = (1..=20)
            .map(|i| {
                device(
                    &format!("rtr-{i:03}"),
                    vec![set(&run, "g", &["host 192.0.2.1"], &["host 192.0.2.2"])],
                )
            })
            .collect();
        let text = render(&report(devices), true);
        assert_eq!(
            text,
            "\n\
             rtr-001, rtr-002, rtr-003, rtr-004, rtr-005, rtr-006, rtr-007, rtr-008 and 12 more: \
             object-group network g (+1 -1)\n\
             \x1b[32m+ host 192.0.2.1\x1b[0m\n\
             \x1b[31m- host 192.0.2.2\x1b[0m\n"
        );
    }

    #[test]
    fn a_failed_device_is_marked_and_names_are_escaped() {
        let run = ChangeSets::default();
        let mut failed = device(
            "rtr-\x1b[2J",
            vec![set(&run, "g", &["host 192.0.2.1"], &[])],
        );
        failed.status = Status::Failed;
        let text = render(&report(vec![failed]), false);
        assert!(
            text.starts_with("\nrtr-\\x1b[2J (failed): object-group network g (+1 -0)\n"),
            "{text:?}"
        );
    }
}
