//! CMS SignedData (RFC 5652) as gitsign uses it, bytes in and values out: the reader
//! ([`decode`]), the encoder shaped like Go gitsign's ([`encode`]) and attached signatures
//! ([`attached`]), and the RFC 3161 `TimeStampResp` ([`timestamp`]). The token inside a
//! signature is verified by [`crate::verify::timestamp`].

pub mod attached;
pub mod decode;
pub mod encode;
pub mod timestamp;

pub use decode::{
    parse, parse_der, Attribute, CheckedContent, CheckedSignature, CmsError, SignedMessage,
    SignerId, SignerInfo, PEM_LABEL,
};
pub use encode::{armor, encode, signed_attributes, SignError, UnsignedAttribute};
