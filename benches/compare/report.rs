//! Results: rows of repeated measurements summarised by median, min and
//! max; the targets as ratios; a table for people and JSON for
//! machines.

use serde::Serialize;

/// One measured quantity, with every run's value.
#[derive(Debug, Serialize)]
pub struct Row {
    pub scenario: &'static str,
    pub what: String,
    pub unit: &'static str,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub values: Vec<f64>,
}

impl Row {
    pub fn new(
        scenario: &'static str,
        what: impl Into<String>,
        unit: &'static str,
        values: Vec<f64>,
    ) -> Self {
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let median = match sorted.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Self {
            scenario,
            what: what.into(),
            unit,
            median,
            min: sorted.first().copied().unwrap_or(f64::NAN),
            max: sorted.last().copied().unwrap_or(f64::NAN),
            values,
        }
    }
}

/// A goal from the issue, judged on medians.
#[derive(Debug, Serialize)]
pub struct Target {
    pub goal: String,
    pub measured: f64,
    pub met: bool,
}

/// Everything one run produced.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub mode: &'static str,
    pub rows: Vec<Row>,
    pub targets: Vec<Target>,
}

#[derive(Debug, Default, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu: String,
    pub kernel: String,
    pub openssh: String,
    pub sesh: String,
}

impl Report {
    pub fn row(&self, scenario: &str, what: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.scenario == scenario && r.what == what)
    }

    /// `numerator / denominator` of two rows' medians, judged by `met`.
    pub fn ratio(
        &mut self,
        goal: &str,
        numerator: (&str, &str),
        denominator: (&str, &str),
        met: fn(f64) -> bool,
    ) {
        let (Some(n), Some(d)) = (
            self.row(numerator.0, numerator.1),
            self.row(denominator.0, denominator.1),
        ) else {
            return;
        };
        let measured = n.median / d.median;
        self.targets.push(Target {
            goal: goal.to_string(),
            measured,
            met: met(measured),
        });
    }

    /// `minuend - subtrahend` of two rows' medians, judged by `met`.
    pub fn difference(
        &mut self,
        goal: &str,
        minuend: (&str, &str),
        subtrahend: (&str, &str),
        met: fn(f64) -> bool,
    ) {
        let (Some(a), Some(b)) = (
            self.row(minuend.0, minuend.1),
            self.row(subtrahend.0, subtrahend.1),
        ) else {
            return;
        };
        let measured = a.median - b.median;
        self.targets.push(Target {
            goal: goal.to_string(),
            measured,
            met: met(measured),
        });
    }

    /// One row's median, judged by `met`.
    pub fn value(&mut self, goal: &str, row: (&str, &str), met: fn(f64) -> bool) {
        let Some(row) = self.row(row.0, row.1) else {
            return;
        };
        let measured = row.median;
        self.targets.push(Target {
            goal: goal.to_string(),
            measured,
            met: met(measured),
        });
    }

    pub fn print_table(&self) {
        let m = &self.machine;
        println!(
            "\n{} CPUs ({}), kernel {}, {}, sesh {}; mode {}",
            m.cpus, m.cpu, m.kernel, m.openssh, m.sesh, self.mode
        );
        println!(
            "\n{:<12} {:<58} {:>10} {:>10} {:>10}  unit",
            "scenario", "what", "median", "min", "max"
        );
        for row in &self.rows {
            println!(
                "{:<12} {:<58} {:>10} {:>10} {:>10}  {}",
                row.scenario,
                row.what,
                figure(row.median),
                figure(row.min),
                figure(row.max),
                row.unit
            );
        }
        println!("\n{:<66} {:>10}  met", "target (on medians)", "measured");
        for target in &self.targets {
            let met = if target.met { "yes" } else { "NO" };
            println!("{:<66} {:>10}  {met}", target.goal, figure(target.measured));
        }
    }
}

/// Three significant figures, enough for medians of noisy runs.
fn figure(value: f64) -> String {
    if !value.is_finite() {
        return "-".to_string();
    }
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).clamp(0, 4) as usize;
    format!("{value:.decimals$}")
}
