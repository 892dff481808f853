//! One typed key table for every setting, resolved with Go gitsign's precedence:
//! default < git config (`gitsign.*`, any scope) < `SIGSTORE_*` env < `GITSIGN_*` env < flag.
//!
//! Resolution is pure: [`Config::resolve`] takes the git config pairs and an environment
//! lookup, so precedence is unit-tested without touching the process environment. The git
//! config pairs are what Go gitsign gets from `git config --get-regexp '^gitsign\.'`, read by
//! [`gitconfig`] without running git (every scope, includes, `git -c`), in the same order.

pub mod gitconfig;

use std::collections::BTreeMap;

/// Where a value came from, for `--debug` and error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    GitConfig(String),
    Env(&'static str),
    Flag(&'static str),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => f.write_str("the default"),
            Source::GitConfig(k) => write!(f, "git config {k}"),
            Source::Env(v) => f.write_str(v),
            Source::Flag(v) => f.write_str(v),
        }
    }
}

/// Every setting gitsign reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Fulcio,
    FulcioRoot,
    Rekor,
    RekorMode,
    ClientId,
    ClientSecretFile,
    RedirectUrl,
    Issuer,
    ConnectorId,
    TokenProvider,
    TimestampServerUrl,
    TimestampCertChain,
    LogPath,
    MatchCommitter,
    Autoclose,
    AutocloseTimeout,
    UrlOpener,
    TrustedRoot,
    InsecureIgnoreTlog,
    InsecureIgnoreSct,
    Timeout,
    RekorConcurrency,
    RekorDeadline,
    Policy,
    CredentialCache,
    CacheScope,
    CredentialStore,
}

