//! Byte sizes for flags such as `--window-max 64M`: a whole number with an
//! optional binary unit (`K`, `M`, `G`, also written `KiB`, `MiB`, `GiB`;
//! a bare number is bytes), as in `head -c` and sshd's own sizes.

/// Parses `65536`, `512K`, `64M`, `64MiB` or `1G` into bytes, at most
/// `max`.
pub fn parse(text: &str, max: u64) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let shift = match unit {
        "" => 0,
        "K" | "k" | "KiB" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        _ => {
            return Err(format!(
                "invalid size {text:?}: unknown unit {unit:?} (use K, M or G)"
            ));
        }
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("invalid size {text:?}: expected a whole number such as 64M"))?;
    match number.checked_mul(1 << shift) {
        Some(bytes) if bytes <= max => Ok(bytes),
        _ => Err(format!("invalid size {text:?}: more than {}", shown(max))),
    }
}

/// `bytes` in the largest unit that divides it (`64M`), for messages.
pub fn shown(bytes: u64) -> String {
    for (shift, unit) in [(30, "G"), (20, "M"), (10, "K")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// The largest receive window a channel may grow to: `--window-max`.
pub fn window(text: &str) -> Result<u32, String> {
    parse(text, 1 << 30).map(|bytes| bytes as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("65536", u64::MAX), Ok(65536));
        assert_eq!(parse("512K", u64::MAX), Ok(512 << 10));
        assert_eq!(parse("64M", u64::MAX), Ok(64 << 20));
        assert_eq!(parse("64MiB", u64::MAX), Ok(64 << 20));
        assert_eq!(parse("1G", u64::MAX), Ok(1 << 30));
        assert_eq!(parse("0", u64::MAX), Ok(0));
    }

    #[test]
    fn errors_name_the_text() {
        assert!(parse("64X", u64::MAX).unwrap_err().contains("unknown unit \"X\""));
        assert!(parse("M", u64::MAX).unwrap_err().contains("whole number"));
        assert!(parse("1.5M", u64::MAX).unwrap_err().contains("unknown unit"));
        assert_eq!(window("2G").unwrap_err(), "invalid size \"2G\": more than 1G");
        assert!(parse("99999999999999999999", u64::MAX).is_err());
        assert!(parse("17179869184G", u64::MAX).is_err());
    }

    #[test]
    fn shown_in_the_largest_unit() {
        assert_eq!(shown(64 << 20), "64M");
        assert_eq!(shown(1 << 30), "1G");
        assert_eq!(shown(1536), "1536");
        assert_eq!(shown(3 << 10), "3K");
    }
}
