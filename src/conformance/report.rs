//! How `sesh test` shows its results: a progress bar on stderr while the
//! checks run (only on a terminal), then a table or one JSON report.

use indicatif::ProgressBar;
use serde::Serialize;

use super::checks::Verdict;

/// One check's result.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub check: &'static str,
    pub about: &'static str,
    #[serde(flatten)]
    pub verdict: Verdict,
    pub duration_ms: u64,
}

/// The whole run.
#[derive(Debug, Serialize)]
pub struct Report {
    pub target: String,
    pub outcomes: Vec<Outcome>,
    pub passed: usize,
    pub failed: usize,
    pub differs: usize,
    pub skipped: usize,
}

impl Report {
    pub fn new(target: String, outcomes: Vec<Outcome>) -> Self {
        let count = |word: &str| outcomes.iter().filter(|o| o.verdict.word() == word).count();
        let (passed, failed, differs, skipped) =
            (count("pass"), count("fail"), count("differs"), count("skipped"));
        Self {
            target,
            outcomes,
            passed,
            failed,
            differs,
            skipped,
        }
    }

    /// The table, one check a line, then the counts.
    pub fn table(&self) -> String {
        let width = self
            .outcomes
            .iter()
            .map(|o| o.check.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let mut text = format!("{:width$}  {:7}  detail\n", "check", "verdict");
        for outcome in &self.outcomes {
            text.push_str(&format!(
                "{:width$}  {:7}  {}\n",
                outcome.check,
                outcome.verdict.word(),
                outcome.verdict.detail()
            ));
        }
        text.push_str(&format!(
            "\n{}: {} passed, {} failed, {} differ, {} skipped\n",
            self.target, self.passed, self.failed, self.differs, self.skipped
        ));
        text
    }
}

/// A progress bar of the checks (hidden when stderr is not a terminal).
pub fn progress(checks: usize) -> ProgressBar {
    crate::progress::bar(checks, "{bar:30} {pos}/{len} {msg}")
}
