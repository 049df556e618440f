//! A running command's event loop state ([`Bridge`]): what each channel
//! message, local signal, resize and `--timeout` step does, and how the
//! session's ending is settled once the loop stops.

use std::sync::Arc;
use std::time::Duration;

use russh::client::Msg;
use russh::{ChannelMsg, ChannelWriteHalf};
use tokio::time::Instant;

use super::pending::{Pending, Request};
use crate::client::ExecConfig;
use crate::client::stdio::{Delivery, Sink, Stream};
use crate::exit::Ending;

/// How long the server has to close after KILL before sesh closes itself.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What the event loop of a running command keeps between events. Each
/// `on_*` returns `Some` when the session has ended.
pub(super) struct Bridge {
    pub(super) writer: Arc<ChannelWriteHalf<Msg>>,
    /// Requests whose replies are still due, oldest first.
    pub(super) pending: Pending,
    stdout: Sink,
    stderr: Sink,
    /// Output on its way to stdout or stderr, and which one.
    pub(super) delivery: Option<(Stream, Delivery)>,
    /// The server's exit-status or exit-signal, kept until CLOSE.
    report: Option<Ending>,
    /// Local SIGINTs and SIGTERMs so far: the second hangs up.
    stop_requests: u32,
    /// The next `--timeout` step and when it is due.
    pub(super) timer: Option<(Instant, Stage)>,
}

impl Bridge {
    /// The state of a command just started, with `--timeout` armed.
    pub(super) fn new(
        writer: Arc<ChannelWriteHalf<Msg>>,
        pending: Pending,
        (stdout, stderr): (Sink, Sink),
        timeout: Option<Duration>,
    ) -> Self {
        Self {
            writer,
            pending,
            stdout,
            stderr,
            delivery: None,
            report: None,
            stop_requests: 0,
            timer: timeout.map(|after| (Instant::now() + after, Stage::Term)),
        }
    }

    pub(super) fn on_message(&mut self, message: Option<ChannelMsg>) -> Option<Ending> {
        match message {
            Some(ChannelMsg::Data { data }) => match self.stdout.deliver(data) {
                Ok(pending) => self.delivery = pending.map(|d| (Stream::Stdout, d)),
                Err(_) => return Some(Ending::BrokenPipe),
            },
            Some(ChannelMsg::ExtendedData { data, .. }) => {
                // A lost stderr does not end the session.
                if let Ok(pending) = self.stderr.deliver(data) {
                    self.delivery = pending.map(|d| (Stream::Stderr, d));
                }
            }
            Some(ChannelMsg::ExitStatus { exit_status }) => self.report = Some(Ending::Exited(exit_status)),
            Some(ChannelMsg::ExitSignal {
                signal_name,
                core_dumped,
                error_message,
                ..
            }) => {
                let name = crate::signals::sig_name(&signal_name);
                self.report = Some(Ending::Killed {
                    name,
                    core_dumped,
                    message: error_message,
                });
            }
            Some(ChannelMsg::Close) => return Some(self.report.take().unwrap_or(Ending::NoStatus)),
            // The channel ended without the server's CLOSE: the connection
            // died (keepalives unanswered, reset, server gone).
            None => return Some(Ending::Failed("connection to the server lost".to_string())),
            Some(other) => tracing::debug!("channel message {other:?}"),
        }
        None
    }

    /// Waits for the pending output to be delivered (cancel-safe: the
    /// delivery stays in `pending` until it completes). Stdout gone ends
    /// the session as a broken pipe; a lost stderr does not.
    pub(super) async fn delivered(pending: &mut Option<(Stream, Delivery)>) -> Option<Ending> {
        let (stream, delivery) = pending.as_mut()?;
        let result = delivery.await;
        let stream = *stream;
        *pending = None;
        (stream == Stream::Stdout && result.is_err()).then_some(Ending::BrokenPipe)
    }

