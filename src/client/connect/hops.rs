//! Jump-host connections shared by the sessions of one run: many targets
//! behind the same bastion (`-H 'web[01-50]' -J bastion`) log in to it once
//! and each open their own `direct-tcpip` channel on that one connection.
//!
//! Hops are the same when their user, host, port and route are the same.
//! A per-hop async lock makes concurrent first uses wait for one login
//! instead of making one each; a failed login is remembered for the run,
//! so fifty targets do not cost the bastion fifty refused attempts. A
//! connection that has since died is replaced on next use.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use super::{ConnectError, Connection};
use crate::client::destination::Destination;

/// What one hop's slot holds once somebody tried it.
type Slot = Arc<tokio::sync::Mutex<Option<Result<Arc<Connection>, ConnectError>>>>;

/// A run's registry of hop connections; cheap to clone (one shared map).
/// The connections live as long as the registry, or longer while a
/// session over them runs (their handlers hold them too).
#[derive(Clone, Default)]
pub struct Hops {
    slots: Arc<Mutex<HashMap<String, Slot>>>,
}

impl Hops {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shared connection to `hop`, made on first use.
    pub async fn connect(&self, hop: &Destination) -> Result<Arc<Connection>, ConnectError> {
        let slot = self
            .slots
            .lock()
            .expect("hop registry lock")
            .entry(hop.route_key())
            .or_default()
            .clone();
        let mut slot = slot.lock().await;
        match &*slot {
            Some(Ok(connection)) if !connection.is_closed() => return Ok(connection.clone()),
            Some(Err(e)) => return Err(e.clone()),
            _ => {}
        }
        let made = super::jump::connect_boxed(hop, Some(self)).await.map(Arc::new);
        *slot = Some(made.clone());
        made
    }
}

impl fmt::Debug for Hops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hops = self.slots.lock().map(|slots| slots.len()).unwrap_or(0);
        write!(f, "Hops({hops} shared)")
    }
}
