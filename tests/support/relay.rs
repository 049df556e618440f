//! A delay relay on loopback: every byte crosses it `delay` late, in both
//! directions, with no bandwidth cap, so a test sees a long path (a round
//! trip of twice the delay) without leaving 127.0.0.1. Each direction is a
//! reader thread that stamps what it reads and a writer thread that sends
//! it when its time comes; EOF crosses the same way.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running relay to one target; stops accepting when dropped.
pub struct Relay {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Relay {
    /// Relays 127.0.0.1:(a free port) to `target`, `delay` each way.
    pub fn start(target: SocketAddr, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("relay binds");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let (Ok(client), Ok(server)) = (client, TcpStream::connect(target)) else {
                    continue;
                };
                for (from, to) in [(&client, &server), (&server, &client)] {
                    let _ = from.set_nodelay(true);
                    pump(from.try_clone().unwrap(), to.try_clone().unwrap(), delay);
                }
            }
        });
        Self { addr, stop }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Carries `from`'s bytes to `to`, each chunk `delay` after it was read.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0; 256 * 1024];
        loop {
            let n = from.read(&mut buf).unwrap_or(0);
            // An empty chunk carries EOF (or a read error) across.
            if tx.send((Instant::now() + delay, buf[..n].to_vec())).is_err() || n == 0 {
                return;
            }
        }
    });
    std::thread::spawn(move || {
        for (due, chunk) in rx {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if chunk.is_empty() {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            if to.write_all(&chunk).is_err() {
                let _ = to.shutdown(Shutdown::Both);
                return;
            }
        }
    });
}
