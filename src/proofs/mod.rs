//! Proofs kept: the Rekor entries that anchor online-mode signatures (Go gitsign's
//! `rekorMode=online`), found once over the network and kept so the next verification of the
//! same commit needs none.
//!
//! - [`Prover`] ([`prove`]): the one online-mode stage every verifying command uses — kept
//!   proofs, then notes, then Rekor, finishing what the first verification pass left undecided.
//! - [`lookup`]: the concurrent, batched Rekor lookup and its settings ([`Lookups`]);
//!   `scripts/bench-online` measures it against Go gitsign (numbers in the README).
//! - [`Cache`]: `<git common dir>/gitsign/proofs/<id[..2]>/<id[2..]>.json`, one file per object.
//! - [`Notes`]: git notes under [`NOTES_REF`], one note per object, so proofs can be pushed and
//!   fetched with the repository (`git push origin refs/notes/gitsign`).
//!
//! A proof is Rekor's own JSON for the entry (`{uuid: LogEntry}`, verbatim), so any Rekor
//! client can check it. Nothing here trusts a proof: every one, wherever it comes from, goes
//! through [`crate::verify::online::verify_logged_id`] before it counts, so a forged cache file
//! or a note carrying another object's entry is rejected like a forged Rekor answer.

pub mod cache;
pub mod lookup;
pub mod notes;
pub mod prove;

pub use cache::Cache;
pub use lookup::{lookup, LookupError, Lookups, Wanted};
pub use notes::{Notes, NotesError};
pub use prove::{ProofSource, Proven, Prover, Rekor, Warning};

/// The notes ref proofs are attached under.
pub const NOTES_REF: &str = "refs/notes/gitsign";
