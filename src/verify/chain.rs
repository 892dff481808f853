//! Certificate path validation (RFC 5280 §6, the subset Sigstore needs) at a given time.
//!
//! The leaf must chain to a Fulcio CA of the trust root that was valid at `at`, through
//! certificates of that CA's chain (or intermediates the signature carries), each valid at `at`,
//! each issuer a CA allowed to sign certificates. The leaf must allow codeSigning and carry no
//! critical extension we do not understand.

use std::sync::Arc;

use crate::crypto::{Digest, PublicKey};
use crate::encoding::rfc3339;
use crate::oid;
use crate::trust::{Authority, TrustedRoot};
use crate::x509::Cert;

/// Longest path considered: leaf, two intermediates, root.
const MAX_DEPTH: usize = 4;

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ChainError {
    #[error("certificate was not valid at {at} (valid {not_before} to {not_after})")]
    Expired {
        at: String,
        not_before: String,
        not_after: String,
    },
    #[error("certificate does not allow code signing")]
    NotForCodeSigning,
    #[error("certificate has unknown critical extension {0}")]
    UnknownCriticalExtension(String),
    #[error("certificate is not issued by a trusted Fulcio CA valid at {0}")]
    Untrusted(String),
}

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

/// Links already proven in this process (see [`super::memo`]): a CA certificate signs every
/// leaf of a range, and with a credential cache one leaf signs many commits.
static PROVEN_LINKS: super::memo::Proven = super::memo::Proven::new();

/// Whether `issuer` signed `cert`.
pub fn issued_by(cert: &Cert, issuer: &Cert) -> bool {
    if cert.issuer_der != issuer.subject_der {
        return false;
    }
    let key = super::memo::key(b"issued-by", &[&issuer.spki_der, &cert.der]);
    PROVEN_LINKS.check(key, || {
        Digest::from_signature_oid(&cert.signature_algorithm).is_some_and(|digest| {
            PublicKey::from_spki_der(&issuer.spki_der)
                .is_ok_and(|k| k.verify(digest, &cert.tbs_der, &cert.signature).is_ok())
        })
    })
}

fn valid_at(cert: &Cert, at: i64) -> Result<(), ChainError> {
    if at < cert.not_before || at > cert.not_after {
        return Err(ChainError::Expired {
            at: rfc3339(at),
            not_before: rfc3339(cert.not_before),
            not_after: rfc3339(cert.not_after),
        });
    }
    Ok(())
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
    valid_at(leaf, at)?;
    if let Some(oid) = leaf.unknown_critical_extensions().first() {
        return Err(ChainError::UnknownCriticalExtension(oid.to_string()));
    }
    let code_signing = leaf
        .extended_key_usages()
        .is_some_and(|ekus| ekus.contains(&oid::EKU_CODE_SIGNING));
    if !code_signing || !leaf.key_usage_allows(0) {
        return Err(ChainError::NotForCodeSigning);
    }
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
    let trusted = &ca.certs;
    let mut current = leaf;
    let mut issuers = Vec::new();
    let mut leaf_issuer: Option<&Arc<Cert>> = None;
    for _ in 0..MAX_DEPTH {
        // A certificate of the trust root's chain ends the path: the chain is trusted as a whole.
        if let Some(anchor) = trusted.iter().find(|c| issued_by(current, c)) {
            valid_at(anchor, at)?;
            if !anchor.is_ca() || !anchor.key_usage_allows(5) {
                return Err(ChainError::Untrusted(rfc3339(at)));
            }
            issuers.push(anchor.subject_common_name().unwrap_or_default());
            let issuer = Arc::clone(leaf_issuer.unwrap_or(anchor));
            // Walk the rest of the configured chain for display and validity.
            let mut up = anchor;
            while let Some(next) = trusted.iter().find(|c| c.der != up.der && issued_by(up, c)) {
                valid_at(next, at)?;
                issuers.push(next.subject_common_name().unwrap_or_default());
                up = next;
                if issuers.len() > MAX_DEPTH {
                    break;
                }
            }
            return Ok(Chain {
                ca_uri: ca.uri.clone(),
                issuers,
                issuer,
            });
        }
        let Some(inter) = extra
            .iter()
            .find(|c| c.der != current.der && issued_by(current, c))
        else {
            break;
        };
        valid_at(inter, at)?;
        if !inter.is_ca() || !inter.key_usage_allows(5) {
            break;
        }
        issuers.push(inter.subject_common_name().unwrap_or_default());
        leaf_issuer.get_or_insert(inter);
        current = inter;
    }
    Err(ChainError::Untrusted(rfc3339(at)))
}
