//! How one rule judges one verified object: [`Rule::judge`] turns a verification report (made
//! with an empty identity policy, so one verification serves every rule) into an acceptance or
//! a [`Refusal`] with its reason and hint — whether the signer is admitted is
//! [`crate::policy::judge`]'s answer, the time proof the hook's own; [`Rule::exempt`] is `unsigned-before`;
//! [`admits_looked_up`] says whether a Rekor lookup could change the verdict. The texts the
//! pusher reads for refused objects are here. Pure: no I/O.

use std::collections::HashSet;

use super::policy::{Cutoff, Rule, Transparency};
use crate::policy::judge::{judge_among, names_signer, NoKeyFormats};
use crate::policy::KeyFormats;
use crate::policy::{Authority, Signer, SigstoreSigner};
use crate::verify::chain::ChainError;
use crate::verify::tlog::TlogError;
use crate::verify::{Anchor, EntrySource, Failure, Outcome, Report};

/// Why a rule refuses an object, and what the pusher can do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    pub hint: Option<&'static str>,
}

/// The hint for signatures whose log entry would need an online lookup.
pub const HINT_ONLINE: &str = "sign in gitsign's offline Rekor mode (the default; gitsign.rekorMode=offline) so the transparency log entry is embedded in the signature";

impl Rule {
    /// Does a verification report (made with an empty identity policy) of a Sigstore
    /// signature satisfy this rule? [`Rule::judge_signed`] with no other signer.
    pub fn judge(&self, report: &Report) -> Result<(), Refusal> {
        self.judge_signed(report, None, &NoKeyFormats)
    }

    /// Does a verification report (made with an empty identity policy) satisfy this rule?
    /// `signer` is who the verifier says signed (`None`: the report's Sigstore certificate);
    /// `keys` says which key files hold an OpenPGP or SSH signer's key. A definite failure
    /// wins over identity, identity over the time proof. An OpenPGP or SSH signature that
    /// verified and whose key one of the rule's authorities holds is accepted: such
    /// signatures carry no time proof, so `transparency` is not theirs.
    pub fn judge_signed(
        &self,
        report: &Report,
        signer: Option<&Signer>,
        keys: &dyn KeyFormats,
    ) -> Result<(), Refusal> {
        if let Outcome::Bad(f) = &report.outcome {
            return Err(Refusal {
                reason: crate::text::one_line(f),
                hint: failure_hint(f),
            });
        }
        let not_admitted = |e: crate::policy::Refusal| Refusal {
            reason: e.to_string(),
            hint: Some(if self.authorities.iter().all(Authority::is_inline) {
                "the signer must match the rule's identities and issuers"
            } else {
                "the signer must be one the rule's authorities admit"
            }),
        };
        if let Some(key_signer @ (Signer::OpenPgp { .. } | Signer::Ssh { .. })) = signer {
            return judge_among(&self.authorities, key_signer, keys)
                .map(|_| ())
                .map_err(not_admitted);
        }
        match SigstoreSigner::from_report(report) {
            Some(signer) => {
                judge_among(&self.authorities, &Signer::Sigstore(signer), keys)
                    .map_err(not_admitted)?;
            }
            None => {
                return Err(Refusal {
                    reason: "the signer's identity could not be read".into(),
                    hint: None,
                })
            }
        }
        let looked_up_ok = self.transparency != Transparency::Embedded;
        match (&report.outcome, &report.anchor) {
            (Outcome::Good, Some(Anchor::Tlog { source: EntrySource::Embedded, .. })) => Ok(()),
            (Outcome::Good, Some(Anchor::Tlog { source: EntrySource::LookedUp, .. })) if looked_up_ok => Ok(()),
            (Outcome::Good, Some(Anchor::Tlog { source: EntrySource::LookedUp, .. })) => Err(Refusal {
                reason: "online-mode signature: its transparency log entry was found in Rekor, not embedded in the signature, and the rule requires an embedded one (transparency = \"embedded\")".into(),
                hint: Some(HINT_ONLINE),
            }),
            // A Rekor v2 entry embedded beside the timestamp that proves its time.
            (Outcome::Good, Some(Anchor::Timestamp { logged: Some(_), .. })) => Ok(()),
            (Outcome::Good, Some(Anchor::Timestamp { .. })) if self.transparency == Transparency::Any => Ok(()),
            (Outcome::Good, Some(Anchor::Timestamp { .. })) => Err(Refusal {
                reason: format!(
                    "the signing time is proven by a timestamp only, but the rule requires a transparency log entry (transparency = \"{}\")",
                    self.transparency
                ),
                hint: Some(HINT_ONLINE),
            }),
            (Outcome::Undecided(_), _) if self.transparency == Transparency::Embedded => Err(Refusal {
                reason: "no transparency log entry is embedded in the signature (online-mode signature), and the rule requires one (transparency = \"embedded\")".into(),
                hint: Some(HINT_ONLINE),
            }),
            // Why no entry verified: the hook ran with --offline, the Rekor lookup failed (the
            // URL and the error), Rekor has no entry, or the entries found were rejected.
            (Outcome::Undecided(why), _) => Err(Refusal {
                reason: format!(
                    "online-mode signature: {why} (transparency = \"{}\")",
                    self.transparency
                ),
                hint: Some(HINT_ONLINE),
            }),
            // Unanchored only with --insecure-ignore-tlog, which the hook never sets; refuse.
            _ => Err(Refusal {
                reason: "nothing proves when the signature was made".into(),
                hint: Some(HINT_ONLINE),
            }),
        }
    }

