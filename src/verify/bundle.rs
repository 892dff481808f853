//! Sigstore bundles (protobuf-specs `dev.sigstore.bundle.v1.Bundle`, JSON mapping, media types
//! v0.1–v0.3) turned into the one [`VerificationInput`] the core verifies, as a commit's CMS
//! signature is. Pure: bytes in, values out.
//!
//! What each version requires (protobuf-specs `sigstore_bundle.proto`): v0.1 log entries carry
//! a signed entry timestamp; from v0.2 on they carry an inclusion proof. Rekor v2 entries have
//! no integrated time, so their time comes from an RFC 3161 timestamp in
//! `verificationMaterial.timestampVerificationData`. A message signature's `messageDigest` is a
//! hint, but one that disagrees with the artifact is rejected; a DSSE envelope must hold an
//! in-toto statement naming the artifact's digest among its subjects.

use crate::trust::{RawCert, RawChain};
use base64::Engine as _;
use serde::Deserialize;

use super::tlog::{InclusionProof, TlogEntry, TlogError};
use super::{Content, Failure, Signer, VerificationInput, WithoutAnchor};
use crate::crypto::{Digest, PublicKey};
use crate::x509::Cert;

/// The bundle versions this verifier understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V01,
    V02,
    V03,
}

impl Version {
    fn from_media_type(mt: &str) -> Option<Version> {
        match mt {
            "application/vnd.dev.sigstore.bundle+json;version=0.1" => Some(Version::V01),
            "application/vnd.dev.sigstore.bundle+json;version=0.2" => Some(Version::V02),
            "application/vnd.dev.sigstore.bundle+json;version=0.3"
            | "application/vnd.dev.sigstore.bundle.v0.3+json" => Some(Version::V03),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("bundle is not valid JSON: {0}")]
    Json(String),
    #[error("unsupported bundle media type '{0}'")]
    MediaType(String),
    #[error("invalid base64 in {0}")]
    Base64(&'static str),
    #[error("bundle is malformed: {0}")]
    Malformed(String),
    #[error("bundle's certificate chain is empty")]
    EmptyCertificateChain,
    #[error("bundle's certificate chain contains a root certificate ('{0}'); roots come only from the trusted root")]
    RootInChain(String),
    #[error("bundle is signed with a key: pass the public key with --key")]
    KeyRequired,
    #[error(
        "bundle carries a certificate, not a key signature: verify it by identity, without --key"
    )]
    KeyNotApplicable,
    #[error("the public key given with --key is malformed")]
    Key,
    #[error("the bundle's message digest does not match the artifact")]
    DigestMismatch,
    #[error("DSSE payload type '{0}' is not an in-toto statement")]
    PayloadType(String),
    #[error("the in-toto statement is malformed: {0}")]
    Statement(String),
    #[error("no subject of the in-toto statement has the artifact's digest")]
    SubjectMismatch,
}

impl BundleError {
    /// A stable machine-readable code for JSON output and tests.
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::Json(_) | BundleError::Malformed(_) => "bundle_malformed",
            BundleError::MediaType(_) => "bundle_unsupported_version",
            BundleError::Base64(_) => "bundle_invalid_base64",
            BundleError::EmptyCertificateChain => "bundle_empty_certificate_chain",
            BundleError::RootInChain(_) => "bundle_root_in_chain",
            BundleError::KeyRequired => "key_required",
            BundleError::KeyNotApplicable | BundleError::Key => "key_mismatch",
            BundleError::DigestMismatch => "digest_mismatch",
            BundleError::PayloadType(_) | BundleError::Statement(_) => "dsse_payload",
            BundleError::SubjectMismatch => "subject_mismatch",
        }
    }
}

fn malformed(what: impl Into<String>) -> BundleError {
    BundleError::Malformed(what.into())
}

/// The signing material of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Material {
    /// Leaf first; v0.1/v0.2 `x509CertificateChain` or v0.3 `certificate`.
    Certificates(Vec<Vec<u8>>),
    /// A key identified only by a hint: the verifier must supply it.
    PublicKey { hint: String },
}

