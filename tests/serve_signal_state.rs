//! What a served command inherits from however `sesh serve` was started:
//! nothing. A server started from a script (INT and QUIT ignored), under
//! `nohup` (HUP ignored) or by a shell that blocks a signal still starts
//! every command with default dispositions and an empty mask, as sshd does.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use russh::ChannelMsg;

use crate::support::client::{Client, start_and_wait_for};
use crate::support::{Keys, Server, eventually_async, gone};

/// Starts `sesh serve` (with /bin/sh) as `nohup` from a script would leave
/// it: HUP, INT and QUIT ignored, USR1 and CHLD blocked.
fn start_neglected(extra: &[&str]) -> Server {
    let wrapper = [
        "perl",
        "-e",
        "use POSIX; $SIG{HUP} = $SIG{INT} = $SIG{QUIT} = 'IGNORE'; \
         sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGUSR1, SIGCHLD)) or die; exec @ARGV or die",
    ];
    let keys = Keys::new();
    let authorized_keys = keys.authorized_keys();
    let mut args = vec![
        "--ephemeral-host-key",
        "--authorized-keys",
        authorized_keys.to_str().expect("a UTF-8 temp path"),
        "--shell",
        "/bin/sh",
    ];
    args.extend_from_slice(extra);
    let server = Server::start_through(&wrapper, keys, &args);
    // The wrapper took: the server itself runs with HUP ignored.
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let ignored = field(&status, "SigIgn");
    assert_ne!(ignored & (1 << (libc::SIGHUP - 1)), 0, "{status}");
    server
}

/// A hexadecimal signal set of /proc/PID/status.
fn field(status: &str, name: &str) -> u64 {
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {status}"));
    u64::from_str_radix(line.trim(), 16).unwrap()
}

/// A served command shows no ignored and no blocked signal, a process that
/// kills itself with QUIT or HUP dies of it, and a QUIT `signal` request
/// reaches a command that keeps the default action.
#[tokio::test]
async fn served_commands_start_clean() {
    let server = start_neglected(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let transcript = client.run("cat /proc/self/status").await;
    let status = String::from_utf8_lossy(&transcript.stdout).to_string();
    assert_eq!(field(&status, "SigIgn"), 0, "{status}");
    assert_eq!(field(&status, "SigBlk"), 0, "{status}");
    for signal in ["QUIT", "HUP", "INT"] {
        let transcript = client
            .run(&format!("exec perl -e 'kill q({signal}), $$; sleep 5'"))
            .await;
        assert_eq!(
            transcript.exit_signal(),
            Some((signal.to_string(), false)),
            "{transcript:?}"
        );
    }
    let (mut channel, _) = start_and_wait_for(&client, "echo ready; exec sleep 60", "ready").await;
    channel.signal(russh::Sig::QUIT).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match channel.wait().await {
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                    return Some(sesh::signals::sig_name(&signal_name));
                }
                Some(_) => continue,
                None => return None,
            }
        }
    })
    .await
    .expect("the command ended");
    assert_eq!(ended.as_deref(), Some("QUIT"));
}

/// A client that vanishes (an `ssh` killed with SIGKILL) gets its command
/// hung up by SIGHUP at once, not only by the SIGKILL a long grace later.
#[tokio::test]
async fn vanished_client_hangs_up_with_sighup() {
    let server = start_neglected(&["--hangup-grace", "60s"]);
    let mut ssh = server
        .ssh_command(&server.keys.identity())
        .arg("echo $$; exec sleep 300")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(ssh.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let pid: i32 = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no pid in {line:?}"));
    ssh.kill().unwrap();
    ssh.wait().unwrap();
    // Well inside the 60 s grace: only SIGHUP can have ended it.
    assert!(
        eventually_async(Duration::from_secs(15), || gone(pid)).await,
        "pid {pid} still running: SIGHUP was ignored"
    );
    server.assert_logged("ending=signal HUP").await;
}

/// The server raises its own open-file limit to the hard one, and its
/// commands get back the soft limit it was started with.
#[tokio::test]
async fn served_commands_get_the_original_open_file_limit() {
    let keys = Keys::new();
    let authorized_keys = keys.authorized_keys();
    let args = [
        "--ephemeral-host-key",
        "--authorized-keys",
        authorized_keys.to_str().expect("a UTF-8 temp path"),
        "--shell",
        "/bin/sh",
    ];
    let wrapper = ["sh", "-c", "ulimit -Sn 512 && exec \"$@\"", "sh"];
    let server = Server::start_through(&wrapper, keys, &args);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.child.id())).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[3], fields[4], "soft limit raised to the hard one: {line}");
    assert_ne!(fields[3], "512", "{line}");
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let transcript = client.run("ulimit -Sn").await;
    assert_eq!(transcript.stdout, b"512\n");
}
