//! `tsfleet resolve`: resolve every list once, check every policy against
//! the result, print a report (the table, and JSON when asked), and write
//! the snapshot when asked. `-` as either FILE is stdout; the table then
//! goes to stderr.

use crate::cli::ResolveArgs;
use crate::domain::Family;
use crate::error::{Error, Outcome};
use crate::inventory;
use crate::lists::snapshot::ListSnapshot;
use crate::lists::{self, DevicePolicy, ListsError, Snapshot, policy};
use serde_json::json;
use std::collections::BTreeMap;

pub async fn run(args: ResolveArgs) -> Result<Outcome, Error> {
    let on_stderr = super::run::check_outputs(&[("-o", &args.output), ("--json", &args.json)])?;
    let loaded = inventory::load(&args.inventory.path)?;
    let previous = previous_snapshot(&args)?;
    let resolution = lists::resolve(&loaded.inventory).await?;
    let snapshot = &resolution.snapshot;

    for f in &resolution.fetched {
        for failure in &f.failed_over {
            tracing::warn!("list {}: {failure}; answered by {}", f.name, f.server);
        }
    }
    for l in &snapshot.lists {
        if !l.skipped.is_empty() {
            tracing::warn!(
                "list {}: {} item(s) skipped (e.g. {}: {})",
                l.name,
                l.skipped.len(),
                l.skipped[0].item,
                l.skipped[0].reason
            );
        }
    }

    // Every policy is checked now, so a guard refuses before any device is touched.
    let mut policies = Vec::new();
    let mut refused = None;
    for (name, p) in &loaded.inventory.policies {
        // Built (and guarded) with IPv6 as `plan` and `apply` build it for
        // the whole fleet.
        let ipv6 = (loaded.devices().iter()).any(|d| d.ipv6 && d.policy.as_ref() == Some(name));
        match policy::build(
            snapshot,
            p,
            previous.as_ref(),
            args.shrink.allow_shrink,
            &[],
            ipv6,
        ) {
            Ok(d) => policies.push((name.as_str(), ipv6, d)),
            Err(source) => {
                refused.get_or_insert(ListsError::Policy {
                    policy: name.clone(),
                    source,
                });
            }
        }
    }

    let table = table(&resolution, &policies);
    if on_stderr {
        eprint!("{table}");
    } else {
        print!("{table}");
    }
    if let Some(output) = &args.json {
        let report = json_report(&resolution, &policies, args.output.as_ref());
        output
            .write(format!("{report:#}\n").as_bytes())
            .map_err(|source| Error::Io {
                path: output.to_string().into(),
                source,
            })?;
    }
    if let Some(e) = refused {
        return Err(e.into());
    }
    if let Some(output) = &args.output {
        snapshot.write(output).map_err(ListsError::from)?;
        if let Some(path) = output.path() {
            let note = format!(
                "snapshot written to {} (sha256 {})",
                path.display(),
                snapshot.sha256
            );
            if on_stderr {
                eprintln!("{note}");
            } else {
                println!("{note}");
            }
        }
    }
    Ok(Outcome::Done)
}

/// The snapshot the shrink guard compares against: `--previous`, else the
/// file about to be replaced.
fn previous_snapshot(args: &ResolveArgs) -> Result<Option<policy::Baseline>, Error> {
    let since =
        |path: &std::path::Path, flag: &str| format!("the snapshot {} ({flag})", path.display());
    if let Some(p) = &args.shrink.previous {
        let s = Snapshot::read(p).map_err(ListsError::from)?;
        return Ok(Some(policy::Baseline::of_snapshot(
            &s,
            &since(p, "--previous"),
        )));
    }
    match args.output.as_ref().and_then(|o| o.path()) {
        Some(out) if out.exists() => match Snapshot::read(out) {
            Ok(s) => Ok(Some(policy::Baseline::of_snapshot(&s, &since(out, "-o")))),
            Err(e) => {
                tracing::warn!("{e}; the shrink guard has no previous snapshot to compare with");
                Ok(None)
            }
        },
        _ => Ok(None),
    }
}

/// A policy as checked: its name, whether it was built with IPv6, the result.
type Checked<'a> = (&'a str, bool, DevicePolicy);

/// A list's positive prefixes per family: (IPv4, IPv6).
fn per_family(l: &ListSnapshot) -> (usize, usize) {
    let v4 = policy::count(&l.prefixes, Family::Ipv4);
    (v4, l.prefixes.len() - v4)
}

/// The same per sub-list, by name.
fn per_sublist(l: &ListSnapshot) -> BTreeMap<&str, (usize, usize)> {
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for e in &l.prefixes {
        let c = counts.entry(e.sublist.as_str()).or_default();
        match Family::of(&e.prefix) {
            Family::Ipv4 => c.0 += 1,
            Family::Ipv6 => c.1 += 1,
        }
    }
    counts
}

