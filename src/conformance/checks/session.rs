//! Requests and the session's life: signals, env, pty, several channels,
//! hang-up on disconnect, keepalives.

use std::time::Duration;

use russh::client::Msg;
use russh::{Channel, Sig};

use super::super::transcript::{Event, Transcript, record};
use super::{Ctx, Verdict, collect_channel};

/// A shell loop that ends by itself after `secs`, so a check that gives up
/// never leaves work behind on the server.
fn idle(secs: u32) -> String {
    format!("n=0; while [ $n -lt {secs} ]; do sleep 1; n=$((n+1)); done")
}

/// Reads until `marker` is in stdout (or `limit` passes).
async fn read_until(channel: &mut Channel<Msg>, marker: &str, limit: Duration) -> Result<Transcript, String> {
    let mut transcript = Transcript::default();
    let found = tokio::time::timeout(limit, async {
        while !String::from_utf8_lossy(&transcript.stdout).contains(marker) {
            match channel.wait().await {
                Some(message) => {
                    if record(&mut transcript, message) {
                        return false;
                    }
                }
                None => return false,
            }
        }
        true
    })
    .await;
    match found {
        Ok(true) => Ok(transcript),
        _ => Err(format!("never printed {marker:?} ({})", transcript.ending())),
    }
}

/// Collects the rest with a short limit, closing the channel on a time-out.
async fn finish(channel: Channel<Msg>, limit: Duration) -> Transcript {
    let (reader, writer) = channel.split();
    let transcript = super::super::transcript::collect_half(reader, limit).await;
    if transcript.timed_out {
        let _ = writer.close().await;
    }
    transcript
}

pub async fn signal_request(ctx: &Ctx) -> Result<Verdict, String> {
    let mut channel = ctx.channel().await?;
    let command = format!("trap 'echo got-usr1; exit 9' USR1; echo ready; {}", idle(10));
    channel
        .exec(true, command)
        .await
        .map_err(|e| format!("exec failed: {e}"))?;
    read_until(&mut channel, "ready", Duration::from_secs(10)).await?;
    let _ = channel.signal(Sig::USR1).await;
    let rest = finish(channel, Duration::from_secs(5)).await;
    Ok(if rest.exit_status() == Some(9) && rest.stdout == b"got-usr1\n" {
        Verdict::Pass("USR1 ran the command's trap".into())
    } else if rest.timed_out {
        Verdict::Differs("the signal request was ignored or refused".into())
    } else {
        Verdict::Fail(format!("after USR1: {}", rest.ending()))
    })
}

pub async fn env(ctx: &Ctx) -> Result<Verdict, String> {
    let channel = ctx.channel().await?;
    let _ = channel.set_env(true, "LANG", "C.sesh-test").await;
    let _ = channel.set_env(true, "SESH_TEST_REFUSED", "1").await;
    let _ = channel
        .exec(true, "echo \"$LANG/${SESH_TEST_REFUSED-unset}\"")
        .await;
    let _ = channel.eof().await;
    let t = collect_channel(channel).await;
    let refused = replies(&t).get(1) == Some(&&Event::Failure);
    Ok(match String::from_utf8_lossy(&t.stdout).trim() {
        "C.sesh-test/unset" if refused => {
            Verdict::Pass("LANG accepted, SESH_TEST_REFUSED refused with a failure reply".into())
        }
        "C.sesh-test/unset" => Verdict::Differs("SESH_TEST_REFUSED not set, but no failure reply".into()),
        "/unset" => Verdict::Differs("env requests ignored (LANG not set)".into()),
        other if other.ends_with("/1") => {
            Verdict::Fail("any variable is accepted (SESH_TEST_REFUSED was set)".into())
        }
        other => Verdict::Fail(format!("printed {other:?}")),
    })
}

pub async fn second_exec(ctx: &Ctx) -> Result<Verdict, String> {
    let channel = ctx.channel().await?;
    let _ = channel.exec(true, "sleep 1; echo first").await;
    let _ = channel.exec(true, "echo second").await;
    let _ = channel.eof().await;
    let t = collect_channel(channel).await;
    let replies = replies(&t);
    Ok(match (replies.as_slice(), t.stdout.as_slice()) {
        ([Event::Success, Event::Failure], b"first\n") => {
            Verdict::Pass("refused with a failure reply".into())
        }
        (_, b"first\n") => Verdict::Differs(format!("replies {replies:?}, but only the first ran")),
        (_, out) => Verdict::Fail(format!(
            "replies {replies:?}, output {:?}",
            String::from_utf8_lossy(out)
        )),
    })
}