/// (key, git config name, SIGSTORE_* env, GITSIGN_* env, default)
type Row = (
    Key,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

/// The table. Names and defaults are Go gitsign's (internal/config/config.go), except these
/// rows of ours: `trustedRoot`, `insecureIgnore*`,
/// `timeout`, `rekorConcurrency`, `rekorDeadline`, `policy`, `cacheScope`, `credentialStore`
/// and the git config name of the credential cache socket (Go gitsign reads only
/// `GITSIGN_CREDENTIAL_CACHE`).
pub const TABLE: &[Row] = &[
    (
        Key::Fulcio,
        "gitsign.fulcio",
        Some("SIGSTORE_FULCIO_URL"),
        Some("GITSIGN_FULCIO_URL"),
        Some("https://fulcio.sigstore.dev"),
    ),
    (
        Key::FulcioRoot,
        "gitsign.fulcioRoot",
        Some("SIGSTORE_FULCIO_ROOT"),
        Some("GITSIGN_FULCIO_ROOT"),
        None,
    ),
    (
        Key::Rekor,
        "gitsign.rekor",
        Some("SIGSTORE_REKOR_URL"),
        Some("GITSIGN_REKOR_URL"),
        Some("https://rekor.sigstore.dev"),
    ),
    (
        Key::RekorMode,
        "gitsign.rekorMode",
        None,
        Some("GITSIGN_REKOR_MODE"),
        Some("offline"),
    ),
    (
        Key::ClientId,
        "gitsign.clientID",
        Some("SIGSTORE_OIDC_CLIENT_ID"),
        Some("GITSIGN_OIDC_CLIENT_ID"),
        Some("sigstore"),
    ),
    (
        Key::ClientSecretFile,
        "gitsign.clientSecretFile",
        Some("SIGSTORE_OIDC_CLIENT_SECRET_FILE"),
        Some("GITSIGN_OIDC_CLIENT_SECRET_FILE"),
        None,
    ),
    (
        Key::RedirectUrl,
        "gitsign.redirectURL",
        Some("SIGSTORE_OIDC_REDIRECT_URL"),
        Some("GITSIGN_OIDC_REDIRECT_URL"),
        None,
    ),
    (
        Key::Issuer,
        "gitsign.issuer",
        Some("SIGSTORE_OIDC_ISSUER"),
        Some("GITSIGN_OIDC_ISSUER"),
        Some("https://oauth2.sigstore.dev/auth"),
    ),
    (
        Key::ConnectorId,
        "gitsign.connectorID",
        Some("SIGSTORE_CONNECTOR_ID"),
        Some("GITSIGN_CONNECTOR_ID"),
        None,
    ),
    (
        Key::TokenProvider,
        "gitsign.tokenProvider",
        Some("SIGSTORE_TOKEN_PROVIDER"),
        Some("GITSIGN_TOKEN_PROVIDER"),
        None,
    ),
    (
        Key::TimestampServerUrl,
        "gitsign.timestampServerURL",
        Some("SIGSTORE_TIMESTAMP_SERVER_URL"),
        Some("GITSIGN_TIMESTAMP_SERVER_URL"),
        None,
    ),
    (
        Key::TimestampCertChain,
        "gitsign.timestampCertChain",
        Some("SIGSTORE_TIMESTAMP_CERT_CHAIN"),
        Some("GITSIGN_TIMESTAMP_CERT_CHAIN"),
        None,
    ),
    (
        Key::LogPath,
        "gitsign.logPath",
        None,
        Some("GITSIGN_LOG"),
        None,
    ),
    (
        Key::MatchCommitter,
        "gitsign.matchCommitter",
        None,
        Some("GITSIGN_MATCH_COMMITTER"),
        Some("false"),
    ),
    (
        Key::Autoclose,
        "gitsign.autoclose",
        Some("SIGSTORE_AUTOCLOSE"),
        Some("GITSIGN_AUTOCLOSE"),
        Some("true"),
    ),
    (
        Key::AutocloseTimeout,
        "gitsign.autocloseTimeout",
        Some("SIGSTORE_AUTOCLOSE_TIMEOUT"),
        Some("GITSIGN_AUTOCLOSE_TIMEOUT"),
        Some("6"),
    ),
    (
        Key::UrlOpener,
        "gitsign.urlOpener",
        None,
        Some("GITSIGN_URL_OPENER"),
        None,
    ),
    (
        Key::TrustedRoot,
        "gitsign.trustedRoot",
        None,
        Some("GITSIGN_TRUSTED_ROOT"),
        None,
    ),
    (
        Key::InsecureIgnoreTlog,
        "gitsign.insecureIgnoreTlog",
        None,
        Some("GITSIGN_INSECURE_IGNORE_TLOG"),
        Some("false"),
    ),
    (
        Key::InsecureIgnoreSct,
        "gitsign.insecureIgnoreSct",
        None,
        Some("GITSIGN_INSECURE_IGNORE_SCT"),
        Some("false"),
    ),
    // Seconds one Rekor lookup request may take (connect, send, receive) before it is retried.
    (
        Key::Timeout,
        "gitsign.timeout",
        None,
        Some("GITSIGN_TIMEOUT"),
        Some("10"),
    ),
    // Rekor lookup requests in flight at once when verifying ranges of online-mode commits.
    (
        Key::RekorConcurrency,
        "gitsign.rekorConcurrency",
        None,
        Some("GITSIGN_REKOR_CONCURRENCY"),
        Some("16"),
    ),
    // Seconds all Rekor lookups of one `gitsign verify` may take together.
    (
        Key::RekorDeadline,
        "gitsign.rekorDeadline",
        None,
        Some("GITSIGN_REKOR_DEADLINE"),
        Some("300"),
    ),
    // The `gitsign hook` policy file; a relative path is relative to the git directory.
    (Key::Policy, "gitsign.policy", None, None, None),
    (
        Key::CredentialCache,
        "gitsign.credentialCache",
        None,
        Some("GITSIGN_CREDENTIAL_CACHE"),
        None,
    ),
    (
        Key::CacheScope,
        "gitsign.cacheScope",
        None,
        Some("GITSIGN_CACHE_SCOPE"),
        Some("directory"),
    ),
    (
        Key::CredentialStore,
        "gitsign.credentialStore",
        None,
        Some("GITSIGN_CREDENTIAL_STORE"),
        Some("agent"),
    ),
];

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("invalid value '{value}' for {origin}: {reason}")]
    Invalid {
        value: String,
        origin: Source,
        reason: String,
    },
    #[error("could not read git config")]
    GitConfig(#[source] gitconfig::GitConfigError),
    #[error("could not determine the current directory: {0}")]
    CurrentDir(String),
}

