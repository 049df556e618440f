//! The russh client handler: host key verification, and refusal of every
//! channel a server might try to open towards us.

use std::sync::{Arc, Mutex};

use russh::client;
use russh::keys::PublicKeyOrCertificate;

use super::Holds;
use crate::client::host_key::{self, Policy};

/// One connection's handler; russh owns it for the connection's life.
pub struct ClientHandler {
    policy: Policy,
    host: String,
    port: u16,
    /// Why the host key was refused, for the error line.
    refusal: Arc<Mutex<Option<String>>>,
    /// What the byte stream under this connection needs kept alive (a jump
    /// connection, a ProxyCommand child): dropped with the connection.
    _holds: Holds,
}

impl ClientHandler {
    /// A handler checking `host:port`'s key under `policy`; the refusal
    /// reason, if any, lands in `refusal`.
    pub fn new(
        policy: Policy,
        host: &str,
        port: u16,
        refusal: Arc<Mutex<Option<String>>>,
        holds: Holds,
    ) -> Self {
        Self {
            policy,
            host: host.to_string(),
            port,
            refusal,
            _holds: holds,
        }
    }
}

impl client::Handler for ClientHandler {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let verdict = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                host_key::verify(&self.policy, &self.host, self.port, key)
            }
            PublicKeyOrCertificate::Certificate(cert) => {
                host_key::verify_certificate(&self.policy, &self.host, self.port, cert)
            }
        };
        match verdict {
            Ok(()) => Ok(true),
            Err(why) => {
                *self.refusal.lock().expect("refusal lock") = Some(why);
                Ok(false)
            }
        }
    }

    // sesh asks for no forwarding: any channel the server opens is refused
    // (dropping the reply handle refuses it).
    async fn server_channel_open_session(
        &mut self,
        _: russh::Channel<client::Msg>,
        _: russh::client::ChannelOpenHandle,
        _: &mut client::Session,
    ) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn server_channel_open_agent_forward(
        &mut self,
        _: russh::Channel<client::Msg>,
        _: russh::client::ChannelOpenHandle,
        _: &mut client::Session,
    ) -> Result<(), Self::Error> {
        Ok(())
    }
}
