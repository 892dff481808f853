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
        let name = policy_name(commit);
        let text = match GitTree::new(&self.repo, tree, "", label.clone()).read(POLICY_PATH) {
            Ok(t) => t,
            Err(SourceError::Missing) => return Ok(None),
            Err(e) => return Err(git(commit, e)),
        };
        let text = String::from_utf8_lossy(&text);
        let files = GitTree::new(&self.repo, tree, POLICY_PATH, label.clone());
        PolicyFile::parse(&text, &name, &files)
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

/// How a committed policy is named ([`PolicyFile::file`]): `COMMIT:.gitsign/policy.toml`,
/// which is also git's revision syntax for the file's blob.
pub fn policy_name(commit: ObjectId) -> String {
    format!("{}:{POLICY_PATH}", commit.to_hex())
}

/// The commit whose tree holds the committed policy named `name` ([`policy_name`]).
pub fn policy_commit(name: &str) -> Option<ObjectId> {
    let hex = name.strip_suffix(POLICY_PATH)?.strip_suffix(':')?;
    ObjectId::from_hex(hex.as_bytes()).ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committed_policys_name_gives_back_its_commit() {
        let id = ObjectId::from_hex(b"0123456789abcdef0123456789abcdef01234567").expect("hex");
        let name = policy_name(id);
        assert_eq!(
            name,
            "0123456789abcdef0123456789abcdef01234567:.gitsign/policy.toml"
        );
        assert_eq!(policy_commit(&name), Some(id));
        for other in [
            "policy.toml",
            ".gitsign/policy.toml",
            "xyz:.gitsign/policy.toml",
            "0123456789abcdef0123456789abcdef01234567:other.toml",
        ] {
            assert_eq!(policy_commit(other), None, "{other} names no commit");
        }
    }
}
