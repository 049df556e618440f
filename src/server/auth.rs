//! Who gets in: a key is admitted when the login name is the server's own
//! account and `authorized_keys` (read at every attempt) lists the key for
//! this peer. Every refusal is counted and logged, because russh enforces
//! `--max-auth-tries` on its own (it disconnects at the next attempt once
//! the limit is used up) without telling the handler.

use russh::keys::PublicKey;
use russh::server::Auth;

use super::handler::ConnectionHandler;
use crate::keys::authorized_keys::KeyOptions;

impl ConnectionHandler {
    /// The options of `key` when `user` may log in with it from this peer.
    pub(super) fn authorize(&self, user: &str, key: &PublicKey) -> Option<KeyOptions> {
        let account = &self.shared.config.account;
        if user != account.name {
            tracing::warn!(peer = %self.peer, user, "refused: sesh serves only the account {}", account.name);
            return None;
        }
        // Read at every attempt, as sshd does: edits apply without a
        // restart, and an unsafe file refuses the login, not the server.
        let keys = match self.shared.config.authorized_keys.load() {
            Ok(keys) => keys,
            Err(e) => {
                tracing::error!(peer = %self.peer, "refused: {e:#}");
                return None;
            }
        };
        let found = keys.find(key, self.peer.ip()).cloned();
        if found.is_none() {
            tracing::info!(peer = %self.peer, user, key = %crate::keys::fingerprint(key), "refused a key not in authorized_keys");
        }
        found
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
