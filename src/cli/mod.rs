//! stub
pub fn run(_args: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode { std::process::ExitCode::SUCCESS }
