//! The push decision of `gitsign hook`, as a library: what a push must prove and whether it
//! did. The semantics are written once, in [`POLICY_HELP`] (`gitsign hook --help`).
//!
//! 1. [`policy`]: the policy file (TOML, parsed with line and column for every error).
//! 2. [`plan::plan`]: ref updates + policy + the receiving repository → [`plan::Plan`]: per
//!    ref, the objects it gains under its rule, and the updates refused outright; under a
//!    committed policy trusted from the server's anchor, [`anchored::Anchored`] makes the
//!    plan, each commit under the rule of the policy in force at its first parent.
//! 3. (the caller verifies each planned object once through the verification driver, reusing
//!    the facts ([`crate::facts`]) kept from earlier verification, and proves online-mode
//!    signatures where a rule admits them)
//! 4. [`decide`]: plan + verification reports → [`Decision`], judged per ref by
//!    [`judge`] (`Rule::judge`), with [`Decision::exit_code`].
//!
//! Planning and deciding are pure; `cli/hook.rs` keeps argv, I/O, rendering and `install`.

pub mod anchored;
pub mod judge;
pub mod plan;
pub mod policy;

use std::collections::{HashMap, HashSet};

use gix::ObjectId;

use crate::verify::{ObjectKind, Outcome, Report, Undecided};
use judge::{admits_looked_up, Refusal, HINT_REKOR_FAILED};
use plan::{Plan, RefProblem, RefRefusal};
use policy::Rule;

