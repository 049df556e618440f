//! Measuring: wall time of a client run, bytes through a client, and a
//! server's memory (one process for sesh serve, the whole process tree for
//! sshd, which forks per connection).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Runs `cmd` to the end with no input and output thrown away; its wall
/// time, or why it failed.
pub fn run(cmd: Command) -> Result<Duration, String> {
    run_with_input(cmd, b"")
}

/// Like `run`, also giving the client's peak resident memory in KiB.
/// Read from its own `VmHWM` every 2 ms while it runs: wait4's `ru_maxrss`
/// would count this harness's memory too (the kernel keeps the parent's
/// high-water mark across the spawn's exec). Its stderr is not kept.
pub fn run_with_peak(mut cmd: Command) -> Result<(Duration, u64), String> {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let (status, peak) = wait_with_peak(&mut child)?;
    let elapsed = start.elapsed();
    if !status.success() {
        return Err(format!("{cmd:?}: {status}"));
    }
    Ok((elapsed, peak))
}

/// Waits for `child`, reading its own `VmHWM` every 2 ms: how it ended and
/// its peak resident memory in KiB.
pub fn wait_with_peak(child: &mut Child) -> Result<(std::process::ExitStatus, u64), String> {
    let mut peak = 0;
    loop {
        peak = peak.max(peak_rss_kib(child.id()));
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok((status, peak));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Like `run`, with `input` on stdin.
pub fn run_with_input(mut cmd: Command, input: &[u8]) -> Result<Duration, String> {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let written = child.stdin.take().expect("piped stdin").write_all(input);
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let elapsed = start.elapsed();
    written.map_err(|e| format!("{cmd:?}: writing its input: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{cmd:?}: {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(elapsed)
}

/// A started client whose stdout is counted by a thread.
pub struct Counted {
    child: Child,
    reader: JoinHandle<u64>,
}

impl Counted {
    pub fn spawn(mut cmd: Command) -> Result<Self, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{cmd:?}: {e}"))?;
        let mut stdout = child.stdout.take().expect("piped stdout");
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 256 * 1024];
            let mut total = 0u64;
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                total += n as u64;
            }
            total
        });
        Ok(Self { child, reader })
    }

    /// Waits for the end; the bytes read, or why the client failed.
    pub fn finish(mut self) -> Result<u64, String> {
        let status = self.child.wait().map_err(|e| e.to_string())?;
        let bytes = self
            .reader
            .join()
            .map_err(|_| "reader thread panicked".to_string())?;
        status
            .success()
            .then_some(bytes)
            .ok_or_else(|| format!("client ended with {status}"))
    }
}

/// Runs `cmd` reading `bytes` zero bytes on stdin; its wall time.
pub fn upload(mut cmd: Command, bytes: u64) -> Result<Duration, String> {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || {
        let block = vec![0u8; 256 * 1024];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            stdin.write_all(&block[..n])?;
            left -= n as u64;
        }
        Ok::<(), std::io::Error>(())
    });
    let status = child.wait().map_err(|e| e.to_string())?;
    let elapsed = start.elapsed();
    let written = writer.join().map_err(|_| "writer thread panicked".to_string())?;
    written.map_err(|e| format!("writing to the client: {e}"))?;
    status
        .success()
        .then_some(elapsed)
        .ok_or_else(|| format!("client ended with {status}"))
}

/// Memory of a server in KiB. sesh serve is one process: its resident
/// set. sshd forks per connection, and its processes share most pages, so
/// summing RSS would count shared pages many times: the proportional set
/// size (PSS) of every `sshd` process in its tree is summed instead (the
/// commands they run are left out, as for sesh serve).
pub fn server_kib(root: u32, tree: bool) -> u64 {
    if !tree {
        return status_field(root, "VmRSS:");
    }
    descendants(root)
        .into_iter()
        .chain([root])
        .filter(|pid| comm(*pid).starts_with("sshd"))
        .map(pss_kib)
        .sum()
}

/// The highest `server_kib` seen while a sampler ran.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<u64>,
}

impl Sampler {
    /// Samples every `every` until stopped.
    pub fn start(root: u32, tree: bool, every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(server_kib(root, tree));
                std::thread::sleep(every);
            }
            peak.max(server_kib(root, tree))
        });
        Self { stop, thread }
    }

    pub fn peak_kib(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or(0)
    }
}

/// Resets a process's peak RSS (`VmHWM`), so a later read covers only
/// what follows.
pub fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

pub fn peak_rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmHWM:")
}

fn status_field(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    kib_after(&status, field)
}

fn pss_kib(pid: u32) -> u64 {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    kib_after(&rollup, "Pss:")
}

fn kib_after(text: &str, field: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default()
}

/// Every process below `root`, from one pass over /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The parent is the second field after the parenthesised name.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok());
        if let Some(parent) = parent {
            children.entry(parent).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            found.push(child);
            queue.push(child);
        }
    }
    found
}
