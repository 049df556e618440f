//! A delay relay for the WAN section: a loopback TCP forwarder that holds
//! every byte for a fixed one-way delay, in both directions, with no
//! bandwidth cap. Each read chunk is stamped with its arrival and written
//! on when its time comes, by a writer thread per direction, so the relay
//! never slows a transfer beyond the delay (it carries well over 1 GB/s
//! here; the WAN section measures that with a raw TCP transfer).
//!
//! With a trace, every read is logged with its time and direction, so a
//! connection's round trips can be counted and put down to the protocol
//! step that waited for them. TCP's own handshake is not delayed (see
//! `open`): add one round trip for it on a real network.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which way a chunk went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

/// One read chunk of a traced connection: when it reached the relay
/// (since the relay accepted that connection), which way, how many bytes.
#[derive(Debug, Clone, Copy)]
pub struct Chunk {
    pub at: Duration,
    pub direction: Direction,
    pub bytes: usize,
}

/// A running relay; dropping it stops accepting (open connections run on
/// until their ends close).
pub struct Relay {
    pub port: u16,
    stop: Arc<AtomicBool>,
    trace: Option<Arc<Mutex<Vec<Chunk>>>>,
}

impl Relay {
    /// A relay on a free loopback port to `127.0.0.1:target`, delaying
    /// each direction by `one_way`; `trace` keeps a log of every chunk.
    pub fn start(target: u16, one_way: Duration, trace: bool) -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("relay: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let trace = trace.then(|| Arc::new(Mutex::new(Vec::new())));
        let (flag, log) = (stop.clone(), trace.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                if let Some(log) = &log {
                    log.lock().expect("trace lock").clear();
                }
                let (log, accepted) = (log.clone(), Instant::now());
                std::thread::spawn(move || {
                    // The server accepts when the client's SYN would have
                    // reached it; see `open`.
                    std::thread::sleep(one_way);
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", target)) {
                        let _ = open(client, server, one_way, accepted, log);
                    }
                });
            }
        });
        Ok(Self { port, stop, trace })
    }

    /// The chunks of the latest connection (empty without a trace).
    pub fn trace(&self) -> Vec<Chunk> {
        self.trace
            .as_ref()
            .map(|log| log.lock().expect("trace lock").clone())
            .unwrap_or_default()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Starts both directions of one relayed connection. The kernel has
/// completed the client's TCP handshake with the relay at once, so a real
/// path's first round trip (SYN, SYN-ACK) is not in any figure; from the
/// client's first byte on, timing is a real path's: the server accepted one
/// way after the client connected, and its first bytes (the banner) reach
/// the client one round trip after the client could send.
fn open(
    client: TcpStream,
    server: TcpStream,
    one_way: Duration,
    start: Instant,
    log: Option<Arc<Mutex<Vec<Chunk>>>>,
) -> std::io::Result<()> {
    // The delay is the relay's only cost: no Nagle on either side.
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (client2, server2) = (client.try_clone()?, server.try_clone()?);
    pipe(client, server, one_way, Direction::Up, start, log.clone());
    pipe(server2, client2, one_way, Direction::Down, start, log);
    Ok(())
}

/// What a reader hands its writer: bytes due at an instant (empty: EOF).
type Due = (Instant, Vec<u8>);

/// `from` -> `to`, each chunk written `one_way` after it was read.
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    one_way: Duration,
    direction: Direction,
    start: Instant,
    log: Option<Arc<Mutex<Vec<Chunk>>>>,
) {
    let (send, receive) = mpsc::channel::<Due>();
    let reader_end = from.try_clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = from.read(&mut buf).unwrap_or(0);
            let now = Instant::now();
            if let (Some(log), 1..) = (&log, n) {
                let at = now - start;
                log.lock()
                    .expect("trace lock")
                    .push(Chunk { at, direction, bytes: n });
            }
            if send.send((now + one_way, buf[..n].to_vec())).is_err() || n == 0 {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        for (due, bytes) in receive {
            let wait = due.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            if bytes.is_empty() {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        // The far end is gone: stop reading what nobody can receive.
        if let Ok(from) = reader_end {
            let _ = from.shutdown(Shutdown::Read);
        }
    });
}
