//! The caller's stdin, stdout and stderr across the control socket: one
//! `sendmsg` with a single marker byte and one `SCM_RIGHTS` message of
//! three fds, right after the `new` frame (MULTIPLEX.md 4.5).
//!
//! The marker byte must only ever be read by [`recv`]: a plain `read()`
//! of it would make the kernel discard the fds. Frames are read with
//! exact-length reads, so they never reach into it. Received fds are
//! close-on-exec from the start (`MSG_CMSG_CLOEXEC`) and arrive as
//! `OwnedFd` (rustix types them, so there is no `unsafe` here).

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use tokio::io::Interest;
use tokio::net::UnixStream;

/// The fds one request carries: stdin, stdout, stderr.
pub const COUNT: usize = 3;

/// Sends `fds` with the marker byte.
pub async fn send(stream: &UnixStream, fds: &[BorrowedFd<'_>; COUNT]) -> std::io::Result<()> {
    stream
        .async_io(Interest::WRITABLE, || {
            let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(COUNT))];
            let mut control = SendAncillaryBuffer::new(&mut space);
            control.push(SendAncillaryMessage::ScmRights(fds));
            let sent =
                rustix::net::sendmsg(stream, &[IoSlice::new(&[0])], &mut control, SendFlags::NOSIGNAL)?;
            if sent == 1 {
                Ok(())
            } else {
                Err(std::io::Error::other("the fds were not sent"))
            }
        })
        .await
}

/// Receives exactly [`COUNT`] fds with their marker byte; anything else
/// (no fds, too many, a truncated message) is an error and closes what
/// did arrive.
pub async fn recv(stream: &UnixStream) -> std::io::Result<[OwnedFd; COUNT]> {
    let fds = stream
        .async_io(Interest::READABLE, || {
            // Room for more than we want, so a sender of extra fds is
            // caught (and they are closed) instead of truncated silently.
            let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(COUNT + 8))];
            let mut control = RecvAncillaryBuffer::new(&mut space);
            let mut byte = [0u8; 1];
            let received = rustix::net::recvmsg(
                stream,
                &mut [IoSliceMut::new(&mut byte)],
                &mut control,
                RecvFlags::CMSG_CLOEXEC,
            )?;
            if received.bytes == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let mut fds = Vec::new();
            for message in control.drain() {
                if let RecvAncillaryMessage::ScmRights(rights) = message {
                    fds.extend(rights);
                }
            }
            if received.flags.contains(ReturnFlags::CTRUNC) {
                return Err(std::io::Error::other("the fd message was truncated"));
            }
            Ok(fds)
        })
        .await?;
    <[OwnedFd; COUNT]>::try_from(fds)
        .map_err(|fds| std::io::Error::other(format!("expected {COUNT} fds, got {}", fds.len())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    /// Three fds cross the socket and still name the same pipes.
    #[tokio::test]
    async fn fds_cross() {
        let (a, b) = UnixStream::pair().unwrap();
        let pipes: Vec<_> = (0..COUNT).map(|_| std::io::pipe().unwrap()).collect();
        let writers = [pipes[0].1.as_fd(), pipes[1].1.as_fd(), pipes[2].1.as_fd()];
        send(&a, &writers).await.unwrap();
        let got = recv(&b).await.unwrap();
        for (i, fd) in got.into_iter().enumerate() {
            let mut file = std::fs::File::from(fd);
            file.write_all(&[b'a' + i as u8]).unwrap();
        }
        for (i, (reader, writer)) in pipes.into_iter().enumerate() {
            drop(writer);
            let mut text = Vec::new();
            let mut reader = reader;
            reader.read_to_end(&mut text).unwrap();
            assert_eq!(text, [b'a' + i as u8]);
        }
    }

    /// A marker byte without fds is refused, not taken as a request.
    #[tokio::test]
    async fn bare_marker_refused() {
        let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.write_all(&[0]).unwrap();
        b.set_nonblocking(true).unwrap();
        let b = UnixStream::from_std(b).unwrap();
        assert!(recv(&b).await.is_err());
    }
}
