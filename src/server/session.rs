//! One session channel, from open to close: this task owns the channel, the
//! command and the order in which the client hears about them.
//!
//! The order is always: data and extended data; EOF once both output
//! streams have ended and all they gave was queued; `exit-status` or
//! `exit-signal`; CLOSE once the command has been reaped. When the client
//! closes the channel or the connection ends first, the command's process
//! group gets SIGHUP, then SIGKILL after a grace period (a builtin job is
//! cancelled instead), and nothing more is sent. The command is a
//! [`Job`]: a process or a builtin service, run alike.

mod state;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use russh::server::{Handle, Msg};
use russh::{Channel, ChannelId, ChannelWriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::input_queue::InputQueue;
use super::job::{Ending, Job, JobIo};
use super::output::{self, Stream};
use super::pty::WindowSize;
use super::stdin::{self, StdinSink};
use state::State;

/// What the connection's handler tells a session, in the order the client
/// asked for it. The handler has already answered the client.
pub enum Control {
    /// The job is running; `what` describes it for the log.
    Started { job: Box<Job>, what: String },
    /// Send this signal to the command's process group.
    Signal(i32),
    /// Resize the pty.
    Resize(WindowSize),
}

/// What a session needs from its connection.
pub struct SessionContext {
    pub handle: Handle,
    /// For the session's log lines.
    pub peer: std::net::SocketAddr,
    pub user: String,
    /// Cancelled when the server stops: hang up, report, close.
    pub shutdown: CancellationToken,
    /// Time between SIGHUP and SIGKILL.
    pub hangup_grace: Duration,
}

/// Runs one session channel to its end.
pub async fn run(channel: Channel<Msg>, mut control: mpsc::UnboundedReceiver<Control>, ctx: SessionContext) {
    let id = channel.id();
    let (read_half, write_half) = channel.split();
    let write_half = Arc::new(write_half);
    let gone = CancellationToken::new();
    let counters = Counters::default();
    let input = InputQueue::new();
    let reader = tokio::spawn(stdin::read_channel(
        read_half,
        input.clone(),
        gone.clone(),
        counters.bytes_in.clone(),
    ));

    let started = tokio::select! {
        started = wait_for_start(&mut control) => started,
        _ = gone.cancelled() => None,
        _ = ctx.shutdown.cancelled() => {
            let _ = write_half.close().await;
            None
        }
    };
    if let Some((job, what)) = started {
        let span = tracing::info_span!("session", peer = %ctx.peer, user = %ctx.user, channel = %id, command = %what);
        let begun = Instant::now();
        tracing::info!(parent: &span, "session started");
        let mut supervisor = Supervisor {
            ctx: &ctx,
            control: &mut control,
            gone: &gone,
            counters: &counters,
        };
        let outcome = supervisor
            .supervise(id, job, input.clone(), write_half.clone())
            .instrument(span.clone())
            .await;
        if !outcome.hung_up {
            if !outcome.reported {
                report(id, &ctx.handle, &write_half, outcome.ending).await;
            }
            let _ = write_half.close().await;
        }
        tracing::info!(
            parent: &span,
            ending = %outcome.ending.map_or_else(|| "unknown".to_string(), |e| e.to_string()),
            hung_up = outcome.hung_up,
            bytes_in = counters.bytes_in.load(Ordering::Relaxed),
            bytes_out = counters.bytes_out.load(Ordering::Relaxed),
            duration_ms = begun.elapsed().as_millis() as u64,
            "session ended"
        );
    }
    // After a server-side CLOSE russh never delivers the client's reply to
    // the channel, so the reader would wait for the connection's end.
    reader.abort();
    input.discard();
}

async fn wait_for_start(control: &mut mpsc::UnboundedReceiver<Control>) -> Option<(Box<Job>, String)> {
    while let Some(message) = control.recv().await {
        // Signals and resizes before the start were refused by the handler.
        if let Control::Started { job, what } = message {
            return Some((job, what));
        }
    }
    None
}

/// Sends how the command ended (CLOSE is the caller's).
async fn report(id: ChannelId, handle: &Handle, channel: &ChannelWriteHalf<Msg>, ending: Option<Ending>) {
    match ending {
        Some(Ending::Exited(code)) => {
            let _ = channel.exit_status(code).await;
        }
        Some(Ending::Killed { signo, core_dumped }) => {
            let sig = crate::signals::sig_from_name(&crate::signals::wire_name(signo));
            let _ = handle
                .exit_signal_request(id, sig, core_dumped, String::new(), String::new())
                .await;
        }
        None => {}
    }
}

#[derive(Default)]
struct Counters {
    bytes_in: Arc<AtomicU64>,
    bytes_out: Arc<AtomicU64>,
}

struct Outcome {
    ending: Option<Ending>,
    /// The client went away: nothing more may be sent.
    hung_up: bool,
    /// The exit report went out with the EOF.
    reported: bool,
}

struct Supervisor<'a> {
    ctx: &'a SessionContext,
    control: &'a mut mpsc::UnboundedReceiver<Control>,
    gone: &'a CancellationToken,
    counters: &'a Counters,
}

