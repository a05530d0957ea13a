//! A fleet run (`plan` or `apply`), from a loaded inventory to a report:
//! take the lists (a snapshot file, or resolve each distinct list once), build
//! every device's policy and credentials — all before any device is
//! contacted, so bad input exits 3 having touched nothing — then fan out the
//! device sessions and turn the outcomes into a [`RunReport`].

use crate::device::ssh::{Credentials, SshTarget};
use crate::device::sync::{GroupTarget, SyncRequest};
use crate::device::tasks::GroupName;
use crate::device::transcript::Transcript;
use crate::device::{DeviceError, Task, TaskOutcome};
use crate::domain::Family;
use crate::fleet::{self, Event, FanOutSettings, Outcome};
use crate::inventory::{LoadedInventory, Login, ResolvedDevice, SecretFiles};
use crate::lists::applied::{self, Applied, RecordFile};
use crate::lists::policy::OwnAddress;
use crate::lists::{self, DevicePolicy, ListsError, Snapshot, policy};
use crate::report::{Command, DeviceReport, RunReport};
use crate::saved_plan::{PlannedDevice, PlannedStatus, SavedPlan};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio_util::sync::CancellationToken;

/// How a run goes, beyond the inventory.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub command: Command,
    /// A snapshot from `tsfleet resolve -o` (no DNS queries then).
    pub lists: Option<PathBuf>,
    /// `lists` is refused when created longer ago than this (zero: no limit).
    pub max_snapshot_age: Duration,
    /// The snapshot last used, for the shrink guard; wins over `applied`.
    pub previous: Option<PathBuf>,
    pub allow_shrink: bool,
    /// The record of the lists last applied: the shrink guard's baseline
    /// without `previous`, moved after an apply ([`record_applied`]).
    /// `None` keeps no record (the demo).
    pub applied: Option<RecordFile>,
    pub fanout: FanOutSettings,
    /// Transcripts go here, one file per device (none when unset).
    pub run_dir: Option<PathBuf>,
    /// Longest time one device may take, connect to logout.
    pub device_deadline: Duration,
    /// This run is one shard of several (recorded in the report).
    pub shard: Option<crate::report::Shard>,
    /// `apply --plan`: its snapshot replaces `lists`, and each device gets
    /// the plan's change sets instead of a policy built now.
    pub saved_plan: Option<Arc<SavedPlan>>,
    /// The report becomes a saved plan (`plan --out`, an interactive
    /// apply's preview): each group's digest as read is recorded.
    pub record_observed: bool,
}

/// Invalid input found before any device was contacted (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Lists(#[from] ListsError),
    #[error("device {device}: {message}")]
    Device { device: String, message: String },
    #[error("{}: the inventory lists no device: add the routers under `devices:`", .inventory.display())]
    NoDevices { inventory: PathBuf },
    #[error(
        "cannot write transcripts in the run directory {path}: {source}; nothing was contacted"
    )]
    RunDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One device, ready to go: everything checked, secrets in memory only.
#[derive(Clone)]
pub struct Job {
    pub name: String,
    pub host: String,
    pub target: SshTarget,
    pub request: SyncRequest,
    /// Entries the policy cap cut, per group of `request.groups` (same order).
    pub capped: Vec<u64>,
    /// The lists its policy uses, as the snapshot names them.
    pub lists: Vec<String>,
    /// What the policy build found worth a line in the device's report.
    pub notes: Vec<String>,
    /// Its inventory groups, for the report.
    pub inventory_groups: Vec<String>,
    transcript: Option<PathBuf>,
    secrets: Vec<String>,
    inactivity: Duration,
    /// The most one answer of this device may be, from its policy's cap.
    answer_bytes: usize,
}

/// The checked run: the snapshot and a job per selected device.
pub struct Prepared {
    /// None for `check` and `remove`, which need no lists.
    pub snapshot: Option<Snapshot>,
    pub jobs: Vec<Job>,
    /// Per policy, what its build reported (capped, protected, …).
    pub policies: BTreeMap<String, DevicePolicy>,
    /// The record of the lists last applied, as the run found it.
    pub applied: Option<Applied>,
    /// `apply --plan`: selected devices the plan recorded as failed, each
    /// reported `skipped` with this reason, not contacted.
    pub skipped: Vec<DeviceReport>,
    /// `apply --plan`: selected devices the plan does not have (not touched).
    pub not_in_plan: Vec<String>,
}

