//! The verification driver: every verifying command (`gitsign verify`, `verify-tag`, git's
//! `--verify` mode, `gitsign hook`, `verify-attestation`) checks its objects here, against one
//! [`VerifySetup`], in one composition:
//!
//! 1. the first pass, on every core: each signature goes to the verifier of its format
//!    ([`format::first_pass`], the one dispatch on formats), which proves everything a
//!    signature carries;
//! 2. the online proofs: what the first pass left undecided for want of a log entry only is
//!    finished by the [`Prover`] — kept proofs, notes, then Rekor, concurrently;
//! 3. the merge: one [`Verified`] per object, in the order given.
//!
//! A revision range is walked on its own thread a chunk ahead ([`Checker::check_range`]), so a
//! long range streams: each chunk's verdicts are handed over, in walk order, as soon as they
//! are final, with the warnings met on the way. Nothing here prints: warnings are returned for
//! the command to render.

pub mod format;
pub mod key_files;
pub mod setup;

use std::ops::ControlFlow;
use std::sync::OnceLock;

use gix::ObjectId;
use rayon::prelude::*;

use crate::facts;
use crate::git::object::HashKind;
use crate::git::object_id;
use crate::git::packs::Packs;
use crate::git::repo::{raw_object, Repo, RepoError, Selection};
use crate::proofs::{Notes, ProofSource, Prover, Rekor, Warning};
use crate::rekor::Fetched;
use crate::verify::{
    policy::Policy, Failure, NeedsEntry, ObjectKind, Report, VerificationInput, Verifier,
};

pub use format::{FirstPass, Format, Signer};
pub use key_files::{KeyFileError, KeyFiles};
pub use setup::{Keys, VerifySetup};

/// One signed thing to check.
#[derive(Debug, Clone, Copy)]
pub enum Signed<'a> {
    /// A raw git object, exact bytes from the object database.
    Object {
        raw: &'a [u8],
        kind: ObjectKind,
        hash: HashKind,
    },
    /// A detached signature (PEM or DER) over a commit or tag payload: git's `--verify`.
    Detached {
        payload: &'a [u8],
        signature: &'a [u8],
    },
    /// A verification input already built (a Sigstore bundle): it carries its own proofs.
    /// `kept_as`: the digest of the bytes it was built from when its verdict may be kept
    /// (an attestation, [`facts::attestation_object`]); `None`: verified every time.
    Input {
        input: &'a VerificationInput,
        kept_as: Option<[u8; 32]>,
    },
}

/// The final answer about one object.
#[derive(Debug, Clone)]
pub struct Verified {
    pub report: Report,
    /// The signature's format.
    pub format: Format,
    /// Who signed, as the format names them (also when the verdict is not good).
    pub signer: Option<Signer>,
    /// The proof found outside the signature that anchored it, and where it came from. Boxed:
    /// rarely present, and a verdict is moved several times on its way to the output.
    pub proof: Option<Box<(Fetched, ProofSource)>>,
}

impl Verified {
    /// A Sigstore verdict reached without the driver (a bundle that does not parse).
    pub fn sigstore(report: Report) -> Verified {
        Verified {
            signer: Signer::of_report(&report),
            report,
            format: Format::Sigstore,
            proof: None,
        }
    }
}

/// The verdicts on a batch of objects, in order, and the warnings met on the way.
#[derive(Debug, Default)]
pub struct Batch {
    pub verified: Vec<Verified>,
    pub warnings: Vec<Warning>,
}

/// Where kept proofs (proof cache, notes) are read and written.
#[derive(Clone, Copy)]
pub enum Kept<'a> {
    /// Nowhere: outside a repository, only Rekor.
    Nowhere,
    /// In this repository.
    In(&'a gix::ThreadSafeRepository),
    /// In the process's repository, if there is one, opened only when a proof is needed.
    Discovered,
}

/// Why a range could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    #[error(transparent)]
    Read(RepoError),
    #[error(transparent)]
    Walk(RepoError),
    #[error("walking the range failed")]
    WalkerPanicked,
}

