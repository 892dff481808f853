//! What a push must prove under a committed policy (`.gitsign/policy.toml`) trusted from the
//! server's anchor commit (`gitsign.policyAnchor`, `--policy-anchor`): the [`super::plan`]
//! of a push, with the policy in force computed along the pushed history by
//! [`crate::policy::history`], the same computation `gitsign verify` makes. The user's
//! version is in [`super::POLICY_HELP`].
//!
//! - Each commit a ref gains is judged by the rule, for that ref, of the policy in force at
//!   its first parent (the anchor by its own policy); a commit that changes `.gitsign/`
//!   without the authority of that policy is refused even when its rule accepts its signer,
//!   and its change does not take effect for the commits after it. One [`Evolution`] per
//!   pushed ref name: whether a change is authorised depends on the ref's rule.
//! - Commits that do not descend from the anchor are judged by the anchor's policy (the root
//!   of trust): a gate has no "not judged", and their own changes never take effect.
//! - The ref itself (its rule, `default`, `deletions`, which existing refs share its rule) is
//!   decided by the policy in force after its new tip commit (after its old one for a
//!   deletion or a value that is no commit): the tip's committed policy when every change to
//!   it was authorised. Annotated tags are judged by that policy's rule too.
//!
//! Two steps, so that the plan can borrow rules from policies that are no longer learnt:
//! [`Anchored::learn`] reads the history through [`Receiver`] and [`PolicyHistory`] (the
//! caller verifies the few policy-changing commits there), [`Anchored::plan`] is a pure
//! function of what was learnt.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use gix::ObjectId;

use super::plan::{cutoff_ancestors, kind_name, Check, Plan, Receiver, RefProblem, RefRefusal};
use crate::git::push::{NewCommit, PushError, Receiving, RefUpdate};
use crate::policy::history::{Change, Evolution, HistoryError, PolicyHistory, Standing};
use crate::policy::{DefaultAction, Deletions, PolicyFile};
use crate::verify::ObjectKind;