/// What the policy says and how a push is judged: the one statement of the hook's semantics,
/// shown by `gitsign hook --help` (the README's hook section summarises it).
pub const POLICY_HELP: &str = "\
Policy file: --policy FILE, else git config gitsign.policy (relative to the git
directory), else gitsign-policy.toml in the git directory. A missing or invalid
policy refuses every push, naming the file, line and problem.

    default = \"reject\"            # refs matched by no rule: \"reject\" or \"allow\"
    [[rule]]                      # the first rule whose refs match applies
    refs = [\"refs/heads/main\", \"refs/tags/*\"]   # globs: * any run, ? one char
    identities = [\"alice@example.com\"]          # any-of, with identity-regexps
    identity-regexps = ['^.*@example\\.com$']
    issuers = [\"https://accounts.google.com\"]   # any-of, with issuer-regexps
    issuer-regexps = []
    transparency = \"any\"          # \"embedded\" | \"online\" | \"any\"
    unsigned-before = \"2024-01-01T00:00:00Z\"    # or a full commit id
    deletions = \"allow\"           # or \"reject\"

Each rule needs an identity and an issuer constraint (regexps are RE2, unanchored
unless anchored), or names authorities = [\"NAME\"] defined in [authority.NAME]
tables (Sigstore identities bound to their issuers, with Fulcio extension values
and validity bounds, OpenPGP and SSH key files beside the policy: gitsign policy
--help); unknown keys are errors. transparency = \"embedded\" requires
the Rekor entry embedded in the signature, and refuses online-mode signatures
(Go gitsign's rekorMode=online) even when Rekor has their entry; \"online\" also
admits signatures whose entry is found outside the signature, and \"any\" also an
RFC 3161 timestamp. unsigned-before accepts, unchecked, commits that are the
given commit or its ancestors, or whose committer date (set by the pusher) is
older. Deleting a ref is allowed unless its rule says deletions = \"reject\";
refs matched by no rule follow default for every update, deletions included.

OpenPGP and SSH signatures are verified against the key files of the policy's
authorities (paths relative to the policy file; SSH with git's
gpg.ssh.revocationFile of the receiving repository): a key in no authority is an
unknown key. A commit or tag signed by such a key is accepted when one of its
rule's authorities holds the key (for SSH: admits it for the principal, in
namespace git, at the committer's time); transparency does not apply to them,
as they carry no time proof. A key file that cannot be read refuses every push.

Each updated ref is judged by its own rule, on what it gains: the annotated tags
its new value peels through (each by its own signature), and the commits
OLD..NEW for an update; for a new ref, the commits of NEW not reachable from any
existing ref that the same rule governs (all of NEW's history, less what
unsigned-before accepts, when no such ref exists yet). A commit already on some
other ref is judged again under this ref's rule, so a laxer rule elsewhere
(default = \"allow\", refs/notes/*, another signer's branch) cannot carry it
here. Under a rule, a ref must peel to a signed tag or a commit: a bare tree or
blob is refused. Objects are read from the push quarantine, refs as before the
push. What a good verification established (signer, issuer, extensions, time
proof) is kept per object and trust root in gitsign/facts.log in the git
directory (the store gitsign verify keeps), for accepted pushes only, never
pushed or fetched, so judging a commit again costs no cryptography.

Committed policy: instead of a policy file, the server may trust the policy the
pushed history carries, .gitsign/policy.toml with its key files beside it (gitsign
policy --help), from an anchor commit it names: git config gitsign.policyAnchor in
the receiving repository, or --policy-anchor (gitsign hook install --policy-anchor
COMMIT writes it into the hook); a full commit id, which may arrive with the push.
As for gitsign verify, each commit a ref gains is judged by the rule for that ref of
the policy in force at its first parent (the anchor by its own policy), and its
OpenPGP or SSH signature is verified against that policy's key files. A commit
that changes .gitsign/ is refused (unauthorized_policy_change) unless one of the
policy-authorities of that policy signed it: a pusher cannot add their own
identity, and commits relying on a refused change are judged by the old policy.
Commits a merge brings in are judged by the policy at the merge's first parent;
commits that do not descend from the anchor, by the anchor's. The ref itself (its
rule, default, deletions, annotated tags, which refs share its rule) follows the
policy in force after its new tip, or its old one for a deletion; a ref it gives
no rule follows its default, so under default = \"allow\" a change can be pushed
for review to such a ref; on a ruled one, the proposer's commit stays refused, and
a policy authority commits the change again under their own signature. Every push
reads the history back to the anchor: anchor a recent commit. A policy file and an anchor together refuse every
push (exit 2): the hook takes one root of trust.

Online-mode signatures, where the rule admits them, are proven as gitsign verify
proves them: by a proof kept in the repository (gitsign/proofs, notes under
refs/notes/gitsign), else by a Rekor lookup (gitsign.rekor, gitsign.timeout,
gitsign.rekorConcurrency, gitsign.rekorDeadline). Proofs found are kept, so a
re-push needs no lookup. If Rekor cannot be reached or answers with an error,
those objects are refused, naming Rekor and the error; if a lookup setting is
invalid, they are refused naming the setting. With --offline Rekor is never
contacted, and online-mode signatures without a kept proof are refused.

Trust: signatures are verified against the server's trusted root: --trusted-root
(gitsign hook install --trusted-root FILE writes it into the hook), else git
config gitsign.trustedRoot in the receiving repository (or GITSIGN_TRUSTED_ROOT
in the hook's environment), else the embedded Sigstore public-good root.

Exit status: 0 accepts the push, 1 refuses it (policy not met), 2 refuses it
because nothing could be decided (policy, repository or trust root unreadable).";

/// One refused ref update or object, in the order the pusher reads them.
#[derive(Debug, Clone)]
pub enum Refused<'p> {
    /// Refused by the plan alone.
    Ref(RefRefusal<'p>),
    /// An object the ref gains that its rule refuses.
    Object {
        id: ObjectId,
        kind: ObjectKind,
        refname: String,
        rule: &'p Rule,
        /// The committed policy the rule is from (`None`: the server's policy file).
        file: Option<&'p str>,
        refusal: Refusal,
        /// Refused because Rekor could not be asked although the rule would use its entry.
        lookup_failed: bool,
    },
}

impl Refused<'_> {
    /// The line for the pusher; `file` names the policy, `subject` the object's first line.
    pub fn line(&self, file: &str, subject: &str) -> String {
        match self {
            Refused::Ref(r) => {
                let file = r.file.unwrap_or(file);
                let at = r.rule.map(|rule| format!("{file}:{}", rule.line));
                match (&r.problem, at) {
                    (RefProblem::Deletion, Some(at)) => format!(
                        "{}: deleting this ref is not allowed (deletions = \"reject\", {at})",
                        r.refname
                    ),
                    (RefProblem::NotSignable { id, kind }, Some(at)) => format!(
                        "{}: points at a {kind} ({id}), not a signed tag or a commit, and its rule requires signatures ({at})",
                        r.refname
                    ),
                    _ => format!(
                        "{}: no rule in {file} matches this ref, and default = \"reject\"",
                        r.refname
                    ),
                }
            }
            Refused::Object {
                id,
                refname,
                rule,
                file: committed,
                refusal,
                ..
            } => format!(
                "{id} {}: {} ({refname}, {}:{})",
                subject.trim(),
                refusal.reason,
                committed.unwrap_or(file),
                rule.line
            ),
        }
    }

    /// What to do about it, if there is something to say.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Refused::Ref(r) => match r.problem {
                RefProblem::NoRule => {
                    Some("add a [[rule]] whose refs match the ref, or push to a ref a rule covers")
                }
                RefProblem::Deletion => None,
                RefProblem::NotSignable { .. } => {
                    Some("point the ref at a commit, or at a tag signed with `git tag -s`")
                }
            },
            Refused::Object {
                lookup_failed: true,
                ..
            } => Some(HINT_REKOR_FAILED),
            Refused::Object { refusal, .. } => refusal.hint,
        }
    }
}

/// The verdict on a push.
#[derive(Debug, Clone, Default)]
pub struct Decision<'p> {
    /// Ref-level refusals first (update order), then refused objects (plan order).
    pub refusals: Vec<Refused<'p>>,
    /// Distinct objects some ref's rule refused.
    pub objects_refused: usize,
    /// Ref updates refused by the plan alone (no rule, deletion, not signable).
    pub refs_refused: usize,
}

impl Decision<'_> {
    pub fn accepted(&self) -> bool {
        self.refusals.is_empty()
    }

    /// 0 accepts the push, 1 refuses it. Objects refused only because Rekor could not be asked
    /// are 1 too: the hook judged them, and one without a verified log entry does not meet a
    /// rule that requires one, whatever kept the entry from being verified (the answer
    /// --offline gives). 2 (nothing decided) is the caller's, before there is a plan.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.accepted())
    }

    /// The first hint any refusal carries.
    pub fn hint(&self) -> Option<&'static str> {
        self.refusals.iter().find_map(Refused::hint)
    }
}

