//! Where one session goes and how it logs in: a [`Destination`], built from
//! the command line before anything connects. What to run there is the
//! caller's ([`super::ExecConfig`]); `sesh test` needs only this half.

use std::path::PathBuf;
use std::time::Duration;

use super::connect::Hops;
use super::host_key::Policy;
use super::resolve::Resolver;
use super::target::Target;
use crate::cli::AccessArgs;

/// Time to connect and finish the SSH handshake when nothing says otherwise.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Keepalive interval when nothing says otherwise.
pub const KEEPALIVE: Duration = Duration::from_secs(15);

/// Everything needed to reach one host and log in. Serialisable: a mux
/// master gets it from the caller that starts it, and its key is derived
/// from it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Destination {
    /// The host as the user named it: fan-out prefixes and status records.
    pub label: String,
    /// The user, host and port to log in to.
    pub target: Target,
    /// How the byte stream to `target` is opened.
    pub route: Route,
    pub identities: Vec<PathBuf>,
    /// Certificates to offer with the identities they certify (ssh_config's
    /// CertificateFile); `<identity>-cert.pub` is always looked for too.
    pub certificates: Vec<PathBuf>,
    /// The identities were given with `-i` (a missing one is reported).
    pub explicit_identities: bool,
    /// IdentityAgent and IdentitiesOnly.
    pub agent: super::auth::AgentUse,
    pub host_keys: Policy,
    /// Applies to each hop on its own, as OpenSSH's ConnectTimeout does.
    pub connect_timeout: Duration,
    pub keepalive: Option<Duration>,
    /// Unanswered keepalives that end the connection (ServerAliveCountMax).
    pub keepalive_max: usize,
    /// The cap of a channel's receive window (`--window-max`); every hop
    /// of the route gets it too.
    #[serde(default = "default_window_max")]
    pub window_max: u32,
    /// A run's shared jump-host connections (fan-out sets it); `None`:
    /// this connection makes its own hops. Not sent to a mux master,
    /// which makes its own.
    #[serde(skip)]
    pub hops: Option<Hops>,
}

fn default_window_max() -> u32 {
    crate::transport::WINDOW_MAX
}

/// How the byte stream that carries the SSH connection is opened.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Route {
    /// A TCP connection to the target's host and port.
    Tcp,
    /// ProxyCommand: the command's stdin and stdout, tokens already expanded.
    Command(String),
    /// A `direct-tcpip` channel of a connection to this hop (ProxyJump);
    /// the hop's own route reaches it, so earlier hops nest inside.
    Through(Box<Destination>),
}

impl Destination {
    /// The destination `label` names, looked up in the ssh_config files
    /// of `access` with its flags (`sesh test TARGET`).
    pub fn from_access(label: &str, access: &AccessArgs) -> Result<Self, String> {
        Resolver::new(access, Default::default(), |_| {})?.destination(label)
    }

    /// What makes two connections interchangeable for sharing a hop: the
    /// same login, host and port, reached the same way.
    pub fn route_key(&self) -> String {
        let via = match &self.route {
            Route::Tcp => String::new(),
            Route::Command(command) => format!(" command {command}"),
            Route::Through(hop) => format!(" via {}", hop.route_key()),
        };
        let Target { user, host, port } = &self.target;
        format!("{user}@[{host}]:{port}{via}")
    }
}

/// The name of the user sesh runs as: the default login name.
pub fn local_user() -> Result<String, String> {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|user| user.name)
        .or_else(|| std::env::var("USER").ok())
        .ok_or_else(|| "could not tell the local user name: give one as user@host".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(jump: Option<&str>) -> AccessArgs {
        AccessArgs {
            identity: vec!["/k".into()],
            known_hosts: Some("/kh".into()),
            accept_new: false,
            host_key: None,
            jump: jump.map(str::to_string),
            // No file of this machine takes part.
            config_file: Some("none".into()),
            options: Vec::new(),
            login: None,
            port: None,
        }
    }

    /// The hops the route passes, nearest the target first.
    fn hops(dest: &Destination) -> Vec<&Destination> {
        let mut hops = Vec::new();
        let mut route = &dest.route;
        while let Route::Through(hop) = route {
            hops.push(hop.as_ref());
            route = &hop.route;
        }
        hops
    }

    /// `-J a,b`: the target goes through b, b through a, a directly; each
    /// hop has the default access settings, not the target's `-i`.
    #[test]
    fn jump_chain_order_and_defaults() {
        let dest = Destination::from_access("t", &access(Some("u@a:2201,ssh://b"))).unwrap();
        let hops = hops(&dest);
        let names: Vec<_> = hops.iter().map(|hop| hop.target.to_string()).collect();
        assert_eq!(names.len(), 2);
        assert!(names[0].contains("@b") && names[1] == "u@a:2201", "{names:?}");
        assert!(matches!(hops[1].route, Route::Tcp));
        assert!(!hops[0].explicit_identities);
        assert!(
            hops[0]
                .identities
                .iter()
                .all(|path| path.ends_with(".ssh/id_ed25519")
                    || path.ends_with(".ssh/id_ecdsa")
                    || path.ends_with(".ssh/id_rsa"))
        );
        assert!(
            matches!(&hops[0].host_keys, Policy::Files(files) if files.user[0].ends_with(".ssh/known_hosts"))
        );
    }

    /// `-J none` is direct; a hop equal to the target or to another hop is a
    /// loop; a bad or empty hop is refused with its text.
    #[test]
    fn jump_none_loops_and_bad_specs() {
        let direct = Destination::from_access("t", &access(Some("none"))).unwrap();
        assert!(matches!(direct.route, Route::Tcp));
        let user = local_user().unwrap();
        for looped in [format!("{user}@t"), "a,b,a".to_string()] {
            let e = Destination::from_access("t", &access(Some(&looped))).unwrap_err();
            assert!(e.starts_with("jump host loop via "), "{e}");
        }
        assert!(Destination::from_access("t", &access(Some("a,,b"))).is_err());
        let e = Destination::from_access("t", &access(Some("a:99999"))).unwrap_err();
        assert!(e.starts_with("invalid -J argument"), "{e}");
    }

    /// Hops share a connection only with the same login, host, port and route.
    #[test]
    fn route_keys() {
        let key = |label: &str, jump: Option<&str>| {
            Destination::from_access(label, &access(jump))
                .unwrap()
                .route_key()
        };
        assert_eq!(key("u@b:22", Some("a")), key("u@b", Some("a")));
        assert_ne!(key("u@b", Some("a")), key("u@b", None));
        assert_ne!(key("u@b", Some("a")), key("v@b", Some("a")));
        assert_ne!(key("u@b", Some("a")), key("u@b", Some("a:2222")));
    }
}
