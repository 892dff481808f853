//! The Rekor v1 entry as gitsign embeds it in the CMS SignerInfo's unsigned attributes.
//!
//! Two layouts: the protobuf `dev.sigstore.rekor.v1.TransparencyLogEntry` in one OCTET STRING
//! attribute (current), and the pre-release 2023 layout of one attribute per field (see
//! [`decode_embedded`]). [`encode_embedded`] writes the current layout, body cleared, byte for
//! byte as Go gitsign does. Pure: bytes in, values out.

use der::asn1::{ObjectIdentifier, OctetStringRef, PrintableStringRef, Utf8StringRef};
use der::{Decode, Tag};
use prost::Message as _;

use super::{malformed, InclusionProof, TlogEntry, TlogError};
use crate::encoding::unhex;

pub use crate::oid::TLOG_ENTRY as OID_TLOG_ENTRY;
use crate::oid::{
    TLOG_LEGACY_CHECKPOINT as OID_LEGACY_CHECKPOINT,
    TLOG_LEGACY_INTEGRATED_TIME as OID_LEGACY_INTEGRATED_TIME,
    TLOG_LEGACY_LOG_INDEX as OID_LEGACY_LOG_INDEX,
    TLOG_LEGACY_PROOF_HASHES as OID_LEGACY_PROOF_HASHES,
    TLOG_LEGACY_PROOF_INDEX as OID_LEGACY_PROOF_INDEX,
    TLOG_LEGACY_ROOT_HASH as OID_LEGACY_ROOT_HASH, TLOG_LEGACY_SET as OID_LEGACY_SET,
    TLOG_LEGACY_TREE_SIZE as OID_LEGACY_TREE_SIZE,
};

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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::verify_entry;
    use super::*;
    use crate::encoding::hex;

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
}
