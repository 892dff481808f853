//! The receiving end of a push, as git's `pre-receive` and `update` hooks see it
//! (githooks(5), receive-pack): ref update lines, the push quarantine, the refs as they are
//! before the push, and the commits a ref update gains — `git rev-list NEW --not HIDDEN...`,
//! computed here (which refs are hidden is the hook's policy: [`crate::hook::plan`]).
//!
//! Quarantine: during the hooks the pushed objects live in a temporary directory that git names
//! in `GIT_OBJECT_DIRECTORY`, with the real object store listed in
//! `GIT_ALTERNATE_OBJECT_DIRECTORIES`. gix 0.90 reads neither variable (its object store is
//! always `$GIT_DIR/objects` plus `info/alternates`), so [`Receiving`] opens one gix object store
//! per directory the caller names and looks objects up in git's order: the object directory,
//! then each alternate. Refs and the shallow list come from the repository as it is before the
//! push.
//!
//! The walk is git's `limit_list`: a queue by committer date holding the new tips and every ref
//! tip, where ref tips paint their ancestors "uninteresting"; it stops once nothing interesting
//! is left. Clock skew can only make it report a commit that is in fact already reachable (more
//! checking, never less): a commit is called old only when a path from a ref reached it.

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use gix::objs::Find as _;
use gix::ObjectId;

use crate::git::object::HashKind;

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("not in a git repository")]
    NotARepository(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("could not open the object directory '{0}'")]
    ObjectDir(String, #[source] std::io::Error),
    #[error("could not read object {0}")]
    Object(String, #[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("object {0} is missing from the repository and the push")]
    Missing(String),
    #[error("object {0} is not a valid commit")]
    MalformedCommit(String),
    #[error("could not list the repository's refs")]
    Refs(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("invalid ref update line '{0}': expected '<old-id> <new-id> <ref-name>'")]
    UpdateLine(String),
}

fn boxed(
    e: impl std::error::Error + Send + Sync + 'static,
) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(e)
}

/// One line of pre-receive input (or the update hook's arguments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// `None` when the ref is created (all-zero old id).
    pub old: Option<ObjectId>,
    /// `None` when the ref is deleted (all-zero new id).
    pub new: Option<ObjectId>,
    pub name: String,
}

fn parse_id(s: &str) -> Option<Option<ObjectId>> {
    let id = ObjectId::from_hex(s.as_bytes()).ok()?;
    Some((!id.is_null()).then_some(id))
}

impl RefUpdate {
    /// From the three fields git passes.
    pub fn new(old: &str, new: &str, name: &str) -> Result<RefUpdate, PushError> {
        let bad = || PushError::UpdateLine(format!("{old} {new} {name}"));
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(bad());
        }
        Ok(RefUpdate {
            old: parse_id(old).ok_or_else(bad)?,
            new: parse_id(new).ok_or_else(bad)?,
            name: name.to_owned(),
        })
    }

    /// `<old> <new> <ref>` as git writes it to pre-receive's stdin.
    pub fn parse_line(line: &str) -> Result<RefUpdate, PushError> {
        let mut fields = line.trim_end_matches(['\n', '\r']).splitn(3, ' ');
        match (fields.next(), fields.next(), fields.next()) {
            (Some(old), Some(new), Some(name)) => RefUpdate::new(old, new, name),
            _ => Err(PushError::UpdateLine(line.trim_end().to_owned())),
        }
    }
}

/// Where objects are, in lookup order (git's `GIT_OBJECT_DIRECTORY` and
/// `GIT_ALTERNATE_OBJECT_DIRECTORIES`); both unset means the repository's own store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectDirs {
    pub primary: Option<PathBuf>,
    pub alternates: Vec<PathBuf>,
}

/// Split `GIT_ALTERNATE_OBJECT_DIRECTORIES` like git's `parse_alt_odb_entry`: entries are
/// separated by `:`, and an entry starting with `"` is a C-quoted string (so it may hold `:`).
pub fn parse_alternates(value: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let entry;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut s = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, 'n')) => s.push('\n'),
                        Some((_, 't')) => s.push('\t'),
                        Some((_, other)) => s.push(other),
                        None => {}
                    },
                    c => s.push(c),
                }
            }
            entry = s;
            rest = &quoted[end.min(quoted.len())..];
            rest = rest.strip_prefix(':').unwrap_or(rest);
        } else {
            let (e, r) = rest.split_once(':').unwrap_or((rest, ""));
            entry = e.to_owned();
            rest = r;
        }
        if !entry.is_empty() {
            out.push(PathBuf::from(entry));
        }
    }
    out
}

