//! The README's commands stay true: every `sesh` command shown parses with
//! the real command line, the two commands exist, and CI runs the test one.
//! (What the commands do is covered by the behaviour tests: serve with the
//! OpenSSH client, exec against sshd and serve, test against both.)

use clap::Parser;
use sesh::cli::Cli;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The lines of the README's ```sh blocks.
fn shell_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        match (inside, line.trim_start().starts_with("```")) {
            (false, true) => inside = line.trim() == "```sh",
            (true, true) => inside = false,
            (true, false) => lines.push(line.trim().to_string()),
            (false, false) => {}
        }
    }
    lines
}

/// Words of the first simple command on a line: quotes respected, cut at
/// an unquoted comment or shell operator.
fn first_command(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '#' | ';' | '|' | '&' | '>' | '<') => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Every `sesh ...` and `cargo run ... -- ...` command in the README parses.
#[test]
fn readme_sesh_commands_parse() {
    let mut checked = 0;
    for line in shell_lines(&readme()) {
        let words = first_command(&line);
        let args: Vec<String> = match words.first().map(String::as_str) {
            Some("sesh") if !line.contains("[OPTIONS]") => words,
            Some("cargo") if words.get(1).map(String::as_str) == Some("run") => {
                let Some(split) = words.iter().position(|w| w == "--") else {
                    continue;
                };
                std::iter::once("sesh".to_string())
                    .chain(words[split + 1..].iter().cloned())
                    .collect()
            }
            _ => continue,
        };
        if let Err(e) = Cli::try_parse_from(&args) {
            panic!("README command {line:?} does not parse: {e}");
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} sesh commands found in the README");
}

/// The test command exists and is what CI runs.
#[test]
fn ci_runs_the_readme_test_command() {
    let root = env!("CARGO_MANIFEST_DIR");
    assert!(readme().contains("scripts/test                 # test: the whole suite"));
    assert!(std::path::Path::new(root).join("scripts/test").exists());
    let ci = std::fs::read_to_string(format!("{root}/.ci/run")).unwrap();
    assert!(ci.lines().any(|l| l.trim() == "exec scripts/test"), "{ci}");
}

/// The shell splitter reads quotes and stops at operators.
#[test]
fn splitter() {
    assert_eq!(
        first_command("sesh exec -n web1 'a b; c' || echo x"),
        ["sesh", "exec", "-n", "web1", "a b; c"]
    );
    assert_eq!(
        first_command("sesh serve --listen x &  # c"),
        ["sesh", "serve", "--listen", "x"]
    );
}
