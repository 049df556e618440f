//! One remote command: open a session channel, ask for env and a pty, run
//! the command, and bridge local stdio until the server closes the channel.
//!
//! Local stdin is pumped by its own task while this task reads the channel
//! (RUSSH.md 2.3: one loop doing both deadlocks against sshd when the
//! command ignores its stdin). The reader keeps going past EOF and the exit
//! report, until CLOSE: servers may send data after exit-status.

use std::sync::Arc;
use std::time::Duration;

use russh::client::Msg;
use russh::{ChannelMsg, ChannelWriteHalf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{ExecConfig, terminal};
use crate::exit::Ending;

/// How long the server has to close after KILL before sesh closes itself.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Runs the configured command; `signals` carries forwarded local signals.
pub async fn run(config: &ExecConfig, signals: mpsc::UnboundedReceiver<i32>) -> Ending {
    let connection = match super::connect(config).await {
        Ok(connection) => connection,
        Err(why) => return Ending::Failed(why),
    };
    let ending = match Session::start(config, &connection).await {
        Ok(session) => session.run(config, signals).await,
        Err(why) => Ending::Failed(why),
    };
    let _ = connection
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
    ending
}

/// A running remote command.
struct Session {
    reader: russh::ChannelReadHalf,
    writer: Arc<ChannelWriteHalf<Msg>>,
    /// Requests whose replies are still due, oldest first.
    pending_replies: Vec<&'static str>,
    raw_mode: Option<terminal::RawMode>,
}

impl Session {
    async fn start(config: &ExecConfig, connection: &super::Connection) -> Result<Self, String> {
        let failed = |e: russh::Error| format!("could not start the remote command: {e}");
        let channel = connection.channel_open_session().await.map_err(failed)?;
        for (name, value) in &config.env {
            channel
                .set_env(false, name.as_str(), value.as_str())
                .await
                .map_err(failed)?;
        }
        let mut pending_replies = Vec::new();
        let mut raw_mode = None;
        if config.pty {
            let term = std::env::var("TERM").unwrap_or_else(|_| "xterm".to_string());
            let (cols, rows) = terminal::size().unwrap_or((80, 24));
            channel
                .request_pty(true, &term, cols, rows, 0, 0, &[])
                .await
                .map_err(failed)?;
            pending_replies.push("pty");
            if terminal::stdin_is_terminal() {
                raw_mode =
                    Some(terminal::RawMode::enable().map_err(|e| format!("could not set raw mode: {e}"))?);
            }
        }
        channel.exec(true, config.command.clone()).await.map_err(failed)?;
        pending_replies.push("exec");
        let (reader, writer) = channel.split();
        Ok(Self {
            reader,
            writer: Arc::new(writer),
            pending_replies,
            raw_mode,
        })
    }

    async fn run(mut self, config: &ExecConfig, mut signals: mpsc::UnboundedReceiver<i32>) -> Ending {
        let pump = tokio::spawn(pump_stdin(self.writer.clone(), config.stdin));
        let mut winch = if config.pty {
            crate::os_signals::window_changes().ok()
        } else {
            None
        };
        let mut stdout = tokio::io::stdout();
        let mut stderr = tokio::io::stderr();
        let mut report: Option<Ending> = None;
        let mut interrupts = 0;
        let mut timer = config.timeout.map(|after| (Instant::now() + after, Stage::Term));
        let ending = loop {
            tokio::select! {
                message = self.reader.wait() => match message {
                    Some(ChannelMsg::Data { data }) => {
                        if stdout.write_all(&data).await.and(stdout.flush().await).is_err() {
                            break Ending::BrokenPipe;
                        }
                    }
                    Some(ChannelMsg::ExtendedData { data, .. }) => {
                        let _ = stderr.write_all(&data).await;
                        let _ = stderr.flush().await;
                    }
                    Some(ChannelMsg::ExitStatus { exit_status }) => report = Some(Ending::Exited(exit_status)),
                    Some(ChannelMsg::ExitSignal { signal_name, core_dumped, error_message, .. }) => {
                        report = Some(Ending::Killed {
                            name: crate::signals::sig_name(&signal_name),
                            core_dumped,
                            message: error_message,
                        });
                    }
                    Some(ChannelMsg::Success) => { self.pending_replies.drain(..1.min(self.pending_replies.len())); }
                    Some(ChannelMsg::Failure) => {
                        if let Some(ending) = self.refused() {
                            break ending;
                        }
                    }
                    Some(ChannelMsg::Close) | None => break report.take().unwrap_or(Ending::NoStatus),
                    Some(other) => tracing::debug!("channel message {other:?}"),
                },
                Some(signo) = signals.recv() => {
                    if signo == libc::SIGINT {
                        interrupts += 1;
                        if interrupts > 1 {
                            break Ending::Interrupted;
                        }
                    }
                    self.signal(signo).await;
                }
                Some(()) = next_winch(&mut winch) => {
                    if let Some((cols, rows)) = terminal::size() {
                        let _ = self.writer.window_change(cols, rows, 0, 0).await;
                    }
                }
                _ = sleep_until(timer.map(|(at, _)| at)), if timer.is_some() => {
                    let (_, stage) = timer.expect("guarded by is_some");
                    timer = match stage {
                        Stage::Term => {
                            self.signal(libc::SIGTERM).await;
                            Some((Instant::now() + config.kill_after, Stage::Kill))
                        }
                        Stage::Kill => {
                            self.signal(libc::SIGKILL).await;
                            Some((Instant::now() + CLOSE_GRACE, Stage::Close))
                        }
                        Stage::Close => break Ending::TimedOut(config.timeout.unwrap_or_default()),
                    };
                }
            }
        };
        tracing::debug!(?ending, "channel done");
        pump.abort();
        if let Some(raw) = &self.raw_mode {
            raw.restore();
        }
        let timed_out = !matches!(timer, None | Some((_, Stage::Term)));
        let ending = match ending {
            // Once the timeout fired, however the command then ended, the
            // session timed out.
            Ending::Exited(_) | Ending::Killed { .. } | Ending::NoStatus if timed_out => {
                Ending::TimedOut(config.timeout.unwrap_or_default())
            }
            ending => ending,
        };
        match ending {
            // The command would have died of SIGPIPE at its next write.
            Ending::BrokenPipe => self.signal(libc::SIGPIPE).await,
            Ending::Interrupted | Ending::TimedOut(_) => {}
            _ => return ending,
        }
        let _ = self.writer.close().await;
        ending
    }

    /// A request was refused: a pty is only a warning, the command is fatal.
    fn refused(&mut self) -> Option<Ending> {
        if self.pending_replies.is_empty() {
            return None;
        }
        match self.pending_replies.remove(0) {
            "pty" => {
                eprintln!("sesh: the server refused a pty; running without one");
                None
            }
            _ => Some(Ending::Failed(
                "the server refused to run the command".to_string(),
            )),
        }
    }

    async fn signal(&self, signo: i32) {
        let name = crate::signals::wire_name(signo);
        let _ = self.writer.signal(crate::signals::sig_from_name(&name)).await;
    }
}

#[derive(Debug, Clone, Copy)]
enum Stage {
    Term,
    Kill,
    Close,
}

/// Copies local stdin to the channel, then sends EOF (at once with `-n`).
async fn pump_stdin(writer: Arc<ChannelWriteHalf<Msg>>, enabled: bool) {
    if enabled {
        let mut stdin = tokio::io::stdin();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match stdin.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if writer.data_bytes(buf[..n].to_vec()).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
    let _ = writer.eof().await;
}

async fn next_winch(winch: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match winch {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
