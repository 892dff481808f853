//! Verification summaries on the command line: `gitsign verify --vsa FILE` signs a SLSA
//! verification summary about the tip commit of what it verified ([`crate::attest::vsa`])
//! exactly as `gitsign attest` signs ([`super::attest::sign_statement`]) and writes the
//! Sigstore bundle to FILE; `gitsign verify-attestation --vsa FILE` checks one offline:
//! signature, certificate chain, log entry, identity, then that the statement is gitsign's
//! summary about the commit asked for.

use std::path::{Path, PathBuf};

use super::verify::VerifyArgs;
use super::verify_attestation::VerifyAttestationArgs;
use super::{output, CliError, CliResult, Exit};
use crate::attest::vsa::{self, PolicySource, Reading, Summary, Verdict};
use crate::attest::{self, store, Envelope, Subject};
use crate::check::{Checker, Kept, Signed};
use crate::git::repo::{Repo, Selection};
use crate::verify::{self, Outcome, Tally};

/// `gitsign verify`'s summary flags.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct VsaArgs {
    /// Sign a SLSA verification summary (VSA) about the tip commit and write it to FILE (a Sigstore bundle)
    #[arg(long, value_name = "FILE", conflicts_with = "all")]
    pub vsa: Option<PathBuf>,
    /// Repository URI the summary names (default: remote.origin.url, as git+https://…)
    #[arg(long, value_name = "URI", requires = "vsa")]
    pub vsa_resource_uri: Option<String>,
}

/// A bundle is a few kilobytes; this bounds what a hostile FILE can make us read.
const MAX_BUNDLE: u64 = 4 << 20;

fn usage(msg: String, hint: &str) -> CliError {
    CliError::new(Exit::Usage, anyhow::anyhow!(msg)).hint(hint)
}

/// The one commit the run ends at.
fn tip(selection: &Selection) -> Result<gix::ObjectId, CliError> {
    let mut tips: Vec<gix::ObjectId> = if selection.include.is_empty() {
        selection.single.clone()
    } else {
        selection.include.clone()
    };
    tips.sort_unstable();
    tips.dedup();
    match tips.as_slice() {
        [one] => Ok(*one),
        more => Err(usage(
            format!(
                "--vsa summarizes the commits up to one tip, and the revisions name {}",
                more.len()
            ),
            "verify one revision or one range (A..B) with --vsa",
        )),
    }
}

/// The repository the summary names: the flag, else `remote.origin.url`.
fn resource_uri(flag: Option<&str>, repo: &Repo) -> Result<String, CliError> {
    if let Some(uri) = flag {
        return Ok(uri.to_owned());
    }
    let remote = repo.remote_url("origin").ok_or_else(|| {
        usage(
            "--vsa needs the repository's URI, and there is no remote.origin.url".into(),
            "pass --vsa-resource-uri git+https://host/owner/repo",
        )
    })?;
    vsa::resource_uri(&remote).ok_or_else(|| {
        usage(
            format!(
                "remote.origin.url '{}' names no repository others can identify",
                crate::text::escape(&remote)
            ),
            "pass --vsa-resource-uri git+https://host/owner/repo",
        )
    })
}

/// What the commits were judged by. A policy file, once `verify` takes one, is
/// `PolicySource::File { uri, bytes }`; until then the identity options are the policy.
fn policy(args: &VerifyArgs) -> PolicySource {
    let (id, iss, wf, trust) = (&args.identity, &args.issuer, &args.workflow, &args.trust);
    PolicySource::Flags(vsa::flags_policy(
        &[
            ("certificate-identity", id.certificate_identity.as_deref()),
            (
                "certificate-identity-regexp",
                id.certificate_identity_regexp.as_deref(),
            ),
            (
                "certificate-oidc-issuer",
                iss.certificate_oidc_issuer.as_deref(),
            ),
            (
                "certificate-oidc-issuer-regexp",
                iss.certificate_oidc_issuer_regexp.as_deref(),
            ),
            (
                "certificate-github-workflow-trigger",
                wf.certificate_github_workflow_trigger.as_deref(),
            ),
            (
                "certificate-github-workflow-sha",
                wf.certificate_github_workflow_sha.as_deref(),
            ),
            (
                "certificate-github-workflow-name",
                wf.certificate_github_workflow_name.as_deref(),
            ),
            (
                "certificate-github-workflow-repository",
                wf.certificate_github_workflow_repository.as_deref(),
            ),
            (
                "certificate-github-workflow-ref",
                wf.certificate_github_workflow_ref.as_deref(),
            ),
        ],
        &[
            ("insecure-ignore-tlog", trust.insecure_ignore_tlog),
            ("insecure-ignore-sct", trust.insecure_ignore_sct),
        ],
    ))
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Refuse to replace what is not a regular file (`/dev/stdout`, a directory).
fn check_destination(path: &Path) -> Result<(), CliError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => Err(usage(
            format!("--vsa '{}' is not a regular file", path.display()),
            "name a file to write the summary to",
        )),
        _ => Ok(()),
    }
}

