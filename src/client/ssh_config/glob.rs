//! The part of glob(3) that `Include` needs: `*` and `?` in any path
//! component, results sorted, a leading `.` matched only explicitly, and no
//! result (rather than an error) when nothing matches. Bracket expressions
//! are not supported: a `[` is taken literally.

use std::path::PathBuf;

use crate::pattern;

/// The existing paths `pattern` (absolute, `~` already expanded) names,
/// sorted as glob(3) sorts them.
pub fn expand(pattern: &str) -> Vec<PathBuf> {
    let mut found = vec![if pattern.starts_with('/') {
        "/".to_string()
    } else {
        String::new()
    }];
    let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let mut next = Vec::new();
        for base in &found {
            if !part.contains(['*', '?']) {
                let candidate = join(base, part);
                if std::fs::symlink_metadata(&candidate).is_ok() {
                    next.push(candidate);
                }
                continue;
            }
            next.extend(matching_children(base, part, last));
        }
        found = next;
        found.sort();
    }
    if parts.is_empty() {
        return Vec::new();
    }
    found.into_iter().map(PathBuf::from).collect()
}

/// The entries of directory `base` whose names match `part`; only
/// directories unless this is the `last` component.
fn matching_children(base: &str, part: &str, last: bool) -> Vec<String> {
    let dir = if base.is_empty() { "." } else { base };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && !part.starts_with('.') {
            continue;
        }
        if !pattern::matches(part, &name) {
            continue;
        }
        let path = join(base, &name);
        if last || std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            out.push(path);
        }
    }
    out
}

fn join(base: &str, name: &str) -> String {
    match base {
        "" => name.to_string(),
        "/" => format!("/{name}"),
        _ => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::expand;

    /// Sorted matches, hidden files skipped, directories in the middle,
    /// nothing for no match.
    #[test]
    fn globbing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        for name in ["b.conf", "a.conf", ".hidden.conf", "c.txt"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("d1")).unwrap();
        std::fs::write(dir.path().join("d1/x.conf"), "").unwrap();
        let names = |pattern: &str| -> Vec<String> {
            expand(&format!("{root}/{pattern}"))
                .iter()
                .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names("*.conf"), ["a.conf", "b.conf"]);
        assert_eq!(names(".*.conf"), [".hidden.conf"]);
        assert_eq!(names("d?/*.conf"), ["d1/x.conf"]);
        assert_eq!(names("c.txt"), ["c.txt"]);
        assert!(names("*.none").is_empty());
        assert!(names("missing").is_empty());
    }
}
