//! Trust that follows Sigstore through TUF: the trusted root (`trusted_root.json`) and the
//! signing config (`signing_config.v0.2.json`) from a TUF repository, by default Sigstore's
//! public-good one at <https://tuf-repo-cdn.sigstore.dev>, starting from the `root.json`
//! embedded here (version 15 of sigstore/root-signing) or one given to `gitsign initialize`.
//!
//! Why our own client: `tough`, the maintained Rust TUF client, is async since 0.17 (tokio,
//! futures, reqwest); gitsign is a blocking one-shot CLI on `ureq`. The workflow in
//! [`updater`] follows the specification's client workflow step by step (root rotation walk,
//! timestamp → snapshot → targets → delegated targets, rollback, mix-and-match, expiry,
//! hashes, lengths, size limits) over [`metadata`] (pure parsing and threshold checks) and
//! [`canonical`] (the signed bytes). It passes the TUF conformance suite
//! (`scripts/tuf-conformance`, through `tests/tuf-conformance-client`), and is cross-checked
//! against python-tuf with the local stack's repository (`tests/sigstore-local`) and against
//! the real public-good metadata (`tests/data`).
//!
//! Cache: `$TUF_ROOT/gitsign-rs/` (`$TUF_ROOT` defaults to `~/.sigstore/root`, as in Go
//! gitsign and cosign): `remote.json` (`{"mirror": URL}`, written by `gitsign initialize`) and
//! one directory per mirror named as sigstore-go names it, holding `root.json`,
//! `timestamp.json`, `snapshot.json`, `targets.json` and `targets/`. Go's own files in
//! `$TUF_ROOT` are left alone: its layout differs (sigstore-go's and the legacy client's), and
//! a shared directory would let one client's half-written update confuse the other.
//!
//! Until `gitsign initialize` ran there is no `remote.json` and nothing here is used: the
//! embedded trusted root applies, with no network. Once initialized, an unexpired cache
//! works offline; expired metadata is refreshed from the mirror, and the new metadata reaches
//! the cache only together with the targets it vouches for. If that fails, verification
//! falls back to the mirror's last verified trusted root with a note (to the embedded one
//! only for the public-good mirror), and signing refuses.

pub mod canonical;
pub mod metadata;
pub mod signing_config;
pub mod updater;

use std::path::{Path, PathBuf};
use std::time::Duration;

use metadata::Role;
use updater::{Cache, Remote, Updater};

/// Sigstore's public-good TUF mirror.
pub const DEFAULT_MIRROR: &str = "https://tuf-repo-cdn.sigstore.dev";
/// Version 15 of the public-good root (sigstore/root-signing `metadata/root_history/15.root.json`).
pub const PUBLIC_GOOD_ROOT: &[u8] = include_bytes!("../assets/public-good-tuf-root.json");
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";
pub const SIGNING_CONFIG_TARGET: &str = "signing_config.v0.2.json";
/// Our subdirectory of `$TUF_ROOT`.
const SUBDIR: &str = "gitsign-rs";
const REMOTE_FILE: &str = "remote.json";
/// Total time one process spends waiting on TUF mirrors: each request gets half of what is
/// left (its one retry the other half), so a hanging mirror costs at most this much, once,
/// instead of 20 s per request and per retry in every command.
const BUDGET: Duration = Duration::from_secs(15);
/// After a mirror failed to answer, verification does not wait on it again for this long
/// (the failure is remembered in the cache directory); signing always tries.
pub const FAILURE_MEMORY: i64 = 300;
const FAILURE_FILE: &str = "last-failure.json";
/// When the metadata was last refreshed from the mirror (Unix seconds).
const REFRESH_FILE: &str = "last-refresh";
/// How long cached metadata is used without asking the mirror (sigstore-go's default cache
/// validity, one day), unless it expires first; `gitsign.tufCacheValidity`.
pub const DEFAULT_CACHE_VALIDITY: i64 = 86_400;

/// When this process first reached for a mirror: the start of [`BUDGET`].
fn budget_start() -> std::time::Instant {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *START.get_or_init(std::time::Instant::now)
}

