//! A russh client for the tests that `ssh` cannot express: exit-signal
//! names, signal requests, env replies, many channels on one connection,
//! a reader that pauses.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use russh::Channel;
use russh::client::{self, Handle, Msg};
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate, load_secret_key};
use tokio::io::{AsyncRead, AsyncWrite};

/// Trusts any host key: the tests start the server they talk to.
pub struct TrustAll;

impl client::Handler for TrustAll {
    type Error = russh::Error;

    async fn check_server_key(&mut self, _: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// An authenticated connection.
pub struct Client {
    pub handle: Handle<TrustAll>,
}

impl Client {
    /// Connects and authenticates as `user` with the key at `identity`;
    /// `Err` says which step failed.
    pub async fn connect(addr: std::net::SocketAddr, identity: &Path, user: &str) -> Result<Self, String> {
        let handle = client::connect(config(), addr, TrustAll)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        Self::authenticate(handle, identity, user).await
    }

    /// Logs in as the current user over a stream the test controls (one
    /// that misbehaves, say).
    pub async fn login_over<S>(stream: S, identity: &Path) -> Self
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let handle = client::connect_stream(config(), stream, TrustAll)
            .await
            .expect("connect");
        Self::authenticate(handle, identity, &current_user())
            .await
            .expect("login")
    }

    async fn authenticate(mut handle: Handle<TrustAll>, identity: &Path, user: &str) -> Result<Self, String> {
        let key = load_secret_key(identity, None).map_err(|e| format!("key: {e}"))?;
        let auth = handle
            .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), None))
            .await
            .map_err(|e| format!("auth: {e}"))?;
        if !auth.success() {
            return Err("auth: refused".to_string());
        }
        Ok(Self { handle })
    }

    /// Connects as the current user, panicking on failure.
    pub async fn login(addr: std::net::SocketAddr, identity: &Path) -> Self {
        Self::connect(addr, identity, &current_user())
            .await
            .expect("login")
    }

    /// Logs in as soon as the server admits the connection: under a small
    /// `--max-connections` a closed connection's slot comes back a moment
    /// after its socket closes (bounded: 10 s).
    pub async fn login_when_admitted(addr: std::net::SocketAddr, identity: &Path) -> Self {
        let mut last = String::new();
        for _ in 0..100 {
            match Self::connect(addr, identity, &current_user()).await {
                Ok(client) => return client,
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("login: {last}");
    }

    pub async fn channel(&self) -> Channel<Msg> {
        self.handle
            .channel_open_session()
            .await
            .expect("open session channel")
    }

    /// Runs `command` with no input and collects everything until CLOSE.
    pub async fn run(&self, command: &str) -> Transcript {
        let channel = self.channel().await;
        channel.exec(true, command).await.expect("exec");
        channel.eof().await.expect("eof");
        collect(channel, Duration::from_secs(60)).await
    }
}

fn config() -> Arc<client::Config> {
    Arc::new(client::Config {
        nodelay: true,
        ..Default::default()
    })
}

/// Starts `command` on a new channel and reads until `marker` is in stdout.
pub async fn start_and_wait_for(client: &Client, command: &str, marker: &str) -> (Channel<Msg>, Transcript) {
    let mut channel = client.channel().await;
    channel.exec(true, command).await.unwrap();
    let mut transcript = Transcript::default();
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        while !String::from_utf8_lossy(&transcript.stdout).contains(marker) {
            let message = channel.wait().await.expect("channel open");
            record(&mut transcript, message);
        }
    })
    .await;
    assert!(waited.is_ok(), "never saw {marker:?}: {transcript:?}");
    (channel, transcript)
}

/// The first message on a channel (bounded wait), then the channel closed.
/// Read first: russh's client drops what arrives after its own CLOSE.
pub async fn first_reply_then_close(mut channel: Channel<Msg>) -> Option<russh::ChannelMsg> {
    let first = tokio::time::timeout(Duration::from_secs(20), channel.wait()).await;
    let _ = channel.close().await;
    first.ok().flatten()
}

pub fn current_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name
}

pub use sesh::conformance::transcript::{Event, Transcript, collect, collect_half, record};

/// The contract's order, asserted.
pub trait AssertOrder {
    fn assert_order(&self);
}

impl AssertOrder for Transcript {
    fn assert_order(&self) {
        assert_eq!(self.order_problem(), None, "{self:?}");
    }
}
