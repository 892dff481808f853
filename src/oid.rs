//! Every object identifier the crate names, declared once (dotted form, with the document that
//! assigns it). The Rekor entry OIDs of the embedded transparency-log attributes
//! (1.3.6.1.4.1.57264.3.*) stay with their codec in `verify::tlog`.

use const_oid::ObjectIdentifier;

const fn oid(dotted: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(dotted)
}

// CMS content types and attributes (RFC 5652 §4, §5, §11; RFC 3161 §2.4.2; RFC 3161 App. A).
pub const DATA: ObjectIdentifier = oid("1.2.840.113549.1.7.1");
pub const SIGNED_DATA: ObjectIdentifier = oid("1.2.840.113549.1.7.2");
pub const CONTENT_TYPE: ObjectIdentifier = oid("1.2.840.113549.1.9.3");
pub const MESSAGE_DIGEST: ObjectIdentifier = oid("1.2.840.113549.1.9.4");
pub const SIGNING_TIME: ObjectIdentifier = oid("1.2.840.113549.1.9.5");
/// id-ct-TSTInfo, the encapsulated content of a timestamp token.
pub const TST_INFO: ObjectIdentifier = oid("1.2.840.113549.1.9.16.1.4");
/// id-aa-timeStampToken, the unsigned attribute carrying an RFC 3161 token.
pub const TIMESTAMP_TOKEN: ObjectIdentifier = oid("1.2.840.113549.1.9.16.2.14");

// Digests (RFC 5758 §2) and signature algorithms (RFC 5758 §3.2, RFC 4055 §5).
pub const SHA256: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.1");
pub const SHA384: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.2");
pub const SHA512: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.3");
pub const ECDSA_WITH_SHA256: ObjectIdentifier = oid("1.2.840.10045.4.3.2");
pub const ECDSA_WITH_SHA384: ObjectIdentifier = oid("1.2.840.10045.4.3.3");
pub const ECDSA_WITH_SHA512: ObjectIdentifier = oid("1.2.840.10045.4.3.4");
pub const SHA256_WITH_RSA: ObjectIdentifier = oid("1.2.840.113549.1.1.11");
pub const SHA384_WITH_RSA: ObjectIdentifier = oid("1.2.840.113549.1.1.12");
pub const SHA512_WITH_RSA: ObjectIdentifier = oid("1.2.840.113549.1.1.13");

// Public key algorithms and curves (RFC 5480 §2.1.1, RFC 8410 §3, RFC 8017 App. C).
pub const EC_PUBLIC_KEY: ObjectIdentifier = oid("1.2.840.10045.2.1");
pub const P256: ObjectIdentifier = oid("1.2.840.10045.3.1.7");
pub const P384: ObjectIdentifier = oid("1.3.132.0.34");
pub const ED25519: ObjectIdentifier = oid("1.3.101.112");
pub const RSA_ENCRYPTION: ObjectIdentifier = oid("1.2.840.113549.1.1.1");

// X.509 extensions (RFC 5280 §4.2.1).
pub const SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = oid("2.5.29.14");
pub const KEY_USAGE: ObjectIdentifier = oid("2.5.29.15");
pub const SUBJECT_ALT_NAME: ObjectIdentifier = oid("2.5.29.17");
pub const BASIC_CONSTRAINTS: ObjectIdentifier = oid("2.5.29.19");
pub const NAME_CONSTRAINTS: ObjectIdentifier = oid("2.5.29.30");
pub const CERTIFICATE_POLICIES: ObjectIdentifier = oid("2.5.29.32");
pub const AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = oid("2.5.29.35");
pub const EXT_KEY_USAGE: ObjectIdentifier = oid("2.5.29.37");
/// Extended key usages (RFC 5280 §4.2.1.12).
pub const EKU_CODE_SIGNING: ObjectIdentifier = oid("1.3.6.1.5.5.7.3.3");
pub const EKU_TIME_STAMPING: ObjectIdentifier = oid("1.3.6.1.5.5.7.3.8");

