//! A local Sigstore stack on loopback, for gitsign's tests, scripts and the README demo.
//!
//! One small blocking HTTP server on 127.0.0.1 serves four services faithful to the public
//! wire formats:
//!
//! - [`oidc`]: an OpenID Connect issuer (discovery, JWKS, ES256 ID tokens, authorization code
//!   and PKCE S256 auto-approving one configured identity, RFC 8628 device flow, a mint
//!   endpoint for `SIGSTORE_ID_TOKEN`, and a GitHub Actions–style token endpoint) under
//!   `/oidc` and `/actions`;
//! - [`fulcio`]: a Fulcio-compatible CA (`/api/v2/signingCert`, legacy `/api/v1/signingCert`,
//!   `/api/v2/trustBundle`) issuing leaves with embedded SCTs ([`ca`]);
//! - [`rekor`]: a Rekor v1–compatible transparency log over a durable RFC 6962 tree ([`merkle`]);
//! - [`rekor_v2`]: Rekor v2 (rekor-tiles) log shards under `/rekor-v2/<shard>/` (write API,
//!   signed checkpoints, tlog-tiles read API), one per shard the TUF repository announces;
//! - [`tsa`]: an RFC 3161 timestamp authority at `/api/v1/timestamp`;
//! - [`tuf`]: a TUF repository at `/tuf/` distributing the stack's `trusted_root.json` and
//!   `signing_config.v0.2.json`, with operator and attacker actions ([`tuf::Action`]).
//!
//! [`Stack::start`] binds the port, writes `trusted_root.json` and `env` into the state
//! directory ([`trust`]) and serves until the [`Stack`] is dropped. Faults can be switched
//! per service ([`Faults`]: status, delay, malformed body, wrong signature — [`fault`]) and
//! every endpoint counts its requests.
//!
//! Why blocking: the stack answers a handful of requests per test; a thread per request over
//! `tiny_http` needs no runtime to start inside synchronous tests, and stopping it is a flag
//! and a join. gitsign's own client is blocking `ureq` for the same reason.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod ca;
pub mod fault;
pub mod fulcio;
pub mod http;
pub mod keys;
pub mod merkle;
pub mod oidc;
pub mod rekor;
pub mod rekor_v2;
pub mod trust;
pub mod tsa;
pub mod tuf;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use http::{Faults, Service};
pub use keys::KeyShape;

/// Why the stack could not start or a state file could not be used.
#[derive(Debug)]
pub enum Error {
    /// Reading or writing a state file failed.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A state file exists but cannot be used.
    State(String),
    /// Encoding or decoding DER failed.
    Der(String),
    /// The listener could not be bound.
    Bind(String),
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn der(e: impl std::fmt::Display) -> Self {
        Error::Der(e.to_string())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "cannot use '{}': {source}", path.display()),
            Error::State(m) => write!(f, "invalid state: {m}"),
            Error::Der(m) => write!(f, "DER encoding failed: {m}"),
            Error::Bind(m) => write!(f, "cannot listen: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// How to start a stack.
#[derive(Debug, Clone)]
pub struct Options {
    /// Keys, certificates and the log live here; reuse it to restart the same stack.
    pub state_dir: PathBuf,
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The email the issuer approves in the browser and device flows.
    pub identity: String,
    /// OAuth client id the issuer accepts and the token audience Fulcio requires.
    pub client_id: String,
    /// RFC 8628 polling interval handed to device clients (1 s keeps tests quick; public
    /// issuers use 5 s). `slow_down` adds this much again each time.
    pub device_interval: Duration,
    /// RFC 8628 `expires_in` of a device code.
    pub device_code_ttl: Duration,
    /// The bearer token the GitHub Actions–style endpoint requires.
    pub actions_request_token: String,
    /// How long each TUF timestamp the stack publishes is valid (1 day; tests of expiry
    /// use seconds).
    pub tuf_timestamp_ttl: Duration,
    /// Curves of the Fulcio CA keys. `None` (the default) takes [`KeyShape::ENV`]
    /// (`SIGSTORE_LOCAL_KEY_SHAPE=p256` or `public-good`), public-good's P-384 when unset.
    pub key_shape: Option<KeyShape>,
}

impl Options {
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            state_dir: state_dir.into(),
            port: 0,
            identity: "dev@example.com".to_string(),
            client_id: "sigstore".to_string(),
            device_interval: Duration::from_secs(1),
            device_code_ttl: Duration::from_secs(300),
            actions_request_token: "sigstore-local-actions-request-token".to_string(),
            tuf_timestamp_ttl: Duration::from_secs(86_400),
            key_shape: None,
        }
    }
}

