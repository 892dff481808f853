//! Facts already proven in this process, so a range signed with one certificate (the
//! credential cache, or Go gitsign's) checks its chain and SCT once, not once per commit.
//!
//! Only time-independent facts are kept: "key K signed these bytes". Each entry is SHA-256 over
//! a tag and the length-prefixed inputs (the full certificates and keys, never a name), so a
//! cached fact is exactly as strong as the signature check it replaces. Validity windows and
//! trust-root membership are still checked on every use. The set is capped to keep memory flat
//! on long ranges: when full it is cleared and facts are re-proven.

use std::collections::HashSet;
use std::sync::Mutex;

/// At most this many facts (32 bytes each) are kept.
const CAPACITY: usize = 1 << 18;

pub struct Proven(Mutex<Option<HashSet<[u8; 32]>>>);

impl Proven {
    pub const fn new() -> Proven {
        Proven(Mutex::new(None))
    }

    pub fn contains(&self, key: &[u8; 32]) -> bool {
        self.0
            .lock()
            .map(|g| g.as_ref().is_some_and(|s| s.contains(key)))
            .unwrap_or(false)
    }

    /// Whether the fact `key` holds: known already, or `prove` shows it now (then it is kept).
    pub fn check(&self, key: [u8; 32], prove: impl FnOnce() -> bool) -> bool {
        if self.contains(&key) {
            return true;
        }
        let ok = prove();
        if ok {
            self.insert(key);
        }
        ok
    }

    pub fn insert(&self, key: [u8; 32]) {
        if let Ok(mut g) = self.0.lock() {
            let set = g.get_or_insert_with(HashSet::new);
            if set.len() >= CAPACITY {
                set.clear();
            }
            set.insert(key);
        }
    }
}

impl Default for Proven {
    fn default() -> Proven {
        Proven::new()
    }
}

/// The key of a fact: SHA-256 over `tag` and each part with its length.
pub fn key(tag: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(tag);
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_parts_and_tags() {
        assert_ne!(
            key(b"a", &[b"xy", b"z"]),
            key(b"a", &[b"x", b"yz"]),
            "lengths delimit parts"
        );
        assert_ne!(
            key(b"a", &[b"x"]),
            key(b"b", &[b"x"]),
            "tags separate kinds of facts"
        );
        let p = Proven::new();
        let k = key(b"t", &[b"1"]);
        assert!(!p.contains(&k));
        p.insert(k);
        assert!(p.contains(&k), "an inserted fact is found");
        let other = key(b"t", &[b"2"]);
        assert!(!p.check(other, || false), "a failed proof is not kept");
        assert!(!p.contains(&other));
        assert!(p.check(other, || true), "a proof that holds is kept");
        assert!(p.check(other, || panic!("not proven again")));
    }
}