/// What `gitsign verify` judged the commits by, for the summary.
pub enum JudgedBy<'a> {
    /// The identity options.
    Flags,
    /// A policy file's rule (`--policy`, `gitsign.policy`).
    File(&'a super::policy::RangeRule),
    /// The committed policy: the summary records the one that judged the tip.
    Committed(&'a crate::policy::history::Evolution),
}

/// The committed policy that judged `tip`: its URI and bytes, read back from the commit
/// whose tree holds it.
fn committed(
    ev: &crate::policy::history::Evolution,
    tip: gix::ObjectId,
    resource: &str,
    repo: &gix::Repository,
) -> Result<PolicySource, CliError> {
    use crate::policy::history::{Standing, POLICY_PATH};
    let Some(Standing::Judged { policy, .. }) = ev.standing(&tip) else {
        return Err(usage(
            format!("the tip {tip} is before the policy anchor: no committed policy judged it"),
            "verify a range whose tip descends from the anchor (gitsign.policyAnchor, --policy-anchor)",
        ));
    };
    let holder = super::anchored::policy_commit(&policy.file).ok_or_else(|| {
        CliError::new(
            Exit::Internal,
            anyhow::anyhow!(
                "the committed policy '{}' names no commit",
                crate::text::escape(&policy.file)
            ),
        )
    })?;
    let bytes = repo
        .rev_parse_single(policy.file.as_str())
        .ok()
        .and_then(|id| id.object().ok())
        .map(|o| o.detach().data)
        .ok_or_else(|| {
            CliError::new(
                Exit::Io,
                anyhow::anyhow!("reading {POLICY_PATH} from commit {holder}"),
            )
        })?;
    Ok(PolicySource::File {
        uri: vsa::committed_policy_uri(resource, &holder.to_string(), POLICY_PATH),
        bytes,
    })
}

/// After `gitsign verify` checked `selection` (with verdicts `tally`): when `--vsa FILE` was
/// given, sign the summary about its tip and write it. The run's exit status is unchanged
/// unless this fails.
pub fn write(
    args: &VerifyArgs,
    repo: &Repo,
    specs: &[String],
    selection: &Selection,
    tally: &Tally,
    judged_by: JudgedBy<'_>,
) -> Result<(), CliError> {
    let Some(path) = &args.vsa.vsa else {
        return Ok(());
    };
    check_destination(path)?;
    let tip = tip(selection)?;
    let resource = resource_uri(args.vsa.vsa_resource_uri.as_deref(), repo)?;
    let local = repo.shared().to_thread_local();
    let name = crate::git::refname::tip_of(specs)
        .map(|t| crate::git::refname::full_name(&local, t))
        .transpose()
        .map_err(|e| CliError::new(Exit::Io, anyhow::Error::new(e)))?
        .flatten();
    let mut source_refs = repo
        .refs_at(tip)
        .map_err(|e| CliError::new(Exit::Io, anyhow::Error::new(e)))?;
    if let Some(n) = &name {
        if !source_refs.contains(n) {
            source_refs.push(n.clone());
            source_refs.sort();
        }
    }
    let commit = tip.to_string();
    let verdict = Verdict::of(tally);
    // Judged by a policy file: the summary records that file, not the (absent) identity flags.
    let policy = match judged_by {
        JudgedBy::File(r) => PolicySource::File {
            uri: r.file.clone(),
            bytes: r.text.clone().into_bytes(),
        },
        JudgedBy::Committed(ev) => committed(ev, tip, &resource, &local)?,
        JudgedBy::Flags => policy(args),
    };
    let payload = vsa::statement(&Summary {
        commit: &commit,
        name: name.as_deref(),
        source_refs: &source_refs,
        resource_uri: &resource,
        time_verified: now_unix(),
        policy: &policy,
        verdict,
        version: env!("CARGO_PKG_VERSION"),
    });
    let signed = super::attest::sign_statement(&super::load_config()?, payload)?;
    crate::fsutil::write_atomic(
        path,
        &signed.bundle,
        crate::fsutil::Access::Shared,
        crate::fsutil::Durability::Durable,
    )
    .map_err(|e| {
        CliError::new(
            Exit::Io,
            anyhow::Error::new(e).context(format!(
                "writing the verification summary to '{}'",
                path.display()
            )),
        )
    })?;
    crate::ui::eprint(&format!(
        "gitsign: wrote the verification summary of commit {commit} ({}) to {}, signed as {}, transparency log index {}\n",
        verdict.as_str(),
        path.display(),
        crate::text::escape(&signed.identity),
        signed.log_index
    ));
    Ok(())
}

/// `verify-attestation --vsa FILE`'s flags, beside the identity policy.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CheckArgs {
    /// Verify the verification summary (a Sigstore bundle `gitsign verify --vsa` wrote) in FILE instead of stored attestations
    #[arg(long, value_name = "FILE", conflicts_with_all = ["predicate_type", "name", "objtype"])]
    pub vsa: Option<PathBuf>,
    /// Repository URI the summary must name
    #[arg(long, value_name = "URI", requires = "vsa")]
    pub vsa_resource_uri: Option<String>,
}

