//! The one digest format tsfleet publishes.

/// `sha256:` and the hex sha256 of `parts` one after the other: the form
/// of every digest tsfleet publishes (change sets, observed groups, saved
/// plans).
pub fn sha256_digest<P: AsRef<[u8]>>(parts: impl IntoIterator<Item = P>) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write;
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .fold(String::from("sha256:"), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
