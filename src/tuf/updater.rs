//! The TUF client workflow (specification 1.0, §5 "Detailed client workflow") over a
//! [`Remote`] and a [`Cache`]: the root rotation walk, then timestamp → snapshot → targets,
//! each verified against the trusted root, checked for rollback, for the version its parent
//! pins (mix-and-match), for expiry, and bounded in size; then delegated targets roles by the
//! specification's preorder depth-first search, and targets by length and hash.
//!
//! Each role is written to the cache as soon as it verifies (5.3.8, 5.4.5, 5.5.7, 5.6.6), as
//! the specification and python-tuf do; a refresh that fails halfway leaves the roles that did
//! verify. Nothing expired and nothing that failed a check is written. Whether a half-updated
//! cache is ever seen by a later process is the [`Cache`]'s business: gitsign's stages the
//! writes and commits them with the targets they vouch for ([`super::load`]).
//!
//! The order of checks and what stays trusted after a failure follow python-tuf's
//! `TrustedMetadataSet`, which the TUF conformance suite is written against
//! (`scripts/tuf-conformance`): a cached timestamp or snapshot that verifies under the
//! current root is kept for rollback checks even when expired or superseded, and ignored when
//! a new root's keys no longer sign it (5.3.11's fast-forward recovery).

use std::collections::{BTreeMap, BTreeSet};

use super::metadata::{
    check_pinned, parse_root, parse_snapshot, parse_targets, parse_timestamp, Meta, Role, Root,
    Snapshot, TargetFile, Targets, Timestamp,
};
use super::TufError;

/// Size limits for metadata whose length nothing pins (python-tuf's and go-tuf's defaults).
pub const ROOT_MAX: u64 = 512_000;
pub const TIMESTAMP_MAX: u64 = 16_384;
pub const SNAPSHOT_MAX: u64 = 2_000_000;
pub const TARGETS_MAX: u64 = 5_000_000;
/// Root versions walked in one refresh at most (python-tuf's and go-tuf's default).
pub const MAX_ROOT_ROTATIONS: u64 = 256;
/// Targets roles visited in one target search at most (python-tuf's `max_delegations`).
pub const MAX_DELEGATIONS: usize = 32;

/// Where metadata and targets come from.
pub trait Remote {
    /// The metadata file at `path` below the mirror, at most `max_len` bytes (longer is
    /// [`TufError::TooLarge`]); `Ok(None)` when it does not exist.
    fn fetch(&self, path: &str, max_len: u64) -> Result<Option<Vec<u8>>, TufError>;

    /// The target file at `path` (already hash-prefixed under consistent snapshots); by
    /// default `targets/<path>` below the mirror, as Sigstore's repositories lay it out.
    fn fetch_target(&self, path: &str, max_len: u64) -> Result<Option<Vec<u8>>, TufError> {
        self.fetch(&format!("targets/{path}"), max_len)
    }
}

/// The local copy of trusted metadata (`root.json`, `<role>.json`) and targets
/// (`targets/<name>`).
pub trait Cache {
    fn read(&self, name: &str) -> Option<Vec<u8>>;
    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), TufError>;
}

/// Verified metadata: the root, the top-level targets and what a target search needs.
#[derive(Debug, Clone)]
pub struct Trusted {
    pub root: Root,
    pub targets: Targets,
    snapshot: Snapshot,
    timestamp_expires: i64,
    /// Delegated targets roles loaded so far, by name.
    delegated: BTreeMap<String, Targets>,
}

pub struct Updater<'a> {
    pub remote: &'a dyn Remote,
    pub cache: &'a dyn Cache,
    /// Unix seconds, fixed at the start of the update (spec 5.1).
    pub now: i64,
}

fn check_fresh(role: &str, expires: i64, now: i64) -> Result<(), TufError> {
    if expires <= now {
        return Err(TufError::Expired {
            role: role.to_owned(),
            expires,
        });
    }
    Ok(())
}

fn fresh<T: Meta>(m: &T, now: i64) -> Result<(), TufError> {
    check_fresh(T::ROLE.name(), m.expires(), now)
}

