//! sesh runs commands over SSH with the fidelity scripts need.
//!
//! - [`server`]: `sesh serve`, an embedded SSH server that bridges a local
//!   command to each session channel and reports exactly how it ended.
//! - [`client`]: `sesh exec`, a script-grade client whose exit code says
//!   exactly how the remote command ended ([`exit`] owns that contract).
//! - [`conformance`]: `sesh test`, a checker of any server's session
//!   semantics, and the end-to-end demonstration of sesh itself.
//! - [`keys`]: host keys, `authorized_keys` and `known_hosts` in OpenSSH's
//!   formats.
//! - [`signals`]: signal names on the wire and numbers on this machine.
//! - [`cli`], [`civil`], [`generate`], [`duration`], [`pattern`],
//!   [`logging`], [`os_signals`], [`parsed_files`], [`rlimit`]: the command
//!   line, its completions and man pages, and the small pieces every part
//!   shares.

pub mod civil;
pub mod cli;
pub mod client;
pub mod conformance;
pub mod duration;
pub mod exit;
pub mod generate;
pub mod keys;
pub mod logging;
pub mod os_signals;
pub mod parsed_files;
pub mod pattern;
pub mod pipes;
pub mod progress;
pub mod rlimit;
pub mod server;
pub mod signals;
pub mod size;
pub mod threads;
pub mod transport;

use std::path::PathBuf;

use color_eyre::eyre::eyre;

/// The user's home directory: `$HOME`, else the account database.
pub fn home_dir() -> color_eyre::Result<PathBuf> {
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|user| user.dir)
        .ok_or_else(|| eyre!("could not find the home directory: HOME is not set"))
}
