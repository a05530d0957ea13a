//! Reading syslog lines: which device sent a line (the HOSTNAME field of its
//! header) and cutting a byte range of the file into complete lines. Pure.
//!
//! Headers understood, with or without a leading `<PRI>`:
//! - RFC 3164 / BSD: `Nov 27 01:02:03 HOST ...` (the day may be space-padded);
//! - RFC 5424: `<PRI>1 2026-11-27T01:02:03Z HOST ...`;
//! - ISO timestamp first (rsyslog's `RSYSLOG_FileFormat`, syslog-ng's
//!   `ts_format(iso)`): `2026-11-27T01:02:03+00:00 HOST ...`.

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The sending host named in a syslog line's header (an address or a
/// hostname), or `None` when the header is not one of the forms above.
pub fn sender(line: &str) -> Option<&str> {
    let rest = strip_pri(line.trim_start());
    let mut tokens = rest.split_ascii_whitespace();
    let first = tokens.next()?;
    let host = if first == "1" {
        // RFC 5424: VERSION TIMESTAMP HOSTNAME.
        tokens.next()?;
        tokens.next()?
    } else if MONTHS.contains(&first) {
        // RFC 3164: MMM DD HH:MM:SS HOSTNAME.
        let day = tokens.next()?;
        let time = tokens.next()?;
        if !day.bytes().all(|b| b.is_ascii_digit()) || !looks_like_time(time) {
            return None;
        }
        tokens.next()?
    } else if looks_like_iso_timestamp(first) {
        tokens.next()?
    } else {
        return None;
    };
    let host = host.trim_end_matches(':');
    (!host.is_empty() && host != "-").then_some(host)
}

fn strip_pri(s: &str) -> &str {
    if let Some(rest) = s.strip_prefix('<')
        && let Some(end) = rest.find('>')
        && end > 0
        && end <= 3
        && rest[..end].bytes().all(|b| b.is_ascii_digit())
    {
        return &rest[end + 1..];
    }
    s
}

fn looks_like_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8 && b[2] == b':' && b[5] == b':' && b[..2].iter().all(u8::is_ascii_digit)
}

fn looks_like_iso_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[10] == b'T'
}

/// One complete line of the file: its bytes without the newline, and the
/// offset just past its newline.
#[derive(Debug, PartialEq, Eq)]
pub struct Line<'a> {
    pub start: u64,
    pub text: &'a [u8],
    pub end: u64,
}

/// The complete lines of `bytes`, read from offset `base` of a file, and the
/// offset where the next run should start: just past the last newline. A
/// partial last line (no newline yet) is left for the next run, unless
/// `finished` (a rotated file nobody writes any more), when it counts as a line.
pub fn lines(bytes: &[u8], base: u64, finished: bool) -> (Vec<Line<'_>>, u64) {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        match bytes[pos..].iter().position(|&b| b == b'\n') {
            Some(n) => {
                out.push(Line {
                    start: base + pos as u64,
                    text: &bytes[pos..pos + n],
                    end: base + (pos + n + 1) as u64,
                });
                pos += n + 1;
            }
            None if finished => {
                out.push(Line {
                    start: base + pos as u64,
                    text: &bytes[pos..],
                    end: base + bytes.len() as u64,
                });
                pos = bytes.len();
            }
            None => break,
        }
    }
    (out, base + pos as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_of_each_header_form() {
        let cases = [
            (
                "Nov 27 01:02:03 192.0.2.1 123: *Nov 27 01:02:03.456: %SEC-6-IPACCESSLOGP: list 101 denied",
                Some("192.0.2.1"),
            ),
            (
                "<189>Nov 27 01:02:03 rtr-001 45: %SYS-5-CONFIG_I: x",
                Some("rtr-001"),
            ),
            ("Nov  7 01:02:03 rtr-001 45: x", Some("rtr-001")),
            (
                "<189>1 2026-11-27T01:02:03Z rtr-002 - - - - msg",
                Some("rtr-002"),
            ),
            (
                "2026-11-27T01:02:03+00:00 10.0.0.1 1: %LINK-3-UPDOWN",
                Some("10.0.0.1"),
            ),
            ("Nov 27 01:02:03 rtr-003: msg", Some("rtr-003")),
            ("<189>1 2026-11-27T01:02:03Z - app - - - msg", None),
            ("garbage line", None),
            ("", None),
            ("Nov xx 01:02:03 h msg", None),
            ("Nov 27 01:02:03", None),
        ];
        for (line, want) in cases {
            assert_eq!(sender(line), want, "{line:?}");
        }
    }

    #[test]
    fn partial_last_line_is_left_unless_finished() {
        let (l, next) = lines(b"a\nbb\ncc", 10, false);
        assert_eq!(l.len(), 2);
        assert_eq!((l[1].start, l[1].text, l[1].end), (12, &b"bb"[..], 15));
        assert_eq!(next, 15);
        let (l, next) = lines(b"a\nbb\ncc", 10, true);
        assert_eq!(l.len(), 3);
        assert_eq!(l[2].text, b"cc");
        assert_eq!(next, 17);
        assert_eq!(lines(b"", 5, false), (vec![], 5));
        assert_eq!(lines(b"partial", 5, false), (vec![], 5));
    }
}
