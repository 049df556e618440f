//! Public-key authentication for `sesh exec`: keys and certificates held
//! by the ssh-agent first, then identity files, each preceded by its
//! certificates (`<identity>-cert.pub`, as OpenSSH looks for it, and any
//! certificate given for that key). RSA keys sign with rsa-sha2 (modern
//! sshd refuses SHA-1). An encrypted key asks for its passphrase only when
//! a terminal can be asked; otherwise it is skipped with the reason, so a
//! script never hangs on a prompt nobody can answer.
//!
//! Keys whose private half is here (identity files, their certificates)
//! send the signed request at once: one round trip less than asking first
//! whether the server would take the key (vendor/russh/SESH_PATCH.md).
//! Agent keys are still asked about first, as OpenSSH does: an agent
//! signature may need its user's confirmation or a touch (`ssh-add -c`,
//! FIDO keys), which a key the server refuses should not cost.

mod signer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::MethodSet;
use russh::client::{self, Handle};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::ssh_key::certificate::CertType;
use russh::keys::{Algorithm, Certificate, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};

use super::terminal;
use crate::keys::certificate::{self, Principals};
use crate::parsed_files::ParsedFiles;

/// The identity files tried when none is given.
pub fn default_identities(home: &Path) -> Vec<PathBuf> {
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|name| home.join(".ssh").join(name))
        .collect()
}

/// Which ssh-agent to ask (IdentityAgent) and which of its keys to offer
/// (IdentitiesOnly).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct AgentUse {
    pub socket: AgentSocket,
    /// Offer only agent keys whose public half is that of an identity file.
    pub identities_only: bool,
}

/// Where the agent listens.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AgentSocket {
    /// `SSH_AUTH_SOCK` (the default).
    #[default]
    Env,
    /// `IdentityAgent none`: no agent.
    Off,
    /// A socket path (IdentityAgent, expanded).
    Path(PathBuf),
}

/// `<identity>-cert.pub`: where OpenSSH looks for an identity's certificate.
pub fn default_certificate(identity: &Path) -> PathBuf {
    let mut name = identity.as_os_str().to_owned();
    name.push("-cert.pub");
    PathBuf::from(name)
}

/// Tries every key until one is accepted; `Err` lists what was tried, why
/// each failed, and which methods the server would accept. `certificates`
/// (ssh_config's CertificateFile) are offered with the identity whose key
/// they certify, before it.
pub async fn authenticate<H: client::Handler>(
    handle: &mut Handle<H>,
    user: &str,
    identities: &[PathBuf],
    certificates: &[PathBuf],
    explicit: bool,
    agent: &AgentUse,
) -> Result<(), String> {
    let mut attempt = Attempt {
        handle,
        user,
        certificates,
        tried: Vec::new(),
        remaining: None,
        rsa_hash: None,
    };
    let only = agent.identities_only.then(|| public_halves(identities));
    if attempt.with_agent(&agent.socket, only.as_deref()).await? {
        return Ok(());
    }
    for path in identities {
        if attempt.with_file(path, explicit).await? {
            return Ok(());
        }
    }
    Err(attempt.refusal())
}

struct Attempt<'a, H: client::Handler> {
    handle: &'a mut Handle<H>,
    user: &'a str,
    certificates: &'a [PathBuf],
    tried: Vec<String>,
    remaining: Option<MethodSet>,
    /// The server's rsa-sha2 choice, asked once and only for RSA keys.
    rsa_hash: Option<Option<HashAlg>>,
}

