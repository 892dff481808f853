//! Public keys and signature verification, backed by `aws-lc-rs`.
//!
//! Every signature gitsign checks — CMS signer, certificate chain, SCT (RFC 6962 §3.2),
//! Rekor signed entry timestamp and checkpoint, RFC 3161 token — goes through
//! [`PublicKey::verify`]. Keys arrive as DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
//!
//! Backend choice, by `scripts/bench-ecdsa` (single-core verifies per CPU second, one run on
//! this 2-core machine, shared and loaded): a public-good commit costs one P-384/SHA-384
//! verify (Fulcio's intermediate signed the leaf) and two or more P-256/SHA-256 ones (CMS
//! signer, SCT; SET and checkpoint when the entry is embedded), and the P-384 one dominates.
//!
//! | backend          | P-256/SHA-256 | P-384/SHA-384 |
//! |------------------|--------------:|--------------:|
//! | aws-lc-rs 1.19   |        12,118 |         3,578 |
//! | ring 0.17        |        12,249 |         1,053 |
//! | RustCrypto 0.13  |         2,612 |           629 |
//! | `openssl speed`  |        12,896 |           971 |
//!
//! aws-lc-rs verifies P-384 3.3-3.5x faster than ring (AWS-LC has a dedicated P-384
//! implementation; ring's is generic Montgomery arithmetic). On P-256 the two tie within this
//! machine's run-to-run noise (a second run: ring 16,410/s, aws-lc-rs 14,797/s; P-384
//! 1,209 vs 4,228/s). One backend serves every key: P-256 is not kept on ring, because even
//! that run's 11 % lead is 3 % of a commit's ECDSA time (1 P-384 + 2 P-256), not worth a
//! second verification path. AWS-LC's C builds with the
//! cc crate and gcc (no cmake on x86_64 Linux). ring stays in the tree for rustls (TLS only).

use der::{asn1::ObjectIdentifier, Decode};
use spki::SubjectPublicKeyInfoRef;

use crate::oid;

/// Digest paired with a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Sha256,
    Sha384,
    Sha512,
}

impl Digest {
    /// The digest implied by a signature algorithm identifier (RFC 5758, RFC 4055).
    pub fn from_signature_oid(algorithm: &ObjectIdentifier) -> Option<Digest> {
        match *algorithm {
            oid::ECDSA_WITH_SHA256 | oid::SHA256_WITH_RSA => Some(Digest::Sha256),
            oid::ECDSA_WITH_SHA384 | oid::SHA384_WITH_RSA => Some(Digest::Sha384),
            oid::ECDSA_WITH_SHA512 | oid::SHA512_WITH_RSA => Some(Digest::Sha512),
            _ => None,
        }
    }

    /// The digest named by a digest algorithm identifier (CMS digestAlgorithm, RFC 3161 imprint).
    pub fn from_digest_oid(algorithm: &ObjectIdentifier) -> Option<Digest> {
        match *algorithm {
            oid::SHA256 => Some(Digest::Sha256),
            oid::SHA384 => Some(Digest::Sha384),
            oid::SHA512 => Some(Digest::Sha512),
            _ => None,
        }
    }

    /// The position of this digest in per-digest tables.
    fn index(self) -> usize {
        match self {
            Digest::Sha256 => 0,
            Digest::Sha384 => 1,
            Digest::Sha512 => 2,
        }
    }

    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        match self {
            Digest::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Digest::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Digest::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).into()
}

/// SHA-1 of `data` (git object ids, certificate fingerprints), hex. From aws-lc, which
/// verification sets up anyway: ring's CPU feature probe (cpuid, which traps in virtual
/// machines) is then not run by a process that only verifies.
pub fn sha1_hex(data: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    crate::encoding::hex(d.as_ref())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    EcP256,
    EcP384,
    Ed25519,
    Rsa,
}

/// A parsed public key, ready to verify signatures.
#[derive(Clone)]
pub struct PublicKey {
    kind: KeyKind,
    /// The subjectPublicKey bits: an uncompressed EC point, a raw Ed25519 key or RSAPublicKey DER.
    raw: Vec<u8>,
    /// An EC key as the backend holds it, per digest ([`Digest::index`]), made at its first
    /// verify with that digest: a CA's or a CT log's key (kept with its certificate or the
    /// trust root) verifies every commit of a range, and its point is decoded and checked to
    /// be on the curve once, not at every verify. `None`: the backend refused the key.
    prepared: [std::sync::OnceLock<Option<aws_lc_rs::signature::ParsedPublicKey>>; 3],
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.kind == other.kind && self.raw == other.raw
    }
}

impl Eq for PublicKey {}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({:?})", self.kind)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum CryptoError {
    #[error("malformed public key")]
    MalformedKey,
    #[error("unsupported public key algorithm {0}")]
    UnsupportedKey(String),
    #[error("unsupported combination of key and digest")]
    UnsupportedDigest,
    #[error("signature does not verify")]
    BadSignature,
}

