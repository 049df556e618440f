//! `sesh exec`: connect, check the host key, authenticate, and run one
//! remote command ([`exec`]).

pub mod auth;
mod config;
pub mod exec;
pub mod fanout;
pub mod host_key;
pub mod hosts;
mod local_io;
pub mod stdio;
pub mod target;
pub mod terminal;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::PublicKeyOrCertificate;
use tokio::net::TcpStream;

pub use config::Plan;
use host_key::Policy;
use target::Target;

/// Everything one `sesh exec` run needs, validated.
#[derive(Debug, Clone)]
pub struct ExecConfig {
    pub target: Target,
    /// The command words joined with single spaces, as ssh does.
    pub command: Vec<u8>,
    pub identities: Vec<PathBuf>,
    /// Certificates to offer with the identities they certify (ssh_config's
    /// CertificateFile); `<identity>-cert.pub` is always looked for too.
    pub certificates: Vec<PathBuf>,
    /// The identities were given with `-i` (a missing one is reported).
    pub explicit_identities: bool,
    pub host_keys: Policy,
    /// Send local stdin (`-n` turns it off).
    pub stdin: bool,
    pub pty: bool,
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    pub kill_after: Duration,
    pub connect_timeout: Duration,
    pub keepalive: Option<Duration>,
    pub status_json: Option<PathBuf>,
    pub verbose: bool,
}

/// The russh client handler: host key verification, and refusal of every
/// channel a server might try to open towards us.
pub struct ClientHandler {
    policy: Policy,
    host: String,
    port: u16,
    /// Why the host key was refused, for the error line.
    refusal: Arc<Mutex<Option<String>>>,
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

/// Runs `sesh exec` to the end: the command, the stderr line and the JSON
/// record. Returns the exit code.
pub async fn execute(config: &ExecConfig) -> u8 {
    let started = std::time::Instant::now();
    let ending = match crate::os_signals::forwarded() {
        Ok(signals) => {
            let io = stdio::SessionIo::process(config.stdin);
            exec::run(config, io, signals, tokio_util::sync::CancellationToken::new()).await
        }
        Err(e) => crate::exit::Ending::Failed(format!("{e:#}")),
    };
    if let Some(line) = ending.message(config.verbose) {
        crate::say!("sesh: {line}");
    }
    if let Some(path) = &config.status_json {
        let record = ending.record(&config.target.to_string(), started.elapsed());
        let json = serde_json::to_string(&record).expect("a record serialises");
        if let Err(e) = std::fs::write(path, json + "\n") {
            crate::say!("sesh: could not write {}: {e}", path.display());
        }
    }
    ending.code()
}

/// An authenticated connection.
pub type Connection = Handle<ClientHandler>;

/// Connects to the target, verifies its host key and authenticates.
/// `Err` is the one line to show.
pub async fn connect(config: &ExecConfig) -> Result<Connection, String> {
    let target = &config.target;
    let stream = tokio::time::timeout(config.connect_timeout, open_tcp(target))
        .await
        .map_err(|_| format!("could not connect to {}:{}: timed out", target.host, target.port))??;
    let refusal = Arc::new(Mutex::new(None));
    let handler = ClientHandler {
        policy: config.host_keys.clone(),
        host: target.host.clone(),
        port: target.port,
        refusal: refusal.clone(),
    };
    let russh_config = Arc::new(client::Config {
        // A quiet command must never be cut off; keepalives find dead peers.
        inactivity_timeout: None,
        keepalive_interval: config.keepalive,
        keepalive_max: 3,
        nodelay: true,
        preferred: crate::transport::preferred(),
        ..Default::default()
    });
    let handshake = client::connect_stream(russh_config, stream, handler);
    let mut handle = tokio::time::timeout(config.connect_timeout, handshake)
        .await
        .map_err(|_| format!("no SSH handshake from {}:{} in time", target.host, target.port))?
        .map_err(|e| match refusal.lock().expect("refusal lock").take() {
            Some(why) => why,
            None => format!("SSH handshake with {}:{} failed: {e}", target.host, target.port),
        })?;
    auth::authenticate(
        &mut handle,
        &target.user,
        &config.identities,
        &config.certificates,
        config.explicit_identities,
    )
    .await
    .map_err(|why| format!("authentication to {target} refused: {why}"))?;
    Ok(handle)
}

/// Resolves the host and connects to the first address that answers.
async fn open_tcp(target: &Target) -> Result<TcpStream, String> {
    let addresses: Vec<_> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("could not resolve {}: {e}", target.host))?
        .collect();
    let mut last = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                // connect_stream does not apply russh's `nodelay`; Nagle
                // would hold small packets for the peer's delayed ACK.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => format!("could not connect to {}:{}: {e}", target.host, target.port),
        None => format!("could not resolve {}: no addresses", target.host),
    })
}
