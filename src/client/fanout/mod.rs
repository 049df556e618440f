//! `sesh exec -H ...`: one command on many hosts at once. Each host is an
//! ordinary `sesh exec` session ([`super::exec`]) whose output goes through
//! line sinks to one printer, whose stdin is a paced broadcast of local
//! stdin, and whose signals come from one distributor.

mod printer;
mod summary;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

pub use printer::Mode;
use summary::HostResult;

use super::ExecConfig;
use super::connect::Hops;
use super::stdio::{Input, LineSink, SessionIo, Sink, Stream};
use crate::exit::Ending;

/// How a fan-out runs.
#[derive(Debug, Clone)]
pub struct FanoutOptions {
    /// Sessions at once.
    pub parallel: usize,
    pub mode: Mode,
    /// Stop launching and hang up running sessions at the first failure.
    pub fail_fast: bool,
    /// Broadcast local stdin (not `-n`, and stdin is not a terminal).
    pub stdin: bool,
}

/// Chunks of stdin a slow host may lag behind before it paces the reader.
const STDIN_QUEUE: usize = 8;

/// Runs every host's session; returns the exit code of the policy.
pub async fn run(hosts: Vec<(String, ExecConfig)>, options: FanoutOptions) -> u8 {
    let labels: Vec<String> = hosts.iter().map(|(label, _)| label.clone()).collect();
    let progress = Arc::new(summary::Progress::new(hosts.len()));
    let (piece_tx, piece_rx) = mpsc::channel(256);
    let printer = printer::spawn(
        options.mode.clone(),
        labels.clone(),
        progress.bar().clone(),
        piece_rx,
    );
    let hang_up = CancellationToken::new();
    let (mut inputs, stdin_senders) = stdin_channels(hosts.len(), options.stdin);
    // The signal whose second arrival hung everything up (0: none).
    let interrupted = Arc::new(AtomicI32::new(0));
    let signal_senders = spawn_signal_distributor(hosts.len(), hang_up.clone(), interrupted.clone());
    if options.stdin {
        tokio::spawn(broadcast_stdin(stdin_senders));
    }
    // Hosts start in list order, each when a slot frees; after a hang-up
    // (--fail-fast, a second SIGINT) the rest are not started.
    let limit = Arc::new(Semaphore::new(options.parallel.max(1)));
    // Hosts behind the same jump host share one connection to it; the
    // limit above still counts target sessions only.
    let hops = Hops::new();
    let mut tasks = Vec::new();
    for (index, ((label, mut config), signals)) in hosts.into_iter().zip(signal_senders).enumerate() {
        config.destination.hops = Some(hops.clone());
        let io = SessionIo {
            stdout: Sink::Lines(LineSink::new(
                index,
                Stream::Stdout,
                piece_tx.clone(),
                options.mode.raw(),
            )),
            stderr: Sink::Lines(LineSink::new(
                index,
                Stream::Stderr,
                piece_tx.clone(),
                options.mode.raw(),
            )),
            input: inputs[index].take().map_or(Input::None, Input::Chunks),
        };
        let permit = tokio::select! {
            permit = limit.clone().acquire_owned() => Some(permit.expect("the semaphore is never closed")),
            _ = hang_up.cancelled() => None,
        };
        let (hang_up, progress, fail_fast) = (hang_up.clone(), progress.clone(), options.fail_fast);
        let interrupted = interrupted.clone();
        tasks.push(tokio::spawn(async move {
            let result = match permit {
                Some(permit) if !hang_up.is_cancelled() => {
                    let mut result = run_host(config, io, signals, &hang_up, fail_fast).await;
                    // A hang-up by a second SIGTERM reads as TERM's, not INT's.
                    if let (Some(Ending::Interrupted(signo)), cause) =
                        (&mut result.ending, interrupted.load(Ordering::SeqCst))
                        && cause != 0
                    {
                        *signo = cause;
                    }
                    drop(permit);
                    result
                }
                _ => HostResult {
                    ending: None,
                    duration: Duration::ZERO,
                },
            };
            progress.tick(&result);
            (label, result)
        }));
    }
    drop(piece_tx);
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("a host task does not panic"));
    }
    progress.bar().finish_and_clear();
    let _ = tokio::task::spawn_blocking(move || printer.join()).await;
    let code = summary::report(&results, &options.mode);
    // A second Ctrl-C (SIGTERM) reads as 130 (143) whatever the hosts did
    // before it.
    match interrupted.load(Ordering::SeqCst) {
        0 => code,
        signo => Ending::Interrupted(signo).code(),
    }
}

