//! Everything a session channel delivered, in order, and the contract's
//! order rules checked against it.

use std::time::Duration;

use russh::client::Msg;
use russh::{Channel, ChannelMsg, ChannelReadHalf};

/// One message as the client saw it (runs of data collapse into one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Data,
    Stderr,
    Eof,
    ExitStatus(u32),
    ExitSignal { name: String, core_dumped: bool },
    Success,
    Failure,
    Close,
}

/// All a channel delivered.
#[derive(Debug, Default)]
pub struct Transcript {
    pub events: Vec<Event>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The channel had not closed when the time limit came.
    pub timed_out: bool,
}

impl Transcript {
    pub fn exit_status(&self) -> Option<u32> {
        self.events.iter().find_map(|e| match e {
            Event::ExitStatus(code) => Some(*code),
            _ => None,
        })
    }

    pub fn exit_signal(&self) -> Option<(String, bool)> {
        self.events.iter().find_map(|e| match e {
            Event::ExitSignal { name, core_dumped } => Some((name.clone(), *core_dumped)),
            _ => None,
        })
    }

    /// How the command ended, in words.
    pub fn ending(&self) -> String {
        match (self.exit_status(), self.exit_signal()) {
            (Some(code), _) => format!("exit-status {code}"),
            (None, Some((name, true))) => format!("exit-signal {name} (core dumped)"),
            (None, Some((name, false))) => format!("exit-signal {name}"),
            (None, None) if self.timed_out => "no CLOSE in time".to_string(),
            (None, None) => "no exit report".to_string(),
        }
    }

    /// What breaks the contract's order, if anything: output after EOF,
    /// no EOF, not exactly one exit report after EOF, CLOSE not last.
    pub fn order_problem(&self) -> Option<String> {
        if self.timed_out {
            return Some("the channel never closed".to_string());
        }
        let position = |want: fn(&Event) -> bool| self.events.iter().position(want);
        let is_report = |e: &Event| matches!(e, Event::ExitStatus(_) | Event::ExitSignal { .. });
        let Some(eof) = position(|e| *e == Event::Eof) else {
            return Some("no EOF before CLOSE".to_string());
        };
        let last_output = self
            .events
            .iter()
            .rposition(|e| matches!(e, Event::Data | Event::Stderr));
        if last_output.is_some_and(|i| i > eof) {
            return Some("output after EOF".to_string());
        }
        let reports = self.events.iter().filter(|e| is_report(e)).count();
        if reports != 1 {
            return Some(format!("{reports} exit reports"));
        }
        if position(is_report).is_some_and(|i| i < eof) {
            return Some("exit report before EOF".to_string());
        }
        (self.events.last() != Some(&Event::Close)).then(|| "CLOSE is not the last message".to_string())
    }
}

/// Reads a whole channel until it closes or `limit` passes.
pub async fn collect(channel: Channel<Msg>, limit: Duration) -> Transcript {
    collect_half(channel.split().0, limit).await
}

/// Reads the read half of a channel until it closes or `limit` passes.
pub async fn collect_half(mut channel: ChannelReadHalf, limit: Duration) -> Transcript {
    let mut transcript = Transcript::default();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, channel.wait()).await {
            Ok(Some(message)) => {
                if record(&mut transcript, message) {
                    break;
                }
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

/// Adds one message; true when it was CLOSE.
pub fn record(transcript: &mut Transcript, message: ChannelMsg) -> bool {
    let event = match message {
        ChannelMsg::Data { data } => {
            transcript.stdout.extend_from_slice(&data);
            Event::Data
        }
        ChannelMsg::ExtendedData { data, ext: 1 } => {
            transcript.stderr.extend_from_slice(&data);
            Event::Stderr
        }
        ChannelMsg::Eof => Event::Eof,
        ChannelMsg::ExitStatus { exit_status } => Event::ExitStatus(exit_status),
        ChannelMsg::ExitSignal {
            signal_name,
            core_dumped,
            ..
        } => Event::ExitSignal {
            name: crate::signals::sig_name(&signal_name),
            core_dumped,
        },
        ChannelMsg::Success => Event::Success,
        ChannelMsg::Failure => Event::Failure,
        ChannelMsg::Close => Event::Close,
        _ => return false,
    };
    let close = event == Event::Close;
    let repeat = matches!(event, Event::Data | Event::Stderr) && transcript.events.last() == Some(&event);
    if !repeat {
        transcript.events.push(event);
    }
    close
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(events: Vec<Event>) -> Transcript {
        Transcript {
            events,
            ..Default::default()
        }
    }

    /// The contract's order passes; each way of breaking it is named.
    #[test]
    fn order_rules() {
        use Event::*;
        assert_eq!(
            of(vec![Success, Data, Stderr, Eof, ExitStatus(0), Close]).order_problem(),
            None
        );
        assert_eq!(
            of(vec![Data, Eof, Stderr, ExitStatus(0), Close])
                .order_problem()
                .as_deref(),
            Some("output after EOF")
        );
        assert_eq!(
            of(vec![Data, ExitStatus(0), Eof, Close])
                .order_problem()
                .as_deref(),
            Some("exit report before EOF")
        );
        assert_eq!(
            of(vec![Data, Eof, Close]).order_problem().as_deref(),
            Some("0 exit reports")
        );
        assert_eq!(
            of(vec![Data, ExitStatus(0), Close]).order_problem().as_deref(),
            Some("no EOF before CLOSE")
        );
    }
}
