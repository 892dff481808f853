//! The committed policy, anchored (`gitsign.policyAnchor`, `--policy-anchor REV`): the
//! repository side of [`crate::policy::history`] for `gitsign verify` and git's `--verify`.

use gix::ObjectId;

use super::{CliError, Exit};
use crate::check::{Checker, Signed};
use crate::git::object::HashKind;
use crate::policy::history::{HistoryError, PolicyHistory, POLICY_DIR, POLICY_PATH};
use crate::policy::{FileSource, GitTree, PolicyFile, SourceError};
use crate::verify::{ObjectKind, Report};

/// A repository's commits, read for the policy history; policy-changing commits are
/// verified by `checker`.
pub struct GitHistory<'a> {
    pub repo: gix::Repository,
    pub checker: &'a Checker<'a>,
    pub hash: HashKind,
}

fn git(commit: ObjectId, e: impl std::error::Error + Send + Sync + 'static) -> HistoryError {
    HistoryError::Git {
        commit: commit.to_hex().to_string(),
        source: Box::new(e),
    }
}

impl GitHistory<'_> {
    fn tree(&self, commit: ObjectId) -> Result<ObjectId, HistoryError> {
        let c = self.repo.find_commit(commit).map_err(|e| git(commit, e))?;
        c.tree_id().map(|t| t.detach()).map_err(|e| git(commit, e))
    }
}

impl PolicyHistory for GitHistory<'_> {
    fn parents(&self, commit: ObjectId) -> Result<Vec<ObjectId>, HistoryError> {
        let c = self.repo.find_commit(commit).map_err(|e| git(commit, e))?;
        Ok(c.parent_ids().map(|p| p.detach()).collect())
    }

    fn policy_dir(&self, commit: ObjectId) -> Result<Option<ObjectId>, HistoryError> {
        let tree = self.tree(commit)?;
        let tree = self.repo.find_tree(tree).map_err(|e| git(commit, e))?;
        let entry = tree
            .lookup_entry([POLICY_DIR])
            .map_err(|e| git(commit, e))?;
        Ok(entry.map(|e| e.object_id()))
    }

    fn policy(&self, commit: ObjectId) -> Result<Option<PolicyFile>, HistoryError> {
        let tree = self.tree(commit)?;
        let label = commit.to_hex().to_string();
        let text = match GitTree::new(&self.repo, tree, "", label.clone()).read(POLICY_PATH) {
            Ok(t) => t,
            Err(SourceError::Missing) => return Ok(None),
            Err(e) => return Err(git(commit, e)),
        };
        let text = String::from_utf8_lossy(&text);
        let files = GitTree::new(&self.repo, tree, POLICY_PATH, label.clone());
        PolicyFile::parse(&text, &format!("{label}:{POLICY_PATH}"), &files)
            .map(Some)
            .map_err(|source| HistoryError::Policy {
                commit: label,
                source,
            })
    }

    fn report(&self, commit: ObjectId) -> Result<Report, HistoryError> {
        let raw = crate::git::repo::raw_object(&self.repo, commit).map_err(|e| git(commit, e))?;
        let batch = self.checker.check(&[Signed::Object {
            raw: &raw,
            kind: ObjectKind::Commit,
            hash: self.hash,
        }]);
        Ok(batch
            .verified
            .into_iter()
            .next()
            .map(|v| v.report)
            .unwrap_or_else(|| Report::bad(crate::verify::Failure::Unsigned)))
    }
}

/// The anchor commit: `--policy-anchor REV`, else `gitsign.policyAnchor` (`None`: neither).
pub fn anchor(
    flag: Option<&str>,
    config: &crate::config::Config,
    repo: &gix::Repository,
) -> Result<Option<ObjectId>, CliError> {
    let Some(rev) = flag.map(str::to_owned).or_else(|| {
        config
            .get(crate::config::Key::PolicyAnchor)
            .map(str::to_owned)
    }) else {
        return Ok(None);
    };
    let id = repo
        .rev_parse_single(rev.as_str())
        .map_err(|e| {
            CliError::new(
                Exit::Config,
                anyhow::Error::new(e).context(format!(
                    "the policy anchor '{}' names no commit",
                    crate::text::escape(&rev)
                )),
            )
            .hint("set gitsign.policyAnchor (or --policy-anchor) to a commit holding .gitsign/policy.toml")
        })?
        .object()
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| {
            CliError::new(
                Exit::Config,
                anyhow::Error::new(e).context(format!(
                    "the policy anchor '{}' is not a commit",
                    crate::text::escape(&rev)
                )),
            )
        })?
        .id;
    Ok(Some(id))
}

