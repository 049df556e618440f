//! `scp` and `sftp` against a default `sesh serve`: its builtin SFTP
//! server, what overrides it, what a forced command does to it, and its
//! memory and hang-up behaviour.

use std::path::Path;

use crate::support::transfer::{Peer, make_tree, same_file, tree, write_pattern_file};
use crate::support::{Server, describe, wait_for};

/// Waits (bounded: 10 s) for a log line: it can come a moment after the
/// client saw the end.
fn assert_logged(server: &Server, text: &str) {
    let found = wait_for(std::time::Duration::from_secs(10), || server.log().contains(text));
    assert!(found, "no log line {text:?}:\n{}", server.log());
}

/// `host:path` for the tools.
fn remote(path: &Path) -> String {
    format!("127.0.0.1:{}", path.display())
}

/// A 200 MB file goes up and comes back byte-identical through `scp` in
/// its default SFTP mode, and the session is logged as the builtin ending
/// with exit 0.
#[test]
fn scp_large_file_both_ways() {
    let server = Server::start_sh(&[]);
    let peer = Peer::of(&server);
    let dir = tempfile::tempdir().unwrap();
    let (source, uploaded, back) = (
        dir.path().join("big"),
        dir.path().join("up"),
        dir.path().join("back"),
    );
    write_pattern_file(&source, 200 * 1000 * 1000, 3);
    let up = peer.scp(&[source.display().to_string(), remote(&uploaded)]);
    assert!(up.status.success(), "{}", describe(&up));
    assert!(same_file(&source, &uploaded), "uploaded file differs");
    let down = peer.scp(&[remote(&uploaded), back.display().to_string()]);
    assert!(down.status.success(), "{}", describe(&down));
    assert!(same_file(&source, &back), "downloaded file differs");
    assert_logged(&server, "command=(subsystem sftp: internal)");
    assert_logged(&server, "ending=exit 0");
}

/// 300 small files (empty to 5 kB) go up in one `scp` and come back with
/// a remote glob (READDIR), all identical.
#[test]
fn scp_many_small_files() {
    let server = Server::start_sh(&[]);
    let peer = Peer::of(&server);
    let dir = tempfile::tempdir().unwrap();
    let (local, target, back) = (
        dir.path().join("local"),
        dir.path().join("target"),
        dir.path().join("back"),
    );
    for path in [&local, &target, &back] {
        std::fs::create_dir(path).unwrap();
    }
    let mut args = Vec::new();
    for n in 0..300u64 {
        let file = local.join(format!("f{n:03}"));
        std::fs::write(&file, crate::support::pattern_bytes((n as usize * 17) % 5000, n)).unwrap();
        args.push(file.display().to_string());
    }
    args.push(remote(&target));
    let up = peer.scp(&args);
    assert!(up.status.success(), "{}", describe(&up));
    let down = peer.scp(&[format!("{}/*", remote(&target)), back.display().to_string()]);
    assert!(down.status.success(), "{}", describe(&down));
    assert_eq!(tree(&target), tree(&local));
    assert_eq!(tree(&back), tree(&local));
}

/// `scp -r -p` copies a tree (nested, empty directory, empty file) up and
/// back unchanged, and `-p` carries the modification time over (SETSTAT).
#[test]
fn scp_recursive_tree_both_ways() {
    let server = Server::start_sh(&[]);
    let peer = Peer::of(&server);
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("tree");
    make_tree(&source);
    let old = std::fs::FileTimes::new()
        .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000));
    std::fs::File::options()
        .write(true)
        .open(source.join("top"))
        .unwrap()
        .set_times(old)
        .unwrap();
    let (up_dir, back_dir) = (dir.path().join("up"), dir.path().join("back"));
    let up = peer.scp(&[
        "-r".to_string(),
        "-p".to_string(),
        source.display().to_string(),
        remote(&up_dir),
    ]);
    assert!(up.status.success(), "{}", describe(&up));
    assert_eq!(tree(&up_dir), tree(&source));
    let mtime = std::fs::metadata(up_dir.join("top")).unwrap().modified().unwrap();
    assert_eq!(
        mtime,
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000)
    );
    let down = peer.scp(&["-r".to_string(), remote(&up_dir), back_dir.display().to_string()]);
    assert!(down.status.success(), "{}", describe(&down));
    assert_eq!(tree(&back_dir), tree(&source));
}

