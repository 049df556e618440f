//! The russh `Handler` of one connection: it authenticates, decides on each
//! channel request and answers it at once, and hands what it accepted to
//! the channel's session task. It never waits on a command's I/O.
//!
//! Here the connection's state and the answers; what a request does to a
//! channel (admitting it, starting its command, env, signals) is
//! [`channels`]'s; authentication is `super::auth`'s.

mod channels;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use russh::keys::Certificate;
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure, Pty, Sig};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Shared;
use super::pty::WindowSize;
use super::request::Request;
use super::session::Control;
use crate::keys::authorized_keys::KeyOptions;

/// State of one connection.
pub struct ConnectionHandler {
    pub(super) shared: Arc<Shared>,
    pub(super) peer: SocketAddr,
    pub(super) local: SocketAddr,
    /// Set once a key is accepted; the login grace timer reads it.
    pub(super) authenticated: Arc<AtomicBool>,
    pub(super) shutdown: CancellationToken,
    pub(super) sessions: TaskTracker,
    /// The options of the key or certificate that logged in.
    pub(super) grant: KeyOptions,
    pub(super) channels: HashMap<ChannelId, channels::ChannelEntry>,
    /// Authentication attempts refused so far (see `auth`).
    pub(super) auth_failures: usize,
}

impl russh::server::Handler for ConnectionHandler {
    type Error = russh::Error;

    async fn auth_none(&mut self, user: &str) -> Result<Auth, Self::Error> {
        Ok(self.refuse_auth(user, "none"))
    }

    async fn auth_password(&mut self, user: &str, _: &str) -> Result<Auth, Self::Error> {
        Ok(self.refuse_auth(user, "password"))
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _: &str,
        _: Option<russh::server::Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        Ok(self.refuse_auth(user, "keyboard-interactive"))
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(match self.offer_acceptable(user, offer.public_key) {
            true => Auth::Accept,
            false => self.refuse_auth(user, "publickey"),
        })
    }

    async fn auth_publickey(&mut self, user: &str, key: VerifiedPublicKey<'_>) -> Result<Auth, Self::Error> {
        let Some(grant) = self.authorize(user, key.public_key) else {
            return Ok(self.refuse_auth(user, "publickey"));
        };
        tracing::info!(peer = %self.peer, user, key = %crate::keys::fingerprint(key.public_key), "authenticated");
        self.grant = grant;
        self.authenticated.store(true, Ordering::Release);
        Ok(Auth::Accept)
    }

    async fn auth_openssh_certificate(
        &mut self,
        user: &str,
        cert: &Certificate,
    ) -> Result<Auth, Self::Error> {
        let Some(grant) = self.authorize_certificate(user, cert) else {
            return Ok(self.refuse_auth(user, "publickey"));
        };
        self.grant = grant;
        self.authenticated.store(true, Ordering::Release);
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.admit_channel(channel, session) {
            true => reply.accept().await,
            false => reply.reject(ChannelOpenFailure::ResourceShortage).await,
        }
        Ok(())
    }

    async fn channel_close(&mut self, id: ChannelId, _: &mut Session) -> Result<(), Self::Error> {
        self.channels.remove(&id);
        Ok(())
    }

    async fn pty_request(
        &mut self,
        id: ChannelId,
        term: &str,
        cols: u32,
        rows: u32,
        pix_width: u32,
        pix_height: u32,
        _modes: &[(Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let size = WindowSize {
            cols,
            rows,
            pix_width,
            pix_height,
        };
        let ok = !self.grant.no_pty && self.before_start(id, |setup| setup.request_pty(term, size));
        Self::reply(session, id, ok)
    }

    async fn env_request(
        &mut self,
        id: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let ok = self.set_env(id, name, value);
        Self::reply(session, id, ok)
    }

    async fn exec_request(
        &mut self,
        id: ChannelId,
        command: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let ok = self.start(id, Request::Exec(command.to_vec()));
        Self::reply(session, id, ok)
    }

    async fn shell_request(&mut self, id: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        let ok = self.start(id, Request::Shell);
        Self::reply(session, id, ok)
    }

    async fn subsystem_request(
        &mut self,
        id: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let ok = self.start(id, Request::Subsystem(name.to_string()));
        Self::reply(session, id, ok)
    }

    async fn window_change_request(
        &mut self,
        id: ChannelId,
        cols: u32,
        rows: u32,
        pix_width: u32,
        pix_height: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let size = WindowSize {
            cols,
            rows,
            pix_width,
            pix_height,
        };
        let ok = match self.channels.get_mut(&id) {
            Some(entry) if !entry.setup.has_pty() => false,
            Some(entry) if !entry.setup.started => entry.setup.request_pty_size(size),
            Some(_) => self.forward(id, Control::Resize(size)),
            None => false,
        };
        Self::reply(session, id, ok)
    }

    async fn signal(&mut self, id: ChannelId, signal: Sig, session: &mut Session) -> Result<(), Self::Error> {
        let name = crate::signals::sig_name(&signal);
        let builtin = self.channels.get(&id).is_some_and(|entry| entry.builtin);
        let ok = match crate::signals::wire_number(&name) {
            Some(_) if builtin => {
                tracing::debug!(peer = %self.peer, channel = %id, name, "refused a signal to a builtin");
                false
            }
            Some(signo) => self.forward(id, Control::Signal(signo)),
            None => {
                tracing::warn!(peer = %self.peer, channel = %id, name, "refused an unknown signal");
                false
            }
        };
        Self::reply(session, id, ok)
    }

    async fn x11_request(
        &mut self,
        id: ChannelId,
        _: bool,
        _: &str,
        _: &str,
        _: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(id)
    }
}
