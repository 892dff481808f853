//! Signed payload and signature of raw git objects, split exactly as git-core does
//! (`commit.c: parse_buffer_signed_by_header`, `gpg-interface.c: parse_signed_buffer`).
//!
//! Commits carry the signature in a `gpgsig` header (`gpgsig-sha256` in SHA-256 repositories)
//! whose continuation lines start with one space; the payload is the object without that header.
//! Headers of the other hash algorithm's signature are dropped from the payload too. Tags carry
//! the signature appended to the body, starting at the last line that opens a known armor.

/// Object hash algorithm of the repository: selects which header carries "our" signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    Sha1,
    Sha256,
}

impl HashKind {
    fn header(self) -> &'static [u8] {
        match self {
            HashKind::Sha1 => b"gpgsig",
            HashKind::Sha256 => b"gpgsig-sha256",
        }
    }
}

/// A signed object split into what was signed and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// The signature formats git knows, by the first line of the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFormat {
    /// `-----BEGIN SIGNED MESSAGE-----`: gpg.format=x509, what gitsign writes.
    X509,
    Openpgp,
    Ssh,
    Unknown,
}

impl std::fmt::Display for SignatureFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureFormat::X509 => "x509 (CMS)",
            SignatureFormat::Openpgp => "OpenPGP",
            SignatureFormat::Ssh => "SSH",
            SignatureFormat::Unknown => "unknown",
        })
    }
}

const ARMORS: [(&[u8], SignatureFormat); 4] = [
    (b"-----BEGIN PGP SIGNATURE-----", SignatureFormat::Openpgp),
    (b"-----BEGIN PGP MESSAGE-----", SignatureFormat::Openpgp),
    (b"-----BEGIN SIGNED MESSAGE-----", SignatureFormat::X509),
    (b"-----BEGIN SSH SIGNATURE-----", SignatureFormat::Ssh),
];

/// Which format a signature is, from its first line (git's `get_format_by_sig`).
pub fn signature_format(signature: &[u8]) -> SignatureFormat {
    ARMORS
        .iter()
        .find(|(prefix, _)| signature.starts_with(prefix))
        .map(|&(_, f)| f)
        .unwrap_or(SignatureFormat::Unknown)
}

/// Lines of `buf`, each with its `\n` (the last may lack one).
fn lines(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    use gix::bstr::ByteSlice as _;
    let mut rest = buf;
    // Each line found with memchr (a byte-at-a-time split was most of splitting a commit).
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.find_byte(b'\n').map_or(rest.len(), |i| i + 1);
        let (line, tail) = rest.split_at(end);
        rest = tail;
        Some(line)
    })
}

/// Split a raw commit: `None` when it has no signature header for `hash`.
pub fn split_commit(raw: &[u8], hash: HashKind) -> Option<Split> {
    let header = hash.header();
    let mut payload = Vec::with_capacity(raw.len());
    let mut signature = Vec::new();
    let (mut in_sig, mut saw_sig, mut other_sig) = (false, false, false);
    let mut offset = 0;
    for line in lines(raw) {
        offset += line.len();
        let sig: Option<&[u8]> = if in_sig && line.first() == Some(&b' ') {
            Some(&line[1..])
        } else if line.starts_with(header) && line.get(header.len()) == Some(&b' ') {
            other_sig = false;
            Some(&line[header.len() + 1..])
        } else {
            if line.starts_with(b"gpgsig") {
                other_sig = true;
            } else if other_sig && line.first() != Some(&b' ') {
                other_sig = false;
            }
            None
        };
        if let Some(sig) = sig {
            if !saw_sig {
                // The signature is at most the rest of the object: one allocation.
                signature.reserve(raw.len() + sig.len() - offset);
            }
            signature.extend_from_slice(sig);
            saw_sig = true;
            in_sig = true;
        } else {
            in_sig = false;
            if line == b"\n" {
                // End of headers: the message is copied whole, look-alikes included.
                payload.extend_from_slice(line);
                payload.extend_from_slice(&raw[offset..]);
                break;
            }
            if !other_sig {
                payload.extend_from_slice(line);
            }
        }
    }
    saw_sig.then_some(Split { payload, signature })
}

/// Split a raw tag: the signature starts at the last line opening a known armor.
pub fn split_tag(raw: &[u8]) -> Option<Split> {
    let mut start = None;
    let mut offset = 0;
    for line in lines(raw) {
        if signature_format(line) != SignatureFormat::Unknown {
            start = Some(offset);
        }
        offset += line.len();
    }
    let start = start?;
    Some(Split {
        payload: raw[..start].to_vec(),
        signature: raw[start..].to_vec(),
    })
}

/// The committer (or tagger) line's email, for `gitsign.matchCommitter` and display.
pub fn header_value<'a>(raw: &'a [u8], name: &str) -> Option<&'a [u8]> {
    for line in lines(raw) {
        if line == b"\n" {
            return None;
        }
        if let Some(rest) = line.strip_prefix(name.as_bytes()) {
            if let Some(value) = rest.strip_prefix(b" ") {
                return Some(value.strip_suffix(b"\n").unwrap_or(value));
            }
        }
    }
    None
}

