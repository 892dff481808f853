//! `gitsign initialize`: point gitsign's trust at a TUF repository (as Go gitsign's and
//! cosign's `initialize`): fetch, verify and cache its trusted root and signing config under
//! `$TUF_ROOT` so that signing and verification follow it from then on.

use super::Exit;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use super::{CliError, CliResult};
use crate::tuf;

#[derive(Args, Debug)]
#[command(
    about = "Fetch and cache the Sigstore trusted root and signing config through TUF",
    long_about = "Fetch and cache the Sigstore trusted root and signing config through TUF.

By default the public-good repository at https://tuf-repo-cdn.sigstore.dev is used, starting \
from the root.json embedded in gitsign. The verified metadata is cached under \
$TUF_ROOT/gitsign-rs (default ~/.sigstore/root/gitsign-rs); later commands use the cache \
offline until it expires, then refresh it. gitsign.trustedRoot / GITSIGN_TRUSTED_ROOT still \
take precedence."
)]
pub struct InitializeArgs {
    /// TUF repository URL: https://, http:// or file:///path for an air-gapped copy
    #[arg(long, value_name = "URL", default_value = tuf::DEFAULT_MIRROR)]
    pub mirror: String,
    /// Trusted initial root.json [default: the embedded public-good root]
    #[arg(long, value_name = "FILE")]
    pub root: Option<PathBuf>,
}

pub fn run(args: &InitializeArgs) -> CliResult {
    let settings = tuf::Settings::from_env(|k| std::env::var(k).ok()).ok_or_else(|| {
        CliError::new(Exit::Config, anyhow::anyhow!("cannot locate the TUF cache"))
            .hint("set TUF_ROOT or HOME")
    })?;
    let root = match &args.root {
        Some(p) => Some(
            std::fs::read(p).with_context(|| format!("reading the TUF root '{}'", p.display()))?,
        ),
        None => None,
    };
    let done = tuf::initialize(&settings, &args.mirror, root.as_deref(), now()).map_err(|e| {
        let hint = match (&e, &args.root) {
            (tuf::InitializeError::InitialRoot(_), Some(p)) => format!(
                "the --root file '{}' must be the repository's root.json, self-signed by a threshold of its own root keys in a form gitsign reads (ecdsa P-256/P-384 and RSA as PEM public keys, ed25519 as hex)",
                p.display()
            ),
            (tuf::InitializeError::InitialRoot(_), None) => {
                "the embedded public-good root is unusable; pass the repository's root.json with --root".to_owned()
            }
            (tuf::InitializeError::Expired(_), _) => {
                "check the system clock; if it is right, the mirror serves metadata nobody re-signed (a frozen or stale mirror)".to_owned()
            }
            (tuf::InitializeError::Update(_), _) => {
                "check the --mirror URL and the network; pass the repository's initial root.json with --root if it is not the public-good one".to_owned()
            }
        };
        CliError::new(
            Exit::Config,
            anyhow::Error::new(e).context(format!(
                "cannot initialize TUF from '{}'",
                crate::text::escape(&args.mirror)
            )),
        )
        .hint(&hint)
    })?;
    super::output::print(
        format!(
            "Initialized TUF from {} (root version {}, expires {}); cached in {}\n",
            crate::text::escape(&done.mirror),
            done.root_version,
            crate::encoding::rfc3339(done.root_expires),
            settings.dir.display()
        )
        .as_bytes(),
    )?;
    match &done.signing_config {
        tuf::SigningConfigState::Present(_) => {}
        tuf::SigningConfigState::Absent => crate::ui::eprint(&format!(
            "gitsign: warning: '{}' publishes no {}; signing uses the configured or default service URLs\n",
            crate::text::escape(&done.mirror),
            tuf::SIGNING_CONFIG_TARGET
        )),
        tuf::SigningConfigState::Unusable(why) => crate::ui::eprint(&format!(
            "gitsign: warning: '{}' lists {} but it cannot be used ({why}); signing refuses until it can\n",
            crate::text::escape(&done.mirror),
            tuf::SIGNING_CONFIG_TARGET
        )),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