/// Which objects are worth an online proof: undecided for want of a log entry, and checked
/// under some rule that would accept an entry found outside the signature and names their
/// signer (no lookup for an object refused anyway). The verification driver's filter.
pub struct WorthProving<'p> {
    rules: HashMap<ObjectId, Vec<&'p Rule>>,
}

impl<'p> WorthProving<'p> {
    pub fn new(plan: &Plan<'p>) -> WorthProving<'p> {
        let mut rules: HashMap<ObjectId, Vec<&'p Rule>> = HashMap::new();
        for c in &plan.checks {
            rules.entry(c.id).or_default().push(c.rule);
        }
        WorthProving { rules }
    }

    /// Whether object `id`, whose first verification gave `report`, is worth an online proof.
    pub fn admits(&self, id: &ObjectId, report: &Report) -> bool {
        matches!(report.outcome, Outcome::Undecided(Undecided::NoTimeAnchor))
            && self
                .rules
                .get(id)
                .is_some_and(|rules| rules.iter().any(|r| admits_looked_up(r, report)))
    }
}

/// A commit its rule accepts is still refused when it changes the committed policy without
/// the authority of the policy in force (`why`), as `gitsign verify` reports it.
fn unauthorized(why: Option<&str>) -> Result<(), Refusal> {
    match why {
        None => Ok(()),
        Some(why) => {
            let f = crate::verify::Failure::UnauthorizedPolicyChange(why.to_owned());
            Err(Refusal {
                reason: format!("{} ({})", crate::text::one_line(&f), f.code()),
                hint: f.hint(),
            })
        }
    }
}

/// Judge each planned check by its ref's rule. `reports` holds one report per planned object
/// (verified with an empty identity policy); an object without one is refused (fail closed).
/// Sigstore signers only: [`decide_signed`] with no other signer.
pub fn decide<'p>(plan: &Plan<'p>, reports: &HashMap<ObjectId, Report>) -> Decision<'p> {
    decide_signed(
        plan,
        reports,
        &HashMap::new(),
        &crate::policy::judge::NoKeyFormats,
    )
}

