//! Starting a command with pipes without copying the server: a child made
//! by `clone(CLONE_VM | CLONE_VFORK)`, as glibc's `posix_spawn` makes
//! one, that runs the steps `posix_spawn` cannot express (the original
//! open-file limit, see [`crate::rlimit`]) and then `execve`.
//!
//! Why not `fork`: std's `Command` forks whenever a `pre_exec` hook is
//! set, and a fork copies the page tables of the whole server and then
//! tears them down again at exec. With a thousand connections (~70 MB
//! resident) that was ~7 ms of kernel time per command on this machine,
//! and a thousand `true`s from one fan-out took 13-31 s, the server's CPU
//! nearly all in `copy_page_range` and `exit_mmap`. The child here shares
//! the server's memory until it execs, so nothing is copied.
//!
//! The child also starts on the server's descriptor table and copies only
//! the few low descriptors of [`super::fd_slots`], not every socket.
//!
//! The child reads only what [`Plan`] prepared before the clone and makes
//! only system calls: it must not allocate or take a lock, since it runs
//! on the server's memory while the server's other threads go on.

use std::ffi::{CString, OsStr, c_char, c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicI32, Ordering};

use super::process::{ProcessSpec, reset_signals};

/// The child's stack: its steps are a few system calls deep.
const STACK: usize = 64 * 1024;

