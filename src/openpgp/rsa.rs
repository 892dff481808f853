//! RSA signatures (PKCS#1 v1.5, RFC 9580 §5.2.3.1) checked by aws-lc: the one costly step of
//! the `pgp` crate's `Signature::verify` (data signatures) and of its self-signature checks
//! (the keyring's, through [`RsaChecked`]). The crate still does everything else — it hashes the
//! payload (as canonical text for a text signature) or the key and user id, and the signature's
//! hashed trailer, checks the digest's left 16 bits against the packet's and the issuer against
//! the key — and then hands the digest to the key's `VerifyingKey::verify`. For an RSA key of 2048 to 8192 bits
//! and SHA-256, SHA-384 or SHA-512 that last step is answered here (a 4096-bit check costs
//! ~1 ms in the crate's pure-Rust `rsa`, a few dozen µs in aws-lc); every other key, hash and
//! signature shape is left to the crate.
//!
//! Both give the same answer for every input answered here: the crate's `rsa` holds only keys
//! with an odd modulus and an odd exponent from 3 to 2^33 - 1 (the keys aws-lc takes), a
//! signature shorter than the modulus is left-padded with zeros by both (the crate pads, aws-lc
//! is handed it padded; a longer one is left to the crate), one not below the modulus is refused
//! by both, and both compare the whole encoded message `00 01 FF.. 00 DigestInfo` (with its
//! NULL parameters) byte for byte.

use ::rsa::traits::PublicKeyParts as _;
use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::signature::{
    ParsedPublicKey, RsaParameters, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256,
    RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::types::{
    Fingerprint, KeyDetails, KeyId, KeyVersion, PublicParams, SignatureBytes, Timestamp,
    VerifyingKey,
};

/// The modulus sizes aws-lc's `RSA_PKCS1_2048_8192_*` algorithms take, in bits.
const BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

/// An RSA public key parsed by aws-lc, once for each hash it checks.
#[derive(Debug, Clone)]
pub(crate) struct RsaKey {
    /// The modulus' length in bytes: the length of a signature as aws-lc takes it.
    len: usize,
    sha256: ParsedPublicKey,
    sha384: ParsedPublicKey,
    sha512: ParsedPublicKey,
}

impl RsaKey {
    /// The key of `params`, or `None` if it is not RSA or not of a size checked here.
    pub(crate) fn new(params: &PublicParams) -> Option<RsaKey> {
        let PublicParams::RSA(params) = params else {
            return None;
        };
        if !BITS.contains(&params.key.n().bits()) {
            return None;
        }
        let n = params.key.n().to_bytes_be();
        let e = params.key.e().to_bytes_be();
        let components = RsaPublicKeyComponents {
            n: n.as_slice(),
            e: e.as_slice(),
        };
        let parse = |alg: &'static RsaParameters| components.to_parsed_public_key(alg).ok();
        Some(RsaKey {
            len: n.len(),
            sha256: parse(&RSA_PKCS1_2048_8192_SHA256)?,
            sha384: parse(&RSA_PKCS1_2048_8192_SHA384)?,
            sha512: parse(&RSA_PKCS1_2048_8192_SHA512)?,
        })
    }

    /// Whether `signature` is this key's over `digest`, a digest by `hash`; `None` where the
    /// answer is left to the crate (another hash, a signature that is not one number or is
    /// longer than the modulus).
    pub(crate) fn verify(
        &self,
        hash: HashAlgorithm,
        digest: &[u8],
        signature: &SignatureBytes,
    ) -> Option<bool> {
        let (key, alg) = match hash {
            HashAlgorithm::Sha256 => (&self.sha256, &digest::SHA256),
            HashAlgorithm::Sha384 => (&self.sha384, &digest::SHA384),
            HashAlgorithm::Sha512 => (&self.sha512, &digest::SHA512),
            _ => return None,
        };
        let SignatureBytes::Mpis(mpis) = signature else {
            return None;
        };
        let [number] = mpis.as_slice() else {
            return None;
        };
        let number = number.as_ref();
        let pad = self.len.checked_sub(number.len())?;
        let digest = Digest::import_less_safe(digest, alg).ok()?;
        let mut padded = vec![0; pad];
        padded.extend_from_slice(number);
        Some(key.verify_digest_sig(&digest, &padded).is_ok())
    }
}

/// Checks `signature` over `digest` with `rsa` where it answers, else with the crate's `key`:
/// the `VerifyingKey::verify` of a key that has both.
pub(crate) fn verify(
    rsa: Option<&RsaKey>,
    key: &(impl VerifyingKey + ?Sized),
    hash: HashAlgorithm,
    digest: &[u8],
    signature: &SignatureBytes,
) -> pgp::errors::Result<()> {
    match rsa.and_then(|k| k.verify(hash, digest, signature)) {
        Some(true) => Ok(()),
        Some(false) => Err(String::from("the RSA signature does not verify").into()),
        None => key.verify(hash, digest, signature),
    }
}

/// A crate key whose RSA signatures aws-lc checks where it can: what the keyring checks a
/// certificate's self-signatures with (the key is hashed and named as the crate does it).
#[derive(Debug)]
pub(crate) struct RsaChecked<'a, K> {
    key: &'a K,
    rsa: Option<RsaKey>,
}

