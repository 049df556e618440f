//! `sesh exec -G`: the resolved options in `ssh -G`'s format and order
//! (`readconf.c:dump_client_config`), for the keywords sesh honours.

use super::resolved::{Options, Proxy};
use super::values::flag_name;

/// The keywords [`Options::dump_lines`] prints (what a differential test
/// keeps of `ssh -G`'s output).
pub const DUMPED_KEYWORDS: &[&str] = &[
    "host",
    "user",
    "hostname",
    "port",
    "batchmode",
    "controlmaster",
    "hashknownhosts",
    "identitiesonly",
    "requesttty",
    "stricthostkeychecking",
    "serveralivecountmax",
    "serveraliveinterval",
    "controlpath",
    "hostkeyalias",
    "identityagent",
    "ignoreunknown",
    "loglevel",
    "identityfile",
    "certificatefile",
    "globalknownhostsfile",
    "userknownhostsfile",
    "sendenv",
    "setenv",
    "connecttimeout",
    "controlpersist",
    "proxycommand",
    "proxyjump",
];

impl Options {
    /// `keyword value` lines in ssh -G's order; one line per value for
    /// IdentityFile, CertificateFile, SendEnv and SetEnv.
    pub fn dump_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut put = |key: &str, value: &str| out.push(format!("{key} {value}"));
        put("host", &self.label);
        put("user", &self.user);
        put("hostname", &self.hostname);
        put("port", &self.port.to_string());
        put("batchmode", flag_name(self.batch_mode));
        put("controlmaster", self.control_master.name());
        put("hashknownhosts", flag_name(self.hash_known_hosts));
        put("identitiesonly", flag_name(self.identities_only));
        put("requesttty", self.request_tty.name());
        put("stricthostkeychecking", self.strict_host_key_checking.name());
        put("serveralivecountmax", &self.server_alive_count_max.to_string());
        put("serveraliveinterval", &self.server_alive_interval.to_string());
        let strings = [
            ("controlpath", &self.control_path),
            ("hostkeyalias", &self.host_key_alias),
            ("identityagent", &self.identity_agent),
            ("ignoreunknown", &self.ignore_unknown),
        ];
        for (key, value) in strings {
            if let Some(value) = value {
                put(key, value);
            }
        }
        put("loglevel", self.log_level.name());
        self.identity_files
            .iter()
            .for_each(|e| put("identityfile", &e.path));
        self.certificate_files
            .iter()
            .for_each(|e| put("certificatefile", &e.path));
        put("globalknownhostsfile", &one_line(&self.global_known_hosts_files));
        put("userknownhostsfile", &one_line(&self.user_known_hosts_files));
        self.send_env.iter().for_each(|e| put("sendenv", e));
        self.set_env.iter().for_each(|e| put("setenv", e));
        match self.connect_timeout {
            Some(seconds) => put("connecttimeout", &seconds.to_string()),
            None => put("connecttimeout", "none"),
        }
        put("controlpersist", &self.control_persist.name());
        match &self.proxy {
            Proxy::Direct => {}
            Proxy::Command(command) => put("proxycommand", command),
            Proxy::Jump(spec) => put("proxyjump", &spec.dump()),
        }
        out
    }
}

/// A list on one line, `none` when empty.
fn one_line(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(" ")
    }
}
