//! Verification of one signature: CMS → certificate → time anchor → chain → SCT → policy.
//!
//! A Fulcio certificate lives about ten minutes, so a signature is only as good as the proof
//! of *when* it was made. The anchor is, in order: the Rekor entry embedded in the signature
//! (unsigned attribute 1.3.6.1.4.1.57264.3.1), an RFC 3161 timestamp (1.2.840.113549.1.9.16.2.14).
//! Without either the verdict is *undecided* — never "now", never notBefore + 1 minute —
//! unless the caller explicitly waives the log (`--insecure-ignore-tlog`), in which case the
//! chain is checked at notBefore + 60 s like Go gitsign and the report says time was not anchored.

pub mod cert;
pub mod chain;
pub mod policy;
pub mod sct;
pub mod timestamp;
pub mod tlog;

use crate::cms::{self, CmsError};
use crate::git::object::{self, HashKind, SignatureFormat};
use crate::trust::TrustedRoot;
use cert::{Cert, CertError};
use chain::ChainError;
use policy::{Identity, Policy, PolicyError};
use sct::SctError;

/// Seconds after notBefore at which an unanchored chain is checked (Go gitsign's choice).
pub const UNANCHORED_OFFSET: i64 = 60;

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// What to check and against what.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    pub root: &'a TrustedRoot,
    pub policy: &'a Policy,
    /// Accept signatures without a time anchor (checked at notBefore + 60 s).
    pub insecure_ignore_tlog: bool,
    /// Accept leaf certificates without a valid SCT.
    pub insecure_ignore_sct: bool,
}

