//! The trust root: which Fulcio CAs, Rekor logs, CT logs and timestamp authorities are
//! believed, and when.
//!
//! Format: Sigstore `trusted_root.json` (protobuf-specs `dev.sigstore.trustroot.v1.TrustedRoot`,
//! JSON mapping). The public-good root is embedded; `--trusted-root`, `gitsign.trustedRoot`
//! or `GITSIGN_TRUSTED_ROOT` replace it. Go gitsign's `gitsign.fulcioRoot` /
//! `GITSIGN_FULCIO_ROOT` / `SIGSTORE_ROOT_FILE` (a PEM bundle) replace only the Fulcio CAs.

use base64::Engine as _;
use serde::Deserialize;

use crate::crypto::{CryptoError, PublicKey};

pub mod tsa_chain;

/// The Sigstore public-good trusted root, as shipped by the Sigstore clients.
pub const PUBLIC_GOOD_TRUSTED_ROOT: &str = include_str!("assets/public-good-trusted_root.json");

/// A half-open validity window in Unix seconds; `None` means unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Validity {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

impl Validity {
    pub fn contains(&self, t: i64) -> bool {
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t <= e)
    }
}

/// A transparency log (Rekor) or certificate transparency log key.
#[derive(Debug, Clone)]
pub struct LogKey {
    pub base_url: String,
    /// SHA-256 of the DER SPKI (or the id the trust root declares).
    pub key_id: Vec<u8>,
    pub key: PublicKey,
    pub spki_der: Vec<u8>,
    pub valid_for: Validity,
}

/// A certificate authority (Fulcio) or timestamp authority: its chain, leaf-most first, root last.
#[derive(Debug, Clone)]
pub struct Authority {
    pub uri: String,
    pub chain_der: Vec<Vec<u8>>,
    /// `chain_der` parsed once at load (certificates that do not parse are left out).
    pub certs: Vec<std::sync::Arc<crate::x509::Cert>>,
    pub valid_for: Validity,
}

