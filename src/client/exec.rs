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
//! always stops when told to. What each event does is [`bridge`]'s; the
//! pty (`-t`) is [`pty`]'s.

mod bridge;
mod pending;
pub mod pty;

use std::sync::Arc;

use russh::client::Msg;
use russh::{ChannelMsg, ChannelWriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::stdio::{Input, SessionIo};
use super::{ExecConfig, terminal};
use crate::exit::Ending;
use bridge::Bridge;
use pending::{Pending, Request};
use pty::{Pty, PtyRequest};
use tokio_util::sync::CancellationToken;

/// Runs the configured command with `io`; `signals` carries forwarded
/// local signals, and `hang_up` ends the session early (fan-out's
/// `--fail-fast`, a second SIGINT).
pub async fn run(
    config: &ExecConfig,
    io: SessionIo,
    mut signals: mpsc::UnboundedReceiver<i32>,
    hang_up: CancellationToken,
) -> Ending {
    let connection = match before_start(super::connect(&config.destination), &mut signals, &hang_up).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(why)) => return Ending::Failed(why.to_string()),
        Err(ending) => return ending,
    };
    let pty = config.pty.then(Pty::local);
    let opened = before_start(connection.channel_open_session(), &mut signals, &hang_up).await;
    let ending = match opened {
        Ok(Ok(channel)) => run_on(channel, config, io, signals, hang_up, pty).await,
        Ok(Err(e)) => Ending::Failed(format!("could not start the remote command: {e}")),
        Err(ending) => ending,
    };
    let ending = connection.blame_route(ending).await;
    let _ = connection
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
    ending
}

/// Runs `work` (connecting, opening a channel, handing the command to a
/// mux master) unless a forwarded signal or the hang-up comes first. A
/// signal then means the command is never started ([`Ending::NotStarted`]),
/// so `work` must leave nothing started when it is dropped. An interrupt
/// typed at a passphrase prompt inside `work` counts as such a signal.
pub async fn before_start<T>(
    work: impl Future<Output = T>,
    signals: &mut mpsc::UnboundedReceiver<i32>,
    hang_up: &CancellationToken,
) -> Result<T, Ending> {
    tokio::select! {
        biased;
        done = work => match terminal::interrupted() {
            Some(signo) => Err(Ending::NotStarted(signo)),
            None => Ok(done),
        },
        Some(signo) = signals.recv() => Err(Ending::NotStarted(signo)),
        _ = hang_up.cancelled() => Err(Ending::Interrupted(libc::SIGINT)),
    }
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
        let mut bridge = Bridge::new(writer, pending, (stdout, stderr), config.timeout);
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
