//! The exit-code contract of `sesh exec`: how the remote command (or the
//! attempt to run it) ended, the code sesh exits with, the one line it
//! prints, and the JSON record scripts can read.
//!
//! | how it ended                          | code      |
//! |---------------------------------------|-----------|
//! | exit-status N                         | N         |
//! | exit-signal NAME                      | 128 + local number of NAME |
//! | exit-signal with a name we can't map  | 255       |
//! | closed with neither                   | 255       |
//! | connection, host key, auth, protocol  | 255       |
//! | `--timeout` expired                   | 124       |
//! | INT/TERM/HUP/QUIT the server refused  | 128 + N (124 under `--timeout`) |
//! | second SIGINT or SIGTERM (hang up)    | 130 or 143 |
//! | a forwarded signal before the start   | 128 + N, the command never started |
//! | local stdout closed (`\| head -1`)    | 141, silently, as a local SIGPIPE |

use std::time::Duration;

use serde::Serialize;

/// `sesh exec --help`'s closing text: the table and the many-hosts rule.
pub const HELP: &str = concat!(
    "Exit codes:\n",
    "  N        the remote command exited with status N\n",
    "  128+S    the remote command was killed by signal S (143 for TERM, 137 for KILL);\n",
    "           stderr: sesh: remote command killed by signal NAME [(core dumped)][: message]\n",
    "  255      a signal with no local number, no exit status at all, or a connection,\n",
    "           host key, authentication or protocol failure (one line on stderr says which)\n",
    "  124      --timeout expired (the remote command got TERM, then KILL; when the server\n",
    "           refuses TERM, sesh closes the session at once)\n",
    "  128+S    the server refused a forwarded INT, TERM, HUP or QUIT (root logins to\n",
    "           OpenSSH, servers without signal support): sesh closed the session, and\n",
    "           says the remote command may still be running\n",
    "  130/143  a second Ctrl-C or SIGTERM hung up the session\n",
    "  128+S    signal S came before the remote command was started (while connecting):\n",
    "           it was never started, as a local command killed before it ran\n",
    "  141      local stdout was closed (like a local command killed by SIGPIPE)\n",
    "\n",
    "With many hosts (-H, --hosts): 0 only when every host exited 0; otherwise the code\n",
    "all failed hosts share, or 123 when they differ. --json and --output-dir give\n",
    "each host's own ending."
);

/// How a `sesh exec` session ended. Serialisable: a mux master sends it to
/// its passenger, which exits with it as if it had run the session itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Ending {
    /// `exit-status`.
    Exited(u32),
    /// `exit-signal`, the name as sent.
    Killed {
        name: String,
        core_dumped: bool,
        message: String,
    },
    /// The channel closed with neither.
    NoStatus,
    /// `--timeout` expired.
    TimedOut(Duration),
    /// A signal asking the command to stop (INT, TERM, HUP, QUIT, or
    /// `--timeout`'s TERM or KILL) was refused or never answered, so sesh
    /// closed the session; the remote command may still be running.
    SignalRefused {
        /// The local number of the refused signal.
        signo: i32,
        /// Whether the server said no (rather than not answering in time).
        answered: bool,
        /// `--timeout`'s duration when the timeout sent it.
        timeout: Option<Duration>,
    },
    /// A second SIGINT or SIGTERM (this number) hung up the session, or
    /// the fan-out hung it up (SIGINT).
    Interrupted(i32),
    /// A forwarded signal (this number) came before the remote command
    /// was started, so it never was: as a local command killed before it
    /// ran, and as ssh, which dies of it while it connects. Holding the
    /// signal for a command about to start would hand it to a shell still
    /// starting up, which may swallow it (dash catches SIGINT under `-c`
    /// until it execs the command).
    NotStarted(i32),
    /// Local stdout broke.
    BrokenPipe,
    /// Connection, host key, authentication or protocol failure.
    Failed(String),
}

