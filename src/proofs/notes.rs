//! Proofs as git notes under [`NOTES_REF`], one note per object, so they can be pushed and
//! fetched with the repository (`git push origin refs/notes/gitsign`).

use std::collections::HashMap;

use gix::ObjectId;

use super::NOTES_REF;
use crate::rekor::{self, Fetched};

#[derive(Debug, thiserror::Error)]
pub enum NotesError {
    #[error("could not read {NOTES_REF}")]
    Read(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("could not write the notes objects")]
    Write(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("`git {command}` failed: {stderr}")]
    Git { command: String, stderr: String },
}

fn boxed(
    e: impl std::error::Error + Send + Sync + 'static,
) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(e)
}

/// The notes under [`NOTES_REF`]: annotated object id → note blob, read once with gix.
#[derive(Debug, Clone, Default)]
pub struct Notes {
    /// The notes commit the map was read from.
    pub tip: Option<ObjectId>,
    map: HashMap<String, ObjectId>,
}

impl Notes {
    /// Read the notes tree (any fan-out: `ab/cdef…` paths are joined back into ids).
    pub fn load(repo: &gix::Repository) -> Result<Notes, NotesError> {
        let Some(mut r) = repo
            .try_find_reference(NOTES_REF)
            .map_err(|e| NotesError::Read(boxed(e)))?
        else {
            return Ok(Notes::default());
        };
        let commit = r.peel_to_commit().map_err(|e| NotesError::Read(boxed(e)))?;
        let tree = commit
            .tree_id()
            .map_err(|e| NotesError::Read(boxed(e)))?
            .detach();
        let mut map = HashMap::new();
        Self::walk(repo, tree, String::new(), &mut map, 0)?;
        Ok(Notes {
            tip: Some(commit.id),
            map,
        })
    }

    fn walk(
        repo: &gix::Repository,
        tree: ObjectId,
        prefix: String,
        map: &mut HashMap<String, ObjectId>,
        depth: usize,
    ) -> Result<(), NotesError> {
        if depth > 40 {
            return Ok(());
        }
        let tree = repo
            .find_tree(tree)
            .map_err(|e| NotesError::Read(boxed(e)))?;
        for entry in tree.iter() {
            let entry = entry.map_err(|e| NotesError::Read(boxed(e)))?;
            let name = format!("{prefix}{}", entry.filename());
            if !name.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            if entry.mode().is_tree() {
                Self::walk(repo, entry.oid().to_owned(), name, map, depth + 1)?;
            } else if entry.mode().is_blob() {
                map.insert(name.to_ascii_lowercase(), entry.oid().to_owned());
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The proof in the note of object `id`, if any (unparseable notes count as absent).
    pub fn get(&self, repo: &gix::Repository, id: &str) -> Option<Fetched> {
        let blob = self.map.get(id)?;
        let obj = repo.find_object(*blob).ok()?;
        rekor::parse_proof(&obj.data).ok()
    }

    /// Add `proofs` (object id, proof) as notes in one new notes commit on top of [`NOTES_REF`].
    ///
    /// Blobs and the (flat) notes tree are written with gix; the commit and the ref update go
    /// through `git commit-tree` and `git update-ref <ref> <new> <old>`, so the notes commit
    /// gets git's own committer identity rules and the ref moves by compare-and-swap with a
    /// reflog entry, as `git notes add` does — three processes however many notes are added.
    pub fn attach(
        &self,
        repo: &gix::Repository,
        proofs: &[(String, String)],
    ) -> Result<usize, NotesError> {
        use gix::objs::tree::{Entry, EntryKind};
        let mut entries: HashMap<String, ObjectId> = self.map.clone();
        let mut added = 0;
        for (id, json) in proofs {
            let blob = repo
                .write_blob(format!("{json}\n"))
                .map_err(|e| NotesError::Write(boxed(e)))?
                .detach();
            if entries.insert(id.clone(), blob) != Some(blob) {
                added += 1;
            }
        }
        if added == 0 {
            return Ok(0);
        }
        let mut tree = gix::objs::Tree::empty();
        for (name, oid) in &entries {
            tree.entries.push(Entry {
                mode: EntryKind::Blob.into(),
                filename: name.as_str().into(),
                oid: *oid,
            });
        }
        tree.entries.sort();
        let tree_id = repo
            .write_object(&tree)
            .map_err(|e| NotesError::Write(boxed(e)))?
            .detach();
        let git_dir = repo.git_dir();
        let git = |args: &[&str]| -> Result<String, NotesError> {
            let out = std::process::Command::new("git")
                .arg("--git-dir")
                .arg(git_dir)
                .args(args)
                .output()
                .map_err(|e| NotesError::Git {
                    command: args.join(" "),
                    stderr: e.to_string(),
                })?;
            if !out.status.success() {
                return Err(NotesError::Git {
                    command: args.join(" "),
                    stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                });
            }
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        };
        let tree_hex = tree_id.to_string();
        let message = format!("gitsign: attach {added} Rekor proof(s)");
        let mut args = vec!["commit-tree", tree_hex.as_str(), "-m", message.as_str()];
        let parent = self.tip.map(|p| p.to_string());
        if let Some(p) = &parent {
            args.extend(["-p", p.as_str()]);
        }
        let commit = git(&args)?;
        let zero = "0".repeat(tree_hex.len());
        git(&[
            "update-ref",
            "-m",
            "gitsign verify --attach-proofs",
            NOTES_REF,
            &commit,
            parent.as_deref().unwrap_or(&zero),
        ])?;
        Ok(added)
    }
}
