//! An authenticated connection, and what it knows about the route under it:
//! when a session over it fails, the cause may be a jump host that died or
//! froze, or a ProxyCommand that exited, and the failure line should say so
//! rather than "connection to the server lost".

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use russh::client::Handle;

use super::ClientHandler;
use super::proxy_command::{self, Report};
use crate::exit::Ending;

/// How long a jump host that looks alive has to answer a ping when the
/// connection through it was lost.
const HOP_PROBE: Duration = Duration::from_secs(3);
/// How long a ProxyCommand has to report an end under way.
const PROXY_END: Duration = Duration::from_millis(200);

/// An authenticated connection (a russh [`Handle`] by `Deref`), and the
/// hop or ProxyCommand it runs over.
pub struct Connection {
    handle: Handle<ClientHandler>,
    /// The destination's label, for naming a lost hop.
    label: String,
    /// The previous hop (its handler holds it as well, for lifetime; this
    /// one is for asking whether it is still there).
    via: Option<Arc<Connection>>,
    /// The ProxyCommand's account of its end.
    proxy: Option<Report>,
}

impl Deref for Connection {
    type Target = Handle<ClientHandler>;

    fn deref(&self) -> &Self::Target {
        &self.handle
    }
}

impl Connection {
    pub(super) fn new(
        handle: Handle<ClientHandler>,
        label: &str,
        via: Option<Arc<Connection>>,
        proxy: Option<Report>,
    ) -> Self {
        Self {
            handle,
            label: label.to_string(),
            via,
            proxy,
        }
    }

    /// The label of the outermost jump host on the way that is gone or does
    /// not answer a ping in time; `None` when every hop is fine (or there
    /// is none).
    pub async fn lost_hop(&self) -> Option<String> {
        let mut chain = Vec::new();
        let mut hop = self.via.as_deref();
        while let Some(connection) = hop {
            chain.push(connection);
            hop = connection.via.as_deref();
        }
        chain.reverse();
        if let Some(gone) = chain.iter().find(|hop| hop.is_closed()) {
            return Some(gone.label.clone());
        }
        // A frozen hop (SIGSTOP, a partition) still looks open; one that is
        // alive answers a ping at once.
        for hop in chain {
            if !matches!(tokio::time::timeout(HOP_PROBE, hop.send_ping()).await, Ok(Ok(()))) {
                return Some(hop.label.clone());
            }
        }
        None
    }

    /// A failure of the session put down to what under the connection
    /// caused it (a lost jump host, an exited ProxyCommand), if anything
    /// did; every other ending as it is.
    pub async fn blame_route(&self, ending: Ending) -> Ending {
        if !matches!(ending, Ending::Failed(_)) {
            return ending;
        }
        if let Some(report) = &self.proxy
            && let Some(ended) = proxy_command::ended(report.clone(), PROXY_END).await
        {
            return Ending::Failed(ended.to_string());
        }
        if self.via.is_some()
            && let Some(name) = self.lost_hop().await
        {
            return Ending::Failed(format!("connection to jump host {name} lost"));
        }
        ending
    }
}
