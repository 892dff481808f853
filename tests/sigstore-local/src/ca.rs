//! The Fulcio-compatible certificate authority and the CT log that logs its precertificates.
//!
//! Chain: a self-signed root → an intermediate (EKU codeSigning, pathLen 0, as public Fulcio's)
//! → short-lived leaves shaped like public Fulcio's (empty subject, critical SAN, KeyUsage
//! digitalSignature, EKU codeSigning, SKI/AKI, issuer extensions 1.3.6.1.4.1.57264.1.1 and .1.8,
//! 10-minute validity, random serial). Every leaf carries an **embedded SCT** made through the
//! RFC 6962 §3.1 precertificate flow: the TBSCertificate with the poison extension is "logged",
//! the CT key signs `precert_entry(issuer_key_hash, tbs-without-poison)`, and the final
//! certificate is the same TBS plus the SCT list extension appended last, so a verifier that
//! strips that extension (as RFC 6962 §3.3 says) gets back exactly the signed bytes.
//! Key shapes ([`KeyShape`]): by default the root and intermediate are P-384 and sign with
//! ecdsa-with-SHA384, as public-good Fulcio's do, while leaves hold the client's P-256 key and
//! the CT log key is P-256; the `p256` shape makes every key P-256 and every signature
//! ecdsa-with-SHA256.

use std::fs;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use der::asn1::{GeneralizedTime, Ia5String, OctetString, UtcTime, Utf8StringRef};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{AsExtension, Extension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

use crate::keys::{self, CaKey, KeyPair, KeyShape};
use crate::Error;

pub use crate::keys::{ECDSA_WITH_SHA256, ECDSA_WITH_SHA384};
pub const EKU_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
pub const EKU_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
/// RFC 6962 §3.1 precertificate poison.
pub const CT_POISON: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
/// RFC 6962 §3.3 embedded SCT list.
pub const CT_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// Fulcio: OIDC issuer, raw string (deprecated but still read by clients).
pub const FULCIO_ISSUER_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio: OIDC issuer, DER UTF8String.
pub const FULCIO_ISSUER_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");

/// subjectAltName (RFC 5280 §4.2.1.6).
pub const SAN_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");

/// Leaf validity, as public Fulcio issues.
pub const LEAF_VALIDITY: Duration = Duration::from_secs(600);
/// CA certificates live ten years; the trusted root says when they start.
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Back-date CA certificates so clocks a little behind still accept them.
const CA_BACKDATE: Duration = Duration::from_secs(3600);

/// Who a leaf is for.
#[derive(Debug, Clone)]
pub enum San {
    Email(String),
    Uri(String),
}

/// The identity a leaf certifies and the extensions that describe it.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    pub san: San,
    pub issuer: String,
    /// Extra non-critical extensions (OID, DER extnValue contents), e.g. GitHub workflow ones.
    pub extra: Vec<(ObjectIdentifier, Vec<u8>)>,
}

/// An issued leaf plus what the tests need to check its SCT.
#[derive(Debug, Clone)]
pub struct IssuedLeaf {
    pub der: Vec<u8>,
    /// The TBSCertificate the CT log signed (no poison, no SCT list).
    pub signed_tbs: Vec<u8>,
    pub sct_timestamp_ms: u64,
}

/// Root + intermediate for Fulcio, and the CT log key.
pub struct Ca {
    pub root_der: Vec<u8>,
    pub intermediate_der: Vec<u8>,
    intermediate_key: CaKey,
    intermediate_name: Name,
    intermediate_ski: Vec<u8>,
    pub ct_key: KeyPair,
    /// notBefore of the root, for trusted_root.json `validFor.start`.
    pub valid_from: Duration,
}

/// A time in the encoding RFC 5280 §4.1.2.5 requires: UTCTime through 2049, then GeneralizedTime.
pub fn x509_time(unix: Duration) -> Result<Time, Error> {
    let secs = Duration::from_secs(unix.as_secs());
    if unix.as_secs() < 2_524_608_000 {
        Ok(Time::UtcTime(
            UtcTime::from_unix_duration(secs).map_err(Error::der)?,
        ))
    } else {
        Ok(Time::GeneralTime(
            GeneralizedTime::from_unix_duration(secs).map_err(Error::der)?,
        ))
    }
}

/// A positive random serial of 16 bytes (RFC 5280 allows up to 20).
pub fn random_serial() -> Result<SerialNumber, Error> {
    let mut b = keys::random_bytes::<16>();
    b[0] &= 0x7f;
    b[0] |= 0x01;
    SerialNumber::new(&b).map_err(Error::der)
}

