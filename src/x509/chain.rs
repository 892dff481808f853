//! Certificate path validation (RFC 5280 §6, the subset Sigstore needs) at a given time: one
//! validator for Fulcio signing certificates and RFC 3161 timestamp authority certificates.
//!
//! The caller picks the anchors (the certificates of one authority of the trust root, leaf
//! side first) and the [`Use`]; the use decides the few rules in which the two kinds of paths
//! differ. Each link's signature is proven once per process ([`crate::memo`]), keyed on both
//! full certificates and the use.

use std::sync::Arc;

use super::Cert;
use crate::crypto::Digest;
use crate::encoding::rfc3339;
use crate::oid;

/// Steps taken from a leaf towards an anchor: each step either reaches an anchor or climbs
/// one carried intermediate, so at most three intermediates stand below the anchor.
const MAX_DEPTH: usize = 4;
/// Most certificates a timestamp authority's chain may list.
const MAX_TSA_CHAIN: usize = 8;

/// What a path is validated for. The rules that differ between the uses:
///
/// | rule | [`Use::CodeSigning`] (Fulcio) | [`Use::TimeStamping`] (TSA) |
/// |---|---|---|
/// | leaf ([`check_leaf`]) | valid at `at`, no unknown critical extension, keyUsage digitalSignature, EKU codeSigning | EKU timeStamping |
/// | leaf listed among the anchors | no difference: an anchor must have issued it | the path starts there |
/// | intermediates the signature carries | up to 3, each valid and a CA allowed keyCertSign | none |
/// | the first anchor reached | a CA allowed keyCertSign | a CA (basicConstraints) |
/// | above the first anchor | the authority's chain is trusted as a whole: each certificate named as issuer of the one below (its signature decides only between namesakes) must be valid | every next certificate of the list must be a CA that signed the one before, and valid |
/// | anchors accepted | any number | 1 to 8 |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    CodeSigning,
    TimeStamping,
}

impl Use {
    /// Separates the uses' facts in the memo.
    fn tag(self) -> &'static [u8] {
        match self {
            Use::CodeSigning => b"code-signing",
            Use::TimeStamping => b"time-stamping",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ChainError {
    #[error("certificate was not valid at {at} (valid {not_before} to {not_after})")]
    Expired {
        at: String,
        not_before: String,
        not_after: String,
    },
    #[error("certificate does not allow code signing")]
    NotForCodeSigning,
    #[error("certificate does not allow time stamping")]
    NotForTimeStamping,
    #[error("certificate has unknown critical extension {0}")]
    UnknownCriticalExtension(String),
    #[error("certificate is not issued by a trusted Fulcio CA valid at {0}")]
    Untrusted(String),
}

/// A path that validated.
#[derive(Debug, Clone)]
pub struct Path {
    /// Subjects' common names from the leaf's issuer up to the last certificate checked.
    pub issuers: Vec<String>,
    /// The certificate that signed the leaf; `None` when the leaf is itself an anchor.
    pub issuer: Option<Arc<Cert>>,
}

/// Link signatures already proven in this process: a CA certificate signs every leaf of a
/// range, one TSA certificate stamps every commit, and with a credential cache one leaf signs
/// many commits.
static PROVEN_LINKS: crate::memo::Proven = crate::memo::Proven::new();

/// Whether `issuer` signed `cert` (names match and the signature verifies), for `used`.
pub fn issued_by(cert: &Cert, issuer: &Cert, used: Use) -> bool {
    if cert.issuer_der != issuer.subject_der {
        return false;
    }
    let key = crate::memo::key(
        b"issued-by",
        &[used.tag(), issuer.der_digest(), cert.der_digest()],
    );
    PROVEN_LINKS.check(key, || {
        Digest::from_signature_oid(&cert.signature_algorithm).is_some_and(|digest| {
            issuer
                .public_key()
                .is_ok_and(|k| k.verify(digest, &cert.tbs_der, &cert.signature).is_ok())
        })
    })
}

/// Whether `issuer` may stand above `cert` on a path for `used`.
fn links(cert: &Cert, issuer: &Cert, used: Use) -> bool {
    match used {
        Use::CodeSigning => issued_by(cert, issuer, used),
        Use::TimeStamping => issuer.is_ca() && issued_by(cert, issuer, used),
    }
}

/// The certificate of an authority's chain `anchors` above its member `cert`: none above a
/// self-issued root, else the one named as its issuer, or, when several are, the one whose
/// signature it carries.
fn above<'a>(cert: &Cert, anchors: &'a [Arc<Cert>], used: Use) -> Option<&'a Arc<Cert>> {
    if cert.issuer_der == cert.subject_der {
        return None;
    }
    let mut named = anchors
        .iter()
        .filter(|c| c.der != cert.der && c.subject_der == cert.issuer_der);
    let first = named.next()?;
    if named.next().is_none() {
        return Some(first);
    }
    anchors
        .iter()
        .find(|c| c.der != cert.der && links(cert, c, used))
}

