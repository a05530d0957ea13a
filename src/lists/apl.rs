//! RFC 3123 APL (Address Prefix List, RR type 42) RDATA decoding.
//!
//! hickory-proto does not decode APL, so the raw RDATA arrives here. This
//! module is pure: bytes in, items or a precise error out, never a panic,
//! whatever the bytes (a property test feeds it random input).
//!
//! Wire format of one item (RFC 3123 §4), repeated until the RDATA ends:
//! `u16 ADDRESSFAMILY, u8 PREFIX, u8 N|AFDLENGTH, AFDPART[AFDLENGTH]`, where
//! the AFDPART is the address with its trailing zero bytes omitted.

use ipnet::{Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The APL record type code.
pub const APL_TYPE: u16 = 42;

const FAMILY_IPV4: u16 = 1;
const FAMILY_IPV6: u16 = 2;

/// The address of one APL item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AplPrefix {
    V4(Ipv4Net),
    V6(Ipv6Net),
    /// An address family other than IPv4/IPv6 (IANA numbers); kept so the
    /// caller can report it rather than silently lose it.
    Other {
        family: u16,
        prefix: u8,
    },
}

/// One decoded APL item. The address keeps any host bits exactly as
/// published; canonicalising is a policy decision, made (and warned about)
/// in [`super::policy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AplItem {
    /// The N bit: this prefix is excluded from the list.
    pub negated: bool,
    pub prefix: AplPrefix,
}

impl fmt::Display for AplItem {
    /// Zone-file presentation, e.g. `!1:10.1.0.0/16`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("!")?;
        }
        match self.prefix {
            AplPrefix::V4(n) => write!(f, "1:{}/{}", n.addr(), n.prefix_len()),
            AplPrefix::V6(n) => write!(f, "2:{}/{}", n.addr(), n.prefix_len()),
            AplPrefix::Other { family, prefix } => write!(f, "{family}:?/{prefix}"),
        }
    }
}

/// Why an APL RDATA could not be decoded; `offset` is the byte where the
/// faulty item starts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AplError {
    #[error("item at byte {offset}: header needs 4 bytes, only {remaining} left")]
    ShortHeader { offset: usize, remaining: usize },
    #[error("item at byte {offset}: address needs {afd_len} bytes, only {remaining} left")]
    ShortAddress {
        offset: usize,
        afd_len: usize,
        remaining: usize,
    },
    #[error("item at byte {offset}: family {family} address cannot be {afd_len} bytes long")]
    AddressTooLong {
        offset: usize,
        family: u16,
        afd_len: usize,
    },
    #[error("item at byte {offset}: prefix length /{prefix} is too long for family {family}")]
    PrefixTooLong {
        offset: usize,
        family: u16,
        prefix: u8,
    },
}

/// Decode every item of one APL RDATA. An empty RDATA is a valid, empty list.
pub fn decode(rdata: &[u8]) -> Result<Vec<AplItem>, AplError> {
    let mut items = Vec::new();
    let mut at = 0usize;
    while at < rdata.len() {
        let rest = &rdata[at..];
        let [f0, f1, prefix, n_len, ..] = *rest else {
            return Err(AplError::ShortHeader {
                offset: at,
                remaining: rest.len(),
            });
        };
        let family = u16::from_be_bytes([f0, f1]);
        let negated = n_len & 0x80 != 0;
        let afd_len = usize::from(n_len & 0x7f);
        let afd = rest.get(4..4 + afd_len).ok_or(AplError::ShortAddress {
            offset: at,
            afd_len,
            remaining: rest.len() - 4,
        })?;
        let prefix = match family {
            FAMILY_IPV4 => {
                let bytes: [u8; 4] = padded(afd, at, family)?;
                let net = Ipv4Net::new(Ipv4Addr::from(bytes), prefix).map_err(|_| {
                    AplError::PrefixTooLong {
                        offset: at,
                        family,
                        prefix,
                    }
                })?;
                AplPrefix::V4(net)
            }
            FAMILY_IPV6 => {
                let bytes: [u8; 16] = padded(afd, at, family)?;
                let net = Ipv6Net::new(Ipv6Addr::from(bytes), prefix).map_err(|_| {
                    AplError::PrefixTooLong {
                        offset: at,
                        family,
                        prefix,
                    }
                })?;
                AplPrefix::V6(net)
            }
            _ => AplPrefix::Other { family, prefix },
        };
        items.push(AplItem { negated, prefix });
        at += 4 + afd_len;
    }
    Ok(items)
}

/// Restore the trailing zero bytes the sender omitted.
fn padded<const N: usize>(afd: &[u8], offset: usize, family: u16) -> Result<[u8; N], AplError> {
    let mut bytes = [0u8; N];
    bytes
        .get_mut(..afd.len())
        .ok_or(AplError::AddressTooLong {
            offset,
            family,
            afd_len: afd.len(),
        })?
        .copy_from_slice(afd);
    Ok(bytes)
}

