//! `sesh exec` logging in to OpenSSH's sshd with user certificates made by
//! `ssh-keygen -s`, trusted there through `TrustedUserCAKeys`: from
//! `<identity>-cert.pub` files and from ssh-agent. Refused certificates
//! give exit 255 and one line naming what was offered.

use std::path::Path;
use std::process::Output;

use crate::support::agent::Agent;
use crate::support::certs::{Ca, user_name};
use crate::support::exec::sesh_exec;
use crate::support::sshd::Sshd;
use crate::support::{describe, run_with_input};

/// An sshd trusting user certificates from `ca`.
fn sshd_trusting(ca: &Ca) -> Sshd {
    Sshd::start_prepared(|_, _| format!("TrustedUserCAKeys {}", ca.public().display()))
}

/// `sesh exec` with `args` before the target, in its own HOME.
fn exec(sshd: &Sshd, home: &Path, args: &[&std::ffi::OsStr]) -> Output {
    let mut command = sesh_exec();
    command
        .env("HOME", home)
        .args(["-n", "--host-key", &sshd.fingerprint])
        .args(args);
    command
        .arg(format!("127.0.0.1:{}", sshd.addr.port()))
        .arg("echo in");
    run_with_input(command, b"")
}

fn exec_with(sshd: &Sshd, home: &Path, identity: &Path) -> Output {
    exec(sshd, home, &["-i".as_ref(), identity.as_os_str()])
}

/// Exit 255 and one line naming the certificate offered and `why`.
fn refused(output: &Output, id: &str, why: &str) {
    assert_eq!(output.status.code(), Some(255), "{}", describe(output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("ID \"{id}\"")), "{id} in {stderr}");
    assert!(stderr.contains(why), "{why:?} in {stderr}");
}

/// The certificates every test offers: good ones of each key type, and
/// expired, not yet valid, wrong-principal and wrong-CA ones.
fn bad_cases(me: &str) -> [(&'static str, bool, Vec<String>, &'static str); 4] {
    let me = me.to_string();
    [
        (
            "expired",
            true,
            vec!["-n".into(), me.clone(), "-V".into(), "20200101:20200102".into()],
            "expired at 2020-01-02",
        ),
        (
            "early",
            true,
            vec!["-n".into(), me.clone(), "-V".into(), "+1d:+2d".into()],
            "not valid before",
        ),
        (
            "wrongp",
            true,
            vec!["-n".into(), "nobody-else".into()],
            "principal mismatch",
        ),
        ("wrongca", false, vec!["-n".into(), me], "refused"),
    ]
}

/// Ed25519, ECDSA and RSA certificates beside their identities log in
/// (sshd logs the certificate ID); expired, not yet valid, wrong-principal
/// and wrong-CA certificates are refused with exit 255 and one line.
#[test]
fn certificate_files() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "user_ca");
    let other = Ca::new(dir.path(), "other_ca");
    let sshd = sshd_trusting(&ca);
    let me = user_name();
    for kind in ["ed25519", "ecdsa", "rsa"] {
        let id = format!("{kind}@test");
        let key = ca.user_key(dir.path(), &id, kind, &["-n", &me, "-V", "-5m:+1h"]);
        let output = exec_with(&sshd, dir.path(), &key);
        assert_eq!(output.stdout, b"in\n", "{kind}: {}", describe(&output));
        assert!(
            sshd.log().contains(&format!("Accepted certificate ID \"{id}\"")),
            "{}",
            sshd.log()
        );
    }
    for (id, ours, args, why) in bad_cases(&me) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let key = if ours { &ca } else { &other }.user_key(dir.path(), id, "ed25519", &args);
        refused(&exec_with(&sshd, dir.path(), &key), id, why);
    }
}

/// The same with the certificate only in ssh-agent (no identity file in
/// HOME): a good one logs in, each bad one is refused with one line.
#[test]
fn agent_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "user_ca");
    let other = Ca::new(dir.path(), "other_ca");
    let sshd = sshd_trusting(&ca);
    let me = user_name();
    let home = tempfile::tempdir().unwrap();
    let agent_exec = |agent: &Agent| {
        let mut command = sesh_exec();
        command
            .env("HOME", home.path())
            .env("SSH_AUTH_SOCK", &agent.socket);
        command.args(["-n", "--host-key", &sshd.fingerprint]);
        command
            .arg(format!("127.0.0.1:{}", sshd.addr.port()))
            .arg("echo in");
        run_with_input(command, b"")
    };
    let good = ca.user_key(dir.path(), "agent-good", "rsa", &["-n", &me]);
    std::fs::create_dir(dir.path().join("good-agent")).unwrap();
    let agent = Agent::start(&dir.path().join("good-agent"));
    agent.add(&good);
    let output = agent_exec(&agent);
    assert_eq!(output.stdout, b"in\n", "{}", describe(&output));
    assert!(
        sshd.log().contains("Accepted certificate ID \"agent-good\""),
        "{}",
        sshd.log()
    );
    for (id, ours, args, why) in bad_cases(&me) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let key = if ours { &ca } else { &other }.user_key(dir.path(), id, "ed25519", &args);
        let agent_dir = dir.path().join(format!("agent-{id}"));
        std::fs::create_dir(&agent_dir).unwrap();
        let agent = Agent::start(&agent_dir);
        agent.add(&key);
        let output = agent_exec(&agent);
        refused(&output, id, why);
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("agent certificate"),
            "{}",
            describe(&output)
        );
    }
}