/// An object as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawObject {
    pub kind: gix::object::Kind,
    pub data: Vec<u8>,
}

/// The commits and tags behind a pushed ref value.
#[derive(Debug, Clone, Default)]
pub struct Peeled {
    /// Annotated tag objects, outermost first, with their bytes.
    pub tags: Vec<(ObjectId, Vec<u8>)>,
    /// The commit the value peels to, if any (a tag may point at a tree or blob).
    pub commit: Option<ObjectId>,
    /// The tree or blob the value peels to instead of a commit, with its kind.
    pub other: Option<(ObjectId, gix::object::Kind)>,
}

/// A commit the push introduces, with its exact bytes.
#[derive(Debug, Clone)]
pub struct NewCommit {
    pub id: ObjectId,
    pub raw: Vec<u8>,
}

/// The repository receiving a push.
pub struct Receiving {
    repo: gix::Repository,
    /// Object stores in lookup order; empty means `repo.objects`.
    stores: Vec<gix::odb::Handle>,
    shallow: HashSet<ObjectId>,
}

/// Parents and committer time from a commit's header (the walk needs nothing else).
fn commit_links(raw: &[u8]) -> Option<(Vec<ObjectId>, i64)> {
    let mut parents = Vec::new();
    let mut time = None;
    for line in raw.split(|&b| b == b'\n') {
        if line.is_empty() {
            break;
        }
        if let Some(hex) = line.strip_prefix(b"parent ") {
            parents.push(ObjectId::from_hex(hex).ok()?);
        } else if let Some(who) = line.strip_prefix(b"committer ") {
            // `Name <email> 1700000000 +0000`: the second-to-last field.
            let mut fields = who.rsplit(|&b| b == b' ');
            let _zone = fields.next();
            time = fields
                .next()
                .and_then(|t| std::str::from_utf8(t).ok())
                .and_then(|t| t.parse::<i64>().ok());
        }
    }
    Some((parents, time.unwrap_or(0)))
}

/// The `object` header of a tag.
fn tag_target(raw: &[u8]) -> Option<ObjectId> {
    let first = raw.split(|&b| b == b'\n').next()?;
    ObjectId::from_hex(first.strip_prefix(b"object ")?).ok()
}

const UNINTERESTING: u8 = 1;
const QUEUED: u8 = 2;
const SEEN: u8 = 4;

impl Receiving {
    /// Open the repository of this process ([`super::repo::shared_repository`]: the one its
    /// configuration is read from, found with git's rules, `GIT_DIR` first) with objects
    /// looked up in `dirs`.
    pub fn open(dirs: &ObjectDirs) -> Result<Receiving, PushError> {
        let repo = super::repo::shared_repository()
            .map_err(|e| PushError::NotARepository(boxed(e)))?
            .to_thread_local();
        let mut stores = Vec::new();
        if dirs.primary.is_some() || !dirs.alternates.is_empty() {
            let primary = dirs
                .primary
                .clone()
                .unwrap_or_else(|| repo.common_dir().join("objects"));
            for d in std::iter::once(&primary).chain(dirs.alternates.iter()) {
                let d = if d.is_relative() {
                    repo.git_dir().join(d)
                } else {
                    d.clone()
                };
                let handle = gix::odb::at(&d, repo.object_hash())
                    .map_err(|e| PushError::ObjectDir(d.display().to_string(), e))?;
                stores.push(handle);
            }
        }
        let shallow = repo
            .shallow_commits()
            .map_err(|e| PushError::Refs(boxed(e)))?
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        Ok(Receiving {
            repo,
            stores,
            shallow,
        })
    }

    pub fn git_dir(&self) -> &Path {
        self.repo.git_dir()
    }

    /// The directory shared by all worktrees (the bare repository itself on a server), where
    /// the proof cache lives.
    pub fn common_dir(&self) -> &Path {
        self.repo.common_dir()
    }

    /// The repository as it is before the push (refs, notes, the main object store; not the
    /// quarantine).
    pub fn repository(&self) -> &gix::Repository {
        &self.repo
    }

