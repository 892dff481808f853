//! `gitsign hook`: the command-line side of the push decision ([`crate::hook`]): git's
//! `pre-receive` hook (all ref updates on stdin, githooks(5)) and `update` hook (one ref in
//! argv), reading the policy, trust root and quarantine, verifying what the plan names (on
//! every core, reusing kept facts), proving online-mode signatures, rendering the
//! [`Decision`](crate::hook::Decision) as `remote:` lines, and `install`.
//!
//! What is checked, and the exit codes, are [`crate::hook::POLICY_HELP`] (`--help`). Human
//! output goes to stderr, which git relays to the pusher as `remote:` lines.

use std::collections::HashMap;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use gix::ObjectId;
use rayon::prelude::*;

use super::anchored::{verify_under, KeyedHistory, PushedHistory};
use super::setup::VerifyFlags;
use super::{CliError, CliResult, Exit};
use crate::check::{Checker, Kept, KeyFiles, Signed, Verified};
use crate::config::{Config, Key};
use crate::git::object;
use crate::git::push::{self, ObjectDirs, Receiving, RefUpdate};
use crate::hook::anchored::{Anchored, AnchoredError};
use crate::hook::policy::{PolicyFile, Transparency};
use crate::hook::{self, Decision, POLICY_HELP};
use crate::policy::history::{HistoryError, POLICY_PATH};
use crate::proofs::ProofSource;
use crate::ssh::Revoked;
use crate::verify::{policy::Policy, ObjectKind, Report};

/// Rejected objects listed one per line before the rest is only counted.
const MAX_LISTED: usize = 20;

/// The policy file used when neither `--policy` nor `gitsign.policy` names one.
pub const DEFAULT_POLICY: &str = "gitsign-policy.toml";

#[derive(clap::Args, Debug)]
#[command(
    about = "Enforce a signature policy on pushes (server-side git hooks)",
    long_about = "Enforce a signature policy on pushes: run as git's pre-receive or update hook \
in the receiving repository, gitsign judges each updated ref by its own rule on the commits and \
tags it gains, and refuses the push when any of them is unsigned, badly signed, or signed by \
someone the policy does not name for that ref. Signatures carrying their transparency log entry are verified offline; online-mode \
signatures are looked up in Rekor where the policy allows them (not with --offline).",
    after_long_help = POLICY_HELP
)]
pub struct HookArgs {
    #[command(subcommand)]
    pub command: HookCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum HookCommand {
    PreReceive(PreReceiveArgs),
    Update(UpdateArgs),
    Install(InstallArgs),
}

#[derive(clap::Args, Debug)]
#[command(
    about = "Check a push as git's pre-receive hook (ref updates on stdin)",
    after_long_help = POLICY_HELP
)]
pub struct PreReceiveArgs {
    /// Policy file (default: git config gitsign.policy, else gitsign-policy.toml in the git directory)
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Judge pushes by the committed policy (.gitsign/policy.toml) trusted from this commit (full id; default: git config gitsign.policyAnchor)
    #[arg(long, value_name = "COMMIT")]
    pub policy_anchor: Option<String>,
    /// Sigstore trusted_root.json to verify against (default: git config gitsign.trustedRoot, else the embedded public-good root)
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Never contact Rekor: online-mode signatures without a kept proof are refused
    #[arg(long)]
    pub offline: bool,
}

#[derive(clap::Args, Debug)]
#[command(
    about = "Check one ref update as git's update hook",
    after_long_help = POLICY_HELP
)]
pub struct UpdateArgs {
    /// Name of the ref being updated
    #[arg(value_name = "REF")]
    pub refname: String,
    /// Old object id (all zeros when the ref is created)
    #[arg(value_name = "OLD")]
    pub old: String,
    /// New object id (all zeros when the ref is deleted)
    #[arg(value_name = "NEW")]
    pub new: String,
    /// Policy file (default: git config gitsign.policy, else gitsign-policy.toml in the git directory)
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Judge pushes by the committed policy (.gitsign/policy.toml) trusted from this commit (full id; default: git config gitsign.policyAnchor)
    #[arg(long, value_name = "COMMIT")]
    pub policy_anchor: Option<String>,
    /// Sigstore trusted_root.json to verify against (default: git config gitsign.trustedRoot, else the embedded public-good root)
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Never contact Rekor: online-mode signatures without a kept proof are refused
    #[arg(long)]
    pub offline: bool,
}

