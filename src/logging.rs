//! Log lines on stderr, at the level `-v`/`-q` ask for. `RUST_LOG`, when
//! set, overrides them (for example `RUST_LOG=russh=debug`).

use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

use crate::cli::Verbosity;

type Filter = reload::Layer<EnvFilter, Registry>;
type Output = Box<dyn Layer<Layered<Filter, Registry>> + Send + Sync>;

/// The installed filter and output, replaceable: a mux master forked from
/// a caller logs at its own level, to its log file, without the caller's
/// colours.
static INSTALLED: OnceLock<(FilterHandle, OutputHandle)> = OnceLock::new();

type FilterHandle = reload::Handle<EnvFilter, Registry>;
type OutputHandle = reload::Handle<Output, Layered<Filter, Registry>>;

/// Installs the global subscriber; call once, before anything logs.
/// `default` is the level without `-v`/`-q`.
pub fn init(verbosity: Verbosity, default: &str) {
    let (filter, filter_handle) = reload::Layer::new(filter(verbosity, default));
    let (output, output_handle) = reload::Layer::new(output());
    tracing_subscriber::registry().with(filter).with(output).init();
    let _ = INSTALLED.set((filter_handle, output_handle));
}

/// Replaces what [`init`] installed, for what stderr is now.
pub fn reinit(verbosity: Verbosity, default: &str) {
    if let Some((filter_handle, output_handle)) = INSTALLED.get() {
        let _ = output_handle.reload(output());
        let _ = filter_handle.reload(filter(verbosity, default));
    }
}

fn filter(verbosity: Verbosity, default: &str) -> EnvFilter {
    let level = match (verbosity.quiet, verbosity.verbose) {
        (true, _) => "error",
        (false, 0) => default,
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    // russh logs every protocol step at info; only our own lines are
    // interesting at the default level. russh-sftp warns about what sesh
    // reports itself (a write cut by a hang-up, a client's bad packet).
    let default = format!("sesh={level},russh=warn,russh_sftp=error");
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
}

fn output() -> Output {
    tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .boxed()
}

/// `eprintln!` without its panic: when stderr is closed or its reader gone,
/// the message is lost and sesh carries on to its real exit code.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `println!` without its panic, for JSON and reports on stdout.
#[macro_export]
macro_rules! say_out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
