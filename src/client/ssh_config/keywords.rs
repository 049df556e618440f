//! The keyword table: OpenSSH's `readconf.c:keywords[]` (9.2 plus the names
//! later releases added, so configs written for a newer ssh still parse),
//! plus the Debian and Red Hat patch keywords. Each name maps to what sesh
//! does with it: a keyword it honours, or one it accepts and ignores.

/// What a keyword means to sesh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kw {
    Host,
    Match,
    Include,
    HostName,
    User,
    Port,
    IdentityFile,
    IdentitiesOnly,
    IdentityAgent,
    CertificateFile,
    UserKnownHostsFile,
    GlobalKnownHostsFile,
    StrictHostKeyChecking,
    HashKnownHosts,
    ConnectTimeout,
    ServerAliveInterval,
    ServerAliveCountMax,
    SendEnv,
    SetEnv,
    RequestTty,
    ProxyJump,
    ProxyCommand,
    HostKeyAlias,
    BatchMode,
    LogLevel,
    ControlMaster,
    ControlPath,
    ControlPersist,
    IgnoreUnknown,
    /// Read only because it forces the second pass (no DNS search yet).
    CanonicalizeHostname,
    /// Accepted and ignored; its value must be a yes/no flag.
    IgnoredFlag,
    /// Accepted and ignored, whatever its arguments.
    Ignored,
    /// Deprecated or compiled out in OpenSSH: a debug line, never an error.
    Obsolete,
}

/// Names sesh honours, or reads for the second pass.
const HONOURED: &[(&str, Kw)] = &[
    ("host", Kw::Host),
    ("match", Kw::Match),
    ("include", Kw::Include),
    ("hostname", Kw::HostName),
    ("user", Kw::User),
    ("port", Kw::Port),
    ("identityfile", Kw::IdentityFile),
    ("identityfile2", Kw::IdentityFile),
    ("identitiesonly", Kw::IdentitiesOnly),
    ("identityagent", Kw::IdentityAgent),
    ("certificatefile", Kw::CertificateFile),
    ("userknownhostsfile", Kw::UserKnownHostsFile),
    ("globalknownhostsfile", Kw::GlobalKnownHostsFile),
    ("stricthostkeychecking", Kw::StrictHostKeyChecking),
    ("hashknownhosts", Kw::HashKnownHosts),
    ("connecttimeout", Kw::ConnectTimeout),
    ("serveraliveinterval", Kw::ServerAliveInterval),
    ("protocolkeepalives", Kw::ServerAliveInterval),
    ("serveralivecountmax", Kw::ServerAliveCountMax),
    ("sendenv", Kw::SendEnv),
    ("setenv", Kw::SetEnv),
    ("requesttty", Kw::RequestTty),
    ("proxyjump", Kw::ProxyJump),
    ("proxycommand", Kw::ProxyCommand),
    ("hostkeyalias", Kw::HostKeyAlias),
    ("batchmode", Kw::BatchMode),
    ("loglevel", Kw::LogLevel),
    ("controlmaster", Kw::ControlMaster),
    ("controlpath", Kw::ControlPath),
    ("controlpersist", Kw::ControlPersist),
    ("ignoreunknown", Kw::IgnoreUnknown),
    ("canonicalizehostname", Kw::CanonicalizeHostname),
];

/// Keywords whose only value is a flag (`multistate_flag`).
const FLAGS: &[&str] = &[
    "canonicalizefallbacklocal",
    "challengeresponseauthentication",
    "checkhostip",
    "clearallforwardings",
    "compression",
    "enableescapecommandline",
    "enablesshkeysign",
    "exitonforwardfailure",
    "forkafterauthentication",
    "forwardx11",
    "forwardx11trusted",
    "gatewayports",
    "gssapiauthentication",
    "gssapidelegatecredentials",
    "gssapikeyexchange",
    "gssapirenewalforcesrekey",
    "gssapitrustdns",
    "hostbasedauthentication",
    "kbdinteractiveauthentication",
    "keepalive",
    "nohostauthenticationforlocalhost",
    "passwordauthentication",
    "permitlocalcommand",
    "proxyusefdpass",
    "skeyauthentication",
    "stdinnull",
    "streamlocalbindunlink",
    "tcpkeepalive",
    "tisauthentication",
    "visualhostkey",
];

/// The other keywords of the table, accepted and ignored.
const OTHERS: &[&str] = &[
    "addkeystoagent",
    "addressfamily",
    "bindaddress",
    "bindinterface",
    "canonicaldomains",
    "canonicalizemaxdots",
    "canonicalizepermittedcnames",
    "casignaturealgorithms",
    "channeltimeout",
    "ciphers",
    "connectionattempts",
    "dsaauthentication",
    "dynamicforward",
    "escapechar",
    "fingerprinthash",
    "forwardagent",
    "forwardx11timeout",
    "gssapiclientidentity",
    "gssapikexalgorithms",
    "gssapiserveridentity",
    "hostbasedacceptedalgorithms",
    "hostbasedkeytypes",
    "hostkeyalgorithms",
    "ipqos",
    "kbdinteractivedevices",
    "kexalgorithms",
    "knownhostscommand",
    "localcommand",
    "localforward",
    "logverbose",
    "macs",
    "numberofpasswordprompts",
    "obscurekeystroketiming",
    "permitremoteopen",
    "pkcs11provider",
    "preferredauthentications",
    "pubkeyacceptedalgorithms",
    "pubkeyacceptedkeytypes",
    "pubkeyauthentication",
    "refuseconnection",
    "rekeylimit",
    "remotecommand",
    "remoteforward",
    "requiredrsasize",
    "revokedhostkeys",
    "securitykeyprovider",
    "sessiontype",
    "setuptimeout",
    "smartcarddevice",
    "syslogfacility",
    "tag",
    "tunnel",
    "tunneldevice",
    "updatehostkeys",
    "verifyhostkeydns",
    "versionaddendum",
    "warnweakcrypto",
    "xauthlocation",
];

/// Deprecated and unsupported names: ssh logs them and carries on.
const OBSOLETE: &[&str] = &[
    "afstokenpassing",
    "cipher",
    "compressionlevel",
    "fallbacktorsh",
    "globalknownhostsfile2",
    "kerberosauthentication",
    "kerberostgtpassing",
    "protocol",
    "rhostsauthentication",
    "rhostsrsaauthentication",
    "rsaauthentication",
    "useprivilegedport",
    "userknownhostsfile2",
    "useroaming",
    "usersh",
];

/// Looks up a lowercased keyword.
pub fn lookup(keyword: &str) -> Option<Kw> {
    if let Some((_, kw)) = HONOURED.iter().find(|(name, _)| *name == keyword) {
        return Some(*kw);
    }
    if FLAGS.contains(&keyword) {
        Some(Kw::IgnoredFlag)
    } else if OTHERS.contains(&keyword) {
        Some(Kw::Ignored)
    } else if OBSOLETE.contains(&keyword) {
        Some(Kw::Obsolete)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name appears once in the table, and the Debian names are known.
    #[test]
    fn table_is_consistent() {
        let mut all: Vec<&str> = HONOURED.iter().map(|(n, _)| *n).collect();
        all.extend(FLAGS);
        all.extend(OTHERS);
        all.extend(OBSOLETE);
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count, "a keyword is listed twice");
        assert_eq!(lookup("gssapikexalgorithms"), Some(Kw::Ignored));
        assert_eq!(lookup("protocolkeepalives"), Some(Kw::ServerAliveInterval));
        assert_eq!(lookup("nosuchkeyword"), None);
    }
}
