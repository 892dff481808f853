//! The policy language: a committed policy is untrusted bytes (anyone may push one), so the
//! parser must refuse anything malformed without panicking. Key files are served from memory:
//! every path names the same small file, so authorities with key files parse too.
#![no_main]
use gitsign::policy::{FileSource, PolicyFile, SourceError};
use libfuzzer_sys::fuzz_target;

struct AnyFile;

impl FileSource for AnyFile {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        if path.starts_with('/') {
            return Err(SourceError::Absolute);
        }
        Ok(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n".to_vec())
    }

    fn describe(&self, path: &str) -> String {
        path.to_owned()
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = PolicyFile::parse(text, "fuzz.toml", &AnyFile) {
        let _ = p.warnings();
        let _ = p.rule_for("refs/heads/main");
    }
});
