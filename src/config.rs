//! One typed key table for every setting, resolved with Go gitsign's precedence:
//! default < git config (`gitsign.*`, any scope) < `SIGSTORE_*` env < `GITSIGN_*` env < flag.
//!
//! Resolution is pure: [`Config::resolve`] takes the git config pairs and an environment
//! lookup, so precedence is unit-tested without touching the process environment. The git
//! config pairs are what Go gitsign gets from `git config --get-regexp '^gitsign\.'`, read by
//! [`git`] without running git (every scope, includes, `git -c`), in the same order.

pub mod git;
pub mod settings;

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
    PolicyAnchor,
    CredentialCache,
    CacheScope,
    CredentialStore,
    RekorVersion,
    EnableSigstoreGo,
    LoginTimeout,
    SshAllowedSignersFile,
    SshRevocationFile,
    TufCacheValidity,
}

impl Key {
    /// Every key, in table order (a unit test checks this list against [`TABLE`]).
    pub const ALL: &'static [Key] = &[
        Key::Fulcio,
        Key::FulcioRoot,
        Key::Rekor,
        Key::RekorMode,
        Key::ClientId,
        Key::ClientSecretFile,
        Key::RedirectUrl,
        Key::Issuer,
        Key::ConnectorId,
        Key::TokenProvider,
        Key::TimestampServerUrl,
        Key::TimestampCertChain,
        Key::LogPath,
        Key::MatchCommitter,
        Key::Autoclose,
        Key::AutocloseTimeout,
        Key::UrlOpener,
        Key::TrustedRoot,
        Key::InsecureIgnoreTlog,
        Key::InsecureIgnoreSct,
        Key::Timeout,
        Key::RekorConcurrency,
        Key::RekorDeadline,
        Key::Policy,
        Key::PolicyAnchor,
        Key::CredentialCache,
        Key::CacheScope,
        Key::CredentialStore,
        Key::RekorVersion,
        Key::EnableSigstoreGo,
        Key::LoginTimeout,
        Key::SshAllowedSignersFile,
        Key::SshRevocationFile,
        Key::TufCacheValidity,
    ];

    /// The git config name (`gitsign.rekorMode`).
    pub fn git_name(self) -> &'static str {
        row(self).1
    }

    /// The environment variables that set it, lowest precedence first.
    pub fn env_names(self) -> impl Iterator<Item = &'static str> {
        let r = row(self);
        let root_file = (self == Key::FulcioRoot).then_some("SIGSTORE_ROOT_FILE");
        root_file.into_iter().chain(r.2).chain(r.3)
    }
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
/// rows of ours: `trustedRoot`, `insecureIgnore*`, `timeout`, `rekorConcurrency`,
/// `rekorDeadline`, `policy`, `cacheScope`, `credentialStore`, `loginTimeout`, `tufCacheValidity` and the git
/// config name of the credential cache socket (Go gitsign reads only
/// `GITSIGN_CREDENTIAL_CACHE`); and the default of `rekorMode` (Go's is `online`).
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
    // Seconds one request to Fulcio, Rekor, the TSA or the issuer may take (connect, send,
    // receive) before it is retried once, when signing and for Rekor lookups alike: 30, the
    // timeout of the Go clients Go gitsign signs with (go-openapi's runtime, Fulcio's client).
    (
        Key::Timeout,
        "gitsign.timeout",
        None,
        Some("GITSIGN_TIMEOUT"),
        Some("30"),
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
    // The commit from which the committed `.gitsign/policy.toml` is trusted.
    (Key::PolicyAnchor, "gitsign.policyAnchor", None, None, None),
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
    // The Rekor API signatures are logged with: 1 (REST v1) or 2 (rekor-tiles), as Go's.
    (
        Key::RekorVersion,
        "gitsign.rekorVersion",
        Some("SIGSTORE_REKOR_VERSION"),
        Some("GITSIGN_REKOR_VERSION"),
        Some("1"),
    ),
    // Go gitsign's switch between its two signing code paths (same signatures either way);
    // here it only gates `rekorVersion`, as in Go.
    (
        Key::EnableSigstoreGo,
        "gitsign.enableSigstoreGo",
        None,
        Some("GITSIGN_ENABLE_SIGSTORE_GO"),
        Some("true"),
    ),
    // Seconds a browser or device login may take before signing gives up.
    (
        Key::LoginTimeout,
        "gitsign.loginTimeout",
        None,
        Some("GITSIGN_LOGIN_TIMEOUT"),
        Some("300"),
    ),
    // git's own keys for SSH signatures (gpg-interface.c), read where git reads them so that
    // `gitsign verify` trusts the signers `git verify-commit` trusts.
    (
        Key::SshAllowedSignersFile,
        "gpg.ssh.allowedSignersFile",
        None,
        None,
        None,
    ),
    (
        Key::SshRevocationFile,
        "gpg.ssh.revocationFile",
        None,
        None,
        None,
    ),
    // Seconds after a TUF refresh during which the unexpired cache is used without asking
    // the mirror: one day, sigstore-go's default cache validity.
    (
        Key::TufCacheValidity,
        "gitsign.tufCacheValidity",
        None,
        Some("GITSIGN_TUF_CACHE_VALIDITY"),
        Some("86400"),
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
    GitConfig(#[source] git::GitConfigError),
    #[error("could not determine the current directory: {0}")]
    CurrentDir(String),
    #[error("cannot read '{path}' (from {origin}): {reason}")]
    Unreadable {
        path: String,
        origin: Source,
        reason: String,
    },
    #[error("{key} can only be set when gitsign.enableSigstoreGo=true ({origin} sets it; Rekor version selection only applies to that signing path, as in Go gitsign)")]
    RekorVersionWithoutSigstoreGo { key: &'static str, origin: Source },
}

/// The repository of this process, found once with git's rules (`GIT_DIR`, `GIT_WORK_TREE`,
/// upwards from the current directory, ownership and format checks) and shared by the
/// configuration ([`Config::load`]) and the object reader (`crate::git::repo::Repo::open`), so the
/// two can never disagree on which repository they read. `None` outside any repository.
pub fn repository() -> Result<Option<&'static git::Location>, ConfigError> {
    static FOUND: std::sync::OnceLock<Result<Option<git::Location>, ConfigError>> =
        std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            let cwd =
                std::env::current_dir().map_err(|e| ConfigError::CurrentDir(e.to_string()))?;
            let var = |k: &str| std::env::var_os(k);
            git::locate(&git::Environment {
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
    /// `gitsign.*` keys of git's config that name no setting, as git spells them.
    unknown: Vec<String>,
}

/// One resolved setting, for `gitsign version`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Setting {
    pub key: &'static str,
    pub value: String,
    pub source: String,
}

/// The Rekor API signatures are logged with (`gitsign.rekorVersion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RekorVersion {
    /// The REST API of Rekor v1 (`POST /api/v1/log/entries`).
    V1,
    /// Rekor v2 (rekor-tiles).
    V2,
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

/// The known key closest to `unknown` (case-insensitive edit distance at most 2, or a third
/// of its length), if any.
fn did_you_mean(unknown: &str) -> Option<&'static str> {
    let lower = unknown.to_ascii_lowercase();
    TABLE
        .iter()
        .map(|r| (edit_distance(&lower, &r.1.to_ascii_lowercase()), r.1))
        .filter(|(d, _)| *d <= 2.max(lower.len() / 3).min(4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

/// Levenshtein distance over bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
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
        let mut unknown: Vec<String> = Vec::new();
        for (k, _) in git {
            let known = TABLE.iter().any(|r| r.1.eq_ignore_ascii_case(k));
            let gitsign = k
                .get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case("gitsign."));
            if gitsign && !known && !unknown.iter().any(|u| u.eq_ignore_ascii_case(k)) {
                unknown.push(k.clone());
            }
        }
        Config { values, unknown }
    }

    /// One warning per `gitsign.*` key that names no setting (a typo is otherwise silently
    /// ignored, as Go gitsign ignores it), with the closest known key when one is close.
    pub fn warnings(&self) -> Vec<String> {
        self.unknown
            .iter()
            .map(|k| match did_you_mean(k) {
                Some(near) => {
                    format!("unknown git config key '{k}' is ignored; did you mean '{near}'?")
                }
                None => format!("unknown git config key '{k}' is ignored"),
            })
            .collect()
    }

    /// Go gitsign's checks at start-up, which fail every command: `rekorVersion` must be 1
    /// or 2, and may be set only while `enableSigstoreGo` is on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.rekor_version().map(|_| ())
    }

    /// Read git's config (what `git config --get-regexp '^gitsign\.'` prints) and the
    /// process environment. No process is spawned (issue #7): `gitsign verify` of one commit
    /// went from 5.0-6.3 ms to 3.3-3.8 ms wall time (perf stat, 100 runs).
    pub fn load() -> Result<Config, ConfigError> {
        let cwd = std::env::current_dir().map_err(|e| ConfigError::CurrentDir(e.to_string()))?;
        let var = |k: &str| std::env::var_os(k);
        let env = git::Environment {
            cwd: &cwd,
            var: &var,
        };
        let entries = match std::env::var_os("GIT_CONFIG") {
            Some(_) => git::read(&env),
            None => git::read_in(&env, repository()?),
        }
        .map_err(ConfigError::GitConfig)?;
        let config = Config::resolve(&git::setting_pairs(&entries), |k| std::env::var(k).ok());
        config.validate()?;
        Ok(config)
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

    /// Where the value of `key` came from (the default when unset).
    pub fn origin(&self, key: Key) -> Source {
        self.source(key).cloned().unwrap_or(Source::Default)
    }

    pub fn source(&self, key: Key) -> Option<&Source> {
        self.values.get(&key).map(|(_, s)| s)
    }

    /// Every setting with a value, with its source, in table order (for `gitsign version`).
    pub fn describe(&self) -> Vec<Setting> {
        Key::ALL
            .iter()
            .filter_map(|k| {
                let (v, s) = self.values.get(k)?;
                Some(Setting {
                    key: k.git_name(),
                    value: v.clone(),
                    source: s.to_string(),
                })
            })
            .collect()
    }

    /// The value, or the table's default when the key is set to nothing; for keys that have
    /// a default, so callers never write one of their own.
    pub fn text(&self, key: Key) -> &str {
        self.get(key).or(row(key).4).unwrap_or_default()
    }

    /// A positive count with its table default.
    pub fn count(&self, key: Key) -> Result<u64, ConfigError> {
        match self.positive_int(key)? {
            Some(n) => Ok(n),
            None => Ok(row(key)
                .4
                .and_then(|d| d.parse().ok())
                .expect("every count key has a numeric default because a unit test checks it")),
        }
    }

    /// A positive number of seconds with its table default.
    pub fn seconds(&self, key: Key) -> Result<std::time::Duration, ConfigError> {
        self.count(key).map(std::time::Duration::from_secs)
    }

    /// `gitsign.rekorVersion` / `SIGSTORE_REKOR_VERSION` / `GITSIGN_REKOR_VERSION`, checked
    /// as Go gitsign checks it.
    pub fn rekor_version(&self) -> Result<RekorVersion, ConfigError> {
        let version = match self.get(Key::RekorVersion).map(str::trim) {
            None | Some("1") => RekorVersion::V1,
            Some("2") => RekorVersion::V2,
            Some(_) => return Err(self.invalid(Key::RekorVersion, "expected 1 or 2")),
        };
        match self.source(Key::RekorVersion) {
            Some(Source::Default) | None => {}
            Some(origin) if !self.bool(Key::EnableSigstoreGo)? => {
                return Err(ConfigError::RekorVersionWithoutSigstoreGo {
                    key: "gitsign.rekorVersion",
                    origin: origin.clone(),
                })
            }
            Some(_) => {}
        }
        Ok(version)
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

    /// A boolean in git's spellings (true/false, yes/no, on/off, 1/0); the table default
    /// when unset or set to nothing.
    pub fn bool(&self, key: Key) -> Result<bool, ConfigError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(row(key).4 == Some("true")),
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
    use crate::test_env::env;

    #[test]
    fn every_key_has_exactly_one_row_and_typed_defaults_parse() {
        assert_eq!(
            TABLE.len(),
            Key::ALL.len(),
            "one row per key, no row without a key"
        );
        for (key, r) in Key::ALL.iter().zip(TABLE) {
            assert_eq!(r.0, *key, "Key::ALL lists the keys in table order");
            assert!(
                r.1.starts_with("gitsign.") || r.1.starts_with("gpg.ssh."),
                "{} is a gitsign.* key or one of git's gpg.ssh.* keys",
                r.1
            );
            assert_eq!(
                TABLE
                    .iter()
                    .filter(|o| o.1.eq_ignore_ascii_case(r.1))
                    .count(),
                1,
                "{} appears once",
                r.1
            );
        }
        let c = Config::resolve(&[], env(&[]));
        for key in [
            Key::AutocloseTimeout,
            Key::Timeout,
            Key::RekorConcurrency,
            Key::RekorDeadline,
            Key::LoginTimeout,
            Key::TufCacheValidity,
        ] {
            assert!(c.count(key).is_ok(), "{key:?} has a numeric default");
        }
        for key in [
            Key::MatchCommitter,
            Key::Autoclose,
            Key::InsecureIgnoreTlog,
            Key::InsecureIgnoreSct,
            Key::EnableSigstoreGo,
        ] {
            assert!(c.bool(key).is_ok(), "{key:?} has a boolean default");
        }
        assert_eq!(c.rekor_mode(), Ok(RekorMode::Offline));
        assert_eq!(c.rekor_version(), Ok(RekorVersion::V1));
        assert_eq!(c.cache_scope(), Ok(CacheScope::Directory));
        assert_eq!(c.credential_store(), Ok(CredentialStore::Agent));
        assert_eq!(
            c.seconds(Key::Timeout),
            Ok(std::time::Duration::from_secs(30)),
            "one request timeout, 30 s as Go's clients, for signing and lookups"
        );
        assert_eq!(c.bool(Key::Autoclose), Ok(true), "Go's autoclose default");
        assert_eq!(c.text(Key::ClientId), "sigstore", "Go's client id");
        let blank = Config::resolve(&[("gitsign.timeout".into(), "".into())], env(&[]));
        assert_eq!(
            blank.seconds(Key::Timeout),
            Ok(std::time::Duration::from_secs(30)),
            "a key set to nothing takes the table default"
        );
    }

    #[test]
    fn rekor_version_is_validated_as_go_gitsign_does() {
        let c = Config::resolve(&[], env(&[("GITSIGN_REKOR_VERSION", "2")]));
        assert_eq!(
            c.rekor_version(),
            Ok(RekorVersion::V2),
            "2 selects Rekor v2"
        );
        let c = Config::resolve(
            &[("gitsign.rekorVersion".into(), "2".into())],
            env(&[("SIGSTORE_REKOR_VERSION", "1")]),
        );
        assert_eq!(
            c.rekor_version(),
            Ok(RekorVersion::V1),
            "SIGSTORE_REKOR_VERSION beats git config"
        );
        let c = Config::resolve(
            &[],
            env(&[
                ("SIGSTORE_REKOR_VERSION", "1"),
                ("GITSIGN_REKOR_VERSION", "2"),
            ]),
        );
        assert_eq!(c.rekor_version(), Ok(RekorVersion::V2), "GITSIGN_* wins");
        for bad in ["3", "0", "v2", "-1", "two"] {
            let c = Config::resolve(&[], env(&[("GITSIGN_REKOR_VERSION", bad)]));
            assert_eq!(
                c.validate().map_err(|e| e.to_string()),
                Err(format!(
                    "invalid value '{bad}' for GITSIGN_REKOR_VERSION: expected 1 or 2"
                )),
                "Go refuses rekorVersion {bad}"
            );
        }
        let c = Config::resolve(
            &[
                ("gitsign.enableSigstoreGo".into(), "false".into()),
                ("gitsign.rekorVersion".into(), "1".into()),
            ],
            env(&[]),
        );
        let err = c
            .validate()
            .expect_err("rekorVersion needs enableSigstoreGo");
        assert!(
            err.to_string()
                .contains("can only be set when gitsign.enableSigstoreGo=true"),
            "Go's rule, Go's words: {err}"
        );
        let c = Config::resolve(
            &[("gitsign.enableSigstoreGo".into(), "false".into())],
            env(&[]),
        );
        assert_eq!(c.validate(), Ok(()), "enableSigstoreGo=false alone is fine");
        let c = Config::resolve(&[], env(&[("GITSIGN_ENABLE_SIGSTORE_GO", "maybe")]));
        assert!(
            c.bool(Key::EnableSigstoreGo).is_err(),
            "a non-boolean is an error, not false"
        );
    }

    #[test]
    fn unknown_gitsign_keys_warn_once_with_the_nearest_key() {
        let git = vec![
            ("gitsign.rekormod".to_owned(), "online".to_owned()),
            ("gitsign.REKORMOD".to_owned(), "offline".to_owned()),
            ("gitsign.fulcio".to_owned(), "https://f".to_owned()),
            ("gitsign.zzzzzzzzzzzz".to_owned(), "1".to_owned()),
            ("user.email".to_owned(), "a@b".to_owned()),
        ];
        let c = Config::resolve(&git, env(&[]));
        assert_eq!(
            c.warnings(),
            vec![
                "unknown git config key 'gitsign.rekormod' is ignored; did you mean 'gitsign.rekorMode'?"
                    .to_owned(),
                "unknown git config key 'gitsign.zzzzzzzzzzzz' is ignored".to_owned(),
            ],
            "one warning per unknown key, a suggestion only when one is close"
        );
        assert_eq!(
            c.rekor_mode(),
            Ok(RekorMode::Offline),
            "the typo sets nothing"
        );
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
