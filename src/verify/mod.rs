//! Verification of one signature: CMS → certificate → time anchor → chain → SCT → policy.
//!
//! A Fulcio certificate lives about ten minutes, so a signature is only as good as the proof
//! of *when* it was made. The anchor is, in order: the Rekor entry embedded in the signature
//! (unsigned attribute 1.3.6.1.4.1.57264.3.1), an RFC 3161 timestamp (1.2.840.113549.1.9.16.2.14).
//! Without either the verdict is *undecided* — never "now", never notBefore + 1 minute —
//! unless the caller explicitly waives the log (`--insecure-ignore-tlog`), in which case the
//! chain is checked at notBefore + 60 s like Go gitsign and the report says time was not anchored.

pub mod bundle;
pub mod chain;
pub mod online;
pub mod policy;
pub mod rekor_body;
pub mod report;
pub mod sct;
pub mod timestamp;
pub mod tlog;
pub mod tlog_v2;

use crate::cms::{self, CmsError};
use crate::crypto::{CryptoError, Digest, PublicKey};
use crate::git::object::{self, HashKind, SignatureFormat};
use crate::git::object_id;
use crate::trust::TrustedRoot;
use crate::x509::{Cert, CertError};
use chain::ChainError;
use policy::{Identity, Policy, PolicyError};
use sct::SctError;
use std::sync::Arc;

pub use report::{
    Anchor, CertSummary, EntrySource, Logged, Outcome, RejectedEntry, Report, Tally, Undecided,
};

/// Seconds after notBefore at which an unanchored chain is checked (Go gitsign's choice).
pub const UNANCHORED_OFFSET: i64 = 60;

/// What signatures are checked against: the trust root, and the checks the user waived.
/// The identity [`Policy`] is given per call, so one verifier serves every policy.
#[derive(Debug, Clone, Copy)]
pub struct Verifier<'a> {
    pub root: &'a TrustedRoot,
    pub waivers: Waivers,
    /// The SCT for a leaf that embeds none (`--sct FILE`).
    pub detached_sct: Option<&'a sct::DetachedSct>,
}

/// The checks a user may waive; every one is required by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Waivers {
    pub time: TimeAnchor,
    pub sct: Sct,
}

/// Whether a log entry or timestamp must prove when the signature was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeAnchor {
    #[default]
    Required,
    /// Accept signatures without one, checked at notBefore + 60 s (`--insecure-ignore-tlog`).
    Waived,
}

/// Whether the leaf certificate needs a valid SCT.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sct {
    #[default]
    Required,
    /// Accept leaf certificates without one (`--insecure-ignore-sct`).
    Waived,
}

