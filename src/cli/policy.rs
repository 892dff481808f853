//! `gitsign policy check`: validate a policy file ([`crate::policy`]) on disk, or committed in
//! a revision's tree with the key files beside it, and say what it names. Exit 0 valid, 1
//! invalid (each error at file:line:column), 2 unreadable.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use super::{CliError, CliResult, Exit};
use crate::config::Key;
use crate::policy::{Directory, FileSource, GitTree, PolicyFile, Rule, LANGUAGE_HELP};
use crate::text::escape;

/// The policy file used when neither FILE nor `gitsign.policy` names one (the hook's default).
const DEFAULT_POLICY: &str = "gitsign-policy.toml";

#[derive(clap::Args, Debug)]
#[command(
    about = "Check policy files: authorities (who may sign) and rules (which refs they sign)",
    long_about = "Check policy files: the authorities who may sign (Sigstore identities bound to \
their issuers, OpenPGP key files, SSH allowed-signers files) and the rules that give refs to them. \
The pre-receive hook (gitsign hook) reads the same language.",
    after_long_help = LANGUAGE_HELP
)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum PolicyCommand {
    Check(CheckArgs),
    Init(InitArgs),
}

#[derive(clap::Args, Debug)]
#[command(
    about = "Propose a policy from the signers of a range",
    long_about = "Verify the commits of RANGE and print, on stdout, a policy that admits exactly \
the Sigstore signers whose signatures verified: one entry per identity and issuer, with how many \
commits each signed and when (a CI workflow's identities, one per ref it ran for, become one \
anchored identity-regexp on the workflow). The rule names --ref, else the ref the range's tip \
names. Review every entry before trusting it: the proposal says who signed, not who should."
)]
pub struct InitArgs {
    /// Commits whose signers to propose: a range (v1.0..main), or a revision and its history
    #[arg(long, value_name = "RANGE")]
    pub from: String,
    /// Ref the proposed rule governs (default: the ref the range's tip names)
    #[arg(long = "ref", value_name = "REF")]
    pub refname: Option<String>,
    /// Never contact Rekor: online-mode signatures without a kept proof are left out
    #[arg(long)]
    pub offline: bool,
    /// Sigstore trusted_root.json to verify against (default: git config gitsign.trustedRoot, else the embedded public-good root)
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<String>,
    /// Propose also signers whose signing time nothing proves (online-mode signatures offline)
    #[arg(long)]
    pub insecure_ignore_tlog: bool,
}

#[derive(clap::Args, Debug)]
#[command(
    about = "Validate a policy file and list its authorities and rules",
    long_about = "Validate a policy file and the key files it names, then list its authorities \
and rules on stdout. Errors name the file, line and column. Exit status: 0 valid, 1 invalid, \
2 unreadable.",
    after_long_help = LANGUAGE_HELP
)]
pub struct CheckArgs {
    /// Policy file (default: git config gitsign.policy relative to the git directory, else
    /// gitsign-policy.toml in the git directory); with --revision, its path in the tree
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Read FILE and its key files from this revision's tree instead of the filesystem
    #[arg(long, value_name = "REV", requires = "file")]
    pub revision: Option<String>,
}

pub fn run(args: &PolicyArgs) -> CliResult {
    match &args.command {
        PolicyCommand::Check(a) => check(a),
        PolicyCommand::Init(a) => init(a),
    }
}

/// The full ref name `refname` stands for, else the range's tip's, and which it was.
pub fn ref_for(
    refname: Option<&str>,
    specs: &[String],
    repo: &gix::Repository,
) -> Result<(String, &'static str), CliError> {
    let (name, from) = match refname {
        Some(r) => (r.to_owned(), "--ref"),
        None => (
            crate::git::refname::tip_of(specs)
                .ok_or_else(|| {
                    CliError::new(
                        Exit::Usage,
                        anyhow::anyhow!("the range names no tip revision"),
                    )
                    .hint("pass --ref REF to say which ref the rule governs")
                })?
                .to_owned(),
            "the range's tip",
        ),
    };
    if name.starts_with("refs/") {
        return Ok((name, from));
    }
    let full = crate::git::refname::full_name(repo, &name)
        .map_err(|e| CliError::new(Exit::Io, anyhow::Error::new(e)))?
        .ok_or_else(|| {
            CliError::new(
                Exit::Usage,
                anyhow::anyhow!("'{}' ({from}) names no ref", escape(&name)),
            )
            .hint("pass --ref REF (e.g. --ref refs/heads/main) to say which ref applies")
        })?;
    Ok((full, from))
}

