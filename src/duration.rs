//! Human durations for flags such as `--login-grace-time 2m`: a number with
//! an optional unit (`ms`, `s`, `m`, `h`); a bare number means seconds, as in
//! sshd_config. Decimals are read exactly, in integers: through an `f64`,
//! `16777216.103033424s` came back a nanosecond short.

use std::time::Duration;

/// Parses `1500ms`, `30`, `30s`, `2m`, `1h` or a decimal such as `0.5s`
/// (digits past a nanosecond are dropped).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let nanos_per_unit: u128 = match unit {
        "ms" => 1_000_000,
        "" | "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => {
            return Err(format!(
                "invalid duration {text:?}: unknown unit {unit:?} (use ms, s, m or h)"
            ));
        }
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err(format!(
            "invalid duration {text:?}: expected a number such as 30s, 2m or 500ms"
        ));
    }
    let nanos = nanos(whole, fraction, nanos_per_unit)
        .ok_or_else(|| format!("invalid duration {text:?}: out of range"))?;
    let secs = u64::try_from(nanos / 1_000_000_000)
        .map_err(|_| format!("invalid duration {text:?}: out of range"))?;
    let duration = Duration::new(secs, (nanos % 1_000_000_000) as u32);
    if duration > MAX {
        return Err(format!("invalid duration {text:?}: longer than 10 years"));
    }
    Ok(duration)
}

/// The longest duration accepted: deadlines are `now + duration`, which
/// overflows (a panic) far beyond any wait that makes sense.
pub const MAX: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// `whole.fraction` units in nanoseconds, rounded down; `None` past `u128`.
/// Both parts are ASCII digits only.
fn nanos(whole: &str, fraction: &str, nanos_per_unit: u128) -> Option<u128> {
    let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    // Digits past the 24th cannot reach a nanosecond even in hours, and
    // 24 digits times an hour's nanoseconds still fit in a u128.
    let fraction = &fraction[..fraction.len().min(24)];
    let part: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    let part = part * nanos_per_unit / 10u128.pow(fraction.len() as u32);
    whole.checked_mul(nanos_per_unit)?.checked_add(part)
}

/// Writes `d` as exact decimal seconds, as short as possible (`3s`,
/// `1.5s`, `0.000000001s`): what [`parse`] reads back to the same value.
pub fn format(d: Duration) -> String {
    match d.subsec_nanos() {
        0 => format!("{}s", d.as_secs()),
        nanos => {
            let fraction = format!("{nanos:09}");
            format!("{}.{}s", d.as_secs(), fraction.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Every unit, bare seconds and decimals parse to the right length.
    #[test]
    fn parses_units() {
        assert_eq!(parse("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("1500ms").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse("0.5s").unwrap(), Duration::from_millis(500));
        assert_eq!(parse(".25m").unwrap(), Duration::from_secs(15));
        assert_eq!(parse("0.0000000019s").unwrap(), Duration::from_nanos(1));
    }

    /// Garbage, unknown units and empty text are refused with a message.
    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "s",
            ".s",
            "abc",
            "10x",
            "1.2.3s",
            "-1s",
            "1e3s",
            "99999999999999999999999h",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    proptest! {
        /// Any duration, formatted, parses back to exactly itself.
        #[test]
        fn format_round_trips(secs in prop_oneof![0..100_000u64, 0..MAX.as_secs()], nanos in prop_oneof![Just(0u32), 0..1_000_000_000u32]) {
            let d = Duration::new(secs, nanos);
            prop_assert_eq!(parse(&format(d)), Ok(d), "{}", format(d));
        }

        /// A whole number in each unit is exactly that many units, or out
        /// of range when it is longer than `MAX`.
        #[test]
        fn units_are_exact(n in prop_oneof![0..1_000_000u64, any::<u64>()], unit in 0..4usize) {
            let (suffix, nanos) = [("ms", 1_000_000u128), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000)][unit];
            let total = u128::from(n) * nanos;
            let expected = u64::try_from(total / 1_000_000_000)
                .map(|secs| Duration::new(secs, (total % 1_000_000_000) as u32))
                .map_err(|_| ())
                .and_then(|d| if d > MAX { Err(()) } else { Ok(d) });
            prop_assert_eq!(parse(&format!("{n}{suffix}")).map_err(|_| ()), expected);
        }

        /// No text makes the parser panic; what it refuses it explains.
        #[test]
        fn never_panics(text in "\\PC{0,40}", digits in "[0-9.]{0,60}(ms|s|m|h)?") {
            for text in [text, digits] {
                if let Err(message) = parse(&text) {
                    prop_assert!(message.starts_with("invalid duration"), "{}", message);
                }
            }
        }
    }
}
