//! The canonicalized body of a Rekor entry, tied to the signature it claims to log.
//!
//! A SET and an inclusion proof prove that *a* body was logged; only comparing that body with
//! the signature in hand proves it was *this* signature. Two sources:
//! - gitsign embeds its entry with the body cleared: it is rebuilt here as the hashedrekord
//!   v0.0.1 Go gitsign uploads ([`hashedrekord_body`]);
//! - a Sigstore bundle carries the body: it is parsed and each field compared with the
//!   signature, the signed content and the verifier (certificate or key), per kind:
//!   hashedrekord 0.0.1 (Rekor v1) and 0.0.2 (Rekor v2, also over DSSE PAE), dsse 0.0.1 and
//!   0.0.2, intoto 0.0.2 (rekor `pkg/types/*` schemas, rekor-tiles `hashedrekord`/`dsse` v0.0.2).
//!
//! Not compared: dsse 0.0.1's `envelopeHash` and intoto's `hash` (a hash of a JSON
//! serialisation of the whole envelope the verifier cannot reproduce byte for byte); the
//! payload, its type, the signature and the verifier, which are compared, pin everything
//! the envelope hash would.

use base64::Engine as _;
use serde_json::Value;

use super::tlog::{self, TlogEntry, TlogError};
use super::Content;
use crate::crypto::{sha256, Digest};
use crate::encoding::hex;

/// What the logged body must describe.
pub struct Expected<'a> {
    pub content: &'a Content,
    /// The bytes the signature covers (the message, or the DSSE PAE).
    pub signed: &'a [u8],
    pub signature: &'a [u8],
    /// DER of the leaf certificate, or of the SubjectPublicKeyInfo for a key signer.
    pub verifier_der: &'a [u8],
    /// The leaf certificate PEM, for rebuilding gitsign's body.
    pub leaf_pem: Option<String>,
}

fn mismatch(what: impl Into<String>) -> TlogError {
    TlogError::BodyMismatch(what.into())
}

fn malformed(what: impl Into<String>) -> TlogError {
    TlogError::Malformed(what.into())
}

/// The canonical JSON body of the hashedrekord v0.0.1 entry Go gitsign uploads.
///
/// `digest_hex` is the lowercase hex SHA-256 of the **DER SET OF signed attributes** (not of
/// the commit payload: measured on all 15 fixture entries, only this digest makes the SET
/// verify); `signature` the CMS SignerInfo signature; `cert_pem` the leaf certificate PEM
/// exactly as Go's `pem.EncodeToMemory` writes it, trailing newline included.
///
/// Canonical form (RFC 8785, what Rekor stores): keys sorted, no whitespace. Keys are written
/// in sorted order by hand so the output does not depend on serde_json's map features.
pub fn hashedrekord_body(digest_hex: &str, signature: &[u8], cert_pem: &str) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        concat!(
            r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"#,
            r#""data":{{"hash":{{"algorithm":"sha256","value":{}}}}},"#,
            r#""signature":{{"content":{},"publicKey":{{"content":{}}}}}}}}}"#
        ),
        tlog::json_string(digest_hex),
        tlog::json_string(&b64.encode(signature)),
        tlog::json_string(&b64.encode(cert_pem.as_bytes())),
    )
    .into_bytes()
}

/// The body to verify `entry` with: rebuilt when the entry carries none, else the entry's own
/// after checking it describes `exp`.
pub fn body_for(entry: &TlogEntry, exp: &Expected<'_>) -> Result<Vec<u8>, TlogError> {
    if entry.canonicalized_body.is_empty() {
        let pem = exp
            .leaf_pem
            .as_deref()
            .ok_or_else(|| malformed("entry has no body and the signer has no certificate"))?;
        return Ok(hashedrekord_body(
            &hex(&sha256(exp.signed)),
            exp.signature,
            pem,
        ));
    }
    check_body(entry, exp)?;
    Ok(entry.canonicalized_body.clone())
}

