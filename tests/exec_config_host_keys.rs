//! Host keys as ssh_config sets them, against `sesh serve`:
//! StrictHostKeyChecking yes/accept-new/no, several UserKnownHostsFile
//! files and GlobalKnownHostsFile read in order, HashKnownHosts for what
//! accept-new writes (found by `ssh-keygen -F`), HostKeyAlias, and a
//! changed key refused in every mode.

use std::process::Command;

use crate::exec_config::{Home, local_user, run, serve_with_host_key};
use crate::support::describe;

/// A block for `box` reaching the server with `extra` lines.
fn block(port: u16, identity: &std::path::Path, extra: &str) -> String {
    format!(
        "Host box\n  HostName 127.0.0.1\n  Port {port}\n  User {}\n  IdentityFile {}\n{extra}",
        local_user(),
        identity.display()
    )
}

/// yes (and ask) refuse an unknown host; accept-new learns it into the
/// first UserKnownHostsFile, hashed under HashKnownHosts so `ssh-keygen -F`
/// finds it and the name is not in clear; no accepts without writing and
/// says so on stderr.
#[test]
fn strict_modes_and_hashing() {
    let (server, _key) = serve_with_host_key();
    let home = Home::with_config("");
    let first = home.path("first_kh");
    let second = home.path("second_kh");
    let files = format!("  UserKnownHostsFile {} {}\n", first.display(), second.display());
    let exec = |mode: &str, hash: &str| {
        let extra = format!("{files}  StrictHostKeyChecking {mode}\n  HashKnownHosts {hash}\n");
        home.write(
            ".ssh/config",
            &block(server.port(), &server.keys.identity(), &extra),
        );
        let mut command = home.sesh("exec");
        command.args(["box", "true"]);
        run(command)
    };
    for mode in ["yes", "ask"] {
        let output = exec(mode, "no");
        assert_eq!(output.status.code(), Some(255), "{mode}: {}", describe(&output));
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("is not known"),
            "{}",
            describe(&output)
        );
    }
    let output = exec("no", "no");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("StrictHostKeyChecking no"),
        "{}",
        describe(&output)
    );
    assert!(!first.exists() && !second.exists(), "no writes under no");
    let output = exec("accept-new", "yes");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = std::fs::read_to_string(&first).unwrap();
    assert!(text.starts_with("|1|") && !text.contains("127.0.0.1"), "{text}");
    assert!(!second.exists(), "learned into the first file only");
    let name = format!("[127.0.0.1]:{}", server.port());
    let found = Command::new("ssh-keygen")
        .arg("-F")
        .arg(&name)
        .arg("-f")
        .arg(&first)
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "ssh-keygen -F finds the hashed line: {}",
        describe(&found)
    );
    // Now known: yes reaches it.
    let output = exec("yes", "no");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
}

/// The key in the second UserKnownHostsFile, or in GlobalKnownHostsFile,
/// admits the host; under HostKeyAlias the alias is the name looked up.
#[test]
fn later_files_and_alias() {
    let (server, key) = serve_with_host_key();
    let home = Home::with_config("");
    let line = format!("[127.0.0.1]:{} {key}\n", server.port());
    std::fs::write(home.path("second"), &line).unwrap();
    std::fs::write(home.path("global"), &line).unwrap();
    std::fs::write(home.path("aliased"), format!("[gate]:{} {key}\n", server.port())).unwrap();
    let h = |name: &str| home.path(name).display().to_string();
    let cases = [
        format!("  UserKnownHostsFile {} {}\n", h("none1"), h("second")),
        format!(
            "  UserKnownHostsFile {}\n  GlobalKnownHostsFile {}\n",
            h("none1"),
            h("global")
        ),
        format!("  UserKnownHostsFile {}\n  HostKeyAlias Gate\n", h("aliased")),
    ];
    for extra in cases {
        home.write(
            ".ssh/config",
            &block(server.port(), &server.keys.identity(), &extra),
        );
        let mut command = home.sesh("exec");
        command.args(["box", "true"]);
        let output = run(command);
        assert_eq!(output.status.code(), Some(0), "{extra}: {}", describe(&output));
    }
}

/// A key that differs from the one on file is refused under every mode,
/// StrictHostKeyChecking no included (ssh's `no` would let it through).
#[test]
fn changed_key_refused_in_every_mode() {
    let (server, _key) = serve_with_host_key();
    let home = Home::with_config("");
    let other = crate::support::Keys::new();
    let wrong = std::fs::read_to_string(other.path("id.pub")).unwrap();
    let wrong: Vec<&str> = wrong.split_whitespace().take(2).collect();
    let kh = home.path("kh");
    std::fs::write(
        &kh,
        format!("[127.0.0.1]:{} {}\n", server.port(), wrong.join(" ")),
    )
    .unwrap();
    for mode in ["yes", "accept-new", "no"] {
        let extra = format!(
            "  UserKnownHostsFile {}\n  StrictHostKeyChecking {mode}\n",
            kh.display()
        );
        home.write(
            ".ssh/config",
            &block(server.port(), &server.keys.identity(), &extra),
        );
        let mut command = home.sesh("exec");
        command.args(["box", "true"]);
        let output = run(command);
        assert_eq!(output.status.code(), Some(255), "{mode}: {}", describe(&output));
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("HOST KEY CHANGED"),
            "{}",
            describe(&output)
        );
    }
}
