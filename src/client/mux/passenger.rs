//! The caller's side: find the master (starting one when allowed), hand it
//! the command and this process's stdio, forward signals, and end as the
//! session ended. Every wait on the master has a deadline, and nothing is
//! retried once the master has been told to go.

use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::time::Duration;

use tokio::net::UnixStream;
use tokio::net::unix::OwnedReadHalf;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::dir::{self, Place};
use super::protocol::{self, Frame, NewSession, ReadError};
use super::{Control, Master, Reuse, fdpass, spawn};
use crate::client::ExecConfig;
use crate::client::exec::pty::{Pty, PtyRequest};
use crate::exit::Ending;

/// How long a master has to say hello: a live one answers in microseconds.
const HELLO_WAIT: Duration = Duration::from_secs(1);
/// Tries through a master before running direct (a master expiring or
/// dying just as we connect costs one).
const ATTEMPTS: usize = 3;
/// After a second Ctrl-C, how long the master has to report the hang-up.
const HANG_UP_WAIT: Duration = Duration::from_secs(3);

/// What one try came to.
pub(super) enum Step {
    /// The master runs the command: wait for its end on this socket.
    Going(UnixStream, u32),
    Ended(Ending),
    /// Run direct; with the warning to print, if any.
    Direct(Option<String>),
    /// Nothing ran: try again.
    Retry(String),
}

/// How far handing a session to a master got.
pub(super) enum Begun {
    Going(UnixStream, u32),
    Ended(Ending),
    /// Nothing ran: run direct (any warning is printed).
    Direct,
}

/// See [`super::run`].
pub async fn run(
    config: &ExecConfig,
    reuse: &Reuse,
    signals: &mut mpsc::UnboundedReceiver<i32>,
    prepared: super::Prepared,
) -> Option<Ending> {
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let stdio = [stdin.as_fd(), stdout.as_fd(), stderr.as_fd()];
    // Until the master was told to go, a signal means nothing runs.
    let never = CancellationToken::new();
    let begun = crate::client::exec::before_start(begin(config, reuse, &stdio, prepared), signals, &never);
    match begun.await.unwrap_or_else(Begun::Ended) {
        Begun::Going(stream, pid) => Some(wait_end(stream, pid, config, signals, None).await),
        Begun::Ended(ending) => Some(ending),
        Begun::Direct => None,
    }
}

