//! A connection's socket as russh gets it, with two ways to end it that
//! russh itself lacks.
//!
//! Why: `russh::server::run_stream` moves the socket into a task of its own
//! that the caller cannot abort (dropping its `RunningSession` detaches the
//! task). And once russh has sent or received a DISCONNECT it shuts down
//! its side and waits for the peer's end of file with no time limit
//! (sesh turns russh's inactivity timeout off, RUSSH.md 1.1). So a client
//! that stalls in key exchange would outlive the login grace time, and a
//! client that sends DISCONNECT but keeps its socket open would keep the
//! connection, and the commands of its sessions, alive for ever.
//!
//! [`Socket`] lets the server decide instead: after [`Closer::close`] reads
//! report end of file and writes fail; once [`LINGER`] has passed since
//! russh shut the socket down, reads report end of file (russh writes
//! nothing after its shutdown). Either way russh's task ends and drops the
//! socket.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// How long a peer has to close its end after russh has shut ours down
/// (after a DISCONNECT either way). A client that is still there does so at
/// once; the wait only spares it a reset while it reads the last packets.
pub const LINGER: Duration = Duration::from_secs(2);

/// Ends a [`Socket`] from outside.
#[derive(Clone, Default)]
pub struct Closer(CancellationToken);

impl Closer {
    /// From now on the socket reads as ended and refuses writes.
    pub fn close(&self) {
        self.0.cancel();
    }
}

/// A connection's stream that a [`Closer`], or a peer that lingers, can end.
pub struct Socket<S> {
    inner: S,
    /// For the log line when the linger runs out.
    peer: SocketAddr,
    closer: CancellationToken,
    /// One wake-up each for reads and writes: russh may poll them from
    /// different places, and a future keeps only the last waker.
    read_closed: Pin<Box<WaitForCancellationFutureOwned>>,
    write_closed: Pin<Box<WaitForCancellationFutureOwned>>,
    /// Armed when russh shuts the socket down.
    linger: Option<Pin<Box<Sleep>>>,
    linger_for: Duration,
    /// The linger ran out (logged once).
    lingered: bool,
}

impl<S> Socket<S> {
    pub fn new(inner: S, peer: SocketAddr, closer: &Closer) -> Self {
        let token = closer.0.clone();
        Self {
            inner,
            peer,
            read_closed: Box::pin(token.clone().cancelled_owned()),
            write_closed: Box::pin(token.clone().cancelled_owned()),
            closer: token,
            linger: None,
            linger_for: LINGER,
            lingered: false,
        }
    }

    /// Whether reads should report the end: closed from outside (polling
    /// registers the waker for that), or the linger is over.
    fn read_ended(&mut self, cx: &mut Context<'_>) -> bool {
        if self.closer.is_cancelled() || self.read_closed.as_mut().poll(cx).is_ready() {
            return true;
        }
        let Some(linger) = &mut self.linger else {
            return false;
        };
        if !linger.is_elapsed() && linger.as_mut().poll(cx).is_pending() {
            return false;
        }
        if !self.lingered {
            self.lingered = true;
            tracing::info!(peer = %self.peer, "the peer kept its socket open after the disconnect: closing it");
        }
        true
    }

    fn write_ended(&mut self, cx: &mut Context<'_>) -> bool {
        self.closer.is_cancelled() || self.write_closed.as_mut().poll(cx).is_ready()
    }
}

fn closed_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "closed by the server")
}

impl<S: AsyncRead + Unpin> AsyncRead for Socket<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // The close and linger futures are polled only off the byte path:
        // before a read once russh has shut down, and when the socket has
        // nothing to give (to be woken by a close while waiting). Nothing
        // filled is end of file.
        if this.closer.is_cancelled() || (this.linger.is_some() && this.read_ended(cx)) {
            return Poll::Ready(Ok(()));
        }
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending if this.read_ended(cx) => Poll::Ready(Ok(())),
            polled => polled,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Socket<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.closer.is_cancelled() {
            return Poll::Ready(Err(closed_error()));
        }
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Pending if this.write_ended(cx) => Poll::Ready(Err(closed_error())),
            polled => polled,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.closer.is_cancelled() {
            return Poll::Ready(Err(closed_error()));
        }
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending if this.write_ended(cx) => Poll::Ready(Err(closed_error())),
            polled => polled,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.linger.is_none() {
            this.linger = Some(Box::pin(tokio::time::sleep(this.linger_for)));
        }
        if this.closer.is_cancelled() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn pair() -> (Socket<TcpStream>, Closer, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        let closer = Closer::default();
        (Socket::new(server, peer, &closer), closer, client)
    }

    /// A read waiting on a silent peer ends when the closer fires, and
    /// writes fail from then on.
    #[tokio::test]
    async fn closer_ends_a_pending_read() {
        let (mut socket, closer, _client) = pair().await;
        let mut buf = [0u8; 16];
        let read = tokio::spawn(async move {
            let n = socket.read(&mut buf).await.unwrap();
            (n, socket)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        closer.close();
        let (n, mut socket) = tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("the read ended")
            .unwrap();
        assert_eq!(n, 0);
        assert!(socket.write_all(b"x").await.is_err());
    }

    /// After a shutdown the peer has the linger time to close; a peer that
    /// keeps its end open then reads as ended.
    #[tokio::test]
    async fn shutdown_then_linger_ends_reads() {
        let (mut socket, _closer, mut client) = pair().await;
        socket.linger_for = Duration::from_millis(100);
        socket.write_all(b"bye").await.unwrap();
        socket.shutdown().await.unwrap();
        let mut got = [0u8; 3];
        client.read_exact(&mut got).await.unwrap();
        let mut buf = [0u8; 16];
        // The client neither writes nor closes: only the linger ends this.
        let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buf))
            .await
            .expect("the read ended")
            .unwrap();
        assert_eq!(n, 0);
        drop(client);
    }
}
