//! The other file-transfer tools over a default `sesh serve`: legacy
//! `scp -O` (the remote `scp` binary), `rsync -e ssh` and `git` over ssh.

use crate::support::transfer::{Peer, make_tree, same_file, tree, write_pattern_file};
use crate::support::{Server, describe, run_with_input};

/// `scp -O` (the legacy protocol, running the remote `scp`) copies a file
/// up and back byte-identical.
#[test]
fn scp_legacy_mode_both_ways() {
    let server = Server::start_sh(&[]);
    let peer = Peer::of(&server);
    let dir = tempfile::tempdir().unwrap();
    let (source, up, back) = (
        dir.path().join("f"),
        dir.path().join("up"),
        dir.path().join("back"),
    );
    write_pattern_file(&source, 3_000_000, 5);
    let output = peer.scp(&[
        "-O".to_string(),
        source.display().to_string(),
        format!("127.0.0.1:{}", up.display()),
    ]);
    assert!(output.status.success(), "{}", describe(&output));
    let output = peer.scp(&[
        "-O".to_string(),
        format!("127.0.0.1:{}", up.display()),
        back.display().to_string(),
    ]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        same_file(&source, &up) && same_file(&source, &back),
        "scp -O changed the file"
    );
}

/// `rsync -a -e ssh` copies a tree to the server and back unchanged.
#[test]
fn rsync_over_ssh_both_ways() {
    let server = Server::start_sh(&[]);
    let peer = Peer::of(&server);
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("tree");
    make_tree(&source);
    let (up, back) = (dir.path().join("up"), dir.path().join("back"));
    for (from, to) in [
        (
            format!("{}/", source.display()),
            format!("127.0.0.1:{}/", up.display()),
        ),
        (
            format!("127.0.0.1:{}/", up.display()),
            format!("{}/", back.display()),
        ),
    ] {
        let mut rsync = peer.tool("rsync");
        rsync.args(["-a", "-e", &peer.ssh_command_line(), &from, &to]);
        let output = run_with_input(rsync, b"");
        assert!(output.status.success(), "{}", describe(&output));
    }
    assert_eq!(tree(&up), tree(&source));
    assert_eq!(tree(&back), tree(&source));
}

/// `git clone` and `git push` over ssh://: a commit made in the clone
/// arrives in the served bare repository.
#[test]
fn git_clone_and_push() {
    let server = Server::start_sh(&[]);
    let peer = Peer::of(&server);
    let dir = tempfile::tempdir().unwrap();
    let (bare, clone) = (dir.path().join("repo.git"), dir.path().join("clone"));
    let git = |args: &[&str], cwd: &std::path::Path| {
        let mut command = peer.tool("git");
        command
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(cwd)
            .env("GIT_SSH_COMMAND", peer.ssh_command_line())
            .env("GIT_CONFIG_NOSYSTEM", "1");
        let output = run_with_input(command, b"");
        assert!(output.status.success(), "git {args:?}: {}", describe(&output));
        output
    };
    git(&["init", "-q", "--bare", bare.to_str().unwrap()], dir.path());
    let url = format!("ssh://127.0.0.1:{}{}", server.port(), bare.display());
    git(&["clone", "-q", &url, clone.to_str().unwrap()], dir.path());
    std::fs::write(clone.join("file"), b"hello\n").unwrap();
    git(&["add", "file"], &clone);
    git(&["commit", "-q", "-m", "over sesh"], &clone);
    git(&["push", "-q", "origin", "HEAD:main"], &clone);
    let log = git(
        &["--git-dir", bare.to_str().unwrap(), "log", "--format=%s", "main"],
        dir.path(),
    );
    assert_eq!(String::from_utf8_lossy(&log.stdout), "over sesh\n");
}
