//! Rekor v1 transparency log entries embedded in gitsign signatures, verified offline.
//!
//! Implements: decoding of the entry from the CMS SignerInfo's unsigned attributes (protobuf
//! `dev.sigstore.rekor.v1.TransparencyLogEntry`, and the pre-release 2023 multi-attribute
//! layout), the hashedrekord v0.0.1 body Go gitsign logs, the signed entry timestamp (SET),
//! the RFC 6962 / RFC 9162 §2.1.3.2 Merkle inclusion proof and the signed checkpoint
//! (C2SP signed note, Rekor flavour). Pure: bytes in, values out, no I/O.
//!
//! What the real fixtures showed (tests/data/gitsign-commits, checked by the tests of this module and its children):
//! - Go gitsign logs the SHA-256 of the **DER SET OF signed attributes** (the bytes the CMS
//!   signature covers), not the SHA-256 of the commit payload. Only that body makes the SET
//!   of all 15 embedded entries verify.
//! - The public key content is the leaf certificate PEM **with** its trailing newline (Go's
//!   `pem.EncodeToMemory`).
//! - The inclusion proof index is shard-local: on rekor.sigstore.dev it is the global log index
//!   minus 121,904,262 for the 2026 entries and minus 4,163,431 for the 2023 one.
//! - The 2023 pre-release layout verifies completely (SET, 11-hash inclusion proof, checkpoint)
//!   with the field meanings listed at [`decode_embedded`].
//!
//! Layout: this file holds the entry, its errors, the SET and [`verify_entry`];
//! [`embedded`] the codec of the entry inside the CMS attributes, [`merkle`] the RFC 6962
//! hashes and inclusion proof, [`checkpoint`] the signed note. The hashedrekord body the
//! entry logs is built in [`super::rekor_body`].

use base64::Engine as _;

use crate::encoding::hex;
use crate::trust::TrustedRoot;

pub mod checkpoint;
pub mod embedded;
#[cfg(test)]
mod fixtures;
pub mod merkle;

pub use super::rekor_body::hashedrekord_body;
pub(crate) use checkpoint::verify_checkpoint;
pub use checkpoint::{parse_checkpoint, Checkpoint, NoteSignature};
pub use embedded::{decode_embedded, encode_embedded, OID_TLOG_ENTRY};
pub use merkle::{leaf_hash, root_from_inclusion_proof, verify_inclusion};

/// Merkle proofs deeper than this cannot come from a log of fewer than 2^64 leaves.
const MAX_PROOF_HASHES: usize = 64;

/// A Rekor v1 log entry as carried next to a signature (protobuf-specs `TransparencyLogEntry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogEntry {
    /// Global index across all shards of the log; covered by the SET.
    pub log_index: i64,
    /// SHA-256 of the log's DER public key.
    pub log_id: Vec<u8>,
    /// Entry type, `hashedrekord` for gitsign; empty in the 2023 layout, which did not record it.
    pub kind: String,
    pub version: String,
    /// Unix seconds at which the log integrated the entry; covered by the SET only.
    pub integrated_time: i64,
    pub signed_entry_timestamp: Option<Vec<u8>>,
    pub inclusion_proof: Option<InclusionProof>,
    /// Empty when embedded by gitsign: the verifier rebuilds it ([`hashedrekord_body`]).
    pub canonicalized_body: Vec<u8>,
}

/// An RFC 6962 inclusion proof with the checkpoint that signs its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// Index within the shard (tree) the proof is for, not the global index.
    pub log_index: i64,
    pub root_hash: Vec<u8>,
    pub tree_size: i64,
    /// Sibling hashes, leaf to root.
    pub hashes: Vec<Vec<u8>>,
    /// The signed note; empty when absent.
    pub checkpoint: String,
}

/// What a verified entry proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEntry {
    pub log_index: i64,
    pub integrated_time: i64,
    pub log_base_url: String,
    /// Whether a valid SET covers `integrated_time` and `log_index`. An inclusion proof and
    /// checkpoint alone prove the entry is in the log, but not when it got there: a time
    /// anchor must not rely on `integrated_time` when this is false.
    pub integrated_time_signed: bool,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TlogError {
    #[error("malformed transparency log entry: {0}")]
    Malformed(String),
    #[error("transparency log '{log_id}' is not in the trusted root")]
    UnknownLog { log_id: String },
    #[error("the key of transparency log '{base_url}' was not valid at integrated time {integrated_time}")]
    LogKeyNotValidAtTime {
        base_url: String,
        integrated_time: i64,
    },
    #[error("signed entry timestamp does not verify")]
    BadSet,
    #[error("inclusion proof does not verify against the root hash")]
    BadInclusionProof,
    #[error("checkpoint (size {checkpoint_size}) does not match the inclusion proof (size {proof_size})")]
    CheckpointMismatch {
        checkpoint_size: u64,
        proof_size: i64,
    },
    #[error("checkpoint signature does not verify")]
    BadCheckpointSignature,
    #[error("entry has neither a signed entry timestamp nor an inclusion proof with a checkpoint")]
    NoProof,
    #[error("malformed checkpoint: {0}")]
    CheckpointMalformed(String),
    #[error("checkpoint origin '{origin}' is not the log's ('{expected}')")]
    CheckpointOrigin { origin: String, expected: String },
    #[error("log entry does not match the signature: {0}")]
    BodyMismatch(String),
    #[error("no transparency log entry")]
    NoEntry,
    #[error("log entry has no inclusion proof (required from bundle v0.2 on)")]
    MissingInclusionProof,
    #[error("log entry has no signed entry timestamp (required in bundle v0.1)")]
    MissingInclusionPromise,
}