/// The table: a row per list and sub-list (positive prefixes per family),
/// then a line per policy.
fn table(resolution: &lists::Resolution, policies: &[Checked]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let snapshot = &resolution.snapshot;
    let width = snapshot
        .lists
        .iter()
        .flat_map(|l| {
            std::iter::once(l.name.len()).chain(l.sublists.iter().map(|s| s.name.len() + 2))
        })
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "{:<width$}  {:>8}  {:>8}  {:>8}  {:>7}  {:>9}  {:<9}  {:<21}  {:>8}",
        "LIST", "IPV4", "IPV6", "EXCLUDED", "SKIPPED", "SUB-LISTS", "TYPES", "SERVER", "TIME"
    );
    for l in &snapshot.lists {
        let (v4, v6) = per_family(l);
        let _ = writeln!(
            out,
            "{:<width$}  {:>8}  {:>8}  {:>8}  {:>7}  {:>9}  {:<9}  {:<21}  {:>5} ms",
            l.name,
            v4,
            v6,
            l.excluded.len(),
            l.skipped.len(),
            l.sublists.len(),
            l.record_types.join(","),
            l.server,
            l.elapsed_ms
        );
        let counts = per_sublist(l);
        for s in &l.sublists {
            let (v4, v6) = counts.get(s.name.as_str()).copied().unwrap_or_default();
            let _ = writeln!(
                out,
                "{:<width$}  {:>8}  {:>8}  {:>8}  {:>7}  {:>9}  {:<9}",
                format!("  {}", s.name),
                v4,
                v6,
                s.excluded,
                s.skipped,
                "",
                s.record_type
            );
        }
    }
    for (name, ipv6, d) in policies {
        let r = &d.report;
        let mut notes = Vec::new();
        if !r.capped_allow.is_empty() || !r.capped_block.is_empty() {
            notes.push(format!(
                "capped {} allow + {} block entries",
                r.capped_allow.len(),
                r.capped_block.len()
            ));
        }
        if !r.capped_allow_v6.is_empty() || !r.capped_block_v6.is_empty() {
            notes.push(format!(
                "capped {} allow + {} block IPv6 entries",
                r.capped_allow_v6.len(),
                r.capped_block_v6.len()
            ));
        }
        if !r.protected.is_empty() {
            notes.push(format!(
                "{} block prefixes cut by protect",
                r.protected.len()
            ));
        }
        if !r.canonicalised.is_empty() {
            notes.push(format!("{} with host bits cleared", r.canonicalised.len()));
        }
        if !r.too_broad.is_empty() {
            notes.push(format!(
                "{} below the prefix-length floor dropped",
                r.too_broad.len()
            ));
        }
        if let Some(((_, a), (_, b))) = r.aggregated {
            notes.push(format!("aggregated to {a} allow + {b} block"));
        }
        if let Some(((_, a), (_, b))) = r.aggregated_v6 {
            notes.push(format!("IPv6 aggregated to {a} allow + {b} block"));
        }
        if r.ipv6_not_carried > 0 {
            notes.push(format!(
                "{} IPv6 items not carried: no device of this policy has `ipv6: true`",
                r.ipv6_not_carried
            ));
        }
        if !r.shrink_overridden.is_empty() {
            notes.push(format!(
                "shrink accepted for {}",
                r.shrink_overridden.join(", ")
            ));
        }
        let v6 = if *ipv6 {
            format!(
                " (IPv4); {} block, {} allow entries (IPv6)",
                d.block_v6.len(),
                d.allow_v6.len()
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "policy {name}: {} block, {} allow entries{v6}{}{}",
            d.block.len(),
            d.allow.len(),
            if notes.is_empty() { "" } else { "; " },
            notes.join("; ")
        );
    }
    out
}

fn json_report(
    resolution: &lists::Resolution,
    policies: &[Checked],
    output: Option<&crate::files::Output>,
) -> serde_json::Value {
    let snapshot = &resolution.snapshot;
    let lists: Vec<_> = snapshot
        .lists
        .iter()
        .map(|l| {
            let failed_over: Vec<_> = resolution
                .fetched
                .iter()
                .filter(|f| f.name == l.name)
                .flat_map(|f| &f.failed_over)
                .map(|f| json!({"server": f.server, "error": f.error.to_string()}))
                .collect();
            let (v4, v6) = per_family(l);
            json!({
                "name": l.name,
                "server": l.server,
                "elapsed_ms": l.elapsed_ms,
                "record_types": l.record_types,
                "prefixes": v4,
                "prefixes_v6": v6,
                "excluded": l.excluded.len(),
                "skipped": l.skipped,
                "sublists": l.sublists,
                "failed_over": failed_over,
            })
        })
        .collect();
    let policies: Vec<_> = policies
        .iter()
        .map(|(name, ipv6, d)| {
            let r = &d.report;
            json!({
                "name": name,
                "ipv6": ipv6,
                "block": d.block.len(),
                "allow": d.allow.len(),
                "block_v6": d.block_v6.len(),
                "allow_v6": d.allow_v6.len(),
                "capped_allow": r.capped_allow,
                "capped_block": r.capped_block,
                "capped_allow_v6": r.capped_allow_v6,
                "capped_block_v6": r.capped_block_v6,
                "ipv6_not_carried": r.ipv6_not_carried,
                "protected": r.protected,
                "canonicalised": r.canonicalised.iter().map(|c| json!({"list": c.list, "published": c.published, "used": c.used})).collect::<Vec<_>>(),
                "too_broad": r.too_broad.iter().map(|c| json!({"list": c.list, "prefix": c.prefix})).collect::<Vec<_>>(),
                "excluded": r.excluded,
                "redundant": r.redundant,
                "skipped": r.skipped,
                "shrink_overridden": r.shrink_overridden,
            })
        })
        .collect();
    json!({
        "version": snapshot.version,
        "created_at": snapshot.created_at,
        "sha256": snapshot.sha256,
        "servers": snapshot.servers,
        "snapshot": output.map(|o| o.to_string()),
        "lists": lists,
        "policies": policies,
    })
}
