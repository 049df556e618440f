//! Host lists for `sesh exec -H`: comma-separated targets, numeric ranges
//! (`web[01-20]`, `10.0.0.[1-9]:2222`, zero padding kept), and `--hosts
//! FILE` with one target per line and `#` comments.

use std::path::Path;

/// Most targets one list may expand to, so a typo cannot ask for millions.
const MAX_TARGETS: usize = 100_000;

/// Expands one `-H` value.
pub fn expand(spec: &str) -> Result<Vec<String>, String> {
    let mut targets = Vec::new();
    for part in split_outside_brackets(spec) {
        let part = part.trim();
        if part.is_empty() {
            return Err(format!("empty target in {spec:?}"));
        }
        expand_ranges(part, &mut targets)?;
        if targets.len() > MAX_TARGETS {
            return Err(format!("{spec:?} expands to more than {MAX_TARGETS} targets"));
        }
    }
    Ok(targets)
}

/// Reads a hosts file: one target (or range) per line, `#` comments.
pub fn read_file(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("could not read hosts file {}: {e}", path.display()))?;
    let mut targets = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if !line.is_empty() {
            let expanded = expand(line).map_err(|e| format!("{} line {}: {e}", path.display(), index + 1))?;
            targets.extend(expanded);
        }
    }
    Ok(targets)
}

/// Splits at commas that are not inside `[...]`.
fn split_outside_brackets(spec: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in spec.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&spec[start..]);
    parts
}

/// Expands the first `[A-B]` range (recursively the rest). Brackets that
/// hold no range (an IPv6 `[::1]:22`) are kept as they are.
fn expand_ranges(text: &str, out: &mut Vec<String>) -> Result<(), String> {
    let Some(range) = find_range(text)? else {
        out.push(text.to_string());
        return Ok(());
    };
    let (prefix, suffix) = (&text[..range.open], &text[range.close + 1..]);
    let width = range.width;
    for n in range.low..=range.high {
        expand_ranges(&format!("{prefix}{n:0width$}{suffix}"), out)?;
        if out.len() > MAX_TARGETS {
            return Err(format!("{text:?} expands to more than {MAX_TARGETS} targets"));
        }
    }
    Ok(())
}

/// A `[low-high]` range found in a target.
struct Range {
    /// Byte positions of the brackets.
    open: usize,
    close: usize,
    low: u64,
    high: u64,
    /// Zero-padded width (`01` -> 2), 0 when not padded.
    width: usize,
}

/// The first bracket pair that holds `digits-digits`.
fn find_range(text: &str) -> Result<Option<Range>, String> {
    let mut from = 0;
    while let Some(offset) = text[from..].find('[') {
        let open = from + offset;
        let close = open
            + text[open..]
                .find(']')
                .ok_or_else(|| format!("unclosed '[' in {text:?}"))?;
        let inside = &text[open + 1..close];
        if let Some((a, b)) = inside.split_once('-')
            && !a.is_empty()
            && a.chars().chain(b.chars()).all(|c| c.is_ascii_digit())
            && !b.is_empty()
        {
            let too_large =
                || format!("range [{inside}] in {text:?} expands to more than {MAX_TARGETS} targets");
            let (Ok(low), Ok(high)) = (a.parse::<u64>(), b.parse::<u64>()) else {
                return Err(too_large());
            };
            if low > high {
                return Err(format!("range [{inside}] runs backwards in {text:?}"));
            }
            // Refused before a single name is made, however wide.
            if high - low >= MAX_TARGETS as u64 {
                return Err(too_large());
            }
            let width = if a.len() > 1 && a.starts_with('0') {
                a.len()
            } else {
                0
            };
            return Ok(Some(Range {
                open,
                close,
                low,
                high,
                width,
            }));
        }
        from = close + 1;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Lists, padded ranges, ranges with ports, several ranges, IPv6.
    #[test]
    fn expands() {
        assert_eq!(expand("a,b@c:22").unwrap(), ["a", "b@c:22"]);
        assert_eq!(expand("web[01-03]").unwrap(), ["web01", "web02", "web03"]);
        assert_eq!(
            expand("10.0.0.[8-10]:2222").unwrap(),
            ["10.0.0.8:2222", "10.0.0.9:2222", "10.0.0.10:2222"]
        );
        assert_eq!(expand("r[1-2]n[1-2]").unwrap(), ["r1n1", "r1n2", "r2n1", "r2n2"]);
        assert_eq!(expand("[::1]:22,h[1-2]").unwrap(), ["[::1]:22", "h1", "h2"]);
    }

    /// Bad ranges and empty parts are refused; huge ones are capped.
    #[test]
    fn refuses_garbage() {
        for bad in [
            "a,,b",
            "web[3-1]",
            "web[1-",
            "",
            "h[0-999999999]",
            "h[1-99999999999999999999999]",
        ] {
            assert!(expand(bad).is_err(), "{bad:?}");
        }
        let error = expand("h[1-99999999999999999999999]").unwrap_err();
        assert!(error.contains("expands to more than 100000 targets"), "{error}");
    }

    proptest! {
        /// `prefix[low-high]suffix` expands to exactly high-low+1 names, in
        /// order, zero-padded to the width of `low` when it has a leading 0.
        #[test]
        fn range_expands_exactly(
            prefix in "[a-z][a-z0-9.-]{0,8}",
            suffix in "(\\.[a-z]{1,6}){0,2}(:[1-9][0-9]{0,3})?",
            low in 0..200u64,
            span in 0..40u64,
            padded in any::<bool>(),
        ) {
            let high = low + span;
            let low_text = if padded { format!("0{low}") } else { low.to_string() };
            let width = if padded { low_text.len() } else { 0 };
            let expanded = expand(&format!("{prefix}[{low_text}-{high}]{suffix}")).unwrap();
            let expected: Vec<String> = (low..=high).map(|n| format!("{prefix}{n:0width$}{suffix}")).collect();
            prop_assert_eq!(expanded, expected);
        }

        /// Two ranges give every pair; a comma list is the lists joined.
        #[test]
        fn ranges_multiply_and_lists_join(a in 1..12u64, b in 1..12u64, plain in "[a-z]{1,8}") {
            let both = expand(&format!("r[1-{a}]n[1-{b}]")).unwrap();
            prop_assert_eq!(both.len() as u64, a * b);
            prop_assert_eq!(both.last().cloned(), Some(format!("r{a}n{b}")));
            let joined = expand(&format!("{plain},r[1-{a}],{plain}")).unwrap();
            prop_assert_eq!(joined.len() as u64, a + 2);
            prop_assert_eq!(&joined[0], &plain);
        }

        /// No text panics the expander, what it returns has no empty names
        /// and stays under the cap, and it answers quickly.
        #[test]
        fn never_panics(any_text in "\\PC{0,30}", tricky in "[a-z0-9\\[\\]\\-,:]{0,24}") {
            for text in [any_text, tricky] {
                if let Ok(targets) = expand(&text) {
                    prop_assert!(targets.len() <= MAX_TARGETS);
                    prop_assert!(targets.iter().all(|t| !t.trim().is_empty()), "{:?}", targets);
                }
            }
        }
    }
}
