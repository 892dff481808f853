//! Kept facts: what verifying an object proved, kept in the repository's git directory so that
//! verifying the same object again, under the same trust, costs no cryptography.
//!
//! A fact is keyed by the object and by what its proof depended on ([`Depends`]), which is
//! format-specific: for a Sigstore signature (and an unsigned object) the trust root (a digest
//! of what it is built from: the trusted_root.json bytes, the `fulcioRoot` and
//! `timestampCertChain` files and the gitsign version that parses them,
//! `check::VerifySetup::root_digest`, so that git's `--verify` finds a kept verdict before
//! parsing the root) and the waivers; for an OpenPGP or SSH signature the
//! key set (a digest of the parsed keys, [`keys_digest`]: the OpenPGP key ring, git's allowed
//! signers and revoked keys); for both, what was checked (a commit or tag object of a SHA-1 or
//! SHA-256 repository, or the payload and signature git hands `--verify`). The format is known
//! only once the object is read, so a look-up tries both keys ([`Depends::keys`]). The identity
//! policy is not part of the key: a fact holds the signer's identity and the policy is applied
//! to it on every use ([`Fact::report`]), so a changed policy never reuses a verdict it did not
//! decide.
//!
//! What is kept ([`Fact::of`]): a Sigstore verification whose every check but the policy
//! passed (good, or bad only by the policy) with a proven or explicitly waived signing time;
//! every OpenPGP or SSH verdict, good (with its signer, [`KeyedSigner`]) or bad (unknown key,
//! bad signature, a key not valid at the signature's time), which the signed bytes and the key
//! set decide alone (keys are judged at the time the signature or payload states; an SSH
//! verdict judged at now is not kept, see `check::format::timeless`); and objects that are
//! unsigned or carry a signature in a format nothing here reads, which no trust or waiver
//! changes. Never kept: undecided verdicts (a later proof may decide them) and the other bad
//! Sigstore ones (verified again each time).
//!
//! Where ([`store`]): one append-only file per repository, `<git common dir>/gitsign/facts.log`,
//! outside refs, objects and notes, so facts never travel with a push, a fetch or notes. What
//! it trusts: whoever can write the git directory can already rewrite its objects and refs;
//! the checksums catch damage (a torn or edited record), not an attacker with that access.

pub mod store;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::git::object::SignatureFormat;
use crate::openpgp::Keyring;
use crate::ssh::{AllowedSigners, Revoked};
use crate::trust::{Authority, LogKey, TrustedRoot, Validity};
use crate::verify::policy::{Identity, Policy};
use crate::verify::{
    Anchor, CertSummary, EntrySource, Failure, Logged, Outcome, Report, Sct, TimeAnchor, Waivers,
};
use crate::x509::fulcio::FulcioExtension;

pub use store::{Key, Store};

/// 3: enums are tagged outside their fields (`{"signed":{..}}`), read without buffering.
/// 4: no `depends` digest in the value: the record's key commits to it ([`Depends::key`]).
const VERSION: u32 = 4;

/// The file of a repository's facts, under its common git directory.
pub fn path(common_dir: &std::path::Path) -> std::path::PathBuf {
    common_dir.join("gitsign").join("facts.log")
}

/// A digest of a parsed trust root: its authorities, logs and their validity windows. What
/// facts depend on for a setup built from a root in hand rather than read from its inputs
/// (commands key facts on `cli::setup::TrustInputs::digest`).
pub fn root_digest(root: &TrustedRoot) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(b"gitsign trust root v1");
    let validity = |v: &Validity| {
        let mut b = Vec::with_capacity(18);
        for t in [v.start, v.end] {
            b.push(u8::from(t.is_some()));
            b.extend(t.unwrap_or(0).to_be_bytes());
        }
        b
    };
    let authorities = |tag: &[u8], all: &[Authority], field: &mut dyn FnMut(&[u8])| {
        field(tag);
        field(&(all.len() as u64).to_be_bytes());
        for a in all {
            field(a.uri.as_bytes());
            field(&validity(&a.valid_for));
            field(&(a.chain_der.len() as u64).to_be_bytes());
            for der in &a.chain_der {
                field(der);
            }
        }
    };
    authorities(b"ca", &root.certificate_authorities, &mut field);
    authorities(b"tsa", &root.timestamp_authorities, &mut field);
    let logs = |tag: &[u8], all: &[LogKey], field: &mut dyn FnMut(&[u8])| {
        field(tag);
        field(&(all.len() as u64).to_be_bytes());
        for l in all {
            field(l.base_url.as_bytes());
            field(&l.key_id);
            field(&l.spki_der);
            field(&validity(&l.valid_for));
        }
    };
    logs(b"tlog", &root.tlogs, &mut field);
    logs(b"ctlog", &root.ctlogs, &mut field);
    h.finalize().into()
}