impl Ending {
    /// The code `sesh exec` exits with.
    pub fn code(&self) -> u8 {
        match self {
            Ending::Exited(status) => (*status).min(255) as u8,
            Ending::Killed { name, .. } => match local_signal(name) {
                Some(signo) => (128 + signo).min(255) as u8,
                None => 255,
            },
            Ending::NoStatus | Ending::Failed(_) => 255,
            Ending::TimedOut(_) | Ending::SignalRefused { timeout: Some(_), .. } => 124,
            Ending::SignalRefused { signo, .. } | Ending::Interrupted(signo) | Ending::NotStarted(signo) => {
                (128 + signo).min(255) as u8
            }
            Ending::BrokenPipe => 128 + libc::SIGPIPE as u8,
        }
    }

    /// The line for stderr, if any (`verbose` adds one for a plain status).
    pub fn message(&self, verbose: bool) -> Option<String> {
        match self {
            Ending::Exited(status) if verbose => Some(format!("remote command exited with status {status}")),
            Ending::Exited(_) | Ending::BrokenPipe => None,
            Ending::Killed {
                name,
                core_dumped,
                message,
            } => {
                let mut line = format!("remote command killed by signal {name}");
                if *core_dumped {
                    line.push_str(" (core dumped)");
                }
                if !message.is_empty() {
                    line.push_str(": ");
                    line.push_str(message);
                }
                Some(line)
            }
            Ending::NoStatus => Some("remote command ended without an exit status".to_string()),
            Ending::TimedOut(after) => Some(format!("timed out after {}", crate::duration::format(*after))),
            Ending::SignalRefused {
                signo,
                answered,
                timeout,
            } => Some(refused_line(*signo, *answered, *timeout)),
            Ending::Interrupted(signo) if *signo == libc::SIGTERM => {
                Some("terminated: session hung up".to_string())
            }
            Ending::Interrupted(_) => Some("interrupted: session hung up".to_string()),
            Ending::NotStarted(signo) => Some(format!(
                "signal {} before the remote command started; it was not run",
                crate::signals::wire_name(*signo)
            )),
            Ending::Failed(why) => Some(why.clone()),
        }
    }

    /// The machine-readable record.
    pub fn record(&self, target: &str, duration: Duration) -> Record {
        let mut record = Record {
            target: target.to_string(),
            outcome: "",
            exit_code: self.code(),
            exit_status: None,
            signal: None,
            core_dumped: None,
            refused_signal: None,
            message: self.message(false),
            duration_ms: duration.as_millis() as u64,
        };
        record.outcome = match self {
            Ending::Exited(status) => {
                record.exit_status = Some(*status);
                "exited"
            }
            Ending::Killed {
                name, core_dumped, ..
            } => {
                record.signal = Some(name.clone());
                record.core_dumped = Some(*core_dumped);
                "killed"
            }
            Ending::NoStatus => "no-status",
            Ending::TimedOut(_) => "timed-out",
            Ending::SignalRefused { signo, timeout, .. } => {
                record.refused_signal = Some(crate::signals::wire_name(*signo));
                if timeout.is_some() {
                    "timed-out"
                } else {
                    "signal-refused"
                }
            }
            Ending::Interrupted(_) => "interrupted",
            Ending::NotStarted(_) => "not-started",
            Ending::BrokenPipe => "broken-pipe",
            Ending::Failed(_) => "failed",
        };
        record
    }
}

/// One session's ending as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub target: String,
    /// exited, killed, no-status, timed-out, signal-refused, interrupted,
    /// not-started, broken-pipe, failed
    pub outcome: &'static str,
    pub exit_code: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_dumped: Option<bool>,
    /// The signal the server refused (or never answered), after which
    /// sesh closed the session: `signal-refused`, or `timed-out` when the
    /// timeout's TERM or KILL was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused_signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub duration_ms: u64,
}

/// The one line for a signal the server would not deliver.
fn refused_line(signo: i32, answered: bool, timeout: Option<Duration>) -> String {
    let name = crate::signals::wire_name(signo);
    let how = if answered {
        format!("the server refused signal {name}")
    } else {
        format!("the server did not answer signal {name}")
    };
    let line = format!("{how}; session closed, the remote command may still be running");
    match timeout {
        Some(after) => format!("timed out after {}: {line}", crate::duration::format(after)),
        None => line,
    }
}

/// The local number of a signal name as a server sent it: an RFC name, or
/// `NAME@<this platform>` as sesh serve sends it.
fn local_signal(name: &str) -> Option<i32> {
    crate::signals::wire_number(name)
}

#[cfg(test)]
mod tests;
