//! Who gets in: wrong keys, wrong user names and unknown `authorized_keys`
//! options are refused, and the server keeps serving.

use std::time::Duration;

use crate::support::client::{Client, current_user};
use crate::support::{Keys, Server, describe};

/// A key not in `authorized_keys` is refused by ssh (exit 255); the right
/// key still works afterwards.
#[test]
fn wrong_key_refused() {
    let server = Server::start(&[]);
    let output = crate::support::ssh_with(&server.ssh_command(&server.keys.stranger()), "echo in", b"");
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    assert!(output.stdout.is_empty());
    assert_eq!(server.ssh("echo in", b"").stdout, b"in\n");
}

/// Only the server's own account may log in.
#[tokio::test]
async fn wrong_user_refused() {
    let server = Server::start(&[]);
    let refused = Client::connect(server.addr, &server.keys.identity(), "not-the-account").await;
    assert_eq!(refused.err().as_deref(), Some("auth: refused"));
    assert!(
        Client::connect(server.addr, &server.keys.identity(), &current_user())
            .await
            .is_ok()
    );
}

/// A line with an option sesh does not understand is skipped with a
/// warning naming the line; other lines still work.
#[test]
fn unknown_option_line_skipped() {
    let keys = Keys::new();
    let public = std::fs::read_to_string(keys.path("id.pub")).unwrap();
    let stranger = std::fs::read_to_string(keys.path("other_id.pub")).unwrap();
    std::fs::write(
        keys.authorized_keys(),
        format!("frobnicate=\"yes\" {public}{stranger}"),
    )
    .unwrap();
    let server = Server::start_with(keys, &[]);
    let refused = server.ssh("echo in", b"");
    assert_eq!(refused.status.code(), Some(255), "{}", describe(&refused));
    let admitted = crate::support::ssh_with(&server.ssh_command(&server.keys.stranger()), "echo in", b"");
    assert_eq!(admitted.stdout, b"in\n", "{}", describe(&admitted));
    assert!(
        server.log().contains("line 1: unsupported option"),
        "{}",
        server.log()
    );
}

/// Malformed lines (garbage, bad base64, an unknown key type, an
/// unterminated quote, bytes that are not UTF-8) are each skipped with a
/// warning naming the file and line; the good key after them logs in.
#[test]
fn malformed_lines_skipped() {
    let keys = Keys::new();
    let public = std::fs::read_to_string(keys.path("id.pub")).unwrap();
    let mut text = b"garbage\nssh-ed25519 AAAA!!notbase64\nssh-nope AAAAC3NzaC1lZDI1NTE5\n".to_vec();
    text.extend_from_slice(format!("command=\"echo {public}").as_bytes());
    text.extend_from_slice(b"\xff\xfe\n");
    text.extend_from_slice(public.as_bytes());
    std::fs::write(keys.authorized_keys(), text).unwrap();
    let server = Server::start_with(keys, &[]);
    let output = server.ssh("echo in", b"");
    assert_eq!(output.stdout, b"in\n", "{}", describe(&output));
    let log = server.log();
    let file = server.keys.authorized_keys();
    for (line, why) in [
        (1, "unsupported option \"garbage\""),
        (2, "invalid public key"),
        (3, "invalid public key"),
        (4, "unterminated quote in option command"),
        (5, "not UTF-8 text"),
    ] {
        let expected = format!("{}: line {line}: {why}", file.display());
        assert!(log.contains(&expected), "{expected} missing:\n{log}");
    }
    assert!(!log.contains("line 6"), "{log}");
}

/// `command=` forces the command and sets SSH_ORIGINAL_COMMAND;
/// `environment=` is set; `no-pty` refuses a pty.
#[tokio::test]
async fn forced_command_and_options() {
    let keys = Keys::new();
    let public = std::fs::read_to_string(keys.path("id.pub")).unwrap();
    let line = format!(
        "command=\"echo forced: $SSH_ORIGINAL_COMMAND $GREETING, there\",environment=\"GREETING=hi you\",no-pty {public}"
    );
    std::fs::write(keys.authorized_keys(), line).unwrap();
    let server = Server::start_with(keys, &[]);
    let output = server.ssh("echo asked", b"");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "forced: echo asked hi you, there\n",
        "{}",
        describe(&output)
    );
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let channel = client.channel().await;
    channel
        .request_pty(true, "xterm", 80, 24, 0, 0, &[])
        .await
        .unwrap();
    channel.exec(true, "x").await.unwrap();
    channel.eof().await.unwrap();
    let transcript = crate::support::client::collect(channel, Duration::from_secs(20)).await;
    assert_eq!(
        transcript.events[0],
        crate::support::client::Event::Failure,
        "{transcript:?}"
    );
}

/// `from=` admits only matching peers.
#[test]
fn from_option_restricts_peers() {
    let keys = Keys::new();
    let public = std::fs::read_to_string(keys.path("id.pub")).unwrap();
    std::fs::write(keys.authorized_keys(), format!("from=\"10.0.0.0/8\" {public}")).unwrap();
    let server = Server::start_with(keys, &[]);
    assert_eq!(server.ssh("true", b"").status.code(), Some(255));
    std::fs::write(
        server.keys.authorized_keys(),
        format!("from=\"127.0.0.*,!127.0.0.2\" {public}"),
    )
    .unwrap();
    assert_eq!(server.ssh("echo in", b"").stdout, b"in\n");
}

/// An edit of `authorized_keys` applies at the next login, without a
/// restart, also after the server has kept the file's parse (it keeps one
/// only for a file that has not changed for a second): the key taken out
/// is refused, the key put in admitted.
#[test]
fn authorized_keys_edits_apply_at_once() {
    let server = Server::start(&[]);
    std::thread::sleep(Duration::from_millis(1100));
    for _ in 0..2 {
        assert_eq!(server.ssh("echo in", b"").stdout, b"in\n");
    }
    let stranger = std::fs::read_to_string(server.keys.path("other_id.pub")).unwrap();
    std::fs::write(server.keys.authorized_keys(), stranger).unwrap();
    let old = server.ssh("echo in", b"");
    assert_eq!(old.status.code(), Some(255), "{}", describe(&old));
    let new = crate::support::ssh_with(&server.ssh_command(&server.keys.stranger()), "echo in", b"");
    assert_eq!(new.stdout, b"in\n", "{}", describe(&new));
}
