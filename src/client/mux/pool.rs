//! The master's connections to one destination: the first login, and up to
//! [`MAX_CONNECTIONS`] siblings when the server's session limit (sshd's
//! MaxSessions, sesh serve's --max-sessions) refuses another channel.
//! Beyond that a request waits for a session to end, until its deadline.
//! A passenger never sees the limit, and no call makes a hidden login of
//! its own (MULTIPLEX.md 4.10).
//!
//! One session channel is kept open ahead of the next call (the spare), so
//! a call through the master waits one round trip to the server (exec)
//! instead of two (open, then exec). A spare is only opened where the
//! server's known limit leaves room for it beside the sessions running; a
//! refusal of one teaches the limit as a call's would. A spare the server
//! has sent anything on (its CLOSE) is never used.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::FutureExt;
use russh::client::Msg;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::client::{Connection, Destination};

/// Connections per master: the first and its siblings.
pub const MAX_CONNECTIONS: usize = 4;
/// Between tries while every connection is at its limit (closes are
/// asynchronous, so a freed slot may still be refused for a moment).
const BACKOFF: Duration = Duration::from_millis(50);
/// Time a spare's open may take before it is given up.
const SPARE_WAIT: Duration = Duration::from_secs(10);

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
    /// The channel opened ahead, with its place on its connection.
    spare: Mutex<Option<(russh::Channel<Msg>, Lease)>>,
    /// A spare's open under way (one at a time).
    refilling: AtomicBool,
    /// Told when a spare's open has ended, opened or not.
    refilled: Notify,
}

/// A session's place on a connection; frees it when dropped. It points
/// back at its pool weakly: the pool holds its spare's lease, and a strong
/// pointer would keep the pool alive through its own field.
pub struct Lease {
    pool: Weak<Pool>,
    connection: Arc<Connection>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(pool) = self.pool.upgrade() else {
            return;
        };
        let mut slots = pool.slots.lock().expect("pool lock");
        if let Some(slot) = slots
            .iter_mut()
            .find(|s| Arc::ptr_eq(&s.connection, &self.connection))
        {
            slot.open = slot.open.saturating_sub(1);
        }
        drop(slots);
        pool.freed.notify_waiters();
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
            spare: Mutex::new(None),
            refilling: AtomicBool::new(false),
            refilled: Notify::new(),
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

    /// A session channel: the spare, else one opened on the least-loaded
    /// connection with room, starting a sibling or waiting when none has;
    /// `Err` by `deadline`. A new spare is opened behind it.
    pub async fn open(self: &Arc<Self>, deadline: Instant) -> Result<(russh::Channel<Msg>, Lease), String> {
        let opened = match self.wait_spare(deadline).await {
            Some(spare) => Ok(spare),
            None => self.open_new(deadline).await,
        };
        if opened.is_ok() {
            self.refill();
        }
        opened
    }

    /// Keeps a channel that was opened for a call that then never ran, as
    /// the spare (or closes it when there is one).
    pub fn give_back(&self, channel: russh::Channel<Msg>, lease: Lease) {
        let mut spare = self.spare.lock().expect("pool lock");
        if spare.is_none() && !lease.connection.is_closed() {
            *spare = Some((channel, lease));
            return;
        }
        drop(spare);
        tokio::spawn(async move {
            let _ = channel.close().await;
            drop(lease);
        });
    }

    /// The spare, or the one being opened (the call before just took
    /// the last): a second open beside it could meet a session limit the
    /// spare already fills and start a sibling login.
    async fn wait_spare(&self, deadline: Instant) -> Option<(russh::Channel<Msg>, Lease)> {
        let refilled = self.refilled.notified();
        if let Some(spare) = self.take_spare() {
            return Some(spare);
        }
        if !self.refilling.load(Ordering::Acquire) {
            return None;
        }
        let _ = tokio::time::timeout_at(deadline, refilled).await;
        self.take_spare()
    }

    /// The spare, when it is still good for a call.
    fn take_spare(&self) -> Option<(russh::Channel<Msg>, Lease)> {
        let (mut channel, lease) = self.spare.lock().expect("pool lock").take()?;
        if lease.connection.is_closed() {
            return None;
        }
        // Nothing comes on an idle session channel but its end.
        match channel.wait().now_or_never() {
            None => Some((channel, lease)),
            Some(message) => {
                tracing::debug!("dropped the spare channel: the server sent {message:?}");
                None
            }
        }
    }

    /// Opens a new spare in the background unless one is there or under
    /// way, on a connection that has room for it beside its sessions.
    fn refill(self: &Arc<Self>) {
        if self.spare.lock().expect("pool lock").is_some() || self.refilling.swap(true, Ordering::AcqRel) {
            return;
        }
        let pool = self.clone();
        tokio::spawn(async move {
            if let Some(connection) = pool.pick_with_room() {
                let lease = Lease {
                    pool: Arc::downgrade(&pool),
                    connection: connection.clone(),
                };
                match tokio::time::timeout(SPARE_WAIT, connection.channel_open_session()).await {
                    Ok(Ok(channel)) => pool.give_back(channel, lease),
                    Ok(Err(russh::Error::ChannelOpenFailure(why))) => pool.at_limit(&connection, why),
                    Ok(Err(e)) => tracing::debug!("no spare channel: {e}"),
                    Err(_) => tracing::debug!("no spare channel: the server did not answer in time"),
                }
            }
            pool.refilling.store(false, Ordering::Release);
            pool.refilled.notify_waiters();
        });
    }

    async fn open_new(self: &Arc<Self>, deadline: Instant) -> Result<(russh::Channel<Msg>, Lease), String> {
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
                pool: Arc::downgrade(self),
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
        self.pick_leaving(0)
    }

    /// Like [`Self::pick`], leaving one session of the limit for a call.
    fn pick_with_room(&self) -> Option<Arc<Connection>> {
        self.pick_leaving(1)
    }

    fn pick_leaving(&self, room: usize) -> Option<Arc<Connection>> {
        let mut slots = self.slots.lock().expect("pool lock");
        let slot = slots
            .iter_mut()
            .filter(|s| !s.connection.is_closed() && s.limit.is_none_or(|limit| s.open + room < limit))
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