#[derive(clap::Args, Debug)]
#[command(
    about = "Install gitsign as the pre-receive hook of a repository",
    long_about = "Write hooks/pre-receive into a (usually bare) repository so that every push \
is checked with `gitsign hook pre-receive`. The hook runs this gitsign binary by its absolute \
path. An existing hook not written by gitsign is kept unless --force is given."
)]
pub struct InstallArgs {
    /// Policy file the hook passes as --policy, validated now (default: resolved at push time)
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Commit the hook passes as --policy-anchor: pushes are judged by the committed policy trusted from it (full id; not with --policy)
    #[arg(long, value_name = "COMMIT", conflicts_with = "policy")]
    pub policy_anchor: Option<String>,
    /// Sigstore trusted_root.json the hook verifies against, validated now and passed as --trusted-root (default: resolved at push time)
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Make the hook run with --offline: it never contacts Rekor (air-gapped servers)
    #[arg(long)]
    pub offline: bool,
    /// Replace an existing pre-receive hook that gitsign did not write
    #[arg(long)]
    pub force: bool,
    /// Repository to install into (default: the current one)
    #[arg(value_name = "REPO")]
    pub repo: Option<PathBuf>,
}

pub fn run(args: &HookArgs) -> CliResult {
    match &args.command {
        HookCommand::PreReceive(a) => {
            let mut updates = Vec::new();
            for line in std::io::stdin().lock().lines() {
                let line = line.context("reading the ref updates from stdin")?;
                if line.trim().is_empty() {
                    continue;
                }
                updates.push(RefUpdate::parse_line(&line).map_err(|e| {
                    CliError::new(Exit::Usage, anyhow::Error::new(e))
                        .hint("git runs `gitsign hook pre-receive` with '<old> <new> <ref>' lines on stdin")
                })?);
            }
            check(
                &updates,
                &CheckArgs {
                    policy: a.policy.as_deref(),
                    policy_anchor: a.policy_anchor.as_deref(),
                    trusted_root: a.trusted_root.as_deref(),
                    offline: a.offline,
                },
            )
        }
        HookCommand::Update(a) => {
            let update = RefUpdate::new(&a.old, &a.new, &a.refname)
                .map_err(|e| CliError::new(Exit::Io, anyhow::Error::new(e)))?;
            check(
                &[update],
                &CheckArgs {
                    policy: a.policy.as_deref(),
                    policy_anchor: a.policy_anchor.as_deref(),
                    trusted_root: a.trusted_root.as_deref(),
                    offline: a.offline,
                },
            )
        }
        HookCommand::Install(a) => install(a),
    }
}

/// The quarantine as git describes it to hooks.
fn object_dirs_from_env() -> ObjectDirs {
    ObjectDirs {
        primary: std::env::var_os("GIT_OBJECT_DIRECTORY")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        alternates: std::env::var("GIT_ALTERNATE_OBJECT_DIRECTORIES")
            .map(|v| push::parse_alternates(&v))
            .unwrap_or_default(),
    }
}

/// Which policy file applies and where that choice came from.
fn policy_path(flag: Option<&Path>, config: &Config, git_dir: &Path) -> (PathBuf, String) {
    if let Some(p) = flag {
        return (p.to_path_buf(), "--policy".into());
    }
    if let Some(p) = config.get(Key::Policy) {
        let src = config
            .source(Key::Policy)
            .map(|s| s.to_string())
            .unwrap_or_default();
        return (git_dir.join(p), src);
    }
    (git_dir.join(DEFAULT_POLICY), "the default".into())
}

/// Read and validate the policy; every failure refuses the push (exit 2).
fn load_policy(path: &Path, source: &str) -> Result<PolicyFile, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            "create the policy file, or point --policy or git config gitsign.policy at it (see `gitsign hook pre-receive --help`)"
        } else {
            "the policy file must be readable UTF-8 TOML"
        };
        CliError::new(Exit::Io,
            anyhow::Error::new(e).context(format!(
                "reading the policy file '{}' (from {source})",
                path.display()
            )),
        )
        .hint(hint)
    })?;
    PolicyFile::parse_at(&text, path).map_err(|e| {
        CliError::new(
            Exit::Config,
            anyhow::anyhow!(
                "invalid policy file '{}' at line {}, column {}: {}",
                path.display(),
                e.line,
                e.column,
                e.message
            ),
        )
        .hint("every push is refused until the policy file is fixed")
    })
}

