//! `tsfleet logs upload`: the routers' syslog, split by sending device, and
//! each device's new lines uploaded to its policy's `log_upload` URL.
//!
//! - [`syslog`]: the sender named in a line's header; complete lines of a byte range;
//! - [`state`]: per-device positions (inode + offset) and the rotation decision;
//! - [`upload`]: the HTTPS POST (gzip body), the only network code.
//!
//! This module ties them together: it reads the file (and `FILE.1` after a
//! rotation), decides which lines are new for whom ([`collect`], pure),
//! cuts each device's lines into requests ([`batches`], pure), uploads, and
//! moves a device's position only after a 2xx answer, saving the state
//! after each one. The lines to send are read into memory.

pub mod state;
pub mod syslog;
pub mod upload;

use crate::inventory::{LoadedInventory, LogUpload};
use state::{FileMeta, Position, Start, State, StateError};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use syslog::Line;
use upload::{Clients, UploadError};

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error("cannot read the syslog file {path}: {source}")]
    Syslog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
    #[error(
        "no policy of {inventory} has `log_upload`: add `log_upload: {{ url: https://... }}` to the policy of the devices whose logs go up"
    )]
    NotConfigured { inventory: PathBuf },
}

/// The default state file: `<syslog>.tsfleet-upload.json`, beside it.
pub fn default_state_path(syslog: &Path) -> PathBuf {
    let mut name = syslog.file_name().unwrap_or_default().to_os_string();
    name.push(".tsfleet-upload.json");
    syslog.with_file_name(name)
}

/// The rotated file logrotate leaves by default: `FILE.1`.
pub fn rotated_path(syslog: &Path) -> PathBuf {
    let mut name = syslog.file_name().unwrap_or_default().to_os_string();
    name.push(".1");
    syslog.with_file_name(name)
}

/// Who a line goes to: a device (by its index) or nobody known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sink {
    Device(usize),
    Unknown,
}

/// Device names and hosts (case-insensitive) → device index.
pub struct Matcher {
    keys: HashMap<String, usize>,
}

impl Matcher {
    /// `devices` as (name, host), in inventory order; the first device to
    /// claim a key keeps it.
    pub fn new<'a>(devices: impl IntoIterator<Item = (&'a str, &'a str)>) -> Matcher {
        let mut keys = HashMap::new();
        for (i, (name, host)) in devices.into_iter().enumerate() {
            keys.entry(host.to_ascii_lowercase()).or_insert(i);
            keys.entry(name.to_ascii_lowercase()).or_insert(i);
        }
        Matcher { keys }
    }

    /// The device that sent `line`, and the sender as written (for reports).
    pub fn sink(&self, line: &[u8]) -> (Sink, Option<String>) {
        let text = String::from_utf8_lossy(line);
        match syslog::sender(&text) {
            Some(s) => match self.keys.get(&s.to_ascii_lowercase()) {
                Some(&i) => (Sink::Device(i), None),
                None => (Sink::Unknown, Some(s.to_string())),
            },
            None => (Sink::Unknown, None),
        }
    }
}

/// One new line and the position just past it (in the file it is in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub text: &'a [u8],
    pub after: Position,
}

/// The new lines of each sink, in file order, and the unknown senders seen.
#[derive(Debug, Default, PartialEq)]
pub struct Collected<'a> {
    pub lines: BTreeMap<Sink, Vec<Entry<'a>>>,
    /// Sender as written → lines (lines with no readable header: `None`).
    pub unknown_senders: BTreeMap<Option<String>, usize>,
}

/// Lines of one file and its inode.
pub struct FileLines<'s, 'a> {
    pub inode: u64,
    pub lines: &'s [Line<'a>],
}

