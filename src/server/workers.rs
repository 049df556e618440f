//! Connections spread over single-threaded runtimes, one per CPU, each
//! connection living on one of them with all its sessions' tasks.
//!
//! Why not one work-stealing runtime: a session's output pump and russh's
//! session task hand every packet to each other, and on a work-stealing
//! runtime they wake each other across threads. With the CPUs busy (the
//! `ssh` client, the command and a reader share two cores in the benchmark)
//! every such wakeup waits for a context switch: `ssh` downloading 1 GiB
//! from sesh serve moved ~310 MB/s with two worker threads and ~460 MB/s
//! with one. One runtime per CPU keeps each connection's hand-offs on one
//! thread while many connections still use every core.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc;

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The runtimes; dropping this stops them once their queues are empty,
/// cancelling whatever still runs on them.
pub struct Workers {
    queues: Vec<mpsc::UnboundedSender<Job>>,
    next: AtomicUsize,
}

impl Workers {
    /// One runtime per available CPU.
    pub fn start() -> std::io::Result<Self> {
        let count = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut queues = Vec::with_capacity(count);
        for index in 0..count {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (queue, mut jobs) = mpsc::unbounded_channel::<Job>();
            std::thread::Builder::new()
                .name(format!("connections-{index}"))
                .spawn(move || {
                    runtime.block_on(async {
                        while let Some(job) = jobs.recv().await {
                            tokio::spawn(job);
                        }
                    })
                })?;
            queues.push(queue);
        }
        Ok(Self {
            queues,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `job` on the next runtime in turn. Anything with I/O it needs
    /// must be created inside it (a socket moves as a std socket), so that
    /// its readiness events arrive on that runtime's own thread.
    pub fn spawn(&self, job: impl Future<Output = ()> + Send + 'static) {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.queues.len();
        // A runtime only stops after `Workers` is dropped.
        let _ = self.queues[index].send(Box::pin(job));
    }
}
