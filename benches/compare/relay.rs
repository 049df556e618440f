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
                let _ = open(client, target, one_way, log.clone());
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
/// client's first byte on, timing is a real path's: the server accepts one
/// way after the client connected (when its SYN would have arrived), the
/// client's first bytes arrive then too, and the server's first bytes (its
/// banner) reach the client one round trip after the client could send.
fn open(
    client: TcpStream,
    target: u16,
    one_way: Duration,
    log: Option<Arc<Mutex<Vec<Chunk>>>>,
) -> std::io::Result<()> {
    // The delay is the relay's only cost: no Nagle on either side.
    client.set_nodelay(true)?;
    let start = Instant::now();
    let (up, up_due) = mpsc::channel::<Due>();
    let (up_pool, up_free) = mpsc::channel::<Vec<u8>>();
    let client_reader = client.try_clone()?;
    let tap = Tap {
        start,
        direction: Direction::Up,
        log: log.clone(),
    };
    std::thread::spawn(move || read(client_reader, one_way, up, up_free, tap));
    std::thread::spawn(move || {
        std::thread::sleep(one_way);
        let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
            let _ = client.shutdown(Shutdown::Both);
            return;
        };
        let _ = server.set_nodelay(true);
        let (Ok(server_writer), Ok(client_end)) = (server.try_clone(), client.try_clone()) else {
            return;
        };
        std::thread::spawn(move || write(server_writer, up_due, up_pool, client_end));
        let (down, down_due) = mpsc::channel::<Due>();
        let (down_pool, down_free) = mpsc::channel::<Vec<u8>>();
        let server_end = server.try_clone();
        let tap = Tap {
            start,
            direction: Direction::Down,
            log,
        };
        std::thread::spawn(move || read(server, one_way, down, down_free, tap));
        if let Ok(server_end) = server_end {
            write(client, down_due, down_pool, server_end);
        }
    });
    Ok(())
}

/// Where a reader logs its chunks, when tracing.
struct Tap {
    start: Instant,
    direction: Direction,
    log: Option<Arc<Mutex<Vec<Chunk>>>>,
}

/// What a reader hands its writer: a buffer and how much of it is data,
/// due at an instant (no data: EOF).
type Due = (Instant, Vec<u8>, usize);

/// The size of one read. The buffers go back to the reader once written:
/// allocating (and faulting in) fresh ones per read would cap the relay
/// at a few hundred MB/s.
const CHUNK: usize = 256 * 1024;

/// How early a chunk may leave: at most 0.2 ms of a one-way delay.
const SLACK: Duration = Duration::from_micros(200);

/// Reads `from` until its end, handing each chunk on due `one_way` later.
fn read(
    mut from: TcpStream,
    one_way: Duration,
    due: mpsc::Sender<Due>,
    free: mpsc::Receiver<Vec<u8>>,
    tap: Tap,
) {
    loop {
        let mut buf = free.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
        let n = from.read(&mut buf).unwrap_or(0);
        let now = Instant::now();
        if let (Some(log), 1..) = (&tap.log, n) {
            let at = now - tap.start;
            let direction = tap.direction;
            log.lock().expect("trace lock").push(Chunk {
                at,
                direction,
                bytes: n,
            });
        }
        if due.send((now + one_way, buf, n)).is_err() || n == 0 {
            break;
        }
    }
}

/// Writes each chunk to `to` when it is due; at the end, stops the reader
/// of the other side (`from`) when `to` is gone.
fn write(mut to: TcpStream, due: mpsc::Receiver<Due>, free: mpsc::Sender<Vec<u8>>, from: TcpStream) {
    for (at, buf, n) in due {
        // A sleep costs the timer's slack (50 us or more) on top: sleeping
        // for every chunk of a stream would cap the relay there. A chunk
        // due within SLACK goes out at once, that little early.
        let wait = at.saturating_duration_since(Instant::now());
        if wait > SLACK {
            std::thread::sleep(wait);
        }
        if n == 0 {
            let _ = to.shutdown(Shutdown::Write);
            return;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        let _ = free.send(buf);
    }
    // The far end is gone: stop reading what nobody can receive.
    let _ = from.shutdown(Shutdown::Read);
}
