//! The algorithm preferences offered in the key exchange: russh's modern
//! defaults first, then (unless turned off) the legacy set old IOS needs,
//! with the host-key types known_hosts already holds for the device first.

use russh::client;
use russh::keys::Algorithm;
use russh::{Preferred, SshId, cipher, kex, mac};
use std::borrow::Cow;

/// Old IOS key exchanges, group14 before group exchange: russh's GEX
/// refuses groups under 2048 bits, which old IOS may offer.
pub(super) const LEGACY_KEX: &[kex::Name] = &[kex::DH_G14_SHA1, kex::DH_GEX_SHA1, kex::DH_G1_SHA1];
pub(super) const LEGACY_CIPHERS: &[cipher::Name] = &[
    cipher::AES_128_CBC,
    cipher::AES_256_CBC,
    cipher::TRIPLE_DES_CBC,
];
pub(super) const LEGACY_MACS: &[mac::Name] = &[mac::HMAC_SHA1];

/// russh's defaults, then (if `legacy`) the IOS legacy set; host-key
/// algorithms for which known_hosts already has a key of this device come
/// first, as OpenSSH does, so a device with several keys presents the one
/// we can check.
fn preferred(legacy: bool, known: &[Algorithm]) -> Preferred {
    let d = Preferred::DEFAULT;
    // Extension pseudo-algorithms (ext-info-c, strict kex) stay at the end.
    let is_ext =
        |k: &kex::Name| k.as_ref().starts_with("ext-info") || k.as_ref().starts_with("kex-strict");
    let mut kex: Vec<kex::Name> = d.kex.iter().filter(|k| !is_ext(k)).cloned().collect();
    let mut cipher: Vec<cipher::Name> = d.cipher.to_vec();
    let mut mac: Vec<mac::Name> = d.mac.to_vec();
    let ssh_rsa = Algorithm::Rsa { hash: None };
    let mut key: Vec<Algorithm> = d.key.iter().filter(|a| **a != ssh_rsa).cloned().collect();
    if legacy {
        kex.extend(
            LEGACY_KEX
                .iter()
                .filter(|k| !kex_contains(&kex, k))
                .cloned()
                .collect::<Vec<_>>(),
        );
        cipher.extend(
            LEGACY_CIPHERS
                .iter()
                .filter(|c| !cipher.contains(c))
                .cloned()
                .collect::<Vec<_>>(),
        );
        mac.extend(
            LEGACY_MACS
                .iter()
                .filter(|m| !mac.contains(m))
                .cloned()
                .collect::<Vec<_>>(),
        );
        key.push(ssh_rsa);
    }
    kex.extend(d.kex.iter().filter(|k| is_ext(k)).cloned());
    // Stable: within each half the original order is kept.
    key.sort_by_key(|a| !known.iter().any(|k| same_key_type(k, a)));
    Preferred {
        kex: Cow::Owned(kex),
        key: Cow::Owned(key),
        cipher: Cow::Owned(cipher),
        mac: Cow::Owned(mac),
        ..d
    }
}

fn kex_contains(list: &[kex::Name], k: &kex::Name) -> bool {
    list.iter().any(|x| x.as_ref() == k.as_ref())
}

fn same_key_type(a: &Algorithm, b: &Algorithm) -> bool {
    match (a, b) {
        (Algorithm::Rsa { .. }, Algorithm::Rsa { .. }) => true,
        (a, b) => a == b,
    }
}

/// The client configuration: our identification string and [`preferred`].
pub(super) fn client_config(legacy: bool, known: &[Algorithm]) -> client::Config {
    client::Config {
        client_id: SshId::Standard(Cow::Owned(format!(
            "SSH-2.0-tsfleet_{}",
            env!("CARGO_PKG_VERSION")
        ))),
        preferred: preferred(legacy, known),
        nodelay: true,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_set_comes_after_the_modern_one() {
        let p = preferred(true, &[]);
        let kex: Vec<&str> = p.kex.iter().map(|k| k.as_ref()).collect();
        let g14 = kex
            .iter()
            .position(|k| *k == "diffie-hellman-group14-sha1")
            .unwrap();
        let gex = kex
            .iter()
            .position(|k| *k == "diffie-hellman-group-exchange-sha1")
            .unwrap();
        let g1 = kex
            .iter()
            .position(|k| *k == "diffie-hellman-group1-sha1")
            .unwrap();
        let curve = kex.iter().position(|k| *k == "curve25519-sha256").unwrap();
        assert!(curve < g14 && g14 < gex && gex < g1, "{kex:?}");
        assert!(
            kex.last().unwrap().starts_with("kex-strict")
                || kex.last().unwrap().starts_with("ext-info")
        );
        let ciphers: Vec<&str> = p.cipher.iter().map(|c| c.as_ref()).collect();
        assert!(
            ciphers.ends_with(&["aes128-cbc", "aes256-cbc", "3des-cbc"]),
            "{ciphers:?}"
        );
        assert_eq!(p.mac.last().unwrap().as_ref(), "hmac-sha1");
        let keys: Vec<&str> = p.key.iter().map(|k| k.as_str()).collect();
        let sha2 = keys.iter().position(|k| *k == "rsa-sha2-256").unwrap();
        let sha1 = keys.iter().position(|k| *k == "ssh-rsa").unwrap();
        assert!(sha2 < sha1, "{keys:?}");
    }

    #[test]
    fn modern_only_has_no_legacy() {
        let p = preferred(false, &[]);
        assert!(
            !p.kex
                .iter()
                .any(|k| LEGACY_KEX.iter().any(|l| l.as_ref() == k.as_ref()))
        );
        assert!(!p.cipher.iter().any(|c| LEGACY_CIPHERS.contains(c)));
        assert!(!p.mac.iter().any(|m| LEGACY_MACS.contains(m)));
        assert!(!p.key.contains(&Algorithm::Rsa { hash: None }));
    }

    #[test]
    fn known_key_types_are_asked_for_first() {
        let p = preferred(true, &[Algorithm::Rsa { hash: None }]);
        assert!(matches!(p.key[0], Algorithm::Rsa { .. }), "{:?}", p.key);
        let p = preferred(true, &[]);
        assert_eq!(p.key[0], Algorithm::Ed25519);
    }
}
