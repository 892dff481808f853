//! The RFC 3161 timestamp authority at `POST /api/v1/timestamp` (DER `TimeStampReq` in,
//! DER `TimeStampResp` out, as sigstore/timestamp-authority serves it), plus
//! `GET /api/v1/timestamp/certchain`.
//!
//! The token is an RFC 5652 SignedData over a `TSTInfo` built with the `cms` crate's
//! builder, signed by a TSA certificate (EKU timeStamping, critical) under its own root, with
//! the ESS signingCertificateV2 attribute RFC 5816 requires of a TSA signer.

use std::path::Path;
use std::time::Duration;

use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::ContentInfo;
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use der::asn1::{GeneralizedTime, Int, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence, Tag};
use p256::ecdsa::{DerSignature, SigningKey};
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::time::Validity;
use x509_cert::{Certificate, TbsCertificate, Version};

use crate::ca::{self, ext, key_identifier, x509_time, EKU_TIME_STAMPING};
use crate::http::{Req, Resp};
use crate::keys::{self, KeyPair};
use crate::Error;

pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
pub const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
pub const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
pub const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
pub const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
/// The policy sigstore's timestamp authority stamps under.
pub const POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");

const TSA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// `MessageImprint` (RFC 3161 §2.4.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub hashed_message: OctetString,
}

/// `TimeStampReq` (RFC 3161 §2.4.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    pub version: u8,
    pub message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<x509_cert::ext::Extensions>,
}

/// `Accuracy` (seconds only).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    #[asn1(optional = "true")]
    pub seconds: Option<u32>,
}

/// `TSTInfo` (RFC 3161 §2.4.2), without `ordering` (DEFAULT FALSE) and `extensions`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    pub version: u8,
    pub policy: ObjectIdentifier,
    pub message_imprint: MessageImprint,
    pub serial_number: Int,
    pub gen_time: GeneralizedTime,
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
}

/// `PKIStatusInfo` (RFC 3161 §2.4.2), status only.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    pub status: u8,
}

/// `TimeStampResp`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    pub status: PkiStatusInfo,
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<ContentInfo>,
}

/// `ESSCertIDv2` with the default hash algorithm (SHA-256) omitted.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
}

/// `SigningCertificateV2` (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// The TSA: its signer certificate, key and root.
pub struct Tsa {
    key: KeyPair,
    pub cert_der: Vec<u8>,
    pub root_der: Vec<u8>,
    pub valid_from: Duration,
}

fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ID_SHA256,
        parameters: None,
    }
}

impl Tsa {
    pub fn load_or_create(keys_dir: &Path, certs_dir: &Path) -> Result<Self, Error> {
        let root_key = KeyPair::load_or_create(keys_dir, "tsa-root")?;
        let key = KeyPair::load_or_create(keys_dir, "tsa")?;
        let root_name = ca::name("CN=sigstore-local-tsa-root,O=sigstore.local")?;
        let start = keys::now().saturating_sub(Duration::from_secs(3600));
        let root_der = ca::load_or_create_cert(certs_dir, "tsa-root", || {
            ca::ca_cert(&root_name, &root_key, None, 0, None, start)
        })?;
        let cert_der = ca::load_or_create_cert(certs_dir, "tsa", || {
            signer_cert(&key, &root_key, &root_der, start)
        })?;
        Ok(Self {
            valid_from: ca::not_before(&root_der)?,
            key,
            cert_der,
            root_der,
        })
    }

    /// PEM chain, signer first.
    pub fn chain_pem(&self) -> String {
        keys::pem("CERTIFICATE", &self.cert_der) + &keys::pem("CERTIFICATE", &self.root_der)
    }