/// Check that a canonicalized body describes `exp`.
pub fn check_body(entry: &TlogEntry, exp: &Expected<'_>) -> Result<(), TlogError> {
    let body: Value = serde_json::from_slice(&entry.canonicalized_body)
        .map_err(|e| malformed(format!("body is not JSON: {e}")))?;
    let kind = str_at(&body, &["kind"])?;
    let version = str_at(&body, &["apiVersion"])?;
    if !entry.kind.is_empty() && (entry.kind != kind || entry.version != version) {
        return Err(mismatch(format!(
            "entry says {}/{}, body is {kind}/{version}",
            entry.kind, entry.version
        )));
    }
    let spec = body
        .get("spec")
        .ok_or_else(|| malformed("body has no spec"))?;
    match (kind, version) {
        ("hashedrekord", "0.0.1") => hashedrekord_v001(spec, exp),
        ("hashedrekord", "0.0.2") => hashedrekord_v002(spec, exp),
        ("dsse", "0.0.1") => dsse_v001(spec, exp),
        ("dsse", "0.0.2") => dsse_v002(spec, exp),
        ("intoto", "0.0.2") => intoto_v002(spec, exp),
        _ => Err(malformed(format!(
            "unsupported entry kind {kind}/{version}"
        ))),
    }
}

fn at<'v>(v: &'v Value, path: &[&str]) -> Result<&'v Value, TlogError> {
    let mut cur = v;
    for key in path {
        cur = cur
            .get(*key)
            .ok_or_else(|| malformed(format!("body has no {}", path.join("."))))?;
    }
    Ok(cur)
}

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Result<&'v str, TlogError> {
    at(v, path)?
        .as_str()
        .ok_or_else(|| malformed(format!("body field {} is not a string", path.join("."))))
}

fn b64_at(v: &Value, path: &[&str]) -> Result<Vec<u8>, TlogError> {
    base64::engine::general_purpose::STANDARD
        .decode(str_at(v, path)?)
        .map_err(|_| malformed(format!("body field {} is not base64", path.join("."))))
}

/// Rekor v1 hash names (`sha256`) and protobuf-specs ones (`SHA2_256`).
fn digest_named(name: &str) -> Result<Digest, TlogError> {
    match name {
        "sha256" | "SHA2_256" => Ok(Digest::Sha256),
        "sha384" | "SHA2_384" => Ok(Digest::Sha384),
        "sha512" | "SHA2_512" => Ok(Digest::Sha512),
        other => Err(malformed(format!("unsupported hash algorithm '{other}'"))),
    }
}

/// A verifier given as base64 of PEM (Rekor v1 bodies): its DER must be the signer's.
fn check_pem_verifier(b64_pem: &[u8], exp: &Expected<'_>) -> Result<(), TlogError> {
    let der = ["CERTIFICATE", "PUBLIC KEY"]
        .iter()
        .find_map(|label| crate::pem::decode_one(b64_pem, label).ok())
        .ok_or_else(|| malformed("verifier is not a PEM certificate or public key"))?;
    check_der_verifier(&der, exp)
}

fn check_der_verifier(der: &[u8], exp: &Expected<'_>) -> Result<(), TlogError> {
    if der != exp.verifier_der {
        return Err(mismatch(
            "the logged certificate or key is not the signer's",
        ));
    }
    Ok(())
}

/// A Rekor v2 `Verifier` message: `x509Certificate.rawBytes` or `publicKey.rawBytes`.
fn check_v2_verifier(verifier: &Value, exp: &Expected<'_>) -> Result<(), TlogError> {
    let der = if verifier.get("x509Certificate").is_some() {
        b64_at(verifier, &["x509Certificate", "rawBytes"])?
    } else {
        b64_at(verifier, &["publicKey", "rawBytes"])?
    };
    check_der_verifier(&der, exp)
}

fn check_signature(logged: &[u8], exp: &Expected<'_>) -> Result<(), TlogError> {
    if logged != exp.signature {
        return Err(mismatch("the logged signature is not the bundle's"));
    }
    Ok(())
}

fn dsse_payload<'a>(exp: &'a Expected<'_>) -> Result<(&'a str, &'a [u8]), TlogError> {
    match exp.content {
        Content::Dsse {
            payload_type,
            payload,
        } => Ok((payload_type, payload)),
        Content::Message(_) => Err(mismatch(
            "a DSSE entry logs an envelope, not a message signature",
        )),
    }
}

fn hashedrekord_v001(spec: &Value, exp: &Expected<'_>) -> Result<(), TlogError> {
    let alg = digest_named(str_at(spec, &["data", "hash", "algorithm"])?)?;
    let value = str_at(spec, &["data", "hash", "value"])?;
    if !value.eq_ignore_ascii_case(&hex(&alg.hash(exp.signed))) {
        return Err(mismatch("the logged digest is not the artifact's"));
    }
    check_signature(&b64_at(spec, &["signature", "content"])?, exp)?;
    check_pem_verifier(&b64_at(spec, &["signature", "publicKey", "content"])?, exp)
}