pub async fn pty(ctx: &Ctx) -> Result<Verdict, String> {
    let mut channel = ctx.channel().await?;
    let _ = channel.request_pty(true, "xterm-sesh", 90, 30, 0, 0, &[]).await;
    let command = format!(
        "echo \"term=$TERM size=$(stty size)\"; trap 'echo \"resized=$(stty size)\"; exit 0' WINCH; echo ready; {}",
        idle(10)
    );
    let _ = channel.exec(true, command).await;
    let first = read_until(&mut channel, "ready", Duration::from_secs(10)).await?;
    if first.events.first() == Some(&Event::Failure) {
        let _ = channel.close().await;
        return Ok(Verdict::Differs("pty request refused".into()));
    }
    let _ = channel.window_change(120, 40, 0, 0).await;
    let rest = finish(channel, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&first.stdout).to_string() + &String::from_utf8_lossy(&rest.stdout);
    Ok(
        match (
            text.contains("term=xterm-sesh size=30 90"),
            text.contains("resized=40 120"),
        ) {
            (true, true) => Verdict::Pass("TERM, 30x90, resized to 40x120".into()),
            (true, false) => Verdict::Fail("window-change did not resize the pty".into()),
            _ => Verdict::Fail(format!("pty output {:?}", text.trim())),
        },
    )
}

pub async fn concurrent(ctx: &Ctx) -> Result<Verdict, String> {
    let runs = (0..5u32).map(|i| async move {
        (
            i,
            ctx.run(&format!("sleep 1; seq 1 {}; exit {i}", 10000 + i)).await,
        )
    });
    for (i, result) in futures::future::join_all(runs).await {
        let t = result.map_err(|e| format!("channel {i}: {e}"))?;
        if t.stdout != crate::conformance::data::seq(10000 + i) || t.exit_status() != Some(i) {
            return Ok(Verdict::Fail(format!(
                "channel {i}: {} bytes, {}",
                t.stdout.len(),
                t.ending()
            )));
        }
    }
    Ok(Verdict::Pass("5 of 5 complete".into()))
}

pub async fn hangup(ctx: &Ctx) -> Result<Verdict, String> {
    let other = crate::client::connect(&ctx.destination)
        .await
        .map_err(|e| format!("second connection: {e}"))?;
    let mut channel = other
        .channel_open_session()
        .await
        .map_err(|e| format!("could not open a channel: {e}"))?;
    // Far longer than the probing below, however slow each probe is: a
    // command that ends by itself must not pass for one that was hung up.
    let _ = channel.exec(true, "echo $$; exec sleep 300").await;
    let started = read_until(&mut channel, "\n", Duration::from_secs(10)).await?;
    let pid = String::from_utf8_lossy(&started.stdout).trim().to_string();
    let _ = other.disconnect(russh::Disconnect::ByApplication, "", "en").await;
    drop((channel, other));
    let probe = format!("kill -0 {pid} 2>/dev/null && echo alive || echo gone");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if ctx.run(&probe).await?.stdout == b"gone\n" {
            return Ok(Verdict::Pass("hung up after the client left".into()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = ctx.run(&format!("kill {pid}")).await;
    Ok(Verdict::Differs(
        "the command kept running after its client disconnected".into(),
    ))
}

pub async fn keepalive(ctx: &Ctx) -> Result<Verdict, String> {
    Ok(
        match tokio::time::timeout(Duration::from_secs(10), ctx.connection.send_ping()).await {
            Ok(Ok(())) => Verdict::Pass("answered".into()),
            Ok(Err(e)) => Verdict::Fail(format!("could not send: {e}")),
            Err(_) => Verdict::Fail("no answer in 10 s".into()),
        },
    )
}

/// The channel-request replies, in order.
fn replies(t: &Transcript) -> Vec<&Event> {
    t.events
        .iter()
        .filter(|e| matches!(e, Event::Success | Event::Failure))
        .collect()
}
