//! The test bed: a simulated fleet, the list server paired with it, and the
//! inventory that points tsfleet at both, started together. `tsfleet demo`,
//! the fleet benchmark and the integration tests build their labs here.
//!
//! The inventory is the one [`SimFleet::write_inventory_with`] writes (host
//! keys in a known_hosts file, credentials in secret files beside it), with
//! `dns:` naming the list server and the caller's policies, then the
//! caller's typed edits of the [`Inventory`] value, in order, before it is
//! written with [`crate::inventory::to_yaml`].
//!
//! Lists hold IPv4 and IPv6 prefixes alike (`.list(name, prefixes)` takes
//! any `IpNet`, mixed as ThreatSTOP publishes them). A device is IOS XE,
//! with `object-group v6-network` groups, when its profile's `version` is
//! 16.x or 17.x; [`TestBedBuilder::ios_xe`] makes it so. The inventory
//! written sets `ipv6: true` on every IOS XE device (as `tsfleet sim
//! --write-inventory` does), so its IPv6 items go to its v6 groups; an edit
//! can turn it off, or on for a classic IOS device to see it refused:
//!
//! ```no_run
//! # async fn bed(dir: &std::path::Path) -> Result<(), tsfleet::sim::SimError> {
//! use tsfleet::inventory::Policy;
//! use tsfleet::sim::TestBed;
//! let net = |s: &str| s.parse::<ipnet::IpNet>().unwrap();
//! let bed = TestBed::builder()
//!     .devices(2)
//!     .ios_xe("rtr-002") // 17.9.4a, `ipv6: true` in the inventory
//!     .list("b.acme.threatstop.local", [net("192.0.2.7/32"), net("2001:db8:1::/48")])
//!     .policy("p", Policy { block: vec!["b.acme.threatstop.local".into()], ..Policy::default() })
//!     .start(&dir.join("bed.yaml"))
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! `tsfleet sim` starts the same parts itself (`src/commands/sim.rs`): it
//! listens on fixed ports by default and writes an inventory only when
//! asked, with the `dns:` of [`list_server_dns`] and the lab's policy
//! ([`super::lab`]).

use super::device::is_ios_xe;
use super::fleet::{FleetConfig, SimFleet};
use super::list_server::{ListServer, PublishedList};
use super::{Profile, SimError};
use crate::inventory::{DnsSettings, DnsTransport, Inventory, Policy};
use ipnet::IpNet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the inventory's resolver waits for the list server; the
/// inventory default (`dns.timeout_ms`).
const DNS_TIMEOUT_MS: u64 = 3_000;

/// Attempts per list server; the inventory default (`dns.attempts`).
const DNS_ATTEMPTS: u32 = 2;

/// The version [`TestBedBuilder::ios_xe`] gives a device: an IOS XE 17
/// release as Catalyst 8000 and ISR 1000/4000 routers run.
pub const IOS_XE_VERSION: &str = "17.9.4a";

/// One typed change to the inventory before it is written.
type Edit = Box<dyn FnOnce(&mut Inventory) + Send>;

/// A running test bed. Dropping it stops the fleet and the list server;
/// [`TestBed::shutdown`] also waits until the list server has stopped.
pub struct TestBed {
    fleet: SimFleet,
    lists: Option<ListServer>,
    inventory: Inventory,
    inventory_path: PathBuf,
}

impl TestBed {
    pub fn builder() -> TestBedBuilder {
        TestBedBuilder::default()
    }

    pub fn fleet(&self) -> &SimFleet {
        &self.fleet
    }

    /// The list server, when the builder was given lists to publish.
    pub fn list_server(&self) -> Option<&ListServer> {
        self.lists.as_ref()
    }

    /// The inventory as written to [`TestBed::inventory_path`].
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    pub fn inventory_path(&self) -> &Path {
        &self.inventory_path
    }

    /// Stop the list server (waiting for it): the lists' DNS stops
    /// answering, the fleet runs on.
    pub async fn stop_list_server(&mut self) {
        if let Some(lists) = self.lists.take() {
            lists.shutdown().await;
        }
    }

    /// Stop the list server (waiting for it) and the fleet.
    pub async fn shutdown(self) {
        if let Some(lists) = self.lists {
            lists.shutdown().await;
        }
        drop(self.fleet);
    }
}

/// What a [`TestBed`] is made of; [`TestBedBuilder::start`] starts it.
#[must_use]
#[derive(Default)]
pub struct TestBedBuilder {
    config: FleetConfig,
    profile: Option<String>,
    lists: Vec<PublishedList>,
    policies: Vec<(String, Policy)>,
    edits: Vec<Edit>,
    ios_xe: Vec<String>,
}

impl TestBedBuilder {
    /// Every fleet setting at once (what `tsfleet sim` takes on its command
    /// line); the other fleet setters change single fields of it.
    pub fn config(mut self, config: FleetConfig) -> Self {
        self.config = config;
        self
    }

    pub fn devices(mut self, devices: usize) -> Self {
        self.config.devices = devices;
        self
    }