/// A started command: its pid and the server's ends of its pipes.
pub struct Spawned {
    pub pid: i32,
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// Everything the child reads, prepared by the parent.
struct Plan {
    program: CString,
    /// Null-terminated arrays pointing into `_strings`.
    argv: Vec<*const c_char>,
    envp: Vec<*const c_char>,
    _strings: Vec<CString>,
    cwd: CString,
    /// The child's ends of its stdin, stdout and stderr (all >= 3).
    stdio: [RawFd; 3],
    /// Non-zero: the child shares the server's descriptor table at first
    /// and takes a private copy of the descriptors below this (the
    /// [`super::fd_slots`], which hold `stdio`) as its first step.
    unshare_below: u32,
    open_files: Option<libc::rlimit>,
    last_signal: i32,
    /// The errno of the child's step that failed; 0 while none did.
    error: AtomicI32,
}

/// Whether `spec` can be started here: pipes (a pty needs its controlling
/// terminal set up, which the fork path does) and a program named by path
/// (`execve` searches no PATH).
pub fn suits(spec: &ProcessSpec) -> bool {
    spec.pty.is_none() && spec.program.as_os_str().as_bytes().contains(&b'/')
}

/// Starts `spec` (see [`suits`]) in its own session with three pipes.
pub fn spawn(spec: &ProcessSpec, last_signal: i32) -> io::Result<Spawned> {
    let (stdin_child, stdin) = pipe()?;
    let (stdout, stdout_child) = pipe()?;
    let (stderr, stderr_child) = pipe()?;
    let ends = [&stdin_child, &stdout_child, &stderr_child];
    let slots = super::fd_slots::load(ends).transpose()?;
    let mut plan = plan(spec, last_signal, ends.map(|fd| fd.as_raw_fd()))?;
    if let Some(slots) = &slots {
        plan.stdio = slots.fds();
        plan.unshare_below = slots.below();
    }
    let pid = clone_child(&plan)?;
    drop(slots);
    drop((stdin_child, stdout_child, stderr_child));
    let error = plan.error.load(Ordering::SeqCst);
    if error != 0 {
        // The child has exited already (exec failed): reap it.
        // SAFETY: waiting for our own child; a null status is allowed.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        return Err(io::Error::from_raw_os_error(error));
    }
    Ok(Spawned {
        pid,
        stdin,
        stdout,
        stderr,
    })
}

fn plan(spec: &ProcessSpec, last_signal: i32, stdio: [RawFd; 3]) -> io::Result<Plan> {
    let c = |s: &OsStr| CString::new(s.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
    let program = c(spec.program.as_os_str())?;
    let mut strings = vec![c(spec.arg0.as_deref().unwrap_or(spec.program.as_os_str()))?];
    for arg in &spec.args {
        strings.push(c(arg)?);
    }
    let argc = strings.len();
    for (name, value) in &spec.env {
        let mut pair = name.as_bytes().to_vec();
        pair.push(b'=');
        pair.extend_from_slice(value.as_bytes());
        strings.push(CString::new(pair).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?);
    }
    // The CStrings' buffers stay put when `strings` moves into the plan.
    let pointers = |range: std::ops::Range<usize>| {
        let mut list: Vec<*const c_char> = strings[range].iter().map(|s| s.as_ptr()).collect();
        list.push(std::ptr::null());
        list
    };
    Ok(Plan {
        argv: pointers(0..argc),
        envp: pointers(argc..strings.len()),
        program,
        _strings: strings,
        cwd: c(spec.cwd.as_os_str())?,
        stdio,
        unshare_below: 0,
        open_files: crate::rlimit::for_children(),
        last_signal,
        error: AtomicI32::new(0),
    })
}

/// Clones the child with every signal blocked, so no handler of the server
/// runs in it before it has put them back to their defaults; returns once
/// it has exec'd or failed.
fn clone_child(plan: &Plan) -> io::Result<i32> {
    let mut stack = vec![0u8; STACK];
    // The stack grows down from its 16-byte aligned top.
    let top = (stack.as_mut_ptr() as usize + STACK) & !15;
    // SAFETY: the sets are initialised by sigfillset/pthread_sigmask before
    // use; the clone's stack outlives the child's use of it (CLONE_VFORK
    // returns only after exec or exit); the child only reads `plan`, which
    // outlives the call, and writes its atomic.
    unsafe {
        let mut all = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        let mut old = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigfillset(all.as_mut_ptr());
        libc::pthread_sigmask(libc::SIG_SETMASK, all.as_ptr(), old.as_mut_ptr());
        let files = if plan.unshare_below != 0 {
            libc::CLONE_FILES
        } else {
            0
        };
        let pid = libc::clone(
            child,
            top as *mut c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | files | libc::SIGCHLD,
            plan as *const Plan as *mut c_void,
        );
        let error = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut());
        drop(stack);
        if pid < 0 { Err(error) } else { Ok(pid) }
    }
}

/// The child: signals back to default, the original open-file limit, a
/// session of its own, the pipes as 0, 1 and 2, the working directory,
/// then exec. A failed step leaves its errno in the plan.
extern "C" fn child(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's `Plan`, alive until this child execs
    // or exits; every call below is a system call wrapper.
    unsafe {
        let plan = &*(arg as *const Plan);
        // First, before any descriptor is touched: the table is the
        // server's until unshared. Kernels before 5.9 have no close_range;
        // then the whole table is copied (close-on-exec closes the rest).
        if plan.unshare_below != 0
            && libc::syscall(
                libc::SYS_close_range,
                plan.unshare_below,
                u32::MAX,
                libc::CLOSE_RANGE_UNSHARE,
            ) < 0
            && libc::unshare(libc::CLONE_FILES) < 0
        {
            fail(plan);
        }
        if reset_signals(plan.last_signal).is_err() {
            fail(plan);
        }
        if let Some(limit) = &plan.open_files {
            // A failure leaves the raised limit, as the fork path does.
            libc::setrlimit(libc::RLIMIT_NOFILE, limit);
        }
        if libc::setsid() < 0 {
            fail(plan);
        }
        for (target, fd) in plan.stdio.iter().enumerate() {
            if libc::dup2(*fd, target as c_int) < 0 {
                fail(plan);
            }
        }
        if libc::chdir(plan.cwd.as_ptr()) < 0 {
            fail(plan);
        }
        libc::execve(plan.program.as_ptr(), plan.argv.as_ptr(), plan.envp.as_ptr());
        fail(plan)
    }
}

/// Leaves the failed step's errno for the parent and exits the child.
///
/// # Safety
/// In the cloned child only.
unsafe fn fail(plan: &Plan) -> ! {
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
    plan.error.store(errno.max(1), Ordering::SeqCst);
    // SAFETY: _exit runs no atexit handlers or destructors of the server.
    unsafe { libc::_exit(127) }
}

/// A close-on-exec pipe (read end, write end), both ends at 3 or above so
/// the child's `dup2` onto 0, 1 and 2 cannot overwrite one of them.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((above_stdio(read)?, above_stdio(write)?))
}

fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: duplicating a descriptor we own; the copy is owned by the result.
    let copy = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `copy` was just opened.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// Waits for the child `pid` to end and reaps it. Its pidfd turns readable
/// when it exits; without pidfds (Linux before 5.3) a blocking thread
/// waits. Dropped before the end, it leaves a thread to reap the child, so
/// no zombie stays behind.
pub async fn wait(pid: i32) -> io::Result<ExitStatus> {
    let mut reaper = Reaper(Some(pid));
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd >= 0 {
        // SAFETY: `fd` was just opened and is owned by nobody else; the
        // AsyncFd owns it, open and the same descriptor until dropped.
        let pidfd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
        let pidfd = unsafe { tokio::io::unix::AsyncFd::register(pidfd) }.map_err(|e| e.into_parts().1)?;
        let _ready = pidfd.readable().await?;
        if let Some(status) = reap(pid, libc::WNOHANG)? {
            reaper.0.take();
            return Ok(status);
        }
    }
    reaper.0.take();
    tokio::task::spawn_blocking(move || reap(pid, 0).map(|s| s.unwrap_or(ExitStatus::from_raw(0))))
        .await
        .map_err(io::Error::other)?
}

/// Reaps the child `pid` (with `flags` 0, waiting for it if it still
/// runs; with WNOHANG, `None` while it does).
fn reap(pid: i32, flags: c_int) -> io::Result<Option<ExitStatus>> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child into a valid status word.
        match unsafe { libc::waitpid(pid, &mut status, flags) } {
            0 => return Ok(None),
            n if n > 0 => return Ok(Some(ExitStatus::from_raw(status))),
            _ => {}
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Reaps its pid on drop, unless taken.
struct Reaper(Option<i32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let (Some(pid), Ok(runtime)) = (self.0, tokio::runtime::Handle::try_current()) {
            drop(runtime.spawn_blocking(move || reap(pid, 0)));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn spec(program: &str, args: &[&str]) -> ProcessSpec {
        ProcessSpec {
            program: program.into(),
            args: args.iter().map(Into::into).collect(),
            arg0: None,
            env: vec![("GREETING".into(), "hello".into())],
            cwd: "/tmp".into(),
            pty: None,
        }
    }

    /// A command started without fork gets its arguments, its environment
    /// alone, its working directory and a session of its own, writes to
    /// its pipes, and its exit status comes back through the pidfd.
    #[tokio::test]
    async fn runs_with_pipes_env_cwd_and_session() {
        // Field 6 of /proc/PID/stat is the session id.
        let script =
            r#"echo "$GREETING $(pwd)"; read -r _ _ _ _ _ sid _ < /proc/$$/stat; echo $sid; echo $$; exit 3"#;
        let child = spawn(&spec("/bin/sh", &["-c", script]), 64).unwrap();
        let pid = child.pid;
        drop(child.stdin);
        let mut out = String::new();
        std::fs::File::from(child.stdout)
            .read_to_string(&mut out)
            .unwrap();
        let status = wait(pid).await.unwrap();
        assert_eq!(status.code(), Some(3));
        let lines: Vec<&str> = out.lines().map(str::trim).collect();
        assert_eq!(lines[0], "hello /tmp", "{out}");
        assert_eq!(lines[1], lines[2], "the command leads its own session: {out}");
    }

    /// A program that cannot be executed is an error of the spawn (the
    /// child's errno), not a command that exits 127.
    #[test]
    fn missing_program_is_an_error() {
        let error = spawn(&spec("/nonexistent/program", &[]), 64).err().unwrap();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }
}
