//! The online-mode prover, shared by `gitsign verify`, `gitsign verify-tag`, git's `--verify`
//! mode and `gitsign hook`: signatures made in Go gitsign's online Rekor mode carry no log
//! entry, so their signing time is proven by an entry found outside the signature.
//!
//! The first verification pass ([`crate::verify::Verifier::check_object`]) proves everything but the
//! time and hands over a [`NeedsEntry`]; [`Prover::prove`] finishes it:
//! 1. proofs kept by an earlier lookup — the proof cache (`<git common dir>/gitsign/proofs`)
//!    first, then git notes under [`NOTES_REF`] — each verified like any Rekor answer;
//! 2. unless offline, the objects still lacking a proof are looked up in Rekor concurrently
//!    ([`Lookups`]); a failed lookup leaves the object undecided with the Rekor URL and the
//!    error ([`Undecided::LookupFailed`]);
//! 3. the proof Rekor returned that anchored an object is written to the proof cache, so the
//!    next verification of the same object (a re-push, a later `gitsign verify`) needs no
//!    network.
//!
//! Every anchor found here is [`EntrySource::LookedUp`](crate::verify::EntrySource), so a policy
//! that wants the entry embedded in the signature can tell the difference.
//!
//! Unreadable notes (a malformed `refs/notes/gitsign`) have one rule everywhere: a warning,
//! once, and the notes count as absent — they only spare lookups, so ignoring them never
//! accepts anything, and objects that carry their own proof still verify (issue 16.8).

use rayon::prelude::*;

use super::{Cache, LookupError, Lookups, Notes, Wanted, NOTES_REF};
use crate::rekor::Fetched;
use crate::verify::{self, NeedsEntry, Outcome, Report, Undecided};

/// Whether the prover may ask Rekor.
pub enum Rekor {
    /// Never (`--offline`): objects without a kept proof stay [`Undecided::Offline`].
    Offline,
    /// Look the objects up with these settings.
    Online(Lookups),
    /// The lookup settings are unusable (the error, naming the setting and its source):
    /// objects without a kept proof stay [`Undecided::LookupUnconfigured`].
    Unusable(String),
}

/// Where the proof that anchored an object came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofSource {
    Cache,
    Note,
    Rekor,
}

/// An object's final verdict, with the proof that anchored it, if one did.
#[derive(Debug, Clone)]
pub struct Proven {
    pub report: Report,
    pub proof: Option<(Fetched, ProofSource)>,
}

impl Proven {
    /// Whether Rekor could not be asked (unreachable, error answer, past the deadline).
    pub fn lookup_failed(&self) -> bool {
        matches!(
            self.report.outcome,
            Outcome::Undecided(Undecided::LookupFailed { .. })
        )
    }
}

/// Finishes online-mode objects from kept proofs, notes or Rekor.
pub struct Prover {
    /// Shared by the verifying threads, each reading notes through its own handle.
    repo: Option<gix::ThreadSafeRepository>,
    cache: Option<Cache>,
    notes: Notes,
    rekor: Rekor,
}

