//! Leak checks on a running `sesh serve` for async tests: its open file
//! descriptors and child processes (`holdings`), against a baseline taken
//! once it has served a command. Counts settle with a bounded wait that
//! keeps the runtime running (the client's own sockets must close too),
//! because a connection's socket and its command go a moment after the
//! client sees the end.

use std::time::Duration;

use super::client::Client;
use super::{Server, holdings};

/// The server's descriptor count once it has served one command, so that
/// what is opened once and kept (the child-reaping machinery, say) is part
/// of the baseline.
pub struct Baseline {
    fds: usize,
}

impl Baseline {
    /// Runs one command as a normal client and records the settled count.
    pub async fn take(server: &Server) -> Self {
        assert_serves(server).await;
        let pid = server.child.id();
        // Settled: the same count twice, 200 ms apart (bounded).
        let mut fds = holdings(pid).fds;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = holdings(pid).fds;
            if now == fds {
                break;
            }
            fds = now;
        }
        Self { fds }
    }

    /// Whether the server is back to the baseline's descriptors within 20 s
    /// (so it has closed its end of connections a test still holds open).
    pub async fn released(&self, server: &Server) -> bool {
        let pid = server.child.id();
        super::eventually_async(Duration::from_secs(20), || holdings(pid).fds <= self.fds).await
    }

    /// The server still serves a normal client, and after that client has
    /// gone it holds no more descriptors than at the baseline and no child
    /// process (bounded wait of 20 s for both).
    pub async fn assert_no_leak(&self, server: &Server) {
        assert_serves(server).await;
        let pid = server.child.id();
        let settled = super::eventually_async(Duration::from_secs(20), || {
            let now = holdings(pid);
            now.fds <= self.fds && now.children == 0
        })
        .await;
        assert!(
            settled,
            "leak: {:?} (baseline {} fds)\nlog:\n{}",
            holdings(pid),
            self.fds,
            server.log()
        );
    }
}

/// A normal client logs in and runs a command successfully.
pub async fn assert_serves(server: &Server) {
    let client = Client::login_when_admitted(server.addr, &server.keys.identity()).await;
    let transcript = client.run("echo serving").await;
    assert_eq!(
        transcript.stdout,
        b"serving\n",
        "{transcript:?}\nlog:\n{}",
        server.log()
    );
    assert_eq!(transcript.exit_status(), Some(0), "{transcript:?}");
}
