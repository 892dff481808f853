//! `gitsign verify`: commits, revisions and ranges against an identity policy.

use std::io::Write;
use std::ops::ControlFlow;

use super::setup::VerifyFlags;
use super::{output, CliError, CliResult, Exit};
use crate::check::{Checker, Kept};
use crate::git::repo::Repo;
use crate::policy::AuthorityTally;
use crate::proofs::ProofSource;
use crate::verify::{policy::Matcher, policy::Policy, policy::Re2, Tally};

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

/// The keys OpenPGP and SSH signatures are checked against.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct KeyArgs {
    /// OpenPGP public key file (armored or binary) whose signatures to accept (can be repeated; GnuPG's keyring is never read)
    #[arg(long, value_name = "FILE")]
    pub openpgp_keys: Vec<String>,
    /// git's allowed signers file for SSH signatures (default: git config gpg.ssh.allowedSignersFile)
    #[arg(long, value_name = "FILE")]
    pub ssh_allowed_signers: Option<String>,
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
the next verification needs no network. One identity flag and one issuer flag are required, \
or a policy (--policy FILE, else git config gitsign.policy), or an anchor (below); with none, \
nothing says whom to trust: the command exits 2 naming the signers of the tip and the flags or \
policy entry that would trust them. Under a policy each commit is judged by the \
rule of --ref (default: the ref the range's tip names, e.g. main → refs/heads/main), and is good \
when its signature verifies and one of the rule's authorities admits its signer; the run ends \
with how many commits each authority accepted (gitsign policy --help has the language). With \
an anchor (--policy-anchor REV, else git config gitsign.policyAnchor) and neither identity flags \
nor --policy, the committed .gitsign/policy.toml judges: the anchor by its own, every later \
commit by the one in force at its first parent; a change to .gitsign/ takes effect only when \
good and signed by one of the policy-authorities in force (else the commit is bad, \
unauthorized_policy_change); commits that do not descend from the anchor are reported as \
before the policy anchor. The run ends with the same tally, over every rule met along the range \
(a refused policy change counts for no authority), and --vsa records the committed policy that \
judged the tip (REPOSITORY@COMMIT#.gitsign/policy.toml and its sha256).",
    after_long_help = EXAMPLES,
    mut_group("identity", |g| g.required(false)),
    mut_group("issuer", |g| g.required(false))
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
    /// Policy file whose rule for --ref judges each commit, instead of the identity flags (and of --openpgp-keys and --ssh-allowed-signers: OpenPGP and SSH keys are its authorities' key files)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["identity", "issuer"])]
    pub policy: Option<std::path::PathBuf>,
    /// Ref whose rule judges the commits (default: the ref the range's tip names)
    #[arg(long = "ref", value_name = "REF")]
    pub refname: Option<String>,
    /// Commit from which the committed .gitsign/policy.toml is trusted (default: git config gitsign.policyAnchor)
    #[arg(long, value_name = "REV", conflicts_with_all = ["identity", "issuer", "policy"])]
    pub policy_anchor: Option<String>,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub sct: SctArgs,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Never contact Rekor: commits whose proof is neither embedded nor kept locally stay undecided
    #[arg(long)]
    pub offline: bool,
    /// Keep the Rekor proofs of verified commits as git notes under refs/notes/gitsign
    #[arg(long)]
    pub attach_proofs: bool,
    /// Neither reuse nor keep verified facts (.git/gitsign/facts.log): verify every commit afresh (implied by --attach-proofs)
    #[arg(long)]
    pub no_facts: bool,
    #[command(flatten)]
    pub vsa: super::vsa::VsaArgs,
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
    let matcher = |exact: &Option<String>, re: &Option<String>, flag: &str| match (exact, re) {
        (Some(s), _) => Ok(Some(Matcher::Exact(s.clone()))),
        (None, Some(r)) => regex(flag, r).map(|r| Some(Matcher::Regex(r))),
        (None, None) => Ok(None),
    };
    let identity = || {
        matcher(
            &id.certificate_identity,
            &id.certificate_identity_regexp,
            "--certificate-identity-regexp",
        )
    };
    let issuer = || {
        matcher(
            &iss.certificate_oidc_issuer,
            &iss.certificate_oidc_issuer_regexp,
            "--certificate-oidc-issuer-regexp",
        )
    };
    // Two expressions compile side by side: a Unicode class (any `.`) costs about a
    // millisecond to compile, on the path of every range before its first commit.
    let both_regexes = id.certificate_identity.is_none()
        && id.certificate_identity_regexp.is_some()
        && iss.certificate_oidc_issuer.is_none()
        && iss.certificate_oidc_issuer_regexp.is_some();
    let (identity, issuer) = if both_regexes {
        rayon::join(identity, issuer)
    } else {
        (identity(), issuer())
    };
    Ok(Policy {
        identity: identity?,
        issuer: issuer?,
        github_workflow_trigger: wf.certificate_github_workflow_trigger.clone(),
        github_workflow_sha: wf.certificate_github_workflow_sha.clone(),
        github_workflow_name: wf.certificate_github_workflow_name.clone(),
        github_workflow_repository: wf.certificate_github_workflow_repository.clone(),
        github_workflow_ref: wf.certificate_github_workflow_ref.clone(),
    })
}

impl TrustArgs {
    /// The verification flags these trust flags and `--offline` give.
    pub fn flags(&self, offline: bool) -> VerifyFlags<'_> {
        VerifyFlags {
            trusted_root: self.trusted_root.as_deref(),
            ignore_tlog: Some(self.insecure_ignore_tlog),
            ignore_sct: self.insecure_ignore_sct,
            offline,
            ..VerifyFlags::default()
        }
    }
}

