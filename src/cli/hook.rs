//! `gitsign hook`: refuse pushes that the signature policy forbids, as git's `pre-receive`
//! (all ref updates on stdin, githooks(5)) or `update` hook (one ref in argv), and install the
//! hook into a repository.
//!
//! What is checked: every commit new to the repository (`git rev-list NEW --not --all`, refs as
//! they are before the push, objects read from the push quarantine) and every annotated tag a
//! ref is set to, each against the first policy rule matching the ref (see
//! [`crate::policy_file`]). Signatures are verified offline first. Online-mode signatures (Go
//! gitsign's `rekorMode=online`: no log entry embedded), where the rule allows them
//! (`transparency = "online"` or `"any"`), are proven by the pipeline `gitsign verify` uses
//! ([`super::lookup`]): proofs kept in the receiving repository (proof cache, notes under
//! `refs/notes/gitsign`), then Rekor lookups, whose proofs are kept so a re-push needs no
//! network. `--offline` never contacts Rekor. A failed lookup refuses the object (fail closed).
//!
//! Exit codes: 0 accepts the push, 1 refuses it (policy not met), 2 refuses it because nothing
//! could be decided (missing or invalid policy, unreadable repository or trust root): fail closed.
//! Human output goes to stderr, which git relays to the pusher as `remote:` lines.

use std::collections::{HashMap, HashSet};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use gix::ObjectId;

use super::{CliError, CliResult};
use crate::config::{Config, Key};
use crate::git::object;
use crate::git::push::{self, ObjectDirs, Receiving, RefUpdate};
use crate::policy_file::{DefaultAction, Deletions, PolicyFile, Refusal, Rule, Transparency};
use crate::proofs::{Lookups, ProofSource, Prover, Rekor};
use crate::verify::{self, policy::Policy, NeedsEntry, ObjectKind, Report};

/// Rejected objects listed one per line before the rest is only counted.
const MAX_LISTED: usize = 20;

/// The policy file used when neither `--policy` nor `gitsign.policy` names one.
pub const DEFAULT_POLICY: &str = "gitsign-policy.toml";

const POLICY_HELP: &str = "\
Policy file: --policy FILE, else git config gitsign.policy (relative to the git
directory), else gitsign-policy.toml in the git directory. A missing or invalid
policy refuses every push, naming the file, line and problem.

    default = \"reject\"            # refs matched by no rule: \"reject\" or \"allow\"
    [[rule]]                      # the first rule whose refs match applies
    refs = [\"refs/heads/main\", \"refs/tags/*\"]   # globs: * any run, ? one char
    identities = [\"alice@example.com\"]          # any-of, with identity-regexps
    identity-regexps = ['^.*@example\\.com$']
    issuers = [\"https://accounts.google.com\"]   # any-of, with issuer-regexps
    issuer-regexps = []
    transparency = \"any\"          # \"embedded\" | \"online\" | \"any\"
    unsigned-before = \"2024-01-01T00:00:00Z\"    # or a full commit id
    deletions = \"allow\"           # or \"reject\"

Each rule needs an identity and an issuer constraint. transparency = \"embedded\"
requires the Rekor entry embedded in the signature, and refuses online-mode
signatures (Go gitsign's rekorMode=online) even when Rekor has their entry;
\"online\" also admits signatures whose entry is found outside the signature,
and \"any\" also an RFC 3161 timestamp. unsigned-before accepts, unchecked,
pushed commits that are the given commit or its ancestors, or whose committer
date (set by the pusher) is older. Deleting a ref is allowed unless its rule says
deletions = \"reject\"; refs matched by no rule follow default for every update,
deletions included.

Online-mode signatures, where the rule admits them, are proven as gitsign verify
proves them: by a proof kept in the repository (gitsign/proofs, notes under
refs/notes/gitsign), else by a Rekor lookup (gitsign.rekor, gitsign.timeout,
gitsign.rekorConcurrency, gitsign.rekorDeadline). Proofs found are kept, so a
re-push needs no lookup. If Rekor cannot be reached or answers with an error,
those objects are refused, naming Rekor and the error. With --offline Rekor is
never contacted, and online-mode signatures without a kept proof are refused.

Checked: every commit new to the repository (git rev-list NEW --not --all, refs
as before the push, objects read from the push quarantine), and every annotated
tag a ref is set to, by its own signature. A commit already reachable from any
ref is not checked again, whichever ref it reached first.

Exit status: 0 accepts the push, 1 refuses it (policy not met), 2 refuses it
because nothing could be decided (policy, repository or trust root unreadable).";

#[derive(clap::Args, Debug)]
#[command(
    about = "Enforce a signature policy on pushes (server-side git hooks)",
    long_about = "Enforce a signature policy on pushes: run as git's pre-receive or update hook \
in the receiving repository, gitsign verifies every pushed commit and tag and refuses the push \
when any of them is unsigned, badly signed, or signed by someone the policy does not name for \
that ref. Signatures carrying their transparency log entry are verified offline; online-mode \
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
                    CliError::new(2, anyhow::Error::new(e))
                        .hint("git runs `gitsign hook pre-receive` with '<old> <new> <ref>' lines on stdin")
                })?);
            }
            check(&updates, a.policy.as_deref(), network(a.offline))
        }
        HookCommand::Update(a) => {
            let update = RefUpdate::new(&a.old, &a.new, &a.refname)
                .map_err(|e| CliError::new(2, anyhow::Error::new(e)))?;
            check(&[update], a.policy.as_deref(), network(a.offline))
        }
        HookCommand::Install(a) => install(a),
    }
}

