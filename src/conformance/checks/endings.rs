//! How commands end: exit statuses, exit-signal names, the core flag.

use super::{Ctx, Verdict, die_by};
use crate::signals::RFC_NAMES;

pub async fn exit_statuses(ctx: &Ctx) -> Result<Verdict, String> {
    for code in [0u32, 1, 44, 255] {
        let t = ctx.run(&format!("exit {code}")).await?;
        if t.exit_status() != Some(code) {
            return Ok(Verdict::Fail(format!("exit {code} came back as {}", t.ending())));
        }
    }
    Ok(Verdict::Pass("0, 1, 44, 255".into()))
}

pub async fn rfc_signals(ctx: &Ctx) -> Result<Verdict, String> {
    let mut wrong = Vec::new();
    for name in RFC_NAMES {
        // No cores from ABRT, QUIT, ILL, FPE and SEGV in the user's home.
        let t = ctx.run(&format!("ulimit -c 0; {}", die_by(name))).await?;
        if t.exit_signal().is_none_or(|(got, _)| got != name) {
            wrong.push(format!("{name}: {}", t.ending()));
        }
    }
    Ok(match wrong.len() {
        0 => Verdict::Pass(format!("all {} named", RFC_NAMES.len())),
        _ => Verdict::Fail(wrong.join("; ")),
    })
}

pub async fn core_dumped(ctx: &Ctx) -> Result<Verdict, String> {
    // A directory of its own for the core file, removed afterwards.
    let made = ctx.run("mktemp -d").await?;
    if made.exit_status() != Some(0) {
        return Ok(Verdict::Skipped(format!(
            "no temporary directory on the server ({})",
            made.ending()
        )));
    }
    let dir = String::from_utf8_lossy(&made.stdout).trim().to_string();
    let command = format!(
        "ulimit -c unlimited 2>/dev/null; cd '{dir}' && {}",
        die_by("SEGV")
    );
    let result = ctx.run(&command).await;
    let _ = ctx.run(&format!("rm -rf '{dir}'")).await;
    let t = result?;
    Ok(match t.exit_signal() {
        Some((name, true)) if name == "SEGV" => Verdict::Pass("SEGV (core dumped)".into()),
        Some((name, false)) if name == "SEGV" => Verdict::Skipped(
            "SEGV reported, but no core was dumped (core dumps disabled on the host?)".into(),
        ),
        _ => Verdict::Fail(format!("SEGV came back as {}", t.ending())),
    })
}

pub async fn platform_signal(ctx: &Ctx) -> Result<Verdict, String> {
    let t = ctx.run(&die_by("SYS")).await?;
    Ok(match t.exit_signal() {
        Some((name, _)) if name.starts_with("SYS@") => Verdict::Pass(name),
        Some((name, _)) if name.contains('@') => Verdict::Differs(format!(
            "SIGSYS reported as {name}: the signal's own name is lost"
        )),
        _ => Verdict::Fail(format!("SIGSYS came back as {}", t.ending())),
    })
}
