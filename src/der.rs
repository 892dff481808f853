//! A minimal DER reader and writer (X.690) that keeps every element's exact bytes.
//!
//! CMS signatures cover the signed attributes exactly as the signer encoded them, so the
//! parser must hand back original bytes rather than a re-encoding (the `der` crate re-sorts
//! SET OF on decode). Only what CMS and RFC 3161 need: low tag numbers, definite lengths.
//! The writer builds elements from their contents ([`tlv`], [`cat`], [`set_of`]) as the CMS
//! encoder and the embedded Rekor entry need them.

use const_oid::ObjectIdentifier;

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum DerError {
    #[error("truncated DER: {needed} bytes needed, {available} available")]
    Truncated { needed: usize, available: usize },
    #[error("unsupported DER encoding (high tag number or indefinite length)")]
    Unsupported,
    #[error("expected {expected}, found tag 0x{found:02x}")]
    UnexpectedTag { expected: &'static str, found: u8 },
    #[error("trailing bytes after {0}")]
    Trailing(&'static str),
}

/// One element: its tag byte, its whole encoding and its contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub raw: &'a [u8],
    pub value: &'a [u8],
}

pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const UTF8_STRING: u8 = 0x0c;
pub const PRINTABLE_STRING: u8 = 0x13;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;
pub const BOOLEAN: u8 = 0x01;

/// Context-specific constructed tag `[n]`.
pub const fn ctx(n: u8) -> u8 {
    0xa0 | n
}

/// Context-specific primitive tag `[n]`.
pub const fn ctx_prim(n: u8) -> u8 {
    0x80 | n
}

/// Read one element from the front of `input`; returns it and the rest.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let truncated = |needed: usize| DerError::Truncated {
        needed,
        available: input.len(),
    };
    let (&tag, after_tag) = input.split_first().ok_or_else(|| truncated(2))?;
    if tag & 0x1f == 0x1f {
        return Err(DerError::Unsupported);
    }
    let (&first, after_len) = after_tag.split_first().ok_or_else(|| truncated(2))?;
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return Err(DerError::Unsupported);
        }
        let bytes = after_len.get(..n).ok_or_else(|| truncated(2 + n))?;
        let len = bytes.iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (len, 2 + n)
    };
    let total = header.checked_add(len).ok_or(DerError::Unsupported)?;
    let raw = input.get(..total).ok_or_else(|| truncated(total))?;
    Ok((
        Tlv {
            tag,
            raw,
            value: &raw[header..],
        },
        &input[total..],
    ))
}

/// Read one element that must carry `tag`.
pub fn expect<'a>(
    input: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<(Tlv<'a>, &'a [u8]), DerError> {
    let (tlv, rest) = read(input)?;
    if tlv.tag != tag {
        return Err(DerError::UnexpectedTag {
            expected: what,
            found: tlv.tag,
        });
    }
    Ok((tlv, rest))
}

/// Read exactly one element filling all of `input`.
pub fn single<'a>(input: &'a [u8], tag: u8, what: &'static str) -> Result<Tlv<'a>, DerError> {
    let (tlv, rest) = expect(input, tag, what)?;
    if !rest.is_empty() {
        return Err(DerError::Trailing(what));
    }
    Ok(tlv)
}

/// All elements inside `value`.
pub fn children(mut value: &[u8]) -> Result<Vec<Tlv<'_>>, DerError> {
    // Room for the fields of a TBSCertificate or SignerInfo without growing.
    let mut out = Vec::with_capacity(if value.is_empty() { 0 } else { 8 });
    while !value.is_empty() {
        let (tlv, rest) = read(value)?;
        out.push(tlv);
        value = rest;
    }
    Ok(out)
}

/// Decode an OBJECT IDENTIFIER element.
pub fn oid(tlv: &Tlv<'_>) -> Result<const_oid::ObjectIdentifier, DerError> {
    if tlv.tag != OID {
        return Err(DerError::UnexpectedTag {
            expected: "OBJECT IDENTIFIER",
            found: tlv.tag,
        });
    }
    const_oid::ObjectIdentifier::from_bytes(tlv.value).map_err(|_| DerError::Unsupported)
}

