//! `lists::apl::decode` on arbitrary RDATA: never a panic, and whatever
//! decodes survives `encode` unchanged: `decode(encode(items)) == items`.
//! (The other direction does not hold: `encode` drops trailing zero address
//! bytes and the address bytes of unknown families, which `decode` accepts.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsfleet::lists::apl::{decode, encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(items) = decode(data) {
        let wire = encode(&items);
        assert!(
            wire.len() <= data.len(),
            "encode is never longer than its input"
        );
        assert_eq!(decode(&wire), Ok(items), "decode(encode(items)) == items");
    }
});
