//! Why a connection could not be made, as a value: callers print it as one
//! line, and later ones (a jump chain, connection reuse) can wrap it or ask
//! what kind of failure it was.

use std::fmt;

/// A failure to reach, trust or log in to a server.
#[derive(Debug)]
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
        }
    }
}

impl std::error::Error for ConnectError {}