impl Waivers {
    /// From the `--insecure-ignore-tlog` and `--insecure-ignore-sct` switches.
    pub fn from_flags(ignore_tlog: bool, ignore_sct: bool) -> Waivers {
        Waivers {
            time: if ignore_tlog {
                TimeAnchor::Waived
            } else {
                TimeAnchor::Required
            },
            sct: if ignore_sct {
                Sct::Waived
            } else {
                Sct::Required
            },
        }
    }
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
    #[error("signing time {at} (proven by the log or a timestamp) is outside the certificate's validity ({not_before} to {not_after})")]
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
    #[error("signature over the signed content is invalid")]
    Signature(#[source] CryptoError),
    #[error(transparent)]
    Bundle(#[from] bundle::BundleError),
    #[error("nothing proves when the signature was made: no signed entry timestamp and no RFC 3161 timestamp")]
    NoTimeAnchor,
    #[error(transparent)]
    Openpgp(#[from] crate::openpgp::Failure),
    #[error(transparent)]
    Ssh(#[from] crate::ssh::Failure),
    /// A committed policy's change that the policy in force does not authorise
    /// ([`crate::policy::history`]).
    #[error("the commit changes the committed policy without authority: {0}")]
    UnauthorizedPolicyChange(String),
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
            Failure::Tlog(e) => e.code(),
            Failure::Timestamp(e) => timestamp_code(e),
            Failure::OutsideCertificateValidity { .. } => "outside_certificate_validity",
            Failure::Chain(_) => "untrusted_chain",
            Failure::Sct(_) => "sct",
            Failure::Policy(_) => "identity_mismatch",
            Failure::Signature(_) => "bad_signature",
            Failure::Bundle(e) => e.code(),
            Failure::NoTimeAnchor => "no_time_anchor",
            Failure::Openpgp(e) => e.code(),
            Failure::Ssh(e) => e.code(),
            Failure::UnauthorizedPolicyChange(_) => "unauthorized_policy_change",
        }
    }

    /// What the user can do next.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Failure::Unsigned => Some("sign commits with `git commit -S` and gpg.format=x509, gpg.x509.program=gitsign"),
            Failure::Cms(CmsError::DigestMismatch) => Some("the signed content changed after signing: the object was modified or the signature belongs to another object"),
            Failure::Sct(SctError::Missing) => Some("certificates Fulcio issued before June 2022 carry no SCT; pass --insecure-ignore-sct to accept them"),
            Failure::Chain(ChainError::Untrusted(_)) => Some("check that the trusted root (--trusted-root, gitsign.trustedRoot) is the one of the Sigstore instance that signed"),
            Failure::UnauthorizedPolicyChange(_) => Some("a change to .gitsign/ takes effect only when signed by one of the policy-authorities of the policy in force; have one of them sign it (the old policy stays in force meanwhile)"),
            Failure::Policy(_) => Some("check --certificate-identity and --certificate-oidc-issuer against the identity printed above"),
            Failure::Timestamp(e) if timestamp_code(e) == "timestamp_untrusted" => Some("the RFC 3161 token's authority must be in the trusted root or in gitsign.timestampCertChain (GITSIGN_TIMESTAMP_CERT_CHAIN: its PEM chain, root CA included)"),
            Failure::Openpgp(crate::openpgp::Failure::UnknownKey { .. }) => Some("add the signer's public key file with --openpgp-keys if you trust it"),
            Failure::Ssh(crate::ssh::Failure::UnknownKey { .. }) => Some("name the key in the allowed signers file (gpg.ssh.allowedSignersFile, --ssh-allowed-signers) if you trust it"),
            _ => None,
        }
    }
}