/// The driver: a verifier, an identity policy and a prover, composed once.
pub struct Checker<'a> {
    verifier: Verifier<'a>,
    keys: &'a Keys,
    policy: &'a Policy,
    rekor: &'a Rekor,
    kept: Kept<'a>,
    prover: OnceLock<Prover<'a>>,
    facts: Option<FactsAt>,
    /// The store, being read since before the checker was made ([`Checker::with_loading`]).
    loading: std::sync::Mutex<Option<facts::Loading>>,
}

/// Where verified facts are kept and what they depend on ([`crate::facts`]).
struct FactsAt {
    path: std::path::PathBuf,
    root: [u8; 32],
    waivers: crate::verify::Waivers,
    keys: [u8; 32],
}

impl FactsAt {
    /// The facts of the repository whose common git directory is `common_dir`, under the
    /// trust root whose digest is `root`, `waivers` and `keys`. Unix only: concurrent appends
    /// are whole records there (O_APPEND); on Windows the store's writers were seen to lose
    /// records, so nothing is kept or reused.
    fn new(
        common_dir: &std::path::Path,
        root: [u8; 32],
        waivers: crate::verify::Waivers,
        keys: &Keys,
    ) -> Option<FactsAt> {
        cfg!(unix).then(|| FactsAt {
            path: facts::path(common_dir),
            root,
            waivers,
            keys: facts::keys_digest(&keys.openpgp, &keys.ssh_allowed, &keys.ssh_revoked),
        })
    }

    fn depends(&self, checked: facts::Checked) -> facts::Depends {
        facts::Depends::new(&self.root, self.waivers, &self.keys, checked)
    }

    /// The fact kept about one signed thing, looked up without loading the store, and the
    /// warning if the store was ignored.
    fn find(
        &self,
        subject: Option<&(Vec<u8>, facts::Checked)>,
        policy: &Policy,
    ) -> (Option<facts::Kept>, Option<Warning>) {
        let Some((object, checked)) = subject else {
            return (None, None);
        };
        let (kept, warning) =
            facts::Facts::find(&self.path, &self.depends(*checked), object, policy);
        (kept, warning.map(Warning::FactsIgnored))
    }

    fn not_kept(&self, e: &std::io::Error) -> Warning {
        Warning::FactsNotKept {
            path: self.path.display().to_string(),
            error: e.to_string(),
        }
    }
}

/// The verdict kept about a detached signature over `payload` (git's `--verify`) in the facts
/// of the repository whose common git directory is `common_dir`, looked up before any
/// verification setup is built: `root_digest` is the trust root's
/// ([`VerifySetup::root_digest`]), `waivers` and `keys` what the setup would hold. The same
/// look-up [`Checker::check`] makes with facts ([`Checker::with_facts`]); `None` when nothing
/// is kept, with the warning if the store was ignored.
pub fn kept_detached(
    common_dir: &std::path::Path,
    root_digest: [u8; 32],
    waivers: crate::verify::Waivers,
    keys: &Keys,
    policy: &Policy,
    payload: &[u8],
    signature: &[u8],
) -> (Option<Verified>, Option<Warning>) {
    let Some(at) = FactsAt::new(common_dir, root_digest, waivers, keys) else {
        return (None, None);
    };
    let subject = fact_subject(&Signed::Detached { payload, signature });
    let (kept, warning) = at.find(subject.as_ref(), policy);
    (kept.map(from_kept), warning)
}

/// What a fact about `signed` is about: the object (its id, or the digest of a detached
/// payload and signature) and what was checked. `None` for a bundle (never kept).
fn fact_subject(signed: &Signed<'_>) -> Option<(Vec<u8>, facts::Checked)> {
    match *signed {
        Signed::Object { raw, kind, hash } => {
            let (name, checked) = match kind {
                ObjectKind::Commit => (
                    "commit",
                    facts::Checked::Commit {
                        sha256: hash == HashKind::Sha256,
                    },
                ),
                ObjectKind::Tag => ("tag", facts::Checked::Tag),
            };
            let id = crate::encoding::unhex(&object_id::hash_object(name, raw, hash))?;
            Some((id, checked))
        }
        Signed::Detached { payload, signature } => Some((
            facts::detached_object(payload, signature).to_vec(),
            facts::Checked::Detached,
        )),
        Signed::Input { kept_as, .. } => {
            kept_as.map(|digest| (digest.to_vec(), facts::Checked::Attestation))
        }
    }
}

