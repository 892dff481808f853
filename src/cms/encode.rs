//! The CMS SignedData encoder (RFC 5652) shaped like Go gitsign's (`internal/signature` over `pkcs7`):
//!
//! ```text
//! ContentInfo { signedData, [0] SignedData {
//!   version 1, digestAlgorithms { sha256 (no parameters) }, encapContentInfo { id-data } (detached),
//!   certificates [0] { leaf only },
//!   signerInfos { SignerInfo { version 1, issuerAndSerialNumber, sha256,
//!     signedAttrs [0] { contentType, signingTime (UTCTime), messageDigest }  -- DER SET OF order
//!     ecdsa-with-SHA256, signature,
//!     unsignedAttrs [1] { 1.3.6.1.4.1.57264.3.1 Rekor entry | 1.2.840.113549.1.9.16.2.14 RFC 3161 token } } } } }
//! ```
//!
//! Pure: bytes in, bytes out. The unsigned attributes are added after the Rekor round trip,
//! which needs the signature first; they are not covered by it, so [`encode`] is called twice
//! with the same signed attributes and signature.

use const_oid::ObjectIdentifier;

use crate::der::{self, algorithm, attribute, cat, oid_der, set_of, tlv};
use crate::oid;
use crate::x509::Cert;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Key(#[from] crate::key::KeyError),
    #[error("signing time {0} cannot be written as UTCTime (years 1950-2049)")]
    SigningTime(i64),
    #[error("the issued certificate is malformed")]
    Certificate(#[source] crate::x509::CertError),
}

/// signingTime as RFC 5652 §11.3 requires: UTCTime `YYMMDDHHMMSSZ` for 1950–2049,
/// GeneralizedTime `YYYYMMDDHHMMSSZ` before and after.
fn signing_time_der(unix: i64) -> Result<Vec<u8>, SignError> {
    let t = chrono::DateTime::from_timestamp(unix, 0).ok_or(SignError::SigningTime(unix))?;
    let year = chrono::Datelike::year(&t);
    if (1950..2050).contains(&year) {
        Ok(tlv(
            der::UTC_TIME,
            t.format("%y%m%d%H%M%SZ").to_string().as_bytes(),
        ))
    } else if (0..=9999).contains(&year) {
        Ok(tlv(
            der::GENERALIZED_TIME,
            t.format("%Y%m%d%H%M%SZ").to_string().as_bytes(),
        ))
    } else {
        Err(SignError::SigningTime(unix))
    }
}

/// The DER SET OF signed attributes over `payload` — the exact bytes the signature covers and
/// whose SHA-256 the hashedrekord entry logs.
pub fn signed_attributes(payload: &[u8], signing_time: i64) -> Result<Vec<u8>, SignError> {
    let digest = crate::crypto::sha256(payload);
    Ok(set_of(
        der::SET,
        vec![
            attribute(&oid::CONTENT_TYPE, &oid_der(&oid::DATA)),
            attribute(&oid::SIGNING_TIME, &signing_time_der(signing_time)?),
            attribute(&oid::MESSAGE_DIGEST, &tlv(der::OCTET_STRING, &digest)),
        ],
    ))
}

/// An unsigned attribute: OID and one DER-encoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedAttribute {
    pub oid: ObjectIdentifier,
    pub value_der: Vec<u8>,
}