/// Finds or starts the master and hands it the command with `stdio`,
/// retrying only while nothing can have run. Dropped before it returns,
/// it leaves nothing started: `go` is its last write. What [`super::prepare`] did
/// (if anything) stands for the first attempt's start.
pub(super) async fn begin(
    config: &ExecConfig,
    reuse: &Reuse,
    stdio: &[BorrowedFd<'_>; 3],
    prepared: super::Prepared,
) -> Begun {
    let place = match dir::place(&config.destination, reuse) {
        Ok(Some(place)) => place,
        Ok(None) => return Begun::Direct,
        Err(why) => return direct(Some(why)),
    };
    let mut last = String::new();
    let mut started = prepared.settle(&place).await;
    for _ in 0..ATTEMPTS {
        let step = match started.take() {
            Some(Err(step)) => step,
            Some(Ok(())) | None => attempt(config, reuse, &place, stdio).await,
        };
        match step {
            Step::Going(stream, pid) => return Begun::Going(stream, pid),
            Step::Ended(ending) => return Begun::Ended(ending),
            Step::Direct(why) => return direct(why),
            Step::Retry(why) => {
                tracing::debug!("mux: {why}; trying again");
                last = why;
            }
        }
    }
    direct(Some(last))
}

fn direct(why: Option<String>) -> Begun {
    if let Some(why) = why {
        crate::say!("sesh: {why}; running without the mux master");
    }
    Begun::Direct
}

async fn attempt(config: &ExecConfig, reuse: &Reuse, place: &Place, stdio: &[BorrowedFd<'_>; 3]) -> Step {
    let dialed = match dial(place).await {
        Dialed::Absent if reuse.master != Master::No => match spawn::ensure(config, reuse, place).await {
            Ok(()) => dial(place).await,
            Err(step) => return step,
        },
        dialed => dialed,
    };
    match dialed {
        Dialed::Ready(stream, pid) => session(stream, pid, config, stdio).await,
        Dialed::Absent => Step::Direct(None),
        Dialed::Unusable(step) => step,
    }
}

pub(super) enum Dialed {
    /// A sesh master of our version said hello.
    Ready(UnixStream, u32),
    /// No master (no socket, or a stale one nobody listens on).
    Absent,
    Unusable(Step),
}

/// Connects to the socket and reads the master's hello, within
/// [`HELLO_WAIT`].
pub(super) async fn dial(place: &Place) -> Dialed {
    let shown = place.socket.display();
    match std::fs::symlink_metadata(&place.socket) {
        Err(_) => return Dialed::Absent,
        Ok(meta) if !meta.file_type().is_socket() || meta.uid() != nix::unistd::geteuid().as_raw() => {
            let why = format!("{shown} is not a socket of ours");
            return Dialed::Unusable(Step::Direct(Some(why)));
        }
        Ok(_) => {}
    }
    let mut stream = match UnixStream::connect(&place.socket).await {
        Ok(stream) => stream,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
            ) =>
        {
            return Dialed::Absent;
        }
        Err(e) => return Dialed::Unusable(Step::Direct(Some(format!("mux socket {shown}: {e}")))),
    };
    let hello = match tokio::time::timeout(HELLO_WAIT, protocol::read(&mut stream)).await {
        Err(_) => {
            return Dialed::Unusable(Step::Direct(Some(format!(
                "mux master at {shown} is not answering"
            ))));
        }
        Ok(hello) => hello,
    };
    let step = match hello {
        Ok(Frame::Hello { proto, v, pid }) if proto == protocol::PROTO && v == protocol::VERSION => {
            return Dialed::Ready(stream, pid);
        }
        Ok(Frame::Hello { proto, v, .. }) => Step::Direct(Some(format!(
            "mux master at {shown} speaks {proto} version {v}, this sesh version {}",
            protocol::VERSION
        ))),
        Ok(other) => Step::Direct(Some(format!("mux master at {shown} sent {other:?} first"))),
        Err(ReadError::Closed) => Step::Retry(format!("mux master at {shown} closed the socket")),
        Err(ReadError::OpenSsh) => {
            // Decided: sesh never speaks to OpenSSH's masters (README).
            tracing::info!("{shown} is an OpenSSH mux master; sesh does not use it");
            Step::Direct(None)
        }
        Err(e) => Step::Direct(Some(format!("mux socket {shown}: {e}"))),
    };
    Dialed::Unusable(step)
}

/// Hands the session to the master; `Going` once it was told to go.
async fn session(mut stream: UnixStream, pid: u32, config: &ExecConfig, stdio: &[BorrowedFd<'_>; 3]) -> Step {
    let request = Frame::New(Box::new(NewSession {
        command: config.command.clone(),
        stdin: config.stdin,
        env: config.env.clone(),
        timeout: config.timeout,
        kill_after: config.kill_after,
        verbose: config.verbose,
        pty: config.pty.then(PtyRequest::local),
    }));
    if let Err(e) = send_request(&mut stream, &request, stdio).await {
        return Step::Retry(format!("could not reach mux master pid {pid}: {e}"));
    }
    let open_wait = config.destination.connect_timeout + Duration::from_secs(5);
    match tokio::time::timeout(open_wait, protocol::read(&mut stream)).await {
        Ok(Ok(Frame::Opened)) => {}
        Ok(Ok(Frame::Error {
            msg,
            retry_safe: true,
        })) => return Step::Direct(Some(msg)),
        Ok(Ok(Frame::Error { msg, .. })) => return Step::Ended(Ending::Failed(msg)),
        Ok(Ok(other)) => return Step::Direct(Some(format!("mux master pid {pid} sent {other:?}"))),
        Ok(Err(e)) => return Step::Retry(format!("mux master pid {pid}: {e}")),
        // Dropping the socket tells the master: it never runs the command.
        Err(_) => return Step::Direct(Some(format!("mux master pid {pid} opened no channel in time"))),
    }
    if protocol::write(&mut stream, &Frame::Go).await.is_err() {
        // Unread by a master that is gone: nothing ran.
        return Step::Retry(format!("mux master pid {pid} went away"));
    }
    Step::Going(stream, pid)
}

async fn send_request(
    stream: &mut UnixStream,
    request: &Frame,
    stdio: &[BorrowedFd<'_>; 3],
) -> std::io::Result<()> {
    protocol::write(stream, &Frame::hello()).await?;
    protocol::write(stream, request).await?;
    fdpass::send(stream, stdio).await
}

/// Forwards signals (and with `-t` the terminal's sizes, its raw mode held
/// here) until the master reports the ending. A master that dies now
/// leaves the command's fate unknown: it is never run again.
/// `hang_up` (fan-out's --fail-fast, its second SIGINT) ends the session
/// by closing the socket, which the master takes as the caller's hang-up.
pub(super) async fn wait_end(
    stream: UnixStream,
    pid: u32,
    config: &ExecConfig,
    signals: &mut mpsc::UnboundedReceiver<i32>,
    hang_up: Option<&CancellationToken>,
) -> Ending {
    let (reader, mut writer) = stream.into_split();
    let mut frames = read_frames(reader);
    let mut pty = config.pty.then(Pty::local);
    // Restored when this returns, whatever the ending.
    let _raw = match pty.as_ref().map(Pty::raw_mode) {
        Some(Err(why)) => {
            crate::say!("sesh: {why}");
            None
        }
        Some(Ok(raw)) => raw,
        None => None,
    };
    let mut interrupts = 0;
    let mut hang_up_by = None;
    // If a wedged master misses --timeout, the passenger still ends.
    let backstop = config.timeout.map(|after| {
        (
            Instant::now() + after + config.kill_after + Duration::from_secs(10),
            after,
        )
    });
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Some(Frame::Ended { ending }) => return ending,
                Some(other) => tracing::debug!("mux master sent {other:?}"),
                None => return Ending::Failed(format!(
                    "mux master pid {pid} died; the remote command may still be running"
                )),
            },
            Some(n) = signals.recv() => {
                let _ = protocol::write(&mut writer, &Frame::Signal { n }).await;
                if n == libc::SIGINT {
                    interrupts += 1;
                    if interrupts == 2 {
                        hang_up_by = Some(Instant::now() + HANG_UP_WAIT);
                    }
                }
            }
            (cols, rows) = crate::client::exec::pty::next_size(&mut pty) => {
                let _ = protocol::write(&mut writer, &Frame::Resize { cols, rows }).await;
            }
            _ = sleep_until(hang_up_by) => return Ending::Interrupted(libc::SIGINT),
            _ = cancelled(hang_up) => return Ending::Interrupted(libc::SIGINT),
            _ = sleep_until(backstop.map(|(at, _)| at)) => {
                return Ending::TimedOut(backstop.map(|(_, after)| after).unwrap_or_default());
            }
        }
    }
}

