//! Output on its way to a passenger's stdout or stderr, never pushing back
//! on the channel: russh grants window as data arrives and a full channel
//! queue stalls the whole connection (MULTIPLEX.md 4.6), so one caller
//! whose reader is slow must not hold up the other sessions of its
//! master. Writes go into memory up to [`MEMORY`], then into an unlinked
//! temp file, and a thread drains them to the fd in order. Past [`SPILL`]
//! bytes waiting on disk a write does wait (on the session's output thread,
//! never the runtime): a reader stalled that long holds up its connection,
//! as it would a direct run's, rather than fill the disk.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Condvar, Mutex};

/// Bytes kept in memory per stream before spilling to disk.
const MEMORY: usize = 8 << 20;
/// Bytes of one stream waiting on disk before writes wait for the reader.
const SPILL: u64 = 1 << 30;
/// Bytes read back from the spill file at a time.
const CHUNK: usize = 64 * 1024;

#[derive(Default)]
struct State {
    memory: VecDeque<Vec<u8>>,
    in_memory: usize,
    /// Spilled bytes and how far they have been read back.
    file: Option<(File, u64, u64)>,
    /// No more writes: drain and stop.
    closed: bool,
    /// The fd refused a write (its reader is gone).
    broken: bool,
    /// Everything written so far reached the fd (or the fd broke).
    drained: bool,
    /// The most bytes that may wait on disk.
    spill_cap: u64,
}

/// The writing side (for `LocalOutput`); never blocks on the fd.
pub struct Spool {
    shared: Arc<(Mutex<State>, Condvar)>,
}

/// The draining side's handle: close, and wait until drained.
#[derive(Clone)]
pub struct Drain {
    shared: Arc<(Mutex<State>, Condvar)>,
}

/// A spool over `sink`, drained by its own thread; the thread ends (and
/// drops `sink`) once the spool is closed and empty, or the sink broke.
pub fn spool(sink: impl Write + Send + 'static) -> std::io::Result<(Spool, Drain)> {
    spool_capped(sink, SPILL)
}

/// [`spool`] with `spill_cap` bytes allowed on disk.
fn spool_capped(mut sink: impl Write + Send + 'static, spill_cap: u64) -> std::io::Result<(Spool, Drain)> {
    let state = State {
        spill_cap,
        ..State::default()
    };
    let shared = Arc::new((Mutex::new(state), Condvar::new()));
    let drainer = shared.clone();
    crate::threads::spawn(c"mux-out", move || {
        while let Some(chunk) = next_chunk(&drainer) {
            if sink.write_all(&chunk).is_err() {
                let (lock, ready) = &*drainer;
                let mut state = lock.lock().expect("spool lock");
                state.broken = true;
                state.drained = true;
                ready.notify_all();
                return;
            }
        }
    })?;
    Ok((
        Spool {
            shared: shared.clone(),
        },
        Drain { shared },
    ))
}

/// The oldest bytes not yet written; `None` when closed and empty.
fn next_chunk(shared: &(Mutex<State>, Condvar)) -> Option<Vec<u8>> {
    let (lock, ready) = shared;
    let mut state = lock.lock().expect("spool lock");
    loop {
        if let Some(chunk) = state.memory.pop_front() {
            state.in_memory -= chunk.len();
            return Some(chunk);
        }
        if let Some((file, written, read)) = &mut state.file {
            if *read < *written {
                let mut chunk = vec![0; CHUNK.min((*written - *read) as usize)];
                let ok = file
                    .seek(SeekFrom::Start(*read))
                    .and_then(|_| file.read_exact(&mut chunk));
                *read += chunk.len() as u64;
                // A writer may be waiting for room on disk.
                ready.notify_all();
                if ok.is_ok() {
                    return Some(chunk);
                }
            }
            // All read back: new writes may use memory again.
            state.file = None;
            continue;
        }
        state.drained = true;
        ready.notify_all();
        if state.closed {
            return None;
        }
        state = ready.wait(state).expect("spool lock");
    }
}