/// The signed bytes of `signed` whose headers state the signer's time.
fn payload_of<'s>(signed: &Signed<'s>) -> &'s [u8] {
    match *signed {
        Signed::Object { raw, .. } => raw,
        Signed::Detached { payload, .. } => payload,
        Signed::Input { .. } => &[],
    }
}

/// Every item's verdict in order: the one its kept fact stands for where it had one (`kept`,
/// see [`from_kept`]), else the next of the `fresh` verdicts of the items without.
fn merge_kept(
    kept: impl ExactSizeIterator<Item = Option<Verified>>,
    fresh: Vec<Verified>,
) -> Vec<Verified> {
    // Sized once: a verdict is most of a kilobyte, and a range's chunk holds hundreds.
    let mut all = Vec::with_capacity(kept.len());
    let mut fresh = fresh.into_iter();
    for k in kept {
        all.extend(k.or_else(|| fresh.next()));
    }
    all
}

/// The verdict a kept fact stands for.
fn from_kept(kept: facts::Kept) -> Verified {
    let (signer, format) = match kept.keyed {
        Some(k) => {
            let (signer, format) = Signer::of_keyed(k);
            (Some(signer), format)
        }
        None => (Signer::of_report(&kept.report), kept_format(&kept.report)),
    };
    Verified {
        report: kept.report,
        format,
        signer,
        proof: None,
    }
}

/// Verdicts whose new facts are noted and not yet kept ([`Checker::check_noting`]): kept by
/// [`Noted::keep`], or dropped with it (the hook keeps no facts of a refused push).
pub struct Noted<'c> {
    /// Which verdicts came from kept facts, with no verification.
    pub known: Vec<bool>,
    facts: Option<(&'c FactsAt, facts::Facts)>,
}

impl Noted<'_> {
    /// Append the noted facts to the store in one write; the warning if that failed.
    pub fn keep(self) -> Option<Warning> {
        let (at, mut store) = self.facts?;
        store.flush().err().map(|e| at.not_kept(&e))
    }
}

impl<'a> Checker<'a> {
    /// Check against `setup`, requiring `policy`, with proofs kept where `kept` says.
    pub fn new(setup: &'a VerifySetup, policy: &'a Policy, kept: Kept<'a>) -> Checker<'a> {
        Checker {
            verifier: setup.verifier(),
            keys: &setup.keys,
            policy,
            rekor: &setup.rekor,
            kept,
            prover: OnceLock::new(),
            facts: None,
            loading: std::sync::Mutex::new(None),
        }
    }

    /// Reuse and keep verified facts in the store of the repository whose common git
    /// directory is `common_dir` ([`crate::facts`]): every object and detached signature
    /// checked ([`Checker::check`], [`Checker::check_range`]) is looked up before it is
    /// verified, and what is proved is kept. Not with a detached SCT (`--sct`), which is no
    /// part of the key.
    pub fn with_facts(mut self, setup: &VerifySetup, common_dir: &std::path::Path) -> Checker<'a> {
        if setup.detached_sct.is_none() {
            self.facts = FactsAt::new(common_dir, setup.root_digest, setup.waivers, &setup.keys);
        }
        self
    }

