//! The command's output on its way to the client: stdout as channel data,
//! stderr as extended data type 1, a pty's output as channel data.
//!
//! Each pump sends through russh's `ChannelWriteHalf`, which waits for the
//! client's window on this channel before it queues a packet. So a client
//! that reads slowly stops the pump, the pipe fills, and the command blocks
//! in write(): memory stays at one read buffer per stream, and a slow
//! channel does not hold up the others on the connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use russh::ChannelWriteHalf;
use russh::server::Msg;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

use super::pty::PtyMaster;

/// Read size: two SSH packets (32 KiB each); a pipe holds 64 KiB.
const CHUNK: usize = 64 * 1024;

/// How long a pty's output may trail the command's exit: background jobs
/// may keep the terminal open, and sshd does not wait for them either.
const PTY_TRAIL: Duration = Duration::from_millis(100);

/// Which stream a pump carries.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Copies one pipe to the channel until the pipe's end of file (every
/// holder of its write end has closed it, background jobs included).
pub async fn pump_pipe(
    mut pipe: impl AsyncRead + Unpin,
    channel: Arc<ChannelWriteHalf<Msg>>,
    stream: Stream,
    bytes_out: Arc<AtomicU64>,
) {
    // Reads land in one allocation after another and go out as frozen
    // slices of it: no copy, and small outputs share an allocation
    // instead of pinning a whole chunk each.
    let mut buf = BytesMut::new();
    loop {
        if buf.capacity() < CHUNK / 4 {
            buf.reserve(CHUNK);
        }
        match pipe.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                bytes_out.fetch_add(n as u64, Ordering::Relaxed);
                let data = buf.split().freeze();
                let sent = match stream {
                    Stream::Stdout => channel.data_bytes(data).await,
                    Stream::Stderr => channel.extended_data_bytes(1, data).await,
                };
                if sent.is_err() {
                    return;
                }
            }
        }
    }
}

/// Copies a pty's output to the channel until every slave end has closed,
/// or, once the command has exited, until the output pauses for `PTY_TRAIL`.
pub async fn pump_pty(
    master: Arc<PtyMaster>,
    channel: Arc<ChannelWriteHalf<Msg>>,
    mut exited: watch::Receiver<bool>,
    bytes_out: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let read = if *exited.borrow() {
            match tokio::time::timeout(PTY_TRAIL, master.read(&mut buf)).await {
                Ok(read) => read,
                Err(_quiet) => return,
            }
        } else {
            tokio::select! {
                read = master.read(&mut buf) => read,
                _ = exited.changed() => continue,
            }
        };
        match read {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                bytes_out.fetch_add(n as u64, Ordering::Relaxed);
                if channel.data_bytes(buf[..n].to_vec()).await.is_err() {
                    return;
                }
            }
        }
    }
}