/// Decode a non-negative INTEGER of at most 8 bytes (after a leading zero).
pub fn small_uint(tlv: &Tlv<'_>) -> Result<u64, DerError> {
    if tlv.tag != INTEGER {
        return Err(DerError::UnexpectedTag {
            expected: "INTEGER",
            found: tlv.tag,
        });
    }
    let v = match tlv.value {
        [0, rest @ ..] => rest,
        v => v,
    };
    if v.len() > 8 || tlv.value.first().is_some_and(|b| b & 0x80 != 0) || tlv.value.is_empty() {
        return Err(DerError::Unsupported);
    }
    Ok(v.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64))
}

/// Encode a header for `tag` with `len` content bytes (definite length, X.690 §8.1.3: short
/// form below 128, else the minimal big-endian octets).
pub fn header(tag: u8, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    push_header(&mut out, tag, len);
    out
}

/// [`header`] appended to `out`.
pub fn push_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// One DER element.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = header(tag, content.len());
    out.extend_from_slice(content);
    out
}

/// Encoded elements one after another (the contents of a SEQUENCE).
pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// An OBJECT IDENTIFIER element.
pub fn oid_der(oid: &ObjectIdentifier) -> Vec<u8> {
    tlv(OID, oid.as_bytes())
}

/// AlgorithmIdentifier without parameters, as Go writes sha256 and ecdsa-with-SHA256.
pub fn algorithm(oid: &ObjectIdentifier) -> Vec<u8> {
    tlv(SEQUENCE, &oid_der(oid))
}

/// `Attribute ::= SEQUENCE { attrType OID, attrValues SET OF value }` with one DER value.
pub fn attribute(oid: &ObjectIdentifier, value_der: &[u8]) -> Vec<u8> {
    tlv(SEQUENCE, &cat(&[&oid_der(oid), &tlv(SET, value_der)]))
}

/// DER SET OF: elements sorted by their encodings (X.690 §11.6).
pub fn set_of(tag: u8, mut elements: Vec<Vec<u8>>) -> Vec<u8> {
    elements.sort();
    tlv(tag, &elements.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_lengths_are_accepted_by_a_strict_decoder() {
        use der::asn1::OctetStringRef;
        use der::Decode as _;
        for len in [0usize, 0x7f, 0x80, 0xff, 0x100, 0x1_0000] {
            let element = tlv(OCTET_STRING, &vec![0; len]);
            assert_eq!(
                OctetStringRef::from_der(&element).map(|o| o.as_bytes().len()),
                Ok(len),
                "DER length {len} is accepted by a strict decoder"
            );
        }
    }

    #[test]
    fn reads_short_and_long_lengths_and_reports_truncation() {
        let (tlv, rest) = read(&[0x04, 0x02, 0xaa, 0xbb, 0x05, 0x00]).expect("valid");
        assert_eq!(
            (tlv.tag, tlv.value, rest),
            (0x04, &[0xaa, 0xbb][..], &[0x05, 0x00][..])
        );
        let mut long = header(0x04, 300);
        long.extend(std::iter::repeat_n(7u8, 300));
        let (tlv, _) = read(&long).expect("long form length");
        assert_eq!(tlv.value.len(), 300, "two-byte length decoded");
        assert_eq!(
            read(&long[..100]),
            Err(DerError::Truncated {
                needed: 304,
                available: 100
            }),
            "a cut element reports how much was missing"
        );
        assert!(read(&[0x30, 0x80]).is_err(), "indefinite length is refused");
        assert!(
            read(&[0x1f, 0x01, 0x00]).is_err(),
            "high tag numbers are refused"
        );
        assert!(
            read(&[0x30, 0x88, 1, 2, 3, 4, 5, 6, 7, 8]).is_err(),
            "absurd lengths are refused"
        );
    }

    #[test]
    fn decodes_small_integers() {
        let v = |bytes: &[u8]| {
            let mut d = header(INTEGER, bytes.len());
            d.extend_from_slice(bytes);
            let (t, _) = read(&d).map_err(|_| ())?;
            small_uint(&t).map_err(|_| ())
        };
        assert_eq!(v(&[0x00, 0xff]), Ok(255));
        assert_eq!(v(&[0x01, 0x00]), Ok(256));
        assert_eq!(v(&[0xff]), Err(()), "negative numbers are refused");
        assert_eq!(v(&[]), Err(()), "empty INTEGER is refused");
    }
}
