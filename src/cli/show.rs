//! `gitsign show`: print the in-toto statement describing a commit or an annotated tag and
//! its signature, as Go gitsign's `show` does ([`crate::attest::source`]).

use std::process::ExitCode;

use anyhow::Context as _;

use super::{CliError, CliResult, Exit};
use crate::attest::{source, store, Subject};

#[derive(clap::Args, Debug)]
#[command(
    about = "Print the in-toto statement describing a commit or tag and its signature",
    long_about = "Print an in-toto statement (predicate https://gitsign.sigstore.dev/predicate/git/v0.1, \
or …/tag/v0.1 for an annotated tag) describing REVISION: its tree, parents, author, committer, \
message, signature and, for gitsign signatures, the signer's certificate and signed attributes. \
Output is JSON on stdout, as Go gitsign's `show` prints it."
)]
pub struct ShowArgs {
    /// Commit or annotated tag to describe
    #[arg(default_value = "HEAD", value_name = "REVISION")]
    pub revision: String,
    /// Remote whose URL names the subject
    #[arg(short, long, default_value = "origin", value_name = "NAME")]
    pub remote: String,
}

pub fn run(args: &ShowArgs) -> CliResult {
    let url = store::remote_url(&args.remote).context("reading the remote's URL")?;
    let statement = match store::tag(&args.revision).context("looking up the tag")? {
        Some((id, kind)) if kind == "tag" => {
            let raw = store::read_object("tag", &id)?;
            source::tag_statement(&id, &raw, url.as_deref())
                .with_context(|| format!("describing tag '{}'", args.revision))?
        }
        Some(_) => {
            return Err(CliError::new(
                Exit::Usage,
                anyhow::anyhow!("{} is not an annotated tag", args.revision),
            )
            .hint("a lightweight tag holds nothing of its own: show the commit it points to"))
        }
        None => {
            let id = store::resolve(&args.revision, Subject::Commit).map_err(|e| {
                CliError::new(
                    Exit::Usage,
                    anyhow::Error::new(e).context(format!("'{}' names no commit", args.revision)),
                )
                .hint("pass a commit (HEAD, a branch, an id) or an annotated tag")
            })?;
            let raw = store::read_object("commit", &id)?;
            source::commit_statement(&id, &raw, url.as_deref())
                .with_context(|| format!("describing commit {id}"))?
        }
    };
    let text = serde_json::to_string_pretty(&statement).context("encoding the statement")?;
    super::output::print(format!("{text}\n").as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
