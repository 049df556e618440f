//! Leak checks on a running `sesh serve`: its open file descriptors and its
//! child processes, read from `/proc`. Counts settle with a bounded wait,
//! because a connection's socket and its command close a moment after the
//! client sees the end.

use std::time::Duration;

use super::Server;
use super::client::Client;

/// Open file descriptors of a process.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}

/// Direct children of a process, from every thread's `children` list.
pub fn children(pid: u32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut pids: Vec<i32> = tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<_>>()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

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
        let mut fds = fd_count(pid);
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = fd_count(pid);
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
        super::eventually_async(Duration::from_secs(20), || fd_count(pid) <= self.fds).await
    }

    /// The server still serves a normal client, and after that client has
    /// gone it holds no more descriptors than at the baseline and no child
    /// process (bounded wait of 20 s for both).
    pub async fn assert_no_leak(&self, server: &Server) {
        assert_serves(server).await;
        let pid = server.child.id();
        let settled = super::eventually_async(Duration::from_secs(20), || {
            fd_count(pid) <= self.fds && children(pid).is_empty()
        })
        .await;
        assert!(
            settled,
            "leak: {} fds (baseline {}), children {:?}\nlog:\n{}",
            fd_count(pid),
            self.fds,
            children(pid),
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
