//! A TUF repository (The Update Framework 1.0, as Sigstore's root-signing repository publishes
//! it) distributing the stack's own `trusted_root.json` and `signing_config.v0.2.json`.
//!
//! Layout under `<state-dir>/tuf/repo/` (served at `/tuf/`, also usable as a `file://` mirror):
//! `N.root.json` for every root version and `root.json` (the newest), `timestamp.json`,
//! `N.snapshot.json`, `N.targets.json` (consistent snapshots), and
//! `targets/<sha256>.<name>` for the two targets. `<state-dir>/tuf_root.json` is version 1 of
//! the root, the trust anchor a client starts from. Each role has one ECDSA P-256 key
//! (`ecdsa` / `ecdsa-sha2-nistp256`, PEM public keys, hex DER signatures over the OLPC
//! canonical JSON of `signed`, as the public-good repository signs).
//!
//! [`Repo::apply`] changes the repository the way its operators would (rotate a role's key,
//! add a Rekor v2 shard, let the timestamp expire) or the way an attacker on the mirror would
//! (bad signature, rollback, mix-and-match snapshot, oversized metadata), then republishes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::http::{Req, Resp};
use crate::keys::{hex, now, rfc3339, KeyPair};
use crate::{lock, Error};

/// `<state-dir>/tuf_root.json`: version 1 of the TUF root.
pub const TUF_ROOT_FILE: &str = "tuf_root.json";
/// The two targets, named as in Sigstore's root-signing repository.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";
pub const SIGNING_CONFIG_TARGET: &str = "signing_config.v0.2.json";

const SPEC_VERSION: &str = "1.0.31";
const DAY: u64 = 86_400;
const ROLES: [&str; 4] = ["root", "timestamp", "snapshot", "targets"];

/// Something to do to the repository. Operator actions keep it valid; the hostile ones
/// publish what an attacker controlling the mirror could, and stay until the next action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// New key for `role` (`root`, `timestamp`, `snapshot`, `targets`); a new root version
    /// signed by the old and the new root keys.
    RotateKey(String),
    /// A new Rekor v2 log shard with its own key: the previous shard's window ends now.
    AddRekorV2Shard,
    /// Publish a timestamp that expired an hour ago, and publish nothing newer (frozen mirror).
    ExpireTimestamp,
    /// Publish a fresh snapshot and timestamp: the repository is valid again.
    Refresh,
    /// A new timestamp version whose signature does not verify.
    BadSignature,
    /// A validly signed timestamp whose version is lower than the current one.
    Rollback,
    /// A new timestamp announcing a new snapshot version, but the snapshot served under that
    /// name is the previous one (validly signed, older version).
    MixAndMatch,
    /// A validly signed timestamp padded far beyond any client's timestamp size limit.
    Oversized,
    /// Publish, validly signed, these bytes as the signing config (an operator's mistake or
    /// a config with no usable service), until the next rotation or shard.
    SigningConfig(Vec<u8>),
}

impl Action {
    /// `{"action": "rotate_key", "role": "timestamp"}` and friends (the admin endpoint).
    pub fn from_json(v: &Value) -> Result<Action, String> {
        let action = v
            .get("action")
            .and_then(Value::as_str)
            .ok_or("'action' is required")?;
        Ok(match action {
            "rotate_key" => {
                let role = v
                    .get("role")
                    .and_then(Value::as_str)
                    .ok_or("rotate_key needs 'role'")?;
                if !ROLES.contains(&role) {
                    return Err(format!("unknown role '{role}'"));
                }
                Action::RotateKey(role.to_string())
            }
            "add_rekor_v2_shard" => Action::AddRekorV2Shard,
            "expire_timestamp" => Action::ExpireTimestamp,
            "refresh" => Action::Refresh,
            "bad_signature" => Action::BadSignature,
            "rollback" => Action::Rollback,
            "mix_and_match" => Action::MixAndMatch,
            "oversized" => Action::Oversized,
            "signing_config" => Action::SigningConfig(
                v.get("body")
                    .and_then(Value::as_str)
                    .ok_or("signing_config needs 'body'")?
                    .as_bytes()
                    .to_vec(),
            ),
            other => return Err(format!("unknown action '{other}'")),
        })
    }
}

/// A Rekor v2 log shard the trusted root and signing config announce.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardState {
    /// Path segment under `/rekor-v2/` and the checkpoint origin's suffix.
    pub name: String,
    /// Key file name under `<state-dir>/keys/` (without `.pem`).
    pub key: String,
    /// Unix seconds.
    pub start: u64,
    pub end: Option<u64>,
}

