//! The repository git would use, found as git's `setup.c` finds it: `GIT_DIR`, else upwards
//! from the current directory with `GIT_CEILING_DIRECTORIES` and
//! `GIT_DISCOVERY_ACROSS_FILESYSTEM`, refusing what git refuses (ownership without
//! `safe.directory`, implicit bare repositories with `safe.bareRepository=explicit`, unknown
//! repository formats).

use std::path::{Path, PathBuf};

use gix::bstr::{BStr, BString, ByteSlice};

use super::include::{Reader, Scopes};
use super::locate::Context;
use super::syntax::{parse_bool, parse_file, parse_int};
use super::{Entry, GitConfigError};

/// The repository git uses: where its configuration and its objects are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The git directory: `.git`, or `.git/worktrees/<name>` in a linked worktree.
    pub git_dir: PathBuf,
    /// Where `config` and the objects live: the main git directory.
    pub common_dir: PathBuf,
    /// The work tree: `GIT_WORK_TREE`, else the directory holding `.git` (none when bare).
    pub work_tree: Option<PathBuf>,
    /// `extensions.worktreeConfig`.
    pub(super) worktree_config: bool,
}

/// Find the repository as git's `setup_git_directory_gently` does: `GIT_DIR`, else upwards
/// from the current directory (`GIT_CEILING_DIRECTORIES`, `GIT_DISCOVERY_ACROSS_FILESYSTEM`),
/// refusing what git refuses — a repository of another owner not listed in
/// `safe.directory`, an implicit bare repository with `safe.bareRepository=explicit`, an
/// unsupported repository format — by reading no repository configuration.
pub(super) fn discover(ctx: &Context<'_>) -> Result<Option<Location>, GitConfigError> {
    let work_tree_env = ctx
        .var("GIT_WORK_TREE")
        .map(|w| ctx.absolute(Path::new(&w)));
    let (git_dir, work_tree) = if let Some(dir) = ctx.var("GIT_DIR") {
        let dir = ctx.absolute(Path::new(&dir));
        // A `.git` file names the directory.
        let dir = if dir.is_file() {
            match gix::discover::path::from_gitdir_file(&dir) {
                Ok(d) => d,
                Err(_) => return Ok(None),
            }
        } else {
            dir
        };
        if gix::discover::is_git(&dir).is_err() {
            return Ok(None);
        }
        (dir, work_tree_env)
    } else {
        let ceiling_dirs = ctx
            .var("GIT_CEILING_DIRECTORIES")
            .map(|v| ceiling_dirs(ctx, &v))
            .unwrap_or_default();
        // Git never enters a ceiling directory, gix probes it too: reject what is found there.
        let ceiling = ceiling_dirs
            .iter()
            .filter(|c| ctx.env.cwd.starts_with(c) && ctx.env.cwd != c.as_path())
            .max_by_key(|c| c.as_os_str().len())
            .cloned();
        let options = gix::discover::upwards::Options {
            ceiling_dirs,
            match_ceiling_dir_or_error: false,
            cross_fs: ctx.env_bool("GIT_DISCOVERY_ACROSS_FILESYSTEM")?,
            current_dir: Some(ctx.env.cwd),
            ..Default::default()
        };
        let Ok((path, trust)) = gix::discover::upwards_opts(ctx.env.cwd, options) else {
            return Ok(None);
        };
        let bare = matches!(path, gix::discover::repository::Path::Repository(_));
        let (git_dir, work_dir) = path.into_repository_and_work_tree_directories();
        let probed = work_dir.as_deref().unwrap_or(&git_dir);
        if ceiling.is_some_and(|c| c.starts_with(probed)) {
            return Ok(None);
        }
        let refused_if_explicit = bare && !is_implicit_bare_repo(&git_dir);
        if trust != gix::sec::Trust::Full || refused_if_explicit {
            let protected = protected_config(ctx)?;
            if refused_if_explicit && bare_repository_is_explicit(&protected) {
                return Ok(None);
            }
            let checked = work_dir.as_deref().unwrap_or(&git_dir);
            if trust != gix::sec::Trust::Full && !safe_directory(ctx, &protected, checked) {
                return Ok(None);
            }
        }
        (git_dir, work_tree_env.or(work_dir))
    };
    let common_dir = match ctx.var("GIT_COMMON_DIR") {
        Some(d) => ctx.absolute(Path::new(&d)),
        None => match gix::discover::path::from_plain_file(&git_dir.join("commondir")) {
            Some(Ok(d)) => git_dir.join(d),
            _ => git_dir.clone(),
        },
    };
    let config = common_dir.join("config");
    let mut version = 0i64;
    let mut worktree_config = false;
    let mut unknown = false;
    let mut v1_only = false;
    match std::fs::read(&config) {
        Ok(bytes) => {
            let entries = parse_file(&bytes).map_err(|line| GitConfigError::Syntax {
                path: config.clone(),
                line,
            })?;
            for (key, value) in entries {
                match key.as_slice() {
                    b"core.repositoryformatversion" => {
                        version = value
                            .as_deref()
                            .and_then(|v| parse_int(v))
                            .ok_or_else(|| bad_value(&config, key.as_bstr(), value.as_ref()))?;
                    }
                    b"extensions.worktreeconfig" => {
                        worktree_config = parse_bool(value.as_deref().map(|v| v.as_bytes()))
                            .ok_or_else(|| bad_value(&config, key.as_bstr(), value.as_ref()))?;
                    }
                    b"extensions.noop"
                    | b"extensions.preciousobjects"
                    | b"extensions.partialclone" => {}
                    b"extensions.noop-v1"
                    | b"extensions.objectformat"
                    | b"extensions.compatobjectformat"
                    | b"extensions.refstorage" => v1_only = true,
                    k if k.starts_with(b"extensions.") => unknown = true,
                    _ => {}
                }
            }
        }
        // A missing config is fine (git init's history); see `check_repository_format_gently`.
        Err(_) => return Ok(Some(Location::new(git_dir, common_dir, work_tree, false))),
    }
    // Git warns and carries on outside any repository.
    if version > 1 || (version == 1 && unknown) || (version == 0 && v1_only) {
        return Ok(None);
    }
    Ok(Some(Location::new(
        git_dir,
        common_dir,
        work_tree,
        worktree_config,
    )))
}