/// A digest of the key set OpenPGP and SSH verdicts depend on: every (sub)key of the OpenPGP
/// ring with what was read from its self-signatures (creation, expiry, revocations, signing
/// capability) and its certificate's user id, and every allowed signer and revoked SSH key, in
/// order (git takes the first line that names a key). Computed over what was parsed, so
/// comments, formatting and file names change nothing, while a key removed, added, revoked or
/// given another principal changes it.
pub fn keys_digest(openpgp: &Keyring, allowed: &AllowedSigners, revoked: &Revoked) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    let opt = |t: Option<i64>| {
        let mut b = vec![u8::from(t.is_some())];
        b.extend(t.unwrap_or(0).to_be_bytes());
        b
    };
    field(b"gitsign key set v1");
    field(&(openpgp.certs.len() as u64).to_be_bytes());
    for cert in &openpgp.certs {
        field(cert.user_id.as_deref().unwrap_or("").as_bytes());
        field(&[u8::from(cert.user_id.is_some())]);
        field(&(cert.subkeys.len() as u64).to_be_bytes());
        for key in std::iter::once(&cert.primary).chain(&cert.subkeys) {
            // A key that does not serialise is still told apart by its fingerprint.
            field(&key.material.packet());
            field(key.fingerprint.as_bytes());
            field(&key.created.to_be_bytes());
            field(&opt(key.expires));
            field(&[u8::from(key.can_sign)]);
            field(&(key.revocations.len() as u64).to_be_bytes());
            for r in &key.revocations {
                field(&r.at.to_be_bytes());
                field(&[u8::from(r.hard)]);
                field(r.reason.as_deref().unwrap_or("").as_bytes());
            }
        }
    }
    let ssh_key =
        |k: &ssh_key::public::KeyData| k.fingerprint(ssh_key::HashAlg::Sha256).as_bytes().to_vec();
    field(&(allowed.signers.len() as u64).to_be_bytes());
    for s in &allowed.signers {
        field(s.principals.as_bytes());
        field(&ssh_key(&s.key));
        field(&[u8::from(s.cert_authority), u8::from(s.namespaces.is_some())]);
        field(s.namespaces.as_deref().unwrap_or("").as_bytes());
        field(&opt(s.valid_after));
        field(&opt(s.valid_before));
    }
    field(&(revoked.keys.len() as u64).to_be_bytes());
    for k in &revoked.keys {
        field(&ssh_key(k));
    }
    h.finalize().into()
}

/// The first byte hashed into a fact's key ([`Depends::key`]), for this way of deriving it.
const FACT_KEY_TAG: u8 = 2;

/// A kept identity's Fulcio extensions, written by their stable key names and read straight
/// into the typed map: a key this build does not know is dropped as it is read (it cannot be
/// constrained by a policy of this build), and no key is copied out of the stored value.
mod extension_map {
    use std::collections::BTreeMap;

    use crate::x509::fulcio::FulcioExtension;

    pub fn serialize<S: serde::Serializer>(
        map: &BTreeMap<FulcioExtension, String>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(map.iter().map(|(e, v)| (e.key(), v)))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<FulcioExtension, String>, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = BTreeMap<FulcioExtension, String>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of Fulcio extension names to values")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut entries: A,
            ) -> Result<Self::Value, A::Error> {
                let mut map = BTreeMap::new();
                while let Some((key, value)) = entries.next_entry::<&'de str, String>()? {
                    if let Some(e) = FulcioExtension::from_key(key) {
                        map.insert(e, value);
                    }
                }
                Ok(map)
            }
        }
        d.deserialize_map(Visit)
    }
}

/// What was checked: the format-specific input of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// A commit object of a repository hashed with SHA-1 (`false`) or SHA-256 (`true`): the
    /// hash decides which signature header is ours.
    Commit {
        sha256: bool,
    },
    Tag,
    /// A payload and detached signature (git's `--verify`), keyed by their digest.
    Detached,
    /// An attestation's envelope and bundle (`verify-attestation`), keyed by their digest
    /// ([`attestation_object`]).
    Attestation,
}

impl Checked {
    /// The name kept with a fact: `commit`, `commit-sha256`, `tag` or `detached`.
    pub fn name(self) -> &'static str {
        match self {
            Checked::Commit { sha256: false } => "commit",
            Checked::Commit { sha256: true } => "commit-sha256",
            Checked::Tag => "tag",
            Checked::Detached => "detached",
            Checked::Attestation => "attestation",
        }
    }
}

/// Everything a fact depends on besides the object: what was checked, and one digest per
/// kind of proof (Sigstore: trust root and waivers; OpenPGP and SSH: the key set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Depends {
    sigstore: [u8; 32],
    keyed: [u8; 32],
    checked: Checked,
}

impl Depends {
    pub fn new(
        root_digest: &[u8; 32],
        waivers: Waivers,
        keys_digest: &[u8; 32],
        checked: Checked,
    ) -> Depends {
        let sigstore = crate::memo::key(
            b"gitsign facts depends v1",
            &[
                root_digest,
                &[
                    u8::from(waivers.time == TimeAnchor::Waived),
                    u8::from(waivers.sct == Sct::Waived),
                ],
                checked.name().as_bytes(),
            ],
        );
        let keyed = crate::memo::key(
            b"gitsign facts depends on keys v1",
            &[keys_digest, checked.name().as_bytes()],
        );
        Depends {
            sigstore,
            keyed,
            checked,
        }
    }