impl Supervisor<'_> {
    /// Runs the command's streams and waits until it has exited and its
    /// output has ended (or been abandoned after a hang-up). Sends EOF when
    /// the output ends, if the client is still there.
    async fn supervise(
        &mut self,
        id: ChannelId,
        job: Box<Job>,
        input: InputQueue,
        channel: Arc<ChannelWriteHalf<Msg>>,
    ) -> Outcome {
        let Job { io, mut wait, stop } = *job;
        let (exited_tx, exited_rx) = watch::channel(false);
        let (stdin_task, mut outputs, pty) = self.start_streams(io, input, channel.clone(), exited_rx);
        let mut state = State::new(stop, self.ctx.hangup_grace, pty);
        while !state.done() {
            tokio::select! {
                waited = &mut wait, if state.status.is_none() => {
                    let eof_now = state.exited(waited);
                    let _ = exited_tx.send(true);
                    if eof_now {
                        self.eof_and_report(id, &channel, state.status).await;
                        state.reported = true;
                    }
                }
                _ = &mut outputs, if !state.outputs_done => {
                    state.outputs_done = true;
                    tracing::debug!("output ended");
                    if state.eof_due() {
                        self.eof_and_report(id, &channel, state.status).await;
                        state.reported = true;
                    }
                }
                _ = sleep_until(state.eof_at), if state.eof_at.is_some() => {
                    state.eof_at = None;
                    let _ = channel.eof().await;
                }
                message = self.control.recv(), if state.control_open => state.control(message),
                _ = self.gone.cancelled(), if !state.hung_up => {
                    outputs.abort();
                    state.client_gone();
                }
                _ = self.ctx.shutdown.cancelled(), if !state.stopping => state.server_stopping(),
                _ = sleep_until(state.kill_at), if state.kill_at.is_some() => state.kill_due(),
            }
        }
        stdin_task.abort();
        Outcome {
            ending: state.status,
            hung_up: state.hung_up,
            reported: state.reported,
        }
    }

    /// EOF and the exit report back to back, nothing between them: a
    /// client may close the channel as soon as it has our EOF.
    async fn eof_and_report(&self, id: ChannelId, channel: &ChannelWriteHalf<Msg>, ending: Option<Ending>) {
        let _ = channel.eof().await;
        report(id, &self.ctx.handle, channel, ending).await;
    }

    fn start_streams(
        &self,
        io: JobIo,
        input: InputQueue,
        channel: Arc<ChannelWriteHalf<Msg>>,
        exited: watch::Receiver<bool>,
    ) -> (JoinHandle<()>, JoinHandle<()>, Option<Arc<super::pty::PtyMaster>>) {
        let bytes_out = self.counters.bytes_out.clone();
        match io {
            JobIo::Pipes {
                stdin,
                stdout,
                stderr,
            } => {
                let stdin_task = tokio::spawn(stdin::write_stdin(input, StdinSink::Pipe(stdin)));
                let outputs = tokio::spawn(async move {
                    tokio::join!(
                        output::pump_pipe(stdout, channel.clone(), Stream::Stdout, bytes_out.clone()),
                        output::pump_pipe(stderr, channel, Stream::Stderr, bytes_out),
                    );
                });
                (stdin_task, outputs, None)
            }
            JobIo::Pty(master) => {
                let stdin_task = tokio::spawn(stdin::write_stdin(input, StdinSink::Pty(master.clone())));
                let outputs = tokio::spawn(output::pump_pty(master.clone(), channel, exited, bytes_out));
                (stdin_task, outputs, Some(master))
            }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
