//! Trust that follows Sigstore through TUF: the trusted root (`trusted_root.json`) and the
//! signing config (`signing_config.v0.2.json`) from a TUF repository, by default Sigstore's
//! public-good one at <https://tuf-repo-cdn.sigstore.dev>, starting from the `root.json`
//! embedded here (version 15 of sigstore/root-signing) or one given to `gitsign initialize`.
//!
//! Why our own client: `tough`, the maintained Rust TUF client, is async since 0.17 (tokio,
//! futures, reqwest); gitsign is a blocking one-shot CLI on `ureq`, and needs only the
//! top-level roles of one repository. The workflow in [`updater`] follows the
//! specification's client workflow step by step (root rotation walk, timestamp → snapshot →
//! targets, rollback, mix-and-match, expiry, hashes, lengths, size limits) over
//! [`metadata`] (pure parsing and threshold checks) and [`canonical`] (the signed bytes). It
//! is cross-checked against python-tuf with the local stack's repository
//! (`tests/sigstore-local`) and against the real public-good metadata (`tests/data`).
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
//! works offline; expired metadata is refreshed from the mirror. If that fails, verification
//! falls back to the cached (or embedded) trusted root with a note, and signing refuses.

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
const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum TufError {
    #[error("'{file}' is not valid TUF metadata: {reason}")]
    Malformed { file: String, reason: String },
    #[error("{role} metadata has {valid} valid signature(s), {threshold} required")]
    Signature {
        role: Role,
        valid: u64,
        threshold: u64,
    },
    #[error(
        "{role} metadata is version {got}, its parent pins version {expected} (mix-and-match)"
    )]
    Version { role: Role, expected: u64, got: u64 },
    #[error("{role} metadata rolled back from version {trusted} to {got}")]
    Rollback { role: Role, trusted: u64, got: u64 },
    #[error("{role} metadata expired at {}", crate::encoding::rfc3339(*.expires))]
    Expired { role: Role, expires: i64 },
    #[error("'{file}' is {got} bytes, {expected} pinned")]
    Length {
        file: String,
        expected: u64,
        got: u64,
    },
    #[error("'{file}' does not match its pinned hash")]
    Hash { file: String },
    #[error("'{file}' is larger than {limit} bytes")]
    TooLarge { file: String, limit: u64 },
    #[error("'{0}' is missing from the TUF repository")]
    Missing(String),
    #[error("no trusted TUF root in the cache")]
    NoTrustedRoot,
    #[error("cannot fetch '{url}'")]
    Fetch {
        url: String,
        #[source]
        source: crate::http::HttpError,
    },
    #[error("'{url}' answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("cannot use '{}'", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unsupported TUF mirror '{0}' (expected http://, https:// or file://)")]
    BadMirror(String),
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
}