    fn digest(&self, keyed: bool) -> &[u8; 32] {
        if keyed {
            &self.keyed
        } else {
            &self.sigstore
        }
    }

    /// The store key of `object` (an object id's bytes, or [`detached_object`]'s digest) for a
    /// fact by a configured key (`keyed`: OpenPGP, SSH) or not (Sigstore, unsigned).
    /// SHA-256 over a tag byte, the object's length in a byte, the object and the digest:
    /// one compression for an object of 20 bytes (a SHA-1 id), the lookup of every fact of a
    /// range deriving one or two keys.
    pub fn key(&self, object: &[u8], keyed: bool) -> Key {
        let mut h = Sha256::new();
        h.update([FACT_KEY_TAG, object.len().min(255) as u8]);
        h.update(object);
        h.update(self.digest(keyed));
        h.finalize().into()
    }

    /// Every key a fact about `object` may be kept under, the Sigstore one first (the format
    /// is not known before the object is read).
    pub fn keys(&self, object: &[u8]) -> [Key; 2] {
        [self.key(object, false), self.key(object, true)]
    }
}

/// The file of a repository's kept policies in force (see [`in_force_key`]), beside its facts.
pub fn in_force_path(common_dir: &std::path::Path) -> std::path::PathBuf {
    common_dir.join("gitsign").join("policy-in-force.log")
}

/// The key of the committed policy in force after `commit` under the policy anchored at
/// `anchor` for `refname`: which commit's policy it is follows from `commit`'s first-parent
/// chain back to the anchor (fixed by the ids), the ref's rule, and the verdicts on the
/// policy-changing commits on the way, which depend on what `depends` names (trust root,
/// waivers, key set). A changed anchor, ref or trust is another key.
pub fn in_force_key(depends: &Depends, commit: &[u8], anchor: &[u8], refname: &str) -> Key {
    crate::memo::key(
        b"gitsign policy in force v1",
        &[
            commit,
            anchor,
            refname.as_bytes(),
            &depends.sigstore,
            &depends.keyed,
            depends.checked.name().as_bytes(),
        ],
    )
}

/// What stands for the object of a detached verification: its payload and signature.
pub fn detached_object(payload: &[u8], signature: &[u8]) -> [u8; 32] {
    crate::memo::key(b"gitsign detached object v1", &[payload, signature])
}

/// What an attestation's fact is about: its DSSE envelope and Sigstore bundle, exactly as
/// stored (what its verification input is built from; the statement's subject and copy are
/// checked on every use, outside the fact).
pub fn attestation_object(envelope: &[u8], bundle: &[u8]) -> [u8; 32] {
    crate::memo::key(b"gitsign attestation object v1", &[envelope, bundle])
}

/// Who made a good signature with a configured key, as kept (the OpenPGP and SSH forms of
/// the driver's signer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyedSigner {
    Openpgp {
        fingerprint: String,
        key: String,
        user_id: Option<String>,
    },
    /// `at`: the time the allowed signers' validity bounds were judged at (the signer's).
    Ssh {
        principal: String,
        key: String,
        at: i64,
    },
}

/// What a kept fact gives back: the report verifying the object again would give, and who
/// signed it with a configured key, if one did.
#[derive(Debug, Clone)]
pub struct Kept {
    pub report: Report,
    pub keyed: Option<KeyedSigner>,
}

/// One kept fact, as stored (one line of JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact<'a> {
    version: u32,
    /// The object (hex): an object id, or a detached payload and signature's digest.
    /// Borrowed from the stored value when read (it is only compared), as is the next one.
    /// What the fact depended on is not repeated here: the record's key is SHA-256 over the
    /// object and that digest ([`Depends::key`]), so a record found under the key of this
    /// run's dependencies was kept under them.
    #[serde(borrow)]
    pub object: Cow<'a, str>,
    /// What was checked ([`Checked::name`]): which facts name git objects, for pruning.
    #[serde(borrow)]
    pub checked: Cow<'a, str>,
    proved: Proved,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Proved {
    /// Every check but the identity policy passed.
    Signed(Box<Signed>),
    Unsigned,
    /// A signature of another format (`openpgp`, `ssh`, `unknown`).
    Foreign {
        format: String,
    },
    /// A good signature by a configured OpenPGP or SSH key.
    Keyed {
        signer: KeyedSigner,
        signing_time: Option<i64>,
    },
    /// An OpenPGP or SSH signature that is not good under the key set (unknown key, bad
    /// signature, a key not valid at the signature's time...).
    KeyedBad {
        failure: KeyedFailure,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum KeyedFailure {
    Openpgp(crate::openpgp::Failure),
    Ssh(crate::ssh::Failure),
}

impl Proved {
    /// Whether the proof depended on the key set (else on the trust root and waivers).
    fn keyed(&self) -> bool {
        matches!(self, Proved::Keyed { .. } | Proved::KeyedBad { .. })
    }
}

/// Absent claims are left out of the record (most signers have none of the workflow ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Signed {
    sans: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    github_workflow_trigger: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    github_workflow_sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    github_workflow_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    github_workflow_repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    github_workflow_ref: Option<String>,
    /// Every Fulcio extension, by its stable key name (policies may constrain any of them).
    #[serde(
        default,
        skip_serializing_if = "std::collections::BTreeMap::is_empty",
        with = "extension_map"
    )]
    extensions: std::collections::BTreeMap<FulcioExtension, String>,
    cert: KeptCert,
    anchor: KeptAnchor,
    signing_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeptCert {
    sha1_fingerprint: String,
    serial: String,
    not_before: i64,
    not_after: i64,
    issuer_chain: Vec<String>,
    issuer_dn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum KeptAnchor {
    Tlog {
        log_index: i64,
        integrated_time: i64,
        log_url: String,
        embedded: bool,
    },
    Timestamp {
        time: i64,
        tsa: String,
        logged: Option<(i64, String)>,
    },
    /// Only under a time waiver, which is part of [`Depends`].
    Unanchored { assumed: i64 },
}

fn format_name(f: SignatureFormat) -> &'static str {
    match f {
        SignatureFormat::X509 => "x509",
        SignatureFormat::Openpgp => "openpgp",
        SignatureFormat::Ssh => "ssh",
        SignatureFormat::Unknown => "unknown",
    }
}

