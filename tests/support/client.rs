//! A russh client for the tests that `ssh` cannot express: exit-signal
//! names, signal requests, env replies, many channels on one connection,
//! a reader that pauses.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle, Msg};
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate, load_secret_key};
use russh::{Channel, ChannelMsg};

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
        let config = Arc::new(client::Config {
            nodelay: true,
            ..Default::default()
        });
        let mut handle = client::connect(config, addr, TrustAll)
            .await
            .map_err(|e| format!("connect: {e}"))?;
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

pub fn current_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name
}

/// One message as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Data,
    Stderr,
    Eof,
    ExitStatus(u32),
    ExitSignal { name: String, core_dumped: bool },
    Success,
    Failure,
    Close,
}

/// All a channel delivered, in order.
#[derive(Debug, Default)]
pub struct Transcript {
    pub events: Vec<Event>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The channel had not closed when the time limit came.
    pub timed_out: bool,
}

impl Transcript {
    pub fn exit_status(&self) -> Option<u32> {
        self.events.iter().find_map(|e| match e {
            Event::ExitStatus(code) => Some(*code),
            _ => None,
        })
    }

    pub fn exit_signal(&self) -> Option<(String, bool)> {
        self.events.iter().find_map(|e| match e {
            Event::ExitSignal { name, core_dumped } => Some((name.clone(), *core_dumped)),
            _ => None,
        })
    }

    /// Checks the contract's order: no output after EOF, one exit report
    /// after EOF, CLOSE last.
    pub fn assert_order(&self) {
        assert!(!self.timed_out, "channel never closed: {self:?}");
        let pos = |want: fn(&Event) -> bool| self.events.iter().position(want);
        let eof = pos(|e| *e == Event::Eof).expect("EOF sent");
        let exit =
            pos(|e| matches!(e, Event::ExitStatus(_) | Event::ExitSignal { .. })).expect("exit report sent");
        let last_output = self
            .events
            .iter()
            .rposition(|e| matches!(e, Event::Data | Event::Stderr));
        assert!(
            last_output.is_none_or(|i| i < eof),
            "output after EOF: {:?}",
            self.events
        );
        assert!(eof < exit, "exit report before EOF: {:?}", self.events);
        assert_eq!(
            self.events.last(),
            Some(&Event::Close),
            "CLOSE is last: {:?}",
            self.events
        );
        let reports = self
            .events
            .iter()
            .filter(|e| matches!(e, Event::ExitStatus(_) | Event::ExitSignal { .. }))
            .count();
        assert_eq!(reports, 1, "{:?}", self.events);
    }
}

/// Reads the channel until it closes or `limit` passes.
pub async fn collect(mut channel: Channel<Msg>, limit: Duration) -> Transcript {
    let mut transcript = Transcript::default();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let message = match tokio::time::timeout_at(deadline, channel.wait()).await {
            Ok(Some(message)) => message,
            Ok(None) => break,
            Err(_) => {
                transcript.timed_out = true;
                break;
            }
        };
        if record(&mut transcript, message) {
            break;
        }
    }
    transcript
}

/// Adds one message; true when it was CLOSE.
pub fn record(transcript: &mut Transcript, message: ChannelMsg) -> bool {
    let event = match message {
        ChannelMsg::Data { data } => {
            transcript.stdout.extend_from_slice(&data);
            Event::Data
        }
        ChannelMsg::ExtendedData { data, ext: 1 } => {
            transcript.stderr.extend_from_slice(&data);
            Event::Stderr
        }
        ChannelMsg::Eof => Event::Eof,
        ChannelMsg::ExitStatus { exit_status } => Event::ExitStatus(exit_status),
        ChannelMsg::ExitSignal {
            signal_name,
            core_dumped,
            ..
        } => Event::ExitSignal {
            name: sesh::signals::sig_name(&signal_name),
            core_dumped,
        },
        ChannelMsg::Success => Event::Success,
        ChannelMsg::Failure => Event::Failure,
        ChannelMsg::Close => {
            transcript.events.push(Event::Close);
            return true;
        }
        _ => return false,
    };
    // Consecutive data messages are one event: the order is what matters.
    if !(matches!(event, Event::Data | Event::Stderr) && transcript.events.last() == Some(&event)) {
        transcript.events.push(event);
    }
    false
}
