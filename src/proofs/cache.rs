//! The proof cache: `<git common dir>/gitsign/proofs/<id[..2]>/<id[2..]>.json`, one file per
//! object, holding Rekor's JSON for the entry that anchored it.
//!
//! The files are untrusted input like any Rekor answer (every proof is verified before it
//! counts), and they must not be able to stall or exhaust a verification either: an entry is
//! read only if it is a regular file, opened without following symlinks and without blocking
//! (a FIFO never hangs the reader), and at most [`MAX_PROOF_BYTES`] of it (issue 16.12).

use std::io::Read as _;
use std::path::{Path, PathBuf};

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
        let bytes = read_regular(&self.path(id)?, MAX_PROOF_BYTES).ok()?;
        rekor::parse_proof(&bytes).ok()
    }

    /// Keep `proof` for object `id` (written to a temporary file, then renamed into place).
    pub fn put(&self, id: &str, proof: &Fetched) -> std::io::Result<()> {
        let path = self.path(id).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not an object id")
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, format!("{}\n", proof.json))?;
        std::fs::rename(&tmp, &path)
    }
}

fn refused(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned())
}

/// Read `path` if it is a regular file of at most `cap` bytes.
fn read_regular(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let file = open_no_follow(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(refused("not a regular file"));
    }
    if meta.len() > cap {
        return Err(refused("larger than a proof can be"));
    }
    let mut bytes = Vec::new();
    // The size may change after the check: read one byte past the cap at most.
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(refused("larger than a proof can be"));
    }
    Ok(bytes)
}

/// Open for reading without following a final symlink and without blocking on a FIFO.
#[cfg(unix)]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(std::fs::File::from(fd))
}

/// Elsewhere: refuse anything `symlink_metadata` does not call a regular file before opening.
#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    if !std::fs::symlink_metadata(path)?.file_type().is_file() {
        return Err(refused("not a regular file"));
    }
    std::fs::File::open(path)
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

    #[test]
    fn only_small_regular_files_are_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let small = dir.path().join("small");
        std::fs::write(&small, b"{}").expect("write");
        assert_eq!(read_regular(&small, 16).expect("a small file"), b"{}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b' '; 17]).expect("write");
        assert!(read_regular(&big, 16).is_err(), "over the cap");
        assert!(read_regular(dir.path(), 16).is_err(), "a directory");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_and_fifos_are_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("temp dir");
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink");
        assert!(
            read_regular(&zero, MAX_PROOF_BYTES).is_err(),
            "a symlink to /dev/zero is not followed"
        );
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success(), "mkfifo");
        // Opening a FIFO with no writer blocks forever unless O_NONBLOCK is set.
        assert!(read_regular(&fifo, MAX_PROOF_BYTES).is_err(), "a FIFO");
    }
}
