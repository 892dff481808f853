//! RFC 3161 timestamp tokens: the time anchor for signatures that carry one.
//!
//! A token (unsigned attribute id-aa-timeStampToken, 1.2.840.113549.1.9.16.2.14, of the CMS
//! SignerInfo) is itself a CMS SignedData (RFC 5652) over a `TSTInfo` (RFC 3161 §2.4.2) whose
//! messageImprint is the hash of the SignerInfo's signature value (RFC 3161 Appendix A).
//! Verifying it means: the imprint matches, the token's signer signed the TSTInfo (signed
//! attributes contentType and messageDigest, RFC 5652 §5.4), and that signer chains to a
//! timestamp authority of the trust root that was valid at `genTime`, with the timeStamping
//! extended key usage (RFC 3161 §2.3). Pure: bytes in, values out.
//!
//! Not checked: the ESSCertID(v2) signingCertificate attribute (the signer is identified by
//! the SignerInfo's sid and then must chain to the trust root, which is what binds it),
//! nonce and policy (they matter to the requester at request time, not to a later verifier).

use std::sync::Arc;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::{AnyRef, ObjectIdentifier, OctetString, OctetStringRef};
use der::{Decode, Encode, Sequence, Tag, Tagged};
use spki::AlgorithmIdentifierRef;

use crate::crypto::{Digest, PublicKey};
use crate::oid;
use crate::trust::{Authority, TrustedRoot};
use crate::x509::chain::{check_leaf, path_to, Use};
use crate::x509::Cert;

/// A timestamp whose token verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// `genTime`, Unix seconds (fractions truncated).
    pub time: i64,
    /// The trust root's URI for the authority that issued it.
    pub tsa_uri: String,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TimestampError {
    #[error("malformed timestamp token: {0}")]
    Malformed(String),
    #[error("timestamp token content type is '{0}', not TSTInfo")]
    NotTstInfo(String),
    #[error("unsupported algorithm '{0}' in the timestamp token")]
    UnsupportedAlgorithm(String),
    #[error("timestamp is for other data: the message imprint does not match the signature")]
    ImprintMismatch,
    #[error("timestamp token signer has no '{0}' signed attribute")]
    MissingSignedAttribute(&'static str),
    #[error("timestamp token signed attributes name another content type")]
    ContentTypeMismatch,
    #[error("timestamp token messageDigest does not match the TSTInfo")]
    MessageDigestMismatch,
    #[error("timestamp token signature does not verify")]
    BadSignature,
    #[error(
        "the timestamp token's signing certificate is neither in the token nor in the trusted root"
    )]
    SignerCertificateNotFound,
    #[error("the timestamp signing certificate lacks the timeStamping extended key usage")]
    MissingTimestampingUsage,
    #[error("no timestamp authority in the trusted root is valid at {time}")]
    NoAuthorityAtTime { time: i64 },
    #[error("the timestamp signing certificate does not chain to a trusted timestamp authority at {time}")]
    UntrustedChain { time: i64 },
}

fn malformed(what: impl Into<String>) -> TimestampError {
    TimestampError::Malformed(what.into())
}

/// RFC 3161 §2.4.2 `TSTInfo`. Fields after `genTime` are decoded for well-formedness only.
#[derive(Sequence)]
struct TstInfo<'a> {
    version: u8,
    policy: ObjectIdentifier,
    message_imprint: MessageImprint<'a>,
    serial_number: der::asn1::IntRef<'a>,
    /// Kept raw: der's `GeneralizedTime` rejects the fractional seconds RFC 3161 allows.
    gen_time: AnyRef<'a>,
    accuracy: Option<AnyRef<'a>>,
    #[asn1(default = "Default::default")]
    ordering: bool,
    nonce: Option<der::asn1::IntRef<'a>>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<AnyRef<'a>>,
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        optional = "true",
        constructed = "true"
    )]
    extensions: Option<Vec<AnyRef<'a>>>,
}

#[derive(Sequence)]
struct MessageImprint<'a> {
    hash_algorithm: AlgorithmIdentifierRef<'a>,
    hashed_message: OctetStringRef<'a>,
}