/// The anchor of the committed policy: `--policy-anchor`, else git config
/// gitsign.policyAnchor in the receiving repository (`None`: neither), with where it came
/// from. A full commit id: a revision such as a branch name would move with the very pushes
/// it is the root of trust for, and the commit may arrive with the push.
fn policy_anchor(
    flag: Option<&str>,
    config: &Config,
) -> Result<Option<(ObjectId, String)>, CliError> {
    let (value, from) = match (flag, config.get(Key::PolicyAnchor)) {
        (Some(v), _) => (v, "--policy-anchor".to_owned()),
        (None, Some(v)) => (
            v,
            config
                .source(Key::PolicyAnchor)
                .map(|s| s.to_string())
                .unwrap_or_default(),
        ),
        (None, None) => return Ok(None),
    };
    let value = value.trim();
    let full = matches!(value.len(), 40 | 64) && value.bytes().all(|b| b.is_ascii_hexdigit());
    match ObjectId::from_hex(value.to_ascii_lowercase().as_bytes()) {
        Ok(id) if full => Ok(Some((id, from))),
        _ => Err(CliError::new(
            Exit::Config,
            anyhow::anyhow!(
                "invalid policy anchor '{}' (from {from}): the hook needs a full commit id",
                crate::text::escape(value)
            ),
        )
        .hint("set gitsign.policyAnchor to the full id of a commit holding .gitsign/policy.toml (`git rev-parse COMMIT`); a branch name would move with the pushes it judges")),
    }
}

/// Refuse a policy file and a policy anchor together: two roots of trust, and no rule that
/// would say which one decides what.
fn one_root_of_trust(
    policy_flag: bool,
    config: &Config,
    path: &Path,
    anchor_from: &str,
) -> Result<(), CliError> {
    let file = if policy_flag {
        Some("--policy")
    } else if config.get(Key::Policy).is_some() {
        Some("git config gitsign.policy")
    } else if path.exists() {
        Some("the default path")
    } else {
        None
    };
    match file {
        None => Ok(()),
        Some(from) => Err(CliError::new(
            Exit::Config,
            anyhow::anyhow!(
                "both a policy file ('{}', from {from}) and a policy anchor (from {anchor_from}) are set: the hook takes one root of trust",
                path.display()
            ),
        )
        .hint("judge pushes by the committed policy (remove the policy file, unset gitsign.policy, drop --policy) or by the file (unset gitsign.policyAnchor, drop --policy-anchor)")),
    }
}

/// Learn the push against the committed policy anchored at `anchor`: the pushed history is
/// read from the quarantine, and its policy-changing commits are verified (OpenPGP and SSH
/// ones against the key files of the policy in force).
fn learn_anchored<'a>(
    updates: &[RefUpdate],
    anchor: ObjectId,
    repo: &'a Receiving,
    checker: &'a Checker<'a>,
    files: &KeyFiles,
    revoked: &Revoked,
) -> Result<Anchored, CliError> {
    let history = KeyedHistory {
        git: PushedHistory::new(repo, checker),
        files,
        revoked,
    };
    Anchored::learn(updates, anchor, repo, &history).map_err(|e| match e {
        AnchoredError::Push(e) => unreadable_push(e),
        AnchoredError::History(e @ HistoryError::Git { .. }) => super::anchored::history_error(e)
            .hint("the server's gitsign.policyAnchor (or --policy-anchor) must name a commit of this repository or of the push; the pushed history must be complete"),
        AnchoredError::History(e) => super::anchored::history_error(e),
    })
}

/// The pushed history could not be read.
fn unreadable_push(e: push::PushError) -> CliError {
    CliError::new(Exit::Io, anyhow::Error::new(e))
        .hint("the pushed history is incomplete or unreadable; push again, or check the repository with git fsck")
}

