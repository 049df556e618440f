//! The one place that touches the process's signal handlers for `serve`:
//! SIGTERM and SIGINT become a future that completes on the first of them.

use color_eyre::eyre::WrapErr;
use tokio::signal::unix::{SignalKind, signal};

/// Completes when the process receives SIGTERM or SIGINT.
pub fn on_terminate() -> color_eyre::Result<impl Future<Output = ()>> {
    let mut term = signal(SignalKind::terminate()).wrap_err("could not handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).wrap_err("could not handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
    })
}
