//! Fulcio: exchange an ID token and a fresh public key for a short-lived code-signing
//! certificate (`POST /api/v2/signingCert`, Fulcio's `fulcio.proto` in proto3 JSON).
//!
//! The proof of possession is an ECDSA-SHA256 signature over the token's subject (its email,
//! else `sub`). The returned chain is not trusted on arrival: the leaf must carry our key,
//! chain to a Fulcio CA of the trust root at the current time, allow code signing and carry a
//! valid SCT — the same checks a verifier will make, so a signature we emit verifies.

use base64::Engine as _;
use serde_json::{json, Value};

use crate::http::{Http, HttpError};
use crate::key::EphemeralKey;
use crate::oidc::IdToken;
use crate::trust::TrustedRoot;
use crate::verify::chain::{self, ChainError};
use crate::verify::sct::{self, SctError};
use crate::x509::{Cert, CertError};

#[derive(Debug, thiserror::Error)]
pub enum FulcioError {
    #[error("could not reach Fulcio at '{url}'")]
    Http {
        url: String,
        #[source]
        source: HttpError,
    },
    #[error("Fulcio refused the certificate request: {status} {message}")]
    Refused { status: u16, message: String },
    #[error("Fulcio's answer is malformed: {0}")]
    Malformed(String),
    #[error("Fulcio's certificate is malformed")]
    Certificate(#[source] CertError),
    #[error("Fulcio's certificate is for another public key than the one sent")]
    KeyMismatch,
    #[error("Fulcio's certificate does not chain to the trusted root")]
    Chain(#[source] ChainError),
    #[error("Fulcio's certificate has no valid certificate transparency proof")]
    Sct(#[source] SctError),
    #[error("could not sign the proof of possession")]
    Pop(#[source] crate::key::KeyError),
}

impl FulcioError {
    /// Whether the identity token was the problem (Fulcio answers 401 for those).
    pub fn is_token_problem(&self) -> bool {
        matches!(
            self,
            FulcioError::Refused {
                status: 401 | 403,
                ..
            }
        )
    }
}

/// A verified certificate.
#[derive(Debug, Clone)]
pub struct Issued {
    pub leaf: Cert,
    /// Names of the issuers from the leaf's up to the root, for human output.
    pub issuers: Vec<String>,
    /// The certificates Fulcio sent after the leaf (kept by the credential cache).
    pub chain: Vec<Cert>,
}

pub fn request_certificate(
    http: &Http,
    fulcio_url: &str,
    token: &IdToken,
    subject: &str,
    key: &EphemeralKey,
    root: &TrustedRoot,
    now: i64,
) -> Result<Issued, FulcioError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let pop = key.sign(subject.as_bytes()).map_err(FulcioError::Pop)?;
    let body = json!({
        "credentials": { "oidcIdentityToken": token.expose() },
        "publicKeyRequest": {
            "publicKey": { "algorithm": "ECDSA", "content": key.public_pem() },
            "proofOfPossession": b64.encode(pop),
        }
    });
    let url = format!("{}/api/v2/signingCert", fulcio_url.trim_end_matches('/'));
    let reply = http
        .post_json(&url, &body)
        .map_err(|source| FulcioError::Http {
            url: url.clone(),
            source,
        })?;
    if !reply.ok() {
        let message = reply.error_message();
        return Err(FulcioError::Refused {
            status: reply.status,
            message,
        });
    }
    let certs = parse_chain(&reply.body)?;
    let (leaf, extra) = certs
        .split_first()
        .ok_or_else(|| FulcioError::Malformed("the chain is empty".into()))?;
    check(leaf, extra, key, root, now)
}

/// The certificate chain of a `signingCert` response (embedded or detached SCT form), leaf
/// first. Pure, so the parser of untrusted network bytes is fuzzed on its own.
pub fn parse_chain(body: &[u8]) -> Result<Vec<Cert>, FulcioError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| FulcioError::Malformed(format!("not JSON: {e}")))?;
    let pems = [
        "/signedCertificateEmbeddedSct/chain/certificates",
        "/signedCertificateDetachedSct/chain/certificates",
    ]
    .iter()
    .find_map(|p| v.pointer(p).and_then(Value::as_array))
    .ok_or_else(|| FulcioError::Malformed("no certificate chain".into()))?;
    let mut certs = Vec::new();
    for pem in pems {
        let pem = pem
            .as_str()
            .ok_or_else(|| FulcioError::Malformed("a chain entry is not a string".into()))?;
        let der = crate::pem::decode_one(pem.as_bytes(), "CERTIFICATE")
            .map_err(|e| FulcioError::Malformed(format!("a chain entry is not PEM: {e}")))?;
        certs.push(Cert::parse(&der).map_err(FulcioError::Certificate)?);
    }
    Ok(certs)
}

/// The checks on an issued certificate, separate from the round trip so they are testable.
pub fn check(
    leaf: &Cert,
    extra: &[Cert],
    key: &EphemeralKey,
    root: &TrustedRoot,
    now: i64,
) -> Result<Issued, FulcioError> {
    if leaf.spki_der != key.spki_der() {
        return Err(FulcioError::KeyMismatch);
    }
    // A CA clock a little ahead of ours must not fail a fresh certificate.
    let at = now.max(leaf.not_before);
    let shared: Vec<std::sync::Arc<Cert>> =
        extra.iter().cloned().map(std::sync::Arc::new).collect();
    let path = chain::verify_chain(leaf, &shared, root, at).map_err(FulcioError::Chain)?;
    sct::verify_sct(leaf, &path.issuer, root, None).map_err(FulcioError::Sct)?;
    Ok(Issued {
        leaf: leaf.clone(),
        issuers: path.issuers,
        chain: extra.to_vec(),
    })
}