/// Every code a bad verdict can carry ([`Failure::code`]), with what it means: the README's
/// table of bad codes is checked against this list, and this list against the `code()`
/// functions' sources.
pub const FAILURE_CODES: &[(&str, &str)] = &[
    ("unsigned", "the object carries no signature"),
    ("foreign_format", "a signature no verifier here reads: an armor that is neither CMS, OpenPGP nor SSH (or OpenPGP/SSH where only a Sigstore signature is read)"),
    ("digest_mismatch", "the signed content is not what was signed: the object (or the bundle's artifact) changed, or the signature belongs to another object"),
    ("bad_signature", "the signature does not verify with the certificate's (or the given) key"),
    ("cms_error", "the CMS SignedData is malformed or of an unsupported shape"),
    ("certificate", "the signer certificate is malformed"),
    ("outside_certificate_validity", "the proven signing time is outside the certificate's validity"),
    ("untrusted_chain", "the certificate does not chain to a Fulcio CA of the trusted root valid at the signing time"),
    ("sct", "the certificate's SCT is missing or does not verify against the trusted root's CT logs"),
    ("identity_mismatch", "the identity or issuer does not meet the policy (`--certificate-identity`…, or no authority of the policy's rule admits the signer)"),
    ("unauthorized_policy_change", "the commit changes the committed policy (`.gitsign/`) and is not good, or not signed by one of the `policy-authorities` of the policy in force: the change does not take effect"),
    ("no_time_anchor", "nothing proves the signing time and nothing ever will (a Rekor v2 entry, or a bundle, without a timestamp); undecided instead when a lookup could still find an entry"),
    ("timestamp_mismatch", "the RFC 3161 timestamp is over other bytes than the signature"),
    ("timestamp_untrusted", "the timestamp's authority is not in the trusted root (or `gitsign.timestampCertChain`) at its time"),
    ("timestamp", "the RFC 3161 timestamp is malformed or its signature does not verify"),
    ("tlog_malformed", "the transparency log entry is malformed"),
    ("tlog_unknown_log", "the entry's log is not in the trusted root"),
    ("tlog_key_validity", "the log's key was not valid at the entry's time"),
    ("tlog_set", "the signed entry timestamp does not verify"),
    ("tlog_inclusion_proof", "the inclusion proof does not lead to the root hash"),
    ("tlog_checkpoint_mismatch", "the checkpoint does not match the inclusion proof (size or root)"),
    ("tlog_checkpoint_signature", "the checkpoint is not signed by the log's key"),
    ("tlog_checkpoint_malformed", "the checkpoint (signed note) is malformed"),
    ("tlog_checkpoint_origin", "the checkpoint's origin is not the log's"),
    ("tlog_no_proof", "the entry has neither a signed entry timestamp nor an inclusion proof with a checkpoint"),
    ("tlog_body_mismatch", "the log entry is for another signature, certificate or content"),
    ("tlog_missing", "a bundle without a transparency log entry"),
    ("tlog_no_inclusion_proof", "a bundle (v0.2 on) entry without an inclusion proof"),
    ("tlog_no_inclusion_promise", "a bundle v0.1 entry without a signed entry timestamp"),
    ("bundle_malformed", "the bundle is not valid JSON or not a bundle"),
    ("bundle_unsupported_version", "the bundle's media type is not one we read"),
    ("bundle_invalid_base64", "a bundle field is not valid base64"),
    ("bundle_empty_certificate_chain", "the bundle's certificate chain is empty"),
    ("bundle_root_in_chain", "the bundle's chain carries a root: roots come only from the trusted root"),
    ("key_required", "the bundle is signed with a key: pass it with `--key`"),
    ("key_mismatch", "`--key` given for a certificate bundle, or a malformed key"),
    ("signature_malformed", "the OpenPGP or SSH signature cannot be parsed, or is of a kind git does not make"),
    ("weak_hash", "the OpenPGP signature uses MD5, SHA-1 or RIPEMD-160"),
    ("unknown_key", "a well-formed OpenPGP or SSH signature by a key nobody configured (`--openpgp-keys`, the allowed signers file); its fingerprint is in the reason"),
    ("key_expired", "the OpenPGP key had expired at the signature's time, or the SSH allowed signer's `valid-before` had passed at the commit's time"),
    ("key_not_yet_valid", "the OpenPGP key was created after the signature's time, or the SSH allowed signer's `valid-after` was still ahead at the commit's time"),
    ("key_revoked", "the OpenPGP key (or signing subkey) is revoked, or the SSH key is in the revocation file"),
    ("key_not_for_signing", "the OpenPGP (sub)key's flags do not allow signing, or a signing subkey lacks its back-signature"),
    ("wrong_namespace", "the SSH signature is not for namespace `git`, or the allowed signer's `namespaces=` excludes it"),
    ("dsse_payload", "the DSSE payload is not a well-formed in-toto statement"),
    ("subject_mismatch", "no subject of the in-toto statement has the artifact's digest"),
];

fn timestamp_code(e: &timestamp::TimestampError) -> &'static str {
    use timestamp::TimestampError as T;
    match e {
        T::ImprintMismatch => "timestamp_mismatch",
        T::SignerCertificateNotFound | T::NoAuthorityAtTime { .. } | T::UntrustedChain { .. } => {
            "timestamp_untrusted"
        }
        _ => "timestamp",
    }
}

/// Which git object a signature belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Commit,
    Tag,
}

impl ObjectKind {
    /// The signed payload and signature of raw object `raw` of this kind (`None`: unsigned).
    pub fn split(self, raw: &[u8], hash: HashKind) -> Option<object::Split> {
        match self {
            ObjectKind::Commit => object::split_commit(raw, hash),
            ObjectKind::Tag => object::split_tag(raw),
        }
    }

    /// The ids a Rekor entry may log raw object `raw` of this kind under, given its `split`.
    pub fn ids(self, raw: &[u8], hash: HashKind, split: &object::Split) -> object_id::ObjectIds {
        let k = match self {
            ObjectKind::Commit => object_id::Kind::Commit,
            ObjectKind::Tag => object_id::Kind::Tag,
        };
        object_id::stored_object_ids(raw, k, hash, &split.payload, &split.signature)
    }
}

