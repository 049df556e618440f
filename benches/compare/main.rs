//! sesh against OpenSSH, side by side on loopback and through a delay
//! relay: latency, throughput, concurrency, memory, fan-out, connection
//! reuse, WAN and a 1,000-address fleet, for sesh exec -> sesh serve, ssh
//! -> sshd and the crossed pairs. Prints a table of medians (with min and
//! max) and the targets as ratios, and writes the same as JSON.
//!
//! `cargo bench --bench compare` runs it in full (about 10 minutes, 3-7
//! of them the WAN section; release build). Without `--bench` on its command
//! line, as `cargo test` runs it, it does everything in a tiny mode of a
//! few seconds so it cannot rot.
//! Options: `--tiny` (tiny even under cargo bench), `--json PATH`,
//! `--only memory,latency,throughput,concurrency,fan-out,reuse,wan,fleet`.
//! The WAN section (`wan`, through a delay relay) takes its own:
//! `--wan-rtt 50,10` (round-trip times in ms), `--wan-pairs
//! sesh-sesh,ssh-sshd,ssh-sesh,sesh-sshd` (client-server), `--wan-runs N`
//! (transfers per pair), `--wan-size MIB` and `--wan-trace` (print every
//! chunk the relay saw on one `true` run per pair, to count round trips).
//! E.g. `cargo bench --locked --bench compare -- --only wan --wan-rtt 50
//! --wan-pairs sesh-sesh,ssh-sshd`.

mod fleet;
mod fleet_run;
mod measure;
mod peers;
mod relay;
mod report;
mod reuse;
mod scenarios;
mod wan;

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
    let mut settings = if tiny { Settings::tiny() } else { Settings::full() };
    wan_options(&mut settings.wan)?;
    let sesh = PathBuf::from(env!("CARGO_BIN_EXE_sesh"));
    // Every concurrent client of the concurrency and memory runs, and some.
    let peers = peers::Peers::start(sesh, settings.sessions.max(settings.idle) * 2 + 10)?;
    let mut report = Report {
        machine: machine(&peers.sesh),
        mode: if tiny { "tiny" } else { "full" },
        ..Report::default()
    };
    type Scenario = fn(&peers::Peers, &Settings, &mut Report) -> Result<(), String>;
    let all: [(&str, Scenario); 8] = [
        // Memory first: "at rest" means a server that has served nothing.
        ("memory", scenarios::memory),
        ("latency", scenarios::latency),
        ("throughput", scenarios::throughput),
        ("concurrency", scenarios::concurrency),
        ("fan-out", scenarios::fanout),
        ("reuse", reuse::reuse),
        ("wan", wan::wan),
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
    wan::judge(&mut report, &settings.wan);
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

/// The value after `flag` on the command line, if the flag is there.
fn option(flag: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != flag).nth(1)
}

/// `--wan-rtt`, `--wan-pairs`, `--wan-runs`, `--wan-size`, `--wan-trace`.
fn wan_options(wan: &mut wan::WanSettings) -> Result<(), String> {
    let number = |flag: &str, text: &str| {
        text.parse::<u64>()
            .map_err(|_| format!("{flag} {text}: expected a whole number"))
    };
    if let Some(list) = option("--wan-rtt") {
        wan.rtts = list
            .split(',')
            .map(|ms| number("--wan-rtt", ms))
            .collect::<Result<_, _>>()?;
    }
    if let Some(list) = option("--wan-pairs") {
        wan.pairs = list.split(',').map(str::parse).collect::<Result<_, _>>()?;
    }
    if let Some(runs) = option("--wan-runs") {
        wan.runs = number("--wan-runs", &runs)? as usize;
    }
    if let Some(mib) = option("--wan-size") {
        wan.bytes = number("--wan-size", &mib)? << 20;
    }
    wan.trace |= std::env::args().any(|a| a == "--wan-trace");
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
