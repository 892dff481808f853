//! OpenPGP signatures of git objects (`gpg.format=openpgp`, RFC 9580 / RFC 4880): pure, the
//! signed payload and the armored detached signature git stores in, the signer or a typed
//! failure out. No `gpg` is run and no GnuPG keyring is read: keys come only from the files
//! the user names ([`Keyring`]).
//!
//! What is checked, in order (the verdict GnuPG's `--verify` gives, with the differences
//! noted):
//!
//! 1. one v4 or v6 signature packet of type binary or text (what `gpg -bsa` writes for git);
//! 2. its hash: MD5, SHA-1 and RIPEMD-160 are refused (`weak_hash`) — GnuPG still accepts SHA-1
//!    data signatures by default;
//! 3. the issuer: the issuer fingerprint subpacket, else the issuer key id, names a (sub)key of
//!    the ring, or the signature is by an `unknown_key`;
//! 4. the signature over payload and trailer with that key (`bad_signature`), its quick-check
//!    field (the digest's left 16 bits, outside what is signed) included, as the `pgp` crate
//!    checks it — GnuPG 2.2 ignores that field of a v4 signature. RSA keys of 2048 to 8192 bits
//!    with SHA-256/384/512 are checked by aws-lc (module `rsa`), every other key by the crate;
//! 5. the key at the signature's creation time: not revoked, created before, not expired, and
//!    allowed to sign. GnuPG judges expiry *now* (`EXPKEYSIG` for every signature of a key that
//!    has expired since); here a signature made while the key was valid stays good, as the
//!    signature time is what the key's owner vouched for.

mod keyring;
mod rsa;

pub use keyring::{Keyring, KeyringError};

use keyring::{hex_upper, Key};
use pgp::composed::{Deserializable, DetachedSignature};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{SignatureType, SignatureVersion};

/// Who made a good signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// Fingerprint of the certificate's primary key (uppercase hex, as `gpg` prints it).
    pub primary_fingerprint: String,
    /// Fingerprint of the (sub)key that signed.
    pub key_fingerprint: String,
    /// The certificate's primary user id, for display (untrusted text: escape before showing).
    pub user_id: Option<String>,
    /// The signature's creation time (Unix seconds), as the signer claims it.
    pub created: i64,
}

/// Why an OpenPGP signature is not good (kept as a fact, hence serde).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Failure {
    #[error("the OpenPGP signature is malformed: {0}")]
    Malformed(String),
    #[error("OpenPGP {0} signatures are not accepted (only binary and text document signatures)")]
    UnsupportedType(String),
    #[error("the OpenPGP signature uses {0}, a hash too weak to trust")]
    WeakHash(String),
    #[error("signed by OpenPGP key {issuer}, which is not among the configured keys")]
    UnknownKey { issuer: String },
    #[error("the OpenPGP signature by key {key} does not verify")]
    BadSignature { key: String },
    #[error("OpenPGP key {key} had expired when the signature was made")]
    KeyExpired {
        key: String,
        expired: i64,
        signed: i64,
    },
    #[error("OpenPGP key {key} was created after the signature's time")]
    KeyNotYetValid {
        key: String,
        created: i64,
        signed: i64,
    },
    #[error("OpenPGP key {key} is revoked{}", reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    KeyRevoked { key: String, reason: Option<String> },
    #[error("OpenPGP key {key} is not allowed to make signatures")]
    NotSigningKey { key: String },
}

impl Failure {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Malformed(_) => "signature_malformed",
            Failure::UnsupportedType(_) => "signature_malformed",
            Failure::WeakHash(_) => "weak_hash",
            Failure::UnknownKey { .. } => "unknown_key",
            Failure::BadSignature { .. } => "bad_signature",
            Failure::KeyExpired { .. } => "key_expired",
            Failure::KeyNotYetValid { .. } => "key_not_yet_valid",
            Failure::KeyRevoked { .. } => "key_revoked",
            Failure::NotSigningKey { .. } => "key_not_for_signing",
        }
    }
}

