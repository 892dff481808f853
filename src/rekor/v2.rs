//! Rekor v2 (rekor-tiles): log a hashedrekord v0.0.2 entry (`POST <url>/api/v2/log/entries`)
//! and check what comes back before it is embedded.
//!
//! As sigstore-go's Rekor v2 writer (what Go gitsign v0.17.1 uses with
//! `gitsign.rekorVersion=2`, on the `gitsign.rekor` URL as the base): the request is the
//! proto3 JSON `CreateEntryRequest { hashedRekordRequestV002 { digest, signature { content,
//! verifier { x509Certificate { rawBytes }, keyDetails } } } }` for the digest of the DER
//! signed attributes, the CMS signature and the leaf certificate; the answer (201) is a
//! `TransparencyLogEntry` with an inclusion proof and a signed checkpoint but no SET and no
//! integrated time. Before embedding, its body must be exactly the one rebuilt from the
//! signature ([`tlog_v2::hashedrekord_body`]) and the proof and checkpoint must verify
//! against the trusted root ([`tlog_v2::verify_entry`]). It is then embedded as Go embeds it
//! (kind hashedrekord 0.0.1, body cleared: see [`crate::verify::tlog_v2`]).

use base64::Engine as _;
use serde_json::json;

use super::{Logged, RekorError};
use crate::http::Http;
use crate::trust::TrustedRoot;
use crate::verify::tlog_v2;
use crate::x509::Cert;

/// The write path under a Rekor v2 base URL.
pub const ADD_PATH: &str = "/api/v2/log/entries";

/// Upload the entry for (`signed` — the bytes the signature covers, `signature`, `leaf`) to
/// the Rekor v2 log at `rekor_url` and verify the answer.
pub fn upload_entry(
    http: &Http,
    rekor_url: &str,
    signed: &[u8],
    signature: &[u8],
    leaf: &Cert,
    root: &TrustedRoot,
) -> Result<Logged, RekorError> {
    let (details, alg) = tlog_v2::key_details(leaf).ok_or_else(|| {
        RekorError::Malformed("the signing key has no Rekor v2 hashedrekord form".into())
    })?;
    let digest = alg.hash(signed);
    let b64 = base64::engine::general_purpose::STANDARD;
    let request = json!({ "hashedRekordRequestV002": {
        "digest": b64.encode(&digest),
        "signature": {
            "content": b64.encode(signature),
            "verifier": {
                "x509Certificate": { "rawBytes": b64.encode(&leaf.der) },
                "keyDetails": details,
            },
        },
    } });
    let url = format!("{}{ADD_PATH}", rekor_url.trim_end_matches('/'));
    let reply = http
        .post_json(&url, &request)
        .map_err(|source| RekorError::Http {
            url: url.clone(),
            source,
        })?;
    if !reply.ok() {
        let message = reply.error_message();
        return Err(RekorError::Refused {
            status: reply.status,
            message,
        });
    }
    let mut entry = crate::verify::bundle::transparency_log_entry(&reply.body)
        .map_err(|e| RekorError::Malformed(e.to_string()))?;
    let body = tlog_v2::hashedrekord_body(&digest, alg, signature, &leaf.der, details);
    if entry.canonicalized_body != body {
        return Err(RekorError::BodyMismatch);
    }
    if entry
        .inclusion_proof
        .as_ref()
        .is_none_or(|p| p.checkpoint.is_empty())
    {
        return Err(RekorError::MissingProof(
            "inclusion proof with a checkpoint",
        ));
    }
    let verified = tlog_v2::verify_entry(&entry, &body, root).map_err(RekorError::Verify)?;
    // Embedded as Go gitsign embeds it: no time, no SET, kind 0.0.1, body cleared.
    entry.kind = tlog_v2::EMBEDDED_KIND.0.to_owned();
    entry.version = tlog_v2::EMBEDDED_KIND.1.to_owned();
    entry.integrated_time = 0;
    entry.signed_entry_timestamp = None;
    Ok(Logged { entry, verified })
}
