//! What ssh_config changes about a session and its login, against `sesh
//! serve`: SendEnv and SetEnv (and `--env` winning over SetEnv),
//! IdentityAgent (a socket path, `none`), IdentitiesOnly, RequestTTY and
//! CertificateFile.

use crate::exec_config::{Home, local_user, run, stdout};
use crate::support::agent::Agent;
use crate::support::{Server, describe};

/// A block for `box` reaching `server`, pinned to its key, with `extra`.
fn block(server: &Server, extra: &str) -> String {
    format!(
        "Host box\n  HostName 127.0.0.1\n  Port {}\n  User {}\n{extra}",
        server.port(),
        local_user()
    )
}

/// SendEnv sends the local variables its patterns match, SetEnv its
/// values; a typed `--env` wins over the file's SetEnv (the first SetEnv
/// line counts, and the command line's comes first).
#[test]
fn send_env_and_set_env() {
    let server = Server::start_sh(&["--accept-env", "SESH_T_*", "--accept-env", "FIXED"]);
    let home = Home::with_config("");
    let extra = format!(
        "  IdentityFile {}\n  SendEnv SESH_T_*\n  SetEnv FIXED=from-file\n",
        server.keys.identity().display()
    );
    home.write(".ssh/config", &block(&server, &extra));
    let fingerprint = server.fingerprint();
    let exec = |args: &[&str]| {
        let mut command = home.sesh("exec");
        command.env("SESH_T_A", "local-a").env("SESH_OTHER", "no");
        command.args(["--host-key", &fingerprint]).args(args);
        command.args(["box", "echo \"$SESH_T_A $FIXED ${SESH_OTHER:-unset}\""]);
        run(command)
    };
    let output = exec(&[]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(stdout(&output), "local-a from-file unset\n");
    let output = exec(&["--env", "FIXED=typed"]);
    assert_eq!(stdout(&output), "local-a typed unset\n", "{}", describe(&output));
}

/// IdentityAgent names the agent (no SSH_AUTH_SOCK is set): its key logs
/// in; `IdentityAgent none` uses none; with IdentitiesOnly and only a key
/// the server refuses as IdentityFile, the agent's other key is not offered.
#[test]
fn identity_agent_and_identities_only() {
    let server = Server::start_sh(&[]);
    let home = Home::with_config("");
    let agent = Agent::start(home.dir.path());
    agent.add(&server.keys.identity());
    let socket = agent.socket.clone();
    let stranger = server.keys.stranger();
    let cases = [
        (format!("  IdentityAgent {}\n", socket.display()), 0),
        ("  IdentityAgent none\n".to_string(), 255),
        (
            format!(
                "  IdentityAgent {}\n  IdentityFile {}\n  IdentitiesOnly yes\n",
                socket.display(),
                stranger.display()
            ),
            255,
        ),
        (
            format!(
                "  IdentityAgent {}\n  IdentityFile {}\n",
                socket.display(),
                stranger.display()
            ),
            0,
        ),
    ];
    let fingerprint = server.fingerprint();
    let mut outputs = Vec::new();
    for (extra, code) in &cases {
        home.write(".ssh/config", &block(&server, extra));
        let mut command = home.sesh("exec");
        command.args(["--host-key", &fingerprint, "box", "echo in"]);
        let output = run(command);
        outputs.push((extra.clone(), *code, output));
    }
    drop(agent);
    for (extra, code, output) in outputs {
        assert_eq!(output.status.code(), Some(code), "{extra}: {}", describe(&output));
    }
}

/// RequestTTY force gives the command a pty (no terminal here, so `yes`
/// does not); `no` and the default give none.
#[test]
fn request_tty() {
    let server = Server::start_sh(&[]);
    let home = Home::with_config("");
    let fingerprint = server.fingerprint();
    for (mode, pty) in [("force", true), ("yes", false), ("no", false), ("auto", false)] {
        let extra = format!(
            "  IdentityFile {}\n  RequestTTY {mode}\n",
            server.keys.identity().display()
        );
        home.write(".ssh/config", &block(&server, &extra));
        let mut command = home.sesh("exec");
        command.args(["--host-key", &fingerprint, "box", "tty"]);
        let output = run(command);
        let text = stdout(&output);
        assert_eq!(
            text.trim_end().starts_with("/dev/"),
            pty,
            "{mode}: {}",
            describe(&output)
        );
    }
}

/// CertificateFile: a user certificate kept under another name than
/// `KEY-cert.pub` logs in to a server that admits only its CA; without
/// the keyword the plain key is refused.
#[test]
fn certificate_file() {
    use crate::support::certs::Ca;
    let keys = crate::support::Keys::new();
    let dir = keys.dir.path().to_path_buf();
    let ca = Ca::new(&dir, "user_ca");
    std::fs::write(keys.authorized_keys(), "").unwrap();
    let authorized = keys.authorized_keys().display().to_string();
    let ca_public = ca.public().display().to_string();
    let args = [
        "--shell",
        "/bin/sh",
        "--ephemeral-host-key",
        "--authorized-keys",
        &authorized,
        "--trusted-user-ca-keys",
        &ca_public,
    ];
    let server = Server::start_bare(keys, &args);
    let key = ca.user_key(&dir, "certified", "ed25519", &["-n", &local_user()]);
    let moved = dir.join("elsewhere.pub");
    std::fs::rename(dir.join("certified-cert.pub"), &moved).unwrap();
    let home = Home::with_config("");
    let fingerprint = server.fingerprint();
    for (extra, code) in [
        (String::new(), 255),
        (format!("  CertificateFile {}\n", moved.display()), 0),
    ] {
        let extra = format!("  IdentityFile {}\n{extra}", key.display());
        home.write(".ssh/config", &block(&server, &extra));
        let mut command = home.sesh("exec");
        command.args(["--host-key", &fingerprint, "box", "echo in"]);
        let output = run(command);
        assert_eq!(output.status.code(), Some(code), "{extra}: {}", describe(&output));
    }
}
