//! The ProxyCommand route: a local command whose stdin and stdout carry the
//! SSH connection, run as OpenSSH runs it (`$SHELL -c "exec CMD"`, tokens
//! already expanded by the caller).
//!
//! The command's stderr is the user's: sesh copies it to its own stderr as
//! it comes, and remembers the last line, because when the command dies
//! before the handshake that line is the only account of why ("no route
//! to host"). A reaper task owns the child; when the connection ends (the
//! [`ProxyChild`] is dropped with the connection's handler) it hangs the
//! command up with SIGHUP, as ssh does, then SIGKILL if it lingers.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::{oneshot, watch};

use super::{ConnectError, Holds, Link};

/// How long a hung-up command has between SIGHUP and SIGKILL.
const HANGUP_GRACE: Duration = Duration::from_secs(2);
/// How long a hung-up command may take to finish an exit already under way.
const OWN_END: Duration = Duration::from_millis(200);
/// The longest stderr line kept for the error message.
const MAX_LINE: usize = 512;

/// The running command, held by the connection over it: dropping it hangs
/// the command up.
pub struct ProxyChild {
    _hang_up: oneshot::Sender<()>,
}

/// What is known about the command's end, for the error line.
#[derive(Debug, Default, Clone)]
pub struct State {
    /// "exited N" or "killed by signal NAME", once it ended by itself.
    exit: Option<String>,
    /// Its stderr reached end of file.
    stderr_done: bool,
    /// The last non-empty line it wrote to stderr.
    last_line: Option<String>,
}

/// What a failed handshake asks about the command.
pub type Report = watch::Receiver<State>;

/// Starts `command`; the stream is its stdout (read) and stdin (write).
pub fn open(command: &str) -> Result<Link, ConnectError> {
    let shell = std::env::var_os("SHELL")
        .filter(|shell| !shell.is_empty())
        .unwrap_or_else(|| "/bin/sh".into());
    let mut child = Command::new(&shell)
        .arg("-c")
        .arg(format!("exec {command}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // If the runtime goes before the reaper has hung it up.
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ConnectError::Proxy {
            how: format!("could not be run by {}", shell.to_string_lossy()),
            line: Some(e.to_string()),
        })?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let stdin = child.stdin.take().expect("stdin is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (state, report) = watch::channel(State::default());
    let state = Arc::new(state);
    let (hang_up, hung_up) = oneshot::channel();
    tokio::spawn(copy_stderr(stderr, state.clone()));
    tokio::spawn(reap(child, hung_up, state));
    Ok(Link {
        stream: Box::new(tokio::io::join(stdout, stdin)),
        holds: Holds::Child(ProxyChild { _hang_up: hang_up }),
        via: None,
        proxy: Some(report),
    })
}

/// The error for a handshake that failed over the command: the command's
/// own end and last stderr line if it has ended (waiting up to `within`),
/// else `None` (the handshake failed for a reason of its own).
pub async fn ended(mut report: Report, within: Duration) -> Option<ConnectError> {
    let _ = tokio::time::timeout(
        within,
        report.wait_for(|state| state.exit.is_some() && state.stderr_done),
    )
    .await;
    let state = report.borrow();
    let how = state.exit.clone()?;
    Some(ConnectError::Proxy {
        how,
        line: state.last_line.clone(),
    })
}

/// Copies the command's stderr to ours, remembering the last line.
async fn copy_stderr(mut from: ChildStderr, state: Arc<watch::Sender<State>>) {
    let mut ours = tokio::io::stderr();
    let mut buffer = [0u8; 4096];
    let mut line = Vec::new();
    while let Ok(n @ 1..) = from.read(&mut buffer).await {
        let _ = ours.write_all(&buffer[..n]).await;
        for &byte in &buffer[..n] {
            if byte == b'\n' {
                remember(&state, &mut line);
            } else if line.len() < MAX_LINE {
                line.push(byte);
            }
        }
    }
    let _ = ours.flush().await;
    remember(&state, &mut line);
    state.send_modify(|state| state.stderr_done = true);
}

fn remember(state: &watch::Sender<State>, line: &mut Vec<u8>) {
    let text = String::from_utf8_lossy(line).trim().to_string();
    line.clear();
    if !text.is_empty() {
        state.send_modify(|state| state.last_line = Some(text));
    }
}

/// Waits for the command; when the connection hangs it up first, sends
/// SIGHUP, then SIGKILL after a grace. Only an end of its own is recorded.
async fn reap(mut child: Child, hung_up: oneshot::Receiver<()>, state: Arc<watch::Sender<State>>) {
    let status = tokio::select! {
        status = child.wait() => status,
        _ = hung_up => {
            // A command that closed its stdout may still be exiting (the
            // pipe closes before the process is reapable): its own end is
            // the story a failed handshake needs.
            match tokio::time::timeout(OWN_END, child.wait()).await {
                Ok(status) => status,
                Err(_) => return hang_up(child).await,
            }
        }
    };
    if let Ok(status) = status {
        state.send_modify(|state| state.exit = Some(describe(status)));
    }
}

/// SIGHUP, as ssh does; SIGKILL if it lingers.
async fn hang_up(mut child: Child) {
    if let Some(pid) = child.id() {
        // SAFETY: kill has no memory-safety preconditions; the pid is our
        // unreaped child, so it names no other process.
        unsafe { libc::kill(pid as i32, libc::SIGHUP) };
    }
    if tokio::time::timeout(HANGUP_GRACE, child.wait()).await.is_err() {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited {code}"),
        (None, Some(signo)) => format!("killed by signal {}", crate::signals::local_name(signo)),
        (None, None) => "ended".to_string(),
    }
}
