//! Rekor entries that prove *when* an online-mode signature was made (Go gitsign's legacy
//! `rekorMode=online`): not embedded in the signature, but logged as a `hashedrekord` 0.0.1
//! over SHA-256 of the object's hex id, signed by the same ephemeral key as the object
//! (Go gitsign `pkg/rekor`: `Verify` → `get` → `extractData`).
//!
//! Pure: the entries come from the caller (a Rekor lookup, the proof cache or git notes — all
//! untrusted the same way) and each one is checked in full here, so where an entry was found
//! never matters:
//! 1. the body is a hashedrekord whose data hash is SHA-256 of one of the object's ids;
//! 2. its certificate is the signature's leaf (byte-equal DER, as Go's `cert.Equal`);
//! 3. its signature verifies over the hex id with the leaf's key — Go gitsign only checks
//!    1 and 2 and leaves 3 to Rekor; checking it here means a forged body cannot pass even
//!    with a log key compromise limited to the SET;
//! 4. the signed entry timestamp and inclusion proof verify against the trusted root
//!    ([`super::tlog::verify_entry`]), and a SET is present: only it vouches for
//!    integratedTime, which becomes the time anchor.

use base64::Engine as _;
use serde_json::Value;

use super::tlog::{self, TlogEntry, TlogError, VerifiedEntry};
use crate::crypto::PublicKey;
use crate::git::object_id::ObjectIds;
use crate::trust::TrustedRoot;
use crate::x509::Cert;

/// Why a logged entry does not prove an online-mode signature.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum OnlineError {
    #[error("the entry is not a hashedrekord 0.0.1 entry")]
    NotHashedRekord,
    #[error("the entry's body is malformed: {0}")]
    Malformed(&'static str),
    #[error("the entry logs another object (hash {logged})")]
    OtherObject { logged: String },
    #[error("the entry was logged with another certificate")]
    OtherCertificate,
    #[error(
        "the entry's signature over the object id does not verify with the signing certificate"
    )]
    BadSignature,
    #[error("the entry does not verify against the trusted root")]
    Tlog(#[source] TlogError),
    #[error("the entry has no signed entry timestamp, so nothing vouches for its time")]
    NoSignedTime,
}

struct Body {
    hash_hex: String,
    signature: Vec<u8>,
    public_key: Vec<u8>,
}

fn body(canonical: &[u8]) -> Result<Body, OnlineError> {
    let v: Value =
        serde_json::from_slice(canonical).map_err(|_| OnlineError::Malformed("not JSON"))?;
    let s = |p: &str| v.pointer(p).and_then(Value::as_str);
    if s("/kind") != Some("hashedrekord") || s("/apiVersion") != Some("0.0.1") {
        return Err(OnlineError::NotHashedRekord);
    }
    if s("/spec/data/hash/algorithm") != Some("sha256") {
        return Err(OnlineError::Malformed("the data hash is not SHA-256"));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(Body {
        hash_hex: s("/spec/data/hash/value")
            .ok_or(OnlineError::Malformed("no data hash"))?
            .to_ascii_lowercase(),
        signature: s("/spec/signature/content")
            .and_then(|c| b64.decode(c).ok())
            .ok_or(OnlineError::Malformed("no base64 signature"))?,
        public_key: s("/spec/signature/publicKey/content")
            .and_then(|c| b64.decode(c).ok())
            .ok_or(OnlineError::Malformed("no base64 public key"))?,
    })
}

/// Check that `entry` logs one of `ids`, signed by `leaf`, and verifies against `root`.
/// Returns the verified entry and the id it logs.
pub fn verify_logged_id<'i>(
    ids: &'i ObjectIds,
    leaf: &Cert,
    entry: &TlogEntry,
    root: &TrustedRoot,
) -> Result<(VerifiedEntry, &'i str), OnlineError> {
    let b = body(&entry.canonicalized_body)?;
    let id = ids
        .all()
        .find(|id| crate::encoding::hex(&crate::crypto::sha256(id.as_bytes())) == b.hash_hex)
        .ok_or_else(|| OnlineError::OtherObject {
            logged: b.hash_hex.clone(),
        })?;
    let same_cert = crate::pem::decode_all(&b.public_key, "CERTIFICATE")
        .map_err(|_| OnlineError::OtherCertificate)?
        .contains(&leaf.der);
    if !same_cert {
        return Err(OnlineError::OtherCertificate);
    }
    let key = PublicKey::from_spki_der(&leaf.spki_der).map_err(|_| OnlineError::BadSignature)?;
    key.verify(key.default_digest(), id.as_bytes(), &b.signature)
        .map_err(|_| OnlineError::BadSignature)?;
    let verified =
        tlog::verify_entry(entry, &entry.canonicalized_body, root).map_err(OnlineError::Tlog)?;
    if !verified.integrated_time_signed {
        return Err(OnlineError::NoSignedTime);
    }
    Ok((verified, id))
}
