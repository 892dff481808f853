//! The CMS SignedData reader (RFC 5652) for signatures as gitsign uses them: one signer,
//! detached content, signed attributes contentType + signingTime + messageDigest, certificates
//! in the `certificates` set.
//!
//! Parsing is pure and keeps exact bytes: the signature covers the DER SET OF signed
//! attributes as the signer wrote them (RFC 5652 §5.4), so we hash the original encoding with
//! its `[0]` tag replaced by SET, never a re-encoding.

use crate::der::{self, children, ctx, expect, oid, read, DerError, Tlv};
use const_oid::ObjectIdentifier;

use crate::crypto::{CryptoError, Digest, PublicKey};
use crate::oid;

/// The PEM label git's x509 format uses.
pub const PEM_LABEL: &str = "SIGNED MESSAGE";

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum CmsError {
    #[error("signature armor is invalid")]
    Pem(#[source] crate::pem::PemError),
    #[error("CMS structure is malformed")]
    Der(#[source] DerError),
    #[error("{0} byte(s) follow the CMS structure")]
    TrailingData(usize),
    #[error("not a CMS SignedData (content type {0})")]
    NotSignedData(String),
    #[error("expected exactly one signer, found {0}")]
    SignerCount(usize),
    #[error("signature is not detached (it embeds its content)")]
    NotDetached,
    #[error("signer has no signed attributes")]
    NoSignedAttributes,
    #[error("signed attribute '{0}' is missing or malformed")]
    Attribute(&'static str),
    #[error("content type attribute is {0}, expected id-data")]
    ContentType(String),
    #[error("unsupported digest algorithm {0}")]
    DigestAlgorithm(String),
    #[error("unsupported signature algorithm {0}")]
    SignatureAlgorithm(String),
    #[error("messageDigest attribute does not match the signed payload")]
    DigestMismatch,
    #[error("the signer's certificate is not in the signature")]
    SignerCertificateMissing,
    #[error("signer certificate is malformed")]
    Certificate,
    #[error("signature over the signed attributes does not verify")]
    BadSignature(#[source] CryptoError),
}

impl From<DerError> for CmsError {
    fn from(e: DerError) -> Self {
        CmsError::Der(e)
    }
}

/// One attribute: its type and each value's whole DER encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub oid: ObjectIdentifier,
    pub values: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerId {
    /// Issuer Name DER and serial INTEGER contents.
    IssuerSerial {
        issuer: Vec<u8>,
        serial: Vec<u8>,
    },
    SubjectKeyId(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerInfo {
    pub sid: SignerId,
    pub digest_algorithm: ObjectIdentifier,
    /// The signed attributes re-tagged as SET OF: the bytes the signature covers.
    pub signed_attrs_der: Vec<u8>,
    pub signed_attrs: Vec<Attribute>,
    pub signature_algorithm: ObjectIdentifier,
    pub signature: Vec<u8>,
    pub unsigned_attrs: Vec<Attribute>,
}

/// A parsed SignedData with one signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMessage {
    /// DER of each certificate in the `certificates` set, in the signer's order.
    pub certificates: Vec<Vec<u8>>,
    pub encapsulated_content_type: ObjectIdentifier,
    pub signer: SignerInfo,
}

/// What a good CMS signature proves: these bytes were signed by the key of `signer_cert`.
#[derive(Debug, Clone)]
pub struct CheckedSignature {
    /// Index into [`SignedMessage::certificates`].
    pub signer_cert: usize,
    /// The signer-asserted signingTime (Unix seconds), informational only.
    pub signing_time: Option<i64>,
}

/// What the content checks establish before the signature itself is verified.
#[derive(Debug, Clone)]
pub struct CheckedContent {
    /// Index into [`SignedMessage::certificates`].
    pub signer_cert: usize,
    /// The signer-asserted signingTime (Unix seconds), informational only.
    pub signing_time: Option<i64>,
    /// The digest the signature over the signed attributes uses.
    pub signature_digest: Digest,
}

/// Parse a signature as git stores it: PEM `SIGNED MESSAGE`, or raw DER.
pub fn parse(input: &[u8]) -> Result<SignedMessage, CmsError> {
    let trimmed = input.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        let der = crate::pem::decode_signature(trimmed, PEM_LABEL).map_err(CmsError::Pem)?;
        parse_der(&der)
    } else {
        parse_der(input)
    }
}

fn attributes(value: &[u8]) -> Result<Vec<Attribute>, CmsError> {
    children(value)?
        .iter()
        .map(|attr| {
            let (oid_tlv, rest) = read(attr.value)?;
            let (set, _) = expect(rest, der::SET, "attribute values")?;
            Ok(Attribute {
                oid: oid(&oid_tlv)?,
                values: children(set.value)?
                    .iter()
                    .map(|v| v.raw.to_vec())
                    .collect(),
            })
        })
        .collect()
}

/// Parse DER ContentInfo { signedData }: nothing may follow it or the SignedData in it (one
/// signature, one encoding; issue 16.10 — Go's ietf-cms refuses trailing data too).
pub fn parse_der(der: &[u8]) -> Result<SignedMessage, CmsError> {
    let none_after = |rest: &[u8]| match rest.len() {
        0 => Ok(()),
        n => Err(CmsError::TrailingData(n)),
    };
    let (content_info, trailing) = expect(der, der::SEQUENCE, "ContentInfo")?;
    none_after(trailing)?;
    let (ct, rest) = read(content_info.value)?;
    let ct = oid(&ct)?;
    if ct != oid::SIGNED_DATA {
        return Err(CmsError::NotSignedData(ct.to_string()));
    }
    let (explicit, trailing) = expect(rest, ctx(0), "[0] content")?;
    none_after(trailing)?;
    let (signed_data, trailing) = expect(explicit.value, der::SEQUENCE, "SignedData")?;
    none_after(trailing)?;

    let (_version, rest) = expect(signed_data.value, der::INTEGER, "version")?;
    let (_digest_algs, rest) = expect(rest, der::SET, "digestAlgorithms")?;
    let (encap, mut rest) = expect(rest, der::SEQUENCE, "encapContentInfo")?;
    let (encap_type, encap_rest) = read(encap.value)?;
    let encapsulated_content_type = oid(&encap_type)?;
    if !encap_rest.is_empty() {
        return Err(CmsError::NotDetached);
    }

    let mut certificates = Vec::new();
    let mut signer_infos: Option<Tlv<'_>> = None;
    while !rest.is_empty() {
        let (tlv, next) = read(rest)?;
        match tlv.tag {
            t if t == ctx(0) => {
                // CertificateChoices: only plain certificates (SEQUENCE) are used by Sigstore.
                certificates.extend(
                    children(tlv.value)?
                        .iter()
                        .filter(|c| c.tag == der::SEQUENCE)
                        .map(|c| c.raw.to_vec()),
                );
            }
            t if t == ctx(1) => {} // CRLs: not used
            der::SET => signer_infos = Some(tlv),
            found => {
                return Err(DerError::UnexpectedTag {
                    expected: "SignedData field",
                    found,
                }
                .into())
            }
        }
        rest = next;
    }
    let signer_infos = signer_infos.ok_or(DerError::UnexpectedTag {
        expected: "signerInfos",
        found: 0,
    })?;
    let infos = children(signer_infos.value)?;
    let [info] = infos.as_slice() else {
        return Err(CmsError::SignerCount(infos.len()));
    };
    Ok(SignedMessage {
        certificates,
        encapsulated_content_type,
        signer: parse_signer_info(info)?,
    })
}

fn parse_signer_info(info: &Tlv<'_>) -> Result<SignerInfo, CmsError> {
    let (_version, rest) = expect(info.value, der::INTEGER, "SignerInfo version")?;
    let (sid, rest) = read(rest)?;
    let sid = match sid.tag {
        der::SEQUENCE => {
            let (issuer, rest) = expect(sid.value, der::SEQUENCE, "issuer")?;
            let (serial, _) = expect(rest, der::INTEGER, "serialNumber")?;
            SignerId::IssuerSerial {
                issuer: issuer.raw.to_vec(),
                serial: serial.value.to_vec(),
            }
        }
        t if t == der::ctx_prim(0) => SignerId::SubjectKeyId(sid.value.to_vec()),
        found => {
            return Err(DerError::UnexpectedTag {
                expected: "SignerIdentifier",
                found,
            }
            .into())
        }
    };
    let (digest_alg, rest) = expect(rest, der::SEQUENCE, "digestAlgorithm")?;
    let digest_algorithm = oid(&read(digest_alg.value)?.0)?;
    let (next, rest) = read(rest)?;
    let (signed, sig_alg, rest) = if next.tag == ctx(0) {
        let (sig_alg, rest) = expect(rest, der::SEQUENCE, "signatureAlgorithm")?;
        (Some(next), sig_alg, rest)
    } else if next.tag == der::SEQUENCE {
        (None, next, rest)
    } else {
        return Err(DerError::UnexpectedTag {
            expected: "signedAttrs or signatureAlgorithm",
            found: next.tag,
        }
        .into());
    };
    let signed = signed.ok_or(CmsError::NoSignedAttributes)?;
    let signature_algorithm = oid(&read(sig_alg.value)?.0)?;
    let (signature, rest) = expect(rest, der::OCTET_STRING, "signature")?;
    let unsigned_attrs = match read(rest) {
        Ok((tlv, _)) if tlv.tag == ctx(1) => attributes(tlv.value)?,
        _ => Vec::new(),
    };
    let mut signed_attrs_der = Vec::with_capacity(signed.value.len() + 6);
    der::push_header(&mut signed_attrs_der, der::SET, signed.value.len());
    signed_attrs_der.extend_from_slice(signed.value);
    Ok(SignerInfo {
        sid,
        digest_algorithm,
        signed_attrs: attributes(signed.value)?,
        signed_attrs_der,
        signature_algorithm,
        signature: signature.value.to_vec(),
        unsigned_attrs,
    })
}

/// The single value of a signed attribute.
fn single_value<'a>(attrs: &'a [Attribute], oid: &ObjectIdentifier) -> Option<&'a [u8]> {
    match attrs
        .iter()
        .filter(|a| &a.oid == oid)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [a] if a.values.len() == 1 => a.values.first().map(Vec::as_slice),
        _ => None,
    }
}

impl SignedMessage {
    /// The unsigned attributes with `oid`.
    pub fn unsigned_attribute(&self, oid: &ObjectIdentifier) -> Option<&Attribute> {
        self.signer.unsigned_attrs.iter().find(|a| &a.oid == oid)
    }

    /// Find the signer's certificate among the embedded ones.
    pub fn signer_certificate(&self) -> Result<usize, CmsError> {
        self.certificates
            .iter()
            .position(|c| match &self.signer.sid {
                SignerId::IssuerSerial { issuer, serial } => crate::x509::Cert::parse_shared(c)
                    .is_ok_and(|c| &c.issuer_der == issuer && &c.serial == serial),
                SignerId::SubjectKeyId(ski) => crate::x509::Cert::parse_shared(c)
                    .ok()
                    .and_then(|c| c.subject_key_id())
                    .is_some_and(|k| &k == ski),
            })
            .ok_or(CmsError::SignerCertificateMissing)
    }

    /// Check everything but the signature over `payload` (detached content): contentType is
    /// id-data, messageDigest matches, the signer's certificate is present and parses, and
    /// the algorithms are supported. The verification core then checks the signature.
    pub fn check_content(&self, payload: &[u8]) -> Result<CheckedContent, CmsError> {
        let s = &self.signer;
        let ct = single_value(&s.signed_attrs, &oid::CONTENT_TYPE)
            .ok_or(CmsError::Attribute("contentType"))?;
        let ct = oid(&der::single(ct, der::OID, "contentType")?)?;
        if ct != oid::DATA || self.encapsulated_content_type != oid::DATA {
            return Err(CmsError::ContentType(ct.to_string()));
        }
        let digest = Digest::from_digest_oid(&s.digest_algorithm)
            .ok_or_else(|| CmsError::DigestAlgorithm(s.digest_algorithm.to_string()))?;
        let md = single_value(&s.signed_attrs, &oid::MESSAGE_DIGEST)
            .ok_or(CmsError::Attribute("messageDigest"))?;
        let md = der::single(md, der::OCTET_STRING, "messageDigest")
            .map_err(|_| CmsError::Attribute("messageDigest"))?;
        if md.value != digest.hash(payload).as_slice() {
            return Err(CmsError::DigestMismatch);
        }
        let signing_time = single_value(&s.signed_attrs, &oid::SIGNING_TIME)
            .and_then(|v| read(v).ok())
            .and_then(|(t, _)| crate::x509::decode_time(&t));

        let signer_cert = self.signer_certificate()?;
        self.certificates
            .get(signer_cert)
            .and_then(|der| crate::x509::Cert::parse_shared(der).ok())
            .ok_or(CmsError::Certificate)?;
        let sig_digest = if s.signature_algorithm == oid::EC_PUBLIC_KEY {
            // Some signers name the key type instead of ecdsa-with-SHAxxx; the digest then
            // comes from digestAlgorithm (RFC 5753 §2.1.1).
            digest
        } else {
            Digest::from_signature_oid(&s.signature_algorithm)
                .ok_or_else(|| CmsError::SignatureAlgorithm(s.signature_algorithm.to_string()))?
        };
        Ok(CheckedContent {
            signer_cert,
            signing_time,
            signature_digest: sig_digest,
        })
    }

    /// Check the signature over `payload` (detached content): [`Self::check_content`], then
    /// the signer's key signed the attributes.
    pub fn check(&self, payload: &[u8]) -> Result<CheckedSignature, CmsError> {
        let content = self.check_content(payload)?;
        let cert = self
            .certificates
            .get(content.signer_cert)
            .and_then(|der| crate::x509::Cert::parse_shared(der).ok())
            .ok_or(CmsError::Certificate)?;
        let key = PublicKey::from_spki_der(&cert.spki_der).map_err(CmsError::BadSignature)?;
        key.verify(
            content.signature_digest,
            &self.signer.signed_attrs_der,
            &self.signer.signature,
        )
        .map_err(CmsError::BadSignature)?;
        Ok(CheckedSignature {
            signer_cert: content.signer_cert,
            signing_time: content.signing_time,
        })
    }
}