/// The token (DER ContentInfo) of a bundle's `signedTimestamp`, which is either the token
/// itself or a whole `TimeStampResp` (RFC 3161 §2.4.2: `SEQUENCE { status PKIStatusInfo,
/// timeStampToken ContentInfo OPTIONAL }`); a response must be granted (status 0 or 1).
pub fn token_from_response(der: &[u8]) -> Result<Vec<u8>, TimestampError> {
    use crate::der::{children, single, OID, SEQUENCE};
    let outer = single(der, SEQUENCE, "timestamp").map_err(|e| malformed(e.to_string()))?;
    let parts = children(outer.value).map_err(|e| malformed(e.to_string()))?;
    match parts.as_slice() {
        [first, ..] if first.tag == OID => Ok(der.to_vec()),
        _ => {
            let neither =
                || malformed("neither a timestamp token nor a timestamp response holding one");
            let resp = crate::cms::timestamp::parse_response(der).map_err(|_| neither())?;
            let token = resp.token.ok_or_else(neither)?;
            if !resp.granted() {
                return Err(malformed("timestamp response status is not granted"));
            }
            Ok(token.raw.to_vec())
        }
    }
}

/// Verify an RFC 3161 token over `signed_bytes` (for a CMS timestamp attribute: the
/// SignerInfo's signature value) against the timestamp authorities of `root`.
pub fn verify_timestamp_token(
    token_der: &[u8],
    signed_bytes: &[u8],
    root: &TrustedRoot,
) -> Result<VerifiedTimestamp, TimestampError> {
    let ci =
        ContentInfo::from_der(token_der).map_err(|e| malformed(format!("ContentInfo: {e}")))?;
    if ci.content_type != oid::SIGNED_DATA {
        return Err(malformed(format!(
            "content type '{}' is not signed data",
            ci.content_type
        )));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| malformed(format!("SignedData: {e}")))?;
    let eci = &sd.encap_content_info;
    if eci.econtent_type != oid::TST_INFO {
        return Err(TimestampError::NotTstInfo(eci.econtent_type.to_string()));
    }
    let econtent = eci
        .econtent
        .as_ref()
        .ok_or_else(|| malformed("token has no TSTInfo content"))?;
    let tst_der = econtent
        .decode_as::<OctetStringRef<'_>>()
        .map_err(|e| malformed(format!("TSTInfo is not in an OCTET STRING: {e}")))?
        .as_bytes();
    let tst = TstInfo::from_der(tst_der).map_err(|e| malformed(format!("TSTInfo: {e}")))?;
    if tst.version != 1 {
        return Err(malformed(format!("TSTInfo version {}", tst.version)));
    }
    let time = parse_generalized_time(&tst.gen_time)
        .ok_or_else(|| malformed("genTime is not a GeneralizedTime"))?;

    // 1. The token is about our bytes.
    let imprint = &tst.message_imprint;
    let imprint_digest = digest_for(&imprint.hash_algorithm.oid)?;
    if imprint_digest.hash(signed_bytes) != imprint.hashed_message.as_bytes() {
        return Err(TimestampError::ImprintMismatch);
    }

    // 2. The signer signed this TSTInfo.
    let si = match sd.signer_infos.0.as_slice() {
        [si] => si,
        _ => return Err(malformed("token must have exactly one signer")),
    };
    let signed_attrs = si
        .signed_attrs
        .as_ref()
        .ok_or(TimestampError::MissingSignedAttribute("contentType"))?;
    let attr_value = |oid: ObjectIdentifier| {
        signed_attrs
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.iter().next())
    };
    let content_type: ObjectIdentifier = attr_value(oid::CONTENT_TYPE)
        .ok_or(TimestampError::MissingSignedAttribute("contentType"))?
        .decode_as()
        .map_err(|e| malformed(format!("contentType attribute: {e}")))?;
    if content_type != oid::TST_INFO {
        return Err(TimestampError::ContentTypeMismatch);
    }
    let message_digest: OctetString = attr_value(oid::MESSAGE_DIGEST)
        .ok_or(TimestampError::MissingSignedAttribute("messageDigest"))?
        .decode_as()
        .map_err(|e| malformed(format!("messageDigest attribute: {e}")))?;
    let content_digest = digest_for(&si.digest_alg.oid)?;
    if content_digest.hash(tst_der) != message_digest.as_bytes() {
        return Err(TimestampError::MessageDigestMismatch);
    }

    let embedded: Vec<Arc<Cert>> = sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => c.to_der().ok(),
            _ => None,
        })
        .filter_map(|der| Cert::parse_shared(&der).ok())
        .collect();
    let signer = find_signer(&si.sid, &embedded, root)?;
    let signed_attrs_der = signed_attrs
        .to_der()
        .map_err(|e| malformed(format!("signed attributes: {e}")))?;
    let signature_digest = match Digest::from_signature_oid(&si.signature_algorithm.oid) {
        Some(d) => d,
        None if [oid::EC_PUBLIC_KEY, oid::RSA_ENCRYPTION].contains(&si.signature_algorithm.oid) => {
            content_digest
        }
        None => {
            return Err(TimestampError::UnsupportedAlgorithm(
                si.signature_algorithm.oid.to_string(),
            ))
        }
    };
    let signer_key = PublicKey::from_spki_der(&signer.spki_der)
        .map_err(|e| TimestampError::UnsupportedAlgorithm(format!("certificate key: {e}")))?;
    signer_key
        .verify(signature_digest, &signed_attrs_der, si.signature.as_bytes())
        .map_err(|_| TimestampError::BadSignature)?;

    // 3. The signer is a timestamp authority of the trust root at genTime.
    if check_leaf(&signer, time, Use::TimeStamping).is_err() {
        return Err(TimestampError::MissingTimestampingUsage);
    }
    let authorities: Vec<&Authority> = root
        .timestamp_authorities
        .iter()
        .filter(|a| a.valid_for.contains(time))
        .collect();
    if authorities.is_empty() {
        return Err(TimestampError::NoAuthorityAtTime { time });
    }
    let authority = authorities
        .into_iter()
        .find(|a| chains_to(&signer, a, time))
        .ok_or(TimestampError::UntrustedChain { time })?;
    Ok(VerifiedTimestamp {
        time,
        tsa_uri: authority.uri.clone(),
    })
}

