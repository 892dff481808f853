//! Where git's configuration files are and how git expands paths: the install prefix (for
//! the system file and `%(prefix)/`), the global files, `~` and `~user`, and the environment
//! those depend on ([`Context`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use gix::bstr::{BStr, BString, ByteSlice, ByteVec};

use super::{parse_bool, Environment, GitConfigError};

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

pub(super) struct Context<'a> {
    pub(super) env: &'a Environment<'a>,
    /// Git's install prefix, for the system file and `%(prefix)/` paths: found on first use
    /// (a walk of `PATH`), so a process that needs neither does not search for git.
    prefix: std::cell::OnceCell<PathBuf>,
}

impl<'a> Context<'a> {
    pub(super) fn new(env: &'a Environment<'a>) -> Context<'a> {
        Context {
            env,
            prefix: std::cell::OnceCell::new(),
        }
    }

    fn prefix(&self) -> &Path {
        self.prefix
            .get_or_init(|| Self::find_prefix(self.env).unwrap_or_else(|| PathBuf::from("/usr")))
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

    pub(super) fn var(&self, name: &str) -> Option<OsString> {
        (self.env.var)(name)
    }

    pub(super) fn var_bytes(&self, name: &str) -> Option<BString> {
        self.var(name)
            .map(|v| BString::from(Vec::from_os_string(v).unwrap_or_default()))
    }

    /// A git boolean from the environment (`git_env_bool`).
    pub(super) fn env_bool(&self, name: &str) -> Result<bool, GitConfigError> {
        match self.var_bytes(name) {
            None => Ok(false),
            Some(v) => parse_bool(Some(&v)).ok_or_else(|| GitConfigError::Environment {
                var: name.to_owned(),
                reason: format!("bad boolean value '{v}'"),
            }),
        }
    }

    pub(super) fn absolute(&self, path: &Path) -> PathBuf {
        self.env.cwd.join(path)
    }

    pub(super) fn home(&self) -> Option<PathBuf> {
        self.var("HOME").map(PathBuf::from)
    }

    pub(super) fn system_config(&self) -> Result<Option<PathBuf>, GitConfigError> {
        if self.env_bool("GIT_CONFIG_NOSYSTEM")? {
            return Ok(None);
        }
        Ok(Some(match self.var("GIT_CONFIG_SYSTEM") {
            Some(p) => self.absolute(Path::new(&p)),
            None => system_config_for_prefix(self.prefix()),
        }))
    }

    pub(super) fn global_configs(&self) -> Vec<PathBuf> {
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
    pub(super) fn interpolate(&self, path: &BStr, real_home: bool) -> Option<PathBuf> {
        if let Some(rest) = path.strip_prefix(b"%(prefix)/") {
            return Some(self.prefix().join(gix::path::from_byte_slice(rest).ok()?));
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

#[cfg(test)]
mod tests {
    use super::*;

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