/// Take the lists, build the policies and the jobs. Contacts DNS servers
/// only (and not even those with `--lists`).
pub async fn prepare(
    loaded: &LoadedInventory,
    devices: &[ResolvedDevice],
    options: &RunOptions,
) -> Result<Prepared, PrepareError> {
    // What `tsfleet inventory check` checks too, before any DNS query.
    if loaded.devices.is_empty() {
        return Err(PrepareError::NoDevices {
            inventory: loaded.path.clone(),
        });
    }
    let mut files = SecretFiles::default();
    let logins = devices
        .iter()
        .map(|d| login(d, &mut files))
        .collect::<Result<Vec<_>, _>>()?;
    let needs_lists = options.command.needs_lists();
    let saved = options.saved_plan.as_deref();
    let snapshot = match (saved, &options.lists, needs_lists) {
        (_, _, false) => None,
        // Checked (digest, inventory, age) when it was read.
        (Some(plan), _, true) => Some(plan.snapshot.clone()),
        (None, Some(path), true) => {
            let snapshot = Snapshot::read(path).map_err(ListsError::from)?;
            snapshot
                .check_age(path, options.max_snapshot_age, SystemTime::now())
                .map_err(ListsError::from)?;
            Some(snapshot)
        }
        (None, None, true) => Some(lists::resolve(&loaded.inventory).await?.snapshot),
    };
    let ipv6_used = devices.iter().any(|d| d.ipv6);
    let (record, previous) = shrink_baseline(options, snapshot.as_ref(), ipv6_used)?;
    // A saved plan's change sets are the truth: no policy is built again
    // (the own-address protection depends on the machine it runs on).
    let build_policies = needs_lists && saved.is_none();
    let own = if build_policies {
        own_addresses(loaded).await
    } else {
        Vec::new()
    };
    let mut policies = BTreeMap::new();
    for device in devices.iter().filter(|_| build_policies) {
        let Some(name) = &device.policy else {
            return Err(PrepareError::Device {
                device: device.name.clone(),
                message: "no policy: add `policies:` to the inventory and name one in `policy:`"
                    .into(),
            });
        };
        if policies.contains_key(name) {
            continue;
        }
        let p = loaded
            .inventory
            .policies
            .get(name)
            .ok_or_else(|| PrepareError::Device {
                device: device.name.clone(),
                message: format!("policy {name:?} is not under `policies:`"),
            })?;
        let snapshot = snapshot.as_ref().expect("plan and apply have a snapshot");
        // The IPv6 sides (and their guards) only for a policy that a
        // selected `ipv6: true` device carries.
        let ipv6 = devices
            .iter()
            .any(|d| d.ipv6 && d.policy.as_ref() == Some(name));
        let built = policy::build(
            snapshot,
            p,
            previous.as_ref(),
            options.allow_shrink,
            &own,
            ipv6,
        )
        .map_err(|source| ListsError::Policy {
            policy: name.clone(),
            source,
        })?;
        for hit in &built.report.own_protected {
            tracing::warn!("policy {name}: {hit}");
        }
        if built.report.ipv6_not_carried > 0 {
            tracing::info!(
                "policy {name}: {} IPv6 items of its lists not carried: no selected device of this policy has `ipv6: true`",
                built.report.ipv6_not_carried
            );
        }
        policies.insert(name.clone(), built);
    }
    let desired: BTreeMap<&str, DesiredSets> = (policies.iter())
        .map(|(name, built)| (name.as_str(), DesiredSets::of(built)))
        .collect();
    if let Some(dir) = &options.run_dir {
        // Created and probed now: transcripts that cannot be written are
        // found before a device is contacted, not after it was changed.
        crate::files::create_private_dir(dir)
            .and_then(|()| crate::files::check_dir_writable(dir))
            .map_err(|source| PrepareError::RunDir {
                path: dir.clone(),
                source,
            })?;
    }
    let mut jobs = Vec::with_capacity(devices.len());
    let (mut skipped, mut not_in_plan) = (Vec::new(), Vec::new());
    let change_sets = crate::plan::ChangeSets::default();
    for (device, login) in devices.iter().zip(logins) {
        let planned = match saved.map(|plan| (plan, plan.device(&device.name))) {
            None => None,
            Some((_, None)) => {
                not_in_plan.push(device.name.clone());
                continue;
            }
            Some((_, Some(d))) if d.status == PlannedStatus::Failed => {
                let why = d.error.as_deref().unwrap_or("no reason recorded");
                let mut report = DeviceReport::skipped(
                    &device.name,
                    &device.host,
                    format!("failed while planning ({why}): not contacted; plan again"),
                );
                report.inventory_groups = device.groups.clone();
                skipped.push(report);
                continue;
            }
            Some((plan, Some(d))) => Some((plan, d)),
        };
        let none = (DevicePolicy::default(), DesiredSets::default());
        let (built, desired) = device
            .policy
            .as_deref()
            .and_then(|p| Some((policies.get(p)?, desired.get(p)?)))
            .unwrap_or((&none.0, &none.1));
        let mut job = job(loaded, device, built, desired, options, login)?;
        job.lists = lists_used(loaded, device, snapshot.as_ref());
        job.request.change_sets = change_sets.clone();
        if let Some((plan, d)) = planned {
            job.request.groups = planned_groups(plan, d, &change_sets);
        }
        jobs.push(job);
    }
    Ok(Prepared {
        snapshot,
        jobs,
        policies,
        applied: record,
        skipped,
        not_in_plan,
    })
}

