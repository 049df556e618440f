//! Log lines on stderr, at the level `-v`/`-q` ask for. `RUST_LOG`, when
//! set, overrides them (for example `RUST_LOG=russh=debug`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::Verbosity;

/// Installs the global subscriber; call once, before anything logs.
/// `default` is the level without `-v`/`-q`.
pub fn init(verbosity: Verbosity, default: &str) {
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
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
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
