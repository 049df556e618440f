//! A client socket that acknowledges at once during the handshake.
//!
//! OpenSSH's `ssh` sends its KEXINIT and then the small KEX_ECDH_INIT
//! without TCP_NODELAY, so Nagle holds the second until the first is
//! acknowledged. The server has nothing to send in between, so its kernel
//! delays that ACK: measured, ~40 ms of every `ssh` login to sesh serve
//! (50 ms instead of 10 ms). TCP_QUICKACK turns delayed ACKs off, but the
//! kernel turns them back on when it sees us answer soon after receiving
//! (its "ping-pong" heuristic), so it is set again after each of the first
//! reads and writes, which cover key exchange and authentication.

use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Reads and writes after which delayed ACKs are left to the kernel again.
const HANDSHAKE_READS: u32 = 32;

pub struct QuickAck {
    stream: TcpStream,
    reads_left: u32,
}

impl QuickAck {
    pub fn new(stream: TcpStream) -> Self {
        let mut quick = Self {
            stream,
            reads_left: HANDSHAKE_READS,
        };
        quick.renew();
        quick
    }

    fn renew(&mut self) {
        if self.reads_left == 0 {
            return;
        }
        self.reads_left -= 1;
        let on: libc::c_int = 1;
        // SAFETY: a valid socket, and an option value of the size given.
        // Failure only leaves delayed ACKs on.
        unsafe {
            libc::setsockopt(
                self.stream.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

impl AsyncRead for QuickAck {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if polled.is_ready() {
            self.renew();
        }
        polled
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, data);
        if polled.is_ready() {
            self.renew();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, data)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
