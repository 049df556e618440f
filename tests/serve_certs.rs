//! OpenSSH's `ssh` against `sesh serve` with certificates made by
//! `ssh-keygen -s`: user certificates through `--trusted-user-ca-keys` and
//! `cert-authority` lines (each refusal logged with ID, serial and reason),
//! their critical options and extensions, and `--host-certificate` trusted
//! through `@cert-authority`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use crate::serve_lifecycle::startup_error;
use crate::support::certs::{Ca, user_name, with_suffix};
use crate::support::{Keys, Server, describe, keygen, run_with_input};

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

/// A server trusting `ca` through `--trusted-user-ca-keys`.
fn serve_trusting(ca: &Ca) -> Server {
    Server::start(&["--shell", "/bin/sh", "--trusted-user-ca-keys", text(&ca.public())])
}

/// `ssh` with `identity` (and its `-cert.pub`), no config file, no agent.
fn ssh_as(server: &Server, identity: &Path, extra: &[&str], command: &str) -> Output {
    // ssh_command's `-F none` keeps this machine's configuration out.
    let mut ssh = Command::new("ssh");
    ssh.env_remove("SSH_AUTH_SOCK").args(extra);
    let base = server.ssh_command(identity);
    ssh.args(base.get_args()).arg(command);
    run_with_input(ssh, b"")
}

/// Ed25519, ECDSA and RSA user certificates log in with no authorized_keys
/// entry, and the log names the certificate and the CA file.
#[test]
fn user_certificates_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "user_ca");
    let server = serve_trusting(&ca);
    let me = user_name();
    for (serial, kind) in [(1, "ed25519"), (2, "ecdsa"), (3, "rsa")] {
        let id = format!("{kind}@test");
        let key = ca.user_key(
            dir.path(),
            &id,
            kind,
            &["-n", &me, "-V", "-5m:+1h", "-z", &serial.to_string()],
        );
        let output = ssh_as(&server, &key, &[], "echo ok");
        assert_eq!(output.stdout, b"ok\n", "{kind}: {}", describe(&output));
        let logged = format!("accepted certificate ID \"{id}\" serial {serial} CA SHA256:");
        assert!(server.log().contains(&logged), "{logged}:\n{}", server.log());
    }
    assert!(server.log().contains(&format!("via {}", ca.public().display())));
}

/// The CA file is read at every attempt: after its parse is kept, a CA
/// taken out is refused at once and a CA put in admitted at once.
#[test]
fn trusted_ca_file_edits_apply_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, new_ca) = (Ca::new(dir.path(), "old_ca"), Ca::new(dir.path(), "new_ca"));
    let server = serve_trusting(&old_ca);
    let me = user_name();
    let old_key = old_ca.user_key(dir.path(), "old@test", "ed25519", &["-n", &me]);
    let new_key = new_ca.user_key(dir.path(), "new@test", "ed25519", &["-n", &me]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for _ in 0..2 {
        let output = ssh_as(&server, &old_key, &[], "echo in");
        assert_eq!(output.stdout, b"in\n", "{}", describe(&output));
    }
    std::fs::copy(new_ca.public(), old_ca.public()).unwrap();
    let old = ssh_as(&server, &old_key, &[], "echo in");
    assert_eq!(old.status.code(), Some(255), "{}", describe(&old));
    let new = ssh_as(&server, &new_key, &[], "echo in");
    assert_eq!(new.stdout, b"in\n", "{}", describe(&new));
}

