//! The repository: revisions and ranges resolved with gix, raw object bytes straight from the
//! object database (never re-serialised: a signature covers exact bytes).

use gix::ObjectId;

use crate::git::object::HashKind;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("not in a git repository")]
    NotARepository(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error(
        "not in a git repository (or any parent up to the mount point), and GIT_DIR names none"
    )]
    NoRepository,
    #[error("unknown revision '{0}'")]
    Revision(String, #[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("'{0}' does not name a commit")]
    NotACommit(String),
    #[error("'{0}' is not an annotated tag (lightweight tags carry no signature)")]
    NotATag(String),
    #[error("could not read object {0}")]
    Object(String, #[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("could not walk the history")]
    Walk(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn boxed(
    e: impl std::error::Error + Send + Sync + 'static,
) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(e)
}

/// The exact bytes of object `id` in `repo`: handed over by the walk that read them, if it
/// did ([`Repo::walk`]), else read from the object database.
pub fn raw_object(repo: &gix::Repository, id: ObjectId) -> Result<Vec<u8>, RepoError> {
    if let Some(bytes) = WALKED.take(&id) {
        return Ok(std::sync::Arc::unwrap_or_clone(bytes));
    }
    let obj = repo
        .find_object(id)
        .map_err(|e| RepoError::Object(id.to_string(), boxed(e)))?;
    Ok(obj.detach().data)
}

/// The exact bytes of commit `id` if the walk that read them kept them for its reader
/// ([`Repo::walk`]); [`raw_object`] reads the object database otherwise.
pub fn take_walked(id: &ObjectId) -> Option<std::sync::Arc<Vec<u8>>> {
    WALKED.take(id)
}

/// Drop what a walk kept of `id`: its reader needs it no more (a verdict is already known).
pub fn forget_walked(id: &ObjectId) {
    let _ = WALKED.take(id);
}

/// Commits a walk read, kept for the one reader of each ([`raw_object`]), so a walked commit
/// is inflated once, not once to find its parents and again to verify it (a third of the CPU
/// outside ECDSA of `verify --all` on a history without commit-graph went to inflating the same
/// commits again). Object ids name exact bytes, so a kept commit is the object itself.
/// Bounded: a walk runs at most a chunk or two ahead of its readers; when the cap is reached
/// nothing more is kept and readers read the object database.
static WALKED: Walked = Walked(std::sync::Mutex::new(None));
/// At most this many bytes of commits are kept.
const WALKED_MAX_BYTES: usize = 32 << 20;
/// The object cache of a walk's repository handle: a commit read to order the walk (a tip, a
/// parent whose date the queue needs) is read from the pack once, however often the walk
/// looks at it before handing it over.
const WALK_CACHE_BYTES: usize = 16 << 20;
/// The size of a walk's first batch ([`Repo::walk`]).
const FIRST_BATCH: usize = 64;
/// The kept commits by id, and their total size.
type Kept = (
    std::collections::HashMap<ObjectId, std::sync::Arc<Vec<u8>>>,
    usize,
);

struct Walked(std::sync::Mutex<Option<Kept>>);

impl Walked {
    fn keep(&self, id: ObjectId, bytes: std::sync::Arc<Vec<u8>>) {
        if let Ok(mut g) = self.0.lock() {
            let (map, size) = g.get_or_insert_with(Default::default);
            if *size + bytes.len() <= WALKED_MAX_BYTES {
                *size += bytes.len();
                if let Some(old) = map.insert(id, bytes) {
                    *size -= old.len();
                }
            }
        }
    }

    fn take(&self, id: &ObjectId) -> Option<std::sync::Arc<Vec<u8>>> {
        let mut g = self.0.lock().ok()?;
        let (map, size) = g.as_mut()?;
        let bytes = map.remove(id)?;
        *size -= bytes.len();
        Some(bytes)
    }
}

/// The date-ordered walk of `sel`'s ranges, its commits read through `objects` (the tips read
/// ahead, `read_ahead`, or the commit-graph in front of the database, `graph_commits`) and
/// parents from `graph` when there is one: the same commits in the same order as `gix`'s walk.
fn date_walk<'a>(
    objects: impl gix::objs::Find + 'a,
    graph: Option<gix::commitgraph::Graph>,
    sel: &Selection,
) -> Result<impl Iterator<Item = Result<ObjectId, RepoError>> + 'a, RepoError> {
    use gix::traverse::commit::{simple::Sorting, Simple};
    let walk = Simple::new(sel.include.iter().copied(), objects)
        .sorting(Sorting::ByCommitTime(Default::default()))
        .map_err(|e| RepoError::Walk(boxed(e)))?
        .commit_graph(graph)
        .hide(sel.exclude.iter().copied())
        .map_err(|e| RepoError::Walk(boxed(e)))?;
    Ok(walk.map(|info| info.map(|i| i.id).map_err(|e| RepoError::Walk(boxed(e)))))
}

