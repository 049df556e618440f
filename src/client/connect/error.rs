//! Why a connection could not be made, as a value: callers print it as one
//! line, and a jump chain wraps the failure of a hop so the line names the
//! hop that failed.

use std::fmt;

/// A failure to reach, trust or log in to a server.
#[derive(Debug, Clone)]
pub enum ConnectError {
    /// The host name has no address.
    Resolve { host: String, reason: String },
    /// No TCP connection (refused, unreachable, timed out).
    Tcp { addr: String, reason: String },
    /// The server did not finish the SSH handshake in time.
    HandshakeTimeout { addr: String },
    /// The handshake failed for a reason other than the host key.
    Handshake { addr: String, reason: String },
    /// The host key was refused; the text says why and what to do.
    HostKey(String),
    /// Every credential was refused; the text lists what was tried.
    Auth { target: String, reason: String },
    /// A jump host would not open a `direct-tcpip` channel onwards.
    Channel { to: String, reason: String },
    /// The ProxyCommand could not be run, or ended before the handshake.
    Proxy { how: String, line: Option<String> },
    /// A jump host on the way failed: `via` is its label, `addr` its
    /// host:port, `source` what went wrong there.
    Hop {
        via: String,
        addr: String,
        source: Box<ConnectError>,
    },
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Resolve { host, reason } => write!(f, "could not resolve {host}: {reason}"),
            Self::Tcp { addr, reason } => write!(f, "could not connect to {addr}: {reason}"),
            Self::HandshakeTimeout { addr } => write!(f, "no SSH handshake from {addr} in time"),
            Self::Handshake { addr, reason } => write!(f, "SSH handshake with {addr} failed: {reason}"),
            Self::HostKey(why) => f.write_str(why),
            Self::Auth { target, reason } => write!(f, "authentication to {target} refused: {reason}"),
            Self::Channel { to, reason } => write!(f, "could not open a channel to {to}: {reason}"),
            Self::Proxy {
                how,
                line: Some(line),
            } => write!(f, "ProxyCommand {how}: {line}"),
            Self::Proxy { how, line: None } => write!(f, "ProxyCommand {how}"),
            Self::Hop { via, addr, source } => {
                let name = if via == addr {
                    via.clone()
                } else {
                    format!("{via} ({addr})")
                };
                match source.as_ref() {
                    Self::Auth { reason, .. } => write!(f, "jump host {name} refused the key: {reason}"),
                    Self::Channel { to, reason } => {
                        write!(f, "jump host {name} could not open a channel to {to}: {reason}")
                    }
                    source => write!(f, "jump host {name}: {source}"),
                }
            }
        }
    }
}

impl std::error::Error for ConnectError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hop's failure names the hop and keeps the reason in one line.
    #[test]
    fn hop_lines() {
        let hop = |source| ConnectError::Hop {
            via: "bastion".into(),
            addr: "127.0.0.1:2201".into(),
            source: Box::new(source),
        };
        let auth = hop(ConnectError::Auth {
            target: "root@127.0.0.1:2201".into(),
            reason: "tried /k".into(),
        });
        assert_eq!(
            auth.to_string(),
            "jump host bastion (127.0.0.1:2201) refused the key: tried /k"
        );
        let tcp = hop(ConnectError::Tcp {
            addr: "127.0.0.1:2201".into(),
            reason: "refused".into(),
        });
        assert_eq!(
            tcp.to_string(),
            "jump host bastion (127.0.0.1:2201): could not connect to 127.0.0.1:2201: refused"
        );
        let proxy = ConnectError::Proxy {
            how: "exited 1".into(),
            line: Some("no route".into()),
        };
        assert_eq!(proxy.to_string(), "ProxyCommand exited 1: no route");
    }
}