    pub fn handle(&self, req: &Req, route: &str) -> Resp {
        match route {
            "GET /api/v1/timestamp/certchain" => {
                Resp::text(200, "application/pem-certificate-chain", self.chain_pem())
            }
            "POST /api/v1/timestamp" => match self.timestamp(&req.body) {
                Ok(der) => Resp::text(200, "application/timestamp-reply", der),
                Err(m) => Resp::json(400, &serde_json::json!({ "code": 400, "message": m })),
            },
            _ => Resp::rekor_error(404, "unknown timestamp endpoint"),
        }
    }

    /// Answer one DER `TimeStampReq` with a DER `TimeStampResp` (status granted).
    pub fn timestamp(&self, request_der: &[u8]) -> Result<Vec<u8>, String> {
        let req = TimeStampReq::from_der(request_der)
            .map_err(|e| format!("invalid TimeStampReq: {e}"))?;
        if req.version != 1 {
            return Err(format!("unsupported TimeStampReq version {}", req.version));
        }
        let alg = &req.message_imprint.hash_algorithm.oid;
        let want_len = match *alg {
            a if a == ID_SHA256 => 32,
            a if a == ID_SHA384 => 48,
            a if a == ID_SHA512 => 64,
            _ => return Err(format!("unsupported hash algorithm {alg}")),
        };
        if req.message_imprint.hashed_message.as_bytes().len() != want_len {
            return Err("hashedMessage length does not match its algorithm".into());
        }
        let token = self
            .sign(&req)
            .map_err(|e| format!("cannot sign timestamp: {e}"))?;
        let resp = TimeStampResp {
            status: PkiStatusInfo { status: 0 },
            time_stamp_token: Some(token),
        };
        resp.to_der().map_err(|e| e.to_string())
    }

    fn sign(&self, req: &TimeStampReq) -> Result<ContentInfo, Error> {
        let serial = ca::random_serial()?;
        let now = keys::now();
        let tst = TstInfo {
            version: 1,
            policy: req.req_policy.unwrap_or(POLICY),
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifierOwned {
                    oid: req.message_imprint.hash_algorithm.oid,
                    parameters: None,
                },
                hashed_message: req.message_imprint.hashed_message.clone(),
            },
            serial_number: Int::new(serial.as_bytes()).map_err(Error::der)?,
            gen_time: GeneralizedTime::from_unix_duration(Duration::from_secs(now.as_secs()))
                .map_err(Error::der)?,
            accuracy: Some(Accuracy { seconds: Some(1) }),
            nonce: req.nonce.clone(),
        };
        let econtent = EncapsulatedContentInfo {
            econtent_type: ID_CT_TST_INFO,
            econtent: Some(
                Any::new(Tag::OctetString, tst.to_der().map_err(Error::der)?)
                    .map_err(Error::der)?,
            ),
        };
        let cert = Certificate::from_der(&self.cert_der).map_err(Error::der)?;
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        });
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(Sha256::digest(&self.cert_der).to_vec())
                    .map_err(Error::der)?,
            }],
        };
        let mut values = SetOfVec::new();
        values
            .insert(Any::from_der(&ess.to_der().map_err(Error::der)?).map_err(Error::der)?)
            .map_err(Error::der)?;
        let signing_key: &SigningKey = self.key.signing_key();
        let mut signer = SignerInfoBuilder::new(signing_key, sid, sha256_alg(), &econtent, None)
            .map_err(Error::der)?;
        signer
            .add_signed_attribute(Attribute {
                oid: ID_AA_SIGNING_CERTIFICATE_V2,
                values,
            })
            .map_err(Error::der)?;
        let mut builder = SignedDataBuilder::new(&econtent);
        builder
            .add_digest_algorithm(sha256_alg())
            .map_err(Error::der)?;
        if req.cert_req {
            builder
                .add_certificate(CertificateChoices::Certificate(cert))
                .map_err(Error::der)?;
        }
        builder
            .add_signer_info::<SigningKey, DerSignature>(signer)
            .map_err(Error::der)?;
        builder.build().map_err(Error::der)
    }
}