/// The key identifier we use: SHA-256 of the subjectPublicKey bits, truncated to 160 bits.
pub fn key_identifier(spki_der: &[u8]) -> Result<Vec<u8>, Error> {
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der).map_err(Error::der)?;
    Ok(Sha256::digest(spki.subject_public_key.raw_bytes())[..20].to_vec())
}

/// Encode an extension with the criticality public Fulcio uses (x509-cert's defaults differ:
/// it marks EKU critical, which webpki-style verifiers reject on a Fulcio leaf).
pub fn ext<E: AsExtension>(critical: bool, subject: &Name, e: &E) -> Result<Extension, Error> {
    let mut x = e.to_extension(subject, &[]).map_err(Error::der)?;
    x.critical = critical;
    Ok(x)
}

pub fn raw_ext(oid: ObjectIdentifier, critical: bool, value: Vec<u8>) -> Result<Extension, Error> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).map_err(Error::der)?,
    })
}

pub fn ecdsa_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA256,
        parameters: None,
    }
}

/// A key that signs certificates: the CA keys of either curve, and the P-256 [`KeyPair`]s.
pub trait CertSigner {
    fn spki_der(&self) -> &[u8];
    /// ecdsa-with-SHA256 or ecdsa-with-SHA384.
    fn signature_oid(&self) -> ObjectIdentifier;
    fn sign_der(&self, msg: &[u8]) -> Vec<u8>;
}

impl CertSigner for KeyPair {
    fn spki_der(&self) -> &[u8] {
        KeyPair::spki_der(self)
    }
    fn signature_oid(&self) -> ObjectIdentifier {
        ECDSA_WITH_SHA256
    }
    fn sign_der(&self, msg: &[u8]) -> Vec<u8> {
        KeyPair::sign_der(self, msg)
    }
}

impl CertSigner for CaKey {
    fn spki_der(&self) -> &[u8] {
        CaKey::spki_der(self)
    }
    fn signature_oid(&self) -> ObjectIdentifier {
        CaKey::signature_oid(self)
    }
    fn sign_der(&self, msg: &[u8]) -> Vec<u8> {
        CaKey::sign_der(self, msg)
    }
}

/// Sign a TBSCertificate and assemble the certificate; its `signature` field is set to the
/// key's algorithm first, so the two algorithm identifiers always agree (RFC 5280 §4.1.1.2).
pub fn sign_tbs<K: CertSigner + ?Sized>(
    mut tbs: TbsCertificate,
    key: &K,
) -> Result<Certificate, Error> {
    let alg = AlgorithmIdentifierOwned {
        oid: key.signature_oid(),
        parameters: None,
    };
    tbs.signature = alg.clone();
    let tbs_der = tbs.to_der().map_err(Error::der)?;
    let sig = key.sign_der(&tbs_der);
    Ok(Certificate {
        tbs_certificate: tbs,
        signature_algorithm: alg,
        signature: der::asn1::BitString::from_bytes(&sig).map_err(Error::der)?,
    })
}

/// A CA certificate (root when `issuer` is None).
pub fn ca_cert<K: CertSigner + ?Sized>(
    subject: &Name,
    key: &K,
    issuer: Option<(&Name, &K)>,
    path_len: u8,
    eku: Option<ObjectIdentifier>,
    not_before: Duration,
) -> Result<Vec<u8>, Error> {
    let ski = key_identifier(key.spki_der())?;
    let (issuer_name, issuer_key) = issuer.unwrap_or((subject, key));
    let aki = key_identifier(issuer_key.spki_der())?;
    let mut exts = vec![
        ext(
            true,
            subject,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
        ext(
            true,
            subject,
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(path_len),
            },
        )?,
        ext(
            false,
            subject,
            &SubjectKeyIdentifier(OctetString::new(ski).map_err(Error::der)?),
        )?,
        ext(
            false,
            subject,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(aki).map_err(Error::der)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
    ];
    if let Some(eku) = eku {
        exts.insert(1, ext(false, subject, &ExtendedKeyUsage(vec![eku]))?);
    }
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: random_serial()?,
        signature: ecdsa_sha256(),
        issuer: issuer_name.clone(),
        validity: Validity {
            not_before: x509_time(not_before)?,
            not_after: x509_time(not_before + CA_VALIDITY)?,
        },
        subject: subject.clone(),
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(key.spki_der())
            .map_err(Error::der)?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(exts),
    };
    sign_tbs(tbs, issuer_key)?.to_der().map_err(Error::der)
}