/// A role name as one URL path segment and one file name: Python's
/// `urllib.parse.quote(name, safe="")`, as python-tuf writes them.
pub fn quote(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The cache file of a targets role.
fn role_file(role: &str) -> String {
    format!("{}.json", quote(role))
}

/// Names a delegation may not use: their files are the top-level roles'.
const TOP_LEVEL: [&str; 4] = ["root", "timestamp", "snapshot", "targets"];

impl Updater<'_> {
    /// The trusted root from the cache, checked against its own keys (not for expiry: an
    /// expired root is what the rotation walk starts from).
    fn cached_root(&self) -> Result<Root, TufError> {
        let bytes = self
            .cache
            .read("root.json")
            .ok_or(TufError::NoTrustedRoot)?;
        let root = parse_root(&bytes, "root.json")?;
        root.verify_by(&root.signed, Role::Root)?;
        Ok(root.signed)
    }

    fn cached_timestamp(&self, root: &Root) -> Option<Timestamp> {
        let bytes = self.cache.read("timestamp.json")?;
        let t = parse_timestamp(&bytes, "timestamp.json").ok()?;
        t.verify_by(root, Role::Timestamp).ok()?;
        Some(t.signed)
    }

    fn cached_snapshot(&self, root: &Root) -> Option<(Vec<u8>, Snapshot)> {
        let bytes = self.cache.read("snapshot.json")?;
        let s = parse_snapshot(&bytes, "snapshot.json").ok()?;
        s.verify_by(root, Role::Snapshot).ok()?;
        Some((bytes, s.signed))
    }

    /// The cached set when every top-level role verifies, pins the next and has not expired:
    /// no network needed. `Ok(None)` when a refresh is due.
    pub fn cached(&self) -> Result<Option<Trusted>, TufError> {
        let root = self.cached_root()?;
        let fresh_set = || -> Option<Trusted> {
            fresh(&root, self.now).ok()?;
            let ts = self.cached_timestamp(&root)?;
            fresh(&ts, self.now).ok()?;
            let (snap_bytes, snap) = self.cached_snapshot(&root)?;
            self.final_snapshot(&ts, &snap, Some(&snap_bytes)).ok()?;
            let mut trusted = Trusted {
                root: root.clone(),
                targets: empty_targets(),
                snapshot: snap,
                timestamp_expires: ts.expires,
                delegated: BTreeMap::new(),
            };
            trusted.targets = self.cached_role(&trusted, "targets", None).ok()?;
            Some(trusted)
        };
        Ok(fresh_set())
    }

    /// The cached top-level targets however old, as long as the cached root signed them.
    pub fn cached_any_age(&self) -> Option<Trusted> {
        let root = self.cached_root().ok()?;
        let bytes = self.cache.read("targets.json")?;
        let t = parse_targets(&bytes, "targets.json").ok()?;
        t.verify_by(&root, Role::Targets).ok()?;
        let (_, snapshot) = self.cached_snapshot(&root).unwrap_or_else(|| {
            (
                Vec::new(),
                Snapshot {
                    version: 0,
                    expires: 0,
                    meta: BTreeMap::new(),
                },
            )
        });
        Some(Trusted {
            root,
            targets: t.signed,
            snapshot,
            timestamp_expires: 0,
            delegated: BTreeMap::new(),
        })
    }

    /// The full update of the top-level roles (spec 5.2–5.6).
    pub fn refresh(&self) -> Result<Trusted, TufError> {
        let root = self.update_root()?;
        let ts = self.update_timestamp(&root)?;
        let snapshot = self.update_snapshot(&root, &ts)?;
        let mut trusted = Trusted {
            root,
            targets: empty_targets(),
            snapshot,
            timestamp_expires: ts.expires,
            delegated: BTreeMap::new(),
        };
        trusted.targets = self.load_role(&trusted, "targets", None)?;
        Ok(trusted)
    }

    /// 5.3: walk `N+1.root.json` until the mirror has no newer one, persisting each root as
    /// it verifies (5.3.8); the newest root.
    fn update_root(&self) -> Result<Root, TufError> {
        let mut trusted = self.cached_root()?;
        let first = trusted.version;
        for next in first + 1..=first.saturating_add(MAX_ROOT_ROTATIONS) {
            let file = format!("{next}.root.json");
            let Some(bytes) = self.remote.fetch(&file, ROOT_MAX)? else {
                break;
            };
            let new = parse_root(&bytes, &file)?;
            new.verify_by(&trusted, Role::Root)?;
            if new.signed.version != next {
                return Err(TufError::Version {
                    role: "root".into(),
                    expected: next,
                    got: new.signed.version,
                });
            }
            new.verify_by(&new.signed, Role::Root)?;
            self.cache.write("root.json", &bytes)?;
            trusted = new.signed;
        }
        Ok(trusted)
    }

    /// 5.4.
    fn update_timestamp(&self, root: &Root) -> Result<Timestamp, TufError> {
        let old = self.cached_timestamp(root);
        let bytes = self
            .remote
            .fetch("timestamp.json", TIMESTAMP_MAX)?
            .ok_or_else(|| TufError::Missing("timestamp.json".into()))?;
        // 5.3.10: a root that is still expired after the walk means a freeze attack.
        fresh(root, self.now)?;
        let new = parse_timestamp(&bytes, "timestamp.json")?;
        new.verify_by(root, Role::Timestamp)?;
        if let Some(old) = old {
            if new.signed.version < old.version {
                return Err(TufError::Rollback {
                    role: "timestamp".into(),
                    trusted: old.version,
                    got: new.signed.version,
                });
            }
            // 5.4.3.1: the same version again: keep the one already trusted.
            if new.signed.version == old.version {
                fresh(&old, self.now)?;
                return Ok(old);
            }
            if new.signed.snapshot.version < old.snapshot.version {
                return Err(TufError::Rollback {
                    role: "snapshot".into(),
                    trusted: old.snapshot.version,
                    got: new.signed.snapshot.version,
                });
            }
        }
        fresh(&new.signed, self.now)?;
        self.cache.write("timestamp.json", &bytes)?;
        Ok(new.signed)
    }

    /// What makes a snapshot the one to use: unexpired and the version the timestamp names
    /// (and, for downloaded bytes, the pinned length and hashes).
    fn final_snapshot(
        &self,
        ts: &Timestamp,
        snap: &Snapshot,
        bytes: Option<&[u8]>,
    ) -> Result<(), TufError> {
        let pin = &ts.snapshot;
        if let Some(bytes) = bytes {
            check_pinned("snapshot.json", bytes, pin.length, pin.hashes.as_ref())?;
        }
        if snap.version != pin.version {
            return Err(TufError::Version {
                role: "snapshot".into(),
                expected: pin.version,
                got: snap.version,
            });
        }
        fresh(snap, self.now)
    }

    /// 5.5.
    fn update_snapshot(&self, root: &Root, ts: &Timestamp) -> Result<Snapshot, TufError> {
        fresh(ts, self.now)?;
        let pin = &ts.snapshot;
        let old = self.cached_snapshot(root).map(|(_, s)| s);
        // The cached snapshot is the one the timestamp names: nothing to download.
        if let Some(s) = &old {
            if self.final_snapshot(ts, s, None).is_ok() {
                return Ok(s.clone());
            }
        }
        let file = if root.consistent_snapshot {
            format!("{}.snapshot.json", pin.version)
        } else {
            "snapshot.json".to_owned()
        };
        let bytes = self
            .remote
            .fetch(&file, pin.length.unwrap_or(SNAPSHOT_MAX))?
            .ok_or_else(|| TufError::Missing(file.clone()))?;
        check_pinned(&file, &bytes, pin.length, pin.hashes.as_ref())?;
        let new = parse_snapshot(&bytes, &file)?;
        new.verify_by(root, Role::Snapshot)?;
        if let Some(old) = old {
            for (name, was) in &old.meta {
                match new.signed.meta.get(name) {
                    None => return Err(TufError::Missing(name.clone())),
                    Some(now) if now.version < was.version => {
                        return Err(TufError::Rollback {
                            role: name.trim_end_matches(".json").to_owned(),
                            trusted: was.version,
                            got: now.version,
                        })
                    }
                    Some(_) => {}
                }
            }
        }
        self.final_snapshot(ts, &new.signed, None)?;
        self.cache.write("snapshot.json", &bytes)?;
        Ok(new.signed)
    }

    /// Verify the bytes of targets role `role` against the snapshot's pin and its
    /// delegator: the root for `targets`, else the delegation (`parent`, index of the role
    /// in its delegations) that named it.
    fn check_role(
        &self,
        trusted: &Trusted,
        role: &str,
        parent: Option<(&str, usize)>,
        file: &str,
        bytes: &[u8],
    ) -> Result<Targets, TufError> {
        let meta_name = format!("{role}.json");
        let pin = trusted
            .snapshot
            .meta
            .get(&meta_name)
            .ok_or_else(|| TufError::Malformed {
                file: "snapshot.json".into(),
                reason: format!("'{meta_name}' is delegated to but not listed"),
            })?;
        check_pinned(file, bytes, pin.length, pin.hashes.as_ref())?;
        let new = parse_targets(bytes, file)?;
        match parent {
            None => new.verify_by(&trusted.root, Role::Targets)?,
            Some((parent, index)) => {
                let delegations = trusted
                    .role(parent)
                    .and_then(|p| p.delegations.as_ref())
                    .ok_or_else(|| TufError::Missing(format!("{parent}.json")))?;
                let delegation = delegations
                    .roles
                    .get(index)
                    .ok_or_else(|| TufError::Missing(meta_name.clone()))?;
                new.verify_delegated(delegations, delegation)?;
            }
        }
        if new.signed.version != pin.version {
            return Err(TufError::Version {
                role: role.to_owned(),
                expected: pin.version,
                got: new.signed.version,
            });
        }
        check_fresh(role, new.signed.expires, self.now)?;
        Ok(new.signed)
    }

    fn cached_role(
        &self,
        trusted: &Trusted,
        role: &str,
        parent: Option<(&str, usize)>,
    ) -> Result<Targets, TufError> {
        let file = role_file(role);
        let bytes = self
            .cache
            .read(&file)
            .ok_or_else(|| TufError::Missing(file.clone()))?;
        self.check_role(trusted, role, parent, &file, &bytes)
    }

    /// 5.6: a targets role from the cache when it is still the one the snapshot pins, else
    /// from the mirror, persisted once it verifies.
    fn load_role(
        &self,
        trusted: &Trusted,
        role: &str,
        parent: Option<(&str, usize)>,
    ) -> Result<Targets, TufError> {
        if let Ok(t) = self.cached_role(trusted, role, parent) {
            return Ok(t);
        }
        let meta_name = format!("{role}.json");
        let pin = trusted
            .snapshot
            .meta
            .get(&meta_name)
            .ok_or_else(|| TufError::Malformed {
                file: "snapshot.json".into(),
                reason: format!("'{meta_name}' is delegated to but not listed"),
            })?;
        let file = if trusted.root.consistent_snapshot {
            format!("{}.{}", pin.version, role_file(role))
        } else {
            role_file(role)
        };
        let bytes = self
            .remote
            .fetch(&file, pin.length.unwrap_or(TARGETS_MAX))?
            .ok_or_else(|| TufError::Missing(file.clone()))?;
        let targets = self.check_role(trusted, role, parent, &file, &bytes)?;
        self.cache.write(&role_file(role), &bytes)?;
        Ok(targets)
    }

    /// 5.6.7: the target's length and hashes from the first role that lists it, in the
    /// specification's preorder depth-first search of the delegations (`terminating` cuts
    /// the search off at its role, a role is visited once, at most [`MAX_DELEGATIONS`]
    /// roles). `Ok(None)`: no trusted role lists it.
    pub fn find(&self, trusted: &mut Trusted, name: &str) -> Result<Option<TargetFile>, TufError> {
        // (role, its delegator and the delegation's index there)
        let mut to_visit: Vec<(String, Option<(String, usize)>)> = vec![("targets".into(), None)];
        let mut visited = BTreeSet::new();
        while let Some((role, parent)) = to_visit.pop() {
            if visited.len() >= MAX_DELEGATIONS {
                break;
            }
            if visited.contains(&role) {
                continue;
            }
            if role != "targets" && !trusted.delegated.contains_key(&role) {
                let parent_ref = parent.as_ref().map(|(p, i)| (p.as_str(), *i));
                let t = self.load_role(trusted, &role, parent_ref)?;
                trusted.delegated.insert(role.clone(), t);
            }
            let Some(targets) = trusted.role(&role) else {
                continue;
            };
            if let Some(t) = targets.targets.get(name) {
                return Ok(Some(t.clone()));
            }
            visited.insert(role.clone());
            let mut children = Vec::new();
            if let Some(d) = &targets.delegations {
                for (i, child) in d.roles.iter().enumerate() {
                    if TOP_LEVEL.contains(&child.name.as_str()) || !child.delegates(name) {
                        continue;
                    }
                    children.push((child.name.clone(), Some((role.clone(), i))));
                    if child.terminating {
                        to_visit.clear();
                        break;
                    }
                }
            }
            children.reverse();
            to_visit.extend(children);
        }
        Ok(None)
    }

    /// 5.7: a target by name, from the cache when it still matches, else from the mirror.
    pub fn target(&self, trusted: &mut Trusted, name: &str) -> Result<Vec<u8>, TufError> {
        let info = self
            .find(trusted, name)?
            .ok_or_else(|| TufError::Missing(name.to_owned()))?;
        let cache_name = format!("targets/{name}");
        if let Some(bytes) = self.cache.read(&cache_name) {
            if check_pinned(name, &bytes, Some(info.length), Some(&info.hashes)).is_ok() {
                return Ok(bytes);
            }
        }
        let path = match info.prefix_hash() {
            // The hash goes before the file name, not before the whole path.
            Some(h) if trusted.root.consistent_snapshot => match name.rsplit_once('/') {
                Some((dir, file)) => format!("{dir}/{h}.{file}"),
                None => format!("{h}.{name}"),
            },
            _ => name.to_owned(),
        };
        let bytes = self
            .remote
            .fetch_target(&path, info.length)?
            .ok_or_else(|| TufError::Missing(format!("targets/{path}")))?;
        check_pinned(name, &bytes, Some(info.length), Some(&info.hashes))?;
        self.cache.write(&cache_name, &bytes)?;
        Ok(bytes)
    }

    /// A cached top-level target that matches `trusted` (no network).
    pub fn cached_target(&self, trusted: &Trusted, name: &str) -> Option<Vec<u8>> {
        let info = trusted.targets.targets.get(name)?;
        let bytes = self.cache.read(&format!("targets/{name}"))?;
        check_pinned(name, &bytes, Some(info.length), Some(&info.hashes)).ok()?;
        Some(bytes)
    }
}

