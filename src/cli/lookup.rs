//! The online-mode pipeline shared by `gitsign verify` and `gitsign hook`: signatures made in
//! Go gitsign's online Rekor mode carry no log entry, so their signing time is proven by an
//! entry found outside the signature.
//!
//! 1. [`kept_proofs`] + [`verify_with_proofs`]: proofs kept by an earlier lookup — the proof
//!    cache (`<git common dir>/gitsign/proofs`) and git notes under `refs/notes/gitsign` — are
//!    tried first, and re-verified like any Rekor answer.
//! 2. [`look_up`]: the objects still lacking a proof are looked up in Rekor concurrently
//!    ([`crate::proofs::lookup`], settings from [`Lookups::from_config`]) and verified again
//!    with what Rekor returned; a failed lookup leaves the object undecided with the Rekor URL
//!    and the error in its verdict.
//! 3. [`keep`]: the proof that anchored an object is written to the proof cache, so the next
//!    verification of the same object (a re-push, a later `gitsign verify`) needs no network.
//!
//! Every anchor found here is [`EntrySource::LookedUp`](crate::verify::EntrySource), so a policy
//! that wants the entry embedded in the signature can tell the difference.

use rayon::prelude::*;

use super::CliError;
use crate::config::{Config, Key};
use crate::git::object::{self, HashKind};
use crate::git::object_id;
use crate::proofs::{Cache, Notes, Wanted};
use crate::rekor::Fetched;
use crate::verify::{self, ObjectKind, Report};

/// Rekor lookup settings: where, how long per request, how many in flight, overall deadline.
pub struct Lookups {
    http: crate::http::Http,
    url: String,
    concurrency: usize,
    deadline_secs: u64,
    deadline: std::time::Instant,
}

impl Lookups {
    /// `gitsign.rekor`, `gitsign.timeout`, `gitsign.rekorConcurrency`, `gitsign.rekorDeadline`
    /// (and their environment variables); the deadline starts now.
    pub fn from_config(config: &Config) -> Result<Lookups, CliError> {
        let timeout = config.positive_int(Key::Timeout)?.unwrap_or(10);
        let concurrency = config
            .positive_int(Key::RekorConcurrency)?
            .unwrap_or(16)
            .min(256) as usize;
        let deadline_secs = config.positive_int(Key::RekorDeadline)?.unwrap_or(300);
        Ok(Lookups {
            http: crate::http::Http::new(std::time::Duration::from_secs(timeout)),
            url: config
                .get(Key::Rekor)
                .unwrap_or("https://rekor.sigstore.dev")
                .to_owned(),
            concurrency,
            deadline_secs,
            deadline: std::time::Instant::now() + std::time::Duration::from_secs(deadline_secs),
        })
    }
}

impl Lookups {
    /// The Rekor base URL lookups go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Look `wanted` up: one result per object, in order.
    pub fn fetch(
        &self,
        wanted: &[Wanted],
    ) -> Vec<Result<Vec<Fetched>, crate::proofs::LookupError>> {
        crate::proofs::lookup(
            &self.http,
            &self.url,
            wanted,
            self.concurrency,
            self.deadline,
            self.deadline_secs,
        )
    }
}

/// Where the proof that anchored an object came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofSource {
    Cache,
    Note,
    Rekor,
}

/// A proof and where it came from.
pub type Proof = (Fetched, ProofSource);

/// An object's verdict with the kept or fetched proof that anchored it, if one did.
#[derive(Debug, Clone)]
pub struct Verified {
    pub report: Report,
    pub proof: Option<Proof>,
    /// Whether Rekor could not be asked (unreachable, error answer, past the deadline); the
    /// report is then undecided and names the Rekor URL and the error.
    pub lookup_failed: bool,
}

/// One object waiting for a Rekor entry: its exact bytes and its verdict so far.
pub struct Pending<'a> {
    pub raw: &'a [u8],
    pub kind: ObjectKind,
    pub report: &'a Report,
}

/// The proofs kept for object `hex`: the proof cache first, then the note.
pub fn kept_proofs(cache: &Cache, notes: &Notes, repo: &gix::Repository, hex: &str) -> Vec<Proof> {
    let mut candidates = Vec::new();
    if let Some(f) = cache.get(hex) {
        candidates.push((f, ProofSource::Cache));
    }
    if let Some(f) = notes.get(repo, hex) {
        candidates.push((f, ProofSource::Note));
    }
    candidates
}