#[derive(Debug, Clone)]
pub struct TrustedRoot {
    pub certificate_authorities: Vec<Authority>,
    pub tlogs: Vec<LogKey>,
    pub ctlogs: Vec<LogKey>,
    pub timestamp_authorities: Vec<Authority>,
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("trusted root is not valid JSON")]
    Json(#[source] serde_json::Error),
    #[error("unsupported trusted root media type '{0}'")]
    MediaType(String),
    #[error("invalid base64 in {0}")]
    Base64(&'static str),
    #[error("invalid time '{0}' in a validFor window")]
    Time(String),
    #[error("a validFor window has no start (protobuf-specs TimeRange requires one)")]
    MissingValidityStart,
    #[error("invalid public key for log '{url}'")]
    Key {
        url: String,
        #[source]
        source: CryptoError,
    },
    #[error("no certificates found in the PEM bundle")]
    EmptyPem,
    #[error("malformed PEM bundle")]
    Pem,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    media_type: Option<String>,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawAuthority>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
    #[serde(default)]
    timestamp_authorities: Vec<RawAuthority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    #[serde(default)]
    base_url: String,
    public_key: RawPublicKey,
    log_id: Option<RawLogId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPublicKey {
    raw_bytes: Option<String>,
    key_details: Option<String>,
    valid_for: Option<RawValidity>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAuthority {
    #[serde(default)]
    uri: String,
    cert_chain: Option<RawChain>,
    valid_for: Option<RawValidity>,
}

/// `X509CertificateChain` of the protobuf-specs JSON mapping (also used by bundles).
#[derive(Deserialize)]
pub(crate) struct RawChain {
    #[serde(default)]
    pub(crate) certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawCert {
    pub(crate) raw_bytes: String,
}

#[derive(Deserialize)]
struct RawValidity {
    start: Option<String>,
    end: Option<String>,
}

fn b64(s: &str, what: &'static str) -> Result<Vec<u8>, TrustError> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|_| TrustError::Base64(what))
}

fn validity(v: Option<RawValidity>) -> Result<Validity, TrustError> {
    let Some(v) = v else {
        return Ok(Validity::default());
    };
    let time = |s: Option<String>| -> Result<Option<i64>, TrustError> {
        s.map(|s| crate::encoding::parse_rfc3339(&s).ok_or(TrustError::Time(s)))
            .transpose()
    };
    // An open start would silently widen trust back to the epoch: refuse the root instead.
    if v.start.is_none() {
        return Err(TrustError::MissingValidityStart);
    }
    Ok(Validity {
        start: time(v.start)?,
        end: time(v.end)?,
    })
}

fn log_key(raw: RawLog) -> Result<Option<LogKey>, TrustError> {
    let Some(bytes) = raw.public_key.raw_bytes else {
        return Ok(None);
    };
    let spki_der = b64(&bytes, "a log public key")?;
    let details = raw.public_key.key_details.as_deref().unwrap_or("");
    let key = if details.starts_with("PKCS1_RSA") {
        PublicKey::from_pkcs1_rsa(&spki_der)
    } else {
        PublicKey::from_spki_der(&spki_der)
    };
    let key = match key {
        Ok(k) => k,
        // A key type this build cannot use makes that one log unusable, not the whole root.
        Err(CryptoError::UnsupportedKey(_)) => return Ok(None),
        Err(source) => {
            return Err(TrustError::Key {
                url: raw.base_url,
                source,
            })
        }
    };
    let key_id = match raw.log_id {
        Some(id) => b64(&id.key_id, "a log id")?,
        None => crate::crypto::sha256(&spki_der).to_vec(),
    };
    Ok(Some(LogKey {
        base_url: raw.base_url,
        key_id,
        key,
        spki_der,
        valid_for: validity(raw.public_key.valid_for)?,
    }))
}

impl Authority {
    pub fn new(uri: String, chain_der: Vec<Vec<u8>>, valid_for: Validity) -> Authority {
        Authority {
            uri,
            certs: parse_certs(&chain_der),
            chain_der,
            valid_for,
        }
    }
}

fn parse_certs(ders: &[Vec<u8>]) -> Vec<std::sync::Arc<crate::x509::Cert>> {
    ders.iter()
        .filter_map(|d| crate::x509::Cert::parse(d).ok())
        .map(std::sync::Arc::new)
        .collect()
}

fn authority(raw: RawAuthority) -> Result<Authority, TrustError> {
    let chain_der = raw
        .cert_chain
        .map(|c| c.certificates)
        .unwrap_or_default()
        .into_iter()
        .map(|c| b64(&c.raw_bytes, "a certificate"))
        .collect::<Result<Vec<Vec<u8>>, _>>()?;
    Ok(Authority {
        uri: raw.uri,
        certs: parse_certs(&chain_der),
        chain_der,
        valid_for: validity(raw.valid_for)?,
    })
}

impl TrustedRoot {
    /// The embedded Sigstore public-good root.
    pub fn public_good() -> TrustedRoot {
        TrustedRoot::from_json(PUBLIC_GOOD_TRUSTED_ROOT.as_bytes())
            .expect("the embedded trusted root parses because a unit test checks it")
    }

    /// Parse a `trusted_root.json`.
    pub fn from_json(bytes: &[u8]) -> Result<TrustedRoot, TrustError> {
        let raw: RawRoot = serde_json::from_slice(bytes).map_err(TrustError::Json)?;
        if let Some(mt) = &raw.media_type {
            if !mt.starts_with("application/vnd.dev.sigstore.trustedroot") {
                return Err(TrustError::MediaType(mt.clone()));
            }
        }
        let logs = |v: Vec<RawLog>| -> Result<Vec<LogKey>, TrustError> {
            Ok(v.into_iter()
                .map(log_key)
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect())
        };
        let auths = |v: Vec<RawAuthority>| -> Result<Vec<Authority>, TrustError> {
            v.into_iter().map(authority).collect()
        };
        Ok(TrustedRoot {
            tlogs: logs(raw.tlogs)?,
            ctlogs: logs(raw.ctlogs)?,
            certificate_authorities: auths(raw.certificate_authorities)?,
            timestamp_authorities: auths(raw.timestamp_authorities)?,
        })
    }

    /// Replace the Fulcio CAs with the certificates of a PEM bundle (Go gitsign's
    /// `GITSIGN_FULCIO_ROOT`): each certificate becomes a trust anchor valid at all times,
    /// and intermediates in the bundle are offered as chain candidates.
    pub fn with_fulcio_pem_bundle(mut self, pem: &[u8]) -> Result<TrustedRoot, TrustError> {
        let certs = crate::pem::decode_all(pem, "CERTIFICATE").map_err(|_| TrustError::Pem)?;
        if certs.is_empty() {
            return Err(TrustError::EmptyPem);
        }
        self.certificate_authorities = certs
            .into_iter()
            .map(|der| Authority {
                uri: String::new(),
                certs: parse_certs(std::slice::from_ref(&der)),
                chain_der: vec![der],
                valid_for: Validity::default(),
            })
            .collect();
        Ok(self)
    }

    /// The Rekor log whose id is `key_id`.
    pub fn tlog(&self, key_id: &[u8]) -> Option<&LogKey> {
        self.tlogs.iter().find(|l| l.key_id == key_id)
    }

    /// The CT log whose id is `key_id`.
    pub fn ctlog(&self, key_id: &[u8]) -> Option<&LogKey> {
        self.ctlogs.iter().find(|l| l.key_id == key_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_public_good_root_parses_with_both_fulcio_generations() {
        let root = TrustedRoot::from_json(PUBLIC_GOOD_TRUSTED_ROOT.as_bytes())
            .expect("embedded root must parse");
        assert_eq!(
            root.certificate_authorities.len(),
            2,
            "the 2021 root and the 2022 root + intermediate"
        );
        assert!(
            root.tlogs.len() >= 2,
            "Rekor v1 (ECDSA) and the 2025 Rekor v2 shard (Ed25519)"
        );
        let rekor = root
            .tlog(&b64("wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=", "t").expect("b64"))
            .expect("rekor.sigstore.dev is trusted");
        assert_eq!(
            rekor.key_id,
            crate::crypto::sha256(&rekor.spki_der).to_vec(),
            "the declared log id is the SHA-256 of the key"
        );
    }

    #[test]
    fn rejects_other_media_types_and_bad_times() {
        assert!(matches!(
            TrustedRoot::from_json(br#"{"mediaType":"application/json"}"#),
            Err(TrustError::MediaType(_))
        ));
        let bad_time = r#"{"certificateAuthorities":[{"certChain":{"certificates":[]},"validFor":{"start":"yesterday"}}]}"#;
        assert!(matches!(
            TrustedRoot::from_json(bad_time.as_bytes()),
            Err(TrustError::Time(_))
        ));
    }

    #[test]
    fn validity_window_is_inclusive_and_open_ended() {
        let v = Validity {
            start: Some(10),
            end: None,
        };
        assert!(!v.contains(9) && v.contains(10) && v.contains(i64::MAX));
        let w = Validity {
            start: None,
            end: Some(10),
        };
        assert!(w.contains(10) && !w.contains(11));
    }
}