/// A running stack; dropping it stops the server and joins its thread.
pub struct Stack {
    shared: Arc<http::Shared>,
    server: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
    base_url: String,
    state_dir: PathBuf,
}

impl Stack {
    /// Load or create the state, bind 127.0.0.1:`port`, write `trusted_root.json` and `env`,
    /// and start serving.
    pub fn start(options: Options) -> Result<Stack, Error> {
        let state_dir = options.state_dir.clone();
        std::fs::create_dir_all(&state_dir).map_err(|e| Error::io(&state_dir, e))?;
        let bind =
            |e: &dyn std::fmt::Display| Error::Bind(format!("127.0.0.1:{}: {e}", options.port));
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", options.port)).map_err(|e| bind(&e))?;
        // tiny_http writes a response's headers and a body over 1 KiB in two segments; with
        // Nagle on, the body waits for the client's delayed ACK of the headers, ~40 ms per
        // answer on a kept-alive connection (scripts/bench-memory signed 22 commits/s over one
        // connection, ~330/s without the stall). Accepted sockets inherit TCP_NODELAY from
        // the listener (Linux, BSDs).
        #[cfg(unix)]
        rustix::net::sockopt::set_tcp_nodelay(&listener, true).map_err(|e| bind(&e))?;
        let server = tiny_http::Server::from_listener(listener, None).map_err(|e| bind(&e))?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| Error::Bind("listener has no IP address".into()))?;
        let base_url = format!("http://127.0.0.1:{port}");
        let shared = Arc::new(http::Shared::load(&options, &base_url)?);
        trust::write_state_files(&shared, &state_dir)?;

        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (server, stop, shared) = (server.clone(), stop.clone(), shared.clone());
            std::thread::Builder::new()
                .name("sigstore-local-accept".into())
                .spawn(move || http::accept_loop(&server, &stop, &shared))
                .map_err(|e| Error::Bind(format!("cannot spawn the accept thread: {e}")))?
        };
        Ok(Stack {
            shared,
            server,
            stop,
            acceptor: Some(acceptor),
            base_url,
            state_dir,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn port(&self) -> u16 {
        self.base_url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// `GITSIGN_FULCIO_URL`.
    pub fn fulcio_url(&self) -> String {
        self.base_url.clone()
    }

    /// `GITSIGN_REKOR_URL`.
    pub fn rekor_url(&self) -> String {
        self.base_url.clone()
    }

    /// `GITSIGN_OIDC_ISSUER`: the email issuer the browser/device flows use.
    pub fn oidc_issuer(&self) -> String {
        self.shared.oidc.issuer_url().to_string()
    }

    /// The issuer of GitHub Actions–style tokens.
    pub fn actions_issuer(&self) -> String {
        self.shared.oidc.actions_issuer_url().to_string()
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_URL` for a simulated GitHub Actions job.
    pub fn actions_token_request_url(&self) -> String {
        format!("{}/token", self.shared.oidc.actions_issuer_url())
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN` for a simulated GitHub Actions job.
    pub fn actions_request_token(&self) -> String {
        self.shared.oidc.actions_request_token().to_string()
    }

    /// `GITSIGN_TIMESTAMP_SERVER_URL`.
    pub fn timestamp_url(&self) -> String {
        format!("{}/api/v1/timestamp", self.base_url)
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// `GITSIGN_TRUSTED_ROOT`: `<state-dir>/trusted_root.json`.
    pub fn trusted_root_path(&self) -> PathBuf {
        self.state_dir.join(trust::TRUSTED_ROOT_FILE)
    }

    /// The trusted root as JSON (Sigstore trusted-root v0.1).
    pub fn trusted_root_json(&self) -> serde_json::Value {
        trust::trusted_root(&self.shared)
    }

    /// The TUF mirror URL, `http://127.0.0.1:PORT/tuf`.
    pub fn tuf_mirror_url(&self) -> String {
        format!("{}/tuf", self.base_url)
    }

    /// The TUF repository directory, for a `file://` mirror.
    pub fn tuf_repo_dir(&self) -> PathBuf {
        self.shared.tuf.dir().to_path_buf()
    }

    /// `<state-dir>/tuf_root.json`: version 1 of the TUF root, the client's trust anchor.
    pub fn tuf_root_path(&self) -> PathBuf {
        self.state_dir.join(tuf::TUF_ROOT_FILE)
    }

    /// How long TUF timestamps published from now on are valid.
    pub fn set_tuf_timestamp_ttl(&self, ttl: Duration) {
        self.shared.tuf.set_timestamp_ttl(ttl);
    }

    /// The published version of a TUF role (`root`, `timestamp`, `snapshot`, `targets`).
    pub fn tuf_version(&self, role: &str) -> u64 {
        self.shared.tuf.version(role)
    }

    /// Change the TUF repository (rotate a key, add a Rekor v2 shard, expire the timestamp,
    /// or publish hostile metadata) and republish; also `trusted_root.json` on disk.
    pub fn tuf_apply(&self, action: &tuf::Action) -> Result<(), Error> {
        http::apply_tuf(&self.shared, action)?;
        trust::write_state_files(&self.shared, &self.state_dir)
    }

    /// `<state-dir>/env`: `export NAME=value` lines.
    pub fn env_path(&self) -> PathBuf {
        self.state_dir.join(trust::ENV_FILE)
    }

    /// The variables written to the env file, in order.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        trust::env_vars(&self.shared, &self.state_dir)
    }

    /// An ID token from the email issuer for `identity` (audience = client id, 10 minutes).
    pub fn mint_token(&self, identity: &str) -> String {
        self.shared.oidc.mint(&oidc::TokenRequest::email(identity))
    }

    /// An ID token with any claims the request describes (expired, unverified, other audience…).
    pub fn mint_token_with(&self, request: &oidc::TokenRequest) -> String {
        self.shared.oidc.mint(request)
    }

    /// Change the identity the issuer approves from now on.
    pub fn set_identity(&self, identity: &str) {
        self.shared.oidc.set_identity(identity);
    }

    /// Switch faults on for `service` (replaces its previous faults).
    pub fn set_faults(&self, service: Service, faults: Faults) {
        self.shared.set_faults(service, faults);
    }

    /// Switch every fault off.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// Requests served per endpoint, keyed `"METHOD /route"` (e.g. `"POST /api/v2/signingCert"`).
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.shared.counts()
    }

    /// Requests served by one endpoint (`"POST /api/v2/signingCert"`), 0 if never called.
    pub fn request_count(&self, endpoint: &str) -> u64 {
        self.shared.counts().get(endpoint).copied().unwrap_or(0)
    }

    /// Requests served by every endpoint of `service`.
    pub fn service_request_count(&self, service: Service) -> u64 {
        self.shared.service_count(service)
    }

    /// Number of entries in the transparency log.
    pub fn log_size(&self) -> u64 {
        self.shared.rekor.size()
    }

    /// Current Rekor tree head (hex).
    pub fn log_root_hash(&self) -> String {
        self.shared.rekor.root_hex()
    }

    /// The base URL of the newest Rekor v2 shard (`…/rekor-v2/shard-N`), for
    /// `GITSIGN_REKOR_URL` with `gitsign.rekorVersion=2`.
    pub fn rekor_v2_url(&self) -> String {
        let shards = self.shared.tuf.shards();
        match shards.last() {
            Some(sh) => trust::shard_url(&self.shared, sh),
            None => format!("{}{}shard-1", self.base_url, rekor_v2::PREFIX),
        }
    }

    /// Entries in the newest Rekor v2 shard.
    pub fn rekor_v2_size(&self) -> u64 {
        self.shared
            .tuf
            .shards()
            .last()
            .map_or(0, |sh| self.shared.rekor_v2.size(sh))
    }

    /// The PEM chain [intermediate, root] of the CA.
    pub fn fulcio_chain_pem(&self) -> Vec<String> {
        self.shared.ca.chain_pem()
    }

    /// Stop serving and join the accept thread (also done on drop).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Shared by the binary and tests: a `Mutex` that survives a panicking holder.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