/// Which lines are new for whom. `old` are the lines of the rotated file
/// (read from the smallest offset any `Rotated` start needs), `current` those
/// of the current file (read from the smallest offset any start needs, 0
/// when any start is not `Current`). A line is new for its sink when it
/// starts at or after that sink's offset in the file the sink is in.
pub fn collect<'a>(
    old: FileLines<'_, 'a>,
    current: FileLines<'_, 'a>,
    starts: &HashMap<Sink, Start>,
    matcher: &Matcher,
) -> Collected<'a> {
    let mut out = Collected::default();
    let first_run = Start::Current { offset: 0 };
    let mut take = |line: &Line<'a>, inode: u64, in_old: bool| {
        let (sink, sender) = matcher.sink(line.text);
        let start = starts.get(&sink).copied().unwrap_or(first_run);
        let new = match (start, in_old) {
            (Start::Current { offset }, false) => line.start >= offset,
            (Start::Current { .. }, true) => false,
            (Start::Rotated { offset }, true) => line.start >= offset,
            (Start::Rotated { .. } | Start::Lost { .. }, false) => true,
            (Start::Lost { .. }, true) => false,
        };
        if new {
            out.lines.entry(sink).or_default().push(Entry {
                text: line.text,
                after: Position {
                    inode,
                    offset: line.end,
                },
            });
            if sink == Sink::Unknown {
                *out.unknown_senders.entry(sender).or_default() += 1;
            }
        }
    };
    for line in old.lines {
        take(line, old.inode, true);
    }
    for line in current.lines {
        take(line, current.inode, false);
    }
    out
}

/// Cut a device's entries into requests of at most `max_bytes` of lines
/// (newlines included; a longer line goes alone), in order.
pub fn batches<'e, 'a>(entries: &'e [Entry<'a>], max_bytes: usize) -> Vec<&'e [Entry<'a>]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, e) in entries.iter().enumerate() {
        let len = e.text.len() + 1;
        if i > start && size + len > max_bytes {
            out.push(&entries[start..i]);
            start = i;
            size = 0;
        }
        size += len;
    }
    if start < entries.len() {
        out.push(&entries[start..]);
    }
    out
}

/// What one device's upload came to.
#[derive(Debug)]
pub enum DeviceOutcome {
    /// Accepted (2xx): `lines` lines, `bytes` gzip bytes.
    Uploaded {
        lines: usize,
        bytes: usize,
    },
    NothingNew,
    /// Its policy has no `log_upload`: its lines stay (uploaded once it has one).
    NotConfigured {
        lines: usize,
    },
    /// Not accepted: its position stays after the last accepted request;
    /// `lines` (of them, `sent` were accepted before) go next run.
    Failed {
        sent: usize,
        lines: usize,
        url: String,
        error: UploadError,
    },
}

/// What a run did, per device (inventory order) and for unknown senders.
#[derive(Debug)]
pub struct Summary {
    pub devices: Vec<(String, DeviceOutcome)>,
    pub unknown_lines: usize,
    pub unknown_senders: BTreeMap<Option<String>, usize>,
    /// Devices whose old file was rotated away before it was finished.
    pub lost: Vec<String>,
}

impl Summary {
    pub fn failed(&self) -> impl Iterator<Item = &(String, DeviceOutcome)> {
        self.devices
            .iter()
            .filter(|(_, o)| matches!(o, DeviceOutcome::Failed { .. }))
    }
}

fn meta(file: &std::fs::File) -> std::io::Result<FileMeta> {
    let m = file.metadata()?;
    Ok(FileMeta {
        inode: m.ino(),
        len: m.len(),
    })
}