/// Load `<dir>/<name>.crt.pem` or create it with `make` and persist it.
pub fn load_or_create_cert(
    dir: &Path,
    name: &str,
    make: impl FnOnce() -> Result<Vec<u8>, Error>,
) -> Result<Vec<u8>, Error> {
    let path = dir.join(format!("{name}.crt.pem"));
    if path.exists() {
        let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        return keys::pem_blocks(&text, "CERTIFICATE")
            .into_iter()
            .next()
            .ok_or_else(|| Error::State(format!("no certificate in {}", path.display())));
    }
    let der = make()?;
    fs::write(&path, keys::pem("CERTIFICATE", &der)).map_err(|e| Error::io(&path, e))?;
    Ok(der)
}

pub fn name(s: &str) -> Result<Name, Error> {
    Name::from_str(s).map_err(Error::der)
}

/// notBefore of a certificate.
pub fn not_before(cert_der: &[u8]) -> Result<Duration, Error> {
    let c = Certificate::from_der(cert_der).map_err(Error::der)?;
    Ok(c.tbs_certificate.validity.not_before.to_unix_duration())
}

impl Ca {
    pub fn load_or_create(
        keys_dir: &Path,
        certs_dir: &Path,
        shape: KeyShape,
    ) -> Result<Self, Error> {
        let root_key = CaKey::load_or_create(keys_dir, "fulcio-root", shape)?;
        let intermediate_key = CaKey::load_or_create(keys_dir, "fulcio-intermediate", shape)?;
        let ct_key = KeyPair::load_or_create(keys_dir, "ctlog")?;
        let root_name = name("CN=sigstore-local,O=sigstore.local")?;
        let intermediate_name = name("CN=sigstore-local-intermediate,O=sigstore.local")?;
        let start = keys::now().saturating_sub(CA_BACKDATE);
        let root_der = load_or_create_cert(certs_dir, "fulcio-root", || {
            ca_cert(&root_name, &root_key, None, 1, None, start)
        })?;
        let intermediate_der = load_or_create_cert(certs_dir, "fulcio-intermediate", || {
            ca_cert(
                &intermediate_name,
                &intermediate_key,
                Some((&root_name, &root_key)),
                0,
                Some(EKU_CODE_SIGNING),
                start,
            )
        })?;
        // The persisted intermediate names its own subject; use that, not the constant.
        let inter = Certificate::from_der(&intermediate_der).map_err(Error::der)?;
        let intermediate_name = inter.tbs_certificate.subject.clone();
        Ok(Self {
            valid_from: not_before(&root_der)?,
            root_der,
            intermediate_der,
            intermediate_ski: key_identifier(intermediate_key.spki_der())?,
            intermediate_key,
            intermediate_name,
            ct_key,
        })
    }

    /// PEM chain leaf-first, as Fulcio's v2 API returns it (without the leaf).
    pub fn chain_pem(&self) -> Vec<String> {
        vec![
            keys::pem("CERTIFICATE", &self.intermediate_der),
            keys::pem("CERTIFICATE", &self.root_der),
        ]
    }