fn format_named(name: &str) -> Option<SignatureFormat> {
    [
        SignatureFormat::Openpgp,
        SignatureFormat::Ssh,
        SignatureFormat::Unknown,
    ]
    .into_iter()
    .find(|f| format_name(*f) == name)
}

impl Fact<'_> {
    /// The fact a report establishes about `object` under `depends`, with the signer when a
    /// configured key made the signature; `None` when it establishes nothing worth keeping
    /// (see the module documentation).
    pub fn of(
        object: &[u8],
        depends: &Depends,
        report: &Report,
        keyed: Option<&KeyedSigner>,
    ) -> Option<Fact<'static>> {
        let proved = match (&report.outcome, keyed) {
            (Outcome::Good, Some(signer)) => Proved::Keyed {
                signer: signer.clone(),
                signing_time: report.signing_time,
            },
            (_, Some(_)) => return None,
            (outcome, None) => Self::proved(outcome, report)?,
        };
        Some(Fact {
            version: VERSION,
            object: Cow::Owned(crate::encoding::hex(object)),
            checked: Cow::Borrowed(depends.checked.name()),
            proved,
        })
    }

    fn proved(outcome: &Outcome, report: &Report) -> Option<Proved> {
        Some(match outcome {
            Outcome::Bad(Failure::Openpgp(e)) => Proved::KeyedBad {
                failure: KeyedFailure::Openpgp(e.clone()),
            },
            Outcome::Bad(Failure::Ssh(e)) => Proved::KeyedBad {
                failure: KeyedFailure::Ssh(e.clone()),
            },
            Outcome::Bad(Failure::Unsigned) => Proved::Unsigned,
            Outcome::Bad(Failure::ForeignFormat(f)) if *f != SignatureFormat::X509 => {
                Proved::Foreign {
                    format: format_name(*f).to_owned(),
                }
            }
            Outcome::Good | Outcome::Bad(Failure::Policy(_)) => {
                let identity = report.identity.clone()?;
                let c = report.cert.clone()?;
                let anchor = match report.anchor.clone()? {
                    Anchor::Tlog {
                        log_index,
                        integrated_time,
                        log_url,
                        source,
                    } => KeptAnchor::Tlog {
                        log_index,
                        integrated_time,
                        log_url,
                        embedded: source == EntrySource::Embedded,
                    },
                    Anchor::Timestamp { time, tsa, logged } => KeptAnchor::Timestamp {
                        time,
                        tsa,
                        logged: logged.map(|l| (l.log_index, l.log_url)),
                    },
                    Anchor::Unanchored { assumed } => KeptAnchor::Unanchored { assumed },
                };
                Proved::Signed(Box::new(Signed {
                    sans: identity.sans,
                    issuer: identity.issuer,
                    github_workflow_trigger: identity.github_workflow_trigger,
                    github_workflow_sha: identity.github_workflow_sha,
                    github_workflow_name: identity.github_workflow_name,
                    github_workflow_repository: identity.github_workflow_repository,
                    github_workflow_ref: identity.github_workflow_ref,
                    extensions: identity.extensions,
                    cert: KeptCert {
                        sha1_fingerprint: c.sha1_fingerprint,
                        serial: c.serial,
                        not_before: c.not_before,
                        not_after: c.not_after,
                        issuer_chain: c.issuer_chain,
                        issuer_dn: c.issuer_dn,
                    },
                    anchor,
                    signing_time: report.signing_time,
                }))
            }
            _ => return None,
        })
    }

    /// Read a stored value whatever it depends on (for pruning).
    pub fn parse(value: &str) -> Option<Fact<'_>> {
        serde_json::from_str::<Fact>(value)
            .ok()
            .filter(|f| f.version == VERSION)
    }

    /// The git object the fact is about, if it is about one (not a detached signature).
    pub fn git_object(&self) -> Option<gix::ObjectId> {
        if self.checked == Checked::Detached.name() || self.checked == Checked::Attestation.name() {
            return None;
        }
        gix::ObjectId::from_hex(self.object.as_bytes()).ok()
    }

    /// The store line's value.
    pub fn to_json(&self) -> Option<String> {
        serde_json::to_string(self).ok()
    }

    /// A stored value found under `depends`' key for `object` of its `keyed` kind, if it is a
    /// fact of this version about `object`, of that kind (a fact by a configured key under the
    /// key set's digest, any other under the trust's) and of what `depends` checks.
    pub fn from_json<'v>(
        value: &'v str,
        object: &[u8],
        depends: &Depends,
        keyed: bool,
    ) -> Option<Fact<'v>> {
        let fact: Fact<'v> = serde_json::from_str(value).ok()?;
        (fact.version == VERSION
            && crate::encoding::is_hex_of(&fact.object, object)
            && fact.proved.keyed() == keyed
            && fact.checked == depends.checked.name())
        .then_some(fact)
    }

    /// What the fact stands for under `policy`, as verifying the object again would give it:
    /// the policy is applied to the kept identity now (it constrains Sigstore identities
    /// only, as on a fresh verification).
    pub fn kept(self, policy: &Policy) -> Kept {
        let keyed = match &self.proved {
            Proved::Keyed { signer, .. } => Some(signer.clone()),
            _ => None,
        };
        Kept {
            report: self.into_report(policy),
            keyed,
        }
    }

    /// The report the fact stands for under `policy`, as verifying the object again would
    /// give it: the policy is applied to the kept identity now.
    pub fn report(&self, policy: &Policy) -> Report {
        self.clone().into_report(policy)
    }

    /// [`Fact::report`], taking the fact apart (a range's facts are used once each).
    fn into_report(self, policy: &Policy) -> Report {
        let bad = |f: Failure| Report {
            outcome: Outcome::Bad(f),
            identity: None,
            cert: None,
            anchor: None,
            signing_time: None,
        };
        match self.proved {
            Proved::Unsigned => bad(Failure::Unsigned),
            Proved::Keyed { signing_time, .. } => Report::good_by_key(signing_time),
            Proved::KeyedBad { failure } => match failure {
                KeyedFailure::Openpgp(e) => bad(Failure::Openpgp(e)),
                KeyedFailure::Ssh(e) => bad(Failure::Ssh(e)),
            },
            Proved::Foreign { format } => bad(Failure::ForeignFormat(
                format_named(&format).unwrap_or(SignatureFormat::Unknown),
            )),
            Proved::Signed(signed) => {
                let Signed {
                    sans,
                    issuer,
                    github_workflow_trigger,
                    github_workflow_sha,
                    github_workflow_name,
                    github_workflow_repository,
                    github_workflow_ref,
                    extensions,
                    cert,
                    anchor,
                    signing_time,
                } = *signed;
                let identity = Identity {
                    sans,
                    issuer,
                    github_workflow_trigger,
                    github_workflow_sha,
                    github_workflow_name,
                    github_workflow_repository,
                    github_workflow_ref,
                    extensions,
                };
                let outcome = match policy.check(&identity) {
                    Ok(()) => Outcome::Good,
                    Err(e) => Outcome::Bad(Failure::Policy(e)),
                };
                Report {
                    outcome,
                    identity: Some(identity),
                    cert: Some(CertSummary {
                        sha1_fingerprint: cert.sha1_fingerprint,
                        serial: cert.serial,
                        not_before: cert.not_before,
                        not_after: cert.not_after,
                        issuer_chain: cert.issuer_chain,
                        issuer_dn: cert.issuer_dn,
                    }),
                    anchor: Some(match anchor {
                        KeptAnchor::Tlog {
                            log_index,
                            integrated_time,
                            log_url,
                            embedded,
                        } => Anchor::Tlog {
                            log_index,
                            integrated_time,
                            log_url,
                            source: if embedded {
                                EntrySource::Embedded
                            } else {
                                EntrySource::LookedUp
                            },
                        },
                        KeptAnchor::Timestamp { time, tsa, logged } => Anchor::Timestamp {
                            time,
                            tsa,
                            logged: logged
                                .map(|(log_index, log_url)| Logged { log_index, log_url }),
                        },
                        KeptAnchor::Unanchored { assumed } => Anchor::Unanchored { assumed },
                    }),
                    signing_time,
                }
            }
        }
    }
}