/// Why a signature is bad.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Failure {
    #[error("object is not signed")]
    Unsigned,
    #[error("not a gitsign signature ({0} format)")]
    ForeignFormat(SignatureFormat),
    #[error(transparent)]
    Cms(#[from] CmsError),
    #[error("signer certificate is malformed")]
    Certificate(#[source] CertError),
    #[error("transparency log entry is invalid")]
    Tlog(#[source] tlog::TlogError),
    #[error("timestamp is invalid")]
    Timestamp(#[source] timestamp::TimestampError),
    #[error("signature was logged at {at}, outside the certificate's validity ({not_before} to {not_after})")]
    OutsideCertificateValidity {
        at: String,
        not_before: String,
        not_after: String,
    },
    #[error("certificate chain is not trusted")]
    Chain(#[source] ChainError),
    #[error("certificate transparency check failed")]
    Sct(#[source] SctError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

impl Failure {
    /// A stable machine-readable code for JSON output and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Unsigned => "unsigned",
            Failure::ForeignFormat(_) => "foreign_format",
            Failure::Cms(CmsError::DigestMismatch) => "digest_mismatch",
            Failure::Cms(CmsError::BadSignature(_)) => "bad_signature",
            Failure::Cms(_) => "cms_error",
            Failure::Certificate(_) => "certificate",
            Failure::Tlog(_) => "tlog",
            Failure::Timestamp(_) => "timestamp",
            Failure::OutsideCertificateValidity { .. } => "outside_certificate_validity",
            Failure::Chain(_) => "untrusted_chain",
            Failure::Sct(_) => "sct",
            Failure::Policy(_) => "identity_mismatch",
        }
    }

    /// What the user can do next.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Failure::Unsigned => Some("sign commits with `git commit -S` and gpg.format=x509, gpg.x509.program=gitsign"),
            Failure::ForeignFormat(_) => Some("verify OpenPGP and SSH signatures with `git verify-commit` and gpg.format set to match"),
            Failure::Cms(CmsError::DigestMismatch) => Some("the signed content changed after signing: the object was modified or the signature belongs to another object"),
            Failure::Sct(SctError::Missing) => Some("certificates Fulcio issued before June 2022 carry no SCT; pass --insecure-ignore-sct to accept them"),
            Failure::Chain(ChainError::Untrusted(_)) => Some("check that the trusted root (--trusted-root, gitsign.trustedRoot) is the one of the Sigstore instance that signed"),
            Failure::Policy(_) => Some("check --certificate-identity and --certificate-oidc-issuer against the identity printed above"),
            _ => None,
        }
    }
}

/// How the signing time was established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// A verified Rekor entry.
    Tlog {
        log_index: i64,
        integrated_time: i64,
        log_url: String,
    },
    /// A verified RFC 3161 timestamp.
    Timestamp { time: i64, tsa: String },
    /// No anchor: the chain was checked at notBefore + 60 s on the caller's request.
    Unanchored { assumed: i64 },
}

impl Anchor {
    pub fn time(&self) -> i64 {
        match self {
            Anchor::Tlog {
                integrated_time, ..
            } => *integrated_time,
            Anchor::Timestamp { time, .. } => *time,
            Anchor::Unanchored { assumed } => *assumed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Good,
    Bad(Failure),
    /// Everything that could be checked passed, but nothing proves when it was signed.
    Undecided(String),
}

/// Facts about the signing certificate, for output.
#[derive(Debug, Clone)]
pub struct CertSummary {
    pub sha1_fingerprint: String,
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    pub issuer_chain: Vec<String>,
    /// The leaf's issuer as an RFC 4514 string, e.g. `CN=sigstore-intermediate,O=sigstore.dev`.
    pub issuer_dn: String,
}

/// The result of verifying one signature.
#[derive(Debug, Clone)]
pub struct Report {
    pub outcome: Outcome,
    pub identity: Option<Identity>,
    pub cert: Option<CertSummary>,
    pub anchor: Option<Anchor>,
    pub signing_time: Option<i64>,
}

impl Report {
    fn bad(f: impl Into<Failure>) -> Report {
        Report {
            outcome: Outcome::Bad(f.into()),
            identity: None,
            cert: None,
            anchor: None,
            signing_time: None,
        }
    }

    pub fn is_good(&self) -> bool {
        self.outcome == Outcome::Good
    }
}

pub const UNDECIDED_NO_TLOG: &str = "the signature carries no transparency log entry or timestamp, so nothing proves when it was made";

/// Which git object a signature belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Commit,
    Tag,
}

/// Verify a raw git object (exact bytes from the object database).
pub fn verify_object(raw: &[u8], kind: ObjectKind, hash: HashKind, opts: &Options<'_>) -> Report {
    let split = match kind {
        ObjectKind::Commit => object::split_commit(raw, hash),
        ObjectKind::Tag => object::split_tag(raw),
    };
    let Some(split) = split else {
        return Report::bad(Failure::Unsigned);
    };
    verify_detached(&split.payload, &split.signature, opts)
}

/// Verify a detached signature (PEM or DER) over `payload`.
pub fn verify_detached(payload: &[u8], signature: &[u8], opts: &Options<'_>) -> Report {
    let trimmed = signature.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        let format = object::signature_format(trimmed);
        if format != SignatureFormat::X509 {
            return Report::bad(Failure::ForeignFormat(format));
        }
    }
    let msg = match cms::parse(signature) {
        Ok(m) => m,
        Err(e) => return Report::bad(e),
    };
    let checked = match msg.check(payload) {
        Ok(c) => c,
        Err(e) => return Report::bad(e),
    };
    let leaf = match Cert::parse(&msg.certificates[checked.signer_cert]) {
        Ok(c) => c,
        Err(e) => return Report::bad(Failure::Certificate(e)),
    };
    let extra: Vec<Cert> = msg
        .certificates
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != checked.signer_cert)
        .filter_map(|(_, der)| Cert::parse(der).ok())
        .collect();
    let identity = Identity::from_cert(&leaf);
    let mut report = Report {
        outcome: Outcome::Good,
        identity: Some(identity.clone()),
        cert: Some(CertSummary {
            sha1_fingerprint: leaf.sha1_fingerprint(),
            serial: hex(&leaf.serial),
            not_before: leaf.not_before,
            not_after: leaf.not_after,
            issuer_chain: Vec::new(),
            issuer_dn: leaf.x509().tbs_certificate.issuer.to_string(),
        }),
        anchor: None,
        signing_time: checked.signing_time,
    };

    // Time anchor.
    let anchor = match find_anchor(&msg, &leaf, opts.root) {
        Ok(a) => a,
        Err(f) => {
            report.outcome = Outcome::Bad(f);
            return report;
        }
    };
    let (at, undecided) = match anchor {
        Some(a) => {
            let t = a.time();
            report.anchor = Some(a);
            if t < leaf.not_before || t > leaf.not_after {
                report.outcome = Outcome::Bad(Failure::OutsideCertificateValidity {
                    at: chain::rfc3339(t),
                    not_before: chain::rfc3339(leaf.not_before),
                    not_after: chain::rfc3339(leaf.not_after),
                });
                return report;
            }
            (t, false)
        }
        None => {
            let assumed = leaf.not_before.saturating_add(UNANCHORED_OFFSET);
            if opts.insecure_ignore_tlog {
                report.anchor = Some(Anchor::Unanchored { assumed });
            }
            (assumed, !opts.insecure_ignore_tlog)
        }
    };

    // Chain, SCT, policy: a definite failure wins over "undecided".
    let chain = match chain::verify_chain(&leaf, &extra, opts.root, at) {
        Ok(c) => c,
        Err(e) => {
            report.outcome = Outcome::Bad(Failure::Chain(e));
            return report;
        }
    };
    if let Some(c) = report.cert.as_mut() {
        c.issuer_chain = chain.issuers.clone();
    }
    if !opts.insecure_ignore_sct {
        if let Err(e) = sct::verify_sct(&leaf, &chain.issuer, opts.root) {
            report.outcome = Outcome::Bad(Failure::Sct(e));
            return report;
        }
    }
    if let Err(e) = opts.policy.check(&identity) {
        report.outcome = Outcome::Bad(e.into());
        return report;
    }
    if undecided {
        report.outcome = Outcome::Undecided(UNDECIDED_NO_TLOG.into());
    }
    report
}