fn digest_for(oid: &ObjectIdentifier) -> Result<Digest, TimestampError> {
    Digest::from_digest_oid(oid)
        .ok_or_else(|| TimestampError::UnsupportedAlgorithm(oid.to_string()))
}

/// `genTime` as Unix seconds: `YYYYMMDDHHMMSS[.f*]Z` (RFC 3161 §2.4.2 requires UTC).
fn parse_generalized_time(any: &AnyRef<'_>) -> Option<i64> {
    if any.tag() != Tag::GeneralizedTime {
        return None;
    }
    let s = std::str::from_utf8(any.value()).ok()?;
    let s = s.strip_suffix('Z')?;
    let (whole, fraction) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    if let Some(f) = fraction {
        // RFC 3161: no trailing zeros, at least one digit.
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) || f.ends_with('0') {
            return None;
        }
    }
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    chrono::NaiveDateTime::parse_from_str(whole, "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// The certificate the SignerInfo names: from the token, else from the trust root's chains.
fn find_signer(
    sid: &SignerIdentifier,
    embedded: &[Arc<Cert>],
    root: &TrustedRoot,
) -> Result<Arc<Cert>, TimestampError> {
    let from_root = root
        .timestamp_authorities
        .iter()
        .flat_map(|a| a.certs.iter());
    embedded
        .iter()
        .chain(from_root)
        .find(|c| identifies(sid, c))
        .cloned()
        .ok_or(TimestampError::SignerCertificateNotFound)
}

fn identifies(sid: &SignerIdentifier, cert: &Cert) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer,
            serial_number,
        }) => {
            issuer
                .to_der()
                .is_ok_and(|issuer| issuer == cert.issuer_der)
                && serial_number.as_bytes() == cert.serial.as_slice()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => cert
            .subject_key_id()
            .is_some_and(|own| own == ski.0.as_bytes()),
    }
}

/// Whether `signer` reaches the last certificate of `authority`'s chain (its anchor) through
/// that chain, every certificate on the path valid at `time` ([`Use::TimeStamping`]). The
/// signer may itself be a member of the chain (usual for a trust root that lists the TSA
/// leaf) or be issued by one.
fn chains_to(signer: &Cert, authority: &Authority, time: i64) -> bool {
    // A chain with a certificate that does not parse trusts nothing.
    authority.certs.len() == authority.chain_der.len()
        && path_to(signer, &[], &authority.certs, time, Use::TimeStamping).is_ok()
}

