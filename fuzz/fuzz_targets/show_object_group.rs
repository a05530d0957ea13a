//! The `show object-group` parsers on arbitrary (lossily decoded) text:
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsfleet::device::ios::{parse_group, parse_object_groups};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let all = parse_object_groups(&text);
    // Look up a name the text defines, if any, and one it does not.
    if let Ok(groups) = &all {
        for g in groups.iter().take(4) {
            let _ = parse_group(&text, &g.name);
        }
    }
    let _ = parse_group(&text, "TSFLEET-BLOCK");
    let _ = parse_group(&text, "");
});