/// Every text field can come from a mirror (unverified metadata included): each is
/// escaped with [`crate::text::escape`] when displayed.
#[derive(Debug, thiserror::Error)]
pub enum TufError {
    #[error("'{}' is not valid TUF metadata: {}", esc(file), esc(reason))]
    Malformed { file: String, reason: String },
    #[error(
        "{} metadata has {valid} valid signature(s), {threshold} required",
        esc(role)
    )]
    Signature {
        role: String,
        valid: u64,
        threshold: u64,
    },
    #[error(
        "{} metadata is version {got}, its parent pins version {expected} (mix-and-match)",
        esc(role)
    )]
    Version {
        role: String,
        expected: u64,
        got: u64,
    },
    #[error("{} metadata rolled back from version {trusted} to {got}", esc(role))]
    Rollback {
        role: String,
        trusted: u64,
        got: u64,
    },
    #[error("{} metadata expired at {}", esc(role), crate::encoding::rfc3339(*.expires))]
    Expired { role: String, expires: i64 },
    #[error("'{}' is {got} bytes, {expected} pinned", esc(file))]
    Length {
        file: String,
        expected: u64,
        got: u64,
    },
    #[error("'{}' does not match its pinned hash", esc(file))]
    Hash { file: String },
    #[error("'{}' is larger than {limit} bytes", esc(file))]
    TooLarge { file: String, limit: u64 },
    #[error("'{}' is missing from the TUF repository", esc(.0))]
    Missing(String),
    #[error("no trusted TUF root in the cache")]
    NoTrustedRoot,
    #[error("cannot fetch '{}'", esc(url))]
    Fetch {
        url: String,
        #[source]
        source: crate::http::HttpError,
    },
    #[error("'{}' answered HTTP {status}", esc(url))]
    Status { url: String, status: u16 },
    #[error("cannot use '{}'", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unsupported TUF mirror '{}' (expected http://, https:// or file://)", esc(.0))]
    BadMirror(String),
    #[error("the TUF mirror took longer than {0} s in total; not waiting longer")]
    Slow(u64),
    #[error(
        "the TUF mirror failed {ago} s ago ({}); not retried for another {wait} s",
        esc(why)
    )]
    RecentFailure { ago: u64, why: String, wait: u64 },
}

fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    crate::text::escape(s)
}

/// What the trust is for: verification may fall back to older trust, signing may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Sign,
    Verify,
}

/// Where the TUF state lives.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `$TUF_ROOT/gitsign-rs`.
    pub dir: PathBuf,
    /// Seconds after a refresh during which unexpired cached metadata is used without asking
    /// the mirror.
    pub cache_validity: i64,
}

impl Settings {
    /// From `TUF_ROOT`, else `$HOME/.sigstore/root`; `None` with neither.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<Settings> {
        let base = match var("TUF_ROOT").filter(|v| !v.is_empty()) {
            Some(v) => PathBuf::from(v),
            None => PathBuf::from(var("HOME").filter(|v| !v.is_empty())?).join(".sigstore/root"),
        };
        Some(Settings {
            dir: base.join(SUBDIR),
            cache_validity: DEFAULT_CACHE_VALIDITY,
        })
    }

    /// The mirror `gitsign initialize` chose, if it ran.
    pub fn mirror(&self) -> Option<String> {
        let bytes = std::fs::read(self.dir.join(REMOTE_FILE)).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        v.get("mirror")?.as_str().map(str::to_owned)
    }

    /// The cache directory of one mirror.
    pub fn cache_dir(&self, mirror: &str) -> PathBuf {
        self.dir.join(url_to_path(mirror))
    }
}

/// sigstore-go's `URLToPath`: strip the scheme, `/` and `:` to `-`, lower case.
pub fn url_to_path(url: &str) -> String {
    let u = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    u.replace(['/', ':'], "-").to_lowercase()
}

/// The trust TUF provides.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// `None`: use the embedded trusted root.
    pub trusted_root: Option<Vec<u8>>,
    /// The signing config; `Absent` only when the verified targets do not list it.
    pub signing_config: SigningConfigState,
    /// Said once to the user: which older trust is used and why (escaped, printable); set
    /// exactly when this is a stale cache that could not be refreshed.
    pub note: Option<String>,
}

/// What the verified targets say about the signing config.
#[derive(Debug, Clone, Default)]
pub enum SigningConfigState {
    /// The verified targets do not list it: the mirror publishes none.
    #[default]
    Absent,
    Present(Vec<u8>),
    /// Listed, but it could not be fetched or does not match its pinned length and hashes
    /// (withheld or tampered with): the cause, escaped, printable.
    Unusable(String),
}

