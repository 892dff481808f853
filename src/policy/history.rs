//! A committed policy protected by its own history: `.gitsign/policy.toml` (and the key
//! files beside it in `.gitsign/`) trusted from an anchor commit the user chooses
//! (`gitsign.policyAnchor`, `gitsign verify --policy-anchor REV`). Pure over a
//! [`PolicyHistory`] (parents, the `.gitsign` tree, the committed policy, verdicts).
//!
//! - The anchor is judged by its own policy.
//! - Every later commit is judged by the policy in force at its first parent.
//! - A commit that changes `.gitsign/` (its `.gitsign` tree differs from its first parent's)
//!   changes the policy in force only when it is good under the rule of the ref, *and* one of
//!   the `policy-authorities` of the policy in force admits its signer; otherwise the commit
//!   is bad ([`crate::verify::Failure::UnauthorizedPolicyChange`]) and the old policy stays
//!   in force for its descendants. So a person who may push cannot add their own key.
//! - Commits brought in by a merge (whose first-parent chain does not reach the anchor) are
//!   judged by the policy in force at the merge's first parent, and their own changes to
//!   `.gitsign/` do not take effect (the merge's change, against its first parent, is judged).
//! - Commits that are not descendants of the anchor are [`Standing::BeforeAnchor`].
//!
//! The map is computed parents before children over the first-parent chains from the
//! commits asked about back to the anchor. Limit: a commit on a side branch forked after the
//! anchor follows its own first-parent chain (its branch's evolution of the policy, each
//! change authorised by the policy it descends from); when two merges bring in the same
//! commit, the one met first claims it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use gix::ObjectId;

use super::{PolicyFile, Signer, SigstoreSigner};
use crate::verify::{Outcome, Report};

/// The committed policy's directory and file, from the root of the tree.
pub const POLICY_DIR: &str = ".gitsign";
pub const POLICY_PATH: &str = ".gitsign/policy.toml";

/// Why the policy in force could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("reading commit {commit}")]
    Git {
        commit: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the policy anchor {0} holds no {POLICY_PATH}")]
    NoPolicyAtAnchor(String),
    #[error("the policy committed in {commit} is invalid")]
    Policy {
        commit: String,
        #[source]
        source: super::ParseError,
    },
}

/// What the computation needs of a repository.
pub trait PolicyHistory {
    /// The commit's parents, first parent first.
    fn parents(&self, commit: ObjectId) -> Result<Vec<ObjectId>, HistoryError>;
    /// The id of the commit's `.gitsign` tree entry (`None`: there is none); equal ids are
    /// equal contents.
    fn policy_dir(&self, commit: ObjectId) -> Result<Option<ObjectId>, HistoryError>;
    /// The policy committed in the commit's tree (`None`: there is no `.gitsign/policy.toml`).
    fn policy(&self, commit: ObjectId) -> Result<Option<PolicyFile>, HistoryError>;
    /// The verdict on the commit's signature, with an empty identity policy.
    fn report(&self, commit: ObjectId) -> Result<Report, HistoryError>;

    /// The verdict on the commit's signature and who made it, an OpenPGP or SSH signature
    /// verified against the key files of `in_force`. By default, [`Self::report`] and its
    /// Sigstore signer.
    fn signed(
        &self,
        commit: ObjectId,
        in_force: &PolicyFile,
    ) -> Result<(Report, Option<Signer>), HistoryError> {
        let _ = in_force;
        let report = self.report(commit)?;
        let signer = SigstoreSigner::from_report(&report).map(Signer::Sigstore);
        Ok((report, signer))
    }

    /// Which key files hold an OpenPGP or SSH signer's key. By default none does.
    fn key_formats(&self) -> &dyn super::KeyFormats {
        &super::judge::NoKeyFormats
    }
}

/// What a commit's change to `.gitsign/` came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The commit does not change `.gitsign/` (or was brought in by a merge).
    None,
    /// The change takes effect for the commit's descendants.
    Authorised,
    /// The change does not take effect; why.
    Refused(String),
}

/// How a commit stands towards the anchored policy.
#[derive(Debug, Clone)]
pub enum Standing {
    /// Not a descendant of the anchor: not judged.
    BeforeAnchor,
    /// Judged by `policy` (in force at its first parent; the anchor's own for the anchor).
    Judged {
        policy: Arc<PolicyFile>,
        change: Change,
    },
}

