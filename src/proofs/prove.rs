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
//! The prover prints nothing: its warnings are returned ([`Prover::take_warnings`]) for the
//! command to render.

use std::sync::{Mutex, OnceLock};

use rayon::prelude::*;

use super::{Cache, Lookups, Notes, Wanted, NOTES_REF};
use crate::config::Config;
use crate::rekor::Fetched;
use crate::verify::{self, NeedsEntry, Report, Undecided};

/// Whether the prover may ask Rekor.
///
/// One rule for unusable lookup settings, whichever command verifies: they decide nothing but
/// the objects that need a lookup, which stay undecided naming the setting and its source
/// ([`Undecided::LookupUnconfigured`]); objects that carry or keep their proof still verify.
pub enum Rekor {
    /// Never (`--offline`): objects without a kept proof stay [`Undecided::Offline`].
    Offline,
    /// Look the objects up with these settings.
    Online(Lookups),
    /// The lookup settings are unusable (the error, naming the setting and its source):
    /// objects without a kept proof stay [`Undecided::LookupUnconfigured`].
    Unusable(String),
}

impl Rekor {
    /// The one constructor: [`Rekor::Offline`] when `offline`, else the lookup settings of
    /// `config` (`gitsign.rekor`, `gitsign.timeout`, `gitsign.rekorConcurrency`,
    /// `gitsign.rekorDeadline`), or [`Rekor::Unusable`] naming the invalid one.
    pub fn from_config(offline: bool, config: &Config) -> Rekor {
        if offline {
            return Rekor::Offline;
        }
        match Lookups::from_config(config) {
            Ok(lk) => Rekor::Online(lk),
            Err(e) => Rekor::Unusable(e.to_string()),
        }
    }
}

/// Something the prover could not do that decided nothing, for the command to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// `refs/notes/gitsign` could not be read: its proofs count as absent.
    #[error("ignoring the proofs in {NOTES_REF}: {error}")]
    NotesIgnored { error: String },
    /// A proof Rekor returned could not be written to the proof cache.
    #[error("could not keep the proof of {id} in {dir}: {error}")]
    NotKept {
        id: String,
        dir: String,
        error: String,
    },
}

impl Warning {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Warning::NotesIgnored { .. } => Some("check it with `git notes --ref=gitsign list`; objects that need a proof from it are looked up instead"),
            Warning::NotKept { .. } => None,
        }
    }
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

/// Finishes online-mode objects from kept proofs, notes or Rekor.
pub struct Prover<'r> {
    /// Shared by the verifying threads, each reading notes through its own handle.
    repo: Option<gix::ThreadSafeRepository>,
    cache: Option<Cache>,
    /// Read on first use: most verifications need no kept proof.
    notes: OnceLock<Notes>,
    rekor: &'r Rekor,
    warnings: Mutex<Vec<Warning>>,
}

impl<'r> Prover<'r> {
    /// The prover of `repo` (`None` outside a repository: nothing kept, only Rekor).
    pub fn new(repo: Option<&gix::ThreadSafeRepository>, rekor: &'r Rekor) -> Prover<'r> {
        Prover {
            repo: repo.cloned(),
            cache: repo.map(|r| Cache::new(r.to_thread_local().common_dir())),
            notes: OnceLock::new(),
            rekor,
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// The notes read (for attaching new proofs on top of them), read once; unreadable notes
    /// are a warning and count as absent.
    pub fn notes(&self) -> &Notes {
        self.notes.get_or_init(|| {
            let Some(repo) = &self.repo else {
                return Notes::default();
            };
            match Notes::load(&repo.to_thread_local()) {
                Ok(notes) => notes,
                Err(e) => {
                    self.warn(Warning::NotesIgnored {
                        error: crate::text::one_line(&e),
                    });
                    Notes::default()
                }
            }
        })
    }

    /// The warnings since the last call.
    pub fn take_warnings(&self) -> Vec<Warning> {
        self.warnings
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }

    fn warn(&self, w: Warning) {
        if let Ok(mut all) = self.warnings.lock() {
            all.push(w);
        }
    }

    /// The proofs kept for object `hex`: the proof cache first, then the note.
    fn kept(&self, repo: Option<&gix::Repository>, hex: &str) -> Vec<(Fetched, ProofSource)> {
        let mut kept = Vec::new();
        if let Some(f) = self.cache.as_ref().and_then(|c| c.get(hex)) {
            kept.push((f, ProofSource::Cache));
        }
        if let Some(f) = repo.and_then(|r| self.notes().get(r, hex)) {
            kept.push((f, ProofSource::Note));
        }
        kept
    }

    /// Finish every pending object: one result per object, in order.
    pub fn prove(&self, pending: &[&NeedsEntry], verifier: &verify::Verifier<'_>) -> Vec<Proven> {
        let unfound = match self.rekor {
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
        let Rekor::Online(lk) = self.rekor else {
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
                        error: crate::text::one_line(&e),
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
            self.warn(Warning::NotKept {
                id: hex.to_owned(),
                dir: cache.dir().display().to_string(),
                error: e.to_string(),
            });
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
