//! The verified facts of objects, kept in the receiving repository so that judging an object
//! again — under another ref's rule, on a later push — costs no cryptography.
//!
//! A fact is what a good verification established, independent of any rule: the signer's
//! identity (SANs, issuer, Fulcio extensions), the time anchor (Rekor entry, embedded or looked
//! up, or RFC 3161 timestamp) and the signing time. It is keyed by object id (a hash of the
//! exact bytes) and by a digest of the trust root and verification options it was verified
//! under ([`root_digest`]), so a changed trust root verifies everything again. Only good
//! verdicts are kept: a bad or undecided object is verified again each time (a later proof may
//! decide it).
//!
//! Layout: `<git common dir>/gitsign/facts/<root digest, 16 hex>/<id[..2]>/<id[2..]>.json`,
//! outside refs and objects, so facts never travel with a push, a fetch or notes. Bounded: one
//! file of at most [`MAX_FACT_BYTES`] per object and trust root, for objects that verified good
//! (so at most one per signed object the repository received: the hook keeps facts only for
//! an accepted push, never for the objects of a refused one, which git discards). Files are opened as regular
//! files only (no symlink followed, a FIFO neither waited on nor read) and read up to the cap;
//! anything unreadable, oversized, malformed or about another object is ignored and the object
//! verified afresh. Both through [`crate::fsutil`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gix::ObjectId;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::fsutil;
use crate::trust::{Authority, LogKey, TrustedRoot, Validity};
use crate::verify::policy::Identity;
use crate::verify::{Anchor, EntrySource, Logged, Outcome, Report};
use crate::x509::fulcio::FulcioExtension;

/// The largest fact file read or written (a fact is a few hundred bytes; SANs are bounded by
/// the certificate, which Fulcio limits).
pub const MAX_FACT_BYTES: u64 = 16 * 1024;

/// 2: facts keep every Fulcio extension (`extensions`), which policies may constrain; facts
/// of version 1 lack them, so they are not read (their trust-root digest differs too).
const VERSION: u32 = 2;

