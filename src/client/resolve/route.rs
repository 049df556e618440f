//! The route to a destination: direct, a ProxyCommand (tokens expanded),
//! or ProxyJump hops, each resolved through the configuration on its own.

use super::Resolver;
use crate::client::destination::{Destination, Route};
use crate::client::ssh_config::{CommandLine, CommandLineArg, Hop, Options, Proxy};

/// Most hops one route may pass, counting those a hop's own ProxyJump adds.
const MAX_HOPS: usize = 16;

impl Resolver {
    /// The route ProxyJump/ProxyCommand give `options`. `seen` holds the
    /// logins (user, host, port) already on the chain, for loops.
    pub(super) fn route(
        &self,
        options: &Options,
        seen: &mut Vec<(String, String, u16)>,
    ) -> Result<Route, String> {
        match &options.proxy {
            Proxy::Direct => Ok(Route::Tcp),
            Proxy::Command(_) => match options.proxy_command().map_err(|e| e.to_string())? {
                Some(command) if command == "-" => Err(format!(
                    "{}: ProxyCommand - (ssh's own stdio) is not supported",
                    options.label
                )),
                Some(command) => Ok(Route::Command(command)),
                None => Ok(Route::Tcp),
            },
            Proxy::Jump(spec) => {
                let mut route: Option<Route> = None;
                for hop in spec.hops() {
                    let hop = self.hop(&hop, route.take(), seen)?;
                    route = Some(Route::Through(Box::new(hop)));
                }
                Ok(route.unwrap_or(Route::Tcp))
            }
        }
    }

    /// One jump host as its own destination: its own lookup with only the
    /// spec's user and port (as ssh runs `ssh -l U -p P -W ... HOP`: no
    /// `-o`, `-i` or other flag of the command line; `-F` applies). The
    /// first hop's route is its own configuration's; a later one goes
    /// through the hop before it (`previous`).
    fn hop(
        &self,
        hop: &Hop,
        previous: Option<Route>,
        seen: &mut Vec<(String, String, u16)>,
    ) -> Result<Destination, String> {
        let mut cli = CommandLine::default();
        if let Some(user) = &hop.user {
            cli.push(CommandLineArg::User(user.clone()));
        }
        if let Some(port) = hop.port {
            cli.push(CommandLineArg::Port(port.to_string()));
        }
        let options = self
            .config
            .resolve(&hop.host, &cli)
            .map_err(|e| format!("jump host {}: {e}", hop.host))?;
        let login = (options.user.clone(), options.hostname.clone(), options.port);
        if seen.contains(&login) {
            return Err(format!("jump host loop via {}", hop.host));
        }
        if seen.len() > MAX_HOPS {
            return Err(format!(
                "more than {MAX_HOPS} jump hosts on the way to {}",
                hop.host
            ));
        }
        seen.push(login);
        let route = match previous {
            Some(route) => route,
            None => self.route(&options, seen)?,
        };
        self.build(&hop_text(hop), &options, None, route)
    }
}

/// A hop as written in the spec (`[user@]host[:port]`): its label in
/// messages.
fn hop_text(hop: &Hop) -> String {
    let mut text = hop.user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
    if hop.host.contains(':') {
        text.push_str(&format!("[{}]", hop.host));
    } else {
        text.push_str(&hop.host);
    }
    if let Some(port) = hop.port {
        text.push_str(&format!(":{port}"));
    }
    text
}