/// A saved plan's device's groups, as the device sync takes them.
fn planned_groups(
    plan: &SavedPlan,
    device: &PlannedDevice,
    change_sets: &crate::plan::ChangeSets,
) -> Vec<GroupTarget> {
    use crate::device::sync::PlannedGroup;
    (device.groups.iter())
        .map(|g| GroupTarget {
            name: g.name.clone(),
            family: g.family,
            desired: Default::default(),
            planned: Some(PlannedGroup {
                observed: g.observed.clone(),
                change_set: plan
                    .change_set(g.change_set.as_deref())
                    .map(|set| change_sets.intern_ref(set)),
            }),
        })
        .collect()
}

/// The shrink guard's baseline: the `--previous` snapshot, else the record
/// of the last applied lists (returned too, for [`record_applied`]). Only
/// plan and apply (`snapshot` given) read either.
fn shrink_baseline(
    options: &RunOptions,
    snapshot: Option<&Snapshot>,
    ipv6_used: bool,
) -> Result<(Option<Applied>, Option<policy::Baseline>), ListsError> {
    let (Some(snapshot), file) = (snapshot, &options.applied) else {
        return Ok((None, None));
    };
    let record = file.as_ref().map(RecordFile::read).transpose()?.flatten();
    if let Some(path) = &options.previous {
        let previous = Snapshot::read(path)?;
        let since = format!("the snapshot {} (--previous)", path.display());
        return Ok((
            record,
            Some(policy::Baseline::of_snapshot(&previous, &since)),
        ));
    }
    let (Some(file), Some(found)) = (file, &record) else {
        if let Some(file) = file {
            tracing::info!(
                "no record of a previous apply of this inventory ({}): no shrink guard this run; a successful apply records one",
                file.path.display()
            );
        }
        return Ok((record, None));
    };
    for list in snapshot
        .lists
        .iter()
        .filter(|l| !found.lists.contains_key(&l.name))
    {
        tracing::info!(
            "list {}: never applied to this inventory: no shrink guard for it this run",
            list.name
        );
    }
    let v6_unrecorded = (snapshot.lists.iter()).filter(|l| {
        found.lists.contains_key(&l.name)
            && !found.lists_v6.contains_key(&l.name)
            && l.prefixes.iter().any(|e| e.prefix.addr().is_ipv6())
    });
    for list in v6_unrecorded.filter(|_| ipv6_used) {
        tracing::info!(
            "list {}: its IPv6 part was never applied to this inventory: no IPv6 shrink guard for it \
             this run (an apply to its `ipv6: true` devices records one)",
            list.name
        );
    }
    let baseline = applied::baseline(found, &file.path);
    Ok((record, Some(baseline)))
}

