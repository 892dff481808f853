//! Kept facts: what verifying an object proved, kept in the repository's git directory so that
//! verifying the same object again, under the same trust, costs no cryptography.
//!
//! A fact is keyed by the object and by what its proof depended on ([`Depends`]): the trust
//! root (a digest of what was parsed, [`root_digest`]), the waivers, and what was checked (a
//! commit or tag object of a SHA-1 or SHA-256 repository, or the payload and signature git
//! hands `--verify`). The identity policy is not part of the key: a fact holds the signer's
//! identity and the policy is applied to it on every use ([`Fact::report`]), so a changed
//! policy never reuses a verdict it did not decide.
//!
//! What is kept ([`Fact::of`]): a verification whose every check but the policy passed (good,
//! or bad only by the policy) with a proven or explicitly waived signing time, and objects that
//! are unsigned or carry a signature in a format nothing here reads, which no trust or waiver
//! changes. Never kept: undecided verdicts (a later proof may decide them), the other bad ones,
//! and OpenPGP and SSH verdicts, which depend on the keys given (the facts' key holds no key
//! set digest).
//!
//! Where ([`store`]): one append-only file per repository, `<git common dir>/gitsign/facts.log`,
//! outside refs, objects and notes, so facts never travel with a push, a fetch or notes. What
//! it trusts: whoever can write the git directory can already rewrite its objects and refs;
//! the checksums catch damage (a torn or edited record), not an attacker with that access.

pub mod store;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::git::object::SignatureFormat;
use crate::trust::{Authority, LogKey, TrustedRoot, Validity};
use crate::verify::policy::{Identity, Policy};
use crate::verify::{
    Anchor, CertSummary, EntrySource, Failure, Logged, Outcome, Report, Sct, TimeAnchor, Waivers,
};

pub use store::{Key, Store};

const VERSION: u32 = 2;

/// The file of a repository's facts, under its common git directory.
pub fn path(common_dir: &std::path::Path) -> std::path::PathBuf {
    common_dir.join("gitsign").join("facts.log")
}

/// A digest of the trust root a verdict depends on: its authorities, logs and their validity
/// windows. Computed over the parsed root, so it follows the root actually used wherever it
/// came from (file, TUF, embedded, `fulcioRoot` overrides).
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
}

impl Checked {
    /// The name kept with a fact: `commit`, `commit-sha256`, `tag` or `detached`.
    pub fn name(self) -> &'static str {
        match self {
            Checked::Commit { sha256: false } => "commit",
            Checked::Commit { sha256: true } => "commit-sha256",
            Checked::Tag => "tag",
            Checked::Detached => "detached",
        }
    }
}

/// Everything a fact depends on besides the object: one digest, and what was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Depends([u8; 32], Checked);

