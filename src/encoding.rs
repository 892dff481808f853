//! Text encodings of bytes and times, one of each: lower-case hex (as Rekor, TUF, git object
//! ids and certificate fingerprints spell digests) and RFC 3339 times (as the trust root, TUF
//! metadata, JWTs and our own output spell them).

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The value of one hex digit (either case), or `None` for any other byte.
pub fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The bytes of a hex string (either case): `None` unless every character is a hex digit and
/// the length is even (no sign, no prefix, no whitespace).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if s.len() % 2 != 0 {
        return None;
    }
    s.chunks_exact(2)
        .map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?))
        .collect()
}

/// Whether `text` is `bytes` in lower-case hex, compared in place (no string is made).
pub fn is_hex_of(text: &str, bytes: &[u8]) -> bool {
    text.len() == bytes.len() * 2
        && text.as_bytes().chunks_exact(2).zip(bytes).all(|(pair, b)| {
            pair[0] == DIGITS[usize::from(b >> 4)] && pair[1] == DIGITS[usize::from(b & 0x0f)]
        })
}

/// The bytes of lower-case hex `text` into `out` (exactly twice its length), else `None`: a
/// table look-up per digit, for the kept-facts file's megabytes of keys and checksums.
pub fn unhex_lower_into(text: &[u8], out: &mut [u8]) -> Option<()> {
    if text.len() != out.len() * 2 {
        return None;
    }
    // Each byte's value as a digit, 0xff for anything else.
    const DIGIT: [u8; 256] = {
        let mut t = [0xff; 256];
        let mut i = 0;
        while i < 16 {
            t[DIGITS[i] as usize] = i as u8;
            i += 1;
        }
        t
    };
    let mut bad = 0u8;
    for (pair, byte) in text.chunks_exact(2).zip(out.iter_mut()) {
        let (hi, lo) = (DIGIT[usize::from(pair[0])], DIGIT[usize::from(pair[1])]);
        bad |= (hi | lo) & 0xf0;
        *byte = hi << 4 | (lo & 0x0f);
    }
    (bad == 0).then_some(())
}

/// Unix seconds as an RFC 3339 UTC time with second precision (`2024-01-02T03:04:05Z`);
/// a time chrono cannot represent is shown as its number of seconds.
pub fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| t.to_string())
}

/// An RFC 3339 time (any offset, fractions dropped) as Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_read_in_lower_case_only() {
        let mut out = [0u8; 4];
        assert_eq!(unhex_lower_into(b"00ff7a09", &mut out), Some(()));
        assert_eq!(out, [0x00, 0xff, 0x7a, 0x09]);
        for bad in [
            &b"00FF7a09"[..],
            b"00ff7g09",
            b"00ff7a0",
            b"00ff7a09aa",
            b"0 ff7a09",
        ] {
            assert_eq!(unhex_lower_into(bad, &mut out), None, "{bad:?}");
        }
    }

    #[test]
    fn hex_is_compared_in_place_in_lower_case() {
        assert!(is_hex_of("00ff7a09", &[0x00, 0xff, 0x7a, 0x09]));
        assert!(!is_hex_of("00FF7a09", &[0x00, 0xff, 0x7a, 0x09]));
        assert!(!is_hex_of("00ff7a", &[0x00, 0xff, 0x7a, 0x09]));
        assert_eq!(hex(&[0x00, 0xff, 0x7a, 0x09]), "00ff7a09");
    }

    #[test]
    fn hex_round_trips_and_is_lower_case() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = hex(&bytes);
        assert_eq!(&text[..8], "00010203", "two digits per byte, in order");
        assert_eq!(&text[text.len() - 4..], "feff", "lower-case digits");
        assert_eq!(unhex(&text), Some(bytes.clone()), "hex reads back");
        assert_eq!(
            unhex(&text.to_ascii_uppercase()),
            Some(bytes),
            "upper case reads too"
        );
    }

    #[test]
    fn unhex_refuses_what_is_not_plain_hex() {
        for bad in ["a", "abc", "zz", "+f", "-1", " f", "0x00", "é1"] {
            assert_eq!(unhex(bad), None, "{bad:?} is not a hex byte string");
        }
        assert_eq!(unhex(""), Some(Vec::new()), "empty is zero bytes");
    }

    #[test]
    fn rfc3339_round_trips_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(
            parse_rfc3339("2023-11-14T23:13:20.5+01:00"),
            Some(1_700_000_000),
            "offsets are honoured and fractions dropped"
        );
        assert_eq!(parse_rfc3339("2023-11-14"), None, "a date alone is refused");
        assert_eq!(
            rfc3339(i64::MAX),
            i64::MAX.to_string(),
            "out of range shows seconds"
        );
    }
}
