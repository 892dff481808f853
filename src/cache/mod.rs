//! The credential cache (issue 6): one login serves many signatures while the certificate
//! lasts. A signer asks the cache for the ephemeral key and Fulcio chain kept under its
//! [`CacheKey`]; on a miss it logs in as usual and hands the fresh credential back.
//!
//! - [`protocol`]: the versioned, length-prefixed wire format (pure).
//! - [`server`]: the `gitsign-credential-cache` daemon — socket setup, peer uid check, the
//!   in-memory table with its expiry rule.
//! - [`client`]: what gitsign runs against the daemon's socket.
//! - [`keyring`]: the alternative OS keyring store (`gitsign.credentialStore = keyring`).
//!
//! The rule both stores follow: a credential whose certificate has less than
//! [`MIN_VALIDITY_SECS`] left is never handed out (it is dropped, and its key wiped). A
//! credential that comes back is checked again before use — its key must match the
//! certificate and the chain must verify against the trust root now — so a stale, foreign or
//! corrupted entry costs a login, never a bad signature. Keys never reach a disk or a log.

#[cfg(unix)]
pub mod client;
pub mod keyring;
pub mod protocol;
#[cfg(unix)]
pub mod server;

use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::config::{CacheScope, Config, ConfigError, CredentialStore, Key};
use crate::http::Http;
use crate::key::EphemeralKey;
use crate::sign::flow::{self, Credentials, FlowError, Request};
use crate::trust::TrustedRoot;
use crate::x509::Cert;
pub use protocol::Credential;

/// A credential is never handed out with less than this left on its certificate: signing,
/// logging and git's own work must finish while it is valid.
pub const MIN_VALIDITY_SECS: i64 = 30;

/// What a cached credential is filed under: the Sigstore configuration that produced it and,
/// with [`CacheScope::Directory`] (the default, like Go gitsign), the working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    pub fulcio_url: String,
    pub issuer: String,
    pub client_id: String,
    pub connector_id: String,
    pub directory: Option<String>,
}

impl CacheKey {
    /// Read the key's parts from the configuration; `directory` is the working directory.
    pub fn from_config(
        config: &Config,
        directory: Option<String>,
    ) -> Result<CacheKey, ConfigError> {
        let directory = match config.cache_scope()? {
            CacheScope::Directory => directory,
            CacheScope::User => None,
        };
        let get = |k| config.get(k).unwrap_or_default().to_owned();
        Ok(CacheKey {
            fulcio_url: get(Key::Fulcio),
            issuer: get(Key::Issuer),
            client_id: get(Key::ClientId),
            connector_id: get(Key::ConnectorId),
            directory,
        })
    }

    /// Unambiguous bytes: a tag, then each part length-prefixed (no separator can collide).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = b"gitsign-cache-key/1".to_vec();
        let dir = self.directory.as_deref();
        for part in [
            Some(self.fulcio_url.as_str()),
            Some(self.issuer.as_str()),
            Some(self.client_id.as_str()),
            Some(self.connector_id.as_str()),
            dir,
        ] {
            match part {
                Some(p) => {
                    out.push(1);
                    out.extend_from_slice(&(p.len() as u32).to_be_bytes());
                    out.extend_from_slice(p.as_bytes());
                }
                None => out.push(0),
            }
        }
        out
    }
}

/// Where this signer looks for cached credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cache {
    /// No cache: every signature logs in.
    Off,
    /// The daemon listening on this socket (`GITSIGN_CREDENTIAL_CACHE`).
    Agent(PathBuf),
    /// The OS keyring.
    Keyring,
}

impl Cache {
    pub fn from_config(config: &Config) -> Result<Cache, ConfigError> {
        Ok(match config.credential_store()? {
            CredentialStore::Keyring => Cache::Keyring,
            CredentialStore::Agent => match config.get(Key::CredentialCache) {
                Some(p) => Cache::Agent(PathBuf::from(p)),
                None => Cache::Off,
            },
        })
    }

    fn describe(&self) -> String {
        match self {
            Cache::Off => "no credential cache".to_owned(),
            Cache::Agent(p) => format!("the credential cache at '{}'", p.display()),
            Cache::Keyring => "the OS keyring".to_owned(),
        }
    }

    /// A credential with at least [`MIN_VALIDITY_SECS`] left, if the store holds one.
    pub fn lookup(&self, key: &CacheKey, now: i64) -> Result<Option<Credential>, CacheError> {
        match self {
            Cache::Off => Ok(None),
            #[cfg(unix)]
            Cache::Agent(path) => client::get(path, &key.to_bytes()).map_err(CacheError::Agent),
            #[cfg(not(unix))]
            Cache::Agent(_) => Err(CacheError::Unsupported),
            Cache::Keyring => keyring::get(&key.to_bytes(), now).map_err(CacheError::Keyring),
        }
    }

