//! `tsfleet import-inventory`'s readers on arbitrary text: Ansible INI and
//! YAML and a Nornir hosts file. Never a panic, and an inventory that is
//! imported reads back as the same inventory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsfleet::inventory::foreign::{Options, import_ansible, import_nornir};
use tsfleet::inventory::parse;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let opts = Options::default();
    let results = [
        import_ansible("fuzz.ini", &text, &opts),
        import_ansible("fuzz.yml", &text, &opts),
        import_nornir(&[("hosts.yaml".into(), text.to_string())], &opts),
    ];
    for result in results {
        match result {
            Ok(out) => assert_eq!(parse(&out.yaml).as_ref(), Ok(&out.inventory)),
            Err(mistakes) => {
                for m in &mistakes {
                    let _ = m.to_string();
                }
            }
        }
    }
});
