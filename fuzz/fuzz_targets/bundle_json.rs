//! Sigstore bundle JSON, turned into the core's input and verified against the public-good
//! root: a bundle is an untrusted file.
#![no_main]
use std::sync::LazyLock;

use gitsign::trust::TrustedRoot;
use gitsign::verify::{self, bundle, policy::Policy};
use libfuzzer_sys::fuzz_target;

static ROOT: LazyLock<TrustedRoot> = LazyLock::new(TrustedRoot::public_good);

fuzz_target!(|data: &[u8]| {
    let Ok(b) = bundle::parse(data) else {
        return;
    };
    let policy = Policy::default();
    let verifier = verify::Verifier::new(&ROOT, verify::Waivers::default());
    for key in [None, Some(&b"\x30\x00"[..])] {
        if let Ok(input) = b.to_input(b"Hello, World!\n", key) {
            let _ = verifier.verify_input(&input, &policy);
        }
    }
});
