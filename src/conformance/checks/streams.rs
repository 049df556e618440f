//! Data on the channel: separation, order, completeness, EOF both ways.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Ctx, Verdict, collect_channel};

/// What `seq 1 n` prints.
fn seq(n: u32) -> Vec<u8> {
    (1..=n).map(|i| format!("{i}\n")).collect::<String>().into_bytes()
}

/// Deterministic pseudo-random bytes.
fn pattern(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

pub async fn separation(ctx: &Ctx) -> Verdict {
    match ctx
        .run("echo out1; echo err1 >&2; echo out2; echo err2 >&2")
        .await
    {
        Ok(t) if t.stdout == b"out1\nout2\n" && t.stderr == b"err1\nerr2\n" => {
            Verdict::Pass("2 lines each".into())
        }
        Ok(t) => Verdict::Fail(format!(
            "stdout {:?}, stderr {:?}",
            String::from_utf8_lossy(&t.stdout),
            String::from_utf8_lossy(&t.stderr)
        )),
        Err(e) => Verdict::Fail(e),
    }
}

pub async fn stderr_after_stdout(ctx: &Ctx) -> Verdict {
    let expected = seq(50000);
    match ctx.run("echo early; exec 1>&-; sleep 1; seq 1 50000 >&2").await {
        Ok(t) if t.stdout == b"early\n" && t.stderr == expected => {
            Verdict::Pass(format!("{} bytes of stderr after stdout closed", expected.len()))
        }
        Ok(t) => Verdict::Fail(format!(
            "stdout {} bytes, stderr {} of {} bytes",
            t.stdout.len(),
            t.stderr.len(),
            expected.len()
        )),
        Err(e) => Verdict::Fail(e),
    }
}

pub async fn order(ctx: &Ctx) -> Verdict {
    let command = "seq 1 20000; seq 1 20000 >&2; echo done; echo done >&2";
    let mut early_report = false;
    for _ in 0..3 {
        match ctx.run(command).await {
            Ok(t) => match t.order_problem() {
                None => {}
                // RFC 4254 allows it and clients lose nothing; sesh sends EOF first.
                Some(problem) if problem == "exit report before EOF" => early_report = true,
                Some(problem) => return Verdict::Fail(format!("{problem}: {:?}", t.events)),
            },
            Err(e) => return Verdict::Fail(e),
        }
    }
    if early_report {
        Verdict::Differs("exit report sometimes sent before EOF; no output after EOF".into())
    } else {
        Verdict::Pass("data, EOF, exit report, CLOSE (3 runs)".into())
    }
}

pub async fn open_until_exit(ctx: &Ctx) -> Verdict {
    let begun = Instant::now();
    match ctx.run("echo going; exec >&- 2>&-; sleep 2; exit 7").await {
        Ok(t) if t.exit_status() == Some(7) && begun.elapsed() >= Duration::from_secs(2) => {
            Verdict::Pass("exit-status 7 after 2 s with output closed".into())
        }
        Ok(t) => Verdict::Fail(format!(
            "{} after {:.1} s",
            t.ending(),
            begun.elapsed().as_secs_f64()
        )),
        Err(e) => Verdict::Fail(e),
    }
}

pub async fn stdin_eof(ctx: &Ctx) -> Verdict {
    match ctx.run_with_input("wc -c", Bytes::from_static(b"12345")).await {
        Ok(t) if String::from_utf8_lossy(&t.stdout).trim() == "5" => {
            Verdict::Pass("wc -c saw 5 bytes and EOF".into())
        }
        Ok(t) if t.timed_out => Verdict::Fail("the command never saw EOF".into()),
        Ok(t) => Verdict::Fail(format!("wc -c printed {:?}", String::from_utf8_lossy(&t.stdout))),
        Err(e) => Verdict::Fail(e),
    }
}

pub async fn transfer(ctx: &Ctx) -> Verdict {
    let data = pattern(4 * 1024 * 1024);
    match ctx.run_with_input("cat", Bytes::from(data.clone())).await {
        Ok(t) if t.stdout == data => Verdict::Pass("4 MiB up and back, identical".into()),
        Ok(t) => {
            let same = t.stdout.iter().zip(&data).take_while(|(a, b)| a == b).count();
            Verdict::Fail(format!(
                "{} of {} bytes back, first difference at {same}",
                t.stdout.len(),
                data.len()
            ))
        }
        Err(e) => Verdict::Fail(e),
    }
}

pub async fn trailing_output(ctx: &Ctx) -> Verdict {
    for run in 0..30 {
        match ctx.run("echo hello").await {
            Ok(t) if t.stdout == b"hello\n" => {}
            Ok(t) => return Verdict::Fail(format!("run {run}: {:?}", String::from_utf8_lossy(&t.stdout))),
            Err(e) => return Verdict::Fail(e),
        }
    }
    Verdict::Pass("30 of 30".into())
}

pub async fn paused_reader(ctx: &Ctx) -> Verdict {
    let channel = match ctx.channel().await {
        Ok(channel) => channel,
        Err(e) => return Verdict::Fail(e),
    };
    let expected = seq(1_000_000);
    if let Err(e) = channel.exec(true, "seq 1 1000000").await {
        return Verdict::Fail(format!("exec failed: {e}"));
    }
    let _ = channel.eof().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t = collect_channel(channel).await;
    if t.stdout == expected {
        Verdict::Pass(format!("{} bytes after a 2 s pause", expected.len()))
    } else {
        Verdict::Fail(format!(
            "{} of {} bytes ({})",
            t.stdout.len(),
            expected.len(),
            t.ending()
        ))
    }
}
