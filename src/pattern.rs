//! OpenSSH-style wildcard patterns (`*` any run, `?` one character), used
//! by `--accept-env` and by `from=` in `authorized_keys`, and OpenSSH's rule
//! for a comma list of them ([`list_matches`]), shared by `known_hosts`
//! host lists and `from=`.

/// OpenSSH's pattern-list rule (`match_pattern_list`): a `!pattern` that
/// matches refuses the whole list, else any plain pattern that matches
/// admits. `hit` decides whether one pattern (without its `!`) matches, so
/// callers choose globbing, CIDR blocks or exact names.
pub fn list_matches<'a>(
    patterns: impl IntoIterator<Item = &'a str>,
    mut hit: impl FnMut(&str) -> bool,
) -> bool {
    let mut admitted = false;
    for pattern in patterns {
        match pattern.strip_prefix('!') {
            // A negation is final whatever follows it.
            Some(negated) if hit(negated) => return false,
            Some(_) => {}
            None => admitted = admitted || hit(pattern),
        }
    }
    admitted
}

/// Whether `text` matches the whole of `pattern`.
pub fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative glob with one backtrack point: linear in practice, never
    // exponential on hostile patterns.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        // `*` first: taken as a literal it would match a `*` in the text
        // without leaving a point to backtrack to.
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{list_matches, matches};

    /// Literals, `?`, `*` at every position, and non-matches.
    #[test]
    fn globbing() {
        assert!(matches("LANG", "LANG"));
        assert!(!matches("LANG", "LANGUAGE"));
        assert!(matches("LC_*", "LC_ALL"));
        assert!(matches("LC_*", "LC_"));
        assert!(!matches("LC_*", "XLC_ALL"));
        assert!(matches("*", ""));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("*.example.*", "www.example.com"));
        assert!(matches("10.0.*.1", "10.0.200.1"));
        assert!(!matches("a*b*c", "aXbY"));
        assert!(matches("*", "*0"));
        assert!(matches("LC_*", "LC_*X"));
    }

    /// The obvious recursive definition, exponential but plainly right.
    fn reference(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
            Some((&c, rest)) => t.first().is_some_and(|&f| c == '?' || c == f) && reference(rest, &t[1..]),
        }
    }

    /// Negation wins wherever it stands; no plain match admits nothing.
    #[test]
    fn lists() {
        let glob = |text: &'static str| move |p: &str| matches(p, text);
        assert!(list_matches(["a*", "b"], glob("abc")));
        assert!(!list_matches(["a*", "!abc"], glob("abc")));
        assert!(!list_matches(["!abc", "a*"], glob("abc")));
        assert!(list_matches(["!x*", "a*"], glob("abc")));
        assert!(!list_matches(["!x*"], glob("abc")));
        assert!(!list_matches([], glob("abc")));
    }

    proptest! {
        /// The list rule agrees with its definition: refused when some
        /// negated pattern matches, else admitted when some plain one does.
        #[test]
        fn list_rule(patterns in prop::collection::vec("!?[ab*?]{0,4}", 0..6), text in "[ab]{0,5}") {
            let negated_hit = patterns.iter().any(|p| p.strip_prefix('!').is_some_and(|n| matches(n, &text)));
            let plain_hit = patterns.iter().any(|p| !p.starts_with('!') && matches(p, &text));
            let got = list_matches(patterns.iter().map(String::as_str), |p| matches(p, &text));
            prop_assert_eq!(got, !negated_hit && plain_hit, "{:?} vs {:?}", patterns, text);
        }

        /// The linear matcher agrees with the recursive definition, and a
        /// text always matches itself and `*`.
        #[test]
        fn agrees_with_reference(pattern in "[ab*?]{0,8}", text in "[ab*?]{0,8}", any_text in "\\PC{0,12}") {
            let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
            prop_assert_eq!(matches(&pattern, &text), reference(&p, &t), "{:?} vs {:?}", pattern, text);
            prop_assert!(matches("*", &any_text));
            let literal = any_text.replace(['*', '?'], "");
            prop_assert!(matches(&literal, &literal));
        }
    }
}