    /// Is a new commit exempt as old history (`unsigned-before`)? `ancestors_of_cutoff` holds
    /// the cutoff commit and its ancestors among the pushed commits.
    pub fn exempt(
        &self,
        committer_time: i64,
        id_hex: &str,
        ancestors_of_cutoff: &HashSet<String>,
    ) -> bool {
        match &self.unsigned_before {
            None => false,
            Some(Cutoff::Time(t)) => committer_time < *t,
            Some(Cutoff::Commit(_)) => ancestors_of_cutoff.contains(id_hex),
        }
    }
}

/// Whether `rule` would accept `report` with a log entry found outside the signature: it
/// admits such entries and one of its authorities names the signer (whatever the time: the
/// entry proves it). Only such objects are worth a Rekor lookup.
pub fn admits_looked_up(rule: &Rule, report: &Report) -> bool {
    rule.transparency != Transparency::Embedded
        && SigstoreSigner::from_report(report)
            .is_some_and(|s| names_signer(&rule.authorities, &Signer::Sigstore(s), &NoKeyFormats))
}

/// When Rekor cannot be asked: what the server operator or the pusher can do.
pub const HINT_REKOR_FAILED: &str = "check gitsign.rekor (GITSIGN_REKOR_URL) and the network from the git server to Rekor, or run the hook with --offline; the pusher can sign in gitsign's offline Rekor mode (gitsign.rekorMode=offline, the default) so the entry is embedded in the signature";

/// When the server's trust root does not know the signer's Sigstore instance.
pub const HINT_SERVER_TRUST: &str = "the server verifies against its own trusted root: install the hook with `gitsign hook install --trusted-root FILE`, or set git config gitsign.trustedRoot in the receiving repository, to the trusted_root.json of the Sigstore instance the pusher signs with";

/// The hint for a signature by a key in none of the policy's key files: the server reads no
/// other keys (no `--openpgp-keys`, no allowed-signers file of its own).
pub const HINT_KEY_FILES: &str = "the server verifies OpenPGP and SSH signatures against the key files of the policy's authorities only: add the key to one of them (in a committed policy, by a commit of one of its policy-authorities)";

