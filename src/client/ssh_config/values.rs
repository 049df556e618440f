//! The value types of the honoured keywords and their parsers, with the
//! names ssh accepts (case-insensitive, as `parse_multistate_value`) and the
//! name `ssh -G` prints for each (the first in ssh's table).

/// StrictHostKeyChecking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrictHostKeyChecking {
    /// `yes`/`true`: refuse unknown hosts.
    Yes,
    /// `ask` (the default): sesh never prompts, so it acts like `yes`.
    Ask,
    /// `accept-new`: add unknown hosts, refuse changed keys.
    AcceptNew,
    /// `no`/`off`/`false`: accept unknown hosts (sesh still refuses a changed key).
    Off,
}

/// RequestTTY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestTty {
    Yes,
    No,
    Force,
    Auto,
}

/// ControlMaster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlMaster {
    Yes,
    No,
    Auto,
    Ask,
    AutoAsk,
}

/// ControlPersist: `no`, `yes` (forever), or a time in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlPersist {
    No,
    Yes,
    Seconds(u32),
}

/// LogLevel, most quiet first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Quiet,
    Fatal,
    Error,
    Info,
    Verbose,
    Debug1,
    Debug2,
    Debug3,
}

fn pick<T: Copy>(arg: &str, table: &[(&str, T)]) -> Option<T> {
    table
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(arg))
        .map(|(_, v)| *v)
}

/// A yes/no flag (`multistate_flag`).
pub fn flag(arg: &str) -> Option<bool> {
    pick(
        arg,
        &[("true", true), ("false", false), ("yes", true), ("no", false)],
    )
}

/// The `-G` name of a flag.
pub fn flag_name(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

impl StrictHostKeyChecking {
    /// Parses one of ssh's names.
    pub fn parse(arg: &str) -> Option<Self> {
        use StrictHostKeyChecking::*;
        let table = [
            ("true", Yes),
            ("false", Off),
            ("yes", Yes),
            ("no", Off),
            ("ask", Ask),
            ("off", Off),
            ("accept-new", AcceptNew),
        ];
        pick(arg, &table)
    }

    /// The name `ssh -G` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::Yes => "true",
            Self::Ask => "ask",
            Self::AcceptNew => "accept-new",
            Self::Off => "false",
        }
    }
}

impl RequestTty {
    /// Parses one of ssh's names.
    pub fn parse(arg: &str) -> Option<Self> {
        use RequestTty::*;
        let table = [
            ("true", Yes),
            ("yes", Yes),
            ("false", No),
            ("no", No),
            ("force", Force),
            ("auto", Auto),
        ];
        pick(arg, &table)
    }

    /// The name `ssh -G` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::Yes => "true",
            Self::No => "false",
            Self::Force => "force",
            Self::Auto => "auto",
        }
    }
}

impl ControlMaster {
    /// Parses one of ssh's names.
    pub fn parse(arg: &str) -> Option<Self> {
        use ControlMaster::*;
        let table = [
            ("true", Yes),
            ("yes", Yes),
            ("false", No),
            ("no", No),
            ("auto", Auto),
            ("ask", Ask),
            ("autoask", AutoAsk),
        ];
        pick(arg, &table)
    }

    /// The name `ssh -G` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::Yes => "true",
            Self::No => "false",
            Self::Auto => "auto",
            Self::Ask => "ask",
            Self::AutoAsk => "autoask",
        }
    }
}

impl ControlPersist {
    /// `no`/`false`, `yes`/`true` (case-sensitive, as ssh), or a time.
    pub fn parse(arg: &str) -> Option<Self> {
        match arg {
            "no" | "false" => Some(Self::No),
            "yes" | "true" => Some(Self::Yes),
            // `ControlPersist 0` means forever, like `yes`.
            _ => convtime(arg).map(|s| if s == 0 { Self::Yes } else { Self::Seconds(s) }),
        }
    }

    /// What `ssh -G` prints.
    pub fn name(self) -> String {
        match self {
            Self::No => "no".into(),
            Self::Yes => "yes".into(),
            Self::Seconds(s) => s.to_string(),
        }
    }
}

