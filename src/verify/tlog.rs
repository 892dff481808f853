//! Rekor v1 transparency log entries embedded in gitsign signatures, verified offline.
//!
//! Implements: decoding of the entry from the CMS SignerInfo's unsigned attributes (protobuf
//! `dev.sigstore.rekor.v1.TransparencyLogEntry`, and the pre-release 2023 multi-attribute
//! layout), the hashedrekord v0.0.1 body Go gitsign logs, the signed entry timestamp (SET),
//! the RFC 6962 / RFC 9162 §2.1.3.2 Merkle inclusion proof and the signed checkpoint
//! (C2SP signed note, Rekor flavour). Pure: bytes in, values out, no I/O.
//!
//! What the real fixtures showed (tests/data/gitsign-commits, checked by the tests below):
//! - Go gitsign logs the SHA-256 of the **DER SET OF signed attributes** (the bytes the CMS
//!   signature covers), not the SHA-256 of the commit payload. Only that body makes the SET
//!   of all 15 embedded entries verify.
//! - The public key content is the leaf certificate PEM **with** its trailing newline (Go's
//!   `pem.EncodeToMemory`).
//! - The inclusion proof index is shard-local: on rekor.sigstore.dev it is the global log index
//!   minus 121,904,262 for the 2026 entries and minus 4,163,431 for the 2023 one.
//! - The 2023 pre-release layout verifies completely (SET, 11-hash inclusion proof, checkpoint)
//!   with the field meanings listed at [`decode_embedded`].

use base64::Engine as _;
use der::asn1::{ObjectIdentifier, OctetStringRef, PrintableStringRef, Utf8StringRef};
use der::{Decode, Tag};
use prost::Message as _;

use crate::crypto::sha256;
use crate::encoding::{hex, unhex};
use crate::trust::{LogKey, TrustedRoot};

/// Current layout: one attribute whose value is an OCTET STRING holding the protobuf entry.
/// In the 2023 layout the same OID held the log id as a hex PrintableString.
pub const OID_TLOG_ENTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.3.1");

const OID_LEGACY_INTEGRATED_TIME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.3.0");
const OID_LEGACY_LOG_INDEX: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.3.2");
const OID_LEGACY_SET: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.3.3");
const OID_LEGACY_CHECKPOINT: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.3.4");
const OID_LEGACY_PROOF_HASHES: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.3.5");
const OID_LEGACY_ROOT_HASH: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.3.6");
const OID_LEGACY_TREE_SIZE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.3.7");
const OID_LEGACY_PROOF_INDEX: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.3.8");

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

