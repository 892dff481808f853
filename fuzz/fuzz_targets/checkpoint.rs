//! Checkpoint notes (C2SP signed note + tlog-checkpoint) as carried in inclusion proofs.
#![no_main]
use gitsign::verify::tlog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = std::str::from_utf8(data) {
        let _ = tlog::parse_checkpoint(note);
    }
});
