//! Threads for blocking work that come back for more. A session in a mux
//! master runs its passenger's stdin, stdout and two output drains on
//! threads of their own; starting four new ones per call (each with its
//! stack, guard page, signal stack and a handful of syscalls) sat between
//! the passenger's request and the master's `opened`. A finished job's
//! thread waits [`IDLE`] for the next one, then exits.
//!
//! There is no cap: a job never waits for a thread (a session's threads
//! wait on each other's progress, so a bounded pool could stall). Jobs
//! must return when their work is done, as every caller's do.

use std::ffi::CStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// How long a thread without a job stays.
const IDLE: Duration = Duration::from_secs(10);

/// A job and the name its thread takes for it (as `ps -L` shows).
type Job = (&'static CStr, Box<dyn FnOnce() + Send>);

/// Threads waiting for a job, each by its number and its inbox.
static WAITING: Mutex<Vec<(u64, Sender<Job>)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Runs `job` on a waiting thread, else on a new one named `name`.
pub fn spawn(name: &'static CStr, job: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    let mut job: Job = (name, Box::new(job));
    while let Some((_, inbox)) = waiting().pop() {
        // A listed thread is waiting on its inbox (one that gives up
        // takes itself off the list first), so this fails only if it died.
        match inbox.send(job) {
            Ok(()) => return Ok(()),
            Err(mpsc::SendError(back)) => job = back,
        }
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    std::thread::Builder::new()
        .name(name.to_string_lossy().into_owned())
        .spawn(move || serve(id, job.1))
        .map(drop)
}

fn waiting() -> std::sync::MutexGuard<'static, Vec<(u64, Sender<Job>)>> {
    // A panic while the list was locked leaves whole entries in it.
    WAITING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs jobs until none comes for [`IDLE`].
fn serve(id: u64, first: Box<dyn FnOnce() + Send>) {
    let mut job = first;
    loop {
        job();
        let Some((name, next)) = next_job(id) else {
            return;
        };
        let _ = nix::sys::prctl::set_name(name);
        job = next;
    }
}

/// Lists thread `id` as waiting and takes the next job, or `None` after
/// [`IDLE`] without one.
fn next_job(id: u64) -> Option<Job> {
    let (inbox, jobs): (Sender<Job>, Receiver<Job>) = mpsc::channel();
    waiting().push((id, inbox));
    match jobs.recv_timeout(IDLE) {
        Ok(job) => return Some(job),
        Err(RecvTimeoutError::Disconnected) => return None,
        Err(RecvTimeoutError::Timeout) => {}
    }
    let mut list = waiting();
    match list.iter().position(|(listed, _)| *listed == id) {
        Some(at) => {
            list.swap_remove(at);
            None
        }
        // Taken off the list just now: its job is on the way.
        None => {
            drop(list);
            jobs.recv().ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The tests share the process's waiting threads.
    static SERIAL: Mutex<()> = Mutex::new(());

    #[test]
    fn a_finished_thread_takes_the_next_job() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let (done, finished) = mpsc::channel();
        let done2 = done.clone();
        spawn(c"t", move || done.send(std::thread::current().id()).unwrap()).unwrap();
        let first = finished.recv().unwrap();
        // Let the thread put itself on the list.
        std::thread::sleep(Duration::from_millis(50));
        spawn(c"t", move || done2.send(std::thread::current().id()).unwrap()).unwrap();
        assert_eq!(finished.recv().unwrap(), first);
    }

    #[test]
    fn jobs_that_wait_on_each_other_all_run() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let count = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel::<()>();
        let barrier = Arc::new(std::sync::Barrier::new(20));
        for _ in 0..20 {
            let (barrier, count, tx) = (barrier.clone(), count.clone(), tx.clone());
            spawn(c"t", move || {
                barrier.wait();
                count.fetch_add(1, Ordering::SeqCst);
                drop(tx);
            })
            .unwrap();
        }
        drop(tx);
        // Every sender gone (each job ran past the barrier), not a timeout.
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)),
            Err(RecvTimeoutError::Disconnected)
        );
        assert_eq!(count.load(Ordering::SeqCst), 20);
    }
}
