//! Signed certificate timestamps embedded in the leaf (RFC 6962 §3.3, §3.2).
//!
//! The SCT list extension (1.3.6.1.4.1.11129.2.4.2) holds a TLS-encoded
//! `SignedCertificateTimestampList`; each SCT signs the *precertificate*: the leaf's TBS without
//! the SCT list, plus the SHA-256 of the issuer's SubjectPublicKeyInfo.

use crate::crypto::Digest;
use crate::oid;
use crate::trust::TrustedRoot;
use crate::x509::{tbs_without_extension, Cert};

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum SctError {
    #[error("certificate carries no SCT")]
    Missing,
    #[error("SCT list is malformed")]
    Malformed,
    #[error("SCT is from a CT log the trust root does not list")]
    UnknownLog,
    #[error("SCT signature does not verify")]
    BadSignature,
}

struct Sct<'a> {
    log_id: &'a [u8],
    timestamp: u64,
    extensions: &'a [u8],
    hash_alg: u8,
    signature: &'a [u8],
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], SctError> {
    if input.len() < n {
        return Err(SctError::Malformed);
    }
    let (head, tail) = input.split_at(n);
    *input = tail;
    Ok(head)
}

fn take_u16_prefixed<'a>(input: &mut &'a [u8]) -> Result<&'a [u8], SctError> {
    let len = take(input, 2)?;
    let len = u16::from_be_bytes([len[0], len[1]]) as usize;
    take(input, len)
}

fn parse_list(ext_value: &[u8]) -> Result<Vec<Sct<'_>>, SctError> {
    // The extension value is an OCTET STRING wrapping the TLS structure.
    let inner = crate::der::single(
        ext_value,
        crate::der::OCTET_STRING,
        "SignedCertificateTimestampList",
    )
    .map_err(|_| SctError::Malformed)?;
    let mut input = inner.value;
    let mut list = take_u16_prefixed(&mut input)?;
    let mut out = Vec::new();
    while !list.is_empty() {
        let mut sct = take_u16_prefixed(&mut list)?;
        let version = take(&mut sct, 1)?;
        if version != [0] {
            continue; // unknown versions are skipped (RFC 6962 §3.2)
        }
        let log_id = take(&mut sct, 32)?;
        let ts = take(&mut sct, 8)?;
        let mut ts_bytes = [0u8; 8];
        ts_bytes.copy_from_slice(ts);
        let extensions = take_u16_prefixed(&mut sct)?;
        let algs = take(&mut sct, 2)?;
        let signature = take_u16_prefixed(&mut sct)?;
        out.push(Sct {
            log_id,
            timestamp: u64::from_be_bytes(ts_bytes),
            extensions,
            hash_alg: algs[0],
            signature,
        });
    }
    Ok(out)
}

/// SCT signatures already verified in this process (see [`crate::memo`]).
static PROVEN_SCTS: crate::memo::Proven = crate::memo::Proven::new();

/// Verify that at least one embedded SCT is signed by a CT log of the trust root that was
/// valid when it signed. Returns the SCT time (Unix seconds).
pub fn verify_sct(leaf: &Cert, issuer: &Cert, root: &TrustedRoot) -> Result<i64, SctError> {
    let ext = leaf.extension(&oid::SCT_LIST).ok_or(SctError::Missing)?;
    let scts = parse_list(&ext.value)?;
    if scts.is_empty() {
        return Err(SctError::Missing);
    }
    let tbs =
        tbs_without_extension(&leaf.tbs_der, &oid::SCT_LIST).map_err(|_| SctError::Malformed)?;
    let tbs_len = u32::try_from(tbs.len()).map_err(|_| SctError::Malformed)?;
    let issuer_key_hash = crate::crypto::sha256(&issuer.spki_der);
    let mut err = SctError::UnknownLog;
    for sct in scts {
        let Some(log) = root.ctlog(sct.log_id) else {
            continue;
        };
        let secs = (sct.timestamp / 1000) as i64;
        if !log.valid_for.contains(secs) {
            continue;
        }
        let proven = crate::memo::key(
            b"sct",
            &[
                &log.spki_der,
                &issuer.spki_der,
                leaf.der_digest(),
                sct.signature,
            ],
        );
        if PROVEN_SCTS.contains(&proven) {
            return Ok(secs);
        }
        let mut signed = Vec::with_capacity(tbs.len() + 64);
        signed.push(0); // sct_version v1
        signed.push(0); // signature_type certificate_timestamp
        signed.extend_from_slice(&sct.timestamp.to_be_bytes());
        signed.extend_from_slice(&[0, 1]); // entry_type precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        signed.extend_from_slice(&tbs_len.to_be_bytes()[1..]);
        signed.extend_from_slice(&tbs);
        signed.extend_from_slice(&(sct.extensions.len() as u16).to_be_bytes());
        signed.extend_from_slice(sct.extensions);
        let digest = match sct.hash_alg {
            4 => Digest::Sha256,
            5 => Digest::Sha384,
            6 => Digest::Sha512,
            _ => {
                err = SctError::Malformed;
                continue;
            }
        };
        if log.key.verify(digest, &signed, sct.signature).is_ok() {
            PROVEN_SCTS.insert(proven);
            return Ok(secs);
        }
        err = SctError::BadSignature;
    }
    Err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_lists_are_errors() {
        for v in [
            &b""[..],
            b"\x04\x00",
            b"\x04\x02\x00\x05",
            b"\x04\x04\x00\x02\x00\x09",
        ] {
            assert!(parse_list(v).is_err(), "{v:?} must not parse");
        }
    }
}
