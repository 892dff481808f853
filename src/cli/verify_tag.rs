//! `gitsign verify-tag`: an annotated tag's in-body signature against an identity policy.

use super::setup::VerifyFlags;
use super::verify::{
    open_repo, policy, Format, IdentityArgs, IssuerArgs, SctArgs, TrustArgs, WorkflowArgs,
};
use super::{output, CliError, CliResult, Exit};
use crate::check::{Checker, Kept, Signed};
use crate::verify::ObjectKind;

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
    #[command(flatten)]
    pub sct: SctArgs,
    #[command(flatten)]
    pub keys: super::verify::KeyArgs,
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
    let flags = VerifyFlags {
        sct: args.sct.sct.as_deref(),
        keys: true,
        openpgp_keys: &args.keys.openpgp_keys,
        ssh_allowed_signers: args.keys.ssh_allowed_signers.as_deref(),
        ..args.trust.flags(args.offline)
    };
    let setup = super::setup::verify_setup(super::load_config()?, &flags)?;
    let repo = open_repo()?;
    let (id, raw) = repo.tag(&args.tag).map_err(|e| {
        CliError::new(Exit::Config, anyhow::Error::new(e))
            .hint("list annotated tags with `git tag -l`")
    })?;
    let shared = repo.shared();
    // An online-mode tag: its kept proof (cache, notes) or, unless --offline, a Rekor lookup.
    // A tag verified before under the same trust (or keys) is answered from its kept fact.
    let checker =
        Checker::new(&setup, &policy, Kept::In(&shared)).with_facts(&setup, repo.common_dir());
    let batch = checker.check(&[Signed::Object {
        raw: &raw,
        kind: ObjectKind::Tag,
        hash: repo.hash_kind(),
    }]);
    output::eprint_warnings(&batch.warnings);
    let Some(verified) = batch.verified.into_iter().next() else {
        return Err(CliError::new(
            Exit::Internal,
            anyhow::anyhow!("the verifier returned no verdict for the tag"),
        ));
    };
    match args.format {
        Format::Json => output::print(
            format!("{}\n", output::json(&id.to_string(), "tag", &verified)).as_bytes(),
        )?,
        Format::Human => {
            crate::ui::eprint(&output::summary(&verified, true));
            crate::ui::eprint(&output::notes(&verified.report));
            crate::ui::eprint(&output::problem_lines(
                &verified.report,
                &format!("tag {}", args.tag),
            ));
        }
    }
    let mut tally = crate::verify::Tally::default();
    tally.add(&verified.report.outcome);
    Ok(Exit::of(&tally).into())
}
