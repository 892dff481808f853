//! `gitsign verify`: commits, revisions and ranges against an identity policy.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use regex::Regex;

use super::{output, CliError, CliResult};
use crate::config::Key;
use rayon::prelude::*;

use crate::git::repo::{raw_object, Repo};
use crate::verify::{self, policy::Matcher, policy::Policy, ObjectKind};

const EXAMPLES: &str = "\
Examples:
  # The last commit, signed by alice through Google
  gitsign verify --certificate-identity alice@example.com \\
      --certificate-oidc-issuer https://accounts.google.com

  # Every commit of a release, one line each, anyone at example.com via GitHub
  gitsign verify v1.0..v1.1 --certificate-identity-regexp '@example\\.com$' \\
      --certificate-oidc-issuer https://github.com/login/oauth

  # Machine-readable results for CI (one JSON object per commit)
  gitsign verify main~20..main --format json --certificate-identity-regexp . \\
      --certificate-oidc-issuer-regexp .

Exit status: 0 when every commit verifies, 1 when any is unsigned, bad or not
signed by the required identity, 2 when something could not be decided (no
transparency log entry offline, usage, configuration or I/O errors).";

#[derive(clap::Args, Debug, Clone)]
#[group(id = "identity", required = true, multiple = false)]
pub struct IdentityArgs {
    /// Identity the certificate must name (email or URI in the SAN)
    #[arg(long, value_name = "ID")]
    pub certificate_identity: Option<String>,
    /// Regular expression the certificate identity must match
    #[arg(long, value_name = "REGEXP")]
    pub certificate_identity_regexp: Option<String>,
}

#[derive(clap::Args, Debug, Clone)]
#[group(id = "issuer", required = true, multiple = false)]
pub struct IssuerArgs {
    /// OIDC issuer that authenticated the signer (Fulcio's issuer extension)
    #[arg(long, value_name = "URL")]
    pub certificate_oidc_issuer: Option<String>,
    /// Regular expression the OIDC issuer must match
    #[arg(long, value_name = "REGEXP")]
    pub certificate_oidc_issuer_regexp: Option<String>,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct WorkflowArgs {
    /// GitHub Actions event that triggered the signing workflow (e.g. push)
    #[arg(long, value_name = "EVENT")]
    pub certificate_github_workflow_trigger: Option<String>,
    /// Commit SHA the signing workflow ran on
    #[arg(long, value_name = "SHA")]
    pub certificate_github_workflow_sha: Option<String>,
    /// Name of the signing workflow
    #[arg(long, value_name = "NAME")]
    pub certificate_github_workflow_name: Option<String>,
    /// Repository of the signing workflow (owner/name)
    #[arg(long, value_name = "REPO")]
    pub certificate_github_workflow_repository: Option<String>,
    /// Git ref of the signing workflow (e.g. refs/heads/main)
    #[arg(long, value_name = "REF")]
    pub certificate_github_workflow_ref: Option<String>,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct TrustArgs {
    /// Sigstore trusted_root.json to verify against (default: the embedded public-good root)
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<String>,
    /// Accept signatures whose signing time nothing proves (checks the chain at notBefore + 60s)
    #[arg(long)]
    pub insecure_ignore_tlog: bool,
    /// Accept certificates without a valid embedded SCT
    #[arg(long)]
    pub insecure_ignore_sct: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// Summary for one commit, one line per commit for ranges
    #[default]
    Human,
    /// One JSON object per commit (JSON Lines)
    Json,
}

#[derive(clap::Args, Debug)]
#[command(
    about = "Verify commit signatures against an identity policy",
    long_about = "Verify the gitsign signatures of commits: one revision checks that commit, a \
range (A..B, A...B, ^X, --all) checks every commit in it. Verification is offline: the \
signing time is proven by the transparency log entry embedded in the signature (or an \
RFC 3161 timestamp). One identity flag and one issuer flag are required.",
    after_long_help = EXAMPLES
)]
pub struct VerifyArgs {
    /// Revisions or ranges to verify (default: HEAD)
    #[arg(value_name = "REVISION|RANGE")]
    pub revisions: Vec<String>,
    /// Verify every commit reachable from any ref
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub issuer: IssuerArgs,
    #[command(flatten)]
    pub workflow: WorkflowArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// Commits verified between two writes of output.
const CHUNK: usize = 512;

fn regex(flag: &str, re: &str) -> Result<Regex, CliError> {
    Regex::new(re).map_err(|e| {
        CliError::new(
            2,
            anyhow::anyhow!("invalid regular expression for {flag}: {e}"),
        )
        .hint("the syntax is RE2's (Go's regexp), e.g. '^.*@example\\.com$'")
    })
}

/// The policy the flags describe.
pub fn policy(id: &IdentityArgs, iss: &IssuerArgs, wf: &WorkflowArgs) -> Result<Policy, CliError> {
    Ok(Policy {
        identity: match (&id.certificate_identity, &id.certificate_identity_regexp) {
            (Some(s), _) => Some(Matcher::Exact(s.clone())),
            (None, Some(r)) => Some(Matcher::Regex(regex("--certificate-identity-regexp", r)?)),
            (None, None) => None,
        },
        issuer: match (
            &iss.certificate_oidc_issuer,
            &iss.certificate_oidc_issuer_regexp,
        ) {
            (Some(s), _) => Some(Matcher::Exact(s.clone())),
            (None, Some(r)) => Some(Matcher::Regex(regex(
                "--certificate-oidc-issuer-regexp",
                r,
            )?)),
            (None, None) => None,
        },
        github_workflow_trigger: wf.certificate_github_workflow_trigger.clone(),
        github_workflow_sha: wf.certificate_github_workflow_sha.clone(),
        github_workflow_name: wf.certificate_github_workflow_name.clone(),
        github_workflow_repository: wf.certificate_github_workflow_repository.clone(),
        github_workflow_ref: wf.certificate_github_workflow_ref.clone(),
    })
}

/// Config with the trust flags applied, the trust root, and the two waivers.
pub fn trust_setup(t: &TrustArgs) -> Result<(crate::trust::TrustedRoot, bool, bool), CliError> {
    let mut config = super::load_config()?;
    if let Some(p) = &t.trusted_root {
        config.set_flag(Key::TrustedRoot, p.clone(), "--trusted-root");
    }
    let root = super::load_trust(&config)?;
    let ignore_tlog = t.insecure_ignore_tlog || config.bool(Key::InsecureIgnoreTlog)?;
    let ignore_sct = t.insecure_ignore_sct || config.bool(Key::InsecureIgnoreSct)?;
    Ok((root, ignore_tlog, ignore_sct))
}

pub fn open_repo() -> Result<Repo, CliError> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    Repo::discover(&cwd).map_err(|e| {
        CliError::new(2, anyhow::Error::new(e)).hint("run gitsign verify inside a git repository")
    })
}