/// The DER ContentInfo: detached SignedData with the leaf certificate, one SignerInfo.
///
/// `signed_attrs` is the output of [`signed_attributes`] (tag SET); inside SignerInfo it is
/// written with its `[0]` IMPLICIT tag, which is the only byte that differs.
pub fn encode(
    leaf_der: &[u8],
    signed_attrs: &[u8],
    signature: &[u8],
    unsigned: &[UnsignedAttribute],
) -> Result<Vec<u8>, SignError> {
    let leaf = Cert::parse(leaf_der).map_err(SignError::Certificate)?;
    let sid = tlv(
        der::SEQUENCE,
        &cat(&[&leaf.issuer_der, &tlv(der::INTEGER, &leaf.serial)]),
    );
    let mut signed_implicit = signed_attrs.to_vec();
    if let Some(first) = signed_implicit.first_mut() {
        *first = der::ctx(0);
    }
    let mut signer = cat(&[
        &tlv(der::INTEGER, &[1]),
        &sid,
        &algorithm(&oid::SHA256),
        &signed_implicit,
        &algorithm(&oid::ECDSA_WITH_SHA256),
        &tlv(der::OCTET_STRING, signature),
    ]);
    if !unsigned.is_empty() {
        let attrs = unsigned
            .iter()
            .map(|a| attribute(&a.oid, &a.value_der))
            .collect();
        signer.extend(set_of(der::ctx(1), attrs));
    }
    let signed_data = tlv(
        der::SEQUENCE,
        &cat(&[
            &tlv(der::INTEGER, &[1]),
            &tlv(der::SET, &algorithm(&oid::SHA256)),
            &tlv(der::SEQUENCE, &oid_der(&oid::DATA)),
            &tlv(der::ctx(0), leaf_der),
            &tlv(der::SET, &tlv(der::SEQUENCE, &signer)),
        ]),
    );
    Ok(tlv(
        der::SEQUENCE,
        &cat(&[&oid_der(&oid::SIGNED_DATA), &tlv(der::ctx(0), &signed_data)]),
    ))
}

