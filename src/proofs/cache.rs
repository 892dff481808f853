//! The proof cache: `<git common dir>/gitsign/proofs/<id[..2]>/<id[2..]>.json`, one file per
//! object, holding Rekor's JSON for the entry that anchored it.
//!
//! The files are untrusted input like any Rekor answer (every proof is verified before it
//! counts), and they must not be able to stall or exhaust a verification either: an entry is
//! read only if it is a regular file, opened without following symlinks and without blocking
//! (a FIFO never hangs the reader), and at most [`MAX_PROOF_BYTES`] of it (issue 16.12); both
//! through [`crate::fsutil`].

use std::path::{Path, PathBuf};

use crate::fsutil;
use crate::rekor::{self, Fetched};

/// The largest proof file read: a Rekor entry with its inclusion proof is a few KB (a tree of
/// 2^40 leaves needs 40 hashes), so 1 MiB is generous and bounds the memory a hostile file
/// can take.
pub const MAX_PROOF_BYTES: u64 = 1 << 20;

/// The proof cache under the repository's git directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache of the repository whose common git directory is `git_dir`.
    pub fn new(git_dir: &Path) -> Cache {
        Cache {
            dir: git_dir.join("gitsign").join("proofs"),
        }
    }

    /// The directory holding the cache (for messages).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &str) -> Option<PathBuf> {
        (id.len() > 2 && id.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| self.dir.join(&id[..2]).join(format!("{}.json", &id[2..])))
    }

    /// The kept proof for object `id`, if any. Unreadable, oversized and non-regular files
    /// count as absent.
    pub fn get(&self, id: &str) -> Option<Fetched> {
        let bytes = fsutil::read_capped(&self.path(id)?, MAX_PROOF_BYTES).ok()?;
        rekor::parse_proof(&bytes).ok()
    }

    /// Keep `proof` for object `id`, atomically ([`fsutil::write_atomic`]).
    pub fn put(&self, id: &str, proof: &Fetched) -> std::io::Result<()> {
        let path = self.path(id).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not an object id")
        })?;
        fsutil::write_atomic(
            &path,
            format!("{}\n", proof.json).as_bytes(),
            fsutil::Access::Shared,
            fsutil::Durability::Cache,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_paths_refuse_non_ids() {
        let c = Cache::new(Path::new("/tmp/x"));
        assert!(
            c.path("../../etc/passwd").is_none(),
            "a path-like id never becomes a path"
        );
        assert_eq!(
            c.path("abcdef"),
            Some(PathBuf::from("/tmp/x/gitsign/proofs/ab/cdef.json"))
        );
    }
}
