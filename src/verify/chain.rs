//! The Fulcio chain of a signing certificate at the anchored time: which authorities of the
//! trust root are tried. The path itself is validated by [`crate::x509::chain`] with
//! [`Use::CodeSigning`]: the leaf must chain to a Fulcio CA of the trust root that was valid
//! at `at`, through certificates of that CA's chain (or intermediates the signature carries),
//! each valid at `at`, each issuer a CA allowed to sign certificates. The leaf must allow
//! codeSigning and carry no critical extension we do not understand.

use std::sync::Arc;

use crate::encoding::rfc3339;
use crate::trust::{Authority, TrustedRoot};
use crate::x509::chain::{check_leaf, path_to, Use};
use crate::x509::Cert;

pub use crate::x509::chain::ChainError;

/// The path that was found.
#[derive(Debug, Clone)]
pub struct Chain {
    /// The CA's URI from the trust root (may be empty for PEM bundles).
    pub ca_uri: String,
    /// Subjects' common names from leaf's issuer up to the anchor.
    pub issuers: Vec<String>,
    /// The certificate that signed the leaf (its key hash is part of what an SCT signs).
    pub issuer: Arc<Cert>,
}

/// Whether `issuer` signed `cert`.
pub fn issued_by(cert: &Cert, issuer: &Cert) -> bool {
    crate::x509::chain::issued_by(cert, issuer, Use::CodeSigning)
}

/// Validate `leaf` at Unix time `at` against the Fulcio CAs of `root`.
///
/// `extra` are other certificates the signature carried (some 2022 signatures include the
/// intermediate); they are only candidates, never anchors.
pub fn verify_chain(
    leaf: &Cert,
    extra: &[Arc<Cert>],
    root: &TrustedRoot,
    at: i64,
) -> Result<Chain, ChainError> {
    check_leaf(leaf, at, Use::CodeSigning)?;
    let mut last_expiry = None;
    for ca in root
        .certificate_authorities
        .iter()
        .filter(|ca| ca.valid_for.contains(at))
    {
        match path_through(leaf, extra, ca, at) {
            Ok(chain) => return Ok(chain),
            Err(e @ ChainError::Expired { .. }) => last_expiry = Some(e),
            Err(_) => {}
        }
    }
    Err(last_expiry.unwrap_or_else(|| ChainError::Untrusted(rfc3339(at))))
}

fn path_through(
    leaf: &Cert,
    extra: &[Arc<Cert>],
    ca: &Authority,
    at: i64,
) -> Result<Chain, ChainError> {
    let path = path_to(leaf, extra, &ca.certs, at, Use::CodeSigning)?;
    Ok(Chain {
        ca_uri: ca.uri.clone(),
        issuers: path.issuers,
        issuer: path
            .issuer
            .ok_or_else(|| ChainError::Untrusted(rfc3339(at)))?,
    })
}
