//! The master process (`sesh __mux-master`): detach, log in once, listen
//! on the control socket, serve passengers until idle for ControlPersist,
//! told to stop, or the connection dies; then remove the socket first, so
//! new callers start a fresh master instead of racing this one's exit.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Persist;
use crate::client::Destination;
use crate::client::connect::ConnectError;

/// The environment variable that carries the [`Spec`] to a new master.
pub const SPEC_ENV: &str = "SESH_MUX_SPEC";
/// A `Persist::No` master waits this long for its first passenger.
const FIRST_CALLER_WAIT: Duration = Duration::from_secs(10);
/// How often the master looks whether its connection is still alive.
const LIVENESS_TICK: Duration = Duration::from_millis(500);

/// What a master is started with.
#[derive(Debug, Serialize, Deserialize)]
pub struct Spec {
    pub destination: Destination,
    pub persist: Persist,
    pub socket: PathBuf,
    /// A test's request to misbehave (`spawn::FAULT_ENV`).
    pub fault: Option<String>,
    pub verbose: bool,
}

/// What every passenger's task shares.
pub(super) struct Shared {
    pub pool: Arc<super::pool::Pool>,
    pub destination: Destination,
    pub started: Instant,
    pub sessions: AtomicUsize,
    /// `-O exit` (or SIGTERM): end every session now.
    pub exit: CancellationToken,
    /// `-O stop`: stop listening, finish the sessions.
    pub stop: Notify,
    pub fault: Option<String>,
}

/// Whether the master should log at debug level (read before logging starts).
pub fn verbose() -> bool {
    read_spec().is_some_and(|spec| spec.verbose)
}

/// Runs the master started as `sesh __mux-master`; the process exit code.
pub fn main() -> u8 {
    let Some(spec) = read_spec() else {
        crate::say!("sesh: __mux-master is started by sesh exec --reuse");
        return 2;
    };
    run(spec)
}

/// Detaches and serves `spec` until the master stops; the exit code. Its
/// stdin is the start lock (`spawn::Lock`), stdout the ready pipe, stderr
/// the log.
pub(super) fn run(spec: Spec) -> u8 {
    // Its own session: no terminal signals, and reading a passenger's
    // terminal never stops it with SIGTTIN.
    let _ = nix::unistd::setsid();
    close_inherited_fds();
    // Hold no directory of the caller's (its paths arrive absolute).
    let _ = std::env::set_current_dir("/");
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    match runtime {
        Ok(runtime) => runtime.block_on(serve(spec)),
        Err(e) => {
            ready(&format!("error could not start the async runtime: {e}"));
            255
        }
    }
}

fn read_spec() -> Option<Spec> {
    serde_json::from_str(&std::env::var(SPEC_ENV).ok()?).ok()
}

/// Only 0 (the lock), 1 (the ready pipe) and 2 (the log) stay: anything
/// else the caller left open without close-on-exec must not be held.
fn close_inherited_fds() {
    let fds: Vec<i32> = match std::fs::read_dir("/proc/self/fd") {
        Ok(entries) => entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|&fd| fd > 2)
            .collect(),
        Err(_) => return,
    };
    for fd in fds {
        // The directory's own fd is among them, already closed: EBADF.
        let _ = nix::unistd::close(fd);
    }
}

/// The first and only line on the ready pipe (stdout), then stdout goes
/// to /dev/null so the caller's read ends, and so does stdin, the start
/// lock's share: the login has its outcome, the next caller may look.
fn ready(word: &str) {
    crate::say_out!("{word}");
    if let Ok(null) = std::fs::File::options().read(true).write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stdin(&null);
    }
}

