//! The committed policy, anchored (`gitsign.policyAnchor`, `--policy-anchor REV`): the
//! repository side of [`crate::policy::history`] for `gitsign verify` and git's `--verify`
//! ([`GitHistory`]), and for `gitsign hook`, whose pushed objects are in the quarantine
//! ([`PushedHistory`]).

use std::cell::RefCell;
use std::collections::HashMap;

use std::sync::Arc;

use gix::ObjectId;

use super::{CliError, Exit};
use crate::check::{Checker, Format, KeyFiles, Signed, Verified};
use crate::git::object::HashKind;
use crate::git::push::{PushError, Receiving};
use crate::policy::history::{
    Evolution, HistoryError, PolicyHistory, Standing, POLICY_DIR, POLICY_PATH,
};
use crate::policy::source::{resolve, MAX_KEY_FILE};
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

/// A history whose commits can be verified again against keys: [`GitHistory`] and
/// [`PushedHistory`], for [`KeyedHistory`].
pub trait CommitSource<'c>: PolicyHistory {
    /// The commit's raw bytes.
    fn raw(&self, commit: ObjectId) -> Result<Vec<u8>, HistoryError>;
    /// The checker its policy-changing commits are verified by.
    fn checker(&self) -> &Checker<'c>;
    fn hash(&self) -> HashKind;
}

impl<'a> CommitSource<'a> for GitHistory<'a> {
    fn raw(&self, commit: ObjectId) -> Result<Vec<u8>, HistoryError> {
        crate::git::repo::raw_object(&self.repo, commit).map_err(|e| git(commit, e))
    }

    fn checker(&self) -> &Checker<'a> {
        self.checker
    }

    fn hash(&self) -> HashKind {
        self.hash
    }
}

/// `first`, the verdict on `object` against no key, or, for an OpenPGP or SSH signature,
/// its verdict against the key files of `policy` (git's SSH revocation file `revoked`): the
/// one way a signature is verified under a committed policy, by `gitsign verify`, git's
/// `--verify` and the hook.
pub fn verify_under(
    checker: &Checker<'_>,
    object: &Signed<'_>,
    first: Verified,
    policy: &PolicyFile,
    files: &KeyFiles,
    revoked: &Revoked,
) -> Verified {
    match first.format {
        Format::Openpgp | Format::Ssh => {
            checker.check_with_keys(object, &files.keys_of(policy, revoked))
        }
        _ => first,
    }
}

/// A history ([`GitHistory`], [`PushedHistory`]) with the committed policies' key files: a
/// policy-changing commit signed with an OpenPGP or SSH key is verified against the key files
/// of the policy in force (from the tree of the commit that committed it) and judged by them,
/// so an OpenPGP or SSH policy authority may change the policy.
pub struct KeyedHistory<'a, H> {
    pub git: H,
    pub files: &'a KeyFiles,
    /// git's SSH revocation file.
    pub revoked: &'a Revoked,
}

