//! `sesh exec`: where to go ([`destination`]), how to get there
//! ([`connect`]), and one remote command ([`exec`]) or many ([`fanout`]).

pub mod auth;
mod config;
pub mod connect;
pub mod destination;
pub mod exec;
pub mod fanout;
pub mod host_key;
pub mod hosts;
mod local_io;
pub mod mux;
pub mod resolve;
pub mod ssh_config;
pub mod stdio;
pub mod target;
pub mod terminal;

use std::path::PathBuf;
use std::time::Duration;

pub use config::Plan;
pub use connect::{Connection, connect};
pub use destination::Destination;

/// Everything one `sesh exec` session needs, validated: where it goes, and
/// what runs there.
#[derive(Debug, Clone)]
pub struct ExecConfig {
    pub destination: Destination,
    /// The command words joined with single spaces, as ssh does.
    pub command: Vec<u8>,
    /// Send local stdin (`-n` turns it off).
    pub stdin: bool,
    pub pty: bool,
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    pub kill_after: Duration,
    pub status_json: Option<PathBuf>,
    pub verbose: bool,
    /// Run through a shared master connection (`--reuse`, ControlMaster).
    pub reuse: Option<mux::Reuse>,
}

/// Runs `sesh exec` to the end: the command, the stderr line and the JSON
/// record. Returns the exit code.
pub async fn execute(config: &ExecConfig, prepared: mux::Prepared) -> u8 {
    let started = std::time::Instant::now();
    let ending = match crate::os_signals::forwarded() {
        Ok(mut signals) => {
            let reused = match &config.reuse {
                Some(reuse) => mux::run(config, reuse, &mut signals, prepared).await,
                None => None,
            };
            match reused {
                Some(ending) => ending,
                None => {
                    let io = stdio::SessionIo::process(config.stdin);
                    exec::run(config, io, signals, tokio_util::sync::CancellationToken::new()).await
                }
            }
        }
        Err(e) => crate::exit::Ending::Failed(format!("{e:#}")),
    };
    if let Some(line) = ending.message(config.verbose) {
        crate::say!("sesh: {line}");
    }
    if let Some(path) = &config.status_json {
        let record = ending.record(&config.destination.label, started.elapsed());
        let json = serde_json::to_string(&record).expect("a record serialises");
        if let Err(e) = std::fs::write(path, json + "\n") {
            crate::say!("sesh: could not write {}: {e}", path.display());
        }
    }
    ending.code()
}