impl Depends {
    pub fn new(root_digest: &[u8; 32], waivers: Waivers, checked: Checked) -> Depends {
        let digest = crate::memo::key(
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
        Depends(digest, checked)
    }

    pub fn hex(&self) -> String {
        crate::encoding::hex(&self.0)
    }

    /// The store key of `object` (an object id's bytes, or [`detached_object`]'s digest).
    pub fn key(&self, object: &[u8]) -> Key {
        crate::memo::key(b"gitsign fact key v1", &[object, &self.0])
    }
}

/// What stands for the object of a detached verification: its payload and signature.
pub fn detached_object(payload: &[u8], signature: &[u8]) -> [u8; 32] {
    crate::memo::key(b"gitsign detached object v1", &[payload, signature])
}

/// One kept fact, as stored (one line of JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    version: u32,
    /// The object (hex): an object id, or a detached payload and signature's digest.
    pub object: String,
    /// [`Depends`] in hex.
    pub depends: String,
    /// What was checked ([`Checked::name`]): which facts name git objects, for pruning.
    pub checked: String,
    proved: Proved,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Proved {
    /// Every check but the identity policy passed.
    Signed(Box<Signed>),
    Unsigned,
    /// A signature of another format (`openpgp`, `ssh`, `unknown`).
    Foreign {
        format: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Signed {
    sans: Vec<String>,
    issuer: Option<String>,
    github_workflow_trigger: Option<String>,
    github_workflow_sha: Option<String>,
    github_workflow_name: Option<String>,
    github_workflow_repository: Option<String>,
    github_workflow_ref: Option<String>,
    /// Every Fulcio extension, by its stable key name (policies may constrain any of them).
    #[serde(default)]
    extensions: std::collections::BTreeMap<String, String>,
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
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
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

impl Fact {
    /// The fact a report establishes about `object` under `depends`; `None` when it
    /// establishes nothing worth keeping (see the module documentation).
    pub fn of(object: &[u8], depends: &Depends, report: &Report) -> Option<Fact> {
        let proved = match &report.outcome {
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
                    extensions: identity
                        .extensions
                        .iter()
                        .map(|(e, v)| (e.key().to_owned(), v.clone()))
                        .collect(),
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
        };
        Some(Fact {
            version: VERSION,
            object: crate::encoding::hex(object),
            depends: depends.hex(),
            checked: depends.1.name().to_owned(),
            proved,
        })
    }

    /// Read a stored value whatever it depends on (for pruning).
    pub fn parse(value: &str) -> Option<Fact> {
        serde_json::from_str::<Fact>(value)
            .ok()
            .filter(|f| f.version == VERSION)
    }

    /// The git object the fact is about, if it is about one (not a detached signature).
    pub fn git_object(&self) -> Option<gix::ObjectId> {
        if self.checked == Checked::Detached.name() {
            return None;
        }
        gix::ObjectId::from_hex(self.object.as_bytes()).ok()
    }

    /// The store line's value.
    pub fn to_json(&self) -> Option<String> {
        serde_json::to_string(self).ok()
    }

    /// A stored value, if it is a fact of this version about `object` under `depends`.
    pub fn from_json(value: &str, object: &[u8], depends: &Depends) -> Option<Fact> {
        let fact: Fact = serde_json::from_str(value).ok()?;
        (fact.version == VERSION
            && fact.object == crate::encoding::hex(object)
            && fact.depends == depends.hex())
        .then_some(fact)
    }

    /// The report the fact stands for under `policy`, as verifying the object again would
    /// give it: the policy is applied to the kept identity now.
    pub fn report(&self, policy: &Policy) -> Report {
        let bad = |f: Failure| Report {
            outcome: Outcome::Bad(f),
            identity: None,
            cert: None,
            anchor: None,
            signing_time: None,
        };
        match &self.proved {
            Proved::Unsigned => bad(Failure::Unsigned),
            Proved::Foreign { format } => bad(Failure::ForeignFormat(
                format_named(format).unwrap_or(SignatureFormat::Unknown),
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
                } = signed.as_ref();
                let identity = Identity {
                    sans: sans.clone(),
                    issuer: issuer.clone(),
                    github_workflow_trigger: github_workflow_trigger.clone(),
                    github_workflow_sha: github_workflow_sha.clone(),
                    github_workflow_name: github_workflow_name.clone(),
                    github_workflow_repository: github_workflow_repository.clone(),
                    github_workflow_ref: github_workflow_ref.clone(),
                    // A key this build does not know cannot be constrained by its policies.
                    extensions: extensions
                        .iter()
                        .filter_map(|(k, v)| {
                            Some((
                                crate::x509::fulcio::FulcioExtension::from_key(k)?,
                                v.clone(),
                            ))
                        })
                        .collect(),
                };
                let outcome = match policy.check(&identity) {
                    Ok(()) => Outcome::Good,
                    Err(e) => Outcome::Bad(Failure::Policy(e)),
                };
                Report {
                    outcome,
                    identity: Some(identity),
                    cert: Some(CertSummary {
                        sha1_fingerprint: cert.sha1_fingerprint.clone(),
                        serial: cert.serial.clone(),
                        not_before: cert.not_before,
                        not_after: cert.not_after,
                        issuer_chain: cert.issuer_chain.clone(),
                        issuer_dn: cert.issuer_dn.clone(),
                    }),
                    anchor: Some(match anchor.clone() {
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
                    signing_time: *signing_time,
                }
            }
        }
    }
}

/// A repository's facts under one set of dependencies: look up, and keep new ones in batches.
#[derive(Debug)]
pub struct Facts {
    store: Store,
    depends: Depends,
    pending: Vec<(Key, String)>,
}

impl Facts {
    /// A store at `path` to append to without reading what it holds.
    pub fn empty(path: &std::path::Path, depends: Depends) -> Facts {
        Facts {
            store: Store::empty(path),
            depends,
            pending: Vec::new(),
        }
    }

    pub fn open(path: &std::path::Path, depends: Depends) -> Facts {
        Facts {
            store: Store::open(path),
            depends,
            pending: Vec::new(),
        }
    }

    /// Why the store on disk was ignored, if it was.
    pub fn warning(&self) -> Option<&str> {
        self.store.warning()
    }

    /// The report kept for `object` under `policy` in the store at `path`, found without
    /// loading the store ([`Store::find`]), and the warning met if the record was damaged.
    pub fn find(
        path: &std::path::Path,
        depends: &Depends,
        object: &[u8],
        policy: &Policy,
    ) -> (Option<Report>, Option<String>) {
        let (value, warning) = Store::find(path, &depends.key(object));
        let report = value
            .and_then(|v| Fact::from_json(&v, object, depends))
            .map(|f| f.report(policy));
        (report, warning)
    }

    /// The report kept for `object` under `policy`, if a fact is kept.
    pub fn report(&self, object: &[u8], policy: &Policy) -> Option<Report> {
        let value = self.store.get(&self.depends.key(object))?;
        Fact::from_json(value, object, &self.depends).map(|f| f.report(policy))
    }

    /// Note what `report` established about `object`, to be written by [`Facts::flush`].
    pub fn note(&mut self, object: &[u8], report: &Report) {
        let key = self.depends.key(object);
        if let Some(value) = Fact::of(object, &self.depends, report).and_then(|f| f.to_json()) {
            if self.store.get(&key) != Some(value.as_str()) {
                self.pending.push((key, value));
            }
        }
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

    fn depends(root: &TrustedRoot, waivers: Waivers) -> Depends {
        Depends::new(
            &root_digest(root),
            waivers,
            Checked::Commit { sha256: false },
        )
    }

    #[test]
    fn the_policy_is_applied_to_a_kept_fact_on_every_use() {
        let d = depends(&TrustedRoot::public_good(), Waivers::default());
        let fact = Fact::of(b"\x01", &d, &signed(Outcome::Good, tlog())).expect("kept");
        let json = fact.to_json().expect("json");
        let back = Fact::from_json(&json, b"\x01", &d).expect("read back");
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
        let fact = Fact::of(b"\x02", &d, &by_policy).expect("kept");
        assert_eq!(fact.report(&alice()).outcome, Outcome::Good);
    }

    #[test]
    fn facts_depend_on_trust_root_waivers_and_what_was_checked() {
        let root = TrustedRoot::public_good();
        let d = depends(&root, Waivers::default());
        let json = Fact::of(b"\x01", &d, &signed(Outcome::Good, tlog()))
            .and_then(|f| f.to_json())
            .expect("kept");
        let mut fewer = root.clone();
        fewer.ctlogs.pop();
        let others = [
            depends(&fewer, Waivers::default()),
            depends(&root, Waivers::from_flags(true, false)),
            depends(&root, Waivers::from_flags(false, true)),
            Depends::new(&root_digest(&root), Waivers::default(), Checked::Tag),
            Depends::new(
                &root_digest(&root),
                Waivers::default(),
                Checked::Commit { sha256: true },
            ),
            Depends::new(&root_digest(&root), Waivers::default(), Checked::Detached),
        ];
        for other in &others {
            assert_ne!(other.key(b"\x01"), d.key(b"\x01"), "another key");
            assert!(
                Fact::from_json(&json, b"\x01", other).is_none(),
                "a fact is not read under other dependencies"
            );
        }
        assert!(
            Fact::from_json(&json, b"\x02", &d).is_none(),
            "nor for another object"
        );
    }

    #[test]
    fn only_complete_proofs_and_signature_free_objects_are_kept() {
        let d = depends(&TrustedRoot::public_good(), Waivers::default());
        let undecided = Report {
            outcome: Outcome::Undecided(crate::verify::Undecided::NoTimeAnchor),
            ..signed(Outcome::Good, tlog())
        };
        assert!(Fact::of(b"\x01", &d, &undecided).is_none());
        let chain = Report {
            outcome: Outcome::Bad(Failure::NoTimeAnchor),
            ..signed(Outcome::Good, tlog())
        };
        assert!(
            Fact::of(b"\x01", &d, &chain).is_none(),
            "other bad verdicts"
        );
        let no_anchor = Report {
            anchor: None,
            ..signed(Outcome::Good, tlog())
        };
        assert!(Fact::of(b"\x01", &d, &no_anchor).is_none());
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
            let fact = Fact::of(b"\x03", &d, &report).expect("kept");
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
        let mut facts = Facts::open(&path, d);
        assert!(facts.report(b"\x01", &alice()).is_none());
        facts.note(b"\x01", &signed(Outcome::Good, tlog()));
        facts.flush().expect("written");
        let again = Facts::open(&path, d);
        assert_eq!(
            again.report(b"\x01", &alice()).map(|r| r.outcome),
            Some(Outcome::Good)
        );
        let waived = Facts::open(
            &path,
            depends(
                &TrustedRoot::public_good(),
                Waivers::from_flags(true, false),
            ),
        );
        assert!(
            waived.report(b"\x01", &alice()).is_none(),
            "the same store holds other dependencies' facts apart"
        );
    }
}