/// A CA allowed to sign certificates (basicConstraints CA and keyUsage keyCertSign).
fn signs_certificates(cert: &Cert) -> bool {
    cert.is_ca() && cert.key_usage_allows(5)
}

pub fn valid_at(cert: &Cert, at: i64) -> Result<(), ChainError> {
    if at < cert.not_before || at > cert.not_after {
        return Err(ChainError::Expired {
            at: rfc3339(at),
            not_before: rfc3339(cert.not_before),
            not_after: rfc3339(cert.not_after),
        });
    }
    Ok(())
}

/// What the leaf itself must allow for `used` (checked once, before any authority is tried).
pub fn check_leaf(leaf: &Cert, at: i64, used: Use) -> Result<(), ChainError> {
    let has_eku = |eku| {
        leaf.extended_key_usages()
            .is_some_and(|ekus| ekus.contains(&eku))
    };
    match used {
        Use::CodeSigning => {
            valid_at(leaf, at)?;
            if let Some(oid) = leaf.unknown_critical_extensions().first() {
                return Err(ChainError::UnknownCriticalExtension(oid.to_string()));
            }
            if !has_eku(oid::EKU_CODE_SIGNING) || !leaf.key_usage_allows(0) {
                return Err(ChainError::NotForCodeSigning);
            }
        }
        Use::TimeStamping => {
            if !has_eku(oid::EKU_TIME_STAMPING) {
                return Err(ChainError::NotForTimeStamping);
            }
        }
    }
    Ok(())
}

