//! The replies a running session still waits for, oldest first, and what a
//! refusal means. Servers answer requests in order (RFC 4254 section 5.4),
//! so each `CHANNEL_SUCCESS`/`FAILURE` belongs to the oldest entry.
//!
//! Signals ask for a reply because a server may refuse them (OpenSSH's sshd
//! for root logins, servers without `signal` support) and a refused signal
//! must not leave sesh waiting for a command that was never told to stop:
//! for INT, TERM, HUP and QUIT (and `--timeout`'s TERM and KILL) sesh then
//! closes the session, as if it were a local process the signal reached. A
//! server that does not answer such a signal in time counts as refusing.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::exit::Ending;

/// How long a server has to answer a signal that asks the command to stop.
const SIGNAL_REPLY_DEADLINE: Duration = Duration::from_millis(2500);

/// A request whose reply is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Pty,
    Exec,
    /// A local signal forwarded (`timeout: None`) or `--timeout`'s.
    Signal {
        signo: i32,
        timeout: Option<Duration>,
    },
}

#[derive(Debug)]
struct Entry {
    request: Request,
    /// When silence counts as a refusal (stopping signals only).
    due: Option<Instant>,
}

/// The queue of requests waiting for their replies.
#[derive(Debug, Default)]
pub struct Pending {
    queue: VecDeque<Entry>,
    /// A refused USR1/USR2 has been reported once already.
    warned: bool,
}

impl Pending {
    /// Records a request sent with want-reply.
    pub fn push(&mut self, request: Request) {
        let due = match request {
            Request::Signal { signo, .. } if stops(signo) => Some(Instant::now() + SIGNAL_REPLY_DEADLINE),
            _ => None,
        };
        self.queue.push_back(Entry { request, due });
    }

    /// The server said yes to the oldest request.
    pub fn succeeded(&mut self) {
        self.queue.pop_front();
    }

    /// The server said no to the oldest request: `Some` when the session
    /// must end.
    pub fn failed(&mut self) -> Option<Ending> {
        let entry = self.queue.pop_front()?;
        self.refused(entry.request, true)
    }

    /// When the oldest unanswered stopping signal counts as refused.
    pub fn deadline(&self) -> Option<Instant> {
        self.queue.iter().filter_map(|entry| entry.due).min()
    }

    /// At `now`, an overdue signal counts as refused, once. Its entry stays
    /// to pair with a reply that may still come.
    pub fn overdue(&mut self, now: Instant) -> Option<Ending> {
        let entry = self
            .queue
            .iter_mut()
            .find(|entry| entry.due.is_some_and(|due| due <= now))?;
        entry.due = None;
        let request = entry.request;
        self.refused(request, false)
    }

    fn refused(&mut self, request: Request, answered: bool) -> Option<Ending> {
        match request {
            Request::Pty => {
                crate::say!("sesh: the server refused a pty; running without one");
                None
            }
            Request::Exec => Some(Ending::Failed(
                "the server refused to run the command".to_string(),
            )),
            Request::Signal { signo, timeout } if stops(signo) || timeout.is_some() => {
                Some(Ending::SignalRefused {
                    signo,
                    answered,
                    timeout,
                })
            }
            Request::Signal { signo, .. } => {
                if !std::mem::replace(&mut self.warned, true) {
                    crate::say!(
                        "sesh: the server refused signal {}; the remote command did not get it",
                        crate::signals::wire_name(signo)
                    );
                }
                None
            }
        }
    }
}

/// Whether a signal asks a process to stop (what a refusal cannot leave
/// undone): INT, TERM, HUP, QUIT, and KILL from `--timeout`.
fn stops(signo: i32) -> bool {
    crate::os_signals::STOPPING.contains(&signo) || signo == libc::SIGKILL
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(signo: i32) -> Request {
        Request::Signal { signo, timeout: None }
    }

    /// Replies pair with requests in order; a refused TERM ends the
    /// session, a refused USR1 does not, a refused pty does not.
    #[test]
    fn replies_in_order() {
        let mut pending = Pending::default();
        pending.push(Request::Pty);
        pending.push(Request::Exec);
        pending.push(signal(libc::SIGUSR1));
        pending.push(signal(libc::SIGTERM));
        assert_eq!(pending.failed(), None);
        pending.succeeded();
        assert_eq!(pending.failed(), None);
        assert_eq!(
            pending.failed(),
            Some(Ending::SignalRefused {
                signo: libc::SIGTERM,
                answered: true,
                timeout: None
            })
        );
        assert_eq!(pending.failed(), None, "an empty queue ends nothing");
    }

    /// Only stopping signals have a deadline; a refused exec is fatal.
    #[test]
    fn deadlines_and_exec() {
        let mut pending = Pending::default();
        pending.push(signal(libc::SIGUSR2));
        assert_eq!(pending.deadline(), None);
        pending.push(signal(libc::SIGQUIT));
        assert!(pending.deadline().is_some());
        assert_eq!(pending.overdue(Instant::now()), None, "not due yet");
        let mut exec = Pending::default();
        exec.push(Request::Exec);
        assert!(matches!(exec.failed(), Some(Ending::Failed(_))));
    }

    /// A signal nobody answers counts as refused once its deadline passed.
    #[test]
    fn silence_is_refusal() {
        let mut pending = Pending::default();
        pending.push(Request::Signal {
            signo: libc::SIGTERM,
            timeout: Some(Duration::from_secs(2)),
        });
        let later = Instant::now() + SIGNAL_REPLY_DEADLINE + Duration::from_millis(1);
        assert_eq!(
            pending.overdue(later),
            Some(Ending::SignalRefused {
                signo: libc::SIGTERM,
                answered: false,
                timeout: Some(Duration::from_secs(2))
            })
        );
        assert_eq!(pending.deadline(), None, "counted once");
        assert_eq!(pending.overdue(later), None);
        // The late reply pairs with the overdue entry, not the next one.
        pending.push(Request::Exec);
        pending.succeeded();
        assert!(matches!(pending.failed(), Some(Ending::Failed(_))));
    }
}
