//! PEM armor (RFC 7468), lenient the way git and Go's `encoding/pem` are: CRLF, trailing
//! spaces and headers-free bodies are accepted; anything else is an error, never a panic.

use base64::Engine as _;

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum PemError {
    #[error("no '-----BEGIN {0}-----' line")]
    MissingBegin(String),
    #[error("no '-----END {0}-----' line")]
    MissingEnd(String),
    #[error("invalid base64 in the PEM body")]
    Base64,
}

/// Every block labelled `label` in `input`, decoded.
pub fn decode_all(input: &[u8], label: &str) -> Result<Vec<Vec<u8>>, PemError> {
    let text = String::from_utf8_lossy(input);
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest: &str = &text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let stop = after
            .find(&end)
            .ok_or_else(|| PemError::MissingEnd(label.to_owned()))?;
        out.push(decode_body(&after[..stop])?);
        rest = &after[stop + end.len()..];
    }
    Ok(out)
}

/// The first block labelled `label`.
pub fn decode_one(input: &[u8], label: &str) -> Result<Vec<u8>, PemError> {
    decode_all(input, label)?
        .into_iter()
        .next()
        .ok_or_else(|| PemError::MissingBegin(label.to_owned()))
}

fn decode_body(body: &str) -> Result<Vec<u8>, PemError> {
    let mut b64 = Vec::with_capacity(body.len());
    for line in body.lines().filter(|l| !l.contains(':')) {
        // RFC 1421 headers (with ':') are skipped; white space inside lines is dropped.
        b64.extend(line.bytes().filter(|b| !b.is_ascii_whitespace()));
    }
    // Go's encoding/pem (StdEncoding, not Strict) accepts non-zero trailing bits; so do we.
    const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    LENIENT.decode(b64).map_err(|_| PemError::Base64)
}

/// Armor `der` as PEM with 64-column lines, the way Go's `encoding/pem` writes it.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_crlf() {
        let der: Vec<u8> = (0u8..=200).collect();
        let pem = encode("SIGNED MESSAGE", &der);
        assert_eq!(
            decode_one(pem.as_bytes(), "SIGNED MESSAGE"),
            Ok(der.clone())
        );
        let crlf = pem.replace('\n', "\r\n");
        assert_eq!(
            decode_one(crlf.as_bytes(), "SIGNED MESSAGE"),
            Ok(der),
            "CRLF line ends are accepted"
        );
    }

    #[test]
    fn reports_missing_armor_and_bad_base64() {
        assert_eq!(
            decode_one(b"hello", "CERTIFICATE"),
            Err(PemError::MissingBegin("CERTIFICATE".into()))
        );
        assert_eq!(
            decode_one(b"-----BEGIN X-----\nAAAA\n", "X"),
            Err(PemError::MissingEnd("X".into()))
        );
        assert_eq!(
            decode_one(b"-----BEGIN X-----\n!!!!\n-----END X-----\n", "X"),
            Err(PemError::Base64)
        );
    }
}
