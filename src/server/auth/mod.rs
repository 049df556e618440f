//! Who gets in: a key is admitted when the login name is the server's own
//! account and `authorized_keys` (read at every attempt) lists the key for
//! this peer; a user certificate when a trusted CA signed it and it passes
//! the checks of [`certs`]. Every refusal is counted and logged (a
//! certificate's with its key ID, serial and CA), because russh enforces
//! `--max-auth-tries` on its own (it disconnects at the next attempt once
//! the limit is used up) without telling the handler.

mod certs;
mod keys;

use std::sync::Arc;

use russh::keys::{Certificate, PublicKey};
use russh::server::Auth;

pub use certs::TrustedCaKeysFile;
pub use keys::AuthorizedKeysFile;

use super::handler::ConnectionHandler;
use crate::keys::authorized_keys::{AuthorizedKeys, KeyOptions};
use crate::keys::certificate;

impl ConnectionHandler {
    /// Whether `user` is the served account, logging a refusal when not.
    fn account_ok(&self, user: &str) -> bool {
        let account = &self.shared.config.account;
        if user != account.name {
            tracing::warn!(peer = %self.peer, user, "refused: sesh serves only the account {}", account.name);
        }
        user == account.name
    }

    /// The options of `key` when `user` may log in with it from this peer.
    pub(super) fn authorize(&self, user: &str, key: &PublicKey) -> Option<KeyOptions> {
        if !self.account_ok(user) {
            return None;
        }
        self.find_key(&*self.authorized_keys()?, user, key)
    }

    /// Whether to let a client go on to sign with an offered key. russh
    /// offers a certificate's own key here, indistinguishable from a plain
    /// one, so when any CA could vouch for it the answer is yes and the
    /// decision waits for the signed request.
    pub(super) fn offer_acceptable(&self, user: &str, key: &PublicKey) -> bool {
        if !self.account_ok(user) {
            return false;
        }
        if self.shared.config.trusted_user_ca_keys.is_some() {
            return true;
        }
        let Some(keys) = self.authorized_keys() else {
            return false;
        };
        keys.authorities().next().is_some() || self.find_key(&keys, user, key).is_some()
    }

    /// `authorized_keys` as it is now. Read at every attempt, as sshd
    /// does: edits apply without a restart, and an unsafe file refuses the
    /// login (logged), not the server.
    fn authorized_keys(&self) -> Option<Arc<AuthorizedKeys>> {
        match self.shared.config.authorized_keys.load() {
            Ok(keys) => Some(keys),
            Err(e) => {
                tracing::error!(peer = %self.peer, "refused: {e:#}");
                None
            }
        }
    }

    /// The options of the plain-key line for `key` that admits this peer.
    fn find_key(&self, keys: &AuthorizedKeys, user: &str, key: &PublicKey) -> Option<KeyOptions> {
        let found = keys.find(key, self.peer.ip()).cloned();
        if found.is_none() {
            tracing::info!(peer = %self.peer, user, key = %crate::keys::fingerprint(key), "refused a key not in authorized_keys");
        }
        found
    }

    /// The options of a user certificate when `user` may log in with it;
    /// each refusal is logged with the certificate's ID, serial and CA.
    pub(super) fn authorize_certificate(&self, user: &str, cert: &Certificate) -> Option<KeyOptions> {
        let account = &self.shared.config.account.name;
        let admitted = match user == account {
            true => self.admit(user, cert),
            false => Err(format!("sesh serves only the account {account}")),
        };
        match admitted {
            Ok((options, via)) => {
                tracing::info!(peer = %self.peer, user, "accepted certificate {} via {via}", certificate::describe(cert));
                Some(options)
            }
            Err(why) => {
                tracing::info!(peer = %self.peer, user, "refused certificate {}: {why}", certificate::describe(cert));
                None
            }
        }
    }

    /// The first CA on file that admits the certificate, or the reason of
    /// the first that signed it, or "untrusted CA".
    fn admit(&self, user: &str, cert: &Certificate) -> Result<(KeyOptions, String), String> {
        let config = &self.shared.config;
        let trusted = match &config.trusted_user_ca_keys {
            Some(file) => Some((file.path(), file.load().map_err(|e| format!("{e:#}"))?)),
            None => None,
        };
        let authorized = config.authorized_keys.load().map_err(|e| format!("{e:#}"))?;
        let trusted = trusted.as_ref().map(|(path, ca)| (*path, ca.keys.as_slice()));
        let sources = certs::sources(cert, trusted, &authorized, config.authorized_keys.path());
        let mut first_refusal = None;
        for source in &sources {
            match certs::admit(cert, source, user, self.peer.ip()) {
                Ok(options) => return Ok((options, source.name.clone())),
                Err(why) => {
                    first_refusal.get_or_insert(why);
                }
            }
        }
        Err(first_refusal.unwrap_or_else(|| format!("untrusted CA {}", certificate::ca_fingerprint(cert))))
    }

    /// Counts a refused attempt (russh counts each failure reply the same
    /// way) and says so in the log when the limit is reached.
    pub(super) fn refuse_auth(&mut self, user: &str, method: &str) -> Auth {
        self.auth_failures += 1;
        let limit = self.shared.config.limits.max_auth_tries;
        if self.auth_failures == limit {
            tracing::warn!(
                peer = %self.peer,
                user,
                limit,
                "too many authentication attempts: the next one is disconnected"
            );
        } else {
            // `none` is how clients ask for the methods: not news.
            tracing::debug!(peer = %self.peer, user, method, attempt = self.auth_failures, "refused an authentication attempt");
        }
        Auth::reject()
    }
}