/// What the hook trusts: the server's policy file, or the committed policy from an anchor.
enum Root {
    File(PolicyFile),
    Anchor(ObjectId),
}

/// What `check` needs besides the ref updates.
struct CheckArgs<'a> {
    policy: Option<&'a Path>,
    policy_anchor: Option<&'a str>,
    trusted_root: Option<&'a Path>,
    /// Never contact Rekor.
    offline: bool,
}

fn check(updates: &[RefUpdate], args: &CheckArgs<'_>) -> CliResult {
    let repo = Receiving::open(&object_dirs_from_env()).map_err(|e| {
        CliError::new(Exit::Io, anyhow::Error::new(e))
            .hint("git runs hooks inside the receiving repository; run gitsign hook there")
    })?;
    let config = super::load_config()?;
    let (path, source) = policy_path(args.policy, &config, repo.git_dir());
    let root = match policy_anchor(args.policy_anchor, &config)? {
        Some((anchor, from)) => {
            one_root_of_trust(args.policy.is_some(), &config, &path, &from)?;
            Root::Anchor(anchor)
        }
        None => Root::File(load_policy(&path, &source)?),
    };
    let trusted_root = args.trusted_root.map(|p| p.to_string_lossy().into_owned());
    // Under an anchored committed policy, OpenPGP and SSH signatures verify against the key
    // files of the policy in force at each object, with git's SSH revocation file.
    let revoked = match &root {
        Root::Anchor(_) => super::setup::load_revoked(&config)?,
        Root::File(_) => Revoked::default(),
    };
    let mut setup = super::setup::verify_setup(
        config,
        &VerifyFlags {
            trusted_root: trusted_root.as_deref(),
            // Each ref's rule says what it accepts; no setting waives the signing time.
            ignore_tlog: None,
            ignore_sct: false,
            sct: None,
            // Rekor settings are read only when some rule could use a lookup.
            offline: args.offline
                || matches!(&root, Root::File(p) if p
                    .rules
                    .iter()
                    .all(|r| r.transparency == Transparency::Embedded)),
            ..VerifyFlags::default()
        },
    )?;
    // Under the server's policy file, OpenPGP and SSH signatures verify against its key files.
    let key_files = super::setup::policy_key_files();
    if let Root::File(policy) = &root {
        setup.keys = policy_keys(policy, &path.display().to_string(), &key_files)?;
    }
    let empty = Policy::default();
    let shared = repo.repository().clone().into_sync();
    // Reads the pushed history's policy-changing commits and re-verifies OpenPGP and SSH
    // signatures under a committed policy's key files; keeps no facts (a refused push keeps none).
    let checker = Checker::new(&setup, &empty, Kept::In(&shared));
    let learnt;
    let (plan, file) = match &root {
        Root::File(policy) => (
            hook::plan::plan(updates, policy, &repo).map_err(unreadable_push)?,
            path.display().to_string(),
        ),
        Root::Anchor(anchor) => {
            learnt = learn_anchored(updates, *anchor, &repo, &checker, &key_files, &revoked)?;
            (
                learnt.plan(),
                format!("{POLICY_PATH} (anchored at {})", anchor.to_hex_with_len(12)),
            )
        }
    };
    let objects = plan.objects();
    // Every object goes through the verification driver, as `gitsign verify` checks them:
    // objects verified before, whose facts are kept in the repository's store, are decided by
    // them with no cryptography; the others get the first pass on every core, then the
    // online-mode objects some rule would accept with a looked-up entry are proven from kept
    // proofs, notes, then (unless offline) Rekor, whose anchoring proofs are kept.
    let hash = repo.hash_kind();
    let items: Vec<Signed<'_>> = objects
        .iter()
        .map(|(id, kind)| Signed::Object {
            raw: plan.raws.get(id).map(Vec::as_slice).unwrap_or_default(),
            kind: *kind,
            hash,
        })
        .collect();
    let worth = hook::WorthProving::new(&plan);
    let noting =
        Checker::new(&setup, &empty, Kept::In(&shared)).with_facts(&setup, repo.common_dir());
    let (batch, noted) = noting.check_noting(&items, |i, report| {
        objects
            .get(i)
            .is_some_and(|(id, _)| worth.admits(id, report))
    });
    super::output::eprint_warnings(&batch.warnings);
    let known = noted.known.iter().filter(|k| **k).count();
    // Under a committed policy, the first pass checked OpenPGP and SSH signatures against no
    // key; each is verified again, on every core, against the key files of the policies it is
    // checked under.
    let under = plan.policies();
    let verified: Vec<Verified> = objects
        .par_iter()
        .zip(&items)
        .zip(batch.verified)
        .map(|(((id, _), object), first)| match under.get(id) {
            Some(policies) => {
                keyed_verdict(&checker, object, first, policies, &key_files, &revoked)
            }
            None => first,
        })
        .collect();
    let mut proven = Proven::default();
    let mut reports: HashMap<ObjectId, Report> = HashMap::with_capacity(objects.len());
    let mut signers = HashMap::new();
    for ((id, _), v) in objects.iter().zip(verified) {
        if let Some(signer) = v.signer.as_ref().and_then(|s| s.judged(&v.report)) {
            signers.insert(*id, signer);
        }
        match v.proof.as_deref() {
            Some((_, ProofSource::Rekor)) => proven.fetched += 1,
            Some(_) => proven.kept += 1,
            None => {}
        }
        reports.insert(*id, v.report);
    }
    let decision = hook::decide_signed(&plan, &reports, &signers, &key_files);
    // Facts only for a push that is accepted: a refused push's objects are discarded by git,
    // and keeping their facts would let anyone grow the store by pushing (and being refused).
    // (Keeping them would be sound — a fact is about an object id, whose bytes never change —
    // but unbounded.)
    if decision.accepted() {
        if let Some(w) = noted.keep() {
            super::output::eprint_warnings(&[w]);
        }
    }
    let summary = summary(&objects, plan.exempt.len(), known, &proven);
    crate::ui::eprint(&render(
        &decision,
        &plan.raws,
        &file,
        objects.len(),
        &summary,
    ));
    Ok(ExitCode::from(decision.exit_code()))
}