/// A shard with its key loaded.
#[derive(Debug, Clone)]
pub struct Shard {
    pub state: ShardState,
    pub key: KeyPair,
}

/// What survives a restart: versions, the key file of each role, the shards.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct State {
    versions: BTreeMap<String, u64>,
    keys: BTreeMap<String, String>,
    shards: Vec<ShardState>,
    /// SHA-256 of the published targets' bytes, to republish only on change.
    published: BTreeMap<String, String>,
    /// A frozen mirror publishes nothing new until [`Action::Refresh`] or a rotation.
    frozen: bool,
}

struct Inner {
    state: State,
    keys: BTreeMap<String, KeyPair>,
    shards: Vec<Shard>,
    /// The signing config [`Action::SigningConfig`] published, until a rotation or shard.
    signing_config: Option<Vec<u8>>,
}

/// `targets` with the signing config replaced by `body`, if any.
fn with_signing_config(targets: &Targets, body: Option<&Vec<u8>>) -> Targets {
    let mut t = targets.clone();
    if let Some(body) = body {
        for (name, bytes) in t.iter_mut() {
            if name == SIGNING_CONFIG_TARGET {
                bytes.clone_from(body);
            }
        }
    }
    t
}

/// The repository; changes go through one lock.
pub struct Repo {
    dir: PathBuf,
    state_file: PathBuf,
    keys_dir: PathBuf,
    /// Validity of each published timestamp, in milliseconds.
    timestamp_ttl: AtomicU64,
    inner: Mutex<Inner>,
}

/// Targets' bytes by name, computed by the caller from the current stack.
pub type Targets = Vec<(String, Vec<u8>)>;