impl SigningConfigState {
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            SigningConfigState::Present(b) => Some(b),
            _ => None,
        }
    }
}

/// The signing config a verified target set vouches for: absent only when not listed.
fn signing_config_of(up: &Updater<'_>, t: &mut updater::Trusted) -> SigningConfigState {
    match up.find(t, SIGNING_CONFIG_TARGET) {
        Ok(None) => SigningConfigState::Absent,
        Ok(Some(_)) => match up.target(t, SIGNING_CONFIG_TARGET) {
            Ok(b) => SigningConfigState::Present(b),
            Err(e) => SigningConfigState::Unusable(crate::text::escape(&error_chain(&e)).into()),
        },
        Err(e) => SigningConfigState::Unusable(crate::text::escape(&error_chain(&e)).into()),
    }
}

/// The TUF-provided trust, or `Ok(None)` when `gitsign initialize` never ran.
///
/// The update runs over a [`Staged`] cache: new metadata reaches the disk only together with
/// the trusted root it vouches for, so a refresh that verified new metadata and then failed
/// to fetch `trusted_root.json` leaves the previous complete set, and verification falls
/// back to that set's trusted root, not to the embedded one.
pub fn load(settings: &Settings, purpose: Purpose, now: i64) -> Result<Option<Loaded>, TufError> {
    let Some(mirror) = settings.mirror() else {
        return Ok(None);
    };
    let cache = DirCache(settings.cache_dir(&mirror));
    let staged = Staged::new(&cache);
    let remote = Mirror::new(&mirror)?;
    let up = Updater {
        remote: &remote,
        cache: &staged,
        now,
    };
    let last_refresh = cache
        .read(REFRESH_FILE)
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.trim().parse::<i64>().ok());
    // Due: the last refresh is older than the validity (or unknown).
    let due = last_refresh.is_none_or(|t| now.saturating_sub(t) >= settings.cache_validity);
    let record = |result: &Result<updater::Trusted, TufError>| match result {
        Ok(_) => {
            let _ = std::fs::remove_file(cache.0.join(FAILURE_FILE));
        }
        Err(e @ (TufError::Fetch { .. } | TufError::Slow(_) | TufError::Status { .. })) => {
            let v = serde_json::json!({"at": now, "error": error_chain(e)});
            let _ = cache.write(FAILURE_FILE, v.to_string().as_bytes());
        }
        Err(_) => {}
    };
    let mut refreshed = false;
    let mut note = None;
    let trusted = match up.cached() {
        Err(e) => Err(e),
        Ok(Some(t)) if !due => Ok(t),
        // Unexpired but due: refresh, and keep using the valid cache when that fails.
        Ok(Some(t)) => {
            let attempt = match recent_failure(&cache, now) {
                Some(e) => Err(e),
                None => up.refresh(),
            };
            record(&attempt);
            match attempt {
                Ok(n) => {
                    refreshed = true;
                    Ok(n)
                }
                Err(e) => {
                    staged.discard();
                    let why = crate::text::escape(&error_chain(&e)).into_owned();
                    note = Some(format!("cannot refresh the TUF metadata of '{}' ({why}); using the cached metadata, valid until {}", crate::text::escape(&mirror), crate::encoding::rfc3339(t.expires())));
                    Ok(t)
                }
            }
        }
        Ok(None) => {
            let attempt = match (purpose, recent_failure(&cache, now)) {
                (Purpose::Verify, Some(e)) => Err(e),
                _ => up.refresh(),
            };
            record(&attempt);
            refreshed = attempt.is_ok();
            attempt
        }
    };
    let fresh = trusted
        .and_then(|mut t| {
            let root = up.target(&mut t, TRUSTED_ROOT_TARGET)?;
            let config = signing_config_of(&up, &mut t);
            Ok((root, config))
        })
        .and_then(|found| {
            if refreshed {
                staged.write(REFRESH_FILE, now.to_string().as_bytes())?;
            }
            staged.commit().map(|()| found)
        });
    match (fresh, purpose) {
        (Ok((root, config)), _) => Ok(Some(Loaded {
            trusted_root: Some(root),
            signing_config: config,
            note,
        })),
        (Err(e), Purpose::Sign) => Err(e),
        (Err(e), Purpose::Verify) => {
            let disk = Updater {
                remote: &remote,
                cache: &cache,
                now,
            };
            let cached = disk.cached_any_age().and_then(|t| {
                let root = disk.cached_target(&t, TRUSTED_ROOT_TARGET)?;
                let config = match t.targets.targets.get(SIGNING_CONFIG_TARGET) {
                    None => SigningConfigState::Absent,
                    Some(_) => match disk.cached_target(&t, SIGNING_CONFIG_TARGET) {
                        Some(b) => SigningConfigState::Present(b),
                        None => SigningConfigState::Unusable("not in the cache".into()),
                    },
                };
                Some((root, config))
            });
            let why = crate::text::escape(&error_chain(&e)).into_owned();
            let shown = crate::text::escape(&mirror).into_owned();
            match cached {
                Some((root, config)) => Ok(Some(Loaded {
                    trusted_root: Some(root),
                    signing_config: config,
                    note: Some(format!("cannot refresh the TUF metadata of '{shown}' ({why}); verifying with the cached trusted root")),
                })),
                // A private mirror's trust is never silently replaced by public-good's.
                None if mirror != DEFAULT_MIRROR => Err(e),
                None => Ok(Some(Loaded {
                    trusted_root: None,
                    signing_config: SigningConfigState::Absent,
                    note: Some(format!("cannot refresh the TUF metadata of '{shown}' ({why}); verifying with the embedded trusted root")),
                })),
            }
        }
    }
}