    /// Issue a leaf for `spki_der` with an embedded SCT.
    pub fn issue(&self, spki_der: &[u8], spec: &LeafSpec) -> Result<IssuedLeaf, Error> {
        let spki = SubjectPublicKeyInfoOwned::from_der(spki_der).map_err(Error::der)?;
        let subject = Name::default();
        let san = match &spec.san {
            San::Email(e) => GeneralName::Rfc822Name(Ia5String::new(e).map_err(Error::der)?),
            San::Uri(u) => {
                GeneralName::UniformResourceIdentifier(Ia5String::new(u).map_err(Error::der)?)
            }
        };
        let san_der = SubjectAltName(vec![san]).to_der().map_err(Error::der)?;
        let mut exts = vec![
            ext(
                true,
                &subject,
                &KeyUsage(KeyUsages::DigitalSignature.into()),
            )?,
            ext(false, &subject, &ExtendedKeyUsage(vec![EKU_CODE_SIGNING]))?,
            ext(
                false,
                &subject,
                &SubjectKeyIdentifier(
                    OctetString::new(key_identifier(spki_der)?).map_err(Error::der)?,
                ),
            )?,
            ext(
                false,
                &subject,
                &AuthorityKeyIdentifier {
                    key_identifier: Some(
                        OctetString::new(self.intermediate_ski.clone()).map_err(Error::der)?,
                    ),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
            )?,
            // Empty subject ⇒ the SAN must be critical (RFC 5280 §4.2.1.6).
            raw_ext(crate::ca::SAN_OID, true, san_der)?,
            raw_ext(FULCIO_ISSUER_V1, false, spec.issuer.as_bytes().to_vec())?,
            raw_ext(
                FULCIO_ISSUER_V2,
                false,
                Utf8StringRef::new(&spec.issuer)
                    .map_err(Error::der)?
                    .to_der()
                    .map_err(Error::der)?,
            )?,
        ];
        for (oid, value) in &spec.extra {
            exts.push(raw_ext(*oid, false, value.clone())?);
        }
        let now = keys::now();
        let validity = Validity {
            not_before: x509_time(now)?,
            not_after: x509_time(now + LEAF_VALIDITY)?,
        };
        let mut tbs = TbsCertificate {
            version: Version::V3,
            serial_number: random_serial()?,
            // The same identifier sign_tbs sets: the SCT signs these very TBS bytes.
            signature: AlgorithmIdentifierOwned {
                oid: self.intermediate_key.signature_oid(),
                parameters: None,
            },
            issuer: self.intermediate_name.clone(),
            validity,
            subject,
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(exts.clone()),
        };
        // The precertificate: same TBS plus the critical poison (ASN.1 NULL). Real CT logs
        // receive it signed by the CA; ours is in-process, so the signed precertificate itself
        // is only built to keep the flow honest and then discarded.
        let mut pre_exts = exts.clone();
        pre_exts.push(raw_ext(CT_POISON, true, vec![0x05, 0x00])?);
        let pre_tbs = TbsCertificate {
            extensions: Some(pre_exts),
            ..tbs.clone()
        };
        let _precert = sign_tbs(pre_tbs, &self.intermediate_key)?;

        // What the log signs is the TBS with the poison removed (RFC 6962 §3.2).
        let signed_tbs = tbs.to_der().map_err(Error::der)?;
        let ts = now.as_millis() as u64;
        let issuer_key_hash: [u8; 32] = Sha256::digest(self.intermediate_key.spki_der()).into();
        let sct = sign_sct(&self.ct_key, ts, &issuer_key_hash, &signed_tbs)?;
        let list = sct_list(&[sct])?;
        let list_der = OctetString::new(list)
            .map_err(Error::der)?
            .to_der()
            .map_err(Error::der)?;
        exts.push(raw_ext(CT_SCT_LIST, false, list_der)?);
        tbs.extensions = Some(exts);
        let cert = sign_tbs(tbs, &self.intermediate_key)?;
        Ok(IssuedLeaf {
            der: cert.to_der().map_err(Error::der)?,
            signed_tbs,
            sct_timestamp_ms: ts,
        })
    }
}

/// RFC 6962 §3.2 `digitally-signed` input for a precert_entry SCT.
pub fn sct_signed_data(
    timestamp_ms: u64,
    issuer_key_hash: &[u8; 32],
    tbs: &[u8],
) -> Result<Vec<u8>, Error> {
    if tbs.len() >= 1 << 24 {
        return Err(Error::State("tbsCertificate too large for an SCT".into()));
    }
    let mut d = vec![0u8, 0u8]; // v1, certificate_timestamp
    d.extend_from_slice(&timestamp_ms.to_be_bytes());
    d.extend_from_slice(&[0, 1]); // precert_entry
    d.extend_from_slice(issuer_key_hash);
    let len = tbs.len() as u32;
    d.extend_from_slice(&len.to_be_bytes()[1..]);
    d.extend_from_slice(tbs);
    d.extend_from_slice(&[0, 0]); // no extensions
    Ok(d)
}

/// A serialized v1 SCT (RFC 6962 §3.2) signed by the CT log key.
pub fn sign_sct(
    ct_key: &KeyPair,
    timestamp_ms: u64,
    issuer_key_hash: &[u8; 32],
    tbs: &[u8],
) -> Result<Vec<u8>, Error> {
    let sig = ct_key.sign_der(&sct_signed_data(timestamp_ms, issuer_key_hash, tbs)?);
    let mut s = vec![0u8];
    s.extend_from_slice(&ct_key.key_id());
    s.extend_from_slice(&timestamp_ms.to_be_bytes());
    s.extend_from_slice(&[0, 0]); // extensions
    s.extend_from_slice(&[4, 3]); // sha256, ecdsa
    s.extend_from_slice(&(sig.len() as u16).to_be_bytes());
    s.extend_from_slice(&sig);
    Ok(s)
}

/// `SignedCertificateTimestampList` (RFC 6962 §3.3).
pub fn sct_list(scts: &[Vec<u8>]) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    for s in scts {
        body.extend_from_slice(&(s.len() as u16).to_be_bytes());
        body.extend_from_slice(s);
    }
    let mut out = (body.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca() -> (tempfile::TempDir, Ca) {
        ca_of(KeyShape::PublicGood)
    }

    fn ca_of(shape: KeyShape) -> (tempfile::TempDir, Ca) {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::load_or_create(dir.path(), dir.path(), shape).unwrap();
        (dir, ca)
    }

    /// (signature algorithm, named curve of the key) of a certificate, read with openssl-free
    /// DER access: the outer signatureAlgorithm and the SPKI parameters.
    fn shape_of(der: &[u8]) -> (ObjectIdentifier, Option<ObjectIdentifier>) {
        let c = Certificate::from_der(der).unwrap();
        assert_eq!(
            c.signature_algorithm, c.tbs_certificate.signature,
            "inner and outer signature algorithms must agree"
        );
        let curve = c
            .tbs_certificate
            .subject_public_key_info
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        (c.signature_algorithm.oid, curve)
    }

    const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

    #[test]
    fn public_good_shape_is_p384_with_sha384_and_p256_shape_is_p256_throughout() {
        let leaf_key = KeyPair::generate();
        let spec = LeafSpec {
            san: San::Email("dev@example.com".into()),
            issuer: "http://issuer".into(),
            extra: vec![],
        };
        for (shape, sig, ca_curve) in [
            (KeyShape::PublicGood, ECDSA_WITH_SHA384, P384),
            (KeyShape::P256, ECDSA_WITH_SHA256, P256),
        ] {
            let (_d, ca) = ca_of(shape);
            assert_eq!(
                shape_of(&ca.root_der),
                (sig, Some(ca_curve)),
                "{shape:?} root"
            );
            assert_eq!(
                shape_of(&ca.intermediate_der),
                (sig, Some(ca_curve)),
                "{shape:?} intermediate"
            );
            let leaf = ca.issue(leaf_key.spki_der(), &spec).unwrap();
            assert_eq!(
                shape_of(&leaf.der),
                (sig, Some(P256)),
                "{shape:?} leaf: the client's P-256 key, signed by the intermediate"
            );
            assert_eq!(
                ca.ct_key.spki_der().len(),
                91,
                "the CT key is P-256 in every shape"
            );
            let cert = Certificate::from_der(&leaf.der).unwrap();
            let tbs = cert.tbs_certificate.to_der().unwrap();
            assert!(
                keys::verify_ca_der(
                    ca.intermediate_key.spki_der(),
                    &tbs,
                    cert.signature.raw_bytes()
                ),
                "{shape:?}: the intermediate must sign the leaf"
            );
        }
    }

    #[test]
    fn a_kept_key_of_the_other_shape_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Ca::load_or_create(dir.path(), dir.path(), KeyShape::P256).unwrap();
        let err = Ca::load_or_create(dir.path(), dir.path(), KeyShape::PublicGood)
            .err()
            .expect("a P-256 state directory must not serve the public-good shape");
        assert!(err.to_string().contains("P-256 key"), "{err}");
    }

