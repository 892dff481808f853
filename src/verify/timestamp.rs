//! RFC 3161 timestamp tokens (placeholder API: rejects every token until implemented).
use crate::trust::TrustedRoot;

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum TimestampError {
    #[error("timestamp token is malformed")]
    Malformed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    pub time: i64,
    pub tsa_uri: String,
}

pub fn verify_timestamp_token(
    _token_der: &[u8],
    _signed_bytes: &[u8],
    _root: &TrustedRoot,
) -> Result<VerifiedTimestamp, TimestampError> {
    Err(TimestampError::Malformed)
}
