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

use cms::cert::x509::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectKeyIdentifier};
use cms::cert::x509::Certificate;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::{AnyRef, ObjectIdentifier, OctetString, OctetStringRef};
use der::{Decode, Encode, Sequence, Tag, Tagged};
use spki::AlgorithmIdentifierRef;

use crate::crypto::{Digest, PublicKey};
use crate::trust::{Authority, TrustedRoot};

/// id-aa-timeStampToken: where a CMS SignerInfo carries its timestamp.
pub const OID_TIMESTAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const OID_EXT_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_EXT_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_EXT_SKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Longest certificate path accepted from a signer up to a trust root anchor.
const MAX_CHAIN: usize = 8;

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

/// Verify an RFC 3161 token over `signed_bytes` (for a CMS timestamp attribute: the
/// SignerInfo's signature value) against the timestamp authorities of `root`.
pub fn verify_timestamp_token(
    token_der: &[u8],
    signed_bytes: &[u8],
    root: &TrustedRoot,
) -> Result<VerifiedTimestamp, TimestampError> {
    let ci =
        ContentInfo::from_der(token_der).map_err(|e| malformed(format!("ContentInfo: {e}")))?;
    if ci.content_type != OID_SIGNED_DATA {
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
    if eci.econtent_type != OID_TST_INFO {
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
    let content_type: ObjectIdentifier = attr_value(OID_CONTENT_TYPE)
        .ok_or(TimestampError::MissingSignedAttribute("contentType"))?
        .decode_as()
        .map_err(|e| malformed(format!("contentType attribute: {e}")))?;
    if content_type != OID_TST_INFO {
        return Err(TimestampError::ContentTypeMismatch);
    }
    let message_digest: OctetString = attr_value(OID_MESSAGE_DIGEST)
        .ok_or(TimestampError::MissingSignedAttribute("messageDigest"))?
        .decode_as()
        .map_err(|e| malformed(format!("messageDigest attribute: {e}")))?;
    let content_digest = digest_for(&si.digest_alg.oid)?;
    if content_digest.hash(tst_der) != message_digest.as_bytes() {
        return Err(TimestampError::MessageDigestMismatch);
    }

    let embedded: Vec<Certificate> = sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    let signer = find_signer(&si.sid, &embedded, root)?;
    let signed_attrs_der = signed_attrs
        .to_der()
        .map_err(|e| malformed(format!("signed attributes: {e}")))?;
    let signature_digest = match Digest::from_signature_oid(&si.signature_algorithm.oid) {
        Some(d) => d,
        None if [OID_EC_PUBLIC_KEY, OID_RSA_ENCRYPTION].contains(&si.signature_algorithm.oid) => {
            content_digest
        }
        None => {
            return Err(TimestampError::UnsupportedAlgorithm(
                si.signature_algorithm.oid.to_string(),
            ))
        }
    };
    let signer_key = public_key(&signer)?;
    signer_key
        .verify(signature_digest, &signed_attrs_der, si.signature.as_bytes())
        .map_err(|_| TimestampError::BadSignature)?;

    // 3. The signer is a timestamp authority of the trust root at genTime.
    if !has_timestamping_usage(&signer) {
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
    embedded: &[Certificate],
    root: &TrustedRoot,
) -> Result<Certificate, TimestampError> {
    let from_root = root
        .timestamp_authorities
        .iter()
        .flat_map(|a| a.chain_der.iter())
        .filter_map(|der| Certificate::from_der(der).ok());
    embedded
        .iter()
        .cloned()
        .chain(from_root)
        .find(|c| identifies(sid, c))
        .ok_or(TimestampError::SignerCertificateNotFound)
}

fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer,
            serial_number,
        }) => {
            cert.tbs_certificate.issuer == *issuer
                && cert.tbs_certificate.serial_number == *serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            extension::<SubjectKeyIdentifier>(cert, OID_EXT_SKI).is_some_and(|own| own == *ski)
        }
    }
}

fn extension<T: for<'a> Decode<'a>>(cert: &Certificate, oid: ObjectIdentifier) -> Option<T> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .and_then(|e| T::from_der(e.extn_value.as_bytes()).ok())
}

fn has_timestamping_usage(cert: &Certificate) -> bool {
    extension::<ExtendedKeyUsage>(cert, OID_EXT_EKU)
        .is_some_and(|eku| eku.0.contains(&OID_KP_TIME_STAMPING))
}

fn is_ca(cert: &Certificate) -> bool {
    extension::<BasicConstraints>(cert, OID_EXT_BASIC_CONSTRAINTS).is_some_and(|bc| bc.ca)
}

fn public_key(cert: &Certificate) -> Result<PublicKey, TimestampError> {
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| malformed(format!("certificate key: {e}")))?;
    PublicKey::from_spki_der(&spki)
        .map_err(|e| TimestampError::UnsupportedAlgorithm(format!("certificate key: {e}")))
}

fn valid_at(cert: &Certificate, time: i64) -> bool {
    let v = &cert.tbs_certificate.validity;
    let secs = |t: &cms::cert::x509::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    };
    secs(&v.not_before) <= time && time <= secs(&v.not_after)
}

/// Whether `child` carries a valid signature by `issuer`, which must be a CA named as its issuer.
fn issued_by(child: &Certificate, issuer: &Certificate) -> bool {
    if child.tbs_certificate.issuer != issuer.tbs_certificate.subject || !is_ca(issuer) {
        return false;
    }
    let (Some(digest), Ok(key), Ok(tbs)) = (
        Digest::from_signature_oid(&child.signature_algorithm.oid),
        public_key(issuer),
        child.tbs_certificate.to_der(),
    ) else {
        return false;
    };
    let Some(sig) = child.signature.as_bytes() else {
        return false;
    };
    key.verify(digest, &tbs, sig).is_ok()
}

/// Whether `signer` reaches the last certificate of `authority`'s chain (its anchor) through
/// that chain, every certificate on the path valid at `time`. The signer may itself be a
/// member of the chain (usual for a trust root that lists the TSA leaf) or be issued by one.
fn chains_to(signer: &Certificate, authority: &Authority, time: i64) -> bool {
    let chain: Vec<Certificate> = authority
        .chain_der
        .iter()
        .filter_map(|der| Certificate::from_der(der).ok())
        .collect();
    if chain.len() != authority.chain_der.len() || chain.is_empty() || chain.len() > MAX_CHAIN {
        return false;
    }
    let start = match chain.iter().position(|c| c == signer) {
        Some(i) => i,
        None => match chain.iter().position(|c| issued_by(signer, c)) {
            Some(i) if valid_at(signer, time) => i,
            _ => return false,
        },
    };
    let path = chain.get(start..).unwrap_or_default();
    path.iter().all(|c| valid_at(c, time))
        && path.windows(2).all(|w| match w {
            [child, issuer] => issued_by(child, issuer),
            _ => false,
        })
}
