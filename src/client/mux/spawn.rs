//! Starting a master: under the connection's lock file (so concurrent
//! first calls share one login), re-check the socket, clear a stale one,
//! then start `sesh __mux-master` detached, with stdio on /dev/null and
//! its log, and wait on a ready pipe for the outcome of its login.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use super::dir::Place;
use super::master::{SPEC_ENV, Spec};
use super::passenger::Step;
use super::{Persist, Reuse};
use crate::client::ExecConfig;
use crate::exit::Ending;

/// The environment variable that asks a new master to misbehave on
/// purpose, for the at-most-once tests: `exit-before-opened`,
/// `exit-after-go`.
pub const FAULT_ENV: &str = "SESH_MUX_FAULT";

/// Makes sure a master listens at `place` (started by us or by whoever
/// held the lock first). `Err` is what to do instead.
pub(super) async fn ensure(config: &ExecConfig, reuse: &Reuse, place: &Place) -> Result<(), Step> {
    let within = config.destination.connect_timeout + Duration::from_secs(10);
    let _lock = lock(place, within).await?;
    match std::os::unix::net::UnixStream::connect(&place.socket) {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            tracing::debug!("removing the stale mux socket {}", place.socket.display());
            let _ = std::fs::remove_file(&place.socket);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Step::Direct(Some(format!(
                "mux socket {}: {e}",
                place.socket.display()
            ))));
        }
    }
    start(config, reuse.persist, place).await
}

/// Takes the lock, waiting at most `within`.
async fn lock(place: &Place, within: Duration) -> Result<Flock<File>, Step> {
    let unusable = |e: std::io::Error| Step::Direct(Some(format!("mux lock {}: {e}", place.lock.display())));
    let deadline = Instant::now() + within;
    loop {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&place.lock)
            .map_err(unusable)?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(lock),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err((_, e)) => return Err(unusable(e.into())),
        }
    }
}

/// Starts the master and waits for its first word.
async fn start(config: &ExecConfig, persist: Persist, place: &Place) -> Result<(), Step> {
    let failed = |what: &str, e: std::io::Error| {
        Step::Direct(Some(format!("could not start a mux master ({what}: {e})")))
    };
    let spec = Spec {
        destination: super::dir::absolute(&config.destination),
        persist,
        socket: place.socket.clone(),
        fault: std::env::var(FAULT_ENV).ok(),
        verbose: config.verbose,
    };
    let exe = std::env::current_exe().map_err(|e| failed("sesh's own path", e))?;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&place.log)
        .map_err(|e| failed("log", e))?;
    let (ready, ready_w) = std::io::pipe().map_err(|e| failed("pipe", e))?;
    let child = Command::new(exe)
        .arg("__mux-master")
        .env(SPEC_ENV, serde_json::to_string(&spec).expect("a spec serialises"))
        .stdin(Stdio::null())
        .stdout(ready_w)
        .stderr(log)
        .spawn()
        .map_err(|e| failed("spawn", e))?;
    let mut ready =
        tokio::net::unix::pipe::Receiver::from_owned_fd(ready.into()).map_err(|e| failed("pipe", e))?;
    let mut word = String::new();
    let within = config.destination.connect_timeout + Duration::from_secs(5);
    let read = tokio::time::timeout(within, ready.read_to_string(&mut word)).await;
    drop(child);
    let log = place.log.display();
    match (read, word.split_once(' ')) {
        (Ok(_), _) if word.trim() == "ok" => Ok(()),
        (Ok(_), Some(("auth", _))) if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            // A direct run can ask for a passphrase; the master cannot.
            Err(Step::Direct(None))
        }
        (Ok(_), Some(("auth" | "connect", why))) => Err(Step::Ended(Ending::Failed(why.trim().to_string()))),
        (Ok(_), Some((_, why))) => Err(Step::Direct(Some(why.trim().to_string()))),
        (Ok(_), None) => Err(Step::Direct(Some(format!(
            "the mux master exited at start (see {log})"
        )))),
        (Err(_), _) => Err(Step::Direct(Some(format!(
            "the mux master is not ready in time (see {log})"
        )))),
    }
}