/// The mirror's failure to answer, when it happened less than [`FAILURE_MEMORY`] ago.
fn recent_failure(cache: &DirCache, now: i64) -> Option<TufError> {
    let v: serde_json::Value = serde_json::from_slice(&cache.read(FAILURE_FILE)?).ok()?;
    let at = v.get("at")?.as_i64()?;
    let ago = now.checked_sub(at)?;
    if !(0..FAILURE_MEMORY).contains(&ago) {
        return None;
    }
    let why = v.get("error")?.as_str()?.to_owned();
    Some(TufError::RecentFailure {
        ago: ago as u64,
        why,
        wait: (FAILURE_MEMORY - ago) as u64,
    })
}

/// What `gitsign initialize` reports.
#[derive(Debug, Clone)]
pub struct Initialized {
    pub mirror: String,
    pub root_version: u64,
    pub root_expires: i64,
    pub targets: Vec<String>,
    pub signing_config: SigningConfigState,
}

/// Why `gitsign initialize` failed: the error and the likely cause, for the hint.
#[derive(Debug, thiserror::Error)]
pub enum InitializeError {
    #[error("the initial root.json is not usable")]
    InitialRoot(#[source] TufError),
    #[error("the TUF metadata of the mirror has expired")]
    Expired(#[source] TufError),
    #[error("the mirror's TUF metadata cannot be fetched or verified")]
    Update(#[source] TufError),
}

/// `gitsign initialize`: start over for `mirror` from `root` (default: the embedded
/// public-good root), update and fetch the targets in a new directory beside the cache, and
/// only once all of it verified swap it in and make it the active mirror: a failed re-run
/// leaves the previous cache as it was.
pub fn initialize(
    settings: &Settings,
    mirror: &str,
    root: Option<&[u8]>,
    now: i64,
) -> Result<Initialized, InitializeError> {
    let mirror = mirror.trim_end_matches('/').to_owned();
    let root = root.unwrap_or(PUBLIC_GOOD_ROOT);
    let anchor = metadata::parse_root(root, "root.json").map_err(InitializeError::InitialRoot)?;
    anchor
        .verify_by(&anchor.signed, Role::Root)
        .map_err(InitializeError::InitialRoot)?;
    let dir = settings.cache_dir(&mirror);
    let fresh_dir = sibling(&dir, "new");
    let result = build_cache(&fresh_dir, &mirror, root, now).and_then(|done| {
        swap_in(&fresh_dir, &dir).map_err(InitializeError::Update)?;
        let remote_json = serde_json::json!({ "mirror": mirror });
        write_atomic(
            &settings.dir.join(REMOTE_FILE),
            remote_json.to_string().as_bytes(),
        )
        .map_err(InitializeError::Update)?;
        Ok(done)
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&fresh_dir);
    }
    result
}

fn build_cache(
    dir: &Path,
    mirror: &str,
    root: &[u8],
    now: i64,
) -> Result<Initialized, InitializeError> {
    let _ = std::fs::remove_dir_all(dir);
    let cache = DirCache(dir.to_path_buf());
    cache
        .write("root.json", root)
        .map_err(InitializeError::Update)?;
    let remote = Mirror::new(mirror).map_err(InitializeError::Update)?;
    let up = Updater {
        remote: &remote,
        cache: &cache,
        now,
    };
    let classify = |e: TufError| match e {
        TufError::Expired { .. } => InitializeError::Expired(e),
        e => InitializeError::Update(e),
    };
    let mut trusted = up.refresh().map_err(classify)?;
    up.target(&mut trusted, TRUSTED_ROOT_TARGET)
        .map_err(classify)?;
    let signing_config = signing_config_of(&up, &mut trusted);
    cache
        .write(REFRESH_FILE, now.to_string().as_bytes())
        .map_err(InitializeError::Update)?;
    Ok(Initialized {
        mirror: mirror.to_owned(),
        root_version: trusted.root.version,
        root_expires: trusted.root.expires,
        targets: trusted.targets.targets.keys().cloned().collect(),
        signing_config,
    })
}

/// `<dir>.<what><pid>` beside `dir` (mirror directory names hold dots: not an extension).
fn sibling(dir: &Path, what: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{what}{}", std::process::id()));
    dir.with_file_name(name)
}

/// Replace `dir` by `fresh`: the old one is renamed aside first and removed last, so a
/// crash in between leaves one complete cache under one of the two names.
fn swap_in(fresh: &Path, dir: &Path) -> Result<(), TufError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| TufError::Io { path: p, source }
    };
    let old = sibling(dir, "old");
    let had_old = dir.exists();
    if had_old {
        std::fs::rename(dir, &old).map_err(io(dir))?;
    }
    if let Err(e) = std::fs::rename(fresh, dir) {
        if had_old {
            let _ = std::fs::rename(&old, dir);
        }
        return Err(io(dir)(e));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}

/// Writes held back until [`Staged::commit`]: the disk cache moves from one complete set
/// (metadata and the targets it vouches for) to the next, never to half of one.
struct Staged<'a> {
    disk: &'a DirCache,
    pending: std::cell::RefCell<std::collections::BTreeMap<String, Vec<u8>>>,
}

impl<'a> Staged<'a> {
    fn new(disk: &'a DirCache) -> Staged<'a> {
        Staged {
            disk,
            pending: Default::default(),
        }
    }

    /// Write what is pending: targets first, then the metadata, the timestamp last (a
    /// crash in between leaves a set `cached()` finds inconsistent, so it refreshes).
    /// Forget what is pending (a refresh that failed halfway).
    fn discard(&self) {
        self.pending.take();
    }

    fn commit(&self) -> Result<(), TufError> {
        let pending = self.pending.take();
        let rank = |name: &str| match name {
            n if n.starts_with("targets/") => 0,
            "root.json" => 1,
            "timestamp.json" => 3,
            _ => 2,
        };
        let mut names: Vec<&String> = pending.keys().collect();
        names.sort_by_key(|n| rank(n));
        for name in names {
            self.disk.write(name, &pending[name])?;
        }
        Ok(())
    }
}

impl Cache for Staged<'_> {
    fn read(&self, name: &str) -> Option<Vec<u8>> {
        if let Some(b) = self.pending.borrow().get(name) {
            return Some(b.clone());
        }
        self.disk.read(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), TufError> {
        self.pending
            .borrow_mut()
            .insert(name.to_owned(), bytes.to_vec());
        Ok(())
    }
}

/// What `gitsign version` says about the embedded trust: the TUF root's version and expiry,
/// and the newest `validFor.start` among the embedded trusted root's keys (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Embedded {
    pub tuf_root_version: u64,
    pub tuf_root_expires: i64,
    pub trusted_root_newest_key: Option<i64>,
}

pub fn embedded() -> Option<Embedded> {
    let root = metadata::parse_root(PUBLIC_GOOD_ROOT, "root.json")
        .ok()?
        .signed;
    let trusted: serde_json::Value =
        serde_json::from_str(crate::trust::PUBLIC_GOOD_TRUSTED_ROOT).ok()?;
    let mut newest = None;
    let mut starts = vec![&trusted];
    while let Some(v) = starts.pop() {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(t) = m
                    .get("validFor")
                    .and_then(|f| f.get("start"))
                    .and_then(|s| s.as_str())
                    .and_then(crate::encoding::parse_rfc3339)
                {
                    newest = newest.max(Some(t));
                }
                starts.extend(m.values());
            }
            serde_json::Value::Array(a) => starts.extend(a),
            _ => {}
        }
    }
    Some(Embedded {
        tuf_root_version: root.version,
        tuf_root_expires: root.expires,
        trusted_root_newest_key: newest,
    })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// A mirror over HTTP(S) or a local directory (`file://`, for air-gapped sites).