/// Whether the hook may contact Rekor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Network {
    Rekor,
    Offline,
}

fn network(offline: bool) -> Network {
    if offline {
        Network::Offline
    } else {
        Network::Rekor
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
        CliError::new(
            2,
            anyhow::Error::new(e).context(format!(
                "reading the policy file '{}' (from {source})",
                path.display()
            )),
        )
        .hint(hint)
    })?;
    PolicyFile::parse(&text).map_err(|e| {
        CliError::new(
            2,
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

/// One object to verify and the rule it must satisfy.
struct Check<'a> {
    id: ObjectId,
    kind: ObjectKind,
    refname: &'a str,
    rule: &'a Rule,
}

/// A line for the pusher.
struct Rejection {
    line: String,
    hint: Option<&'static str>,
}

fn check(updates: &[RefUpdate], policy_flag: Option<&Path>, network: Network) -> CliResult {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let repo = Receiving::open(&cwd, &object_dirs_from_env()).map_err(|e| {
        CliError::new(2, anyhow::Error::new(e))
            .hint("git runs hooks inside the receiving repository; run gitsign hook there")
    })?;
    let config = super::load_config()?;
    let (path, source) = policy_path(policy_flag, &config, repo.git_dir());
    let policy = load_policy(&path, &source)?;
    let root = super::load_trust(&config)?;
    let ignore_sct = config.bool(Key::InsecureIgnoreSct)?;
    // Rekor settings are read (and invalid values refuse the push) only when some rule could
    // use a lookup.
    let rekor = match network {
        Network::Rekor
            if policy
                .rules
                .iter()
                .any(|r| r.transparency != Transparency::Embedded) =>
        {
            Rekor::Online(Lookups::from_config(&config)?)
        }
        _ => Rekor::Offline,
    };
    let file = path.display().to_string();

    let mut refused: Vec<Rejection> = Vec::new();
    let mut checks: Vec<Check<'_>> = Vec::new();
    let mut raws: HashMap<ObjectId, Vec<u8>> = HashMap::new();
    let mut exempt: HashSet<ObjectId> = HashSet::new();
    let mut hidden: Option<Vec<ObjectId>> = None;
    let walk_err = |e: push::PushError| {
        CliError::new(2, anyhow::Error::new(e))
            .hint("the pushed history is incomplete or unreadable; push again, or check the repository with git fsck")
    };

    for u in updates {
        let rule = match policy.rule_for(&u.name) {
            Some(r) => r,
            None if policy.default == DefaultAction::Allow => continue,
            None => {
                refused.push(Rejection {
                    line: format!(
                        "{}: no rule in {file} matches this ref, and default = \"reject\"",
                        u.name
                    ),
                    hint: Some(
                        "add a [[rule]] whose refs match the ref, or push to a ref a rule covers",
                    ),
                });
                continue;
            }
        };
        let Some(new) = u.new else {
            if rule.deletions == Deletions::Reject {
                refused.push(Rejection {
                    line: format!(
                        "{}: deleting this ref is not allowed (deletions = \"reject\", {file}:{})",
                        u.name, rule.line
                    ),
                    hint: None,
                });
            }
            continue;
        };
        let peeled = repo.peel(new).map_err(walk_err)?;
        for (id, raw) in peeled.tags {
            raws.insert(id, raw);
            checks.push(Check {
                id,
                kind: ObjectKind::Tag,
                refname: &u.name,
                rule,
            });
        }
        let Some(tip) = peeled.commit else { continue };
        let hidden = match &hidden {
            Some(h) => h,
            None => hidden.insert(repo.ref_tips().map_err(walk_err)?),
        };
        let commits = repo.new_commits(&[tip], hidden).map_err(walk_err)?;
        let cutoff_set: HashSet<String> = match &rule.unsigned_before {
            Some(crate::policy_file::Cutoff::Commit(hex)) => {
                match ObjectId::from_hex(hex.as_bytes()) {
                    Ok(start) => {
                        let set: HashMap<ObjectId, &[u8]> =
                            commits.iter().map(|c| (c.id, c.raw.as_slice())).collect();
                        Receiving::ancestors_within(start, &set)
                            .into_iter()
                            .map(|i| i.to_string())
                            .collect()
                    }
                    Err(_) => HashSet::new(),
                }
            }
            _ => HashSet::new(),
        };
        for c in commits {
            let time = Receiving::committer_time(&c.raw);
            if rule.exempt(time, &c.id.to_string(), &cutoff_set) {
                // Counted once however many refs bring the commit.
                exempt.insert(c.id);
                continue;
            }
            checks.push(Check {
                id: c.id,
                kind: ObjectKind::Commit,
                refname: &u.name,
                rule,
            });
            raws.insert(c.id, c.raw);
        }
    }

    // Verify each distinct object once, in parallel; judge it per rule afterwards.
    let mut distinct: Vec<(ObjectId, ObjectKind)> = Vec::new();
    let mut seen = HashSet::new();
    for c in &checks {
        if seen.insert(c.id) {
            distinct.push((c.id, c.kind));
        }
    }
    let empty = Policy::default();
    let opts = verify::Options {
        root: &root,
        policy: &empty,
        insecure_ignore_tlog: false,
        insecure_ignore_sct: ignore_sct,
    };
    let mut reports = HashMap::new();
    let mut needs = HashMap::new();
    for (id, checked) in verify_all(&distinct, &raws, repo.hash_kind(), &opts) {
        reports.insert(id, checked.report);
        if let Some(n) = checked.needs_entry {
            needs.insert(id, n);
        }
    }

    // Online-mode objects that some rule checking them would accept with a log entry found
    // outside the signature (and whose signer that rule names: no lookup for a push refused
    // anyway).
    let mut online: Vec<ObjectId> = Vec::new();
    let mut seen_online = HashSet::new();
    for c in &checks {
        let Some(report) = reports.get(&c.id) else {
            continue;
        };
        if needs.contains_key(&c.id) && admits_looked_up(c.rule, report) && seen_online.insert(c.id)
        {
            online.push(c.id);
        }
    }
    let proven = prove_online(&online, &needs, &mut reports, &repo, rekor, &opts);

    let mut failed_objects = HashSet::new();
    let mut object_lines = 0usize;
    for c in &checks {
        let Some(report) = reports.get(&c.id) else {
            continue;
        };
        if let Err(Refusal { reason, hint }) = c.rule.judge(report) {
            failed_objects.insert(c.id);
            object_lines += 1;
            let subject = raws
                .get(&c.id)
                .map(|r| object::subject(r))
                .unwrap_or_default();
            refused.push(Rejection {
                line: format!(
                    "{} {}: {} ({}, {file}:{})",
                    c.id,
                    subject.trim(),
                    reason,
                    c.refname,
                    c.rule.line
                ),
                hint: if proven.failed.contains(&c.id) && admits_looked_up(c.rule, report) {
                    Some(HINT_REKOR_FAILED)
                } else {
                    hint
                },
            });
        }
    }

    let n_commits = distinct
        .iter()
        .filter(|(_, k)| *k == ObjectKind::Commit)
        .count();
    let n_tags = distinct.len() - n_commits;
    let mut checked = format!(
        "{n_commits} new commit{} and {n_tags} tag{} checked{}",
        if n_commits == 1 { "" } else { "s" },
        if n_tags == 1 { "" } else { "s" },
        if !exempt.is_empty() {
            format!(
                ", {} older commits accepted unchecked (unsigned-before)",
                exempt.len()
            )
        } else {
            String::new()
        }
    );
    if proven.kept + proven.fetched > 0 {
        checked.push_str(&format!(
            "; online-mode signatures proven by {} kept proof{} and {} Rekor lookup{}",
            proven.kept,
            if proven.kept == 1 { "" } else { "s" },
            proven.fetched,
            if proven.fetched == 1 { "" } else { "s" },
        ));
    }
    if refused.is_empty() {
        crate::ui::eprint(&format!("gitsign: push accepted: {checked}\n"));
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    for r in refused.iter().take(MAX_LISTED) {
        out.push_str(&r.line);
        out.push('\n');
    }
    if refused.len() > MAX_LISTED {
        out.push_str(&format!("... and {} more\n", refused.len() - MAX_LISTED));
    }
    let ref_problems = refused.len() - object_lines;
    let mut counts = Vec::new();
    if !failed_objects.is_empty() {
        counts.push(format!(
            "{} of {} object{} refused",
            failed_objects.len(),
            distinct.len(),
            if distinct.len() == 1 { "" } else { "s" }
        ));
    }
    if ref_problems > 0 {
        counts.push(format!(
            "{ref_problems} ref update{} refused",
            if ref_problems == 1 { "" } else { "s" }
        ));
    }
    out.push_str(&format!(
        "gitsign: push rejected by the signature policy in {file}: {}; {checked}\n",
        counts.join(", ")
    ));
    if let Some(h) = refused.iter().find_map(|r| r.hint) {
        out.push_str(&format!("Hint: {h}\n"));
    }
    crate::ui::eprint(&out);
    // 1 even when some objects are refused only because Rekor could not be asked: the hook
    // judged every object, and one without a verified log entry does not meet a rule that
    // requires one, whatever kept the entry from being verified (the same answer --offline
    // gives). 2 means the hook could not judge the push at all (policy, repository or trust
    // root unreadable). git refuses the push on either; the reason and the Rekor URL are in
    // the object's line.
    Ok(ExitCode::from(1))
}

/// Whether `rule` would accept `report` with a log entry found outside the signature: it
/// admits such entries and names the signer.
fn admits_looked_up(rule: &Rule, report: &Report) -> bool {
    rule.transparency != Transparency::Embedded
        && report
            .identity
            .as_ref()
            .is_some_and(|id| rule.policy.check(id).is_ok())
}

/// When Rekor cannot be asked: what the server operator or the pusher can do.
const HINT_REKOR_FAILED: &str = "check gitsign.rekor (GITSIGN_REKOR_URL) and the network from the git server to Rekor, or run the hook with --offline; the pusher can sign in gitsign's offline Rekor mode (gitsign.rekorMode=offline, the default) so the entry is embedded in the signature";

/// How online-mode objects were decided.
#[derive(Debug, Default)]
struct Proven {
    /// Anchored by a proof kept in the repository (proof cache, notes).
    kept: usize,
    /// Anchored by an entry a Rekor lookup returned now.
    fetched: usize,
    /// Refused because Rekor could not be asked.
    failed: HashSet<ObjectId>,
}

/// Prove online-mode objects as `gitsign verify` does ([`crate::proofs::Prover`]): kept
/// proofs first, then, unless offline, Rekor lookups for the rest, whose anchoring proofs are
/// kept in the receiving repository's proof cache. Updates `reports` in place.
fn prove_online(
    online: &[ObjectId],
    needs: &HashMap<ObjectId, NeedsEntry>,
    reports: &mut HashMap<ObjectId, Report>,
    repo: &Receiving,
    rekor: Rekor,
    opts: &verify::Options<'_>,
) -> Proven {
    let mut proven = Proven::default();
    let pending: Vec<(ObjectId, &NeedsEntry)> = online
        .iter()
        .filter_map(|id| Some((*id, needs.get(id)?)))
        .collect();
    if pending.is_empty() {
        return proven;
    }
    let prover = Prover::new(Some(repo.repository()), rekor);
    let refs: Vec<&NeedsEntry> = pending.iter().map(|(_, n)| *n).collect();
    for ((id, _), p) in pending.iter().zip(prover.prove(&refs, opts)) {
        match &p.proof {
            Some((_, ProofSource::Rekor)) => proven.fetched += 1,
            Some(_) => proven.kept += 1,
            None => {}
        }
        if p.lookup_failed() {
            proven.failed.insert(*id);
        }
        reports.insert(*id, p.report);
    }
    proven
}

/// Verify objects on every core: signature checks dominate the hook's time.
fn verify_all(
    objects: &[(ObjectId, ObjectKind)],
    raws: &HashMap<ObjectId, Vec<u8>>,
    hash: object::HashKind,
    opts: &verify::Options<'_>,
) -> HashMap<ObjectId, verify::Checked> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(objects.len().max(1));
    let chunk = objects.len().div_ceil(threads).max(1);
    let verify_one = |(id, kind): &(ObjectId, ObjectKind)| {
        let raw = raws.get(id).map(Vec::as_slice).unwrap_or_default();
        (*id, verify::check_object(raw, *kind, hash, opts))
    };
    if threads <= 1 {
        return objects.iter().map(verify_one).collect();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = objects
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(verify_one).collect::<Vec<_>>()))
            .collect();
        let mut out = HashMap::new();
        for h in handles {
            // A panicking verifier thread is a bug; its objects stay unverified and are
            // refused below rather than accepted.
            if let Ok(part) = h.join() {
                out.extend(part);
            }
        }
        out
    })
}

/// Single-quote for sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

const HOOK_MARKER: &str = "written by `gitsign hook install`";

fn install(args: &InstallArgs) -> CliResult {
    let dir = match &args.repo {
        Some(p) => p.clone(),
        None => std::env::current_dir().context("reading the current directory")?,
    };
    let repo = gix::discover(&dir).map_err(|e| {
        CliError::new(
            2,
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
    let hooks = git_dir.join("hooks");
    std::fs::create_dir_all(&hooks).with_context(|| format!("creating '{}'", hooks.display()))?;
    let path = hooks.join("pre-receive");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if !existing.contains(HOOK_MARKER) && !args.force {
            return Err(CliError::new(
                1,
                anyhow::anyhow!("'{}' exists and was not written by gitsign", path.display()),
            )
            .hint("merge it by hand, or pass --force to replace it"));
        }
    }
    let script = format!(
        "#!/bin/sh\n# pre-receive hook {HOOK_MARKER}: every pushed commit and tag must satisfy the\n# signature policy (see `gitsign hook pre-receive --help`).\n{command}\n"
    );
    std::fs::write(&path, script).with_context(|| format!("writing '{}'", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making '{}' executable", path.display()))?;
    }
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