pub fn run(args: &VerifyArgs) -> CliResult {
    let policy = policy(&args.identity, &args.issuer, &args.workflow)?;
    let (root, ignore_tlog, ignore_sct) = trust_setup(&args.trust)?;
    let repo = open_repo()?;
    let mut specs = args.revisions.clone();
    if args.all {
        specs.push("--all".into());
    }
    if specs.is_empty() {
        specs.push("HEAD".into());
    }
    let selection = repo
        .select(&specs)
        .map_err(|e| CliError::new(2, anyhow::Error::new(e)))?;
    let ids = repo
        .commits(&selection)
        .map_err(|e| CliError::new(2, anyhow::Error::new(e)))?;
    if ids.is_empty() {
        return Err(CliError::new(
            2,
            anyhow::anyhow!("the range {} holds no commits", specs.join(" ")),
        )
        .hint("check the order of the range: A..B lists commits in B that are not in A"));
    }
    let opts = verify::Options {
        root: &root,
        policy: &policy,
        insecure_ignore_tlog: ignore_tlog,
        insecure_ignore_sct: ignore_sct,
    };
    let mut progress = crate::ui::Progress::new("verifying", ids.len());
    let single = ids.len() == 1 && selection.include.is_empty();
    let hash = repo.hash_kind();
    let shared = repo.shared();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let (mut good, mut bad, mut undecided) = (0usize, 0usize, 0usize);
    // Commits are verified on every core a chunk at a time and printed in walk order, so the
    // output is identical to a sequential run and memory stays flat on long ranges.
    for chunk in ids.chunks(CHUNK) {
        let reports: Vec<(String, Result<verify::Report, CliError>)> = chunk
            .par_iter()
            .map_init(
                || shared.to_thread_local(),
                |repo, id| {
                    let report = raw_object(repo, *id)
                        .map(|raw| verify::verify_object(&raw, ObjectKind::Commit, hash, &opts))
                        .map_err(|e| CliError::new(2, anyhow::Error::new(e)));
                    (id.to_string(), report)
                },
            )
            .collect();
        for (sha, report) in reports {
            let report = report?;
            match output::verdict(&report) {
                "good" => good += 1,
                "bad" => bad += 1,
                _ => undecided += 1,
            }
            let written = match args.format {
                Format::Json => writeln!(out, "{}", output::json(&sha, "commit", &report)),
                Format::Human if single => {
                    crate::ui::eprint(&output::summary(&report, true));
                    if let Some((msg, hint)) = output::problem(&report) {
                        crate::ui::eprint(&format!("gitsign: error: {sha}: {msg}\n"));
                        if let Some(h) = hint {
                            crate::ui::eprint(&format!("Hint: {h}\n"));
                        }
                    }
                    Ok(())
                }
                Format::Human => out.write_all(output::range_line(&sha, &report).as_bytes()),
            };
            if written.is_err() {
                return Ok(ExitCode::SUCCESS); // broken pipe: the reader has gone
            }
        }
        progress.advance(chunk.len());
    }
    progress.finish();
    let code = if bad > 0 {
        1
    } else if undecided > 0 {
        2
    } else {
        0
    };
    if !single && args.format == Format::Human {
        crate::ui::eprint(&format!(
            "{} commits: {good} good, {bad} bad, {undecided} undecided\n",
            ids.len()
        ));
        if undecided > 0 {
            crate::ui::eprint("Hint: undecided commits were signed in Go gitsign's online Rekor mode and need a Rekor lookup; --insecure-ignore-tlog checks everything but the signing time\n");
        }
    }
    Ok(ExitCode::from(code))
}
