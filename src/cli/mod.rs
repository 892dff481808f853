//! Command line: clap for gitsign's own subcommands, a hand parser for git's gpg-style argv
//! (`--status-fd=2 -bsau KEY`, `--status-fd=1 --verify SIG -`), exit codes and error rendering.
//!
//! Exit codes come from one place, [`Exit`]: 0 all good; 1 a negative answer (bad or missing
//! signature, policy not met); 2 could not decide (no time anchor, usage, config, network,
//! I/O); 255 internal bug.

pub mod anchored;
pub mod attest;
pub mod completion;
pub mod credential_cache;
pub mod debug;
pub mod facts;
pub mod gpg;
pub mod gpg_trust;
pub mod hook;
pub mod initialize;
pub mod output;
pub mod policy;
pub mod setup;
pub mod show;
pub mod signers;
pub mod verify;
pub mod verify_attestation;
pub mod verify_bundle;
pub mod verify_tag;
pub mod version;
pub mod vsa;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, Key, Source};

/// How a command ends: the one place exit codes are chosen (README "Exit status").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every object verified, or the command did what was asked.
    Good,
    /// A negative answer: unsigned, bad signature, policy not met, push refused.
    Negative,
    /// Could not decide: nothing proves when a signature was made.
    Undecided,
    /// The command line is wrong.
    Usage,
    /// A setting or a file it names is invalid.
    Config,
    /// A file, the repository, the network or a pipe failed.
    Io,
    /// A bug in gitsign (its own output does not verify, an encoder failed).
    Internal,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Good => 0,
            Exit::Negative => 1,
            Exit::Undecided | Exit::Usage | Exit::Config | Exit::Io => 2,
            Exit::Internal => 255,
        }
    }

    /// The verdict of a set of objects: negative if any is bad, else undecided if any is,
    /// else good.
    pub fn of(tally: &crate::verify::Tally) -> Exit {
        if tally.bad > 0 {
            Exit::Negative
        } else if tally.undecided > 0 {
            Exit::Undecided
        } else {
            Exit::Good
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

impl From<&crate::sign::flow::FlowError> for Exit {
    fn from(e: &crate::sign::flow::FlowError) -> Exit {
        use crate::sign::flow::FlowError as F;
        match e {
            // Our own encoder or our own signature failing our verifier is a bug.
            F::Cms(_) | F::SelfCheck(_) => Exit::Internal,
            F::Config(_) | F::RekorV2WithoutTimestamp | F::RekorV2Online => Exit::Config,
            // Signing failed, so nothing was decided about any signature.
            _ => Exit::Io,
        }
    }
}

/// An error on the way to an answer, with what the user can do about it.
pub struct CliError {
    pub kind: Exit,
    pub error: anyhow::Error,
    pub hint: Option<String>,
}

impl CliError {
    pub fn new(kind: Exit, error: anyhow::Error) -> CliError {
        CliError {
            kind,
            error,
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }
}

impl<E: Into<anyhow::Error>> From<E> for CliError {
    /// A configuration error keeps its kind; anything else reached with `?` is I/O.
    fn from(e: E) -> Self {
        let error = e.into();
        let kind = if error.downcast_ref::<crate::config::ConfigError>().is_some() {
            Exit::Config
        } else {
            Exit::Io
        };
        CliError::new(kind, error)
    }
}

pub type CliResult = Result<ExitCode, CliError>;

const LONG_ABOUT: &str = "\
Keyless signing and verification of git commits and tags with Sigstore.

git runs gitsign as its x509 signing program. Set it up once:

    git config --global gpg.format x509
    git config --global gpg.x509.program gitsign
    git config --global commit.gpgsign true

then `git commit` signs, and `git verify-commit`, `git log --show-signature` and
`gitsign verify` check signatures.";

#[derive(Parser, Debug)]
#[command(name = "gitsign", version, about = "Keyless git signing with Sigstore", long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to colour messages on stderr
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    pub color: crate::ui::ColorChoice,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Verify(verify::VerifyArgs),
    VerifyTag(verify_tag::VerifyTagArgs),
    VerifyBundle(verify_bundle::VerifyBundleArgs),
    Completion(completion::CompletionArgs),
    Hook(hook::HookArgs),
    Attest(attest::AttestArgs),
    VerifyAttestation(verify_attestation::VerifyAttestationArgs),
    Show(show::ShowArgs),
    Policy(policy::PolicyArgs),
    Facts(facts::FactsArgs),
    Initialize(initialize::InitializeArgs),
    /// Print the version, the build, the environment and the effective settings
    Version(version::VersionArgs),
    /// Debugging aids (`debug token`)
    #[command(hide = true)]
    Debug(debug::DebugArgs),
}

/// Entry point of the binary.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    // No arguments at all: the help on stdout and success, as Go gitsign (cobra) does.
    if args.len() <= 1 {
        let help = <Cli as clap::CommandFactory>::command().render_help();
        return match output::print(help.to_string().as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                crate::ui::eprint(&crate::ui::render_error(&e.error, e.hint.as_deref()));
                e.kind.into()
            }
        };
    }
    // git's gpg-style argv never starts with a bare word: a subcommand clap knows skips it.
    // (An option is never a subcommand's name, so git's calls skip building the command tree.)
    // The command tree is built once: to ask, and to parse with.
    let command = args
        .get(1)
        .and_then(|a| a.to_str())
        .filter(|a| !a.starts_with('-'))
        .map(|a| (a, <Cli as clap::CommandFactory>::command()));
    let subcommand = command
        .as_ref()
        .is_some_and(|(a, c)| c.find_subcommand(a).is_some());
    let gpg_args = if subcommand {
        Ok(None)
    } else {
        gpg::parse(&args)
    };
    let result = match gpg_args {
        Ok(Some(gpg_args)) => gpg::run(&gpg_args),
        Err(e) => Err(CliError::new(Exit::Usage, anyhow::anyhow!(e))
            .hint("git calls gitsign as `gitsign --status-fd=2 -bsau KEY` or `gitsign --status-fd=1 --verify SIG -`")),
        Ok(None) => match parse_with(command.map(|(_, c)| c), &args) {
            Ok(cli) => dispatch(cli),
            Err(e) => {
                let _ = e.print();
                return if e.use_stderr() { Exit::Usage } else { Exit::Good }.into();
            }
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            crate::ui::eprint(&crate::ui::render_error(&e.error, e.hint.as_deref()));
            e.kind.into()
        }
    }
}