impl<'a> Verifier<'a> {
    /// A verifier for `root` that requires every check but those in `waivers`.
    pub fn new(root: &'a TrustedRoot, waivers: Waivers) -> Verifier<'a> {
        Verifier {
            root,
            waivers,
            detached_sct: None,
        }
    }

    /// This verifier, taking `sct` for a leaf certificate that embeds none.
    pub fn with_detached_sct(self, sct: Option<&'a sct::DetachedSct>) -> Verifier<'a> {
        Verifier {
            detached_sct: sct,
            ..self
        }
    }

    /// Verify a raw git object (exact bytes from the object database).
    pub fn verify_object(
        &self,
        raw: &[u8],
        kind: ObjectKind,
        hash: HashKind,
        policy: &Policy,
    ) -> Report {
        self.check_object(raw, kind, hash, policy).report
    }

    /// The first pass over a raw git object: its report and, for an online-mode signature that
    /// lacks only a log entry, what [`NeedsEntry::complete`] needs to finish it.
    pub fn check_object(
        &self,
        raw: &[u8],
        kind: ObjectKind,
        hash: HashKind,
        policy: &Policy,
    ) -> Checked {
        let Some(split) = kind.split(raw, hash) else {
            return Checked::done(Report::bad(Failure::Unsigned));
        };
        self.check_detached(&split.payload, &split.signature, policy, || {
            Some(kind.ids(raw, hash, &split))
        })
    }

    /// The first pass over a detached signature of a commit or tag payload; `ids` gives the ids a
    /// Rekor entry may log it under, asked for only when the signature carries no time anchor.
    pub fn check_detached(
        &self,
        payload: &[u8],
        signature: &[u8],
        policy: &Policy,
        ids: impl FnOnce() -> Option<object_id::ObjectIds>,
    ) -> Checked {
        let input = match cms_input(payload, signature) {
            Ok(input) => input,
            Err(f) => return Checked::done(Report::bad(f)),
        };
        let mut certs = None;
        let report = verify_input_keeping(&input, self, policy, &mut certs);
        let needs_entry = match (&report.outcome, certs) {
            (Outcome::Undecided(Undecided::NoTimeAnchor), Some((leaf, extra))) => {
                ids().map(|ids| {
                    Box::new(NeedsEntry {
                        ids,
                        leaf,
                        extra,
                        report: report.clone(),
                    })
                })
            }
            _ => None,
        };
        Checked {
            report,
            needs_entry,
        }
    }

    /// Verify a detached signature (PEM or DER) over `payload`: CMS → [`VerificationInput`] →
    /// [`Verifier::verify_input`], the same core a Sigstore bundle goes through.
    pub fn verify_detached(&self, payload: &[u8], signature: &[u8], policy: &Policy) -> Report {
        match cms_input(payload, signature) {
            Ok(input) => self.verify_input(&input, policy),
            Err(f) => Report::bad(f),
        }
    }

    /// The core: signature → transparency log entries and timestamps (every one must verify) →
    /// certificate validity at every proven time → chain at those times → SCT → identity policy.
    pub fn verify_input(&self, input: &VerificationInput, policy: &Policy) -> Report {
        verify_input_keeping(input, self, policy, &mut None)
    }
}

/// The first pass's answer for one object.
#[derive(Debug, Clone)]
pub struct Checked {
    pub report: Report,
    /// Set when the report is undecided only for want of a log entry (boxed: it holds a
    /// second report, and a range keeps a chunk of these).
    pub needs_entry: Option<Box<NeedsEntry>>,
}

impl Checked {
    fn done(report: Report) -> Checked {
        Checked {
            report,
            needs_entry: None,
        }
    }
}

/// An online-mode signature (Go gitsign's `rekorMode=online`) that passed every check but the
/// time anchor: the signature over the content, the certificate, the chain and SCT at
/// notBefore + 60 s and the policy are proven. What is kept here finishes it from a Rekor
/// entry found outside the signature without splitting, parsing or verifying it again.
#[derive(Debug, Clone)]
pub struct NeedsEntry {
    /// The ids a Rekor entry may log the object under.
    pub ids: object_id::ObjectIds,
    leaf: Arc<Cert>,
    extra: Vec<Arc<Cert>>,
    /// The verdict so far: undecided, [`Undecided::NoTimeAnchor`].
    pub report: Report,
}

impl NeedsEntry {
    /// The signing certificate as PEM (Go gitsign's Rekor lookup by key).
    pub fn leaf_pem(&self) -> String {
        self.leaf.to_pem()
    }

    /// The report undecided for `why` (no entry found, no lookup made).
    pub fn undecided(&self, why: Undecided) -> Report {
        let mut report = self.report.clone();
        report.outcome = Outcome::Undecided(why);
        report
    }

    /// Finish with `entries` found outside the signature (unverified: kept proofs, notes, a
    /// Rekor answer): the first one [`online::verify_logged_id`] accepts is the time anchor,
    /// and the time-dependent steps run at its time (certificate validity, chain, SCT).
    /// Returns the report and the index of the anchoring entry. `None` of them verifying
    /// leaves the report undecided, naming each rejected entry, or `none_found` when there
    /// were none.
    pub fn complete(
        &self,
        entries: &[tlog::TlogEntry],
        opts: &Verifier<'_>,
        none_found: Undecided,
    ) -> (Report, Option<usize>) {
        let mut rejected = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            match online::verify_logged_id(&self.ids, &self.leaf, entry, opts.root) {
                Ok((v, _)) => {
                    let anchor = Anchor::Tlog {
                        log_index: v.log_index,
                        integrated_time: v.integrated_time,
                        log_url: v.log_base_url,
                        source: EntrySource::LookedUp,
                    };
                    let mut report = self.report.clone();
                    report.outcome = Outcome::Good;
                    report.anchor = Some(anchor.clone());
                    if let Err(f) = check_times(
                        &self.leaf,
                        &self.extra,
                        std::slice::from_ref(&anchor),
                        &[anchor.time()],
                        opts,
                        &mut report,
                    ) {
                        report.outcome = Outcome::Bad(f);
                    }
                    return (report, Some(i));
                }
                Err(error) => rejected.push(RejectedEntry {
                    log_index: entry.log_index,
                    error,
                }),
            }
        }
        let why = if rejected.is_empty() {
            none_found
        } else {
            Undecided::EntriesRejected { entries: rejected }
        };
        (self.undecided(why), None)
    }
}

/// Turn a gitsign CMS signature over `payload` into the core's input: the signature covers
/// the DER signed attributes (after their messageDigest is checked against the payload), the
/// embedded Rekor entry comes without a body (the core rebuilds the hashedrekord Go gitsign
/// logged) and the RFC 3161 token, if any, is taken from its unsigned attribute.
pub fn cms_input(payload: &[u8], signature: &[u8]) -> Result<VerificationInput, Failure> {
    let trimmed = signature.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        let format = object::signature_format(trimmed);
        if format != SignatureFormat::X509 {
            return Err(Failure::ForeignFormat(format));
        }
    }
    let msg = cms::parse(signature)?;
    let checked = msg.check_content(payload)?;
    if checked.signer_cert >= msg.certificates.len() {
        return Err(Failure::Cms(CmsError::SignerCertificateMissing));
    }
    let tlog_entries = tlog::decode_embedded(&unsigned_attr_values(&msg))
        .map_err(Failure::Tlog)?
        .into_iter()
        .collect();
    let timestamps = match msg.unsigned_attribute(&crate::oid::TIMESTAMP_TOKEN) {
        Some(attr) => vec![attr.values.first().cloned().ok_or_else(|| {
            Failure::Timestamp(timestamp::TimestampError::Malformed(
                "empty attribute".into(),
            ))
        })?],
        None => Vec::new(),
    };
    // The message's bytes move into the input (a signature is parsed for this one input).
    let cms::SignedMessage {
        mut certificates,
        signer,
        ..
    } = msg;
    let leaf = certificates.remove(checked.signer_cert);
    let extra = certificates;
    Ok(VerificationInput {
        content: Content::Message(signer.signed_attrs_der),
        digest: checked.signature_digest,
        signature: signer.signature,
        signer: Signer::Certificate { leaf, extra },
        tlog_entries,
        timestamps,
        signing_time: checked.signing_time,
        without_anchor: WithoutAnchor::Undecided,
        require_tlog: false,
    })
}

