//! Where git's configuration files are and how git expands paths: the install prefix (for
//! the system file and `%(prefix)/`), the global files, `~` and `~user`, and the environment
//! those depend on ([`Context`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use gix::bstr::{BStr, BString, ByteSlice, ByteVec};

use super::{parse_bool, Environment, GitConfigError};
use crate::platform::{self, Os};

/// The install prefix of a git whose program lives in `dir`: `<prefix>/bin`, or its exec
/// path `<prefix>/libexec/git-core` (`lib/git-core` on Debian). On Windows also Git for
/// Windows' `cmd` launcher directory, whose git runs from `<root>/mingw64`.
pub fn install_prefix(os: Os, dir: &Path) -> Option<PathBuf> {
    let (parent, name) = (dir.parent()?, dir.file_name()?);
    if name == "bin" {
        return Some(parent.to_owned());
    }
    if os == Os::Windows && name == "cmd" {
        return Some(parent.join("mingw64"));
    }
    let grandparent = parent.parent()?;
    (name == "git-core" && matches!(parent.file_name()?.to_str()?, "libexec" | "lib"))
        .then(|| grandparent.to_owned())
}

/// The MSYS2 environments Git for Windows installs its git into, under its root
/// (`C:/Program Files/Git/mingw64`): the runtime prefix is one of these.
const MSYS2_PREFIXES: [&str; 6] = [
    "mingw64",
    "mingw32",
    "clangarm64",
    "clang64",
    "ucrt64",
    "usr",
];

/// Git's `ETC_GITCONFIG` for an install prefix: `/etc/gitconfig` for `/usr` (and `/`),
/// `<prefix>/etc/gitconfig` otherwise, as git's Makefile sets `sysconfdir`. Git for Windows
/// keeps it at its root, beside the MSYS2 prefix (`sysconfdir = ../etc` relative to
/// `mingw64`): `C:/Program Files/Git/etc/gitconfig`.
pub fn system_config_for_prefix(os: Os, prefix: &Path) -> PathBuf {
    if os == Os::Windows {
        let msys = prefix
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| MSYS2_PREFIXES.contains(&n));
        return match prefix.parent() {
            Some(root) if msys => root.join("etc/gitconfig"),
            _ => prefix.join("etc/gitconfig"),
        };
    }
    if prefix == Path::new("/usr") {
        PathBuf::from("/etc/gitconfig")
    } else {
        prefix.join("etc/gitconfig")
    }
}

/// Where git is assumed installed when no git is found on `PATH`: `/usr`, or on Windows Git
/// for Windows' default `%ProgramFiles%\Git\mingw64`.
fn default_prefix(os: Os, var: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    match (os, var("ProgramFiles").filter(|p| !p.is_empty())) {
        (Os::Windows, Some(p)) => PathBuf::from(p).join("Git").join("mingw64"),
        (Os::Windows, None) => PathBuf::from("C:/Program Files/Git/mingw64"),
        (Os::Unix, _) => PathBuf::from("/usr"),
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
        self.prefix.get_or_init(|| {
            Self::find_prefix(self.env).unwrap_or_else(|| default_prefix(Os::HOST, self.env.var))
        })
    }

    fn find_prefix(env: &Environment<'_>) -> Option<PathBuf> {
        if let Some(exec) = (env.var)("GIT_EXEC_PATH") {
            return install_prefix(Os::HOST, Path::new(&exec));
        }
        let path = (env.var)("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| env.cwd.join(dir))
            .find(|dir| is_executable(&dir.join(if cfg!(windows) { "git.exe" } else { "git" })))
            .and_then(|dir| install_prefix(Os::HOST, &dir))
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

    /// `~` as git expands it ([`platform::home`]).
    pub(super) fn home(&self) -> Option<PathBuf> {
        platform::host_home(self.env.var)
    }

    pub(super) fn system_config(&self) -> Result<Option<PathBuf>, GitConfigError> {
        if self.env_bool("GIT_CONFIG_NOSYSTEM")? {
            return Ok(None);
        }
        Ok(Some(match self.var("GIT_CONFIG_SYSTEM") {
            Some(p) => self.absolute(Path::new(&p)),
            None => system_config_for_prefix(Os::HOST, self.prefix()),
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
            let p = install_prefix(Os::Unix, Path::new(dir));
            assert_eq!(p.as_deref(), Some(Path::new(prefix)), "{dir}");
            assert_eq!(
                system_config_for_prefix(Os::Unix, Path::new(prefix)),
                Path::new(config),
                "{prefix}"
            );
        }
        assert_eq!(
            install_prefix(Os::Unix, Path::new("/opt/tools")),
            None,
            "not a git layout"
        );
    }

    #[test]
    fn git_for_windows_system_config_is_at_its_root() {
        // Paths with `/` so that they split the same on every host (Windows accepts both).
        for (dir, prefix) in [
            (
                "C:/Program Files/Git/mingw64/bin",
                "C:/Program Files/Git/mingw64",
            ),
            (
                "C:/Program Files/Git/mingw64/libexec/git-core",
                "C:/Program Files/Git/mingw64",
            ),
            ("C:/Program Files/Git/cmd", "C:/Program Files/Git/mingw64"),
        ] {
            let p = install_prefix(Os::Windows, Path::new(dir));
            assert_eq!(p.as_deref(), Some(Path::new(prefix)), "{dir}");
            assert_eq!(
                system_config_for_prefix(Os::Windows, Path::new(prefix)),
                Path::new("C:/Program Files/Git/etc/gitconfig"),
                "git config --system --show-origin names this file in Git for Windows ({dir})"
            );
        }
        assert_eq!(
            install_prefix(Os::Unix, Path::new("C:/Program Files/Git/cmd")),
            None,
            "`cmd` is a Git for Windows layout only"
        );
        assert_eq!(
            system_config_for_prefix(Os::Windows, Path::new("D:/tools/git")),
            Path::new("D:/tools/git/etc/gitconfig"),
            "a git built with a plain prefix keeps etc/ under it"
        );
        let program_files = |k: &str| (k == "ProgramFiles").then(|| OsString::from("E:/Apps"));
        assert_eq!(
            default_prefix(Os::Windows, &program_files),
            Path::new("E:/Apps/Git/mingw64"),
            "no git on PATH: Git for Windows' default install"
        );
        assert_eq!(default_prefix(Os::Unix, &program_files), Path::new("/usr"));
    }
}
