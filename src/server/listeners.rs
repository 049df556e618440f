//! The addresses `sesh serve` listens on: one or many (`--listen` is
//! repeatable, IPv4 and IPv6 alike), accepted from as one stream of
//! connections, so the accept loop does not care how many there are.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::task::Poll;

use color_eyre::eyre::WrapErr;
use tokio::net::{TcpListener, TcpStream};

/// Bound listening sockets.
pub struct Listeners(Vec<TcpListener>);

impl Listeners {
    /// Binds every address; the first that fails is the error.
    pub async fn bind(addresses: &[SocketAddr]) -> color_eyre::Result<Self> {
        let mut listeners = Vec::with_capacity(addresses.len());
        for address in addresses {
            let listener = TcpListener::bind(address)
                .await
                .wrap_err_with(|| format!("could not listen on {address}"))?;
            listeners.push(listener);
        }
        Ok(Self(listeners))
    }

    /// The bound addresses (port 0 resolved), in the order given.
    pub fn local_addrs(&self) -> color_eyre::Result<Vec<SocketAddr>> {
        self.0
            .iter()
            .map(|l| l.local_addr().wrap_err("could not read the listen address"))
            .collect()
    }

    /// The next connection on any of the sockets. Each is polled in turn,
    /// starting after the one that last gave a connection, so a busy
    /// address cannot starve the others.
    pub async fn accept(&self, next: &mut usize) -> std::io::Result<(TcpStream, SocketAddr)> {
        let count = self.0.len();
        poll_fn(|cx| {
            for offset in 0..count {
                let index = (*next + offset) % count;
                if let Poll::Ready(result) = self.0[index].poll_accept(cx) {
                    *next = (index + 1) % count;
                    return Poll::Ready(result);
                }
            }
            Poll::Pending
        })
        .await
    }
}
