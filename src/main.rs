//! The `gitsign` binary: everything lives in the library; see `gitsign::cli`.
use std::process::ExitCode;

fn main() -> ExitCode {
    gitsign::cli::run(std::env::args_os())
}