impl KeyedHistory<'_, GitHistory<'_>> {
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
        let todo: Vec<(usize, &Arc<PolicyFile>, Verified)> = ids
            .iter()
            .zip(verified.iter())
            .enumerate()
            .filter(|(_, (_, v))| matches!(v.format, Format::Openpgp | Format::Ssh))
            .filter_map(|(i, (id, v))| match ev.standing(id) {
                Some(Standing::Judged { policy, .. }) => Some((i, policy, v.clone())),
                _ => None,
            })
            .collect();
        let (checker, files, revoked, hash) =
            (self.git.checker, self.files, self.revoked, self.git.hash);
        let again: Vec<(usize, Verified)> = todo
            .into_par_iter()
            .map_init(
                || shared.to_thread_local(),
                |repo, (i, policy, first)| {
                    let raw = crate::git::repo::raw_object(repo, *ids.get(i)?).ok()?;
                    let object = Signed::Object {
                        raw: &raw,
                        kind: ObjectKind::Commit,
                        hash,
                    };
                    Some((
                        i,
                        verify_under(checker, &object, first, policy, files, revoked),
                    ))
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

impl<'c, H: CommitSource<'c>> PolicyHistory for KeyedHistory<'_, H> {
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
        let raw = self.git.raw(commit)?;
        let object = Signed::Object {
            raw: &raw,
            kind: ObjectKind::Commit,
            hash: self.git.hash(),
        };
        let checker = self.git.checker();
        let Some(first) = checker.check(&[object]).verified.into_iter().next() else {
            return Ok((Report::bad(crate::verify::Failure::Unsigned), None));
        };
        let v = verify_under(checker, &object, first, in_force, self.files, self.revoked);
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

/// The objects a kept policy-in-force record names (the commit, the anchor and the commit
/// whose policy is in force); `None` for a value that is not such a record.
pub fn in_force_objects(value: &str) -> Option<[ObjectId; 3]> {
    let k = serde_json::from_str::<KeptInForce>(value).ok()?;
    let id = |hex: &str| ObjectId::from_hex(hex.as_bytes()).ok();
    Some([id(&k.commit)?, id(&k.anchor)?, id(&k.source)?])
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
                &setup.root_digest,
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
            .and_then(|(_, v)| serde_json::from_str::<KeptInForce>(&v).ok())
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

/// The receiving repository's commits, the pushed ones included (the quarantine), read for
/// the policy history of `gitsign hook`; policy-changing commits are verified by `checker`.
pub struct PushedHistory<'a> {
    repo: &'a Receiving,
    checker: &'a Checker<'a>,
    /// Each commit's parents and tree, and its `.gitsign` entry: the walk asks for each
    /// several times (as a commit and as a parent), and reads every commit back to the anchor.
    links: RefCell<HashMap<ObjectId, (Vec<ObjectId>, ObjectId)>>,
    dirs: RefCell<HashMap<ObjectId, Option<ObjectId>>>,
    /// Verdicts on policy-changing commits, asked again for each pushed ref.
    reports: RefCell<HashMap<ObjectId, Report>>,
}

impl<'a> PushedHistory<'a> {
    pub fn new(repo: &'a Receiving, checker: &'a Checker<'a>) -> PushedHistory<'a> {
        PushedHistory {
            repo,
            checker,
            links: RefCell::default(),
            dirs: RefCell::default(),
            reports: RefCell::default(),
        }
    }

    fn commit(&self, commit: ObjectId) -> Result<Vec<u8>, HistoryError> {
        match self.repo.find(commit).map_err(|e| git(commit, e))? {
            Some(o) if o.kind == gix::object::Kind::Commit => Ok(o.data),
            Some(_) => Err(malformed(commit)),
            None => Err(git(commit, PushError::Missing(commit.to_hex().to_string()))),
        }
    }

    /// The commit's parents and tree.
    fn links(&self, commit: ObjectId) -> Result<(Vec<ObjectId>, ObjectId), HistoryError> {
        if let Some(l) = self.links.borrow().get(&commit) {
            return Ok(l.clone());
        }
        let raw = self.commit(commit)?;
        let parents = Receiving::commit_parents(&raw).ok_or_else(|| malformed(commit))?;
        let tree = Receiving::commit_tree(&raw).ok_or_else(|| malformed(commit))?;
        self.links
            .borrow_mut()
            .insert(commit, (parents.clone(), tree));
        Ok((parents, tree))
    }

    fn tree(&self, commit: ObjectId) -> Result<ObjectId, HistoryError> {
        self.links(commit).map(|l| l.1)
    }
}

fn malformed(commit: ObjectId) -> HistoryError {
    git(
        commit,
        PushError::MalformedCommit(commit.to_hex().to_string()),
    )
}

impl PolicyHistory for PushedHistory<'_> {
    fn parents(&self, commit: ObjectId) -> Result<Vec<ObjectId>, HistoryError> {
        self.links(commit).map(|l| l.0)
    }

    fn policy_dir(&self, commit: ObjectId) -> Result<Option<ObjectId>, HistoryError> {
        if let Some(d) = self.dirs.borrow().get(&commit) {
            return Ok(*d);
        }
        let tree = self.tree(commit)?;
        let entry = self
            .repo
            .tree_entry(tree, &[POLICY_DIR])
            .map_err(|e| git(commit, e))?
            .map(|(_, id)| id);
        self.dirs.borrow_mut().insert(commit, entry);
        Ok(entry)
    }

    fn policy(&self, commit: ObjectId) -> Result<Option<PolicyFile>, HistoryError> {
        let label = commit.to_hex().to_string();
        let files = PushedTree {
            repo: self.repo,
            tree: self.tree(commit)?,
            base: vec![POLICY_DIR.to_owned()],
            label: label.clone(),
        };
        // The policy file itself, read beside its key files.
        let name = POLICY_PATH.rsplit_once('/').map_or(POLICY_PATH, |(_, f)| f);
        let text = match files.read(name) {
            Ok(t) => t,
            Err(SourceError::Missing) => return Ok(None),
            Err(e) => return Err(git(commit, e)),
        };
        let text = String::from_utf8_lossy(&text);
        PolicyFile::parse(&text, &format!("{label}:{POLICY_PATH}"), &files)
            .map(Some)
            .map_err(|source| HistoryError::Policy {
                commit: label,
                source,
            })
    }

    fn report(&self, commit: ObjectId) -> Result<Report, HistoryError> {
        if let Some(r) = self.reports.borrow().get(&commit) {
            return Ok(r.clone());
        }
        let raw = self.commit(commit)?;
        let batch = self.checker.check(&[Signed::Object {
            raw: &raw,
            kind: ObjectKind::Commit,
            hash: self.repo.hash_kind(),
        }]);
        let report = batch
            .verified
            .into_iter()
            .next()
            .map(|v| v.report)
            .unwrap_or_else(|| Report::bad(crate::verify::Failure::Unsigned));
        self.reports.borrow_mut().insert(commit, report.clone());
        Ok(report)
    }
}

impl<'a> CommitSource<'a> for PushedHistory<'a> {
    fn raw(&self, commit: ObjectId) -> Result<Vec<u8>, HistoryError> {
        self.commit(commit)
    }

    fn checker(&self) -> &Checker<'a> {
        self.checker
    }

    fn hash(&self) -> HashKind {
        self.repo.hash_kind()
    }
}

/// The key files of a policy committed in a pushed tree, read from the quarantine or the
/// repository ([`GitTree`] reads a repository's own objects only).
struct PushedTree<'a> {
    repo: &'a Receiving,
    tree: ObjectId,
    /// The policy's directory, as components.
    base: Vec<String>,
    label: String,
}

impl FileSource for PushedTree<'_> {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let parts = resolve(&self.base, path)?;
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let git = |e: PushError| SourceError::Git(Box::new(e));
        let (mode, id) = self
            .repo
            .tree_entry(self.tree, &parts)
            .map_err(git)?
            .ok_or(SourceError::Missing)?;
        if !mode.is_blob() {
            return Err(SourceError::NotAFile);
        }
        let blob = self
            .repo
            .find(id)
            .map_err(git)?
            .ok_or(SourceError::Missing)?;
        if blob.data.len() as u64 > MAX_KEY_FILE {
            return Err(SourceError::TooLarge);
        }
        Ok(blob.data)
    }

    fn describe(&self, path: &str) -> String {
        match resolve(&self.base, path) {
            Ok(parts) => format!("{}:{}", self.label, parts.join("/")),
            Err(_) => format!("{}:{path}", self.label),
        }
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