/// The standing of every commit asked about (and of those on the way to the anchor).
#[derive(Debug)]
pub struct Evolution {
    anchor: ObjectId,
    refname: String,
    standing: HashMap<ObjectId, Standing>,
    /// The policy in force for a commit's children.
    after: HashMap<ObjectId, Arc<PolicyFile>>,
    /// Commits whose first-parent chain ends at a root without meeting the anchor.
    unanchored: HashSet<ObjectId>,
    /// The anchor's ancestors, computed when a commit is first found unanchored.
    before: Option<HashSet<ObjectId>>,
}

fn label(id: &ObjectId) -> String {
    id.to_hex().to_string()
}

impl Evolution {
    /// The policy anchored at `anchor`; `refname` names the rule a policy-changing commit
    /// must be good under.
    pub fn new(
        history: &dyn PolicyHistory,
        anchor: ObjectId,
        refname: &str,
    ) -> Result<Evolution, HistoryError> {
        let policy = history
            .policy(anchor)?
            .ok_or_else(|| HistoryError::NoPolicyAtAnchor(label(&anchor)))?;
        let policy = Arc::new(policy);
        let mut ev = Evolution {
            anchor,
            refname: refname.to_owned(),
            standing: HashMap::new(),
            after: HashMap::new(),
            unanchored: HashSet::new(),
            before: None,
        };
        ev.standing.insert(
            anchor,
            Standing::Judged {
                policy: policy.clone(),
                change: Change::None,
            },
        );
        ev.after.insert(anchor, policy);
        Ok(ev)
    }

    /// The standing of `commit` (`None`: it was not asked about).
    pub fn standing(&self, commit: &ObjectId) -> Option<&Standing> {
        self.standing.get(commit)
    }

    /// The policy in force for `commit`'s children (`None`: before the anchor, or not asked).
    pub fn in_force_after(&self, commit: &ObjectId) -> Option<&Arc<PolicyFile>> {
        self.after.get(commit)
    }

    /// Compute the standing of each of `commits` (and of the commits on their way to the
    /// anchor), parents before children; commits already known are not computed again.
    pub fn learn(
        &mut self,
        history: &dyn PolicyHistory,
        commits: &[ObjectId],
    ) -> Result<(), HistoryError> {
        let mut merges: Vec<ObjectId> = Vec::new();
        let mut unanchored = Vec::new();
        for &c in commits {
            if !self.standing.contains_key(&c) && !self.chain(history, c, &mut merges)? {
                unanchored.push(c);
            }
        }
        // Commits a merge brought in: everything reachable from its other parents whose own
        // first-parent chain does not reach the anchor, and that is not an ancestor of it.
        let mut next = 0;
        while let Some(&m) = merges.get(next) {
            next += 1;
            let parents = history.parents(m)?;
            if parents.len() < 2 {
                continue;
            }
            let Some(in_force) = parents.first().and_then(|p| self.after.get(p)).cloned() else {
                continue;
            };
            if self.before.is_none() {
                self.before = Some(ancestors(history, self.anchor)?);
            }
            let mut todo: Vec<ObjectId> = parents.iter().skip(1).copied().collect();
            while let Some(x) = todo.pop() {
                let is_before = self.before.as_ref().is_some_and(|b| b.contains(&x));
                if self.after.contains_key(&x)
                    || is_before
                    || self.chain(history, x, &mut merges)?
                {
                    continue;
                }
                self.unanchored.remove(&x);
                self.standing.insert(
                    x,
                    Standing::Judged {
                        policy: in_force.clone(),
                        change: Change::None,
                    },
                );
                self.after.insert(x, in_force.clone());
                todo.extend(history.parents(x)?);
            }
        }
        for c in unanchored {
            self.standing.entry(c).or_insert(Standing::BeforeAnchor);
        }
        Ok(())
    }

