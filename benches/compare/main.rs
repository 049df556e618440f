//! sesh against OpenSSH, side by side on loopback: latency, throughput,
//! concurrency, memory, fan-out, connection reuse and a 1,000-address fleet, for sesh exec -> sesh serve, ssh ->
//! sshd and the crossed pairs. Prints a table of medians (with min and
//! max) and the targets as ratios, and writes the same as JSON.
//!
//! `cargo bench --bench compare` runs it in full (several minutes, release
//! build). Without `--bench` on its command line, as `cargo test` runs it,
//! it does everything in a tiny mode of a few seconds so it cannot rot.
//! Options: `--tiny` (tiny even under cargo bench), `--json PATH`,
//! `--only memory,latency,throughput,concurrency,fan-out,reuse,fleet`.

mod fleet;
mod fleet_run;
mod measure;
mod peers;
mod report;
mod reuse;
mod scenarios;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use report::{Machine, Report};
use scenarios::Settings;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tiny = args.iter().any(|a| a == "--tiny") || !args.iter().any(|a| a == "--bench");
    let json = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| default_json(tiny));
    match run(tiny, &json) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("bench: {why}");
            ExitCode::FAILURE
        }
    }
}

fn run(tiny: bool, json: &std::path::Path) -> Result<(), String> {
    let settings = if tiny { Settings::tiny() } else { Settings::full() };
    let sesh = PathBuf::from(env!("CARGO_BIN_EXE_sesh"));
    // Every concurrent client of the concurrency and memory runs, and some.
    let peers = peers::Peers::start(sesh, settings.sessions.max(settings.idle) * 2 + 10)?;
    let mut report = Report {
        machine: machine(&peers.sesh),
        mode: if tiny { "tiny" } else { "full" },
        ..Report::default()
    };
    type Scenario = fn(&peers::Peers, &Settings, &mut Report) -> Result<(), String>;
    let all: [(&str, Scenario); 7] = [
        // Memory first: "at rest" means a server that has served nothing.
        ("memory", scenarios::memory),
        ("latency", scenarios::latency),
        ("throughput", scenarios::throughput),
        ("concurrency", scenarios::concurrency),
        ("fan-out", scenarios::fanout),
        ("reuse", reuse::reuse),
        ("fleet", fleet_run::fleet),
    ];
    // `--only NAME,...` runs just those scenarios (the rest's targets are
    // then not judged).
    let only: Vec<String> = std::env::args()
        .skip_while(|a| a != "--only")
        .nth(1)
        .map(|list| list.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    for (name, scenario) in all {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        eprintln!("bench: {name}...");
        scenario(&peers, &settings, &mut report).map_err(|e| format!("{name}: {e}"))?;
    }
    scenarios::judge(&mut report, &settings);
    fleet_run::judge(&mut report, &settings);
    report.print_table();
    if let Some(dir) = json.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(json, text + "\n").map_err(|e| format!("{}: {e}", json.display()))?;
    println!("\nJSON: {}", json.display());
    Ok(())
}

fn default_json(tiny: bool) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target
        .join("bench")
        .join(if tiny { "compare-tiny.json" } else { "compare.json" })
}

fn machine(sesh: &std::path::Path) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let first_line = |mut cmd: Command| {
        cmd.output()
            .map(|o| {
                let text = if o.stdout.is_empty() { o.stderr } else { o.stdout };
                String::from_utf8_lossy(&text)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let mut ssh = Command::new("ssh");
    ssh.arg("-V");
    let mut version = Command::new(sesh);
    version.arg("--version");
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu: cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            .unwrap_or_default(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
        openssh: first_line(ssh),
        sesh: first_line(version),
    }
}
