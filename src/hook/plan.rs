//! What a push must prove, before any signature is looked at: for each ref update, the rule
//! that governs the ref, the objects the ref gains (each to be judged by that rule), and the
//! updates refused outright (no rule and `default = "reject"`, a refused deletion, a value that
//! is neither a signed tag nor a commit). A pure function of the updates, the policy and the
//! receiving repository as [`Receiver`] shows it, so it is unit-tested without git.
//!
//! The commits a ref gains ([`super::POLICY_HELP`] has the user's version): `OLD..NEW` for an
//! update (OLD peeled to its commit); for a creation, the commits of NEW not reachable from any
//! existing ref that the same rule governs, which is all of NEW's history when there is none.
//! Commits already on other refs are judged again under this ref's rule: a lax rule elsewhere
//! (`default = "allow"`, `refs/notes/*`, a branch for another signer) cannot carry commits onto a
//! ref whose rule would refuse them. Judging a commit again costs no cryptography when its
//! verified facts are kept ([`crate::facts`]).

use std::collections::{HashMap, HashSet};

use gix::ObjectId;

use super::policy::{Cutoff, DefaultAction, Deletions, PolicyFile, Rule};
use crate::git::push::{NewCommit, Peeled, PushError, Receiving, RefUpdate};
use crate::verify::ObjectKind;

/// The receiving repository as planning needs it (refs and objects as before the push, pushed
/// objects from the quarantine).
pub trait Receiver {
    /// Follow annotated tags from `id` to what they point at.
    fn peel(&self, id: ObjectId) -> Result<Peeled, PushError>;
    /// Every existing ref that peels to a commit: its name and that commit.
    fn ref_tips(&self) -> Result<Vec<(String, ObjectId)>, PushError>;
    /// Commits reachable from `tips` and from none of `hidden`, newest first, with their bytes.
    fn commits(&self, tips: &[ObjectId], hidden: &[ObjectId]) -> Result<Vec<NewCommit>, PushError>;
}

impl Receiver for Receiving {
    fn peel(&self, id: ObjectId) -> Result<Peeled, PushError> {
        Receiving::peel(self, id)
    }

    fn ref_tips(&self) -> Result<Vec<(String, ObjectId)>, PushError> {
        Receiving::ref_tips(self)
    }

    fn commits(&self, tips: &[ObjectId], hidden: &[ObjectId]) -> Result<Vec<NewCommit>, PushError> {
        self.new_commits(tips, hidden)
    }
}

/// One object a ref gains, to be judged by the ref's rule.
#[derive(Debug, Clone)]
pub struct Check<'p> {
    pub id: ObjectId,
    pub kind: ObjectKind,
    pub refname: String,
    pub rule: &'p Rule,
    /// The committed policy the rule is from, whose key files its OpenPGP and SSH signatures
    /// are verified against (`None`: the server's policy file).
    pub policy: Option<&'p crate::policy::PolicyFile>,
    /// The commit changes the committed policy and the policy in force does not authorise
    /// it: why ([`crate::policy::history`]).
    pub unauthorized: Option<String>,
}

impl<'p> Check<'p> {
    /// The committed policy's name (`None`: the server's policy file).
    pub fn file(&self) -> Option<&'p str> {
        self.policy.map(|p| p.file.as_str())
    }
}

/// Why a ref update is refused whatever its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefProblem {
    /// No rule matches the ref and `default = "reject"`.
    NoRule,
    /// The rule says `deletions = "reject"`.
    Deletion,
    /// The new value is (or its tags end at) a tree or blob with no tag to sign it.
    NotSignable { id: ObjectId, kind: &'static str },
}

/// A ref update refused by the plan alone.
#[derive(Debug, Clone)]
pub struct RefRefusal<'p> {
    pub refname: String,
    /// The governing rule (`None` for [`RefProblem::NoRule`]).
    pub rule: Option<&'p Rule>,
    /// The committed policy that decided (`None`: the server's policy file).
    pub file: Option<&'p str>,
    pub problem: RefProblem,
}

/// Everything the push must prove.
#[derive(Debug, Default)]
pub struct Plan<'p> {
    /// Per ref, in update order: the objects it gains (tags first, then commits newest first).
    /// An object gained by several refs appears once per ref.
    pub checks: Vec<Check<'p>>,
    pub ref_refusals: Vec<RefRefusal<'p>>,
    /// Commits some ref gains that its rule accepts unchecked (`unsigned-before`).
    pub exempt: HashSet<ObjectId>,
    /// The bytes of every object in `checks`.
    pub raws: HashMap<ObjectId, Vec<u8>>,
}