/// [`decide`], with `signers` naming who signed the objects whose signer is not their report's
/// Sigstore certificate (OpenPGP and SSH signatures), and `keys` saying which of the rules'
/// key files hold their keys.
pub fn decide_signed<'p>(
    plan: &Plan<'p>,
    reports: &HashMap<ObjectId, Report>,
    signers: &HashMap<ObjectId, crate::policy::Signer>,
    keys: &dyn crate::policy::KeyFormats,
) -> Decision<'p> {
    let mut refusals: Vec<Refused<'p>> = plan
        .ref_refusals
        .iter()
        .cloned()
        .map(Refused::Ref)
        .collect();
    let refs_refused = refusals.len();
    let mut refused_objects = HashSet::new();
    for c in &plan.checks {
        let verdict = match reports.get(&c.id) {
            Some(report) => c
                .rule
                .judge_signed(report, signers.get(&c.id), keys)
                .and_then(|()| unauthorized(c.unauthorized.as_deref()))
                .map_err(|refusal| {
                    (
                        refusal,
                        matches!(
                            report.outcome,
                            Outcome::Undecided(Undecided::LookupFailed { .. })
                        ) && admits_looked_up(c.rule, report),
                    )
                }),
            None => Err((
                Refusal {
                    reason: "the object was not verified (internal error)".into(),
                    hint: None,
                },
                false,
            )),
        };
        if let Err((refusal, lookup_failed)) = verdict {
            refused_objects.insert(c.id);
            refusals.push(Refused::Object {
                id: c.id,
                kind: c.kind,
                refname: c.refname.clone(),
                rule: c.rule,
                file: c.file(),
                refusal,
                lookup_failed,
            });
        }
    }
    Decision {
        refusals,
        objects_refused: refused_objects.len(),
        refs_refused,
    }
}

#[cfg(test)]
mod tests {
    use super::plan::tests::{oid, policy, update, Fake, POLICY};
    use super::*;
    use crate::verify::policy::Identity;
    use crate::verify::{Anchor, EntrySource, Failure};

    fn signed_by(who: &str) -> Report {
        Report {
            outcome: Outcome::Good,
            identity: Some(Identity {
                sans: vec![who.into()],
                issuer: Some("https://accounts.example.com".into()),
                ..Identity::default()
            }),
            cert: None,
            anchor: Some(Anchor::Tlog {
                log_index: 1,
                integrated_time: 1,
                log_url: String::new(),
                source: EntrySource::Embedded,
            }),
            signing_time: Some(1),
        }
    }

    /// 1 <- 2 <- 3, main at 1, dev (bob's rule) at 3.
    fn repo() -> Fake {
        Fake::default()
            .commit(1, &[], 10)
            .commit(2, &[1], 20)
            .commit(3, &[2], 30)
            .at("refs/heads/main", 1)
            .at("refs/heads/dev", 3)
    }

    #[test]
    fn a_commit_accepted_on_one_ref_is_judged_again_on_another() {
        // Issue 16.1: bob's commits, fine on dev, are refused on main (alice's rule).
        let p = policy(POLICY);
        let plan =
            plan::plan(&[update(Some(1), Some(3), "refs/heads/main")], &p, &repo()).expect("plans");
        let reports: HashMap<_, _> = [
            (oid(2), signed_by("bob@example.com")),
            (oid(3), signed_by("bob@example.com")),
        ]
        .into();
        let d = decide(&plan, &reports);
        assert_eq!(d.exit_code(), 1, "refused");
        assert_eq!((d.objects_refused, d.refs_refused), (2, 0));
        let lines: Vec<String> = d
            .refusals
            .iter()
            .map(|r| r.line("p.toml", "subject"))
            .collect();
        assert_eq!(
            lines[0],
            format!(
                "{} subject: identity mismatch: certificate names 'bob@example.com', policy wants 'alice@example.com' (refs/heads/main, p.toml:4)",
                oid(3)
            )
        );
        assert_eq!(
            d.hint(),
            Some("the signer must match the rule's identities and issuers")
        );

        let reports: HashMap<_, _> = [
            (oid(2), signed_by("alice@example.com")),
            (oid(3), signed_by("alice@example.com")),
        ]
        .into();
        let d = decide(&plan, &reports);
        assert!(d.accepted() && d.exit_code() == 0, "{:?}", d.refusals);
    }

