//! The committed policy, anchored (`gitsign.policyAnchor`, `--policy-anchor REV`): the
//! repository side of [`crate::policy::history`] for `gitsign verify` and git's `--verify`.

use std::sync::Arc;

use gix::ObjectId;

use super::{CliError, Exit};
use crate::check::{Checker, Format, KeyFiles, Signed, Verified};
use crate::git::object::HashKind;
use crate::policy::history::{
    Evolution, HistoryError, PolicyHistory, Standing, POLICY_DIR, POLICY_PATH,
};
use crate::policy::{FileSource, GitTree, KeyFormats, PolicyFile, Signer, SourceError};
use crate::ssh::Revoked;
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

/// [`GitHistory`] with the committed policies' key files: a policy-changing commit signed
/// with an OpenPGP or SSH key is verified against the key files of the policy in force (from
/// the tree of the commit that committed it) and judged by them, so an OpenPGP or SSH policy
/// authority may change the policy.
pub struct KeyedHistory<'a> {
    pub git: GitHistory<'a>,
    pub files: &'a KeyFiles,
    /// git's SSH revocation file.
    pub revoked: &'a Revoked,
}

impl KeyedHistory<'_> {
    /// The verdicts of a chunk of commits (`verified[i]` of `ids[i]`) whose OpenPGP or SSH
    /// signature is judged under `ev`: each verified again, on every core, against the key
    /// files of the policy in force at it. The driver's first pass checked them against no
    /// key, which it decides before any cryptography (an unknown key).
    pub fn verify_chunk(
        &self,
        ev: &Evolution,
        shared: &gix::ThreadSafeRepository,
        ids: &[ObjectId],
        verified: &mut [Verified],
    ) {
        use rayon::prelude::*;
        let todo: Vec<(usize, &Arc<PolicyFile>)> = ids
            .iter()
            .zip(verified.iter())
            .enumerate()
            .filter(|(_, (_, v))| matches!(v.format, Format::Openpgp | Format::Ssh))
            .filter_map(|(i, (id, _))| match ev.standing(id) {
                Some(Standing::Judged { policy, .. }) => Some((i, policy)),
                _ => None,
            })
            .collect();
        let (checker, files, revoked, hash) =
            (self.git.checker, self.files, self.revoked, self.git.hash);
        let again: Vec<(usize, Verified)> = todo
            .par_iter()
            .map_init(
                || shared.to_thread_local(),
                |repo, (i, policy)| {
                    let raw = crate::git::repo::raw_object(repo, *ids.get(*i)?).ok()?;
                    let object = Signed::Object {
                        raw: &raw,
                        kind: ObjectKind::Commit,
                        hash,
                    };
                    let keys = files.keys_of(policy, revoked);
                    Some((*i, checker.check_with_keys(&object, &keys)))
                },
            )
            .flatten()
            .collect();
        for (i, v) in again {
            if let Some(slot) = verified.get_mut(i) {
                *slot = v;
            }
        }
    }
}

impl PolicyHistory for KeyedHistory<'_> {
    fn parents(&self, commit: ObjectId) -> Result<Vec<ObjectId>, HistoryError> {
        self.git.parents(commit)
    }

    fn policy_dir(&self, commit: ObjectId) -> Result<Option<ObjectId>, HistoryError> {
        self.git.policy_dir(commit)
    }

    fn policy(&self, commit: ObjectId) -> Result<Option<PolicyFile>, HistoryError> {
        self.git.policy(commit)
    }

    fn report(&self, commit: ObjectId) -> Result<Report, HistoryError> {
        self.git.report(commit)
    }

    fn signed(
        &self,
        commit: ObjectId,
        in_force: &PolicyFile,
    ) -> Result<(Report, Option<Signer>), HistoryError> {
        let raw =
            crate::git::repo::raw_object(&self.git.repo, commit).map_err(|e| git(commit, e))?;
        let object = Signed::Object {
            raw: &raw,
            kind: ObjectKind::Commit,
            hash: self.git.hash,
        };
        let Some(v) = self
            .git
            .checker
            .check(&[object])
            .verified
            .into_iter()
            .next()
        else {
            return Ok((Report::bad(crate::verify::Failure::Unsigned), None));
        };
        let v = match v.format {
            Format::Openpgp | Format::Ssh => self
                .git
                .checker
                .check_with_keys(&object, &self.files.keys_of(in_force, self.revoked)),
            _ => v,
        };
        let signer = v.signer.as_ref().and_then(|s| s.judged(&v.report));
        Ok((v.report, signer))
    }

    fn key_formats(&self) -> &dyn KeyFormats {
        self.files
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
