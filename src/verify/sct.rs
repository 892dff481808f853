//! Signed certificate timestamps (RFC 6962 §3.2, §3.3, §4.1).
//!
//! The SCT list extension (1.3.6.1.4.1.11129.2.4.2) holds a TLS-encoded
//! `SignedCertificateTimestampList`; each SCT signs the *precertificate*: the leaf's TBS without
//! the SCT list, plus the SHA-256 of the issuer's SubjectPublicKeyInfo.
//!
//! A certificate without one may come with a *detached* SCT (`gitsign verify --sct FILE`, as Go
//! gitsign and cosign take it): the log's `add-chain` response (§4.1, JSON), signing the
//! certificate itself as an `x509_entry`. As in cosign's `VerifySCT`, it is used only when the
//! certificate embeds none: an embedded SCT is always the one checked.

use crate::crypto::Digest;
use crate::oid;
use crate::trust::TrustedRoot;
use crate::x509::Cert;

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
    #[error("detached SCT is not an RFC 6962 add-chain response: {0}")]
    Detached(String),
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

/// A detached SCT: the JSON `add-chain` response of a CT log (RFC 6962 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedSct {
    log_id: Vec<u8>,
    timestamp: u64,
    extensions: Vec<u8>,
    hash_alg: u8,
    signature: Vec<u8>,
}

impl DetachedSct {
    /// Parse `{"sct_version": 0, "id": b64, "timestamp": ms, "extensions": b64, "signature":
    /// b64 DigitallySigned}`.
    pub fn from_json(bytes: &[u8]) -> Result<DetachedSct, SctError> {
        #[derive(serde::Deserialize)]
        struct AddChainResponse {
            sct_version: u8,
            id: String,
            timestamp: u64,
            #[serde(default)]
            extensions: String,
            signature: String,
        }
        let bad = |what: &str| SctError::Detached(what.to_owned());
        let r: AddChainResponse =
            serde_json::from_slice(bytes).map_err(|e| SctError::Detached(e.to_string()))?;
        if r.sct_version != 0 {
            return Err(bad("sct_version is not v1 (0)"));
        }
        let b64 = |field: &str, v: &str| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(v)
                .map_err(|_| SctError::Detached(format!("{field} is not base64")))
        };
        let log_id = b64("id", &r.id)?;
        if log_id.len() != 32 {
            return Err(bad("id is not 32 bytes"));
        }
        let signed = b64("signature", &r.signature)?;
        let mut input = signed.as_slice();
        let algs = take(&mut input, 2).map_err(|_| bad("signature is truncated"))?;
        let hash_alg = algs[0];
        let signature = take_u16_prefixed(&mut input)
            .map_err(|_| bad("signature is truncated"))?
            .to_vec();
        if !input.is_empty() {
            return Err(bad("signature has trailing bytes"));
        }
        Ok(DetachedSct {
            log_id,
            timestamp: r.timestamp,
            extensions: b64("extensions", &r.extensions)?,
            hash_alg,
            signature,
        })
    }

    fn sct(&self) -> Sct<'_> {
        Sct {
            log_id: &self.log_id,
            timestamp: self.timestamp,
            extensions: &self.extensions,
            hash_alg: self.hash_alg,
            signature: &self.signature,
        }
    }
}

/// SCT signatures already verified in this process (see [`crate::memo`]).
static PROVEN_SCTS: crate::memo::Proven = crate::memo::Proven::new();

/// Verify that at least one embedded SCT is signed by a CT log of the trust root that was
/// valid when it signed, or, when the leaf embeds none, the `detached` one. Returns the SCT
/// time (Unix seconds).
pub fn verify_sct(
    leaf: &Cert,
    issuer: &Cert,
    root: &TrustedRoot,
    detached: Option<&DetachedSct>,
) -> Result<i64, SctError> {
    let Some(ext) = leaf.extension(&oid::SCT_LIST) else {
        let detached = detached.ok_or(SctError::Missing)?;
        // x509_entry: the certificate as issued.
        let len = u32::try_from(leaf.der.len()).map_err(|_| SctError::Malformed)?;
        let mut entry = Vec::with_capacity(leaf.der.len() + 5);
        entry.extend_from_slice(&[0, 0]); // entry_type x509_entry
        entry.extend_from_slice(&len.to_be_bytes()[1..]);
        entry.extend_from_slice(&leaf.der);
        return verify_one(&detached.sct(), &entry, root, &[b"x509", leaf.der_digest()]);
    };
    let scts = parse_list(&ext.value)?;
    if scts.is_empty() {
        return Err(SctError::Missing);
    }
    let tbs = leaf
        .tbs_without_extension(&oid::SCT_LIST)
        .map_err(|_| SctError::Malformed)?;
    let tbs_len = u32::try_from(tbs.len()).map_err(|_| SctError::Malformed)?;
    // precert_entry: the issuer's key hash and the TBS without the SCT list.
    let mut entry = Vec::with_capacity(tbs.len() + 37);
    entry.extend_from_slice(&[0, 1]);
    entry.extend_from_slice(&crate::crypto::sha256(&issuer.spki_der));
    entry.extend_from_slice(&tbs_len.to_be_bytes()[1..]);
    entry.extend_from_slice(&tbs);
    let mut err = SctError::UnknownLog;
    for sct in scts {
        match verify_one(&sct, &entry, root, &[&issuer.spki_der, leaf.der_digest()]) {
            Ok(secs) => return Ok(secs),
            Err(SctError::UnknownLog) => {}
            Err(e) => err = e,
        }
    }
    Err(err)
}