    /// Parse the embedded SCT back out of a leaf, strip the SCT extension from the TBS as a
    /// verifier does, and check the CT key's signature over the precertificate entry.
    #[test]
    fn embedded_sct_verifies_over_the_precertificate() {
        let (_d, ca) = ca();
        let key = KeyPair::generate();
        let spec = LeafSpec {
            san: San::Email("dev@example.com".into()),
            issuer: "http://issuer".into(),
            extra: vec![],
        };
        let leaf = ca.issue(key.spki_der(), &spec).unwrap();
        let cert = Certificate::from_der(&leaf.der).unwrap();
        let mut tbs = cert.tbs_certificate.clone();
        let exts = tbs.extensions.take().unwrap();
        let sct_ext = exts
            .iter()
            .find(|e| e.extn_id == CT_SCT_LIST)
            .expect("leaf must carry an SCT list");
        assert!(
            !exts.iter().any(|e| e.extn_id == CT_POISON),
            "the final certificate must not carry the poison"
        );
        tbs.extensions = Some(
            exts.iter()
                .filter(|e| e.extn_id != CT_SCT_LIST)
                .cloned()
                .collect(),
        );
        let stripped = tbs.to_der().unwrap();
        assert_eq!(
            stripped, leaf.signed_tbs,
            "stripping the SCT list must give back the logged TBS"
        );

        let list = OctetString::from_der(sct_ext.extn_value.as_bytes()).unwrap();
        let list = list.as_bytes();
        let total = u16::from_be_bytes([list[0], list[1]]) as usize;
        assert_eq!(
            total,
            list.len() - 2,
            "list length prefix must cover the list"
        );
        let sct = &list[4..];
        assert_eq!(sct[0], 0, "SCT version must be v1");
        assert_eq!(
            &sct[1..33],
            &ca.ct_key.key_id(),
            "SCT log id must be the CT key id"
        );
        let ts = u64::from_be_bytes(sct[33..41].try_into().unwrap());
        assert_eq!(&sct[43..45], &[4, 3], "SCT must be ecdsa with sha256");
        let sig_len = u16::from_be_bytes([sct[45], sct[46]]) as usize;
        let sig = &sct[47..47 + sig_len];
        let ikh: [u8; 32] = Sha256::digest(ca.intermediate_key.spki_der()).into();
        let data = sct_signed_data(ts, &ikh, &stripped).unwrap();
        assert!(
            keys::verify_der(ca.ct_key.spki_der(), &data, sig),
            "the SCT signature must verify with the CT key"
        );
        let mut tampered = data.clone();
        let last = tampered.len() - 3;
        tampered[last] ^= 1;
        assert!(
            !keys::verify_der(ca.ct_key.spki_der(), &tampered, sig),
            "a changed TBS must not verify"
        );
    }

