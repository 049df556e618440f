//! The master's connections to one destination: the first login, and up to
//! [`MAX_CONNECTIONS`] siblings when the server's session limit (sshd's
//! MaxSessions, sesh serve's --max-sessions) refuses another channel.
//! Beyond that a request waits for a session to end, until its deadline.
//! A passenger never sees the limit, and no call makes a hidden login of
//! its own (MULTIPLEX.md 4.10).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::Msg;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::client::{Connection, Destination};

/// Connections per master: the first and its siblings.
pub const MAX_CONNECTIONS: usize = 4;
/// Between tries while every connection is at its limit (closes are
/// asynchronous, so a freed slot may still be refused for a moment).
const BACKOFF: Duration = Duration::from_millis(50);

/// One connection and what the master knows of its load.
struct Slot {
    connection: Arc<Connection>,
    open: usize,
    /// Sessions the server allowed when it first refused one.
    limit: Option<usize>,
}

/// See the module docs.
pub struct Pool {
    slots: Mutex<Vec<Slot>>,
    /// A sibling login under way (one at a time).
    connecting: Mutex<bool>,
    freed: Notify,
    destination: Destination,
}

/// A session's place on a connection; frees it when dropped.
pub struct Lease {
    pool: Arc<Pool>,
    connection: Arc<Connection>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut slots = self.pool.slots.lock().expect("pool lock");
        if let Some(slot) = slots
            .iter_mut()
            .find(|s| Arc::ptr_eq(&s.connection, &self.connection))
        {
            slot.open = slot.open.saturating_sub(1);
        }
        drop(slots);
        self.pool.freed.notify_waiters();
    }
}

impl Pool {
    pub fn new(first: Connection, destination: Destination) -> Arc<Self> {
        Arc::new(Self {
            slots: Mutex::new(vec![Slot {
                connection: Arc::new(first),
                open: 0,
                limit: None,
            }]),
            connecting: Mutex::new(false),
            freed: Notify::new(),
            destination,
        })
    }

    /// Whether the first connection is gone (the server is).
    pub fn lost(&self) -> bool {
        self.slots.lock().expect("pool lock")[0].connection.is_closed()
    }

    pub async fn disconnect(&self) {
        let all: Vec<_> = self
            .slots
            .lock()
            .expect("pool lock")
            .iter()
            .map(|s| s.connection.clone())
            .collect();
        for connection in all {
            let _ = connection
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
        }
    }

    /// Opens a session channel on the least-loaded connection with room,
    /// starting a sibling or waiting when none has; `Err` by `deadline`.
    pub async fn open(self: &Arc<Self>, deadline: Instant) -> Result<(russh::Channel<Msg>, Lease), String> {
        loop {
            let Some(connection) = self.pick() else {
                if !self.grow().await {
                    let freed = self.freed.notified();
                    if tokio::time::timeout_at(deadline, freed).await.is_err() {
                        return Err("every connection is at the server's session limit".into());
                    }
                }
                continue;
            };
            let lease = Lease {
                pool: self.clone(),
                connection: connection.clone(),
            };
            match tokio::time::timeout_at(deadline, connection.channel_open_session()).await {
                Ok(Ok(channel)) => return Ok((channel, lease)),
                Ok(Err(russh::Error::ChannelOpenFailure(why))) if !connection.is_closed() => {
                    self.at_limit(&connection, why);
                    drop(lease);
                    tokio::time::sleep(BACKOFF).await;
                }
                Ok(Err(e)) => return Err(e.to_string()),
                Err(_) => return Err("the server opened no session in time".into()),
            }
            if Instant::now() >= deadline {
                return Err("every connection is at the server's session limit".into());
            }
        }
    }

    /// The least-loaded live connection below its limit, counted as used.
    fn pick(&self) -> Option<Arc<Connection>> {
        let mut slots = self.slots.lock().expect("pool lock");
        let slot = slots
            .iter_mut()
            .filter(|s| !s.connection.is_closed() && s.limit.is_none_or(|limit| s.open < limit))
            .min_by_key(|s| s.open)?;
        slot.open += 1;
        Some(slot.connection.clone())
    }

    /// The server refused a session on `connection`: remember its limit.
    fn at_limit(&self, connection: &Arc<Connection>, why: russh::ChannelOpenFailure) {
        let mut slots = self.slots.lock().expect("pool lock");
        if let Some(slot) = slots.iter_mut().find(|s| Arc::ptr_eq(&s.connection, connection)) {
            // This request is still counted in `open`.
            let limit = slot.open.saturating_sub(1).max(1);
            tracing::info!(
                "the server refused session {} ({why:?}): limit {limit} per connection",
                slot.open
            );
            slot.limit = Some(limit);
        }
    }

    /// Adds a sibling connection when allowed and none is being made;
    /// `false` when the caller should wait for a session to end instead.
    async fn grow(&self) -> bool {
        {
            let slots = self.slots.lock().expect("pool lock");
            let mut connecting = self.connecting.lock().expect("pool lock");
            if *connecting || slots.len() >= MAX_CONNECTIONS {
                return false;
            }
            *connecting = true;
        }
        let sibling = crate::client::connect(&self.destination).await;
        *self.connecting.lock().expect("pool lock") = false;
        match sibling {
            Ok(connection) => {
                tracing::info!("opened a sibling connection for the server's session limit");
                self.slots.lock().expect("pool lock").push(Slot {
                    connection: Arc::new(connection),
                    open: 0,
                    limit: None,
                });
            }
            Err(e) => tracing::warn!("could not open a sibling connection: {e}"),
        }
        self.freed.notify_waiters();
        true
    }
}