enum Mirror {
    Http { base: String },
    File(PathBuf),
}

impl Mirror {
    fn new(url: &str) -> Result<Mirror, TufError> {
        let url = url.trim_end_matches('/');
        if let Some(path) = url.strip_prefix("file://") {
            return Ok(Mirror::File(PathBuf::from(path)));
        }
        if url.starts_with("https://") || url.starts_with("http://") {
            budget_start();
            return Ok(Mirror::Http {
                base: url.to_owned(),
            });
        }
        Err(TufError::BadMirror(url.to_owned()))
    }
}

impl Remote for Mirror {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Option<Vec<u8>>, TufError> {
        let too_large = || TufError::TooLarge {
            file: path.to_owned(),
            limit: max_len,
        };
        match self {
            Mirror::File(dir) => {
                let p = dir.join(path);
                let meta = match std::fs::metadata(&p) {
                    Ok(m) => m,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(source) => return Err(TufError::Io { path: p, source }),
                };
                // Only regular files: a FIFO or device would block or never end.
                if !meta.is_file() {
                    return Ok(None);
                }
                if meta.len() > max_len {
                    return Err(too_large());
                }
                // Read at most one byte past the limit: the file may grow after the check.
                use std::io::Read as _;
                let mut bytes = Vec::new();
                std::fs::File::open(&p)
                    .and_then(|f| f.take(max_len + 1).read_to_end(&mut bytes))
                    .map_err(|source| TufError::Io {
                        path: p.clone(),
                        source,
                    })?;
                if bytes.len() as u64 > max_len {
                    return Err(too_large());
                }
                Ok(Some(bytes))
            }
            Mirror::Http { base } => {
                let left = BUDGET.saturating_sub(budget_start().elapsed());
                if left < Duration::from_millis(200) {
                    return Err(TufError::Slow(BUDGET.as_secs()));
                }
                let http = crate::http::Http::new(left / 2);
                let url = format!("{base}/{path}");
                let reply = match http.get_limited(&url, max_len) {
                    Ok(r) => r,
                    Err(crate::http::HttpError::Transport { source, .. })
                        if matches!(*source, ureq::Error::BodyExceedsLimit(_)) =>
                    {
                        return Err(too_large())
                    }
                    Err(source) => return Err(TufError::Fetch { url, source }),
                };
                match reply.status {
                    200..=299 => Ok(Some(reply.body)),
                    403 | 404 => Ok(None),
                    status => Err(TufError::Status { url, status }),
                }
            }
        }
    }
}

