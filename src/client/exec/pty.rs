//! The remote command's pty (`-t`): what to ask for (TERM and the window
//! size), raw mode on the local terminal, and where size changes come
//! from. A direct run reads its own terminal and SIGWINCH; a mux master
//! has no terminal of its own, so its passenger sends the request and each
//! new size, and keeps its terminal in raw mode itself.

use serde::{Deserialize, Serialize};
use tokio::signal::unix::Signal;
use tokio::sync::mpsc;

use crate::client::terminal::{self, RawMode};

/// The pty to ask the server for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PtyRequest {
    pub term: String,
    pub cols: u32,
    pub rows: u32,
}

impl PtyRequest {
    /// This process's TERM and terminal size (xterm, 80x24 without them).
    pub fn local() -> Self {
        let term = std::env::var("TERM").unwrap_or_else(|_| "xterm".to_string());
        let (cols, rows) = terminal::size().unwrap_or((80, 24));
        Self { term, cols, rows }
    }
}

/// A session's pty: the request, and the sizes that follow it.
pub struct Pty {
    pub request: PtyRequest,
    /// Raw mode belongs to this process (a direct run on a terminal).
    raw_here: bool,
    resizes: Resizes,
}

enum Resizes {
    /// SIGWINCH: the new size is read off the local terminal.
    Winch(Option<Signal>),
    /// Sizes a passenger sent.
    Passed(mpsc::UnboundedReceiver<(u32, u32)>),
}

impl Pty {
    /// A direct run's pty: this terminal, raw while the command runs.
    pub fn local() -> Self {
        Self {
            request: PtyRequest::local(),
            raw_here: terminal::stdin_is_terminal(),
            resizes: Resizes::Winch(crate::os_signals::window_changes().ok()),
        }
    }

    /// A mux master's pty for a passenger: its request, then its sizes.
    pub fn passed(request: PtyRequest, sizes: mpsc::UnboundedReceiver<(u32, u32)>) -> Self {
        Self {
            request,
            raw_here: false,
            resizes: Resizes::Passed(sizes),
        }
    }

    /// Raw mode on the local terminal, when it is this process's to set.
    pub fn raw_mode(&self) -> Result<Option<RawMode>, String> {
        if !self.raw_here {
            return Ok(None);
        }
        RawMode::enable()
            .map(Some)
            .map_err(|e| format!("could not set raw mode: {e}"))
    }

    /// The next window size; pending for ever when none can come.
    pub async fn next_size(&mut self) -> (u32, u32) {
        match &mut self.resizes {
            // A SIGWINCH without a readable size (no terminal) is skipped.
            Resizes::Winch(Some(winch)) => {
                while winch.recv().await.is_some() {
                    if let Some(size) = terminal::size() {
                        return size;
                    }
                }
            }
            Resizes::Passed(sizes) => {
                if let Some(size) = sizes.recv().await {
                    return size;
                }
            }
            Resizes::Winch(None) => {}
        }
        std::future::pending().await
    }
}

/// [`Pty::next_size`] of a session that may have no pty.
pub async fn next_size(pty: &mut Option<Pty>) -> (u32, u32) {
    match pty {
        Some(pty) => pty.next_size().await,
        None => std::future::pending().await,
    }
}