fn init(args: &InitArgs) -> CliResult {
    let repo = crate::git::repo::Repo::open().map_err(|e| {
        CliError::new(Exit::Io, anyhow::Error::new(e))
            .hint("run gitsign policy init inside a git repository")
    })?;
    let specs = vec![args.from.clone()];
    let shared = repo.shared();
    let (refname, _) = ref_for(args.refname.as_deref(), &specs, &shared.to_thread_local())?;
    let flags = super::setup::VerifyFlags {
        trusted_root: args.trusted_root.as_deref(),
        ignore_tlog: Some(args.insecure_ignore_tlog),
        ignore_sct: false,
        offline: args.offline,
        sct: None,
        ..Default::default()
    };
    let setup = super::setup::verify_setup(super::load_config()?, &flags)?;
    let mut selection = repo
        .select(&specs)
        .map_err(|e| CliError::new(Exit::Io, anyhow::Error::new(e)))?;
    // One revision stands for its history here: who signed main, not main's last commit.
    if selection.include.is_empty() {
        selection.include = std::mem::take(&mut selection.single);
    }
    let any = crate::verify::policy::Policy::default();
    let checker = crate::check::Checker::new(&setup, &any, crate::check::Kept::In(&shared));
    let mut signers = Vec::new();
    let mut left_out = 0usize;
    let walked = checker.check_range(&shared, &selection, 512, |_, batch| {
        super::output::eprint_warnings(&batch.warnings);
        for v in batch.verified {
            match crate::policy::SigstoreSigner::from_report(&v.report) {
                Some(s) if v.report.is_good() => signers.push(s),
                _ => left_out += 1,
            }
        }
        std::ops::ControlFlow::Continue(())
    });
    walked.map_err(|e| CliError::new(Exit::Io, anyhow::Error::new(e)))?;
    if signers.is_empty() {
        return Err(CliError::new(
            Exit::Negative,
            anyhow::anyhow!(
                "no commit of '{}' has a Sigstore signature that verifies ({left_out} left out)",
                escape(&args.from)
            ),
        )
        .hint("`gitsign verify RANGE --certificate-identity-regexp . --certificate-oidc-issuer-regexp .` says why each commit does not verify"));
    }
    let seen = crate::policy::init::group(&signers);
    let text = crate::policy::init::propose(&seen, &args.from, &refname);
    crate::ui::eprint(&format!(
        "gitsign: proposed {} identity/issuer pair(s) from {} verified commit(s); {left_out} commit(s) left out (unsigned, not Sigstore, or not verified)\n",
        seen.len(),
        signers.len()
    ));
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).is_err() {
        return Ok(ExitCode::SUCCESS);
    }
    Ok(Exit::Good.into())
}

/// FILE, else `gitsign.policy` (relative to the git directory), else the default there.
fn default_path() -> Result<PathBuf, CliError> {
    let config = super::load_config()?;
    let repo = crate::git::repo::shared_repository().map_err(|e| {
        CliError::new(Exit::Io, anyhow::Error::new(e))
            .hint("name the policy file: gitsign policy check FILE")
    })?;
    let git_dir = repo.git_dir();
    Ok(match config.get(Key::Policy) {
        Some(p) => git_dir.join(p),
        None => git_dir.join(DEFAULT_POLICY),
    })
}

fn check(args: &CheckArgs) -> CliResult {
    let parsed = match (&args.revision, &args.file) {
        (Some(rev), Some(file)) => check_committed(rev, file)?,
        (_, file) => {
            let path = match file {
                Some(f) => f.clone(),
                None => default_path()?,
            };
            check_file(&path)?
        }
    };
    // The key files as the OpenPGP and SSH verifiers read them.
    let key_warnings = super::setup::policy_key_files()
        .check(&parsed.authorities)
        .map_err(|e| {
            let hint = e.hint();
            CliError::new(
                Exit::Negative,
                anyhow::Error::new(e).context(format!("invalid policy: {}", escape(&parsed.file))),
            )
            .hint(hint)
        })?;
    let warnings = parsed.warnings().into_iter().chain(key_warnings);
    for w in warnings {
        crate::ui::eprint(&format!("gitsign: warning: {}\n", escape(&w)));
    }
    let mut out = std::io::stdout().lock();
    if out.write_all(summary(&parsed).as_bytes()).is_err() {
        return Ok(ExitCode::SUCCESS); // broken pipe: the reader has gone
    }
    Ok(Exit::Good.into())
}

/// The rule `gitsign verify` judges a range by: the policy file, the ref, and its rule.
pub struct RangeRule {
    pub file: String,
    /// The policy's text, as read (what a verification summary records the digest of).
    pub text: String,
    pub refname: String,
    pub rule: Rule,
    /// Every authority of the policy: whose key files OpenPGP and SSH signatures are verified
    /// against (a key of an authority the rule does not name verifies, and the rule refuses it).
    pub authorities: Vec<crate::policy::Authority>,
}

/// Where `gitsign verify`'s policy comes from: `--policy FILE`, else (no identity flag given)
/// git config `gitsign.policy`, relative to the git directory as for the hook.
pub fn verify_policy_path(
    flag: Option<&Path>,
    config: &crate::config::Config,
    git_dir: &Path,
) -> Option<PathBuf> {
    match flag {
        Some(p) => Some(p.to_path_buf()),
        None => config.get(Key::Policy).map(|p| git_dir.join(p)),
    }
}

