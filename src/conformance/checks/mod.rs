//! The checks of `sesh test`: each one names a behaviour of the session
//! contract, runs it against the server with plain POSIX shell commands,
//! and gives a verdict with a one-line detail.

mod endings;
mod session;
mod streams;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use russh::Channel;
use russh::client::Msg;
use serde::Serialize;

use super::transcript::{Transcript, collect, collect_half};
use crate::client::{Connection, Destination};

/// How long one command may take before a check gives up on it.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(30);

/// A check's outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "verdict", content = "detail", rename_all = "lowercase")]
pub enum Verdict {
    Pass(String),
    /// The server breaks the contract: lost bytes, wrong order, a hang.
    Fail(String),
    /// The server behaves differently on purpose or by a known policy
    /// (signal naming, hang-up, refused requests).
    Differs(String),
    Skipped(String),
}

impl Verdict {
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Pass(_) => "pass",
            Verdict::Fail(_) => "fail",
            Verdict::Differs(_) => "differs",
            Verdict::Skipped(_) => "skipped",
        }
    }

    pub fn detail(&self) -> &str {
        match self {
            Verdict::Pass(d) | Verdict::Fail(d) | Verdict::Differs(d) | Verdict::Skipped(d) => d,
        }
    }
}

/// A check: `Err` means it could not even run its commands, a failure.
type Run = for<'a> fn(&'a Ctx) -> Pin<Box<dyn Future<Output = Result<Verdict, String>> + Send + 'a>>;

/// One named check.
pub struct Check {
    pub name: &'static str,
    pub about: &'static str,
    pub run: Run,
}

macro_rules! check {
    ($name:literal, $about:literal, $function:path) => {
        Check {
            name: $name,
            about: $about,
            run: |ctx| Box::pin($function(ctx)),
        }
    };
}

/// Every check, in the order they run.
pub const ALL: &[Check] = &[
    check!(
        "exit-status",
        "exit statuses 0, 1, 44 and 255 come back as sent",
        endings::exit_statuses
    ),
    check!(
        "exit-signal",
        "the 13 RFC 4254 signals are reported by name",
        endings::rfc_signals
    ),
    check!(
        "core-dumped",
        "a SEGV under ulimit -c unlimited reports the core dump",
        endings::core_dumped
    ),
    check!(
        "signal-names",
        "a non-RFC signal gets a NAME@domain name",
        endings::platform_signal
    ),
    check!(
        "separation",
        "stdout is data, stderr is extended data, each complete",
        streams::separation
    ),
    check!(
        "stderr-after-stdout",
        "stderr sent after stdout closed still arrives",
        streams::stderr_after_stdout
    ),
    check!(
        "order",
        "no output after EOF; EOF, exit report, CLOSE in that order",
        streams::order
    ),
    check!(
        "open-until-exit",
        "output closed early, exit later: the real status",
        streams::open_until_exit
    ),
    check!(
        "stdin-eof",
        "the client's EOF reaches the command's stdin",
        streams::stdin_eof
    ),
    check!(
        "transfer",
        "4 MiB through cat come back byte-identical",
        streams::transfer
    ),
    check!(
        "trailing-output",
        "30 quick runs of echo lose no trailing output",
        streams::trailing_output
    ),
    check!(
        "paused-reader",
        "a reader that pauses 2 s gets all of 8 MB",
        streams::paused_reader
    ),
    check!(
        "small-window",
        "output queued behind a small, slowly granted window all comes before EOF",
        streams::small_window
    ),
    check!(
        "ignored-stdin",
        "a command ignoring 32 MiB of stdin still delivers 16 MB",
        streams::ignored_stdin
    ),
    check!(
        "signal-request",
        "a signal request reaches the command",
        session::signal_request
    ),
    check!(
        "second-exec",
        "a second exec on a channel is refused",
        session::second_exec
    ),
    check!("env", "env requests: LANG accepted, others refused", session::env),
    check!(
        "pty",
        "pty allocated with TERM and size; window-change resizes",
        session::pty
    ),
    check!(
        "concurrent",
        "5 channels on one connection at once",
        session::concurrent
    ),
    check!(
        "hangup",
        "the command is hung up when its client disconnects",
        session::hangup
    ),
    check!("keepalive", "a keepalive request is answered", session::keepalive),
];

/// What every check gets: the connection and how to make another.
pub struct Ctx {
    pub connection: Connection,
    pub destination: Destination,
}

impl Ctx {
    pub async fn channel(&self) -> Result<Channel<Msg>, String> {
        self.connection
            .channel_open_session()
            .await
            .map_err(|e| format!("could not open a channel: {e}"))
    }

    /// Runs `command` with no input and collects everything until CLOSE.
    pub async fn run(&self, command: &str) -> Result<Transcript, String> {
        self.run_with_input(command, Bytes::new()).await
    }

    /// Runs `command` with `input` on its stdin (sent by a task of its own,
    /// so a command that writes before it reads cannot deadlock).
    pub async fn run_with_input(&self, command: &str, input: Bytes) -> Result<Transcript, String> {
        let channel = self.channel().await?;
        channel
            .exec(true, command)
            .await
            .map_err(|e| format!("exec failed: {e}"))?;
        let (reader, writer) = channel.split();
        let pump = tokio::spawn(async move {
            if !input.is_empty() {
                let _ = writer.data_bytes(input).await;
            }
            let _ = writer.eof().await;
            writer
        });
        let transcript = collect_half(reader, COMMAND_LIMIT).await;
        pump.abort();
        Ok(transcript)
    }
}

/// `collect` with the checks' time limit.
pub async fn collect_channel(channel: Channel<Msg>) -> Transcript {
    collect(channel, COMMAND_LIMIT).await
}

/// Kills the shell itself through perl or, failing that, `kill`. bash
/// ignores some signals, and perl ignores FPE unless told otherwise, so
/// perl resets the disposition first.
pub fn die_by(signal: &str) -> String {
    format!(
        "if command -v perl >/dev/null; then exec perl -e '$SIG{{q({signal})}} = q(DEFAULT); kill q({signal}), $$; sleep 5'; \
         else kill -s {signal} $$; sleep 5; fi"
    )
}