pub struct Repo {
    repo: gix::Repository,
}

/// What a list of revision arguments asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Commits named directly (`HEAD`, a sha): only these, like Go gitsign's single revision.
    pub single: Vec<ObjectId>,
    /// Walk from these…
    pub include: Vec<ObjectId>,
    /// …hiding everything reachable from these.
    pub exclude: Vec<ObjectId>,
}

/// Why the process has no repository; kept so every caller gets the same answer.
#[derive(Debug, Clone)]
enum Unopened {
    None,
    Config(crate::config::ConfigError),
    Open(String),
}

/// The repository of this process ([`crate::config::repository`]), opened once.
pub fn shared_repository() -> Result<&'static gix::ThreadSafeRepository, RepoError> {
    static OPENED: std::sync::OnceLock<Result<gix::ThreadSafeRepository, Unopened>> =
        std::sync::OnceLock::new();
    let opened = OPENED.get_or_init(|| {
        let location = crate::config::repository()
            .map_err(Unopened::Config)?
            .ok_or(Unopened::None)?;
        // Our discovery already applied git's ownership rules; gix opens what it found.
        // `components` drops the `.` of `GIT_DIR=.` (how git runs hooks), as git's own
        // absolute git directory has none, so paths derived from it read the same.
        let git_dir: std::path::PathBuf = location.git_dir.components().collect();
        gix::ThreadSafeRepository::open_opts(&git_dir, gix::open::Options::default())
            .map_err(|e| Unopened::Open(e.to_string()))
    });
    opened.as_ref().map_err(|e| match e {
        Unopened::None => RepoError::NoRepository,
        Unopened::Config(e) => RepoError::NotARepository(boxed(e.clone())),
        Unopened::Open(e) => RepoError::NotARepository(e.clone().into()),
    })
}

impl Repo {
    /// The repository git would use here: `GIT_DIR` / `GIT_WORK_TREE`, else found upwards
    /// from the current directory, by the same rules the configuration was read with.
    pub fn open() -> Result<Repo, RepoError> {
        Ok(Repo::from_shared(shared_repository()?))
    }

    /// The repository at or above `dir`, for a path given explicitly (no environment).
    pub fn discover(dir: &std::path::Path) -> Result<Repo, RepoError> {
        let repo = gix::discover(dir).map_err(|e| RepoError::NotARepository(boxed(e)))?;
        Ok(Repo { repo })
    }

    /// The main git directory (shared by linked worktrees): where gitsign keeps its files.
    pub fn common_dir(&self) -> &std::path::Path {
        self.repo.common_dir()
    }

    pub fn hash_kind(&self) -> HashKind {
        match self.repo.object_hash() {
            gix::hash::Kind::Sha1 => HashKind::Sha1,
            _ => HashKind::Sha256,
        }
    }

    fn peel_to_commit(&self, id: ObjectId, spec: &str) -> Result<ObjectId, RepoError> {
        self.peel_to_commit_in(None, None, id, spec)
    }

    /// [`Repo::peel_to_commit`], where a commit the commit-graph holds needs no object read.
    fn peel_to_commit_in(
        &self,
        graph: Option<&gix::commitgraph::Graph>,
        packs: Option<&crate::git::packs::Packs>,
        id: ObjectId,
        spec: &str,
    ) -> Result<ObjectId, RepoError> {
        // A commit is told from the graph, else from the pack entries' headers (nothing
        // inflated), else from the object database's header (a delta's costs a partial
        // inflate); anything else is read and peeled.
        let is_commit = |kind: gix::object::Kind| kind == gix::object::Kind::Commit;
        if graph.is_some_and(|g| g.lookup(id).is_some())
            || match packs.and_then(|p| p.kind(&id)) {
                Some(kind) => is_commit(kind),
                None => self.repo.find_header(id).is_ok_and(|h| is_commit(h.kind())),
            }
        {
            return Ok(id);
        }
        let obj = self
            .repo
            .find_object(id)
            .map_err(|e| RepoError::Object(id.to_string(), boxed(e)))?;
        obj.peel_to_commit()
            .map(|c| c.id)
            .map_err(|_| RepoError::NotACommit(spec.to_owned()))
    }