/// Hashes never trusted for data signatures.
fn weak(alg: HashAlgorithm) -> bool {
    matches!(
        alg,
        HashAlgorithm::None | HashAlgorithm::Md5 | HashAlgorithm::Sha1 | HashAlgorithm::Ripemd160
    )
}

/// The detached signature in `armored`. Armor as gpg and GitHub write it (no armor
/// headers, lines of base64 only, an optional checksum line, the footer and only newlines
/// after it) is decoded here in one pass, to the same bytes the `pgp` crate's
/// streaming reader would hand its packet parser: its reader costs more than the parse of
/// the signature itself. Anything else, and any signature that does not parse, goes through
/// the crate's own armor reader, so what is accepted and every error are the crate's.
fn parse_signature(armored: &[u8]) -> Result<DetachedSignature, Failure> {
    if let Some(packets) = plain_armor_body(armored) {
        if let Ok(sig) = DetachedSignature::from_bytes(packets.as_slice()) {
            return Ok(sig);
        }
    }
    DetachedSignature::from_armor_single(armored)
        .map(|(sig, _)| sig)
        .map_err(|e| Failure::Malformed(e.to_string()))
}

/// The decoded body of a `PGP SIGNATURE` armor of the plain shape [`parse_signature`]
/// describes, or `None` for any other shape.
fn plain_armor_body(armored: &[u8]) -> Option<Vec<u8>> {
    const BEGIN: &[u8] = b"-----BEGIN PGP SIGNATURE-----\n\n";
    const END: &[u8] = b"-----END PGP SIGNATURE-----";
    let rest = armored.strip_prefix(BEGIN)?;
    // What follows the footer is never read (git's gpgsig header ends in an empty line).
    let end = rest.iter().rposition(|b| *b != b'\n')? + 1;
    let rest = rest.get(..end)?.strip_suffix(END)?.strip_suffix(b"\n")?;
    let mut lines: Vec<&[u8]> = rest.split(|b| *b == b'\n').collect();
    // The checksum line: `=` and four base64 characters (not checked, as the crate does not).
    if let Some(last) = lines.last() {
        if let Some(crc) = last.strip_prefix(b"=") {
            if crc.len() != 4
                || !crc
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/".contains(b))
            {
                return None;
            }
            lines.pop();
        }
    }
    let mut b64 = Vec::with_capacity(rest.len());
    for line in &lines {
        if line.is_empty() {
            return None;
        }
        // A byte outside the alphabet (a header's ':', a CR) fails the strict decoding below.
        b64.extend_from_slice(line);
    }
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    (!body.is_empty()).then_some(body)
}