/// Why the pushed history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AnchoredError {
    #[error(transparent)]
    Push(#[from] PushError),
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// One ref update, as learnt.
#[derive(Debug)]
struct Learnt {
    refname: String,
    /// The policy deciding the ref itself.
    policy: Arc<PolicyFile>,
    deletion: bool,
    /// Annotated tags the new value peels through.
    tags: Vec<(ObjectId, Vec<u8>)>,
    /// What the new value peels to when it is no commit.
    other: Option<(ObjectId, &'static str)>,
    /// The commits the ref gains, newest first.
    commits: Vec<NewCommit>,
}

/// A push learnt against the committed policy anchored at `anchor`.
#[derive(Debug)]
pub struct Anchored {
    /// The anchor's own policy: the root of trust.
    root: Arc<PolicyFile>,
    /// Per pushed ref name.
    evolutions: HashMap<String, Evolution>,
    updates: Vec<Learnt>,
}

impl Anchored {
    /// Learn what each of `updates` gains and the policy in force at each of its commits.
    pub fn learn(
        updates: &[RefUpdate],
        anchor: ObjectId,
        repo: &impl Receiver,
        history: &dyn PolicyHistory,
    ) -> Result<Anchored, AnchoredError> {
        let root = Arc::new(
            history
                .policy(anchor)?
                .ok_or_else(|| HistoryError::NoPolicyAtAnchor(anchor.to_hex().to_string()))?,
        );
        let mut evolutions: HashMap<String, Evolution> = HashMap::new();
        let mut learnt = Vec::with_capacity(updates.len());
        // The refs before the push, listed once and only if some creation needs them.
        let mut tips: Option<Vec<(String, ObjectId)>> = None;
        for u in updates {
            let ev = match evolutions.entry(u.name.clone()) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(Evolution::new(history, anchor, &u.name)?),
            };
            // The policy in force after `commit` (the root when it is before the anchor).
            let mut after = |c: ObjectId| -> Result<Arc<PolicyFile>, HistoryError> {
                ev.learn(history, &[c])?;
                Ok(ev
                    .in_force_after(&c)
                    .cloned()
                    .unwrap_or_else(|| root.clone()))
            };
            // An old value that is not a commit (a tag of a tree) hides nothing.
            let old = u.old.and_then(|o| repo.peel(o).ok()).and_then(|p| p.commit);
            let mut l = Learnt {
                refname: u.name.clone(),
                policy: root.clone(),
                deletion: u.new.is_none(),
                tags: Vec::new(),
                other: None,
                commits: Vec::new(),
            };
            let Some(new) = u.new else {
                if let Some(old) = old {
                    l.policy = after(old)?;
                }
                learnt.push(l);
                continue;
            };
            let peeled = repo.peel(new)?;
            l.tags = peeled.tags;
            let Some(tip) = peeled.commit else {
                l.other = Some(
                    peeled
                        .other
                        .map_or((new, "object"), |(id, k)| (id, kind_name(k))),
                );
                if let Some(old) = old {
                    l.policy = after(old)?;
                }
                learnt.push(l);
                continue;
            };
            l.policy = after(tip)?;
            let Some(index) = l.policy.rule_index_for(&u.name) else {
                learnt.push(l);
                continue;
            };
            let hidden: Vec<ObjectId> = match old {
                Some(old) => vec![old],
                None => {
                    let tips = match &tips {
                        Some(t) => t,
                        None => tips.insert(repo.ref_tips()?),
                    };
                    tips.iter()
                        .filter(|(name, _)| l.policy.rule_index_for(name) == Some(index))
                        .map(|(_, id)| *id)
                        .collect()
                }
            };
            l.commits = repo.commits(&[tip], &hidden)?;
            let ids: Vec<ObjectId> = l.commits.iter().map(|c| c.id).collect();
            ev.learn(history, &ids)?;
            learnt.push(l);
        }
        Ok(Anchored {
            root,
            evolutions,
            updates: learnt,
        })
    }

    /// The checks of the learnt push: each commit under its own policy's rule for the ref.
    pub fn plan(&self) -> Plan<'_> {
        let mut plan = Plan::default();
        for l in &self.updates {
            let name = &l.refname;
            let file = Some(l.policy.file.as_str());
            // One "no rule" refusal per ref, from the first policy that has none.
            let no_rule = |policy: &PolicyFile, plan: &Plan<'_>| {
                policy.default == DefaultAction::Reject
                    && !plan
                        .ref_refusals
                        .iter()
                        .any(|r| r.refname == *name && r.problem == RefProblem::NoRule)
            };
            let Some(rule) = l.policy.rule_for(name) else {
                if no_rule(&l.policy, &plan) {
                    plan.ref_refusals.push(RefRefusal {
                        refname: name.clone(),
                        rule: None,
                        file,
                        problem: RefProblem::NoRule,
                    });
                }
                continue;
            };
            if l.deletion {
                if rule.deletions == Deletions::Reject {
                    plan.ref_refusals.push(RefRefusal {
                        refname: name.clone(),
                        rule: Some(rule),
                        file,
                        problem: RefProblem::Deletion,
                    });
                }
                continue;
            }
            for (id, raw) in &l.tags {
                plan.raws.insert(*id, raw.clone());
                plan.checks.push(Check {
                    id: *id,
                    kind: ObjectKind::Tag,
                    refname: name.clone(),
                    rule,
                    policy: Some(&*l.policy),
                    unauthorized: None,
                });
            }
            if let Some((id, kind)) = l.other {
                if l.tags.is_empty() {
                    plan.ref_refusals.push(RefRefusal {
                        refname: name.clone(),
                        rule: Some(rule),
                        file,
                        problem: RefProblem::NotSignable { id, kind },
                    });
                }
                continue;
            }
            let ev = self.evolutions.get(name);
            let mut cutoffs: HashMap<usize, HashSet<String>> = HashMap::new();
            for c in &l.commits {
                let (policy, change) = match ev.and_then(|ev| ev.standing(&c.id)) {
                    Some(Standing::Judged { policy, change }) => (policy, change),
                    _ => (&self.root, &Change::None),
                };
                let Some(rule) = policy.rule_for(name) else {
                    if no_rule(policy, &plan) {
                        plan.ref_refusals.push(RefRefusal {
                            refname: name.clone(),
                            rule: None,
                            file: Some(policy.file.as_str()),
                            problem: RefProblem::NoRule,
                        });
                    }
                    continue;
                };
                // One cutoff set per rule (policies are shared, so rules are too).
                let cutoff = cutoffs
                    .entry(std::ptr::from_ref(rule) as usize)
                    .or_insert_with(|| cutoff_ancestors(rule, &l.commits));
                if rule.exempt(Receiving::committer_time(&c.raw), &c.id.to_string(), cutoff) {
                    plan.exempt.insert(c.id);
                    continue;
                }
                plan.checks.push(Check {
                    id: c.id,
                    kind: ObjectKind::Commit,
                    refname: name.clone(),
                    rule,
                    policy: Some(&**policy),
                    unauthorized: match change {
                        Change::Refused(why) => Some(why.clone()),
                        _ => None,
                    },
                });
                plan.raws.insert(c.id, c.raw.clone());
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::push::Peeled;
    use crate::hook::decide;
    use crate::hook::plan::tests::oid;
    use crate::policy::NoFiles;
    use crate::verify::policy::Identity;
    use crate::verify::{Anchor, EntrySource, Outcome, Report};

    const ISSUER: &str = "https://accounts.example.com";

    /// main for `signers`, of whom alice alone may change the policy; other refs rejected.
    fn policy(signers: &[&str], extra: &str) -> String {
        let mut t = String::from("policy-authorities = ['alice']\n");
        for s in signers {
            t.push_str(&format!(
                "[authority.{s}]\nsigstore = [{{ identity = '{s}@example.com', issuer = '{ISSUER}' }}]\n"
            ));
        }
        let names: Vec<String> = signers.iter().map(|s| format!("'{s}'")).collect();
        t.push_str(&format!(
            "[[rule]]\nrefs = ['refs/heads/main']\nauthorities = [{}]\n{extra}",
            names.join(", ")
        ));
        t
    }

    struct Commit {
        parents: Vec<u32>,
        policy: Option<String>,
        signer: &'static str,
    }

    /// Commits by number (each signed by its `signer`), and refs before the push.
    #[derive(Default)]
    struct Fake {
        commits: HashMap<ObjectId, Commit>,
        refs: Vec<(String, ObjectId)>,
    }

    impl Fake {
        fn add(
            mut self,
            n: u32,
            parents: &[u32],
            policy: Option<&str>,
            signer: &'static str,
        ) -> Fake {
            self.commits.insert(
                oid(n),
                Commit {
                    parents: parents.to_vec(),
                    policy: policy.map(str::to_owned),
                    signer,
                },
            );
            self
        }

        fn get(&self, id: ObjectId) -> Result<&Commit, HistoryError> {
            self.commits.get(&id).ok_or_else(|| HistoryError::Git {
                commit: id.to_string(),
                source: "no such commit".into(),
            })
        }

        fn reachable(&self, from: &[ObjectId]) -> HashSet<ObjectId> {
            let mut seen = HashSet::new();
            let mut todo = from.to_vec();
            while let Some(id) = todo.pop() {
                if seen.insert(id) {
                    if let Some(c) = self.commits.get(&id) {
                        todo.extend(c.parents.iter().map(|&p| oid(p)));
                    }
                }
            }
            seen
        }
    }

    impl Receiver for Fake {
        fn peel(&self, id: ObjectId) -> Result<Peeled, PushError> {
            match self.commits.get(&id) {
                Some(_) => Ok(Peeled {
                    commit: Some(id),
                    ..Peeled::default()
                }),
                None => Err(PushError::Missing(id.to_string())),
            }
        }

        fn ref_tips(&self) -> Result<Vec<(String, ObjectId)>, PushError> {
            Ok(self.refs.clone())
        }

        fn commits(
            &self,
            tips: &[ObjectId],
            hidden: &[ObjectId],
        ) -> Result<Vec<NewCommit>, PushError> {
            let hidden = self.reachable(hidden);
            let mut out: Vec<NewCommit> = self
                .reachable(tips)
                .into_iter()
                .filter(|id| !hidden.contains(id))
                .map(|id| NewCommit {
                    id,
                    raw: format!("tree {}\ncommitter C <c@example.com> 100 +0000\n\n", oid(0))
                        .into_bytes(),
                })
                .collect();
            out.sort_by_key(|c| std::cmp::Reverse(c.id));
            Ok(out)
        }
    }

    impl PolicyHistory for Fake {
        fn parents(&self, c: ObjectId) -> Result<Vec<ObjectId>, HistoryError> {
            Ok(self.get(c)?.parents.iter().map(|&p| oid(p)).collect())
        }

        fn policy_dir(&self, c: ObjectId) -> Result<Option<ObjectId>, HistoryError> {
            // Equal texts, equal ids: the text's length and first bytes stand for the tree.
            Ok(self.get(c)?.policy.as_ref().map(|p| {
                let mut bytes = [0u8; 20];
                for (i, b) in p.bytes().enumerate() {
                    bytes[i % 20] = bytes[i % 20].wrapping_mul(31).wrapping_add(b);
                }
                ObjectId::from_bytes_or_panic(&bytes)
            }))
        }

        fn policy(&self, c: ObjectId) -> Result<Option<PolicyFile>, HistoryError> {
            match &self.get(c)?.policy {
                None => Ok(None),
                Some(text) => {
                    PolicyFile::parse(text, &format!("{c}:.gitsign/policy.toml"), &NoFiles)
                        .map(Some)
                        .map_err(|source| HistoryError::Policy {
                            commit: c.to_string(),
                            source,
                        })
                }
            }
        }

        fn report(&self, c: ObjectId) -> Result<Report, HistoryError> {
            Ok(signed_by(self.get(c)?.signer))
        }
    }

    fn signed_by(who: &str) -> Report {
        Report {
            outcome: Outcome::Good,
            identity: Some(Identity {
                sans: vec![format!("{who}@example.com")],
                issuer: Some(ISSUER.into()),
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

    fn update(old: Option<u32>, new: Option<u32>, name: &str) -> RefUpdate {
        RefUpdate {
            old: old.map(oid),
            new: new.map(oid),
            name: name.into(),
        }
    }

    fn reports(fake: &Fake, plan: &Plan<'_>) -> HashMap<ObjectId, Report> {
        plan.objects()
            .into_iter()
            .map(|(id, _)| (id, signed_by(fake.commits[&id].signer)))
            .collect()
    }

    #[test]
    fn a_change_by_a_signer_who_is_no_policy_authority_is_refused_and_does_not_take_effect() {
        let v1 = policy(&["alice", "bob"], "");
        let with_mallory = policy(&["alice", "bob", "mallory"], "");
        let with_carol = policy(&["alice", "bob", "carol"], "");
        let fake = Fake::default()
            .add(1, &[], Some(&v1), "alice") // the anchor
            .add(2, &[1], Some(&with_mallory), "bob")
            .add(3, &[2], Some(&with_mallory), "mallory")
            .add(4, &[1], Some(&with_carol), "alice")
            .add(5, &[4], Some(&with_carol), "carol");
        let learnt = Anchored::learn(
            &[update(Some(1), Some(3), "refs/heads/main")],
            oid(1),
            &fake,
            &fake,
        )
        .expect("learns");
        let plan = learnt.plan();
        let by_commit = |n: u32| {
            plan.checks
                .iter()
                .find(|c| c.id == oid(n))
                .unwrap_or_else(|| panic!("commit {n} is checked: {:?}", plan.checks))
        };
        assert!(
            by_commit(2)
                .unauthorized
                .as_deref()
                .is_some_and(|why| why.contains("not a policy authority")),
            "bob's change is marked"
        );
        assert_eq!(
            by_commit(3).file(),
            Some(format!("{}:.gitsign/policy.toml", oid(1)).as_str()),
            "mallory's commit is judged by the anchor's policy: bob's change did not take effect"
        );
        let d = decide(&plan, &reports(&fake, &plan));
        let lines: Vec<String> = d.refusals.iter().map(|r| r.line("server", "s")).collect();
        assert_eq!(d.objects_refused, 2, "{lines:?}");
        assert!(
            lines.iter().any(|l| l.starts_with(&oid(2).to_string())
                && l.contains("without authority")
                && l.contains("(unauthorized_policy_change)")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&oid(3).to_string()) && l.contains("'mallory@example.com'")),
            "{lines:?}"
        );
        assert!(
            d.refusals
                .iter()
                .any(|r| r.hint().is_some_and(|h| h.contains("policy-authorities"))),
            "the unauthorised change carries its hint"
        );

        // alice's change takes effect for carol, and ref-level rules follow the tip's policy.
        let learnt = Anchored::learn(
            &[update(Some(1), Some(5), "refs/heads/main")],
            oid(1),
            &fake,
            &fake,
        )
        .expect("learns");
        let plan = learnt.plan();
        let d = decide(&plan, &reports(&fake, &plan));
        assert!(d.accepted(), "{:?}", d.refusals);
        assert_eq!(plan.checks.len(), 2);
    }

    #[test]
    fn history_not_descending_from_the_anchor_is_judged_by_the_anchors_policy() {
        let v1 = policy(&["alice"], "deletions = 'reject'\n");
        let own = policy(&["mallory"], "");
        let fake = Fake::default()
            .add(1, &[], Some(&v1), "alice")
            // An unrelated history carrying its own policy.
            .add(7, &[], Some(&own), "mallory")
            .add(8, &[7], Some(&own), "mallory");
        let learnt = Anchored::learn(
            &[
                update(Some(1), Some(8), "refs/heads/main"),
                update(None, Some(8), "refs/heads/other"),
                update(Some(1), None, "refs/heads/main"),
            ],
            oid(1),
            &fake,
            &fake,
        )
        .expect("learns");
        let plan = learnt.plan();
        let anchor_file = format!("{}:.gitsign/policy.toml", oid(1));
        assert_eq!(plan.checks.len(), 2, "7 and 8 on main: {:?}", plan.checks);
        assert!(
            plan.checks
                .iter()
                .all(|c| c.file() == Some(anchor_file.as_str()) && c.unauthorized.is_none()),
            "judged by the anchor's policy: {:?}",
            plan.checks
        );
        let d = decide(&plan, &reports(&fake, &plan));
        assert_eq!((d.objects_refused, d.refs_refused), (2, 2));
        let lines: Vec<String> = d.refusals.iter().map(|r| r.line("server", "s")).collect();
        assert_eq!(
            lines[..2],
            [
                format!("refs/heads/other: no rule in {anchor_file} matches this ref, and default = \"reject\""),
                format!("refs/heads/main: deleting this ref is not allowed (deletions = \"reject\", {anchor_file}:5)"),
            ],
        );
        assert!(
            matches!(
                Anchored::learn(&[], oid(9), &fake, &fake),
                Err(AnchoredError::History(HistoryError::Git { .. }))
            ),
            "an anchor the repository lacks cannot be read"
        );
    }

    #[test]
    fn each_check_carries_the_policy_in_force_for_its_ref_whose_keys_verify_it() {
        // dev is ruled for bob only: alice's change is authorised on main, not on dev.
        let dev = "[[rule]]\nrefs = ['refs/heads/dev']\nauthorities = ['bob']\n";
        let v1 = policy(&["alice", "bob"], dev);
        let with_carol = policy(&["alice", "bob", "carol"], dev);
        let fake = Fake::default()
            .add(1, &[], Some(&v1), "alice") // the anchor
            .add(2, &[1], Some(&with_carol), "alice")
            .add(3, &[2], Some(&with_carol), "bob");
        let learnt = Anchored::learn(
            &[
                update(Some(1), Some(3), "refs/heads/main"),
                update(Some(1), Some(3), "refs/heads/dev"),
            ],
            oid(1),
            &fake,
            &fake,
        )
        .expect("learns");
        let plan = learnt.plan();
        let under = plan.policies();
        let files = |n: u32| -> Vec<&str> {
            under
                .get(&oid(n))
                .map(|ps| ps.iter().map(|p| p.file.as_str()).collect())
                .unwrap_or_default()
        };
        let name = |n: u32| format!("{}:.gitsign/policy.toml", oid(n));
        assert_eq!(
            files(3),
            [name(2).as_str(), name(1).as_str()],
            "bob's commit: alice's policy on main, the anchor's on dev: {:?}",
            plan.checks
        );
        assert_eq!(files(2), [name(1).as_str()], "one policy, listed once");
        for c in &plan.checks {
            assert_eq!(c.file(), c.policy.map(|p| p.file.as_str()));
        }
    }
}
