//! Reaching a [`Destination`]: open the byte stream its [`Route`] names,
//! run the SSH handshake over it, check the host key, authenticate.
//!
//! russh only needs an `AsyncRead + AsyncWrite` stream, so every route ends
//! in a boxed [`Io`]; what the stream depends on (a jump connection, a
//! ProxyCommand child) travels in the handler as [`Holds`], so it lives
//! exactly as long as the connection over it.

mod connection;
mod error;
mod handler;
mod hops;
mod jump;
mod proxy_command;
mod tcp;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use tokio::io::{AsyncRead, AsyncWrite};

pub use connection::Connection;
pub use error::ConnectError;
pub use handler::ClientHandler;
pub use hops::Hops;

use super::destination::{Destination, Route};

/// How long a ProxyCommand that broke the handshake has to report its end.
const PROXY_REPORT: Duration = Duration::from_secs(1);

/// A byte stream an SSH connection can run over.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What a route's stream needs kept alive.
pub enum Holds {
    Nothing,
    /// The previous hop's connection, which carries the channel.
    Hop(Arc<Connection>),
    /// The ProxyCommand; dropping it hangs the command up.
    Child(proxy_command::ProxyChild),
}

/// An open route: the stream, and what it needs kept alive.
struct Link {
    stream: Box<dyn Io>,
    holds: Holds,
    /// The hop the stream runs through.
    via: Option<Arc<Connection>>,
    /// A ProxyCommand's account of its end, for a failed handshake.
    proxy: Option<proxy_command::Report>,
}

/// Connects to `dest`, verifies its host key and authenticates. Jump hosts
/// are shared through `dest.hops` when the caller set a registry.
pub async fn connect(dest: &Destination) -> Result<Connection, ConnectError> {
    connect_via(dest, dest.hops.as_ref(), None).await
}

/// How much a connection lets the server send before it is read: a
/// receive window, the largest packet, and the channel queue (in
/// messages) that russh fills before it stops granting window.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub size: u32,
    pub packet: u32,
    pub queue: usize,
}

/// [`connect`] with a receive window of its own (for `sesh test`'s check
/// of a server's output behind a small window). Hops keep the default.
pub async fn connect_with_window(dest: &Destination, window: Window) -> Result<Connection, ConnectError> {
    connect_via(dest, dest.hops.as_ref(), Some(window)).await
}

async fn connect_via(
    dest: &Destination,
    hops: Option<&Hops>,
    window: Option<Window>,
) -> Result<Connection, ConnectError> {
    let link = open(dest, hops).await?;
    let (via, proxy) = (link.via.clone(), link.proxy.clone());
    let mut handle = handshake(dest, link, window).await?;
    let target = &dest.target;
    super::auth::authenticate(
        &mut handle,
        &target.user,
        &dest.identities,
        &dest.certificates,
        dest.explicit_identities,
        &dest.agent,
    )
    .await
    .map_err(|reason| ConnectError::Auth {
        target: target.to_string(),
        reason,
    })?;
    Ok(Connection::new(handle, &dest.label, via, proxy))
}

/// The SSH handshake over `link`, with the host key check; a failure is
/// the host key's refusal, the ProxyCommand's end, or the handshake's own.
async fn handshake(
    dest: &Destination,
    link: Link,
    window: Option<Window>,
) -> Result<Handle<ClientHandler>, ConnectError> {
    let target = &dest.target;
    let addr = || format!("{}:{}", target.host, target.port);
    let refusal = Arc::new(Mutex::new(None));
    let handler = ClientHandler::new(
        dest.host_keys.clone(),
        &target.host,
        target.port,
        refusal.clone(),
        link.holds,
    );
    let mut config = russh_config(dest);
    if let Some(window) = window {
        config.window_size = window.size;
        config.maximum_packet_size = window.packet;
        config.channel_buffer_size = window.queue;
        // A fixed window: no tuning.
        config.window_cap = 0;
    }
    let handshake = client::connect_stream(Arc::new(config), link.stream, handler);
    let e = match tokio::time::timeout(dest.connect_timeout, handshake).await {
        Err(_) => return Err(ConnectError::HandshakeTimeout { addr: addr() }),
        Ok(Ok(handle)) => return Ok(handle),
        Ok(Err(e)) => e,
    };
    if let Some(why) = refusal.lock().expect("refusal lock").take() {
        return Err(ConnectError::HostKey(why));
    }
    if let Some(report) = link.proxy
        && let Some(ended) = proxy_command::ended(report, PROXY_REPORT).await
    {
        return Err(ended);
    }
    Err(ConnectError::Handshake {
        addr: addr(),
        reason: e.to_string(),
    })
}

/// Opens the byte stream `dest`'s route names. Each stage has its own
/// timeout: a chain of hops is not cut short by the target's.
async fn open(dest: &Destination, hops: Option<&Hops>) -> Result<Link, ConnectError> {
    match &dest.route {
        Route::Tcp => {
            let (host, port) = (&dest.target.host, dest.target.port);
            let stream = tokio::time::timeout(dest.connect_timeout, tcp::open(host, port))
                .await
                .map_err(|_| ConnectError::Tcp {
                    addr: format!("{host}:{port}"),
                    reason: "timed out".to_string(),
                })??;
            Ok(Link {
                stream: Box::new(stream),
                holds: Holds::Nothing,
                via: None,
                proxy: None,
            })
        }
        Route::Command(command) => proxy_command::open(command),
        Route::Through(hop) => jump::open(hop, dest, hops).await,
    }
}

fn russh_config(dest: &Destination) -> client::Config {
    let on_file = crate::client::host_key::on_file(&dest.host_keys, &dest.target.host, dest.target.port);
    client::Config {
        // A quiet command must never be cut off; keepalives find dead peers.
        inactivity_timeout: None,
        keepalive_interval: dest.keepalive,
        keepalive_max: dest.keepalive_max,
        window_cap: dest.window_max,
        nodelay: true,
        // KEXINIT and a guessed key exchange init leave with the banner
        // (vendor/russh/SESH_PATCH.md): one round trip less when the server
        // lists the same method and host key algorithm first. Only for a
        // host known_hosts knows, whose key type then leads: otherwise
        // host certificates lead, a server with a plain key lists that
        // first, and the guess would only cost a key pair.
        kex_guess: !on_file.is_empty(),
        preferred: crate::transport::preferred_for(&on_file),
        ..Default::default()
    }
}
