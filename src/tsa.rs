//! The timestamp authority client (RFC 3161 over HTTP, §3.4): ask for a token over the
//! signature and verify it against the trust root before it is embedded as the unsigned
//! attribute id-aa-timeStampToken. Beside [`crate::fulcio`] and [`crate::rekor`], the other
//! network edges of signing.

use crate::http::Http;
use crate::trust::TrustedRoot;

#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    #[error("could not reach the timestamp authority at '{url}'")]
    Http {
        url: String,
        #[source]
        source: crate::http::HttpError,
    },
    #[error("the timestamp authority refused: {0}")]
    Refused(String),
    #[error("the timestamp does not verify")]
    Verify(#[source] crate::verify::timestamp::TimestampError),
}

/// RFC 3161 §2.4: `TimeStampReq { version 1, messageImprint { sha256, SHA-256(signature) },
/// nonce, certReq TRUE }` → the `timeStampToken` of the answer, verified against the root.
pub fn request_timestamp(
    http: &Http,
    url: &str,
    signature: &[u8],
    root: &TrustedRoot,
) -> Result<Vec<u8>, TsaError> {
    use crate::der::{self, tlv};
    let imprint = tlv(
        der::SEQUENCE,
        &[
            tlv(
                der::SEQUENCE,
                &[
                    tlv(der::OID, crate::oid::SHA256.as_bytes()),
                    vec![0x05, 0x00],
                ]
                .concat(),
            ),
            tlv(der::OCTET_STRING, &crate::crypto::sha256(signature)),
        ]
        .concat(),
    );
    let nonce = crate::oidc::random_token()
        .map(|t| crate::crypto::sha256(t.as_bytes()))
        .unwrap_or_default();
    // A positive INTEGER: clear the top bit of the first of 16 random bytes.
    let mut n = nonce[..16].to_vec();
    if let Some(first) = n.first_mut() {
        *first &= 0x7f;
        *first |= 0x01;
    }
    let req = tlv(
        der::SEQUENCE,
        &[
            tlv(der::INTEGER, &[1]),
            imprint,
            tlv(der::INTEGER, &n),
            tlv(der::BOOLEAN, &[0xff]),
        ]
        .concat(),
    );
    let reply = http
        .post_bytes(url, "application/timestamp-query", &req)
        .map_err(|source| TsaError::Http {
            url: url.to_owned(),
            source,
        })?;
    if !reply.ok() {
        return Err(TsaError::Refused(format!(
            "{} {}",
            reply.status,
            reply.snippet()
        )));
    }
    let resp = crate::cms::timestamp::parse_response(&reply.body)
        .map_err(|e| TsaError::Refused(format!("malformed answer: {e}")))?;
    if !resp.granted() {
        return Err(TsaError::Refused(format!(
            "status {}",
            resp.status
                .map(|c| c.to_string())
                .unwrap_or_else(|| "unknown".into())
        )));
    }
    let token = resp
        .token
        .ok_or_else(|| TsaError::Refused("no token in the granted answer".into()))?;
    crate::verify::timestamp::verify_timestamp_token(token.raw, signature, root)
        .map_err(TsaError::Verify)?;
    Ok(token.raw.to_vec())
}
