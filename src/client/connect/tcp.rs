//! The plain route: a TCP connection to the target's host and port.

use tokio::net::TcpStream;

use super::ConnectError;

/// Resolves `host` and connects to the first address that answers.
pub async fn open(host: &str, port: u16) -> Result<TcpStream, ConnectError> {
    let addr = || format!("{host}:{port}");
    let addresses: Vec<_> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| ConnectError::Resolve {
            host: host.to_string(),
            reason: e.to_string(),
        })?
        .collect();
    let mut last = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                // connect_stream does not apply russh's `nodelay`; Nagle
                // would hold small packets for the peer's delayed ACK.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => ConnectError::Tcp {
            addr: addr(),
            reason: e.to_string(),
        },
        None => ConnectError::Resolve {
            host: host.to_string(),
            reason: "no addresses".to_string(),
        },
    })
}