    #[test]
    fn leaf_is_shaped_like_public_fulcio() {
        let (_d, ca) = ca();
        let key = KeyPair::generate();
        let spec = LeafSpec {
            san: San::Email("dev@example.com".into()),
            issuer: "http://issuer".into(),
            extra: vec![],
        };
        let cert = Certificate::from_der(&ca.issue(key.spki_der(), &spec).unwrap().der).unwrap();
        let tbs = &cert.tbs_certificate;
        assert!(tbs.subject.0.is_empty(), "subject must be empty");
        let exts = tbs.extensions.as_ref().unwrap();
        let san = exts.iter().find(|e| e.extn_id == SAN_OID).unwrap();
        assert!(san.critical, "SAN must be critical with an empty subject");
        let v2 = exts.iter().find(|e| e.extn_id == FULCIO_ISSUER_V2).unwrap();
        assert_eq!(
            Utf8StringRef::from_der(v2.extn_value.as_bytes())
                .unwrap()
                .as_str(),
            "http://issuer",
            "1.8 must be a DER UTF8String of the issuer"
        );
        let v1 = exts.iter().find(|e| e.extn_id == FULCIO_ISSUER_V1).unwrap();
        assert_eq!(
            v1.extn_value.as_bytes(),
            b"http://issuer",
            "1.1 must be the raw issuer string"
        );
        let life =
            tbs.validity.not_after.to_unix_duration() - tbs.validity.not_before.to_unix_duration();
        assert_eq!(life, LEAF_VALIDITY, "leaf must live ten minutes");
        let inter = Certificate::from_der(&ca.intermediate_der).unwrap();
        assert_eq!(
            tbs.issuer, inter.tbs_certificate.subject,
            "leaf issuer must be the intermediate's subject"
        );
        let inter_tbs = inter.tbs_certificate.to_der().unwrap();
        let root = Certificate::from_der(&ca.root_der).unwrap();
        assert!(
            keys::verify_ca_der(
                root.tbs_certificate
                    .subject_public_key_info
                    .to_der()
                    .unwrap()
                    .as_slice(),
                &inter_tbs,
                inter.signature.raw_bytes()
            ),
            "the root must sign the intermediate"
        );
    }

    #[test]
    fn ca_persists_across_loads() {
        let dir = tempfile::tempdir().unwrap();
        let a = Ca::load_or_create(dir.path(), dir.path(), KeyShape::PublicGood).unwrap();
        let b = Ca::load_or_create(dir.path(), dir.path(), KeyShape::PublicGood).unwrap();
        assert_eq!(a.root_der, b.root_der, "a reloaded CA must keep its root");
        assert_eq!(
            a.ct_key.key_id(),
            b.ct_key.key_id(),
            "a reloaded CA must keep its CT key"
        );
    }
}
