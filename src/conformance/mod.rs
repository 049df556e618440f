//! `sesh test`: a conformance checker for SSH session semantics. With no
//! target it starts an embedded sesh serve and checks sesh end to end; with
//! a target it checks any SSH server with plain POSIX shell commands.

mod checks;
pub mod data;
mod embedded;
mod report;
pub mod transcript;

use std::time::{Duration, Instant};

use crate::cli::TestArgs;
use crate::client::Destination;
use checks::{ALL, Check, Ctx, Verdict};
use report::{Outcome, Report};

/// The longest one check may take.
const CHECK_LIMIT: Duration = Duration::from_secs(120);

/// Runs the checks and prints the report; returns the exit code
/// (0 all pass, 1 a check failed, 255 could not connect or bad input).
pub async fn run(args: &TestArgs) -> u8 {
    let selected = match select(&args.only) {
        Ok(selected) => selected,
        Err(why) => return complain(&why),
    };
    let embedded = match &args.target {
        Some(_) => None,
        None => match embedded::Embedded::start().await {
            Ok(server) => Some(server),
            Err(e) => return complain(&format!("could not start the embedded server: {e:#}")),
        },
    };
    let (target, access) = match (&args.target, &embedded) {
        (Some(target), _) => (target.clone(), args.access.clone()),
        (None, Some(server)) => (server.target.clone(), server.access.clone()),
        (None, None) => unreachable!("an embedded server exists when no target is given"),
    };
    let code = check(&target, &access, &selected, args.json).await;
    if let Some(server) = embedded {
        server.stop().await;
    }
    code
}

async fn check(target: &str, access: &crate::cli::AccessArgs, selected: &[&Check], json: bool) -> u8 {
    let destination = match Destination::from_access(target, access) {
        Ok(destination) => destination,
        Err(why) => return complain(&why),
    };
    let connection = match crate::client::connect(&destination).await {
        Ok(connection) => connection,
        Err(why) => return complain(&why.to_string()),
    };
    let ctx = Ctx {
        connection,
        destination,
    };
    let bar = report::progress(selected.len());
    let mut outcomes = Vec::new();
    for check in selected {
        bar.set_message(check.name);
        let begun = Instant::now();
        let verdict = match tokio::time::timeout(CHECK_LIMIT, (check.run)(&ctx)).await {
            Ok(Ok(verdict)) => verdict,
            Ok(Err(why)) => Verdict::Fail(why),
            Err(_) => Verdict::Fail(format!("no verdict in {} s", CHECK_LIMIT.as_secs())),
        };
        outcomes.push(Outcome {
            check: check.name,
            about: check.about,
            verdict,
            duration_ms: begun.elapsed().as_millis() as u64,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    let _ = ctx
        .connection
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
    let report = Report::new(ctx.destination.target.to_string(), outcomes);
    if json {
        crate::say_out!(
            "{}",
            serde_json::to_string_pretty(&report).expect("a report serialises")
        );
    } else {
        {
            use std::io::Write as _;
            let _ = write!(std::io::stdout(), "{}", report.table());
        }
    }
    u8::from(report.failed > 0)
}

/// The checks `--only` names, in their usual order; all when empty.
fn select(only: &[String]) -> Result<Vec<&'static Check>, String> {
    if let Some(unknown) = only
        .iter()
        .find(|name| !ALL.iter().any(|c| c.name == name.as_str()))
    {
        let names: Vec<&str> = ALL.iter().map(|c| c.name).collect();
        return Err(format!("unknown check {unknown:?}; checks: {}", names.join(", ")));
    }
    Ok(ALL
        .iter()
        .filter(|c| only.is_empty() || only.iter().any(|n| n == c.name))
        .collect())
}

fn complain(why: &str) -> u8 {
    crate::say!("sesh: {why}");
    255
}
