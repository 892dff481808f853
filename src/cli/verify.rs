//! `gitsign verify`: commits, revisions and ranges against an identity policy.

use std::io::Write;

use super::{output, CliError, CliResult, Exit};
use crate::config::Key;
use rayon::prelude::*;

use crate::git::repo::{raw_object, Repo};
use crate::proofs::{Lookups, ProofSource, Prover, Rekor};
use crate::verify::{
    self, policy::Matcher, policy::Policy, policy::Re2, ObjectKind, Report, Tally,
};

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
range (A..B, A...B, ^X, --all) checks every commit in it. The signing time is proven by the \
transparency log entry embedded in the signature (or an RFC 3161 timestamp); signatures made \
in Go gitsign's online Rekor mode carry none and are looked up in Rekor (gitsign.rekor), \
concurrently for ranges. Every proof found is kept in .git/gitsign/ (and, with \
--attach-proofs, in git notes under refs/notes/gitsign, which `gitsign verify` reads too), so \
the next verification needs no network. One identity flag and one issuer flag are required.",
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
    /// Never contact Rekor: commits whose proof is neither embedded nor kept locally stay undecided
    #[arg(long)]
    pub offline: bool,
    /// Keep the Rekor proofs of verified commits as git notes under refs/notes/gitsign
    #[arg(long)]
    pub attach_proofs: bool,
}

/// Commits verified between two writes of output.
const CHUNK: usize = 512;