/// Hand-declared subset of sigstore protobuf-specs (`sigstore_rekor.proto`,
/// `sigstore_common.proto`); field numbers checked against the upstream source.
mod pb {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TransparencyLogEntry {
        #[prost(int64, tag = "1")]
        pub log_index: i64,
        #[prost(message, optional, tag = "2")]
        pub log_id: Option<LogId>,
        #[prost(message, optional, tag = "3")]
        pub kind_version: Option<KindVersion>,
        #[prost(int64, tag = "4")]
        pub integrated_time: i64,
        #[prost(message, optional, tag = "5")]
        pub inclusion_promise: Option<InclusionPromise>,
        #[prost(message, optional, tag = "6")]
        pub inclusion_proof: Option<InclusionProof>,
        #[prost(bytes = "vec", tag = "7")]
        pub canonicalized_body: Vec<u8>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LogId {
        #[prost(bytes = "vec", tag = "1")]
        pub key_id: Vec<u8>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct KindVersion {
        #[prost(string, tag = "1")]
        pub kind: String,
        #[prost(string, tag = "2")]
        pub version: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct InclusionPromise {
        #[prost(bytes = "vec", tag = "1")]
        pub signed_entry_timestamp: Vec<u8>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct InclusionProof {
        #[prost(int64, tag = "1")]
        pub log_index: i64,
        #[prost(bytes = "vec", tag = "2")]
        pub root_hash: Vec<u8>,
        #[prost(int64, tag = "3")]
        pub tree_size: i64,
        #[prost(bytes = "vec", repeated, tag = "4")]
        pub hashes: Vec<Vec<u8>>,
        #[prost(message, optional, tag = "5")]
        pub checkpoint: Option<Checkpoint>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Checkpoint {
        #[prost(string, tag = "1")]
        pub envelope: String,
    }
}

/// Find and decode the log entry among a SignerInfo's unsigned attributes.
///
/// `attrs` holds, per attribute, its OID and the DER (full TLV) of its first value.
///
/// Layouts:
/// - current: 57264.3.1 = OCTET STRING { protobuf `TransparencyLogEntry` };
/// - pre-release 2023 (one real commit, c47e8bf…, verified end to end): 57264.3.0
///   integratedTime INTEGER, 3.1 log id hex PrintableString, 3.2 logIndex INTEGER, 3.3
///   OCTET STRING { SET }, 3.4 checkpoint UTF8String, 3.5 SEQUENCE OF PrintableString (hex
///   proof hashes), 3.6 root hash hex PrintableString, 3.7 tree size INTEGER, 3.8 proof
///   (shard-local) log index INTEGER.
///
/// `Ok(None)`: no 57264.3.1 attribute, or one with a tag neither layout uses. `Err`: a
/// recognised layout whose content does not decode — a damaged entry is reported, not
/// silently treated as absent.
pub fn decode_embedded(
    attrs: &[(ObjectIdentifier, Vec<u8>)],
) -> Result<Option<TlogEntry>, TlogError> {
    let Some(value) = attr(attrs, OID_TLOG_ENTRY) else {
        return Ok(None);
    };
    match value.first().copied() {
        Some(t) if t == Tag::OctetString.octet() => {
            let inner = OctetStringRef::from_der(value)
                .map_err(|e| malformed(format!("entry attribute is not an OCTET STRING: {e}")))?;
            decode_protobuf(inner.as_bytes()).map(Some)
        }
        Some(t) if t == Tag::PrintableString.octet() => decode_legacy(attrs).map(Some),
        _ => Ok(None),
    }
}

fn attr(attrs: &[(ObjectIdentifier, Vec<u8>)], oid: ObjectIdentifier) -> Option<&[u8]> {
    attrs
        .iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, v)| v.as_slice())
}

fn decode_protobuf(bytes: &[u8]) -> Result<TlogEntry, TlogError> {
    let pb = pb::TransparencyLogEntry::decode(bytes)
        .map_err(|e| malformed(format!("protobuf TransparencyLogEntry: {e}")))?;
    let log_id = pb
        .log_id
        .map(|l| l.key_id)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| malformed("entry has no log id"))?;
    let (kind, version) = pb
        .kind_version
        .map(|kv| (kv.kind, kv.version))
        .unwrap_or_default();
    Ok(TlogEntry {
        log_index: pb.log_index,
        log_id,
        kind,
        version,
        integrated_time: pb.integrated_time,
        signed_entry_timestamp: pb
            .inclusion_promise
            .map(|p| p.signed_entry_timestamp)
            .filter(|s| !s.is_empty()),
        inclusion_proof: pb.inclusion_proof.map(|p| InclusionProof {
            log_index: p.log_index,
            root_hash: p.root_hash,
            tree_size: p.tree_size,
            hashes: p.hashes,
            checkpoint: p.checkpoint.map(|c| c.envelope).unwrap_or_default(),
        }),
        canonicalized_body: pb.canonicalized_body,
    })
}

fn decode_legacy(attrs: &[(ObjectIdentifier, Vec<u8>)]) -> Result<TlogEntry, TlogError> {
    let int = |oid: ObjectIdentifier, what: &str| -> Result<Option<i64>, TlogError> {
        attr(attrs, oid)
            .map(|v| i64::from_der(v).map_err(|e| malformed(format!("{what}: {e}"))))
            .transpose()
    };
    let hex_string = |v: &[u8], what: &str| -> Result<Vec<u8>, TlogError> {
        let s = PrintableStringRef::from_der(v).map_err(|e| malformed(format!("{what}: {e}")))?;
        unhex(s.as_str()).ok_or_else(|| malformed(format!("{what} is not hex")))
    };
    let required = |v: Option<i64>, what: &str| v.ok_or_else(|| malformed(format!("no {what}")));

    let log_id = hex_string(attr(attrs, OID_TLOG_ENTRY).unwrap_or_default(), "log id")?;
    let integrated_time = required(
        int(OID_LEGACY_INTEGRATED_TIME, "integrated time")?,
        "integrated time",
    )?;
    let log_index = required(int(OID_LEGACY_LOG_INDEX, "log index")?, "log index")?;
    let signed_entry_timestamp = attr(attrs, OID_LEGACY_SET)
        .map(|v| {
            OctetStringRef::from_der(v)
                .map(|o| o.as_bytes().to_vec())
                .map_err(|e| malformed(format!("signed entry timestamp: {e}")))
        })
        .transpose()?
        .filter(|s| !s.is_empty());

    let root = attr(attrs, OID_LEGACY_ROOT_HASH);
    let tree_size = int(OID_LEGACY_TREE_SIZE, "tree size")?;
    let proof_index = int(OID_LEGACY_PROOF_INDEX, "proof log index")?;
    let inclusion_proof = match (root, tree_size, proof_index) {
        (Some(root), Some(tree_size), Some(log_index)) => {
            let hashes = match attr(attrs, OID_LEGACY_PROOF_HASHES) {
                Some(v) => Vec::<PrintableStringRef<'_>>::from_der(v)
                    .map_err(|e| malformed(format!("proof hashes: {e}")))?
                    .iter()
                    .map(|h| unhex(h.as_str()).ok_or_else(|| malformed("proof hash is not hex")))
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            };
            let checkpoint = attr(attrs, OID_LEGACY_CHECKPOINT)
                .map(|v| {
                    Utf8StringRef::from_der(v)
                        .map(|s| s.as_str().to_owned())
                        .map_err(|e| malformed(format!("checkpoint: {e}")))
                })
                .transpose()?
                .unwrap_or_default();
            Some(InclusionProof {
                log_index,
                root_hash: hex_string(root, "root hash")?,
                tree_size,
                hashes,
                checkpoint,
            })
        }
        (None, None, None) => None,
        _ => return Err(malformed("incomplete inclusion proof attributes")),
    };
    Ok(TlogEntry {
        log_index,
        log_id,
        kind: String::new(),
        version: String::new(),
        integrated_time,
        signed_entry_timestamp,
        inclusion_proof,
        canonicalized_body: Vec::new(),
    })
}

/// The DER attribute value (OCTET STRING { protobuf }) for unsigned attribute
/// [`OID_TLOG_ENTRY`], with the canonicalized body cleared as Go gitsign does: the verifier
/// rebuilds it from the signature.
pub fn encode_embedded(entry: &TlogEntry) -> Vec<u8> {
    let pb = pb::TransparencyLogEntry {
        log_index: entry.log_index,
        log_id: Some(pb::LogId {
            key_id: entry.log_id.clone(),
        }),
        kind_version: Some(pb::KindVersion {
            kind: entry.kind.clone(),
            version: entry.version.clone(),
        }),
        integrated_time: entry.integrated_time,
        inclusion_promise: entry
            .signed_entry_timestamp
            .as_ref()
            .map(|s| pb::InclusionPromise {
                signed_entry_timestamp: s.clone(),
            }),
        inclusion_proof: entry.inclusion_proof.as_ref().map(|p| pb::InclusionProof {
            log_index: p.log_index,
            root_hash: p.root_hash.clone(),
            tree_size: p.tree_size,
            hashes: p.hashes.clone(),
            checkpoint: Some(pb::Checkpoint {
                envelope: p.checkpoint.clone(),
            }),
        }),
        canonicalized_body: Vec::new(),
    };
    crate::der::tlv(crate::der::OCTET_STRING, &pb.encode_to_vec())
}

/// The canonical JSON body of the hashedrekord v0.0.1 entry Go gitsign uploads.
///
/// `digest_hex` is the lowercase hex SHA-256 of the **DER SET OF signed attributes** (not of
/// the commit payload: measured on all 15 fixture entries, only this digest makes the SET
/// verify); `signature` the CMS SignerInfo signature; `cert_pem` the leaf certificate PEM
/// exactly as Go's `pem.EncodeToMemory` writes it, trailing newline included.
///
/// Canonical form (RFC 8785, what Rekor stores): keys sorted, no whitespace. Keys are written
/// in sorted order by hand so the output does not depend on serde_json's map features.
pub fn hashedrekord_body(digest_hex: &str, signature: &[u8], cert_pem: &str) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        concat!(
            r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"#,
            r#""data":{{"hash":{{"algorithm":"sha256","value":{}}}}},"#,
            r#""signature":{{"content":{},"publicKey":{{"content":{}}}}}}}}}"#
        ),
        json_string(digest_hex),
        json_string(&b64.encode(signature)),
        json_string(&b64.encode(cert_pem.as_bytes())),
    )
    .into_bytes()
}

