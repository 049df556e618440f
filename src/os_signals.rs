//! The one module that touches the process's signal handlers.
//!
//! `serve` stops on SIGTERM or SIGINT; `exec` forwards the signals a local
//! child would get (INT, TERM, HUP, QUIT, USR1, USR2) to the remote command
//! and watches SIGWINCH for its pty.

use color_eyre::eyre::WrapErr;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

/// Completes when the process receives SIGTERM or SIGINT.
pub fn on_terminate() -> color_eyre::Result<impl Future<Output = ()>> {
    let mut term = signal(SignalKind::terminate()).wrap_err("could not handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).wrap_err("could not handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
    })
}

/// The signals `sesh exec` forwards, as local numbers.
pub const FORWARDED: [i32; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// The forwarded signals that ask a process to stop: when the server
/// refuses one, `sesh exec` closes the session rather than go on waiting.
pub const STOPPING: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Whether `signo` counts towards the hang-up: the second SIGINT or
/// SIGTERM, in any mix, hangs up at once (Ctrl-C twice, a supervisor's
/// TERM repeated, Ctrl-C after a `kill`).
pub fn hangs_up_when_repeated(signo: i32) -> bool {
    signo == libc::SIGINT || signo == libc::SIGTERM
}

/// Delivers each forwarded signal's number as it arrives. Installing the
/// handlers replaces the default action, so the process no longer dies of
/// them: the caller decides what each means.
pub fn forwarded() -> color_eyre::Result<mpsc::UnboundedReceiver<i32>> {
    let (tx, rx) = mpsc::unbounded_channel();
    for signo in FORWARDED {
        let mut stream = signal(SignalKind::from_raw(signo)).wrap_err("could not handle signals")?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(signo).is_err() {
                    return;
                }
            }
        });
    }
    Ok(rx)
}

/// SIGWINCH, for resizing a remote pty.
pub fn window_changes() -> color_eyre::Result<Signal> {
    signal(SignalKind::window_change()).wrap_err("could not handle SIGWINCH")
}