/// The hint for a definite failure, as the pusher (not the server's `gitsign verify` user)
/// can act on it.
fn failure_hint(f: &Failure) -> Option<&'static str> {
    match f {
        // The identity hint names `gitsign verify`'s flags; the rule's own hint follows below.
        Failure::Policy(_) => None,
        Failure::Tlog(TlogError::UnknownLog { .. }) | Failure::Chain(ChainError::Untrusted(_)) => {
            Some(HINT_SERVER_TRUST)
        }
        Failure::Openpgp(crate::openpgp::Failure::UnknownKey { .. })
        | Failure::Ssh(crate::ssh::Failure::UnknownKey { .. }) => Some(HINT_KEY_FILES),
        _ => f.hint(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::policy::PolicyFile;

    fn report(outcome: Outcome, anchor: Option<Anchor>, who: &str) -> Report {
        Report {
            outcome,
            identity: Some(crate::verify::policy::Identity {
                sans: vec![who.into()],
                issuer: Some("https://accounts.google.com".into()),
                ..Default::default()
            }),
            cert: None,
            anchor,
            signing_time: None,
        }
    }

    fn rule(transparency: &str) -> Rule {
        let text = format!("[[rule]]\nrefs = ['refs/*']\nidentities = ['alice@example.com']\nissuers = ['https://accounts.google.com']\ntransparency = '{transparency}'\n");
        PolicyFile::parse(&text).expect("parses").rules.remove(0)
    }

    #[test]
    fn judges_reports_by_identity_and_time_proof() {
        let tlog = Some(Anchor::Tlog {
            log_index: 1,
            integrated_time: 1,
            log_url: String::new(),
            source: EntrySource::Embedded,
        });
        let looked_up = Some(Anchor::Tlog {
            log_index: 1,
            integrated_time: 1,
            log_url: String::new(),
            source: EntrySource::LookedUp,
        });
        let tsa = Some(Anchor::Timestamp {
            time: 1,
            tsa: String::new(),
            logged: None,
        });
        let alice = "alice@example.com";
        let v2 = Some(Anchor::Timestamp {
            time: 1,
            tsa: String::new(),
            logged: Some(crate::verify::Logged {
                log_index: 3,
                log_url: String::new(),
            }),
        });
        assert_eq!(
            rule("embedded").judge(&report(Outcome::Good, v2, alice)),
            Ok(()),
            "an embedded Rekor v2 entry is an embedded log entry; its time is the timestamp's"
        );
        assert_eq!(
            rule("embedded").judge(&report(Outcome::Good, tlog.clone(), alice)),
            Ok(())
        );
        let who = rule("any")
            .judge(&report(Outcome::Good, tlog.clone(), "mallory@example.com"))
            .expect_err("wrong signer");
        assert!(
            who.reason.starts_with("identity mismatch"),
            "{}",
            who.reason
        );
        assert_eq!(
            rule("any").judge(&report(Outcome::Good, tsa.clone(), alice)),
            Ok(()),
            "any accepts a timestamp"
        );
        assert!(
            rule("online")
                .judge(&report(Outcome::Good, tsa, alice))
                .is_err(),
            "online needs a log entry"
        );
        let undecided = Outcome::Undecided(crate::verify::Undecided::NoTimeAnchor);
        let e = rule("embedded")
            .judge(&report(undecided.clone(), None, alice))
            .expect_err("embedded needs an entry");
        assert!(
            e.reason.contains("transparency = \"embedded\""),
            "{}",
            e.reason
        );
        for t in ["online", "any"] {
            assert_eq!(
                rule(t).judge(&report(Outcome::Good, looked_up.clone(), alice)),
                Ok(()),
                "{t} accepts an entry found by a Rekor lookup"
            );
            let e = rule(t)
                .judge(&report(undecided.clone(), None, alice))
                .expect_err("no entry verified: fail closed");
            assert_eq!(
                e.reason,
                format!(
                    "online-mode signature: {} (transparency = \"{t}\")",
                    crate::verify::Undecided::NoTimeAnchor
                ),
                "the reason carries why no entry verified"
            );
            assert_eq!(e.hint, Some(HINT_ONLINE));
        }
        let e = rule("embedded")
            .judge(&report(Outcome::Good, looked_up, alice))
            .expect_err("embedded refuses an entry found outside the signature");
        assert!(
            e.reason.contains("not embedded in the signature")
                && e.reason.contains("transparency = \"embedded\""),
            "{}",
            e.reason
        );
        let bad = rule("any")
            .judge(&report(
                Outcome::Bad(crate::verify::Failure::Unsigned),
                None,
                alice,
            ))
            .expect_err("unsigned");
        assert_eq!(bad.reason, "object is not signed");
        let wrong_and_undecided = rule("any")
            .judge(&report(undecided, None, "bob@example.com"))
            .expect_err("refused");
        assert!(
            wrong_and_undecided.reason.starts_with("identity mismatch"),
            "identity is reported before the missing time proof"
        );
    }

    /// Holds the fingerprints listed in the file, one a line (`principal fingerprint` for SSH).
    struct Listed;

    impl KeyFormats for Listed {
        fn openpgp_holds(&self, file: &crate::policy::KeyFile, fingerprint: &str) -> bool {
            String::from_utf8_lossy(&file.bytes)
                .lines()
                .any(|l| l == fingerprint)
        }

        fn ssh_admits(
            &self,
            file: &crate::policy::KeyFile,
            fingerprint: &str,
            principal: &str,
            _: Option<i64>,
        ) -> bool {
            String::from_utf8_lossy(&file.bytes)
                .lines()
                .any(|l| l == format!("{principal} {fingerprint}"))
        }
    }

    #[test]
    fn key_signers_are_judged_by_the_rules_key_files_without_a_time_proof() {
        struct Files;
        impl crate::policy::FileSource for Files {
            fn read(&self, path: &str) -> Result<Vec<u8>, crate::policy::SourceError> {
                Ok(match path {
                    "alice.asc" => b"AAAA".to_vec(),
                    _ => b"carol@example.com SHA256:carol".to_vec(),
                })
            }
            fn describe(&self, path: &str) -> String {
                path.to_owned()
            }
        }
        let text = "[authority.people]\nopenpgp = 'alice.asc'\nssh = 'allowed_signers'\n[[rule]]\nrefs = ['refs/*']\nauthorities = ['people']\ntransparency = 'embedded'\n";
        let p = crate::policy::PolicyFile::parse(text, "p", &Files).expect("parses");
        let rule = &p.rules[0];
        let good = Report::good_by_key(Some(1));
        let alice = Signer::OpenPgp {
            fingerprint: "AAAA".into(),
            time: Some(1),
        };
        assert_eq!(
            rule.judge_signed(&good, Some(&alice), &Listed),
            Ok(()),
            "no log entry, yet an embedded rule accepts a key it holds"
        );
        let carol = Signer::Ssh {
            fingerprint: "SHA256:carol".into(),
            principal: "carol@example.com".into(),
            time: Some(1),
        };
        assert_eq!(rule.judge_signed(&good, Some(&carol), &Listed), Ok(()));
        let e = rule
            .judge_signed(&good, Some(&alice), &NoKeyFormats)
            .expect_err("a key no file holds");
        assert!(
            e.reason.contains(
                "the signer OpenPGP key AAAA is not admitted by any authority of the rule (people)"
            ),
            "{}",
            e.reason
        );
        assert_eq!(
            e.hint,
            Some("the signer must be one the rule's authorities admit")
        );
        let bad = Report::bad(Failure::Unsigned);
        assert!(
            rule.judge_signed(&bad, Some(&alice), &Listed).is_err(),
            "a bad signature stays refused whoever signed"
        );
    }

    #[test]
    fn exempts_old_history() {
        let mut r = rule("any");
        let set: std::collections::HashSet<String> = ["aa".to_string()].into();
        assert!(!r.exempt(0, "aa", &set), "no cutoff, nothing exempt");
        r.unsigned_before = Some(Cutoff::Time(100));
        assert!(
            r.exempt(99, "bb", &set) && !r.exempt(100, "bb", &set),
            "strictly before the time"
        );
        r.unsigned_before = Some(Cutoff::Commit("aa".into()));
        assert!(
            r.exempt(i64::MAX, "aa", &set) && !r.exempt(0, "bb", &set),
            "the cutoff's ancestry only"
        );
    }

    /// Named authorities: identities bound to their issuers, bounds on the proven time.
    #[test]
    fn named_authorities_judge_pushes_too() {
        let text = "[authority.team]\nsigstore = [\n  { identity = 'alice@example.com', issuer = 'https://accounts.google.com', valid-before = 2000-01-01T00:00:00Z },\n  { identity = 'bob@example.com', issuer = 'https://github.com/login/oauth' },\n]\n[[rule]]\nrefs = ['refs/*']\nauthorities = ['team']\n";
        let rule = PolicyFile::parse(text).expect("parses").rules.remove(0);
        let tlog = |t: i64| {
            Some(Anchor::Tlog {
                log_index: 1,
                integrated_time: t,
                log_url: String::new(),
                source: EntrySource::Embedded,
            })
        };
        let mut bob = report(Outcome::Good, tlog(1_700_000_000), "bob@example.com");
        let e = rule
            .judge(&bob)
            .expect_err("bob with Google's issuer is not the listed pair");
        assert!(
            e.reason
                .contains("not admitted by any authority of the rule (team)"),
            "{}",
            e.reason
        );
        assert_eq!(
            e.hint,
            Some("the signer must be one the rule's authorities admit")
        );
        if let Some(id) = bob.identity.as_mut() {
            id.issuer = Some("https://github.com/login/oauth".into());
        }
        assert_eq!(rule.judge(&bob), Ok(()), "bob with his own issuer");
        let alice_late = report(Outcome::Good, tlog(1_700_000_000), "alice@example.com");
        let e = rule.judge(&alice_late).expect_err("after valid-before");
        assert!(
            e.reason
                .contains("only until 2000-01-01T00:00:00Z, and signed at 2023-11-14T22:13:20Z"),
            "the proven time, not the CMS signingTime, is bounded: {}",
            e.reason
        );
        assert_eq!(
            rule.judge(&report(
                Outcome::Good,
                tlog(900_000_000),
                "alice@example.com"
            )),
            Ok(())
        );
        let undecided = Outcome::Undecided(crate::verify::Undecided::NoTimeAnchor);
        assert!(
            admits_looked_up(&rule, &report(undecided.clone(), None, "alice@example.com")),
            "a bounded signer is worth proving: the proof gives the time"
        );
        assert!(!admits_looked_up(
            &rule,
            &report(undecided, None, "mallory@example.com")
        ));
    }
}
