//! Reading the configuration in git's order (`do_git_config_sequence`): each scope's files,
//! `include.path` and `includeIf.<condition>.path` (`gitdir:`, `gitdir/i:`, `onbranch:`,
//! `hasconfig:remote.*.url:`) in place, then the command line (`GIT_CONFIG_COUNT`,
//! `GIT_CONFIG_PARAMETERS`).

use std::path::Path;

use gix::bstr::{BStr, BString, ByteSlice, ByteVec};

use super::locate::Context;
use super::syntax::{canonical_key, parse_count, parse_file, parse_parameters};
use super::{Entry, GitConfigError, Location};
use crate::platform::Os;

/// At most this many nested includes, as git's `MAX_INCLUDE_DEPTH`.
const MAX_INCLUDE_DEPTH: usize = 10;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Scopes {
    All,
    /// System, global and command line.
    Protected,
}

/// What a file that cannot be read means (git's `access_or_die` flags).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
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

pub(super) struct Reader<'c> {
    ctx: &'c Context<'c>,
    repo: Option<&'c Location>,
    pub(super) includes: bool,
    depth: usize,
    /// The pass that collects `remote.*.url` for `hasconfig:`: every such condition holds,
    /// and what it includes must not set remote URLs (git's `unconditional_remote_url`).
    collecting_remote_urls: bool,
    forbid_remote_urls: bool,
    remote_urls: Option<Vec<BString>>,
}

impl<'c> Reader<'c> {
    pub(super) fn new(ctx: &'c Context<'c>, repo: Option<&'c Location>) -> Reader<'c> {
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
    pub(super) fn sequence(
        &mut self,
        scopes: Scopes,
        out: &mut Vec<Entry>,
    ) -> Result<(), GitConfigError> {
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

    pub(super) fn file(
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
    /// On Windows both are compared as Git for Windows shows them ([`gitdir_text`]).
    fn gitdir_matches(&self, pattern: &BStr, origin: Origin<'_>, icase: bool) -> bool {
        let os = Os::HOST;
        let Some(repo) = self.repo else { return false };
        let ctx = self.ctx;
        let mut pattern = match ctx.interpolate(pattern, true) {
            Some(p) => gix::path::into_bstr(p)
                .map(|p| p.into_owned())
                .unwrap_or_default(),
            None => pattern.to_owned(),
        };
        pattern = gitdir_pattern(os, pattern.as_bstr());
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
            let mut joined = gitdir_text(os, dir.as_ref());
            literal = joined.len() + 1;
            joined.push_str(&pattern[1..]);
            pattern = joined;
        } else if !is_absolute_pattern(os, pattern.as_bstr()) {
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
            let text = gitdir_text(os, text.as_ref());
            pattern_matches(pattern.as_bstr(), literal, text.as_bstr(), icase)
        })
    }
}

/// The matching step of git's `include_by_gitdir`: the first `literal` bytes compared
/// literally (so wildcards in the including file's directory mean nothing), the rest by
/// wildmatch.
fn pattern_matches(pattern: &BStr, literal: usize, text: &BStr, icase: bool) -> bool {
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
    match (pattern.get(literal..), text.get(literal..)) {
        (Some(p), Some(t)) => wildmatch(p.as_bstr(), t.as_bstr(), icase),
        _ => false,
    }
}

/// A git directory as git on `os` shows it to `gitdir:` patterns. Git for Windows' paths use
/// `/` (its `strbuf_realpath` converts slashes), carry no `\\?\` verbatim prefix and, being
/// resolved by `GetFinalPathNameByHandleW`, an upper-case drive letter: `c:\src\.git` is
/// matched as `C:/src/.git`. The rest keeps its case: like git, `gitdir:` compares it
/// case-sensitively on Windows too and `gitdir/i:` is the case-insensitive form.
fn gitdir_text(os: Os, path: &BStr) -> BString {
    if os == Os::Unix {
        return path.to_owned();
    }
    let slashed = forward_slashes(path);
    let mut text = if let Some(rest) = slashed.strip_prefix(b"//?/UNC/") {
        let mut unc = BString::from("//");
        unc.push_str(rest);
        unc
    } else if let Some(rest) = slashed.strip_prefix(b"//?/") {
        BString::from(rest)
    } else {
        slashed
    };
    if text.get(1) == Some(&b':') {
        if let Some(drive) = text.first_mut() {
            drive.make_ascii_uppercase();
        }
    }
    text
}

/// A `gitdir:` pattern as git on `os` uses it: on Windows `\` is a directory separator, as
/// in the paths Git for Windows compares it with, not wildmatch's escape.
fn gitdir_pattern(os: Os, pattern: &BStr) -> BString {
    match os {
        Os::Unix => pattern.to_owned(),
        Os::Windows => forward_slashes(pattern),
    }
}

fn forward_slashes(path: &BStr) -> BString {
    path.iter()
        .map(|&b| if b == b'\\' { b'/' } else { b })
        .collect::<Vec<u8>>()
        .into()
}

/// Git's `is_absolute_path`: a leading `/`, and on Windows also a drive (`C:`).
fn is_absolute_pattern(os: Os, pattern: &BStr) -> bool {
    pattern.starts_with(b"/")
        || (os == Os::Windows
            && pattern.len() >= 2
            && pattern[0].is_ascii_alphabetic()
            && pattern[1] == b':')
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The pattern as `gitdir_matches` builds it, against one git directory.
    fn matches(os: Os, pattern: &str, git_dir: &str, icase: bool) -> bool {
        let mut p = gitdir_pattern(os, pattern.into());
        if !is_absolute_pattern(os, p.as_bstr()) {
            p.insert_str(0, "**/");
        }
        if p.ends_with(b"/") {
            p.push_str("**");
        }
        pattern_matches(
            p.as_bstr(),
            0,
            gitdir_text(os, git_dir.into()).as_bstr(),
            icase,
        )
    }

    #[test]
    fn gitdir_matches_windows_paths_as_git_for_windows() {
        let dir = r"C:\Users\me\work\app\.git";
        for pattern in [
            r"C:\Users\me\work\",
            "C:/Users/me/work/",
            "work/app/",
            "**/app/.git",
        ] {
            assert!(
                matches(Os::Windows, pattern, dir, false),
                "'{pattern}' matches '{dir}' on Windows"
            );
        }
        assert!(
            matches(Os::Windows, "C:/src/", r"c:\src\.git", false),
            "the drive letter of the git directory is upper-cased, as git's real path has it"
        );
        assert!(
            matches(Os::Windows, "C:/src/", r"\\?\C:\src\.git", false),
            "a verbatim path is matched without its prefix"
        );
        assert!(
            matches(
                Os::Windows,
                "//server/share/",
                r"\\?\UNC\server\share\r\.git",
                false
            ),
            "a verbatim UNC path is a //server/share path"
        );
        assert!(
            !matches(Os::Windows, "C:/Users/Me/Work/", dir, false),
            "gitdir: keeps its case on Windows, as in git"
        );
        assert!(
            matches(Os::Windows, "c:/users/me/WORK/", dir, true),
            "gitdir/i: folds case"
        );
        assert!(
            !matches(
                Os::Unix,
                r"C:\Users\me\work\",
                "C:/Users/me/work/app/.git",
                false
            ),
            "on Unix a backslash is wildmatch's escape and a drive is no root"
        );
        assert!(
            matches(Os::Unix, "/home/me/work/", "/home/me/work/app/.git", false),
            "Unix paths are unchanged"
        );
    }
}