/// The verdict on `object` (`first`: against no key) under committed `policies`: an OpenPGP or
/// SSH signature verified against each one's key files. An object checked under several
/// policies (refs whose policies differ) gets one verdict for all its checks, so a verdict
/// that is not good under one of them is kept: failing closed.
fn keyed_verdict(
    checker: &Checker<'_>,
    object: &Signed<'_>,
    first: Verified,
    policies: &[&crate::policy::PolicyFile],
    files: &KeyFiles,
    revoked: &Revoked,
) -> Verified {
    let mut verdict: Option<Verified> = None;
    for policy in policies {
        let v = verify_under(checker, object, first.clone(), policy, files, revoked);
        if verdict.as_ref().is_none_or(|kept| kept.report.is_good()) {
            verdict = Some(v);
        }
    }
    verdict.unwrap_or(first)
}

/// The keys OpenPGP and SSH signatures are verified against: the key files of every rule's
/// authorities (beside the policy file), and git's SSH revocation file.
fn policy_keys(
    policy: &PolicyFile,
    file: &str,
    key_files: &KeyFiles,
) -> Result<crate::check::Keys, CliError> {
    let authorities = policy.rules.iter().flat_map(|r| r.authorities.iter());
    super::setup::policy_keys(&super::load_config()?, key_files, file, authorities)
}

/// Whether the OpenPGP and SSH verifiers can read every key file of the policy at `path`.
fn check_key_files(policy: &PolicyFile, path: &Path) -> Result<(), CliError> {
    let authorities = policy.rules.iter().flat_map(|r| r.authorities.iter());
    super::setup::policy_key_files()
        .check(authorities)
        .map(|_| ())
        .map_err(|e| {
            let hint = e.hint();
            CliError::new(
                Exit::Config,
                anyhow::Error::new(e).context(format!("invalid policy file '{}'", path.display())),
            )
            .hint(hint)
        })
}