/// What was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signed {
    Message {
        /// The (unauthenticated) digest of the artifact the bundle claims.
        digest: Option<(Digest, Vec<u8>)>,
        signature: Vec<u8>,
    },
    Dsse {
        payload_type: String,
        payload: Vec<u8>,
        signature: Vec<u8>,
    },
}

/// A parsed bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub version: Version,
    pub material: Material,
    pub tlog_entries: Vec<TlogEntry>,
    /// RFC 3161 timestamp tokens (DER ContentInfo, unwrapped from a TimeStampResp if need be).
    pub timestamps: Vec<Vec<u8>>,
    pub signed: Signed,
}

// --- JSON mapping (protobuf-specs; int64 may be a string or a number) ---

#[derive(Deserialize)]
#[serde(untagged)]
enum Int {
    Str(String),
    Num(i64),
}

impl Int {
    fn get(&self, what: &str) -> Result<i64, BundleError> {
        match self {
            Int::Num(n) => Ok(*n),
            Int::Str(s) => s
                .parse()
                .map_err(|_| malformed(format!("{what} '{s}' is not an integer"))),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    media_type: Option<String>,
    verification_material: Option<RawMaterial>,
    message_signature: Option<RawMessageSignature>,
    dsse_envelope: Option<RawEnvelope>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMaterial {
    public_key: Option<RawKeyId>,
    x509_certificate_chain: Option<RawChain>,
    certificate: Option<RawCert>,
    #[serde(default)]
    tlog_entries: Vec<RawTlogEntry>,
    timestamp_verification_data: Option<RawTimestampData>,
}

#[derive(Deserialize)]
struct RawKeyId {
    #[serde(default)]
    hint: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTimestampData {
    #[serde(default)]
    rfc3161_timestamps: Vec<RawTimestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTimestamp {
    signed_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTlogEntry {
    log_index: Option<Int>,
    log_id: Option<RawLogId>,
    kind_version: Option<RawKindVersion>,
    integrated_time: Option<Int>,
    inclusion_promise: Option<RawPromise>,
    inclusion_proof: Option<RawProof>,
    #[serde(default)]
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
struct RawKindVersion {
    kind: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPromise {
    signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProof {
    log_index: Option<Int>,
    root_hash: String,
    tree_size: Option<Int>,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: Option<RawCheckpoint>,
}

#[derive(Deserialize)]
struct RawCheckpoint {
    #[serde(default)]
    envelope: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessageSignature {
    message_digest: Option<RawDigest>,
    signature: String,
}

#[derive(Deserialize)]
struct RawDigest {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEnvelope {
    payload: String,
    payload_type: String,
    #[serde(default)]
    signatures: Vec<RawEnvelopeSignature>,
}

#[derive(Deserialize)]
struct RawEnvelopeSignature {
    sig: String,
}

/// Base64 as Go's protojson reads `bytes` fields: standard or URL-safe alphabet, padding
/// optional, line breaks ignored (one conformance bundle wraps its timestamp at 76 columns,
/// as `base64(1)` does).
fn b64(s: &str, what: &'static str) -> Result<Vec<u8>, BundleError> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CONFIG);
    let compact: String = s.chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
    STANDARD
        .decode(&compact)
        .or_else(|_| URL_SAFE.decode(&compact))
        .map_err(|_| BundleError::Base64(what))
}

fn tlog_error(e: TlogError) -> Failure {
    Failure::Tlog(e)
}

/// Parse a bundle's JSON. Structural rules that depend only on the bundle are checked here;
/// tlog rules (proof or promise per version, non-negative indices) yield [`Failure::Tlog`].
pub fn parse(json: &[u8]) -> Result<Bundle, Failure> {
    let raw: RawBundle =
        serde_json::from_slice(json).map_err(|e| BundleError::Json(e.to_string()))?;
    let mt = raw.media_type.unwrap_or_default();
    let version = Version::from_media_type(&mt).ok_or(BundleError::MediaType(mt))?;
    let vm = raw
        .verification_material
        .ok_or_else(|| malformed("no verificationMaterial"))?;

    let material = match (vm.public_key, vm.x509_certificate_chain, vm.certificate) {
        (Some(k), None, None) => Material::PublicKey { hint: k.hint },
        (None, Some(chain), None) => {
            if chain.certificates.is_empty() {
                return Err(BundleError::EmptyCertificateChain.into());
            }
            Material::Certificates(
                chain
                    .certificates
                    .iter()
                    .map(|c| b64(&c.raw_bytes, "a certificate"))
                    .collect::<Result<_, _>>()?,
            )
        }
        (None, None, Some(cert)) => {
            Material::Certificates(vec![b64(&cert.raw_bytes, "the certificate")?])
        }
        _ => {
            return Err(
                malformed("exactly one of publicKey, x509CertificateChain, certificate").into(),
            )
        }
    };
    if let Material::Certificates(ders) = &material {
        for der in ders {
            let cert = Cert::parse(der).map_err(Failure::Certificate)?;
            if cert.issuer_der == cert.subject_der && super::chain::issued_by(&cert, &cert) {
                return Err(BundleError::RootInChain(
                    cert.subject_common_name().unwrap_or_default(),
                )
                .into());
            }
        }
    }

    let tlog_entries = vm
        .tlog_entries
        .iter()
        .map(|e| tlog_entry(e, version))
        .collect::<Result<Vec<_>, _>>()?;

    let timestamps = vm
        .timestamp_verification_data
        .map(|t| t.rfc3161_timestamps)
        .unwrap_or_default()
        .iter()
        .map(|t| {
            let der = b64(&t.signed_timestamp, "a signed timestamp")?;
            super::timestamp::token_from_response(&der).map_err(Failure::Timestamp)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let signed = match (raw.message_signature, raw.dsse_envelope) {
        (Some(m), None) => Signed::Message {
            digest: m
                .message_digest
                .map(|d| -> Result<_, BundleError> {
                    let alg = match d.algorithm.as_str() {
                        "SHA2_256" => Digest::Sha256,
                        "SHA2_384" => Digest::Sha384,
                        "SHA2_512" => Digest::Sha512,
                        other => {
                            return Err(malformed(format!(
                                "unsupported digest algorithm '{other}'"
                            )))
                        }
                    };
                    Ok((alg, b64(&d.digest, "the message digest")?))
                })
                .transpose()?,
            signature: b64(&m.signature, "the message signature")?,
        },
        (None, Some(env)) => {
            let sig = match env.signatures.as_slice() {
                [one] => b64(&one.sig, "the envelope signature")?,
                other => {
                    return Err(malformed(format!(
                        "the DSSE envelope must have exactly one signature, it has {}",
                        other.len()
                    ))
                    .into())
                }
            };
            Signed::Dsse {
                payload_type: env.payload_type,
                payload: b64(&env.payload, "the envelope payload")?,
                signature: sig,
            }
        }
        _ => return Err(malformed("exactly one of messageSignature, dsseEnvelope").into()),
    };

    Ok(Bundle {
        version,
        material,
        tlog_entries,
        timestamps,
        signed,
    })
}

/// One protobuf-JSON `TransparencyLogEntry` (a Rekor v2 write answer), decoded and checked as
/// an entry of a v0.3 bundle.
pub(crate) fn transparency_log_entry(json: &[u8]) -> Result<TlogEntry, Failure> {
    let raw: RawTlogEntry = serde_json::from_slice(json).map_err(|e| {
        tlog_error(TlogError::Malformed(format!(
            "not a TransparencyLogEntry: {e}"
        )))
    })?;
    tlog_entry(&raw, Version::V03)
}

fn tlog_entry(raw: &RawTlogEntry, version: Version) -> Result<TlogEntry, Failure> {
    let int = |v: &Option<Int>, what: &str| -> Result<i64, Failure> {
        let n = v.as_ref().map_or(Ok(0), |i| i.get(what))?;
        if n < 0 {
            return Err(tlog_error(TlogError::Malformed(format!(
                "negative {what} {n}"
            ))));
        }
        Ok(n)
    };
    let log_index = int(&raw.log_index, "log index")?;
    let log_id = raw
        .log_id
        .as_ref()
        .map(|l| b64(&l.key_id, "a log id"))
        .transpose()?
        .filter(|id| !id.is_empty())
        .ok_or_else(|| tlog_error(TlogError::Malformed("entry has no log id".into())))?;
    let (kind, version_str) = raw
        .kind_version
        .as_ref()
        .map(|kv| (kv.kind.clone(), kv.version.clone()))
        .ok_or_else(|| tlog_error(TlogError::Malformed("entry has no kindVersion".into())))?;
    let set = raw
        .inclusion_promise
        .as_ref()
        .map(|p| b64(&p.signed_entry_timestamp, "a signed entry timestamp"))
        .transpose()?
        .filter(|s| !s.is_empty());
    let proof = raw
        .inclusion_proof
        .as_ref()
        .map(|p| -> Result<InclusionProof, Failure> {
            Ok(InclusionProof {
                log_index: int(&p.log_index, "inclusion proof log index")?,
                root_hash: b64(&p.root_hash, "a root hash")?,
                tree_size: int(&p.tree_size, "tree size")?,
                hashes: p
                    .hashes
                    .iter()
                    .map(|h| b64(h, "an inclusion proof hash"))
                    .collect::<Result<_, _>>()?,
                checkpoint: p
                    .checkpoint
                    .as_ref()
                    .map(|c| c.envelope.clone())
                    .unwrap_or_default(),
            })
        })
        .transpose()?;
    if version >= Version::V02 && proof.is_none() {
        return Err(tlog_error(TlogError::MissingInclusionProof));
    }
    if version == Version::V01 && set.is_none() {
        return Err(tlog_error(TlogError::MissingInclusionPromise));
    }
    let body = b64(&raw.canonicalized_body, "a canonicalized body")?;
    if body.is_empty() {
        return Err(tlog_error(TlogError::Malformed(
            "entry has no canonicalized body".into(),
        )));
    }
    Ok(TlogEntry {
        log_index,
        log_id,
        kind,
        version: version_str,
        integrated_time: int(&raw.integrated_time, "integrated time")?,
        signed_entry_timestamp: set,
        inclusion_proof: proof,
        canonicalized_body: body,
    })
}

/// The in-toto payload type (DSSE `payloadType`).
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Whether an in-toto statement names `artifact` among its subjects (by any digest it gives
/// that this verifier can compute: sha256, sha384, sha512).
fn statement_names(payload: &[u8], artifact: &[u8]) -> Result<bool, BundleError> {
    let st: serde_json::Value = serde_json::from_slice(payload)
        .map_err(|e| BundleError::Statement(format!("not JSON: {e}")))?;
    let subjects = st
        .get("subject")
        .and_then(|s| s.as_array())
        .ok_or_else(|| BundleError::Statement("no subject list".into()))?;
    let mut computed: Vec<(&str, String)> = Vec::new();
    for s in subjects {
        let Some(digests) = s.get("digest").and_then(|d| d.as_object()) else {
            continue;
        };
        for (alg, want) in digests {
            let d = match alg.as_str() {
                "sha256" => Digest::Sha256,
                "sha384" => Digest::Sha384,
                "sha512" => Digest::Sha512,
                _ => continue,
            };
            let have = match computed.iter().find(|(a, _)| *a == alg.as_str()) {
                Some((_, h)) => h.clone(),
                None => {
                    let h = crate::encoding::hex(&d.hash(artifact));
                    computed.push((alg.as_str(), h.clone()));
                    h
                }
            };
            if want.as_str().is_some_and(|w| w.eq_ignore_ascii_case(&have)) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

impl Bundle {
    /// The core's input for this bundle over `artifact`. `key` is the SPKI DER of the public
    /// key the user trusts (`--key`), required for key-signed bundles and refused otherwise.
    pub fn to_input(
        &self,
        artifact: &[u8],
        key: Option<&[u8]>,
    ) -> Result<VerificationInput, Failure> {
        let signer = match (&self.material, key) {
            (Material::Certificates(ders), None) => {
                let (leaf, extra) = ders
                    .split_first()
                    .ok_or(BundleError::EmptyCertificateChain)?;
                Signer::Certificate {
                    leaf: leaf.clone(),
                    extra: extra.to_vec(),
                }
            }
            (Material::Certificates(_), Some(_)) => {
                return Err(BundleError::KeyNotApplicable.into())
            }
            (Material::PublicKey { .. }, None) => return Err(BundleError::KeyRequired.into()),
            (Material::PublicKey { .. }, Some(k)) => Signer::Key {
                spki_der: k.to_vec(),
            },
        };
        let signer_key = match &signer {
            Signer::Certificate { leaf, .. } => Cert::parse(leaf)
                .map_err(Failure::Certificate)
                .and_then(|c| PublicKey::from_spki_der(&c.spki_der).map_err(Failure::Signature))?,
            Signer::Key { spki_der } => {
                PublicKey::from_spki_der(spki_der).map_err(|_| BundleError::Key)?
            }
        };
        let (content, signature) = match &self.signed {
            Signed::Message { digest, signature } => {
                if let Some((alg, d)) = digest {
                    if alg.hash(artifact) != *d {
                        return Err(BundleError::DigestMismatch.into());
                    }
                }
                (Content::Message(artifact.to_vec()), signature.clone())
            }
            Signed::Dsse {
                payload_type,
                payload,
                signature,
            } => {
                if payload_type != IN_TOTO_PAYLOAD_TYPE {
                    return Err(BundleError::PayloadType(payload_type.clone()).into());
                }
                if !statement_names(payload, artifact)? {
                    return Err(BundleError::SubjectMismatch.into());
                }
                (
                    Content::Dsse {
                        payload_type: payload_type.clone(),
                        payload: payload.clone(),
                    },
                    signature.clone(),
                )
            }
        };
        Ok(VerificationInput {
            content,
            digest: signer_key.default_digest(),
            signature,
            signer,
            tlog_entries: self.tlog_entries.clone(),
            timestamps: self.timestamps.clone(),
            signing_time: None,
            without_anchor: WithoutAnchor::Bad,
            require_tlog: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_map_to_versions() {
        for (mt, v) in [
            (
                "application/vnd.dev.sigstore.bundle+json;version=0.1",
                Some(Version::V01),
            ),
            (
                "application/vnd.dev.sigstore.bundle+json;version=0.2",
                Some(Version::V02),
            ),
            (
                "application/vnd.dev.sigstore.bundle+json;version=0.3",
                Some(Version::V03),
            ),
            (
                "application/vnd.dev.sigstore.bundle.v0.3+json",
                Some(Version::V03),
            ),
            (
                "application/vnd.dev.sigstore.bundle+json;version=99.9",
                None,
            ),
            ("application/json", None),
        ] {
            assert_eq!(Version::from_media_type(mt), v, "{mt}");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for input in [
            &b""[..],
            b"{",
            b"null",
            b"[]",
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#,
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"x509CertificateChain":{"certificates":[]}}}"#,
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}},"messageSignature":{"signature":"!!"}}"#,
        ] {
            assert!(parse(input).is_err(), "{:?} is not a bundle", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // DSSE protocol.md: PAE("http://example.com/HelloWorld", "hello world").
        assert_eq!(
            super::super::pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec(),
            "PAE is the space-separated, length-prefixed encoding"
        );
    }
}