impl Write for Spool {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let (lock, ready) = &*self.shared;
        let mut state = lock.lock().expect("spool lock");
        while let Some((_, written, read)) = &state.file
            && written - read + data.len() as u64 > state.spill_cap
            && !state.broken
        {
            state = ready.wait(state).expect("spool lock");
        }
        if state.broken {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        state.drained = false;
        if state.file.is_none() && state.in_memory + data.len() <= MEMORY {
            state.in_memory += data.len();
            state.memory.push_back(data.to_vec());
        } else {
            if state.file.is_none() {
                state.file = Some((tempfile::tempfile()?, 0, 0));
            }
            let (file, written, _) = state.file.as_mut().expect("just made");
            file.seek(SeekFrom::Start(*written))?;
            file.write_all(data)?;
            *written += data.len() as u64;
        }
        ready.notify_all();
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let (lock, ready) = &*self.shared;
        lock.lock().expect("spool lock").closed = true;
        ready.notify_all();
    }
}

impl Drain {
    /// Blocks until everything written so far reached the fd; whether the
    /// fd broke instead. For a blocking-pool thread.
    pub fn wait(&self) -> bool {
        let (lock, ready) = &*self.shared;
        let mut state = lock.lock().expect("spool lock");
        while !state.drained {
            state = ready.wait(state).expect("spool lock");
        }
        state.broken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that takes bytes slowly.
    struct Slow(Arc<Mutex<Vec<u8>>>);

    impl Write for Slow {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            std::thread::sleep(std::time::Duration::from_micros(50));
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A sink that takes nothing until `open` is set.
    struct Gate(Arc<(Mutex<bool>, Condvar)>, Arc<Mutex<Vec<u8>>>);

    impl Write for Gate {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            let (lock, open) = &*self.0;
            let mut is_open = lock.lock().unwrap();
            while !*is_open {
                is_open = open.wait(is_open).unwrap();
            }
            self.1.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Past the disk cap a write waits for the reader, and every byte
    /// still arrives in order once it reads again.
    #[test]
    fn waits_past_the_disk_cap() {
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let got = Arc::new(Mutex::new(Vec::new()));
        let (mut spool, drain) = spool_capped(Gate(gate.clone(), got.clone()), 1 << 20).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let writer = std::thread::spawn(move || {
            let mut sent = Vec::new();
            for i in 0..(MEMORY / 65536 + 64) as u32 {
                let chunk = vec![i as u8; 65536];
                spool.write_all(&chunk).unwrap();
                sent.extend_from_slice(&chunk);
                let _ = tx.send(sent.len());
            }
            sent
        });
        // Memory (8 MiB) and the disk cap (1 MiB) fill, then writes wait.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let taken = rx.try_iter().last().unwrap_or(0);
        assert!(
            taken <= MEMORY + (1 << 20) + 2 * 65536,
            "{taken} bytes taken by a stalled spool"
        );
        assert!(taken >= MEMORY, "{taken}");
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        let sent = writer.join().unwrap();
        assert!(!drain.wait());
        assert!(got.lock().unwrap().as_slice() == sent.as_slice());
    }

    /// 20 MiB into a slow sink: the writes never wait, memory and the
    /// spill file keep the order, and every byte arrives.
    #[test]
    fn spills_in_order() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let (mut spool, drain) = spool(Slow(got.clone())).unwrap();
        let mut sent = Vec::new();
        let begun = std::time::Instant::now();
        for i in 0..320u32 {
            let chunk: Vec<u8> = (0..65536u32).map(|j| (i * 7 + j) as u8).collect();
            spool.write_all(&chunk).unwrap();
            sent.extend_from_slice(&chunk);
        }
        let took = begun.elapsed();
        assert!(!drain.wait());
        assert!(got.lock().unwrap().as_slice() == sent.as_slice());
        assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    }
}