    pub fn store(
        &self,
        key: &CacheKey,
        credential: &Credential,
        now: i64,
    ) -> Result<(), CacheError> {
        match self {
            Cache::Off => Ok(()),
            #[cfg(unix)]
            Cache::Agent(path) => {
                client::put(path, &key.to_bytes(), credential).map_err(CacheError::Agent)
            }
            #[cfg(not(unix))]
            Cache::Agent(_) => Err(CacheError::Unsupported),
            Cache::Keyring => {
                keyring::put(&key.to_bytes(), credential, now).map_err(CacheError::Keyring)
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[cfg(unix)]
    #[error(transparent)]
    Agent(client::ClientError),
    #[error(transparent)]
    Keyring(keyring::KeyringError),
    #[error("the credential cache daemon needs Unix domain sockets")]
    Unsupported,
}

/// Why a cached credential was not used.
#[derive(Debug, thiserror::Error)]
pub enum Stale {
    #[error("the certificate has {left} s left, less than the {min} s minimum")]
    Expiring { left: i64, min: i64 },
    #[error("the cached certificate is malformed")]
    Certificate(#[source] crate::x509::CertError),
    #[error("the cached private key is not a P-256 PKCS#8 key")]
    Key,
    #[error("the cached certificate is no longer valid for this trust root")]
    Untrusted(#[source] crate::fulcio::FulcioError),
}

/// The leaf's `notAfter` if it has at least `min` seconds left at `now`.
pub fn check_validity(credential: &Credential, now: i64, min: i64) -> Result<i64, Stale> {
    let leaf_der = credential
        .chain
        .first()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let leaf = Cert::parse(leaf_der).map_err(Stale::Certificate)?;
    let left = leaf.not_after.saturating_sub(now);
    if left < min {
        return Err(Stale::Expiring { left, min });
    }
    Ok(leaf.not_after)
}

/// What the cache keeps of fresh credentials.
pub fn to_cached(creds: &Credentials) -> Credential {
    let mut chain = vec![creds.issued.leaf.der.clone()];
    chain.extend(creds.issued.chain.iter().map(|c| c.der.clone()));
    Credential {
        private_key: Zeroizing::new(creds.key.pkcs8().to_vec()),
        chain,
    }
}

/// Credentials from a cached entry, checked as a fresh certificate is: enough time left, the
/// key is the certificate's, the chain verifies against `root` now, the SCT is valid.
pub fn from_cached(
    credential: &Credential,
    root: &TrustedRoot,
    now: i64,
) -> Result<Credentials, Stale> {
    check_validity(credential, now, MIN_VALIDITY_SECS)?;
    let mut certs = Vec::with_capacity(credential.chain.len());
    for der in &credential.chain {
        certs.push(Cert::parse(der).map_err(Stale::Certificate)?);
    }
    let (leaf, extra) = certs.split_first().ok_or(Stale::Key)?;
    let key = EphemeralKey::from_pkcs8(credential.private_key.clone()).map_err(|_| Stale::Key)?;
    let issued = crate::fulcio::check(leaf, extra, &key, root, now).map_err(Stale::Untrusted)?;
    let sans = issued.leaf.subject_alt_names();
    let email = sans
        .iter()
        .find(|(kind, _)| *kind == "email")
        .map(|(_, v)| v.clone());
    let identity = email
        .clone()
        .or_else(|| sans.first().map(|(_, v)| v.clone()))
        .unwrap_or_default();
    Ok(Credentials {
        key,
        issued,
        identity,
        email,
    })
}

/// Credentials for one signature: the cache's if it holds usable ones, else a fresh login
/// whose result is handed to the cache. Trouble with the cache is said once and costs a login,
/// never the signature.
pub fn credentials(
    cache: &Cache,
    key: &CacheKey,
    http: &Http,
    req: &Request<'_>,
    env: &dyn Fn(&str) -> Option<String>,
    say: &mut dyn FnMut(&str),
    now: &dyn Fn() -> i64,
) -> Result<Credentials, FlowError> {
    // A token the user gave explicitly names who signs: it is obtained first, and a cached
    // credential of anyone else is not used (the token's identity gets its own certificate).
    let explicit = match crate::oidc::explicit_provider(req.oidc, env) {
        Ok(Some(_)) => Some(
            crate::oidc::identity(http, req.oidc, env, say, now()).map_err(FlowError::Identity)?,
        ),
        Ok(None) => None,
        Err(e) => return Err(FlowError::Identity(e)),
    };
    let mut reachable = true;
    let mut keep = true;
    match cache.lookup(key, now()) {
        Ok(None) => {}
        Ok(Some(cached)) => match from_cached(&cached, req.root, now()) {
            Ok(creds) if explicit.as_ref().is_some_and(|id| !same_identity(&creds, id)) => {
                // The entry stays: a one-off token must not become what later logins-free
                // signatures in this scope are made with.
                keep = false;
                say(&format!(
                    "gitsign: the cached credentials are for '{}', not the identity of the token given ('{}'); signing with the token\n",
                    crate::text::escape(&creds.identity),
                    crate::text::escape(explicit.as_ref().map_or("", |id| id.claims.pop_subject())),
                ))
            }
            Ok(creds) if flow::check_credentials(req, &creds).is_ok() => return Ok(creds),
            Ok(creds) => say(&format!(
                "gitsign: the cached credentials are for '{}', not the committer; signing in again\n",
                crate::text::escape(&creds.identity)
            )),
            Err(why) => say(&format!("gitsign: the cached credentials are stale ({}); signing in again\n", chain_text(&why))),
        },
        Err(e) => {
            reachable = false;
            say(&format!("gitsign: {} is unavailable ({}); signing in again\n", cache.describe(), chain_text(&e)));
        }
    }
    let fresh = match &explicit {
        Some(id) => flow::login_with(http, req, id, now)?,
        None => flow::login(http, req, env, say, now)?,
    };
    if reachable && keep && *cache != Cache::Off {
        if let Err(e) = cache.store(key, &to_cached(&fresh), now()) {
            say(&format!(
                "gitsign: could not keep the credentials in {} ({})\n",
                cache.describe(),
                chain_text(&e)
            ));
        }
    }
    Ok(fresh)
}

/// Whether cached credentials are those a token would get: the token has an email (Fulcio
/// then names only that email) and the certificate names the same email from the same issuer.
/// A token without an email gets a certificate whose names Fulcio derives from its claims, so
/// it is never taken to match: it costs a certificate, never a signature by someone else.
fn same_identity(creds: &Credentials, id: &crate::oidc::Identity) -> bool {
    let Some(email) = id.claims.email.as_deref() else {
        return false;
    };
    creds.email.as_deref() == Some(email)
        && creds.issued.leaf.oidc_issuer().as_deref() == Some(id.claims.issuer.as_str())
}

/// An error and its causes on one line, escaped (causes may quote the daemon or a server).
fn chain_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    crate::text::escape(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_env::env;

    fn key(dir: Option<&str>) -> CacheKey {
        CacheKey {
            fulcio_url: "https://f".into(),
            issuer: "https://i".into(),
            client_id: "sigstore".into(),
            connector_id: String::new(),
            directory: dir.map(str::to_owned),
        }
    }

    #[test]
    fn cache_keys_separate_directories_unless_the_scope_is_user() {
        assert_ne!(
            key(Some("/a")).to_bytes(),
            key(Some("/b")).to_bytes(),
            "two repositories, two entries"
        );
        assert_ne!(
            key(Some("")).to_bytes(),
            key(None).to_bytes(),
            "an empty directory is not the user scope"
        );
        let mut moved = key(None);
        moved.issuer = "https://isigstore".into();
        moved.client_id = String::new();
        assert_ne!(
            moved.to_bytes(),
            key(None).to_bytes(),
            "parts cannot run into each other"
        );
        let dir = Some("/repo".to_owned());
        let c = Config::resolve(&[], env(&[]));
        assert_eq!(
            CacheKey::from_config(&c, dir.clone())
                .expect("key")
                .directory
                .as_deref(),
            Some("/repo"),
            "directory scope by default"
        );
        let c = Config::resolve(&[], env(&[("GITSIGN_CACHE_SCOPE", "user")]));
        assert_eq!(
            CacheKey::from_config(&c, dir).expect("key").directory,
            None,
            "the user scope drops the directory"
        );
    }

    #[test]
    fn the_store_follows_the_configuration() {
        let c = Config::resolve(&[], env(&[]));
        assert_eq!(
            Cache::from_config(&c).expect("cache"),
            Cache::Off,
            "no socket, no cache"
        );
        let c = Config::resolve(&[], env(&[("GITSIGN_CREDENTIAL_CACHE", "/s")]));
        assert_eq!(
            Cache::from_config(&c).expect("cache"),
            Cache::Agent(PathBuf::from("/s")),
            "the socket Go gitsign's variable names"
        );
        let c = Config::resolve(&[], env(&[("GITSIGN_CREDENTIAL_STORE", "keyring")]));
        assert_eq!(
            Cache::from_config(&c).expect("cache"),
            Cache::Keyring,
            "the keyring needs no socket"
        );
    }

    #[test]
    fn a_credential_without_a_parsable_leaf_is_stale() {
        let c = Credential {
            private_key: Zeroizing::new(vec![1]),
            chain: vec![b"not DER".to_vec()],
        };
        assert!(
            matches!(
                check_validity(&c, 0, MIN_VALIDITY_SECS),
                Err(Stale::Certificate(_))
            ),
            "garbage is not served"
        );
    }
}
