//! The `show object-group` parsers (IPv4 and IPv6 groups) on arbitrary
//! (lossily decoded) text: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsfleet::device::ios::{parse_group, parse_object_groups};
use tsfleet::domain::Family;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let all = parse_object_groups(&text);
    // Look up a name the text defines, if any, and one it does not.
    if let Ok(groups) = &all {
        for g in groups.iter().take(4) {
            let _ = parse_group(&text, &g.name, g.family);
        }
    }
    for family in Family::ALL {
        let _ = parse_group(&text, "TSFLEET-BLOCK", family);
        let _ = parse_group(&text, "", family);
    }
});
