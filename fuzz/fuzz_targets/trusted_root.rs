//! trusted_root.json (`--trusted-root`, `gitsign.trustedRoot`) and PEM Fulcio bundles.
#![no_main]
use gitsign::trust::TrustedRoot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(root) = TrustedRoot::from_json(data) {
        let _ = root.with_fulcio_pem_bundle(data);
    }
});