impl TlogError {
    /// A stable machine-readable code for JSON output and tests.
    pub fn code(&self) -> &'static str {
        match self {
            TlogError::Malformed(_) => "tlog_malformed",
            TlogError::UnknownLog { .. } => "tlog_unknown_log",
            TlogError::LogKeyNotValidAtTime { .. } => "tlog_key_validity",
            TlogError::BadSet => "tlog_set",
            TlogError::BadInclusionProof => "tlog_inclusion_proof",
            TlogError::CheckpointMismatch { .. } => "tlog_checkpoint_mismatch",
            TlogError::BadCheckpointSignature => "tlog_checkpoint_signature",
            TlogError::NoProof => "tlog_no_proof",
            TlogError::CheckpointMalformed(_) => "tlog_checkpoint_malformed",
            TlogError::CheckpointOrigin { .. } => "tlog_checkpoint_origin",
            TlogError::BodyMismatch(_) => "tlog_body_mismatch",
            TlogError::NoEntry => "tlog_missing",
            TlogError::MissingInclusionProof => "tlog_no_inclusion_proof",
            TlogError::MissingInclusionPromise => "tlog_no_inclusion_promise",
        }
    }
}

fn malformed(what: impl Into<String>) -> TlogError {
    TlogError::Malformed(what.into())
}

/// A JSON string literal; `Value`'s `Display` cannot fail for a string.
pub(super) fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The message a Rekor v1 signed entry timestamp signs (canonical JSON, sorted keys).
fn set_payload(entry: &TlogEntry, body: &[u8]) -> Vec<u8> {
    format!(
        r#"{{"body":{},"integratedTime":{},"logID":{},"logIndex":{}}}"#,
        json_string(&base64::engine::general_purpose::STANDARD.encode(body)),
        entry.integrated_time,
        json_string(&hex(&entry.log_id)),
        entry.log_index,
    )
    .into_bytes()
}

/// Verify `entry` for `body` (the canonicalized body; for gitsign, [`hashedrekord_body`])
/// against the Rekor logs of `root`.
///
/// Every proof the entry carries must verify; at least one of the SET or an inclusion proof
/// with a signed checkpoint must be there.
pub fn verify_entry(
    entry: &TlogEntry,
    body: &[u8],
    root: &TrustedRoot,
) -> Result<VerifiedEntry, TlogError> {
    let log = root
        .tlog(&entry.log_id)
        .ok_or_else(|| TlogError::UnknownLog {
            log_id: hex(&entry.log_id),
        })?;
    // Rekor v2 entries carry no integrated time: their log's validity is checked by the
    // caller at the times the timestamps prove.
    let has_time = entry.integrated_time != 0 || entry.signed_entry_timestamp.is_some();
    if has_time && !log.valid_for.contains(entry.integrated_time) {
        return Err(TlogError::LogKeyNotValidAtTime {
            base_url: log.base_url.clone(),
            integrated_time: entry.integrated_time,
        });
    }

    let mut integrated_time_signed = false;
    if let Some(set) = &entry.signed_entry_timestamp {
        log.key
            .verify(log.key.default_digest(), &set_payload(entry, body), set)
            .map_err(|_| TlogError::BadSet)?;
        integrated_time_signed = true;
    }

    let mut checkpointed = false;
    if let Some(proof) = &entry.inclusion_proof {
        verify_proof(proof, body)?;
        if !proof.checkpoint.is_empty() {
            let note = verify_checkpoint(&proof.checkpoint, log)?;
            if i64::try_from(note.size).ok() != Some(proof.tree_size)
                || note.root_hash != proof.root_hash
            {
                return Err(TlogError::CheckpointMismatch {
                    checkpoint_size: note.size,
                    proof_size: proof.tree_size,
                });
            }
            checkpointed = true;
        }
    }

    if !integrated_time_signed && !checkpointed {
        return Err(TlogError::NoProof);
    }
    Ok(VerifiedEntry {
        log_index: entry.log_index,
        integrated_time: entry.integrated_time,
        log_base_url: log.base_url.clone(),
        integrated_time_signed,
    })
}