/// Encode items as APL RDATA (trailing zeros omitted). Used by tests and by
/// anyone generating zone data; the inverse of [`decode`].
pub fn encode(items: &[AplItem]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        let (family, prefix, addr): (u16, u8, Vec<u8>) = match item.prefix {
            AplPrefix::V4(n) => (FAMILY_IPV4, n.prefix_len(), n.addr().octets().to_vec()),
            AplPrefix::V6(n) => (FAMILY_IPV6, n.prefix_len(), n.addr().octets().to_vec()),
            AplPrefix::Other { family, prefix } => (family, prefix, Vec::new()),
        };
        let len = addr.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
        out.extend_from_slice(&family.to_be_bytes());
        out.push(prefix);
        // len <= 16, so it always fits in the 7 AFDLENGTH bits.
        out.push(u8::from(item.negated) << 7 | len as u8);
        out.extend_from_slice(&addr[..len]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v4(s: &str, negated: bool) -> AplItem {
        AplItem {
            negated,
            prefix: AplPrefix::V4(s.parse().unwrap()),
        }
    }

    #[test]
    fn decodes_worked_examples() {
        // Worked examples of the encoding: `00 01 08 01 0a` is 1:10.0.0.0/8; `00 01 10 82 0a 01` is !1:10.1.0.0/16.
        assert_eq!(
            decode(&[0, 1, 8, 1, 10]).unwrap(),
            vec![v4("10.0.0.0/8", false)]
        );
        assert_eq!(
            decode(&[0, 1, 16, 0x82, 10, 1]).unwrap(),
            vec![v4("10.1.0.0/16", true)]
        );
    }

    #[test]
    fn decodes_several_items_and_both_families() {
        let rdata = [
            0, 1, 32, 4, 192, 0, 2, 1, // 1:192.0.2.1/32
            0, 2, 32, 4, 0x20, 0x01, 0x0d, 0xb8, // 2:2001:db8::/32
            0, 1, 0, 0, // 1:0.0.0.0/0 (no address bytes at all)
        ];
        let items = decode(&rdata).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0], v4("192.0.2.1/32", false));
        assert_eq!(
            items[1].prefix,
            AplPrefix::V6("2001:db8::/32".parse().unwrap())
        );
        assert_eq!(items[2], v4("0.0.0.0/0", false));
    }

    #[test]
    fn keeps_host_bits_as_published() {
        let items = decode(&[0, 1, 8, 3, 10, 1, 2]).unwrap();
        assert_eq!(
            items[0].prefix,
            AplPrefix::V4("10.1.2.0/8".parse().unwrap())
        );
    }

    #[test]
    fn empty_rdata_is_an_empty_list() {
        assert_eq!(decode(&[]).unwrap(), vec![]);
    }

    #[test]
    fn unknown_family_is_kept_for_reporting() {
        let items = decode(&[0, 3, 8, 2, 1, 2]).unwrap();
        assert_eq!(
            items[0].prefix,
            AplPrefix::Other {
                family: 3,
                prefix: 8
            }
        );
    }

    #[test]
    fn malformed_rdata_is_a_precise_error() {
        assert_eq!(
            decode(&[0, 1, 8]),
            Err(AplError::ShortHeader {
                offset: 0,
                remaining: 3
            })
        );
        assert_eq!(
            decode(&[0, 1, 8, 1, 10, 0, 1, 24, 3, 10]),
            Err(AplError::ShortAddress {
                offset: 5,
                afd_len: 3,
                remaining: 1
            })
        );
        assert!(matches!(
            decode(&[0, 1, 32, 5, 1, 2, 3, 4, 5]),
            Err(AplError::AddressTooLong { afd_len: 5, .. })
        ));
        assert!(matches!(
            decode(&[0, 1, 33, 1, 10]),
            Err(AplError::PrefixTooLong { prefix: 33, .. })
        ));
        assert!(matches!(
            decode(&[0, 2, 129, 1, 0x20]),
            Err(AplError::PrefixTooLong { prefix: 129, .. })
        ));
    }

    #[test]
    fn display_is_zone_file_syntax() {
        assert_eq!(v4("10.1.0.0/16", true).to_string(), "!1:10.1.0.0/16");
    }

    proptest! {
        #[test]
        fn random_rdata_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn encode_then_decode_round_trips(
            raw in proptest::collection::vec((any::<u32>(), 0u8..=32, any::<bool>()), 0..100)
        ) {
            let items: Vec<AplItem> = raw
                .into_iter()
                .map(|(a, len, negated)| AplItem {
                    negated,
                    prefix: AplPrefix::V4(Ipv4Net::new(Ipv4Addr::from(a), len).unwrap()),
                })
                .collect();
            prop_assert_eq!(decode(&encode(&items)).unwrap(), items);
        }
    }
}