    /// Resolve revision arguments: `HEAD`, `v1.0..main`, `A...B`, `^X`, `--all`.
    pub fn select(&self, specs: &[String]) -> Result<Selection, RepoError> {
        use gix::revision::plumbing::Spec;
        let mut sel = Selection::default();
        for spec in specs {
            if spec == "--all" {
                let graph = self.repo.commit_graph_if_enabled().ok().flatten();
                // Without a graph, every ref's kind from the pack headers (a thousand refs'
                // header reads through the object database took milliseconds before the walk).
                let packs = graph
                    .is_none()
                    .then(|| crate::git::packs::Packs::open(&self.repo));
                let refs = self
                    .repo
                    .references()
                    .map_err(|e| RepoError::Walk(boxed(e)))?;
                let all = refs.all().map_err(|e| RepoError::Walk(boxed(e)))?;
                for r in all.flatten() {
                    // Notes commits (ours under refs/notes/gitsign, `git notes` annotations)
                    // are bookkeeping beside the history, never signed: `--all` is every
                    // branch, tag and other ref except notes.
                    if r.name().as_bstr().starts_with(b"refs/notes/") {
                        continue;
                    }
                    // The ref's object without peeling: most name a commit, which needs no
                    // read here (the walk reads it); a tag is peeled below.
                    // A direct ref's target is at hand (following it would look at the
                    // packed-refs file's freshness again for every ref).
                    let target = match r.target().try_id() {
                        Some(id) => Some(id.to_owned()),
                        None => {
                            let mut r = r;
                            r.follow_to_object().ok().map(|id| id.detach())
                        }
                    };
                    if let Some(id) = target {
                        if let Ok(c) =
                            self.peel_to_commit_in(graph.as_ref(), packs.as_ref(), id, spec)
                        {
                            sel.include.push(c);
                        }
                    }
                }
                continue;
            }
            let parsed = self
                .repo
                .rev_parse(spec.as_str())
                .map_err(|e| RepoError::Revision(spec.clone(), boxed(e)))?
                .detach();
            match parsed {
                Spec::Include(id) => sel.single.push(self.peel_to_commit(id, spec)?),
                Spec::Exclude(id) => sel.exclude.push(self.peel_to_commit(id, spec)?),
                Spec::Range { from, to } => {
                    sel.exclude.push(self.peel_to_commit(from, spec)?);
                    sel.include.push(self.peel_to_commit(to, spec)?);
                }
                Spec::Merge { theirs, ours } => {
                    let (a, b) = (
                        self.peel_to_commit(theirs, spec)?,
                        self.peel_to_commit(ours, spec)?,
                    );
                    sel.include.extend([a, b]);
                    if let Some(base) = self
                        .repo
                        .merge_base(a, b)
                        .map_err(|e| RepoError::Walk(boxed(e)))?
                    {
                        sel.exclude.push(base.detach());
                    }
                }
                Spec::IncludeOnlyParents(id) => {
                    let c = self.peel_to_commit(id, spec)?;
                    sel.include.extend(self.parents(c)?);
                }
                Spec::ExcludeParents(id) => {
                    let c = self.peel_to_commit(id, spec)?;
                    sel.single.push(c);
                    sel.exclude.extend(self.parents(c)?);
                }
            }
        }
        // With exclusions, single revisions become walk tips (`git log A ^B`).
        if !sel.exclude.is_empty() || !sel.include.is_empty() {
            let singles = std::mem::take(&mut sel.single);
            sel.include.extend(singles);
        }
        Ok(sel)
    }

    fn parents(&self, id: ObjectId) -> Result<Vec<ObjectId>, RepoError> {
        let c = self
            .repo
            .find_commit(id)
            .map_err(|e| RepoError::Object(id.to_string(), boxed(e)))?;
        Ok(c.parent_ids().map(|p| p.detach()).collect())
    }

