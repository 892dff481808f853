//! Certificate path validation (RFC 5280 §6, the subset Sigstore needs) at a given time: one
//! validator for Fulcio signing certificates and RFC 3161 timestamp authority certificates.
//!
//! The caller picks the anchors (the certificates of one authority of the trust root, leaf
//! side first) and the [`Use`]; the use decides the few rules in which the two kinds of paths
//! differ. Each link's signature is proven once per process ([`crate::memo`]), keyed on both
//! full certificates and the use.

use std::sync::Arc;

use super::Cert;
use crate::crypto::{Digest, PublicKey};
use crate::encoding::rfc3339;
use crate::oid;

/// Longest path built from a leaf through carried intermediates to an anchor: leaf, two
/// intermediates, root.
const MAX_DEPTH: usize = 4;
/// Most certificates a timestamp authority's chain may list.
const MAX_TSA_CHAIN: usize = 8;

/// What a path is validated for. The rules that differ between the uses:
///
/// | rule | [`Use::CodeSigning`] (Fulcio) | [`Use::TimeStamping`] (TSA) |
/// |---|---|---|
/// | leaf ([`check_leaf`]) | valid at `at`, no unknown critical extension, keyUsage digitalSignature, EKU codeSigning | EKU timeStamping |
/// | leaf listed among the anchors | not a path | the path starts there |
/// | intermediates the signature carries | up to [`MAX_DEPTH`], each a CA allowed keyCertSign | none |
/// | the first anchor reached | a CA allowed keyCertSign | a CA (basicConstraints) |
/// | above the first anchor | the authority's chain is trusted as a whole: each certificate that signed the one below must be valid | every next certificate of the list must be a CA that signed the one before, and valid |
/// | anchors accepted | any number | 1 to [`MAX_TSA_CHAIN`] |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    CodeSigning,
    TimeStamping,
}

impl Use {
    /// Separates the uses' facts in the memo.
    fn tag(self) -> &'static [u8] {
        match self {
            Use::CodeSigning => b"code-signing",
            Use::TimeStamping => b"time-stamping",
        }
    }
}

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
    #[error("certificate does not allow time stamping")]
    NotForTimeStamping,
    #[error("certificate has unknown critical extension {0}")]
    UnknownCriticalExtension(String),
    #[error("certificate is not issued by a trusted Fulcio CA valid at {0}")]
    Untrusted(String),
}

/// A path that validated.
#[derive(Debug, Clone)]
pub struct Path {
    /// Subjects' common names from the leaf's issuer up to the last certificate checked.
    pub issuers: Vec<String>,
    /// The certificate that signed the leaf; `None` when the leaf is itself an anchor.
    pub issuer: Option<Arc<Cert>>,
}

/// Link signatures already proven in this process: a CA certificate signs every leaf of a
/// range, one TSA certificate stamps every commit, and with a credential cache one leaf signs
/// many commits.
static PROVEN_LINKS: crate::memo::Proven = crate::memo::Proven::new();

/// Whether `issuer` signed `cert` (names match and the signature verifies), for `used`.
pub fn issued_by(cert: &Cert, issuer: &Cert, used: Use) -> bool {
    if cert.issuer_der != issuer.subject_der {
        return false;
    }
    let key = crate::memo::key(b"issued-by", &[used.tag(), &issuer.der, &cert.der]);
    PROVEN_LINKS.check(key, || {
        Digest::from_signature_oid(&cert.signature_algorithm).is_some_and(|digest| {
            PublicKey::from_spki_der(&issuer.spki_der)
                .is_ok_and(|k| k.verify(digest, &cert.tbs_der, &cert.signature).is_ok())
        })
    })
}

/// Whether `issuer` may stand above `cert` on a path for `used`.
fn links(cert: &Cert, issuer: &Cert, used: Use) -> bool {
    match used {
        Use::CodeSigning => issued_by(cert, issuer, used),
        Use::TimeStamping => issuer.is_ca() && issued_by(cert, issuer, used),
    }
}

/// A CA allowed to sign certificates (basicConstraints CA and keyUsage keyCertSign).
fn signs_certificates(cert: &Cert) -> bool {
    cert.is_ca() && cert.key_usage_allows(5)
}

pub fn valid_at(cert: &Cert, at: i64) -> Result<(), ChainError> {
    if at < cert.not_before || at > cert.not_after {
        return Err(ChainError::Expired {
            at: rfc3339(at),
            not_before: rfc3339(cert.not_before),
            not_after: rfc3339(cert.not_after),
        });
    }
    Ok(())
}

