//! `tsfleet acl`: the ACL lines that make the selected devices' groups
//! effective, printed for the operator to paste. Nothing is contacted.

use crate::cli::AclArgs;
use crate::device::acl::{AclDevice, V6Groups, render, v6_acl_name_problem};
use crate::error::{Error, Outcome};
use crate::inventory;

pub fn run(args: AclArgs) -> Result<Outcome, Error> {
    let loaded = inventory::load(&args.inventory.path)?;
    // --all is the same as no pattern; clap requires one of the two.
    let devices = super::select::devices(loaded.devices(), &args.devices)?;
    let targets: Vec<AclDevice> = devices
        .iter()
        .map(|d| AclDevice {
            name: d.name.clone(),
            host: d.host.clone(),
            block_group: d.block_group.clone(),
            allow_group: d.allow_group.clone(),
            v6: d.ipv6.then(|| V6Groups {
                block_group: d.block_group_v6.clone(),
                allow_group: d.allow_group_v6.clone(),
            }),
        })
        .collect();
    let ipv6 = targets.iter().any(|d| d.v6.is_some());
    if let Some(problem) = ipv6.then(|| v6_acl_name_problem(&args.acl_name)).flatten() {
        let message = format!(
            "invalid value '{}' for '--acl-name <NAME>': {problem}",
            args.acl_name
        );
        return Err(clap::Error::raw(clap::error::ErrorKind::ValueValidation, message).into());
    }
    print!("{}", render(&args.acl_name, &targets));
    Ok(Outcome::Done)
}