/// The first line of the message (after the header block), for human output.
pub fn subject(raw: &[u8]) -> String {
    let body = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| &raw[i + 2..])
        .unwrap_or(b"");
    let first = body.split(|&b| b == b'\n').next().unwrap_or(b"");
    String::from_utf8_lossy(first).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "-----BEGIN SIGNED MESSAGE-----\nMIIB\n-----END SIGNED MESSAGE-----\n";

    fn signed_commit(extra_headers: &str, message: &str) -> (Vec<u8>, Vec<u8>) {
        let payload = format!(
            "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n{extra_headers}author A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\n{message}"
        );
        let indented = SIG.trim_end_matches('\n').replace('\n', "\n ");
        let raw = payload.replacen(
            "committer A <a@x> 1 +0000\n",
            &format!("committer A <a@x> 1 +0000\ngpgsig {indented}\n"),
            1,
        );
        (raw.into_bytes(), payload.into_bytes())
    }

    #[test]
    fn splits_gpgsig_with_continuation_lines() {
        let (raw, payload) = signed_commit("", "subject\n\nbody\n");
        let split = split_commit(&raw, HashKind::Sha1).expect("signed");
        assert_eq!(
            split.payload, payload,
            "payload is the commit minus the header"
        );
        assert_eq!(
            split.signature,
            SIG.as_bytes(),
            "one leading space stripped per line"
        );
        assert_eq!(signature_format(&split.signature), SignatureFormat::X509);
    }

    #[test]
    fn gpgsig_look_alike_in_message_is_payload() {
        let msg = "subject\n\ngpgsig -----BEGIN SIGNED MESSAGE-----\n not a signature\n";
        let (raw, payload) = signed_commit("", msg);
        let split = split_commit(&raw, HashKind::Sha1).expect("signed");
        assert_eq!(
            split.payload, payload,
            "the message is copied whole, look-alike included"
        );
        assert_eq!(
            split.signature,
            SIG.as_bytes(),
            "only the header is the signature"
        );
    }

    #[test]
    fn mergetag_header_stays_in_payload() {
        let mergetag = "parent 1111111111111111111111111111111111111111\nparent 2222222222222222222222222222222222222222\nmergetag object 2222222222222222222222222222222222222222\n type commit\n tag v1\n tagger T <t@x> 1 +0000\n \n v1\n -----BEGIN PGP SIGNATURE-----\n abc\n -----END PGP SIGNATURE-----\n";
        let (raw, payload) = signed_commit(mergetag, "merge\n");
        let split = split_commit(&raw, HashKind::Sha1).expect("signed");
        assert_eq!(
            split.payload, payload,
            "mergetag and its embedded PGP block are signed content"
        );
        assert_eq!(split.signature, SIG.as_bytes());
    }

    #[test]
    fn duplicate_signature_headers_are_concatenated_like_git() {
        let raw = b"tree t\ngpgsig A\n B\ngpgsig C\n\nmsg\n";
        let split = split_commit(raw, HashKind::Sha1).expect("signed");
        assert_eq!(
            split.signature, b"A\nB\nC\n",
            "git appends every gpgsig header"
        );
        assert_eq!(split.payload, b"tree t\n\nmsg\n");
    }

    #[test]
    fn other_algorithm_signature_is_dropped_from_payload() {
        let raw = b"tree t\ngpgsig-sha256 X\n Y\ngpgsig A\n B\nauthor a\n\nmsg\n";
        let split = split_commit(raw, HashKind::Sha1).expect("signed");
        assert_eq!(split.signature, b"A\nB\n");
        assert_eq!(
            split.payload, b"tree t\nauthor a\n\nmsg\n",
            "gpgsig-sha256 is not payload"
        );
        let split256 = split_commit(raw, HashKind::Sha256).expect("signed");
        assert_eq!(
            split256.signature, b"X\nY\n",
            "SHA-256 repositories read gpgsig-sha256"
        );
        assert_eq!(split256.payload, b"tree t\nauthor a\n\nmsg\n");
    }

    #[test]
    fn missing_header_terminator_and_unsigned_commits() {
        let raw = b"tree t\ngpgsig A\n B";
        let split = split_commit(raw, HashKind::Sha1).expect("signed");
        assert_eq!(
            split.signature, b"A\nB",
            "a last line without newline is kept"
        );
        assert_eq!(split.payload, b"tree t\n");
        assert_eq!(
            split_commit(b"tree t\n\nmsg\n", HashKind::Sha1),
            None,
            "no header, no split"
        );
        assert_eq!(
            split_commit(b"", HashKind::Sha1),
            None,
            "empty input is unsigned"
        );
        assert_eq!(
            split_commit(b"tree t\ngpgsigx A\n\n", HashKind::Sha1),
            None,
            "a header that only starts with gpgsig is not a signature"
        );
    }

    #[test]
    fn tag_signature_starts_at_last_armor_line() {
        let body = "object o\ntype commit\ntag v1\ntagger T <t@x> 1 +0000\n\nrelease\n-----BEGIN SIGNED MESSAGE-----\nquoted in the message\n-----END SIGNED MESSAGE-----\n";
        let raw = format!("{body}{SIG}");
        let split = split_tag(raw.as_bytes()).expect("signed");
        assert_eq!(
            split.payload,
            body.as_bytes(),
            "an earlier armor line is part of the payload"
        );
        assert_eq!(split.signature, SIG.as_bytes());
        assert_eq!(split_tag(b"object o\n\nmsg\n"), None);
    }

    #[test]
    fn reads_headers_and_subject() {
        let (raw, _) = signed_commit("", "the subject\n\nbody\n");
        assert_eq!(
            header_value(&raw, "committer"),
            Some(&b"A <a@x> 1 +0000"[..])
        );
        assert_eq!(subject(&raw), "the subject");
        assert_eq!(
            header_value(b"\nauthor x\n", "author"),
            None,
            "headers end at the blank line"
        );
    }
}
