//! ProxyCommand through the library (it has no command-line spelling until
//! the ssh_config layer): the real `ssh -W %h:%p` through a private sshd to
//! `sesh serve`, and a command that fails before the handshake.

use std::path::Path;
use std::time::Duration;

use sesh::client::connect::{ConnectError, connect};
use sesh::client::destination::{Destination, Route, local_user};
use sesh::client::host_key::Policy;
use sesh::client::target::Target;
use sesh::exit::Ending;

use crate::support::client::collect_half;
use crate::support::exec::Remote;
use crate::support::jump::bastion;
use crate::support::sshd::Sshd;
use crate::support::{Server, pattern_bytes, send_signal};

/// A destination for the library tests: `server` pinned, through `route`.
fn destination(remote: &Remote, route: Route) -> Destination {
    Destination {
        label: remote.target.clone(),
        target: Target {
            user: local_user().unwrap(),
            host: remote.host.clone(),
            port: remote.port,
        },
        route,
        identities: vec![remote.identity.clone()],
        certificates: Vec::new(),
        explicit_identities: true,
        agent: Default::default(),
        host_keys: Policy::Pin(remote.fingerprint.clone()),
        connect_timeout: Duration::from_secs(30),
        keepalive: None,
        keepalive_max: 3,
        window_max: sesh::transport::WINDOW_MAX,
        hops: None,
    }
}

/// `ssh -W host:port` through `bastion` to `remote`, with HOME `home`; the
/// command writes its pid (that of the `ssh`, after `exec`) to
/// `home/proxy.pid`.
fn ssh_w(bastion: &Sshd, remote: &Remote, home: &Path) -> String {
    format!(
        "sh -c 'echo $$ > {}; exec env -u SSH_AUTH_SOCK HOME={} ssh -F /dev/null -i {} -p {} \
         -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
         -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -W {}:{} 127.0.0.1'",
        home.join("proxy.pid").display(),
        home.display(),
        bastion.keys.identity().display(),
        bastion.addr.port(),
        remote.host,
        remote.port
    )
}

/// ProxyCommand `ssh -W %h:%p` through a private sshd reaches `sesh
/// serve`; bytes both ways and the exit status arrive intact, and the
/// command is gone once the connection is.
#[tokio::test]
async fn proxy_command_through_ssh_w() {
    let bastion = bastion();
    let home = tempfile::tempdir().unwrap();
    let server = Server::start_sh(&[]);
    let remote = Remote::of_serve(&server);
    let pid_file = home.path().join("proxy.pid");
    let command = ssh_w(&bastion, &remote, home.path());
    let connection = connect(&destination(&remote, Route::Command(command)))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", bastion.log()));
    let channel = connection.channel_open_session().await.unwrap();
    channel.exec(true, "cat; exit 5").await.unwrap();
    let (reader, writer) = channel.split();
    let data = pattern_bytes(2 * 1024 * 1024, 9);
    let sent = data.clone();
    let pump = tokio::spawn(async move {
        writer.data(&sent[..]).await.unwrap();
        writer.eof().await.unwrap();
    });
    let transcript = collect_half(reader, Duration::from_secs(60)).await;
    pump.await.unwrap();
    assert_eq!(transcript.exit_status(), Some(5), "{transcript:?}");
    assert!(
        transcript.stdout == data,
        "got {} bytes back",
        transcript.stdout.len()
    );
    assert!(bastion.log().contains("Accepted publickey"), "{}", bastion.log());
    // The command lives as long as the connection, no longer.
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        crate::support::alive(pid),
        "the ProxyCommand ended under a live connection"
    );
    // A failure while the command runs is not put down to it.
    let failed = Ending::Failed("the server refused to run the command".into());
    assert_eq!(connection.blame_route(failed.clone()).await, failed);
    let _ = connection
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
    drop(connection);
    let gone = crate::support::eventually_async(Duration::from_secs(10), || crate::support::gone(pid)).await;
    assert!(gone, "the ProxyCommand outlived its connection");
}

/// A ProxyCommand that fails before the handshake: the error is its exit
/// status and its last stderr line.
#[tokio::test]
async fn proxy_command_failure_line() {
    let server = Server::start_sh(&[]);
    let remote = Remote::of_serve(&server);
    let route = Route::Command("sh -c 'echo trying >&2; echo no route >&2; exit 1'".into());
    let failed = connect(&destination(&remote, route))
        .await
        .err()
        .expect("no connection");
    assert!(matches!(failed, ConnectError::Proxy { .. }), "{failed:?}");
    assert_eq!(failed.to_string(), "ProxyCommand exited 1: no route");
}

/// A ProxyCommand killed mid-session: the session's failure is put down
/// to it ("ProxyCommand killed by signal KILL"), not to the server.
#[tokio::test]
async fn proxy_command_dies_mid_session() {
    let bastion = bastion();
    let home = tempfile::tempdir().unwrap();
    let server = Server::start_sh(&[]);
    let remote = Remote::of_serve(&server);
    let command = ssh_w(&bastion, &remote, home.path());
    let connection = connect(&destination(&remote, Route::Command(command)))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", bastion.log()));
    let channel = connection.channel_open_session().await.unwrap();
    channel.exec(true, "sleep 30").await.unwrap();
    let pid_file = home.path().join("proxy.pid");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    send_signal(pid, libc::SIGKILL);
    let transcript = collect_half(channel.split().0, Duration::from_secs(20)).await;
    assert_eq!(transcript.exit_status(), None, "{transcript:?}");
    let lost = Ending::Failed("connection to the server lost".into());
    let blamed = connection.blame_route(lost).await;
    assert_eq!(
        blamed,
        Ending::Failed("ProxyCommand killed by signal KILL".into())
    );
    // An ending that is no failure is never put down to the route.
    assert_eq!(connection.blame_route(Ending::Exited(3)).await, Ending::Exited(3));
}