/// A path from `leaf` at Unix time `at` to `anchors` (one authority's certificates, leaf side
/// first), through `intermediates` (other certificates the signature carried; candidates,
/// never anchors), under the rules of `used`. [`check_leaf`] is the caller's, once per leaf.
pub fn path_to(
    leaf: &Cert,
    intermediates: &[Arc<Cert>],
    anchors: &[Arc<Cert>],
    at: i64,
    used: Use,
) -> Result<Path, ChainError> {
    let untrusted = || ChainError::Untrusted(rfc3339(at));
    if used == Use::TimeStamping && (anchors.is_empty() || anchors.len() > MAX_TSA_CHAIN) {
        return Err(untrusted());
    }
    let mut issuers = Vec::new();
    let mut leaf_issuer: Option<&Arc<Cert>> = None;

    // 1. From the leaf up to the first anchor.
    let listed = anchors.iter().position(|c| c.der == leaf.der);
    let start = match (used, listed) {
        (Use::TimeStamping, Some(i)) => i,
        _ => {
            let mut current = leaf;
            let mut reached = None;
            for _ in 0..MAX_DEPTH {
                if let Some(i) = anchors.iter().position(|c| links(current, c, used)) {
                    let anchor = anchors.get(i).ok_or_else(untrusted)?;
                    match used {
                        Use::CodeSigning => {
                            valid_at(anchor, at)?;
                            if !signs_certificates(anchor) {
                                return Err(untrusted());
                            }
                            issuers.push(anchor.subject_common_name().unwrap_or_default());
                            leaf_issuer.get_or_insert(anchor);
                        }
                        // The leaf is not on the list checked below.
                        Use::TimeStamping => {
                            valid_at(current, at)?;
                            leaf_issuer.get_or_insert(anchor);
                        }
                    }
                    reached = Some(i);
                    break;
                }
                if used == Use::TimeStamping {
                    break;
                }
                let Some(inter) = intermediates
                    .iter()
                    .find(|c| c.der != current.der && links(current, c, used))
                else {
                    break;
                };
                valid_at(inter, at)?;
                if !signs_certificates(inter) {
                    break;
                }
                issuers.push(inter.subject_common_name().unwrap_or_default());
                leaf_issuer.get_or_insert(inter);
                current = inter;
            }
            reached.ok_or_else(untrusted)?
        }
    };

    // 2. Above the first anchor.
    match used {
        Use::CodeSigning => {
            // The authority's chain is trusted as a whole: walked for validity and display.
            // Its certificates all come from the trust root, so a signature between two of
            // them proves nothing the root does not already say: the one named as issuer is
            // next (a P-384 verify saved per process, a third of the ECDSA of a one-commit
            // `--verify`); only when names are ambiguous do signatures pick the issuer.
            let mut up = anchors.get(start).ok_or_else(untrusted)?;
            while let Some(next) = above(up, anchors, used) {
                valid_at(next, at)?;
                issuers.push(next.subject_common_name().unwrap_or_default());
                up = next;
                if issuers.len() > MAX_DEPTH {
                    break;
                }
            }
        }
        Use::TimeStamping => {
            let path = anchors.get(start..).unwrap_or_default();
            for c in path {
                valid_at(c, at)?;
            }
            for pair in path.windows(2) {
                let [child, issuer] = pair else {
                    return Err(untrusted());
                };
                if !links(child, issuer, used) {
                    return Err(untrusted());
                }
            }
            let above_leaf = path.iter().filter(|c| c.der != leaf.der);
            issuers.extend(above_leaf.map(|c| c.subject_common_name().unwrap_or_default()));
        }
    }
    Ok(Path {
        issuers,
        issuer: leaf_issuer.cloned(),
    })
}

#[cfg(test)]
mod tests {
    //! One test per rule in which the two uses differ, each showing the rule applies to its
    //! use only. The certificates are built here with x509-cert's types and signed with ring.

