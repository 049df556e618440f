//! What a request does to a session channel: admitting it (within the
//! connection's session limit), applying what must come before its command
//! (pty, env), starting the command once, and forwarding what comes after
//! (window changes, signals) to the channel's session task.

use russh::server::{Msg, Session};
use russh::{Channel, ChannelId};
use tokio::sync::mpsc;

use super::ConnectionHandler;
use crate::server::job::Stop;
use crate::server::request::{MAX_ENV, MAX_ENV_BYTES, Request, SessionSetup};
use crate::server::session::{self, Control, SessionContext};

/// A session channel as the handler sees it.
pub(in crate::server) struct ChannelEntry {
    pub(super) setup: SessionSetup,
    pub(super) control: mpsc::UnboundedSender<Control>,
    /// The job is a builtin (SFTP), which takes no signals.
    pub(super) builtin: bool,
}

impl ConnectionHandler {
    /// Takes a new session channel unless the connection is at its limit,
    /// and starts its task, which drains the channel at once: a Channel
    /// left unread can stall the whole connection (RUSSH.md 2.3).
    pub(super) fn admit_channel(&mut self, channel: Channel<Msg>, session: &Session) -> bool {
        // A session whose task has ended no longer counts against the limit.
        self.channels.retain(|_, entry| !entry.control.is_closed());
        let limit = self.shared.config.limits.max_sessions;
        if self.channels.len() >= limit {
            tracing::warn!(peer = %self.peer, limit, "refused a session channel: too many on this connection");
            return false;
        }
        let (control, control_rx) = mpsc::unbounded_channel();
        let context = SessionContext {
            handle: session.handle(),
            peer: self.peer,
            user: self.shared.config.account.name.clone(),
            shutdown: self.shutdown.clone(),
            hangup_grace: self.shared.config.limits.hangup_grace,
        };
        self.channels.insert(
            channel.id(),
            ChannelEntry {
                setup: SessionSetup::default(),
                control,
                builtin: false,
            },
        );
        self.sessions.spawn(session::run(channel, control_rx, context));
        true
    }

    pub(super) fn reply(session: &mut Session, id: ChannelId, ok: bool) -> Result<(), russh::Error> {
        if ok {
            session.channel_success(id)
        } else {
            session.channel_failure(id)
        }
    }

    /// Starts the command of `request` when the channel has none yet.
    pub(super) fn start(&mut self, id: ChannelId, request: Request) -> bool {
        let shared = self.shared.clone();
        let Some(entry) = self.channels.get_mut(&id) else {
            return false;
        };
        if entry.setup.started || entry.control.is_closed() {
            tracing::warn!(peer = %self.peer, channel = %id, "refused a second command on one channel");
            return false;
        }
        let Some(plan) = entry
            .setup
            .plan(&shared.config, &self.grant, request, self.peer, self.local)
        else {
            return false;
        };
        let job = match crate::server::job::start(&plan.job) {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(peer = %self.peer, channel = %id, "could not start {}: {e}", plan.what);
                return false;
            }
        };
        entry.setup.started = true;
        entry.builtin = matches!(job.stop, Stop::Builtin(_));
        let started = Control::Started {
            job: Box::new(job),
            what: plan.what,
        };
        match entry.control.send(started) {
            Ok(()) => true,
            Err(mpsc::error::SendError(Control::Started { job, .. })) => {
                // The channel ended while the command started: nobody will
                // ever read it, so it must not outlive this moment.
                job.stop.kill();
                false
            }
            Err(_) => false,
        }
    }

    /// Applies a request that is only valid before the command starts.
    pub(super) fn before_start(
        &mut self,
        id: ChannelId,
        apply: impl FnOnce(&mut SessionSetup) -> bool,
    ) -> bool {
        match self.channels.get_mut(&id) {
            Some(entry) if !entry.setup.started => apply(&mut entry.setup),
            _ => false,
        }
    }

    /// Records an `env` value when the allow-list and the channel's limits
    /// admit it.
    pub(super) fn set_env(&mut self, id: ChannelId, name: &str, value: &str) -> bool {
        let peer = self.peer;
        if !crate::server::env::accepted(&self.shared.config.accept_env, name) {
            tracing::debug!(%peer, channel = %id, name, "refused env request");
            return false;
        }
        self.before_start(id, |setup| match setup.set_env(name, value) {
            Ok(()) => true,
            Err(limit) => {
                // Once per channel: a flood of requests is no flood of lines.
                if limit.first {
                    tracing::warn!(%peer, channel = %id, name, max_vars = MAX_ENV, max_bytes = MAX_ENV_BYTES,
                        "refused env requests past the session's limits");
                }
                false
            }
        })
    }

    /// Forwards a control message to a running session.
    pub(super) fn forward(&self, id: ChannelId, message: Control) -> bool {
        match self.channels.get(&id) {
            Some(entry) if entry.setup.started => entry.control.send(message).is_ok(),
            _ => false,
        }
    }
}