    /// The store [`Checker::with_facts`] names, already being read ([`facts::Facts::load`]
    /// of the same directory): a range waits for it instead of reading it again.
    pub fn with_loading(self, loading: Option<facts::Loading>) -> Checker<'a> {
        if let Ok(mut slot) = self.loading.lock() {
            *slot = loading;
        }
        self
    }

    /// The prover, made when first needed (it opens the repository in [`Kept::Discovered`]).
    fn prover(&self) -> &Prover<'a> {
        self.prover.get_or_init(|| match self.kept {
            Kept::Nowhere => Prover::new(None, self.rekor),
            Kept::In(repo) => Prover::new(Some(repo), self.rekor),
            Kept::Discovered => Prover::new(crate::git::repo::shared_repository().ok(), self.rekor),
        })
    }

    /// The notes proofs are kept in (to attach new proofs on top of them), and the warning
    /// met reading them.
    pub fn notes(&self) -> (&Notes, Vec<Warning>) {
        let prover = self.prover();
        (prover.notes(), prover.take_warnings())
    }

    /// The first pass over one signed thing.
    pub fn first_pass(&self, signed: &Signed<'_>) -> FirstPass {
        self.first_pass_with(signed, self.keys)
    }

    /// The verdict on one signed thing whose OpenPGP or SSH signature is checked against
    /// `keys` instead of the setup's (a committed policy's key files, which change along a
    /// history). Only what the first pass decides: meant for OpenPGP and SSH signatures, which
    /// need no online proof.
    pub fn check_with_keys(&self, signed: &Signed<'_>, keys: &Keys) -> Verified {
        let first = self.first_pass_with(signed, keys);
        Verified {
            report: first.checked.report,
            format: first.format,
            signer: first.signer,
            proof: None,
        }
    }

    fn first_pass_with(&self, signed: &Signed<'_>, keys: &Keys) -> FirstPass {
        match *signed {
            Signed::Object { raw, kind, hash } => {
                let Some(split) = kind.split(raw, hash) else {
                    return FirstPass::decided(Report::bad(Failure::Unsigned), Format::None);
                };
                format::first_pass(
                    &self.verifier,
                    keys,
                    &split.payload,
                    &split.signature,
                    self.policy,
                    || Some(kind.ids(raw, hash, &split)),
                )
            }
            Signed::Detached { payload, signature } => format::first_pass(
                &self.verifier,
                keys,
                payload,
                signature,
                self.policy,
                || object_id::signed_object_ids(payload, signature),
            ),
            Signed::Input { input, .. } => {
                let report = self.verifier.verify_input(input, self.policy);
                FirstPass {
                    signer: Signer::of_report(&report),
                    checked: crate::verify::Checked {
                        report,
                        needs_entry: None,
                    },
                    format: Format::Sigstore,
                }
            }
        }
    }

    /// Check every item: one verdict each, in order.
    pub fn check(&self, items: &[Signed<'_>]) -> Batch {
        self.check_where(items, |_, _| true)
    }

    /// [`Checker::check`], proving online only the items `may_prove(index, first report)`
    /// admits (the hook's rules that accept a looked-up entry); the others keep the first
    /// pass's verdict.
    pub fn check_where(
        &self,
        items: &[Signed<'_>],
        may_prove: impl Fn(usize, &Report) -> bool,
    ) -> Batch {
        let (mut batch, noted) = self.check_noting(items, may_prove);
        batch.warnings.extend(noted.keep());
        batch
    }

    /// [`Checker::check_where`] with kept facts ([`Checker::with_facts`]): each item is
    /// looked up first (one item without loading the store), the others verified; what they
    /// prove is noted, and kept only when the caller says so ([`Noted::keep`]).
    pub fn check_noting(
        &self,
        items: &[Signed<'_>],
        may_prove: impl Fn(usize, &Report) -> bool,
    ) -> (Batch, Noted<'_>) {
        self.noting(items, may_prove, false)
    }

    /// [`Checker::check`] of one signed thing already looked up in the kept facts
    /// ([`kept_detached`]) and not found there: verified, and what it proves kept, without a
    /// second look-up.
    pub fn check_unknown(&self, item: Signed<'_>) -> Batch {
        let (mut batch, noted) = self.noting(&[item], |_, _| true, true);
        batch.warnings.extend(noted.keep());
        batch
    }

    /// [`Checker::check_noting`]; `looked_up`: a single item is known to have no fact.
    fn noting(
        &self,
        items: &[Signed<'_>],
        may_prove: impl Fn(usize, &Report) -> bool,
        looked_up: bool,
    ) -> (Batch, Noted<'_>) {
        let Some(at) = &self.facts else {
            let batch = self.verify_where(items, may_prove);
            let known = vec![false; items.len()];
            return (batch, Noted { known, facts: None });
        };
        // One item (git's `--verify`, verify-tag) stays on this thread: answered from its
        // fact, the process starts no thread pool at all.
        let subjects: Vec<Option<(Vec<u8>, facts::Checked)>> = if items.len() == 1 {
            items.iter().map(fact_subject).collect()
        } else {
            items.par_iter().map(fact_subject).collect()
        };
        let mut warnings = Vec::new();
        let (mut store, kept): (facts::Facts, Vec<Option<facts::Kept>>) = if items.len() == 1 {
            let kept = if looked_up {
                None
            } else {
                let (kept, warning) = at.find(subjects[0].as_ref(), self.policy);
                warnings.extend(warning);
                kept
            };
            (facts::Facts::empty(&at.path), vec![kept])
        } else {
            let store = facts::Facts::open(&at.path);
            warnings.extend(store.warning().map(|w| Warning::FactsIgnored(w.to_owned())));
            let kept = subjects
                .iter()
                .map(|s| {
                    let (object, checked) = s.as_ref()?;
                    store.kept(&at.depends(*checked), object, self.policy)
                })
                .collect();
            (store, kept)
        };
        let todo: Vec<usize> = (0..items.len()).filter(|i| kept[*i].is_none()).collect();
        let todo_items: Vec<Signed<'_>> = todo.iter().map(|i| items[*i]).collect();
        let fresh = if todo.is_empty() {
            Batch::default()
        } else {
            self.verify_where(&todo_items, |j, report| {
                todo.get(j).is_some_and(|i| may_prove(*i, report))
            })
        };
        for (i, v) in todo.iter().zip(&fresh.verified) {
            let Some((object, checked)) = &subjects[*i] else {
                continue;
            };
            if format::timeless(v.format, payload_of(&items[*i])) {
                let keyed = v.signer.as_ref().and_then(Signer::keyed);
                store.note(&at.depends(*checked), object, &v.report, keyed.as_ref());
            }
        }
        let known: Vec<bool> = kept.iter().map(Option::is_some).collect();
        let verified = merge_kept(kept.into_iter().map(|k| k.map(from_kept)), fresh.verified);
        warnings.extend(fresh.warnings);
        let batch = Batch { verified, warnings };
        (
            batch,
            Noted {
                known,
                facts: Some((at, store)),
            },
        )
    }

    /// Verify every item (no kept facts), proving online only what `may_prove` admits.
    fn verify_where(
        &self,
        items: &[Signed<'_>],
        may_prove: impl Fn(usize, &Report) -> bool,
    ) -> Batch {
        // One item (git's `--verify`, verify-tag) stays on this thread: the process starts
        // no thread pool.
        let first: Vec<FirstPass> = if items.len() == 1 {
            items.iter().map(|s| self.first_pass(s)).collect()
        } else {
            items.par_iter().map(|s| self.first_pass(s)).collect()
        };
        self.finish(first, may_prove)
    }

    /// Steps 2 and 3: prove what the first pass left for want of a log entry, and merge.
    fn finish(&self, first: Vec<FirstPass>, may_prove: impl Fn(usize, &Report) -> bool) -> Batch {
        let mut pending: Vec<(usize, Box<NeedsEntry>)> = Vec::new();
        let mut verified = Vec::with_capacity(first.len());
        for (i, f) in first.into_iter().enumerate() {
            if let Some(needs) = f.checked.needs_entry {
                if may_prove(i, &f.checked.report) {
                    pending.push((i, needs));
                }
            }
            verified.push(Verified {
                report: f.checked.report,
                format: f.format,
                signer: f.signer,
                proof: None,
            });
        }
        let mut warnings = Vec::new();
        if !pending.is_empty() {
            let needs: Vec<&NeedsEntry> = pending.iter().map(|(_, n)| n.as_ref()).collect();
            let prover = self.prover();
            for ((i, _), p) in pending.iter().zip(prover.prove(&needs, &self.verifier)) {
                verified[*i].report = p.report;
                verified[*i].proof = p.proof.map(Box::new);
            }
            warnings = prover.take_warnings();
        }
        Batch { verified, warnings }
    }

    /// Check the commits `selection` names, walked on its own thread `chunk` at a time: each
    /// chunk's verdicts go to `on_chunk` in walk order as soon as they are final; it returns
    /// [`ControlFlow::Break`] to stop (a reader gone).
    pub fn check_range(
        &self,
        shared: &gix::ThreadSafeRepository,
        selection: &Selection,
        chunk: usize,
        mut on_chunk: impl FnMut(&[ObjectId], Batch) -> ControlFlow<()>,
    ) -> Result<(), RangeError> {
        let hash = Repo::from_shared(shared).hash_kind();
        let depends = self.facts.as_ref().map(|at| {
            at.depends(facts::Checked::Commit {
                sha256: hash == HashKind::Sha256,
            })
        });
        // Commits the walk does not hand over (it read none with a commit-graph) are read from
        // the packs the walk reads, each delta chain inflated once; opened at the first commit
        // read (a range answered from kept facts with a commit-graph reads none).
        let packs = std::sync::OnceLock::new();
        let walk_packs = &packs;
        // The walk runs ahead by a few chunks of ids (the commits it may keep for their
        // readers are capped apart), so it overlaps loading the kept facts.
        let (sender, chunks) = std::sync::mpsc::sync_channel::<Vec<ObjectId>>(4);
        std::thread::scope(|scope| {
            let walker = scope.spawn(move || {
                Repo::from_shared(shared).walk(selection, chunk, walk_packs, |batch| {
                    sender.send(batch).is_ok()
                })
            });
            let loading = self.loading.lock().ok().and_then(|mut l| l.take());
            let store = self.facts.as_ref().map(|at| match loading {
                Some(l) => l.wait(&at.path),
                None => facts::Facts::open(&at.path),
            });
            let mut store_warning = store
                .as_ref()
                .and_then(|s| s.warning())
                .map(|w| Warning::FactsIgnored(w.to_owned()));
            // Whether new facts are still written (not after a write failed).
            let mut keeping = true;
            // Set when the loop stops early: chunks already handed to the pool skip their work.
            let stopped = std::sync::atomic::AtomicBool::new(false);
            let (store, depends, stopped) = (store.as_ref(), depends.as_ref(), &stopped);
            // A chunk's first pass: kept facts looked up, the rest read and verified.
            let work = |ids: &[ObjectId]| -> ChunkPass {
                if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    return ChunkPass::default();
                }
                // Kept facts first: an object with a fact is neither read nor verified. The
                // verdict it stands for is made here, on every core.
                let kept: Vec<Option<Verified>> = match (store, depends) {
                    (Some(s), Some(d)) => ids
                        .par_iter()
                        .map(|id| {
                            let kept = s.kept(d, id.as_bytes(), self.policy);
                            if kept.is_some() {
                                crate::git::repo::forget_walked(id);
                            }
                            kept.map(from_kept)
                        })
                        .collect(),
                    _ => ids.iter().map(|_| None).collect(),
                };
                let todo: Vec<ObjectId> = ids
                    .iter()
                    .zip(&kept)
                    .filter(|(_, k)| k.is_none())
                    .map(|(id, _)| *id)
                    .collect();
                // Each with whether its verdict may be kept (format::timeless).
                let first = todo
                    .par_iter()
                    // One commit a piece: a core that runs out steals the next one (left in
                    // larger pieces, a core idled at the end of each chunk while the other
                    // went through the rest of its piece alone).
                    .with_max_len(1)
                    .map_init(
                        // Opened only for a commit the walk did not hand over (a handle's
                        // caches are allocated afresh for each split).
                        || None,
                        |repo: &mut Option<gix::Repository>, id| {
                            let raw = match crate::git::repo::take_walked(id) {
                                Some(raw) => raw,
                                None => match packs
                                    .get_or_init(|| Packs::open(&shared.to_thread_local()))
                                    .find(id)
                                {
                                    Some((gix::objs::Kind::Commit, raw)) => raw,
                                    _ => std::sync::Arc::new(raw_object(
                                        repo.get_or_insert_with(|| shared.to_thread_local()),
                                        *id,
                                    )?),
                                },
                            };
                            let first = self.first_pass(&Signed::Object {
                                raw: &raw,
                                kind: ObjectKind::Commit,
                                hash,
                            });
                            let timeless = format::timeless(first.format, &raw);
                            Ok((first, timeless))
                        },
                    )
                    .collect();
                ChunkPass { kept, todo, first }
            };
            let checked = rayon::in_place_scope(|pool| -> Result<(), RangeError> {
                // Up to QUEUED chunks are in the pool at once and a finished one is replaced at
                // once, whichever it is: the cores go from chunk to chunk without sleeping
                // while this thread finishes and hands over a chunk (a core woken from sleep
                // here often starts only at the next clock tick, milliseconds later). A core
                // waiting inside one chunk may run a later one, so passes arrive out of order;
                // they are handed over in walk order.
                const QUEUED: usize = 3;
                // Each pass comes back with its chunk's ids and its place in the walk.
                type Arrived = (Vec<ObjectId>, std::thread::Result<ChunkPass>);
                let (done, passes) = std::sync::mpsc::channel::<(usize, Arrived)>();
                let mut chunks = chunks.iter();
                let mut arrived = std::collections::BTreeMap::new();
                let (mut sent, mut next) = (0usize, 0usize);
                loop {
                    while sent - next < QUEUED {
                        let Some(ids) = chunks.next() else { break };
                        let done = done.clone();
                        pool.spawn(move |_| {
                            // Every chunk answers, a panic too (resumed on this thread).
                            let pass =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    work(&ids)
                                }));
                            let _ = done.send((sent, (ids, pass)));
                        });
                        sent += 1;
                    }
                    if next == sent {
                        return Ok(());
                    }
                    while !arrived.contains_key(&next) {
                        // Never disconnected: this thread holds a sender.
                        let Ok((seq, pass)) = passes.recv() else {
                            return Ok(());
                        };
                        arrived.insert(seq, pass);
                    }
                    let Some((ids, pass)) = arrived.remove(&next) else {
                        return Ok(());
                    };
                    let ChunkPass { kept, todo, first } = match pass {
                        Ok(pass) => pass,
                        Err(panic) => {
                            stopped.store(true, std::sync::atomic::Ordering::Relaxed);
                            std::panic::resume_unwind(panic);
                        }
                    };
                    next += 1;
                    let (first, timeless): (Vec<FirstPass>, Vec<bool>) =
                        match first.into_iter().collect::<Result<Vec<_>, _>>() {
                            Ok(first) => first.into_iter().unzip(),
                            Err(e) => {
                                stopped.store(true, std::sync::atomic::Ordering::Relaxed);
                                return Err(RangeError::Read(e));
                            }
                        };
                    let mut fresh = self.finish(first, |_, _| true);
                    if let (Some(s), Some(d), true) = (store, depends, keeping) {
                        let records: Vec<(facts::Key, String)> = todo
                            .iter()
                            .zip(&fresh.verified)
                            .zip(&timeless)
                            .filter(|(_, timeless)| **timeless)
                            .filter_map(|((id, v), _)| {
                                let keyed = v.signer.as_ref().and_then(Signer::keyed);
                                s.record(d, id.as_bytes(), &v.report, keyed.as_ref())
                            })
                            .collect();
                        if let Err(e) = s.write(&records) {
                            if let Some(at) = &self.facts {
                                fresh.warnings.push(at.not_kept(&e));
                            }
                            keeping = false;
                        }
                    }
                    fresh.warnings.extend(store_warning.take());
                    let batch = Batch {
                        verified: merge_kept(kept.into_iter(), fresh.verified),
                        warnings: fresh.warnings,
                    };
                    if on_chunk(&ids, batch).is_break() {
                        stopped.store(true, std::sync::atomic::Ordering::Relaxed);
                        return Ok(());
                    }
                }
            });
            // Ends the walk early when the loop stopped before it did.
            drop(chunks);
            let walked = match walker.join() {
                Ok(r) => r.map_err(RangeError::Walk),
                Err(_) => Err(RangeError::WalkerPanicked),
            };
            checked.and(walked)
        })
    }
}

