//! What verifying one signature answers: [`Report`] with its [`Outcome`] — good, bad with a
//! [`Failure`](super::Failure), or undecided with a typed [`Undecided`] reason — and how the
//! signing time was established ([`Anchor`]).
//!
//! Every reason has a stable machine-readable `code()` (the `code` field of
//! `gitsign verify --format json`, documented in the README), a `Display` for humans and a
//! `hint()`; callers branch on the variants, never on the text.

use super::online::OnlineError;
use super::policy::Identity;
use super::Failure;

/// Where the Rekor entry that anchors a signature was found: a policy may accept only
/// entries the signature carries (`transparency = "embedded"` in the hook's policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntrySource {
    /// In the signature (gitsign's offline Rekor mode) or in the bundle.
    Embedded,
    /// Outside it: a Rekor lookup of the object id (Go gitsign's online mode), or a proof kept
    /// from one (proof cache, git notes).
    LookedUp,
}

/// A verified transparency log entry that proves the signature is logged but not when
/// (a Rekor v2 entry: an inclusion proof and a signed checkpoint, no signed entry timestamp).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub log_index: i64,
    pub log_url: String,
}

/// How the signing time was established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// A verified Rekor entry.
    Tlog {
        log_index: i64,
        integrated_time: i64,
        log_url: String,
        source: EntrySource,
    },
    /// A verified RFC 3161 timestamp; `logged` names the verified Rekor v2 entry of the same
    /// signature, whose log gives no signed time of its own.
    Timestamp {
        time: i64,
        tsa: String,
        logged: Option<Logged>,
    },
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

/// A Rekor entry found outside the signature (kept proof or lookup) that does not prove it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedEntry {
    pub log_index: i64,
    pub error: OnlineError,
}

/// Why everything that could be checked passed but nothing proves when the signature was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undecided {
    /// The signature carries no log entry and no timestamp, and no entry was looked for
    /// (Go gitsign's online Rekor mode, verified without a lookup).
    NoTimeAnchor,
    /// The entry must be looked up in Rekor, and the caller asked not to (`--offline`).
    Offline,
    /// Rekor was asked and holds no entry for the object.
    NotInLog { rekor_url: String },
    /// Rekor could not be asked (unreachable, error answer, past the deadline).
    LookupFailed { rekor_url: String, error: String },
    /// The Rekor lookup settings are unusable, so no lookup was made.
    LookupUnconfigured { error: String },
    /// Entries were found (kept proofs, notes or Rekor's answer), and none proves this
    /// signature.
    EntriesRejected { entries: Vec<RejectedEntry> },
}

impl Undecided {
    /// Every variant's code, for tests and documentation.
    pub const CODES: [&'static str; 6] = [
        "no_time_anchor",
        "offline",
        "not_in_log",
        "lookup_failed",
        "lookup_unconfigured",
        "entries_rejected",
    ];

    /// A stable machine-readable code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            Undecided::NoTimeAnchor => Self::CODES[0],
            Undecided::Offline => Self::CODES[1],
            Undecided::NotInLog { .. } => Self::CODES[2],
            Undecided::LookupFailed { .. } => Self::CODES[3],
            Undecided::LookupUnconfigured { .. } => Self::CODES[4],
            Undecided::EntriesRejected { .. } => Self::CODES[5],
        }
    }

    /// What the user can do next.
    pub fn hint(&self) -> &'static str {
        match self {
            Undecided::NoTimeAnchor => "signatures made in Go gitsign's default online Rekor mode need a Rekor lookup; pass --insecure-ignore-tlog to check everything but the signing time (not recommended)",
            Undecided::Offline => "run without --offline to look the entry up in Rekor, or attach proofs where they were looked up (`gitsign verify --attach-proofs`, then push refs/notes/gitsign)",
            Undecided::NotInLog { .. } => "the signature was never logged, or logged in another Rekor: check gitsign.rekor (GITSIGN_REKOR_URL)",
            Undecided::LookupFailed { .. } => "check gitsign.rekor (GITSIGN_REKOR_URL) and the network, then verify again (proofs found are kept); --insecure-ignore-tlog checks everything but the signing time (not recommended)",
            Undecided::LookupUnconfigured { .. } => "fix the Rekor setting named above (gitsign.rekor, gitsign.timeout, gitsign.rekorConcurrency, gitsign.rekorDeadline)",
            Undecided::EntriesRejected { .. } => "the entries found do not prove this signature (forged, or another object's); verify again without --offline to look it up afresh",
        }
    }
}

impl std::fmt::Display for Undecided {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Undecided::NoTimeAnchor => f.write_str(
                "the signature carries no transparency log entry or timestamp, so nothing proves when it was made",
            ),
            Undecided::Offline => f.write_str(
                "its transparency log entry must be looked up in Rekor, which --offline does not do",
            ),
            Undecided::NotInLog { rekor_url } => {
                write!(f, "Rekor at {rekor_url} has no transparency log entry for this object")
            }
            Undecided::LookupFailed { rekor_url, error } => {
                write!(f, "Rekor lookup at {rekor_url} failed: {error}")
            }
            Undecided::LookupUnconfigured { error } => write!(f, "no Rekor lookup: {error}"),
            Undecided::EntriesRejected { entries } => {
                f.write_str("no transparency log entry found proves the signing time: rejected entry")?;
                for (i, e) in entries.iter().enumerate() {
                    let sep = if i == 0 { " " } else { "; entry " };
                    write!(f, "{sep}{}: {}", e.log_index, e.error)?;
                }
                Ok(())
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Good,
    Bad(Failure),
    /// Everything that could be checked passed, but nothing proves when it was signed.
    Undecided(Undecided),
}

impl Outcome {
    /// `good`, `bad` or `undecided`: the `verdict` field of the JSON output.
    pub fn verdict(&self) -> &'static str {
        match self {
            Outcome::Good => "good",
            Outcome::Bad(_) => "bad",
            Outcome::Undecided(_) => "undecided",
        }
    }