impl Trusted {
    /// The earliest expiry of the top-level roles this set was built from.
    pub fn expires(&self) -> i64 {
        self.root
            .expires
            .min(self.timestamp_expires)
            .min(self.snapshot.expires)
            .min(self.targets.expires)
    }

    fn role(&self, name: &str) -> Option<&Targets> {
        if name == "targets" {
            Some(&self.targets)
        } else {
            self.delegated.get(name)
        }
    }
}

fn empty_targets() -> Targets {
    Targets {
        version: 0,
        expires: 0,
        targets: BTreeMap::new(),
        delegations: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{hex, rfc3339};
    use ring::signature::{Ed25519KeyPair, KeyPair as _};
    use serde_json::{json, Value};
    use std::cell::RefCell;

    const NOW: i64 = 1_800_000_000;

    /// An Ed25519 signer (key ids here are short names; any unique string does).
    struct Signer {
        pair: Ed25519KeyPair,
    }

    impl Signer {
        fn new() -> Signer {
            let rng = ring::rand::SystemRandom::new();
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("test setup");
            Signer {
                pair: Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("test setup"),
            }
        }

        fn public(&self) -> Value {
            json!({"keytype": "ed25519", "scheme": "ed25519",
                   "keyval": {"public": hex(self.pair.public_key().as_ref())}})
        }
    }

    /// The envelope of `signed`, signed by each (key id, signer) given.
    fn sign(signed: &Value, by: &[(&str, &Signer)]) -> Vec<u8> {
        let bytes = super::super::canonical::canonical(signed).expect("test setup");
        let sigs: Vec<Value> = by
            .iter()
            .map(|(id, s)| json!({"keyid": id, "sig": hex(s.pair.sign(&bytes).as_ref())}))
            .collect();
        serde_json::to_vec(&json!({"signed": signed, "signatures": sigs})).expect("test setup")
    }

    fn meta_of(bytes: &[u8], version: u64) -> Value {
        json!({"version": version, "length": bytes.len(),
               "hashes": {"sha256": hex(&crate::crypto::sha256(bytes))}})
    }

    #[derive(Default)]
    struct Mem {
        files: RefCell<BTreeMap<String, Vec<u8>>>,
        fetched: RefCell<Vec<String>>,
    }

    impl Remote for Mem {
        fn fetch(&self, path: &str, max_len: u64) -> Result<Option<Vec<u8>>, TufError> {
            self.fetched.borrow_mut().push(path.to_owned());
            match self.files.borrow().get(path) {
                Some(b) if b.len() as u64 > max_len => Err(TufError::TooLarge {
                    file: path.into(),
                    limit: max_len,
                }),
                other => Ok(other.cloned()),
            }
        }
    }

    impl Cache for Mem {
        fn read(&self, name: &str) -> Option<Vec<u8>> {
            self.files.borrow().get(name).cloned()
        }
        fn write(&self, name: &str, bytes: &[u8]) -> Result<(), TufError> {
            self.files.borrow_mut().insert(name.into(), bytes.to_vec());
            Ok(())
        }
    }

    /// A one-key-per-role repository; `targets` and the delegated roles are given as
    /// `signed` bodies, each delegated one signed by `delegate`.
    struct Repo {
        key: Signer,
        delegate: Signer,
        remote: Mem,
        cache: Mem,
    }

    impl Repo {
        fn new() -> Repo {
            Repo {
                key: Signer::new(),
                delegate: Signer::new(),
                remote: Mem::default(),
                cache: Mem::default(),
            }
        }

        fn root(&self, consistent: bool, extra_keys: Value, timestamp_role: Value) -> Vec<u8> {
            let mut keys = json!({"k": self.key.public()});
            if let (Some(k), Some(extra)) = (keys.as_object_mut(), extra_keys.as_object()) {
                k.extend(extra.clone());
            }
            let role = json!({"keyids": ["k"], "threshold": 1});
            let signed = json!({"_type": "root", "spec_version": "1.0.31", "version": 1,
                "expires": rfc3339(NOW + 86_400), "consistent_snapshot": consistent,
                "keys": keys,
                "roles": {"root": role, "timestamp": timestamp_role, "snapshot": role,
                          "targets": role}});
            sign(&signed, &[("k", &self.key)])
        }

        /// Publish targets (and delegated roles), snapshot and a timestamp signed by `ts_by`.
        fn publish(&self, consistent: bool, targets: Value, delegated: &[(&str, Value)]) {
            let mut files = self.remote.files.borrow_mut();
            let mut meta = serde_json::Map::new();
            let t = sign(&targets, &[("k", &self.key)]);
            meta.insert("targets.json".into(), meta_of(&t, 1));
            let name = |v: u64, role: &str| {
                if consistent {
                    format!("{v}.{}", role_file(role))
                } else {
                    role_file(role)
                }
            };
            files.insert(name(1, "targets"), t);
            for (role, body) in delegated {
                let b = sign(body, &[("d", &self.delegate)]);
                meta.insert(format!("{role}.json"), meta_of(&b, 1));
                files.insert(name(1, role), b);
            }
            let snap = json!({"_type": "snapshot", "spec_version": "1.0.31", "version": 1,
                "expires": rfc3339(NOW + 86_400), "meta": meta});
            let s = sign(&snap, &[("k", &self.key)]);
            let ts = json!({"_type": "timestamp", "spec_version": "1.0.31", "version": 1,
                "expires": rfc3339(NOW + 86_400), "meta": {"snapshot.json": meta_of(&s, 1)}});
            files.insert(name(1, "snapshot"), s);
            files.insert("timestamp.json".into(), sign(&ts, &[("k", &self.key)]));
        }

        fn updater(&self) -> Updater<'_> {
            Updater {
                remote: &self.remote,
                cache: &self.cache,
                now: NOW,
            }
        }
    }

    fn targets_body(targets: Value, delegations: Value) -> Value {
        let mut t = json!({"_type": "targets", "spec_version": "1.0.31", "version": 1,
            "expires": rfc3339(NOW + 86_400), "targets": targets});
        if !delegations.is_null() {
            t["delegations"] = delegations;
        }
        t
    }

    fn target_entry(content: &[u8], hashes: &[&str]) -> Value {
        use sha2::Digest as _;
        let mut h = serde_json::Map::new();
        for alg in hashes {
            let v = match *alg {
                "sha256" => hex(&crate::crypto::sha256(content)),
                _ => hex(&sha2::Sha512::digest(content)),
            };
            h.insert((*alg).into(), v.into());
        }
        json!({"length": content.len(), "hashes": h})
    }

    #[test]
    fn consistent_snapshot_prefixes_the_file_name_with_any_listed_hash() {
        use sha2::Digest as _;
        let repo = Repo::new();
        repo.cache
            .write(
                "root.json",
                &repo.root(true, json!({}), json!({"keyids": ["k"], "threshold": 1})),
            )
            .expect("test setup");
        let body = b"hello";
        repo.publish(
            true,
            targets_body(
                json!({"dir/a.txt": target_entry(body, &["sha256"]),
                       "b.txt": target_entry(body, &["sha512"])}),
                Value::Null,
            ),
            &[],
        );
        let sha256 = hex(&crate::crypto::sha256(body));
        let sha512 = hex(&sha2::Sha512::digest(body));
        let mut files = repo.remote.files.borrow_mut();
        files.insert(format!("targets/dir/{sha256}.a.txt"), body.to_vec());
        files.insert(format!("targets/{sha512}.b.txt"), body.to_vec());
        drop(files);
        let up = repo.updater();
        let mut t = up.refresh().expect("the repository verifies");
        assert_eq!(
            up.target(&mut t, "dir/a.txt").expect("found under dir/<hash>.a.txt"),
            body,
            "the hash prefix goes before the file name, not before the path (issue: dir/a.txt was fetched as <hash>.dir/a.txt)"
        );
        assert_eq!(
            up.target(&mut t, "b.txt")
                .expect("found under <sha512>.b.txt"),
            body,
            "a target listing only sha512 is still fetched by its hash-prefixed name"
        );
    }

    #[test]
    fn a_public_key_under_two_key_ids_counts_once() {
        let repo = Repo::new();
        // The timestamp role lists "k" and "k2", the same public key, threshold 2.
        let root = repo.root(
            false,
            json!({"k2": repo.key.public()}),
            json!({"keyids": ["k", "k2"], "threshold": 2}),
        );
        repo.cache.write("root.json", &root).expect("test setup");
        repo.publish(false, targets_body(json!({}), Value::Null), &[]);
        let body: Value = serde_json::from_slice(&repo.remote.files.borrow()["timestamp.json"])
            .expect("test setup");
        let twice = sign(&body["signed"], &[("k", &repo.key), ("k2", &repo.key)]);
        repo.remote
            .files
            .borrow_mut()
            .insert("timestamp.json".into(), twice);
        let err = repo
            .updater()
            .refresh()
            .expect_err("one key is not a threshold of two");
        assert!(
            matches!(
                err,
                TufError::Signature {
                    valid: 1,
                    threshold: 2,
                    ..
                }
            ),
            "the same public key under two ids must count once, got: {err}"
        );
    }

    #[test]
    fn duplicate_signature_key_ids_are_refused() {
        let repo = Repo::new();
        let root = repo.root(false, json!({}), json!({"keyids": ["k"], "threshold": 1}));
        let mut v: Value = serde_json::from_slice(&root).expect("test setup");
        let sig = v["signatures"][0].clone();
        v["signatures"]
            .as_array_mut()
            .expect("test setup")
            .push(sig);
        let twice = serde_json::to_vec(&v).expect("test setup");
        assert!(
            matches!(
                parse_root(&twice, "root.json"),
                Err(TufError::Malformed { .. })
            ),
            "two signatures under one key id must be refused, not counted or ignored"
        );
    }

    #[test]
    fn each_role_is_persisted_as_it_verifies() {
        let repo = Repo::new();
        repo.cache
            .write(
                "root.json",
                &repo.root(false, json!({}), json!({"keyids": ["k"], "threshold": 1})),
            )
            .expect("test setup");
        repo.publish(false, targets_body(json!({}), Value::Null), &[]);
        // Break targets.json after the snapshot pinned it.
        repo.remote
            .files
            .borrow_mut()
            .insert("targets.json".into(), b"{}".to_vec());
        assert!(repo.updater().refresh().is_err(), "targets.json is broken");
        let cached = repo.cache.files.borrow();
        assert!(
            cached.contains_key("timestamp.json") && cached.contains_key("snapshot.json"),
            "timestamp and snapshot verified and are kept (spec 5.4.5, 5.5.7)"
        );
        assert!(
            !cached.contains_key("targets.json"),
            "what failed is not written"
        );
    }

    /// The specification's search: preorder, depth first, `terminating` stops it, a role
    /// visited once, patterns per path segment.
    #[test]
    fn delegations_are_searched_preorder_depth_first() {
        let repo = Repo::new();
        repo.cache
            .write(
                "root.json",
                &repo.root(false, json!({}), json!({"keyids": ["k"], "threshold": 1})),
            )
            .expect("test setup");
        let d = |name: &str, paths: Value, terminating: bool| {
            json!({"name": name, "keyids": ["d"], "threshold": 1, "terminating": terminating,
                   "paths": paths})
        };
        let keys = json!({"d": repo.delegate.public()});
        let body = b"x";
        repo.publish(
            false,
            targets_body(
                json!({}),
                json!({"keys": keys, "roles": [
                    d("a", json!(["*.txt"]), false),
                    d("b", json!(["*"]), true),
                    d("c", json!(["*"]), false)]}),
            ),
            &[
                // a delegates back to itself (a cycle) and to a1.
                (
                    "a",
                    targets_body(
                        json!({}),
                        json!({"keys": keys, "roles": [
                    d("a", json!(["*"]), false), d("a1", json!(["f.txt"]), false)]}),
                    ),
                ),
                (
                    "a1",
                    targets_body(
                        json!({"f.txt": target_entry(body, &["sha256"])}),
                        Value::Null,
                    ),
                ),
                (
                    "b",
                    targets_body(
                        json!({"g.bin": target_entry(body, &["sha256"])}),
                        Value::Null,
                    ),
                ),
                (
                    "c",
                    targets_body(
                        json!({"h.bin": target_entry(body, &["sha256"])}),
                        Value::Null,
                    ),
                ),
            ],
        );
        let up = repo.updater();
        let mut t = up.refresh().expect("the repository verifies");
        assert!(
            up.find(&mut t, "f.txt").expect("searchable").is_some(),
            "found in a1 below a"
        );
        assert!(
            up.find(&mut t, "g.bin").expect("searchable").is_some(),
            "found in b"
        );
        assert!(
            up.find(&mut t, "h.bin").expect("searchable").is_none(),
            "b is terminating: c is never consulted"
        );
        assert!(
            up.find(&mut t, "dir/f.txt").expect("searchable").is_none(),
            "'*.txt' does not match across a '/'"
        );
        let fetched = repo.remote.fetched.borrow().clone();
        assert!(
            !fetched.iter().any(|f| f == "c.json"),
            "the role after a terminating one is not even fetched: {fetched:?}"
        );
    }

    #[test]
    fn path_patterns_match_per_segment_as_fnmatch() {
        use super::super::metadata::path_matches;
        for (t, p, want) in [
            ("a.txt", "*.txt", true),
            ("d/a.txt", "*.txt", false),
            ("d/a.txt", "d/*", true),
            ("d/a.txt", "*/*.txt", true),
            ("a1", "a?", true),
            ("a12", "a?", false),
            ("b", "[abc]", true),
            ("d", "[!abc]", true),
            ("a", "[!abc]", false),
            ("m", "[a-z]", true),
            ("", "*", true),
        ] {
            assert_eq!(path_matches(t, p), want, "'{t}' against '{p}'");
        }
    }
}
