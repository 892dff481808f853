//! Where a policy's key files come from. Paths in a policy are relative to the policy file,
//! `/`-separated: for a file on disk, they name files beside it ([`Directory`]); for a policy
//! committed to a repository, they name blobs of the same commit's tree ([`GitTree`]), so a
//! policy and the keys it trusts change together, in one signed commit.
//!
//! Both sources resolve a path the same way ([`resolve`]): absolute paths are refused (a
//! committed policy has no filesystem to point into) and `..` is followed lexically; in a tree
//! it may not climb above the root. Each file is read whole, up to [`MAX_KEY_FILE`] bytes.

use std::path::{Path, PathBuf};

use gix::ObjectId;

/// The largest key file read: armored keys and allowed-signers files are kilobytes; a file
/// a thousand times larger is a mistake, not a key ring.
pub const MAX_KEY_FILE: u64 = 4 << 20;

/// Why a key file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("absolute paths are not allowed: paths are relative to the policy file")]
    Absolute,
    #[error("the path is empty")]
    Empty,
    #[error("the path climbs above the root of the tree")]
    OutsideTree,
    #[error("no such file")]
    Missing,
    #[error("not a regular file")]
    NotAFile,
    #[error("larger than {MAX_KEY_FILE} bytes")]
    TooLarge,
    #[error("no key files can be read here (the policy is checked without its directory)")]
    Unavailable,
    #[error("{0}")]
    Io(#[source] std::io::Error),
    #[error("reading the git tree")]
    Git(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The files a policy names, by path relative to the policy file.
pub trait FileSource {
    /// The whole file at `path` (relative, `/`-separated).
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError>;
    /// How to name `path` to a person: a filesystem path, or `COMMIT:path`.
    fn describe(&self, path: &str) -> String;
}

/// `path` as components below the policy's directory `base`: `.` and empty components
/// dropped, `..` applied lexically. `None` when it climbs above the root of `base`'s tree.
pub fn resolve(base: &[String], path: &str) -> Result<Vec<String>, SourceError> {
    if path.is_empty() {
        return Err(SourceError::Empty);
    }
    if path.starts_with('/') || path.starts_with('\\') || Path::new(path).is_absolute() {
        return Err(SourceError::Absolute);
    }
    let mut out: Vec<String> = base.to_vec();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop().ok_or(SourceError::OutsideTree)?;
            }
            p => out.push(p.to_owned()),
        }
    }
    if out.is_empty() {
        return Err(SourceError::Empty);
    }
    Ok(out)
}

/// No key files at all: for policies that only name Sigstore identities (the hook's files
/// before authorities), and for tests.
pub struct NoFiles;

impl FileSource for NoFiles {
    fn read(&self, _path: &str) -> Result<Vec<u8>, SourceError> {
        Err(SourceError::Unavailable)
    }

    fn describe(&self, path: &str) -> String {
        path.to_owned()
    }
}

/// The directory holding a policy file on disk.
pub struct Directory {
    dir: PathBuf,
}

impl Directory {
    /// The directory of `policy_file` (the current directory for a bare file name).
    pub fn of(policy_file: &Path) -> Directory {
        let dir = match policy_file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Directory { dir }
    }

    fn path(&self, path: &str) -> Result<PathBuf, SourceError> {
        if path.is_empty() {
            return Err(SourceError::Empty);
        }
        if path.starts_with('/') || Path::new(path).is_absolute() {
            return Err(SourceError::Absolute);
        }
        Ok(self.dir.join(path))
    }
}

impl FileSource for Directory {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        use std::io::Read as _;
        let full = self.path(path)?;
        // Checked before opening: Windows refuses to open a directory ("access denied").
        if full.is_dir() {
            return Err(SourceError::NotAFile);
        }
        let file = std::fs::File::open(&full).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SourceError::Missing,
            _ => SourceError::Io(e),
        })?;
        let meta = file.metadata().map_err(SourceError::Io)?;
        if !meta.is_file() {
            return Err(SourceError::NotAFile);
        }
        let mut bytes = Vec::new();
        file.take(MAX_KEY_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(SourceError::Io)?;
        if bytes.len() as u64 > MAX_KEY_FILE {
            return Err(SourceError::TooLarge);
        }
        Ok(bytes)
    }

    fn describe(&self, path: &str) -> String {
        match self.path(path) {
            Ok(p) => p.display().to_string(),
            Err(_) => path.to_owned(),
        }
    }
}

