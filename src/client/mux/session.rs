//! One control connection inside the master: hello, one request, and for
//! `new` the passenger's session. The order keeps a command at most once:
//! the channel is opened, `opened` sent, and the command is only started
//! after the passenger's `go`; a passenger that gave up closes the socket
//! instead and nothing runs. Every read from a client has a deadline, so a
//! client that sends garbage or no fds costs only its own task.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::UnixStream;
use tokio::net::unix::OwnedReadHalf;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::master::Shared;
use super::protocol::{self, Frame, NewSession};
use super::{fdpass, passed_io};
use crate::client::ExecConfig;
use crate::client::exec::pty::Pty;
use crate::exit::Ending;

/// Time a client has for each frame before `go`, and for its fds.
const CLIENT_WAIT: Duration = Duration::from_secs(2);

/// Serves one control connection to its end.
pub(super) async fn serve(mut stream: UnixStream, shared: Arc<Shared>) {
    if protocol::write(&mut stream, &Frame::hello()).await.is_err() {
        return;
    }
    match tokio::time::timeout(CLIENT_WAIT, protocol::read(&mut stream)).await {
        Ok(Ok(Frame::Hello { proto, v, .. })) if proto == protocol::PROTO && v == protocol::VERSION => {}
        other => return tracing::debug!("dropped a control client at hello: {other:?}"),
    }
    let request = match tokio::time::timeout(CLIENT_WAIT, protocol::read(&mut stream)).await {
        Ok(Ok(request)) => request,
        other => return tracing::debug!("dropped a control client: {other:?}"),
    };
    let reply = match request {
        Frame::Check => Frame::Alive {
            pid: std::process::id(),
            sessions: shared.running(),
            up_s: shared.started.elapsed().as_secs(),
        },
        Frame::Stop => {
            shared.stop.notify_one();
            Frame::Done
        }
        Frame::Exit => {
            let _ = protocol::write(&mut stream, &Frame::Done).await;
            shared.exit.cancel();
            return;
        }
        Frame::New(new) => return run(stream, *new, &shared).await,
        other => return tracing::debug!("dropped a control client asking {other:?}"),
    };
    let _ = protocol::write(&mut stream, &reply).await;
}

/// A passenger's session, from its fds to its `ended`.
async fn run(mut stream: UnixStream, new: NewSession, shared: &Shared) {
    let fds = match tokio::time::timeout(CLIENT_WAIT, fdpass::recv(&stream)).await {
        Ok(Ok(fds)) => fds,
        other => return tracing::debug!("dropped a passenger without its fds: {other:?}"),
    };
    let (io, holder) = match passed_io::session_io(fds, new.stdin) {
        Ok(passed) => passed,
        Err(e) => {
            return refuse(
                &mut stream,
                format!("the mux master could not use the passed stdio: {e}"),
            )
            .await;
        }
    };
    shared.sessions.fetch_add(1, Ordering::Relaxed);
    let _count = Counted(shared);
    let deadline = tokio::time::Instant::now() + shared.destination.connect_timeout;
    let (channel, lease) = match shared.pool.open(deadline).await {
        Ok(opened) => opened,
        Err(why) => {
            holder.release(false, &CancellationToken::new()).await;
            return refuse(
                &mut stream,
                format!("the mux master could not open a session: {why}"),
            )
            .await;
        }
    };
    fault(shared, "exit-before-opened");
    let go = async {
        protocol::write(&mut stream, &Frame::Opened).await.ok()?;
        tokio::time::timeout(CLIENT_WAIT, protocol::read(&mut stream))
            .await
            .ok()?
            .ok()
    };
    if !matches!(go.await, Some(Frame::Go)) {
        // The passenger gave up (and may run direct): never start it here;
        // the channel, unused, can serve the next call.
        shared.pool.give_back(channel, lease);
        holder.release(false, &CancellationToken::new()).await;
        return;
    }
    if shared.fault.as_deref() == Some("exit-after-go") {
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            std::process::exit(3);
        });
    }
    let (reader, mut writer) = stream.into_split();
    let (signals, signals_rx) = mpsc::unbounded_channel();
    let (sizes, sizes_rx) = mpsc::unbounded_channel();
    let hang_up = shared.exit.child_token();
    let listener = tokio::spawn(listen(reader, signals, sizes, hang_up.clone()));
    let pty = new.pty.clone().map(|request| Pty::passed(request, sizes_rx));
    let config = exec_config(new, shared);
    let ending = crate::client::exec::run_on(channel, &config, io, signals_rx, hang_up.clone(), pty).await;
    let ending = explain(ending, shared);
    // Output still spooled reaches the caller first, as a direct run's
    // would (not after a timeout or hang-up: that may wait for ever);
    // then the caller's fds are let go before it hears the end, so its
    // pipes close as a direct run's would.
    let drain = !matches!(ending, Ending::TimedOut(_) | Ending::Interrupted(_));
    let stdout_broken = holder.release(drain, &hang_up).await;
    let ending = match ending {
        Ending::Exited(_) | Ending::Killed { .. } | Ending::NoStatus if stdout_broken => Ending::BrokenPipe,
        ending => ending,
    };
    listener.abort();
    let _ = protocol::write(&mut writer, &Frame::Ended { ending }).await;
}

/// Signals and terminal sizes from the passenger; its hang-up (exit,
/// SIGKILL) ends the session.
async fn listen(
    mut reader: OwnedReadHalf,
    signals: mpsc::UnboundedSender<i32>,
    sizes: mpsc::UnboundedSender<(u32, u32)>,
    hang_up: CancellationToken,
) {
    while let Ok(frame) = protocol::read(&mut reader).await {
        match frame {
            Frame::Signal { n } => drop(signals.send(n)),
            Frame::Resize { cols, rows } => drop(sizes.send((cols, rows))),
            other => tracing::debug!("passenger sent {other:?}"),
        }
    }
    hang_up.cancel();
}

fn exec_config(new: NewSession, shared: &Shared) -> ExecConfig {
    ExecConfig {
        destination: shared.destination.clone(),
        command: new.command,
        stdin: new.stdin,
        pty: new.pty.is_some(),
        env: new.env,
        timeout: new.timeout,
        kill_after: new.kill_after,
        status_json: None,
        verbose: new.verbose,
        reuse: None,
    }
}

/// Says where an ending came from when the master is why.
fn explain(ending: Ending, shared: &Shared) -> Ending {
    if shared.exit.is_cancelled() && matches!(ending, Ending::Interrupted(_)) {
        return Ending::Failed(
            "the mux master was told to exit; the remote command may still be running".into(),
        );
    }
    match ending {
        Ending::Failed(why) if shared.pool.lost() => Ending::Failed(format!(
            "{why} (to {}, via the mux master)",
            shared.destination.label
        )),
        ending => ending,
    }
}

/// Refuses before anything ran: the passenger may run direct.
async fn refuse(stream: &mut UnixStream, msg: String) {
    tracing::warn!("{msg}");
    let _ = protocol::write(
        stream,
        &Frame::Error {
            msg,
            retry_safe: true,
        },
    )
    .await;
}

/// The test hook `SESH_MUX_FAULT=<point>`: die here.
fn fault(shared: &Shared, point: &str) {
    if shared.fault.as_deref() == Some(point) {
        std::process::exit(3);
    }
}

/// Counts a session for `-O check` while it lives.
struct Counted<'a>(&'a Shared);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}
