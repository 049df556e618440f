//! Human durations for flags such as `--login-grace-time 2m`: a number with
//! an optional unit (`ms`, `s`, `m`, `h`); a bare number means seconds, as in
//! sshd_config.

use std::time::Duration;

/// Parses `1500ms`, `30`, `30s`, `2m`, `1h` or a decimal such as `0.5s`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected a number such as 30s, 2m or 500ms"))?;
    let scale = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "invalid duration {text:?}: unknown unit {unit:?} (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(value * scale).map_err(|_| format!("invalid duration {text:?}: out of range"))
}

#[cfg(test)]
mod tests {
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
    }

    /// Garbage, unknown units and empty text are refused with a message.
    #[test]
    fn refuses_garbage() {
        for bad in ["", "s", "abc", "10x", "1.2.3s", "-1s"] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