/// The cache directory of one mirror.
struct DirCache(PathBuf);

impl Cache for DirCache {
    fn read(&self, name: &str) -> Option<Vec<u8>> {
        // No symlink followed, regular files only, and no more than any metadata or target
        // the updater would accept from a mirror: a planted FIFO or huge file reads as absent.
        crate::fsutil::read_capped(&self.0.join(name), CACHE_FILE_MAX).ok()
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), TufError> {
        write_atomic(&self.0.join(name), bytes)
    }
}

/// The largest file the on-disk cache reads: above every role's and target's download limit.
const CACHE_FILE_MAX: u64 = 16 * 1024 * 1024;

/// Write through a temporary sibling and rename: a reader never sees half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TufError> {
    crate::fsutil::write_atomic(
        path,
        bytes,
        crate::fsutil::Access::Shared,
        crate::fsutil::Durability::Durable,
    )
    .map_err(|source| TufError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_env::env;

    #[test]
    fn cache_location_follows_tuf_root_then_home() {
        let s = Settings::from_env(env(&[("TUF_ROOT", "/t"), ("HOME", "/h")]))
            .expect("the test value is there");
        assert_eq!(s.dir, Path::new("/t/gitsign-rs"), "TUF_ROOT wins");
        let s = Settings::from_env(env(&[("HOME", "/h")])).expect("the test value is there");
        assert_eq!(
            s.dir,
            Path::new("/h/.sigstore/root/gitsign-rs"),
            "default as Go gitsign and cosign, in our own subdirectory"
        );
        assert!(Settings::from_env(env(&[])).is_none(), "no home, no cache");
    }

    #[test]
    fn mirror_directory_names_match_sigstore_go() {
        assert_eq!(
            url_to_path("https://tuf-repo-cdn.sigstore.dev"),
            "tuf-repo-cdn.sigstore.dev",
            "as sigstore-go's URLToPath"
        );
        assert_eq!(
            url_to_path("http://127.0.0.1:8080/TUF"),
            "127.0.0.1-8080-tuf",
            "slashes and colons become dashes, lower case"
        );
    }

    #[test]
    fn the_embedded_root_is_the_public_good_one_and_self_signed() {
        let root =
            metadata::parse_root(PUBLIC_GOOD_ROOT, "root.json").expect("the test value is there");
        assert_eq!(root.signed.version, 15, "root-signing's version 15");
        root.verify_by(&root.signed, Role::Root)
            .expect("the embedded root carries a threshold of its own keys");
    }
}

