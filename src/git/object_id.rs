//! The object id a signed commit or tag will have once git stores it, computed from the
//! payload git handed the signer and the signature — what Go gitsign's online Rekor mode logs
//! (`git.LegacySHASign`: a hashedrekord over SHA-256 of the hex id, signed by the same key).
//!
//! git inserts the signature exactly as `commit.c: add_header_signature` does — a `gpgsig`
//! header (`gpgsig-sha256` in SHA-256 repositories) placed before the blank line that ends the
//! headers, continuation lines indented by one space — and appends it to a tag's body
//! (`builtin/tag.c: do_sign`). The id is the repository's hash of `"<type> <len>\0" + bytes`.
//!
//! For SHA-1 commits this is byte-for-byte Go gitsign's `JoinCommit` + SHA-1. Two places
//! where Go gitsign logs something else, and what we do:
//! - tags: Go gitsign's signer joins every object the commit way (signature as a header), so
//!   its online-mode tag entries are keyed on a synthetic commit-shaped object, while its own
//!   verifier looks up the real tag id. We log the real id (both verifiers find it) and, when
//!   verifying, also accept an entry keyed on the commit-shaped id ([`ObjectIds::legacy`]).
//! - SHA-256 repositories: Go gitsign hashes the SHA-1 form; we log the id git really stores,
//!   the only one a verifier can recompute from the repository.

use crate::git::object::HashKind;

/// A signable git object, told apart by the first header of its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Commit,
    Tag,
}

/// What a payload git asks us to sign is: `tree <hex>` starts a commit, `object <hex>` a tag;
/// the length of that hex is the repository's hash algorithm.
pub fn classify(payload: &[u8]) -> Option<(Kind, HashKind)> {
    let (kind, rest) = if let Some(r) = payload.strip_prefix(b"tree ") {
        (Kind::Commit, r)
    } else if let Some(r) = payload.strip_prefix(b"object ") {
        (Kind::Tag, r)
    } else {
        return None;
    };
    let hex_len = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let hash = match (hex_len, rest.get(hex_len)) {
        (40, Some(b'\n')) => HashKind::Sha1,
        (64, Some(b'\n')) => HashKind::Sha256,
        _ => return None,
    };
    Some((kind, hash))
}

/// The raw commit git writes for `payload` signed with `signature` (`add_header_signature`).
pub fn join_commit(payload: &[u8], signature: &[u8], hash: HashKind) -> Vec<u8> {
    let header: &[u8] = match hash {
        HashKind::Sha1 => b"gpgsig",
        HashKind::Sha256 => b"gpgsig-sha256",
    };
    let insert_at = payload
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| i + 1)
        .unwrap_or(payload.len());
    let mut out = Vec::with_capacity(payload.len() + signature.len() + 64);
    out.extend_from_slice(&payload[..insert_at]);
    for (i, line) in signature.split_inclusive(|&b| b == b'\n').enumerate() {
        if i == 0 {
            out.extend_from_slice(header);
        }
        out.push(b' ');
        out.extend_from_slice(line);
    }
    out.extend_from_slice(&payload[insert_at..]);
    out
}

/// The raw tag git writes: the signature appended to the payload.
pub fn join_tag(payload: &[u8], signature: &[u8]) -> Vec<u8> {
    [payload, signature].concat()
}

/// git's object id of `raw` stored as `kind` (`git hash-object -t <kind>`), lowercase hex.
pub fn hash_object(kind: &str, raw: &[u8], hash: HashKind) -> String {
    let mut data = format!("{kind} {}\0", raw.len()).into_bytes();
    data.extend_from_slice(raw);
    match hash {
        HashKind::Sha1 => crate::crypto::sha1_hex(&data),
        HashKind::Sha256 => crate::encoding::hex(&crate::crypto::sha256(&data)),
    }
}

/// The ids a Rekor entry for a signed object may be keyed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectIds {
    /// The id git stores the object under; what we log and look up first.
    pub real: String,
    /// For tags only: the commit-shaped id Go gitsign's signer logs for tags.
    pub legacy: Option<String>,
}

impl ObjectIds {
    /// Every candidate, real id first.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.real.as_str()).chain(self.legacy.as_deref())
    }
}

/// The ids of the object `payload` + `signature` becomes, or `None` when the payload is
/// neither a commit nor a tag.
pub fn signed_object_ids(payload: &[u8], signature: &[u8]) -> Option<ObjectIds> {
    let (kind, hash) = classify(payload)?;
    Some(match kind {
        Kind::Commit => ObjectIds {
            real: hash_object("commit", &join_commit(payload, signature, hash), hash),
            legacy: None,
        },
        Kind::Tag => ObjectIds {
            real: hash_object("tag", &join_tag(payload, signature), hash),
            legacy: Some(hash_object(
                "commit",
                &join_commit(payload, signature, HashKind::Sha1),
                HashKind::Sha1,
            )),
        },
    })
}