    /// Follow `c`'s first parents back to a commit whose policy is known and compute the
    /// chain's, oldest first (merges met are pushed on `merges`); false when the chain ends at
    /// a root without meeting the anchor (its commits are then remembered as unanchored).
    fn chain(
        &mut self,
        history: &dyn PolicyHistory,
        c: ObjectId,
        merges: &mut Vec<ObjectId>,
    ) -> Result<bool, HistoryError> {
        let mut chain = Vec::new();
        let mut at = Some(c);
        let reached = loop {
            let Some(x) = at else { break false };
            if self.after.contains_key(&x) {
                break true;
            }
            if self.unanchored.contains(&x) {
                break false;
            }
            chain.push(x);
            at = history.parents(x)?.first().copied();
        };
        if !reached {
            self.unanchored.extend(chain);
            return Ok(false);
        }
        for &x in chain.iter().rev() {
            let parents = history.parents(x)?;
            let Some(p) = parents.first().copied() else {
                continue;
            };
            if parents.len() > 1 {
                merges.push(x);
            }
            let Some(in_force) = self.after.get(&p).cloned() else {
                continue;
            };
            let (after, change) = if history.policy_dir(x)? != history.policy_dir(p)? {
                self.judge_change(history, x, &in_force)?
            } else {
                (in_force.clone(), Change::None)
            };
            self.standing.insert(
                x,
                Standing::Judged {
                    policy: in_force,
                    change,
                },
            );
            self.after.insert(x, after);
        }
        Ok(true)
    }

    /// Whether `commit`'s change to `.gitsign/` takes effect under `in_force`: the policy in
    /// force after it, and what the change came to.
    fn judge_change(
        &self,
        history: &dyn PolicyHistory,
        commit: ObjectId,
        in_force: &Arc<PolicyFile>,
    ) -> Result<(Arc<PolicyFile>, Change), HistoryError> {
        let refname = self.refname.as_str();
        let refused = |why: String| Ok((in_force.clone(), Change::Refused(why)));
        let (report, signer) = history.signed(commit, in_force)?;
        if report.outcome != Outcome::Good {
            return refused("its signature is not good".into());
        }
        let Some(signer) = signer else {
            return refused("it names no signer".into());
        };
        let keys = history.key_formats();
        if let Some(rule) = in_force.rule_for(refname) {
            if let Err(e) = rule.admit(&signer, keys) {
                return refused(e.to_string());
            }
        } else if in_force.default == super::DefaultAction::Reject {
            return refused(format!("no rule of the policy in force governs {refname}"));
        }
        let authorities: Vec<_> = in_force
            .policy_authorities
            .iter()
            .filter_map(|&i| in_force.authorities.get(i).cloned())
            .collect();
        if let Err(e) = super::judge::judge_among(&authorities, &signer, keys) {
            let names = authorities
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            return refused(if authorities.is_empty() {
                "the policy in force names no policy-authorities".into()
            } else {
                format!("the signer is not a policy authority ({names}): {e}")
            });
        }
        match history.policy(commit) {
            Ok(Some(p)) => Ok((Arc::new(p), Change::Authorised)),
            Ok(None) => refused(format!("it removes {POLICY_PATH}")),
            // An authority's typo must not stop every later verification: the old policy
            // stays in force.
            Err(HistoryError::Policy { source, .. }) => {
                refused(format!("the policy it commits is invalid: {source}"))
            }
            Err(e) => Err(e),
        }
    }
}