    pub fn hash_kind(&self) -> HashKind {
        match self.repo.object_hash() {
            gix::hash::Kind::Sha1 => HashKind::Sha1,
            _ => HashKind::Sha256,
        }
    }

    /// An object from the quarantine or the repository; `None` if neither has it.
    pub fn find(&self, id: ObjectId) -> Result<Option<RawObject>, PushError> {
        let mut buf = Vec::new();
        let found = |d: gix::objs::Data<'_>| RawObject {
            kind: d.kind,
            data: d.data.to_vec(),
        };
        if self.stores.is_empty() {
            return self
                .repo
                .objects
                .try_find(&id, &mut buf)
                .map(|o| o.map(found))
                .map_err(|e| PushError::Object(id.to_string(), boxed(e)));
        }
        for store in &self.stores {
            if let Some(d) = store
                .try_find(&id, &mut buf)
                .map_err(|e| PushError::Object(id.to_string(), boxed(e)))?
            {
                return Ok(Some(found(d)));
            }
        }
        Ok(None)
    }

    fn require(&self, id: ObjectId) -> Result<RawObject, PushError> {
        self.find(id)?
            .ok_or_else(|| PushError::Missing(id.to_string()))
    }

    /// Every ref that peels to a commit, with that commit, as the refs are before the push.
    pub fn ref_tips(&self) -> Result<Vec<(String, ObjectId)>, PushError> {
        let refs = self
            .repo
            .references()
            .map_err(|e| PushError::Refs(boxed(e)))?;
        let all = refs.all().map_err(|e| PushError::Refs(boxed(e)))?;
        let mut tips = Vec::new();
        for r in all {
            let r = r.map_err(|e| PushError::Refs(boxed(e)))?;
            let Some(id) = r.target().try_id().map(|i| i.to_owned()) else {
                continue; // symbolic: its target is listed on its own
            };
            // A ref to an object the store lacks hides nothing; it cannot fail the push.
            if let Ok(Peeled {
                commit: Some(c), ..
            }) = self.peel(id)
            {
                tips.push((r.name().as_bstr().to_string(), c));
            }
        }
        tips.sort();
        Ok(tips)
    }

    /// Follow annotated tags from `id` to a commit.
    pub fn peel(&self, id: ObjectId) -> Result<Peeled, PushError> {
        let mut out = Peeled::default();
        let mut at = id;
        // Tag chains are acyclic (ids are hashes); the bound only stops pathological depth.
        for _ in 0..64 {
            let obj = self.require(at)?;
            match obj.kind {
                gix::object::Kind::Tag => {
                    let next = tag_target(&obj.data).ok_or_else(|| {
                        PushError::Object(at.to_string(), "tag has no object header".into())
                    })?;
                    out.tags.push((at, obj.data));
                    at = next;
                }
                gix::object::Kind::Commit => {
                    out.commit = Some(at);
                    return Ok(out);
                }
                kind => {
                    out.other = Some((at, kind));
                    return Ok(out);
                }
            }
        }
        Err(PushError::Object(
            id.to_string(),
            "tag chain deeper than 64".into(),
        ))
    }

    /// Commits reachable from `tips` and from none of `hidden`, newest first, with their bytes.
    ///
    /// A missing parent of a new commit is an error (the push is incomplete) unless the
    /// repository lists the commit as shallow; missing history behind `hidden` is ignored, as git
    /// does for uninteresting commits.
    pub fn new_commits(
        &self,
        tips: &[ObjectId],
        hidden: &[ObjectId],
    ) -> Result<Vec<NewCommit>, PushError> {
        let mut flags: HashMap<ObjectId, u8> = HashMap::new();
        let mut links: HashMap<ObjectId, (Vec<ObjectId>, i64)> = HashMap::new();
        let mut raws: HashMap<ObjectId, Vec<u8>> = HashMap::new();
        let mut queue: BinaryHeap<(i64, ObjectId)> = BinaryHeap::new();
        let mut interesting_queued = 0usize;
        let mut order = Vec::new();

        // Load a commit's links; `strict` turns a missing object into an error.
        let load = |id: ObjectId,
                    strict: bool,
                    links: &mut HashMap<ObjectId, (Vec<ObjectId>, i64)>,
                    raws: &mut HashMap<ObjectId, Vec<u8>>|
         -> Result<bool, PushError> {
            if links.contains_key(&id) {
                return Ok(true);
            }
            let obj = match self.find(id)? {
                Some(o) => o,
                None if strict => return Err(PushError::Missing(id.to_string())),
                None => return Ok(false),
            };
            if obj.kind != gix::object::Kind::Commit {
                return if strict {
                    Err(PushError::MalformedCommit(id.to_string()))
                } else {
                    Ok(false)
                };
            }
            let l = commit_links(&obj.data)
                .ok_or_else(|| PushError::MalformedCommit(id.to_string()))?;
            links.insert(id, l);
            if strict {
                raws.insert(id, obj.data);
            }
            Ok(true)
        };

        for &h in hidden {
            if load(h, false, &mut links, &mut raws)?
                && flags.get(&h).copied().unwrap_or(0) & SEEN == 0
            {
                flags.insert(h, SEEN | QUEUED | UNINTERESTING);
                queue.push((links[&h].1, h));
            }
        }
        for &t in tips {
            if flags.get(&t).copied().unwrap_or(0) & SEEN != 0 {
                continue;
            }
            load(t, true, &mut links, &mut raws)?;
            flags.insert(t, SEEN | QUEUED);
            queue.push((links[&t].1, t));
            interesting_queued += 1;
        }

        let mut oldest_candidate = i64::MAX;
        while let Some(&(time, _)) = queue.peek() {
            // Done when nothing interesting is queued and the uninteresting front has passed
            // every candidate (older ref history cannot reach newer commits without skew).
            if interesting_queued == 0 && time < oldest_candidate {
                break;
            }
            let Some((_, id)) = queue.pop() else { break };
            let f = flags.entry(id).or_default();
            *f &= !QUEUED;
            let uninteresting = *f & UNINTERESTING != 0;
            if !uninteresting {
                interesting_queued = interesting_queued.saturating_sub(1);
            }
            let parents = links.get(&id).map(|l| l.0.clone()).unwrap_or_default();
            if uninteresting {
                // Paint the parents; re-queue any already walked so the paint goes on.
                for p in parents {
                    let pf = flags.get(&p).copied().unwrap_or(0);
                    if pf & UNINTERESTING != 0 {
                        continue;
                    }
                    if pf & QUEUED != 0 {
                        interesting_queued = interesting_queued.saturating_sub(1);
                        flags.insert(p, pf | UNINTERESTING);
                    } else if load(p, false, &mut links, &mut raws)? {
                        flags.insert(p, pf | SEEN | QUEUED | UNINTERESTING);
                        queue.push((links[&p].1, p));
                    }
                }
                continue;
            }
            order.push(id);
            oldest_candidate = oldest_candidate.min(time);
            if self.shallow.contains(&id) {
                continue; // its parents are not in this repository by design
            }
            for p in parents {
                if flags.get(&p).copied().unwrap_or(0) & SEEN != 0 {
                    continue;
                }
                load(p, true, &mut links, &mut raws)?;
                flags.insert(p, SEEN | QUEUED);
                queue.push((links[&p].1, p));
                interesting_queued += 1;
            }
        }
        Ok(order
            .into_iter()
            .filter(|id| flags.get(id).copied().unwrap_or(0) & UNINTERESTING == 0)
            .filter_map(|id| raws.remove(&id).map(|raw| NewCommit { id, raw }))
            .collect())
    }

    /// Which of `set` are `start` or its ancestors, walking only through `set` (everything
    /// outside it is already in the repository, and so are its ancestors).
    pub fn ancestors_within(start: ObjectId, set: &HashMap<ObjectId, &[u8]>) -> HashSet<ObjectId> {
        let mut out = HashSet::new();
        let mut stack = vec![start];
        while let Some(id) = stack.pop() {
            let Some(raw) = set.get(&id) else { continue };
            if !out.insert(id) {
                continue;
            }
            if let Some((parents, _)) = commit_links(raw) {
                stack.extend(parents);
            }
        }
        out
    }

    /// The parents of a commit's bytes, first parent first (`None`: not a valid header).
    pub fn commit_parents(raw: &[u8]) -> Option<Vec<ObjectId>> {
        commit_links(raw).map(|l| l.0)
    }

    /// The tree a commit's bytes name (`None`: not a valid header).
    pub fn commit_tree(raw: &[u8]) -> Option<ObjectId> {
        let first = raw.split(|&b| b == b'\n').next()?;
        ObjectId::from_hex(first.strip_prefix(b"tree ")?).ok()
    }

    /// The entry at `path` (components from the root) of the tree `tree`, from the quarantine
    /// or the repository: its mode and object (`None`: no such entry).
    pub fn tree_entry(
        &self,
        tree: ObjectId,
        path: &[&str],
    ) -> Result<Option<(gix::objs::tree::EntryMode, ObjectId)>, PushError> {
        let mut at: (gix::objs::tree::EntryMode, ObjectId) =
            (gix::objs::tree::EntryKind::Tree.into(), tree);
        for part in path {
            if !at.0.is_tree() {
                return Ok(None);
            }
            let obj = self.require(at.1)?;
            if obj.kind != gix::object::Kind::Tree {
                return Err(PushError::Object(at.1.to_string(), "not a tree".into()));
            }
            let mut found = None;
            for entry in gix::objs::TreeRefIter::from_bytes(&obj.data, self.repo.object_hash()) {
                let entry = entry.map_err(|e| PushError::Object(at.1.to_string(), boxed(e)))?;
                if entry.filename == part.as_bytes() {
                    found = Some((entry.mode, entry.oid.to_owned()));
                    break;
                }
            }
            match found {
                Some(f) => at = f,
                None => return Ok(None),
            }
        }
        Ok(Some(at))
    }

    /// Committer time of a commit's bytes (0 when unreadable).
    pub fn committer_time(raw: &[u8]) -> i64 {
        commit_links(raw).map_or(0, |l| l.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "58d9abba022e21de32b3425eed0a256d51e62fcd";
    const B: &str = "a336df86075474ca9a3e2c7183cf209cec375ba2";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn parses_update_lines() {
        let u = RefUpdate::parse_line(&format!("{A} {B} refs/heads/main\n")).expect("valid");
        assert_eq!(u.name, "refs/heads/main");
        assert_eq!(u.old.map(|o| o.to_string()).as_deref(), Some(A));
        assert_eq!(u.new.map(|o| o.to_string()).as_deref(), Some(B));
        let created = RefUpdate::parse_line(&format!("{ZERO} {B} refs/heads/x")).expect("valid");
        assert_eq!(created.old, None, "zero old is a creation");
        let deleted = RefUpdate::parse_line(&format!("{A} {ZERO} refs/heads/x")).expect("valid");
        assert_eq!(deleted.new, None, "zero new is a deletion");
        for bad in [
            "",
            "x y z",
            &format!("{A} {B}"),
            &format!("{A} {B} refs/a b"),
            &format!("{A}0 {B} r"),
        ] {
            assert!(RefUpdate::parse_line(bad).is_err(), "'{bad}' is refused");
        }
    }

    #[test]
    fn splits_alternates_like_git() {
        assert_eq!(
            parse_alternates("/a/objects:/b/objects"),
            vec![PathBuf::from("/a/objects"), PathBuf::from("/b/objects")]
        );
        assert_eq!(
            parse_alternates("\"/with:colon\\\"q\":/plain::"),
            vec![PathBuf::from("/with:colon\"q"), PathBuf::from("/plain")],
            "quoted entries may hold colons and escapes; empty entries are skipped"
        );
        assert_eq!(
            parse_alternates("\"unterminated"),
            vec![PathBuf::from("unterminated")]
        );
        assert!(parse_alternates("").is_empty());
    }

    #[test]
    fn reads_commit_links() {
        let raw = format!("tree t\nparent {A}\nparent {B}\nauthor a <a> 1 +0000\ncommitter c <c> 1700000000 -0400\n\nmsg\nparent x\n");
        let (parents, time) = commit_links(raw.as_bytes()).expect("parses");
        assert_eq!(parents.len(), 2, "both parents, not the message look-alike");
        assert_eq!(time, 1_700_000_000);
        assert!(
            commit_links(b"parent zz\n\n").is_none(),
            "a malformed parent is an error"
        );
        assert_eq!(
            tag_target(format!("object {A}\ntype commit\n").as_bytes())
                .map(|o| o.to_string())
                .as_deref(),
            Some(A)
        );
    }
}
