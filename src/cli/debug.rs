//! `gitsign debug token` (hidden, as in Go gitsign): run the login gitsign would run for
//! signing and show what the token says — its verified claims, decoded. Unlike Go's, which
//! prints the raw token, the token itself is never printed: it is a credential for a
//! signing certificate in the user's name.

use std::process::ExitCode;

use super::{CliError, CliResult, Exit};

#[derive(clap::Args, Debug)]
pub struct DebugArgs {
    #[command(subcommand)]
    pub command: DebugCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum DebugCommand {
    /// Get an identity token as signing would and print its verified claims (never the token)
    Token,
}

pub fn run(args: &DebugArgs) -> CliResult {
    match args.command {
        DebugCommand::Token => token(),
    }
}

fn token() -> CliResult {
    let config = super::load_config()?;
    let config_error = |e: crate::config::ConfigError| {
        CliError::new(Exit::Config, anyhow::Error::new(e)).hint("fix the value named above")
    };
    let mut settings = crate::oidc::Settings::from_config(&config).map_err(config_error)?;
    let timeout = config
        .seconds(crate::config::Key::Timeout)
        .map_err(config_error)?;
    let mut tty = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/tty")
        .ok();
    settings.terminal = tty.is_some();
    let http = crate::http::Http::new(timeout);
    let env = |k: &str| std::env::var(k).ok();
    let mut say = |t: &str| {
        use std::io::Write as _;
        let shown = tty
            .as_mut()
            .is_some_and(|f| f.write_all(t.as_bytes()).is_ok());
        if !shown {
            crate::ui::eprint(t);
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let id = crate::oidc::identity(&http, &settings, &env, &mut say, now).map_err(|e| {
        CliError::new(
            Exit::Io,
            anyhow::Error::new(e).context("could not get an identity token"),
        )
        .hint("check gitsign.issuer / gitsign.tokenProvider; the same login runs when signing")
    })?;
    let shown = serde_json::json!({
        "provider": id.provider.name(),
        "claims": id.claims.all,
    });
    super::output::print(
        format!(
            "{}\n",
            serde_json::to_string_pretty(&shown).unwrap_or_default()
        )
        .as_bytes(),
    )?;
    Ok(ExitCode::SUCCESS)
}
