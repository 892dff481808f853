//! Where attestations live, exactly as Go gitsign's `internal/attest` lays them out: a commit
//! chain on `refs/attestations/commits` (or `…/trees`) whose tree holds one directory per
//! attested object id, holding `NAME` (the predicate as given) and `NAME.sig` (the DSSE
//! envelope); we add `NAME.sigstore.json`. Each attestation is a new commit whose parent is
//! the previous one, entries of earlier attestations kept (same name: replaced, as in Go), and
//! the ref is moved with a compare-and-swap. The container commit is not signed (Go's is not
//! either): the envelope inside is what is signed.
//!
//! Written with git's plumbing (`hash-object`, `mktree`, `commit-tree`, `update-ref`) in the
//! current repository, so hooks, alternates and the object format are git's own.

use std::io::Write as _;
use std::process::{Command, Stdio};

use super::Subject;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not run git {args}")]
    Spawn {
        args: String,
        #[source]
        source: std::io::Error,
    },
    #[error("git {args} failed: {stderr}")]
    Git { args: String, stderr: String },
    #[error("'{0}' is not a usable attestation name (a file name, without '/', not ending in .sig or .sigstore.json)")]
    Name(String),
    #[error("git printed something unexpected for {0}")]
    Output(String),
}

fn git(args: &[&str], stdin: Option<&[u8]>) -> Result<Vec<u8>, StoreError> {
    let shown = args.join(" ");
    let mut child = Command::new("git")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| StoreError::Spawn {
            args: shown.clone(),
            source,
        })?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input).map_err(|source| StoreError::Spawn {
            args: shown.clone(),
            source,
        })?;
    }
    let out = child
        .wait_with_output()
        .map_err(|source| StoreError::Spawn {
            args: shown.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(StoreError::Git {
            args: shown,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(out.stdout)
}

fn line(out: Vec<u8>, what: &str) -> Result<String, StoreError> {
    let s = String::from_utf8(out).map_err(|_| StoreError::Output(what.to_owned()))?;
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::Output(what.to_owned()));
    }
    Ok(s.to_owned())
}

/// The id of the commit (or its tree) `rev` names.
pub fn resolve(rev: &str, subject: Subject) -> Result<String, StoreError> {
    let peel = match subject {
        Subject::Commit => "^{commit}",
        Subject::Tree => "^{tree}",
    };
    let spec = format!("{rev}{peel}");
    line(
        git(&["rev-parse", "--verify", "--end-of-options", &spec], None)?,
        &spec,
    )
}

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub mode: String,
    pub kind: String,
    pub id: String,
    pub name: String,
}