impl LogLevel {
    /// Parses one of ssh's names (`DEBUG` is `DEBUG1`).
    pub fn parse(arg: &str) -> Option<Self> {
        use LogLevel::*;
        let table = [
            ("QUIET", Quiet),
            ("SILENT", Quiet),
            ("FATAL", Fatal),
            ("ERROR", Error),
            ("INFO", Info),
            ("VERBOSE", Verbose),
            ("DEBUG", Debug1),
            ("DEBUG1", Debug1),
            ("DEBUG2", Debug2),
            ("DEBUG3", Debug3),
        ];
        pick(arg, &table)
    }

    /// The name `ssh -G` prints (the installed Debian ssh prints QUIET as
    /// `SILENT`, and accepts both).
    pub fn name(self) -> &'static str {
        match self {
            Self::Quiet => "SILENT",
            Self::Fatal => "FATAL",
            Self::Error => "ERROR",
            Self::Info => "INFO",
            Self::Verbose => "VERBOSE",
            Self::Debug1 => "DEBUG",
            Self::Debug2 => "DEBUG2",
            Self::Debug3 => "DEBUG3",
        }
    }
}

/// `misc.c:convtime`: `90`, `1m30s`, `2h`; units s m h d w (either case).
pub fn convtime(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let value: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = match rest.chars().next() {
            None => 1,
            Some(c) => {
                rest = &rest[1..];
                match c.to_ascii_lowercase() {
                    's' => 1,
                    'm' => 60,
                    'h' => 3600,
                    'd' => 86400,
                    'w' => 604800,
                    _ => return None,
                }
            }
        };
        total = total.checked_add(value.checked_mul(unit)?)?;
        if total > i32::MAX as u64 {
            return None;
        }
    }
    u32::try_from(total).ok()
}

/// `misc.c:a2port`: 1-65535, or a service name (only `ssh` is known here).
pub fn port(arg: &str) -> Option<u16> {
    if arg == "ssh" {
        return Some(22);
    }
    arg.parse::<u16>().ok().filter(|&p| p > 0)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The time forms ssh -G was seen to accept and refuse.
    #[test]
    fn times() {
        assert_eq!(convtime("90"), Some(90));
        assert_eq!(convtime("1m30s"), Some(90));
        assert_eq!(convtime("2H"), Some(7200));
        assert_eq!(convtime("1w"), Some(604800));
        assert_eq!(convtime(""), None);
        assert_eq!(convtime("1x"), None);
        assert_eq!(convtime("m"), None);
        assert_eq!(convtime("-1"), None);
        assert_eq!(convtime("99999999999"), None);
    }

    /// Names round-trip and are case-insensitive where ssh's are.
    #[test]
    fn names() {
        assert_eq!(
            StrictHostKeyChecking::parse("OFF").map(|s| s.name()),
            Some("false")
        );
        assert_eq!(RequestTty::parse("yes").map(|s| s.name()), Some("true"));
        assert_eq!(ControlPersist::parse("10m"), Some(ControlPersist::Seconds(600)));
        assert_eq!(ControlPersist::parse("0"), Some(ControlPersist::Yes));
        assert_eq!(ControlPersist::parse("YES"), None);
        assert_eq!(LogLevel::parse("debug1").map(|l| l.name()), Some("DEBUG"));
        assert_eq!(port("0"), None);
        assert_eq!(port("65535"), Some(65535));
    }

    proptest! {
        /// A sum of unit terms parses to the sum of their seconds.
        #[test]
        fn convtime_sums(terms in proptest::collection::vec((0u32..1000, 0usize..5), 1..4)) {
            let units = [("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604800)];
            let text: String = terms.iter().map(|(v, u)| format!("{v}{}", units[*u].0)).collect();
            let sum: u64 = terms.iter().map(|(v, u)| *v as u64 * units[*u].1).sum();
            prop_assert_eq!(convtime(&text), u32::try_from(sum).ok().filter(|&s| s <= i32::MAX as u32));
        }
    }
}
