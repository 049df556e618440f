//! Jump hosts and ProxyCommand from the configuration, end to end: a
//! bastion alias with its own IdentityFile, UserKnownHostsFile and Port,
//! reached by `ProxyJump` in the file and by `-J`; a ProxyCommand
//! `ssh -W %h:%p` from the file and from `-o`.

use crate::exec_config::{Home, alias_block, local_user, run, serve_with_host_key, stdout};
use crate::support::describe;
use crate::support::jump::bastion;
use crate::support::sshd::Sshd;

/// `Host bastion` with its own key, known_hosts file and port.
fn bastion_block(bastion: &Sshd, home: &Home) -> String {
    let known_hosts = home.path("bastion_kh");
    std::fs::write(&known_hosts, bastion.known_hosts_line() + "\n").unwrap();
    format!(
        "Host bastion\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n  UserKnownHostsFile {}\n",
        bastion.addr.port(),
        local_user(),
        bastion.keys.identity().display(),
        known_hosts.display()
    )
}

/// `ProxyJump bastion` in the target's block and `-J bastion` on the
/// command line both go through the bastion alias as the file describes it
/// (nothing of it on the command line); the command line's `-o` is for the
/// target only (`-o UserKnownHostsFile=/dev/null` with a pinned target key
/// still trusts the bastion from its own file).
#[test]
fn jump_through_aliases() {
    let bastion = bastion();
    let (server, key) = serve_with_host_key();
    let home = Home::with_config("");
    let known_hosts = home.path("box_kh");
    std::fs::write(&known_hosts, format!("[127.0.0.1]:{} {key}\n", server.port())).unwrap();
    let target = alias_block("box direct", server.port(), &server.keys.identity(), &known_hosts);
    let config = format!(
        "{}Host box\n  ProxyJump bastion\n{target}",
        bastion_block(&bastion, &home)
    );
    home.write(".ssh/config", &config);
    let fingerprint = crate::support::fingerprint_of(&server.keys.path("host_key.pub"));
    let cases: [&[&str]; 3] = [
        &["box"],
        &["-J", "bastion", "direct"],
        &[
            "-o",
            "UserKnownHostsFile=/dev/null",
            "--host-key",
            &fingerprint,
            "box",
        ],
    ];
    for args in cases {
        let mut command = home.sesh("exec");
        command.args(args).args(["echo", "jumped"]);
        let output = run(command);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}\n{}",
            describe(&output),
            bastion.log()
        );
        assert_eq!(stdout(&output), "jumped\n");
    }
    let accepted = bastion.log().matches("Accepted publickey").count();
    assert_eq!(accepted, 3, "{}", bastion.log());
    // -G shows the hop as ssh would.
    let mut command = home.sesh("exec");
    command.args(["-G", "box"]);
    assert!(stdout(&run(command)).lines().any(|l| l == "proxyjump bastion"));
}

/// A bastion the file describes wrongly (a closed port) fails with one
/// line naming it, exit 255.
#[test]
fn broken_bastion_is_named() {
    let (server, key) = serve_with_host_key();
    let home = Home::with_config("");
    let known_hosts = home.path("box_kh");
    std::fs::write(&known_hosts, format!("[127.0.0.1]:{} {key}\n", server.port())).unwrap();
    let closed = crate::support::sshd::free_port();
    let config = format!(
        "Host bastion\n  HostName 127.0.0.1\n  Port {closed}\nHost box\n  ProxyJump bastion\n{}",
        alias_block("box", server.port(), &server.keys.identity(), &known_hosts)
    );
    home.write(".ssh/config", &config);
    let mut command = home.sesh("exec");
    command.args(["box", "true"]);
    let output = run(command);
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{closed}")), "{stderr}");
}

/// ProxyCommand `ssh -W %h:%p` (the real ssh through a private sshd) from
/// the file, and the same from `-o ProxyCommand=`: tokens expanded, the
/// session and its exit status intact.
#[test]
fn proxy_command_from_file_and_option() {
    let bastion = bastion();
    let (server, key) = serve_with_host_key();
    let home = Home::with_config("");
    let known_hosts = home.path("box_kh");
    std::fs::write(&known_hosts, format!("[127.0.0.1]:{} {key}\n", server.port())).unwrap();
    let proxy = format!(
        "ssh -F /dev/null -i {} -p {} -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
         -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -W %h:%p 127.0.0.1",
        bastion.keys.identity().display(),
        bastion.addr.port()
    );
    let config = format!(
        "Host box\n  ProxyCommand {proxy}\n{}",
        alias_block("box plain", server.port(), &server.keys.identity(), &known_hosts)
    );
    home.write(".ssh/config", &config);
    let option = format!("ProxyCommand={proxy}");
    let cases: [&[&str]; 2] = [&["box"], &["-o", &option, "plain"]];
    for args in cases {
        let mut command = home.sesh("exec");
        command.args(args).args(["echo", "proxied;", "exit", "4"]);
        let output = run(command);
        assert_eq!(
            output.status.code(),
            Some(4),
            "{args:?}: {}\n{}",
            describe(&output),
            bastion.log()
        );
        assert_eq!(stdout(&output), "proxied\n");
    }
    let forwarded = bastion.log().matches("Accepted publickey").count();
    assert_eq!(forwarded, 2, "{}", bastion.log());
}