/// The lists `device`'s policy uses, as `snapshot` names them.
fn lists_used(
    loaded: &LoadedInventory,
    device: &ResolvedDevice,
    snapshot: Option<&Snapshot>,
) -> Vec<String> {
    let policy = device
        .policy
        .as_ref()
        .and_then(|p| loaded.inventory.policies.get(p));
    let (Some(p), Some(snapshot)) = (policy, snapshot) else {
        return Vec::new();
    };
    let names = p.block.iter().chain(&p.allow);
    names
        .filter_map(|n| snapshot.list(n))
        .map(|l| l.name.clone())
        .collect()
}

/// The addresses tsfleet itself depends on, blocked on no device whatever
/// a list says: each device's management address, the address tsfleet
/// connects to it from, and the DNS servers of `dns:`. Every device of the
/// inventory counts, not only the selected ones, so a `--limit` or
/// `--shard` run builds the same policies as a whole-fleet run. Host names
/// are looked up now with the system resolver, as the connection will look
/// them up; a name that does not resolve is warned about and left out.
async fn own_addresses(loaded: &LoadedInventory) -> Vec<OwnAddress> {
    let mut roles: BTreeMap<IpAddr, Roles> = BTreeMap::new();
    let lookups = loaded.devices().iter().map(|d| async move {
        let found = tokio::time::timeout(
            d.connect_timeout,
            tokio::net::lookup_host((d.host.as_str(), d.port)),
        )
        .await
        .map_err(|_| format!("no answer within {:?}", d.connect_timeout))
        .and_then(|r| r.map_err(|e| e.to_string()));
        (d, found.map(Iterator::collect::<Vec<SocketAddr>>))
    });
    let mut targets = BTreeMap::new();
    for (d, found) in futures::future::join_all(lookups).await {
        match found {
            Ok(addrs) => {
                // Both families: a device reached over IPv6 must never
                // block its own management address either.
                for addr in addrs {
                    // An IPv4-mapped address is the IPv4 address the IPv4
                    // groups must not block.
                    let ip = addr.ip().to_canonical();
                    roles.entry(ip).or_default().devices.push(d.name.clone());
                    targets.entry(ip).or_insert(addr);
                }
            }
            Err(e) => tracing::warn!(
                "device {}: host {} does not resolve now ({e}), so the lists are not kept from \
                 blocking it: add its address to the policy's `protect:`",
                d.name,
                d.host
            ),
        }
    }
    // One probe per distinct address: routing, not the port, picks the source.
    for addr in targets.into_values() {
        if let Some(local) = local_address_towards(addr) {
            roles.entry(local).or_default().local = true;
        }
    }
    if let Some(dns) = &loaded.inventory.dns {
        for entry in &dns.servers {
            match lists::dns::parse_server(entry, dns.port).await {
                Ok(server) => {
                    roles
                        .entry(server.addr.ip().to_canonical())
                        .or_default()
                        .dns = true
                }
                Err(e) => tracing::warn!(
                    "dns.servers entry {entry:?}: {e}, so the lists are not kept from blocking \
                     it: add its address to the policy's `protect:`"
                ),
            }
        }
    }
    roles
        .into_iter()
        .map(|(address, roles)| OwnAddress {
            address,
            role: roles.to_string(),
        })
        .collect()
}