/// What was checked and how, for the last line.
fn summary(
    objects: &[(ObjectId, ObjectKind)],
    exempt: usize,
    known: usize,
    proven: &Proven,
) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let n_commits = objects
        .iter()
        .filter(|(_, k)| *k == ObjectKind::Commit)
        .count();
    let n_tags = objects.len() - n_commits;
    let mut s = format!(
        "{n_commits} new commit{} and {n_tags} tag{} checked",
        plural(n_commits),
        plural(n_tags)
    );
    if exempt > 0 {
        s.push_str(&format!(
            ", {exempt} older commits accepted unchecked (unsigned-before)"
        ));
    }
    if known > 0 {
        s.push_str(&format!(
            ", {known} by facts kept from earlier verification"
        ));
    }
    if proven.kept + proven.fetched > 0 {
        s.push_str(&format!(
            "; online-mode signatures proven by {} kept proof{} and {} Rekor lookup{}",
            proven.kept,
            plural(proven.kept),
            proven.fetched,
            plural(proven.fetched),
        ));
    }
    s
}

/// The pusher's view of a decision: one line per refusal (the first [`MAX_LISTED`]), the
/// verdict with counts, and one hint.
fn render(
    d: &Decision<'_>,
    raws: &HashMap<ObjectId, Vec<u8>>,
    file: &str,
    n_objects: usize,
    summary: &str,
) -> String {
    if d.accepted() {
        return format!("gitsign: push accepted: {summary}\n");
    }
    let mut out = String::new();
    for r in d.refusals.iter().take(MAX_LISTED) {
        let subject = match r {
            hook::Refused::Object { id, .. } => raws
                .get(id)
                .map(|raw| object::subject(raw))
                .unwrap_or_default(),
            hook::Refused::Ref(_) => String::new(),
        };
        // Subjects, ref names and identities come from the pusher: one escaped line each.
        out.push_str(&crate::text::escape(&r.line(file, &subject)));
        out.push('\n');
    }
    if d.refusals.len() > MAX_LISTED {
        out.push_str(&format!("... and {} more\n", d.refusals.len() - MAX_LISTED));
    }
    let mut counts = Vec::new();
    if d.objects_refused > 0 {
        counts.push(format!(
            "{} of {n_objects} object{} refused",
            d.objects_refused,
            if n_objects == 1 { "" } else { "s" }
        ));
    }
    if d.refs_refused > 0 {
        counts.push(format!(
            "{} ref update{} refused",
            d.refs_refused,
            if d.refs_refused == 1 { "" } else { "s" }
        ));
    }
    out.push_str(&format!(
        "gitsign: push rejected by the signature policy in {file}: {}; {summary}\n",
        counts.join(", ")
    ));
    if let Some(h) = d.hint() {
        out.push_str(&format!("Hint: {h}\n"));
    }
    out
}

/// How online-mode objects were decided.
#[derive(Debug, Default)]
struct Proven {
    /// Anchored by a proof kept in the repository (proof cache, notes).
    kept: usize,
    /// Anchored by an entry a Rekor lookup returned now.
    fetched: usize,
}

/// Single-quote for sh.
pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

const HOOK_MARKER: &str = "written by `gitsign hook install`";