/// `Cli::try_parse_from` with the command tree if it was built already.
fn parse_with(command: Option<clap::Command>, args: &[OsString]) -> Result<Cli, clap::Error> {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let mut matches = command
        .unwrap_or_else(Cli::command)
        .try_get_matches_from(args)?;
    Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut Cli::command()))
}

fn dispatch(cli: Cli) -> CliResult {
    crate::ui::set_color_choice(cli.color);
    match cli.command {
        Command::Verify(a) => verify::run(&a),
        Command::VerifyTag(a) => verify_tag::run(&a),
        Command::VerifyBundle(a) => verify_bundle::run(&a),
        Command::Completion(a) => completion::run(&a),
        Command::Hook(a) => hook::run(&a),
        Command::Attest(a) => attest::run(&a),
        Command::VerifyAttestation(a) => verify_attestation::run(&a),
        Command::Show(a) => show::run(&a),
        Command::Policy(a) => policy::run(&a),
        Command::Facts(a) => facts::run(&a),
        Command::Initialize(a) => initialize::run(&a),
        Command::Version(a) => version::run(&a),
        Command::Debug(a) => debug::run(&a),
    }
}

/// Load the configuration from git and the environment.
pub fn load_config() -> Result<Config, CliError> {
    let config = Config::load().map_err(|e| {
        CliError::new(Exit::Config, anyhow::Error::new(e))
            .hint("run `git config --get-regexp '^gitsign\\.'` to see what git reports")
    })?;
    // Once per process, however often the configuration is read.
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        for w in config.warnings() {
            crate::ui::eprint(&format!("gitsign: warning: {w}\n"));
        }
    });
    Ok(config)
}

/// The TUF signing config (`None` before `gitsign initialize`, or when the mirror has none)
/// and its mirror. Signing refuses stale TUF trust it cannot refresh, as for the trusted root.
pub fn tuf_signing_config(
    config: &Config,
    purpose: crate::tuf::Purpose,
) -> Result<Option<(crate::tuf::signing_config::SigningConfig, String)>, CliError> {
    Ok(tuf_signing_config_noted(config, purpose)?.map(|(c, m, _)| (c, m)))
}

/// Where the TUF cache is and how long it is used without asking the mirror
/// (`gitsign.tufCacheValidity`); `None` with neither `TUF_ROOT` nor `HOME`.
pub(super) fn tuf_settings(config: &Config) -> Result<Option<crate::tuf::Settings>, CliError> {
    let Some(mut settings) = crate::tuf::Settings::from_env(|k| std::env::var(k).ok()) else {
        return Ok(None);
    };
    // 0 is allowed here: refresh on every use.
    let raw = config.get(Key::TufCacheValidity).unwrap_or("86400").trim();
    let validity = raw.parse::<u64>().map_err(|_| {
        CliError::new(
            Exit::Config,
            anyhow::anyhow!(
                "invalid value '{}' for {}: expected a whole number of seconds",
                crate::text::escape(raw),
                setup::source_of(config, Key::TufCacheValidity)
            ),
        )
        .hint("gitsign.tufCacheValidity is a number of seconds (0: refresh on every use)")
    })?;
    settings.cache_validity = i64::try_from(validity).unwrap_or(i64::MAX);
    Ok(Some(settings))
}

