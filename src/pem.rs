//! PEM armor (RFC 7468), lenient the way git and Go's `encoding/pem` are: CRLF, trailing
//! spaces and headers-free bodies are accepted; anything else is an error, never a panic.
//!
//! Signatures are read with [`decode_signature`], which is strict (issue 16.10): a signature
//! lives in a commit or tag whose id covers its bytes, so every byte that is not part of the
//! one signature — text around the block, a second block, headers, non-canonical base64 —
//! would let anyone mint new object ids for the same signature. Only white space may surround
//! the block (git hands the gpgsig header back with a final newline, tags end with one) and
//! end its lines (CRLF). Every real signature in `tests/data` and the Go gitsign fixtures
//! passes.

use base64::Engine as _;

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum PemError {
    #[error("no '-----BEGIN {0}-----' line")]
    MissingBegin(String),
    #[error("no '-----END {0}-----' line")]
    MissingEnd(String),
    #[error("invalid base64 in the PEM body")]
    Base64,
    #[error("{0} around the '-----BEGIN {1}-----' block")]
    Junk(&'static str, String),
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

/// The one block labelled `label` that `input` is, strictly: white space only around it and at
/// line ends, no headers, canonical base64 (padding and zero trailing bits).
pub fn decode_signature(input: &[u8], label: &str) -> Result<Vec<u8>, PemError> {
    let text = std::str::from_utf8(input)
        .map_err(|_| PemError::Junk("bytes that are not text", label.to_owned()))?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let junk = |what| PemError::Junk(what, label.to_owned());
    let body = text
        .trim_ascii()
        .strip_prefix(&begin)
        .ok_or_else(|| match text.find(&begin) {
            Some(_) => junk("text before"),
            None => PemError::MissingBegin(label.to_owned()),
        })?;
    let stop = body
        .find(&end)
        .ok_or_else(|| PemError::MissingEnd(label.to_owned()))?;
    if !body[stop + end.len()..].is_empty() {
        return Err(junk("text after"));
    }
    let lines = || {
        body[..stop]
            .split('\n')
            .map(|line| line.trim_end_matches([' ', '\t', '\r']))
    };
    let mut b64 = String::with_capacity(stop);
    for line in lines() {
        b64.push_str(line);
    }
    // Any byte outside the alphabet (white space inside a line, a header's ':') fails the
    // strict decoding; only then is it worth telling headers apart.
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| {
            if lines().any(|line| line.contains(':')) {
                junk("headers in the body")
            } else {
                PemError::Base64
            }
        })
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

    /// Issue 16.10: one signature has one encoding. Before: junk around the block, a second
    /// block, header lines and non-zero trailing bits were all accepted as the same signature.
    #[test]
    fn signatures_are_read_strictly() {
        // 200 bytes: the last group is "xyz=", whose 'z' carries two unused bits.
        let der: Vec<u8> = (0u8..200).collect();
        let pem = encode("SIGNED MESSAGE", &der);
        for ok in [
            pem.clone(),
            pem.trim_end().to_owned(),
            format!("\n  {pem}\n\n"),
            pem.replace('\n', "\r\n"),
            pem.replace('\n', " \n"),
        ] {
            assert_eq!(
                decode_signature(ok.as_bytes(), "SIGNED MESSAGE"),
                Ok(der.clone()),
                "white space around the block and at line ends is accepted: {ok:?}"
            );
        }
        let junk = |w| Err(PemError::Junk(w, "SIGNED MESSAGE".into()));
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let z = pem.rfind('=').expect("padded") - 1;
        let value = ALPHABET
            .iter()
            .position(|&c| c == pem.as_bytes()[z])
            .expect("base64");
        let mut bits = pem.clone();
        // The same bytes with the lowest unused bit set.
        bits.replace_range(z..z + 1, &(ALPHABET[value ^ 1] as char).to_string());
        for (bad, want) in [
            (format!("x{pem}"), junk("text before")),
            (format!("{pem}x\n"), junk("text after")),
            (format!("{pem}{pem}"), junk("text after")),
            (
                pem.replacen("-----\n", "-----\nComment: x\n", 1),
                junk("headers in the body"),
            ),
            (pem.replacen("\n", "\nAA AA\n", 1), Err(PemError::Base64)),
            (bits, Err(PemError::Base64)),
        ] {
            assert_eq!(
                decode_signature(bad.as_bytes(), "SIGNED MESSAGE"),
                want,
                "refused: {bad:?}"
            );
        }
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
