//! The jump-host route: the previous hop's connection (made here, or shared
//! through [`Hops`]) opens a `direct-tcpip` channel to the next host, and
//! that channel's byte stream carries the next SSH connection. The target
//! host name is passed as typed, so the hop resolves it, as `ssh -J` does.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use russh::ChannelOpenFailure;

use super::{ConnectError, Connection, Holds, Hops, Link};
use crate::client::destination::Destination;

/// Reaches `dest` through `hop`: the hop's connection, then a channel on it.
pub async fn open(hop: &Destination, dest: &Destination, hops: Option<&Hops>) -> Result<Link, ConnectError> {
    let connection = match hops {
        Some(hops) => hops.connect(hop).await,
        None => connect_boxed(hop, None).await.map(Arc::new),
    }
    .map_err(|e| named(hop, e))?;
    let target = &dest.target;
    let to = format!("{}:{}", target.host, target.port);
    let opening =
        connection.channel_open_direct_tcpip(target.host.clone(), u32::from(target.port), "127.0.0.1", 0);
    let reason = match tokio::time::timeout(dest.connect_timeout, opening).await {
        Ok(Ok(channel)) => {
            return Ok(Link {
                stream: Box::new(channel.into_stream()),
                holds: Holds::Hop(connection.clone()),
                via: Some(connection),
                proxy: None,
            });
        }
        Ok(Err(russh::Error::ChannelOpenFailure(why))) => open_failure(why),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timed out".to_string(),
    };
    Err(named(hop, ConnectError::Channel { to, reason }))
}

/// A connection to `hop`, boxed: connecting is recursive through the chain.
pub fn connect_boxed<'a>(
    hop: &'a Destination,
    hops: Option<&'a Hops>,
) -> Pin<Box<dyn Future<Output = Result<Connection, ConnectError>> + Send + 'a>> {
    Box::pin(super::connect_via(hop, hops, None))
}

/// `e` as a failure of `hop`; one that already names a hop (an earlier one
/// in the chain) stays as it is.
fn named(hop: &Destination, e: ConnectError) -> ConnectError {
    match e {
        e @ ConnectError::Hop { .. } => e,
        ConnectError::HostKey(why) => ConnectError::Hop {
            via: hop.label.clone(),
            addr: format!("{}:{}", hop.target.host, hop.target.port),
            source: Box::new(ConnectError::HostKey(hop_fix(why))),
        },
        e => ConnectError::Hop {
            via: hop.label.clone(),
            addr: format!("{}:{}", hop.target.host, hop.target.port),
            source: Box::new(e),
        },
    }
}

/// The unknown-host fix for a hop: the target's flags do not apply to it,
/// so the fix is the file it reads.
fn hop_fix(why: String) -> String {
    match why.find("; to trust it, rerun with") {
        Some(at) => format!(
            "{}; to trust it, add its key to ~/.ssh/known_hosts (jump hosts are checked against it, \
             not --accept-new or --host-key)",
            &why[..at]
        ),
        None => why,
    }
}

/// OpenSSH's words for a refused channel.
fn open_failure(why: ChannelOpenFailure) -> String {
    match why {
        ChannelOpenFailure::AdministrativelyProhibited => "administratively prohibited".into(),
        ChannelOpenFailure::ConnectFailed => "connect failed".into(),
        ChannelOpenFailure::UnknownChannelType => "unknown channel type".into(),
        ChannelOpenFailure::ResourceShortage => "resource shortage".into(),
        ChannelOpenFailure::Other { code, reason } if reason.is_empty() => format!("refused (code {code})"),
        ChannelOpenFailure::Other { reason, .. } => reason,
    }
}