/// Frames from the master, read by their own task (a frame read is not
/// cancel-safe); the channel closes when the socket does.
fn read_frames(mut reader: OwnedReadHalf) -> mpsc::Receiver<Frame> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        while let Ok(frame) = protocol::read(&mut reader).await {
            if tx.send(frame).await.is_err() {
                return;
            }
        }
    });
    rx
}

async fn cancelled(token: Option<&CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// `sesh exec -O check|stop|exit TARGET`: 0 when a master answered, 255
/// (with ssh's words) when none did.
pub async fn control(op: Control, config: &ExecConfig, reuse: &Reuse) -> u8 {
    let place = match dir::place(&config.destination, reuse) {
        Ok(Some(place)) => place,
        Ok(None) => {
            crate::say!("sesh: no mux socket: the control path is none");
            return 255;
        }
        Err(why) => {
            crate::say!("sesh: {why}");
            return 255;
        }
    };
    let shown = place.socket.display();
    let Dialed::Ready(mut stream, pid) = dial(&place).await else {
        crate::say!("sesh: no mux master for {} at {shown}", config.destination.label);
        return 255;
    };
    let request = match op {
        Control::Check => Frame::Check,
        Control::Stop => Frame::Stop,
        Control::Exit => Frame::Exit,
    };
    let exchange = async {
        protocol::write(&mut stream, &Frame::hello()).await.ok()?;
        protocol::write(&mut stream, &request).await.ok()?;
        protocol::read(&mut stream).await.ok()
    };
    match (op, tokio::time::timeout(HELLO_WAIT, exchange).await) {
        (Control::Check, Ok(Some(Frame::Alive { pid, .. }))) => crate::say!("Master running (pid={pid})"),
        (Control::Stop, Ok(Some(Frame::Done))) => crate::say!("Stop listening request sent."),
        (Control::Exit, Ok(Some(Frame::Done))) => crate::say!("Exit request sent."),
        _ => {
            crate::say!("sesh: mux master pid {pid} at {shown} did not answer");
            return 255;
        }
    }
    0
}