/// The repository of this process, found once with git's rules (`GIT_DIR`, `GIT_WORK_TREE`,
/// upwards from the current directory, ownership and format checks) and shared by the
/// configuration ([`Config::load`]) and the object reader (`git::repo::Repo::open`), so the
/// two can never disagree on which repository they read. `None` outside any repository.
pub fn repository() -> Result<Option<&'static gitconfig::Location>, ConfigError> {
    static FOUND: std::sync::OnceLock<Result<Option<gitconfig::Location>, ConfigError>> =
        std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            let cwd =
                std::env::current_dir().map_err(|e| ConfigError::CurrentDir(e.to_string()))?;
            let var = |k: &str| std::env::var_os(k);
            gitconfig::locate(&gitconfig::Environment {
                cwd: &cwd,
                var: &var,
            })
            .map_err(ConfigError::GitConfig)
        })
        .as_ref()
        .map(Option::as_ref)
        .map_err(Clone::clone)
}

/// Resolved settings.
#[derive(Debug, Clone, Default)]
pub struct Config {
    values: BTreeMap<Key, (String, Source)>,
}

/// Which cached credentials a signer may use (`gitsign.cacheScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheScope {
    /// Per working directory, as Go gitsign keys its cache.
    Directory,
    /// One login serves every repository of the user.
    User,
}

/// Where cached credentials live (`gitsign.credentialStore`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialStore {
    /// The `gitsign-credential-cache` daemon at `GITSIGN_CREDENTIAL_CACHE`.
    Agent,
    /// The OS keyring (Linux kernel keyutils, macOS Keychain, Windows Credential Manager).
    Keyring,
}

/// Rekor storage mode (see the signing docs): where the proof of *when* lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RekorMode {
    /// The log entry and its inclusion proof are embedded in the signature.
    Offline,
    /// Go gitsign's legacy mode: the commit id is logged and must be looked up.
    Online,
}

fn row(key: Key) -> &'static Row {
    TABLE
        .iter()
        .find(|r| r.0 == key)
        .expect("every Key has a row in TABLE because a unit test checks it")
}

impl Config {
    /// Resolve from git config pairs (lower-cased or not) and an environment lookup.
    pub fn resolve(git: &[(String, String)], env: impl Fn(&str) -> Option<String>) -> Config {
        let mut values = BTreeMap::new();
        for &(key, git_name, sigstore_env, gitsign_env, default) in TABLE {
            let mut v: Option<(String, Source)> = default.map(|d| (d.to_owned(), Source::Default));
            // Last occurrence wins, as `git config --get` does for multi-valued keys.
            if let Some((k, val)) = git
                .iter()
                .rev()
                .find(|(k, _)| k.eq_ignore_ascii_case(git_name))
            {
                v = Some((val.clone(), Source::GitConfig(k.clone())));
            }
            if key == Key::FulcioRoot {
                if let Some(val) = env("SIGSTORE_ROOT_FILE") {
                    v = Some((val, Source::Env("SIGSTORE_ROOT_FILE")));
                }
            }
            for name in [sigstore_env, gitsign_env].into_iter().flatten() {
                if let Some(val) = env(name) {
                    v = Some((val, Source::Env(name)));
                }
            }
            if let Some(v) = v {
                values.insert(key, v);
            }
        }
        Config { values }
    }

    /// Read git's config (what `git config --get-regexp '^gitsign\.'` prints) and the
    /// process environment. No process is spawned (issue #7): `gitsign verify` of one commit
    /// went from 5.0-6.3 ms to 3.3-3.8 ms wall time (perf stat, 100 runs).
    pub fn load() -> Result<Config, ConfigError> {
        let cwd = std::env::current_dir().map_err(|e| ConfigError::CurrentDir(e.to_string()))?;
        let var = |k: &str| std::env::var_os(k);
        let env = gitconfig::Environment {
            cwd: &cwd,
            var: &var,
        };
        let entries = match std::env::var_os("GIT_CONFIG") {
            Some(_) => gitconfig::read(&env),
            None => gitconfig::read_in(&env, repository()?),
        }
        .map_err(ConfigError::GitConfig)?;
        Ok(Config::resolve(&gitconfig::gitsign_pairs(&entries), |k| {
            std::env::var(k).ok()
        }))
    }

