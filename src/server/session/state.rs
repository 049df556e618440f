//! What the supervisor of one session knows between events: the
//! command's status, whether its output ended and EOF went out, a hang-up
//! and its SIGKILL deadline, the server stopping.

use std::sync::Arc;
use std::time::Duration;

use super::Control;
use crate::server::job::{Ending, Stop};
use crate::server::pty::PtyMaster;

/// How long EOF waits for the command's exit once its output has ended.
const EOF_WAIT: Duration = Duration::from_millis(200);

/// What the supervisor knows about a running command between events.
pub(super) struct State {
    pub(super) stop: Stop,
    pub(super) grace: Duration,
    pub(super) pty: Option<Arc<PtyMaster>>,
    pub(super) status: Option<Ending>,
    pub(super) outputs_done: bool,
    /// The client went away: nothing more may be sent.
    pub(super) hung_up: bool,
    /// The server is stopping.
    pub(super) stopping: bool,
    /// When SIGKILL is due after a hang-up.
    pub(super) kill_at: Option<tokio::time::Instant>,
    /// When the EOF is due, once the output has ended ([`State::eof_due`]).
    pub(super) eof_at: Option<tokio::time::Instant>,
    /// The exit report went out right after the EOF.
    pub(super) reported: bool,
    pub(super) control_open: bool,
}

impl State {
    pub(super) fn new(stop: Stop, grace: Duration, pty: Option<Arc<PtyMaster>>) -> Self {
        Self {
            stop,
            grace,
            pty,
            status: None,
            outputs_done: false,
            hung_up: false,
            stopping: false,
            kill_at: None,
            eof_at: None,
            reported: false,
            control_open: true,
        }
    }

    /// Reaped, and its output ended and EOF sent (or both abandoned
    /// after a hang-up).
    pub(super) fn done(&self) -> bool {
        self.status.is_some() && self.outputs_done && self.eof_at.is_none()
    }

    /// The command was reaped; whether the EOF that waited for it is due.
    pub(super) fn exited(&mut self, ending: Ending) -> bool {
        self.status = Some(ending);
        tracing::debug!("command exited");
        self.eof_at.take().is_some()
    }

    /// The output ended: EOF is due at once (true) when the command has
    /// been reaped, else when it is or after [`EOF_WAIT`]. A client may
    /// close the channel as soon as both EOFs are through (OpenSSH's
    /// ControlMaster does, at once), and russh answers that CLOSE itself:
    /// an exit report sent after it would be lost. So EOF waits, briefly,
    /// to leave just ahead of the report; a command that closed its output
    /// and runs on gets its EOF after the wait.
    pub(super) fn eof_due(&mut self) -> bool {
        if self.hung_up {
            return false;
        }
        if self.status.is_some() {
            return true;
        }
        self.eof_at = Some(tokio::time::Instant::now() + EOF_WAIT);
        false
    }

    pub(super) fn control(&mut self, message: Option<Control>) {
        match message {
            Some(Control::Signal(signo)) => self.stop.signal(signo),
            Some(Control::Resize(size)) => {
                if let Some(master) = &self.pty {
                    let _ = master.resize(size);
                }
            }
            Some(Control::Started { .. }) => {}
            None => self.control_open = false,
        }
    }

    /// The client closed the channel or the connection ended.
    pub(super) fn client_gone(&mut self) {
        self.hung_up = true;
        self.outputs_done = true;
        self.eof_at = None;
        self.hang_up();
    }

    pub(super) fn server_stopping(&mut self) {
        self.stopping = true;
        self.hang_up();
    }

    /// SIGHUP to the group now, SIGKILL after the grace period; a builtin
    /// is cancelled.
    pub(super) fn hang_up(&mut self) {
        if self.kill_at.is_none() && self.stop.hang_up() {
            self.kill_at = Some(tokio::time::Instant::now() + self.grace);
        }
    }

    pub(super) fn kill_due(&mut self) {
        self.stop.kill();
        self.kill_at = None;
    }
}
