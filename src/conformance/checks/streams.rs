//! Data on the channel: separation, order, completeness, EOF both ways.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Ctx, Verdict, collect_channel};
use crate::client::connect::{Window, connect_with_window};
use crate::conformance::data::{pattern, seq};
use crate::conformance::transcript::{Transcript, record};

pub async fn separation(ctx: &Ctx) -> Result<Verdict, String> {
    let t = ctx
        .run("echo out1; echo err1 >&2; echo out2; echo err2 >&2")
        .await?;
    Ok(if t.stdout == b"out1\nout2\n" && t.stderr == b"err1\nerr2\n" {
        Verdict::Pass("2 lines each".into())
    } else {
        Verdict::Fail(format!(
            "stdout {:?}, stderr {:?}",
            String::from_utf8_lossy(&t.stdout),
            String::from_utf8_lossy(&t.stderr)
        ))
    })
}

pub async fn stderr_after_stdout(ctx: &Ctx) -> Result<Verdict, String> {
    let expected = seq(50000);
    let t = ctx.run("echo early; exec 1>&-; sleep 1; seq 1 50000 >&2").await?;
    Ok(if t.stdout == b"early\n" && t.stderr == expected {
        Verdict::Pass(format!("{} bytes of stderr after stdout closed", expected.len()))
    } else {
        let (out, err) = (t.stdout.len(), t.stderr.len());
        Verdict::Fail(format!(
            "stdout {out} bytes, stderr {err} of {} bytes",
            expected.len()
        ))
    })
}

pub async fn order(ctx: &Ctx) -> Result<Verdict, String> {
    let command = "seq 1 20000; seq 1 20000 >&2; echo done; echo done >&2";
    let mut early_report = false;
    for _ in 0..3 {
        let t = ctx.run(command).await?;
        match t.order_problem() {
            None => {}
            // RFC 4254 allows it and clients lose nothing; sesh sends EOF first.
            Some(problem) if problem == "exit report before EOF" => early_report = true,
            Some(problem) => return Ok(Verdict::Fail(format!("{problem}: {:?}", t.events))),
        }
    }
    Ok(if early_report {
        Verdict::Differs("exit report sometimes sent before EOF; no output after EOF".into())
    } else {
        Verdict::Pass("data, EOF, exit report, CLOSE (3 runs)".into())
    })
}

pub async fn open_until_exit(ctx: &Ctx) -> Result<Verdict, String> {
    let begun = Instant::now();
    let t = ctx.run("echo going; exec >&- 2>&-; sleep 2; exit 7").await?;
    let waited = begun.elapsed();
    Ok(
        if t.exit_status() == Some(7) && waited >= Duration::from_secs(2) {
            Verdict::Pass("exit-status 7 after 2 s with output closed".into())
        } else {
            Verdict::Fail(format!("{} after {:.1} s", t.ending(), waited.as_secs_f64()))
        },
    )
}

pub async fn stdin_eof(ctx: &Ctx) -> Result<Verdict, String> {
    let t = ctx.run_with_input("wc -c", Bytes::from_static(b"12345")).await?;
    Ok(match String::from_utf8_lossy(&t.stdout).trim() {
        "5" => Verdict::Pass("wc -c saw 5 bytes and EOF".into()),
        _ if t.timed_out => Verdict::Fail("the command never saw EOF".into()),
        other => Verdict::Fail(format!("wc -c printed {other:?}")),
    })
}

pub async fn transfer(ctx: &Ctx) -> Result<Verdict, String> {
    let data = pattern(4 * 1024 * 1024, 0x2545_f491_4f6c_dd1d);
    let t = ctx.run_with_input("cat", Bytes::from(data.clone())).await?;
    Ok(if t.stdout == data {
        Verdict::Pass("4 MiB up and back, identical".into())
    } else {
        let same = t.stdout.iter().zip(&data).take_while(|(a, b)| a == b).count();
        Verdict::Fail(format!(
            "{} of {} bytes back, first difference at {same}",
            t.stdout.len(),
            data.len()
        ))
    })
}