fn ls_tree(treeish: &str) -> Result<Vec<Entry>, StoreError> {
    let out = git(&["ls-tree", "-z", "--end-of-options", treeish], None)?;
    let mut entries = Vec::new();
    for rec in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let rec = String::from_utf8_lossy(rec);
        let (meta, name) = rec
            .split_once('\t')
            .ok_or_else(|| StoreError::Output(format!("ls-tree {treeish}")))?;
        let mut parts = meta.split(' ');
        let (Some(mode), Some(kind), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(StoreError::Output(format!("ls-tree {treeish}")));
        };
        entries.push(Entry {
            mode: mode.to_owned(),
            kind: kind.to_owned(),
            id: id.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(entries)
}

/// The current attestation commit of `subject`'s ref, if there is one.
pub fn head(subject: Subject) -> Result<Option<String>, StoreError> {
    let spec = format!("{}^{{commit}}", subject.ref_name());
    match git(
        &["rev-parse", "--verify", "-q", "--end-of-options", &spec],
        None,
    ) {
        Ok(out) => Ok(Some(line(out, &spec)?)),
        Err(StoreError::Git { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The files stored for object `id`: (name, blob id), empty when none.
pub fn files(subject: Subject, id: &str) -> Result<Vec<(String, String)>, StoreError> {
    let Some(head) = head(subject)? else {
        return Ok(Vec::new());
    };
    let dir = ls_tree(&head)?
        .into_iter()
        .find(|e| e.name == id && e.kind == "tree");
    let Some(dir) = dir else {
        return Ok(Vec::new());
    };
    Ok(ls_tree(&dir.id)?
        .into_iter()
        .filter(|e| e.kind == "blob")
        .map(|e| (e.name, e.id))
        .collect())
}

pub fn read_blob(id: &str) -> Result<Vec<u8>, StoreError> {
    git(&["cat-file", "blob", id], None)
}

/// The raw bytes of object `id` of type `kind` (`commit`, `tag`).
pub fn read_object(kind: &str, id: &str) -> Result<Vec<u8>, StoreError> {
    git(&["cat-file", kind, id], None)
}

/// The object `refs/tags/NAME` points at and its type, if that tag exists.
pub fn tag(name: &str) -> Result<Option<(String, String)>, StoreError> {
    let refname = format!("refs/tags/{name}");
    let id = match git(
        &["rev-parse", "--verify", "-q", "--end-of-options", &refname],
        None,
    ) {
        Ok(out) => line(out, &refname)?,
        Err(StoreError::Git { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let kind = String::from_utf8_lossy(&git(&["cat-file", "-t", &id], None)?)
        .trim()
        .to_owned();
    Ok(Some((id, kind)))
}

/// The first URL of `remote`, as Go gitsign names the subject; `None` without that remote.
pub fn remote_url(remote: &str) -> Result<Option<String>, StoreError> {
    let key = format!("remote.{remote}.url");
    match git(&["config", "--get-all", &key], None) {
        Ok(out) => Ok(String::from_utf8_lossy(&out)
            .lines()
            .next()
            .map(str::to_owned)),
        Err(StoreError::Git { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Check a file name for use as an attestation name.
pub fn check_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\0', '\n'])
        || name.ends_with(super::SIG_SUFFIX)
        || name.ends_with(super::BUNDLE_SUFFIX)
    {
        return Err(StoreError::Name(name.to_owned()));
    }
    Ok(())
}

fn write_blob(bytes: &[u8]) -> Result<String, StoreError> {
    line(
        git(&["hash-object", "-w", "--stdin"], Some(bytes))?,
        "hash-object",
    )
}

fn make_tree(entries: &[Entry]) -> Result<String, StoreError> {
    let mut input = Vec::new();
    for e in entries {
        input.extend_from_slice(format!("{} {} {}\t{}", e.mode, e.kind, e.id, e.name).as_bytes());
        input.push(0);
    }
    line(git(&["mktree", "-z"], Some(&input))?, "mktree")
}

/// `existing` with `new` entries added, same names replaced (git sorts them in mktree).
fn merged(existing: Vec<Entry>, new: Vec<Entry>) -> Vec<Entry> {
    let mut out: Vec<Entry> = existing
        .into_iter()
        .filter(|e| !new.iter().any(|n| n.name == e.name))
        .collect();
    out.extend(new);
    out
}

/// How many times [`write`] builds its commit again on a ref that moved under it.
const CAS_ATTEMPTS: u32 = 64;

/// Store `files` (name, bytes) for object `id` as a new attestation commit; returns its id.
///
/// The ref moves by compare-and-swap (as Go's `CheckAndSetReference`); when another `attest`
/// moved it first (or holds its lock), the commit is built again on the new head, so
/// concurrent attestations all land, each keeping the others' entries.
pub fn write(
    subject: Subject,
    id: &str,
    name: &str,
    files: &[(String, Vec<u8>)],
) -> Result<String, StoreError> {
    check_name(name)?;
    let mut new = Vec::new();
    for (file, bytes) in files {
        new.push(Entry {
            mode: "100644".into(),
            kind: "blob".into(),
            id: write_blob(bytes)?,
            name: file.clone(),
        });
    }
    let mut attempt = 0;
    loop {
        match write_once(subject, id, name, &new) {
            Err(StoreError::Git { args, .. })
                if args.starts_with("update-ref") && attempt + 1 < CAS_ATTEMPTS =>
            {
                attempt += 1;
                // Spread the retries of concurrent writers: 1..=8 ms, then more.
                let pause = u64::from(attempt.min(16)) + u64::from(std::process::id() % 8);
                std::thread::sleep(std::time::Duration::from_millis(pause));
            }
            other => return other,
        }
    }
}

/// One attempt of [`write`]: a commit on the current head with `new` entries for `id`, and
/// the compare-and-swap of the ref from that head to it.
fn write_once(subject: Subject, id: &str, name: &str, new: &[Entry]) -> Result<String, StoreError> {
    let old = head(subject)?;
    let (outer, inner) = match &old {
        Some(c) => {
            let outer = ls_tree(c)?;
            let inner = match outer.iter().find(|e| e.name == id && e.kind == "tree") {
                Some(dir) => ls_tree(&dir.id)?,
                None => Vec::new(),
            };
            (outer, inner)
        }
        None => (Vec::new(), Vec::new()),
    };
    let inner_id = make_tree(&merged(inner, new.to_vec()))?;
    let outer_id = make_tree(&merged(
        outer,
        vec![Entry {
            mode: "040000".into(),
            kind: "tree".into(),
            id: inner_id,
            name: id.to_owned(),
        }],
    ))?;
    let message = format!("Gitsign attest {name}");
    let mut args = vec![
        "commit-tree",
        "--no-gpg-sign",
        outer_id.as_str(),
        "-m",
        &message,
    ];
    if let Some(parent) = &old {
        args.extend(["-p", parent.as_str()]);
    }
    let commit = line(git(&args, None)?, "commit-tree")?;
    let zero = "0".repeat(commit.len());
    let expected = old.as_deref().unwrap_or(&zero);
    git(
        &[
            "update-ref",
            "-m",
            &message,
            subject.ref_name(),
            &commit,
            expected,
        ],
        None,
    )?;
    Ok(commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_clobber_or_escape_are_refused() {
        for bad in ["", ".", "..", "a/b", "x.sig", "x.sigstore.json", "a\nb"] {
            assert!(check_name(bad).is_err(), "{bad:?} is refused");
        }
        for good in ["test.json", "sbom.spdx", "provenance"] {
            assert!(check_name(good).is_ok(), "{good:?} is fine");
        }
    }

    #[test]
    fn merging_replaces_same_names_and_keeps_the_rest() {
        let e = |name: &str, id: &str| Entry {
            mode: "100644".into(),
            kind: "blob".into(),
            id: id.into(),
            name: name.into(),
        };
        let out = merged(
            vec![e("a", "1"), e("b", "2")],
            vec![e("b", "3"), e("c", "4")],
        );
        assert_eq!(out, vec![e("a", "1"), e("b", "3"), e("c", "4")]);
    }
}
