//! The `gitsign-credential-cache` binary: everything lives in the library; see
//! `gitsign::cli::credential_cache` and `gitsign::cache`.
use std::process::ExitCode;

#[cfg(unix)]
fn main() -> ExitCode {
    gitsign::cli::credential_cache::run(std::env::args_os())
}

#[cfg(not(unix))]
fn main() -> ExitCode {
    eprintln!("gitsign-credential-cache: error: needs Unix domain sockets; use gitsign.credentialStore=keyring");
    ExitCode::from(2)
}