impl PublicKey {
    /// Parse a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, CryptoError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|_| CryptoError::MalformedKey)?;
        let raw = spki
            .subject_public_key
            .as_bytes()
            .ok_or(CryptoError::MalformedKey)?
            .to_vec();
        let kind = match spki.algorithm.oid {
            oid::EC_PUBLIC_KEY => {
                let curve: ObjectIdentifier = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as().ok())
                    .ok_or(CryptoError::MalformedKey)?;
                match curve {
                    oid::P256 => KeyKind::EcP256,
                    oid::P384 => KeyKind::EcP384,
                    other => return Err(CryptoError::UnsupportedKey(format!("EC curve {other}"))),
                }
            }
            oid::ED25519 => KeyKind::Ed25519,
            oid::RSA_ENCRYPTION => KeyKind::Rsa,
            other => return Err(CryptoError::UnsupportedKey(other.to_string())),
        };
        Ok(PublicKey::new(kind, raw))
    }

    fn new(kind: KeyKind, raw: Vec<u8>) -> PublicKey {
        PublicKey {
            kind,
            raw,
            prepared: Default::default(),
        }
    }

    /// An RSA key given as a bare PKCS #1 RSAPublicKey (trust roots' `PKCS1_RSA_*` keys).
    pub fn from_pkcs1_rsa(der: &[u8]) -> Result<PublicKey, CryptoError> {
        crate::der::single(der, crate::der::SEQUENCE, "RSAPublicKey")
            .map_err(|_| CryptoError::MalformedKey)?;
        Ok(PublicKey::new(KeyKind::Rsa, der.to_vec()))
    }

    /// Verify `sig` over `msg` (the message itself, not its digest).
    ///
    /// ECDSA signatures are DER `Ecdsa-Sig-Value`; Ed25519 ignores `digest` (it hashes internally);
    /// RSA is PKCS #1 v1.5.
    pub fn verify(&self, digest: Digest, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        use aws_lc_rs::signature as s;
        let alg: &dyn s::VerificationAlgorithm = match (self.kind, digest) {
            (KeyKind::EcP256, Digest::Sha256) => &s::ECDSA_P256_SHA256_ASN1,
            (KeyKind::EcP256, Digest::Sha384) => &s::ECDSA_P256_SHA384_ASN1,
            (KeyKind::EcP384, Digest::Sha256) => &s::ECDSA_P384_SHA256_ASN1,
            (KeyKind::EcP384, Digest::Sha384) => &s::ECDSA_P384_SHA384_ASN1,
            (KeyKind::Ed25519, _) => &s::ED25519,
            (KeyKind::Rsa, Digest::Sha256) => &s::RSA_PKCS1_2048_8192_SHA256,
            (KeyKind::Rsa, Digest::Sha384) => &s::RSA_PKCS1_2048_8192_SHA384,
            (KeyKind::Rsa, Digest::Sha512) => &s::RSA_PKCS1_2048_8192_SHA512,
            _ => return Err(CryptoError::UnsupportedDigest),
        };
        if matches!(self.kind, KeyKind::EcP256 | KeyKind::EcP384) {
            // The same parse and check the unparsed key makes at every verify, made once.
            let prepared = self.prepared.get(digest.index()).and_then(|slot| {
                slot.get_or_init(|| s::ParsedPublicKey::new(alg, &self.raw).ok())
                    .as_ref()
            });
            return match prepared {
                Some(key) => key
                    .verify_sig(msg, sig)
                    .map_err(|_| CryptoError::BadSignature),
                None => Err(CryptoError::BadSignature),
            };
        }
        s::UnparsedPublicKey::new(alg, &self.raw)
            .verify(msg, sig)
            .map_err(|_| CryptoError::BadSignature)
    }

    /// Verify an RSASSA-PSS signature (MGF1 with the same digest, salt as long as the digest:
    /// what TUF's `rsassa-pss-sha256` keys sign with).
    pub fn verify_rsa_pss(
        &self,
        digest: Digest,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), CryptoError> {
        use aws_lc_rs::signature as s;
        let alg: &dyn s::VerificationAlgorithm = match (self.kind, digest) {
            (KeyKind::Rsa, Digest::Sha256) => &s::RSA_PSS_2048_8192_SHA256,
            (KeyKind::Rsa, Digest::Sha384) => &s::RSA_PSS_2048_8192_SHA384,
            (KeyKind::Rsa, Digest::Sha512) => &s::RSA_PSS_2048_8192_SHA512,
            _ => return Err(CryptoError::UnsupportedDigest),
        };
        s::UnparsedPublicKey::new(alg, &self.raw)
            .verify(msg, sig)
            .map_err(|_| CryptoError::BadSignature)
    }

    /// Whether this is an RSA key.
    pub fn is_rsa(&self) -> bool {
        self.kind == KeyKind::Rsa
    }

    /// The raw 32-byte key, when this is an Ed25519 key (C2SP signed notes hash it into key ids).
    pub fn ed25519_raw(&self) -> Option<&[u8]> {
        (self.kind == KeyKind::Ed25519).then_some(self.raw.as_slice())
    }

    /// The digest a signature by this key uses when the format does not say (Rekor, CT logs).
    pub fn default_digest(&self) -> Digest {
        match self.kind {
            KeyKind::EcP384 => Digest::Sha384,
            _ => Digest::Sha256,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage_spki_without_panicking() {
        assert_eq!(
            PublicKey::from_spki_der(b"\x30\x03\x02\x01\x00"),
            Err(CryptoError::MalformedKey),
            "a SEQUENCE holding an INTEGER is not an SPKI"
        );
        assert!(
            PublicKey::from_spki_der(&[]).is_err(),
            "empty input is not a key"
        );
    }
}
