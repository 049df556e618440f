//! The `sesh` binary: parse, set up logging and the runtime, dispatch, and
//! turn the outcome into an exit code. No logic lives here.

use std::process::ExitCode;

use clap::Parser;
use sesh::cli::{Cli, Command};
use sesh::server::{self, ServerConfig};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match &cli.command {
        Command::Serve(args) => args,
        Command::Generate { dir } => {
            return match sesh::generate::write_all(dir) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&format!("{e:#}")),
            };
        }
    };
    sesh::logging::init(args.verbosity);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("could not start the async runtime: {e}")),
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("{e:#}")),
    }
}

async fn serve(args: &sesh::cli::ServeArgs) -> color_eyre::Result<()> {
    let config = ServerConfig::from_args(args)?;
    let listener = server::bind(&config).await?;
    let shutdown = sesh::shutdown::on_terminate()?;
    server::run(config, listener, shutdown).await
}

fn fail(message: &str) -> ExitCode {
    eprintln!("sesh: {message}");
    ExitCode::from(255)
}