/// The TSA signer: KeyUsage digitalSignature, EKU timeStamping (critical, RFC 3161 §2.3).
fn signer_cert(
    key: &KeyPair,
    root_key: &KeyPair,
    root_der: &[u8],
    start: Duration,
) -> Result<Vec<u8>, Error> {
    let root = Certificate::from_der(root_der).map_err(Error::der)?;
    let subject: Name = ca::name("CN=sigstore-local-tsa,O=sigstore.local")?;
    let eku = ext(true, &subject, &ExtendedKeyUsage(vec![EKU_TIME_STAMPING]))?;
    let ku = ext(
        true,
        &subject,
        &KeyUsage(KeyUsages::DigitalSignature.into()),
    )?;
    let exts = vec![
        ku,
        eku,
        ext(
            false,
            &subject,
            &SubjectKeyIdentifier(
                OctetString::new(key_identifier(key.spki_der())?).map_err(Error::der)?,
            ),
        )?,
        ext(
            false,
            &subject,
            &AuthorityKeyIdentifier {
                key_identifier: Some(
                    OctetString::new(key_identifier(root_key.spki_der())?).map_err(Error::der)?,
                ),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
    ];
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: ca::random_serial()?,
        signature: ca::ecdsa_sha256(),
        issuer: root.tbs_certificate.subject.clone(),
        validity: Validity {
            not_before: x509_time(start)?,
            not_after: x509_time(start + TSA_VALIDITY)?,
        },
        subject,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(key.spki_der())
            .map_err(Error::der)?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(exts),
    };
    ca::sign_tbs(tbs, root_key)?.to_der().map_err(Error::der)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cms::signed_data::SignedData;

    #[test]
    fn timestamp_token_carries_the_imprint_and_a_valid_signature() {
        let dir = tempfile::tempdir().unwrap();
        let tsa = Tsa::load_or_create(dir.path(), dir.path()).unwrap();
        let digest = Sha256::digest(b"signature bytes");
        let req = TimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: sha256_alg(),
                hashed_message: OctetString::new(digest.to_vec()).unwrap(),
            },
            req_policy: None,
            nonce: Some(Int::new(&[0x01, 0x02]).unwrap()),
            cert_req: true,
            extensions: None,
        };
        let resp =
            TimeStampResp::from_der(&tsa.timestamp(&req.to_der().unwrap()).unwrap()).unwrap();
        assert_eq!(resp.status.status, 0, "status must be granted");
        let ci = resp.time_stamp_token.unwrap();
        let sd: SignedData = ci.content.decode_as().unwrap();
        let econtent = sd.encap_content_info.econtent.unwrap();
        let tst = TstInfo::from_der(econtent.value()).unwrap();
        assert_eq!(
            tst.message_imprint.hashed_message.as_bytes(),
            digest.as_slice(),
            "the imprint must be echoed"
        );
        assert_eq!(tst.nonce, req.nonce, "the nonce must be echoed");
        let si = sd.signer_infos.0.get(0).unwrap();
        let attrs = si.signed_attrs.as_ref().unwrap().to_der().unwrap();
        let cert = Certificate::from_der(&tsa.cert_der).unwrap();
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap();
        assert!(
            keys::verify_der(&spki, &attrs, si.signature.as_bytes()),
            "the signer info must verify with the TSA key"
        );
        assert!(
            si.signed_attrs
                .as_ref()
                .unwrap()
                .iter()
                .any(|a| a.oid == ID_AA_SIGNING_CERTIFICATE_V2),
            "signingCertificateV2 must be present"
        );
    }

    #[test]
    fn garbage_requests_are_refused_not_panicked_on() {
        let dir = tempfile::tempdir().unwrap();
        let tsa = Tsa::load_or_create(dir.path(), dir.path()).unwrap();
        for bad in [
            &b""[..],
            b"\x30\x00",
            b"\x30\x03\x02\x01\x01",
            b"not der at all",
        ] {
            assert!(
                tsa.timestamp(bad).is_err(),
                "request {bad:?} must be refused"
            );
        }
    }
}
