//! Signal names on the wire and signal numbers on this machine.
//!
//! RFC 4254 names 13 signals, sent without the `SIG` prefix. Every other
//! signal is sent as `<NAME>@<platform>` (`SYS@linux`, `RTMIN+3@linux`), so
//! every signal number has a name and no exit is ever left unreported.

use russh::Sig;

/// The 13 signal names RFC 4254 section 6.10 defines.
pub const RFC_NAMES: [&str; 13] = [
    "ABRT", "ALRM", "FPE", "HUP", "ILL", "INT", "KILL", "PIPE", "QUIT", "SEGV", "TERM", "USR1", "USR2",
];

/// Classic (non-realtime) signals of this platform, by name without `SIG`.
const LOCAL: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// The platform tag of non-RFC names, as in `SYS@linux`.
pub fn platform() -> &'static str {
    std::env::consts::OS
}

fn realtime_range() -> Option<(i32, i32)> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        Some((libc::SIGRTMIN(), libc::SIGRTMAX()))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        None
    }
}

/// The local name of a signal number without `SIG`: `TERM`, `SYS`,
/// `RTMIN+3`, `RTMAX-2`. Numbers nothing names (glibc keeps 32 and 33 for
/// itself) come back as their digits.
pub fn local_name(signo: i32) -> String {
    if let Some((name, _)) = LOCAL.iter().find(|(_, n)| *n == signo) {
        return (*name).to_string();
    }
    if let Some((min, max)) = realtime_range().filter(|(min, max)| (*min..=*max).contains(&signo)) {
        // Named the way bash's `kill -l` names them: the lower half counts up
        // from RTMIN, the upper half down from RTMAX.
        let up = signo - min;
        let down = max - signo;
        return match (up, down) {
            (0, _) => "RTMIN".into(),
            (_, 0) => "RTMAX".into(),
            _ if up <= down => format!("RTMIN+{up}"),
            _ => format!("RTMAX-{down}"),
        };
    }
    signo.to_string()
}

/// The signal number of a local name (`TERM`, `SIGTERM`, `RTMIN+3`).
pub fn local_number(name: &str) -> Option<i32> {
    let name = name.strip_prefix("SIG").unwrap_or(name);
    if let Some((_, n)) = LOCAL.iter().find(|(n, _)| *n == name) {
        return Some(*n);
    }
    let (min, max) = realtime_range().unwrap_or((32, 31));
    if let Ok(signo) = name.parse::<i32>() {
        return (1..=max.max(31)).contains(&signo).then_some(signo);
    }
    let signo = match name {
        "RTMIN" => min,
        "RTMAX" => max,
        _ => {
            if let Some(k) = name.strip_prefix("RTMIN+") {
                min + k.parse::<i32>().ok()?
            } else {
                max - name.strip_prefix("RTMAX-")?.parse::<i32>().ok()?
            }
        }
    };
    (min..=max).contains(&signo).then_some(signo)
}

/// The name sent in `exit-signal` for a local signal number.
pub fn wire_name(signo: i32) -> String {
    let name = local_name(signo);
    if RFC_NAMES.contains(&name.as_str()) {
        name
    } else {
        format!("{name}@{}", platform())
    }
}

/// The local signal number for a wire name: an RFC name, or `NAME@<platform>`
/// for this platform. Names of other platforms have no number here.
pub fn wire_number(wire: &str) -> Option<i32> {
    if RFC_NAMES.contains(&wire) {
        return local_number(wire);
    }
    let (name, tag) = wire.split_once('@')?;
    (tag == platform()).then(|| local_number(name)).flatten()
}

/// The wire name russh's `Sig` carries (it has no `USR2` variant).
pub fn sig_name(sig: &Sig) -> String {
    match sig {
        Sig::ABRT => "ABRT".into(),
        Sig::ALRM => "ALRM".into(),
        Sig::FPE => "FPE".into(),
        Sig::HUP => "HUP".into(),
        Sig::ILL => "ILL".into(),
        Sig::INT => "INT".into(),
        Sig::KILL => "KILL".into(),
        Sig::PIPE => "PIPE".into(),
        Sig::QUIT => "QUIT".into(),
        Sig::SEGV => "SEGV".into(),
        Sig::TERM => "TERM".into(),
        Sig::USR1 => "USR1".into(),
        Sig::Custom(name) => name.clone(),
    }
}

/// The russh `Sig` for a wire name.
pub fn sig_from_name(name: &str) -> Sig {
    match name {
        "ABRT" => Sig::ABRT,
        "ALRM" => Sig::ALRM,
        "FPE" => Sig::FPE,
        "HUP" => Sig::HUP,
        "ILL" => Sig::ILL,
        "INT" => Sig::INT,
        "KILL" => Sig::KILL,
        "PIPE" => Sig::PIPE,
        "QUIT" => Sig::QUIT,
        "SEGV" => Sig::SEGV,
        "TERM" => Sig::TERM,
        "USR1" => Sig::USR1,
        other => Sig::Custom(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every RFC name maps to a local number and back to itself.
    #[test]
    fn rfc_names_round_trip() {
        for name in RFC_NAMES {
            let n = wire_number(name).unwrap_or_else(|| panic!("{name} has no number"));
            assert_eq!(wire_name(n), name);
            assert_eq!(sig_name(&sig_from_name(name)), name);
        }
    }

    /// Non-RFC signals, realtime ones included, get `NAME@platform` names
    /// that map back to the same number; every number 1..=RTMAX has a name.
    #[test]
    fn other_signals_have_platform_names() {
        assert_eq!(wire_name(libc::SIGSYS), format!("SYS@{}", platform()));
        let max = realtime_range().map_or(31, |(_, max)| max);
        for signo in 1..=max {
            let wire = wire_name(signo);
            assert_eq!(wire_number(&wire), Some(signo), "{wire}");
        }
    }

    /// Unknown names and other platforms' names have no local number.
    #[test]
    fn unknown_names_refused() {
        for bad in [
            "NOPE",
            "SIGTERM",
            "SYS@openssh.com",
            "RTMIN+999@linux",
            "",
            "TERM@",
        ] {
            assert_eq!(wire_number(bad), None, "{bad}");
        }
    }
}