/// Expired, not yet valid, wrong principal, no principals, an unknown
/// critical option and another CA: each refused (ssh exits 255) and logged
/// with the certificate's ID, serial and reason; a plain key the CA did not
/// sign is refused as before.
#[test]
fn bad_user_certificates_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "user_ca");
    let other = Ca::new(dir.path(), "other_ca");
    let server = serve_trusting(&ca);
    let me = user_name();
    let cases: [(&Ca, &str, Vec<&str>, &str); 6] = [
        (
            &ca,
            "expired",
            vec!["-n", &me, "-V", "20200101:20200102"],
            "expired at 2020-01-02 00:00:00 UTC",
        ),
        (&ca, "early", vec!["-n", &me, "-V", "+1d:+2d"], "not valid before"),
        (
            &ca,
            "wrongp",
            vec!["-n", "nobody-else", "-V", "-5m:+1h"],
            "principal mismatch",
        ),
        (&ca, "noprinc", vec!["-V", "-5m:+1h"], "it lists no principals"),
        (
            &ca,
            "critical",
            vec!["-n", &me, "-O", "critical:frobnicate=1"],
            "unsupported critical option frobnicate",
        ),
        (&other, "otherca", vec!["-n", &me], "untrusted CA SHA256:"),
    ];
    for (serial, (signer, id, args, why)) in cases.into_iter().enumerate() {
        let serial = (serial + 10).to_string();
        let mut args = args.clone();
        args.extend(["-z", &serial]);
        let key = signer.user_key(dir.path(), id, "ed25519", &args);
        let output = ssh_as(&server, &key, &[], "echo in");
        assert_eq!(output.status.code(), Some(255), "{id}: {}", describe(&output));
        assert!(output.stdout.is_empty(), "{id}");
        let logged = format!("refused certificate ID \"{id}\" serial {serial} CA SHA256:");
        let log = server.log();
        let line = log
            .lines()
            .find(|l| l.contains(&logged))
            .unwrap_or_else(|| panic!("{logged}:\n{log}"));
        assert!(line.contains(why), "{id}: {why} in {line}");
    }
    let output = ssh_as(&server, &server.keys.stranger(), &[], "echo in");
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
}

/// An RSA CA's certificate logs in when signed with rsa-sha2-512 and is
/// refused, naming the reason, when signed with ssh-rsa (SHA-1), which
/// OpenSSH's CASignatureAlgorithms no longer accepts either.
#[test]
fn sha1_ca_signature_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::of_type(dir.path(), "rsa_ca", "rsa");
    let server = serve_trusting(&ca);
    let me = user_name();
    let good = ca.user_key(dir.path(), "sha2", "ed25519", &["-n", &me, "-t", "rsa-sha2-512"]);
    let output = ssh_as(&server, &good, &[], "echo in");
    assert_eq!(output.stdout, b"in\n", "{}", describe(&output));
    let old = ca.user_key(dir.path(), "sha1", "ed25519", &["-n", &me, "-t", "ssh-rsa"]);
    let output = ssh_as(&server, &old, &[], "echo in");
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    let refusal = "refused certificate ID \"sha1\"";
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains(refusal))
        .unwrap_or_else(|| panic!("{refusal}:\n{log}"));
    assert!(line.contains("ssh-rsa (SHA-1)"), "{line}");
}

/// `force-command` runs instead of the request with SSH_ORIGINAL_COMMAND
/// set; `source-address` admits 127.0.0.1/32 and refuses 10.9.9.9/32; a
/// certificate without `permit-pty` has its pty request refused, one with
/// it gets a pty.
#[test]
fn certificate_options_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "user_ca");
    let server = serve_trusting(&ca);
    let me = user_name();
    let forced = ca.user_key(
        dir.path(),
        "forced",
        "ed25519",
        &["-n", &me, "-O", "force-command=echo forced:$SSH_ORIGINAL_COMMAND"],
    );
    let output = ssh_as(&server, &forced, &[], "echo asked");
    assert_eq!(output.stdout, b"forced:echo asked\n", "{}", describe(&output));

    let here = ca.user_key(
        dir.path(),
        "here",
        "ed25519",
        &["-n", &me, "-O", "source-address=10.0.0.0/8,127.0.0.1/32"],
    );
    let output = ssh_as(&server, &here, &[], "echo here");
    assert_eq!(output.stdout, b"here\n", "{}", describe(&output));
    let away = ca.user_key(
        dir.path(),
        "away",
        "ed25519",
        &["-n", &me, "-O", "source-address=10.9.9.9/32"],
    );
    let output = ssh_as(&server, &away, &[], "echo away");
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    assert!(
        server
            .log()
            .contains("not from a permitted source address (127.0.0.1 is not in 10.9.9.9/32)"),
        "{}",
        server.log()
    );

    let tty_check = "if test -t 0; then echo tty; else echo no-tty; fi";
    let with_pty = ca.user_key(dir.path(), "pty", "ed25519", &["-n", &me]);
    let output = ssh_as(&server, &with_pty, &["-tt"], tty_check);
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("tty"),
        "{}",
        describe(&output)
    );
    // ssh -tt treats a refused pty as fatal (as against sshd): exit 255.
    let no_pty = ca.user_key(dir.path(), "nopty", "ed25519", &["-n", &me, "-O", "clear"]);
    let output = ssh_as(&server, &no_pty, &["-tt"], tty_check);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("PTY allocation request failed"),
        "{}",
        describe(&output)
    );
    assert!(output.stdout.is_empty(), "{}", describe(&output));
}