/// The attributes as (OID, first value) pairs, the shape the log decoder takes.
fn unsigned_attr_values(msg: &cms::SignedMessage) -> Vec<(const_oid::ObjectIdentifier, Vec<u8>)> {
    msg.signer
        .unsigned_attrs
        .iter()
        .filter_map(|a| a.values.first().map(|v| (a.oid, v.clone())))
        .collect()
}

/// The hashedrekord digest of a CMS signature: SHA-256 of the DER signed attributes, which is
/// what the ECDSA signature covers and so what Rekor can check the signature against.
pub fn rekor_digest(msg: &cms::SignedMessage) -> [u8; 32] {
    crate::crypto::sha256(&msg.signer.signed_attrs_der)
}

fn find_anchor(
    msg: &cms::SignedMessage,
    leaf: &Cert,
    root: &TrustedRoot,
) -> Result<Option<Anchor>, Failure> {
    if let Some(entry) = tlog::decode_embedded(&unsigned_attr_values(msg)).map_err(Failure::Tlog)? {
        let body = tlog::hashedrekord_body(
            &hex(&rekor_digest(msg)),
            &msg.signer.signature,
            &leaf.to_pem(),
        );
        let v = tlog::verify_entry(&entry, &body, root).map_err(Failure::Tlog)?;
        // Only a signed entry timestamp vouches for integratedTime; an inclusion proof alone
        // proves the entry is logged but not when, so the time must come from elsewhere.
        if v.integrated_time_signed {
            return Ok(Some(Anchor::Tlog {
                log_index: v.log_index,
                integrated_time: v.integrated_time,
                log_url: v.log_base_url,
            }));
        }
    }
    if let Some(attr) = msg.unsigned_attribute(&cms::OID_TIMESTAMP_TOKEN) {
        let token = attr.values.first().ok_or_else(|| {
            Failure::Timestamp(timestamp::TimestampError::Malformed(
                "empty attribute".into(),
            ))
        })?;
        let v = timestamp::verify_timestamp_token(token, &msg.signer.signature, root)
            .map_err(Failure::Timestamp)?;
        return Ok(Some(Anchor::Timestamp {
            time: v.time,
            tsa: v.tsa_uri,
        }));
    }
    Ok(None)
}