impl Prover {
    /// The prover of `repo` (`None` outside a repository: nothing kept, only Rekor). Its notes
    /// are read once; unreadable notes are a warning and count as absent.
    pub fn new(repo: Option<&gix::Repository>, rekor: Rekor) -> Prover {
        let notes = match repo.map(Notes::load) {
            Some(Ok(notes)) => notes,
            Some(Err(e)) => {
                let mut msg = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    msg.push_str(&format!(": {s}"));
                    src = s.source();
                }
                crate::ui::eprint(&format!(
                    "gitsign: warning: ignoring the proofs in {NOTES_REF}: {}\nHint: check it with `git notes --ref=gitsign list`; objects that need a proof from it are looked up instead\n",
                    crate::text::escape(&msg)
                ));
                Notes::default()
            }
            None => Notes::default(),
        };
        Prover {
            repo: repo.map(|r| r.clone().into_sync()),
            cache: repo.map(|r| Cache::new(r.common_dir())),
            notes,
            rekor,
        }
    }

    /// The notes read (for attaching new proofs on top of them).
    pub fn notes(&self) -> &Notes {
        &self.notes
    }

    /// The proofs kept for object `hex`: the proof cache first, then the note.
    fn kept(&self, repo: Option<&gix::Repository>, hex: &str) -> Vec<(Fetched, ProofSource)> {
        let mut kept = Vec::new();
        if let Some(f) = self.cache.as_ref().and_then(|c| c.get(hex)) {
            kept.push((f, ProofSource::Cache));
        }
        if let Some(f) = repo.and_then(|r| self.notes.get(r, hex)) {
            kept.push((f, ProofSource::Note));
        }
        kept
    }

    /// Finish every pending object: one result per object, in order.
    pub fn prove(&self, pending: &[&NeedsEntry], verifier: &verify::Verifier<'_>) -> Vec<Proven> {
        let unfound = match &self.rekor {
            Rekor::Offline => Undecided::Offline,
            // Replaced by the lookup's answer below.
            Rekor::Online(lk) => Undecided::NotInLog {
                rekor_url: lk.url().to_owned(),
            },
            Rekor::Unusable(error) => Undecided::LookupUnconfigured {
                error: error.clone(),
            },
        };
        // 1. Kept proofs.
        let mut proven: Vec<Proven> = pending
            .par_iter()
            .map_init(
                || self.repo.as_ref().map(|r| r.to_thread_local()),
                |repo, needs| {
                    let kept = self.kept(repo.as_ref(), &needs.ids.real);
                    complete(needs, kept, verifier, unfound.clone())
                },
            )
            .collect();
        let Rekor::Online(lk) = &self.rekor else {
            return proven;
        };
        // 2. Rekor, for the objects no kept proof anchored.
        let ask: Vec<usize> = (0..pending.len())
            .filter(|&i| proven[i].proof.is_none())
            .collect();
        if ask.is_empty() {
            return proven;
        }
        let wanted: Vec<Wanted> = ask
            .iter()
            .map(|&i| Wanted {
                ids: pending[i].ids.clone(),
                cert_pem: pending[i].leaf_pem(),
            })
            .collect();
        let found = lk.fetch(&wanted);
        let redone: Vec<Proven> = ask
            .par_iter()
            .zip(found.into_par_iter())
            .map(|(&i, result)| match result {
                Ok(fetched) => {
                    let candidates = fetched
                        .into_iter()
                        .map(|f| (f, ProofSource::Rekor))
                        .collect();
                    complete(pending[i], candidates, verifier, unfound.clone())
                }
                Err(e) => Proven {
                    report: pending[i].undecided(Undecided::LookupFailed {
                        rekor_url: lk.url().to_owned(),
                        error: lookup_error_text(&e),
                    }),
                    proof: None,
                },
            })
            .collect();
        for (i, p) in ask.into_iter().zip(redone) {
            if let Some((fetched, _)) = &p.proof {
                self.keep(&pending[i].ids.real, fetched);
            }
            proven[i] = p;
        }
        proven
    }

    /// Keep a proof Rekor returned in the proof cache. A failure to write only costs the next
    /// verification a lookup, so it is a warning.
    fn keep(&self, hex: &str, fetched: &Fetched) {
        let Some(cache) = &self.cache else { return };
        if let Err(e) = cache.put(hex, fetched) {
            crate::ui::eprint(&format!(
                "gitsign: warning: could not keep the proof of {hex} in {}: {e}\n",
                cache.dir().display()
            ));
        }
    }
}

/// Finish `needs` with `candidates`, and pick the candidate that anchored it.
fn complete(
    needs: &NeedsEntry,
    candidates: Vec<(Fetched, ProofSource)>,
    verifier: &verify::Verifier<'_>,
    unfound: Undecided,
) -> Proven {
    let entries: Vec<_> = candidates.iter().map(|(f, _)| f.entry.clone()).collect();
    let (report, anchoring) = needs.complete(&entries, verifier, unfound);
    Proven {
        report,
        proof: anchoring.and_then(|i| candidates.into_iter().nth(i)),
    }
}

/// The lookup error and its causes on one line.
fn lookup_error_text(e: &LookupError) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    msg
}