/// Every ancestor of `commit`, itself included.
fn ancestors(
    history: &dyn PolicyHistory,
    commit: ObjectId,
) -> Result<HashSet<ObjectId>, HistoryError> {
    let mut seen = HashSet::new();
    let mut todo = vec![commit];
    while let Some(x) = todo.pop() {
        if seen.insert(x) {
            todo.extend(history.parents(x)?);
        }
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::NoFiles;
    use crate::verify::policy::Identity;
    use crate::verify::{Anchor, EntrySource, Failure};

    const GOOGLE: &str = "https://accounts.google.com";

    /// A policy admitting `signers` on main, of whom `authorities` may change it.
    fn policy_text(signers: &[&str], authorities: &[&str]) -> String {
        let mut t = format!(
            "policy-authorities = [{}]\n",
            authorities
                .iter()
                .map(|a| format!("'{}'", a.split('@').next().unwrap_or(a)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for s in signers {
            let name = s.split('@').next().unwrap_or(s);
            t.push_str(&format!(
                "[authority.{name}]\nsigstore = [{{ identity = '{s}', issuer = '{GOOGLE}' }}]\n"
            ));
        }
        let names: Vec<String> = signers
            .iter()
            .map(|s| format!("'{}'", s.split('@').next().unwrap_or(s)))
            .collect();
        t.push_str(&format!(
            "[[rule]]\nrefs = ['refs/heads/main']\nauthorities = [{}]\n",
            names.join(", ")
        ));
        t
    }

    struct Commit {
        parents: Vec<ObjectId>,
        /// The `.gitsign` tree: a policy text (its id is derived from it).
        policy: Option<String>,
        signer: String,
    }

    #[derive(Default)]
    struct Fake {
        commits: HashMap<ObjectId, Commit>,
    }

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[n; 20])
    }

    impl Fake {
        fn add(&mut self, n: u8, parents: &[u8], policy: Option<String>, signer: &str) {
            self.commits.insert(
                id(n),
                Commit {
                    parents: parents.iter().map(|&p| id(p)).collect(),
                    policy,
                    signer: signer.to_owned(),
                },
            );
        }

        fn get(&self, c: ObjectId) -> Result<&Commit, HistoryError> {
            self.commits.get(&c).ok_or_else(|| HistoryError::Git {
                commit: label(&c),
                source: "no such commit".into(),
            })
        }
    }

    impl PolicyHistory for Fake {
        fn parents(&self, c: ObjectId) -> Result<Vec<ObjectId>, HistoryError> {
            Ok(self.get(c)?.parents.clone())
        }

        fn policy_dir(&self, c: ObjectId) -> Result<Option<ObjectId>, HistoryError> {
            // Equal texts, equal ids (a hash of the text stands for the tree id).
            Ok(self.get(c)?.policy.as_ref().map(|p| {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                p.hash(&mut h);
                let mut bytes = [0u8; 20];
                bytes[..8].copy_from_slice(&h.finish().to_le_bytes());
                ObjectId::from_bytes_or_panic(&bytes)
            }))
        }

        fn policy(&self, c: ObjectId) -> Result<Option<PolicyFile>, HistoryError> {
            match &self.get(c)?.policy {
                None => Ok(None),
                Some(text) => PolicyFile::parse(text, "p", &NoFiles)
                    .map(Some)
                    .map_err(|source| HistoryError::Policy {
                        commit: label(&c),
                        source,
                    }),
            }
        }

        fn report(&self, c: ObjectId) -> Result<Report, HistoryError> {
            Ok(Report {
                outcome: Outcome::Good,
                identity: Some(Identity {
                    sans: vec![self.get(c)?.signer.clone()],
                    issuer: Some(GOOGLE.into()),
                    ..Identity::default()
                }),
                cert: None,
                anchor: Some(Anchor::Tlog {
                    log_index: 1,
                    integrated_time: 1_700_000_000,
                    log_url: String::new(),
                    source: EntrySource::Embedded,
                }),
                signing_time: None,
            })
        }
    }

    /// Who the policy judging `c` admits on main.
    fn admits(ev: &Evolution, c: u8, who: &str) -> bool {
        let Some(Standing::Judged { policy, .. }) = ev.standing(&id(c)) else {
            panic!("commit {c} is judged");
        };
        let rule = policy.rule_for("refs/heads/main").expect("a rule for main");
        let mut tally = crate::policy::AuthorityTally::for_rule(rule);
        let mut report = Fake::default_report(who);
        rule.judge_report(
            &mut report,
            None,
            &crate::policy::judge::NoKeyFormats,
            &mut tally,
        )
        .is_some()
    }

    impl Fake {
        fn default_report(who: &str) -> Report {
            let mut f = Fake::default();
            f.add(0, &[], None, who);
            f.report(id(0)).expect("report")
        }
    }

    fn change(ev: &Evolution, c: u8) -> Change {
        match ev.standing(&id(c)) {
            Some(Standing::Judged { change, .. }) => change.clone(),
            other => panic!("commit {c} is judged: {other:?}"),
        }
    }

    #[test]
    fn a_policy_change_takes_effect_only_when_a_policy_authority_signs_it() {
        let v1 = policy_text(
            &["alice@example.com", "bob@example.com"],
            &["alice@example.com"],
        );
        let with_carol = policy_text(
            &["alice@example.com", "bob@example.com", "carol@example.com"],
            &["alice@example.com"],
        );
        let with_mallory = policy_text(
            &[
                "alice@example.com",
                "bob@example.com",
                "mallory@example.com",
            ],
            &["alice@example.com"],
        );
        let mut h = Fake::default();
        h.add(1, &[], None, "nobody@example.com"); // before the anchor
        h.add(2, &[1], Some(v1.clone()), "alice@example.com"); // the anchor
        h.add(3, &[2], Some(with_mallory), "bob@example.com"); // bob is no policy authority
        h.add(4, &[3], Some(v1.clone()), "bob@example.com"); // back as it was: a change again
        h.add(5, &[4], Some(with_carol.clone()), "alice@example.com"); // authorised
        h.add(6, &[5], Some(with_carol.clone()), "carol@example.com");
        // alice commits an invalid policy: refused, the old one stays in force.
        h.add(
            7,
            &[6],
            Some("default = 'maybe'\n".into()),
            "alice@example.com",
        );
        h.add(
            8,
            &[7],
            Some("default = 'maybe'\n".into()),
            "carol@example.com",
        );
        let mut ev = Evolution::new(&h, id(2), "refs/heads/main").expect("anchor");
        ev.learn(&h, &[id(8), id(6), id(5), id(4), id(3), id(2), id(1)])
            .expect("learns");
        assert!(matches!(ev.standing(&id(1)), Some(Standing::BeforeAnchor)));
        assert_eq!(
            change(&ev, 2),
            Change::None,
            "the anchor is judged by its own"
        );
        assert!(admits(&ev, 2, "bob@example.com"));
        assert!(
            matches!(change(&ev, 3), Change::Refused(why) if why.contains("policy authority")),
            "bob may sign but not change the policy"
        );
        assert!(
            !admits(&ev, 4, "mallory@example.com"),
            "the refused change does not take effect for the descendants"
        );
        assert!(matches!(change(&ev, 4), Change::Refused(_)));
        assert_eq!(change(&ev, 5), Change::Authorised);
        assert!(
            !admits(&ev, 5, "carol@example.com"),
            "5 is judged by its parent's"
        );
        assert!(
            admits(&ev, 6, "carol@example.com"),
            "alice's change took effect"
        );
        assert_eq!(
            Failure::UnauthorizedPolicyChange("x".into()).code(),
            "unauthorized_policy_change"
        );
    }

    #[test]
    fn commits_a_merge_brings_in_are_judged_by_the_policy_at_its_first_parent() {
        let v1 = policy_text(&["alice@example.com"], &["alice@example.com"]);
        let mut h = Fake::default();
        h.add(1, &[], None, "x@example.com");
        h.add(2, &[1], None, "x@example.com"); // a side branch forked before the anchor
        h.add(3, &[1], Some(v1.clone()), "alice@example.com"); // the anchor
        h.add(4, &[3, 2], Some(v1), "alice@example.com"); // merges the side branch
        let mut ev = Evolution::new(&h, id(3), "refs/heads/main").expect("anchor");
        ev.learn(&h, &[id(4), id(2), id(3), id(1)]).expect("learns");
        assert!(
            admits(&ev, 2, "alice@example.com"),
            "2 is judged, by 3's policy"
        );
        assert!(!admits(&ev, 2, "x@example.com"));
        assert!(matches!(ev.standing(&id(1)), Some(Standing::BeforeAnchor)));
        assert!(
            matches!(
                Evolution::new(&h, id(1), "refs/heads/main"),
                Err(HistoryError::NoPolicyAtAnchor(_))
            ),
            "an anchor without a policy is an error"
        );
    }

    #[test]
    fn a_side_branch_forked_after_the_anchor_keeps_its_own_chain_whatever_the_order() {
        let v1 = policy_text(
            &["alice@example.com", "bob@example.com"],
            &["alice@example.com"],
        );
        let with_mallory = policy_text(
            &[
                "alice@example.com",
                "bob@example.com",
                "mallory@example.com",
            ],
            &["alice@example.com"],
        );
        let mut h = Fake::default();
        h.add(3, &[], Some(v1), "alice@example.com"); // the anchor
        h.add(4, &[3], Some(with_mallory.clone()), "bob@example.com"); // side: refused
        h.add(5, &[4], Some(with_mallory.clone()), "mallory@example.com");
        h.add(6, &[3], Some(with_mallory.clone()), "alice@example.com"); // main: authorised
        h.add(7, &[6, 5], Some(with_mallory), "alice@example.com"); // the merge
        for order in [vec![vec![7], vec![5, 4]], vec![vec![5, 4, 7]]] {
            let mut ev = Evolution::new(&h, id(3), "refs/heads/main").expect("anchor");
            for chunk in order {
                let ids: Vec<ObjectId> = chunk.into_iter().map(id).collect();
                ev.learn(&h, &ids).expect("learns");
            }
            assert!(matches!(change(&ev, 4), Change::Refused(_)));
            assert!(
                !admits(&ev, 5, "mallory@example.com"),
                "bob's refused change does not count on his branch, merged or not"
            );
            assert!(
                admits(&ev, 7, "mallory@example.com"),
                "alice's does on main"
            );
        }
    }
}
