//! A fleet of simulated devices in one process: builds each device from the
//! fleet settings and the profile, binds its port, serves SSH, and exposes
//! every device's state to tests, `--dump-state` and `--write-inventory`.

use super::cli::CostModel;
use super::device::{DeviceState, ObjectGroup, is_ios_xe};
use super::profile::{AuthMethod, DeviceProfile, Profile};
use super::runtime::DeviceRuntime;
use super::{SimError, hostkeys, server};
use crate::inventory::{Device, DeviceSettings, HostKeyPolicy, Inventory, Secret};
use russh::keys::PublicKey;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The default IOS version of a simulated ISR.
pub const DEFAULT_VERSION: &str = "15.7(3)M5";

/// Settings shared by the whole fleet; the profile overrides them per device.
#[derive(Clone, Debug)]
pub struct FleetConfig {
    pub devices: usize,
    /// First port; 0 lets the OS pick a free port for each device.
    pub base_port: u16,
    pub listen: IpAddr,
    pub username: String,
    pub password: String,
    pub enable_secret: String,
    pub rtt: Duration,
    pub line_cost: Duration,
    pub entry_cost: Duration,
    pub profile: Profile,
    pub state_dir: Option<PathBuf>,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            devices: 3,
            base_port: 0,
            listen: IpAddr::from([127, 0, 0, 1]),
            username: "admin".into(),
            password: "admin".into(),
            enable_secret: "enable".into(),
            rtt: Duration::ZERO,
            line_cost: Duration::ZERO,
            entry_cost: Duration::ZERO,
            profile: Profile::default(),
            state_dir: None,
        }
    }
}

/// The name of the i-th device (0-based): `rtr-001`, `rtr-002`, …
pub fn device_name(index: usize, count: usize) -> String {
    let width = count.to_string().len().max(3);
    format!("rtr-{:0width$}", index + 1)
}

impl DeviceRuntime {
    /// The device `--stdio` serves: no listener, state from the state dir.
    pub(crate) fn for_stdio(config: &FleetConfig, name: &str) -> Result<DeviceRuntime, SimError> {
        let profile = config.profile.device(name);
        let key = hostkeys::load_or_generate(None, name, false, true)?;
        build_runtime(
            config,
            name,
            SocketAddr::new(config.listen, 0),
            &profile,
            key.public_key().clone(),
        )
    }
}

/// A running simulated fleet. Dropping it stops every device.
pub struct SimFleet {
    devices: Vec<Arc<DeviceRuntime>>,
    tasks: Vec<JoinHandle<()>>,
    state_dir: Option<PathBuf>,
    /// The ports of `refuse_connections` devices: bound, never listening,
    /// so connections are refused and no other device or test can take
    /// the port while the fleet runs (a freed port was handed out again).
    reserved: Vec<tokio::net::TcpSocket>,
}

impl SimFleet {
    /// Bind every device's port and start serving.
    pub async fn start(config: FleetConfig) -> Result<SimFleet, SimError> {
        let names: Vec<String> = (0..config.devices)
            .map(|i| device_name(i, config.devices))
            .collect();
        if let Some(unknown) = config.profile.devices.keys().find(|n| !names.contains(n)) {
            return Err(SimError::Other(format!(
                "the profile configures device {unknown:?}, but the fleet has {} devices ({} … {})",
                config.devices,
                names.first().map(String::as_str).unwrap_or("none"),
                names.last().map(String::as_str).unwrap_or("none"),
            )));
        }
        if let Some(dir) = &config.state_dir {
            std::fs::create_dir_all(dir).map_err(|e| SimError::Io(dir.clone(), e))?;
        }
        let mut fleet = SimFleet {
            devices: Vec::with_capacity(names.len()),
            tasks: Vec::with_capacity(names.len()),
            state_dir: config.state_dir.clone(),
            reserved: Vec::new(),
        };
        for (i, name) in names.iter().enumerate() {
            let profile = config.profile.device(name);
            let port = if config.base_port == 0 {
                0
            } else {
                u16::try_from(usize::from(config.base_port) + i).map_err(|_| {
                    SimError::Other(format!(
                        "--base-port {} + {} devices passes port 65535",
                        config.base_port, config.devices
                    ))
                })?
            };
            let wanted = SocketAddr::new(config.listen, port);
            let bind_error = |e| SimError::Bind(wanted, e);
            let (listener, addr) = if profile.faults.refuse_connections {
                let socket = match wanted {
                    SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
                    SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
                }
                .map_err(bind_error)?;
                socket.bind(wanted).map_err(bind_error)?;
                let addr = socket.local_addr().map_err(bind_error)?;
                fleet.reserved.push(socket);
                (None, addr)
            } else {
                let listener = TcpListener::bind(wanted).await.map_err(bind_error)?;
                let addr = listener.local_addr().map_err(bind_error)?;
                (Some(listener), addr)
            };
            let key = hostkeys::load_or_generate(
                config.state_dir.as_deref(),
                name,
                profile.faults.legacy_only,
                profile.faults.rotate_host_key,
            )?;
            let runtime = Arc::new(build_runtime(
                &config,
                name,
                addr,
                &profile,
                key.public_key().clone(),
            )?);
            // Without a listener (`refuse_connections`) the OS refuses connections.
            if let Some(listener) = listener {
                let server_config = Arc::new(server::server_config(
                    key,
                    profile.faults.legacy_only,
                    &runtime.auth_methods,
                ));
                fleet.tasks.push(tokio::spawn(server::serve(
                    listener,
                    runtime.clone(),
                    server_config,
                )));
            }
            fleet.devices.push(runtime);
        }
        Ok(fleet)
    }

