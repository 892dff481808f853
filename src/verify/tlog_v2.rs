//! Rekor v2 (rekor-tiles) entries embedded in gitsign signatures, verified offline.
//!
//! What Go gitsign v0.17.1 embeds with `gitsign.rekorVersion=2` (read in its
//! `internal/signature/bundlesign.go` and `internal/rekor/oid`): the `TransparencyLogEntry`
//! sigstore-go got from the log, passed through Rekor v1's `LogEntryAnon` model and back, so
//! the same unsigned attribute 1.3.6.1.4.1.57264.3.1 (OCTET STRING { protobuf }) as Rekor v1
//! holds: `logIndex`, `logId.keyId`, an empty `inclusionPromise`, `integratedTime` 0, the
//! inclusion proof with its checkpoint, the body cleared, and `kindVersion` **hashedrekord
//! 0.0.1** — Go writes that kind whatever the log. An RFC 3161 timestamp is the only time.
//!
//! So an embedded entry is a Rekor v2 one when it has no signed time (no SET, integrated
//! time 0) and its checkpoint origin is not Rekor v1's `"<name> - <tree id>"` — the test
//! sigstore-go applies (`hasRekorV1STH`). Its leaf is then the hashedrekord v0.0.2 body
//! rebuilt from the signature (as sigstore-go's `reconstructV2EntryHash`): the digest of the
//! DER signed attributes, the CMS signature, the leaf certificate DER and its key details.
//! The checkpoint must be signed by the log's key in the trusted root (note key id as the
//! C2SP signed-note spec and rekor-tiles derive it, [`tlog::verify_entry`]) and its origin
//! must be the host of the log's base URL (what sigstore-go's note verifier is named).

use base64::Engine as _;
use der::asn1::ObjectIdentifier;

use super::rekor_body::Expected;
use super::tlog::{self, TlogEntry, TlogError, VerifiedEntry};
use crate::crypto::Digest;
use crate::oid;
use crate::trust::TrustedRoot;
use crate::x509::Cert;

/// The `kindVersion` Go gitsign embeds for Rekor v2 entries (see the module docs).
pub const EMBEDDED_KIND: (&str, &str) = ("hashedrekord", "0.0.1");

/// Whether an embedded entry (body cleared) is a Rekor v2 one.
pub fn is_embedded_v2(entry: &TlogEntry) -> bool {
    entry.canonicalized_body.is_empty()
        && entry.signed_entry_timestamp.is_none()
        && entry.integrated_time == 0
        && entry
            .inclusion_proof
            .as_ref()
            .is_some_and(|p| !p.checkpoint.is_empty() && !is_v1_origin(&p.checkpoint))
}

/// Rekor v1 checkpoints' origin line ends in `" - <tree id>"`.
fn is_v1_origin(checkpoint: &str) -> bool {
    let origin = checkpoint.lines().next().unwrap_or("");
    origin.rsplit_once(" - ").is_some_and(|(name, id)| {
        !name.is_empty() && !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
    })
}

/// rekor-tiles' key details (protobuf-specs `PublicKeyDetails`) and digest for a leaf key.
pub fn key_details(leaf: &Cert) -> Option<(&'static str, Digest)> {
    let alg = &leaf
        .x509()
        .tbs_certificate
        .subject_public_key_info
        .algorithm;
    if alg.oid != oid::EC_PUBLIC_KEY {
        return None;
    }
    let curve: ObjectIdentifier = alg.parameters.as_ref()?.decode_as().ok()?;
    match curve {
        c if c == oid::P256 => Some(("PKIX_ECDSA_P256_SHA_256", Digest::Sha256)),
        c if c == oid::P384 => Some(("PKIX_ECDSA_P384_SHA_384", Digest::Sha384)),
        _ => None,
    }
}

fn digest_name(d: Digest) -> &'static str {
    match d {
        Digest::Sha256 => "SHA2_256",
        Digest::Sha384 => "SHA2_384",
        Digest::Sha512 => "SHA2_512",
    }
}

/// The canonical (RFC 8785) hashedrekord v0.0.2 `Entry` rekor-tiles logs for a signature
/// by a certificate: keys sorted, no whitespace, bytes in standard base64.
pub fn hashedrekord_body(
    digest: &[u8],
    digest_alg: Digest,
    signature: &[u8],
    cert_der: &[u8],
    key_details: &str,
) -> Vec<u8> {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    format!(
        concat!(
            r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"#,
            r#""data":{{"algorithm":"{}","digest":"{}"}},"#,
            r#""signature":{{"content":"{}","verifier":{{"keyDetails":"{}","x509Certificate":{{"rawBytes":"{}"}}}}}}}}}}}}"#
        ),
        digest_name(digest_alg),
        b64(digest),
        b64(signature),
        key_details,
        b64(cert_der),
    )
    .into_bytes()
}

