//! The `sesh` binary: parse, set up logging and the runtime, dispatch, and
//! turn the outcome into an exit code. No logic lives here.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use sesh::cli::{Cli, Command};
use sesh::client::Plan;
use sesh::server::{self, ServerConfig};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Serve(args) => {
            sesh::logging::init(args.verbosity, "info");
            sesh::rlimit::raise_open_files();
            match runtime().and_then(|rt| rt.block_on(serve(args))) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&format!("{e:#}")),
            }
        }
        Command::Exec(args) => {
            sesh::logging::init(args.verbosity, "warn");
            sesh::rlimit::raise_open_files();
            let plan = match Plan::from_args(args) {
                Ok(Plan::Show(lines)) => {
                    for line in lines {
                        sesh::say_out!("{line}");
                    }
                    let _ = std::io::stdout().flush();
                    return ExitCode::SUCCESS;
                }
                Ok(plan) => plan,
                Err(why) => return fail(&why),
            };
            // One host runs on one thread (plus the stdio threads): on
            // this 2-core machine a 1 GiB loopback download took ~30% less
            // time than with a worker per core, whose hand-offs between
            // the session and bridge tasks cost more than they parallelise,
            // and a call through a mux master ~2 ms less (no workers to
            // start). Fan-out keeps a worker per core for its handshakes.
            // A first call through a mux master forks the master now, while
            // this process has one thread and no runtime.
            let prepared = match &plan {
                Plan::One(config) => sesh::client::mux::prepare(config),
                _ => sesh::client::mux::Prepared::default(),
            };
            let rt = if matches!(plan, Plan::Many(..)) {
                runtime()
            } else {
                single_thread_runtime()
            };
            let rt = match rt {
                Ok(rt) => rt,
                Err(e) => return fail(&format!("{e:#}")),
            };
            let code = rt.block_on(async {
                match plan {
                    Plan::One(config) => sesh::client::execute(&config, prepared).await,
                    Plan::Many(hosts, options) => sesh::client::fanout::run(hosts, options).await,
                    Plan::Show(_) => unreachable!("shown before the runtime starts"),
                    Plan::Control(op, config) => {
                        let reuse = config.reuse.clone().expect("-O sets a reuse");
                        sesh::client::mux::control(op, &config, &reuse).await
                    }
                }
            });
            let _ = std::io::stdout().flush();
            // Exit without dropping the runtime: dropping it waits for the
            // blocking read of local stdin, which never ends on a terminal
            // or an idle pipe.
            std::process::exit(i32::from(code));
        }
        Command::Test(args) => {
            // The checks provoke refusals on purpose; the embedded server's
            // warnings about them would only be noise.
            sesh::logging::init(args.verbosity, "error");
            let rt = match runtime() {
                Ok(rt) => rt,
                Err(e) => return fail(&format!("{e:#}")),
            };
            let code = rt.block_on(sesh::conformance::run(args));
            let _ = std::io::stdout().flush();
            std::process::exit(i32::from(code));
        }
        Command::MuxMaster => {
            let verbosity = sesh::cli::Verbosity {
                verbose: u8::from(sesh::client::mux::master::verbose()),
                quiet: false,
            };
            sesh::logging::init(verbosity, "info");
            ExitCode::from(sesh::client::mux::master::main())
        }
        Command::Generate { dir } => match sesh::generate::write_all(dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("{e:#}")),
        },
    }
}

fn runtime() -> color_eyre::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new()
        .map_err(|e| color_eyre::eyre::eyre!("could not start the async runtime: {e}"))
}

fn single_thread_runtime() -> color_eyre::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| color_eyre::eyre::eyre!("could not start the async runtime: {e}"))
}

async fn serve(args: &sesh::cli::ServeArgs) -> color_eyre::Result<()> {
    let config = ServerConfig::from_args(args)?;
    let listeners = server::bind(&config).await?;
    let shutdown = sesh::os_signals::on_terminate()?;
    server::run(config, listeners, shutdown).await
}

fn fail(message: &str) -> ExitCode {
    sesh::say!("sesh: {message}");
    ExitCode::from(255)
}
