//! Starting a master by fork, for a one-host call that has no runtime yet:
//! the child is the master at once, without the 2-3 ms a new `sesh
//! __mux-master` process spends loading and starting before it can
//! connect (measured: most of what a first call costs over a direct one).
//!
//! Only a single-threaded process forks (nothing else can hold a lock the
//! child would need), and only before tokio exists in it: its signal
//! handlers and descriptors would be the caller's. The child resets what
//! it inherited the way the exec'd master starts fresh: its own session,
//! stdio on /dev/null, the ready pipe and its log, no other descriptor,
//! logging at the master's level; then it runs the same master code.
//! Anything that stops the fork leaves the start to the usual path.
//!
//! The caller does not wait here: it builds its runtime and installs its
//! signal handlers while the master logs in, and waits for the master's
//! word in the passenger ([`Prepared::settle`]), still holding the lock.
//! A signal during that wait is handled as during a direct connect.

use std::time::{Duration, Instant};

use super::dir::{self, Place};
use super::passenger::Step;
use super::spawn::Lock;
use super::{Master, master, spawn};
use crate::client::ExecConfig;

/// What starting a master before the runtime came to, for the call's
/// first attempt: `None` when it did not try (a master runs, reuse is
/// off, or the process could not fork safely).
#[derive(Default)]
pub struct Prepared(Option<Result<Started, Step>>);

enum Started {
    /// Another caller's master was listening by the time we had the lock.
    Listening,
    /// Our child is the master: its ready pipe, read under the lock.
    Forked {
        lock: Lock,
        ready: std::io::PipeReader,
        within: Duration,
    },
}

impl Prepared {
    /// Waits for the master [`prepare`] forked: `Some(Ok(()))` once a
    /// master listens at `place`, `Some(Err)` with what to do instead,
    /// `None` when nothing was prepared.
    pub(super) async fn settle(self, place: &Place) -> Option<Result<(), Step>> {
        Some(match self.0? {
            Ok(Started::Listening) => Ok(()),
            Ok(Started::Forked { lock, ready, within }) => {
                let outcome = spawn::wait_ready(ready, within, place).await;
                drop(lock);
                outcome
            }
            Err(step) => Err(step),
        })
    }
}

/// Starts `config`'s master by fork when it needs one and none runs.
pub fn prepare(config: &ExecConfig) -> Prepared {
    Prepared(try_prepare(config))
}

fn try_prepare(config: &ExecConfig) -> Option<Result<Started, Step>> {
    let reuse = config.reuse.as_ref().filter(|reuse| reuse.master != Master::No)?;
    // Errors in the path are the usual path's to report.
    let place = dir::place(&config.destination, reuse).ok()??;
    // A socket there, live or stale, is the usual path's to dial (a probe
    // here would be a connection its master has to make sense of).
    if std::fs::symlink_metadata(&place.socket).is_ok() || !single_threaded() {
        return None;
    }
    let lock = match lock(&place, spawn::lock_within(config)) {
        Ok(lock) => lock,
        Err(step) => return Some(Err(step)),
    };
    match spawn::listening(&place) {
        Ok(true) => return Some(Ok(Started::Listening)),
        Ok(false) => {}
        Err(step) => return Some(Err(step)),
    }
    let (spec, log, (ready, ready_w)) = match spawn::prepare(config, reuse.persist, &place) {
        Ok(parts) => parts,
        Err(step) => return Some(Err(step)),
    };
    // SAFETY: this process has one thread (checked above) and no runtime,
    // so the child's copy of it holds no lock and shares no state with a
    // thread it lacks; the child calls `child`, which never returns.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            drop(ready);
            child(spec, log, ready_w, lock)
        }
        Ok(nix::unistd::ForkResult::Parent { .. }) => {
            drop((log, ready_w));
            Some(Ok(Started::Forked {
                lock,
                ready,
                within: spawn::ready_within(config),
            }))
        }
        Err(e) => Some(Err(spawn::failed("fork", e.into()))),
    }
}

/// One thread: /proc/self/task lists each.
fn single_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").is_ok_and(|tasks| tasks.count() == 1)
}

/// Takes the lock, waiting at most `within` (no runtime yet: sleeps).
fn lock(place: &Place, within: Duration) -> Result<Lock, Step> {
    let deadline = Instant::now() + within;
    loop {
        match spawn::try_lock(place)? {
            Some(lock) => return Ok(lock),
            None if Instant::now() < deadline => std::thread::sleep(spawn::LOCK_POLL),
            None => return Err(spawn::lock_timeout(place)),
        }
    }
}

/// The forked master: stdio as the exec'd one gets it (the start lock,
/// the ready pipe, the log), logging at its level into the log, then the
/// master itself.
fn child(spec: master::Spec, log: std::fs::File, ready: std::io::PipeWriter, lock: Lock) -> ! {
    let _ = nix::unistd::dup2_stdin(lock.file());
    let _ = nix::unistd::dup2_stdout(&ready);
    let _ = nix::unistd::dup2_stderr(&log);
    drop((ready, log, lock));
    // Its name in `ps -o comm` and `top` (the arguments stay the first
    // call's, as an OpenSSH ControlPersist master's do).
    let _ = nix::sys::prctl::set_name(c"sesh-mux-master");
    let verbosity = crate::cli::Verbosity {
        verbose: u8::from(spec.verbose),
        quiet: false,
    };
    crate::logging::reinit(verbosity, "info");
    // Never unwind into the caller's frames: they own descriptors the
    // master has closed.
    let code = std::panic::catch_unwind(|| master::run(spec)).unwrap_or(255);
    std::process::exit(i32::from(code))
}
