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
                    file,
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
                    file: Some(policy.file.as_str()),
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
