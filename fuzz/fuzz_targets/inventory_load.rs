//! The inventory loader on arbitrary text: `check_text` (parse, validate,
//! resolve; diagnostics with snippets) and `parse`. Never a panic. Paths
//! are only resolved, never read, so a fixed base dir is enough.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tsfleet::inventory::{check_text, effective::PathContext, parse};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let paths = PathContext {
        base_dir: Path::new("/nonexistent/inventory"),
        home: Some(Path::new("/nonexistent/home")),
    };
    match check_text(&text, &paths) {
        Ok(checked) => {
            for w in &checked.warnings {
                let _ = w.display("fuzz.yaml").to_string();
            }
        }
        Err(mistakes) => {
            for m in &mistakes {
                let _ = m.display("fuzz.yaml").to_string();
            }
        }
    }
    let _ = parse(&text);
});