fn regex(flag: &str, re: &str) -> Result<Re2, CliError> {
    Re2::new(re).map_err(|e| {
        CliError::new(
            Exit::Usage,
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
    trust_setup_with(super::load_config()?, t)
}

pub fn trust_setup_with(
    mut config: crate::config::Config,
    t: &TrustArgs,
) -> Result<(crate::trust::TrustedRoot, bool, bool), CliError> {
    if let Some(p) = &t.trusted_root {
        config.set_flag(Key::TrustedRoot, p.clone(), "--trusted-root");
    }
    let root = super::load_trust(&config)?;
    let ignore_tlog = t.insecure_ignore_tlog || config.bool(Key::InsecureIgnoreTlog)?;
    let ignore_sct = t.insecure_ignore_sct || config.bool(Key::InsecureIgnoreSct)?;
    Ok((root, ignore_tlog, ignore_sct))
}

pub fn open_repo() -> Result<Repo, CliError> {
    Repo::open().map_err(|e| {
        CliError::new(Exit::Io, anyhow::Error::new(e))
            .hint("run gitsign verify inside a git repository")
    })
}

/// How the prover may reach Rekor: never with `--offline`, else with the configured lookup
/// settings, or not at all when those are unusable (named in each verdict that needed them).
pub fn rekor_access(offline: bool, config: &crate::config::Config) -> Rekor {
    if offline {
        return Rekor::Offline;
    }
    match Lookups::from_config(config) {
        Ok(lk) => Rekor::Online(lk),
        Err(e) => Rekor::Unusable(e.to_string()),
    }
}

/// "1 commit", "2 commits", "0 commits".
fn commits(n: usize) -> String {
    format!("{n} commit{}", if n == 1 { "" } else { "s" })
}

/// What a failed write to stdout means: a broken pipe ends the output early (the reader has
/// gone, as with `| head`) and the exit status reports the verdicts printed so far; any other
/// error (`>/dev/full`, an I/O error) means the answer was not delivered, exit 2.
fn write_failed(written: std::io::Result<()>, so_far: &Tally) -> Result<Option<Exit>, CliError> {
    match written {
        Ok(()) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Some(Exit::of(so_far))),
        Err(e) => Err(CliError::new(
            Exit::Io,
            anyhow::Error::new(e).context("writing the verdicts to stdout"),
        )),
    }
}

/// One commit of a chunk on its way through the pipeline.
struct Checked {
    id: gix::ObjectId,
    report: Report,
    needs_entry: Option<verify::NeedsEntry>,
    /// The proof that anchored it and where it came from.
    proof: Option<(crate::rekor::Fetched, ProofSource)>,
}

pub fn run(args: &VerifyArgs) -> CliResult {
    let result = verify_range(args);
    if args.format == Format::Json {
        if let Err(e) = &result {
            output::json_error(e);
        }
    }
    result
}

fn verify_range(args: &VerifyArgs) -> CliResult {
    let policy = policy(&args.identity, &args.issuer, &args.workflow)?;
    let config = super::load_config()?;
    let rekor = if args.offline {
        Rekor::Offline
    } else {
        Rekor::Online(Lookups::from_config(&config)?)
    };
    let (root, ignore_tlog, ignore_sct) = trust_setup_with(config, &args.trust)?;
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
        .map_err(|e| CliError::new(Exit::Io, anyhow::Error::new(e)))?;
    let verifier =
        verify::Verifier::new(&root, verify::Waivers::from_flags(ignore_tlog, ignore_sct));
    let single = selection.single.len() == 1 && selection.include.is_empty();
    let mut progress = crate::ui::Progress::new(
        "verifying",
        selection
            .include
            .is_empty()
            .then_some(selection.single.len()),
    );
    if progress.enabled() && !selection.include.is_empty() {
        progress.set_total(repo.count_with_commit_graph(&selection));
    }
    let hash = repo.hash_kind();
    let shared = repo.shared();
    let local = shared.to_thread_local();
    let prover = Prover::new(Some(&local), rekor);
    let mut to_attach: Vec<(String, String)> = Vec::new();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut tally = Tally::default();
    // Commits are verified on every core a chunk at a time and printed in walk order, so the
    // output is identical to a sequential run and memory stays flat on long ranges. Within a
    // chunk: (1) verify each commit with what its signature carries; (2) the prover finishes
    // the online-mode commits that lack only a log entry, from kept proofs (cache, notes) or
    // Rekor, concurrently ([`crate::proofs::Prover`], shared with `gitsign hook`).
    //
    // The range is walked on its own thread, a chunk ahead at most, so verification starts
    // with the first chunk and overlaps the walk (which reads every commit object when the
    // repository has no commit-graph), and the range is never held whole.
    let (sender, chunks) = std::sync::mpsc::sync_channel::<Vec<gix::ObjectId>>(1);
    let walk_repo = &shared;
    let walk_selection = &selection;
    let early = std::thread::scope(|scope| -> Result<Option<Exit>, CliError> {
        let walker = scope.spawn(move || {
            Repo::from_shared(walk_repo)
                .walk(walk_selection, CHUNK, |batch| sender.send(batch).is_ok())
        });
        let chunks = chunks;
        for chunk in chunks.iter() {
            let chunk = chunk.as_slice();
            let first: Vec<Result<Checked, CliError>> = chunk
                .par_iter()
                .map_init(
                    || shared.to_thread_local(),
                    |repo, id| {
                        let raw = raw_object(repo, *id)
                            .map_err(|e| CliError::new(Exit::Io, anyhow::Error::new(e)))?;
                        let checked =
                            verifier.check_object(&raw, ObjectKind::Commit, hash, &policy);
                        Ok(Checked {
                            id: *id,
                            report: checked.report,
                            needs_entry: checked.needs_entry,
                            proof: None,
                        })
                    },
                )
                .collect();
            let mut checked = Vec::with_capacity(first.len());
            for c in first {
                checked.push(c?);
            }
            let pending: Vec<usize> = (0..checked.len())
                .filter(|&i| checked[i].needs_entry.is_some())
                .collect();
            let needs: Vec<&verify::NeedsEntry> = pending
                .iter()
                .filter_map(|&i| checked[i].needs_entry.as_ref())
                .collect();
            let proven = prover.prove(&needs, &verifier);
            for (i, p) in pending.into_iter().zip(proven) {
                checked[i].report = p.report;
                checked[i].proof = p.proof;
            }
            for c in checked {
                if let Some((fetched, source)) = &c.proof {
                    if args.attach_proofs && *source != ProofSource::Note {
                        to_attach.push((c.id.to_string(), fetched.json.clone()));
                    }
                }
                let (sha, report) = (c.id.to_string(), c.report);
                tally.add(&report.outcome);
                let written = match args.format {
                    Format::Json => writeln!(out, "{}", output::json(&sha, "commit", &report)),
                    // Go gitsign's summary, on stdout as Go prints it; the reason on stderr.
                    Format::Human if single => {
                        let written = out
                            .write_all(output::summary(&report, true).as_bytes())
                            .and_then(|_| out.flush());
                        crate::ui::eprint(&output::notes(&report));
                        if let Some((msg, hint)) = output::problem(&report) {
                            crate::ui::eprint(&format!("gitsign: error: {sha}: {msg}\n"));
                            if let Some(h) = hint {
                                crate::ui::eprint(&format!("Hint: {h}\n"));
                            }
                        }
                        written
                    }
                    Format::Human => out.write_all(output::range_line(&sha, &report).as_bytes()),
                };
                if let Some(exit) = write_failed(written, &tally)? {
                    return Ok(Some(exit));
                }
            }
            progress.advance(chunk.len());
        }
        match walker.join() {
            Ok(Ok(())) => Ok(None),
            Ok(Err(e)) => Err(CliError::new(Exit::Io, anyhow::Error::new(e))),
            Err(_) => Err(CliError::new(
                Exit::Io,
                anyhow::anyhow!("walking the range failed"),
            )),
        }
    })?;
    progress.finish();
    if let Some(exit) = early {
        return Ok(exit.into());
    }
    if let Some(exit) = write_failed(out.flush(), &tally)? {
        return Ok(exit.into());
    }
    let total = tally.total();
    if args.attach_proofs {
        let added = prover.notes().attach(&local, &to_attach).map_err(|e| {
            CliError::new(
                Exit::Io,
                anyhow::Error::new(e).context("attaching proofs as git notes"),
            )
            .hint("check that the repository is writable")
        })?;
        crate::ui::eprint(&format!(
            "gitsign: attached {added} Rekor proof(s) as notes under {}; share them with `git push <remote> {}`\n",
            crate::proofs::NOTES_REF,
            crate::proofs::NOTES_REF
        ));
    }
    let Tally {
        good,
        bad,
        undecided,
    } = tally;
    if !single && args.format == Format::Human {
        crate::ui::eprint(&format!(
            "{}: {good} good, {bad} bad, {undecided} undecided\n",
            commits(total)
        ));
        if undecided > 0 {
            if args.offline {
                crate::ui::eprint("Hint: run without --offline to look undecided commits up in Rekor; --insecure-ignore-tlog checks everything but the signing time\n");
            } else {
                crate::ui::eprint("Hint: undecided commits have no proof of their signing time that verifies (see each line); --insecure-ignore-tlog checks everything but the signing time\n");
            }
        }
    }
    Ok(Exit::of(&tally).into())
}
