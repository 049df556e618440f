//! Connection reuse: one background master process per connection, and
//! `sesh exec` calls that run their command through it as passengers.
//!
//! The passenger passes its own stdin, stdout and stderr to the master over
//! a unix socket and forwards its signals; the master opens a channel on
//! its connection and runs exactly the session code a direct run uses
//! (`exec::run_on`), then sends back the [`Ending`], so every row of the
//! exit contract is the same through a master. Anything wrong with the
//! mux (unsafe directory, long path, a master that does not answer or
//! speaks another protocol) means one warning and a direct run, and a
//! command is started at most once: the passenger retries only before it
//! has told the master to go (MULTIPLEX.md 4.9).
//!
//! Files: [`dir`] (where sockets live), [`protocol`] (frames), [`fdpass`]
//! (SCM_RIGHTS), [`pool`] (the master's connections), [`passenger`] (the caller), [`spawn`] (starting a master
//! under a lock), [`master`] (the process), [`session`] (one passenger in
//! the master), [`passed_io`] (the passed fds in the master), [`spool`] (output that
//! never pushes back on the connection), [`hosts`]
//! (fan-out sessions through masters, over pipes), [`fork`] (a master
//! started by fork before the caller's runtime exists).

mod dir;
mod fdpass;
mod fork;
mod hosts;
pub mod master;
mod passed_io;
mod passenger;
mod pool;
mod protocol;
mod session;
mod spawn;
mod spool;

use std::path::PathBuf;
use std::time::Duration;

pub use fork::{Prepared, prepare};
pub use hosts::run_host;
pub use passenger::control;
/// The control protocol's version (for tests that speak it by hand).
pub use protocol::VERSION;

use super::ExecConfig;
use crate::exit::Ending;

/// OpenSSH's ControlMaster: whether a call may start a master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Master {
    /// Use a running master, never start one.
    No,
    /// Start one when none runs (`yes`, `ask` are read as this too:
    /// sesh's master is always a background process).
    Yes,
    /// The same; `autoask` too.
    Auto,
}

/// OpenSSH's ControlPersist: how long an idle master stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Persist {
    /// Until its last session ends.
    No,
    /// Until stopped.
    Forever,
    /// This long after its last session ends.
    For(Duration),
}

/// How calls to one destination share a connection: `--reuse`, or
/// ControlMaster / ControlPersist / ControlPath from the ssh config layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reuse {
    pub master: Master,
    pub persist: Persist,
    /// The control socket; `None` is sesh's own default, `none` turns
    /// reuse off.
    pub path: Option<PathBuf>,
}

/// How long `--reuse` keeps an idle master when no duration is given.
pub const DEFAULT_PERSIST: Duration = Duration::from_secs(60);

impl Reuse {
    /// ControlMaster, ControlPersist and ControlPath as the configuration
    /// resolved them: `None` (no reuse) without a ControlPath, as ssh.
    /// `ask` and `autoask` read as `yes` and `auto`: there is no prompt.
    pub fn from_config(options: &crate::client::ssh_config::Options) -> Option<Self> {
        use crate::client::ssh_config::values::{ControlMaster, ControlPersist};
        let path = PathBuf::from(options.control_path.as_ref()?);
        let master = match options.control_master {
            ControlMaster::No => Master::No,
            ControlMaster::Yes | ControlMaster::Ask => Master::Yes,
            ControlMaster::Auto | ControlMaster::AutoAsk => Master::Auto,
        };
        let persist = match options.control_persist {
            ControlPersist::No => Persist::No,
            ControlPersist::Yes => Persist::Forever,
            ControlPersist::Seconds(0) => Persist::Forever,
            ControlPersist::Seconds(secs) => Persist::For(Duration::from_secs(secs.into())),
        };
        Some(Self {
            master,
            persist,
            path: Some(path),
        })
    }

    /// `--reuse[=DURATION]`: ControlMaster auto, ControlPersist DURATION,
    /// sesh's default socket path.
    pub fn shorthand(persist: Duration) -> Self {
        Self {
            master: Master::Auto,
            persist: if persist.is_zero() {
                Persist::No
            } else {
                Persist::For(persist)
            },
            path: None,
        }
    }
}

/// `sesh exec -O`: the control commands ssh has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Control {
    /// Is a master running? (exit 0, or 255)
    Check,
    /// Stop accepting new sessions; exit when the running ones end
    Stop,
    /// Exit now, ending the running sessions
    Exit,
}

/// Runs `config`'s session through a master if reuse allows: `None` means
/// the caller runs it direct (any warning is already printed). `signals`
/// are forwarded once the master runs the command; until then they wait
/// for whichever run happens.
/// `prepared` is what [`prepare`] did before the runtime started.
pub async fn run(
    config: &ExecConfig,
    reuse: &Reuse,
    signals: &mut tokio::sync::mpsc::UnboundedReceiver<i32>,
    prepared: Prepared,
) -> Option<Ending> {
    passenger::run(config, reuse, signals, prepared).await
}