fn hashedrekord_v002(spec: &Value, exp: &Expected<'_>) -> Result<(), TlogError> {
    let spec = at(spec, &["hashedRekordV002"])?;
    let alg = digest_named(str_at(spec, &["data", "algorithm"])?)?;
    if b64_at(spec, &["data", "digest"])? != alg.hash(exp.signed) {
        return Err(mismatch("the logged digest is not the artifact's"));
    }
    check_signature(&b64_at(spec, &["signature", "content"])?, exp)?;
    check_v2_verifier(at(spec, &["signature", "verifier"])?, exp)
}

/// The envelope's single signature must be the one logged (with its verifier).
fn single<'v>(v: &'v Value, path: &[&str]) -> Result<&'v Value, TlogError> {
    match at(v, path)?.as_array().map(Vec::as_slice) {
        Some([one]) => Ok(one),
        Some(many) => Err(mismatch(format!(
            "the entry logs {} signatures, the envelope has one",
            many.len()
        ))),
        None => Err(malformed(format!(
            "body field {} is not a list",
            path.join(".")
        ))),
    }
}

fn dsse_v001(spec: &Value, exp: &Expected<'_>) -> Result<(), TlogError> {
    let (_, payload) = dsse_payload(exp)?;
    let alg = digest_named(str_at(spec, &["payloadHash", "algorithm"])?)?;
    let value = str_at(spec, &["payloadHash", "value"])?;
    if !value.eq_ignore_ascii_case(&hex(&alg.hash(payload))) {
        return Err(mismatch("the logged payload hash is not the envelope's"));
    }
    let sig = single(spec, &["signatures"])?;
    check_signature(&b64_at(sig, &["signature"])?, exp)?;
    check_pem_verifier(&b64_at(sig, &["verifier"])?, exp)
}

fn dsse_v002(spec: &Value, exp: &Expected<'_>) -> Result<(), TlogError> {
    let (_, payload) = dsse_payload(exp)?;
    let spec = at(spec, &["dsseV002"])?;
    let alg = digest_named(str_at(spec, &["payloadHash", "algorithm"])?)?;
    if b64_at(spec, &["payloadHash", "digest"])? != alg.hash(payload) {
        return Err(mismatch("the logged payload hash is not the envelope's"));
    }
    let sig = single(spec, &["signatures"])?;
    check_signature(&b64_at(sig, &["content"])?, exp)?;
    check_v2_verifier(at(sig, &["verifier"])?, exp)
}

/// intoto 0.0.2 stores the envelope with payload and signatures base64-encoded twice (the
/// envelope's own base64 strings, as bytes, base64-encoded by the JSON schema).
fn intoto_v002(spec: &Value, exp: &Expected<'_>) -> Result<(), TlogError> {
    let (payload_type, payload) = dsse_payload(exp)?;
    let env = at(spec, &["content", "envelope"])?;
    let b64 = base64::engine::general_purpose::STANDARD;
    // Rekor's own entries encode twice; some writers (one conformance vector) once. A DER
    // signature or a JSON payload is never itself base64 text, so decoding again only when
    // the first decoding is base64 text is unambiguous for what is compared here.
    let twice = |v: &Value, path: &[&str]| -> Result<Vec<u8>, TlogError> {
        let once = b64_at(v, path)?;
        Ok(b64.decode(&once).unwrap_or(once))
    };
    if str_at(env, &["payloadType"])? != payload_type {
        return Err(mismatch("the logged payload type is not the envelope's"));
    }
    if twice(env, &["payload"])? != payload {
        return Err(mismatch("the logged payload is not the envelope's"));
    }
    let sig = single(env, &["signatures"])?;
    check_signature(&twice(sig, &["sig"])?, exp)?;
    check_pem_verifier(&b64_at(sig, &["publicKey"])?, exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashedrekord_body_is_canonical_json_with_sorted_keys() {
        let body = hashedrekord_body("ab01", b"\x01\x02", "PEM\n");
        assert_eq!(
            String::from_utf8(body).expect("utf-8"),
            r#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"ab01"}},"signature":{"content":"AQI=","publicKey":{"content":"UEVNCg=="}}}}"#,
            "keys sorted at every level, no whitespace"
        );
        let quoted = hashedrekord_body("a\"b", b"", "");
        assert!(
            serde_json::from_slice::<serde_json::Value>(&quoted).is_ok(),
            "a hostile digest string is escaped, the output stays JSON"
        );
    }
}
