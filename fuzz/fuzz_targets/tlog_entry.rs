//! The TransparencyLogEntry a gitsign signature embeds (protobuf in an OCTET STRING, or the
//! 2023 multi-attribute layout), decoded and verified against the public-good root.
#![no_main]
use std::sync::LazyLock;

use gitsign::trust::TrustedRoot;
use gitsign::verify::tlog;
use libfuzzer_sys::fuzz_target;

static ROOT: LazyLock<TrustedRoot> = LazyLock::new(TrustedRoot::public_good);

fuzz_target!(|data: &[u8]| {
    let (selector, rest) = data.split_first().unwrap_or((&0, data));
    let attrs = if selector & 1 == 0 {
        // OCTET STRING { protobuf }, the current layout.
        let mut v = vec![0x04];
        let len = rest.len();
        if len < 0x80 {
            v.push(len as u8);
        } else {
            let b = (len as u32).to_be_bytes();
            v.push(0x84);
            v.extend_from_slice(&b);
        }
        v.extend_from_slice(rest);
        vec![(tlog::OID_TLOG_ENTRY, v)]
    } else {
        // Raw attribute values, one per 57264.3.x arc, separated by 0xfe.
        rest.split(|b| *b == 0xfe)
            .take(9)
            .enumerate()
            .filter_map(|(i, v)| {
                let oid = format!("1.3.6.1.4.1.57264.3.{i}");
                const_oid_parse(&oid).map(|o| (o, v.to_vec()))
            })
            .collect()
    };
    if let Ok(Some(entry)) = tlog::decode_embedded(&attrs) {
        let _ = tlog::verify_entry(&entry, rest, &ROOT);
        let _ = tlog::encode_embedded(&entry);
    }
});

fn const_oid_parse(s: &str) -> Option<der::asn1::ObjectIdentifier> {
    der::asn1::ObjectIdentifier::new(s).ok()
}
