//! One remote command: open a session channel, ask for env and a pty, run
//! the command, and bridge local stdio until the server closes the channel.
//!
//! Local stdin is pumped by its own task while this task reads the channel
//! (RUSSH.md 2.3: one loop doing both deadlocks against sshd when the
//! command ignores its stdin). The reader keeps going past EOF and the exit
//! report, until CLOSE: servers may send data after exit-status.
//!
//! Forwarded signals ask for a reply ([`pending`]): a server that refuses
//! a signal asking the command to stop gets its session closed, so sesh
//! always stops when told to.

mod pending;
pub mod pty;

use std::sync::Arc;
use std::time::Duration;

use russh::client::Msg;
use russh::{ChannelMsg, ChannelWriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::stdio::{Delivery, Input, SessionIo, Sink, Stream};
use super::{ExecConfig, terminal};
use crate::exit::Ending;
use pending::{Pending, Request};
use pty::{Pty, PtyRequest};
use tokio_util::sync::CancellationToken;

/// How long the server has to close after KILL before sesh closes itself.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Runs the configured command with `io`; `signals` carries forwarded
/// local signals, and `hang_up` ends the session early (fan-out's
/// `--fail-fast`, a second SIGINT).
pub async fn run(
    config: &ExecConfig,
    io: SessionIo,
    signals: mpsc::UnboundedReceiver<i32>,
    hang_up: CancellationToken,
) -> Ending {
    let connection = tokio::select! {
        connected = super::connect(&config.destination) => match connected {
            Ok(connection) => connection,
            Err(why) => return Ending::Failed(why.to_string()),
        },
        _ = hang_up.cancelled() => return Ending::Interrupted(libc::SIGINT),
    };
    let pty = config.pty.then(Pty::local);
    let ending = match connection.channel_open_session().await {
        Ok(channel) => run_on(channel, config, io, signals, hang_up, pty).await,
        Err(e) => Ending::Failed(format!("could not start the remote command: {e}")),
    };
    let ending = connection.blame_route(ending).await;
    let _ = connection
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
    ending
}

/// Runs the configured command on `channel`, a session channel already
/// open, in `pty` when there is one: the part of [`run`] a mux master
/// shares between its passengers.
pub async fn run_on(
    channel: russh::Channel<Msg>,
    config: &ExecConfig,
    io: SessionIo,
    signals: mpsc::UnboundedReceiver<i32>,
    hang_up: CancellationToken,
    pty: Option<Pty>,
) -> Ending {
    match Session::start(config, channel, pty.as_ref()).await {
        Ok(session) => session.run(config, io, signals, hang_up, pty).await,
        Err(why) => Ending::Failed(why),
    }
}

/// A running remote command.
struct Session {
    reader: russh::ChannelReadHalf,
    writer: Arc<ChannelWriteHalf<Msg>>,
    /// Requests whose replies are still due, oldest first.
    pending: Pending,
    raw_mode: Option<terminal::RawMode>,
}

impl Session {
    async fn start(
        config: &ExecConfig,
        channel: russh::Channel<Msg>,
        pty: Option<&Pty>,
    ) -> Result<Self, String> {
        let failed = |e: russh::Error| format!("could not start the remote command: {e}");
        for (name, value) in &config.env {
            channel
                .set_env(false, name.as_str(), value.as_str())
                .await
                .map_err(failed)?;
        }
        let mut pending = Pending::default();
        let mut raw_mode = None;
        if let Some(pty) = pty {
            let PtyRequest { term, cols, rows } = &pty.request;
            channel
                .request_pty(true, term, *cols, *rows, 0, 0, &[])
                .await
                .map_err(failed)?;
            pending.push(Request::Pty);
            raw_mode = pty.raw_mode()?;
        }
        channel.exec(true, config.command.clone()).await.map_err(failed)?;
        pending.push(Request::Exec);
        let (reader, writer) = channel.split();
        Ok(Self {
            reader,
            writer: Arc::new(writer),
            pending,
            raw_mode,
        })
    }

    /// Bridges stdio and local events until the channel closes or the
    /// session must end, then settles how it ended.
    async fn run(
        self,
        config: &ExecConfig,
        io: SessionIo,
        mut signals: mpsc::UnboundedReceiver<i32>,
        hang_up: CancellationToken,
        mut pty: Option<Pty>,
    ) -> Ending {
        let SessionIo {
            stdout,
            stderr,
            input,
        } = io;
        let Session {
            mut reader,
            writer,
            pending,
            raw_mode,
        } = self;
        let pump = tokio::spawn(pump_stdin(writer.clone(), input));
        let mut bridge = Bridge {
            writer,
            pending,
            stdout,
            stderr,
            delivery: None,
            report: None,
            stop_requests: 0,
            timer: config.timeout.map(|after| (Instant::now() + after, Stage::Term)),
        };
        let ending = loop {
            let step = tokio::select! {
                // Read on only once the last output is delivered: that is
                // the backpressure on the server.
                message = reader.wait(), if bridge.delivery.is_none() => match message {
                    Some(ChannelMsg::Success) => { bridge.pending.succeeded(); None }
                    Some(ChannelMsg::Failure) => bridge.on_refusal(false),
                    message => bridge.on_message(message),
                },
                delivered = Bridge::delivered(&mut bridge.delivery), if bridge.delivery.is_some() => delivered,
                Some(signo) = signals.recv() => bridge.on_signal(signo).await,
                _ = hang_up.cancelled() => Some(Ending::Interrupted(libc::SIGINT)),
                (cols, rows) = pty::next_size(&mut pty) => bridge.on_resize(cols, rows).await,
                _ = sleep_until(bridge.timer.map(|(at, _)| at)), if bridge.timer.is_some() => {
                    bridge.on_timer(config).await
                }
                _ = sleep_until(bridge.pending.deadline()), if bridge.pending.deadline().is_some() => {
                    bridge.on_refusal(true)
                }
            };
            if let Some(ending) = step {
                break ending;
            }
        };
        tracing::debug!(?ending, "channel done");
        pump.abort();
        if let Some(raw) = &raw_mode {
            raw.restore();
        }
        bridge.settle(ending, config).await
    }
}

/// What the event loop of a running command keeps between events. Each
/// `on_*` returns `Some` when the session has ended.
struct Bridge {
    writer: Arc<ChannelWriteHalf<Msg>>,
    /// Requests whose replies are still due, oldest first.
    pending: Pending,
    stdout: Sink,
    stderr: Sink,
    /// Output on its way to stdout or stderr, and which one.
    delivery: Option<(Stream, Delivery)>,
    /// The server's exit-status or exit-signal, kept until CLOSE.
    report: Option<Ending>,
    /// Local SIGINTs and SIGTERMs so far: the second hangs up.
    stop_requests: u32,
    /// The next `--timeout` step and when it is due.
    timer: Option<(Instant, Stage)>,
}

impl Bridge {
    fn on_message(&mut self, message: Option<ChannelMsg>) -> Option<Ending> {
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
    async fn delivered(pending: &mut Option<(Stream, Delivery)>) -> Option<Ending> {
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
    fn on_refusal(&mut self, overdue: bool) -> Option<Ending> {
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
    async fn on_signal(&mut self, signo: i32) -> Option<Ending> {
        if crate::os_signals::hangs_up_when_repeated(signo) {
            self.stop_requests += 1;
            if self.stop_requests > 1 {
                return Some(Ending::Interrupted(signo));
            }
        }
        self.signal(signo, None).await;
        None
    }

    async fn on_resize(&mut self, cols: u32, rows: u32) -> Option<Ending> {
        let _ = self.writer.window_change(cols, rows, 0, 0).await;
        None
    }

    /// `--timeout`: TERM, then KILL after `--kill-after`, then close.
    /// A refused TERM or KILL closes at once (see [`pending`]).
    async fn on_timer(&mut self, config: &ExecConfig) -> Option<Ending> {
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
    async fn settle(mut self, ending: Ending, config: &ExecConfig) -> Ending {
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
enum Stage {
    Term,
    Kill,
    Close,
}

/// Copies the session's input to the channel, then sends EOF.
async fn pump_stdin(writer: Arc<ChannelWriteHalf<Msg>>, mut input: Input) {
    while let Some(chunk) = input.next().await {
        if writer.data_bytes(chunk).await.is_err() {
            return;
        }
    }
    let _ = writer.eof().await;
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