/// What the leaf itself must allow for `used` (checked once, before any authority is tried).
pub fn check_leaf(leaf: &Cert, at: i64, used: Use) -> Result<(), ChainError> {
    let has_eku = |eku| {
        leaf.extended_key_usages()
            .is_some_and(|ekus| ekus.contains(&eku))
    };
    match used {
        Use::CodeSigning => {
            valid_at(leaf, at)?;
            if let Some(oid) = leaf.unknown_critical_extensions().first() {
                return Err(ChainError::UnknownCriticalExtension(oid.to_string()));
            }
            if !has_eku(oid::EKU_CODE_SIGNING) || !leaf.key_usage_allows(0) {
                return Err(ChainError::NotForCodeSigning);
            }
        }
        Use::TimeStamping => {
            if !has_eku(oid::EKU_TIME_STAMPING) {
                return Err(ChainError::NotForTimeStamping);
            }
        }
    }
    Ok(())
}

/// A path from `leaf` at Unix time `at` to `anchors` (one authority's certificates, leaf side
/// first), through `intermediates` (other certificates the signature carried; candidates,
/// never anchors), under the rules of `used`. [`check_leaf`] is the caller's, once per leaf.
pub fn path_to(
    leaf: &Cert,
    intermediates: &[Arc<Cert>],
    anchors: &[Arc<Cert>],
    at: i64,
    used: Use,
) -> Result<Path, ChainError> {
    let untrusted = || ChainError::Untrusted(rfc3339(at));
    if used == Use::TimeStamping && (anchors.is_empty() || anchors.len() > MAX_TSA_CHAIN) {
        return Err(untrusted());
    }
    let mut issuers = Vec::new();
    let mut leaf_issuer: Option<&Arc<Cert>> = None;

    // 1. From the leaf up to the first anchor.
    let listed = anchors.iter().position(|c| c.der == leaf.der);
    let start = match (used, listed) {
        (Use::TimeStamping, Some(i)) => i,
        _ => {
            let mut current = leaf;
            let mut reached = None;
            for _ in 0..MAX_DEPTH {
                if let Some(i) = anchors.iter().position(|c| links(current, c, used)) {
                    let anchor = anchors.get(i).ok_or_else(untrusted)?;
                    match used {
                        Use::CodeSigning => {
                            valid_at(anchor, at)?;
                            if !signs_certificates(anchor) {
                                return Err(untrusted());
                            }
                            issuers.push(anchor.subject_common_name().unwrap_or_default());
                            leaf_issuer.get_or_insert(anchor);
                        }
                        // The leaf is not on the list checked below.
                        Use::TimeStamping => {
                            valid_at(current, at)?;
                            leaf_issuer.get_or_insert(anchor);
                        }
                    }
                    reached = Some(i);
                    break;
                }
                if used == Use::TimeStamping {
                    break;
                }
                let Some(inter) = intermediates
                    .iter()
                    .find(|c| c.der != current.der && links(current, c, used))
                else {
                    break;
                };
                valid_at(inter, at)?;
                if !signs_certificates(inter) {
                    break;
                }
                issuers.push(inter.subject_common_name().unwrap_or_default());
                leaf_issuer.get_or_insert(inter);
                current = inter;
            }
            reached.ok_or_else(untrusted)?
        }
    };

    // 2. Above the first anchor.
    match used {
        Use::CodeSigning => {
            // The authority's chain is trusted as a whole: walked for validity and display.
            let mut up = anchors.get(start).ok_or_else(untrusted)?;
            while let Some(next) = anchors
                .iter()
                .find(|c| c.der != up.der && links(up, c, used))
            {
                valid_at(next, at)?;
                issuers.push(next.subject_common_name().unwrap_or_default());
                up = next;
                if issuers.len() > MAX_DEPTH {
                    break;
                }
            }
        }
        Use::TimeStamping => {
            let path = anchors.get(start..).unwrap_or_default();
            for c in path {
                valid_at(c, at)?;
            }
            for pair in path.windows(2) {
                let [child, issuer] = pair else {
                    return Err(untrusted());
                };
                if !links(child, issuer, used) {
                    return Err(untrusted());
                }
            }
            let above_leaf = path.iter().filter(|c| c.der != leaf.der);
            issuers.extend(above_leaf.map(|c| c.subject_common_name().unwrap_or_default()));
        }
    }
    Ok(Path {
        issuers,
        issuer: leaf_issuer.cloned(),
    })
}