/// `--sct FILE`, as Go gitsign's `verify` and `verify-tag` take it (cosign's flag).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SctArgs {
    /// Detached SCT (a CT log's add-chain response, RFC 6962 JSON) for a certificate that embeds none
    #[arg(long, value_name = "FILE")]
    pub sct: Option<String>,
}

pub fn open_repo() -> Result<Repo, CliError> {
    Repo::open().map_err(|e| {
        CliError::new(Exit::Io, anyhow::Error::new(e))
            .hint("run gitsign verify inside a git repository")
    })
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

pub fn run(args: &VerifyArgs) -> CliResult {
    let result = verify_range(args);
    if args.format == Format::Json {
        if let Err(e) = &result {
            output::json_error(e);
        }
    }
    result
}

/// Whether any identity or issuer flag was given.
fn identity_flags(args: &VerifyArgs) -> (bool, bool) {
    (
        args.identity.certificate_identity.is_some()
            || args.identity.certificate_identity_regexp.is_some(),
        args.issuer.certificate_oidc_issuer.is_some()
            || args.issuer.certificate_oidc_issuer_regexp.is_some(),
    )
}

/// The policy's rule for the range, when commits are judged by a policy rather than by the
/// identity flags (which must then name both an identity and an issuer).
fn range_rule(
    args: &VerifyArgs,
    specs: &[String],
    repo: &Repo,
    setup: impl FnOnce() -> Result<crate::check::VerifySetup, CliError>,
) -> Result<Option<super::policy::RangeRule>, CliError> {
    let (identity, issuer) = identity_flags(args);
    let shared = repo.shared();
    let path = if identity || issuer {
        None
    } else {
        super::policy::verify_policy_path(
            args.policy.as_deref(),
            &super::load_config()?,
            shared.git_dir(),
        )
    };
    let w = &args.workflow;
    let workflow = [
        &w.certificate_github_workflow_trigger,
        &w.certificate_github_workflow_sha,
        &w.certificate_github_workflow_name,
        &w.certificate_github_workflow_repository,
        &w.certificate_github_workflow_ref,
    ]
    .iter()
    .any(|f| f.is_some());
    if path.is_some() && workflow {
        return Err(CliError::new(
            Exit::Usage,
            anyhow::anyhow!("the --certificate-github-workflow-* flags constrain the identity flags' signer, and a policy is given"),
        )
        .hint("put the workflow's values in the policy's sigstore entry (github-workflow-repository = \"…\", …)"));
    }
    let Some(path) = path else {
        // Nothing says whom to trust: name the tip's signers and what would trust them.
        if !identity && !issuer && args.refname.is_none() {
            return Err(super::signers::untrusted(&setup()?, repo, specs));
        }
        if !(identity && issuer) || args.refname.is_some() {
            return Err(CliError::new(
                Exit::Usage,
                anyhow::anyhow!(if args.refname.is_some() {
                    "--ref chooses a rule of a policy, and no policy is given"
                } else {
                    "an identity and an issuer are required: one of --certificate-identity or --certificate-identity-regexp, and one of --certificate-oidc-issuer or --certificate-oidc-issuer-regexp"
                }),
            )
            .hint("or judge by a policy: --policy FILE, or git config gitsign.policy (gitsign policy --help)"));
        }
        return Ok(None);
    };
    super::policy::range_rule(
        &path,
        args.refname.as_deref(),
        specs,
        &shared.to_thread_local(),
    )
    .map(Some)
}

/// The anchor of the committed policy and the ref whose rule judges, when commits are judged
/// by the committed policy (`--policy-anchor`, else `gitsign.policyAnchor` when no identity
/// flag and no --policy is given).
fn anchored(
    args: &VerifyArgs,
    specs: &[String],
    repo: &Repo,
) -> Result<Option<(gix::ObjectId, String)>, CliError> {
    let (identity, issuer) = identity_flags(args);
    if args.policy_anchor.is_none() && (identity || issuer || args.policy.is_some()) {
        return Ok(None);
    }
    let local = repo.shared().to_thread_local();
    let config = super::load_config()?;
    let Some(anchor) = super::anchored::anchor(args.policy_anchor.as_deref(), &config, &local)?
    else {
        return Ok(None);
    };
    let (refname, _) = super::policy::ref_for(args.refname.as_deref(), specs, &local)?;
    Ok(Some((anchor, refname)))
}

/// What the committed policy makes of one commit.
enum Anchored {
    /// Not a descendant of the anchor: reported, not judged.
    Before,
    /// Judged: the authority that admitted a good signer.
    Judged(Option<String>),
}

/// Judge `report` of commit `id`, signed by `signer`, by the policy in force at its first
/// parent, counting it in `tally` (each rule met adds its authorities' rows; a refused policy
/// change counts for no authority: its commit is bad, unauthorized_policy_change); `keys` says
/// which key files hold an OpenPGP or SSH signer's key.
fn judge_anchored(
    ev: &crate::policy::history::Evolution,
    id: &gix::ObjectId,
    refname: &str,
    report: &mut crate::verify::Report,
    tally: &mut AuthorityTally,
    signer: Option<crate::policy::Signer>,
    keys: &dyn crate::policy::KeyFormats,
) -> Anchored {
    use crate::policy::history::{Change, Standing};
    use crate::verify::{Failure, Outcome};
    let Some(Standing::Judged { policy, change }) = ev.standing(id) else {
        return Anchored::Before;
    };
    let mut counted = AuthorityTally::default();
    let authority = match policy.rule_for(refname) {
        Some(rule) => {
            tally.include_rule(rule);
            rule.judge_report(report, signer, keys, &mut counted)
        }
        None if policy.default == crate::policy::DefaultAction::Reject
            && report.outcome == Outcome::Good =>
        {
            report.outcome = Outcome::Bad(Failure::Policy(
                crate::verify::policy::PolicyError::IdentityMismatch {
                    got: "any signer".into(),
                    want: format!("a rule of the committed policy governing {refname}"),
                },
            ));
            counted.refused();
            None
        }
        None => None,
    };
    if !matches!(change, Change::Refused(_)) {
        tally.merge(&counted);
    }
    if let Change::Refused(why) = change {
        // A change refused for want of a decision leaves the commit undecided.
        if report.outcome == Outcome::Good {
            report.outcome = Outcome::Bad(Failure::UnauthorizedPolicyChange(why.clone()));
        }
        return Anchored::Judged(None);
    }
    Anchored::Judged(authority)
}

/// The verification flags of `args`; `keys`: whether OpenPGP and SSH signatures are checked
/// against the keys the user configured (not under a policy, whose authorities name them).
fn verify_flags(args: &VerifyArgs, keys: bool) -> VerifyFlags<'_> {
    VerifyFlags {
        sct: args.sct.sct.as_deref(),
        keys,
        openpgp_keys: &args.keys.openpgp_keys,
        ssh_allowed_signers: args.keys.ssh_allowed_signers.as_deref(),
        ..args.trust.flags(args.offline)
    }
}