    /// Override with a command-line flag.
    pub fn set_flag(&mut self, key: Key, value: String, flag: &'static str) {
        self.values.insert(key, (value, Source::Flag(flag)));
    }

    pub fn get(&self, key: Key) -> Option<&str> {
        self.values
            .get(&key)
            .map(|(v, _)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn source(&self, key: Key) -> Option<&Source> {
        self.values.get(&key).map(|(_, s)| s)
    }

    /// Every resolved value with its source (for `--debug`).
    pub fn describe(&self) -> Vec<String> {
        self.values
            .iter()
            .map(|(k, (v, s))| format!("{} = '{}' (from {})", row(*k).1, v, s))
            .collect()
    }

    fn invalid(&self, key: Key, reason: &str) -> ConfigError {
        let (value, origin) = self
            .values
            .get(&key)
            .cloned()
            .unwrap_or_else(|| (String::new(), Source::Default));
        ConfigError::Invalid {
            value,
            origin,
            reason: reason.to_owned(),
        }
    }

    /// A boolean in git's spellings (true/false, yes/no, on/off, 1/0).
    pub fn bool(&self, key: Key) -> Result<bool, ConfigError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(false),
            Some("true" | "yes" | "on" | "1") => Ok(true),
            Some("false" | "no" | "off" | "0") => Ok(false),
            Some(_) => Err(self.invalid(key, "expected true or false")),
        }
    }