/// One chunk's first pass ([`Checker::check_range`]): the facts kept for its commits, the
/// commits without one, and their first passes with whether each verdict may be kept.
#[derive(Default)]
struct ChunkPass {
    kept: Vec<Option<Verified>>,
    todo: Vec<ObjectId>,
    first: Vec<Result<(FirstPass, bool), RepoError>>,
}

/// The format of a report rebuilt from a kept fact: what its verdict says it was.
fn kept_format(report: &Report) -> Format {
    use crate::git::object::SignatureFormat;
    match &report.outcome {
        crate::verify::Outcome::Bad(Failure::Unsigned) => Format::None,
        crate::verify::Outcome::Bad(Failure::ForeignFormat(SignatureFormat::Openpgp)) => {
            Format::Openpgp
        }
        crate::verify::Outcome::Bad(Failure::ForeignFormat(SignatureFormat::Ssh)) => Format::Ssh,
        crate::verify::Outcome::Bad(Failure::ForeignFormat(_)) => Format::None,
        crate::verify::Outcome::Bad(Failure::Openpgp(_)) => Format::Openpgp,
        crate::verify::Outcome::Bad(Failure::Ssh(_)) => Format::Ssh,
        _ => Format::Sigstore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::TrustedRoot;
    use crate::verify::Waivers;

    /// Real Go gitsign commits (tests/data/gitsign-commits): one with its Rekor entry
    /// embedded, one made in online mode (no entry), and a real SSH-signed one.
    const EMBEDDED: &str = "30e099f11647d8f47f25382a730f909e4a1911fd";
    const ONLINE: &str = "05ca6a291e4504639f44fd74cf04de90dd6ed9cf";
    const SSH: &str = "other-formats/08f24471de2a602d8302154798141e4013b00c2a";

    fn commit(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/data/gitsign-commits/{name}.commit",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn object(raw: &[u8]) -> Signed<'_> {
        Signed::Object {
            raw,
            kind: ObjectKind::Commit,
            hash: HashKind::Sha1,
        }
    }

    fn setup(rekor: Rekor) -> VerifySetup {
        let root = TrustedRoot::public_good();
        VerifySetup {
            root_digest: facts::root_digest(&root),
            root,
            waivers: Waivers::default(),
            rekor,
            detached_sct: None,
            keys: crate::check::Keys::default(),
        }
    }

    #[test]
    fn verdicts_come_back_in_order_with_format_and_signer_and_only_admitted_objects_are_proven() {
        let (embedded, online, ssh) = (commit(EMBEDDED), commit(ONLINE), commit(SSH));
        let unsigned = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nunsigned\n".to_vec();
        let items = [
            object(&embedded),
            object(&online),
            object(&unsigned),
            object(&ssh),
        ];
        // Unusable lookup settings: no network, and the online-mode commit says why.
        let setup = setup(Rekor::Unusable(
            "invalid value 'x' for GITSIGN_TIMEOUT".into(),
        ));
        let policy = Policy::default();
        let checker = Checker::new(&setup, &policy, Kept::Nowhere);
        let batch = checker.check(&items);
        let got: Vec<(Option<&str>, &str)> = batch
            .verified
            .iter()
            .map(|v| (v.report.outcome.code(), v.format.name()))
            .collect();
        assert_eq!(
            got,
            [
                (None, "sigstore"),
                (Some("lookup_unconfigured"), "sigstore"),
                (Some("unsigned"), "none"),
                (Some("unknown_key"), "ssh"),
            ],
            "one verdict per item, in order"
        );
        assert_eq!(
            batch.verified[0].signer.as_ref().map(Signer::identity),
            Some("billy@chainguard.dev"),
            "the Sigstore signer is the certificate's identity"
        );
        assert!(batch.verified[2..].iter().all(|v| v.signer.is_none()));
        assert!(batch.warnings.is_empty(), "{:?}", batch.warnings);

        let filtered = checker.check_where(&items, |i, _| i != 1);
        assert_eq!(
            filtered.verified[1].report.outcome.code(),
            Some("no_time_anchor"),
            "an object the filter does not admit keeps its first verdict"
        );
    }
}
