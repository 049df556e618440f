//! How commands end: exit statuses, exit-signal names, the core flag.

use super::{Ctx, Verdict, die_by};
use crate::signals::RFC_NAMES;

pub async fn exit_statuses(ctx: &Ctx) -> Verdict {
    for code in [0u32, 1, 44, 255] {
        match ctx.run(&format!("exit {code}")).await {
            Ok(t) if t.exit_status() == Some(code) => {}
            Ok(t) => return Verdict::Fail(format!("exit {code} came back as {}", t.ending())),
            Err(e) => return Verdict::Fail(e),
        }
    }
    Verdict::Pass("0, 1, 44, 255".into())
}

pub async fn rfc_signals(ctx: &Ctx) -> Verdict {
    let mut wrong = Vec::new();
    for name in RFC_NAMES {
        // No cores from ABRT, QUIT, ILL, FPE and SEGV in the user's home.
        match ctx.run(&format!("ulimit -c 0; {}", die_by(name))).await {
            Ok(t) if t.exit_signal().is_some_and(|(got, _)| got == name) => {}
            Ok(t) => wrong.push(format!("{name}: {}", t.ending())),
            Err(e) => return Verdict::Fail(e),
        }
    }
    match wrong.len() {
        0 => Verdict::Pass(format!("all {} named", RFC_NAMES.len())),
        _ => Verdict::Fail(wrong.join("; ")),
    }
}

pub async fn core_dumped(ctx: &Ctx) -> Verdict {
    // A directory of its own for the core file, removed afterwards.
    let dir = match ctx.run("mktemp -d").await {
        Ok(t) if t.exit_status() == Some(0) => String::from_utf8_lossy(&t.stdout).trim().to_string(),
        Ok(t) => return Verdict::Skipped(format!("no temporary directory on the server ({})", t.ending())),
        Err(e) => return Verdict::Fail(e),
    };
    let command = format!(
        "ulimit -c unlimited 2>/dev/null; cd '{dir}' && {}",
        die_by("SEGV")
    );
    let result = ctx.run(&command).await;
    let _ = ctx.run(&format!("rm -rf '{dir}'")).await;
    match result {
        Ok(t) => match t.exit_signal() {
            Some((name, true)) if name == "SEGV" => Verdict::Pass("SEGV (core dumped)".into()),
            Some((name, false)) if name == "SEGV" => Verdict::Skipped(
                "SEGV reported, but no core was dumped (core dumps disabled on the host?)".into(),
            ),
            _ => Verdict::Fail(format!("SEGV came back as {}", t.ending())),
        },
        Err(e) => Verdict::Fail(e),
    }
}

pub async fn platform_signal(ctx: &Ctx) -> Verdict {
    match ctx.run(&die_by("SYS")).await {
        Ok(t) => match t.exit_signal() {
            Some((name, _)) if name.starts_with("SYS@") => Verdict::Pass(name),
            Some((name, _)) if name.contains('@') => Verdict::Differs(format!(
                "SIGSYS reported as {name}: the signal's own name is lost"
            )),
            _ => Verdict::Fail(format!("SIGSYS came back as {}", t.ending())),
        },
        Err(e) => Verdict::Fail(e),
    }
}
