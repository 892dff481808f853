//! `gitsign verify-attestation`: check the attestations stored for a commit or tree under
//! `refs/attestations/` through the one verification core ([`crate::verify::Verifier::verify_input`]),
//! with `gitsign verify`'s identity policy, plus what only an attestation has: the statement's
//! subject must be that object, its predicate type the one asked for, and the predicate copy
//! stored beside the envelope the predicate that was signed.

use super::verify::{policy, IdentityArgs, IssuerArgs, TrustArgs, WorkflowArgs};
use super::{output, CliError, CliResult, Exit};
use crate::attest::{self, store, Envelope, Statement, Subject};
use crate::check::{Checker, Kept, Signed, Verified};
use crate::verify;

const EXAMPLES: &str = "\
Examples:
  # The provenance CI attached to HEAD, signed by the release workflow
  gitsign verify-attestation HEAD --type https://slsa.dev/provenance/v1 \\
      --certificate-identity-regexp '^https://github.com/acme/app/' \\
      --certificate-oidc-issuer https://token.actions.githubusercontent.com

  # After fetching them: git fetch origin 'refs/attestations/*:refs/attestations/*'

  # The verification summary `gitsign verify --vsa main.vsa.json` wrote about main
  gitsign verify-attestation --vsa main.vsa.json main \\
      --certificate-identity ci@example.com --certificate-oidc-issuer https://accounts.google.com

Exit status: 0 when every attestation considered verifies (and there is at least one),
1 when there is none or any is bad (signature, log entry, identity, subject, type, or a
changed predicate copy), 2 when something could not be decided (an attestation Go gitsign
made keeps its certificate only in Rekor; usage, configuration or I/O errors). With --vsa:
0 for a good signature on a PASSED summary, 1 for a bad one or a FAILED verdict.";

#[derive(clap::Args, Debug)]
#[command(
    about = "Verify the attestations stored for a commit or tree",
    long_about = "Verify the attestations `gitsign attest` (or Go gitsign's attest) stored for \
REVISION's commit (or its tree, with --objtype tree) under refs/attestations/: each DSSE \
envelope against its Sigstore bundle offline — signature, Rekor entry and inclusion proof, \
certificate chain at the logged time, SCT, identity policy — and its in-toto statement: the \
subject must be that object and, with --type, the predicate type that one. Attestations of \
other types are skipped.",
    after_long_help = EXAMPLES
)]
pub struct VerifyAttestationArgs {
    /// Commit whose attestations (or whose tree's) to verify
    #[arg(default_value = "HEAD", value_name = "REVISION")]
    pub revision: String,
    /// Verify the attestations about the commit or about its tree
    #[arg(long, value_enum, default_value_t = Subject::Commit, value_name = "TYPE")]
    pub objtype: Subject,
    /// Predicate type the attestations must have (others are skipped)
    #[arg(long = "type", value_name = "URI")]
    pub predicate_type: Option<String>,
    /// Only the attestation stored under this name (the predicate file's name)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub issuer: IssuerArgs,
    #[command(flatten)]
    pub workflow: WorkflowArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub vsa: super::vsa::CheckArgs,
}

/// The verdict on one stored attestation.
enum Verdict {
    /// Not of the predicate type asked for.
    Skipped,
    /// Refused before the core: malformed, wrong subject, changed predicate copy.
    Bad(String),
    /// Nothing here to decide with.
    Undecided(String),
    /// Ready for the verifier: the envelope and its bundle as the core's input, and the
    /// digest a verdict on them is kept under ([`crate::facts::attestation_object`]).
    Ready(Box<verify::VerificationInput>, [u8; 32]),
    /// The verifier's verdict.
    Checked(Box<Verified>),
}

fn blob(files: &[(String, String)], name: &str) -> Result<Option<Vec<u8>>, CliError> {
    match files.iter().find(|(n, _)| n == name) {
        Some((_, id)) => Ok(Some(store::read_blob(id)?)),
        None => Ok(None),
    }
}