/// A store being read on another thread ([`Facts::load`]).
#[derive(Debug)]
pub struct Loading {
    path: std::path::PathBuf,
    reading: Option<std::thread::JoinHandle<Facts>>,
}

impl Loading {
    /// The store as read, if it is the one at `path`; else (or if the thread could not run)
    /// read here.
    pub fn wait(self, path: &std::path::Path) -> Facts {
        match self.reading {
            Some(reading) if self.path == path => {
                reading.join().unwrap_or_else(|_| Facts::open(path))
            }
            _ => Facts::open(path),
        }
    }
}

/// A repository's facts: look up, and keep new ones in batches.
#[derive(Debug)]
pub struct Facts {
    store: Store,
    pending: Vec<(Key, String)>,
}

impl Facts {
    /// A store at `path` to append to without reading what it holds.
    pub fn empty(path: &std::path::Path) -> Facts {
        Facts {
            store: Store::empty(path),
            pending: Vec::new(),
        }
    }

    /// Start reading the store at `path` on another thread (a range starts it before it
    /// resolves its revisions and sets up its trust, which it then overlaps).
    pub fn load(path: std::path::PathBuf) -> Loading {
        let at = path.clone();
        let reading = std::thread::Builder::new()
            .name("gitsign-facts".into())
            .spawn(move || Facts::open(&at))
            .ok();
        Loading { path, reading }
    }

