//! Signed checkpoints: a C2SP tlog-checkpoint inside a C2SP signed note, parsed and verified
//! against a transparency log's key (Rekor v1 key hints, and Rekor v2 Ed25519 note verifiers).
//! Matches sigstore-rs `rekor/models/checkpoint.rs`.

use base64::Engine as _;

use super::TlogError;
use crate::crypto::sha256;
use crate::trust::LogKey;

/// A checkpoint (C2SP tlog-checkpoint) inside a C2SP signed note, parsed but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root_hash: Vec<u8>,
    /// The signed text: every body line with its newline, up to the blank line.
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

/// One `— <name> <base64(key hint || signature)>` line of a signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_hint: [u8; 4],
    pub signature: Vec<u8>,
}

fn cp_malformed(what: &str) -> TlogError {
    TlogError::CheckpointMalformed(what.into())
}

/// Parse a signed checkpoint note. Extension lines after the root hash (Rekor v1's
/// `Timestamp: …`) are part of the signed text and otherwise ignored.
pub fn parse_checkpoint(note: &str) -> Result<Checkpoint, TlogError> {
    let split = note
        .find("\n\n")
        .ok_or_else(|| cp_malformed("no blank line before the signatures"))?;
    // The signed text includes the newline that ends the last body line.
    let (text, signatures) = note.split_at(split + 1);
    let mut lines = text.lines();
    let origin = lines
        .next()
        .filter(|origin| !origin.is_empty())
        .ok_or_else(|| cp_malformed("no origin"))?;
    let size = lines
        .next()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| cp_malformed("tree size is not a number"))?;
    let root_hash = lines
        .next()
        .filter(|r| !r.is_empty())
        .and_then(|r| base64::engine::general_purpose::STANDARD.decode(r).ok())
        .ok_or_else(|| cp_malformed("root hash is not base64"))?;
    let mut sigs = Vec::new();
    for line in signatures.lines().skip_while(|l| l.is_empty()) {
        let line = line
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| cp_malformed("signature line does not start with an em dash"))?;
        let (name, sig) = line
            .rsplit_once(' ')
            .ok_or_else(|| cp_malformed("signature line has no signature"))?;
        let sig = base64::engine::general_purpose::STANDARD
            .decode(sig)
            .map_err(|_| cp_malformed("signature is not base64"))?;
        let (hint, sig) = sig
            .split_at_checked(4)
            .ok_or_else(|| cp_malformed("signature is too short"))?;
        let mut key_hint = [0u8; 4];
        key_hint.copy_from_slice(hint);
        sigs.push(NoteSignature {
            name: name.to_owned(),
            key_hint,
            signature: sig.to_vec(),
        });
    }
    if sigs.is_empty() {
        return Err(cp_malformed("no signature lines"));
    }
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size,
        root_hash,
        text: text.to_owned(),
        signatures: sigs,
    })
}

/// The C2SP signed-note key id of an Ed25519 verifier: SHA-256(name || "\n" || 0x01 || key).
fn ed25519_note_key_id(name: &str, raw_key: &[u8]) -> [u8; 32] {
    let mut buf = Vec::with_capacity(name.len() + 2 + raw_key.len());
    buf.extend_from_slice(name.as_bytes());
    buf.push(b'\n');
    buf.push(0x01);
    buf.extend_from_slice(raw_key);
    sha256(&buf)
}

/// Parse a checkpoint and verify that a signature line by `log` signs it. Which lines are
/// the log's: for an Ed25519 log (Rekor v2, a C2SP note verifier) the key hint is the note
/// key id of (line name, key), and the name must be the checkpoint's origin, which must be
/// the host name of the log's URL ([`origin_of`]); for other keys (Rekor v1) the hint is the first 4 bytes of
/// SHA-256 of the DER SPKI. Lines by other keys (witnesses' cosignatures) are skipped.
pub(crate) fn verify_checkpoint(note: &str, log: &LogKey) -> Result<Checkpoint, TlogError> {
    let cp = parse_checkpoint(note)?;
    let spki_hint = sha256(&log.spki_der);
    let ed25519 = log.key.ed25519_raw();
    let mut signed_by_log = false;
    for line in &cp.signatures {
        let is_log_line = match ed25519 {
            Some(raw) => {
                line.name == cp.origin
                    && ed25519_note_key_id(&line.name, raw).get(..4) == Some(&line.key_hint[..])
            }
            None => {
                spki_hint.get(..4) == Some(&line.key_hint[..])
                    || log.key_id.get(..4) == Some(&line.key_hint[..])
            }
        };
        if !is_log_line {
            continue;
        }
        log.key
            .verify(
                log.key.default_digest(),
                cp.text.as_bytes(),
                &line.signature,
            )
            .map_err(|_| TlogError::BadCheckpointSignature)?;
        signed_by_log = true;
    }
    if !signed_by_log {
        return Err(TlogError::BadCheckpointSignature);
    }
    if ed25519.is_some() {
        let host = origin_of(&log.base_url);
        if !host.is_empty() && host != cp.origin {
            return Err(TlogError::CheckpointOrigin {
                origin: cp.origin.clone(),
                expected: host.to_owned(),
            });
        }
    }
    Ok(cp)
}