    /// The server refused the oldest request, or (`overdue`) a signal's
    /// reply deadline passed. A refused signal does not end a session
    /// whose command has already reported how it ended: that report, at
    /// CLOSE, is the truth.
    pub(super) fn on_refusal(&mut self, overdue: bool) -> Option<Ending> {
        let ending = if overdue {
            self.pending.overdue(Instant::now())
        } else {
            self.pending.failed()
        };
        match ending {
            Some(Ending::SignalRefused { .. }) if self.report.is_some() => None,
            ending => ending,
        }
    }

    /// Forwards a local signal; a second SIGINT or SIGTERM hangs up instead.
    pub(super) async fn on_signal(&mut self, signo: i32) -> Option<Ending> {
        if crate::os_signals::hangs_up_when_repeated(signo) {
            self.stop_requests += 1;
            if self.stop_requests > 1 {
                return Some(Ending::Interrupted(signo));
            }
        }
        self.signal(signo, None).await;
        None
    }

    pub(super) async fn on_resize(&mut self, cols: u32, rows: u32) -> Option<Ending> {
        let _ = self.writer.window_change(cols, rows, 0, 0).await;
        None
    }

    /// `--timeout`: TERM, then KILL after `--kill-after`, then close.
    /// A refused TERM or KILL closes at once (see [`pending`]).
    pub(super) async fn on_timer(&mut self, config: &ExecConfig) -> Option<Ending> {
        let (_, stage) = self.timer?;
        let (signo, next) = match stage {
            Stage::Term => (libc::SIGTERM, (Instant::now() + config.kill_after, Stage::Kill)),
            Stage::Kill => (libc::SIGKILL, (Instant::now() + CLOSE_GRACE, Stage::Close)),
            Stage::Close => return Some(Ending::TimedOut(config.timeout.unwrap_or_default())),
        };
        self.timer = Some(next);
        self.signal(signo, config.timeout).await;
        None
    }

    /// The final word on how the session ended, and the last messages the
    /// server should get.
    pub(super) async fn settle(mut self, ending: Ending, config: &ExecConfig) -> Ending {
        // Output still on its way here means the reader stalled and the
        // session ended anyway (timeout, second SIGINT): waiting for it
        // could be for ever, so it is dropped.
        let stalled = self.delivery.take().is_some();
        let output_lost = !stalled && self.stdout.finish().await.is_err();
        if !stalled {
            let _ = self.stderr.finish().await;
        }
        let timed_out = !matches!(self.timer, None | Some((_, Stage::Term)));
        let ending = match ending {
            // Output that never reached stdout makes the run a failure
            // however the command ended, as if sesh had died writing it.
            Ending::Exited(_) | Ending::Killed { .. } | Ending::NoStatus if output_lost => Ending::BrokenPipe,
            // Once the timeout fired, however the command then ended, the
            // session timed out.
            Ending::Exited(_) | Ending::Killed { .. } | Ending::NoStatus if timed_out => {
                Ending::TimedOut(config.timeout.unwrap_or_default())
            }
            ending => ending,
        };
        match ending {
            // The command would have died of SIGPIPE at its next write.
            Ending::BrokenPipe => {
                let sig = crate::signals::sig_from_name(&crate::signals::wire_name(libc::SIGPIPE));
                let _ = self.writer.signal(sig).await;
            }
            Ending::Interrupted(_) | Ending::TimedOut(_) | Ending::SignalRefused { .. } => {}
            _ => return ending,
        }
        let _ = self.writer.close().await;
        ending
    }

    /// Sends a signal asking for a reply (`timeout` when `--timeout` sent
    /// it). One that cannot be sent goes unanswered: the connection is
    /// gone, which the reader reports, or the reply deadline ends it.
    async fn signal(&mut self, signo: i32, timeout: Option<Duration>) {
        let sig = crate::signals::sig_from_name(&crate::signals::wire_name(signo));
        self.pending.push(Request::Signal { signo, timeout });
        let _ = self.writer.signal_with_reply(sig).await;
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Stage {
    Term,
    Kill,
    Close,
}