/// Why a summary file is refused before its signature is checked.
fn refuse(label: &str, why: &str) -> CliResult {
    crate::ui::eprint(&format!(
        "gitsign: Bad {}: {}\n",
        crate::text::escape(label),
        crate::text::escape(why)
    ));
    Ok(Exit::Negative.into())
}

/// `gitsign verify-attestation --vsa FILE [REVISION]`.
pub fn check(args: &VerifyAttestationArgs, path: &Path) -> CliResult {
    let policy = super::verify::policy(&args.identity, &args.issuer, &args.workflow)?;
    // A bundle carries its log entry: nothing is looked up.
    let setup = super::setup::verify_setup(super::load_config()?, &args.trust.flags(true))?;
    let checker = Checker::new(&setup, &policy, Kept::Nowhere);
    let id = store::resolve(&args.revision, Subject::Commit).map_err(|e| {
        CliError::new(
            Exit::Usage,
            anyhow::Error::new(e).context(format!("'{}' names no commit", args.revision)),
        )
        .hint("pass the commit the summary is about: HEAD, a branch or an id")
    })?;
    let bytes = crate::fsutil::read_capped(path, MAX_BUNDLE).map_err(|e| {
        CliError::new(
            Exit::Io,
            anyhow::Error::new(e).context(format!("reading '{}'", path.display())),
        )
    })?;
    let label = format!("verification summary '{}'", path.display());
    let bundle = match verify::bundle::parse(&bytes) {
        Ok(b) => b,
        Err(f) => return refuse(&label, &f.to_string()),
    };
    let verify::bundle::Signed::Dsse {
        payload_type,
        payload,
        signature,
    } = &bundle.signed
    else {
        return refuse(&label, "the bundle holds no DSSE envelope");
    };
    let envelope = Envelope {
        payload_type: payload_type.clone(),
        payload: payload.clone(),
        signature: signature.clone(),
    };
    let reading = match vsa::read(&envelope.payload) {
        Ok(r) => r,
        Err(e) => return refuse(&label, &e.to_string()),
    };
    if !reading.commit.eq_ignore_ascii_case(&id) {
        let e = attest::AttestError::SubjectMismatch {
            got: format!("gitCommit:{}", reading.commit),
            want: format!("gitCommit:{id}"),
        };
        return refuse(&label, &e.to_string());
    }
    if let Some(want) = &args.vsa.vsa_resource_uri {
        if &reading.resource_uri != want {
            return refuse(
                &label,
                &format!(
                    "it is about the repository '{}', not '{want}'",
                    reading.resource_uri
                ),
            );
        }
    }
    let input = match attest::verification_input(&bundle, &envelope) {
        Ok(i) => i,
        Err(f) => return refuse(&label, &f.to_string()),
    };
    let batch = checker.check(&[Signed::Input {
        input: &input,
        kept_as: None,
    }]);
    output::eprint_warnings(&batch.warnings);
    let Some(verified) = batch.verified.into_iter().next() else {
        return Err(CliError::new(
            Exit::Internal,
            anyhow::anyhow!("the verifier returned no verdict"),
        ));
    };
    let report = &verified.report;
    let (verb, signer) = output::verdict_words(&verified);
    crate::ui::eprint(&format!(
        "gitsign: {verb} signature on the {} about commit {id}{signer}\n",
        crate::text::escape(&label)
    ));
    crate::ui::eprint(&output::problem_lines(report, &label));
    if report.outcome != Outcome::Good {
        let mut tally = Tally::default();
        tally.add(&report.outcome);
        return Ok(Exit::of(&tally).into());
    }
    crate::ui::eprint(&describe(&reading));
    Ok(match reading.verdict {
        Verdict::Passed => Exit::Good,
        Verdict::Failed => Exit::Negative,
    }
    .into())
}

/// What a verified summary says, one fact a line.
fn describe(r: &Reading) -> String {
    use crate::text::escape;
    let levels: Vec<&str> = r
        .levels
        .iter()
        .map(String::as_str)
        .filter(|l| *l != vsa::FAILED_LEVEL)
        .collect();
    let mut out = format!("verification result: {}", r.verdict.as_str());
    if !levels.is_empty() {
        out.push_str(&format!(" ({})", escape(&levels.join(", "))));
    }
    out.push('\n');
    if let Some(name) = &r.name {
        out.push_str(&format!("ref: {}\n", escape(name)));
    }
    out.push_str(&format!("repository: {}\n", escape(&r.resource_uri)));
    out.push_str(&format!(
        "verified at: {}\n",
        crate::encoding::rfc3339(r.time_verified)
    ));
    out.push_str(&format!(
        "policy: {}{}\n",
        escape(&r.policy_uri),
        r.policy_sha256
            .as_deref()
            .map(|d| format!(" (sha256:{})", escape(d)))
            .unwrap_or_default()
    ));
    if r.verdict == Verdict::Failed {
        out.push_str("gitsign: the summary records that the verification FAILED\n");
    }
    out
}
