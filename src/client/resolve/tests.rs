//! The resolver against small configuration files (`-F`): hops, routes
//! and sesh's defaults.

use std::time::Duration;

use super::*;

/// An AccessArgs reading only `file`, with `options` as `-o`.
fn access(file: &std::path::Path, options: &[&str]) -> AccessArgs {
    AccessArgs {
        identity: Vec::new(),
        known_hosts: None,
        accept_new: false,
        host_key: None,
        jump: None,
        config_file: Some(file.to_path_buf()),
        options: options.iter().map(|o| o.to_string()).collect(),
        login: None,
        port: None,
    }
}

fn load(text: &str, options: &[&str]) -> (tempfile::TempDir, Resolver) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config");
    std::fs::write(&file, text).unwrap();
    let resolver = Resolver::new(&access(&file, options), Typed::default(), |_| {}).unwrap();
    (dir, resolver)
}

/// A hop has its own block and none of the command line's `-o`; the
/// first hop's own ProxyJump applies; a later hop goes through the one
/// before it whatever its block says.
#[test]
fn hops_resolve_on_their_own() {
    let config = "Host box\n  ProxyJump b1,b2\nHost b1\n  HostName 10.0.0.1\n  Port 2201\n  ProxyJump outer\n\
                  Host b2\n  User hopper\n  ProxyCommand nc %h %p\nHost *\n  User fallback\n";
    let (_dir, resolver) = load(config, &["Port=4000", "User=typed"]);
    let dest = resolver.destination("box").unwrap();
    assert_eq!((dest.target.user.as_str(), dest.target.port), ("typed", 4000));
    let Route::Through(b2) = &dest.route else {
        panic!("through b2")
    };
    assert_eq!(
        (b2.target.user.as_str(), b2.target.host.as_str(), b2.target.port),
        ("hopper", "b2", 22)
    );
    let Route::Through(b1) = &b2.route else {
        panic!("b2 through b1, not its ProxyCommand")
    };
    assert_eq!((b1.target.host.as_str(), b1.target.port), ("10.0.0.1", 2201));
    let Route::Through(outer) = &b1.route else {
        panic!("b1's own ProxyJump")
    };
    assert!(matches!(outer.route, Route::Tcp));
    assert_eq!(outer.target.user, "fallback");
}

/// ProxyCommand's tokens are expanded; `Host * / ProxyJump gate`
/// without `!gate` is a loop on gate itself.
#[test]
fn proxy_command_and_loops() {
    let (_dir, resolver) = load("Host box\n  HostName h.example\n  ProxyCommand nc %h %p\n", &[]);
    let dest = resolver.destination("box:2200").unwrap();
    assert!(
        matches!(&dest.route, Route::Command(c) if c == "nc h.example 2200"),
        "{:?}",
        dest.route
    );
    let (_dir, resolver) = load("Host *\n  ProxyJump gate\n", &[]);
    let e = resolver.destination("box").unwrap_err();
    assert_eq!(e, "jump host loop via gate");
}

/// Without the keywords sesh's defaults apply; set, they win.
#[test]
fn defaults_only_when_unset() {
    let (_dir, resolver) = load(
        "Host set\n  ServerAliveInterval 0\n  ConnectTimeout 5\n  ServerAliveCountMax 7\n",
        &[],
    );
    let plain = resolver.destination("plain").unwrap();
    assert_eq!(
        (plain.keepalive, plain.connect_timeout, plain.keepalive_max),
        (Some(KEEPALIVE), CONNECT_TIMEOUT, 3)
    );
    assert!(!plain.explicit_identities);
    let set = resolver.destination("set").unwrap();
    assert_eq!(
        (set.keepalive, set.connect_timeout, set.keepalive_max),
        (None, Duration::from_secs(5), 7)
    );
}
