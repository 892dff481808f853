//! git's gpg-style argv (`--status-fd=2 -bsau KEY`, `--status-fd=1 --verify SIG -`), one
//! argument per NUL-separated field.
#![no_main]
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut args = vec![OsString::from("gitsign")];
    args.extend(
        data.split(|b| *b == 0)
            .map(|a| OsString::from_vec(a.to_vec())),
    );
    let _ = gitsign::cli::gpg::parse(&args);
});
