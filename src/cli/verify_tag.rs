//! `gitsign verify-tag`: an annotated tag's in-body signature against an identity policy.

use super::verify::{
    open_repo, policy, trust_setup_with, Format, IdentityArgs, IssuerArgs, TrustArgs, WorkflowArgs,
};
use super::{output, CliError, CliResult, Exit};
use crate::proofs::Prover;
use crate::verify::{self, ObjectKind};

#[derive(clap::Args, Debug)]
#[command(
    about = "Verify an annotated tag's signature against an identity policy",
    after_long_help = "Example:\n  gitsign verify-tag v1.2.0 --certificate-identity release@example.com \\\n      --certificate-oidc-issuer https://token.actions.githubusercontent.com"
)]
pub struct VerifyTagArgs {
    /// Tag name (or object id) of an annotated tag
    pub tag: String,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub issuer: IssuerArgs,
    #[command(flatten)]
    pub workflow: WorkflowArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Never use the network: a tag without an embedded or kept proof is reported undecided
    #[arg(long)]
    pub offline: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub fn run(args: &VerifyTagArgs) -> CliResult {
    let result = verify_tag(args);
    if args.format == Format::Json {
        if let Err(e) = &result {
            output::json_error(e);
        }
    }
    result
}

fn verify_tag(args: &VerifyTagArgs) -> CliResult {
    let policy = policy(&args.identity, &args.issuer, &args.workflow)?;
    let config = super::load_config()?;
    let (root, ignore_tlog, ignore_sct) = trust_setup_with(config.clone(), &args.trust)?;
    let repo = open_repo()?;
    let (id, raw) = repo.tag(&args.tag).map_err(|e| {
        CliError::new(Exit::Config, anyhow::Error::new(e))
            .hint("list annotated tags with `git tag -l`")
    })?;
    let verifier =
        verify::Verifier::new(&root, verify::Waivers::from_flags(ignore_tlog, ignore_sct));
    let checked = verifier.check_object(&raw, ObjectKind::Tag, repo.hash_kind(), &policy);
    // An online-mode tag: its kept proof (cache, notes) or, unless --offline, a Rekor lookup.
    let report = match &checked.needs_entry {
        Some(needs) => {
            let local = repo.shared().to_thread_local();
            let rekor = super::verify::rekor_access(args.offline, &config);
            Prover::new(Some(&local), rekor)
                .prove(&[needs], &verifier)
                .pop()
                .map_or(checked.report, |p| p.report)
        }
        None => checked.report,
    };
    match args.format {
        Format::Json => output::print(
            format!("{}\n", output::json(&id.to_string(), "tag", &report)).as_bytes(),
        )?,
        Format::Human => {
            crate::ui::eprint(&output::summary(&report, true));
            crate::ui::eprint(&output::notes(&report));
            if let Some((msg, hint)) = output::problem(&report) {
                crate::ui::eprint(&format!("gitsign: error: tag {}: {msg}\n", args.tag));
                if let Some(h) = hint {
                    crate::ui::eprint(&format!("Hint: {h}\n"));
                }
            }
        }
    }
    let mut tally = crate::verify::Tally::default();
    tally.add(&report.outcome);
    Ok(Exit::of(&tally).into())
}