fn read_from(file: &mut std::fs::File, offset: u64) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Upload every device's new lines from `syslog`, keeping positions in
/// `state_path`. Only an unusable input is an error; a device whose upload
/// fails is reported in the [`Summary`].
pub async fn upload(
    loaded: &LoadedInventory,
    syslog_path: &Path,
    state_path: &Path,
    max_body_bytes: usize,
) -> Result<Summary, LogsError> {
    let devices = loaded.devices();
    let configs: Vec<Option<&LogUpload>> = devices
        .iter()
        .map(|d| {
            d.policy
                .as_ref()
                .and_then(|p| loaded.inventory.policies.get(p))
                .and_then(|p| p.log_upload.as_ref())
        })
        .collect();
    if configs.iter().all(Option::is_none) {
        return Err(LogsError::NotConfigured {
            inventory: loaded.path.clone(),
        });
    }
    let _lock = crate::lock::acquire_beside(state_path)?;
    let syslog_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LogsError::Syslog { path, source }
    };
    let mut file = std::fs::File::open(syslog_path).map_err(syslog_err(syslog_path))?;
    let current = meta(&file).map_err(syslog_err(syslog_path))?;
    let rotated_path = rotated_path(syslog_path);
    let mut rotated = match std::fs::File::open(&rotated_path) {
        Ok(f) => {
            let m = meta(&f).map_err(syslog_err(&rotated_path))?;
            Some((f, m))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(syslog_err(&rotated_path)(e)),
    };
    let mut state = State::load(state_path)?;

    let rotated_meta = rotated.as_ref().map(|(_, m)| *m);
    let mut starts: HashMap<Sink, Start> = HashMap::new();
    // Devices with no `log_upload` have no start: their lines are only counted.
    for (i, d) in devices.iter().enumerate() {
        if configs[i].is_some() {
            let saved = state.devices.get(&d.name).copied();
            starts.insert(Sink::Device(i), state::start(saved, current, rotated_meta));
        }
    }
    starts.insert(
        Sink::Unknown,
        state::start(state.unknown, current, rotated_meta),
    );
    let mut lost = Vec::new();
    for (i, d) in devices.iter().enumerate() {
        if matches!(starts.get(&Sink::Device(i)), Some(Start::Lost { .. })) {
            lost.push(d.name.clone());
        }
    }

    let old_from = starts
        .values()
        .filter_map(|s| match s {
            Start::Rotated { offset } => Some(*offset),
            _ => None,
        })
        .min();
    let old_bytes = match (old_from, rotated.as_mut()) {
        (Some(from), Some((f, _))) => read_from(f, from).map_err(syslog_err(&rotated_path))?,
        _ => Vec::new(),
    };
    let cur_from = starts
        .values()
        .map(|s| match s {
            Start::Current { offset } => *offset,
            _ => 0,
        })
        .min()
        .unwrap_or(0);
    let cur_bytes = read_from(&mut file, cur_from).map_err(syslog_err(syslog_path))?;
    let (old_lines, _) = syslog::lines(&old_bytes, old_from.unwrap_or(0), true);
    let (cur_lines, cur_end) = syslog::lines(&cur_bytes, cur_from, false);
    let matcher = Matcher::new(devices.iter().map(|d| (d.name.as_str(), d.host.as_str())));
    let collected = collect(
        FileLines {
            inode: rotated_meta.map_or(0, |m| m.inode),
            lines: &old_lines,
        },
        FileLines {
            inode: current.inode,
            lines: &cur_lines,
        },
        &starts,
        &matcher,
    );
    let done = Position {
        inode: current.inode,
        offset: cur_end,
    };

    let mut clients = Clients::default();
    let mut outcomes = Vec::new();
    for (i, d) in devices.iter().enumerate() {
        let lines = collected
            .lines
            .get(&Sink::Device(i))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let Some(cfg) = configs[i] else {
            outcomes.push((
                d.name.clone(),
                DeviceOutcome::NotConfigured { lines: lines.len() },
            ));
            continue;
        };
        if lines.is_empty() {
            state.devices.insert(d.name.clone(), done);
            state.save(state_path)?;
            outcomes.push((d.name.clone(), DeviceOutcome::NothingNew));
            continue;
        }
        let ca_file = cfg.ca_file.as_deref().map(|p| loaded.resolve_path(p));
        let (mut sent, mut bytes) = (0, 0);
        let mut failure = None;
        for batch in batches(lines, max_body_bytes) {
            let body = upload::gzip_lines(batch.iter().map(|e| e.text));
            let size = body.len();
            match clients.post(cfg, ca_file.as_deref(), &d.name, body).await {
                Ok(()) => {
                    let last = batch.last().expect("batches are never empty");
                    state.devices.insert(d.name.clone(), last.after);
                    state.save(state_path)?;
                    sent += batch.len();
                    bytes += size;
                }
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let outcome = match failure {
            None => {
                // Past its last line: nothing between there and the end is its.
                state.devices.insert(d.name.clone(), done);
                state.save(state_path)?;
                DeviceOutcome::Uploaded { lines: sent, bytes }
            }
            Some(error) => DeviceOutcome::Failed {
                sent,
                lines: lines.len() - sent,
                url: crate::domain::redact(&cfg.url),
                error,
            },
        };
        outcomes.push((d.name.clone(), outcome));
    }
    let unknown_lines = collected.lines.get(&Sink::Unknown).map_or(0, Vec::len);
    state.unknown = Some(done);
    state.save(state_path)?;
    Ok(Summary {
        devices: outcomes,
        unknown_lines,
        unknown_senders: collected.unknown_senders,
        lost,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher() -> Matcher {
        Matcher::new([("rtr-001", "192.0.2.1"), ("rtr-002", "192.0.2.2")])
    }

    #[test]
    fn lines_are_matched_by_host_or_name() {
        let m = matcher();
        assert_eq!(m.sink(b"Nov 27 01:02:03 192.0.2.1 1: x").0, Sink::Device(0));
        assert_eq!(
            m.sink(b"<189>Nov 27 01:02:03 RTR-002 1: x").0,
            Sink::Device(1)
        );
        assert_eq!(
            m.sink(b"Nov 27 01:02:03 203.0.113.9 1: x"),
            (Sink::Unknown, Some("203.0.113.9".into()))
        );
        assert_eq!(m.sink(b"no header"), (Sink::Unknown, None));
    }

    #[test]
    fn each_sink_takes_lines_past_its_own_offset() {
        let text = b"Nov 27 01:02:03 192.0.2.1 a\nNov 27 01:02:03 192.0.2.2 b\nNov 27 01:02:03 192.0.2.1 c\nNov 27 01:02:03 10.9.9.9 d\nNov 27 01:02:03 192.0.2.1 part";
        let (lines, end) = syslog::lines(text, 0, false);
        let second = lines[1].start;
        let starts = HashMap::from([
            (Sink::Device(0), Start::Current { offset: second }),
            (Sink::Device(1), Start::Current { offset: 0 }),
        ]);
        let c = collect(
            FileLines {
                inode: 0,
                lines: &[],
            },
            FileLines {
                inode: 7,
                lines: &lines,
            },
            &starts,
            &matcher(),
        );
        assert_eq!(
            c.lines[&Sink::Device(0)],
            vec![Entry {
                text: &b"Nov 27 01:02:03 192.0.2.1 c"[..],
                after: Position {
                    inode: 7,
                    offset: lines[2].end
                }
            }]
        );
        assert_eq!(c.lines[&Sink::Device(1)].len(), 1);
        assert_eq!(c.lines[&Sink::Unknown].len(), 1);
        assert_eq!(c.unknown_senders[&Some("10.9.9.9".to_string())], 1);
        assert_eq!(end, lines[3].end, "the partial line waits");
    }

    #[test]
    fn rotated_file_is_finished_before_the_new_one() {
        let old_text = b"Nov 27 01:02:03 192.0.2.1 old1\nNov 27 01:02:03 192.0.2.1 old2\nNov 27 01:02:03 192.0.2.2 old3";
        let (all_old, _) = syslog::lines(old_text, 0, true);
        let from = all_old[1].start;
        let (old, _) = syslog::lines(&old_text[from as usize..], from, true);
        let (cur, _) = syslog::lines(b"Nov 27 01:02:03 192.0.2.1 new1\n", 0, false);
        let starts = HashMap::from([
            (Sink::Device(0), Start::Rotated { offset: from }),
            (Sink::Device(1), Start::Lost { offset: 5 }),
        ]);
        let c = collect(
            FileLines {
                inode: 3,
                lines: &old,
            },
            FileLines {
                inode: 7,
                lines: &cur,
            },
            &starts,
            &matcher(),
        );
        let got = &c.lines[&Sink::Device(0)];
        assert_eq!(
            got[0].after,
            Position {
                inode: 3,
                offset: old[0].end
            }
        );
        assert_eq!(
            got[1].after,
            Position {
                inode: 7,
                offset: cur[0].end
            }
        );
        let texts: Vec<&[u8]> = got.iter().map(|e| e.text).collect();
        assert_eq!(
            texts,
            vec![
                &b"Nov 27 01:02:03 192.0.2.1 old2"[..],
                b"Nov 27 01:02:03 192.0.2.1 new1"
            ]
        );
        assert!(
            !c.lines.contains_key(&Sink::Device(1)),
            "lost: old lines not readable"
        );
    }

    #[test]
    fn batches_keep_order_and_size() {
        let texts = [&b"aaaa"[..], b"bb", b"cccccccccc", b"d"];
        let at = Position {
            inode: 1,
            offset: 0,
        };
        let entries: Vec<Entry> = texts.iter().map(|t| Entry { text: t, after: at }).collect();
        let sizes: Vec<usize> = batches(&entries, 8).iter().map(|b| b.len()).collect();
        assert_eq!(
            sizes,
            vec![2, 1, 1],
            "5+3 fit in 8; the 11-byte line goes alone"
        );
        assert_eq!(batches(&entries, usize::MAX).len(), 1);
        assert!(batches(&[], 8).is_empty());
    }

    #[test]
    fn state_path_and_rotated_path_are_beside_the_file() {
        let p = Path::new("/var/log/routers.log");
        assert_eq!(
            default_state_path(p),
            Path::new("/var/log/routers.log.tsfleet-upload.json")
        );
        assert_eq!(rotated_path(p), Path::new("/var/log/routers.log.1"));
    }
}