/// A JSON string literal; `Value`'s `Display` cannot fail for a string.
fn json_string(s: &str) -> String {
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

/// RFC 6962 §2.1 leaf hash: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> [u8; 32] {
    let mut buf = Vec::with_capacity(entry.len() + 1);
    buf.push(0x00);
    buf.extend_from_slice(entry);
    sha256(&buf)
}

/// RFC 6962 §2.1 interior node hash: SHA-256(0x01 || left || right).
fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    sha256(&buf)
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or `None` when the proof has
/// the wrong length for `index` in a tree of `tree_size` or the index is out of range.
pub fn root_from_inclusion_proof(
    leaf_hash: &[u8; 32],
    index: u64,
    tree_size: u64,
    proof: &[[u8; 32]],
) -> Option<[u8; 32]> {
    if index >= tree_size {
        return None;
    }
    let mut fnode = index;
    let mut snode = tree_size - 1;
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            return None;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    (snode == 0).then_some(r)
}

/// Whether `proof` shows the leaf `leaf_hash` at `index` is in the tree of `tree_size` leaves
/// with root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf_hash: &[u8; 32],
    index: u64,
    tree_size: u64,
    proof: &[[u8; 32]],
    root: &[u8; 32],
) -> bool {
    root_from_inclusion_proof(leaf_hash, index, tree_size, proof).is_some_and(|r| r == *root)
}

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
/// the host of the log's URL; for other keys (Rekor v1) the hint is the first 4 bytes of
/// SHA-256 of the DER SPKI. Lines by other keys (witnesses' cosignatures) are skipped.
fn verify_checkpoint(note: &str, log: &LogKey) -> Result<Checkpoint, TlogError> {
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
        let host = log
            .base_url
            .split_once("://")
            .map_or(log.base_url.as_str(), |(_, rest)| rest)
            .trim_end_matches('/');
        if !host.is_empty() && host != cp.origin {
            return Err(TlogError::CheckpointOrigin {
                origin: cp.origin.clone(),
                expected: host.to_owned(),
            });
        }
    }
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::Validity;
    use der::Encode;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/gitsign-commits");
    const LEGACY_SHA: &str = "c47e8bf5c86212dc9b6db0e3ec4df27a978b3d6e";
    const PROTOBUF_SHA: &str = "fe1e62346d3c346a343d089e8b4c3fb57716bc94";

    /// What the tests need from one real signed commit.
    struct Signed {
        payload: Vec<u8>,
        signed_attrs_der: Vec<u8>,
        signature: Vec<u8>,
        cert_pem: String,
        unsigned: Vec<(ObjectIdentifier, Vec<u8>)>,
    }

    /// Split a raw commit as git does: the `gpgsig` header and its continuation lines (minus
    /// one leading space) are the signature; the commit without them is the payload.
    fn split_commit(raw: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut payload = Vec::new();
        let mut sig = Vec::new();
        let mut in_headers = true;
        let mut in_sig = false;
        for line in raw.split_inclusive(|b| *b == b'\n') {
            if in_headers && in_sig && line.first() == Some(&b' ') {
                sig.extend_from_slice(&line[1..]);
                continue;
            }
            in_sig = false;
            if in_headers && line.starts_with(b"gpgsig ") {
                sig.extend_from_slice(&line[b"gpgsig ".len()..]);
                in_sig = true;
                continue;
            }
            if line == b"\n" {
                in_headers = false;
            }
            payload.extend_from_slice(line);
        }
        (payload, sig)
    }

    fn load(sha: &str) -> Signed {
        use cms::content_info::ContentInfo;
        use cms::signed_data::{SignedData, SignerIdentifier};
        let raw = std::fs::read(format!("{FIXTURES}/{sha}.commit")).expect("fixture exists");
        let (payload, armored) = split_commit(&raw);
        let der = crate::pem::decode_one(&armored, "SIGNED MESSAGE").expect("gitsign armor");
        let ci = ContentInfo::from_der(&der).expect("ContentInfo");
        let sd: SignedData = ci.content.decode_as().expect("SignedData");
        let si = sd.signer_infos.0.get(0).expect("one signer").clone();
        let SignerIdentifier::IssuerAndSerialNumber(isn) = &si.sid else {
            panic!("gitsign identifies the signer by issuer and serial")
        };
        let leaf = sd
            .certificates
            .as_ref()
            .expect("certificates")
            .0
            .iter()
            .find_map(|c| match c {
                cms::cert::CertificateChoices::Certificate(c)
                    if c.tbs_certificate.serial_number == isn.serial_number =>
                {
                    Some(c.to_der().expect("re-encode"))
                }
                _ => None,
            })
            .expect("leaf certificate in the CMS");
        let unsigned = si
            .unsigned_attrs
            .iter()
            .flat_map(|a| a.iter())
            .map(|a| {
                let first = a.values.iter().next().expect("a value");
                (a.oid, first.to_der().expect("re-encode"))
            })
            .collect();
        Signed {
            payload,
            signed_attrs_der: si
                .signed_attrs
                .as_ref()
                .expect("signed attrs")
                .to_der()
                .expect("der"),
            signature: si.signature.as_bytes().to_vec(),
            cert_pem: crate::pem::encode("CERTIFICATE", &leaf),
            unsigned,
        }
    }

    fn body_of(s: &Signed) -> Vec<u8> {
        hashedrekord_body(
            &hex(&sha256(&s.signed_attrs_der)),
            &s.signature,
            &s.cert_pem,
        )
    }

    fn manifest() -> serde_json::Value {
        let m = std::fs::read(format!("{FIXTURES}/manifest.json")).expect("manifest");
        serde_json::from_slice(&m).expect("manifest JSON")
    }

    fn entry_of(sha: &str) -> (TlogEntry, Vec<u8>) {
        let s = load(sha);
        let entry = decode_embedded(&s.unsigned)
            .expect("decodes")
            .expect("has an entry");
        (entry, body_of(&s))
    }

    fn root() -> TrustedRoot {
        TrustedRoot::public_good()
    }

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
    fn hashedrekord_body_is_canonical_json_with_sorted_keys() {
        let body = hashedrekord_body("ab01", b"\x01\x02", "PEM\n");
        assert_eq!(
            String::from_utf8(body).expect("utf-8"),
            r#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"ab01"}},"signature":{"content":"AQI=","publicKey":{"content":"UEVNCg=="}}}}"#,
            "keys sorted at every level, no whitespace"
        );
        let quoted = hashedrekord_body("a\"b", b"", "");
        assert!(
            serde_json::from_slice::<serde_json::Value>(&quoted).is_ok(),
            "a hostile digest string is escaped, the output stays JSON"
        );
    }

    #[test]
    fn legacy_2023_layout_decodes_into_the_same_entry_and_verifies() {
        let (entry, body) = entry_of(LEGACY_SHA);
        assert_eq!(entry.log_index, 10_985_260, "3.2 is the global log index");
        assert_eq!(
            entry.integrated_time, 1_673_483_618,
            "3.0 is the integrated time"
        );
        assert_eq!(
            hex(&entry.log_id),
            "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d",
            "3.1 is the hex log id of rekor.sigstore.dev"
        );
        assert_eq!(entry.kind, "", "the legacy layout does not record the kind");
        let proof = entry.inclusion_proof.clone().expect("3.5-3.8 form a proof");
        assert_eq!(proof.log_index, 6_821_829, "3.8 is the shard-local index");
        assert_eq!(proof.tree_size, 6_821_830, "3.7 is the tree size");
        assert_eq!(proof.hashes.len(), 11, "3.5 holds the proof hashes");
        assert!(proof
            .checkpoint
            .starts_with("rekor.sigstore.dev - 2605736670972794746\n6821830\n"));
        assert!(
            verify_entry(&entry, &body, &root()).is_ok(),
            "SET, proof and checkpoint all verify"
        );
        let proof_only = TlogEntry {
            signed_entry_timestamp: None,
            ..entry
        };
        assert!(
            verify_entry(&proof_only, &body, &root()).is_ok(),
            "the inferred proof fields verify on their own, so their meaning is right"
        );
    }

    #[test]
    fn protobuf_attribute_round_trips_byte_for_byte() {
        let s = load(PROTOBUF_SHA);
        let (entry, _) = entry_of(PROTOBUF_SHA);
        let original = &attr(&s.unsigned, OID_TLOG_ENTRY).expect("attribute");
        assert_eq!(
            encode_embedded(&entry),
            original.to_vec(),
            "our encoding equals Go gitsign's for the same entry"
        );
        let again = decode_embedded(&[(OID_TLOG_ENTRY, encode_embedded(&entry))])
            .expect("decodes")
            .expect("present");
        assert_eq!(again, entry, "decode(encode(entry)) == entry");
    }

    #[test]
    fn encode_clears_the_body_and_handles_long_lengths() {
        let entry = TlogEntry {
            log_index: 1,
            log_id: vec![7; 32],
            kind: "hashedrekord".into(),
            version: "0.0.1".into(),
            integrated_time: 2,
            signed_entry_timestamp: None,
            inclusion_proof: None,
            canonicalized_body: vec![1; 300],
        };
        let der = encode_embedded(&entry);
        let back = decode_embedded(&[(OID_TLOG_ENTRY, der)])
            .expect("decodes")
            .expect("present");
        assert_eq!(
            back,
            TlogEntry {
                canonicalized_body: Vec::new(),
                ..entry
            },
            "everything but the body survives"
        );
    }

    #[test]
    fn unknown_layouts_are_no_entry_and_damaged_ones_are_errors() {
        assert_eq!(decode_embedded(&[]), Ok(None), "no attributes, no entry");
        let other = ObjectIdentifier::new_unwrap("1.2.3.4");
        assert_eq!(
            decode_embedded(&[(other, vec![0x04, 0x00])]),
            Ok(None),
            "other OIDs are ignored"
        );
        for value in [
            vec![],
            vec![0x02, 0x01, 0x00],
            vec![0x0c, 0x01, b'x'],
            vec![0x30, 0x00],
        ] {
            assert_eq!(
                decode_embedded(&[(OID_TLOG_ENTRY, value.clone())]),
                Ok(None),
                "tag {value:02x?} is neither layout"
            );
        }
        assert!(
            matches!(
                decode_embedded(&[(OID_TLOG_ENTRY, vec![0x04, 0x02, 0xff, 0xff])]),
                Err(TlogError::Malformed(_))
            ),
            "an OCTET STRING that is not protobuf is a damaged entry"
        );
        assert!(
            matches!(
                decode_embedded(&[(OID_TLOG_ENTRY, vec![0x04, 0x00])]),
                Err(TlogError::Malformed(_))
            ),
            "an entry without a log id is damaged"
        );
        assert!(
            matches!(
                decode_embedded(&[(OID_TLOG_ENTRY, vec![0x13, 0x02, b'z', b'z'])]),
                Err(TlogError::Malformed(_))
            ),
            "a legacy log id that is not hex is damaged"
        );
    }

    #[test]
    fn truncated_and_bit_flipped_attributes_never_panic() {
        for sha in [PROTOBUF_SHA, LEGACY_SHA] {
            let s = load(sha);
            let body = body_of(&s);
            for i in 0..s.unsigned.len() {
                let full = s.unsigned[i].1.clone();
                for cut in 0..full.len() {
                    let mut attrs = s.unsigned.clone();
                    attrs[i].1.truncate(cut);
                    let _ = decode_embedded(&attrs);
                    let mut flipped = s.unsigned.clone();
                    flipped[i].1[cut] ^= 0x41;
                    if let Ok(Some(e)) = decode_embedded(&flipped) {
                        let _ = verify_entry(&e, &body, &root());
                    }
                }
            }
        }
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

    #[test]
    fn checkpoint_parser_rejects_garbage_without_panicking() {
        let root = root();
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

    // RFC 6962 test vectors: the 8-leaf tree of certificate-transparency-go's merkle tests,
    // as carried by sigstore-rs (src/crypto/merkle/proof_verification.rs).
    fn leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| unhex(h).expect("hex"))
        .collect()
    }

    /// Root of the tree made of the first `n` leaves.
    fn root_of(n: usize) -> [u8; 32] {
        let h = match n {
            1 => "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            2 => "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            3 => "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            4 => "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            5 => "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            6 => "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            7 => "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            8 => "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
            _ => unreachable!("the vector tree has 8 leaves"),
        };
        h32(h)
    }

    fn h32(h: &str) -> [u8; 32] {
        hash32(&unhex(h).expect("hex")).expect("32 bytes")
    }

    /// (1-based leaf, tree size, audit path).
    fn inclusion_vectors() -> Vec<(u64, u64, Vec<[u8; 32]>)> {
        vec![
            (
                1,
                8,
                vec![
                    h32("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    h32("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h32("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                6,
                8,
                vec![
                    h32("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                    h32("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    h32("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
            (
                3,
                3,
                vec![h32(
                    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                )],
            ),
            (
                2,
                5,
                vec![
                    h32("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                    h32("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h32("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
        ]
    }

    #[test]
    fn rfc6962_inclusion_vectors_verify() {
        let leaves = leaves();
        assert_eq!(
            leaf_hash(&leaves[0]),
            root_of(1),
            "a one-leaf tree's root is its leaf hash"
        );
        assert!(
            verify_inclusion(&leaf_hash(&leaves[0]), 0, 1, &[], &root_of(1)),
            "one leaf, empty proof"
        );
        for (leaf, size, proof) in inclusion_vectors() {
            let index = leaf - 1;
            let lh = leaf_hash(&leaves[index as usize]);
            let root = root_of(size as usize);
            assert_eq!(
                root_from_inclusion_proof(&lh, index, size, &proof),
                Some(root),
                "leaf {leaf} of {size} leads to the vector root"
            );
            assert!(
                verify_inclusion(&lh, index, size, &proof, &root),
                "leaf {leaf} of {size}"
            );
        }
    }

    /// (what, leaf hash, index, tree size, proof, root).
    type Probe = (&'static str, [u8; 32], u64, u64, Vec<[u8; 32]>, [u8; 32]);

    #[test]
    fn rfc6962_corrupted_inclusion_proofs_fail() {
        let leaves = leaves();
        for (leaf, size, proof) in inclusion_vectors() {
            let index = leaf - 1;
            let lh = leaf_hash(&leaves[index as usize]);
            let root = root_of(size as usize);
            let with = |extra_front: Option<[u8; 32]>, extra_back: Option<[u8; 32]>| {
                let mut p: Vec<[u8; 32]> = extra_front.into_iter().collect();
                p.extend_from_slice(&proof);
                p.extend(extra_back);
                p
            };
            let probes: Vec<Probe> = vec![
                (
                    "index - 1",
                    lh,
                    index.wrapping_sub(1),
                    size,
                    proof.clone(),
                    root,
                ),
                ("index + 1", lh, index + 1, size, proof.clone(), root),
                ("index ^ 2", lh, index ^ 2, size, proof.clone(), root),
                ("size / 2", lh, index, size / 2, proof.clone(), root),
                ("size * 2", lh, index, size * 2, proof.clone(), root),
                (
                    "wrong leaf",
                    *b"WrongLeafWrongLeafWrongLeafWrong",
                    index,
                    size,
                    proof.clone(),
                    root,
                ),
                ("zero root", lh, index, size, proof.clone(), [0; 32]),
                (
                    "trailing garbage",
                    lh,
                    index,
                    size,
                    with(None, Some([0; 32])),
                    root,
                ),
                (
                    "trailing root",
                    lh,
                    index,
                    size,
                    with(None, Some(root)),
                    root,
                ),
                (
                    "preceding garbage",
                    lh,
                    index,
                    size,
                    with(Some([0; 32]), None),
                    root,
                ),
                (
                    "truncated",
                    lh,
                    index,
                    size,
                    proof[..proof.len() - 1].to_vec(),
                    root,
                ),
            ];
            for (what, lh, index, size, proof, root) in probes {
                assert!(
                    !verify_inclusion(&lh, index, size, &proof, &root),
                    "leaf {leaf} of {size}: {what} must not verify"
                );
            }
        }
        assert_eq!(
            root_from_inclusion_proof(&[0; 32], 0, 0, &[]),
            None,
            "an empty tree has no leaves"
        );
        assert_eq!(
            root_from_inclusion_proof(&[0; 32], u64::MAX, u64::MAX, &[]),
            None,
            "index must be below the size"
        );
        assert!(
            root_from_inclusion_proof(&[0; 32], u64::MAX - 1, u64::MAX, &[[0; 32]; 63]).is_some(),
            "the last leaf of the largest tree (63 border hashes) computes without overflow"
        );
    }
}