    /// The commits a selection names, newest first for walks, in argument order for singles,
    /// handed out in batches of at most `batch` as the walk goes, so a long range is verified
    /// while it is still being walked and never held whole. `f` returns false to stop the walk.
    /// The first batches are smaller (64, doubling up to `batch`): the cores that verify a
    /// batch wait for the first one, while the walk reads every tip before it hands out a
    /// commit. Without a commit-graph the commits are read through `packs`, opened here when
    /// it is not yet: the caller reads any commit the walk did not hand over from the same
    /// packs, each delta chain inflated once for both.
    pub fn walk(
        &self,
        sel: &Selection,
        batch: usize,
        packs: &std::sync::OnceLock<crate::git::packs::Packs>,
        mut f: impl FnMut(Vec<ObjectId>) -> bool,
    ) -> Result<(), RepoError> {
        let batch = batch.max(1);
        let mut size = batch.min(FIRST_BATCH);
        let mut pending = sel.single.clone();
        if !sel.include.is_empty() {
            let mut repo = self.repo.clone();
            repo.object_cache_size_if_unset(WALK_CACHE_BYTES);
            // With a commit-graph the walk reads no commit (parents and dates come from the
            // graph), so there is nothing to hand over: a reader that needs the bytes reads
            // them, one that does not (a verdict kept as a fact) costs no inflating.
            let graph = repo.commit_graph_if_enabled().ok().flatten();
            let with_graph = graph.is_some();
            // Tips and parents answered from the graph (see `graph_commits`), where that is
            // exactly what git's walk would see: no replaced objects (no graph is given then),
            // no shallow boundary.
            let plain = repo.shallow_commits().ok().flatten().is_none();
            // Without a graph the commits are read from the packs, each delta chain inflated
            // once (`packs`), and the tips read ahead on every core (`read_ahead`).
            let none = crate::git::packs::Packs::none();
            let packs = match (&graph, plain) {
                (None, true) => packs.get_or_init(|| crate::git::packs::Packs::open(&repo)),
                _ => &none,
            };
            let tips = match (&graph, plain) {
                (None, true) => crate::git::read_ahead::read_tips(&repo, packs, &sel.include),
                _ => Default::default(),
            };
            let walk: Box<dyn Iterator<Item = Result<ObjectId, RepoError>>> = match (graph, plain) {
                (Some(graph), true) => {
                    // The walk's own copy of the graph (it takes one by value) for the parents
                    // it follows; without it (replaced since it was first opened) parents are
                    // read from their objects.
                    let parents = repo.commit_graph().ok();
                    let objects = crate::git::graph_commits::GraphCommits {
                        graph,
                        objects: &repo,
                    };
                    Box::new(date_walk(objects, parents, sel)?)
                }
                (None, true) => {
                    let objects = crate::git::read_ahead::TipsRead {
                        tips: &tips,
                        packs,
                        objects: &repo,
                    };
                    Box::new(date_walk(objects, None, sel)?)
                }
                _ => Box::new(
                    repo.rev_walk(sel.include.iter().copied())
                        .sorting(gix::revision::walk::Sorting::ByCommitTime(
                            Default::default(),
                        ))
                        .with_hidden(sel.exclude.iter().copied())
                        .all()
                        .map_err(|e| RepoError::Walk(boxed(e)))?
                        .map(|info| info.map(|i| i.id).map_err(|e| RepoError::Walk(boxed(e)))),
                ),
            };
            for id in walk {
                let id = id?;
                // The walk just read it (read ahead, or an object cache hit): kept for its
                // reader.
                if !with_graph {
                    // Shared with the tips and the packs' kept objects, not copied.
                    if let Some(bytes) = tips.get(&id) {
                        WALKED.keep(id, std::sync::Arc::clone(bytes));
                    } else if let Some((_, bytes)) = packs.find(&id) {
                        WALKED.keep(id, bytes);
                    } else if let Ok(obj) = repo.find_object(id) {
                        WALKED.keep(id, std::sync::Arc::new(obj.detach().data));
                    }
                }
                pending.push(id);
                if pending.len() >= size {
                    if !f(std::mem::take(&mut pending)) {
                        return Ok(());
                    }
                    size = (size * 2).min(batch);
                }
            }
        }
        if !pending.is_empty() {
            f(pending);
        }
        Ok(())
    }

