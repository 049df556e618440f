//! One connection from accept to close: key exchange and authentication
//! within the login grace time, then sessions until the client leaves or
//! the server stops. When [`serve`] returns, russh's task for the
//! connection is gone, the socket closed and every session's command hung
//! up and reaped, so the connection's slot under `--max-connections` is free
//! only when its resources are.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use russh::server::RunningSession;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Shared;
use super::handler::ConnectionHandler;
use super::quick_ack::QuickAck;
use super::socket::{Closer, Socket};

/// How long russh's task gets to notice a closed socket and end.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Serves one connection and logs how it ended.
pub async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, stop: CancellationToken) {
    let authenticated = Arc::new(AtomicBool::new(false));
    let ended = run(stream, peer, shared, stop, authenticated.clone()).await;
    match ended {
        Err(e) => tracing::info!(%peer, "connection ended: {e}"),
        // A peer that gave up, or sent something russh ends quietly on
        // (a DISCONNECT, an empty packet): worth a line before login.
        Ok(()) if !authenticated.load(Ordering::Acquire) => {
            tracing::info!(%peer, "connection closed before authentication")
        }
        Ok(()) => tracing::debug!(%peer, "connection closed"),
    }
}

async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
    authenticated: Arc<AtomicBool>,
) -> Result<(), String> {
    let local = stream.local_addr().map_err(|e| e.to_string())?;
    // run_stream does not apply russh's `nodelay`: without it Nagle holds
    // each small packet (EOF, exit-status) for the peer's delayed ACK,
    // ~40 ms apiece.
    let _ = stream.set_nodelay(true);
    let sessions = TaskTracker::new();
    let handler = ConnectionHandler {
        shared: shared.clone(),
        peer,
        local,
        authenticated: authenticated.clone(),
        shutdown: stop.clone(),
        sessions: sessions.clone(),
        grant: Default::default(),
        channels: HashMap::new(),
        auth_failures: 0,
    };
    let closer = Closer::default();
    let login_deadline = Instant::now() + shared.config.limits.login_grace_time;
    let socket = Socket::new(QuickAck::new(stream), peer, &closer);
    let start = russh::server::run_stream(shared.russh.clone(), socket, handler);
    // Dropping `start` before key exchange drops the socket with it.
    let running = tokio::time::timeout_at(login_deadline, start)
        .await
        .map_err(|_| "login grace time over before key exchange".to_string())?
        .map_err(|e| e.to_string())?;
    let connection = Connection {
        running,
        closer,
        authenticated,
        login_deadline,
        sessions: sessions.clone(),
    };
    let ended = connection.supervise(stop).await;
    // Sessions outlive russh's task while they hang their commands up
    // (SIGHUP, then SIGKILL after the grace). The connection ends with
    // them, so a stopping server waits for that too and leaves no orphan.
    sessions.close();
    let hang_up = shared.config.limits.hangup_grace.saturating_add(CLOSE_WAIT);
    if tokio::time::timeout(hang_up, sessions.wait()).await.is_err() {
        tracing::warn!(%peer, "a session's command outlived its hang-up");
    }
    ended
}

/// A connection whose key exchange has started.
struct Connection {
    running: RunningSession<ConnectionHandler>,
    closer: Closer,
    authenticated: Arc<AtomicBool>,
    login_deadline: Instant,
    sessions: TaskTracker,
}

impl Connection {
    /// Waits for the end of the connection, closing it when the login grace
    /// time runs out first, and hanging its sessions up when the server
    /// stops.
    async fn supervise(mut self, stop: CancellationToken) -> Result<(), String> {
        let mut stopping = false;
        loop {
            let authed = self.authenticated.load(Ordering::Acquire);
            tokio::select! {
                ended = &mut self.running => return ended.map_err(|e| e.to_string()),
                _ = tokio::time::sleep_until(self.login_deadline), if !authed => {
                    // `authed` was read before the wait: a login since then
                    // disarms the deadline.
                    if self.authenticated.load(Ordering::Acquire) {
                        continue;
                    }
                    self.close().await;
                    return Err("login grace time over".to_string());
                }
                _ = stop.cancelled(), if !stopping => {
                    stopping = true;
                    self.hang_up_then_disconnect();
                }
            }
        }
    }

    /// Closes the socket under russh and waits (bounded) for its task to
    /// let go of it: a key exchange that stalls never gives russh a chance
    /// to end by itself.
    async fn close(&mut self) {
        self.closer.close();
        if tokio::time::timeout(CLOSE_WAIT, &mut self.running).await.is_err() {
            tracing::warn!("a closed connection's task did not end");
        }
    }

    /// Sessions hang up and report; then the connection goes.
    fn hang_up_then_disconnect(&self) {
        let handle = self.running.handle();
        let sessions = self.sessions.clone();
        tokio::spawn(async move {
            sessions.close();
            sessions.wait().await;
            let _ = handle
                .disconnect(
                    russh::Disconnect::ByApplication,
                    "server stopping".into(),
                    String::new(),
                )
                .await;
        });
    }
}