    pub fn open(path: &std::path::Path) -> Facts {
        Facts {
            store: Store::open(path),
            pending: Vec::new(),
        }
    }

    /// Why the store on disk was ignored, if it was.
    pub fn warning(&self) -> Option<&str> {
        self.store.warning()
    }

    /// What is kept for `object` under `policy` in the store at `path`, found without
    /// loading the store ([`Store::find`]), and the warning met if the record was damaged.
    pub fn find(
        path: &std::path::Path,
        depends: &Depends,
        object: &[u8],
        policy: &Policy,
    ) -> (Option<Kept>, Option<String>) {
        // The keys in the order of [`Depends::keys`]: the second is the keyed one.
        let (value, warning) = Store::find(path, &depends.keys(object));
        let kept = value.and_then(|(i, v)| {
            Fact::from_json(&v, object, depends, i == 1).map(|f| f.kept(policy))
        });
        (kept, warning)
    }

    /// What is kept for `object` under `depends` and `policy`, if a fact is.
    pub fn kept(&self, depends: &Depends, object: &[u8], policy: &Policy) -> Option<Kept> {
        // An object's fact is under one of its two keys, which its signature's format decides
        // (OpenPGP and SSH: keyed; any other: Sigstore), and formats come in runs in a
        // history: the kind of key found last on this thread is derived and tried first, the
        // other only when that misses.
        thread_local! {
            static KEYED_FIRST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        }
        let first = KEYED_FIRST.get();
        [first, !first].into_iter().find_map(|keyed| {
            let value = self.store.get(&depends.key(object, keyed))?;
            let kept = Fact::from_json(value, object, depends, keyed).map(|f| f.kept(policy));
            KEYED_FIRST.set(keyed);
            kept
        })
    }

    /// The report kept for `object` under `depends` and `policy`, if a fact is kept.
    pub fn report(&self, depends: &Depends, object: &[u8], policy: &Policy) -> Option<Report> {
        self.kept(depends, object, policy).map(|k| k.report)
    }

    /// Note what `report` (with its signer, when a configured key made the signature)
    /// established about `object` under `depends`, to be written by [`Facts::flush`].
    pub fn note(
        &mut self,
        depends: &Depends,
        object: &[u8],
        report: &Report,
        keyed: Option<&KeyedSigner>,
    ) {
        let record = self.record(depends, object, report, keyed);
        self.pending.extend(record);
    }

    /// The record [`Facts::note`] would note (none when the verdict is not kept, or the
    /// store already holds it), for a caller that writes its own batches while others read
    /// ([`Facts::write`]).
    pub fn record(
        &self,
        depends: &Depends,
        object: &[u8],
        report: &Report,
        keyed: Option<&KeyedSigner>,
    ) -> Option<(Key, String)> {
        let fact = Fact::of(object, depends, report, keyed)?;
        let key = depends.key(object, fact.proved.keyed());
        let value = fact.to_json()?;
        (self.store.get(&key) != Some(value.as_str())).then_some((key, value))
    }

    /// Append `batch` (from [`Facts::record`]) in one write, leaving what this store answers
    /// as it was loaded: lookups may run beside it.
    pub fn write(&self, batch: &[(Key, String)]) -> std::io::Result<()> {
        self.store.write(batch)
    }

