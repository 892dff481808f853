//! RFC 3161 `TimeStampResp` (§2.4.2), read once for both its readers: the TSA client
//! ([`crate::tsa`]) and the verifier of a bundle's `signedTimestamp` ([`crate::verify::timestamp`]).
//!
//! ```text
//! TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }
//! PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL,
//!                              failInfo PKIFailureInfo OPTIONAL }
//! ```
//!
//! The token itself (a CMS SignedData over a TSTInfo) is verified by
//! [`crate::verify::timestamp::verify_timestamp_token`].

use crate::der::{self, DerError, Tlv};

/// A parsed `TimeStampResp`: its `PKIStatus` and the token it carries, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeStampResp<'a> {
    /// `PKIStatus`, or `None` when it is not a small non-negative INTEGER.
    pub status: Option<u64>,
    /// The `timeStampToken` element (DER ContentInfo), whole.
    pub token: Option<Tlv<'a>>,
}

impl TimeStampResp<'_> {
    /// `granted` (0) or `grantedWithMods` (1): the only answers that carry a usable token.
    pub fn granted(&self) -> bool {
        matches!(self.status, Some(0 | 1))
    }
}

/// Read a `TimeStampResp`: one SEQUENCE holding a PKIStatusInfo SEQUENCE and at most one
/// further SEQUENCE (the token), nothing after it.
pub fn parse_response(input: &[u8]) -> Result<TimeStampResp<'_>, DerError> {
    let resp = der::single(input, der::SEQUENCE, "TimeStampResp")?;
    let (status_info, rest) = der::expect(resp.value, der::SEQUENCE, "PKIStatusInfo")?;
    // DER INTEGERs are minimal (X.690 §8.3.2): a leading zero only before a high bit.
    let minimal = |t: &Tlv<'_>| !matches!(t.value, [0, next, ..] if next & 0x80 == 0);
    let status = der::read(status_info.value)
        .ok()
        .filter(|(t, _)| minimal(t))
        .and_then(|(t, _)| der::small_uint(&t).ok());
    let token = if rest.is_empty() {
        None
    } else {
        Some(der::single(rest, der::SEQUENCE, "timeStampToken")?)
    };
    Ok(TimeStampResp { status, token })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_and_token() {
        // SEQUENCE { SEQUENCE { INTEGER 0 }, SEQUENCE { OID 1.2 } }
        let granted = [
            0x30, 0x09, 0x30, 0x03, 0x02, 0x01, 0x00, 0x30, 0x02, 0x06, 0x00,
        ];
        let resp = parse_response(&granted).expect("a granted response parses");
        assert_eq!(resp.status, Some(0), "status granted");
        assert!(resp.granted(), "0 is granted");
        assert_eq!(
            resp.token.map(|t| t.raw),
            Some(&granted[7..]),
            "the token is handed back whole"
        );
        // SEQUENCE { SEQUENCE { INTEGER 2 } }: rejection, no token.
        let rejected = [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02];
        let resp = parse_response(&rejected).expect("a rejection parses");
        assert_eq!(
            (resp.status, resp.token),
            (Some(2), None),
            "rejected, no token"
        );
        assert!(!resp.granted(), "2 is not granted");
    }

    #[test]
    fn refuses_what_is_not_a_response() {
        let trailing = [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00, 0x00];
        assert!(
            parse_response(&trailing).is_err(),
            "bytes after the response"
        );
        let extra = [
            0x30, 0x0d, 0x30, 0x03, 0x02, 0x01, 0x00, 0x30, 0x02, 0x06, 0x00, 0x30, 0x02, 0x06,
            0x00,
        ];
        assert!(
            parse_response(&extra).is_err(),
            "an element after the token"
        );
        let not_status = [0x30, 0x03, 0x02, 0x01, 0x00];
        assert!(
            parse_response(&not_status).is_err(),
            "status is not a SEQUENCE"
        );
        let padded = [0x30, 0x06, 0x30, 0x04, 0x02, 0x02, 0x00, 0x01];
        let resp = parse_response(&padded).expect("the shape is a response");
        assert_eq!(resp.status, None, "a non-minimal INTEGER is no status");
        assert!(!resp.granted(), "and not granted");
    }
}