impl<'a, K: KeyDetails> RsaChecked<'a, K> {
    pub(crate) fn new(key: &'a K) -> Self {
        RsaChecked {
            key,
            rsa: RsaKey::new(key.public_params()),
        }
    }

    /// The aws-lc key, kept for the key's data signatures.
    pub(crate) fn into_rsa(self) -> Option<RsaKey> {
        self.rsa
    }
}

impl<K: KeyDetails> KeyDetails for RsaChecked<'_, K> {
    fn version(&self) -> KeyVersion {
        self.key.version()
    }

    fn legacy_key_id(&self) -> KeyId {
        self.key.legacy_key_id()
    }

    fn fingerprint(&self) -> Fingerprint {
        self.key.fingerprint()
    }

    fn algorithm(&self) -> PublicKeyAlgorithm {
        self.key.algorithm()
    }

    fn created_at(&self) -> Timestamp {
        self.key.created_at()
    }

    fn legacy_v3_expiration_days(&self) -> Option<u16> {
        self.key.legacy_v3_expiration_days()
    }

    fn public_params(&self) -> &PublicParams {
        self.key.public_params()
    }
}

impl<K: VerifyingKey> VerifyingKey for RsaChecked<'_, K> {
    fn verify(
        &self,
        hash: HashAlgorithm,
        digest: &[u8],
        signature: &SignatureBytes,
    ) -> pgp::errors::Result<()> {
        verify(self.rsa.as_ref(), self.key, hash, digest, signature)
    }
}