impl<'p> Plan<'p> {
    /// The committed policies each object is checked under (once each, in check order: a
    /// committed policy is named by the commit holding it, so refs reading the same one share
    /// it), whose key files its OpenPGP or SSH signature is verified against; objects checked
    /// under the server's policy file are absent.
    pub fn policies(&self) -> HashMap<ObjectId, Vec<&'p crate::policy::PolicyFile>> {
        let mut under: HashMap<ObjectId, Vec<&'p crate::policy::PolicyFile>> = HashMap::new();
        for c in &self.checks {
            if let Some(p) = c.policy {
                let ps = under.entry(c.id).or_default();
                if !ps.iter().any(|q| q.file == p.file) {
                    ps.push(p);
                }
            }
        }
        under
    }

    /// Each object to verify once, in first-checked order.
    pub fn objects(&self) -> Vec<(ObjectId, ObjectKind)> {
        let mut seen = HashSet::new();
        self.checks
            .iter()
            .filter(|c| seen.insert(c.id))
            .map(|c| (c.id, c.kind))
            .collect()
    }
}

pub(super) fn kind_name(kind: gix::object::Kind) -> &'static str {
    match kind {
        gix::object::Kind::Tree => "tree",
        gix::object::Kind::Blob => "blob",
        gix::object::Kind::Commit => "commit",
        gix::object::Kind::Tag => "tag",
    }
}

/// The ids (hex) of `rule`'s `unsigned-before` commit and its ancestors among `commits`.
pub(super) fn cutoff_ancestors(rule: &Rule, commits: &[NewCommit]) -> HashSet<String> {
    match &rule.unsigned_before {
        Some(Cutoff::Commit(hex)) => match ObjectId::from_hex(hex.as_bytes()) {
            Ok(start) => {
                let set: HashMap<ObjectId, &[u8]> =
                    commits.iter().map(|c| (c.id, c.raw.as_slice())).collect();
                Receiving::ancestors_within(start, &set)
                    .into_iter()
                    .map(|i| i.to_string())
                    .collect()
            }
            Err(_) => HashSet::new(),
        },
        _ => HashSet::new(),
    }
}