/// The v0.0.2 body the entry must have logged for `exp`.
pub fn body_for(exp: &Expected<'_>) -> Result<Vec<u8>, TlogError> {
    if exp.leaf_pem.is_none() {
        return Err(TlogError::Malformed(
            "a Rekor v2 entry without a body needs the signer's certificate".into(),
        ));
    }
    let leaf = Cert::parse(exp.verifier_der)
        .map_err(|e| TlogError::Malformed(format!("signer certificate: {e}")))?;
    let (details, alg) = key_details(&leaf).ok_or_else(|| {
        TlogError::Malformed("the signer's key type has no Rekor v2 hashedrekord form".into())
    })?;
    Ok(hashedrekord_body(
        &alg.hash(exp.signed),
        alg,
        exp.signature,
        exp.verifier_der,
        details,
    ))
}

/// Verify a Rekor v2 entry for `body`: inclusion proof and checkpoint required (there is no
/// SET), checkpoint signed by the log's key, origin the host of the log's URL.
pub fn verify_entry(
    entry: &TlogEntry,
    body: &[u8],
    root: &TrustedRoot,
) -> Result<VerifiedEntry, TlogError> {
    let proof = entry
        .inclusion_proof
        .as_ref()
        .filter(|p| !p.checkpoint.is_empty())
        .ok_or(TlogError::MissingInclusionProof)?;
    let verified = tlog::verify_entry(entry, body, root)?;
    let origin = tlog::parse_checkpoint(&proof.checkpoint)?.origin;
    let host = tlog::checkpoint::origin_of(&verified.log_base_url);
    if !host.is_empty() && origin != host {
        return Err(TlogError::CheckpointOrigin {
            origin,
            expected: host.to_owned(),
        });
    }
    Ok(verified)
}

/// An embedded Rekor v2 entry for `exp`, verified.
pub fn verify_embedded(
    entry: &TlogEntry,
    exp: &Expected<'_>,
    root: &TrustedRoot,
) -> Result<VerifiedEntry, TlogError> {
    verify_entry(entry, &body_for(exp)?, root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::tlog::InclusionProof;

    fn entry(checkpoint: &str) -> TlogEntry {
        TlogEntry {
            log_index: 0,
            log_id: vec![1; 32],
            kind: "hashedrekord".into(),
            version: "0.0.1".into(),
            integrated_time: 0,
            signed_entry_timestamp: None,
            inclusion_proof: Some(InclusionProof {
                log_index: 0,
                root_hash: vec![0; 32],
                tree_size: 1,
                hashes: Vec::new(),
                checkpoint: checkpoint.into(),
            }),
            canonicalized_body: Vec::new(),
        }
    }

    #[test]
    fn v2_entries_are_told_from_v1_by_time_and_checkpoint_origin() {
        assert!(is_embedded_v2(&entry(
            "log2025-1.rekor.sigstore.dev\n1\nAAAA\n\n— x AAAA\n"
        )));
        assert!(
            !is_embedded_v2(&entry(
                "rekor.sigstore.dev - 1193050959916656506\n1\nAAAA\n\n— x AAAA\n"
            )),
            "a Rekor v1 checkpoint"
        );
        let mut with_set = entry("127.0.0.1\n1\nAAAA\n\n— x AAAA\n");
        with_set.signed_entry_timestamp = Some(vec![1]);
        assert!(!is_embedded_v2(&with_set), "a SET is Rekor v1");
        let mut timed = entry("127.0.0.1\n1\nAAAA\n\n— x AAAA\n");
        timed.integrated_time = 5;
        assert!(!is_embedded_v2(&timed), "an integrated time is Rekor v1");
    }

    #[test]
    fn the_body_is_rekor_tiles_canonical_json() {
        let body = hashedrekord_body(
            &[0xff; 2],
            Digest::Sha256,
            b"s",
            b"c",
            "PKIX_ECDSA_P256_SHA_256",
        );
        // Written out by hand from rekor-tiles' HashedRekordLogEntryV002 protojson, keys sorted.
        assert_eq!(
            String::from_utf8(body).expect("utf8"),
            r#"{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256","digest":"//8="},"signature":{"content":"cw==","verifier":{"keyDetails":"PKIX_ECDSA_P256_SHA_256","x509Certificate":{"rawBytes":"Yw=="}}}}}}"#
        );
        let v: serde_json::Value = serde_json::from_slice(&hashedrekord_body(
            &[1],
            Digest::Sha384,
            b"",
            b"",
            "PKIX_ECDSA_P384_SHA_384",
        ))
        .expect("json");
        assert_eq!(
            v["spec"]["hashedRekordV002"]["data"]["algorithm"],
            "SHA2_384"
        );
    }
}
