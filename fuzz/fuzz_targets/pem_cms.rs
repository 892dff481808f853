//! PEM armor and CMS SignedData, then the whole commit pipeline (CMS → core) against the
//! public-good root: a gitsign signature is attacker-controlled bytes in a git object.
#![no_main]
use std::sync::LazyLock;

use gitsign::trust::TrustedRoot;
use gitsign::verify::{self, policy::Policy};
use libfuzzer_sys::fuzz_target;

static ROOT: LazyLock<TrustedRoot> = LazyLock::new(TrustedRoot::public_good);

fuzz_target!(|data: &[u8]| {
    let _ = gitsign::pem::decode_all(data, "SIGNED MESSAGE");
    let _ = gitsign::pem::decode_all(data, "CERTIFICATE");
    if let Ok(msg) = gitsign::cms::parse(data) {
        let _ = msg.check_content(b"payload");
        let _ = msg.check(b"payload");
    }
    let policy = Policy::default();
    let waivers = verify::Waivers {
        time: verify::TimeAnchor::Waived,
        sct: verify::Sct::Required,
    };
    let verifier = verify::Verifier::new(&ROOT, waivers);
    let _ = verifier.verify_detached(b"payload", data, &policy);
    let _ = verify::timestamp::verify_timestamp_token(data, b"signature", &ROOT);
    let _ = verify::timestamp::token_from_response(data);
});
