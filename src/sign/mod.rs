//! Signing: the pipeline from identity to signature ([`flow`]), and how git is told what
//! signed (the gpg algorithm ids of `SIG_CREATED`). The CMS encoder is [`crate::cms::encode`],
//! the key [`crate::key`], the network edges [`crate::fulcio`], [`crate::rekor`], [`crate::tsa`].

pub mod flow;

use const_oid::ObjectIdentifier;

use crate::oid;

/// gpg's public-key and hash algorithm ids (RFC 4880 §9.1, §9.4) for the algorithm the issuer
/// signed the leaf with, as Go gitsign's `EmitSigCreated` maps `cert.SignatureAlgorithm`.
pub fn gpg_algorithms(cert_signature_algorithm: &ObjectIdentifier) -> (u8, u8) {
    match *cert_signature_algorithm {
        oid::ECDSA_WITH_SHA256 => (19, 8),
        oid::ECDSA_WITH_SHA384 => (19, 9),
        oid::ECDSA_WITH_SHA512 => (19, 10),
        oid::SHA256_WITH_RSA => (1, 8),
        oid::SHA384_WITH_RSA => (1, 9),
        oid::SHA512_WITH_RSA => (1, 10),
        _ => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sig_created_algorithms_follow_the_issuers_signature() {
        assert_eq!(
            gpg_algorithms(&oid::ECDSA_WITH_SHA256),
            (19, 8),
            "ECDSA, SHA-256"
        );
        assert_eq!(
            gpg_algorithms(&oid::ECDSA_WITH_SHA384),
            (19, 9),
            "ECDSA, SHA-384 (public-good Fulcio)"
        );
        assert_eq!(
            gpg_algorithms(&oid::SHA256_WITH_RSA),
            (1, 8),
            "RSA, SHA-256"
        );
        assert_eq!(
            crate::gpg_status::sig_created(19, 8, 1_700_000_000, "a1b2"),
            "[GNUPG:] SIG_CREATED D 19 8 00 1700000000 a1b2\n",
            "the line git parses"
        );
    }
}