    #[test]
    fn ref_refusals_come_first_and_are_counted_apart_from_objects() {
        let p = policy(&POLICY.replace("\"allow\"", "\"reject\""));
        let plan = plan::plan(
            &[
                update(None, Some(3), "refs/heads/feature"),
                update(None, Some(3), "refs/notes/x"),
            ],
            &p,
            &repo().at("refs/heads/other", 1),
        )
        .expect("plans");
        // feature (bob's rule) gains nothing dev does not hold; the notes ref has no rule.
        assert!(plan.checks.is_empty(), "{:?}", plan.checks);
        let d = decide(&plan, &HashMap::new());
        assert_eq!(
            (d.objects_refused, d.refs_refused, d.exit_code()),
            (0, 1, 1)
        );
        assert_eq!(
            d.refusals[0].line("p.toml", ""),
            "refs/notes/x: no rule in p.toml matches this ref, and default = \"reject\""
        );
    }

    #[test]
    fn missing_reports_refuse_and_failed_lookups_get_the_rekor_hint() {
        let p = policy(&POLICY.replace(
            "issuers = [\"https://accounts.example.com\"]\n[[rule]]",
            "issuers = [\"https://accounts.example.com\"]\ntransparency = \"online\"\n[[rule]]",
        ));
        let plan =
            plan::plan(&[update(Some(1), Some(3), "refs/heads/main")], &p, &repo()).expect("plans");
        let undecided = Report {
            outcome: Outcome::Undecided(Undecided::LookupFailed {
                rekor_url: "http://rekor".into(),
                error: "500".into(),
            }),
            anchor: None,
            ..signed_by("alice@example.com")
        };
        let reports: HashMap<_, _> = [(oid(3), undecided.clone())].into();
        let d = decide(&plan, &reports);
        assert_eq!(
            d.objects_refused, 2,
            "3 is undecided, 2 has no report: both refused"
        );
        assert_eq!(
            d.hint(),
            Some(HINT_REKOR_FAILED),
            "the first refusal is the failed lookup"
        );
        let missing = d
            .refusals
            .iter()
            .find(|r| matches!(r, Refused::Object { id, .. } if *id == oid(2)));
        assert!(
            missing.is_some_and(|r| r.line("p", "s").contains("was not verified")),
            "an object without a report is refused, not accepted"
        );
    }

    #[test]
    fn bad_signatures_name_the_failure_and_unknown_logs_name_the_server_trust() {
        let p = policy(POLICY);
        let plan =
            plan::plan(&[update(Some(1), Some(2), "refs/heads/main")], &p, &repo()).expect("plans");
        let unknown = Report {
            outcome: Outcome::Bad(Failure::Tlog(crate::verify::tlog::TlogError::UnknownLog {
                log_id: "abcd".into(),
            })),
            ..signed_by("alice@example.com")
        };
        let d = decide(&plan, &[(oid(2), unknown)].into());
        assert!(
            d.refusals[0]
                .line("p", "s")
                .contains("transparency log 'abcd' is not in the trusted root"),
            "{:?}",
            d.refusals
        );
        let hint = d.hint().expect("a hint");
        assert!(
            hint.contains("gitsign hook install --trusted-root FILE")
                && hint.contains("gitsign.trustedRoot"),
            "{hint}"
        );
    }

    #[test]
    fn only_objects_a_rule_would_accept_with_a_looked_up_entry_are_proven() {
        let online = POLICY.replace(
            "issuers = [\"https://accounts.example.com\"]\n[[rule]]",
            "issuers = [\"https://accounts.example.com\"]\ntransparency = \"online\"\n[[rule]]",
        );
        let no_entry = |who: &str| Report {
            outcome: Outcome::Undecided(Undecided::NoTimeAnchor),
            anchor: None,
            ..signed_by(who)
        };
        let embedded = online.replace("\"online\"", "\"embedded\"");
        for (text, who, want) in [
            (online.as_str(), "alice@example.com", vec![oid(3), oid(2)]),
            (online.as_str(), "bob@example.com", vec![]),
            (embedded.as_str(), "alice@example.com", vec![]),
        ] {
            let p = policy(text);
            let plan = plan::plan(&[update(Some(1), Some(3), "refs/heads/main")], &p, &repo())
                .expect("plans");
            let reports: HashMap<_, _> = [(oid(2), no_entry(who)), (oid(3), no_entry(who))].into();
            let worth = WorthProving::new(&plan);
            let mut seen = HashSet::new();
            let got: Vec<_> = plan
                .checks
                .iter()
                .map(|c| c.id)
                .filter(|id| worth.admits(id, &reports[id]) && seen.insert(*id))
                .collect();
            assert_eq!(
                got, want,
                "{who} under {text}: the signer must match an online rule"
            );
        }
    }
}