#[cfg(test)]
mod tests {
    //! There is no real TSA token among the fixtures, so these build a small PKI (root CA,
    //! TSA leaf with the timeStamping usage) and tokens by hand with the same types the
    //! verifier parses, signing with ring.

    use super::*;
    use cms::cert::x509::ext::pkix::{BasicConstraints, ExtendedKeyUsage};
    use cms::cert::x509::ext::Extension;
    use cms::cert::x509::name::Name;
    use cms::cert::x509::serial_number::SerialNumber;
    use cms::cert::x509::time::{Time, Validity as CertValidity};
    use cms::cert::x509::Certificate;
    use cms::cert::x509::{TbsCertificate, Version};
    use cms::cert::CertificateChoices;
    use cms::content_info::CmsVersion;
    use cms::signed_data::{CertificateSet, EncapsulatedContentInfo, SignerInfo, SignerInfos};
    use der::asn1::{Any, BitString, IntRef, SetOfVec, UtcTime};
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
    use std::str::FromStr;
    use std::time::Duration;

    use crate::trust::Validity;

    const Y2020: u64 = 1_577_836_800;
    const Y2024: i64 = 1_704_067_200;
    const Y2027: u64 = 1_798_761_600;
    const Y2030: u64 = 1_893_456_000;
    /// 2025-08-01T12:00:00Z, the default genTime.
    const GEN_TIME: i64 = 1_754_049_600;
    const TSA_URI: &str = "https://tsa.example/api/v1/timestamp";

    struct Key(EcdsaKeyPair);

    impl Key {
        fn generate() -> Key {
            let rng = SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
                .expect("key generation");
            Key(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
                    .expect("own PKCS#8"),
            )
        }

        fn sign(&self, msg: &[u8]) -> Vec<u8> {
            self.0
                .sign(&SystemRandom::new(), msg)
                .expect("signing")
                .as_ref()
                .to_vec()
        }