    pub fn devices(&self) -> &[Arc<DeviceRuntime>] {
        &self.devices
    }

    pub fn device(&self, name: &str) -> Option<&Arc<DeviceRuntime>> {
        self.devices.iter().find(|d| d.name == name)
    }

    /// Give every device these object groups, saved (the running and the
    /// startup configuration alike): a known starting state for tests and
    /// benchmarks that run several clients against one fleet.
    pub fn set_groups(&self, groups: &[ObjectGroup]) {
        for d in &self.devices {
            let mut state = d.state.lock().unwrap();
            state.running.groups = groups.to_vec();
            state.startup = state.running.clone();
        }
    }

    /// Every device's state, by name.
    pub fn dump(&self) -> BTreeMap<String, DeviceState> {
        self.devices
            .iter()
            .map(|d| (d.name.clone(), d.snapshot()))
            .collect()
    }

    /// Write every device's state as JSON.
    pub fn write_dump(&self, path: &Path) -> Result<(), SimError> {
        let json = serde_json::to_string_pretty(&serde_json::json!({ "devices": self.dump() }))
            .expect("device state serialises");
        crate::files::write_atomic(path, (json + "\n").as_bytes())
            .map_err(|e| SimError::Io(path.to_path_buf(), e))
    }

    /// Keep each device's state in the state dir so the next start resumes it.
    pub fn save_state(&self) -> Result<(), SimError> {
        let Some(dir) = &self.state_dir else {
            return Ok(());
        };
        for d in &self.devices {
            let path = dir.join(format!("{}.json", d.name));
            let json =
                serde_json::to_string_pretty(&d.snapshot()).expect("device state serialises");
            std::fs::write(&path, json).map_err(|e| SimError::Io(path.clone(), e))?;
        }
        Ok(())
    }

    /// known_hosts lines trusting every device's host key.
    pub fn known_hosts(&self) -> String {
        self.devices
            .iter()
            .map(|d| d.known_hosts_line() + "\n")
            .collect()
    }

    /// Write an inventory for this fleet that plan and apply can use as it
    /// is: host keys trusted through a known_hosts file and credentials in
    /// secret files (mode 0600), all beside the inventory; `ipv6: true` on
    /// the IOS XE devices.
    pub fn write_inventory(&self, path: &Path) -> Result<(), SimError> {
        self.write_inventory_with(path, |_| {}).map(drop)
    }

