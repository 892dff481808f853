//! `gitsign.timestampCertChain` (`GITSIGN_TIMESTAMP_CERT_CHAIN`): a PEM chain of an RFC 3161
//! timestamp authority, trusted for timestamp tokens in addition to the trust root's own
//! timestamp authorities.
//!
//! Go gitsign v0.17.1 reads the same file two ways: its CMS verifier adds every certificate of
//! it to the system roots as a TSA anchor, and its bundle path makes one authority per
//! self-signed certificate with the others as intermediates, refusing a file without a root
//! ("must include a root CA"). We follow the bundle path, the stricter of the two: one
//! [`Authority`] per self-signed certificate, its chain ordered leaf-most first by walking
//! issuer names down from that root. The token's signer must then chain to it with valid
//! signatures at `genTime` ([`crate::verify::timestamp`]), for signing (the TSA's answer is
//! checked before it is embedded) and for verifying.

use cms::cert::x509::Certificate;
use der::Decode;

use super::{Authority, TrustedRoot, Validity};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    #[error("malformed PEM")]
    Pem,
    #[error("no CERTIFICATE blocks")]
    Empty,
    #[error("certificate {0} of the chain is not a valid X.509 certificate")]
    Certificate(usize),
    #[error("the chain has no root CA (no self-signed certificate)")]
    NoRoot,
}

/// The authorities a PEM chain declares: one per self-signed certificate, each with the
/// certificates that lead down to it (leaf-most first, the root last).
pub fn authorities(pem: &[u8]) -> Result<Vec<Authority>, ChainError> {
    let ders = crate::pem::decode_all(pem, "CERTIFICATE").map_err(|_| ChainError::Pem)?;
    if ders.is_empty() {
        return Err(ChainError::Empty);
    }
    let certs = ders
        .iter()
        .enumerate()
        .map(|(i, d)| Certificate::from_der(d).map_err(|_| ChainError::Certificate(i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let self_signed = |c: &Certificate| c.tbs_certificate.subject == c.tbs_certificate.issuer;
    let mut out = Vec::new();
    for r in (0..certs.len()).filter(|&i| self_signed(&certs[i])) {
        // Walk down: the next certificate is one issued by the current top (by name; the
        // signatures are checked when a token is verified).
        let mut path = vec![r];
        while let Some(next) = path.last().and_then(|&top| {
            (0..certs.len()).find(|&i| {
                !path.contains(&i)
                    && !self_signed(&certs[i])
                    && certs[i].tbs_certificate.issuer == certs[top].tbs_certificate.subject
            })
        }) {
            path.push(next);
        }
        let chain_der = path.iter().rev().map(|&i| ders[i].clone()).collect();
        out.push(Authority::new(
            String::new(),
            chain_der,
            Validity::default(),
        ));
    }
    if out.is_empty() {
        return Err(ChainError::NoRoot);
    }
    Ok(out)
}

impl TrustedRoot {
    /// This root with the authorities of a `gitsign.timestampCertChain` PEM added to its
    /// timestamp authorities.
    pub fn with_timestamp_pem_chain(mut self, pem: &[u8]) -> Result<TrustedRoot, ChainError> {
        self.timestamp_authorities.extend(authorities(pem)?);
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The public-good TSA chain of the embedded root (leaf first, root last), as PEM in
    /// the order `order` gives.
    fn public_good_pem(order: &[usize]) -> (Vec<Vec<u8>>, Vec<u8>) {
        let root = TrustedRoot::public_good();
        let chain = root
            .timestamp_authorities
            .first()
            .expect("the public-good root lists a TSA")
            .chain_der
            .clone();
        assert!(chain.len() >= 2, "leaf and root at least");
        let pem = order
            .iter()
            .filter_map(|&i| chain.get(i))
            .map(|d| crate::pem::encode("CERTIFICATE", d))
            .collect::<String>();
        (chain, pem.into_bytes())
    }

    #[test]
    fn a_chain_in_any_order_becomes_one_authority_leaf_first() {
        let (chain, _) = public_good_pem(&[]);
        let reversed: Vec<usize> = (0..chain.len()).rev().collect();
        for order in [(0..chain.len()).collect::<Vec<_>>(), reversed] {
            let (_, pem) = public_good_pem(&order);
            let auths = authorities(&pem).expect("parses");
            assert_eq!(auths.len(), 1, "one self-signed root");
            assert_eq!(auths[0].chain_der, chain, "order {order:?}");
            assert_eq!(auths[0].valid_for, Validity::default());
        }
    }

    #[test]
    fn a_chain_without_its_root_or_without_certificates_is_refused() {
        let (chain, _) = public_good_pem(&[]);
        let (_, leaf_only) = public_good_pem(&[0]);
        assert_eq!(authorities(&leaf_only).err(), Some(ChainError::NoRoot));
        let (_, root_only) = public_good_pem(&[chain.len() - 1]);
        assert_eq!(
            authorities(&root_only).map(|a| a[0].chain_der.len()),
            Ok(1),
            "a root alone is an anchor the token's signer may chain to"
        );
        assert_eq!(authorities(b"").err(), Some(ChainError::Empty));
        assert_eq!(
            authorities(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").err(),
            Some(ChainError::Certificate(1))
        );
        let grown = TrustedRoot::public_good()
            .with_timestamp_pem_chain(&public_good_pem(&[0, chain.len() - 1]).1)
            .expect("adds");
        assert_eq!(
            grown.timestamp_authorities.len(),
            TrustedRoot::public_good().timestamp_authorities.len() + 1,
            "added beside the trust root's own"
        );
    }
}