    /// How many facts are noted and not yet written.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Append the noted facts in one write.
    pub fn flush(&mut self) -> std::io::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        self.store.append(&pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::policy::Matcher;

    #[test]
    fn a_fact_key_is_sha256_over_tag_length_object_and_digest() {
        // The expected digests from Python's hashlib.sha256(bytes([2, len]) + object + digest).
        let d = Depends {
            sigstore: [1; 32],
            keyed: [2; 32],
            checked: Checked::Commit { sha256: false },
        };
        assert_eq!(
            crate::encoding::hex(&d.key(&[7; 20], false)),
            "51a8cbbfa69eb04fd5f18b029ca8e85d1e5f4276697c236cdf0df7af691cec72"
        );
        assert_eq!(
            crate::encoding::hex(&d.key(&[9; 32], true)),
            "d03cbb76e480dd6713262cc148c3fe6fa617c113b967acf7ad4465353059ffbd"
        );
    }

    fn signed(outcome: Outcome, anchor: Anchor) -> Report {
        Report {
            outcome,
            identity: Some(Identity {
                sans: vec!["alice@example.com".into()],
                issuer: Some("https://accounts.example.com".into()),
                github_workflow_ref: Some("refs/heads/main".into()),
                ..Identity::default()
            }),
            cert: Some(CertSummary {
                sha1_fingerprint: "ab".into(),
                serial: "01".into(),
                not_before: 0,
                not_after: 600,
                issuer_chain: vec!["sigstore-intermediate".into()],
                issuer_dn: "CN=sigstore-intermediate".into(),
            }),
            anchor: Some(anchor),
            signing_time: Some(30),
        }
    }

    fn tlog() -> Anchor {
        Anchor::Tlog {
            log_index: 7,
            integrated_time: 60,
            log_url: "https://rekor.example.com".into(),
            source: EntrySource::LookedUp,
        }
    }

    fn alice() -> Policy {
        Policy {
            identity: Some(Matcher::Exact("alice@example.com".into())),
            ..Policy::default()
        }
    }

    fn bob() -> Policy {
        Policy {
            identity: Some(Matcher::Exact("bob@example.com".into())),
            ..Policy::default()
        }
    }

    const NO_KEYS: [u8; 32] = [0; 32];

    fn depends(root: &TrustedRoot, waivers: Waivers) -> Depends {
        Depends::new(
            &root_digest(root),
            waivers,
            &NO_KEYS,
            Checked::Commit { sha256: false },
        )
    }

    #[test]
    fn extensions_are_kept_by_name_and_a_name_this_build_does_not_know_is_dropped() {
        use crate::x509::fulcio::FulcioExtension as E;
        let d = depends(&TrustedRoot::public_good(), Waivers::default());
        let mut report = signed(Outcome::Good, tlog());
        if let Some(identity) = report.identity.as_mut() {
            identity.extensions.insert(E::BuildTrigger, "push".into());
            identity
                .extensions
                .insert(E::SourceRepositoryRef, "refs/heads/main".into());
        }
        let json = Fact::of(b"\x01", &d, &report, None)
            .and_then(|f| f.to_json())
            .expect("json");
        assert!(
            json.contains(
                r#""extensions":{"source-repository-ref":"refs/heads/main","build-trigger":"push"}"#
            ),
            "{json}"
        );
        let later = json.replace(
            r#""build-trigger""#,
            r#""from-a-later-build":"x","build-trigger""#,
        );
        let back = Fact::from_json(&later, b"\x01", &d, false).expect("read back");
        let extensions = back
            .report(&Policy::default())
            .identity
            .map(|i| i.extensions);
        assert_eq!(
            extensions,
            report.identity.map(|i| i.extensions),
            "the known names read back, the unknown one dropped"
        );
    }

    #[test]
    fn the_policy_is_applied_to_a_kept_fact_on_every_use() {
        let d = depends(&TrustedRoot::public_good(), Waivers::default());
        let fact = Fact::of(b"\x01", &d, &signed(Outcome::Good, tlog()), None).expect("kept");
        let json = fact.to_json().expect("json");
        let back = Fact::from_json(&json, b"\x01", &d, false).expect("read back");
        let good = back.report(&alice());
        assert_eq!(good.outcome, Outcome::Good, "alice signed it");
        assert_eq!(good.anchor, Some(tlog()));
        assert_eq!(
            good.cert
                .map(|c| (c.sha1_fingerprint, c.issuer_chain, c.not_after)),
            Some((
                "ab".to_owned(),
                vec!["sigstore-intermediate".to_owned()],
                600
            ))
        );
        let bad = back.report(&bob());
        assert_eq!(
            bad.outcome.code(),
            Some("identity_mismatch"),
            "a policy the fact was never checked against decides afresh"
        );
        // A verdict bad only by its policy is a fact too: another policy may accept it.
        let by_policy = Report {
            outcome: bad.outcome.clone(),
            ..signed(Outcome::Good, tlog())
        };
        let fact = Fact::of(b"\x02", &d, &by_policy, None).expect("kept");
        assert_eq!(fact.report(&alice()).outcome, Outcome::Good);
    }

    #[test]
    fn facts_depend_on_trust_root_waivers_and_what_was_checked() {
        let root = TrustedRoot::public_good();
        let d = depends(&root, Waivers::default());
        let json = Fact::of(b"\x01", &d, &signed(Outcome::Good, tlog()), None)
            .and_then(|f| f.to_json())
            .expect("kept");
        let mut fewer = root.clone();
        fewer.ctlogs.pop();
        let others = [
            depends(&fewer, Waivers::default()),
            depends(&root, Waivers::from_flags(true, false)),
            depends(&root, Waivers::from_flags(false, true)),
            Depends::new(
                &root_digest(&root),
                Waivers::default(),
                &NO_KEYS,
                Checked::Tag,
            ),
            Depends::new(
                &root_digest(&root),
                Waivers::default(),
                &NO_KEYS,
                Checked::Commit { sha256: true },
            ),
            Depends::new(
                &root_digest(&root),
                Waivers::default(),
                &NO_KEYS,
                Checked::Detached,
            ),
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        let mut facts = Facts::open(&path(dir.path()));
        facts.note(&d, b"\x01", &signed(Outcome::Good, tlog()), None);
        facts.flush().expect("written");
        assert!(facts.report(&d, b"\x01", &alice()).is_some(), "kept");
        for other in &others {
            assert_ne!(other.keys(b"\x01"), d.keys(b"\x01"), "another key");
            assert!(
                facts.report(other, b"\x01", &alice()).is_none(),
                "a fact is not read under other dependencies"
            );
        }
        assert!(
            Fact::from_json(&json, b"\x02", &d, false).is_none(),
            "nor for another object"
        );
        assert!(
            Fact::from_json(&json, b"\x01", &d, true).is_none(),
            "nor as a fact of the other kind"
        );
    }

    #[test]
    fn only_complete_proofs_and_signature_free_objects_are_kept() {
        let d = depends(&TrustedRoot::public_good(), Waivers::default());
        let undecided = Report {
            outcome: Outcome::Undecided(crate::verify::Undecided::NoTimeAnchor),
            ..signed(Outcome::Good, tlog())
        };
        assert!(Fact::of(b"\x01", &d, &undecided, None).is_none());
        let chain = Report {
            outcome: Outcome::Bad(Failure::NoTimeAnchor),
            ..signed(Outcome::Good, tlog())
        };
        assert!(
            Fact::of(b"\x01", &d, &chain, None).is_none(),
            "other bad verdicts"
        );
        let no_anchor = Report {
            anchor: None,
            ..signed(Outcome::Good, tlog())
        };
        assert!(Fact::of(b"\x01", &d, &no_anchor, None).is_none());
        for (failure, code) in [
            (Failure::Unsigned, "unsigned"),
            (
                Failure::ForeignFormat(SignatureFormat::Ssh),
                "foreign_format",
            ),
        ] {
            let report = Report {
                outcome: Outcome::Bad(failure.clone()),
                identity: None,
                cert: None,
                anchor: None,
                signing_time: None,
            };
            let fact = Fact::of(b"\x03", &d, &report, None).expect("kept");
            let back = fact.report(&alice());
            assert_eq!(back.outcome, Outcome::Bad(failure), "{code}");
            assert_eq!(back.outcome.code(), Some(code));
        }
    }

    #[test]
    fn facts_are_kept_across_processes_in_one_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = path(dir.path());
        let d = depends(&TrustedRoot::public_good(), Waivers::default());
        let mut facts = Facts::open(&path);
        assert!(facts.report(&d, b"\x01", &alice()).is_none());
        facts.note(&d, b"\x01", &signed(Outcome::Good, tlog()), None);
        facts.flush().expect("written");
        let again = Facts::open(&path);
        assert_eq!(
            again.report(&d, b"\x01", &alice()).map(|r| r.outcome),
            Some(Outcome::Good)
        );
        let waived = depends(
            &TrustedRoot::public_good(),
            Waivers::from_flags(true, false),
        );
        assert!(
            again.report(&waived, b"\x01", &alice()).is_none(),
            "the same store holds other dependencies' facts apart"
        );
    }

    fn ssh_signer() -> KeyedSigner {
        KeyedSigner::Ssh {
            principal: "alice@example.com".into(),
            key: "SHA256:abc".into(),
            at: 1_700_000_000,
        }
    }

    #[test]
    fn keyed_facts_depend_on_the_key_set_and_not_on_the_trust_root() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = path(dir.path());
        let keyed = |root: &TrustedRoot, keys: &[u8; 32]| {
            Depends::new(
                &root_digest(root),
                Waivers::default(),
                keys,
                Checked::Commit { sha256: false },
            )
        };
        let root = TrustedRoot::public_good();
        let d = keyed(&root, &[1; 32]);
        let mut facts = Facts::open(&path);
        facts.note(
            &d,
            b"\x01",
            &Report::good_by_key(Some(5)),
            Some(&ssh_signer()),
        );
        // A bad verdict with a signer is no verdict a key decided: not kept.
        facts.note(
            &d,
            b"\x02",
            &Report::bad(Failure::Unsigned),
            Some(&ssh_signer()),
        );
        // An unknown key is the key set's verdict: kept under it.
        let unknown = Report::bad(Failure::Openpgp(crate::openpgp::Failure::UnknownKey {
            issuer: "B5690EEEBB952194".into(),
        }));
        facts.note(&d, b"\x03", &unknown, None);
        assert_eq!(
            facts.pending(),
            2,
            "the good and the unknown-key verdicts are noted"
        );
        facts.flush().expect("written");
        let again = Facts::open(&path);
        let kept = again.kept(&d, b"\x01", &bob()).expect("kept");
        assert_eq!(
            (kept.report.outcome, kept.report.signing_time, kept.keyed),
            (Outcome::Good, Some(5), Some(ssh_signer())),
            "the signer and time come back; the Sigstore identity policy does not judge keys"
        );
        let mut fewer = root.clone();
        fewer.ctlogs.pop();
        assert!(
            again
                .kept(&keyed(&fewer, &[1; 32]), b"\x01", &bob())
                .is_some(),
            "another trust root does not change what a key proved"
        );
        assert!(
            again
                .kept(&keyed(&root, &[2; 32]), b"\x01", &bob())
                .is_none(),
            "another key set proves it again"
        );
    }
}
