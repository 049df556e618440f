//! StrictModes: `sesh serve` refuses a host key or authorized_keys file
//! that someone else could change (or read, for the host key), at start
//! and at every login; `--no-strict-modes` turns the check off.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::serve_lifecycle::startup_error;
use crate::support::{Keys, Server, describe, keygen};

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

/// Starts `sesh serve` with these files; returns its one-line error.
fn refused(authorized_keys: &Path, host_key: Option<&Path>) -> String {
    let mut args = vec!["--authorized-keys", text(authorized_keys)];
    match host_key {
        Some(key) => args.extend(["--host-key", text(key)]),
        None => args.push("--ephemeral-host-key"),
    }
    let error = startup_error(&args);
    assert_eq!(error.trim().lines().count(), 1, "{error}");
    error
}

/// An authorized_keys writable by others, or below a directory writable by
/// others, stops the start; a sticky directory (like /tmp) passes.
#[test]
fn unsafe_authorized_keys_refused() {
    let keys = Keys::new();
    let ak = keys.authorized_keys();
    chmod(&ak, 0o664);
    let error = refused(&ak, None);
    let expected = format!(
        "unsafe authorized keys file {}: writable by group or others (mode 0664)",
        ak.display()
    );
    assert!(error.contains(&expected), "{error}");
    assert!(error.contains("--no-strict-modes"), "{error}");

    let shared = keys.path("shared");
    std::fs::create_dir(&shared).unwrap();
    let inside = shared.join("authorized_keys");
    std::fs::copy(&ak, &inside).unwrap();
    chmod(&inside, 0o644);
    chmod(&shared, 0o775);
    let error = refused(&inside, None);
    let expected = format!(
        "directory {} is writable by group or others (mode 0775) without the sticky bit",
        shared.display()
    );
    assert!(error.contains(&expected), "{error}");

    chmod(&shared, 0o1777);
    let args = ["--ephemeral-host-key", "--authorized-keys", text(&inside)];
    let server = Server::start_bare(keys, &args);
    let output = server.ssh("echo in", b"");
    assert_eq!(output.stdout, b"in\n", "{}", describe(&output));
}

/// A host key others can read (sshd's "UNPROTECTED PRIVATE KEY FILE") or
/// write stops the start.
#[test]
fn unsafe_host_key_refused() {
    let keys = Keys::new();
    let host_key = keys.path("host_key");
    keygen(&host_key);
    chmod(&host_key, 0o644);
    let error = refused(&keys.authorized_keys(), Some(&host_key));
    let expected = format!(
        "unsafe host key file {}: readable by group or others (mode 0644): UNPROTECTED PRIVATE KEY FILE",
        host_key.display()
    );
    assert!(error.contains(&expected), "{error}");
    chmod(&host_key, 0o602);
    let error = refused(&keys.authorized_keys(), Some(&host_key));
    assert!(
        error.contains("writable by group or others (mode 0602)"),
        "{error}"
    );
}

/// Files, directories and symlinks owned by another user (not root) are
/// refused. Making them takes chown, so this runs only as root (as CI
/// does) and says so otherwise.
#[test]
fn foreign_owners_refused() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("foreign_owners_refused: skipped, chown needs root");
        return;
    }
    const NOBODY: u32 = 65534;
    let keys = Keys::new();
    let ak = keys.authorized_keys();
    std::os::unix::fs::chown(&ak, Some(NOBODY), None).unwrap();
    let error = refused(&ak, None);
    assert!(
        error.contains(&format!("{}: owned by uid {NOBODY}", ak.display())),
        "{error}"
    );
    std::os::unix::fs::chown(&ak, Some(0), None).unwrap();

    let theirs = keys.path("theirs");
    std::fs::create_dir(&theirs).unwrap();
    let inside = theirs.join("authorized_keys");
    std::fs::copy(&ak, &inside).unwrap();
    std::os::unix::fs::chown(&theirs, Some(NOBODY), None).unwrap();
    let error = refused(&inside, None);
    assert!(
        error.contains(&format!(
            "directory {} is owned by uid {NOBODY}",
            theirs.display()
        )),
        "{error}"
    );

    let link = keys.path("link");
    std::os::unix::fs::symlink(&ak, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(NOBODY), None).unwrap();
    let error = refused(&link, None);
    assert!(
        error.contains(&format!("symlink {} is owned by uid {NOBODY}", link.display())),
        "{error}"
    );
}

/// An authorized_keys made unsafe while the server runs refuses logins
/// with a log line, not the server: once fixed, logins work again.
#[test]
fn checked_again_at_login() {
    let server = Server::start(&[]);
    let ak = server.keys.authorized_keys();
    chmod(&ak, 0o666);
    let output = server.ssh("echo in", b"");
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    let expected = format!("refused: unsafe authorized keys file {}: writable", ak.display());
    assert!(server.log().contains(&expected), "{}", server.log());
    chmod(&ak, 0o644);
    assert_eq!(server.ssh("echo in", b"").stdout, b"in\n");
}

/// `--no-strict-modes` accepts all of it: a world-writable authorized_keys
/// in a world-writable directory and a world-readable host key.
#[test]
fn no_strict_modes_relaxes() {
    let keys = Keys::new();
    let open = keys.path("open");
    std::fs::create_dir(&open).unwrap();
    let ak = open.join("authorized_keys");
    std::fs::copy(keys.authorized_keys(), &ak).unwrap();
    let host_key = keys.path("host_key");
    keygen(&host_key);
    chmod(&ak, 0o666);
    chmod(&open, 0o777);
    chmod(&host_key, 0o666);
    let args = [
        "--no-strict-modes",
        "--host-key",
        text(&host_key),
        "--authorized-keys",
        text(&ak),
    ];
    let server = Server::start_bare(keys, &args);
    let output = server.ssh("echo in", b"");
    assert_eq!(output.stdout, b"in\n", "{}", describe(&output));
}