/// An `sftp -b` batch runs mkdir, put, ls, rename, get, rm and rmdir
/// against the builtin, and its working directory is the account's home
/// (relative paths start there, like sshd's sftp-server).
#[test]
fn sftp_batch_commands() {
    let server = Server::start_sh(&[]);
    let peer = Peer::of(&server);
    let dir = tempfile::tempdir().unwrap();
    let (local, fetched, remote_dir) = (
        dir.path().join("local"),
        dir.path().join("fetched"),
        dir.path().join("r"),
    );
    write_pattern_file(&local, 300_000, 9);
    let r = remote_dir.display();
    let batch = format!(
        "pwd\nmkdir {r}\nput {} {r}/a\nls -l {r}\nrename {r}/a {r}/b\nls {r}\nget {r}/b {}\nrm {r}/b\nrmdir {r}\n",
        local.display(),
        fetched.display()
    );
    let output = peer.sftp_batch(&batch);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let home = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .dir;
    assert!(
        stdout.contains(&format!("Remote working directory: {}\n", home.display())),
        "{stdout}"
    );
    assert!(stdout.contains("-rw-r--r--"), "ls -l shows the mode: {stdout}");
    assert!(stdout.contains("300000"), "ls -l shows the size: {stdout}");
    assert!(
        stdout.contains(&format!("{r}/b")),
        "ls shows the renamed file: {stdout}"
    );
    assert!(same_file(&local, &fetched), "fetched file differs");
    assert!(!remote_dir.exists(), "rmdir left {r}");
}

/// A failing operation (a missing file: NO_SUCH_FILE) fails the batch
/// and names the file, and the builtin still ends the session cleanly.
#[test]
fn sftp_errors_reach_the_client() {
    let server = Server::start_sh(&[]);
    let peer = Peer::of(&server);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let output = peer.sftp_batch(&format!("get {} {}/x\n", missing.display(), dir.path().display()));
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("\"{}\" not found", missing.display())),
        "{stderr}"
    );
    assert!(!dir.path().join("x").exists());
    assert_logged(&server, "ending=exit 0");
}

/// With `--sftp off` there is no sftp subsystem (scp fails, writes
/// nothing); `--sftp COMMAND` and `--subsystem sftp=COMMAND` serve it with
/// OpenSSH's sftp-server instead of the builtin.
#[test]
fn sftp_off_and_external_servers() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("f");
    std::fs::write(&source, b"payload\n").unwrap();
    let off = Server::start_sh(&["--sftp", "off"]);
    let target = dir.path().join("off");
    let output = Peer::of(&off).scp(&[source.display().to_string(), remote(&target)]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(!target.exists(), "scp wrote through --sftp off");
    let external = "/usr/lib/openssh/sftp-server";
    for args in [
        vec!["--sftp", external],
        vec![
            "--sftp",
            "off",
            "--subsystem",
            "sftp=/usr/lib/openssh/sftp-server",
        ],
    ] {
        let server = Server::start_sh(&args);
        let target = dir.path().join(format!("via-{}", args.len()));
        let output = Peer::of(&server).scp(&[source.display().to_string(), remote(&target)]);
        assert!(output.status.success(), "{args:?}: {}", describe(&output));
        assert_eq!(std::fs::read(&target).unwrap(), b"payload\n");
        let log = server.log();
        assert!(
            log.contains("command=(subsystem sftp)") && !log.contains("internal"),
            "{log}"
        );
    }
}

/// A key with a forced command gets that command for the sftp subsystem,
/// never the builtin: `ssh -s ... sftp` prints the forced command's output
/// (with SSH_ORIGINAL_COMMAND=sftp), and scp and sftp cannot write a file.
#[test]
fn forced_command_wins_over_sftp() {
    let keys = crate::support::Keys::new();
    let public = std::fs::read_to_string(keys.path("id.pub")).unwrap();
    let line = format!("command=\"echo forced:$SSH_ORIGINAL_COMMAND\" {public}");
    std::fs::write(keys.authorized_keys(), line).unwrap();
    let server = Server::start_with(keys, &["--shell", "/bin/sh"]);
    let mut ssh = server.ssh_command(&server.keys.identity());
    ssh.args(["-F", "/dev/null", "-s"]);
    let output = crate::support::ssh_with(&ssh, "sftp", b"");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "forced:sftp\n",
        "{}",
        describe(&output)
    );
    let peer = Peer::of(&server);
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("f"), dir.path().join("written"));
    std::fs::write(&source, b"x").unwrap();
    let scp = peer.scp(&[source.display().to_string(), remote(&target)]);
    assert!(!scp.status.success(), "{}", describe(&scp));
    let sftp = peer.sftp_batch(&format!("put {} {}\n", source.display(), target.display()));
    assert!(!sftp.status.success(), "{}", describe(&sftp));
    assert!(!target.exists(), "a forced command was bypassed");
    assert!(!server.log().contains("sftp: internal"), "{}", server.log());
}
