//! Attached (encapsulating) SignedData, gpg's `-s` without `-b` and `--verify SIG` with no
//! data file, as Go gitsign offers them.
//!
//! An attached signature differs from a detached one only in `encapContentInfo`: it carries
//! `eContent [0] EXPLICIT OCTET STRING` (RFC 5652 §5.2). Everything the signature, a Rekor
//! entry and an RFC 3161 timestamp cover — the signed attributes, whose messageDigest is the
//! digest of the content, and the signature value — is the same either way. So [`attach`]
//! inserts the content into a detached signature and [`detach`] takes it out again; the
//! detached verifier does the rest. Pure: DER in, DER out.

use super::CmsError;
use crate::der::{self, ctx, expect, header, read};

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = header(tag, content.len());
    out.extend_from_slice(content);
    out
}

/// The pieces of `ContentInfo { signedData, [0] SignedData }` around `encapContentInfo`.
struct Split<'a> {
    /// The ContentInfo's contentType OID element.
    content_type: &'a [u8],
    /// SignedData's version and digestAlgorithms elements.
    before: &'a [u8],
    /// eContentType OID element.
    econtent_type: &'a [u8],
    /// `[0] EXPLICIT OCTET STRING` contents when attached.
    econtent: Option<&'a [u8]>,
    /// certificates, crls, signerInfos.
    after: &'a [u8],
}

fn split(der: &[u8]) -> Result<Split<'_>, CmsError> {
    let (content_info, _) = expect(der, der::SEQUENCE, "ContentInfo")?;
    let (ct, rest) = read(content_info.value)?;
    let (explicit, _) = expect(rest, ctx(0), "[0] content")?;
    let (signed_data, _) = expect(explicit.value, der::SEQUENCE, "SignedData")?;
    let (version, rest) = expect(signed_data.value, der::INTEGER, "version")?;
    let (digests, rest) = expect(rest, der::SET, "digestAlgorithms")?;
    let before_len = version.raw.len() + digests.raw.len();
    let (encap, after) = expect(rest, der::SEQUENCE, "encapContentInfo")?;
    let (econtent_type, encap_rest) = read(encap.value)?;
    let econtent = if encap_rest.is_empty() {
        None
    } else {
        let (wrapper, trailing) = expect(encap_rest, ctx(0), "[0] eContent")?;
        if !trailing.is_empty() {
            return Err(der::DerError::Trailing("eContent").into());
        }
        let (octets, trailing) = expect(wrapper.value, der::OCTET_STRING, "eContent")?;
        if !trailing.is_empty() {
            return Err(der::DerError::Trailing("eContent").into());
        }
        Some(octets.value)
    };
    Ok(Split {
        content_type: ct.raw,
        before: &signed_data.value[..before_len],
        econtent_type: econtent_type.raw,
        econtent,
        after,
    })
}

fn join(s: &Split<'_>, econtent: Option<&[u8]>) -> Vec<u8> {
    let mut encap = s.econtent_type.to_vec();
    if let Some(content) = econtent {
        encap.extend(tlv(ctx(0), &tlv(der::OCTET_STRING, content)));
    }
    let signed_data = [s.before, &tlv(der::SEQUENCE, &encap), s.after].concat();
    let explicit = tlv(ctx(0), &tlv(der::SEQUENCE, &signed_data));
    tlv(der::SEQUENCE, &[s.content_type, &explicit].concat())
}

/// A detached signature over `content`, turned into the attached signature over it.
pub fn attach(detached_der: &[u8], content: &[u8]) -> Result<Vec<u8>, CmsError> {
    let s = split(detached_der)?;
    if s.econtent.is_some() {
        return Err(CmsError::NotDetached);
    }
    Ok(join(&s, Some(content)))
}

/// An attached signature split into its content and the equivalent detached signature
/// (DER). A detached signature comes back unchanged with `None`.
pub fn detach(der: &[u8]) -> Result<(Option<Vec<u8>>, Vec<u8>), CmsError> {
    let s = split(der)?;
    match s.econtent {
        None => Ok((None, der.to_vec())),
        Some(content) => Ok((Some(content.to_vec()), join(&s, None))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_der() -> Vec<u8> {
        let raw = include_bytes!("../../tests/data/gitsign-commits/manifest.json");
        let manifest: serde_json::Value = serde_json::from_slice(raw).expect("manifest");
        let file = manifest["commits"][0]["file"].as_str().expect("file");
        let commit = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/gitsign-commits")
                .join(file),
        )
        .expect("fixture commit");
        let split = crate::git::object::split_commit(&commit, crate::git::object::HashKind::Sha1)
            .expect("signed commit");
        crate::pem::decode_one(&split.signature, super::super::PEM_LABEL).expect("armor")
    }

    #[test]
    fn attach_then_detach_is_the_identity_and_the_content_is_encapsulated() {
        let der = fixture_der();
        let attached = attach(&der, b"payload bytes").expect("attach");
        assert_ne!(attached, der);
        assert!(
            attached
                .windows(b"payload bytes".len())
                .any(|w| w == b"payload bytes"),
            "the content is inside the attached signature"
        );
        assert!(
            matches!(
                super::super::parse_der(&attached),
                Err(CmsError::NotDetached)
            ),
            "the detached parser sees the content"
        );
        let (content, back) = detach(&attached).expect("detach");
        assert_eq!(content.as_deref(), Some(&b"payload bytes"[..]));
        assert_eq!(back, der, "byte-exact round trip");
        assert_eq!(detach(&der).expect("detached"), (None, der.clone()));
        assert!(attach(&attached, b"x").is_err(), "already attached");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [&b""[..], b"\x30", b"\x30\x03\x06\x01\x00", b"\x30\x80"] {
            assert!(detach(bad).is_err());
            assert!(attach(bad, b"x").is_err());
        }
        let der = fixture_der();
        for cut in [1, 10, der.len() / 2, der.len() - 1] {
            let _ = detach(&der[..cut]);
        }
    }
}