// Certificate Transparency (RFC 6962 §3.1, §3.3).
pub const SCT_LIST: ObjectIdentifier = oid("1.3.6.1.4.1.11129.2.4.2");
/// Precertificate poison: must never appear in a final certificate.
pub const CT_POISON: ObjectIdentifier = oid("1.3.6.1.4.1.11129.2.4.3");

// Fulcio certificate extensions (Fulcio `docs/oid-info.md`).
/// Issuer as a raw string (deprecated).
pub const FULCIO_ISSUER_V1: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.1");
pub const FULCIO_GITHUB_WORKFLOW_TRIGGER: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.2");
pub const FULCIO_GITHUB_WORKFLOW_SHA: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.3");
pub const FULCIO_GITHUB_WORKFLOW_NAME: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.4");
pub const FULCIO_GITHUB_WORKFLOW_REPOSITORY: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.5");
pub const FULCIO_GITHUB_WORKFLOW_REF: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.6");
/// Issuer as a DER UTF8String.
pub const FULCIO_ISSUER_V2: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.8");
// 57264.1.9 onward: provider-generic build and source claims, DER UTF8Strings.
pub const FULCIO_BUILD_SIGNER_URI: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.9");
pub const FULCIO_BUILD_SIGNER_DIGEST: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.10");
pub const FULCIO_RUNNER_ENVIRONMENT: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.11");
pub const FULCIO_SOURCE_REPOSITORY_URI: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.12");
pub const FULCIO_SOURCE_REPOSITORY_DIGEST: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.13");
pub const FULCIO_SOURCE_REPOSITORY_REF: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.14");
pub const FULCIO_SOURCE_REPOSITORY_IDENTIFIER: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.15");
pub const FULCIO_SOURCE_REPOSITORY_OWNER_URI: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.16");
pub const FULCIO_SOURCE_REPOSITORY_OWNER_IDENTIFIER: ObjectIdentifier =
    oid("1.3.6.1.4.1.57264.1.17");
pub const FULCIO_BUILD_CONFIG_URI: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.18");
pub const FULCIO_BUILD_CONFIG_DIGEST: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.19");
pub const FULCIO_BUILD_TRIGGER: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.20");
pub const FULCIO_RUN_INVOCATION_URI: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.21");
pub const FULCIO_SOURCE_REPOSITORY_VISIBILITY: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.22");
pub const FULCIO_DEPLOYMENT_ENVIRONMENT: ObjectIdentifier = oid("1.3.6.1.4.1.57264.1.23");

// The Rekor entry gitsign embeds as an unsigned attribute. Current layout: one attribute
// whose value is an OCTET STRING holding the protobuf entry; in the 2023 layout the same OID
// held the log id as a hex PrintableString, beside one attribute per field.
pub const TLOG_ENTRY: ObjectIdentifier = oid("1.3.6.1.4.1.57264.3.1");
pub const TLOG_LEGACY_INTEGRATED_TIME: ObjectIdentifier = oid("1.3.6.1.4.1.57264.3.0");
pub const TLOG_LEGACY_LOG_INDEX: ObjectIdentifier = oid("1.3.6.1.4.1.57264.3.2");
pub const TLOG_LEGACY_SET: ObjectIdentifier = oid("1.3.6.1.4.1.57264.3.3");
pub const TLOG_LEGACY_CHECKPOINT: ObjectIdentifier = oid("1.3.6.1.4.1.57264.3.4");
pub const TLOG_LEGACY_PROOF_HASHES: ObjectIdentifier = oid("1.3.6.1.4.1.57264.3.5");
pub const TLOG_LEGACY_ROOT_HASH: ObjectIdentifier = oid("1.3.6.1.4.1.57264.3.6");
pub const TLOG_LEGACY_TREE_SIZE: ObjectIdentifier = oid("1.3.6.1.4.1.57264.3.7");
pub const TLOG_LEGACY_PROOF_INDEX: ObjectIdentifier = oid("1.3.6.1.4.1.57264.3.8");