/// Verify an object with `candidates` as the entries that may log it (used only when the
/// signature embeds no entry and no timestamp), and pick the candidate that anchored it.
pub fn verify_with_proofs(
    raw: &[u8],
    kind: ObjectKind,
    hash: HashKind,
    opts: &verify::Options<'_>,
    candidates: Vec<Proof>,
) -> Verified {
    let entries: Vec<_> = candidates.iter().map(|(f, _)| f.entry.clone()).collect();
    let report = verify::verify_object_with(raw, kind, hash, opts, &entries);
    let proof = anchoring(&report, candidates);
    Verified {
        report,
        proof,
        lookup_failed: false,
    }
}

/// The proof among `candidates` that anchored `report`, if one did.
fn anchoring(report: &Report, candidates: Vec<Proof>) -> Option<Proof> {
    let Some(verify::Anchor::Tlog { log_index, .. }) = report.anchor else {
        return None;
    };
    candidates
        .into_iter()
        .find(|(f, _)| f.entry.log_index == log_index)
}

fn split(raw: &[u8], kind: ObjectKind, hash: HashKind) -> Option<object::Split> {
    match kind {
        ObjectKind::Commit => object::split_commit(raw, hash),
        ObjectKind::Tag => object::split_tag(raw),
    }
}

/// What Rekor is asked for one object: its ids (as Go gitsign logs them) and its leaf
/// certificate as PEM, for Go gitsign's lookup by key.
fn wanted(raw: &[u8], kind: ObjectKind, hash: HashKind) -> Option<Wanted> {
    let split = split(raw, kind, hash)?;
    let ids = object_id::stored_object_ids(
        raw,
        match kind {
            ObjectKind::Commit => object_id::Kind::Commit,
            ObjectKind::Tag => object_id::Kind::Tag,
        },
        hash,
        &split.payload,
        &split.signature,
    );
    let msg = crate::cms::parse(&split.signature).ok()?;
    let der = msg.certificates.first()?;
    let cert_pem = verify::cert::Cert::parse_shared(der).ok()?.to_pem();
    Some(Wanted { ids, cert_pem })
}

fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Commit => "commit",
        ObjectKind::Tag => "tag",
    }
}

/// Look `pending` up in Rekor (concurrently, batched, bounded by the deadline) and verify each
/// again with what Rekor returned: one result per pending object, in order. An object whose
/// signature cannot even be split keeps its report.
pub fn look_up(
    lk: &Lookups,
    pending: &[Pending<'_>],
    hash: HashKind,
    opts: &verify::Options<'_>,
) -> Vec<Verified> {
    let wants: Vec<Option<Wanted>> = pending
        .iter()
        .map(|p| wanted(p.raw, p.kind, hash))
        .collect();
    let asked: Vec<Wanted> = wants.iter().flatten().cloned().collect();
    let mut found = lk.fetch(&asked).into_iter();
    let results: Vec<_> = wants.iter().map(|w| w.as_ref().and(found.next())).collect();
    pending
        .par_iter()
        .zip(results.into_par_iter())
        .map(|(p, result)| match result {
            None => Verified {
                report: p.report.clone(),
                proof: None,
                lookup_failed: false,
            },
            Some(Ok(fetched)) => {
                let empty = fetched.is_empty();
                let candidates = fetched
                    .into_iter()
                    .map(|f| (f, ProofSource::Rekor))
                    .collect();
                let mut v = verify_with_proofs(p.raw, p.kind, hash, opts, candidates);
                if empty {
                    if let verify::Outcome::Undecided(why) = &mut v.report.outcome {
                        why.push_str(&format!(
                            "; Rekor at {} has no entry for this {}",
                            lk.url,
                            kind_name(p.kind)
                        ));
                    }
                }
                v
            }
            Some(Err(e)) => {
                let mut report = p.report.clone();
                let chain: Vec<String> = anyhow::Error::new(e)
                    .chain()
                    .map(|c| c.to_string())
                    .collect();
                report.outcome = verify::Outcome::Undecided(format!(
                    "Rekor lookup at {} failed: {}",
                    lk.url,
                    chain.join(": ")
                ));
                Verified {
                    report,
                    proof: None,
                    lookup_failed: true,
                }
            }
        })
        .collect()
}

/// Keep a proof Rekor returned in the proof cache of the repository whose common git
/// directory is `common_dir` (proofs that came from the cache or notes are already kept).
/// A failure to write only costs the next verification a lookup, so it is a warning.
pub fn keep(cache: &Cache, common_dir: &std::path::Path, hex: &str, proof: &Proof) {
    let (fetched, source) = proof;
    if *source != ProofSource::Rekor {
        return;
    }
    if let Err(e) = cache.put(hex, fetched) {
        crate::ui::eprint(&format!(
            "gitsign: warning: could not keep the proof of {hex} in {}: {e}\n",
            common_dir.join("gitsign").display()
        ));
    }
}
