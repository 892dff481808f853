//! Git's configuration as `git config --list` reads it, without spawning git (issue #7).
//!
//! Go gitsign runs `git config --get-regexp '^gitsign\.'` on every start; reading the files
//! here saves that process. The result must be the same list in the same order, so this
//! follows git's `config.c` and `setup.c` (2.47) step by step, and `tests/it/gitconfig.rs`
//! compares it with real git:
//!
//! 1. system: `GIT_CONFIG_SYSTEM`, else the `etc/gitconfig` of git's install prefix
//!    (`/etc/gitconfig` for prefix `/usr`); none with `GIT_CONFIG_NOSYSTEM`.
//! 2. global: `GIT_CONFIG_GLOBAL`, else `$XDG_CONFIG_HOME/git/config` (or
//!    `~/.config/git/config`) and then `~/.gitconfig`.
//! 3. local: `config` of the repository found from the current directory, or from `GIT_DIR`.
//! 4. worktree: `config.worktree` of the git directory, with `extensions.worktreeConfig`.
//! 5. command line: the `GIT_CONFIG_COUNT` pairs, then `GIT_CONFIG_PARAMETERS` (`git -c`,
//!    which git passes to the programs it runs, such as the signer).
//!
//! `include.path` and `includeIf.<condition>.path` (`gitdir:`, `gitdir/i:`, `onbranch:`,
//! `hasconfig:remote.*.url:`) are read in place, at most 10 deep. `GIT_CONFIG`, which only
//! `git config` honours, replaces all of that with one file and no includes.
//!
//! gix-config parses each file. The rest is ours because gix differs from git here: it adds
//! included values after the whole including section rather than in place, matches
//! `hasconfig:` against the including file only rather than all of the configuration,
//! treats a `:(optional)` prefix of include paths specially (git 2.47 does not), does not
//! read `GIT_CONFIG_PARAMETERS`, and runs `git` to find the installation config.
//!
//! Known gaps: the system file's location is compiled into git; we derive it from the
//! install prefix of the git that would run (`GIT_EXEC_PATH`, which git exports to what it
//! runs, else `git` on `PATH`), which is right for distribution and source builds but not for
//! builds configured with another `sysconfdir` (Homebrew, Apple's git). `onbranch:` reads
//! loose `HEAD` only, so it never matches in a reftable repository. The repository format
//! check knows the extensions of git 2.47.
//!
//! Layout: `syntax.rs` parses one file, keys, `GIT_CONFIG_PARAMETERS` and values;
//! `locate.rs` finds the system and global files and expands paths; `discover.rs` finds the
//! repository as git does; `include.rs` reads the scopes in order and follows includes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use gix::bstr::{BString, ByteSlice};

mod discover;
mod include;
mod locate;
mod syntax;

pub use discover::Location;
pub use locate::{install_prefix, system_config_for_prefix};
pub use syntax::{canonical_key, parse_bool, parse_file, parse_parameters};

use include::{Access, Reader, Scopes};
use locate::Context;

/// One configuration value, in git's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `section.name` or `section.subsection.name`, the section and name lowercased as git
    /// prints them; the subsection keeps its case.
    pub key: BString,
    /// `None` for a key without `=` (`[gitsign] flag`), which git reads as true.
    pub value: Option<BString>,
}

/// Why git would refuse to read its configuration (and so do we).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitConfigError {
    #[error("bad config line {line} in file {}", path.display())]
    Syntax { path: PathBuf, line: usize },
    #[error("unable to read config file '{}': {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("invalid {var}: {reason}")]
    Environment { var: String, reason: String },
    #[error("{reason} (in {origin})")]
    Include { origin: String, reason: String },
    #[error("bad config value '{value}' for '{key}' in file {}", path.display())]
    BadValue {
        path: PathBuf,
        key: String,
        value: String,
    },
}

/// The environment git's configuration depends on: the current directory and variables.
pub struct Environment<'a> {
    /// An absolute path.
    pub cwd: &'a Path,
    pub var: &'a dyn Fn(&str) -> Option<OsString>,
}

/// Every configuration value `git config --list` would print, in its order.
pub fn read(env: &Environment<'_>) -> Result<Vec<Entry>, GitConfigError> {
    // `GIT_CONFIG` replaces every file: no repository is needed to read it.
    let repo = match (env.var)("GIT_CONFIG") {
        Some(_) => None,
        None => locate(env)?,
    };
    read_in(env, repo.as_ref())
}

/// Like [`read`], for a repository already located with [`locate`] (so one process finds its
/// repository once, for its configuration and its objects alike).
pub fn read_in(
    env: &Environment<'_>,
    repo: Option<&Location>,
) -> Result<Vec<Entry>, GitConfigError> {
    let ctx = Context::new(env);
    let mut out = Vec::new();
    if let Some(file) = ctx.var("GIT_CONFIG") {
        // `git config` treats it as `--file`: that file only, no includes, no `-c`.
        let path = ctx.absolute(&PathBuf::from(file));
        let mut reader = Reader::new(&ctx, None);
        reader.includes = false;
        reader.file(&path, Access::Required, &mut out)?;
        return Ok(out);
    }
    Reader::new(&ctx, repo).sequence(Scopes::All, &mut out)?;
    Ok(out)
}

/// The repository git would use from `env`'s directory and variables (`GIT_DIR`,
/// `GIT_WORK_TREE`, `GIT_COMMON_DIR`, `GIT_CEILING_DIRECTORIES`, ownership and format
/// checks), `None` where git would find none.
pub fn locate(env: &Environment<'_>) -> Result<Option<Location>, GitConfigError> {
    discover::discover(&Context::new(env))
}

/// The `gitsign.*` values as `git config --get-regexp '^gitsign\.'` lists them, a key
/// without value being `true`.
pub fn gitsign_pairs(entries: &[Entry]) -> Vec<(String, String)> {
    pairs(entries, |key| key.starts_with(b"gitsign."))
}

/// Every value the settings table reads: [`gitsign_pairs`] and git's own
/// `gpg.ssh.allowedSignersFile` and `gpg.ssh.revocationFile`, in git's order.
pub fn setting_pairs(entries: &[Entry]) -> Vec<(String, String)> {
    pairs(entries, |key| {
        key.starts_with(b"gitsign.")
            || key == "gpg.ssh.allowedsignersfile"
            || key == "gpg.ssh.revocationfile"
    })
}

fn pairs(entries: &[Entry], wanted: impl Fn(&BString) -> bool) -> Vec<(String, String)> {
    entries
        .iter()
        .filter(|e| wanted(&e.key))
        .map(|e| {
            let value = e
                .value
                .as_ref()
                .map_or_else(|| "true".to_owned(), |v| v.to_str_lossy().into_owned());
            (e.key.to_str_lossy().into_owned(), value)
        })
        .collect()
}