fn check_one(
    args: &VerifyAttestationArgs,
    id: &str,
    name: &str,
    files: &[(String, String)],
) -> Result<Verdict, CliError> {
    let sig = blob(files, &format!("{name}{}", attest::SIG_SUFFIX))?.unwrap_or_default();
    let envelope = match Envelope::parse(&sig) {
        Ok(e) => e,
        Err(e) => return Ok(Verdict::Bad(e.to_string())),
    };
    let statement = match Statement::parse(&envelope.payload) {
        Ok(s) => s,
        Err(e) => return Ok(Verdict::Bad(e.to_string())),
    };
    if let Some(want) = &args.predicate_type {
        if &statement.predicate_type != want {
            return Ok(Verdict::Skipped);
        }
    }
    if let Err(e) = statement.check(args.objtype, id, args.predicate_type.as_deref()) {
        return Ok(Verdict::Bad(e.to_string()));
    }
    if let Some(copy) = blob(files, name)? {
        if let Err(e) = statement.check_copy(&copy) {
            return Ok(Verdict::Bad(e.to_string()));
        }
    }
    let Some(bundle) = blob(files, &format!("{name}{}", attest::BUNDLE_SUFFIX))? else {
        return Ok(Verdict::Undecided(format!(
            "no {name}{} beside the envelope: it was made by Go gitsign, which keeps the certificate and log entry only in Rekor",
            attest::BUNDLE_SUFFIX
        )));
    };
    Ok(
        match verify::bundle::parse(&bundle).and_then(|b| attest::verification_input(&b, &envelope))
        {
            Ok(input) => Verdict::Ready(
                Box::new(input),
                crate::facts::attestation_object(&sig, &bundle),
            ),
            Err(f) => Verdict::Checked(Box::new(Verified::sigstore(verify::Report::bad(f)))),
        },
    )
}

pub fn run(args: &VerifyAttestationArgs) -> CliResult {
    if let Some(path) = &args.vsa.vsa {
        return super::vsa::check(args, path);
    }
    let policy = policy(&args.identity, &args.issuer, &args.workflow)?;
    // A bundle carries its log entry: nothing is looked up.
    let setup = super::setup::verify_setup(super::load_config()?, &args.trust.flags(true))?;
    // An attestation verified before under the same trust is answered from its fact.
    let mut checker = Checker::new(&setup, &policy, Kept::Nowhere);
    if let Ok(Some(location)) = crate::config::repository() {
        checker = checker.with_facts(&setup, &location.common_dir);
    }
    let what = match args.objtype {
        Subject::Commit => "commit",
        Subject::Tree => "tree",
    };
    let id = store::resolve(&args.revision, args.objtype).map_err(|e| {
        CliError::new(
            Exit::Usage,
            anyhow::Error::new(e).context(format!("'{}' names no commit", args.revision)),
        )
        .hint("pass a commit: HEAD, a branch or an id")
    })?;
    let files = store::files(args.objtype, &id)?;
    let mut names: Vec<&str> = files
        .iter()
        .filter_map(|(n, _)| n.strip_suffix(attest::SIG_SUFFIX))
        .filter(|n| args.name.as_deref().is_none_or(|want| want == *n))
        .collect();
    names.sort_unstable();

    let mut tally = crate::verify::Tally::default();
    let mut considered = 0usize;
    for name in names {
        let label =
            crate::text::escape(&format!("attestation '{name}' on {what} {id}")).into_owned();
        let verdict = match check_one(args, &id, name, &files)? {
            Verdict::Ready(input, digest) => {
                let batch = checker.check(&[Signed::Input {
                    input: &input,
                    kept_as: Some(digest),
                }]);
                output::eprint_warnings(&batch.warnings);
                match batch.verified.into_iter().next() {
                    Some(v) => Verdict::Checked(Box::new(v)),
                    None => Verdict::Undecided("the verifier returned no verdict".into()),
                }
            }
            other => other,
        };
        match verdict {
            Verdict::Ready(..) => continue,
            Verdict::Skipped => continue,
            Verdict::Bad(why) => {
                considered += 1;
                tally.bad += 1;
                let why = crate::text::escape(&why.to_string()).into_owned();
                crate::ui::eprint(&format!("gitsign: Bad {label}: {why}\n"));
            }
            Verdict::Undecided(why) => {
                considered += 1;
                tally.undecided += 1;
                let why = crate::text::escape(&why.to_string()).into_owned();
                crate::ui::eprint(&format!("gitsign: Unverified {label}: {why}\n"));
            }
            Verdict::Checked(verified) => {
                let report = &verified.report;
                considered += 1;
                let (verb, signer) = output::verdict_words(&verified);
                crate::ui::eprint(&format!("gitsign: {verb} {label}{signer}\n"));
                crate::ui::eprint(&output::problem_lines(report, name));
                tally.add(&report.outcome);
            }
        }
    }
    if considered == 0 {
        let of_type = args
            .predicate_type
            .as_deref()
            .map(|t| format!(" of type {t}"))
            .unwrap_or_default();
        crate::ui::eprint(&format!(
            "gitsign: error: no attestation{of_type} for {what} {id} in {}\nHint: fetch them first: git fetch origin 'refs/attestations/*:refs/attestations/*'\n",
            args.objtype.ref_name()
        ));
        return Ok(Exit::Negative.into());
    }
    Ok(Exit::of(&tally).into())
}