    /// The fleet's profile as YAML ([`Profile`]); empty means none.
    pub fn profile(mut self, yaml: impl Into<String>) -> Self {
        self.profile = Some(yaml.into());
        self
    }

    /// Round-trip time and cost of one configuration line, for every device.
    pub fn costs(mut self, rtt: Duration, line_cost: Duration) -> Self {
        self.config.rtt = rtt;
        self.config.line_cost = line_cost;
        self
    }

    /// The password and enable secret of every device (and in the inventory's
    /// secret files).
    pub fn credentials(mut self, password: &str, enable_secret: &str) -> Self {
        self.config.password = password.into();
        self.config.enable_secret = enable_secret.into();
        self
    }

    /// Publish a list of these prefixes, IPv4 and IPv6 alike (none
    /// excluded). With any list, a list server starts and the inventory's
    /// `dns:` names it.
    pub fn list(self, name: &str, prefixes: impl IntoIterator<Item = impl Into<IpNet>>) -> Self {
        self.lists([PublishedList {
            name: name.into(),
            prefixes: prefixes.into_iter().map(Into::into).collect(),
            excluded: Vec::new(),
        }])
    }

    /// Make device `name` (`rtr-002`) IOS XE ([`IOS_XE_VERSION`], unless
    /// the profile gives it an IOS XE version already): it has
    /// `object-group v6-network` groups, and `ipv6: true` in the inventory.
    /// A profile that gives it a classic IOS version is refused at start.
    pub fn ios_xe(mut self, name: &str) -> Self {
        self.ios_xe.push(name.into());
        self
    }

    /// Publish these lists (see [`TestBedBuilder::list`]).
    pub fn lists(mut self, lists: impl IntoIterator<Item = PublishedList>) -> Self {
        self.lists.extend(lists);
        self
    }

    /// Add a policy under the inventory's `policies:`.
    pub fn policy(mut self, name: &str, policy: Policy) -> Self {
        self.policies.push((name.into(), policy));
        self
    }

    /// Change the inventory before it is written: settings, policies,
    /// devices. Edits run in the order given, after `dns:` and the policies
    /// are in place.
    pub fn edit(mut self, edit: impl FnOnce(&mut Inventory) + Send + 'static) -> Self {
        self.edits.push(Box::new(edit));
        self
    }

    /// Start the list server (when there are lists) and the fleet on
    /// loopback, and write the inventory to `inventory_path`.
    pub async fn start(self, inventory_path: &Path) -> Result<TestBed, SimError> {
        let mut config = self.config;
        if let Some(yaml) = self.profile.filter(|y| !y.trim().is_empty()) {
            config.profile =
                Profile::parse(&yaml).map_err(|e| SimError::Other(format!("profile: {e}")))?;
        }
        for name in &self.ios_xe {
            let device = config.profile.devices.entry(name.clone()).or_default();
            match &device.version {
                None => device.version = Some(IOS_XE_VERSION.into()),
                Some(v) if is_ios_xe(v) => {}
                Some(v) => {
                    return Err(SimError::Other(format!(
                        "{name} is asked to be IOS XE, but the profile gives it the classic IOS version {v}"
                    )));
                }
            }
        }
        let lists = if self.lists.is_empty() {
            None
        } else {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            Some(ListServer::start(addr, &self.lists).await?)
        };
        let fleet = SimFleet::start(config).await?;
        let dns = lists.as_ref().map(|l| list_server_dns(l.addr()));
        let policies = self.policies;
        let edits = self.edits;
        let inventory = fleet.write_inventory_with(inventory_path, move |inventory| {
            inventory.dns = dns;
            inventory.policies.extend(policies);
            for edit in edits {
                edit(inventory);
            }
        })?;
        Ok(TestBed {
            fleet,
            lists,
            inventory,
            inventory_path: inventory_path.to_path_buf(),
        })
    }
}

