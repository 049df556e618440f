//! `sesh exec` against `sesh serve`, both using certificates made by
//! `ssh-keygen -s`: the russh client and server agree on Ed25519 and RSA
//! user certificates and on a host certificate trusted by `@cert-authority`.

use std::process::Output;

use crate::support::certs::{Ca, user_name};
use crate::support::exec::sesh_exec;
use crate::support::{Keys, Server, describe, keygen, run_with_input};

/// Ed25519 and RSA user certificates (no authorized_keys entry) log in,
/// the host is trusted through its certificate alone, and an expired user
/// certificate is refused by the server with the reason in its log.
#[test]
fn certificates_both_ways() {
    let keys = Keys::new();
    let dir = keys.dir.path().to_path_buf();
    let user_ca = Ca::new(&dir, "user_ca");
    let host_ca = Ca::new(&dir, "host_ca");
    let host_key = dir.join("host_key");
    keygen(&host_key);
    let cert = host_ca.sign(&host_key, "serve", &["-h", "-n", "127.0.0.1"]);
    std::fs::write(keys.authorized_keys(), "").unwrap();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let args = [
        "--shell".to_string(),
        "/bin/sh".to_string(),
        "--host-key".to_string(),
        path(&host_key),
        "--host-certificate".to_string(),
        path(&cert),
        "--authorized-keys".to_string(),
        path(&keys.authorized_keys()),
        "--trusted-user-ca-keys".to_string(),
        path(&user_ca.public()),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start_bare(keys, &args);
    let known = dir.join("known_hosts");
    std::fs::write(
        &known,
        format!(
            "@cert-authority 127.0.0.1,[127.0.0.1]:* {}\n",
            host_ca.public_line()
        ),
    )
    .unwrap();
    let exec = |identity: &std::path::Path| -> Output {
        let mut command = sesh_exec();
        command.env("HOME", &dir).arg("-n").arg("-i").arg(identity);
        command.arg("--known-hosts").arg(&known);
        command.arg(format!("127.0.0.1:{}", server.port())).arg("echo in");
        run_with_input(command, b"")
    };
    let me = user_name();
    for kind in ["ed25519", "rsa"] {
        let key = user_ca.user_key(&dir, kind, kind, &["-n", &me]);
        let output = exec(&key);
        assert_eq!(
            output.stdout,
            b"in\n",
            "{kind}: {}\n{}",
            describe(&output),
            server.log()
        );
    }
    let expired = user_ca.user_key(
        &dir,
        "expired",
        "ed25519",
        &["-n", &me, "-V", "20200101:20200102"],
    );
    let output = exec(&expired);
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    assert!(
        server
            .log()
            .contains("refused certificate ID \"expired\" serial 0"),
        "{}",
        server.log()
    );
}