fn verify_proof(proof: &InclusionProof, body: &[u8]) -> Result<(), TlogError> {
    let index = u64::try_from(proof.log_index).map_err(|_| TlogError::BadInclusionProof)?;
    let size = u64::try_from(proof.tree_size).map_err(|_| TlogError::BadInclusionProof)?;
    let root = hash32(&proof.root_hash).ok_or_else(|| malformed("root hash is not 32 bytes"))?;
    if proof.hashes.len() > MAX_PROOF_HASHES {
        return Err(TlogError::BadInclusionProof);
    }
    let hashes = proof
        .hashes
        .iter()
        .map(|h| hash32(h).ok_or_else(|| malformed("proof hash is not 32 bytes")))
        .collect::<Result<Vec<_>, _>>()?;
    if verify_inclusion(&leaf_hash(body), index, size, &hashes, &root) {
        Ok(())
    } else {
        Err(TlogError::BadInclusionProof)
    }
}

fn hash32(b: &[u8]) -> Option<[u8; 32]> {
    b.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::crypto::sha256;
    use crate::trust::Validity;

    #[test]
    fn every_fixture_entry_verifies_against_the_public_good_root() {
        let root = root();
        let mut verified = 0;
        for c in manifest()["commits"].as_array().expect("commits") {
            let sha = c["sha"].as_str().expect("sha");
            let s = load(sha);
            let decoded = decode_embedded(&s.unsigned).expect("never an error on real commits");
            if c["tlog_present"] != true {
                assert_eq!(decoded, None, "{sha}: online-mode commit carries no entry");
                continue;
            }
            let entry = decoded.expect("manifest says an entry is embedded");
            assert_eq!(
                Some(entry.log_index),
                c["tlog_log_index"].as_i64(),
                "{sha}: log index"
            );
            assert_eq!(
                Some(entry.integrated_time),
                c["tlog_integrated_time"].as_i64(),
                "{sha}: integrated time"
            );
            let got = verify_entry(&entry, &body_of(&s), &root)
                .unwrap_or_else(|e| panic!("{sha} must verify: {e}"));
            assert_eq!(
                got,
                VerifiedEntry {
                    log_index: entry.log_index,
                    integrated_time: entry.integrated_time,
                    log_base_url: "https://rekor.sigstore.dev".into(),
                    integrated_time_signed: true,
                },
                "{sha}: verified by rekor.sigstore.dev with a signed time"
            );
            verified += 1;
        }
        assert_eq!(
            verified, 15,
            "the manifest records 15 commits with embedded entries"
        );
    }

    #[test]
    fn go_gitsign_logs_the_digest_of_the_signed_attributes_with_a_newline_terminated_pem() {
        let s = load(PROTOBUF_SHA);
        let (entry, _) = entry_of(PROTOBUF_SHA);
        let payload_digest =
            hashedrekord_body(&hex(&sha256(&s.payload)), &s.signature, &s.cert_pem);
        assert_eq!(
            verify_entry(&entry, &payload_digest, &root()),
            Err(TlogError::BadSet),
            "the body with sha256(payload) is not what was logged"
        );
        let no_newline = hashedrekord_body(
            &hex(&sha256(&s.signed_attrs_der)),
            &s.signature,
            s.cert_pem.trim_end(),
        );
        assert_eq!(
            verify_entry(&entry, &no_newline, &root()),
            Err(TlogError::BadSet),
            "the logged PEM ends with a newline"
        );
    }
    #[test]
    fn tampering_fails_with_the_specific_reason() {
        let root = root();
        let (entry, body) = entry_of(PROTOBUF_SHA);

        let mut flipped = body.clone();
        flipped[10] ^= 1;
        assert_eq!(
            verify_entry(&entry, &flipped, &root),
            Err(TlogError::BadSet),
            "flipped body byte"
        );
        let proof_only = TlogEntry {
            signed_entry_timestamp: None,
            ..entry.clone()
        };
        assert_eq!(
            verify_entry(&proof_only, &flipped, &root),
            Err(TlogError::BadInclusionProof),
            "flipped body byte, proof only"
        );

        let wrong_index = TlogEntry {
            log_index: entry.log_index + 1,
            ..entry.clone()
        };
        assert_eq!(
            verify_entry(&wrong_index, &body, &root),
            Err(TlogError::BadSet),
            "wrong log index"
        );
        let wrong_time = TlogEntry {
            integrated_time: entry.integrated_time - 1,
            ..entry.clone()
        };
        assert_eq!(
            verify_entry(&wrong_time, &body, &root),
            Err(TlogError::BadSet),
            "wrong time"
        );

        let mut wrong_proof_index = entry.clone();
        if let Some(p) = wrong_proof_index.inclusion_proof.as_mut() {
            p.log_index += 1;
        }
        assert_eq!(
            verify_entry(&wrong_proof_index, &body, &root),
            Err(TlogError::BadInclusionProof),
            "wrong proof index"
        );

        let mut wrong_root = entry.clone();
        if let Some(p) = wrong_root.inclusion_proof.as_mut() {
            p.root_hash[0] ^= 1;
        }
        assert_eq!(
            verify_entry(&wrong_root, &body, &root),
            Err(TlogError::BadInclusionProof),
            "wrong root hash"
        );

        let mut wrong_hash = entry.clone();
        if let Some(p) = wrong_hash.inclusion_proof.as_mut() {
            p.hashes[3][0] ^= 1;
        }
        assert_eq!(
            verify_entry(&wrong_hash, &body, &root),
            Err(TlogError::BadInclusionProof),
            "wrong sibling hash"
        );

        let mut short_hash = entry.clone();
        if let Some(p) = short_hash.inclusion_proof.as_mut() {
            p.hashes[0].pop();
        }
        assert!(
            matches!(
                verify_entry(&short_hash, &body, &root),
                Err(TlogError::Malformed(_))
            ),
            "a 31-byte hash is malformed"
        );

        // A genuine checkpoint of the same log, but for another tree size.
        let (other, _) = entry_of("a283a6f3a15bb0f4544c36f1a6329c78f1403d45");
        let mut swapped = entry.clone();
        if let (Some(p), Some(o)) = (swapped.inclusion_proof.as_mut(), other.inclusion_proof) {
            p.checkpoint = o.checkpoint;
        }
        assert!(
            matches!(
                verify_entry(&swapped, &body, &root),
                Err(TlogError::CheckpointMismatch { .. })
            ),
            "checkpoint of another tree"
        );

        let mut forged = entry.clone();
        if let Some(p) = forged.inclusion_proof.as_mut() {
            p.checkpoint = p.checkpoint.replacen("\n\n", "\nextra\n\n", 1);
        }
        assert_eq!(
            verify_entry(&forged, &body, &root),
            Err(TlogError::BadCheckpointSignature),
            "a line added to the signed note"
        );

        let unknown = TlogEntry {
            log_id: vec![0; 32],
            ..entry.clone()
        };
        assert_eq!(
            verify_entry(&unknown, &body, &root),
            Err(TlogError::UnknownLog {
                log_id: "00".repeat(32)
            }),
            "log not in the trust root"
        );

        let mut late = root.clone();
        late.tlogs[0].valid_for = Validity {
            start: Some(entry.integrated_time + 1),
            end: None,
        };
        assert!(
            matches!(
                verify_entry(&entry, &body, &late),
                Err(TlogError::LogKeyNotValidAtTime { .. })
            ),
            "log key not yet valid at integrated time"
        );

        // Same log id, another (CT log, also P-256) key: the SET cannot verify.
        let mut wrong_key = root.clone();
        let ct = wrong_key.ctlogs[0].clone();
        wrong_key.tlogs[0].key = ct.key;
        wrong_key.tlogs[0].spki_der = ct.spki_der;
        assert_eq!(
            verify_entry(&entry, &body, &wrong_key),
            Err(TlogError::BadSet),
            "wrong log key"
        );
        assert_eq!(
            verify_entry(&proof_only, &body, &wrong_key),
            Err(TlogError::BadCheckpointSignature),
            "wrong log key, checkpoint only"
        );
    }

    #[test]
    fn an_entry_needs_a_set_or_a_checkpointed_proof() {
        let root = root();
        let (entry, body) = entry_of(PROTOBUF_SHA);
        let bare = TlogEntry {
            signed_entry_timestamp: None,
            inclusion_proof: None,
            ..entry.clone()
        };
        assert_eq!(
            verify_entry(&bare, &body, &root),
            Err(TlogError::NoProof),
            "nothing to check"
        );

        let mut unsigned_proof = bare.clone();
        unsigned_proof.inclusion_proof = entry.inclusion_proof.clone().map(|p| InclusionProof {
            checkpoint: String::new(),
            ..p
        });
        assert_eq!(
            verify_entry(&unsigned_proof, &body, &root),
            Err(TlogError::NoProof),
            "a proof without a checkpoint authenticates no root"
        );

        let proof_only = TlogEntry {
            signed_entry_timestamp: None,
            ..entry.clone()
        };
        let got = verify_entry(&proof_only, &body, &root).expect("proof + checkpoint suffice");
        assert!(!got.integrated_time_signed, "but the time is then unsigned");

        let set_only = TlogEntry {
            inclusion_proof: None,
            ..entry
        };
        let got = verify_entry(&set_only, &body, &root).expect("the SET suffices");
        assert!(got.integrated_time_signed, "and signs the time");
    }
}