    /// How many commits `sel` names, counted from the commit-graph alone (no object is read,
    /// a few milliseconds for 100,000 commits); `None` when the repository has no commit-graph
    /// or a commit of the range is not in it (commits made since `git gc`), so a progress line
    /// goes without a total rather than walking the range twice.
    pub fn count_with_commit_graph(&self, sel: &Selection) -> Option<usize> {
        let graph = self.repo.commit_graph_if_enabled().ok()??;
        let n = graph.num_commits() as usize;
        // Depth-first from `starts`, marking positions; `None` on a commit outside the graph.
        let mark = |starts: &[ObjectId], marks: &mut [bool], hidden: &[bool]| -> Option<usize> {
            let mut stack = Vec::new();
            for id in starts {
                stack.push(graph.lookup(id)?);
            }
            let mut count = 0;
            while let Some(pos) = stack.pop() {
                let i = pos.0 as usize;
                if i >= n || marks[i] || hidden.get(i).copied().unwrap_or(false) {
                    continue;
                }
                marks[i] = true;
                count += 1;
                for parent in graph.commit_at(pos).iter_parents() {
                    stack.push(parent.ok()?);
                }
            }
            Some(count)
        };
        let mut hidden = vec![false; n];
        mark(&sel.exclude, &mut hidden, &[])?;
        let mut seen = vec![false; n];
        let walked = mark(&sel.include, &mut seen, &hidden)?;
        Some(sel.single.len() + walked)
    }

    /// The exact bytes of an object as stored.
    pub fn raw(&self, id: ObjectId) -> Result<Vec<u8>, RepoError> {
        raw_object(&self.repo, id)
    }

    /// The repository `shared` refers to, for use on this thread.
    pub fn from_shared(shared: &gix::ThreadSafeRepository) -> Repo {
        Repo {
            repo: shared.to_thread_local(),
        }
    }

    /// A handle other threads can open the same repository from (`to_thread_local`).
    pub fn shared(&self) -> gix::ThreadSafeRepository {
        self.repo.clone().into_sync()
    }

    /// The branches and tags (`refs/heads/…`, `refs/tags/…`) that point at commit `id`,
    /// through any annotated tag, sorted.
    pub fn refs_at(&self, id: ObjectId) -> Result<Vec<String>, RepoError> {
        let refs = self
            .repo
            .references()
            .map_err(|e| RepoError::Walk(boxed(e)))?;
        let all = refs.all().map_err(|e| RepoError::Walk(boxed(e)))?;
        let mut out = Vec::new();
        for r in all.flatten() {
            let name = r.name().as_bstr().to_string();
            if !(name.starts_with("refs/heads/") || name.starts_with("refs/tags/")) {
                continue;
            }
            let mut r = r;
            let Ok(target) = r.peel_to_id() else {
                continue;
            };
            if self.peel_to_commit(target.detach(), &name).ok() == Some(id) {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    /// The URL of the remote `name` (`remote.<name>.url`), if configured.
    pub fn remote_url(&self, name: &str) -> Option<String> {
        self.repo
            .config_snapshot()
            .string(format!("remote.{name}.url").as_str())
            .map(|v| v.to_string())
    }

    /// An annotated tag object by name (`v1.0` or `refs/tags/v1.0`) or id.
    pub fn tag(&self, name: &str) -> Result<(ObjectId, Vec<u8>), RepoError> {
        let candidates = [format!("refs/tags/{name}"), name.to_owned()];
        for c in &candidates {
            if let Ok(r) = self.repo.find_reference(c.as_str()) {
                // The ref's own target: peeling would skip past the tag object to the commit.
                let target = r.target().try_id().map(|i| i.to_owned());
                if let Some(id) = target {
                    return self.tag_object(id, name);
                }
            }
        }
        let id = self
            .repo
            .rev_parse_single(name)
            .map_err(|e| RepoError::Revision(name.to_owned(), boxed(e)))?
            .detach();
        self.tag_object(id, name)
    }

    fn tag_object(&self, id: ObjectId, name: &str) -> Result<(ObjectId, Vec<u8>), RepoError> {
        let obj = self
            .repo
            .find_object(id)
            .map_err(|e| RepoError::Object(id.to_string(), boxed(e)))?;
        if obj.kind != gix::object::Kind::Tag {
            return Err(RepoError::NotATag(name.to_owned()));
        }
        Ok((id, obj.data.clone()))
    }
}