pub async fn trailing_output(ctx: &Ctx) -> Result<Verdict, String> {
    for run in 0..30 {
        let t = ctx.run("echo hello").await?;
        if t.stdout != b"hello\n" {
            return Ok(Verdict::Fail(format!(
                "run {run}: {:?}",
                String::from_utf8_lossy(&t.stdout)
            )));
        }
    }
    Ok(Verdict::Pass("30 of 30".into()))
}

pub async fn paused_reader(ctx: &Ctx) -> Result<Verdict, String> {
    let channel = ctx.channel().await?;
    let expected = seq(1_000_000);
    channel
        .exec(true, "seq 1 1000000")
        .await
        .map_err(|e| format!("exec failed: {e}"))?;
    let _ = channel.eof().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t = collect_channel(channel).await;
    Ok(if t.stdout == expected {
        Verdict::Pass(format!("{} bytes after a 2 s pause", expected.len()))
    } else {
        Verdict::Fail(format!(
            "{} of {} bytes ({})",
            t.stdout.len(),
            expected.len(),
            t.ending()
        ))
    })
}

/// Output queued behind the client's window when the command exits: a
/// window of 32 KiB, granted only as fast as a slow reader takes 8 KiB
/// packets, while the command writes 2 MB and ends at once. A server that
/// buffers the output and reports the end as soon as the command exits
/// sends EOF, the exit report or CLOSE with bytes still queued, and
/// clients such as OpenSSH's `ssh` then lose the tail.
pub async fn small_window(ctx: &Ctx) -> Result<Verdict, String> {
    let window = Window {
        size: 32 * 1024,
        packet: 8 * 1024,
        queue: 1,
    };
    let connection = connect_with_window(&ctx.destination, window)
        .await
        .map_err(|e| format!("second connection: {e}"))?;
    let channel = connection
        .channel_open_session()
        .await
        .map_err(|e| format!("could not open a channel: {e}"))?;
    let expected = seq(300_000);
    channel
        .exec(true, "seq 1 300000")
        .await
        .map_err(|e| format!("exec failed: {e}"))?;
    let _ = channel.eof().await;
    let t = read_slowly(channel.split().0).await;
    let _ = connection
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
    Ok(if t.stdout != expected {
        Verdict::Fail(format!(
            "{} of {} bytes, then {}",
            t.stdout.len(),
            expected.len(),
            t.ending()
        ))
    } else {
        match t.order_problem() {
            None => Verdict::Pass(format!("{} bytes, then EOF, exit report, CLOSE", expected.len())),
            // RFC 4254 allows it; nothing was lost.
            Some(problem) if problem == "exit report before EOF" => {
                Verdict::Differs("exit report before EOF; every byte came".into())
            }
            Some(problem) => Verdict::Fail(format!("{problem}: {:?}", t.events)),
        }
    })
}

/// Reads a channel to its end, pausing after every message, so the
/// window is granted slowly.
async fn read_slowly(mut reader: russh::ChannelReadHalf) -> Transcript {
    let mut transcript = Transcript::default();
    let deadline = tokio::time::Instant::now() + super::COMMAND_LIMIT;
    loop {
        match tokio::time::timeout_at(deadline, reader.wait()).await {
            Ok(Some(message)) => {
                if record(&mut transcript, message) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok(None) => break,
            Err(_) => {
                transcript.timed_out = true;
                break;
            }
        }
    }
    transcript
}

pub async fn ignored_stdin(ctx: &Ctx) -> Result<Verdict, String> {
    // 32 MiB pushed at a command that never reads stdin while it writes
    // 16 MB: the server must keep the output flowing (no deadlock between
    // its stdin and stdout handling) and lose none of it.
    let input = Bytes::from(vec![b'x'; 32 * 1024 * 1024]);
    let t = ctx
        .run_with_input("dd if=/dev/zero bs=1000000 count=16 2>/dev/null", input)
        .await?;
    Ok(if t.stdout.len() == 16_000_000 && t.exit_status() == Some(0) {
        Verdict::Pass("16 MB out while 32 MiB of stdin went unread".into())
    } else if t.timed_out {
        Verdict::Fail(format!("stalled after {} bytes of output", t.stdout.len()))
    } else {
        Verdict::Fail(format!("{} of 16000000 bytes, {}", t.stdout.len(), t.ending()))
    })
}