fn bad_value(path: &Path, key: &BStr, value: Option<&BString>) -> GitConfigError {
    GitConfigError::BadValue {
        path: path.to_owned(),
        key: key.to_str_lossy().into_owned(),
        value: value
            .map(|v| v.to_str_lossy().into_owned())
            .unwrap_or_default(),
    }
}

impl Location {
    fn new(
        git_dir: PathBuf,
        common_dir: PathBuf,
        work_tree: Option<PathBuf>,
        worktree_config: bool,
    ) -> Location {
        Location {
            git_dir,
            common_dir,
            work_tree,
            worktree_config,
        }
    }

    /// The branch `HEAD` names (`refs/heads/` stripped), following symbolic refs.
    pub(super) fn branch(&self) -> Option<BString> {
        let mut name = BString::from("HEAD");
        for _ in 0..5 {
            let dir = if name == "HEAD" {
                &self.git_dir
            } else {
                &self.common_dir
            };
            let file = dir.join(gix::path::from_bstr(name.as_bstr()).ok()?);
            let content = match std::fs::read(file) {
                Ok(c) => c,
                Err(_) if name != "HEAD" => break, // an unborn branch
                Err(_) => return None,
            };
            match content.trim_end().strip_prefix(b"ref:") {
                Some(target) => name = target.trim().into(),
                None if name == "HEAD" => return None, // detached
                None => break,
            }
        }
        name.strip_prefix(b"refs/heads/").map(BString::from)
    }
}

/// Git's `is_implicit_bare_repo`: a bare-looking directory that is the git directory of a
/// worktree (`.git`, `.git/worktrees/<name>`, `.git/modules/<name>`), which
/// `safe.bareRepository=explicit` still allows.
fn is_implicit_bare_repo(git_dir: &Path) -> bool {
    let s = git_dir.to_string_lossy();
    git_dir.file_name().is_some_and(|n| n == ".git")
        || s.contains("/.git/worktrees/")
        || s.contains("/.git/modules/")
}

fn ceiling_dirs(ctx: &Context<'_>, value: &std::ffi::OsStr) -> Vec<PathBuf> {
    // As git: absolute entries only; resolved until an empty entry.
    let mut resolve = true;
    let mut out = Vec::new();
    for dir in std::env::split_paths(value) {
        if dir.as_os_str().is_empty() {
            resolve = false;
        } else if dir.is_absolute() {
            out.push(if resolve {
                gix::path::realpath_opts(&dir, ctx.env.cwd, gix::path::realpath::MAX_SYMLINKS)
                    .unwrap_or(dir)
            } else {
                dir
            });
        }
    }
    out
}

/// System, global and command-line values: the only ones git trusts for `safe.*`.
fn protected_config(ctx: &Context<'_>) -> Result<Vec<Entry>, GitConfigError> {
    let mut out = Vec::new();
    Reader::new(ctx, None).sequence(Scopes::Protected, &mut out)?;
    Ok(out)
}

fn bare_repository_is_explicit(protected: &[Entry]) -> bool {
    protected
        .iter()
        .rev()
        .find(|e| e.key == "safe.barerepository")
        .and_then(|e| e.value.as_ref())
        .is_some_and(|v| v == "explicit")
}

/// Git's `safe.directory` check for a repository owned by someone else: `*`, an exact
/// path, or `path/*`; an empty value forgets the earlier ones.
fn safe_directory(ctx: &Context<'_>, protected: &[Entry], dir: &Path) -> bool {
    let real = |p: &Path| {
        gix::path::realpath_opts(p, ctx.env.cwd, gix::path::realpath::MAX_SYMLINKS)
            .unwrap_or_else(|_| p.to_owned())
    };
    let dir = real(dir);
    let mut safe = false;
    for e in protected.iter().filter(|e| e.key == "safe.directory") {
        let value = e.value.as_ref().map(|v| v.as_bstr()).unwrap_or_default();
        if value.is_empty() {
            safe = false;
        } else if value == "*" {
            safe = true;
        } else if let Some(allowed) = ctx.interpolate(value, false) {
            let allowed_bytes = gix::path::into_bstr(allowed.as_path()).unwrap_or_default();
            if let Some(prefix) = allowed_bytes.strip_suffix(b"*") {
                if prefix.ends_with(b"/") {
                    let prefix = real(Path::new(&prefix.to_os_str_lossy().into_owned()));
                    safe |= dir.starts_with(prefix);
                    continue;
                }
            }
            safe |= real(&allowed) == dir;
        }
    }
    safe
}