/// The `dns:` settings that resolve lists from the list server at `addr`.
pub fn list_server_dns(addr: SocketAddr) -> DnsSettings {
    DnsSettings {
        servers: vec![addr.ip().to_string()],
        port: addr.port(),
        transport: DnsTransport::Tcp,
        timeout_ms: DNS_TIMEOUT_MS,
        attempts: DNS_ATTEMPTS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory;
    use ipnet::Ipv4Net;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn the_written_inventory_resolves_the_published_lists_and_keeps_the_edits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bed.yaml");
        let bed = TestBed::builder()
            .devices(2)
            .profile("devices: { rtr-002: { faults: { legacy_only: true } } }")
            .credentials("bed-Pw-1", "bed-En-1")
            .list("bed-block.acme.threatstop.local", [net("192.0.2.7/32")])
            .list("bed-allow.acme.threatstop.local", Vec::<IpNet>::new())
            .policy(
                "bed",
                Policy {
                    block: vec!["bed-block.acme.threatstop.local".into()],
                    allow: vec!["bed-allow.acme.threatstop.local".into()],
                    ..Policy::default()
                },
            )
            .edit(|inv| inv.defaults.command_timeout_ms = Some(1_234))
            .edit(|inv| inv.devices[1].settings.save_config = Some(false))
            .start(&path)
            .await
            .unwrap();

        let loaded = inventory::load(&path).unwrap();
        assert_eq!(
            loaded.inventory,
            *bed.inventory(),
            "what is returned is what was written"
        );
        let server = bed.list_server().unwrap().addr();
        let dns = loaded.inventory.dns.as_ref().unwrap();
        assert_eq!(
            (dns.servers.as_slice(), dns.port),
            (&[server.ip().to_string()][..], server.port())
        );
        let devices = loaded.devices();
        assert_eq!(devices.len(), 2);
        assert_eq!(devices[0].policy.as_deref(), Some("bed"));
        assert_eq!(devices[0].command_timeout, Duration::from_millis(1_234));
        assert!(devices[0].save_config && !devices[1].save_config);
        assert_eq!(devices[1].port, bed.fleet().devices()[1].addr.port());
        assert!(bed.fleet().devices()[1].faults().legacy_only);
        let pw = devices[0]
            .password
            .as_ref()
            .unwrap()
            .reveal(dir.path())
            .unwrap();
        assert_eq!(pw, "bed-Pw-1");

        let resolved = crate::lists::resolve(&loaded.inventory)
            .await
            .unwrap()
            .snapshot;
        let block = resolved.list("bed-block.acme.threatstop.local").unwrap();
        assert_eq!(
            block.prefixes.iter().map(|e| e.prefix).collect::<Vec<_>>(),
            [ipnet::IpNet::from(net("192.0.2.7/32"))]
        );
        assert!(
            resolved
                .list("bed-allow.acme.threatstop.local")
                .unwrap()
                .prefixes
                .is_empty()
        );
        bed.shutdown().await;
    }

    #[tokio::test]
    async fn without_lists_no_server_starts_and_dns_is_the_callers() {
        let dir = tempfile::tempdir().unwrap();
        let bed = TestBed::builder()
            .devices(1)
            .profile("")
            .edit(|inv| inv.dns = Some(list_server_dns(SocketAddr::from(([127, 0, 0, 1], 5353)))))
            .start(&dir.path().join("bed.yaml"))
            .await
            .unwrap();
        assert!(bed.list_server().is_none());
        assert_eq!(bed.inventory().dns.as_ref().unwrap().port, 5353);
        assert!(bed.inventory().policies.is_empty());
    }

    #[tokio::test]
    async fn a_bad_profile_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = TestBed::builder()
            .profile("devices: [")
            .start(&dir.path().join("bed.yaml"))
            .await
            .err()
            .expect("refused");
        assert!(err.to_string().starts_with("profile: "), "{err}");
        assert!(!dir.path().join("bed.yaml").exists());
    }

    #[tokio::test]
    async fn an_ios_xe_device_has_ipv6_on_and_its_list_carries_ipv6_items() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bed.yaml");
        let any = |s: &str| s.parse::<IpNet>().unwrap();
        let block = [
            any("192.0.2.7/32"),
            any("2001:db8:1::/48"),
            any("2001:DB8::7/128"),
        ];
        let bed = TestBed::builder()
            .devices(3)
            .profile("devices: { rtr-003: { version: '16.09.03' } }")
            .ios_xe("rtr-002")
            .ios_xe("rtr-003")
            .list("bed-block.acme.threatstop.local", block)
            .policy(
                "bed",
                Policy {
                    block: vec!["bed-block.acme.threatstop.local".into()],
                    ..Policy::default()
                },
            )
            .start(&path)
            .await
            .unwrap();
        let version = |name: &str| bed.fleet().device(name).unwrap().snapshot().version;
        assert_eq!(version("rtr-002"), IOS_XE_VERSION);
        assert_eq!(
            version("rtr-003"),
            "16.09.03",
            "the profile's IOS XE version is kept"
        );
        let loaded = inventory::load(&path).unwrap();
        let ipv6: Vec<(&str, bool)> = (loaded.devices().iter())
            .map(|d| (d.name.as_str(), d.ipv6))
            .collect();
        assert_eq!(
            ipv6,
            [("rtr-001", false), ("rtr-002", true), ("rtr-003", true)]
        );
        let resolved = crate::lists::resolve(&loaded.inventory)
            .await
            .unwrap()
            .snapshot;
        let got: std::collections::BTreeSet<IpNet> = (resolved
            .list("bed-block.acme.threatstop.local"))
        .unwrap()
        .prefixes
        .iter()
        .map(|e| e.prefix)
        .collect();
        assert_eq!(got, block.into());
        bed.shutdown().await;

        // A device cannot be both: the profile's classic version is not overridden.
        let err = TestBed::builder()
            .devices(1)
            .profile("devices: { rtr-001: { version: '15.7(3)M5' } }")
            .ios_xe("rtr-001")
            .start(&dir.path().join("other.yaml"))
            .await
            .err()
            .expect("refused");
        assert!(
            err.to_string().contains("rtr-001") && err.to_string().contains("15.7(3)M5"),
            "{err}"
        );
    }
}