/// PEM `SIGNED MESSAGE`, the armor git stores in `gpgsig`.
pub fn armor(der: &[u8]) -> String {
    crate::pem::encode(crate::cms::PEM_LABEL, der)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cms;
    use crate::key::EphemeralKey;

    fn fixtures() -> Vec<(String, Vec<u8>)> {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gitsign-commits");
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir).expect("fixture dir") {
            let path = e.expect("dir entry").path();
            if path.extension().is_some_and(|x| x == "commit") {
                let raw = std::fs::read(&path).expect("fixture");
                let split =
                    crate::git::object::split_commit(&raw, crate::git::object::HashKind::Sha1)
                        .expect("signed fixture");
                out.push((path.display().to_string(), split.signature));
            }
        }
        out.sort();
        out
    }

    fn der_of(pem: &[u8]) -> Vec<u8> {
        crate::pem::decode_one(pem, cms::PEM_LABEL).expect("PEM armor")
    }

    #[test]
    fn encoder_reproduces_go_gitsign_signatures_byte_for_byte() {
        // Re-encoding a real Go gitsign signature from its parts gives back the same DER: same
        // OIDs, attribute order, algorithm identifiers (no NULL), cert bag and unsigned attributes.
        let mut reproduced = 0;
        let mut with_tlog = 0;
        for (name, sig) in fixtures() {
            let want = der_of(&sig);
            let msg = cms::parse(&sig).expect("fixture parses");
            if msg.certificates.len() != 1 {
                continue; // some 2022 signatures carried the intermediate too; ours never do
            }
            let unsigned: Vec<UnsignedAttribute> = msg
                .signer
                .unsigned_attrs
                .iter()
                .flat_map(|a| {
                    a.values.iter().map(|v| UnsignedAttribute {
                        oid: a.oid,
                        value_der: v.clone(),
                    })
                })
                .collect();
            if msg
                .signer
                .unsigned_attrs
                .iter()
                .any(|a| a.values.len() != 1)
            {
                continue;
            }
            let got = encode(
                &msg.certificates[0],
                &msg.signer.signed_attrs_der,
                &msg.signer.signature,
                &unsigned,
            )
            .expect("encode");
            assert_eq!(
                crate::encoding::hex(&got),
                crate::encoding::hex(&want),
                "{name}: our encoding must equal Go gitsign's"
            );
            reproduced += 1;
            if msg.unsigned_attribute(&tlog_oid()).is_some() {
                with_tlog += 1;
            }
        }
        assert!(
            reproduced >= 10,
            "most fixtures are reproduced exactly (got {reproduced})"
        );
        assert!(
            with_tlog >= 1,
            "at least one reproduced fixture carries an embedded Rekor entry"
        );
    }

    /// Sigstore's embedded transparency log entry attribute (written out here: `cms` sits
    /// below `verify`, whose `tlog` owns the constant).
    fn tlog_oid() -> ObjectIdentifier {
        ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.3.1")
    }

    #[test]
    fn signed_attributes_are_in_go_gitsigns_order_and_cover_the_payload() {
        let (_, sig) = fixtures().into_iter().next().expect("a fixture");
        let go = cms::parse(&sig).expect("fixture parses");
        let go_order: Vec<_> = go.signer.signed_attrs.iter().map(|a| a.oid).collect();
        let ours = signed_attributes(b"tree 0000\n\nmessage\n", 1_700_000_000).expect("attrs");
        let wrapped = encode(&go.certificates[0], &ours, &[0x30, 0x00], &[]).expect("encode");
        let parsed = cms::parse(&wrapped).expect("our signature parses");
        let our_order: Vec<_> = parsed.signer.signed_attrs.iter().map(|a| a.oid).collect();
        assert_eq!(
            our_order, go_order,
            "contentType, signingTime, messageDigest as Go gitsign orders them"
        );
        assert_eq!(
            our_order,
            vec![
                crate::oid::CONTENT_TYPE,
                crate::oid::SIGNING_TIME,
                crate::oid::MESSAGE_DIGEST
            ]
        );
        assert_eq!(
            parsed.signer.signed_attrs_der, ours,
            "the parser recovers the exact signed bytes"
        );
        assert_eq!(
            parsed.signer.digest_algorithm,
            oid::SHA256,
            "SHA-256 digest"
        );
        assert_eq!(
            parsed.signer.signature_algorithm,
            oid::ECDSA_WITH_SHA256,
            "ecdsa-with-SHA256"
        );
        assert_eq!(parsed.certificates.len(), 1, "leaf certificate only");
        assert!(
            parsed.signer.unsigned_attrs.is_empty(),
            "no unsigned attributes before the Rekor round trip"
        );
        let t = parsed
            .signer
            .signed_attrs
            .iter()
            .find(|a| a.oid == crate::oid::SIGNING_TIME)
            .expect("signingTime");
        assert_eq!(
            t.values[0], b"\x17\x0d231114221320Z",
            "signingTime is UTCTime"
        );
    }

    #[test]
    fn a_signature_made_with_an_ephemeral_key_checks() {
        let key = EphemeralKey::generate().expect("key");
        let attrs = signed_attributes(b"payload", 1_700_000_000).expect("attrs");
        let sig = key.sign(&attrs).expect("sign");
        let pk = crate::crypto::PublicKey::from_spki_der(&key.spki_der()).expect("our SPKI parses");
        assert!(
            pk.verify(crate::crypto::Digest::Sha256, &attrs, &sig)
                .is_ok(),
            "the signature verifies with our public key"
        );
        assert_eq!(
            signing_time_der(4_102_444_800).expect("2100"),
            tlv(der::GENERALIZED_TIME, b"21000101000000Z"),
            "after 2049 signingTime is a GeneralizedTime (RFC 5652 section 11.3)"
        );
        assert_eq!(
            signing_time_der(1_700_000_000).expect("2023"),
            tlv(der::UTC_TIME, b"231114221320Z"),
            "until 2049 it is a UTCTime, as Go gitsign writes it"
        );
        assert!(
            signing_time_der(i64::MAX).is_err(),
            "an unrepresentable time is an error"
        );
        assert!(
            format!("{key:?}").contains("private"),
            "Debug does not print key material"
        );
    }
}
