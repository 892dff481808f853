//! Test fixtures shared by the tlog tests: real signed commits from tests/data/gitsign-commits
//! and the pieces of their CMS signature the log entry is checked against.

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};

use super::{decode_embedded, hashedrekord_body, TlogEntry};
use crate::crypto::sha256;
use crate::encoding::hex;
use crate::trust::TrustedRoot;

pub(super) const FIXTURES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/gitsign-commits");
pub(super) const LEGACY_SHA: &str = "c47e8bf5c86212dc9b6db0e3ec4df27a978b3d6e";
pub(super) const PROTOBUF_SHA: &str = "fe1e62346d3c346a343d089e8b4c3fb57716bc94";

/// What the tests need from one real signed commit.
pub(super) struct Signed {
    pub(super) payload: Vec<u8>,
    pub(super) signed_attrs_der: Vec<u8>,
    pub(super) signature: Vec<u8>,
    pub(super) cert_pem: String,
    pub(super) unsigned: Vec<(ObjectIdentifier, Vec<u8>)>,
}

/// Split a raw commit as git does: the `gpgsig` header and its continuation lines (minus
/// one leading space) are the signature; the commit without them is the payload.
fn split_commit(raw: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut payload = Vec::new();
    let mut sig = Vec::new();
    let mut in_headers = true;
    let mut in_sig = false;
    for line in raw.split_inclusive(|b| *b == b'\n') {
        if in_headers && in_sig && line.first() == Some(&b' ') {
            sig.extend_from_slice(&line[1..]);
            continue;
        }
        in_sig = false;
        if in_headers && line.starts_with(b"gpgsig ") {
            sig.extend_from_slice(&line[b"gpgsig ".len()..]);
            in_sig = true;
            continue;
        }
        if line == b"\n" {
            in_headers = false;
        }
        payload.extend_from_slice(line);
    }
    (payload, sig)
}

pub(super) fn load(sha: &str) -> Signed {
    use cms::content_info::ContentInfo;
    use cms::signed_data::{SignedData, SignerIdentifier};
    let raw = std::fs::read(format!("{FIXTURES}/{sha}.commit")).expect("fixture exists");
    let (payload, armored) = split_commit(&raw);
    let der = crate::pem::decode_one(&armored, "SIGNED MESSAGE").expect("gitsign armor");
    let ci = ContentInfo::from_der(&der).expect("ContentInfo");
    let sd: SignedData = ci.content.decode_as().expect("SignedData");
    let si = sd.signer_infos.0.get(0).expect("one signer").clone();
    let SignerIdentifier::IssuerAndSerialNumber(isn) = &si.sid else {
        panic!("gitsign identifies the signer by issuer and serial")
    };
    let leaf = sd
        .certificates
        .as_ref()
        .expect("certificates")
        .0
        .iter()
        .find_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c)
                if c.tbs_certificate.serial_number == isn.serial_number =>
            {
                Some(c.to_der().expect("re-encode"))
            }
            _ => None,
        })
        .expect("leaf certificate in the CMS");
    let unsigned = si
        .unsigned_attrs
        .iter()
        .flat_map(|a| a.iter())
        .map(|a| {
            let first = a.values.iter().next().expect("a value");
            (a.oid, first.to_der().expect("re-encode"))
        })
        .collect();
    Signed {
        payload,
        signed_attrs_der: si
            .signed_attrs
            .as_ref()
            .expect("signed attrs")
            .to_der()
            .expect("der"),
        signature: si.signature.as_bytes().to_vec(),
        cert_pem: crate::pem::encode("CERTIFICATE", &leaf),
        unsigned,
    }
}

pub(super) fn body_of(s: &Signed) -> Vec<u8> {
    hashedrekord_body(
        &hex(&sha256(&s.signed_attrs_der)),
        &s.signature,
        &s.cert_pem,
    )
}

pub(super) fn manifest() -> serde_json::Value {
    let m = std::fs::read(format!("{FIXTURES}/manifest.json")).expect("manifest");
    serde_json::from_slice(&m).expect("manifest JSON")
}

pub(super) fn entry_of(sha: &str) -> (TlogEntry, Vec<u8>) {
    let s = load(sha);
    let entry = decode_embedded(&s.unsigned)
        .expect("decodes")
        .expect("has an entry");
    (entry, body_of(&s))
}

pub(super) fn root() -> TrustedRoot {
    TrustedRoot::public_good()
}
