//! Reaching a [`Destination`]: open the byte stream its [`Route`] names,
//! run the SSH handshake over it, check the host key, authenticate.
//!
//! russh only needs an `AsyncRead + AsyncWrite` stream, so every route ends
//! in a boxed [`Io`]; what the stream depends on (a jump connection, a
//! ProxyCommand child) travels in the handler as [`Holds`], so it lives
//! exactly as long as the connection over it.

mod error;
mod handler;
mod tcp;

use std::sync::{Arc, Mutex};

use russh::client::{self, Handle};
use tokio::io::{AsyncRead, AsyncWrite};

pub use error::ConnectError;
pub use handler::ClientHandler;

use super::destination::{Destination, Route};

/// An authenticated connection.
pub type Connection = Handle<ClientHandler>;

/// A byte stream an SSH connection can run over.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What a route's stream needs kept alive.
pub enum Holds {
    Nothing,
}

/// An open route: the stream, and what it needs kept alive.
struct Link {
    stream: Box<dyn Io>,
    holds: Holds,
}

/// Connects to `dest`, verifies its host key and authenticates.
pub async fn connect(dest: &Destination) -> Result<Connection, ConnectError> {
    let target = &dest.target;
    let addr = || format!("{}:{}", target.host, target.port);
    let link = tokio::time::timeout(dest.connect_timeout, open(dest))
        .await
        .map_err(|_| ConnectError::Tcp {
            addr: addr(),
            reason: "timed out".to_string(),
        })??;
    let refusal = Arc::new(Mutex::new(None));
    let handler = ClientHandler::new(
        dest.host_keys.clone(),
        &target.host,
        target.port,
        refusal.clone(),
        link.holds,
    );
    let handshake = client::connect_stream(russh_config(dest), link.stream, handler);
    let mut handle = tokio::time::timeout(dest.connect_timeout, handshake)
        .await
        .map_err(|_| ConnectError::HandshakeTimeout { addr: addr() })?
        .map_err(|e| match refusal.lock().expect("refusal lock").take() {
            Some(why) => ConnectError::HostKey(why),
            None => ConnectError::Handshake {
                addr: addr(),
                reason: e.to_string(),
            },
        })?;
    super::auth::authenticate(
        &mut handle,
        &target.user,
        &dest.identities,
        &dest.certificates,
        dest.explicit_identities,
    )
    .await
    .map_err(|reason| ConnectError::Auth {
        target: target.to_string(),
        reason,
    })?;
    Ok(handle)
}

/// Opens the byte stream `dest`'s route names.
async fn open(dest: &Destination) -> Result<Link, ConnectError> {
    match &dest.route {
        Route::Tcp => Ok(Link {
            stream: Box::new(tcp::open(&dest.target.host, dest.target.port).await?),
            holds: Holds::Nothing,
        }),
    }
}

fn russh_config(dest: &Destination) -> Arc<client::Config> {
    Arc::new(client::Config {
        // A quiet command must never be cut off; keepalives find dead peers.
        inactivity_timeout: None,
        keepalive_interval: dest.keepalive,
        keepalive_max: 3,
        nodelay: true,
        preferred: crate::transport::preferred(),
        ..Default::default()
    })
}
