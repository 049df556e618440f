//! What a connection past `--max-connections` gets: the server's banner and
//! an unencrypted DISCONNECT, "too many connections", then the close.
//!
//! Why not simply close, as sshd does past MaxStartups: a client then only
//! says the connection was closed, and its user cannot tell a full server
//! from a broken one. Before key exchange packets travel in the clear
//! (RFC 4253 6), so a DISCONNECT needs no crypto; the OpenSSH client prints
//! its reason ("Received disconnect from ...: too many connections").

use std::sync::Arc;
use std::time::Duration;

use russh::SshId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// SSH_DISCONNECT_TOO_MANY_CONNECTIONS (RFC 4250 4.2.2).
const TOO_MANY_CONNECTIONS: u32 = 12;
const SSH_MSG_DISCONNECT: u8 = 1;
/// Time a refused client gets to read the refusal and close its end.
const LINGER: Duration = Duration::from_secs(1);

/// Most refusals under way at once; past that a refused connection is
/// simply closed, so a flood costs neither tasks nor descriptors.
const MAX_IN_FLIGHT: usize = 32;

/// Refuses connections past the limit.
pub struct Refuser {
    refusal: Arc<[u8]>,
    in_flight: Arc<Semaphore>,
}

impl Refuser {
    /// `banner` is the server's own, so the refusal reads as coming from it.
    pub fn new(banner: &SshId) -> Self {
        let mut refusal = banner_line(banner);
        refusal.extend(disconnect_packet(TOO_MANY_CONNECTIONS, "too many connections"));
        Self {
            refusal: refusal.into(),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }

    /// Tells the peer why, in a task of its own, or closes at once when too
    /// many refusals are already under way.
    pub fn too_many_connections(&self, stream: TcpStream) {
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            return;
        };
        let refusal = self.refusal.clone();
        tokio::spawn(async move {
            send(stream, &refusal).await;
            drop(permit);
        });
    }
}

/// Sends the refusal and closes; bounded in time.
async fn send(mut stream: TcpStream, bytes: &[u8]) {
    let _ = tokio::time::timeout(LINGER, async {
        stream.write_all(bytes).await?;
        stream.shutdown().await?;
        // Closing with the client's banner unread would send a reset,
        // which can destroy the refusal before the client reads it: read
        // until the client closes (or the time is up).
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

fn banner_line(banner: &SshId) -> Vec<u8> {
    match banner {
        SshId::Standard(id) => format!("{id}\r\n").into_bytes(),
        SshId::Raw(id) => id.as_bytes().to_vec(),
    }
}

/// A cleartext binary packet (RFC 4253 6) carrying SSH_MSG_DISCONNECT.
fn disconnect_packet(reason: u32, description: &str) -> Vec<u8> {
    let mut payload = vec![SSH_MSG_DISCONNECT];
    payload.extend(reason.to_be_bytes());
    payload.extend((description.len() as u32).to_be_bytes());
    payload.extend(description.as_bytes());
    payload.extend(0u32.to_be_bytes()); // language tag: empty
    // Length, padding length, payload and padding make a multiple of 8,
    // with at least 4 bytes of padding.
    let mut padding = 8 - (4 + 1 + payload.len()) % 8;
    if padding < 4 {
        padding += 8;
    }
    let length = (1 + payload.len() + padding) as u32;
    let mut packet = length.to_be_bytes().to_vec();
    packet.push(padding as u8);
    packet.extend(payload);
    packet.extend(std::iter::repeat_n(0, padding));
    packet
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packet is framed as RFC 4253 asks: a multiple of 8 bytes, 4 or
    /// more bytes of padding, the reason and the text where they belong.
    #[test]
    fn disconnect_packet_is_well_formed() {
        let packet = disconnect_packet(12, "too many connections");
        assert_eq!(packet.len() % 8, 0);
        let length = u32::from_be_bytes(packet[..4].try_into().unwrap()) as usize;
        assert_eq!(length, packet.len() - 4);
        let padding = packet[4] as usize;
        assert!((4..=255).contains(&padding));
        let payload = &packet[5..packet.len() - padding];
        assert_eq!(payload[0], 1);
        assert_eq!(payload[1..5], 12u32.to_be_bytes());
        assert_eq!(payload[5..9], 20u32.to_be_bytes());
        assert_eq!(&payload[9..29], b"too many connections");
        assert_eq!(payload[29..], [0, 0, 0, 0]);
    }
}