/// Verifies the detached `signature` (ASCII armor, as in a `gpgsig` header) over `payload`
/// with the keys of `ring`.
pub fn verify(payload: &[u8], signature: &[u8], ring: &Keyring) -> Result<Signer, Failure> {
    let sig = parse_signature(signature)?.signature;
    if !matches!(sig.version(), SignatureVersion::V4 | SignatureVersion::V6) {
        return Err(Failure::Malformed(format!(
            "version {:?} signatures are not supported",
            sig.version()
        )));
    }
    match sig.typ() {
        Some(SignatureType::Binary | SignatureType::Text) => {}
        other => {
            return Err(Failure::UnsupportedType(
                other.map_or_else(|| "unknown".into(), |t| format!("{t:?}")),
            ))
        }
    }
    let alg = sig
        .hash_alg()
        .ok_or_else(|| Failure::Malformed("no hash algorithm".into()))?;
    if weak(alg) {
        return Err(Failure::WeakHash(alg.to_string()));
    }
    let signed = sig
        .created()
        .map(|t| i64::from(t.as_secs()))
        .ok_or_else(|| Failure::Malformed("no signature creation time".into()))?;

    let fingerprints = sig.issuer_fingerprint();
    let key_ids = sig.issuer_key_id();
    let named = |key: &Key| {
        if fingerprints.is_empty() {
            key_ids.is_empty() || key_ids.iter().any(|id| **id == key.key_id)
        } else {
            fingerprints.iter().any(|fp| **fp == key.fingerprint)
        }
    };
    let candidates: Vec<_> = ring
        .certs
        .iter()
        .flat_map(|cert| cert.keys().map(move |key| (cert, key)))
        .filter(|(_, key)| named(key))
        .collect();
    if candidates.is_empty() {
        let issuer = fingerprints
            .first()
            .map(|fp| hex_upper(fp.as_bytes()))
            .or_else(|| key_ids.first().map(|id| hex_upper(id.as_ref())))
            .unwrap_or_else(|| "(no issuer named)".into());
        return Err(Failure::UnknownKey { issuer });
    }

    let mut first_failure = None;
    for (cert, key) in candidates {
        let key_name = hex_upper(key.fingerprint.as_bytes());
        if sig.verify(key, payload).is_err() {
            first_failure.get_or_insert(Failure::BadSignature { key: key_name });
            continue;
        }
        // The signature is the key's; now whether the key was good for it at its time.
        let verdict = judge_key(&cert.primary, key, signed);
        match verdict {
            Ok(()) => {
                return Ok(Signer {
                    primary_fingerprint: hex_upper(cert.primary.fingerprint.as_bytes()),
                    key_fingerprint: key_name,
                    user_id: cert.user_id.clone(),
                    created: signed,
                })
            }
            Err(f) => return Err(f),
        }
    }
    Err(first_failure.unwrap_or(Failure::UnknownKey {
        issuer: "(no issuer named)".into(),
    }))
}

