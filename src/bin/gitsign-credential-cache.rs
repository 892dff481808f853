//! The `gitsign-credential-cache` binary: everything lives in the library; see
//! `gitsign::cli::credential_cache` and `gitsign::cache`.
use std::process::ExitCode;

fn main() -> ExitCode {
    gitsign::cli::credential_cache::run(std::env::args_os())
}
