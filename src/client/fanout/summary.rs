//! The end of a fan-out: one result per host, a progress bar while they
//! run, the summary on stderr, the per-host records, and the exit code.
//!
//! Exit code policy: 0 only when every host exited 0. Otherwise, when all
//! hosts that did not succeed share one code, that code (so one host's
//! `exit 3` or SIGTERM reads as 3 or 143); when they differ, 123 (as
//! xargs does). A signal (128+N), a signal the server refused (128+N),
//! a missing status or an unreachable host (255), a timeout (124) or a
//! host never started (`--fail-fast`, 255) can never read as success.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::ProgressBar;
use serde_json::json;

use super::printer::Mode;
use crate::exit::Ending;

/// The code when failed hosts do not share one.
pub const MIXED_FAILURES: u8 = 123;

/// How one host ended; `None` when it never started.
#[derive(Debug)]
pub struct HostResult {
    pub ending: Option<Ending>,
    pub duration: Duration,
}

impl HostResult {
    pub fn code(&self) -> u8 {
        self.ending.as_ref().map_or(255, Ending::code)
    }

    pub fn failed(&self) -> bool {
        self.code() != 0
    }

    fn describe(&self) -> String {
        match &self.ending {
            None => "not started (--fail-fast)".to_string(),
            Some(Ending::Exited(status)) => format!("exited with status {status}"),
            Some(ending) => ending
                .message(false)
                .unwrap_or_else(|| format!("exit code {}", ending.code())),
        }
    }
}

/// Hosts done and failed, on a progress bar (hidden when stderr is not a
/// terminal).
pub struct Progress {
    bar: ProgressBar,
    failed: AtomicUsize,
}

impl Progress {
    pub fn new(hosts: usize) -> Self {
        let bar = crate::progress::bar(hosts, "{bar:30} {pos}/{len} hosts done, {msg}");
        bar.set_message("0 failed");
        Self {
            bar,
            failed: AtomicUsize::new(0),
        }
    }

    /// The bar, for writing around it.
    pub fn bar(&self) -> &ProgressBar {
        &self.bar
    }

    /// One more host done.
    pub fn tick(&self, result: &HostResult) {
        if result.failed() {
            let failed = self.failed.fetch_add(1, Ordering::Relaxed) + 1;
            self.bar.set_message(format!("{failed} failed"));
        }
        self.bar.inc(1);
    }
}

/// Prints the summary and records; returns the exit code.
pub fn report(results: &[(String, HostResult)], mode: &Mode) -> u8 {
    let failed: Vec<&(String, HostResult)> = results.iter().filter(|(_, r)| r.failed()).collect();
    for (label, result) in &failed {
        crate::say!(
            "sesh: {label}: {} ({:.1}s)",
            result.describe(),
            result.duration.as_secs_f64()
        );
    }
    let code = exit_code(results);
    crate::say!(
        "sesh: {} hosts: {} ok, {} failed",
        results.len(),
        results.len() - failed.len(),
        failed.len()
    );
    match mode {
        Mode::Json => {
            for (label, result) in results {
                crate::say_out!(
                    "{}",
                    json!({ "event": "end", "host": label, "result": record(label, result) })
                );
            }
            let summary = json!({ "event": "summary", "hosts": results.len(), "ok": results.len() - failed.len(), "failed": failed.len(), "exit_code": code });
            crate::say_out!("{summary}");
        }
        Mode::Files(dir) => {
            for (label, result) in results {
                let host_dir = dir.join(super::dir_name(label));
                let written = std::fs::create_dir_all(&host_dir).and_then(|_| {
                    for stream in ["stdout", "stderr"] {
                        if !host_dir.join(stream).exists() {
                            std::fs::File::create(host_dir.join(stream))?;
                        }
                    }
                    std::fs::write(
                        host_dir.join("status.json"),
                        format!("{}\n", record(label, result)),
                    )
                });
                if let Err(e) = written {
                    crate::say!(
                        "sesh: could not write results for {label} in {}: {e}",
                        host_dir.display()
                    );
                }
            }
        }
        Mode::Prefixed | Mode::Bare => {}
    }
    code
}

fn record(label: &str, result: &HostResult) -> serde_json::Value {
    match &result.ending {
        Some(ending) => {
            serde_json::to_value(ending.record(label, result.duration)).expect("a record serialises")
        }
        None => json!({ "target": label, "outcome": "not-started", "exit_code": 255, "duration_ms": 0 }),
    }
}

/// The policy in this module's header.
pub fn exit_code(results: &[(String, HostResult)]) -> u8 {
    let mut codes: Vec<u8> = results
        .iter()
        .map(|(_, r)| r.code())
        .filter(|&c| c != 0)
        .collect();
    codes.dedup();
    codes.sort_unstable();
    codes.dedup();
    match codes.as_slice() {
        [] => 0,
        [one] => *one,
        _ => MIXED_FAILURES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(ending: Option<Ending>) -> (String, HostResult) {
        (
            "h".to_string(),
            HostResult {
                ending,
                duration: Duration::ZERO,
            },
        )
    }

    /// All ok -> 0; one shared failure code -> it; mixed -> 123; a signal,
    /// a missing status or a host never started is never 0.
    #[test]
    fn policy() {
        assert_eq!(
            exit_code(&[host(Some(Ending::Exited(0))), host(Some(Ending::Exited(0)))]),
            0
        );
        assert_eq!(
            exit_code(&[host(Some(Ending::Exited(0))), host(Some(Ending::Exited(3)))]),
            3
        );
        assert_eq!(
            exit_code(&[host(Some(Ending::Exited(3))), host(Some(Ending::Exited(3)))]),
            3
        );
        assert_eq!(
            exit_code(&[host(Some(Ending::Exited(3))), host(Some(Ending::NoStatus))]),
            MIXED_FAILURES
        );
        let term = Ending::Killed {
            name: "TERM".into(),
            core_dumped: false,
            message: String::new(),
        };
        assert_eq!(exit_code(&[host(Some(Ending::Exited(0))), host(Some(term))]), 143);
        assert_eq!(exit_code(&[host(Some(Ending::Exited(0))), host(None)]), 255);
        assert_eq!(
            exit_code(&[host(Some(Ending::TimedOut(Duration::from_secs(1))))]),
            124
        );
        let refused = Ending::SignalRefused {
            signo: libc::SIGTERM,
            answered: true,
            timeout: None,
        };
        assert_eq!(
            exit_code(&[host(Some(Ending::Exited(0))), host(Some(refused))]),
            143
        );
    }
}
