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

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use gix::bstr::{BStr, BString, ByteSlice, ByteVec};

/// At most this many nested includes, as git's `MAX_INCLUDE_DEPTH`.
const MAX_INCLUDE_DEPTH: usize = 10;

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
    discover(&Context::new(env))
}

/// The `gitsign.*` values as `git config --get-regexp '^gitsign\.'` lists them, a key
/// without value being `true`.
pub fn gitsign_pairs(entries: &[Entry]) -> Vec<(String, String)> {
    entries
        .iter()
        .filter(|e| e.key.starts_with(b"gitsign."))
        .map(|e| {
            let value = e
                .value
                .as_ref()
                .map_or_else(|| "true".to_owned(), |v| v.to_str_lossy().into_owned());
            (e.key.to_str_lossy().into_owned(), value)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Pure parts: one file's entries, keys, `GIT_CONFIG_PARAMETERS`, booleans, the install prefix.

/// The entries of one file, without following includes. `Err` carries git's line number.
pub fn parse_file(bytes: &[u8]) -> Result<Vec<(BString, Option<BString>)>, usize> {
    use gix::config::parse::{EventRef, Events};
    let events = Events::from_bytes(bytes, None).map_err(|e| e.line_number())?;
    let mut out = Vec::new();
    let mut line = 1;
    let mut prefix = BString::default();
    let mut name: Option<&BStr> = None;
    let mut has_value = false;
    let mut continued = BString::default();
    // The line of a key without `=`, which must end there (git's `get_value`); gix also
    // accepts `key junk` and `key # comment`.
    let mut bare_key: Option<usize> = None;
    let all = events
        .frontmatter()
        .chain(events.sections().flat_map(|s| s.iter()));
    for event in all {
        if let Some(at) = bare_key.take() {
            match event {
                EventRef::Newline(_) => {}
                EventRef::Whitespace(_) => bare_key = Some(at),
                _ => return Err(at),
            }
        }
        let raw = match event {
            EventRef::Newline(n) => {
                line += n.find_iter(b"\n").count();
                continue;
            }
            EventRef::SectionHeader {
                name: section,
                separator,
                subsection_name,
            } => {
                prefix = section.to_ascii_lowercase().into();
                if let Some(sub) = subsection_name {
                    prefix.push(b'.');
                    // `[section.Sub]` (deprecated) is lowercased whole; `[section "Sub"]` keeps case.
                    if separator.is_some_and(|s| s == ".") {
                        prefix.push_str(sub.to_ascii_lowercase());
                    } else {
                        prefix.push_str(sub);
                    }
                }
                prefix.push(b'.');
                continue;
            }
            EventRef::SectionValueName(n) => {
                name = Some(n);
                has_value = false;
                continued.clear();
                continue;
            }
            EventRef::KeyValueSeparator => {
                has_value = true;
                continue;
            }
            EventRef::ValueNotDone(v) => {
                continued.push_str(v);
                continue;
            }
            EventRef::ValueDone(v) => {
                continued.push_str(v);
                std::mem::take(&mut continued)
            }
            EventRef::Value(v) => v.to_owned(),
            _ => continue,
        };
        if let Some(n) = name.take() {
            let mut key = prefix.clone();
            key.push_str(n.to_ascii_lowercase());
            // Quotes and escapes resolved as git's `parse_value` does.
            let value = has_value.then(|| gix::config::value::normalize(&raw).into_owned());
            if value.is_none() {
                bare_key = Some(line);
            }
            out.push((key, value));
        }
    }
    Ok(out)
}

/// Git's `git_config_parse_key`: check a `section[.subsection].name` key given on the
/// command line or in `GIT_CONFIG_KEY_<n>` and lowercase its section and name.
pub fn canonical_key(key: &[u8]) -> Result<BString, String> {
    let shown = key.to_str_lossy();
    if key.is_empty() {
        return Err("empty config key".into());
    }
    let Some(last_dot) = key.rfind_byte(b'.').filter(|&i| i > 0) else {
        return Err(format!("key does not contain a section: {shown}"));
    };
    if last_dot + 1 == key.len() {
        return Err(format!("key does not contain variable name: {shown}"));
    }
    let first_dot = key.find_byte(b'.').unwrap_or(last_dot);
    let is_key_char = |c: u8| c.is_ascii_alphanumeric() || c == b'-';
    let mut out = BString::from(Vec::with_capacity(key.len()));
    for (i, &c) in key.iter().enumerate() {
        if i < first_dot || i > last_dot {
            if !is_key_char(c) || (i == last_dot + 1 && !c.is_ascii_alphabetic()) {
                return Err(format!("invalid key: {shown}"));
            }
            out.push(c.to_ascii_lowercase());
        } else if c == b'\n' {
            return Err(format!("invalid key (newline): {shown}"));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Split `GIT_CONFIG_PARAMETERS` into (key, value) as git's `parse_config_env_list` does.
///
/// git writes `'key'='value'` (value `None` for `'key'=`, from `git -c key`), separated by
/// spaces, each part single-quoted with `'\''` for `'` and `'\!'` for `!`. Older gits wrote
/// `'key=value'`, split at the first `=`, which is still read. Keys are checked and
/// lowercased like [`canonical_key`].
pub fn parse_parameters(env: &[u8]) -> Result<Vec<(BString, Option<BString>)>, String> {
    const BOGUS: &str = "bogus format";
    let mut out = Vec::new();
    let mut rest = env;
    while !rest.is_empty() {
        let (key, after) = sq_dequote_step(rest).ok_or(BOGUS)?;
        match after {
            Some([b'=', value @ ..]) => {
                // New style: 'key'='value' or 'key'= (implicit true).
                let (value, after) = match value {
                    [b'\'', ..] => {
                        let (v, after) = sq_dequote_step(value).ok_or(BOGUS)?;
                        if after.is_some_and(|a| !a.first().is_some_and(u8::is_ascii_whitespace)) {
                            return Err(BOGUS.into());
                        }
                        (Some(v), after)
                    }
                    [] => (None, None),
                    [c, ..] if c.is_ascii_whitespace() => (None, Some(value)),
                    _ => return Err(BOGUS.into()),
                };
                out.push((canonical_key(&key)?, value));
                rest = after.unwrap_or_default();
            }
            Some([c, ..]) if !c.is_ascii_whitespace() => return Err(BOGUS.into()),
            after => {
                // Old style: 'key=value', the key trimmed, no '=' meaning implicit true.
                let (k, v) = match key.find_byte(b'=') {
                    Some(i) => (&key[..i], Some(BString::from(&key[i + 1..]))),
                    None => (&key[..], None),
                };
                let k = k.trim();
                if k.is_empty() {
                    return Err(format!("bogus config parameter: {}", key.to_str_lossy()));
                }
                out.push((canonical_key(k)?, v));
                rest = after.unwrap_or_default();
            }
        }
        rest = rest.trim_start();
    }
    Ok(out)
}

/// Git's `sq_dequote_step`: one single-quoted word at the start of `s`, and what follows it
/// (`None` at the end of the string). Outside quotes only `\'` and `\!` are allowed, and only
/// when the quoted part resumes right after.
fn sq_dequote_step(s: &[u8]) -> Option<(BString, Option<&[u8]>)> {
    let mut rest = s.strip_prefix(b"'")?;
    let mut out = BString::default();
    loop {
        let end = rest.find_byte(b'\'')?;
        out.push_str(&rest[..end]);
        rest = &rest[end + 1..];
        match rest {
            [] => return Some((out, None)),
            [b'\\', c @ (b'\'' | b'!'), b'\'', tail @ ..] => {
                out.push(*c);
                rest = tail;
            }
            _ => return Some((out, Some(rest))),
        }
    }
}

/// Git's boolean spellings (`git_parse_maybe_bool`): `None` if `value` is none of them.
/// A key without value is true, an empty value false.
pub fn parse_bool(value: Option<&[u8]>) -> Option<bool> {
    let Some(v) = value else { return Some(true) };
    match v.to_ascii_lowercase().as_slice() {
        b"" | b"false" | b"no" | b"off" => Some(false),
        b"true" | b"yes" | b"on" => Some(true),
        _ => parse_int(v).map(|n| n != 0),
    }
}

/// Git's `git_parse_int`: C `strtoimax` in base 0 (decimal, `0x` hex, `0` octal) with an
/// optional `k`/`m`/`g` unit, within an `int`.
fn parse_int(v: &[u8]) -> Option<i64> {
    let s = v.trim_start();
    let (negative, s) = match s {
        [b'-', r @ ..] => (true, r),
        [b'+', r @ ..] => (false, r),
        _ => (false, s),
    };
    let (radix, digits) = match s {
        [b'0', b'x' | b'X', r @ ..] if r.first().is_some_and(u8::is_ascii_hexdigit) => (16, r),
        [b'0', r @ ..] if !r.is_empty() => (8, r),
        _ => (10, s),
    };
    let len = digits
        .iter()
        .take_while(|c| (**c as char).is_digit(radix))
        .count();
    if len == 0 && radix == 10 {
        return None;
    }
    let number = if len == 0 {
        0 // "0" followed by a unit, or octal "0"
    } else {
        i64::from_str_radix(std::str::from_utf8(&digits[..len]).ok()?, radix).ok()?
    };
    let factor: i64 = match digits[len..].to_ascii_lowercase().as_slice() {
        b"" => 1,
        b"k" => 1 << 10,
        b"m" => 1 << 20,
        b"g" => 1 << 30,
        _ => return None,
    };
    let n = number.checked_mul(factor)?;
    let n = if negative { -n } else { n };
    i32::try_from(n).ok().map(i64::from)
}

/// The install prefix of a git whose program lives in `dir`: `<prefix>/bin`, or its exec
/// path `<prefix>/libexec/git-core` (`lib/git-core` on Debian).
pub fn install_prefix(dir: &Path) -> Option<PathBuf> {
    let (parent, name) = (dir.parent()?, dir.file_name()?);
    if name == "bin" {
        return Some(parent.to_owned());
    }
    let grandparent = parent.parent()?;
    (name == "git-core" && matches!(parent.file_name()?.to_str()?, "libexec" | "lib"))
        .then(|| grandparent.to_owned())
}

/// Git's `ETC_GITCONFIG` for an install prefix: `/etc/gitconfig` for `/usr` (and `/`),
/// `<prefix>/etc/gitconfig` otherwise, as git's Makefile sets `sysconfdir`.
pub fn system_config_for_prefix(prefix: &Path) -> PathBuf {
    if prefix == Path::new("/usr") {
        PathBuf::from("/etc/gitconfig")
    } else {
        prefix.join("etc/gitconfig")
    }
}

// ---------------------------------------------------------------------------------------------
// The environment and the repository.

struct Context<'a> {
    env: &'a Environment<'a>,
    /// Git's install prefix, for the system file and `%(prefix)/` paths.
    prefix: PathBuf,
}

impl<'a> Context<'a> {
    fn new(env: &'a Environment<'a>) -> Context<'a> {
        let prefix = Self::find_prefix(env).unwrap_or_else(|| PathBuf::from("/usr"));
        Context { env, prefix }
    }

    fn find_prefix(env: &Environment<'_>) -> Option<PathBuf> {
        if let Some(exec) = (env.var)("GIT_EXEC_PATH") {
            return install_prefix(Path::new(&exec));
        }
        let path = (env.var)("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| env.cwd.join(dir))
            .find(|dir| is_executable(&dir.join(if cfg!(windows) { "git.exe" } else { "git" })))
            .and_then(|dir| install_prefix(&dir))
    }

    fn var(&self, name: &str) -> Option<OsString> {
        (self.env.var)(name)
    }

    fn var_bytes(&self, name: &str) -> Option<BString> {
        self.var(name)
            .map(|v| BString::from(Vec::from_os_string(v).unwrap_or_default()))
    }

    /// A git boolean from the environment (`git_env_bool`).
    fn env_bool(&self, name: &str) -> Result<bool, GitConfigError> {
        match self.var_bytes(name) {
            None => Ok(false),
            Some(v) => parse_bool(Some(&v)).ok_or_else(|| GitConfigError::Environment {
                var: name.to_owned(),
                reason: format!("bad boolean value '{v}'"),
            }),
        }
    }

    fn absolute(&self, path: &Path) -> PathBuf {
        self.env.cwd.join(path)
    }

    fn home(&self) -> Option<PathBuf> {
        self.var("HOME").map(PathBuf::from)
    }

    fn system_config(&self) -> Result<Option<PathBuf>, GitConfigError> {
        if self.env_bool("GIT_CONFIG_NOSYSTEM")? {
            return Ok(None);
        }
        Ok(Some(match self.var("GIT_CONFIG_SYSTEM") {
            Some(p) => self.absolute(Path::new(&p)),
            None => system_config_for_prefix(&self.prefix),
        }))
    }

    fn global_configs(&self) -> Vec<PathBuf> {
        if let Some(p) = self.var("GIT_CONFIG_GLOBAL") {
            return vec![self.absolute(Path::new(&p))];
        }
        let xdg = match self.var("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
            Some(x) => Some(PathBuf::from(x).join("git/config")),
            None => self.home().map(|h| h.join(".config/git/config")),
        };
        let user = self.home().map(|h| h.join(".gitconfig"));
        xdg.into_iter()
            .chain(user)
            .map(|p| self.absolute(&p))
            .collect()
    }

    /// Git's `interpolate_path`: `~/`, `~user/` and `%(prefix)/`; `None` if the home
    /// directory is unknown. `real_home` resolves symlinks in `$HOME` (for `gitdir:`).
    fn interpolate(&self, path: &BStr, real_home: bool) -> Option<PathBuf> {
        if let Some(rest) = path.strip_prefix(b"%(prefix)/") {
            return Some(self.prefix.join(gix::path::from_byte_slice(rest).ok()?));
        }
        let Some(after_tilde) = path.strip_prefix(b"~") else {
            return Some(gix::path::from_byte_slice(path).ok()?.to_owned());
        };
        let slash = after_tilde.find_byte(b'/').unwrap_or(after_tilde.len());
        let (user, rest) = after_tilde.split_at(slash);
        let home = if user.is_empty() {
            let home = self.home()?;
            if real_home {
                gix::path::realpath_opts(&home, self.env.cwd, gix::path::realpath::MAX_SYMLINKS)
                    .unwrap_or(home)
            } else {
                home
            }
        } else {
            gix::config::path::interpolate::home_for_user(user.to_str().ok()?)?
        };
        let mut joined = gix::path::into_bstr(home.as_path()).ok()?.into_owned();
        joined.push_str(rest);
        gix::path::from_bstring(joined).ok()
    }
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

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
    worktree_config: bool,
}

/// Find the repository as git's `setup_git_directory_gently` does: `GIT_DIR`, else upwards
/// from the current directory (`GIT_CEILING_DIRECTORIES`, `GIT_DISCOVERY_ACROSS_FILESYSTEM`),
/// refusing what git refuses — a repository of another owner not listed in
/// `safe.directory`, an implicit bare repository with `safe.bareRepository=explicit`, an
/// unsupported repository format — by reading no repository configuration.
fn discover(ctx: &Context<'_>) -> Result<Option<Location>, GitConfigError> {
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
    fn branch(&self) -> Option<BString> {
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

// ---------------------------------------------------------------------------------------------
// Reading: files, includes, the command line.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scopes {
    All,
    /// System, global and command line.
    Protected,
}

/// What a file that cannot be read means (git's `access_or_die` flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// System and global files: missing or not permitted is skipped.
    PermissionOptional,
    /// Repository files and includes: missing is skipped, not permitted is an error.
    Optional,
    /// `GIT_CONFIG`: must be read.
    Required,
}

#[derive(Clone, Copy)]
enum Origin<'p> {
    File(&'p Path),
    CommandLine,
}

impl Origin<'_> {
    fn describe(&self) -> String {
        match self {
            Origin::File(p) => p.display().to_string(),
            Origin::CommandLine => "the command line".to_owned(),
        }
    }
}

struct Reader<'c> {
    ctx: &'c Context<'c>,
    repo: Option<&'c Location>,
    includes: bool,
    depth: usize,
    /// The pass that collects `remote.*.url` for `hasconfig:`: every such condition holds,
    /// and what it includes must not set remote URLs (git's `unconditional_remote_url`).
    collecting_remote_urls: bool,
    forbid_remote_urls: bool,
    remote_urls: Option<Vec<BString>>,
}

impl<'c> Reader<'c> {
    fn new(ctx: &'c Context<'c>, repo: Option<&'c Location>) -> Reader<'c> {
        Reader {
            ctx,
            repo,
            includes: true,
            depth: 0,
            collecting_remote_urls: false,
            forbid_remote_urls: false,
            remote_urls: None,
        }
    }

    /// Git's `do_git_config_sequence`.
    fn sequence(&mut self, scopes: Scopes, out: &mut Vec<Entry>) -> Result<(), GitConfigError> {
        if let Some(system) = self.ctx.system_config()? {
            self.file(&system, Access::PermissionOptional, out)?;
        }
        for global in self.ctx.global_configs() {
            self.file(&global, Access::PermissionOptional, out)?;
        }
        if let (Scopes::All, Some(repo)) = (scopes, self.repo) {
            self.file(&repo.common_dir.join("config"), Access::Optional, out)?;
            if repo.worktree_config {
                self.file(&repo.git_dir.join("config.worktree"), Access::Optional, out)?;
            }
        }
        self.command_line(out)
    }

    fn file(
        &mut self,
        path: &Path,
        access: Access,
        out: &mut Vec<Entry>,
    ) -> Result<(), GitConfigError> {
        use std::io::ErrorKind;
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e)
                if access != Access::Required
                    && matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) =>
            {
                return Ok(())
            }
            Err(e)
                if access == Access::PermissionOptional
                    && e.kind() == ErrorKind::PermissionDenied =>
            {
                return Ok(())
            }
            Err(e) => {
                return Err(GitConfigError::Unreadable {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })
            }
        };
        let entries = parse_file(&bytes).map_err(|line| GitConfigError::Syntax {
            path: path.to_owned(),
            line,
        })?;
        for (key, value) in entries {
            self.entry(key, value, Origin::File(path), out)?;
        }
        Ok(())
    }

    /// Git's `git_config_from_parameters`: `GIT_CONFIG_COUNT` pairs, then `GIT_CONFIG_PARAMETERS`.
    fn command_line(&mut self, out: &mut Vec<Entry>) -> Result<(), GitConfigError> {
        let env_error = |var: &str, reason: String| GitConfigError::Environment {
            var: var.to_owned(),
            reason,
        };
        if let Some(count) = self.ctx.var_bytes("GIT_CONFIG_COUNT") {
            let n = parse_count(&count).map_err(|r| env_error("GIT_CONFIG_COUNT", r))?;
            for i in 0..n {
                let (key_var, value_var) = (
                    format!("GIT_CONFIG_KEY_{i}"),
                    format!("GIT_CONFIG_VALUE_{i}"),
                );
                let key = self.ctx.var_bytes(&key_var).ok_or_else(|| {
                    env_error(&key_var, "missing (GIT_CONFIG_COUNT counts it)".into())
                })?;
                let value = self.ctx.var_bytes(&value_var).ok_or_else(|| {
                    env_error(&value_var, "missing (GIT_CONFIG_COUNT counts it)".into())
                })?;
                let key = canonical_key(&key).map_err(|r| env_error(&key_var, r))?;
                self.entry(key, Some(value), Origin::CommandLine, out)?;
            }
        }
        if let Some(params) = self.ctx.var_bytes("GIT_CONFIG_PARAMETERS") {
            let pairs =
                parse_parameters(&params).map_err(|r| env_error("GIT_CONFIG_PARAMETERS", r))?;
            for (key, value) in pairs {
                self.entry(key, value, Origin::CommandLine, out)?;
            }
        }
        Ok(())
    }

    /// Git's `git_config_include`: pass the value on, then follow it if it includes a file.
    fn entry(
        &mut self,
        key: BString,
        value: Option<BString>,
        origin: Origin<'_>,
        out: &mut Vec<Entry>,
    ) -> Result<(), GitConfigError> {
        if self.forbid_remote_urls && is_remote_url(key.as_bstr()) {
            return Err(GitConfigError::Include {
                origin: origin.describe(),
                reason: "remote URLs cannot be configured in file directly or indirectly included by includeIf.hasconfig:remote.*.url".into(),
            });
        }
        let include = if !self.includes {
            None
        } else if key == "include.path" {
            Some(false)
        } else if let Some((condition, name)) = include_if(key.as_bstr()) {
            // As git, the condition is evaluated before the name is checked.
            let hasconfig = condition.starts_with(b"hasconfig:");
            (self.condition(condition, origin)? && name == "path").then_some(hasconfig)
        } else {
            None
        };
        match include {
            Some(hasconfig) => {
                out.push(Entry {
                    key,
                    value: value.clone(),
                });
                self.include(value.as_ref(), origin, hasconfig, out)
            }
            None => {
                out.push(Entry { key, value });
                Ok(())
            }
        }
    }

    /// Git's `handle_path_include`.
    fn include(
        &mut self,
        value: Option<&BString>,
        origin: Origin<'_>,
        hasconfig: bool,
        out: &mut Vec<Entry>,
    ) -> Result<(), GitConfigError> {
        let error = |reason: String| GitConfigError::Include {
            origin: origin.describe(),
            reason,
        };
        let value = value.ok_or_else(|| error("missing value for 'include.path'".into()))?;
        let path = self
            .ctx
            .interpolate(value.as_bstr(), false)
            .ok_or_else(|| error(format!("could not expand include path '{value}'")))?;
        let path = if path.is_absolute() {
            path
        } else {
            match origin {
                Origin::File(f) => f.parent().map_or(path.clone(), |dir| dir.join(&path)),
                Origin::CommandLine => {
                    return Err(error(
                        "relative config includes must come from files".into(),
                    ))
                }
            }
        };
        // Git checks the depth only for files it can open.
        if !path.exists() {
            return Ok(());
        }
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err(error(format!(
                "exceeded maximum include depth ({MAX_INCLUDE_DEPTH}) while including '{}'; do you have circular includes?",
                path.display()
            )));
        }
        self.depth += 1;
        let forbid = self.forbid_remote_urls;
        self.forbid_remote_urls |= hasconfig && self.collecting_remote_urls;
        let result = self.file(&path, Access::Optional, out);
        self.forbid_remote_urls = forbid;
        self.depth -= 1;
        result
    }

    /// Git's `include_condition_is_true`; unknown conditions are false.
    fn condition(&mut self, condition: &BStr, origin: Origin<'_>) -> Result<bool, GitConfigError> {
        if let Some(pattern) = condition.strip_prefix(b"gitdir:") {
            Ok(self.gitdir_matches(pattern.as_bstr(), origin, false))
        } else if let Some(pattern) = condition.strip_prefix(b"gitdir/i:") {
            Ok(self.gitdir_matches(pattern.as_bstr(), origin, true))
        } else if let Some(pattern) = condition.strip_prefix(b"onbranch:") {
            let Some(branch) = self.repo.and_then(Location::branch) else {
                return Ok(false);
            };
            let mut pattern = BString::from(pattern);
            if pattern.ends_with(b"/") {
                pattern.push_str("**");
            }
            Ok(wildmatch(pattern.as_bstr(), branch.as_bstr(), false))
        } else if let Some(glob) = condition.strip_prefix(b"hasconfig:remote.*.url:") {
            if self.collecting_remote_urls {
                return Ok(true);
            }
            if self.remote_urls.is_none() {
                self.remote_urls = Some(self.collect_remote_urls()?);
            }
            let urls = self.remote_urls.as_deref().unwrap_or_default();
            Ok(urls
                .iter()
                .any(|u| wildmatch(glob.as_bstr(), u.as_bstr(), false)))
        } else {
            Ok(false)
        }
    }

    /// Git's `populate_remote_urls`: every `remote.<name>.url` of a second full pass.
    fn collect_remote_urls(&self) -> Result<Vec<BString>, GitConfigError> {
        let mut reader = Reader::new(self.ctx, self.repo);
        reader.collecting_remote_urls = true;
        let mut entries = Vec::new();
        reader.sequence(Scopes::All, &mut entries)?;
        Ok(entries
            .into_iter()
            .filter(|e| is_remote_url(e.key.as_bstr()))
            .filter_map(|e| e.value)
            .collect())
    }

    /// Git's `include_by_gitdir`: the pattern against the git directory, its real path first.
    fn gitdir_matches(&self, pattern: &BStr, origin: Origin<'_>, icase: bool) -> bool {
        let Some(repo) = self.repo else { return false };
        let ctx = self.ctx;
        let mut pattern = match ctx.interpolate(pattern, true) {
            Some(p) => gix::path::into_bstr(p)
                .map(|p| p.into_owned())
                .unwrap_or_default(),
            None => pattern.to_owned(),
        };
        // A `./` pattern is relative to the including file's real directory, matched literally.
        let mut literal = 0;
        if pattern.starts_with(b"./") {
            // Git says "relative config include conditionals must come from files" and
            // treats the condition as false.
            let Origin::File(file) = origin else {
                return false;
            };
            let Ok(real) =
                gix::path::realpath_opts(file, ctx.env.cwd, gix::path::realpath::MAX_SYMLINKS)
            else {
                return false;
            };
            let Some(dir) = real.parent().and_then(|d| gix::path::into_bstr(d).ok()) else {
                return false;
            };
            let mut joined = dir.into_owned();
            literal = joined.len() + 1;
            joined.push_str(&pattern[1..]);
            pattern = joined;
        } else if !Path::new(&pattern.to_os_str_lossy().into_owned()).is_absolute() {
            pattern.insert_str(0, "**/");
        }
        if pattern.ends_with(b"/") {
            pattern.push_str("**");
        }
        let real = gix::path::realpath_opts(
            &repo.git_dir,
            ctx.env.cwd,
            gix::path::realpath::MAX_SYMLINKS,
        )
        .unwrap_or_else(|_| repo.git_dir.clone());
        [real, repo.git_dir.clone()].iter().any(|dir| {
            let Ok(text) = gix::path::into_bstr(dir.as_path()) else {
                return false;
            };
            if literal > 0 {
                let (Some(p), Some(t)) = (pattern.get(..literal), text.get(..literal)) else {
                    return false;
                };
                if !(if icase {
                    p.eq_ignore_ascii_case(t)
                } else {
                    p == t
                }) {
                    return false;
                }
            }
            wildmatch(
                pattern[literal..].as_bstr(),
                text[literal..].as_bstr(),
                icase,
            )
        })
    }
}