/// A TUF signing config, its mirror, and the note of a stale cache.
type NotedSigningConfig = (
    crate::tuf::signing_config::SigningConfig,
    String,
    Option<String>,
);

/// [`tuf_signing_config`] with the note of a stale cache that could not be refreshed (only
/// for verification: signing refuses stale trust).
pub fn tuf_signing_config_noted(
    config: &Config,
    purpose: crate::tuf::Purpose,
) -> Result<Option<NotedSigningConfig>, CliError> {
    let Some(settings) = tuf_settings(config)? else {
        return Ok(None);
    };
    let Some(mirror) = settings.mirror() else {
        return Ok(None);
    };
    let loaded = crate::tuf::load(&settings, purpose, initialize::now()).map_err(|e| {
        CliError::new(
            Exit::Config,
            anyhow::Error::new(e).context(
                "cannot sign: the TUF signing config is out of date and cannot be refreshed",
            ),
        )
        .hint("sign again once the TUF mirror is reachable (gitsign initialize refreshes it), or set gitsign.fulcio and gitsign.rekor")
    })?;
    let Some(loaded) = loaded else {
        return Ok(None);
    };
    let note = loaded.note;
    let bytes = match loaded.signing_config {
        crate::tuf::SigningConfigState::Absent => return Ok(None),
        crate::tuf::SigningConfigState::Present(b) => b,
        // Listed by the verified targets but withheld or tampered with: never read as
        // "the mirror has none", which would sign against the default services.
        crate::tuf::SigningConfigState::Unusable(why) => {
            let what = format!(
                "the TUF mirror '{}' lists {} but it cannot be used ({why})",
                crate::text::escape(&mirror),
                crate::tuf::SIGNING_CONFIG_TARGET
            );
            let what = match purpose {
                crate::tuf::Purpose::Sign => format!("cannot sign: {what}"),
                crate::tuf::Purpose::Verify => what,
            };
            return Err(CliError::new(Exit::Config, anyhow::anyhow!(what))
                .hint("sign again once the mirror serves its signing config (gitsign initialize refreshes it), or set gitsign.fulcio and gitsign.rekor"));
        }
    };
    let parsed = crate::tuf::signing_config::parse(&bytes).map_err(|e| {
        CliError::new(
            Exit::Config,
            anyhow::Error::new(e).context(format!(
                "cannot use the signing config of the TUF mirror '{}'",
                crate::text::escape(&mirror)
            )),
        )
        .hint("run gitsign initialize again once the mirror serves a valid signing_config.v0.2.json, or set gitsign.fulcio and gitsign.rekor")
    })?;
    Ok(Some((parsed, mirror, note)))
}

/// The settings signing uses: service URLs from explicit settings, else the TUF signing
/// config, else the defaults ([`crate::config::settings`]), and the rest of the
/// configuration.
pub fn sign_settings(config: &Config) -> Result<crate::sign::flow::Settings, CliError> {
    let hint =
        "fix the value named above; nothing was signed, so git did not create the commit or tag";
    let all_explicit = [Key::Fulcio, Key::Rekor].iter().all(|&k| {
        config.get(k).is_some() && !matches!(config.source(k), None | Some(Source::Default))
    });
    let tuf = if all_explicit {
        None
    } else {
        tuf_signing_config(config, crate::tuf::Purpose::Sign)?
    };
    let from_tuf = tuf.as_ref().map(|(c, m)| crate::config::settings::FromTuf {
        config: c,
        mirror: m,
    });
    let services =
        crate::config::settings::services(config, from_tuf, initialize::now()).map_err(|e| {
            let h = match e {
                crate::config::settings::ServicesError::SigningConfig { .. } => "set gitsign.fulcio and gitsign.rekor, or run gitsign initialize again once the mirror's signing config lists a service valid now; nothing was signed",
                crate::config::settings::ServicesError::Config(_) => hint,
            };
            CliError::new(Exit::Config, anyhow::Error::new(e)).hint(h)
        })?;
    crate::sign::flow::Settings::from_config(config, &services)
        .map_err(|e| CliError::new(Exit::Config, anyhow::Error::new(e)).hint(hint))
}