/// The tree of a commit holding a committed policy, at the policy's directory.
pub struct GitTree<'r> {
    repo: &'r gix::Repository,
    tree: ObjectId,
    /// The policy file's directory within the tree, as components.
    base: Vec<String>,
    /// How the tree is named in messages (a commit id, a revision).
    label: String,
}

impl<'r> GitTree<'r> {
    /// The tree `tree` of `repo`, for a policy at `policy_path` (`/`-separated, from the root).
    pub fn new(
        repo: &'r gix::Repository,
        tree: ObjectId,
        policy_path: &str,
        label: impl Into<String>,
    ) -> GitTree<'r> {
        let mut base: Vec<String> = policy_path
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .map(str::to_owned)
            .collect();
        base.pop(); // the policy file itself
        GitTree {
            repo,
            tree,
            base,
            label: label.into(),
        }
    }
}

fn git_error(e: impl std::error::Error + Send + Sync + 'static) -> SourceError {
    SourceError::Git(Box::new(e))
}

impl FileSource for GitTree<'_> {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let parts = resolve(&self.base, path)?;
        let tree = self.repo.find_tree(self.tree).map_err(git_error)?;
        let entry = tree
            .lookup_entry(parts.iter().map(String::as_str))
            .map_err(git_error)?
            .ok_or(SourceError::Missing)?;
        if !entry.mode().is_blob() {
            return Err(SourceError::NotAFile);
        }
        let blob = entry.object().map_err(git_error)?;
        if blob.data.len() as u64 > MAX_KEY_FILE {
            return Err(SourceError::TooLarge);
        }
        Ok(blob.data.clone())
    }

    fn describe(&self, path: &str) -> String {
        match resolve(&self.base, path) {
            Ok(parts) => format!("{}:{}", self.label, parts.join("/")),
            Err(_) => format!("{}:{path}", self.label),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_below_the_policy_directory() {
        let base = vec!["policy".to_string()];
        assert_eq!(
            resolve(&base, "keys/a.asc").expect("resolves"),
            vec!["policy", "keys", "a.asc"]
        );
        assert_eq!(
            resolve(&base, "./../keys//a.asc").expect("resolves"),
            vec!["keys", "a.asc"],
            "`.`, empty components and `..` are applied lexically"
        );
        assert!(matches!(
            resolve(&base, "../../a.asc"),
            Err(SourceError::OutsideTree)
        ));
        assert!(matches!(
            resolve(&base, "/etc/passwd"),
            Err(SourceError::Absolute)
        ));
        assert!(matches!(resolve(&base, ""), Err(SourceError::Empty)));
        assert!(matches!(resolve(&[], "."), Err(SourceError::Empty)));
    }

    #[test]
    fn a_directory_reads_files_beside_the_policy() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("keys")).expect("mkdir");
        std::fs::write(dir.path().join("keys/a.asc"), b"key bytes").expect("write");
        let src = Directory::of(&dir.path().join("policy.toml"));
        assert_eq!(src.read("keys/a.asc").expect("reads"), b"key bytes");
        assert!(matches!(src.read("keys/b.asc"), Err(SourceError::Missing)));
        assert!(matches!(src.read("keys"), Err(SourceError::NotAFile)));
        assert!(matches!(
            src.read("/keys/a.asc"),
            Err(SourceError::Absolute)
        ));
        assert_eq!(
            src.describe("keys/a.asc"),
            dir.path().join("keys/a.asc").display().to_string()
        );
        assert_eq!(
            Directory::of(Path::new("policy.toml")).describe("k"),
            Path::new(".").join("k").display().to_string(),
            "a bare file name is in the current directory"
        );
    }
}