/// The local address the OS would send from to reach `addr` (of its
/// family): a UDP `connect` picks the route and sends nothing.
fn local_address_towards(addr: SocketAddr) -> Option<IpAddr> {
    let any: IpAddr = match addr {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = std::net::UdpSocket::bind((any, 0)).ok()?;
    socket.connect(addr).ok()?;
    Some(socket.local_addr().ok()?.ip().to_canonical())
}

/// What one own address is to tsfleet, for the report.
#[derive(Debug, Default)]
struct Roles {
    /// Devices whose management address it is, in inventory order.
    devices: Vec<String>,
    dns: bool,
    local: bool,
}

impl std::fmt::Display for Roles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        /// Names shown before "and N more": a fleet behind one address
        /// (NAT, the test bed) must not make a line per device.
        const SHOWN: usize = 3;
        let mut parts = Vec::new();
        if let [first, rest @ ..] = &self.devices[..] {
            let mut names = first.clone();
            for name in rest.iter().take(SHOWN - 1) {
                names.push_str(", ");
                names.push_str(name);
            }
            if self.devices.len() > SHOWN {
                names.push_str(&format!(" and {} more", self.devices.len() - SHOWN));
            }
            parts.push(format!("management address of {names}"));
        }
        if self.dns {
            parts.push("DNS server".to_string());
        }
        if self.local {
            parts.push("the address tsfleet connects from".to_string());
        }
        f.write_str(&parts.join("; "))
    }
}

/// A device's login, or every reason it has none (the first device with a
/// problem stops the run, naming them all).
fn login(d: &ResolvedDevice, files: &mut SecretFiles) -> Result<Login, PrepareError> {
    crate::inventory::login(d, files).map_err(|errors| PrepareError::Device {
        device: d.name.clone(),
        message: errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    })
}

/// A policy's lists as the device sync takes them (allow then block, per
/// family), built once per policy and shared by its devices' jobs: one copy
/// per device made memory grow by about 50 KB a device for a 2,000-entry
/// list.
#[derive(Default)]
struct DesiredSets {
    allow: Arc<BTreeSet<IpNet>>,
    block: Arc<BTreeSet<IpNet>>,
    allow_v6: Arc<BTreeSet<IpNet>>,
    block_v6: Arc<BTreeSet<IpNet>>,
}

impl DesiredSets {
    fn of(built: &DevicePolicy) -> Self {
        fn set<N: Copy + Into<IpNet>>(nets: &[N]) -> Arc<BTreeSet<IpNet>> {
            Arc::new(nets.iter().map(|&n| n.into()).collect())
        }
        DesiredSets {
            allow: set(&built.allow),
            block: set(&built.block),
            allow_v6: set(&built.allow_v6),
            block_v6: set(&built.block_v6),
        }
    }

    /// The groups of device `d`, in the order they are handled: allow
    /// before block, IPv4 before IPv6. `remove` takes the IPv6 groups of a
    /// device whatever its `ipv6` says: groups an earlier `ipv6: true` left
    /// behind are tsfleet's to delete too (a device without them has none).
    fn targets(&self, d: &ResolvedDevice, command: Command) -> Vec<GroupTarget> {
        let target = |name: &String, family, desired: &Arc<BTreeSet<IpNet>>| GroupTarget {
            name: name.clone(),
            family,
            desired: desired.clone(),
            planned: None,
        };
        let mut groups = vec![
            target(&d.allow_group, Family::Ipv4, &self.allow),
            target(&d.block_group, Family::Ipv4, &self.block),
        ];
        if d.ipv6 || command == Command::Remove {
            groups.push(target(&d.allow_group_v6, Family::Ipv6, &self.allow_v6));
            groups.push(target(&d.block_group_v6, Family::Ipv6, &self.block_v6));
        }
        groups
    }
}

/// What the policy cap cut of each of `d`'s groups, in
/// [`DesiredSets::targets`]'s order.
fn capped_per_group(built: &DevicePolicy, d: &ResolvedDevice) -> Vec<u64> {
    let r = &built.report;
    let mut cut = vec![r.capped_allow.len(), r.capped_block.len()];
    if d.ipv6 {
        cut.extend([r.capped_allow_v6.len(), r.capped_block_v6.len()]);
    }
    cut.into_iter().map(|n| n as u64).collect()
}