/// Who made a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// A Fulcio certificate (DER) and the other certificates that came with it, which are
    /// only intermediate candidates, never anchors.
    Certificate { leaf: Vec<u8>, extra: Vec<Vec<u8>> },
    /// A long-lived key the verifier chose (`--key`): no identity, no chain, no SCT.
    Key { spki_der: Vec<u8> },
}

/// What the signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// These exact bytes: a commit's DER signed attributes, a bundle's artifact.
    Message(Vec<u8>),
    /// A DSSE envelope's payload: the signature covers PAE(payload type, payload).
    Dsse {
        payload_type: String,
        payload: Vec<u8>,
    },
}

impl Content {
    /// The bytes the signature is over.
    pub fn signed_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Content::Message(m) => std::borrow::Cow::Borrowed(m),
            Content::Dsse {
                payload_type,
                payload,
            } => std::borrow::Cow::Owned(pae(payload_type, payload)),
        }
    }
}

/// DSSE pre-authentication encoding: `DSSEv1 <len type> <type> <len payload> <payload>`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The verdict when nothing proves the signing time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithoutAnchor {
    /// Undecided: a commit signed in Go gitsign's online mode needs a Rekor lookup.
    Undecided,
    /// Bad: a bundle is self-contained, nothing later can supply the time.
    Bad,
}