/// A `cert-authority,principals="deploy"` line in authorized_keys admits a
/// certificate for `deploy` and refuses one for the account name only; the
/// CA key on that line never logs in as a plain key.
#[test]
fn cert_authority_line() {
    let keys = Keys::new();
    let ca = Ca::new(keys.dir.path(), "line_ca");
    let line = format!("cert-authority,principals=\"deploy,ops\" {}\n", ca.public_line());
    std::fs::write(keys.authorized_keys(), line).unwrap();
    let server = Server::start_with(keys, &["--shell", "/bin/sh"]);
    let dir = server.keys.dir.path();
    let deploy = ca.user_key(dir, "deploy", "ed25519", &["-n", "deploy"]);
    let output = ssh_as(&server, &deploy, &[], "echo deployed");
    assert_eq!(output.stdout, b"deployed\n", "{}", describe(&output));
    assert!(
        server.log().contains("authorized_keys line 1"),
        "{}",
        server.log()
    );

    let mine = ca.user_key(dir, "mine", "ed25519", &["-n", &user_name()]);
    let output = ssh_as(&server, &mine, &[], "echo in");
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    assert!(
        server.log().contains("none of its principals"),
        "{}",
        server.log()
    );

    let output = ssh_as(&server, &ca.key, &[], "echo in");
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
}

/// `ssh` with only an `@cert-authority` line for the host CA, and
/// StrictHostKeyChecking=yes, trusts `sesh serve --host-certificate`; the
/// same client without the line refuses it.
#[test]
fn ssh_trusts_host_certificate() {
    let keys = Keys::new();
    let dir = keys.dir.path().to_path_buf();
    let host_ca = Ca::new(&dir, "host_ca");
    let host_key = dir.join("host_key");
    keygen(&host_key);
    let cert = host_ca.sign(
        &host_key,
        "sesh-serve",
        &["-h", "-n", "127.0.0.1", "-V", "-5m:+1d"],
    );
    let ak = keys.authorized_keys();
    let args = [
        "--host-key",
        text(&host_key),
        "--host-certificate",
        text(&cert),
        "--authorized-keys",
        text(&ak),
    ];
    let server = Server::start_bare(keys, &args);
    let known = dir.join("known_hosts");
    let line = format!(
        "@cert-authority [127.0.0.1]:{} {}\n",
        server.port(),
        host_ca.public_line()
    );
    std::fs::write(&known, line).unwrap();
    let strict = |file: &Path| {
        let mut ssh = Command::new("ssh");
        ssh.args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=yes",
        ]);
        ssh.arg("-o")
            .arg(format!("UserKnownHostsFile={}", file.display()));
        ssh.args([
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-p",
            &server.port().to_string(),
            "-i",
        ]);
        ssh.arg(server.keys.identity())
            .args(["127.0.0.1", "echo trusted"])
            .env_remove("SSH_AUTH_SOCK");
        run_with_input(ssh, b"")
    };
    let output = strict(&known);
    assert_eq!(output.stdout, b"trusted\n", "{}", describe(&output));
    let output = strict(Path::new("/dev/null"));
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("Host key verification failed"),
        "{}",
        describe(&output)
    );
}

/// A trusted CA keys file writable by others stops the start (StrictModes),
/// and a host certificate for another key is a one-line startup error.
#[test]
fn unsafe_ca_file_and_wrong_host_certificate() {
    let keys = Keys::new();
    let dir = keys.dir.path();
    let ca = Ca::new(dir, "user_ca");
    std::fs::set_permissions(ca.public(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let ak = keys.authorized_keys();
    let error = startup_error(&[
        "--ephemeral-host-key",
        "--authorized-keys",
        text(&ak),
        "--trusted-user-ca-keys",
        text(&ca.public()),
    ]);
    let expected = format!(
        "unsafe trusted user CA keys file {}: writable by group or others",
        ca.public().display()
    );
    assert!(error.contains(&expected), "{error}");

    let host_key = dir.join("host_key");
    let other_key = dir.join("other_key");
    keygen(&host_key);
    keygen(&other_key);
    let cert = ca.sign(&other_key, "other", &["-h", "-n", "127.0.0.1"]);
    let error = startup_error(&[
        "--host-key",
        text(&host_key),
        "--host-certificate",
        text(&cert),
        "--authorized-keys",
        text(&ak),
    ]);
    assert_eq!(error.trim().lines().count(), 1, "{error}");
    assert!(error.contains("is for the key SHA256:"), "{error}");
    assert!(with_suffix(&other_key, "-cert.pub").exists());
}