fn job(
    loaded: &LoadedInventory,
    d: &ResolvedDevice,
    built: &DevicePolicy,
    desired: &DesiredSets,
    options: &RunOptions,
    login: Login,
) -> Result<Job, PrepareError> {
    let (password, enable_secret) = (login.password, login.enable_secret);
    let credentials = match (login.private_key, &password) {
        (Some(file), _) => Credentials::PrivateKey {
            path: file.path,
            key: file.key,
        },
        (None, Some(pw)) => Credentials::Password(pw.clone()),
        (None, None) => unreachable!("inventory::login refuses a device without either"),
    };
    let secrets: Vec<String> = password
        .iter()
        .chain(enable_secret.iter())
        .cloned()
        .collect();
    let max_policy_size = d
        .policy
        .as_ref()
        .and_then(|p| loaded.inventory.policies.get(p))
        .and_then(|p| p.max_policy_size)
        .unwrap_or(policy::DEFAULT_MAX_POLICY_SIZE);
    let request = SyncRequest {
        enable_secret,
        groups: desired.targets(d, options.command),
        apply: options.command.pushes_lists(),
        record_observed: options.record_observed,
        save_config: d.save_config,
        change_sets: Default::default(),
    };
    Ok(Job {
        name: d.name.clone(),
        host: d.host.clone(),
        inventory_groups: d.groups.clone(),
        target: SshTarget {
            device: d.name.clone(),
            host: d.host.clone(),
            port: d.port,
            username: d.username.clone(),
            credentials,
            host_key_policy: d.host_key_policy,
            known_hosts: d.known_hosts.clone(),
            legacy_algorithms: d.legacy_algorithms,
            connect_timeout: d.connect_timeout,
        },
        request,
        capped: capped_per_group(built, d),
        lists: Vec::new(),
        // An own address of a family the device does not carry is not its news.
        notes: (built.report.own_protected.iter())
            .filter(|hit| d.ipv6 || hit.address.is_ipv4())
            .map(ToString::to_string)
            .collect(),
        transcript: options
            .run_dir
            .as_ref()
            .map(|dir| dir.join(format!("{}.log", d.name))),
        secrets,
        inactivity: d.command_timeout,
        answer_bytes: crate::device::shell::answer_cap(max_policy_size),
    })
}

/// After a second stop signal, how long the devices in flight still have to
/// stop and leave configuration mode before their sessions are closed:
/// short enough that the process ends within two seconds of that signal.
pub const ABANDON_GRACE: Duration = Duration::from_millis(1500);

/// How a run is stopped: `cancel` (a first stop signal) launches no new
/// device and makes those in flight stop pushing; `abandon` (a second one)
/// closes the sessions still in flight [`ABANDON_GRACE`] later, each
/// reported [`DeviceError::Abandoned`].
#[derive(Clone, Debug, Default)]
pub struct Stop {
    pub cancel: CancellationToken,
    pub abandon: CancellationToken,
}

/// Run every job and report. `on_event` sees starts, retries and finishes
/// (for progress display); `stop` ends the run early.
pub async fn execute(
    prepared: &Prepared,
    options: &RunOptions,
    stop: Stop,
    on_event: impl Fn(&Job, Event) + Send + Sync + 'static,
) -> RunReport {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let jobs = Arc::new(prepared.jobs.clone());
    let events_jobs = jobs.clone();
    let deadline = options.device_deadline;
    let command = options.command;
    // Failed devices reach the fan-out as errors (it counts them for its
    // stops); their time is kept here for the report.
    let durations = Arc::new(std::sync::Mutex::new(vec![Duration::ZERO; jobs.len()]));
    let Stop { cancel, abandon } = stop;
    let stop_pushing = cancel.clone();
    let outcomes = fleet::run(
        (0..jobs.len()).collect(),
        &options.fanout,
        cancel,
        move |event| {
            let index = match &event {
                Event::Started { index }
                | Event::Retrying { index, .. }
                | Event::Finished { index, .. } => *index,
            };
            on_event(&events_jobs[index], event);
        },
        {
            let (jobs, durations) = (jobs.clone(), durations.clone());
            move |index: usize, login: crate::device::login::Login| {
                let (job, durations, cancel, abandon) = (
                    jobs[index].clone(),
                    durations.clone(),
                    stop_pushing.clone(),
                    abandon.clone(),
                );
                async move {
                    let started = Instant::now();
                    let span = tracing::info_span!("device", device = %job.name);
                    let work = tracing::Instrument::instrument(
                        run_job(&job, command, deadline, cancel, login),
                        span,
                    );
                    let cut = async {
                        abandon.cancelled().await;
                        tokio::time::sleep(ABANDON_GRACE).await;
                    };
                    let result = tokio::select! {
                        result = work => result,
                        () = cut => Err(DeviceError::Abandoned {
                            device: job.name.clone(),
                            grace: ABANDON_GRACE,
                        }),
                    };
                    durations.lock().unwrap()[index] = started.elapsed();
                    result
                }
            }
        },
    )
    .await;
    let durations = durations.lock().unwrap().clone();
    let devices = jobs
        .iter()
        .zip(outcomes)
        .zip(durations)
        .map(|((job, outcome), took)| {
            let mut report = match outcome {
                Outcome::Done(report) => report,
                Outcome::Failed(error) => DeviceReport::failed(&job.name, &job.host, &error, took),
                Outcome::Skipped(reason) => DeviceReport::skipped(&job.name, &job.host, reason),
            };
            report.notes.extend(job.notes.iter().cloned());
            report.inventory_groups = job.inventory_groups.clone();
            report
        })
        .chain(prepared.skipped.iter().cloned())
        .collect();
    RunReport::new(
        options.command,
        started_at,
        started.elapsed(),
        prepared.snapshot.as_ref().map(|s| s.sha256.clone()),
        options.shard,
        devices,
    )
}