/// One signature in the form every source is turned into: a commit's CMS signature
/// ([`cms_input`]) and a Sigstore bundle ([`bundle::Bundle::to_input`]).
#[derive(Debug, Clone)]
pub struct VerificationInput {
    pub content: Content,
    /// Hash the signature algorithm uses over the signed bytes.
    pub digest: Digest,
    pub signature: Vec<u8>,
    pub signer: Signer,
    /// Rekor entries; one with an empty body is gitsign's embedded hashedrekord, rebuilt here.
    pub tlog_entries: Vec<tlog::TlogEntry>,
    /// RFC 3161 tokens (DER ContentInfo) over `signature`.
    pub timestamps: Vec<Vec<u8>>,
    /// The signer-asserted signing time, informational only.
    pub signing_time: Option<i64>,
    pub without_anchor: WithoutAnchor,
    /// Whether at least one transparency log entry must be present.
    pub require_tlog: bool,
}

/// The leaf and the other certificates of a signature, parsed.
type Certs = (Arc<Cert>, Vec<Arc<Cert>>);

/// [`Verifier::verify_input`], keeping the parsed certificates in `certs` once the signature
/// verifies.
fn verify_input_keeping(
    input: &VerificationInput,
    opts: &Verifier<'_>,
    policy: &Policy,
    certs: &mut Option<Certs>,
) -> Report {
    let mut report = Report {
        outcome: Outcome::Good,
        identity: None,
        cert: None,
        anchor: None,
        signing_time: input.signing_time,
    };
    if let Err(f) = verify_into(input, opts, policy, &mut report, certs) {
        report.outcome = Outcome::Bad(f);
    }
    report
}