/// Load the policy at `path` and choose the rule for `refname`, else for the ref the range's
/// tip names. Every failure decides nothing (exit 2): a bad policy, a ref no rule governs.
pub fn range_rule(
    path: &Path,
    refname: Option<&str>,
    specs: &[String],
    repo: &gix::Repository,
) -> Result<RangeRule, CliError> {
    let (policy, text) = read_file(path).map_err(|e| CliError {
        kind: if e.kind == Exit::Negative {
            Exit::Config
        } else {
            e.kind
        },
        ..e
    })?;
    let (full, from) = ref_for(refname, specs, repo)?;
    let rule = policy.rule_for(&full).cloned().ok_or_else(|| {
        CliError::new(
            Exit::Config,
            anyhow::anyhow!(
                "no rule of the policy {} governs {} (from {from})",
                escape(&policy.file),
                escape(&full)
            ),
        )
        .hint("add a [[rule]] whose refs match it, or pass --ref for a ref a rule governs")
    })?;
    Ok(RangeRule {
        file: policy.file.clone(),
        text,
        refname: full,
        rule,
        authorities: policy.authorities,
    })
}

fn invalid(e: crate::policy::ParseError) -> CliError {
    CliError::new(Exit::Negative, anyhow::anyhow!("invalid policy: {e}"))
        .hint("`gitsign policy --help` describes the language")
}

fn check_file(path: &Path) -> Result<PolicyFile, CliError> {
    read_file(path).map(|(p, _)| p)
}

/// The policy at `path`, and its text.
fn read_file(path: &Path) -> Result<(PolicyFile, String), CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::new(
            Exit::Io,
            anyhow::Error::new(e).context(format!("reading the policy file '{}'", path.display())),
        )
        .hint("the policy file must be readable UTF-8 TOML")
    })?;
    let name = path.display().to_string();
    let parsed = PolicyFile::parse(&text, &name, &Directory::of(path)).map_err(invalid)?;
    Ok((parsed, text))
}

fn check_committed(rev: &str, file: &Path) -> Result<PolicyFile, CliError> {
    let repo = crate::git::repo::shared_repository()?.to_thread_local();
    let commit = repo
        .rev_parse_single(rev)
        .with_context(|| format!("unknown revision '{rev}'"))
        .and_then(|id| {
            id.object()
                .context("reading the revision")?
                .peel_to_commit()
                .with_context(|| format!("'{rev}' does not name a commit"))
        })
        .map_err(|e| CliError::new(Exit::Usage, e))?;
    let tree = commit
        .tree_id()
        .with_context(|| format!("reading the tree of '{rev}'"))?
        .detach();
    let path = file.to_string_lossy().replace('\\', "/");
    let label = rev.to_owned();
    let text = GitTree::new(&repo, tree, "", label.clone())
        .read(&path)
        .with_context(|| format!("reading '{path}' from '{rev}'"))?;
    let text =
        String::from_utf8(text).map_err(|_| anyhow::anyhow!("'{rev}:{path}' is not UTF-8"))?;
    let files = GitTree::new(&repo, tree, &path, label);
    PolicyFile::parse(&text, &format!("{rev}:{path}"), &files).map_err(invalid)
}

/// What the policy names, one line each: the file, its authorities, its rules.
fn summary(p: &PolicyFile) -> String {
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let named = p.authorities.iter().filter(|a| !a.is_inline()).count();
    let mut out = format!(
        "{}: valid: {}, {}\n",
        escape(&p.file),
        plural(named, "authority", "authorities"),
        plural(p.rules.len(), "rule", "rules")
    );
    for a in &p.authorities {
        let mut what = Vec::new();
        if !a.sigstore.is_empty() {
            what.push(plural(
                a.sigstore.len(),
                "Sigstore identity",
                "Sigstore identities",
            ));
        }
        for (files, kind) in [
            (&a.openpgp, "OpenPGP key file"),
            (&a.ssh, "SSH allowed-signers file"),
        ] {
            if !files.is_empty() {
                let shown: Vec<String> =
                    files.iter().map(|f| escape(&f.path).into_owned()).collect();
                what.push(format!(
                    "{} ({})",
                    plural(files.len(), kind, &format!("{kind}s")),
                    shown.join(", ")
                ));
            }
        }
        out.push_str(&format!(
            "authority {} (line {}): {}\n",
            a.name,
            a.line,
            what.join("; ")
        ));
    }
    for r in &p.rules {
        let refs: Vec<String> = r
            .refs
            .iter()
            .map(|g| escape(g.as_str()).into_owned())
            .collect();
        let who: Vec<&str> = r.authorities.iter().map(|a| a.name.as_str()).collect();
        out.push_str(&format!(
            "rule (line {}) {}: {}\n",
            r.line,
            refs.join(", "),
            who.join(", ")
        ));
    }
    if !p.policy_authorities.is_empty() {
        let who: Vec<&str> = p
            .policy_authorities
            .iter()
            .filter_map(|&i| p.authorities.get(i))
            .map(|a| a.name.as_str())
            .collect();
        out.push_str(&format!("policy-authorities: {}\n", who.join(", ")));
    }
    out
}