    use super::*;
    use const_oid::ObjectIdentifier;
    use der::asn1::{Any, BitString, OctetString, UtcTime};
    use der::Encode;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
    use std::str::FromStr;
    use std::time::Duration;
    use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage};
    use x509_cert::ext::Extension;
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::time::{Time, Validity};
    use x509_cert::{Certificate, TbsCertificate, Version};

    const Y2020: u64 = 1_577_836_800;
    const Y2030: u64 = 1_893_456_000;
    /// 2025-08-01T12:00:00Z.
    const AT: i64 = 1_754_049_600;
    const DIGITAL_SIGNATURE: u8 = 0x80;
    const KEY_CERT_SIGN: u8 = 0x04;

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
    }

    /// What a test certificate carries; `Spec::new` is a plain end-entity certificate.
    struct Spec<'a> {
        subject: &'a str,
        issuer: &'a str,
        key: &'a Key,
        signer: &'a Key,
        to: u64,
        ca: bool,
        key_usage: Option<u8>,
        ekus: Vec<ObjectIdentifier>,
        unknown_critical: bool,
    }

    impl<'a> Spec<'a> {
        fn new(subject: &'a str, issuer: &'a str, key: &'a Key, signer: &'a Key) -> Spec<'a> {
            Spec {
                subject,
                issuer,
                key,
                signer,
                to: Y2030,
                ca: false,
                key_usage: None,
                ekus: vec![],
                unknown_critical: false,
            }
        }

        fn ca(self) -> Spec<'a> {
            Spec {
                ca: true,
                key_usage: Some(KEY_CERT_SIGN),
                ..self
            }
        }

        fn build(&self) -> Arc<Cert> {
            let alg = AlgorithmIdentifierOwned {
                oid: oid::ECDSA_WITH_SHA256,
                parameters: None,
            };
            let ext = |oid, critical, value: Vec<u8>| Extension {
                extn_id: oid,
                critical,
                extn_value: OctetString::new(value).expect("octets"),
            };
            let mut extensions = vec![];
            if self.ca {
                let bc = BasicConstraints {
                    ca: true,
                    path_len_constraint: None,
                };
                extensions.push(ext(oid::BASIC_CONSTRAINTS, true, bc.to_der().expect("bc")));
            }
            if let Some(bits) = self.key_usage {
                let unused = bits.trailing_zeros().min(7) as u8;
                let ku = BitString::new(unused, vec![bits]).expect("key usage bits");
                extensions.push(ext(oid::KEY_USAGE, true, ku.to_der().expect("ku")));
            }
            if !self.ekus.is_empty() {
                let eku = ExtendedKeyUsage(self.ekus.clone());
                extensions.push(ext(oid::EXT_KEY_USAGE, false, eku.to_der().expect("eku")));
            }
            if self.unknown_critical {
                let private = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1");
                extensions.push(ext(private, true, vec![0x05, 0x00]));
            }
            let time = |secs| {
                Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(secs)).expect("time"))
            };
            let tbs = TbsCertificate {
                version: Version::V3,
                serial_number: SerialNumber::new(&[7]).expect("serial"),
                signature: alg.clone(),
                issuer: Name::from_str(self.issuer).expect("issuer"),
                validity: Validity {
                    not_before: time(Y2020),
                    not_after: time(self.to),
                },
                subject: Name::from_str(self.subject).expect("subject"),
                subject_public_key_info: SubjectPublicKeyInfoOwned {
                    algorithm: AlgorithmIdentifierOwned {
                        oid: oid::EC_PUBLIC_KEY,
                        parameters: Some(Any::encode_from(&oid::P256).expect("curve")),
                    },
                    subject_public_key: BitString::from_bytes(self.key.0.public_key().as_ref())
                        .expect("point"),
                },
                issuer_unique_id: None,
                subject_unique_id: None,
                extensions: Some(extensions),
            };
            let signature = self
                .signer
                .0
                .sign(&SystemRandom::new(), &tbs.to_der().expect("tbs"))
                .expect("signing");
            let der = Certificate {
                tbs_certificate: tbs,
                signature_algorithm: alg,
                signature: BitString::from_bytes(signature.as_ref()).expect("signature"),
            }
            .to_der()
            .expect("certificate");
            Arc::new(Cert::parse(&der).expect("a certificate the test built"))
        }
    }

    const ROOT: &str = "CN=Test Root,O=gitsign tests";
    const INTER: &str = "CN=Test Intermediate,O=gitsign tests";
    const LEAF: &str = "CN=Test Leaf,O=gitsign tests";

    fn both_ekus() -> Vec<ObjectIdentifier> {
        vec![oid::EKU_CODE_SIGNING, oid::EKU_TIME_STAMPING]
    }

    fn path(leaf: &Cert, carried: &[Arc<Cert>], anchors: &[Arc<Cert>], used: Use) -> bool {
        path_to(leaf, carried, anchors, AT, used).is_ok()
    }

    #[test]
    fn leaf_rules_follow_the_use() {
        let root_key = Key::generate();
        let key = Key::generate();
        let unknown = Spec {
            ekus: both_ekus(),
            unknown_critical: true,
            key_usage: Some(DIGITAL_SIGNATURE),
            ..Spec::new(LEAF, ROOT, &key, &root_key)
        }
        .build();
        assert_eq!(
            check_leaf(&unknown, AT, Use::CodeSigning),
            Err(ChainError::UnknownCriticalExtension(
                "1.3.6.1.4.1.99999.1".into()
            )),
            "a Fulcio leaf must not carry a critical extension we do not understand"
        );
        assert_eq!(check_leaf(&unknown, AT, Use::TimeStamping), Ok(()));

        let no_digital_signature = Spec {
            ekus: both_ekus(),
            key_usage: Some(KEY_CERT_SIGN),
            ..Spec::new(LEAF, ROOT, &key, &root_key)
        }
        .build();
        assert_eq!(
            check_leaf(&no_digital_signature, AT, Use::CodeSigning),
            Err(ChainError::NotForCodeSigning),
            "a Fulcio leaf's keyUsage must allow digitalSignature"
        );
        assert_eq!(
            check_leaf(&no_digital_signature, AT, Use::TimeStamping),
            Ok(())
        );

        let code_signing = Spec {
            ekus: vec![oid::EKU_CODE_SIGNING],
            ..Spec::new(LEAF, ROOT, &key, &root_key)
        }
        .build();
        assert_eq!(check_leaf(&code_signing, AT, Use::CodeSigning), Ok(()));
        assert_eq!(
            check_leaf(&code_signing, AT, Use::TimeStamping),
            Err(ChainError::NotForTimeStamping),
            "a TSA leaf needs the timeStamping EKU"
        );

        let expired = Spec {
            ekus: both_ekus(),
            to: AT as u64 - 1,
            ..Spec::new(LEAF, ROOT, &key, &root_key)
        }
        .build();
        assert!(
            matches!(
                check_leaf(&expired, AT, Use::CodeSigning),
                Err(ChainError::Expired { .. })
            ),
            "a Fulcio leaf's validity is a leaf check"
        );
        assert_eq!(
            check_leaf(&expired, AT, Use::TimeStamping),
            Ok(()),
            "a TSA leaf's validity is checked on the path"
        );
        let root = Spec::new(ROOT, ROOT, &root_key, &root_key).ca().build();
        assert!(!path(&expired, &[], &[root], Use::TimeStamping));
    }

    #[test]
    fn anchor_key_usage_is_a_code_signing_rule() {
        let root_key = Key::generate();
        let leaf_key = Key::generate();
        let root = Spec {
            key_usage: Some(DIGITAL_SIGNATURE),
            ..Spec::new(ROOT, ROOT, &root_key, &root_key).ca()
        }
        .build();
        let leaf = Spec::new(LEAF, ROOT, &leaf_key, &root_key).build();
        assert_eq!(
            path_to(&leaf, &[], &[Arc::clone(&root)], AT, Use::CodeSigning).err(),
            Some(ChainError::Untrusted(rfc3339(AT))),
            "a Fulcio anchor must allow keyCertSign"
        );
        assert!(path(&leaf, &[], &[root], Use::TimeStamping));
    }

    #[test]
    fn ca_above_the_anchor_is_a_time_stamping_rule() {
        let root_key = Key::generate();
        let inter_key = Key::generate();
        let leaf_key = Key::generate();
        // A root without basicConstraints: not a CA.
        let root = Spec::new(ROOT, ROOT, &root_key, &root_key).build();
        let inter = Spec::new(INTER, ROOT, &inter_key, &root_key).ca().build();
        let leaf = Spec::new(LEAF, INTER, &leaf_key, &inter_key).build();
        let anchors = [inter, root];
        let fulcio = path_to(&leaf, &[], &anchors, AT, Use::CodeSigning).expect("Fulcio path");
        assert_eq!(
            fulcio.issuers,
            ["Test Intermediate", "Test Root"],
            "a Fulcio authority's chain is trusted as a whole above the first anchor"
        );
        assert!(
            !path(&leaf, &[], &anchors, Use::TimeStamping),
            "every issuer of a TSA chain must be a CA"
        );
    }

    #[test]
    fn above_the_first_anchor_names_decide_and_signatures_only_part_namesakes() {
        let root_key = Key::generate();
        let other_key = Key::generate();
        let inter_key = Key::generate();
        let leaf_key = Key::generate();
        let root = Spec::new(ROOT, ROOT, &root_key, &root_key).ca().build();
        let leaf = Spec::new(LEAF, INTER, &leaf_key, &inter_key).build();
        // The trust root's intermediate, signed by a key that is not its root's: within the
        // authority's own chain the names are what the trust root says.
        let inter = Spec::new(INTER, ROOT, &inter_key, &other_key).ca().build();
        let found = path_to(
            &leaf,
            &[],
            &[inter, Arc::clone(&root)],
            AT,
            Use::CodeSigning,
        )
        .expect("a path through the authority's chain");
        assert_eq!(found.issuers, ["Test Intermediate", "Test Root"]);
        // Two certificates named as the intermediate's issuer: the one whose signature it
        // carries is above it, so the expired namesake listed first is not what is checked.
        let inter = Spec::new(INTER, ROOT, &inter_key, &root_key).ca().build();
        let namesake = Spec {
            to: Y2020 + 1,
            ..Spec::new(ROOT, ROOT, &other_key, &other_key).ca()
        }
        .build();
        let found = path_to(&leaf, &[], &[inter, namesake, root], AT, Use::CodeSigning);
        assert!(
            found.is_ok(),
            "the signing namesake, valid at AT, is the issuer: {found:?}"
        );
    }

    #[test]
    fn a_listed_leaf_is_a_time_stamping_rule() {
        let key = Key::generate();
        let leaf = Spec::new(LEAF, ROOT, &key, &key).build();
        let tsa = path_to(&leaf, &[], &[Arc::clone(&leaf)], AT, Use::TimeStamping)
            .expect("a trust root may list the TSA leaf itself");
        assert!(
            tsa.issuer.is_none(),
            "the listed leaf has no issuer on the path"
        );
        assert!(
            !path(&leaf, &[], std::slice::from_ref(&leaf), Use::CodeSigning),
            "a Fulcio leaf must be issued by an anchor"
        );
    }

    #[test]
    fn carried_intermediates_are_a_code_signing_rule() {
        let root_key = Key::generate();
        let inter_key = Key::generate();
        let leaf_key = Key::generate();
        let root = Spec::new(ROOT, ROOT, &root_key, &root_key).ca().build();
        let inter = Spec::new(INTER, ROOT, &inter_key, &root_key).ca().build();
        let leaf = Spec::new(LEAF, INTER, &leaf_key, &inter_key).build();
        let carried = [Arc::clone(&inter)];
        let anchors = [root];
        let fulcio = path_to(&leaf, &carried, &anchors, AT, Use::CodeSigning).expect("path");
        assert_eq!(
            fulcio.issuer.map(|c| c.der.clone()),
            Some(inter.der.clone()),
            "the carried intermediate signed the leaf"
        );
        assert!(
            !path(&leaf, &carried, &anchors, Use::TimeStamping),
            "a TSA path uses only the authority's own certificates"
        );
    }

    #[test]
    fn a_proven_link_vouches_for_those_certificates_only() {
        let root_key = Key::generate();
        let leaf_key = Key::generate();
        let root = Spec::new(ROOT, ROOT, &root_key, &root_key).ca().build();
        let leaf = Spec::new(LEAF, ROOT, &leaf_key, &root_key).build();
        for used in [Use::CodeSigning, Use::TimeStamping] {
            assert!(
                issued_by(&leaf, &root, used),
                "{used:?}: the root signed it"
            );
            assert!(
                issued_by(&leaf, &root, used),
                "{used:?}: and still does (memo)"
            );
        }
        // Same names and key, signed by another key: the memo must not vouch for it.
        let impostor = Spec::new(LEAF, ROOT, &leaf_key, &Key::generate()).build();
        for used in [Use::CodeSigning, Use::TimeStamping] {
            assert!(
                !issued_by(&impostor, &root, used),
                "{used:?}: not the root's"
            );
            assert!(!path(&impostor, &[], &[Arc::clone(&root)], used));
        }
    }
}