    /// [`SimFleet::write_inventory`], with `adjust` applied to the inventory
    /// before it is written (the test bed adds its `dns:` and `policies:`
    /// there); returns the inventory as written.
    pub fn write_inventory_with(
        &self,
        path: &Path,
        adjust: impl FnOnce(&mut Inventory),
    ) -> Result<Inventory, SimError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| SimError::Io(dir.to_path_buf(), e))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("inventory");
        let known_hosts = format!("{stem}.known_hosts");
        let secrets = format!("{stem}.secrets");
        let first = self.devices.first();
        write_file(&dir.join(&known_hosts), &self.known_hosts(), 0o644)?;
        std::fs::create_dir_all(dir.join(&secrets))
            .map_err(|e| SimError::Io(dir.join(&secrets), e))?;
        if let Some(d) = first {
            write_file(&dir.join(&secrets).join("password"), &d.password, 0o600)?;
            write_file(
                &dir.join(&secrets).join("enable_secret"),
                &d.enable_secret,
                0o600,
            )?;
        }
        let mut inventory = Inventory {
            defaults: DeviceSettings {
                username: first.map(|d| d.username.clone()),
                password: Some(Secret::File {
                    file: PathBuf::from(&secrets).join("password"),
                }),
                enable_secret: Some(Secret::File {
                    file: PathBuf::from(&secrets).join("enable_secret"),
                }),
                known_hosts: Some(PathBuf::from(&known_hosts)),
                host_key_policy: Some(HostKeyPolicy::Strict),
                ..DeviceSettings::default()
            },
            devices: self
                .devices
                .iter()
                .map(|d| Device {
                    name: d.name.clone(),
                    host: d.addr.ip().to_string(),
                    settings: DeviceSettings {
                        port: Some(d.addr.port()),
                        // IOS XE has v6-network groups: carry the IPv6 items there.
                        ipv6: d.state.lock().unwrap().is_ios_xe().then_some(true),
                        ..DeviceSettings::default()
                    },
                    ..Device::default()
                })
                .collect(),
            ..Inventory::default()
        };
        adjust(&mut inventory);
        let text = format!(
            "# Written by `tsfleet sim` for the {} simulated devices it started.\n\
             # Host keys are trusted through {known_hosts}; credentials are in {secrets}/.\n{}",
            self.devices.len(),
            crate::inventory::to_yaml(&inventory)
        );
        write_file(path, &text, 0o644)?;
        Ok(inventory)
    }

    /// Stop serving (connections in progress are dropped).
    pub fn shutdown(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for SimFleet {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A profile's v6 groups and ACLs need IOS XE, and IOS XE keeps no empty v6
/// group: refuse a profile a real router could not have.
fn check_v6_profile(name: &str, profile: &DeviceProfile) -> Result<(), SimError> {
    let Some(running) = &profile.running else {
        return Ok(());
    };
    let version = profile.version.as_deref().unwrap_or(DEFAULT_VERSION);
    if (!running.v6_groups.is_empty() || !running.v6_acls.is_empty()) && !is_ios_xe(version) {
        return Err(SimError::Other(format!(
            "the profile gives {name} v6-network groups or IPv6 ACLs, but its version {version} is classic IOS; set an IOS XE version: \"17.9.4a\""
        )));
    }
    if let Some(g) = running.v6_groups.iter().find(|g| g.entries.is_empty()) {
        return Err(SimError::Other(format!(
            "the profile gives {name} the empty v6-network group {}; IOS XE deletes empty v6 groups, give it an entry",
            g.name
        )));
    }
    Ok(())
}

fn build_runtime(
    config: &FleetConfig,
    name: &str,
    addr: SocketAddr,
    profile: &DeviceProfile,
    host_key: PublicKey,
) -> Result<DeviceRuntime, SimError> {
    let saved = match &config.state_dir {
        Some(dir) => load_saved_state(&dir.join(format!("{name}.json")))?,
        None => None,
    };
    check_v6_profile(name, profile)?;
    let state = saved.unwrap_or_else(|| {
        let running = profile.running.clone().unwrap_or_default();
        DeviceState {
            hostname: profile.hostname.clone().unwrap_or_else(|| name.to_string()),
            version: profile
                .version
                .clone()
                .unwrap_or_else(|| DEFAULT_VERSION.to_string()),
            startup: running.clone(),
            running,
            stats: Default::default(),
        }
    });
    let micros = |v: Option<u64>, d: Duration| v.map(Duration::from_micros).unwrap_or(d);
    Ok(DeviceRuntime {
        name: name.to_string(),
        addr,
        username: config.username.clone(),
        password: config.password.clone(),
        enable_secret: config.enable_secret.clone(),
        state: Arc::new(Mutex::new(state)),
        host_key,
        active_sessions: AtomicUsize::new(0),
        auth_methods: profile
            .auth_methods
            .clone()
            .unwrap_or_else(|| vec![AuthMethod::Password, AuthMethod::KeyboardInteractive]),
        privileged_login: profile.privileged_login.unwrap_or(false),
        rtt: profile
            .rtt_ms
            .map(Duration::from_millis)
            .unwrap_or(config.rtt),
        cost: CostModel {
            line_cost: micros(profile.line_cost_us, config.line_cost),
            per_1000_entries: micros(profile.entry_cost_us, config.entry_cost),
        },
        faults: Mutex::new(profile.faults.clone()),
    })
}

fn load_saved_state(path: &Path) -> Result<Option<DeviceState>, SimError> {
    match crate::files::read_text(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| SimError::Other(format!("{}: not a device state: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SimError::Io(path.to_path_buf(), e)),
    }
}

fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), SimError> {
    crate::files::write_atomic_mode(path, text.as_bytes(), mode)
        .map_err(|e| SimError::Io(path.to_path_buf(), e))
}