    /// The reason's stable code (`None` when good).
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Outcome::Good => None,
            Outcome::Bad(f) => Some(f.code()),
            Outcome::Undecided(u) => Some(u.code()),
        }
    }
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
    /// A bad verdict for `f`, with nothing else known.
    pub fn bad(f: impl Into<Failure>) -> Report {
        Report {
            outcome: Outcome::Bad(f.into()),
            identity: None,
            cert: None,
            anchor: None,
            signing_time: None,
        }
    }

    /// A good verdict on a signature by a configured key (OpenPGP, SSH): no certificate, no
    /// log entry; `signing_time` as the signature claims it, if it does.
    pub fn good_by_key(signing_time: Option<i64>) -> Report {
        Report {
            outcome: Outcome::Good,
            identity: None,
            cert: None,
            anchor: None,
            signing_time,
        }
    }

    pub fn is_good(&self) -> bool {
        self.outcome == Outcome::Good
    }

    /// Whether a Rekor entry was verified for this signature (embedded or looked up), whatever
    /// was decided after it (the identity may still mismatch).
    pub fn tlog_verified(&self) -> bool {
        matches!(
            self.anchor,
            Some(
                Anchor::Tlog { .. }
                    | Anchor::Timestamp {
                        logged: Some(_),
                        ..
                    }
            )
        )
    }
}

/// Verdicts counted by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub good: usize,
    pub bad: usize,
    pub undecided: usize,
}

impl Tally {
    pub fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Good => self.good += 1,
            Outcome::Bad(_) => self.bad += 1,
            Outcome::Undecided(_) => self.undecided += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.good + self.bad + self.undecided
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_variant() -> Vec<Undecided> {
        vec![
            Undecided::NoTimeAnchor,
            Undecided::Offline,
            Undecided::NotInLog {
                rekor_url: "https://rekor.example".into(),
            },
            Undecided::LookupFailed {
                rekor_url: "https://rekor.example".into(),
                error: "connection refused".into(),
            },
            Undecided::LookupUnconfigured {
                error: "invalid value 'soon' for GITSIGN_TIMEOUT".into(),
            },
            Undecided::EntriesRejected {
                entries: vec![
                    RejectedEntry {
                        log_index: 5,
                        error: OnlineError::OtherCertificate,
                    },
                    RejectedEntry {
                        log_index: 7,
                        error: OnlineError::NoSignedTime,
                    },
                ],
            },
        ]
    }

    #[test]
    fn each_undecided_variant_has_a_distinct_code_and_a_hint() {
        let variants = every_variant();
        let codes: Vec<&str> = variants.iter().map(Undecided::code).collect();
        assert_eq!(
            codes,
            Undecided::CODES,
            "every variant is listed, in declaration order"
        );
        let distinct: std::collections::HashSet<&str> = codes.iter().copied().collect();
        assert_eq!(distinct.len(), codes.len(), "no two variants share a code");
        for v in &variants {
            assert!(
                v.code()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "codes are snake_case: {}",
                v.code()
            );
            assert!(!v.hint().is_empty(), "{} has a hint", v.code());
            assert!(!v.to_string().contains('\n'), "one line: {v}");
        }
    }

    #[test]
    fn undecided_codes_do_not_collide_with_failure_codes() {
        use crate::verify::Failure;
        for code in Undecided::CODES {
            for f in [Failure::Unsigned, Failure::NoTimeAnchor] {
                if f.code() == code {
                    // A bundle without a time anchor is bad, an online commit undecided: same
                    // fact, told apart by the verdict field.
                    assert_eq!(code, "no_time_anchor", "only this code is shared");
                }
            }
        }
    }

    #[test]
    fn undecided_text_names_the_rekor_url_and_every_rejected_entry() {
        let [_, _, not_in_log, failed, unconfigured, rejected] =
            <[Undecided; 6]>::try_from(every_variant()).expect("six variants");
        assert!(not_in_log.to_string().contains("https://rekor.example"));
        let failed = failed.to_string();
        assert!(
            failed.contains("https://rekor.example") && failed.contains("connection refused"),
            "{failed}"
        );
        assert!(unconfigured.to_string().contains("GITSIGN_TIMEOUT"));
        let rejected = rejected.to_string();
        assert_eq!(
            rejected.matches("rejected entry").count(),
            1,
            "one phrase per object, every index named: {rejected}"
        );
        assert!(
            rejected.contains("entry 5: ") && rejected.contains("entry 7: "),
            "{rejected}"
        );
    }

    #[test]
    fn tally_counts_by_outcome() {
        let mut t = Tally::default();
        t.add(&Outcome::Good);
        t.add(&Outcome::Bad(Failure::Unsigned));
        t.add(&Outcome::Undecided(Undecided::Offline));
        t.add(&Outcome::Good);
        assert_eq!(
            t,
            Tally {
                good: 2,
                bad: 1,
                undecided: 1
            }
        );
        assert_eq!(t.total(), 4);
    }
}
