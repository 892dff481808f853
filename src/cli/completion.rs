//! `gitsign completion SHELL`: shell completions from the clap definition.

use std::process::ExitCode;

use clap::CommandFactory;

#[derive(clap::Args, Debug)]
#[command(
    about = "Print shell completions",
    long_about = "Print a completion script for SHELL on stdout.\n\nExample:\n    gitsign completion bash > ~/.local/share/bash-completion/completions/gitsign"
)]
pub struct CompletionArgs {
    /// Shell to generate completions for
    pub shell: clap_complete::Shell,
}

pub fn run(args: &CompletionArgs) -> super::CliResult {
    let mut cmd = super::Cli::command();
    // Into memory first: clap_complete panics when its writer fails (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "gitsign", &mut script);
    super::output::print(&script)?;
    Ok(ExitCode::SUCCESS)
}
