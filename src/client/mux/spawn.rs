//! Starting a master: under the connection's lock file (so concurrent
//! first calls share one login), re-check the socket, clear a stale one,
//! then start the master detached, with stdio on /dev/null and its log,
//! and wait on a ready pipe for the outcome of its login. A caller that
//! has no runtime yet forks the master ([`super::fork`]); otherwise it
//! starts `sesh __mux-master`.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::process::Command;
use std::time::Duration;

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
    let lock = lock(place, lock_within(config)).await?;
    if listening(place)? {
        return Ok(());
    }
    start(config, reuse.persist, place, &lock).await
}

/// The start lock of a connection's master: an exclusive `flock` on the
/// lock file, held while any descriptor of this open file is: ours, and
/// the new master's stdin, which it lets go once its login has an outcome
/// (`master::ready`). A caller that gives up while the master logs in (a
/// Ctrl-C) so leaves the lock with the master, and the next call waits for
/// that login instead of starting a second one. Closed, never unlocked:
/// an unlock would free the master's share too.
pub(super) struct Lock(File);

impl Lock {
    /// The lock file, for the new master's stdin.
    pub(super) fn file(&self) -> &File {
        &self.0
    }
}

/// How long a first call waits for another's master to log in.
pub(super) fn lock_within(config: &ExecConfig) -> Duration {
    config.destination.connect_timeout + Duration::from_secs(10)
}

/// Takes the lock, waiting at most `within`.
async fn lock(place: &Place, within: Duration) -> Result<Lock, Step> {
    let deadline = Instant::now() + within;
    loop {
        match try_lock(place)? {
            Some(lock) => return Ok(lock),
            None if Instant::now() < deadline => tokio::time::sleep(LOCK_POLL).await,
            None => return Err(lock_timeout(place)),
        }
    }
}

/// How often a waiting caller tries the lock again.
pub(super) const LOCK_POLL: Duration = Duration::from_millis(5);

/// The lock if nobody holds it; `None` while somebody does.
pub(super) fn try_lock(place: &Place) -> Result<Option<Lock>, Step> {
    let unusable = |e: std::io::Error| Step::Direct(Some(format!("mux lock {}: {e}", place.lock.display())));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&place.lock)
        .map_err(unusable)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(Lock(file))),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(unusable(e)),
    }
}

pub(super) fn lock_timeout(place: &Place) -> Step {
    let e = std::io::Error::from(nix::errno::Errno::EWOULDBLOCK);
    Step::Direct(Some(format!("mux lock {}: {e}", place.lock.display())))
}

/// Under the lock: `Ok(true)` when a master already listens, `Ok(false)`
/// when none does (a stale socket is removed).
pub(super) fn listening(place: &Place) -> Result<bool, Step> {
    match std::os::unix::net::UnixStream::connect(&place.socket) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            tracing::debug!("removing the stale mux socket {}", place.socket.display());
            let _ = std::fs::remove_file(&place.socket);
            Ok(false)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Step::Direct(Some(format!(
            "mux socket {}: {e}",
            place.socket.display()
        )))),
    }
}

/// Starts the master, handing it a share of `lock`, and waits for its
/// first word.
async fn start(config: &ExecConfig, persist: Persist, place: &Place, lock: &Lock) -> Result<(), Step> {
    let (spec, log, (ready, ready_w)) = prepare(config, persist, place)?;
    let exe = std::env::current_exe().map_err(|e| failed("sesh's own path", e))?;
    let share = lock.file().try_clone().map_err(|e| failed("lock", e))?;
    let child = Command::new(exe)
        .arg("__mux-master")
        .env(SPEC_ENV, serde_json::to_string(&spec).expect("a spec serialises"))
        .stdin(share)
        .stdout(ready_w)
        .stderr(log)
        .spawn()
        .map_err(|e| failed("spawn", e))?;
    let outcome = wait_ready(ready, ready_within(config), place).await;
    drop(child);
    outcome
}

/// The new master's first word, read until the pipe closes or `within`.
pub(super) async fn wait_ready(
    ready: std::io::PipeReader,
    within: Duration,
    place: &Place,
) -> Result<(), Step> {
    let mut ready =
        tokio::net::unix::pipe::Receiver::from_owned_fd(ready.into()).map_err(|e| failed("pipe", e))?;
    let mut word = String::new();
    let read = tokio::time::timeout(within, ready.read_to_string(&mut word)).await;
    judge(read.is_ok(), &word, place)
}

pub(super) fn failed(what: &str, e: std::io::Error) -> Step {
    Step::Direct(Some(format!("could not start a mux master ({what}: {e})")))
}

/// What a master starts with: its spec, its log, and the ready pipe.
pub(super) fn prepare(
    config: &ExecConfig,
    persist: Persist,
    place: &Place,
) -> Result<(Spec, File, (std::io::PipeReader, std::io::PipeWriter)), Step> {
    let spec = Spec {
        destination: super::dir::absolute(&config.destination),
        persist,
        socket: place.socket.clone(),
        fault: std::env::var(FAULT_ENV).ok(),
        verbose: config.verbose,
    };
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&place.log)
        .map_err(|e| failed("log", e))?;
    let pipe = std::io::pipe().map_err(|e| failed("pipe", e))?;
    Ok((spec, log, pipe))
}

/// How long a new master has to log in and say so.
pub(super) fn ready_within(config: &ExecConfig) -> Duration {
    config.destination.connect_timeout + Duration::from_secs(5)
}

/// What the master's first word (read in time, or not) means.
pub(super) fn judge(in_time: bool, word: &str, place: &Place) -> Result<(), Step> {
    let log = place.log.display();
    match (in_time, word.split_once(' ')) {
        (true, _) if word.trim() == "ok" => Ok(()),
        (true, Some(("auth", _))) if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            // A direct run can ask for a passphrase; the master cannot.
            Err(Step::Direct(None))
        }
        (true, Some(("auth" | "connect", why))) => Err(Step::Ended(Ending::Failed(why.trim().to_string()))),
        (true, Some((_, why))) => Err(Step::Direct(Some(why.trim().to_string()))),
        (true, None) => Err(Step::Direct(Some(format!(
            "the mux master exited at start (see {log})"
        )))),
        (false, _) => Err(Step::Direct(Some(format!(
            "the mux master is not ready in time (see {log})"
        )))),
    }
}