/// After an apply: move the record of the lists last applied for the lists
/// that every device carrying them took without error (failed and skipped
/// devices hold theirs back, [`applied::after_apply`]). `plan` never calls
/// this. Writes nothing when no list moved; `None` without a record file.
pub fn record_applied(
    prepared: &Prepared,
    report: &RunReport,
    options: &RunOptions,
) -> Result<Option<applied::Update>, ListsError> {
    let (Some(file), Some(snapshot)) = (&options.applied, &prepared.snapshot) else {
        return Ok(None);
    };
    use crate::report::Status;
    let ok: BTreeMap<&str, bool> = report
        .devices
        .iter()
        .map(|d| {
            (
                d.name.as_str(),
                matches!(d.status, Status::Ok | Status::Changed),
            )
        })
        .collect();
    let devices = prepared.jobs.iter().map(|j| applied::AppliedDevice {
        lists: &j.lists[..],
        ok: ok.get(j.name.as_str()).copied().unwrap_or(false),
        // The lists' IPv6 parts went to it (a built policy, or a saved plan's groups).
        ipv6: (j.request.groups.iter()).any(|g| g.family == Family::Ipv6),
    });
    let stamp = applied::RunStamp {
        applied_at: humantime::format_rfc3339_seconds(report.started_at).to_string(),
        // Absolute, so the record points at the transcripts from anywhere.
        run: options.run_dir.as_ref().map(|d| {
            let d = std::path::absolute(d).unwrap_or_else(|_| d.clone());
            d.display().to_string()
        }),
    };
    let update = applied::after_apply(
        prepared.applied.as_ref(),
        &file.inventory,
        snapshot,
        devices,
        &stamp,
    );
    // A list's IPv6 count can move alone (its IPv4-only devices failed).
    if !update.moved.is_empty() || !update.moved_v6.is_empty() {
        file.write(&update.record)?;
    }
    Ok(Some(update))
}