    pub fn rekor_mode(&self) -> Result<RekorMode, ConfigError> {
        match self
            .get(Key::RekorMode)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("offline") => Ok(RekorMode::Offline),
            Some("online") => Ok(RekorMode::Online),
            Some(_) => Err(self.invalid(Key::RekorMode, "expected 'online' or 'offline'")),
        }
    }

    pub fn cache_scope(&self) -> Result<CacheScope, ConfigError> {
        match self
            .get(Key::CacheScope)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("directory") => Ok(CacheScope::Directory),
            Some("user") => Ok(CacheScope::User),
            Some(_) => Err(self.invalid(Key::CacheScope, "expected 'directory' or 'user'")),
        }
    }

    pub fn credential_store(&self) -> Result<CredentialStore, ConfigError> {
        match self
            .get(Key::CredentialStore)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("agent") => Ok(CredentialStore::Agent),
            Some("keyring") => Ok(CredentialStore::Keyring),
            Some(_) => Err(self.invalid(Key::CredentialStore, "expected 'agent' or 'keyring'")),
        }
    }

    pub fn positive_int(&self, key: Key) -> Result<Option<u64>, ConfigError> {
        self.get(key)
            .map(|v| match v.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(self.invalid(key, "expected a positive whole number")),
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn every_key_has_a_row() {
        for key in [
            Key::Fulcio,
            Key::TrustedRoot,
            Key::InsecureIgnoreSct,
            Key::UrlOpener,
            Key::Policy,
        ] {
            assert_eq!(row(key).0, key);
        }
    }

    #[test]
    fn precedence_is_default_git_sigstore_gitsign_flag() {
        let git = vec![("gitsign.fulcio".to_owned(), "https://git".to_owned())];
        let c = Config::resolve(&[], env(&[]));
        assert_eq!(
            c.get(Key::Fulcio),
            Some("https://fulcio.sigstore.dev"),
            "default"
        );
        let c = Config::resolve(&git, env(&[]));
        assert_eq!(
            c.get(Key::Fulcio),
            Some("https://git"),
            "git config beats default"
        );
        let c = Config::resolve(&git, env(&[("SIGSTORE_FULCIO_URL", "https://sig")]));
        assert_eq!(
            c.get(Key::Fulcio),
            Some("https://sig"),
            "SIGSTORE_* beats git config"
        );
        let mut c = Config::resolve(
            &git,
            env(&[
                ("SIGSTORE_FULCIO_URL", "https://sig"),
                ("GITSIGN_FULCIO_URL", "https://gs"),
            ]),
        );
        assert_eq!(
            c.get(Key::Fulcio),
            Some("https://gs"),
            "GITSIGN_* beats SIGSTORE_*"
        );
        c.set_flag(Key::Fulcio, "https://flag".into(), "--fulcio");
        assert_eq!(
            c.get(Key::Fulcio),
            Some("https://flag"),
            "a flag beats everything"
        );
        assert_eq!(c.source(Key::Fulcio), Some(&Source::Flag("--fulcio")));
    }

    #[test]
    fn git_keys_are_case_insensitive_and_last_wins() {
        let git = vec![
            ("gitsign.connectorid".to_owned(), "a".to_owned()),
            ("GITSIGN.CONNECTORID".to_owned(), "b".to_owned()),
        ];
        assert_eq!(
            Config::resolve(&git, env(&[])).get(Key::ConnectorId),
            Some("b")
        );
    }

    #[test]
    fn sigstore_root_file_is_below_fulcio_root_envs() {
        let c = Config::resolve(&[], env(&[("SIGSTORE_ROOT_FILE", "/a")]));
        assert_eq!(c.get(Key::FulcioRoot), Some("/a"));
        let c = Config::resolve(
            &[],
            env(&[("SIGSTORE_ROOT_FILE", "/a"), ("GITSIGN_FULCIO_ROOT", "/b")]),
        );
        assert_eq!(c.get(Key::FulcioRoot), Some("/b"));
    }

    #[test]
    fn invalid_values_name_their_source() {
        let c = Config::resolve(&[], env(&[("GITSIGN_REKOR_MODE", "sometimes")]));
        let err = c.rekor_mode().expect_err("garbage mode");
        assert_eq!(
            err.to_string(),
            "invalid value 'sometimes' for GITSIGN_REKOR_MODE: expected 'online' or 'offline'"
        );
        let c = Config::resolve(
            &[("gitsign.matchCommitter".into(), "maybe".into())],
            env(&[]),
        );
        assert!(
            c.bool(Key::MatchCommitter).is_err(),
            "a non-boolean is an error, not false"
        );
    }

    #[test]
    fn cache_settings_default_to_go_gitsigns_behaviour_and_refuse_garbage() {
        let c = Config::resolve(&[], env(&[]));
        assert_eq!(
            c.cache_scope(),
            Ok(CacheScope::Directory),
            "keyed by directory by default, like Go gitsign"
        );
        assert_eq!(
            c.credential_store(),
            Ok(CredentialStore::Agent),
            "the daemon by default"
        );
        assert_eq!(
            c.get(Key::CredentialCache),
            None,
            "no cache unless GITSIGN_CREDENTIAL_CACHE names a socket"
        );
        let git = vec![
            ("gitsign.cacheScope".to_owned(), "User".to_owned()),
            ("gitsign.credentialStore".to_owned(), "keyring".to_owned()),
        ];
        let c = Config::resolve(&git, env(&[("GITSIGN_CREDENTIAL_CACHE", "/run/s.sock")]));
        assert_eq!(
            c.cache_scope(),
            Ok(CacheScope::User),
            "git config selects the user scope"
        );
        assert_eq!(
            c.credential_store(),
            Ok(CredentialStore::Keyring),
            "git config selects the keyring"
        );
        assert_eq!(
            c.get(Key::CredentialCache),
            Some("/run/s.sock"),
            "Go gitsign's variable names the socket"
        );
        let c = Config::resolve(&[], env(&[("GITSIGN_CACHE_SCOPE", "repo")]));
        assert_eq!(
            c.cache_scope().map_err(|e| e.to_string()),
            Err(
                "invalid value 'repo' for GITSIGN_CACHE_SCOPE: expected 'directory' or 'user'"
                    .to_owned()
            ),
            "an unknown scope is an error naming its source"
        );
        let c = Config::resolve(&[], env(&[("GITSIGN_CREDENTIAL_STORE", "disk")]));
        assert!(c.credential_store().is_err(), "there is no on-disk store");
    }
}