/// Whether `key` (a subkey of `primary`, or `primary` itself) was valid for a signature made
/// at `signed`.
fn judge_key(primary: &Key, key: &Key, signed: i64) -> Result<(), Failure> {
    for k in [primary, key] {
        let name = hex_upper(k.fingerprint.as_bytes());
        if let Some(r) = k.revocations.iter().find(|r| r.voids(signed)) {
            return Err(Failure::KeyRevoked {
                key: name,
                reason: r.reason.clone(),
            });
        }
        if signed < k.created {
            return Err(Failure::KeyNotYetValid {
                key: name,
                created: k.created,
                signed,
            });
        }
        if let Some(expired) = k.expires.filter(|e| signed >= *e) {
            return Err(Failure::KeyExpired {
                key: name,
                expired,
                signed,
            });
        }
    }
    if !key.can_sign {
        return Err(Failure::NotSigningKey {
            key: hex_upper(key.fingerprint.as_bytes()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(rel: &str) -> Vec<u8> {
        let path = format!("{}/tests/data/{rel}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn web_flow() -> Keyring {
        let mut ring = Keyring::new();
        let warnings = ring
            .add_file(&data("keys/github-web-flow.asc"))
            .expect("GitHub's published keys parse");
        assert!(warnings.is_empty(), "{warnings:?}");
        ring
    }

    #[test]
    fn web_flow_keys_load_with_their_expiry() {
        let ring = web_flow();
        let keys: Vec<_> = ring
            .certs
            .iter()
            .map(|c| {
                (
                    hex_upper(c.primary.fingerprint.as_bytes()),
                    c.primary.expires,
                )
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                ("968479A1AFF927E37D1A566BB5690EEEBB952194".to_owned(), None),
                (
                    "5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23".to_owned(),
                    Some(1_705_435_200)
                ),
            ],
            "gpg --list-keys: the old key expires 2024-01-16T20:00:00Z"
        );
    }

    /// A web-flow commit of wolfictl (f52b47fc) by the 2017 key, issuer key id only, made
    /// 2024-01-11, five days before that key expired; gpg: EXPKEYSIG (expired now), VALIDSIG.
    #[test]
    fn old_web_flow_signature_made_before_expiry_is_good() {
        let signer = verify(
            &data("openpgp/web-flow-2017.payload"),
            &data("openpgp/web-flow-2017.sig.asc"),
            &web_flow(),
        )
        .expect("made while the key was valid");
        assert_eq!(
            signer.primary_fingerprint,
            "5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23"
        );
        assert_eq!(signer.created, 1_704_993_226);
        assert_eq!(
            signer.user_id.as_deref(),
            Some("GitHub (web-flow commit signing) <noreply@github.com>")
        );
    }

    /// `armored` with its packet bytes changed by `change`, armored again (no checksum line).
    fn rearmored(armored: &[u8], change: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        use base64::Engine as _;
        let mut packet = plain_armor_body(armored).expect("gpg's plain shape");
        change(&mut packet);
        let b64 = base64::engine::general_purpose::STANDARD.encode(packet);
        format!("-----BEGIN PGP SIGNATURE-----\n\n{b64}\n-----END PGP SIGNATURE-----\n")
            .into_bytes()
    }

    /// A changed signature number (checked by aws-lc: RSA 2048, SHA-256) or payload is a bad
    /// signature; so is a changed quick-check field (the digest's left 16 bits, outside what
    /// is signed), which the `pgp` crate refuses and GnuPG 2.2 ignores for v4 signatures.
    #[test]
    fn changed_web_flow_signatures_are_bad() {
        let payload = data("openpgp/web-flow-2017.payload");
        let armored = data("openpgp/web-flow-2017.sig.asc");
        let ring = web_flow();
        let bad = |payload: &[u8], sig: &[u8]| verify(payload, sig, &ring).map_err(|e| e.code());
        assert!(bad(&payload, &rearmored(&armored, |_| {})).is_ok());
        let number = rearmored(&armored, |p| {
            let last = p.len() - 1;
            p[last] ^= 1;
        });
        assert_eq!(bad(&payload, &number), Err("bad_signature"));
        let mut changed = payload.clone();
        changed[10] ^= 1;
        assert_eq!(bad(&changed, &armored), Err("bad_signature"));
        // The packet ends: left 16 bits, the number's bit count (2048: 08 00), its 256 bytes.
        let quick_check = rearmored(&armored, |p| {
            let at = p.len() - 256 - 2 - 2;
            assert_eq!(&p[at + 2..at + 4], &[8, 0]);
            p[at] ^= 1;
        });
        assert_eq!(bad(&payload, &quick_check), Err("bad_signature"));
    }

    /// The plain armor read here gives the signature the crate's reader gives, and any
    /// other shape is left to the crate's reader.
    #[test]
    fn plain_armor_reads_as_the_crate_reads_it() {
        let armored = data("openpgp/web-flow-2017.sig.asc");
        let crate_read = |a: &[u8]| DetachedSignature::from_armor_single(a).map(|(s, _)| s);
        let expected = crate_read(&armored).expect("the crate reads it");
        // As in a commit object: the gpgsig header's last line is empty.
        let mut in_commit = armored.clone();
        in_commit.push(b'\n');
        for a in [&armored, &in_commit] {
            let body = plain_armor_body(a).expect("gpg's plain shape");
            assert_eq!(
                DetachedSignature::from_bytes(body.as_slice()).ok(),
                Some(expected.clone())
            );
            assert_eq!(parse_signature(a).ok(), Some(expected.clone()));
        }
        let text = String::from_utf8(armored).expect("armor is text");
        let with_header = text.replacen("-----\n\n", "-----\nVersion: 1\n\n", 1);
        let crlf = text.replace('\n', "\r\n");
        let bad_padding = text.replacen("\n=", "=\n=", 1);
        for other in [with_header, crlf, bad_padding] {
            assert_eq!(plain_armor_body(other.as_bytes()), None, "{other}");
            assert_eq!(
                parse_signature(other.as_bytes()).ok(),
                crate_read(other.as_bytes()).ok(),
                "{other}"
            );
        }
    }
}