/// A history error as the command line shows it: the repository or the policy is unusable.
pub fn history_error(e: HistoryError) -> CliError {
    let policy = matches!(
        e,
        HistoryError::Policy { .. } | HistoryError::NoPolicyAtAnchor(_)
    );
    let err = CliError::new(Exit::Config, anyhow::Error::new(e));
    if policy {
        err.hint("`gitsign policy check --revision REV .gitsign/policy.toml` shows what is wrong with a committed policy")
    } else {
        err
    }
}

/// The committed policy in force after a commit, kept across processes
/// (`<git dir>/gitsign/policy-in-force.log`, [`crate::facts::in_force_key`]): git's `--verify`
/// path runs once per commit, and computing the policy in force walks the commit's
/// first-parent chain back to the anchor each time. A kept answer names the commit whose
/// committed policy is in force (the anchor, or the last authorised change), read again from
/// its tree. Damage is handled by the store ([`crate::facts::store`]): a damaged file is
/// ignored and written anew.
pub struct InForce {
    path: std::path::PathBuf,
    depends: crate::facts::Depends,
    anchor: ObjectId,
    refname: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeptInForce {
    commit: String,
    anchor: String,
    source: String,
}

impl InForce {
    pub fn new(
        setup: &crate::check::VerifySetup,
        common_dir: &std::path::Path,
        anchor: ObjectId,
        refname: &str,
        hash: HashKind,
    ) -> InForce {
        use crate::facts;
        InForce {
            path: facts::in_force_path(common_dir),
            depends: facts::Depends::new(
                &facts::root_digest(&setup.root),
                setup.waivers,
                &facts::keys_digest(
                    &setup.keys.openpgp,
                    &setup.keys.ssh_allowed,
                    &setup.keys.ssh_revoked,
                ),
                facts::Checked::Commit {
                    sha256: hash == HashKind::Sha256,
                },
            ),
            anchor,
            refname: refname.to_owned(),
        }
    }

    fn key(&self, commit: &ObjectId) -> crate::facts::Key {
        crate::facts::in_force_key(
            &self.depends,
            commit.as_bytes(),
            self.anchor.as_bytes(),
            &self.refname,
        )
    }

    /// The commit whose policy is in force after `commit`, if kept (and the store's warning).
    pub fn find(&self, commit: &ObjectId) -> (Option<ObjectId>, Option<String>) {
        let (value, warning) = crate::facts::Store::find(&self.path, &[self.key(commit)]);
        let source = value
            .and_then(|v| serde_json::from_str::<KeptInForce>(&v).ok())
            .filter(|k| commit.to_hex() == k.commit && self.anchor.to_hex() == k.anchor)
            .and_then(|k| ObjectId::from_hex(k.source.as_bytes()).ok());
        (source, warning)
    }

    /// Keep the policy in force after every commit of `at`'s first-parent chain back to the
    /// anchor, as `ev` computed it (each judged through that chain alone, so the answer is
    /// the chain's, whatever else was asked). Nothing is kept when the chain does not reach
    /// the anchor. A failure to write costs the next call the walk only.
    pub fn keep(
        &self,
        history: &dyn PolicyHistory,
        ev: &crate::policy::history::Evolution,
        at: ObjectId,
    ) -> std::io::Result<()> {
        use crate::policy::history::{Change, Standing};
        let mut chain = vec![at];
        let mut x = at;
        while x != self.anchor {
            let Ok(parents) = history.parents(x) else {
                return Ok(());
            };
            let Some(p) = parents.first().copied() else {
                return Ok(());
            };
            chain.push(p);
            x = p;
        }
        let mut source = self.anchor;
        let mut records = Vec::with_capacity(chain.len());
        for c in chain.iter().rev() {
            match ev.standing(c) {
                Some(Standing::Judged { change, .. }) => {
                    if *change == Change::Authorised {
                        source = *c;
                    }
                }
                _ => return Ok(()),
            }
            let kept = KeptInForce {
                commit: c.to_hex().to_string(),
                anchor: self.anchor.to_hex().to_string(),
                source: source.to_hex().to_string(),
            };
            if let Ok(value) = serde_json::to_string(&kept) {
                records.push((self.key(c), value));
            }
        }
        crate::facts::Store::empty(&self.path).append(&records)
    }
}
