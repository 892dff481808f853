//! The TUF client workflow (specification 1.0, §5 "Detailed client workflow") over a
//! [`Remote`] and a [`Cache`]: the root rotation walk, then timestamp → snapshot → targets,
//! each verified against the trusted root, checked for rollback, for the version its parent
//! pins (mix-and-match), for expiry, and bounded in size; then targets by length and hash.
//!
//! Deviation kept on purpose: the new root, timestamp, snapshot and targets are written to
//! the cache only once all of them verified (the specification persists each root as soon
//! as it verifies), so a refresh that fails halfway leaves the previous, consistent set in
//! place, still usable as the verification fallback; the next refresh walks the same roots
//! again. Cached timestamp and snapshot signed by keys a new root dropped fail to verify
//! under it and are then ignored for rollback checks, which is what 5.3.11's deletion
//! achieves.

use super::metadata::{
    check_pinned, parse_root, parse_snapshot, parse_targets, parse_timestamp, Meta, Role, Root,
    Signed, Snapshot, Targets, Timestamp,
};
use super::TufError;

/// Size limits for metadata whose length nothing pins (python-tuf's and go-tuf's defaults).
pub const ROOT_MAX: u64 = 512_000;
pub const TIMESTAMP_MAX: u64 = 16_384;
pub const SNAPSHOT_MAX: u64 = 2_000_000;
pub const TARGETS_MAX: u64 = 5_000_000;
/// Root versions walked in one refresh at most (go-tuf's default is 256, python-tuf's 32).
pub const MAX_ROOT_ROTATIONS: u64 = 256;

/// Where metadata and targets come from.
pub trait Remote {
    /// The file at `path` below the mirror, at most `max_len` bytes (longer is
    /// [`TufError::TooLarge`]); `Ok(None)` when it does not exist.
    fn fetch(&self, path: &str, max_len: u64) -> Result<Option<Vec<u8>>, TufError>;
}

/// The local copy of trusted metadata and targets.
pub trait Cache {
    fn read(&self, name: &str) -> Option<Vec<u8>>;
    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), TufError>;
}

/// A verified, unexpired set of top-level metadata.
#[derive(Debug, Clone)]
pub struct Trusted {
    pub root: Root,
    pub targets: Targets,
}

pub struct Updater<'a> {
    pub remote: &'a dyn Remote,
    pub cache: &'a dyn Cache,
    /// Unix seconds, fixed at the start of the update (spec 5.1).
    pub now: i64,
}

fn check_fresh<T: Meta>(m: &T, now: i64) -> Result<(), TufError> {
    if m.expires() <= now {
        return Err(TufError::Expired {
            role: T::ROLE,
            expires: m.expires(),
        });
    }
    Ok(())
}