fn verify_into(
    input: &VerificationInput,
    opts: &Verifier<'_>,
    policy: &Policy,
    report: &mut Report,
    certs: &mut Option<Certs>,
) -> Result<(), Failure> {
    // 1. The signer and its key.
    let (leaf, extra, verifier_der) = match &input.signer {
        Signer::Certificate { leaf, extra } => {
            let leaf = Cert::parse_shared(leaf).map_err(Failure::Certificate)?;
            let extra: Vec<Arc<Cert>> = extra
                .iter()
                .filter_map(|d| Cert::parse_shared(d).ok())
                .collect();
            let der = leaf.der.clone();
            (Some(leaf), extra, der)
        }
        Signer::Key { spki_der } => (None, Vec::new(), spki_der.clone()),
    };
    // A leaf's key is kept with it: with a credential cache one leaf signs many commits.
    let given;
    let key = match &leaf {
        Some(l) => l.public_key().map_err(Failure::Signature)?,
        None => {
            given = PublicKey::from_spki_der(&verifier_der).map_err(Failure::Signature)?;
            &given
        }
    };

    // 2. The signature over the content.
    let signed = input.content.signed_bytes();
    key.verify(input.digest, &signed, &input.signature)
        .map_err(Failure::Signature)?;

    if let Some(leaf) = &leaf {
        report.identity = Some(Identity::from_cert(leaf));
        report.cert = Some(CertSummary {
            sha1_fingerprint: leaf.sha1_fingerprint(),
            serial: crate::encoding::hex(&leaf.serial),
            not_before: leaf.not_before,
            not_after: leaf.not_after,
            issuer_chain: Vec::new(),
            issuer_dn: leaf.issuer_dn().to_owned(),
        });
    }

    // 3. Proofs of time: every log entry and every timestamp must verify.
    let time_waived = opts.waivers.time == TimeAnchor::Waived;
    if input.require_tlog && input.tlog_entries.is_empty() && !time_waived {
        return Err(Failure::Tlog(tlog::TlogError::NoEntry));
    }
    let expected = rekor_body::Expected {
        content: &input.content,
        signed: &signed,
        signature: &input.signature,
        verifier_der: &verifier_der,
        // Only a log entry's body needs it (a base64 pass over the certificate).
        leaf_pem: leaf
            .as_ref()
            .filter(|_| !input.tlog_entries.is_empty())
            .map(|l| l.to_pem()),
    };
    let mut anchors = Vec::new();
    let mut unsigned_time_logs = Vec::new();
    let mut logged = None;
    for entry in &input.tlog_entries {
        let v = if tlog_v2::is_embedded_v2(entry) {
            tlog_v2::verify_embedded(entry, &expected, opts.root)
        } else {
            rekor_body::body_for(entry, &expected)
                .and_then(|body| tlog::verify_entry(entry, &body, opts.root))
        }
        .map_err(Failure::Tlog)?;
        // Only a signed entry timestamp vouches for integratedTime; an inclusion proof alone
        // proves the entry is logged but not when, so the time must come from elsewhere.
        if v.integrated_time_signed {
            anchors.push(Anchor::Tlog {
                log_index: v.log_index,
                integrated_time: v.integrated_time,
                log_url: v.log_base_url,
                source: EntrySource::Embedded,
            });
        } else {
            unsigned_time_logs.push(entry.log_id.clone());
            logged.get_or_insert(Logged {
                log_index: v.log_index,
                log_url: v.log_base_url,
            });
        }
    }
    for token in &input.timestamps {
        let v = timestamp::verify_timestamp_token(token, &input.signature, opts.root)
            .map_err(Failure::Timestamp)?;
        anchors.push(Anchor::Timestamp {
            time: v.time,
            tsa: v.tsa_uri,
            logged: logged.clone(),
        });
    }
    // Rekor v2 entries carry no time: without a timestamp nothing ever will prove it.
    if !unsigned_time_logs.is_empty() && anchors.is_empty() && !time_waived {
        return Err(Failure::NoTimeAnchor);
    }
    // A log whose entries carry no signed time (Rekor v2) must have been trusted when the
    // timestamps say the signature existed.
    for log_id in &unsigned_time_logs {
        if let Some(log) = opts.root.tlog(log_id) {
            if let Some(t) = anchors
                .iter()
                .map(Anchor::time)
                .find(|t| !log.valid_for.contains(*t))
            {
                return Err(Failure::Tlog(tlog::TlogError::LogKeyNotValidAtTime {
                    base_url: log.base_url.clone(),
                    integrated_time: t,
                }));
            }
        }
    }

    // 4. The certificate must have been valid at every proven time.
    let mut times: Vec<i64> = anchors.iter().map(Anchor::time).collect();
    let undecided = if anchors.is_empty() {
        let assumed = leaf
            .as_ref()
            .map_or(0, |l| l.not_before.saturating_add(UNANCHORED_OFFSET));
        if time_waived {
            report.anchor = Some(Anchor::Unanchored { assumed });
        }
        times.push(assumed);
        !time_waived
    } else {
        report.anchor = anchors.first().cloned();
        false
    };
    if let Some(leaf) = &leaf {
        check_times(leaf, &extra, &anchors, &times, opts, report)?;
        // 6. The identity policy: a definite failure wins over "undecided".
        if let Some(identity) = &report.identity {
            policy.check(identity)?;
        }
        *certs = Some((leaf.clone(), extra));
    }
    if undecided {
        match input.without_anchor {
            WithoutAnchor::Undecided => {
                report.outcome = Outcome::Undecided(Undecided::NoTimeAnchor)
            }
            WithoutAnchor::Bad => return Err(Failure::NoTimeAnchor),
        }
    }
    Ok(())
}