impl<H: client::Handler> Attempt<'_, H> {
    async fn hash_for(&mut self, key: &PublicKey) -> Option<HashAlg> {
        if !matches!(key.algorithm(), Algorithm::Rsa { .. }) {
            return None;
        }
        if self.rsa_hash.is_none() {
            let hash = self
                .handle
                .best_supported_rsa_hash()
                .await
                .ok()
                .flatten()
                .flatten();
            self.rsa_hash = Some(hash.or(Some(HashAlg::Sha512)));
        }
        self.rsa_hash.flatten()
    }

    fn record(&mut self, result: client::AuthResult) -> bool {
        match result {
            client::AuthResult::Success => true,
            client::AuthResult::Failure {
                remaining_methods, ..
            } => {
                self.remaining = Some(remaining_methods);
                false
            }
        }
    }

    async fn with_agent(&mut self, socket: &AgentSocket, only: Option<&[PublicKey]>) -> Result<bool, String> {
        let connected = match socket {
            AgentSocket::Off => return Ok(false),
            AgentSocket::Env if std::env::var_os("SSH_AUTH_SOCK").is_none() => return Ok(false),
            AgentSocket::Env => AgentClient::connect_env().await,
            AgentSocket::Path(path) => AgentClient::connect_uds(path).await,
        };
        let mut agent = match connected {
            Ok(agent) => agent,
            Err(e) => {
                self.tried.push(format!("ssh-agent (unreachable: {e})"));
                return Ok(false);
            }
        };
        let mut identities = agent.request_identities().await.unwrap_or_default();
        if let Some(only) = only {
            identities.retain(|identity| {
                only.iter()
                    .any(|key| key.key_data() == identity.public_key().key_data())
            });
        }
        if identities.is_empty() {
            self.tried.push("ssh-agent (no keys)".to_string());
        }
        for identity in identities {
            if self.with_agent_identity(identity, &mut agent).await {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Offers one agent identity, a key or a certificate.
    async fn with_agent_identity<S>(&mut self, identity: AgentIdentity, agent: &mut S) -> bool
    where
        S: russh::Signer,
        S::Error: std::fmt::Display,
    {
        let key = identity.public_key().into_owned();
        let hash = self.hash_for(&key).await;
        let result = match identity {
            AgentIdentity::Certificate { certificate, .. } => {
                let note = offer_note(&certificate, self.user).map(|why| format!(" ({why})"));
                let described = certificate::describe(&certificate);
                self.tried.push(format!(
                    "agent certificate {described}{}",
                    note.unwrap_or_default()
                ));
                self.handle
                    .authenticate_certificate_with(self.user, certificate, hash, agent)
                    .await
            }
            AgentIdentity::PublicKey { .. } => {
                self.tried
                    .push(format!("agent key {}", crate::keys::fingerprint(&key)));
                self.handle
                    .authenticate_publickey_with(self.user, key, hash, agent)
                    .await
            }
        };
        match result {
            Ok(result) => self.record(result),
            Err(e) => {
                tracing::debug!("agent signing failed: {e}");
                false
            }
        }
    }

    async fn with_file(&mut self, path: &Path, explicit: bool) -> Result<bool, String> {
        let shown = path.display();
        if !path.exists() {
            if explicit {
                self.tried.push(format!("{shown} (not found)"));
            }
            return Ok(false);
        }
        let key = match load(path) {
            Ok(key) => key,
            Err(why) => {
                self.tried.push(format!("{shown} ({why})"));
                return Ok(false);
            }
        };
        let hash = self.hash_for(key.public_key()).await;
        if self.with_certificates(path, &key, hash).await? {
            return Ok(true);
        }
        self.tried.push(shown.to_string());
        let result = self
            .handle
            .authenticate_publickey(self.user, PrivateKeyWithHashAlg::new(key, hash))
            .await
            .map_err(|e| format!("authentication failed: {e}"))?;
        Ok(self.record(result))
    }

    /// Offers the certificates of the identity at `path`, signing with `key`.
    async fn with_certificates(
        &mut self,
        path: &Path,
        key: &Arc<PrivateKey>,
        hash: Option<HashAlg>,
    ) -> Result<bool, String> {
        for (cert_path, cert) in self.certificates_for(path, key) {
            let note = offer_note(&cert, self.user).map(|why| format!(", {why}"));
            let described = certificate::describe(&cert);
            self.tried.push(format!(
                "{} ({described}{})",
                cert_path.display(),
                note.unwrap_or_default()
            ));
            let result = if hash.is_none() {
                // Signed at once, without the query round trip (see
                // vendor/russh/SESH_PATCH.md); russh's certificate method
                // has no rsa-sha2 choice, so RSA keys take the one below.
                self.handle
                    .authenticate_openssh_cert(self.user, key.clone(), cert)
                    .await
                    .map_err(|e| e.to_string())
            } else {
                let mut signer = signer::FileSigner(key.clone());
                self.handle
                    .authenticate_certificate_with(self.user, cert, hash, &mut signer)
                    .await
                    .map_err(|e| e.to_string())
            }
            .map_err(|e| format!("authentication failed: {e}"))?;
            if self.record(result) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The certificates to offer with the identity at `path`: its
    /// `-cert.pub`, then the given certificates, each only when it
    /// certifies this key (as ssh, which skips a mismatched one).
    fn certificates_for(&mut self, path: &Path, key: &PrivateKey) -> Vec<(PathBuf, Certificate)> {
        let default = default_certificate(path);
        let explicit = self.certificates.iter().filter(|c| **c != default);
        let mut found = Vec::new();
        for cert_path in std::iter::once(&default).chain(explicit) {
            let cert = match Certificate::read_file(cert_path) {
                Ok(cert) => cert,
                Err(_) if *cert_path == default && !cert_path.exists() => continue,
                Err(e) => {
                    self.tried
                        .push(format!("{} (unreadable: {e})", cert_path.display()));
                    continue;
                }
            };
            if cert.public_key() == key.public_key().key_data() {
                found.push((cert_path.clone(), cert));
            } else if *cert_path == default {
                // A given certificate for another key is that identity's.
                self.tried
                    .push(format!("{} (certifies another key)", cert_path.display()));
            }
        }
        found
    }

    fn refusal(&self) -> String {
        let tried = if self.tried.is_empty() {
            "no keys (no ssh-agent, no identity file; give one with -i)".to_string()
        } else {
            self.tried.join(", ")
        };
        let methods = match &self.remaining {
            Some(methods) => {
                let names: Vec<&str> = methods.iter().map(<&str>::from).collect();
                format!("; the server accepts: {}", names.join(","))
            }
            None => String::new(),
        };
        format!("tried {tried}{methods}")
    }
}

/// The public halves of the identity files (`PATH.pub`, else the private
/// key when it needs no passphrase), for IdentitiesOnly.
fn public_halves(identities: &[PathBuf]) -> Vec<PublicKey> {
    identities
        .iter()
        .filter_map(|path| {
            let mut public = path.clone().into_os_string();
            public.push(".pub");
            russh::keys::load_public_key(&public).ok().or_else(|| {
                russh::keys::load_secret_key(path, None)
                    .ok()
                    .map(|k| k.public_key().clone())
            })
        })
        .collect()
}

/// Why the server will likely refuse a certificate of ours, if it shows
/// here: it is offered anyway (clocks may disagree, the server may map
/// names), but a script's reader should see the probable reason.
fn offer_note(cert: &Certificate, user: &str) -> Option<String> {
    let principals =
        certificate::principals_ok(cert.valid_principals(), CertType::User, Principals::Name(user));
    certificate::validity_now(cert).and(principals).err()
}

/// Loads a private key, asking for its passphrase on the terminal if it
/// is encrypted and a terminal is there. A key file without a passphrase
/// is decoded once per process while unchanged (a fan-out signs with it
/// for every host; decoding derives its public half, a curve point
/// multiplication each time); a decrypted key is never kept.
fn load(path: &Path) -> Result<Arc<PrivateKey>, String> {
    static PLAIN: ParsedFiles<PrivateKey> = ParsedFiles::new();
    match PLAIN.get(path, || russh::keys::load_secret_key(path, None)) {
        Ok(key) => Ok(key),
        Err(russh::keys::Error::KeyIsEncrypted) => {
            let prompt = format!("Enter passphrase for key '{}': ", path.display());
            let Some(passphrase) = terminal::ask_secret(&prompt) else {
                return Err(
                    "encrypted, and its passphrase was not given (no terminal to ask on, or the prompt was left): add it to ssh-agent".into(),
                );
            };
            russh::keys::load_secret_key(path, Some(&passphrase))
                .map(Arc::new)
                .map_err(|_| "wrong passphrase".to_string())
        }
        Err(e) => Err(format!("unreadable: {e}")),
    }
}
