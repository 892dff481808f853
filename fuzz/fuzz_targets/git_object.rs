//! Raw commit and tag objects split into signed payload and signature, as git-core does.
#![no_main]
use gitsign::git::object::{self, HashKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for hash in [HashKind::Sha1, HashKind::Sha256] {
        if let Some(split) = object::split_commit(data, hash) {
            let _ = object::signature_format(&split.signature);
        }
    }
    if let Some(split) = object::split_tag(data) {
        let _ = object::signature_format(&split.signature);
    }
});
