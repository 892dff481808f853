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

use super::setup::VerifyFlags;
use super::{CliError, CliResult, Exit};
use crate::check::{Checker, Kept, Signed};
use crate::config::{Config, Key};
use crate::git::object;
use crate::git::push::{self, ObjectDirs, Receiving, RefUpdate};
use crate::hook::policy::{PolicyFile, Transparency};
use crate::hook::{self, Decision, POLICY_HELP};
use crate::proofs::ProofSource;
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

/// What `check` needs besides the ref updates.
struct CheckArgs<'a> {
    policy: Option<&'a Path>,
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
    let policy = load_policy(&path, &source)?;
    let trusted_root = args.trusted_root.map(|p| p.to_string_lossy().into_owned());
    let setup = super::setup::verify_setup(
        config,
        &VerifyFlags {
            trusted_root: trusted_root.as_deref(),
            // Each ref's rule says what it accepts; no setting waives the signing time.
            ignore_tlog: None,
            ignore_sct: false,
            sct: None,
            // Rekor settings are read only when some rule could use a lookup.
            offline: args.offline
                || policy
                    .rules
                    .iter()
                    .all(|r| r.transparency == Transparency::Embedded),
            ..VerifyFlags::default()
        },
    )?;
    let file = path.display().to_string();

    let plan = hook::plan::plan(updates, &policy, &repo).map_err(|e| {
        CliError::new(Exit::Io, anyhow::Error::new(e))
            .hint("the pushed history is incomplete or unreadable; push again, or check the repository with git fsck")
    })?;
    let objects = plan.objects();
    let empty = Policy::default();
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
    let shared = repo.repository().clone().into_sync();
    let worth = hook::WorthProving::new(&plan);
    let checker =
        Checker::new(&setup, &empty, Kept::In(&shared)).with_facts(&setup, repo.common_dir());
    let (batch, noted) = checker.check_noting(&items, |i, report| {
        objects
            .get(i)
            .is_some_and(|(id, _)| worth.admits(id, report))
    });
    super::output::eprint_warnings(&batch.warnings);
    let known = noted.known.iter().filter(|k| **k).count();
    let mut proven = Proven::default();
    let mut reports: HashMap<ObjectId, Report> = HashMap::with_capacity(objects.len());
    for ((id, _), v) in objects.iter().zip(batch.verified) {
        match &v.proof {
            Some((_, ProofSource::Rekor)) => proven.fetched += 1,
            Some(_) => proven.kept += 1,
            None => {}
        }
        reports.insert(*id, v.report);
    }
    let decision = hook::decide(&plan, &reports);
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
fn sh_quote(s: &str) -> String {
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
            load_policy(&abs, "--policy")?;
            command.push_str(&format!(" --policy {}", sh_quote(&abs.to_string_lossy())));
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