impl Settings {
    /// From `TUF_ROOT`, else `~/.sigstore/root` (the home directory as
    /// [`crate::platform::host_home`] finds it: `%USERPROFILE%` on Windows); `None` with neither.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<Settings> {
        let base = match var("TUF_ROOT").filter(|v| !v.is_empty()) {
            Some(v) => PathBuf::from(v),
            None => {
                let os_var = |k: &str| var(k).map(std::ffi::OsString::from);
                crate::platform::host_home(&os_var)?.join(".sigstore/root")
            }
        };
        Some(Settings {
            dir: base.join(SUBDIR),
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
    pub signing_config: Option<Vec<u8>>,
    /// Said once to the user: which older trust is used and why.
    pub note: Option<String>,
}

/// The TUF-provided trust, or `Ok(None)` when `gitsign initialize` never ran.
pub fn load(settings: &Settings, purpose: Purpose, now: i64) -> Result<Option<Loaded>, TufError> {
    let Some(mirror) = settings.mirror() else {
        return Ok(None);
    };
    let cache = DirCache(settings.cache_dir(&mirror));
    let remote = Mirror::new(&mirror)?;
    let up = Updater {
        remote: &remote,
        cache: &cache,
        now,
    };
    let fresh = up
        .cached()
        .and_then(|c| match c {
            Some(t) => Ok(t),
            None => up.refresh(),
        })
        .and_then(|t| {
            let root = up.target(&t, TRUSTED_ROOT_TARGET)?;
            let config = up.target(&t, SIGNING_CONFIG_TARGET).ok();
            Ok((root, config))
        });
    match (fresh, purpose) {
        (Ok((root, config)), _) => Ok(Some(Loaded {
            trusted_root: Some(root),
            signing_config: config,
            note: None,
        })),
        (Err(e), Purpose::Sign) => Err(e),
        (Err(e), Purpose::Verify) => {
            let cached = up.cached_any_age().and_then(|t| {
                let root = up.cached_target(&t, TRUSTED_ROOT_TARGET)?;
                Some((root, up.cached_target(&t, SIGNING_CONFIG_TARGET)))
            });
            let why = error_chain(&e);
            Ok(Some(match cached {
                Some((root, config)) => Loaded {
                    trusted_root: Some(root),
                    signing_config: config,
                    note: Some(format!("cannot refresh the TUF metadata of '{mirror}' ({why}); verifying with the cached trusted root")),
                },
                None => Loaded {
                    trusted_root: None,
                    signing_config: None,
                    note: Some(format!("cannot refresh the TUF metadata of '{mirror}' ({why}); verifying with the embedded trusted root")),
                },
            }))
        }
    }
}

/// What `gitsign initialize` reports.
#[derive(Debug, Clone)]
pub struct Initialized {
    pub mirror: String,
    pub root_version: u64,
    pub root_expires: i64,
    pub targets: Vec<String>,
    pub signing_config: bool,
}

/// `gitsign initialize`: start over for `mirror` from `root` (default: the embedded
/// public-good root), update and fetch the targets; only then make it the active mirror.
pub fn initialize(
    settings: &Settings,
    mirror: &str,
    root: Option<&[u8]>,
    now: i64,
) -> Result<Initialized, TufError> {
    let mirror = mirror.trim_end_matches('/').to_owned();
    let root = root.unwrap_or(PUBLIC_GOOD_ROOT);
    let anchor = metadata::parse_root(root, "root.json")?;
    anchor.verify_by(&anchor.signed, Role::Root)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TufError::Io { path, source }
    };
    let dir = settings.cache_dir(&mirror);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
    }
    let cache = DirCache(dir);
    cache.write("root.json", root)?;
    let remote = Mirror::new(&mirror)?;
    let up = Updater {
        remote: &remote,
        cache: &cache,
        now,
    };
    let trusted = up.refresh()?;
    up.target(&trusted, TRUSTED_ROOT_TARGET)?;
    let signing_config = up.target(&trusted, SIGNING_CONFIG_TARGET).is_ok();
    let remote_json = serde_json::json!({ "mirror": mirror });
    write_atomic(
        &settings.dir.join(REMOTE_FILE),
        remote_json.to_string().as_bytes(),
    )?;
    Ok(Initialized {
        mirror,
        root_version: trusted.root.version,
        root_expires: trusted.root.expires,
        targets: trusted.targets.targets.keys().cloned().collect(),
        signing_config,
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
    Http {
        base: String,
        http: crate::http::Http,
    },
    File(PathBuf),
}

impl Mirror {
    fn new(url: &str) -> Result<Mirror, TufError> {
        let url = url.trim_end_matches('/');
        if let Some(path) = url.strip_prefix("file://") {
            return Ok(Mirror::File(PathBuf::from(path)));
        }
        if url.starts_with("https://") || url.starts_with("http://") {
            return Ok(Mirror::Http {
                base: url.to_owned(),
                http: crate::http::Http::new(TIMEOUT),
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
                let len = match std::fs::metadata(&p) {
                    Ok(m) => m.len(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(source) => return Err(TufError::Io { path: p, source }),
                };
                if len > max_len {
                    return Err(too_large());
                }
                std::fs::read(&p)
                    .map(Some)
                    .map_err(|source| TufError::Io { path: p, source })
            }
            Mirror::Http { base, http } => {
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
        std::fs::read(self.0.join(name)).ok()
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), TufError> {
        write_atomic(&self.0.join(name), bytes)
    }
}

/// Write through a temporary sibling and rename: a reader never sees half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TufError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| TufError::Io { path: p, source }
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
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
