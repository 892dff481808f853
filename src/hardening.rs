//! Process hardening while secrets are in memory (issue 16.11): the signing process holds the
//! OIDC token and the ephemeral private key, the credential cache daemon holds keys for hours.
//!
//! Linux: `prctl(PR_SET_DUMPABLE, 0)` — no core dump at all (the kernel checks dumpability
//! before any `core_pattern`, pipe handlers included), no same-user ptrace, and `/proc/<pid>`
//! owned by root. It lasts until `execve`, so a browser or helper we spawn is unaffected.
//! Other Unixes: `RLIMIT_CORE` 0 (inherited by children, which is harmless). Both through
//! rustix's safe wrappers; `unsafe` stays forbidden.

/// Forbid core dumps of this process from now on.
pub fn forbid_core_dumps() -> std::io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)?;
    #[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
    rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )?;
    Ok(())
}
