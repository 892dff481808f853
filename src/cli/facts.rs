//! `gitsign facts`: the verified facts kept in the repository (`<git dir>/gitsign/facts.log`,
//! [`crate::facts`]).

use super::{CliError, CliResult, Exit};
use crate::facts::{self, store, Fact, Store};

#[derive(clap::Args, Debug)]
#[command(
    about = "Prune or clear the verified facts kept in this repository",
    long_about = "`gitsign verify`, `verify-tag`, `verify-attestation`, git's `--verify` and \
`gitsign hook` keep what they proved about each object in <git dir>/gitsign/facts.log, keyed by \
the object and by what \
the proof depended on (the trust root and waivers; for OpenPGP and SSH signatures the key set), \
so verifying it again costs no cryptography (the identity policy is applied anew every time). \
The file never leaves the repository. `prune` drops facts about objects the repository no \
longer has and facts it cannot read, and so for the committed policy in force kept for git's \
`--verify` (gitsign/policy-in-force.log); `clear` removes both."
)]
pub struct FactsArgs {
    #[command(subcommand)]
    pub action: FactsAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum FactsAction {
    /// Drop facts about objects the repository no longer has, and unreadable ones
    Prune,
    /// Remove every kept fact
    Clear,
}

pub fn run(args: &FactsArgs) -> CliResult {
    let repo = super::verify::open_repo()?;
    let path = facts::path(repo.common_dir());
    let io = |e: std::io::Error| {
        CliError::new(
            Exit::Io,
            anyhow::Error::new(e).context(format!("rewriting '{}'", path.display())),
        )
        .hint("check that the repository's git directory is writable")
    };
    match args.action {
        FactsAction::Clear => {
            store::clear(&path).map_err(io)?;
            store::clear(&facts::in_force_path(repo.common_dir())).map_err(io)?;
            crate::ui::eprint(&format!(
                "gitsign: removed the kept facts in '{}'\n",
                path.display()
            ));
        }
        FactsAction::Prune => {
            let mut store = Store::open(&path);
            if let Some(w) = store.warning() {
                crate::ui::eprint(&format!("gitsign: warning: {w}\n"));
            }
            let shared = repo.shared();
            let local = shared.to_thread_local();
            let dropped = store
                .retain(|_, value| match Fact::parse(value) {
                    None => false,
                    Some(fact) => match fact.git_object() {
                        Some(id) => local.has_object(id),
                        None => true,
                    },
                })
                .map_err(io)?;
            crate::ui::eprint(&format!(
                "gitsign: dropped {dropped} fact(s), kept {} in '{}'\n",
                store.len(),
                path.display()
            ));
            // The policy in force after a commit: kept while its commits are all here.
            let in_force_path = facts::in_force_path(repo.common_dir());
            let mut in_force = Store::open(&in_force_path);
            if let Some(w) = in_force.warning() {
                crate::ui::eprint(&format!("gitsign: warning: {w}\n"));
            }
            if !in_force.is_empty() {
                let dropped = in_force
                    .retain(|_, value| {
                        super::anchored::in_force_objects(value)
                            .is_some_and(|ids| ids.iter().all(|id| local.has_object(*id)))
                    })
                    .map_err(|e| {
                        CliError::new(
                            Exit::Io,
                            anyhow::Error::new(e)
                                .context(format!("rewriting '{}'", in_force_path.display())),
                        )
                        .hint("check that the repository's git directory is writable")
                    })?;
                crate::ui::eprint(&format!(
                    "gitsign: dropped {dropped} kept policy in force, kept {} in '{}'\n",
                    in_force.len(),
                    in_force_path.display()
                ));
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
