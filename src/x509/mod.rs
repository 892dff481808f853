//! X.509 certificates as Sigstore issues them: the fields verification needs, decoded once.
//!
//! [`chain`] validates a certificate path for a Fulcio or a timestamp authority certificate;
//! [`fulcio`] is the table of Fulcio extensions a policy can constrain.
//!
//! Fulcio extensions follow Fulcio's `docs/oid-info.md`: 1.3.6.1.4.1.57264.1.1 (issuer, raw
//! string, deprecated) and 1.3.6.1.4.1.57264.1.8 (issuer, DER UTF8String); 1.1.2–1.1.6 the
//! GitHub workflow trigger, sha, name, repository and ref (raw strings); 1.9–1.23 the
//! provider-generic build and source claims (DER UTF8Strings).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;

use crate::der::{children, ctx, expect, read, Tlv};
use crate::oid;

pub mod chain;
pub mod fulcio;

/// Extensions a verifier may see marked critical and still understand.
const KNOWN_CRITICAL: [ObjectIdentifier; 6] = [
    oid::BASIC_CONSTRAINTS,
    oid::KEY_USAGE,
    oid::EXT_KEY_USAGE,
    oid::SUBJECT_ALT_NAME,
    oid::NAME_CONSTRAINTS,
    oid::CERTIFICATE_POLICIES,
];

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum CertError {
    #[error("certificate is malformed")]
    Der(#[from] crate::der::DerError),
    #[error("certificate is malformed: {0}")]
    X509(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub oid: ObjectIdentifier,
    pub critical: bool,
    pub value: Vec<u8>,
}

/// A parsed certificate with the exact bytes needed to check signatures over it.
#[derive(Debug, Clone)]
pub struct Cert {
    pub der: Vec<u8>,
    pub tbs_der: Vec<u8>,
    pub signature_algorithm: ObjectIdentifier,
    pub signature: Vec<u8>,
    pub subject_der: Vec<u8>,
    pub issuer_der: Vec<u8>,
    pub serial: Vec<u8>,
    pub spki_der: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
    pub extensions: Vec<Extension>,
    parsed: x509_cert::Certificate,
    issuer_dn: std::sync::OnceLock<String>,
    digest: std::sync::OnceLock<[u8; 32]>,
    key: std::sync::OnceLock<Result<crate::crypto::PublicKey, crate::crypto::CryptoError>>,
}

/// Certificates [`Cert::parse_shared`] has parsed, by [`parsed_key`] (a hit is compared
/// with the whole DER).
static PARSED: Mutex<Option<HashMap<ParsedKey, Arc<Cert>>>> = Mutex::new(None);

/// A certificate's length and its last bytes: the end of its signature, which tells any two
/// certificates apart, hashed instead of the whole 1-3 KB at each of the three lookups a
/// signature's certificate gets.
type ParsedKey = (usize, [u8; 32]);

fn parsed_key(der: &[u8]) -> ParsedKey {
    let mut tail = [0u8; 32];
    let n = der.len().min(tail.len());
    if let (Some(to), Some(from)) = (tail.get_mut(..n), der.get(der.len() - n..)) {
        to.copy_from_slice(from);
    }
    (der.len(), tail)
}
/// At most this many are kept (a few KB each).
const PARSED_CAPACITY: usize = 1024;

/// Decode a UTCTime or GeneralizedTime element into Unix seconds.
pub fn decode_time(tlv: &Tlv<'_>) -> Option<i64> {
    if let Some(t) = decode_plain_time(tlv) {
        return Some(t);
    }
    let s = std::str::from_utf8(tlv.value).ok()?;
    let s = s.strip_suffix('Z')?;
    let full = match tlv.tag {
        crate::der::UTC_TIME if s.len() == 12 => {
            let yy: i32 = s.get(..2)?.parse().ok()?;
            // RFC 5280 §4.1.2.5.1: 50–99 are 19xx, 00–49 are 20xx.
            format!("{}{}", if yy >= 50 { 19 } else { 20 }, s)
        }
        crate::der::GENERALIZED_TIME if s.len() >= 14 => s.to_owned(),
        _ => return None,
    };
    let (main, _frac) = full.split_at(14);
    chrono::NaiveDateTime::parse_from_str(main, "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// [`decode_time`] of a time in its plain form, all digits and a valid date and time
/// (`YYMMDDHHMMSSZ`, `YYYYMMDDHHMMSSZ`), read without the text parser (three times per
/// signature); `None` leaves any other form to [`decode_time`]'s parser, which answers as
/// before.
fn decode_plain_time(tlv: &Tlv<'_>) -> Option<i64> {
    let digits = tlv.value.strip_suffix(b"Z")?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |range: std::ops::Range<usize>| {
        digits
            .get(range)?
            .iter()
            .try_fold(0u32, |n, d| Some(n * 10 + u32::from(d - b'0')))
    };
    let (year, rest) = match (tlv.tag, digits.len()) {
        (crate::der::UTC_TIME, 12) => {
            let yy = num(0..2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (crate::der::GENERALIZED_TIME, 14) => (num(0..4)?, 4),
        _ => return None,
    };
    let at = |i: usize| num(rest + i..rest + i + 2);
    chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, at(0)?, at(2)?)?
        .and_hms_opt(at(4)?, at(6)?, at(8)?)
        .map(|t| t.and_utc().timestamp())
}

impl Cert {
    /// Parse a DER certificate.
    pub fn parse(der: &[u8]) -> Result<Cert, CertError> {
        let cert = crate::der::single(der, crate::der::SEQUENCE, "Certificate")?;
        let (tbs, rest) = expect(cert.value, crate::der::SEQUENCE, "TBSCertificate")?;
        let (sig_alg, rest) = expect(rest, crate::der::SEQUENCE, "signatureAlgorithm")?;
        let (sig, _) = expect(rest, 0x03, "signatureValue")?;
        let signature = match sig.value.split_first() {
            Some((0, bits)) => bits.to_vec(),
            _ => return Err(CertError::X509("signature has unused bits".into())),
        };
        let signature_algorithm = crate::der::oid(&read(sig_alg.value)?.0)?;

        let (first, rest) = read(tbs.value)?;
        let (serial, rest) = if first.tag == ctx(0) {
            expect(rest, crate::der::INTEGER, "serialNumber")?
        } else {
            (first, rest)
        };
        let (_sig, rest) = expect(rest, crate::der::SEQUENCE, "signature")?;
        let (issuer, rest) = expect(rest, crate::der::SEQUENCE, "issuer")?;
        let (validity, rest) = expect(rest, crate::der::SEQUENCE, "validity")?;
        let (subject, rest) = expect(rest, crate::der::SEQUENCE, "subject")?;
        let (spki, rest) = expect(rest, crate::der::SEQUENCE, "subjectPublicKeyInfo")?;
        let times = children(validity.value)?;
        let [nb, na] = times.as_slice() else {
            return Err(CertError::X509("validity must hold two times".into()));
        };
        let not_before =
            decode_time(nb).ok_or_else(|| CertError::X509("invalid notBefore".into()))?;
        let not_after =
            decode_time(na).ok_or_else(|| CertError::X509("invalid notAfter".into()))?;

        let mut extensions = Vec::new();
        for field in children(rest)? {
            if field.tag != ctx(3) {
                continue;
            }
            let (list, _) = expect(field.value, crate::der::SEQUENCE, "extensions")?;
            for ext in children(list.value)? {
                let (id, rest) = read(ext.value)?;
                let (next, rest) = read(rest)?;
                let (critical, value) = if next.tag == crate::der::BOOLEAN {
                    (
                        next.value != [0],
                        expect(rest, crate::der::OCTET_STRING, "extnValue")?.0,
                    )
                } else if next.tag == crate::der::OCTET_STRING {
                    (false, next)
                } else {
                    return Err(CertError::X509("malformed extension".into()));
                };
                extensions.push(Extension {
                    oid: crate::der::oid(&id)?,
                    critical,
                    value: value.value.to_vec(),
                });
            }
        }
        let parsed =
            x509_cert::Certificate::from_der(der).map_err(|e| CertError::X509(e.to_string()))?;
        Ok(Cert {
            der: der.to_vec(),
            tbs_der: tbs.raw.to_vec(),
            signature_algorithm,
            signature,
            subject_der: subject.raw.to_vec(),
            issuer_der: issuer.raw.to_vec(),
            serial: serial.value.to_vec(),
            spki_der: spki.raw.to_vec(),
            not_before,
            not_after,
            extensions,
            parsed,
            issuer_dn: std::sync::OnceLock::new(),
            digest: std::sync::OnceLock::new(),
            key: std::sync::OnceLock::new(),
        })
    }

    /// [`Cert::parse`], remembered: a range signed through a credential cache carries one
    /// certificate in thousands of signatures, and one signature's certificate is looked at
    /// by several steps. Keyed by the exact DER, so a hit is the same certificate; bounded
    /// (cleared when full) to keep memory flat. Failures are not remembered.
    pub fn parse_shared(der: &[u8]) -> Result<Arc<Cert>, CertError> {
        let key = parsed_key(der);
        if let Some(hit) = PARSED.lock().ok().and_then(|g| {
            g.as_ref()
                .and_then(|m| m.get(&key).filter(|c| c.der == der).cloned())
        }) {
            return Ok(hit);
        }
        let cert = Arc::new(Cert::parse(der)?);
        if let Ok(mut g) = PARSED.lock() {
            let map = g.get_or_insert_with(HashMap::new);
            if map.len() >= PARSED_CAPACITY {
                map.clear();
            }
            map.insert(key, Arc::clone(&cert));
        }
        Ok(cert)
    }

    pub fn extension(&self, oid: &ObjectIdentifier) -> Option<&Extension> {
        self.extensions.iter().find(|e| &e.oid == oid)
    }

    /// Critical extensions this verifier does not understand (RFC 5280 §4.2: must reject).
    pub fn unknown_critical_extensions(&self) -> Vec<ObjectIdentifier> {
        self.extensions
            .iter()
            .filter(|e| e.critical && !KNOWN_CRITICAL.contains(&e.oid))
            .map(|e| e.oid)
            .collect()
    }

    pub fn is_precertificate(&self) -> bool {
        self.extension(&oid::CT_POISON).is_some()
    }

    /// `Some(true)` when basicConstraints says CA.
    pub fn is_ca(&self) -> bool {
        self.extension(&oid::BASIC_CONSTRAINTS)
            .and_then(|e| x509_cert::ext::pkix::BasicConstraints::from_der(&e.value).ok())
            .is_some_and(|bc| bc.ca)
    }

    /// Whether keyUsage allows `bit` (0 = digitalSignature, 5 = keyCertSign); absent = allowed.
    pub fn key_usage_allows(&self, bit: usize) -> bool {
        let Some(ext) = self.extension(&oid::KEY_USAGE) else {
            return true;
        };
        let Ok(bits) = der::asn1::BitString::from_der(&ext.value) else {
            return false;
        };
        let bytes = bits.raw_bytes();
        bytes
            .get(bit / 8)
            .is_some_and(|b| b & (0x80 >> (bit % 8)) != 0)
    }

    /// The extended key usages, if the extension is present.
    pub fn extended_key_usages(&self) -> Option<Vec<ObjectIdentifier>> {
        let ext = self.extension(&oid::EXT_KEY_USAGE)?;
        x509_cert::ext::pkix::ExtendedKeyUsage::from_der(&ext.value)
            .ok()
            .map(|e| e.0)
    }

    pub fn subject_key_id(&self) -> Option<Vec<u8>> {
        let ext = self.extension(&oid::SUBJECT_KEY_IDENTIFIER)?;
        der::asn1::OctetString::from_der(&ext.value)
            .ok()
            .map(|o| o.into_bytes())
    }

    pub fn authority_key_id(&self) -> Option<Vec<u8>> {
        let ext = self.extension(&oid::AUTHORITY_KEY_IDENTIFIER)?;
        x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(&ext.value)
            .ok()?
            .key_identifier
            .map(|o| o.into_bytes())
    }

    /// Subject alternative names: (kind, value) with kind `email`, `uri`, `dns` or `other`.
    pub fn subject_alt_names(&self) -> Vec<(&'static str, String)> {
        let Some(ext) = self.extension(&oid::SUBJECT_ALT_NAME) else {
            return Vec::new();
        };
        let Ok(san) = x509_cert::ext::pkix::SubjectAltName::from_der(&ext.value) else {
            return Vec::new();
        };
        san.0
            .iter()
            .filter_map(|name| match name {
                GeneralName::Rfc822Name(s) => Some(("email", s.to_string())),
                GeneralName::UniformResourceIdentifier(s) => Some(("uri", s.to_string())),
                GeneralName::DnsName(s) => Some(("dns", s.to_string())),
                GeneralName::OtherName(o) => {
                    // Fulcio's username SAN (1.3.6.1.4.1.57264.1.7) is an UTF8String.
                    o.value
                        .to_der()
                        .ok()
                        .and_then(|d| {
                            der::asn1::Utf8StringRef::from_der(&d)
                                .ok()
                                .map(|s| s.to_string())
                        })
                        .map(|s| ("other", s))
                }
                _ => None,
            })
            .collect()
    }

    /// A Fulcio extension that holds a raw string (the v1 encoding of 57264.1.1–1.6).
    pub fn raw_string_extension(&self, oid: &ObjectIdentifier) -> Option<String> {
        self.extension(oid)
            .and_then(|e| String::from_utf8(e.value.clone()).ok())
    }

    /// A Fulcio extension that holds a DER UTF8String (57264.1.8 onward).
    pub fn utf8_extension(&self, oid: &ObjectIdentifier) -> Option<String> {
        self.extension(oid)
            .and_then(|e| der::asn1::Utf8StringRef::from_der(&e.value).ok())
            .map(|s| s.to_string())
    }

    /// The OIDC issuer Fulcio recorded: the v2 extension when present, else the v1 one.
    pub fn oidc_issuer(&self) -> Option<String> {
        self.utf8_extension(&oid::FULCIO_ISSUER_V2)
            .or_else(|| self.raw_string_extension(&oid::FULCIO_ISSUER_V1))
    }

    /// SHA-256 of the DER, computed once per certificate: what the memo of proven facts keys
    /// a certificate by ([`crate::memo`]), as strong as its full bytes and 32 bytes to hash
    /// instead of the 1-3 KB of a certificate for every link and SCT looked up.
    pub fn der_digest(&self) -> &[u8; 32] {
        self.digest.get_or_init(|| crate::crypto::sha256(&self.der))
    }

    /// The subject's public key, decoded once per certificate: a CA's key verifies every leaf
    /// it issued, and keeps what the backend prepared for it ([`crate::crypto::PublicKey`]).
    pub fn public_key(&self) -> Result<&crate::crypto::PublicKey, crate::crypto::CryptoError> {
        self.key
            .get_or_init(|| crate::crypto::PublicKey::from_spki_der(&self.spki_der))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// PEM of the certificate, as Rekor stores it in hashedrekord entries.
    pub fn to_pem(&self) -> String {
        crate::pem::encode("CERTIFICATE", &self.der)
    }

    /// SHA-1 fingerprint (lower-case hex), the certificate ID Go gitsign prints and puts in
    /// gpg status lines.
    pub fn sha1_fingerprint(&self) -> String {
        crate::crypto::sha1_hex(&self.der)
    }

    /// The issuer's distinguished name as text (RFC 4514), formatted once per certificate.
    pub fn issuer_dn(&self) -> &str {
        self.issuer_dn
            .get_or_init(|| name_text(&self.issuer_der, &self.parsed.tbs_certificate.issuer))
    }

    /// The underlying x509-cert value, for fields not surfaced above.
    pub fn x509(&self) -> &x509_cert::Certificate {
        &self.parsed
    }

    /// The subject's common name, if any (for human output).
    pub fn subject_common_name(&self) -> Option<String> {
        self.parsed
            .tbs_certificate
            .subject
            .0
            .iter()
            .flat_map(|rdn| rdn.0.iter())
            .find(|atv| atv.oid == const_oid::db::rfc4519::CN)
            .and_then(|atv| atv.value.to_der().ok())
            .and_then(|d| {
                der::asn1::Utf8StringRef::from_der(&d)
                    .map(|s| s.to_string())
                    .or_else(|_| der::asn1::PrintableStringRef::from_der(&d).map(|s| s.to_string()))
                    .ok()
            })
    }
}

/// Names [`name_text`] has formatted, by DER.
static NAMES: Mutex<Option<HashMap<Vec<u8>, String>>> = Mutex::new(None);
/// At most this many are kept (a name is a few hundred bytes).
const NAMES_CAPACITY: usize = 256;

/// `name` (whose DER is `der`) as RFC 4514 text, remembered by DER: every leaf of a Fulcio CA
/// names the same issuer, formatted once instead of once per certificate (formatting looks
/// each attribute's type up in the OID database, by a linear search).
fn name_text(der: &[u8], name: &x509_cert::name::Name) -> String {
    if let Some(hit) = NAMES
        .lock()
        .ok()
        .and_then(|g| g.as_ref().and_then(|m| m.get(der).cloned()))
    {
        return hit;
    }
    let text = name.to_string();
    if let Ok(mut g) = NAMES.lock() {
        let map = g.get_or_insert_with(HashMap::new);
        if map.len() >= NAMES_CAPACITY {
            map.clear();
        }
        map.insert(der.to_vec(), text.clone());
    }
    text
}

impl Cert {
    /// The TBSCertificate with one extension removed and lengths recomputed: the
    /// precertificate TBS that an SCT signs (RFC 6962 §3.2) is the final TBS minus the SCT
    /// list. Each extension's id was decoded as an OID when the certificate was parsed, so it
    /// is matched by its bytes here.
    pub fn tbs_without_extension(&self, drop: &ObjectIdentifier) -> Result<Vec<u8>, CertError> {
        tbs_without(&self.tbs_der, drop)
    }
}

fn tbs_without(tbs_der: &[u8], drop: &ObjectIdentifier) -> Result<Vec<u8>, CertError> {
    let tbs = crate::der::single(tbs_der, crate::der::SEQUENCE, "TBSCertificate")?;
    // Each buffer sized once: never larger than what it is cut from.
    let mut body = Vec::with_capacity(tbs_der.len());
    for field in children(tbs.value)? {
        if field.tag != ctx(3) {
            body.extend_from_slice(field.raw);
            continue;
        }
        let (list, _) = expect(field.value, crate::der::SEQUENCE, "extensions")?;
        let mut kept = Vec::with_capacity(list.value.len());
        for ext in children(list.value)? {
            let (id, _) = read(ext.value)?;
            if id.value != drop.as_bytes() {
                kept.extend_from_slice(ext.raw);
            }
        }
        let mut seq = Vec::with_capacity(kept.len() + 6);
        crate::der::push_header(&mut seq, crate::der::SEQUENCE, kept.len());
        seq.extend_from_slice(&kept);
        crate::der::push_header(&mut body, ctx(3), seq.len());
        body.extend_from_slice(&seq);
    }
    let mut out = Vec::with_capacity(body.len() + 6);
    crate::der::push_header(&mut out, crate::der::SEQUENCE, body.len());
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_time_forms() {
        let utc = Tlv {
            tag: crate::der::UTC_TIME,
            raw: &[],
            value: b"220512205033Z",
        };
        assert_eq!(decode_time(&utc), Some(1652388633), "2022-05-12T20:50:33Z");
        let gen = Tlv {
            tag: crate::der::GENERALIZED_TIME,
            raw: &[],
            value: b"20500101000000Z",
        };
        assert_eq!(decode_time(&gen), Some(2524608000));
        let bad = Tlv {
            tag: crate::der::UTC_TIME,
            raw: &[],
            value: b"2205122050Z",
        };
        assert_eq!(decode_time(&bad), None, "a time without seconds is refused");
        // The plain form read without the parser agrees with it.
        for (tag, value) in [
            (crate::der::UTC_TIME, &b"240229235959Z"[..]),
            (crate::der::UTC_TIME, b"491231000000Z"),
            (crate::der::UTC_TIME, b"500101000000Z"),
            (crate::der::GENERALIZED_TIME, b"20240229120000Z"),
            (crate::der::GENERALIZED_TIME, b"19991231235959Z"),
        ] {
            let tlv = Tlv {
                tag,
                raw: &[],
                value,
            };
            let s = std::str::from_utf8(value).unwrap_or_default();
            let full = match tag {
                crate::der::UTC_TIME => format!("{}{s}", if s < "50" { 20 } else { 19 }),
                _ => s.to_owned(),
            };
            let parsed = chrono::NaiveDateTime::parse_from_str(&full[..14], "%Y%m%d%H%M%S")
                .map(|t| t.and_utc().timestamp())
                .ok();
            assert!(parsed.is_some(), "{s}");
            assert_eq!(decode_plain_time(&tlv), parsed, "{s}");
        }
        for value in [
            &b"20230229120000Z"[..],
            b"20241301000000Z",
            b"20240101240000Z",
        ] {
            let tlv = Tlv {
                tag: crate::der::GENERALIZED_TIME,
                raw: &[],
                value,
            };
            assert_eq!(
                decode_plain_time(&tlv),
                None,
                "{value:?} is left to the parser"
            );
            assert_eq!(decode_time(&tlv), None, "{value:?} is not a time");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for input in [
            &b""[..],
            b"\x30",
            b"\x30\x00",
            b"\x30\x03\x30\x01\x00",
            &[0x30, 0x82, 0xff, 0xff],
        ] {
            assert!(
                Cert::parse(input).is_err(),
                "{input:?} is not a certificate"
            );
        }
    }
}