/// The checkpoint origin of a Rekor v2 log at `url`: its host name, without scheme, user,
/// port or path — what sigstore-go names the note verifier (`url.URL.Hostname()` of the
/// trusted root's base URL), so `http://127.0.0.1:4711/rekor-v2/shard-1` is `127.0.0.1`.
pub fn origin_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::TrustedRoot;

    #[test]
    fn checkpoint_parser_rejects_garbage_without_panicking() {
        let root = TrustedRoot::public_good();
        let log = &root.tlogs[0];
        for note in [
            "",
            "\n\n",
            "origin\n\n",
            "origin\nx\nAAAA\n\n\u{2014} n AAAA\n",
            "origin\n1\n!!\n\n\u{2014} n AAAA\n",
            "origin\n1\nAAAA\n\n- n AAAA\n",
            "origin\n1\nAAAA\n\n\u{2014} nosig\n",
            "origin\n1\nAAAA\n\n\u{2014} n AA==\n",
            "origin\n1\nAAAA\n\n\u{2014} n wNI9ag==\n",
            "origin\n1\nAAAA\n\n",
        ] {
            assert!(
                verify_checkpoint(note, log).is_err(),
                "{note:?} is not a signed checkpoint"
            );
        }
    }

    /// An Ed25519 log (Rekor v2) at `base_url` and a checkpoint it signed with `origin`.
    fn ed25519_log_and_checkpoint(base_url: &str, origin: &str) -> (LogKey, String) {
        use ring::signature::KeyPair as _;
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).expect("keygen");
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
        let raw = pair.public_key().as_ref().to_vec();
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        spki.extend_from_slice(&raw);
        let log = LogKey {
            base_url: base_url.to_owned(),
            key_id: sha256(&spki).to_vec(),
            key: crate::crypto::PublicKey::from_spki_der(&spki).expect("an Ed25519 SPKI"),
            spki_der: spki,
            valid_for: crate::trust::Validity {
                start: None,
                end: None,
            },
        };
        let text = format!("{origin}\n1\n{}\n", "A".repeat(43) + "=");
        let mut sig = ed25519_note_key_id(origin, &raw)[..4].to_vec();
        sig.extend_from_slice(pair.sign(text.as_bytes()).as_ref());
        let note = format!(
            "{text}\n\u{2014} {origin} {}\n",
            base64::engine::general_purpose::STANDARD.encode(sig)
        );
        (log, note)
    }

    /// Regression (hostile review): for an Ed25519 log whose URL has a port or a path, the
    /// checkpoint's origin was compared with the URL minus its scheme (`host:port/path`)
    /// here and with the host name in `tlog_v2`, so no entry could satisfy both.
    #[test]
    fn ed25519_checkpoints_of_logs_with_a_port_or_path_name_the_host() {
        for url in [
            "http://127.0.0.1:4711/rekor-v2/shard-1",
            "https://log2025-1.rekor.example.dev/",
            "https://rekor.example.dev:8443",
        ] {
            let host = origin_of(url);
            let (log, note) = ed25519_log_and_checkpoint(url, host);
            assert!(
                verify_checkpoint(&note, &log).is_ok(),
                "{url}: a checkpoint with origin '{host}' verifies"
            );
        }
        let url = "http://127.0.0.1:4711/rekor-v2/shard-1";
        let (log, note) = ed25519_log_and_checkpoint(url, "127.0.0.1:4711/rekor-v2/shard-1");
        assert!(
            matches!(
                verify_checkpoint(&note, &log),
                Err(TlogError::CheckpointOrigin { .. })
            ),
            "an origin other than the host name is refused, as sigstore-go refuses it"
        );
        let (log, note) = ed25519_log_and_checkpoint(url, "other.example");
        assert!(
            verify_checkpoint(&note, &log).is_err(),
            "another log's origin"
        );
    }

    #[test]
    fn origins_are_go_hostnames() {
        assert_eq!(
            origin_of("https://log2025-1.rekor.sigstore.dev"),
            "log2025-1.rekor.sigstore.dev"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:4711/rekor-v2/shard-1"),
            "127.0.0.1"
        );
        assert_eq!(
            origin_of("http://[::1]:80/x"),
            "::1",
            "IPv6 without brackets"
        );
        assert_eq!(
            origin_of("https://u@h.example:1/"),
            "h.example",
            "no user, no port"
        );
    }
}
