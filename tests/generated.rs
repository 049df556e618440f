//! The committed completions and man pages match the clap definition.

use std::path::Path;

/// Regenerates into a temporary directory and compares file by file.
#[test]
fn completions_and_man_pages_are_fresh() {
    let dir = tempfile::tempdir().unwrap();
    sesh::generate::write_all(dir.path()).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stale = Vec::new();
    for sub in ["completions", "man"] {
        let fresh_dir = dir.path().join(sub);
        let mut names: Vec<_> = std::fs::read_dir(&fresh_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        if let Ok(committed) = std::fs::read_dir(root.join(sub)) {
            names.extend(committed.map(|e| e.unwrap().file_name()));
        }
        names.sort();
        names.dedup();
        for name in names {
            let fresh = std::fs::read(fresh_dir.join(&name)).ok();
            let committed = std::fs::read(root.join(sub).join(&name)).ok();
            if fresh != committed {
                stale.push(format!("{sub}/{}", name.to_string_lossy()));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}; refresh with: {}",
        sesh::generate::REFRESH
    );
}