/// Plan the checks of `updates` under `policy`.
pub fn plan<'p>(
    updates: &[RefUpdate],
    policy: &'p PolicyFile,
    repo: &impl Receiver,
) -> Result<Plan<'p>, PushError> {
    let mut plan = Plan::default();
    // The refs before the push, listed once and only if some creation needs them.
    let mut tips: Option<Vec<(String, ObjectId)>> = None;
    for u in updates {
        let Some(index) = policy.rule_index_for(&u.name) else {
            if policy.default == DefaultAction::Reject {
                plan.ref_refusals.push(RefRefusal {
                    refname: u.name.clone(),
                    rule: None,
                    file: None,
                    problem: RefProblem::NoRule,
                });
            }
            continue;
        };
        let rule = &policy.rules[index];
        let Some(new) = u.new else {
            if rule.deletions == Deletions::Reject {
                plan.ref_refusals.push(RefRefusal {
                    refname: u.name.clone(),
                    rule: Some(rule),
                    file: None,
                    problem: RefProblem::Deletion,
                });
            }
            continue;
        };
        let peeled = repo.peel(new)?;
        let signed_by_tag = !peeled.tags.is_empty();
        for (id, raw) in peeled.tags {
            plan.raws.insert(id, raw);
            plan.checks.push(Check {
                id,
                kind: ObjectKind::Tag,
                refname: u.name.clone(),
                rule,
                policy: None,
                unauthorized: None,
            });
        }
        let Some(tip) = peeled.commit else {
            // A tag's signature covers the tree or blob it names; nothing covers a bare one.
            if !signed_by_tag {
                let (id, kind) = peeled
                    .other
                    .map_or((new, "object"), |(id, k)| (id, kind_name(k)));
                plan.ref_refusals.push(RefRefusal {
                    refname: u.name.clone(),
                    rule: Some(rule),
                    file: None,
                    problem: RefProblem::NotSignable { id, kind },
                });
            }
            continue;
        };
        // An old value that is not a commit (a tag of a tree) hides nothing: the ref is then
        // judged as if created, which checks more, never less.
        let old = match u.old {
            Some(old) => repo.peel(old).ok().and_then(|p| p.commit),
            None => None,
        };
        let hidden: Vec<ObjectId> = match old {
            Some(old) => vec![old],
            None => {
                let tips = match &tips {
                    Some(t) => t,
                    None => tips.insert(repo.ref_tips()?),
                };
                tips.iter()
                    .filter(|(name, _)| policy.rule_index_for(name) == Some(index))
                    .map(|(_, id)| *id)
                    .collect()
            }
        };
        let commits = repo.commits(&[tip], &hidden)?;
        let cutoff_set = cutoff_ancestors(rule, &commits);
        for c in commits {
            let time = Receiving::committer_time(&c.raw);
            if rule.exempt(time, &c.id.to_string(), &cutoff_set) {
                plan.exempt.insert(c.id);
                continue;
            }
            plan.checks.push(Check {
                id: c.id,
                kind: ObjectKind::Commit,
                refname: u.name.clone(),
                rule,
                policy: None,
                unauthorized: None,
            });
            plan.raws.insert(c.id, c.raw);
        }
    }
    Ok(plan)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `n` as an object id.
    pub fn oid(n: u32) -> ObjectId {
        ObjectId::from_hex(format!("{n:040x}").as_bytes()).expect("40 hex digits")
    }

    enum Obj {
        Commit { parents: Vec<u32>, time: i64 },
        Tag { target: u32 },
        Tree,
    }

    /// An in-memory repository: objects by number and refs as before the push.
    #[derive(Default)]
    pub struct Fake {
        objects: HashMap<ObjectId, Obj>,
        refs: Vec<(String, ObjectId)>,
    }

    impl Fake {
        pub fn commit(mut self, n: u32, parents: &[u32], time: i64) -> Fake {
            self.objects.insert(
                oid(n),
                Obj::Commit {
                    parents: parents.to_vec(),
                    time,
                },
            );
            self
        }

        fn tag(mut self, n: u32, target: u32) -> Fake {
            self.objects.insert(oid(n), Obj::Tag { target });
            self
        }

        fn tree(mut self, n: u32) -> Fake {
            self.objects.insert(oid(n), Obj::Tree);
            self
        }

        pub fn at(mut self, name: &str, n: u32) -> Fake {
            self.refs.push((name.into(), oid(n)));
            self
        }

        fn raw(&self, id: ObjectId) -> Vec<u8> {
            match self.objects.get(&id) {
                Some(Obj::Commit { parents, time }) => {
                    let mut s = String::from("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n");
                    for p in parents {
                        s.push_str(&format!("parent {}\n", oid(*p)));
                    }
                    s.push_str(&format!(
                        "committer C <c@example.com> {time} +0000\n\n{id}\n"
                    ));
                    s.into_bytes()
                }
                Some(Obj::Tag { target }) => {
                    format!("object {}\ntype commit\ntag t\n\nmsg\n", oid(*target)).into_bytes()
                }
                _ => Vec::new(),
            }
        }

        fn parents(&self, id: ObjectId) -> Vec<ObjectId> {
            match self.objects.get(&id) {
                Some(Obj::Commit { parents, .. }) => parents.iter().map(|p| oid(*p)).collect(),
                _ => Vec::new(),
            }
        }

        fn reachable(&self, from: &[ObjectId]) -> HashSet<ObjectId> {
            let mut seen = HashSet::new();
            let mut stack = from.to_vec();
            while let Some(id) = stack.pop() {
                if seen.insert(id) {
                    stack.extend(self.parents(id));
                }
            }
            seen
        }
    }

    impl Receiver for Fake {
        fn peel(&self, id: ObjectId) -> Result<Peeled, PushError> {
            let mut out = Peeled::default();
            let mut at = id;
            loop {
                match self.objects.get(&at) {
                    Some(Obj::Tag { target }) => {
                        out.tags.push((at, self.raw(at)));
                        at = oid(*target);
                    }
                    Some(Obj::Commit { .. }) => {
                        out.commit = Some(at);
                        return Ok(out);
                    }
                    Some(Obj::Tree) => {
                        out.other = Some((at, gix::object::Kind::Tree));
                        return Ok(out);
                    }
                    None => return Err(PushError::Missing(at.to_string())),
                }
            }
        }

        fn ref_tips(&self) -> Result<Vec<(String, ObjectId)>, PushError> {
            Ok(self
                .refs
                .iter()
                .filter_map(|(n, id)| Some((n.clone(), self.peel(*id).ok()?.commit?)))
                .collect())
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
                    raw: self.raw(id),
                })
                .collect();
            out.sort_by_key(|c| std::cmp::Reverse(c.id));
            Ok(out)
        }
    }

    pub fn update(old: Option<u32>, new: Option<u32>, name: &str) -> RefUpdate {
        RefUpdate {
            old: old.map(oid),
            new: new.map(oid),
            name: name.into(),
        }
    }

    /// Main for alice, feature branches for bob, notes and the rest as `default` says.
    pub const POLICY: &str = r#"