/// A digest of everything a verification's verdict depends on besides the object's bytes: the
/// trust root's authorities, logs and their validity windows, and the SCT option. Computed over
/// the parsed root, so it follows the root actually used wherever it came from.
pub fn root_digest(root: &TrustedRoot, insecure_ignore_sct: bool) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(b"gitsign facts v2");
    field(&[u8::from(insecure_ignore_sct)]);
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
    crate::encoding::hex(&h.finalize())
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Fact {
    version: u32,
    object: String,
    root: String,
    sans: Vec<String>,
    issuer: Option<String>,
    github_workflow_trigger: Option<String>,
    github_workflow_sha: Option<String>,
    github_workflow_name: Option<String>,
    github_workflow_repository: Option<String>,
    github_workflow_ref: Option<String>,
    /// Every Fulcio extension of the certificate, by its policy key.
    extensions: BTreeMap<String, String>,
    anchor: FactAnchor,
    signing_time: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum FactAnchor {
    Tlog {
        log_index: i64,
        integrated_time: i64,
        log_url: String,
        embedded: bool,
    },
    Timestamp {
        time: i64,
        tsa: String,
        /// The Rekor v2 entry (index, log URL) verified beside the timestamp.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        logged: Option<(i64, String)>,
    },
}

impl Fact {
    /// The fact of a good report; `None` for anything else (nothing to keep).
    fn of(id: &ObjectId, root: &str, report: &Report) -> Option<Fact> {
        if report.outcome != Outcome::Good {
            return None;
        }
        let identity = report.identity.as_ref()?;
        let anchor = match report.anchor.as_ref()? {
            Anchor::Tlog {
                log_index,
                integrated_time,
                log_url,
                source,
            } => FactAnchor::Tlog {
                log_index: *log_index,
                integrated_time: *integrated_time,
                log_url: log_url.clone(),
                embedded: *source == EntrySource::Embedded,
            },
            Anchor::Timestamp { time, tsa, logged } => FactAnchor::Timestamp {
                time: *time,
                tsa: tsa.clone(),
                logged: logged.as_ref().map(|l| (l.log_index, l.log_url.clone())),
            },
            // Never kept: nothing proved the time.
            Anchor::Unanchored { .. } => return None,
        };
        Some(Fact {
            version: VERSION,
            object: id.to_string(),
            root: root.to_owned(),
            sans: identity.sans.clone(),
            issuer: identity.issuer.clone(),
            github_workflow_trigger: identity.github_workflow_trigger.clone(),
            github_workflow_sha: identity.github_workflow_sha.clone(),
            github_workflow_name: identity.github_workflow_name.clone(),
            github_workflow_repository: identity.github_workflow_repository.clone(),
            github_workflow_ref: identity.github_workflow_ref.clone(),
            extensions: identity
                .extensions
                .iter()
                .map(|(e, v)| (e.key().to_owned(), v.clone()))
                .collect(),
            anchor,
            signing_time: report.signing_time,
        })
    }

    /// The report the fact stands for (the certificate summary is not kept: no rule reads it).
    fn report(self) -> Report {
        Report {
            outcome: Outcome::Good,
            identity: Some(Identity {
                sans: self.sans,
                issuer: self.issuer,
                github_workflow_trigger: self.github_workflow_trigger,
                github_workflow_sha: self.github_workflow_sha,
                github_workflow_name: self.github_workflow_name,
                github_workflow_repository: self.github_workflow_repository,
                github_workflow_ref: self.github_workflow_ref,
                // A key this build does not know cannot be constrained by its policies.
                extensions: self
                    .extensions
                    .into_iter()
                    .filter_map(|(k, v)| Some((FulcioExtension::from_key(&k)?, v)))
                    .collect(),
            }),
            cert: None,
            anchor: Some(match self.anchor {
                FactAnchor::Tlog {
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
                FactAnchor::Timestamp { time, tsa, logged } => Anchor::Timestamp {
                    time,
                    tsa,
                    logged: logged.map(|(log_index, log_url)| Logged { log_index, log_url }),
                },
            }),
            signing_time: self.signing_time,
        }
    }
}

/// The facts verified under one trust root, in one repository.
#[derive(Debug, Clone)]
pub struct Facts {
    dir: PathBuf,
    root: String,
}

impl Facts {
    /// The store of the repository whose common git directory is `common_dir`, for facts
    /// verified under `root` ([`root_digest`]).
    pub fn new(common_dir: &Path, root: String) -> Facts {
        let short = root.get(..16).unwrap_or(&root);
        Facts {
            dir: common_dir.join("gitsign").join("facts").join(short),
            root,
        }
    }

    fn path(&self, id: &ObjectId) -> PathBuf {
        let hex = id.to_string();
        let (a, b) = hex.split_at(2);
        self.dir.join(a).join(format!("{b}.json"))
    }

    /// The report kept for `id`, if a good one is.
    pub fn get(&self, id: &ObjectId) -> Option<Report> {
        let bytes = fsutil::read_capped(&self.path(id), MAX_FACT_BYTES).ok()?;
        let fact: Fact = serde_json::from_slice(&bytes).ok()?;
        (fact.version == VERSION
            && ObjectId::from_hex(fact.object.as_bytes()).ok() == Some(*id)
            && fact.root == self.root)
            .then(|| fact.report())
    }

    /// Keep what `report` established about `id`; a report that is not good keeps nothing.
    /// Written atomically ([`fsutil::write_atomic`]), so a reader never sees half a fact.
    pub fn put(&self, id: &ObjectId, report: &Report) -> std::io::Result<()> {
        let Some(fact) = Fact::of(id, &self.root, report) else {
            return Ok(());
        };
        let bytes = serde_json::to_vec(&fact).map_err(std::io::Error::other)?;
        if bytes.len() as u64 > MAX_FACT_BYTES {
            return Ok(());
        }
        fsutil::write_atomic(
            &self.path(id),
            &bytes,
            fsutil::Access::Shared,
            fsutil::Durability::Cache,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::from_hex(format!("{n:040x}").as_bytes()).expect("hex id")
    }

    fn good(source: EntrySource) -> Report {
        Report {
            outcome: Outcome::Good,
            identity: Some(Identity {
                sans: vec!["alice@example.com".into()],
                issuer: Some("https://accounts.example.com".into()),
                github_workflow_ref: Some("refs/heads/main".into()),
                // Kept so rules constraining them judge a kept fact as a fresh verification.
                extensions: [
                    (FulcioExtension::GithubWorkflowRef, "refs/heads/main".into()),
                    (FulcioExtension::RunnerEnvironment, "github-hosted".into()),
                ]
                .into(),
                ..Identity::default()
            }),
            cert: None,
            anchor: Some(Anchor::Tlog {
                log_index: 7,
                integrated_time: 1_700_000_000,
                log_url: "https://rekor.example.com".into(),
                source,
            }),
            signing_time: Some(1_700_000_000),
        }
    }

    fn same(a: &Report, b: &Report) -> bool {
        a.outcome == b.outcome
            && a.identity == b.identity
            && a.anchor == b.anchor
            && a.signing_time == b.signing_time
    }

    #[test]
    fn keeps_good_facts_per_object_and_trust_root() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = TrustedRoot::public_good();
        let digest = root_digest(&root, false);
        let facts = Facts::new(dir.path(), digest.clone());
        assert!(facts.get(&id(1)).is_none(), "nothing kept yet");
        for (n, source) in [(1, EntrySource::Embedded), (2, EntrySource::LookedUp)] {
            let report = good(source);
            facts.put(&id(n), &report).expect("kept");
            let back = facts.get(&id(n)).expect("found again");
            assert!(same(&back, &report), "{back:?} is what was kept");
        }
        let undecided = Report {
            outcome: Outcome::Undecided(crate::verify::Undecided::NoTimeAnchor),
            ..good(EntrySource::Embedded)
        };
        facts.put(&id(3), &undecided).expect("nothing to keep");
        assert!(
            facts.get(&id(3)).is_none(),
            "undecided verdicts are not kept"
        );
        let bad = Report {
            outcome: Outcome::Bad(crate::verify::Failure::Unsigned),
            ..good(EntrySource::Embedded)
        };
        facts.put(&id(4), &bad).expect("nothing to keep");
        assert!(facts.get(&id(4)).is_none(), "bad verdicts are not kept");

        let other = Facts::new(dir.path(), root_digest(&root, true));
        assert!(
            other.get(&id(1)).is_none(),
            "facts verified with SCTs required do not serve a store that ignores them, and back"
        );
        // A fact moved under another object's name is ignored.
        std::fs::copy(facts.path(&id(1)), facts.path(&id(2))).expect("copy");
        assert!(facts.get(&id(2)).is_none(), "the fact names another object");
    }

    #[test]
    fn root_digest_follows_the_trust_root() {
        let root = TrustedRoot::public_good();
        let a = root_digest(&root, false);
        assert_eq!(a, root_digest(&root.clone(), false), "deterministic");
        let mut fewer = root.clone();
        fewer.tlogs.pop();
        assert_ne!(a, root_digest(&fewer, false), "a log removed changes it");
        let mut moved = root.clone();
        if let Some(l) = moved.tlogs.first_mut() {
            l.valid_for.end = Some(1);
        }
        assert_ne!(
            a,
            root_digest(&moved, false),
            "a validity window changes it"
        );
        assert_eq!(a.len(), 64);
    }

    #[cfg(unix)]
    #[test]
    fn hostile_fact_files_are_ignored_without_blocking() {
        let dir = tempfile::tempdir().expect("temp dir");
        let facts = Facts::new(dir.path(), root_digest(&TrustedRoot::public_good(), false));
        facts
            .put(&id(1), &good(EntrySource::Embedded))
            .expect("kept");
        let real = facts.path(&id(1));
        // A symlink to a good fact, a FIFO, an oversized file, garbage.
        let link = facts.path(&id(2));
        std::fs::create_dir_all(link.parent().expect("parent")).expect("dir");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        assert!(facts.get(&id(2)).is_none(), "symlinks are not followed");
        let fifo = facts.path(&id(3));
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .expect("mkfifo");
        assert!(
            facts.get(&id(3)).is_none(),
            "a FIFO is refused, not waited on"
        );
        let big = facts.path(&id(4));
        std::fs::write(&big, vec![b' '; MAX_FACT_BYTES as usize + 1]).expect("write");
        assert!(facts.get(&id(4)).is_none(), "oversized files are not read");
        std::fs::write(facts.path(&id(5)), b"{\"version\":1").expect("write");
        assert!(facts.get(&id(5)).is_none(), "malformed facts are ignored");
        let dev_zero = facts.path(&id(6));
        std::os::unix::fs::symlink("/dev/zero", &dev_zero).expect("symlink");
        assert!(
            facts.get(&id(6)).is_none(),
            "a symlink to /dev/zero is refused"
        );
    }
}
