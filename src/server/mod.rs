//! `sesh serve`: the listener, its limits and its orderly stop.
//!
//! Each accepted connection runs in its own task, on one of the per-CPU
//! runtimes of [`workers`], with a russh session and a
//! [`handler::ConnectionHandler`]; each session channel runs in its own task
//! ([`session`]) on the same runtime. Shutdown is a future passed in: when it completes the
//! listener closes, every session hangs up its command and reports how it
//! ended, and `run` returns once all connections are gone or the grace
//! period is over.

mod auth;
mod config;
mod connection;
mod env;
mod fd_slots;
mod handler;
mod input_queue;
mod job;
mod listeners;
mod output;
mod process;
mod pty;
mod quick_ack;
mod refuse;
mod request;
mod session;
mod sftp;
mod socket;
mod spawn;
mod stdin;
mod workers;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::WrapErr;
use russh::MethodKind;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{Limits, ServerConfig};
pub use listeners::Listeners;

/// What every connection shares.
pub(crate) struct Shared {
    config: ServerConfig,
    russh: Arc<russh::server::Config>,
}

/// Binds the listen addresses; the one error a caller shows before serving.
pub async fn bind(config: &ServerConfig) -> color_eyre::Result<Listeners> {
    // While descriptor numbers are still low (see fd_slots.rs).
    fd_slots::reserve();
    Listeners::bind(&config.listen).await
}

/// Serves connections on `listeners` until `shutdown` completes, then hangs
/// up every session and waits (bounded) for them to report.
pub async fn run(
    config: ServerConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> color_eyre::Result<()> {
    let fingerprint = crate::keys::fingerprint(config.host_key.public_key());
    for address in listeners.local_addrs()? {
        tracing::info!("listening on {address}, host key {fingerprint}");
    }
    let grace = config.limits.hangup_grace;
    let shared = Arc::new(Shared {
        russh: Arc::new(russh_config(&config)),
        config,
    });
    let stop = CancellationToken::new();
    let connections = TaskTracker::new();
    let workers = workers::Workers::start().wrap_err("could not start the connection threads")?;
    tokio::select! {
        _ = accept_loop(&listeners, &shared, &stop, &connections, &workers) => {}
        _ = shutdown => {}
    }
    drop(listeners);
    tracing::info!(
        connections = connections.len(),
        "stopping: hanging up every session"
    );
    stop.cancel();
    connections.close();
    // Commands get SIGHUP now and SIGKILL after `grace`; then they report.
    let deadline = grace + Duration::from_secs(3);
    if tokio::time::timeout(deadline, connections.wait()).await.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "stopped before every connection had ended"
        );
    }
    Ok(())
}

fn russh_config(config: &ServerConfig) -> russh::server::Config {
    russh::server::Config {
        // russh's default of 10 minutes would kill a quiet long-running
        // command; keepalives find dead peers instead.
        inactivity_timeout: None,
        keepalive_interval: config.limits.keepalive,
        keepalive_max: 3,
        window_cap: config.limits.window_max,
        // OpenSSH's first `none` probe should not wait a second.
        auth_rejection_time_initial: Some(Duration::ZERO),
        methods: russh::MethodSet::from(&[MethodKind::PublicKey][..]),
        max_auth_attempts: config.limits.max_auth_tries,
        keys: vec![config.host_key.clone()],
        // russh offers a certificate only next to its private key.
        certificates: config.host_certificate.iter().cloned().collect(),
        nodelay: true,
        preferred: crate::transport::preferred(),
        ..Default::default()
    }
}

async fn accept_loop(
    listeners: &Listeners,
    shared: &Arc<Shared>,
    stop: &CancellationToken,
    connections: &TaskTracker,
    workers: &workers::Workers,
) {
    let refuser = refuse::Refuser::new(&shared.russh.server_id);
    let mut next = 0;
    loop {
        let (stream, peer) = match listeners.accept(&mut next).await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                tracing::warn!("could not accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if connections.len() >= shared.config.limits.max_connections {
            tracing::warn!(%peer, limit = shared.config.limits.max_connections, "refused a connection: too many connections");
            refuser.too_many_connections(stream);
            continue;
        }
        // Handed over as a std socket, registered again on the runtime
        // that serves it (see workers.rs).
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(%peer, "could not hand over a connection: {e}");
                continue;
            }
        };
        let shared = shared.clone();
        let stop = stop.child_token();
        workers.spawn(connections.track_future(async move {
            match tokio::net::TcpStream::from_std(stream) {
                Ok(stream) => connection::serve(stream, peer, shared, stop).await,
                Err(e) => tracing::warn!(%peer, "could not serve a connection: {e}"),
            }
        }));
    }
}