fn install(args: &InstallArgs) -> CliResult {
    let dir = match &args.repo {
        // Absolute and without `..`: gix's discovery panics on a relative path that climbs
        // (`../repo`), and the hook names absolute paths anyway.
        Some(p) => std::fs::canonicalize(p)
            .or_else(|_| std::path::absolute(p))
            .with_context(|| format!("resolving the repository path '{}'", p.display()))?,
        None => std::env::current_dir().context("reading the current directory")?,
    };
    let repo = gix::discover(&dir).map_err(|e| {
        CliError::new(
            Exit::Io,
            anyhow::Error::new(e).context(format!("'{}' is not a git repository", dir.display())),
        )
        .hint("pass the path of the (bare) repository that receives pushes")
    })?;
    let git_dir = std::path::absolute(repo.git_dir()).context("resolving the git directory")?;
    let exe = std::env::current_exe().context("finding the gitsign binary")?;
    let mut command = format!("exec {} hook pre-receive", sh_quote(&exe.to_string_lossy()));
    if args.offline {
        command.push_str(" --offline");
    }
    match &args.policy {
        Some(p) => {
            let abs = std::path::absolute(p)
                .with_context(|| format!("resolving the policy path '{}'", p.display()))?;
            let policy = load_policy(&abs, "--policy")?;
            check_key_files(&policy, &abs)?;
            command.push_str(&format!(" --policy {}", sh_quote(&abs.to_string_lossy())));
        }
        None if args.policy_anchor.is_some()
            || repo
                .config_snapshot()
                .string("gitsign.policyAnchor")
                .is_some() =>
        {
            let default = git_dir.join(DEFAULT_POLICY);
            if default.exists() {
                crate::ui::eprint(&format!(
                    "gitsign: note: '{}' exists: every push is refused until it is removed, as the hook takes one root of trust (the policy anchor)\n",
                    default.display()
                ));
            }
        }
        None => {
            let default = git_dir.join(DEFAULT_POLICY);
            if !default.exists() {
                crate::ui::eprint(&format!(
                    "gitsign: note: no policy at '{}' yet (nor --policy): every push is refused until it exists or git config gitsign.policy names one\n",
                    default.display()
                ));
            }
        }
    }
    if let Some(anchor) = &args.policy_anchor {
        let empty = Config::resolve(&[], |_| None);
        if let Some((id, _)) = policy_anchor(Some(anchor), &empty)? {
            command.push_str(&format!(" --policy-anchor {id}"));
        }
    }
    if let Some(p) = &args.trusted_root {
        let abs = std::path::absolute(p)
            .with_context(|| format!("resolving the trusted root path '{}'", p.display()))?;
        let bytes = std::fs::read(&abs)
            .with_context(|| format!("reading the trusted root '{}'", abs.display()))?;
        crate::trust::TrustedRoot::from_json(&bytes)
            .with_context(|| format!("parsing the trusted root '{}'", abs.display()))
            .map_err(|e| CliError::new(Exit::Io, e).hint("the file must be a Sigstore trusted_root.json (mediaType application/vnd.dev.sigstore.trustedroot+json)"))?;
        command.push_str(&format!(
            " --trusted-root {}",
            sh_quote(&abs.to_string_lossy())
        ));
    }
    let hooks = git_dir.join("hooks");
    std::fs::create_dir_all(&hooks).with_context(|| format!("creating '{}'", hooks.display()))?;
    let path = hooks.join("pre-receive");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if !existing.contains(HOOK_MARKER) && !args.force {
            return Err(CliError::new(
                Exit::Negative,
                anyhow::anyhow!("'{}' exists and was not written by gitsign", path.display()),
            )
            .hint("merge it by hand, or pass --force to replace it"));
        }
    }
    let script = format!(
        "#!/bin/sh\n# pre-receive hook {HOOK_MARKER}: every pushed commit and tag must satisfy the\n# signature policy (see `gitsign hook pre-receive --help`).\n{command}\n"
    );
    // Atomically and executable from the start: a push arriving meanwhile runs the old hook
    // or the new one, never half a script nor (no execute bit) no hook at all.
    crate::fsutil::write_atomic(
        &path,
        script.as_bytes(),
        crate::fsutil::Access::Executable,
        crate::fsutil::Durability::Durable,
    )
    .with_context(|| format!("writing '{}'", path.display()))?;
    crate::ui::eprint(&format!("gitsign: installed '{}'\n", path.display()));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_sh() {
        assert_eq!(sh_quote("/a b/gitsign"), "'/a b/gitsign'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn policy_path_precedence_is_flag_config_default() {
        let git_dir = Path::new("/srv/repo.git");
        let none = Config::resolve(&[], |_| None);
        assert_eq!(
            policy_path(None, &none, git_dir).0,
            PathBuf::from("/srv/repo.git/gitsign-policy.toml"),
            "the default lives in the git directory"
        );
        let cfg = Config::resolve(&[("gitsign.policy".into(), "policy/p.toml".into())], |_| {
            None
        });
        let (p, src) = policy_path(None, &cfg, git_dir);
        assert_eq!(
            p,
            PathBuf::from("/srv/repo.git/policy/p.toml"),
            "relative to the git directory"
        );
        assert_eq!(src, "git config gitsign.policy");
        assert_eq!(
            policy_path(Some(Path::new("/etc/p.toml")), &cfg, git_dir).0,
            PathBuf::from("/etc/p.toml"),
            "the flag wins"
        );
    }
}