#[cfg(test)]
mod mirror_tests {
    use super::*;
    use std::io::{Read as _, Write as _};

    /// Regression: a 404 page longer than the pinned length was reported as "larger than N
    /// bytes" (and retried) instead of as the missing file it is.
    #[test]
    fn a_long_404_is_missing_not_too_large() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("test setup");
        let port = listener.local_addr().expect("test setup").port();
        let server = std::thread::spawn(move || {
            for _ in 0..2 {
                let Ok((mut s, _)) = listener.accept() else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let body = vec![b'x'; 100_000];
                let head = format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(&body);
            }
        });
        let mirror = Mirror::new(&format!("http://127.0.0.1:{port}")).expect("test setup");
        let got = mirror.fetch("targets/x.json", 100);
        assert!(
            matches!(got, Ok(None)),
            "a 404 is 'not there', whatever its length: {got:?}"
        );
        drop(mirror);
        let _ = std::net::TcpStream::connect(("127.0.0.1", port));
        let _ = server.join();
    }

    #[test]
    fn a_file_mirror_reads_only_bounded_regular_files() {
        let dir = tempfile::tempdir().expect("test setup");
        std::fs::create_dir(dir.path().join("a-directory.json")).expect("test setup");
        std::fs::write(dir.path().join("big.json"), vec![b'x'; 101]).expect("test setup");
        std::fs::write(dir.path().join("ok.json"), b"{}").expect("test setup");
        let mirror = Mirror::new(&format!("file://{}", dir.path().display())).expect("test setup");
        assert!(
            matches!(mirror.fetch("a-directory.json", 100), Ok(None)),
            "a directory is not a file of the mirror"
        );
        assert!(
            matches!(
                mirror.fetch("big.json", 100),
                Err(TufError::TooLarge { limit: 100, .. })
            ),
            "the size limits of HTTP apply"
        );
        assert_eq!(
            mirror.fetch("ok.json", 100).expect("readable"),
            Some(b"{}".to_vec()),
            "a small regular file is read"
        );
    }

    /// The embedded root must not lag the newest public-good root in the test data: a stale
    /// embedded root makes every fresh `gitsign initialize` walk (and trust) more rotations.
    #[test]
    fn the_embedded_root_is_not_older_than_the_newest_in_the_test_data() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tuf-public-good");
        let newest = std::fs::read_dir(&dir)
            .expect("the test data is there")
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".root.json")?.parse::<u64>().ok()
            })
            .max()
            .expect("the test data holds roots");
        let embedded = metadata::parse_root(PUBLIC_GOOD_ROOT, "root.json")
            .expect("the embedded root parses")
            .signed
            .version;
        assert!(
            embedded >= newest,
            "the embedded TUF root is version {embedded}, tests/data/tuf-public-good has {newest}: update src/assets/public-good-tuf-root.json"
        );
    }
}
