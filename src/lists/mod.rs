//! The lists: from names in the inventory, over DNS, to a snapshot, and from
//! a snapshot to what one device must carry. This module only resolves and
//! builds policies; the DNS server that publishes lists for the demo and the
//! tests belongs to the test bed (`crate::sim::list_server`), which this
//! module never imports.
//!
//! - [`dns`] fetches (the only I/O here): PTR → sub-lists → APL/A/TXT,
//!   failover across servers.
//! - [`apl`] decodes RFC 3123 APL RDATA (pure).
//! - [`snapshot`] owns the versioned JSON written by `tsfleet resolve -o` and
//!   read by `plan`/`apply --lists`.
//! - [`policy`] turns a snapshot plus a device's [`Policy`](crate::inventory::Policy)
//!   into its block and allow entries (pure).
//! - [`applied`] owns the record of the lists last applied per inventory
//!   (in the state directory): the shrink guard's default baseline.
//!
//! [`resolve`] ties the first three together: every distinct list named
//! under `policies:` is fetched exactly once.

pub mod apl;
pub mod applied;
pub mod dns;
pub mod policy;
pub mod snapshot;

use crate::inventory::Inventory;
use apl::AplPrefix;
use dns::{FetchedList, ListFailure, ResolveConfig};
use ipnet::IpNet;
use snapshot::{Entry, ListSnapshot, Skipped, SubListSummary};
use std::collections::BTreeSet;

pub use policy::{DevicePolicy, PolicyError};
pub use snapshot::{Snapshot, SnapshotError};

#[derive(Debug, thiserror::Error)]
pub enum ListsError {
    #[error(
        "the inventory has no `dns:` section; add one naming the servers that publish the lists, e.g.\n  dns:\n    servers: [127.0.0.1]\n    port: 53"
    )]
    NoDnsSettings,
    #[error("invalid `dns:` settings: {0}")]
    DnsSettings(String),
    #[error("no lists to resolve: no policy under `policies:` names a block or allow list")]
    NoLists,
    #[error("policy {policy}: invalid list name {name:?}: {reason}")]
    BadListName {
        policy: String,
        name: String,
        reason: String,
    },
    /// One or more lists could not be resolved; each names its servers and errors.
    #[error("{}", failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Resolve { failures: Vec<ListFailure> },
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The record of the last applied lists cannot be read or written.
    #[error(transparent)]
    Applied(#[from] applied::AppliedError),
    #[error("policy {policy}: {source}")]
    Policy {
        policy: String,
        #[source]
        source: PolicyError,
    },
}

/// The distinct list names the inventory's policies refer to, normalised,
/// each once, sorted.
pub fn list_names(
    inventory: &Inventory,
) -> Result<Vec<hickory_resolver::proto::rr::Name>, ListsError> {
    let mut names = BTreeSet::new();
    for (policy, p) in &inventory.policies {
        for name in p.block.iter().chain(&p.allow) {
            let n = dns::list_name(name).map_err(|reason| ListsError::BadListName {
                policy: policy.clone(),
                name: name.clone(),
                reason,
            })?;
            names.insert(n);
        }
    }
    if names.is_empty() {
        return Err(ListsError::NoLists);
    }
    Ok(names.into_iter().collect())
}

/// What `resolve` did, beyond the snapshot itself: per-list details for the
/// report (failovers, timings).
#[derive(Debug)]
pub struct Resolution {
    pub snapshot: Snapshot,
    pub fetched: Vec<FetchedList>,
}

/// Resolve every distinct list of the inventory once, into a snapshot.
/// Nothing but the DNS servers is contacted.
pub async fn resolve(inventory: &Inventory) -> Result<Resolution, ListsError> {
    let dns_settings = inventory.dns.as_ref().ok_or(ListsError::NoDnsSettings)?;
    let names = list_names(inventory)?;
    let config = ResolveConfig::from_settings(dns_settings)
        .await
        .map_err(ListsError::DnsSettings)?;
    let fetched = dns::fetch_lists(&config, &names)
        .await
        .map_err(|failures| ListsError::Resolve { failures })?;
    let servers = config.servers.iter().map(|s| s.label.clone()).collect();
    let snapshot = Snapshot::new(servers, fetched.iter().map(to_snapshot).collect());
    Ok(Resolution { snapshot, fetched })
}

/// Split a fetched list into positive, excluded and skipped items.
pub fn to_snapshot(list: &FetchedList) -> ListSnapshot {
    let mut prefixes = Vec::new();
    let mut excluded = Vec::new();
    let mut skipped = Vec::new();
    let mut sublists = Vec::new();
    let mut record_types = BTreeSet::new();
    for sub in &list.sublists {
        record_types.insert(sub.source);
        let mut summary = SubListSummary {
            name: sub.name.clone(),
            record_type: sub.source.as_str().to_string(),
            prefixes: 0,
            excluded: 0,
            skipped: 0,
        };
        for item in &sub.items {
            let prefix = match item.prefix {
                AplPrefix::V4(p) => IpNet::V4(p),
                AplPrefix::V6(p) => IpNet::V6(p),
                AplPrefix::Other { family, .. } => {
                    summary.skipped += 1;
                    skipped.push(Skipped {
                        item: item.to_string(),
                        sublist: sub.name.clone(),
                        reason: format!("unknown address family {family}"),
                    });
                    continue;
                }
            };
            let entry = Entry {
                prefix,
                sublist: sub.name.clone(),
            };
            if item.negated {
                summary.excluded += 1;
                excluded.push(entry);
            } else {
                summary.prefixes += 1;
                prefixes.push(entry);
            }
        }
        sublists.push(summary);
    }
    let mut types: Vec<String> = Vec::new();
    if list.via_ptr {
        types.push("PTR".into());
    }
    types.extend(record_types.into_iter().map(|t| t.as_str().to_string()));
    ListSnapshot {
        name: list.name.clone(),
        server: list.server.clone(),
        elapsed_ms: u64::try_from(list.elapsed.as_millis()).unwrap_or(u64::MAX),
        record_types: types,
        sublists,
        prefixes,
        excluded,
        skipped,
    }
}
