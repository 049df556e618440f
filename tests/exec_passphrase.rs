//! The passphrase prompt of an encrypted identity on a real terminal (a pty
//! of the test's, sesh's controlling terminal): the terminal's erase key
//! edits the line, and its interrupt key ends the run at once, not at the
//! next Enter, with the terminal as it was.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::pty::openpty;
use nix::sys::termios::{LocalFlags, tcgetattr};

use crate::exec_common::locked_copy;
use crate::support::exec::Remote;
use crate::support::{Server, on_terminal, wait_for, wait_with_deadline};

/// `sesh exec -i KEY` on a fresh pty; its output gathered by a thread.
struct OnTerminal {
    child: Child,
    master: std::fs::File,
    slave: OwnedFd,
    seen: Arc<Mutex<String>>,
}

impl OnTerminal {
    fn start(remote: &Remote, key: &Path, command: &str) -> Self {
        let pty = openpty(None, None).unwrap();
        let mut exec = remote.command_as(key, command);
        on_terminal(&mut exec, &pty.slave);
        let child = exec.spawn().unwrap();
        let master = std::fs::File::from(pty.master);
        let seen = Arc::new(Mutex::new(String::new()));
        let (mut reader, gathered) = (master.try_clone().unwrap(), seen.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                gathered
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self {
            child,
            master,
            slave: pty.slave,
            seen,
        }
    }

    fn wait_for_text(&self, text: &str) {
        let shown = wait_for(Duration::from_secs(20), || {
            self.seen.lock().unwrap().contains(text)
        });
        assert!(
            shown,
            "no {text:?} on the terminal: {:?}",
            self.seen.lock().unwrap()
        );
    }

    fn type_keys(&mut self, keys: &[u8]) {
        self.master.write_all(keys).unwrap();
    }

    /// The exit code, within `within`.
    fn code(&mut self, within: Duration) -> Option<i32> {
        let status = wait_with_deadline(&mut self.child, within);
        if status.is_none() {
            let _ = self.child.kill();
        }
        status.and_then(|s| s.code())
    }
}

#[test]
fn passphrase_prompt_edits_and_interrupts() {
    let server = Server::start_sh(&[]);
    let remote = Remote::of_serve(&server);
    let dir = tempfile::tempdir().unwrap();
    let key = locked_copy(&remote, dir.path());

    // A typo taken back with the terminal's erase key (DEL on a new pty).
    let mut run = OnTerminal::start(&remote, &key, "echo logged-in");
    run.wait_for_text("Enter passphrase");
    let during = tcgetattr(&run.slave).unwrap();
    assert!(
        !during.local_flags.contains(LocalFlags::ECHO),
        "the secret is echoed"
    );
    run.type_keys(b"secrex\x7ft\r");
    run.wait_for_text("logged-in");
    assert_eq!(
        run.code(Duration::from_secs(20)),
        Some(0),
        "{:?}",
        run.seen.lock().unwrap()
    );
    assert!(
        !run.seen.lock().unwrap().contains("secret"),
        "the secret was shown"
    );

    // Ctrl-C at the prompt: 130 at once, nothing run, the terminal restored.
    let marker = dir.path().join("ran");
    let mut run = OnTerminal::start(&remote, &key, &format!("touch {}", marker.display()));
    run.wait_for_text("Enter passphrase");
    run.type_keys(b"sec\x03");
    assert_eq!(
        run.code(Duration::from_secs(5)),
        Some(130),
        "{:?}",
        run.seen.lock().unwrap()
    );
    run.wait_for_text("sesh: signal INT before the remote command started; it was not run");
    let after = tcgetattr(&run.slave).unwrap();
    assert!(
        after
            .local_flags
            .contains(LocalFlags::ECHO | LocalFlags::ICANON | LocalFlags::ISIG)
    );
    assert!(!marker.exists(), "the command ran");
}