/// One device, connect to logout.
async fn run_job(
    job: &Job,
    command: Command,
    deadline: Duration,
    cancel: CancellationToken,
    login: crate::device::login::Login,
) -> Result<DeviceReport, DeviceError> {
    let started = Instant::now();
    let transcript = match &job.transcript {
        Some(path) => Transcript::create(path, job.secrets.clone())
            .map(|t| t.capped(Transcript::cap_for(job.answer_bytes)))
            .unwrap_or_else(|e| {
                tracing::warn!(
                    "{}: cannot write the transcript {}: {e}",
                    job.name,
                    path.display()
                );
                Transcript::none(job.secrets.clone())
            }),
        None => Transcript::none(job.secrets.clone()),
    };
    // Each group with its family: `check` and `remove` read and delete
    // `object-group network` and `v6-network` groups differently.
    let groups: Vec<GroupName> = (job.request.groups.iter())
        .map(|g| GroupName {
            name: g.name.clone(),
            family: g.family,
        })
        .collect();
    let enable_secret = job.request.enable_secret.clone();
    let task = match command {
        Command::Plan | Command::Apply => Task::Sync(job.request.clone()),
        Command::Check => Task::Check {
            enable_secret,
            groups,
        },
        Command::Remove => Task::Remove {
            enable_secret,
            groups,
            save_config: job.request.save_config,
        },
    };
    let (outcome, stats) = crate::device::run_task(
        &job.target,
        &task,
        transcript,
        crate::device::AnswerLimits {
            inactivity: job.inactivity,
            bytes: job.answer_bytes,
        },
        deadline,
        cancel,
        login,
    )
    .await?;
    let took = started.elapsed();
    Ok(match outcome {
        TaskOutcome::Sync(outcome) => DeviceReport::from_outcome(
            &job.name,
            &job.host,
            &outcome,
            &job.capped,
            took,
            stats.lines_sent,
        ),
        TaskOutcome::Check(outcome) => {
            DeviceReport::checked(&job.name, &job.host, outcome.notes, took, stats.lines_sent)
        }
        TaskOutcome::Remove(outcome) => DeviceReport::removed(
            &job.name,
            &job.host,
            &outcome.removed,
            outcome.saved,
            took,
            stats.lines_sent,
        ),
    })
}

/// The default run directory: `tsfleet-runs/<UTC time>-<command>` here.
pub fn default_run_dir(command: Command) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace(':', "");
    Path::new("tsfleet-runs").join(format!("{stamp}-{}", command.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_own_address_says_what_it_is_without_a_line_per_device() {
        let names = |n: usize| (1..=n).map(|i| format!("rtr-{i:03}")).collect::<Vec<_>>();
        let roles = |devices, dns, local| Roles {
            devices,
            dns,
            local,
        };
        assert_eq!(
            roles(names(2), true, true).to_string(),
            "management address of rtr-001, rtr-002; DNS server; the address tsfleet connects from"
        );
        assert_eq!(
            roles(names(1000), false, false).to_string(),
            "management address of rtr-001, rtr-002, rtr-003 and 997 more"
        );
        assert_eq!(roles(vec![], true, false).to_string(), "DNS server");
    }

    #[tokio::test]
    async fn own_addresses_keep_both_families() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fleet.yaml");
        let yaml = "defaults: { username: u, password: p }\n\
                    dns: { servers: ['::1', '::ffff:192.0.2.53'] }\n\
                    devices:\n\
                    \x20 - { name: v6, host: '::1' }\n\
                    \x20 - { name: v4, host: 127.0.0.1 }\n";
        std::fs::write(&path, yaml).unwrap();
        let loaded = crate::inventory::load(&path).unwrap();
        let own: Vec<(String, String)> = (own_addresses(&loaded).await.into_iter())
            .map(|o| (o.address.to_string(), o.role))
            .collect();
        let find = |a: &str| own.iter().find(|(x, _)| x == a).map(|(_, r)| r.as_str());
        assert_eq!(
            find("::1"),
            Some("management address of v6; DNS server; the address tsfleet connects from"),
            "{own:?}"
        );
        assert_eq!(
            find("127.0.0.1"),
            Some("management address of v4; the address tsfleet connects from")
        );
        assert_eq!(find("192.0.2.53"), Some("DNS server"), "mapped: {own:?}");
    }

    #[test]
    fn the_local_address_towards_loopback_is_loopback() {
        let to = SocketAddr::from((Ipv4Addr::LOCALHOST, 22));
        assert_eq!(local_address_towards(to), Some(Ipv4Addr::LOCALHOST.into()));
        let to = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 22));
        assert_eq!(
            local_address_towards(to),
            Some(std::net::Ipv6Addr::LOCALHOST.into()),
            "IPv6 too"
        );
        let mapped = SocketAddr::from((Ipv4Addr::LOCALHOST.to_ipv6_mapped(), 22));
        assert_eq!(
            local_address_towards(mapped),
            Some(Ipv4Addr::LOCALHOST.into()),
            "an IPv4-mapped address is its IPv4 address"
        );
    }
}
