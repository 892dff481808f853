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