        fn spki(&self) -> SubjectPublicKeyInfoOwned {
            SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: oid::EC_PUBLIC_KEY,
                    parameters: Some(Any::encode_from(&oid::P256).expect("OID")),
                },
                subject_public_key: BitString::from_bytes(self.0.public_key().as_ref())
                    .expect("point"),
            }
        }
    }

    fn alg(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }

    fn utc(secs: u64) -> Time {
        Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(secs)).expect("in range"))
    }

    fn ext<T: Encode>(oid: ObjectIdentifier, critical: bool, value: &T) -> Extension {
        Extension {
            extn_id: oid,
            critical,
            extn_value: OctetString::new(value.to_der().expect("extension")).expect("octets"),
        }
    }

    struct CertSpec<'a> {
        subject: &'a str,
        issuer: &'a str,
        serial: u8,
        key: &'a Key,
        signer: &'a Key,
        from: u64,
        to: u64,
        ca: bool,
        timestamping: bool,
    }

    fn cert(s: CertSpec<'_>) -> Certificate {
        let mut extensions = vec![];
        if s.ca {
            extensions.push(ext(
                oid::BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: None,
                },
            ));
        }
        if s.timestamping {
            extensions.push(ext(
                oid::EXT_KEY_USAGE,
                true,
                &ExtendedKeyUsage(vec![oid::EKU_TIME_STAMPING]),
            ));
        }
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: SerialNumber::new(&[s.serial]).expect("serial"),
            signature: alg(oid::ECDSA_WITH_SHA256),
            issuer: Name::from_str(s.issuer).expect("issuer"),
            validity: CertValidity {
                not_before: utc(s.from),
                not_after: utc(s.to),
            },
            subject: Name::from_str(s.subject).expect("subject"),
            subject_public_key_info: s.key.spki(),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        };
        let sig = s.signer.sign(&tbs.to_der().expect("tbs"));
        Certificate {
            tbs_certificate: tbs,
            signature_algorithm: alg(oid::ECDSA_WITH_SHA256),
            signature: BitString::from_bytes(&sig).expect("signature"),
        }
    }

    /// A root CA and a TSA leaf under it.
    struct Pki {
        root_key: Key,
        root: Certificate,
        leaf_key: Key,
        leaf: Certificate,
    }

    impl Pki {
        fn new() -> Pki {
            let root_key = Key::generate();
            let leaf_key = Key::generate();
            let root = cert(CertSpec {
                subject: "CN=Test TSA Root,O=gitsign tests",
                issuer: "CN=Test TSA Root,O=gitsign tests",
                serial: 1,
                key: &root_key,
                signer: &root_key,
                from: Y2020,
                to: Y2030,
                ca: true,
                timestamping: false,
            });
            let leaf = Pki::leaf_cert(&root_key, &leaf_key, true, Y2027);
            Pki {
                root_key,
                root,
                leaf_key,
                leaf,
            }
        }

        fn leaf_cert(root_key: &Key, leaf_key: &Key, timestamping: bool, to: u64) -> Certificate {
            cert(CertSpec {
                subject: "CN=Test TSA,O=gitsign tests",
                issuer: "CN=Test TSA Root,O=gitsign tests",
                serial: 2,
                key: leaf_key,
                signer: root_key,
                from: Y2024 as u64,
                to,
                ca: false,
                timestamping,
            })
        }

        /// A trust root whose one timestamp authority lists `chain`, valid from 2024.
        fn trust(&self, chain: &[&Certificate]) -> TrustedRoot {
            TrustedRoot {
                certificate_authorities: vec![],
                tlogs: vec![],
                ctlogs: vec![],
                timestamp_authorities: vec![Authority::new(
                    TSA_URI.into(),
                    chain.iter().map(|c| c.to_der().expect("cert")).collect(),
                    Validity {
                        start: Some(Y2024),
                        end: None,
                    },
                )],
            }
        }

        fn root_trust(&self) -> TrustedRoot {
            self.trust(&[&self.leaf, &self.root])
        }
    }

    /// How to build a token; `Token::new` is a valid one.
    struct Token<'a> {
        signed_bytes: &'a [u8],
        gen_time: &'a str,
        version: u8,
        econtent_type: ObjectIdentifier,
        content_type_attr: ObjectIdentifier,
        message_digest: Option<Vec<u8>>,
        signer_cert: &'a Certificate,
        signing_key: &'a Key,
        embed: Vec<&'a Certificate>,
        /// Fill every optional TSTInfo field (accuracy, ordering, tsa, extensions).
        all_fields: bool,
    }

    impl<'a> Token<'a> {
        fn new(pki: &'a Pki, signed_bytes: &'a [u8]) -> Token<'a> {
            Token {
                signed_bytes,
                gen_time: "20250801120000Z",
                version: 1,
                econtent_type: oid::TST_INFO,
                content_type_attr: oid::TST_INFO,
                message_digest: None,
                signer_cert: &pki.leaf,
                signing_key: &pki.leaf_key,
                embed: vec![&pki.leaf],
                all_fields: false,
            }
        }

        fn der(&self) -> Vec<u8> {
            let imprint = Digest::Sha256.hash(self.signed_bytes);
            // accuracy { seconds 1 }, a directoryName, one Extension { 1.2.3, "x" }.
            const ACCURACY: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x01];
            const TSA_NAME: &[u8] = &[0xa4, 0x02, 0x30, 0x00];
            const EXTENSION: &[u8] = &[0x30, 0x08, 0x06, 0x02, 0x2a, 0x03, 0x04, 0x02, 0x04, 0x00];
            let any = |der: &'static [u8]| AnyRef::from_der(der).expect("test TLV");
            let tst = TstInfo {
                version: self.version,
                policy: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2"),
                message_imprint: MessageImprint {
                    hash_algorithm: AlgorithmIdentifierRef {
                        oid: oid::SHA256,
                        parameters: None,
                    },
                    hashed_message: OctetStringRef::new(&imprint).expect("imprint"),
                },
                serial_number: IntRef::new(&[0x2a]).expect("serial"),
                gen_time: AnyRef::new(Tag::GeneralizedTime, self.gen_time.as_bytes())
                    .expect("time"),
                accuracy: self.all_fields.then(|| any(ACCURACY)),
                ordering: self.all_fields,
                nonce: Some(IntRef::new(&[0x01, 0x02]).expect("nonce")),
                tsa: self.all_fields.then(|| any(TSA_NAME)),
                extensions: self.all_fields.then(|| vec![any(EXTENSION)]),
            }
            .to_der()
            .expect("TSTInfo");
            let digest = self
                .message_digest
                .clone()
                .unwrap_or_else(|| Digest::Sha256.hash(&tst));
            let attr = |oid, value: Any| cms::cert::x509::attr::Attribute {
                oid,
                values: SetOfVec::try_from(vec![value]).expect("one value"),
            };
            let signed_attrs = SetOfVec::try_from(vec![
                attr(
                    oid::CONTENT_TYPE,
                    Any::encode_from(&self.content_type_attr).expect("oid"),
                ),
                attr(
                    oid::MESSAGE_DIGEST,
                    Any::encode_from(&OctetString::new(digest).expect("digest")).expect("octets"),
                ),
            ])
            .expect("attributes");
            let signature = self
                .signing_key
                .sign(&signed_attrs.to_der().expect("signed attributes"));
            let signer = SignerInfo {
                version: CmsVersion::V1,
                sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                    issuer: self.signer_cert.tbs_certificate.issuer.clone(),
                    serial_number: self.signer_cert.tbs_certificate.serial_number.clone(),
                }),
                digest_alg: alg(oid::SHA256),
                signed_attrs: Some(signed_attrs),
                signature_algorithm: alg(oid::ECDSA_WITH_SHA256),
                signature: OctetString::new(signature).expect("signature"),
                unsigned_attrs: None,
            };
            let certificates = (!self.embed.is_empty()).then(|| {
                CertificateSet(
                    SetOfVec::try_from(
                        self.embed
                            .iter()
                            .map(|c| CertificateChoices::Certificate((*c).clone()))
                            .collect::<Vec<_>>(),
                    )
                    .expect("certificates"),
                )
            });
            let sd = SignedData {
                version: CmsVersion::V3,
                digest_algorithms: SetOfVec::try_from(vec![alg(oid::SHA256)]).expect("digests"),
                encap_content_info: EncapsulatedContentInfo {
                    econtent_type: self.econtent_type,
                    econtent: Some(Any::new(Tag::OctetString, tst).expect("content")),
                },
                certificates,
                crls: None,
                signer_infos: SignerInfos(SetOfVec::try_from(vec![signer]).expect("signers")),
            };
            ContentInfo {
                content_type: oid::SIGNED_DATA,
                content: Any::encode_from(&sd).expect("signed data"),
            }
            .to_der()
            .expect("content info")
        }
    }

    const SIG: &[u8] = b"the CMS SignerInfo signature value";

    #[test]
    fn valid_token_with_embedded_certificate_verifies() {
        let pki = Pki::new();
        let token = Token::new(&pki, SIG).der();
        assert_eq!(
            verify_timestamp_token(&token, SIG, &pki.root_trust()),
            Ok(VerifiedTimestamp {
                time: GEN_TIME,
                tsa_uri: TSA_URI.into()
            }),
            "genTime and the authority's URI come back"
        );
        assert_eq!(
            verify_timestamp_token(&token, SIG, &pki.trust(&[&pki.root])),
            Ok(VerifiedTimestamp {
                time: GEN_TIME,
                tsa_uri: TSA_URI.into()
            }),
            "a trust root listing only the TSA's CA accepts a leaf issued by it"
        );
    }

    #[test]
    fn every_optional_tstinfo_field_is_understood() {
        let pki = Pki::new();
        let token = Token {
            all_fields: true,
            ..Token::new(&pki, SIG)
        }
        .der();
        assert_eq!(
            verify_timestamp_token(&token, SIG, &pki.root_trust()).map(|t| t.time),
            Ok(GEN_TIME),
            "accuracy, ordering, tsa [0] and extensions [1] decode"
        );
    }

    #[test]
    fn signer_certificate_may_come_from_the_trust_root() {
        let pki = Pki::new();
        let token = Token {
            embed: vec![],
            ..Token::new(&pki, SIG)
        }
        .der();
        assert!(
            verify_timestamp_token(&token, SIG, &pki.root_trust()).is_ok(),
            "the TSA leaf listed in the trust root is found by issuer and serial"
        );
        assert_eq!(
            verify_timestamp_token(&token, SIG, &pki.trust(&[&pki.root])),
            Err(TimestampError::SignerCertificateNotFound),
            "neither the token nor the trust root has the leaf"
        );
    }

    #[test]
    fn fractional_gen_time_is_accepted_and_truncated() {
        let pki = Pki::new();
        let token = Token {
            gen_time: "20250801120000.125Z",
            ..Token::new(&pki, SIG)
        }
        .der();
        assert_eq!(
            verify_timestamp_token(&token, SIG, &pki.root_trust()).map(|t| t.time),
            Ok(GEN_TIME),
            "RFC 3161 allows fractional seconds"
        );
        for bad in [
            "20250801120000",
            "20250801120000.Z",
            "20250801120000.10Z",
            "2025080112Z",
            "20251301120000Z",
        ] {
            let token = Token {
                gen_time: bad,
                ..Token::new(&pki, SIG)
            }
            .der();
            assert!(
                matches!(
                    verify_timestamp_token(&token, SIG, &pki.root_trust()),
                    Err(TimestampError::Malformed(_))
                ),
                "genTime {bad:?} is not RFC 3161"
            );
        }
    }

    #[test]
    fn token_for_other_bytes_is_an_imprint_mismatch() {
        let pki = Pki::new();
        let token = Token::new(&pki, SIG).der();
        assert_eq!(
            verify_timestamp_token(&token, b"another signature", &pki.root_trust()),
            Err(TimestampError::ImprintMismatch),
            "a token grafted from another signature"
        );
    }

    #[test]
    fn signed_attributes_must_bind_the_tstinfo() {
        let pki = Pki::new();
        let wrong_digest = Token {
            message_digest: Some(vec![0; 32]),
            ..Token::new(&pki, SIG)
        }
        .der();
        assert_eq!(
            verify_timestamp_token(&wrong_digest, SIG, &pki.root_trust()),
            Err(TimestampError::MessageDigestMismatch),
            "messageDigest of other content"
        );
        let wrong_type = Token {
            content_type_attr: oid::SIGNED_DATA,
            ..Token::new(&pki, SIG)
        }
        .der();
        assert_eq!(
            verify_timestamp_token(&wrong_type, SIG, &pki.root_trust()),
            Err(TimestampError::ContentTypeMismatch),
            "contentType attribute is not TSTInfo"
        );
        let not_tst = Token {
            econtent_type: oid::DATA,
            ..Token::new(&pki, SIG)
        }
        .der();
        assert_eq!(
            verify_timestamp_token(&not_tst, SIG, &pki.root_trust()),
            Err(TimestampError::NotTstInfo("1.2.840.113549.1.7.1".into())),
            "eContentType id-data"
        );
        let v2 = Token {
            version: 2,
            ..Token::new(&pki, SIG)
        }
        .der();
        assert!(
            matches!(
                verify_timestamp_token(&v2, SIG, &pki.root_trust()),
                Err(TimestampError::Malformed(_))
            ),
            "TSTInfo version 2 does not exist"
        );
    }

    #[test]
    fn a_tampered_tstinfo_fails() {
        let pki = Pki::new();
        let token = Token::new(&pki, SIG).der();
        let at = token
            .windows(15)
            .position(|w| w == b"20250801120000Z")
            .expect("genTime in the encoding");
        let mut later = token.clone();
        later[at + 3] = b'6'; // 2026
        assert_eq!(
            verify_timestamp_token(&later, SIG, &pki.root_trust()),
            Err(TimestampError::MessageDigestMismatch),
            "an edited genTime no longer matches messageDigest"
        );
    }

    #[test]
    fn signature_by_another_key_fails() {
        let pki = Pki::new();
        let other = Key::generate();
        let token = Token {
            signing_key: &other,
            ..Token::new(&pki, SIG)
        }
        .der();
        assert_eq!(
            verify_timestamp_token(&token, SIG, &pki.root_trust()),
            Err(TimestampError::BadSignature),
            "signed by a key other than the leaf's"
        );
    }

    #[test]
    fn signer_must_chain_to_a_trusted_authority() {
        let pki = Pki::new();
        let impostor = Pki::new();
        let token = Token::new(&impostor, SIG).der();
        assert_eq!(
            verify_timestamp_token(&token, SIG, &pki.trust(&[&pki.root])),
            Err(TimestampError::UntrustedChain { time: GEN_TIME }),
            "a TSA with the same names under another root"
        );
        assert_eq!(
            verify_timestamp_token(&token, SIG, &pki.root_trust()),
            Err(TimestampError::UntrustedChain { time: GEN_TIME }),
            "an impostor leaf with the trusted leaf's issuer and serial"
        );

        let self_issued = cert(CertSpec {
            subject: "CN=Test TSA,O=gitsign tests",
            issuer: "CN=Test TSA Root,O=gitsign tests",
            serial: 2,
            key: &pki.leaf_key,
            signer: &pki.leaf_key,
            from: Y2024 as u64,
            to: Y2027,
            ca: false,
            timestamping: true,
        });
        let token = Token {
            signer_cert: &self_issued,
            embed: vec![&self_issued],
            ..Token::new(&pki, SIG)
        }
        .der();
        assert_eq!(
            verify_timestamp_token(&token, SIG, &pki.trust(&[&pki.root])),
            Err(TimestampError::UntrustedChain { time: GEN_TIME }),
            "the leaf's signature must be the root's"
        );
    }

    #[test]
    fn leaf_without_timestamping_usage_is_rejected() {
        let pki = Pki::new();
        let plain = Pki::leaf_cert(&pki.root_key, &pki.leaf_key, false, Y2027);
        let token = Token {
            signer_cert: &plain,
            embed: vec![&plain],
            ..Token::new(&pki, SIG)
        }
        .der();
        assert_eq!(
            verify_timestamp_token(&token, SIG, &pki.trust(&[&pki.root])),
            Err(TimestampError::MissingTimestampingUsage),
            "RFC 3161 §2.3: the TSA certificate must have the timeStamping EKU"
        );
    }

    #[test]
    fn times_outside_the_windows_are_rejected() {
        let pki = Pki::new();
        let before_authority = Token {
            gen_time: "20230601000000Z",
            ..Token::new(&pki, SIG)
        }
        .der();
        assert_eq!(
            verify_timestamp_token(&before_authority, SIG, &pki.root_trust()),
            Err(TimestampError::NoAuthorityAtTime {
                time: 1_685_577_600
            }),
            "genTime before the authority's validFor"
        );
        let after_leaf = Token {
            gen_time: "20280101000000Z",
            ..Token::new(&pki, SIG)
        }
        .der();
        assert!(
            matches!(
                verify_timestamp_token(&after_leaf, SIG, &pki.root_trust()),
                Err(TimestampError::UntrustedChain { .. })
            ),
            "genTime after the TSA certificate expired"
        );
        let mut ended = pki.root_trust();
        ended.timestamp_authorities[0].valid_for.end = Some(GEN_TIME - 1);
        let token = Token::new(&pki, SIG).der();
        assert_eq!(
            verify_timestamp_token(&token, SIG, &ended),
            Err(TimestampError::NoAuthorityAtTime { time: GEN_TIME }),
            "genTime after the authority's validFor ended"
        );
        let empty = TrustedRoot {
            timestamp_authorities: vec![],
            ..pki.root_trust()
        };
        assert_eq!(
            verify_timestamp_token(&token, SIG, &empty),
            Err(TimestampError::NoAuthorityAtTime { time: GEN_TIME }),
            "a trust root without timestamp authorities trusts no token"
        );
    }

    #[test]
    fn garbage_and_truncations_never_panic() {
        let pki = Pki::new();
        let trust = pki.root_trust();
        for garbage in [
            &b""[..],
            b"\x30",
            b"\x30\x00",
            b"\x30\x80\x00\x00",
            b"not DER at all",
        ] {
            assert!(
                matches!(
                    verify_timestamp_token(garbage, SIG, &trust),
                    Err(TimestampError::Malformed(_))
                ),
                "{garbage:02x?} is malformed"
            );
        }
        let token = Token::new(&pki, SIG).der();
        for cut in 0..token.len() {
            assert!(
                verify_timestamp_token(&token[..cut], SIG, &trust).is_err(),
                "a token cut at {cut} bytes does not verify"
            );
        }
        for i in (0..token.len()).step_by(7) {
            let mut flipped = token.clone();
            flipped[i] ^= 0x01;
            let _ = verify_timestamp_token(&flipped, SIG, &trust);
        }
    }

    #[test]
    fn token_attribute_oid_is_id_aa_time_stamp_token() {
        assert_eq!(
            oid::TIMESTAMP_TOKEN.to_string(),
            "1.2.840.113549.1.9.16.2.14",
            "RFC 3161 Appendix A"
        );
    }
}
