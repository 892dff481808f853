//! What differs between operating systems in where a user's files are: the [`Os`] rules are
//! chosen by value, so the Windows rules are unit-tested on every host, and [`Os::HOST`] picks
//! the running one.
//!
//! The home directory follows git, since `~/.gitconfig` and `~/` in git config must mean what
//! they mean to git: `HOME` everywhere; on Windows, where `HOME` is normally unset, Git for
//! Windows' startup rule (`compat/mingw.c`, `setup_windows_environment`): `%HOMEDRIVE%%HOMEPATH%`
//! if that is a directory (it can name an unplugged network share), else `%USERPROFILE%` (what
//! Go's `os.UserHomeDir` and Rust's `std::env::home_dir` use there).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Which platform's rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    /// Linux, macOS and the BSDs.
    Unix,
    Windows,
}

impl Os {
    /// The running system.
    pub const HOST: Os = if cfg!(windows) { Os::Windows } else { Os::Unix };
}

/// An environment lookup (`std::env::var_os`, or a fixed table in tests).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// The user's home directory under `os`'s rule (module docs); `is_dir` tells whether a path is
/// a directory. `None` when nothing names one.
pub fn home(os: Os, var: Env<'_>, is_dir: &dyn Fn(&Path) -> bool) -> Option<PathBuf> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(h) = set("HOME") {
        return Some(PathBuf::from(h));
    }
    if os == Os::Unix {
        return None;
    }
    if let (Some(drive), Some(path)) = (set("HOMEDRIVE"), set("HOMEPATH")) {
        let mut joined = drive;
        joined.push(path);
        let joined = PathBuf::from(joined);
        if is_dir(&joined) {
            return Some(joined);
        }
    }
    set("USERPROFILE").map(PathBuf::from)
}

/// The home directory of the running user on this system.
pub fn host_home(var: Env<'_>) -> Option<PathBuf> {
    home(Os::HOST, var, &|p| p.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn home_is_home_everywhere_when_set() {
        let e = env(&[("HOME", "/h"), ("USERPROFILE", "C:/Users/u")]);
        for os in [Os::Unix, Os::Windows] {
            assert_eq!(
                home(os, &e, &|_| true),
                Some(PathBuf::from("/h")),
                "HOME wins on {os:?}, as git reads it first"
            );
        }
    }

    #[test]
    fn windows_home_falls_back_as_git_for_windows_does() {
        let e = env(&[
            ("HOMEDRIVE", "H:"),
            ("HOMEPATH", "/users/u"),
            ("USERPROFILE", "C:/Users/u"),
        ]);
        assert_eq!(
            home(Os::Windows, &e, &|_| true),
            Some(PathBuf::from("H:/users/u")),
            "HOMEDRIVE+HOMEPATH when it is a directory"
        );
        assert_eq!(
            home(Os::Windows, &e, &|_| false),
            Some(PathBuf::from("C:/Users/u")),
            "USERPROFILE when the share is not there"
        );
        assert_eq!(
            home(Os::Unix, &e, &|_| true),
            None,
            "Unix git reads only HOME"
        );
        let empty_home = env(&[("HOME", ""), ("USERPROFILE", "C:/Users/u")]);
        assert_eq!(
            home(Os::Windows, &empty_home, &|_| true),
            Some(PathBuf::from("C:/Users/u")),
            "an empty HOME counts as unset"
        );
        assert_eq!(home(Os::Windows, &env(&[]), &|_| true), None, "nothing set");
    }
}