async fn serve(spec: Spec) -> u8 {
    let connection = match crate::client::connect(&spec.destination).await {
        Ok(connection) => connection,
        Err(e) => {
            let kind = if matches!(e, ConnectError::Auth { .. }) {
                "auth"
            } else {
                "connect"
            };
            ready(&format!("{kind} {e}"));
            return 255;
        }
    };
    let listener = match UnixListener::bind(&spec.socket) {
        Ok(listener) => listener,
        Err(e) => {
            ready(&format!(
                "error could not listen on {}: {e}",
                spec.socket.display()
            ));
            return 255;
        }
    };
    let inode = std::fs::metadata(&spec.socket).map(|m| m.ino()).unwrap_or(0);
    ready("ok");
    tracing::info!(pid = std::process::id(), socket = %spec.socket.display(), "mux master for {} ready", spec.destination.label);
    let shared = Arc::new(Shared {
        pool: super::pool::Pool::new(connection, spec.destination.clone()),
        destination: spec.destination.clone(),
        started: Instant::now(),
        sessions: AtomicUsize::new(0),
        exit: CancellationToken::new(),
        stop: Notify::new(),
        fault: spec.fault.clone(),
    });
    let why = serve_loop(listener, &shared, &spec, inode).await;
    tracing::info!("mux master stopping: {why}");
    remove_socket(&spec.socket, inode);
    shared.pool.disconnect().await;
    0
}

/// Accepts passengers until it is time to stop; returns why.
async fn serve_loop(listener: UnixListener, shared: &Arc<Shared>, spec: &Spec, inode: u64) -> String {
    let mut listener = Some(listener);
    let mut tasks = JoinSet::new();
    let mut idle_since = Instant::now();
    let mut served = false;
    let mut tick = tokio::time::interval(LIVENESS_TICK);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let mut why = String::new();
    loop {
        let idle_deadline = match (tasks.is_empty(), spec.persist) {
            (false, _) | (true, Persist::Forever) => None,
            (true, Persist::No) if !served => Some(idle_since + FIRST_CALLER_WAIT),
            (true, Persist::No) => Some(idle_since),
            (true, Persist::For(after)) => Some(idle_since + after),
        };
        tokio::select! {
            accepted = accept(&listener) => {
                if let Ok(stream) = accepted
                    && peer_allowed(&stream)
                {
                    tasks.spawn(super::session::serve(stream, shared.clone()));
                    served = true;
                }
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => idle_since = Instant::now(),
            _ = sleep_until(idle_deadline) => why = "idle".into(),
            _ = tick.tick() => if shared.pool.lost() && why.is_empty() {
                why = "the connection to the server is lost".into();
            },
            _ = shared.stop.notified() => why = "told to stop".into(),
            _ = shared.exit.cancelled(), if why.is_empty() => why = "told to exit".into(),
            Some(_) = recv(&mut terminate) => {
                shared.exit.cancel();
                why = "SIGTERM".into();
            }
        }
        if !why.is_empty() && listener.is_some() {
            // Socket first: callers from now on start a new master.
            remove_socket(&spec.socket, inode);
            listener = None;
        }
        if listener.is_none() && tasks.is_empty() {
            return why;
        }
    }
}

async fn accept(listener: &Option<UnixListener>) -> std::io::Result<UnixStream> {
    match listener {
        Some(listener) => listener.accept().await.map(|(stream, _)| stream),
        None => std::future::pending().await,
    }
}

/// Only our own user (or root) may use the master, as OpenSSH's rule.
fn peer_allowed(stream: &UnixStream) -> bool {
    let me = nix::unistd::geteuid().as_raw();
    match stream.peer_cred() {
        Ok(peer) if peer.uid() == me || peer.uid() == 0 => true,
        Ok(peer) => {
            tracing::warn!("refused a control connection from uid {}", peer.uid());
            false
        }
        Err(e) => {
            tracing::warn!("refused a control connection: no peer credentials: {e}");
            false
        }
    }
}

/// Removes the socket, unless another master's has replaced it.
fn remove_socket(path: &Path, inode: u64) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.ino() == inode) {
        let _ = std::fs::remove_file(path);
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

impl Shared {
    /// Sessions running now (for `-O check`).
    pub fn running(&self) -> usize {
        self.sessions.load(Ordering::Relaxed)
    }
}