/// Steps 4 and 5, the ones that depend on the signing time: the certificate valid at every
/// proven time in `anchors`, the chain at every time in `times`, the SCT.
fn check_times(
    leaf: &Arc<Cert>,
    extra: &[Arc<Cert>],
    anchors: &[Anchor],
    times: &[i64],
    opts: &Verifier<'_>,
    report: &mut Report,
) -> Result<(), Failure> {
    for a in anchors {
        let t = a.time();
        if t < leaf.not_before || t > leaf.not_after {
            return Err(Failure::OutsideCertificateValidity {
                at: crate::encoding::rfc3339(t),
                not_before: crate::encoding::rfc3339(leaf.not_before),
                not_after: crate::encoding::rfc3339(leaf.not_after),
            });
        }
    }
    let mut first_chain = None;
    for t in times {
        let c = chain::verify_chain(leaf, extra, opts.root, *t).map_err(Failure::Chain)?;
        first_chain.get_or_insert(c);
    }
    if let (Some(c), Some(summary)) = (&first_chain, report.cert.as_mut()) {
        summary.issuer_chain = c.issuers.clone();
    }
    if opts.waivers.sct == Sct::Required {
        if let Some(c) = &first_chain {
            sct::verify_sct(leaf, &c.issuer, opts.root, opts.detached_sct).map_err(Failure::Sct)?;
        }
    }
    Ok(())
}

/// The attributes as (OID, first value) pairs, the shape the log decoder takes.
fn unsigned_attr_values(msg: &cms::SignedMessage) -> Vec<(const_oid::ObjectIdentifier, Vec<u8>)> {
    msg.signer
        .unsigned_attrs
        .iter()
        .filter_map(|a| a.values.first().map(|v| (a.oid, v.clone())))
        .collect()
}

#[cfg(test)]
mod failure_codes {
    use super::FAILURE_CODES;

    /// The string literals the `code()` functions return, read from their sources.
    fn returned_codes() -> Vec<String> {
        let sources = [
            include_str!("mod.rs"),
            include_str!("tlog/mod.rs"),
            include_str!("bundle.rs"),
            include_str!("../openpgp/mod.rs"),
            include_str!("../ssh/mod.rs"),
        ];
        let mut codes = Vec::new();
        for src in sources {
            for start in ["pub fn code(&self) -> &'static str {", "fn timestamp_code("] {
                let Some(at) = src.find(start) else { continue };
                let body = &src[at..];
                let end = body.find("\n}\n").unwrap_or(body.len());
                // Every string literal that has the shape of a code.
                for literal in body[..end].split('"').skip(1).step_by(2) {
                    let code_like = literal.starts_with(|c: char| c.is_ascii_lowercase())
                        && literal
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                    if code_like {
                        codes.push(literal.to_owned());
                    }
                }
            }
        }
        codes
    }

    #[test]
    fn every_code_is_listed_once_and_every_listed_code_is_returned() {
        let returned = returned_codes();
        assert!(returned.len() > 30, "the sources were read: {returned:?}");
        for code in &returned {
            assert!(
                FAILURE_CODES.iter().any(|(c, _)| c == code),
                "'{code}' is returned by a code() function but not in FAILURE_CODES"
            );
        }
        for (i, (code, meaning)) in FAILURE_CODES.iter().enumerate() {
            assert!(!meaning.is_empty());
            assert!(
                returned.iter().any(|r| r == code),
                "'{code}' is listed but no code() function returns it"
            );
            assert!(
                FAILURE_CODES[..i].iter().all(|(c, _)| c != code),
                "'{code}' is listed twice"
            );
        }
    }
}