impl<K: pgp::ser::Serialize> pgp::ser::Serialize for RsaChecked<'_, K> {
    fn to_writer<W: std::io::Write>(&self, writer: &mut W) -> pgp::errors::Result<()> {
        self.key.to_writer(writer)
    }

    fn write_len(&self) -> usize {
        self.key.write_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openpgp::keyring::{hex_upper, Material};
    use crate::openpgp::Keyring;
    use pgp::composed::{Deserializable, DetachedSignature};
    use pgp::packet::Signature;
    use pgp::types::{KeyDetails, Mpi, VerifyingKey};

    fn data(rel: &str) -> Vec<u8> {
        let path = format!("{}/tests/data/{rel}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The primary keys of a key file (every armored block, as the keyring reads them).
    fn keys(rel: &str) -> Vec<pgp::packet::PublicKey> {
        let mut ring = Keyring::new();
        ring.add_file(&data(rel)).expect("the key file reads");
        ring.certs
            .iter()
            .map(|c| match &c.primary.material {
                Material::Primary(k) => k.clone(),
                Material::Subkey(_) => panic!("a primary key"),
            })
            .collect()
    }

    fn signature(rel: &str) -> Signature {
        DetachedSignature::from_armor_single(data(rel).as_slice())
            .expect("the signature reads")
            .0
            .signature
    }

    /// What OpenPGP hashes for a binary signature over `payload`, by the crate's own code.
    fn digest(sig: &Signature, payload: &[u8]) -> Vec<u8> {
        let config = sig.config().expect("a v4 signature");
        let mut hasher = config.hash_alg.new_hasher().expect("a known hash");
        config
            .hash_data_to_sign(&mut hasher, payload)
            .expect("payload hashed");
        let len = config
            .hash_signature_data(&mut hasher)
            .expect("trailer hashed");
        hasher.update(&config.trailer(len).expect("a v4 trailer"));
        hasher.finalize().to_vec()
    }

    fn number(sig: &SignatureBytes) -> Vec<u8> {
        let SignatureBytes::Mpis(mpis) = sig else {
            panic!("an RSA signature is one number")
        };
        mpis[0].as_ref().to_vec()
    }

    /// The web-flow key of 2017 (RSA 2048) and one of its signatures (SHA-256).
    fn web_flow_2017() -> (pgp::packet::PublicKey, Signature, Vec<u8>) {
        let key = keys("keys/github-web-flow.asc")
            .into_iter()
            .find(|k| hex_upper(k.legacy_key_id().as_ref()) == "4AEE18F83AFDEB23")
            .expect("the 2017 key");
        let sig = signature("openpgp/web-flow-2017.sig.asc");
        let payload = data("openpgp/web-flow-2017.payload");
        (key, sig, payload)
    }

    /// A key below 2048 bits is not checked here; the crate checks its signatures as before.
    #[test]
    fn a_key_below_2048_bits_is_left_to_the_crate() {
        let mut ring = Keyring::new();
        ring.add_file(&data("openpgp/rsa1024.asc"))
            .expect("the key file reads");
        assert!(
            ring.certs[0].primary.rsa.is_none(),
            "RSA 1024 is the crate's"
        );
        let payload = data("openpgp/rsa1024.payload");
        let sig = data("openpgp/rsa1024.sig.asc");
        let signer = crate::openpgp::verify(&payload, &sig, &ring).expect("gpg says good");
        assert_eq!(
            signer.key_fingerprint,
            "628CB1AAE490C3B3739AEE9FC80BDE688DE71665"
        );
        let mut changed = payload.clone();
        changed[10] ^= 1;
        assert_eq!(
            crate::openpgp::verify(&changed, &sig, &ring).map_err(|e| e.code()),
            Err("bad_signature")
        );
    }

    /// A self-signature (checked by aws-lc: RSA 4096, SHA-512) with a changed number leaves the
    /// certificate without a valid one, so it is dropped; unchanged, it loads.
    #[test]
    fn a_changed_self_signature_is_refused() {
        use pgp::composed::SignedPublicKey;
        use pgp::ser::Serialize as _;
        let armored = data("keys/github-web-flow.asc");
        let (first, _) =
            SignedPublicKey::from_armor_single(armored.as_slice()).expect("the first key");
        assert_eq!(
            hex_upper(first.primary_key.legacy_key_id().as_ref()),
            "B5690EEEBB952194"
        );
        assert!(RsaKey::new(first.primary_key.public_params()).is_some());
        // The certificate ends with its user id's self-signature, which ends with its number.
        let binary = first.to_bytes().expect("serialises");
        let mut changed = binary.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        let mut ring = Keyring::new();
        assert_eq!(ring.add_file(&binary).expect("reads").len(), 0);
        assert_eq!(ring.len(), 1);
        let mut ring = Keyring::new();
        let warnings = ring.add_file(&changed).expect("reads");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(ring.is_empty());
    }

    #[test]
    fn web_flow_keys_are_checked_here() {
        let keys = keys("keys/github-web-flow.asc");
        assert_eq!(keys.len(), 2);
        for key in keys {
            assert!(RsaKey::new(key.public_params()).is_some(), "{key:?}");
        }
    }

    /// The signature verifies, and a changed payload or signature is refused — here and by
    /// the crate alike.
    #[test]
    fn a_changed_payload_or_signature_is_refused() {
        let (key, sig, payload) = web_flow_2017();
        let rsa = RsaKey::new(key.public_params()).expect("RSA 2048");
        let hash = sig.hash_alg().expect("a hash");
        assert_eq!(hash, HashAlgorithm::Sha256);
        let bytes = sig.signature().expect("signature bytes");
        let good = digest(&sig, &payload);
        assert_eq!(rsa.verify(hash, &good, bytes), Some(true));

        let mut changed = payload.clone();
        changed[10] ^= 1;
        let bad_digest = digest(&sig, &changed);
        let mut flipped = number(bytes);
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let bad_sig = SignatureBytes::Mpis(vec![Mpi::from_slice(&flipped)]);
        for (digest, sig_bytes, name) in [
            (&bad_digest, bytes, "changed payload"),
            (&good, &bad_sig, "changed signature"),
        ] {
            assert_eq!(rsa.verify(hash, digest, sig_bytes), Some(false), "{name}");
            assert!(key.verify(hash, digest, sig_bytes).is_err(), "{name}");
        }
    }

    /// Odd shapes get the crate's answer, or are left to it.
    #[test]
    fn odd_signatures_agree_with_the_crate_or_are_left_to_it() {
        let (key, sig, payload) = web_flow_2017();
        let rsa = RsaKey::new(key.public_params()).expect("RSA 2048");
        let hash = sig.hash_alg().expect("a hash");
        let good = digest(&sig, &payload);
        let n = number(sig.signature().expect("signature bytes"));
        let PublicParams::RSA(params) = key.public_params() else {
            panic!("an RSA key")
        };
        let modulus = params.key.n().to_bytes_be();
        let mpis = |numbers: &[&[u8]]| {
            SignatureBytes::Mpis(numbers.iter().map(|b| Mpi::from_slice(b)).collect())
        };
        let (empty, one): (&[u8], &[u8]) = (&[], &[1]);
        let answered = [
            mpis(&[empty]),
            mpis(&[one]),
            mpis(&[&n[1..]]),
            mpis(&[&modulus]),
            mpis(&[&[0xff; 256]]),
        ];
        for s in &answered {
            assert_eq!(
                rsa.verify(hash, &good, s),
                Some(key.verify(hash, &good, s).is_ok()),
                "{s:?}"
            );
            assert_eq!(rsa.verify(hash, &good, s), Some(false), "{s:?}");
        }
        let mut longer = vec![1];
        longer.extend_from_slice(&n);
        let left = [
            mpis(&[&longer]),
            mpis(&[&n, &n]),
            mpis(&[]),
            SignatureBytes::Native(n.clone().into()),
        ];
        for s in &left {
            assert_eq!(rsa.verify(hash, &good, s), None, "{s:?}");
        }
        let right = mpis(&[&n]);
        for other in [
            HashAlgorithm::Sha1,
            HashAlgorithm::Sha224,
            HashAlgorithm::Sha3_256,
        ] {
            assert_eq!(rsa.verify(other, &good, &right), None, "{other:?}");
        }
        assert_eq!(
            rsa.verify(HashAlgorithm::Sha512, &good, &right),
            None,
            "a digest of the wrong length"
        );
    }
}