/// One host's session. With `fail_fast`, a failure hangs everything up
/// before the caller frees its slot, so no waiting host starts after it.
async fn run_host(
    config: ExecConfig,
    io: SessionIo,
    signals: mpsc::UnboundedReceiver<i32>,
    hang_up: &CancellationToken,
    fail_fast: bool,
) -> HostResult {
    let begun = Instant::now();
    let ending = super::mux::run_host(&config, io, signals, hang_up.child_token()).await;
    let result = HostResult {
        ending: Some(ending),
        duration: begun.elapsed(),
    };
    if fail_fast && result.failed() {
        hang_up.cancel();
    }
    result
}

/// One bounded queue per host for stdin, or none at all.
fn stdin_channels(
    hosts: usize,
    enabled: bool,
) -> (Vec<Option<mpsc::Receiver<Bytes>>>, Vec<mpsc::Sender<Bytes>>) {
    if !enabled {
        return ((0..hosts).map(|_| None).collect(), Vec::new());
    }
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..hosts).map(|_| mpsc::channel(STDIN_QUEUE)).unzip();
    (receivers.into_iter().map(Some).collect(), senders)
}

/// Reads local stdin once and hands every chunk to every host still
/// reading. Each send waits for room, so the slowest host paces the reader
/// and memory stays at `STDIN_QUEUE` chunks per host. The senders' drop is
/// every host's EOF.
async fn broadcast_stdin(mut senders: Vec<mpsc::Sender<Bytes>>) {
    let mut stdin = super::local_io::stdin_chunks();
    while !senders.is_empty() {
        let Some(chunk) = stdin.recv().await else {
            break;
        };
        let mut open = Vec::with_capacity(senders.len());
        for sender in senders {
            // A host that finished no longer reads: leave it out.
            if sender.send(chunk.clone()).await.is_ok() {
                open.push(sender);
            }
        }
        senders = open;
    }
}

/// Forwards every local signal to every host (each host's session handles
/// a refusal by its server on its own); a second SIGINT or SIGTERM hangs up
/// all. `interrupted` records which signal that was.
fn spawn_signal_distributor(
    hosts: usize,
    hang_up: CancellationToken,
    interrupted: Arc<AtomicI32>,
) -> Vec<mpsc::UnboundedReceiver<i32>> {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..hosts).map(|_| mpsc::unbounded_channel()).unzip();
    let Ok(mut local) = crate::os_signals::forwarded() else {
        return receivers;
    };
    tokio::spawn(async move {
        let mut stop_requests = 0;
        while let Some(signo) = local.recv().await {
            if crate::os_signals::hangs_up_when_repeated(signo) {
                stop_requests += 1;
                if stop_requests > 1 {
                    // Recorded before the hang-up, so every host reads it.
                    let _ = interrupted.compare_exchange(0, signo, Ordering::SeqCst, Ordering::SeqCst);
                    hang_up.cancel();
                    continue;
                }
            }
            for sender in &senders {
                let _ = sender.send(signo);
            }
        }
    });
    receivers
}

/// Whether local stdin should be broadcast: not with `-n`, and not from a
/// terminal (nobody types the same input to a hundred hosts).
pub fn broadcast_wanted(no_stdin: bool) -> bool {
    !no_stdin && !std::io::stdin().is_terminal()
}

/// Per-host directory names: labels with `/` made safe.
pub fn dir_name(label: &str) -> PathBuf {
    PathBuf::from(label.replace('/', "_"))
}
