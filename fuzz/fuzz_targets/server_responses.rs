//! Network answers: a Rekor log entry (as fetched or kept as a proof) and a Fulcio
//! `signingCert` response. Both are parsed before anything checks their signatures.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gitsign::rekor::parse_proof(data);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = gitsign::rekor::parse_entry(&v);
    }
    let _ = gitsign::fulcio::parse_chain(data);
});