fn verify_range(args: &VerifyArgs) -> CliResult {
    // A range verifies on every core: the pool's threads are started now, while the rest is
    // set up (a thread started when the first chunk is ready often waits milliseconds to run).
    if args.all || args.revisions.iter().any(|r| r.contains("..")) {
        rayon::spawn(|| {});
    }
    // The kept facts are read while everything else is set up, from the repository git would
    // use (the one the configuration and the object reader share; when they will be used:
    // see `Checker::with_facts`, given the same directory so the range waits for this read).
    let facts_dir = crate::config::repository()
        .ok()
        .flatten()
        .map(|location| location.common_dir.clone());
    let loading = (cfg!(unix) && !args.no_facts && !args.attach_proofs && args.sct.sct.is_none())
        .then(|| {
            facts_dir
                .as_deref()
                .map(|dir| crate::facts::Facts::load(crate::facts::path(dir)))
        })
        .flatten();
    // The identity flags' policy; a policy file judges signers after verification instead,
    // which then runs with no identity constraint.
    let (identity, issuer) = identity_flags(args);
    let mut policy = if identity && issuer {
        policy(&args.identity, &args.issuer, &args.workflow)?
    } else {
        Policy::default()
    };
    // Read once, before the repository is opened: a broken file is named as git names it.
    let config = super::load_config()?;
    let repo = open_repo()?;
    let mut specs = args.revisions.clone();
    if args.all {
        specs.push("--all".into());
    }
    if specs.is_empty() {
        specs.push("HEAD".into());
    }
    let anchored = anchored(args, &specs, &repo)?;
    let by_rule = match anchored {
        Some(_) => None,
        None => range_rule(args, &specs, &repo, || {
            super::setup::verify_setup(config.clone(), &verify_flags(args, true))
        })?,
    };
    if by_rule.is_some() {
        policy = Policy::default();
    }
    // Under a policy, OpenPGP and SSH signatures verify against its authorities' key files.
    let key_files = super::setup::policy_key_files();
    let under_policy = by_rule.is_some() || anchored.is_some();
    if under_policy
        && (!args.keys.openpgp_keys.is_empty() || args.keys.ssh_allowed_signers.is_some())
    {
        return Err(CliError::new(
            Exit::Usage,
            anyhow::anyhow!("--openpgp-keys and --ssh-allowed-signers name the keys to trust, and a policy is given: its authorities name them"),
        )
        .hint("list the key files in an authority of the policy (openpgp = [\"keys/alice.asc\"], ssh = \"allowed_signers\"; gitsign policy --help)"));
    }
    let mut setup = super::setup::verify_setup(config.clone(), &verify_flags(args, !under_policy))?;
    if let Some(r) = &by_rule {
        setup.keys = super::setup::policy_keys(&config, &key_files, &r.file, &r.authorities)?;
    }
    let mut authority_tally = match (&by_rule, &anchored) {
        (Some(r), _) => Some(AuthorityTally::for_rule(&r.rule)),
        (None, Some(_)) => Some(AuthorityTally::default()),
        (None, None) => None,
    };
    let selection = repo
        .select(&specs)
        .map_err(|e| CliError::new(Exit::Io, anyhow::Error::new(e)))?;
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
    let shared = repo.shared();
    let mut checker = Checker::new(&setup, &policy, Kept::In(&shared));
    // Attaching proofs needs the proofs: a commit answered from its fact brings none.
    if !args.no_facts && !args.attach_proofs {
        checker = checker
            .with_facts(&setup, facts_dir.as_deref().unwrap_or(repo.common_dir()))
            .with_loading(loading);
    }
    // Under a committed policy: the policy in force at each commit, learnt chunk by chunk.
    let revoked = match anchored {
        Some(_) => super::setup::load_revoked(&config)?,
        None => crate::ssh::Revoked::default(),
    };
    let history = super::anchored::KeyedHistory {
        git: super::anchored::GitHistory {
            repo: shared.to_thread_local(),
            checker: &checker,
            hash: repo.hash_kind(),
        },
        files: &key_files,
        revoked: &revoked,
    };
    let mut evolution = match &anchored {
        Some((anchor, refname)) => Some(
            crate::policy::history::Evolution::new(&history, *anchor, refname)
                .map_err(super::anchored::history_error)?,
        ),
        None => None,
    };
    let mut history_failed: Option<CliError> = None;
    let mut to_attach: Vec<(String, String)> = Vec::new();
    let stdout = std::io::stdout();
    // Buffered, and flushed after each chunk: a line-buffered stdout costs a write per
    // commit, most of a second run's output time.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut tally = Tally::default();
    // The driver verifies a chunk at a time on every core, proves the online-mode commits
    // (kept proofs, notes, Rekor, concurrently) and hands the chunk over in walk order, so the
    // output is identical to a sequential run, memory stays flat on long ranges, and the walk
    // overlaps verification ([`crate::check::Checker::check_range`]).
    let mut early: Result<Option<Exit>, CliError> = Ok(None);
    let walked = checker.check_range(&shared, &selection, CHUNK, |ids, batch| {
        output::eprint_warnings(&batch.warnings);
        if let Some(ev) = evolution.as_mut() {
            if let Err(e) = ev.learn(&history, ids) {
                history_failed = Some(super::anchored::history_error(e));
                return ControlFlow::Break(());
            }
        }
        let mut verified = batch.verified;
        if let Some(ev) = evolution.as_ref() {
            // OpenPGP and SSH signatures verify against the key files of the policy in force.
            history.verify_chunk(ev, &shared, ids, &mut verified);
        }
        for (id, mut v) in ids.iter().zip(verified) {
            if let Some((fetched, source)) = v.proof.as_deref() {
                if args.attach_proofs && *source != ProofSource::Note {
                    to_attach.push((id.to_string(), fetched.json.clone()));
                }
            }
            let sha = id.to_string();
            // Under a policy: good only when one of the rule's authorities admits the signer.
            let mut authority = match (&by_rule, authority_tally.as_mut()) {
                (Some(r), Some(t)) => {
                    let signer = v.signer.as_ref().and_then(|s| s.judged(&v.report));
                    r.rule.judge_report(&mut v.report, signer, &key_files, t)
                }
                _ => None,
            };
            // Under a committed policy: the policy in force at the first parent judges.
            if let (Some(ev), Some((_, refname)), Some(t)) =
                (&evolution, &anchored, authority_tally.as_mut())
            {
                let signer = v.signer.as_ref().and_then(|s| s.judged(&v.report));
                match judge_anchored(ev, id, refname, &mut v.report, t, signer, &key_files) {
                    Anchored::Before => {
                        let written = match args.format {
                            Format::Json => writeln!(
                                out,
                                "{}",
                                serde_json::json!({"sha": sha, "kind": "commit", "verdict": "before_anchor", "code": null})
                            ),
                            Format::Human => writeln!(
                                out,
                                "{} before the policy anchor (not judged)",
                                sha.get(..12).unwrap_or(&sha)
                            ),
                        };
                        match write_failed(written, &tally) {
                            Ok(None) => continue,
                            other => {
                                early = other;
                                return ControlFlow::Break(());
                            }
                        }
                    }
                    Anchored::Judged(name) => authority = name,
                }
            }
            tally.add(&v.report.outcome);
            let written = match args.format {
                Format::Json => {
                    let mut line = output::JsonLine::new(&sha, "commit", &v);
                    if by_rule.is_some() || anchored.is_some() {
                        line.authority = Some(authority.as_deref());
                    }
                    serde_json::to_writer(&mut out, &line)
                        .map_err(std::io::Error::from)
                        .and_then(|()| out.write_all(b"\n"))
                }
                // Go gitsign's summary, on stdout as Go prints it; the reason on stderr.
                Format::Human if single => {
                    let written = out
                        .write_all(output::summary(&v, true).as_bytes())
                        .and_then(|_| out.flush());
                    crate::ui::eprint(&output::notes(&v.report));
                    crate::ui::eprint(&output::problem_lines(&v.report, &sha));
                    if let Some(name) = &authority {
                        crate::ui::eprint(&format!(
                            "gitsign: signer admitted by authority {name}\n"
                        ));
                    }
                    written
                }
                Format::Human => {
                    let mut line = output::range_line(&sha, &v);
                    if let Some(name) = &authority {
                        line.truncate(line.trim_end().len());
                        line.push_str(&format!(" authority {name}\n"));
                    }
                    out.write_all(line.as_bytes())
                }
            };
            match write_failed(written, &tally) {
                Ok(None) => {}
                other => {
                    early = other;
                    return ControlFlow::Break(());
                }
            }
        }
        match write_failed(out.flush(), &tally) {
            Ok(None) => {}
            other => {
                early = other;
                return ControlFlow::Break(());
            }
        }
        progress.advance(ids.len());
        ControlFlow::Continue(())
    });
    progress.finish();
    if let Some(e) = history_failed {
        return Err(e);
    }
    if let Some(exit) = early? {
        return Ok(exit.into());
    }
    walked.map_err(|e| CliError::new(Exit::Io, anyhow::Error::new(e)))?;
    // Under a policy, the run ends with what each authority accepted.
    if let (Some(r), Some(t)) = (&by_rule, &authority_tally) {
        match args.format {
            Format::Json => {
                let line = serde_json::json!({
                    "policy": r.file,
                    "ref": r.refname,
                    "rule_line": r.rule.line,
                    "tally": t.json(),
                });
                if let Some(exit) = write_failed(writeln!(out, "{line}"), &tally)? {
                    return Ok(exit.into());
                }
            }
            Format::Human => crate::ui::eprint(&format!(
                "gitsign: policy {}, rule at line {} for {}: {}\n",
                crate::text::escape(&r.file),
                r.rule.line,
                crate::text::escape(&r.refname),
                t.text()
            )),
        }
    }
    // Under a committed policy, the same line: the rules met along the range, together.
    if let (Some((anchor, refname)), Some(t)) = (&anchored, &authority_tally) {
        let anchor = anchor.to_hex().to_string();
        match args.format {
            Format::Json => {
                let line = serde_json::json!({
                    "policy": crate::policy::history::POLICY_PATH,
                    "policy_anchor": anchor,
                    "ref": refname,
                    "tally": t.json(),
                });
                if let Some(exit) = write_failed(writeln!(out, "{line}"), &tally)? {
                    return Ok(exit.into());
                }
            }
            Format::Human => crate::ui::eprint(&format!(
                "gitsign: committed policy {} from anchor {}, for {}: {}\n",
                crate::policy::history::POLICY_PATH,
                anchor.get(..12).unwrap_or(&anchor),
                crate::text::escape(refname),
                t.text()
            )),
        }
    }
    if let Some(exit) = write_failed(out.flush(), &tally)? {
        return Ok(exit.into());
    }
    let total = tally.total();
    if args.attach_proofs {
        let (notes, warnings) = checker.notes();
        output::eprint_warnings(&warnings);
        let added = notes
            .attach(&shared.to_thread_local(), &to_attach)
            .map_err(|e| {
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
    let judged_by = match (&by_rule, &evolution) {
        (Some(r), _) => super::vsa::JudgedBy::File(r),
        (None, Some(ev)) => super::vsa::JudgedBy::Committed(ev),
        (None, None) => super::vsa::JudgedBy::Flags,
    };
    super::vsa::write(args, &repo, &specs, &selection, &tally, judged_by)?;
    Ok(Exit::of(&tally).into())
}