impl Updater<'_> {
    /// The trusted root from the cache, checked against its own keys.
    fn cached_root(&self) -> Result<Root, TufError> {
        let bytes = self
            .cache
            .read("root.json")
            .ok_or(TufError::NoTrustedRoot)?;
        let root = parse_root(&bytes, "root.json")?;
        root.verify_by(&root.signed, Role::Root)?;
        Ok(root.signed)
    }

    fn cached_timestamp(&self, root: &Root) -> Option<(Vec<u8>, Signed<Timestamp>)> {
        let bytes = self.cache.read("timestamp.json")?;
        let t = parse_timestamp(&bytes, "timestamp.json").ok()?;
        t.verify_by(root, Role::Timestamp).ok()?;
        Some((bytes, t))
    }

    fn cached_snapshot(&self, root: &Root) -> Option<(Vec<u8>, Signed<Snapshot>)> {
        let bytes = self.cache.read("snapshot.json")?;
        let s = parse_snapshot(&bytes, "snapshot.json").ok()?;
        s.verify_by(root, Role::Snapshot).ok()?;
        Some((bytes, s))
    }

    fn cached_targets(&self, root: &Root) -> Option<(Vec<u8>, Signed<Targets>)> {
        let bytes = self.cache.read("targets.json")?;
        let t = parse_targets(&bytes, "targets.json").ok()?;
        t.verify_by(root, Role::Targets).ok()?;
        Some((bytes, t))
    }

    /// The cached set when every piece verifies, pins the next and has not expired: no
    /// network needed. `Ok(None)` when a refresh is due.
    pub fn cached(&self) -> Result<Option<Trusted>, TufError> {
        let root = self.cached_root()?;
        let fresh = || -> Option<Trusted> {
            check_fresh(&root, self.now).ok()?;
            let (_, ts) = self.cached_timestamp(&root)?;
            check_fresh(&ts.signed, self.now).ok()?;
            let (snap_bytes, snap) = self.cached_snapshot(&root)?;
            let pin = &ts.signed.snapshot;
            check_pinned(
                "snapshot.json",
                &snap_bytes,
                pin.length,
                pin.hashes.as_ref(),
            )
            .ok()?;
            (snap.signed.version == pin.version).then_some(())?;
            check_fresh(&snap.signed, self.now).ok()?;
            let (targets_bytes, targets) = self.cached_targets(&root)?;
            let pin = snap.signed.meta.get("targets.json")?;
            check_pinned(
                "targets.json",
                &targets_bytes,
                pin.length,
                pin.hashes.as_ref(),
            )
            .ok()?;
            (targets.signed.version == pin.version).then_some(())?;
            check_fresh(&targets.signed, self.now).ok()?;
            Some(Trusted {
                root: root.clone(),
                targets: targets.signed,
            })
        };
        Ok(fresh())
    }

    /// The cached targets metadata however old, as long as the cached root signed it: what
    /// verification falls back to when a refresh fails.
    pub fn cached_any_age(&self) -> Option<Trusted> {
        let root = self.cached_root().ok()?;
        let (_, targets) = self.cached_targets(&root)?;
        Some(Trusted {
            root,
            targets: targets.signed,
        })
    }

    /// The full update (spec 5.2–5.6).
    pub fn refresh(&self) -> Result<Trusted, TufError> {
        let (root, root_bytes) = self.update_root()?;
        let ts = self.update_timestamp(&root)?;
        let (snap_bytes, snap) = self.update_snapshot(&root, &ts)?;
        let (targets_bytes, targets) = self.update_targets(&root, &snap.signed)?;
        if let Some(bytes) = root_bytes {
            self.cache.write("root.json", &bytes)?;
        }
        self.cache.write("timestamp.json", &ts.1)?;
        self.cache.write("snapshot.json", &snap_bytes)?;
        self.cache.write("targets.json", &targets_bytes)?;
        Ok(Trusted {
            root,
            targets: targets.signed,
        })
    }

    /// 5.3: walk `N+1.root.json` until the mirror has no newer one; the newest root and,
    /// when it changed, its bytes.
    fn update_root(&self) -> Result<(Root, Option<Vec<u8>>), TufError> {
        let mut trusted = self.cached_root()?;
        let mut newest = None;
        let first = trusted.version;
        for next in first + 1..=first + MAX_ROOT_ROTATIONS {
            let file = format!("{next}.root.json");
            let Some(bytes) = self.remote.fetch(&file, ROOT_MAX)? else {
                break;
            };
            let new = parse_root(&bytes, &file)?;
            new.verify_by(&trusted, Role::Root)?;
            new.verify_by(&new.signed, Role::Root)?;
            if new.signed.version != next {
                return Err(TufError::Version {
                    role: Role::Root,
                    expected: next,
                    got: new.signed.version,
                });
            }
            trusted = new.signed;
            newest = Some(bytes);
        }
        // 5.3.10: a root that is still expired after the walk means a freeze attack.
        check_fresh(&trusted, self.now)?;
        Ok((trusted, newest))
    }

    /// 5.4.
    fn update_timestamp(&self, root: &Root) -> Result<(Signed<Timestamp>, Vec<u8>), TufError> {
        let bytes = self
            .remote
            .fetch("timestamp.json", TIMESTAMP_MAX)?
            .ok_or_else(|| TufError::Missing("timestamp.json".into()))?;
        let new = parse_timestamp(&bytes, "timestamp.json")?;
        new.verify_by(root, Role::Timestamp)?;
        if let Some((old_bytes, old)) = self.cached_timestamp(root) {
            if new.signed.version < old.signed.version {
                return Err(TufError::Rollback {
                    role: Role::Timestamp,
                    trusted: old.signed.version,
                    got: new.signed.version,
                });
            }
            if new.signed.snapshot.version < old.signed.snapshot.version {
                return Err(TufError::Rollback {
                    role: Role::Snapshot,
                    trusted: old.signed.snapshot.version,
                    got: new.signed.snapshot.version,
                });
            }
            // 5.4.3.1: the same version again: keep the one already trusted.
            if new.signed.version == old.signed.version {
                check_fresh(&old.signed, self.now)?;
                return Ok((old, old_bytes));
            }
        }
        check_fresh(&new.signed, self.now)?;
        Ok((new, bytes))
    }

    /// 5.5.
    fn update_snapshot(
        &self,
        root: &Root,
        ts: &(Signed<Timestamp>, Vec<u8>),
    ) -> Result<(Vec<u8>, Signed<Snapshot>), TufError> {
        let pin = &ts.0.signed.snapshot;
        let old = self.cached_snapshot(root);
        // The cached snapshot is the one the timestamp names: nothing to download.
        if let Some((bytes, s)) = &old {
            if s.signed.version == pin.version
                && check_pinned("snapshot.json", bytes, pin.length, pin.hashes.as_ref()).is_ok()
            {
                check_fresh(&s.signed, self.now)?;
                return Ok((bytes.clone(), s.clone()));
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
        if new.signed.version != pin.version {
            return Err(TufError::Version {
                role: Role::Snapshot,
                expected: pin.version,
                got: new.signed.version,
            });
        }
        if let Some((_, old)) = old {
            for (name, was) in &old.signed.meta {
                match new.signed.meta.get(name) {
                    None => return Err(TufError::Missing(name.clone())),
                    Some(now) if now.version < was.version => {
                        return Err(TufError::Rollback {
                            role: Role::Targets,
                            trusted: was.version,
                            got: now.version,
                        })
                    }
                    Some(_) => {}
                }
            }
        }
        check_fresh(&new.signed, self.now)?;
        Ok((bytes, new))
    }

    /// 5.6.
    fn update_targets(
        &self,
        root: &Root,
        snap: &Snapshot,
    ) -> Result<(Vec<u8>, Signed<Targets>), TufError> {
        let pin = snap
            .meta
            .get("targets.json")
            .ok_or_else(|| TufError::Missing("targets.json".into()))?;
        if let Some((bytes, t)) = self.cached_targets(root) {
            if t.signed.version == pin.version
                && check_pinned("targets.json", &bytes, pin.length, pin.hashes.as_ref()).is_ok()
            {
                check_fresh(&t.signed, self.now)?;
                return Ok((bytes, t));
            }
        }
        let file = if root.consistent_snapshot {
            format!("{}.targets.json", pin.version)
        } else {
            "targets.json".to_owned()
        };
        let bytes = self
            .remote
            .fetch(&file, pin.length.unwrap_or(TARGETS_MAX))?
            .ok_or_else(|| TufError::Missing(file.clone()))?;
        check_pinned(&file, &bytes, pin.length, pin.hashes.as_ref())?;
        let new = parse_targets(&bytes, &file)?;
        new.verify_by(root, Role::Targets)?;
        if new.signed.version != pin.version {
            return Err(TufError::Version {
                role: Role::Targets,
                expected: pin.version,
                got: new.signed.version,
            });
        }
        check_fresh(&new.signed, self.now)?;
        Ok((bytes, new))
    }

    /// 5.7: a target by name, from the cache when it still matches, else from the mirror.
    pub fn target(&self, trusted: &Trusted, name: &str) -> Result<Vec<u8>, TufError> {
        let info = trusted
            .targets
            .targets
            .get(name)
            .ok_or_else(|| TufError::Missing(name.to_owned()))?;
        let cache_name = format!("targets/{name}");
        if let Some(bytes) = self.cache.read(&cache_name) {
            if check_pinned(name, &bytes, Some(info.length), Some(&info.hashes)).is_ok() {
                return Ok(bytes);
            }
        }
        let file = match info.hashes.get("sha256") {
            Some(h) if trusted.root.consistent_snapshot => format!("targets/{h}.{name}"),
            _ => format!("targets/{name}"),
        };
        let bytes = self
            .remote
            .fetch(&file, info.length)?
            .ok_or_else(|| TufError::Missing(file.clone()))?;
        check_pinned(name, &bytes, Some(info.length), Some(&info.hashes))?;
        self.cache.write(&cache_name, &bytes)?;
        Ok(bytes)
    }

    /// A cached target that matches `trusted` (no network).
    pub fn cached_target(&self, trusted: &Trusted, name: &str) -> Option<Vec<u8>> {
        let info = trusted.targets.targets.get(name)?;
        let bytes = self.cache.read(&format!("targets/{name}"))?;
        check_pinned(name, &bytes, Some(info.length), Some(&info.hashes)).ok()?;
        Some(bytes)
    }
}
