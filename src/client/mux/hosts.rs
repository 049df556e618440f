//! Fan-out through masters: a host's session has line sinks and a share of
//! the stdin broadcast instead of fds, so it hands the master pipes and
//! bridges them to its sinks. The bridges start only once the master was
//! told to go; before that the session's stdio is untouched and a direct
//! run can still have it.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::passenger::{self, Begun};
use crate::client::ExecConfig;
use crate::client::stdio::{Input, SessionIo, Sink};
use crate::exit::Ending;

/// How long the output pipes have to drain after the master's ending.
const DRAIN_WAIT: Duration = Duration::from_secs(5);

/// One fan-out host's session: through its master when `config.reuse`
/// says so and the master takes it, else direct as always.
pub async fn run_host(
    config: &ExecConfig,
    io: SessionIo,
    mut signals: mpsc::UnboundedReceiver<i32>,
    hang_up: CancellationToken,
) -> Ending {
    let Some(reuse) = config.reuse.clone() else {
        return crate::client::exec::run(config, io, signals, hang_up).await;
    };
    let Ok(pipes) = Pipes::new() else {
        return crate::client::exec::run(config, io, signals, hang_up).await;
    };
    let stdio = [
        pipes.stdin.0.as_fd(),
        pipes.stdout.1.as_fd(),
        pipes.stderr.1.as_fd(),
    ];
    let begin = passenger::begin(config, &reuse, &stdio, super::Prepared::default());
    match crate::client::exec::before_start(begin, &mut signals, &hang_up)
        .await
        .unwrap_or_else(Begun::Ended)
    {
        Begun::Going(stream, pid) => {
            let bridges = pipes.bridge(io);
            let ending = passenger::wait_end(stream, pid, config, &mut signals, Some(&hang_up)).await;
            bridges.finish().await;
            ending
        }
        Begun::Ended(ending) => ending,
        Begun::Direct => crate::client::exec::run(config, io, signals, hang_up).await,
    }
}

/// (read end, write end) of each of the three pipes.
struct Pipes {
    stdin: (OwnedFd, OwnedFd),
    stdout: (OwnedFd, OwnedFd),
    stderr: (OwnedFd, OwnedFd),
}

impl Pipes {
    fn new() -> std::io::Result<Self> {
        let pair = || std::io::pipe().map(|(r, w)| (OwnedFd::from(r), OwnedFd::from(w)));
        Ok(Self {
            stdin: pair()?,
            stdout: pair()?,
            stderr: pair()?,
        })
    }

    /// Keeps this side's ends (the master has its own copies of the
    /// others) and starts copying between them and the session's stdio.
    fn bridge(self, io: SessionIo) -> Bridges {
        let SessionIo {
            stdout,
            stderr,
            input,
        } = io;
        let outputs = [(self.stdout.0, stdout), (self.stderr.0, stderr)]
            .map(|(fd, sink)| tokio::spawn(copy_out(fd, sink)));
        let feeder = tokio::spawn(copy_in(self.stdin.1, input));
        Bridges { outputs, feeder }
    }
}

struct Bridges {
    outputs: [tokio::task::JoinHandle<()>; 2],
    feeder: tokio::task::JoinHandle<()>,
}

impl Bridges {
    /// The master has let go of its ends: the outputs reach EOF.
    async fn finish(self) {
        self.feeder.abort();
        for output in self.outputs {
            let _ = tokio::time::timeout(DRAIN_WAIT, output).await;
        }
    }
}

/// A pipe's bytes into a sink, to EOF; then the sink's last partial line.
async fn copy_out(fd: OwnedFd, mut sink: Sink) {
    let Ok(mut pipe) = pipe::Receiver::from_owned_fd(fd) else {
        return;
    };
    loop {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        match pipe.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        match sink.deliver(buf.freeze()) {
            Ok(None) => {}
            Ok(Some(delivery)) => {
                if delivery.await.is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let _ = sink.finish().await;
}

/// The session's share of stdin into the pipe; EOF when it ends.
async fn copy_in(fd: OwnedFd, mut input: Input) {
    let Ok(mut pipe) = pipe::Sender::from_owned_fd(fd) else {
        return;
    };
    while let Some(chunk) = input.next().await {
        if pipe.write_all(&chunk).await.is_err() {
            return;
        }
    }
}
