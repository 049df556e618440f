//! Shell completions and man pages, generated from the one clap definition
//! by the hidden `sesh generate DIR` command and committed under
//! `completions/` and `man/`; a test fails when they go stale.

use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;
use color_eyre::eyre::WrapErr;

use crate::cli::Cli;

/// The command that refreshes the committed files, for messages.
pub const REFRESH: &str = "cargo run -- generate .";

/// Writes `completions/` and `man/` under `root`.
pub fn write_all(root: &Path) -> color_eyre::Result<()> {
    let completions = root.join("completions");
    let man = root.join("man");
    for dir in [&completions, &man] {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("could not create {}", dir.display()))?;
    }
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Elvish,
        Shell::PowerShell,
    ] {
        clap_complete::generate_to(shell, &mut Cli::command(), "sesh", &completions)
            .wrap_err_with(|| format!("could not write {shell} completions"))?;
    }
    clap_mangen::generate_to(Cli::command(), &man).wrap_err("could not write the man pages")?;
    Ok(())
}