/// One SCT over `entry` (entry_type and the signed entry), by a CT log of `root` valid when it
/// signed; `memo` names the entry for [`PROVEN_SCTS`].
fn verify_one(
    sct: &Sct<'_>,
    entry: &[u8],
    root: &TrustedRoot,
    memo: &[&[u8]],
) -> Result<i64, SctError> {
    let log = root.ctlog(sct.log_id).ok_or(SctError::UnknownLog)?;
    let secs = (sct.timestamp / 1000) as i64;
    if !log.valid_for.contains(secs) {
        return Err(SctError::UnknownLog);
    }
    // Everything signed is in the key: a detached SCT's time and extensions are not in the
    // certificate.
    let ts = sct.timestamp.to_be_bytes();
    let mut parts: Vec<&[u8]> = vec![&log.spki_der];
    parts.extend_from_slice(memo);
    let alg = [sct.hash_alg];
    parts.extend_from_slice(&[&ts, sct.extensions, &alg, sct.signature]);
    let proven = crate::memo::key(b"sct", &parts);
    if PROVEN_SCTS.contains(&proven) {
        return Ok(secs);
    }
    let ext_len = u16::try_from(sct.extensions.len()).map_err(|_| SctError::Malformed)?;
    let mut signed = Vec::with_capacity(entry.len() + 16 + sct.extensions.len());
    signed.push(0); // sct_version v1
    signed.push(0); // signature_type certificate_timestamp
    signed.extend_from_slice(&sct.timestamp.to_be_bytes());
    signed.extend_from_slice(entry);
    signed.extend_from_slice(&ext_len.to_be_bytes());
    signed.extend_from_slice(sct.extensions);
    let digest = match sct.hash_alg {
        4 => Digest::Sha256,
        5 => Digest::Sha384,
        6 => Digest::Sha512,
        _ => return Err(SctError::Malformed),
    };
    if log.key.verify(digest, &signed, sct.signature).is_ok() {
        PROVEN_SCTS.insert(proven);
        return Ok(secs);
    }
    Err(SctError::BadSignature)
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

    /// A CT log key of our own in a copy of the public-good root, and a certificate that
    /// embeds no SCT (the Fulcio intermediate): the detached SCT the log signs over it as an
    /// `x509_entry` (RFC 6962 §3.2, built here field by field), as its add-chain response.
    fn detached_fixture() -> (TrustedRoot, std::sync::Arc<Cert>, serde_json::Value) {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let log = crate::key::EphemeralKey::generate().expect("key");
        let spki = log.spki_der();
        let mut root = TrustedRoot::public_good();
        let leaf = root
            .certificate_authorities
            .iter()
            .flat_map(|a| a.certs.iter())
            .find(|c| c.extension(&oid::SCT_LIST).is_none())
            .cloned()
            .expect("a CA certificate embeds no SCT");
        let log_id = crate::crypto::sha256(&spki).to_vec();
        root.ctlogs.push(crate::trust::LogKey {
            base_url: "https://ct.example".into(),
            key_id: log_id.clone(),
            key: crate::crypto::PublicKey::from_spki_der(&spki).expect("spki"),
            spki_der: spki,
            valid_for: Default::default(),
        });
        let timestamp: u64 = 1_700_000_000_123;
        let mut signed = vec![0u8, 0]; // v1, certificate_timestamp
        signed.extend_from_slice(&timestamp.to_be_bytes());
        signed.extend_from_slice(&[0, 0]); // x509_entry
        signed.extend_from_slice(&(leaf.der.len() as u32).to_be_bytes()[1..]);
        signed.extend_from_slice(&leaf.der);
        signed.extend_from_slice(&[0, 0]); // no extensions
        let sig = log.sign(&signed).expect("sign");
        let mut digitally_signed = vec![4u8, 3]; // sha256, ecdsa
        digitally_signed.extend_from_slice(&(sig.len() as u16).to_be_bytes());
        digitally_signed.extend_from_slice(&sig);
        let response = serde_json::json!({
            "sct_version": 0,
            "id": b64(&log_id),
            "timestamp": timestamp,
            "extensions": "",
            "signature": b64(&digitally_signed),
        });
        (root, leaf, response)
    }

    #[test]
    fn a_detached_sct_vouches_for_a_certificate_without_an_embedded_one() {
        let (root, leaf, response) = detached_fixture();
        let parse = |v: &serde_json::Value| DetachedSct::from_json(v.to_string().as_bytes());
        let sct = parse(&response).expect("an add-chain response");
        assert_eq!(
            verify_sct(&leaf, &leaf, &root, None),
            Err(SctError::Missing),
            "nothing embedded, nothing detached"
        );
        assert_eq!(
            verify_sct(&leaf, &leaf, &root, Some(&sct)),
            Ok(1_700_000_000),
            "the detached SCT's time"
        );
        let mut later = response.clone();
        later["timestamp"] = serde_json::json!(1_700_000_000_124u64);
        assert_eq!(
            verify_sct(&leaf, &leaf, &root, Some(&parse(&later).expect("parses"))),
            Err(SctError::BadSignature),
            "the timestamp is signed"
        );
        let other = TrustedRoot::public_good();
        assert_eq!(
            verify_sct(&leaf, &leaf, &other, Some(&sct)),
            Err(SctError::UnknownLog),
            "a log the trust root does not list"
        );
        for (field, value) in [
            ("sct_version", serde_json::json!(1)),
            ("id", serde_json::json!("AAAA")),
            ("signature", serde_json::json!("not base64!")),
        ] {
            let mut bad = response.clone();
            bad[field] = value;
            assert!(
                matches!(parse(&bad), Err(SctError::Detached(_))),
                "{field} is checked"
            );
        }
        assert!(
            DetachedSct::from_json(b"{}").is_err(),
            "fields are required"
        );
    }
}