default = "allow"
[[rule]]
refs = ["refs/heads/main", "refs/tags/*"]
identities = ["alice@example.com"]
issuers = ["https://accounts.example.com"]
[[rule]]
refs = ["refs/heads/*"]
identities = ["bob@example.com"]
issuers = ["https://accounts.example.com"]
"#;

    pub fn policy(text: &str) -> PolicyFile {
        PolicyFile::parse(text).expect("the test policy parses")
    }

    /// (object number, ref, rule line) per check, sorted.
    fn checked(plan: &Plan<'_>) -> Vec<(ObjectId, String, usize)> {
        let mut v: Vec<_> = plan
            .checks
            .iter()
            .map(|c| (c.id, c.refname.clone(), c.rule.line))
            .collect();
        v.sort();
        v
    }

    /// 1 <- 2 <- 3 <- 4: main at 2, refs/notes/x (no rule, default allow) at 4.
    fn laundering_repo() -> Fake {
        Fake::default()
            .commit(1, &[], 10)
            .commit(2, &[1], 20)
            .commit(3, &[2], 30)
            .commit(4, &[3], 40)
            .at("refs/heads/main", 2)
            .at("refs/notes/x", 4)
    }

    #[test]
    fn an_update_checks_old_to_new_even_when_other_refs_hold_the_commits() {
        // Issue 16.1: commits on a lax ref are not thereby accepted on main.
        let p = policy(POLICY);
        let plan = super::plan(
            &[update(Some(2), Some(4), "refs/heads/main")],
            &p,
            &laundering_repo(),
        )
        .expect("plans");
        let main = "refs/heads/main".to_string();
        assert_eq!(
            checked(&plan),
            vec![(oid(3), main.clone(), 4), (oid(4), main, 4)],
            "main gains 3 and 4 and judges them by its own rule, though refs/notes/x holds them"
        );
        assert!(plan.ref_refusals.is_empty());
    }

    #[test]
    fn a_creation_hides_only_refs_of_the_same_rule() {
        let p = policy(POLICY);
        // refs/heads/dev (bob's rule) at 3; refs/heads/topic is bob's rule too.
        let repo = laundering_repo().at("refs/heads/dev", 3);
        let plan =
            super::plan(&[update(None, Some(4), "refs/heads/topic")], &p, &repo).expect("plans");
        assert_eq!(
            checked(&plan),
            vec![(oid(4), "refs/heads/topic".into(), 8)],
            "what dev (same rule) holds is not judged again; main's and the notes' commits would be"
        );
        // A tag (alice's rule, like main) of commit 3: main at 2 is the only ref of the rule.
        let plan = super::plan(&[update(None, Some(3), "refs/tags/v1")], &p, &repo).expect("plans");
        assert_eq!(
            checked(&plan).iter().map(|c| c.0).collect::<Vec<_>>(),
            vec![oid(3)],
            "commit 3 is on dev (bob's rule) but new to alice's rule"
        );
    }

    #[test]
    fn a_creation_under_a_rule_with_no_refs_checks_the_whole_history_down_to_the_cutoff() {
        let text = POLICY.replace(
            "issuers = [\"https://accounts.example.com\"]\n[[rule]]",
            "issuers = [\"https://accounts.example.com\"]\nunsigned-before = \"1970-01-01T00:00:25Z\"\n[[rule]]",
        );
        let p = policy(&text);
        let repo = laundering_repo().at("refs/heads/dev", 4);
        let plan = super::plan(&[update(None, Some(4), "refs/tags/v1")], &p, &repo).expect("plans");
        assert_eq!(
            checked(&plan).iter().map(|c| c.0).collect::<Vec<_>>(),
            vec![oid(3), oid(4)],
            "main (at 2) is alice's: 3 and 4 are checked although dev holds them"
        );
        let repo = Fake::default()
            .commit(1, &[], 10)
            .commit(2, &[1], 20)
            .commit(3, &[2], 30)
            .at("refs/heads/dev", 3);
        let plan = super::plan(&[update(None, Some(3), "refs/tags/v1")], &p, &repo).expect("plans");
        assert_eq!(
            checked(&plan).iter().map(|c| c.0).collect::<Vec<_>>(),
            vec![oid(3)],
            "no ref of the rule exists: all history, less what unsigned-before accepts"
        );
        assert_eq!(
            plan.exempt,
            [oid(1), oid(2)].into(),
            "older than the cutoff"
        );
    }

    #[test]
    fn a_commit_cutoff_exempts_its_ancestry_among_the_gained_commits() {
        let text = POLICY.replace(
            "identities = [\"bob@example.com\"]",
            &format!(
                "identities = [\"bob@example.com\"]\nunsigned-before = \"{}\"",
                oid(2)
            ),
        );
        let p = policy(&text);
        let repo = Fake::default()
            .commit(1, &[], 10)
            .commit(2, &[1], 20)
            .commit(5, &[1], 50)
            .commit(3, &[2, 5], 30);
        let plan =
            super::plan(&[update(None, Some(3), "refs/heads/dev")], &p, &repo).expect("plans");
        assert_eq!(
            checked(&plan).iter().map(|c| c.0).collect::<Vec<_>>(),
            vec![oid(3), oid(5)],
            "the merge and its second parent are checked"
        );
        assert_eq!(plan.exempt, [oid(1), oid(2)].into());
    }

    #[test]
    fn refs_must_peel_to_a_signed_tag_or_a_commit() {
        // Issue 16.2: a tree or blob under a tag name is refused; a tag of a tree is judged.
        let p = policy(POLICY);
        let repo = Fake::default().tree(9).tag(8, 9).commit(1, &[], 10);
        let plan = super::plan(
            &[
                update(None, Some(9), "refs/tags/v1.0"),
                update(None, Some(8), "refs/tags/v1.1"),
            ],
            &p,
            &repo,
        )
        .expect("plans");
        assert_eq!(plan.ref_refusals.len(), 1, "{:?}", plan.ref_refusals);
        assert_eq!(plan.ref_refusals[0].refname, "refs/tags/v1.0");
        assert_eq!(
            plan.ref_refusals[0].problem,
            RefProblem::NotSignable {
                id: oid(9),
                kind: "tree"
            }
        );
        assert_eq!(
            checked(&plan),
            vec![(oid(8), "refs/tags/v1.1".into(), 4)],
            "the tag that names the tree is checked"
        );
        assert_eq!(plan.objects(), vec![(oid(8), ObjectKind::Tag)]);
    }

    #[test]
    fn default_and_deletions_decide_refs_without_objects() {
        let p =
            policy(&format!("{POLICY}deletions = \"reject\"\n").replace("\"allow\"", "\"reject\""));
        let repo = laundering_repo();
        let plan = super::plan(
            &[
                update(Some(4), Some(3), "refs/notes/x"),
                update(Some(2), None, "refs/heads/dev"),
                update(Some(2), None, "refs/heads/main"),
            ],
            &p,
            &repo,
        )
        .expect("plans");
        let problems: Vec<_> = plan
            .ref_refusals
            .iter()
            .map(|r| (r.refname.as_str(), r.problem.clone()))
            .collect();
        assert_eq!(
            problems,
            vec![
                ("refs/notes/x", RefProblem::NoRule),
                ("refs/heads/dev", RefProblem::Deletion)
            ],
            "no rule + default reject; bob's rule rejects deletions, alice's allows them"
        );
        assert!(plan.checks.is_empty());
        let p = policy(POLICY);
        let plan =
            super::plan(&[update(Some(4), Some(1), "refs/notes/x")], &p, &repo).expect("plans");
        assert!(
            plan.checks.is_empty() && plan.ref_refusals.is_empty(),
            "default = allow: unmatched refs are not checked"
        );
    }

    #[test]
    fn the_same_commit_on_two_refs_is_checked_under_each_rule_and_verified_once() {
        let p = policy(POLICY);
        let repo = Fake::default().commit(1, &[], 10);
        let plan = super::plan(
            &[
                update(None, Some(1), "refs/heads/main"),
                update(None, Some(1), "refs/heads/dev"),
            ],
            &p,
            &repo,
        )
        .expect("plans");
        assert_eq!(
            checked(&plan),
            vec![
                (oid(1), "refs/heads/dev".into(), 8),
                (oid(1), "refs/heads/main".into(), 4)
            ]
        );
        assert_eq!(
            plan.objects().len(),
            1,
            "one verification serves both rules"
        );
    }
}