impl Repo {
    /// Load `<state-dir>/tuf/`, or create keys and state for a new repository. Nothing is
    /// published until [`Repo::publish`].
    pub fn open(state_dir: &Path, keys_dir: &Path, timestamp_ttl: Duration) -> Result<Repo, Error> {
        let root = state_dir.join("tuf");
        let dir = root.join("repo");
        std::fs::create_dir_all(dir.join("targets")).map_err(|e| Error::io(&dir, e))?;
        let state_file = root.join("state.json");
        let mut state: State = match std::fs::read(&state_file) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| Error::State(format!("{}: {e}", state_file.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(Error::io(&state_file, e)),
        };
        let mut keys = BTreeMap::new();
        for role in ROLES {
            let name = state
                .keys
                .entry(role.to_string())
                .or_insert_with(|| format!("tuf-{role}-1"))
                .clone();
            keys.insert(role.to_string(), KeyPair::load_or_create(keys_dir, &name)?);
        }
        if state.shards.is_empty() {
            state.shards.push(ShardState {
                name: "shard-1".into(),
                key: "rekor-v2-shard-1".into(),
                start: now().as_secs().saturating_sub(60),
                end: None,
            });
        }
        let shards = state
            .shards
            .iter()
            .map(|s| {
                Ok(Shard {
                    state: s.clone(),
                    key: KeyPair::load_or_create(keys_dir, &s.key)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Repo {
            dir,
            state_file,
            keys_dir: keys_dir.to_path_buf(),
            timestamp_ttl: AtomicU64::new(timestamp_ttl.as_millis() as u64),
            inner: Mutex::new(Inner {
                state,
                keys,
                shards,
                signing_config: None,
            }),
        })
    }

    /// How long timestamps published from now on are valid.
    pub fn set_timestamp_ttl(&self, ttl: Duration) {
        self.timestamp_ttl
            .store(ttl.as_millis() as u64, Ordering::Relaxed);
    }

    fn ttl(&self) -> Duration {
        Duration::from_millis(self.timestamp_ttl.load(Ordering::Relaxed))
    }

    /// The directory a `file://` mirror points at.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The Rekor v2 shards, oldest first.
    pub fn shards(&self) -> Vec<Shard> {
        lock(&self.inner).shards.clone()
    }

    /// The current version of a role (0 before the first publish).
    pub fn version(&self, role: &str) -> u64 {
        lock(&self.inner)
            .state
            .versions
            .get(role)
            .copied()
            .unwrap_or(0)
    }

    /// Publish root v1 on first start, then targets/snapshot/timestamp if the targets changed
    /// (the base URL moves with the port) or the timestamp is missing.
    pub fn publish(&self, targets: &Targets, state_dir: &Path) -> Result<(), Error> {
        let mut inner = lock(&self.inner);
        if !inner.state.versions.contains_key("root") {
            self.publish_root(&mut inner, None)?;
            let v1 = self.read("1.root.json")?;
            write_atomic(&state_dir.join(TUF_ROOT_FILE), &v1)?;
        }
        let targets = &with_signing_config(targets, inner.signing_config.as_ref());
        let changed = targets.iter().any(|(name, bytes)| {
            inner.state.published.get(name) != Some(&hex(&Sha256::digest(bytes)))
        });
        if changed || !self.dir.join("timestamp.json").exists() {
            self.publish_targets(&mut inner, targets)?;
            self.publish_snapshot(&mut inner)?;
            self.publish_timestamp(&mut inner, false)?;
        }
        self.save(&inner.state)
    }

    /// Apply an operator or attacker action; `targets` recomputes the targets afterwards (a
    /// new shard changes the trusted root and the signing config).
    pub fn apply(
        &self,
        action: &Action,
        targets: &dyn Fn(&[Shard]) -> Targets,
    ) -> Result<(), Error> {
        let mut inner = lock(&self.inner);
        match action {
            Action::RotateKey(role) => {
                inner.signing_config = None;
                let n = inner.state.versions.get("root").copied().unwrap_or(1) + 1;
                let name = format!("tuf-{role}-{n}");
                let key = KeyPair::load_or_create(&self.keys_dir, &name)?;
                let old_root = inner.keys.get("root").cloned();
                inner.state.keys.insert(role.clone(), name);
                inner.keys.insert(role.clone(), key);
                inner.state.frozen = false;
                self.publish_root(&mut inner, old_root.as_ref())?;
                let t = targets(&inner.shards);
                self.publish_targets(&mut inner, &t)?;
                self.publish_snapshot(&mut inner)?;
                self.publish_timestamp(&mut inner, false)?;
            }
            Action::AddRekorV2Shard => {
                inner.signing_config = None;
                let n = inner.shards.len() + 1;
                let t = now().as_secs();
                if let Some(last) = inner.shards.last_mut() {
                    last.state.end = Some(t);
                }
                let state = ShardState {
                    name: format!("shard-{n}"),
                    key: format!("rekor-v2-shard-{n}"),
                    start: t,
                    end: None,
                };
                let key = KeyPair::load_or_create(&self.keys_dir, &state.key)?;
                inner.shards.push(Shard { state, key });
                inner.state.shards = inner.shards.iter().map(|s| s.state.clone()).collect();
                inner.state.frozen = false;
                let t = targets(&inner.shards);
                self.publish_targets(&mut inner, &t)?;
                self.publish_snapshot(&mut inner)?;
                self.publish_timestamp(&mut inner, false)?;
            }
            Action::ExpireTimestamp => {
                self.publish_timestamp(&mut inner, true)?;
                inner.state.frozen = true;
            }
            Action::Refresh => {
                inner.state.frozen = false;
                self.publish_snapshot(&mut inner)?;
                self.publish_timestamp(&mut inner, false)?;
            }
            Action::BadSignature => {
                let mut env = self.timestamp_envelope(&mut inner, false);
                if let Some(sig) = env.pointer_mut("/signatures/0/sig") {
                    let s = sig.as_str().unwrap_or_default();
                    let flipped =
                        format!("{}{}", if s.starts_with('0') { '1' } else { '0' }, &s[1..]);
                    *sig = Value::String(flipped);
                }
                self.write("timestamp.json", &to_bytes(&env))?;
            }
            Action::Rollback => {
                let key = inner.keys["timestamp"].clone();
                let snapshot = inner.state.versions.get("snapshot").copied().unwrap_or(1);
                let current = inner.state.versions.get("timestamp").copied().unwrap_or(1);
                let signed =
                    timestamp_signed(current.saturating_sub(1).max(1), snapshot, Some(self.ttl()));
                self.write("timestamp.json", &to_bytes(&sign(&signed, &[&key])))?;
            }
            Action::MixAndMatch => {
                let current = inner.state.versions.get("snapshot").copied().unwrap_or(1);
                let old = self.read(&format!("{current}.snapshot.json"))?;
                let next = current + 1;
                inner.state.versions.insert("snapshot".into(), next);
                self.write(&format!("{next}.snapshot.json"), &old)?;
                self.publish_timestamp(&mut inner, false)?;
            }
            Action::Oversized => {
                let mut env = self.timestamp_envelope(&mut inner, false);
                if let Some(obj) = env.as_object_mut() {
                    obj.insert("padding".into(), Value::String("x".repeat(1 << 20)));
                }
                self.write("timestamp.json", &to_bytes(&env))?;
            }
            Action::SigningConfig(bytes) => {
                inner.signing_config = Some(bytes.clone());
                let t = with_signing_config(&targets(&inner.shards), Some(bytes));
                inner.state.frozen = false;
                self.publish_targets(&mut inner, &t)?;
                self.publish_snapshot(&mut inner)?;
                self.publish_timestamp(&mut inner, false)?;
            }
        }
        self.save(&inner.state)
    }

    /// `GET /tuf/<path>`: the published file, or 404.
    pub fn handle(&self, req: &Req) -> Resp {
        let rel = req.path.trim_start_matches("/tuf/");
        let safe = !rel.is_empty()
            && rel.split('/').count() <= 2
            && rel
                .split('/')
                .all(|seg| !seg.is_empty() && !seg.starts_with('.'))
            && (rel.split('/').count() == 1 || rel.starts_with("targets/"));
        if !safe {
            return Resp::rekor_error(404, "no such TUF file");
        }
        match std::fs::read(self.dir.join(rel)) {
            Ok(b) => Resp::text(200, "application/json", b),
            Err(_) => Resp::rekor_error(404, "no such TUF file"),
        }
    }

    fn publish_root(&self, inner: &mut Inner, old_root: Option<&KeyPair>) -> Result<(), Error> {
        let version = inner.state.versions.get("root").copied().unwrap_or(0) + 1;
        let mut keys = serde_json::Map::new();
        let mut roles = serde_json::Map::new();
        for role in ROLES {
            let key = &inner.keys[role];
            let id = key_id(key);
            keys.insert(id.clone(), key_json(key));
            roles.insert(role.into(), json!({ "keyids": [id], "threshold": 1 }));
        }
        let signed = json!({
            "_type": "root",
            "spec_version": SPEC_VERSION,
            "version": version,
            "expires": rfc3339(now() + Duration::from_secs(365 * DAY)),
            "consistent_snapshot": true,
            "keys": keys,
            "roles": roles,
        });
        let root_key = &inner.keys["root"];
        let mut signers = vec![root_key];
        if let Some(old) = old_root.filter(|k| k.spki_der() != root_key.spki_der()) {
            signers.push(old);
        }
        let bytes = to_bytes(&sign(&signed, &signers));
        self.write(&format!("{version}.root.json"), &bytes)?;
        self.write("root.json", &bytes)?;
        inner.state.versions.insert("root".into(), version);
        Ok(())
    }

    fn publish_targets(&self, inner: &mut Inner, targets: &Targets) -> Result<(), Error> {
        let version = inner.state.versions.get("targets").copied().unwrap_or(0) + 1;
        let mut entries = serde_json::Map::new();
        for (name, bytes) in targets {
            let digest = hex(&Sha256::digest(bytes));
            self.write(&format!("targets/{digest}.{name}"), bytes)?;
            let usage = if name == TRUSTED_ROOT_TARGET {
                "TrustedRoot"
            } else {
                "SigningConfig"
            };
            entries.insert(
                name.clone(),
                json!({
                    "length": bytes.len(),
                    "hashes": { "sha256": digest },
                    "custom": { "sigstore": { "status": "Active", "usage": usage } },
                }),
            );
            inner.state.published.insert(name.clone(), digest);
        }
        let signed = json!({
            "_type": "targets",
            "spec_version": SPEC_VERSION,
            "version": version,
            "expires": rfc3339(now() + Duration::from_secs(365 * DAY)),
            "targets": entries,
        });
        let bytes = to_bytes(&sign(&signed, &[&inner.keys["targets"]]));
        self.write(&format!("{version}.targets.json"), &bytes)?;
        inner.state.versions.insert("targets".into(), version);
        Ok(())
    }

    fn publish_snapshot(&self, inner: &mut Inner) -> Result<(), Error> {
        let version = inner.state.versions.get("snapshot").copied().unwrap_or(0) + 1;
        let targets = inner.state.versions.get("targets").copied().unwrap_or(1);
        let signed = json!({
            "_type": "snapshot",
            "spec_version": SPEC_VERSION,
            "version": version,
            "expires": rfc3339(now() + Duration::from_secs(30 * DAY)),
            "meta": { "targets.json": { "version": targets } },
        });
        let bytes = to_bytes(&sign(&signed, &[&inner.keys["snapshot"]]));
        self.write(&format!("{version}.snapshot.json"), &bytes)?;
        inner.state.versions.insert("snapshot".into(), version);
        Ok(())
    }

    fn timestamp_envelope(&self, inner: &mut Inner, expired: bool) -> Value {
        let version = inner.state.versions.get("timestamp").copied().unwrap_or(0) + 1;
        inner.state.versions.insert("timestamp".into(), version);
        let snapshot = inner.state.versions.get("snapshot").copied().unwrap_or(1);
        sign(
            &timestamp_signed(version, snapshot, (!expired).then_some(self.ttl())),
            &[&inner.keys["timestamp"]],
        )
    }

    fn publish_timestamp(&self, inner: &mut Inner, expired: bool) -> Result<(), Error> {
        if inner.state.frozen && !expired {
            return Ok(());
        }
        let env = self.timestamp_envelope(inner, expired);
        self.write("timestamp.json", &to_bytes(&env))
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), Error> {
        write_atomic(&self.dir.join(rel), bytes)
    }

    fn read(&self, rel: &str) -> Result<Vec<u8>, Error> {
        let p = self.dir.join(rel);
        std::fs::read(&p).map_err(|e| Error::io(&p, e))
    }

    fn save(&self, state: &State) -> Result<(), Error> {
        write_atomic(
            &self.state_file,
            &serde_json::to_vec_pretty(state).unwrap_or_default(),
        )
    }
}

/// A timestamp valid for `ttl`, or one that expired an hour ago.
fn timestamp_signed(version: u64, snapshot: u64, ttl: Option<Duration>) -> Value {
    let expires = match ttl {
        Some(ttl) => now() + ttl,
        None => now().saturating_sub(Duration::from_secs(3600)),
    };
    json!({
        "_type": "timestamp",
        "spec_version": SPEC_VERSION,
        "version": version,
        "expires": rfc3339(expires),
        "meta": { "snapshot.json": { "version": snapshot } },
    })
}

/// The TUF key object of a P-256 key.
fn key_json(key: &KeyPair) -> Value {
    json!({
        "keytype": "ecdsa",
        "scheme": "ecdsa-sha2-nistp256",
        "keyval": { "public": key.public_pem() },
    })
}

/// Key id: SHA-256 of the canonical JSON of the key object (securesystemslib's rule).
fn key_id(key: &KeyPair) -> String {
    hex(&Sha256::digest(canonical(&key_json(key))))
}

/// `{"signed": …, "signatures": [{"keyid", "sig"}]}` signed by every key in `keys`.
fn sign(signed: &Value, keys: &[&KeyPair]) -> Value {
    let msg = canonical(signed);
    let signatures: Vec<Value> = keys
        .iter()
        .map(|k| json!({ "keyid": key_id(k), "sig": hex(&k.sign_der(&msg)) }))
        .collect();
    json!({ "signatures": signatures, "signed": signed })
}

fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap_or_default()
}

/// OLPC canonical JSON as securesystemslib writes it: sorted keys, no whitespace, strings
/// escaping only `\` and `"`, integers only.
pub fn canonical(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    canonical_into(v, &mut out);
    out
}

fn canonical_into(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => {
            out.push(b'"');
            for c in s.bytes() {
                if c == b'"' || c == b'\\' {
                    out.push(b'\\');
                }
                out.push(c);
            }
            out.push(b'"');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_into(x, out);
            }
            out.push(b']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_into(&Value::String((*k).clone()), out);
                out.push(b':');
                canonical_into(&m[*k], out);
            }
            out.push(b'}');
        }
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_escapes_only_quote_and_backslash() {
        let v = json!({"b": [1, "x\"y\\z\n"], "a": {"d": null, "c": true}});
        assert_eq!(
            String::from_utf8(canonical(&v)).unwrap(),
            "{\"a\":{\"c\":true,\"d\":null},\"b\":[1,\"x\\\"y\\\\z\n\"]}",
            "canonical form must match securesystemslib's"
        );
    }

    #[test]
    fn actions_parse_and_unknown_ones_are_refused() {
        assert_eq!(
            Action::from_json(&json!({"action": "rotate_key", "role": "snapshot"})),
            Ok(Action::RotateKey("snapshot".into())),
            "rotate_key must take its role"
        );
        assert!(
            Action::from_json(&json!({"action": "rotate_key", "role": "mirror"})).is_err(),
            "an unknown role must be refused"
        );
        assert!(
            Action::from_json(&json!({"action": "explode"})).is_err(),
            "an unknown action must be refused"
        );
    }
}
