//! The server `sesh test` checks when given no target: a sesh serve in this
//! process on a free loopback port, with a fresh host key and a fresh
//! client key that only this run knows.

use color_eyre::eyre::{WrapErr, eyre};
use russh::keys::ssh_key::LineEnding;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cli::AccessArgs;
use crate::server::{self, ServerConfig};

/// A running embedded server; stopped by [`Embedded::stop`].
pub struct Embedded {
    /// The target and access arguments that reach it.
    pub target: String,
    pub access: AccessArgs,
    stop: oneshot::Sender<()>,
    task: JoinHandle<color_eyre::Result<()>>,
    _keys: tempfile::TempDir,
}

impl Embedded {
    pub async fn start() -> color_eyre::Result<Self> {
        let keys = tempfile::tempdir().wrap_err("could not create a temporary directory")?;
        let identity = keys.path().join("id_ed25519");
        let client_key = crate::keys::generate_ed25519()?;
        client_key
            .write_openssh_file(&identity, LineEnding::LF)
            .map_err(|e| eyre!("could not write the client key: {e}"))?;
        let public = client_key
            .public_key()
            .to_openssh()
            .map_err(|e| eyre!("could not encode a key: {e}"))?;
        let authorized_keys = keys.path().join("authorized_keys");
        std::fs::write(&authorized_keys, format!("{public}\n"))
            .wrap_err("could not write authorized_keys")?;

        let config = ServerConfig::embedded(authorized_keys)?;
        let fingerprint = crate::keys::fingerprint(config.host_key.public_key());
        let listeners = server::bind(&config).await?;
        let port = listeners.local_addrs()?[0].port();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(config, listeners, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            target: format!("127.0.0.1:{port}"),
            access: AccessArgs {
                identity: vec![identity],
                known_hosts: None,
                accept_new: false,
                host_key: Some(fingerprint),
                jump: None,
            },
            stop,
            task,
            _keys: keys,
        })
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