/// The ids of a stored object `raw` whose split is (`payload`, `signature`): the real id is the
/// hash of the stored bytes themselves.
pub fn stored_object_ids(
    raw: &[u8],
    kind: Kind,
    hash: HashKind,
    payload: &[u8],
    signature: &[u8],
) -> ObjectIds {
    match kind {
        Kind::Commit => ObjectIds {
            real: hash_object("commit", raw, hash),
            legacy: None,
        },
        Kind::Tag => ObjectIds {
            real: hash_object("tag", raw, hash),
            legacy: Some(hash_object(
                "commit",
                &join_commit(payload, signature, HashKind::Sha1),
                HashKind::Sha1,
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::object::{split_commit, split_tag};

    fn vectors(dir: &str, ext: &str) -> Vec<(String, Vec<u8>)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(dir);
        let mut out = Vec::new();
        for e in std::fs::read_dir(&path).expect("test vectors exist") {
            let p = e.expect("dir entry").path();
            if p.extension().and_then(|x| x.to_str()) != Some(ext) {
                continue;
            }
            let name = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            out.push((name, std::fs::read(&p).expect("read vector")));
        }
        out
    }

    fn git_hash_object(dir: &std::path::Path, kind: &str, raw: &[u8]) -> String {
        let file = dir.join("object");
        std::fs::write(&file, raw).expect("write object");
        let out = std::process::Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args(["hash-object", "--literally", "-t", kind])
            .arg(&file)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git hash-object succeeds: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    #[test]
    fn rejoined_go_gitsign_commits_hash_to_their_real_ids() {
        let commits = vectors("gitsign-commits", "commit");
        assert!(commits.len() > 10, "the fixture commits are present");
        for (id, raw) in commits {
            let split = split_commit(&raw, HashKind::Sha1).expect("fixture commits are signed");
            assert_eq!(
                join_commit(&split.payload, &split.signature, HashKind::Sha1),
                raw,
                "{id}: joining undoes the split byte for byte"
            );
            let ids =
                signed_object_ids(&split.payload, &split.signature).expect("a commit payload");
            assert_eq!(
                ids.real, id,
                "{id}: the computed id is the stored commit's id"
            );
            assert_eq!(ids.legacy, None, "commits have one id");
        }
    }

    #[test]
    fn tag_ids_match_git_hash_object_and_the_legacy_id_is_commit_shaped() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, raw) in vectors("gitsign-tags", "tag") {
            let Some(split) = split_tag(&raw) else {
                continue;
            };
            if !raw.starts_with(b"object ") {
                continue;
            }
            let ids = signed_object_ids(&split.payload, &split.signature).expect("a tag payload");
            assert_eq!(
                ids.real,
                git_hash_object(dir.path(), "tag", &raw),
                "{name}: the real id is git's tag id"
            );
            let commit_shaped = join_commit(&split.payload, &split.signature, HashKind::Sha1);
            assert_eq!(
                ids.legacy.as_deref(),
                Some(git_hash_object(dir.path(), "commit", &commit_shaped).as_str()),
                "{name}: the legacy id is Go gitsign's commit-shaped join"
            );
        }
    }

    #[test]
    fn sha256_commit_id_matches_git_in_a_sha256_repository() {
        let dir = tempfile::tempdir().expect("temp dir");
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .current_dir(dir.path())
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .args(args)
                .output()
                .expect("git runs");
            assert!(
                out.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        git(&["init", "-q", "--object-format=sha256"]);
        let tree = git(&["write-tree"]);
        assert_eq!(tree.len(), 64, "a SHA-256 repository has 64-hex ids");
        let payload = format!("tree {tree}\nauthor A <a@x> 1700000000 +0000\ncommitter A <a@x> 1700000000 +0000\n\nmsg\n");
        let sig = b"-----BEGIN SIGNED MESSAGE-----\nMIIB\nAAAA\n-----END SIGNED MESSAGE-----\n";
        assert_eq!(
            classify(payload.as_bytes()),
            Some((Kind::Commit, HashKind::Sha256)),
            "the tree id length tells the hash"
        );
        let raw = join_commit(payload.as_bytes(), sig, HashKind::Sha256);
        assert!(
            String::from_utf8_lossy(&raw).contains("\ngpgsig-sha256 -----BEGIN"),
            "SHA-256 repositories use gpgsig-sha256"
        );
        let ids = signed_object_ids(payload.as_bytes(), sig).expect("a commit payload");
        assert_eq!(
            ids.real,
            git_hash_object(dir.path(), "commit", &raw),
            "the id is git's SHA-256 id of the signed commit"
        );
        assert_eq!(ids.real.len(), 64);

        let tag_payload = format!(
            "object {}\ntype commit\ntag v1\ntagger A <a@x> 1700000000 +0000\n\nrelease\n",
            ids.real
        );
        let tag_ids = signed_object_ids(tag_payload.as_bytes(), sig).expect("a tag payload");
        assert_eq!(
            tag_ids.real,
            git_hash_object(dir.path(), "tag", &join_tag(tag_payload.as_bytes(), sig)),
            "the tag id is git's SHA-256 id"
        );
    }

    #[test]
    fn unknown_payloads_have_no_id() {
        assert_eq!(signed_object_ids(b"blob\n", b"sig"), None);
        assert_eq!(
            signed_object_ids(b"tree abc\n\n", b"sig"),
            None,
            "a short tree id is not a commit"
        );
        assert_eq!(
            join_commit(b"tree t\nauthor a", b"S\n", HashKind::Sha1),
            b"tree t\nauthor agpgsig S\n",
            "without a blank line git appends at the end"
        );
    }
}
