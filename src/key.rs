//! The signing key: a fresh ECDSA P-256 key per signature (or per certificate, when the
//! credential cache keeps it), as Fulcio certifies it and the CMS signer uses it.

use zeroize::Zeroizing;

use crate::oid;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate a signing key")]
    Generation,
    #[error("could not sign with the ephemeral key")]
    Signing,
}

/// A P-256 key that lives for one signature, or for the life of its certificate when the
/// credential cache keeps it. The PKCS#8 bytes are held in a zeroizing buffer so the cache can
/// hand them on; they are wiped when the key is dropped.
pub struct EphemeralKey {
    pair: ring::signature::EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
    pkcs8: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EphemeralKey(P-256, private)")
    }
}

impl EphemeralKey {
    pub fn generate() -> Result<EphemeralKey, KeyError> {
        use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| KeyError::Generation)?;
        let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
        EphemeralKey::from_pkcs8(pkcs8)
    }

    /// A key the credential cache kept (PKCS#8 DER, P-256).
    pub fn from_pkcs8(pkcs8: Zeroizing<Vec<u8>>) -> Result<EphemeralKey, KeyError> {
        use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &rng)
            .map_err(|_| KeyError::Generation)?;
        Ok(EphemeralKey { pair, rng, pkcs8 })
    }

    /// The PKCS#8 DER, for the credential cache only.
    pub fn pkcs8(&self) -> &Zeroizing<Vec<u8>> {
        &self.pkcs8
    }

    /// DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        use crate::der::{cat, oid_der, tlv, BIT_STRING, SEQUENCE};
        use ring::signature::KeyPair as _;
        let algorithm = tlv(
            SEQUENCE,
            &cat(&[&oid_der(&oid::EC_PUBLIC_KEY), &oid_der(&oid::P256)]),
        );
        // BIT STRING with no unused bits over the uncompressed point (RFC 5480 §2.2).
        let key = tlv(BIT_STRING, &cat(&[&[0], self.pair.public_key().as_ref()]));
        tlv(SEQUENCE, &cat(&[&algorithm, &key]))
    }

    pub fn public_pem(&self) -> String {
        crate::pem::encode("PUBLIC KEY", &self.spki_der())
    }

    /// ECDSA-SHA256 over `msg`, ASN.1 DER (what CMS, Fulcio and Rekor expect).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.pair
            .sign(&self.rng, msg)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| KeyError::Signing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_is_a_p256_spki_with_the_uncompressed_point() {
        let key = EphemeralKey::generate().expect("key");
        let spki = key.spki_der();
        // id-ecPublicKey + prime256v1, then a 66-byte BIT STRING (RFC 5480 §2.1.1, §2.2).
        let prefix: [u8; 26] = [
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        assert_eq!(spki.len(), 91, "26-byte header and the 65-byte point");
        assert_eq!(spki[..26], prefix, "the P-256 SubjectPublicKeyInfo header");
        assert_eq!(spki[26], 0x04, "uncompressed point");
        let sig = key.sign(b"message").expect("sign");
        crate::crypto::PublicKey::from_spki_der(&spki)
            .expect("our SPKI parses")
            .verify(crate::crypto::Digest::Sha256, b"message", &sig)
            .expect("the signature verifies under the published key");
    }
}