/// `includeIf.<condition>.<name>` split, as git's `parse_config_key(var, "includeif", ...)`.
fn include_if(key: &BStr) -> Option<(&BStr, &BStr)> {
    let rest = key.strip_prefix(b"includeif.")?;
    let dot = rest.rfind_byte(b'.')?;
    Some((rest[..dot].as_bstr(), rest[dot + 1..].as_bstr()))
}

fn is_remote_url(key: &BStr) -> bool {
    key.strip_prefix(b"remote.")
        .and_then(|rest| rest.rfind_byte(b'.').map(|dot| &rest[dot + 1..]))
        .is_some_and(|name| name == b"url")
}

/// Git's wildmatch with `WM_PATHNAME`: `*` stops at `/`, `**` crosses it.
fn wildmatch(pattern: &BStr, text: &BStr, icase: bool) -> bool {
    use gix::glob::wildmatch::Mode;
    let mode = if icase {
        Mode::NO_MATCH_SLASH_LITERAL | Mode::IGNORE_CASE
    } else {
        Mode::NO_MATCH_SLASH_LITERAL
    };
    gix::glob::wildmatch(pattern, text, mode)
}

/// `GIT_CONFIG_COUNT` as C's `strtoul` reads it, all of it digits.
fn parse_count(v: &[u8]) -> Result<usize, String> {
    let s = v.trim_start();
    let (negative, digits) = match s {
        [b'-', r @ ..] => (true, r),
        [b'+', r @ ..] => (false, r),
        _ => (false, s),
    };
    if v.is_empty() {
        return Ok(0);
    }
    let n: u64 = std::str::from_utf8(digits)
        .ok()
        .filter(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| format!("bogus count '{}'", v.to_str_lossy()))?;
    if (negative && n != 0) || n > i32::MAX as u64 {
        return Err(format!("too many entries ({})", v.to_str_lossy()));
    }
    usize::try_from(n).map_err(|_| format!("too many entries ({})", v.to_str_lossy()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, Option<&str>)]) -> Vec<(BString, Option<BString>)> {
        v.iter()
            .map(|(k, v)| (BString::from(*k), v.map(BString::from)))
            .collect()
    }

    #[test]
    fn parameters_in_the_format_git_c_writes() {
        // What `git -c gitsign.fulcio=X -c 'gitsign.rekor=a b' -c "gitsign.q=it's!" -c gitsign.flag
        // -c gitsign.empty= -c GitSign.Sub.KEY=v=w` exports (captured from git 2.47).
        let env = br"'gitsign.fulcio'='X' 'gitsign.rekor'='a b' 'gitsign.q'='it'\''s'\!'' 'gitsign.flag'= 'gitsign.empty'='' 'GitSign.Sub.KEY'='v=w'";
        assert_eq!(
            parse_parameters(env),
            Ok(pairs(&[
                ("gitsign.fulcio", Some("X")),
                ("gitsign.rekor", Some("a b")),
                ("gitsign.q", Some("it's!")),
                ("gitsign.flag", None),
                ("gitsign.empty", Some("")),
                ("gitsign.Sub.key", Some("v=w")),
            ])),
            "new-style pairs, escapes, implicit true, empty value and a subsection keeping its case"
        );
    }

    #[test]
    fn parameters_in_the_old_format_and_mixed_separators() {
        assert_eq!(
            parse_parameters(b"'gitsign.x=1'\t'GitSign.Y' ' gitsign.z =a=b'"),
            Ok(pairs(&[
                ("gitsign.x", Some("1")),
                ("gitsign.y", None),
                ("gitsign.z", Some("a=b")),
            ])),
            "old style splits at the first '=' and trims the key; tabs separate too"
        );
        assert_eq!(parse_parameters(b""), Ok(vec![]), "empty is nothing");
        assert_eq!(
            parse_parameters(b"'gitsign.x'='1'   'gitsign.y'='2'  "),
            Ok(pairs(&[("gitsign.x", Some("1")), ("gitsign.y", Some("2"))])),
            "runs of spaces between and after entries"
        );
    }

    #[test]
    fn parameters_git_refuses_are_errors() {
        for (env, why) in [
            (&b"  'gitsign.x'='1'"[..], "leading space"),
            (b"'gitsign.x'='1''gitsign.y'", "no separator"),
            (b"'gitsign.x'=1", "unquoted value"),
            (
                b"'gitsign.x'='a'\\x'b'",
                "a backslash escape other than ' and !",
            ),
            (
                b"'gitsign.x'='a'\\'",
                "an escape that does not resume quoting",
            ),
            (b"'gitsign.x=1'x", "junk after old style"),
            (b"'gitsign.x=1", "unterminated quote"),
            (b"'gitsign'='1'", "no section"),
            (b"'gitsign.1x'='1'", "name starting with a digit"),
            (b"'gitsign.x '='1'", "new style keys are not trimmed"),
            (b"'=x'", "empty old-style key"),
            (b"'gitsign.'='x'", "no variable name"),
        ] {
            assert!(
                parse_parameters(env).is_err(),
                "{why}: {} must be refused as git refuses it",
                env.to_str_lossy()
            );
        }
    }

    #[test]
    fn canonical_keys_lowercase_section_and_name_only() {
        let key = |k: &[u8]| canonical_key(k).map(|k| k.to_string());
        assert_eq!(key(b"GitSign.Fulcio").as_deref(), Ok("gitsign.fulcio"));
        assert_eq!(
            key(b"Remote.My.Origin.URL").as_deref(),
            Ok("remote.My.Origin.url"),
            "everything between the first and last dot is the subsection"
        );
        assert_eq!(key(b"a.Sub Sect.k").as_deref(), Ok("a.Sub Sect.k"));
        assert!(
            canonical_key(b"a.sub\nx.k").is_err(),
            "no newline in a subsection"
        );
        assert!(
            canonical_key(b"a_b.k").is_err(),
            "section names are alphanumeric and '-'"
        );
        assert!(canonical_key(b".k").is_err(), "no section");
    }

    #[test]
    fn files_parse_into_git_keys_and_values() {
        let file = b"\xef\xbb\xbf# comment\n[GitSign]\n\tFulcio = a  ; trailing comment\n\tflag\n\tempty =\n\
            \tquoted = \" x \"y\\t\\\"z\\\\ \n\tcont = a\\\n  b\n[gitsign \"Sub\\\"X\"]\n\tKey = v\n[gitsign.Legacy]\n\tKey = w\n";
        assert_eq!(
            parse_file(file),
            Ok(pairs(&[
                ("gitsign.fulcio", Some("a")),
                ("gitsign.flag", None),
                ("gitsign.empty", Some("")),
                ("gitsign.quoted", Some(" x y\t\"z\\")),
                ("gitsign.cont", Some("a  b")),
                ("gitsign.Sub\"X.key", Some("v")),
                ("gitsign.legacy.key", Some("w")),
            ]))
        );
    }

    #[test]
    fn malformed_files_report_gits_line() {
        assert_eq!(
            parse_file(b"[gitsign]\n\tx = 1\n\ty = \"unterminated\n"),
            Err(3)
        );
        assert_eq!(
            parse_file(b"[gitsign]\n\tx = a\\qb\n"),
            Err(2),
            "unknown escape"
        );
        assert_eq!(parse_file(b"[gitsign\n"), Err(1), "unterminated header");
        assert_eq!(
            parse_file(b"[gitsign]\n\n\tx y = 1\n"),
            Err(3),
            "a key without '=' must end its line (gix alone reads two keys)"
        );
        assert_eq!(parse_file(b"[gitsign]\n\tx ; comment\n"), Err(2));
        assert_eq!(
            parse_file(b"[gitsign]\n\tx\t\n\ty\n[other]"),
            Ok(pairs(&[("gitsign.x", None), ("gitsign.y", None)]))
        );
    }

    #[test]
    fn booleans_and_counts_as_git_reads_them() {
        for (v, want) in [
            (None, Some(true)),
            (Some(&b""[..]), Some(false)),
            (Some(b"Yes"), Some(true)),
            (Some(b"off"), Some(false)),
            (Some(b"2"), Some(true)),
            (Some(b"0x0"), Some(false)),
            (Some(b"1k"), Some(true)),
            (Some(b"maybe"), None),
        ] {
            assert_eq!(parse_bool(v), want, "{v:?}");
        }
        assert_eq!(parse_count(b""), Ok(0), "empty means none");
        assert_eq!(parse_count(b" 2"), Ok(2), "strtoul skips leading space");
        assert!(parse_count(b"x").is_err());
        assert!(parse_count(b"-1").is_err(), "wraps to a huge count in C");
        assert!(parse_count(b"2 ").is_err(), "trailing junk");
    }

    #[test]
    fn system_config_follows_the_install_prefix() {
        for (dir, prefix, config) in [
            ("/usr/bin", "/usr", "/etc/gitconfig"),
            ("/usr/lib/git-core", "/usr", "/etc/gitconfig"),
            ("/usr/local/bin", "/usr/local", "/usr/local/etc/gitconfig"),
            (
                "/usr/local/libexec/git-core",
                "/usr/local",
                "/usr/local/etc/gitconfig",
            ),
            (
                "/opt/homebrew/bin",
                "/opt/homebrew",
                "/opt/homebrew/etc/gitconfig",
            ),
            ("/bin", "/", "/etc/gitconfig"),
        ] {
            let p = install_prefix(Path::new(dir));
            assert_eq!(p.as_deref(), Some(Path::new(prefix)), "{dir}");
            assert_eq!(
                system_config_for_prefix(Path::new(prefix)),
                Path::new(config),
                "{prefix}"
            );
        }
        assert_eq!(
            install_prefix(Path::new("/opt/tools")),
            None,
            "not a git layout"
        );
    }
}
