// sesh patch: receive-window auto-tuning (see SESH_PATCH.md).
//
// russh refills a channel's receive window as data arrives, up to a fixed
// target, so one channel never carries more than target/RTT. This grows a
// channel's own target while the peer keeps the window full, the way
// Linux's TCP receive autotuning ("dynamic right-sizing") grows a socket's
// buffer: measure the bytes that arrive in one round trip and make the
// target four times that, never less than the configured window, never
// more than the cap. Four, not Linux's two: russh tops the window up only
// once half of it has arrived, so a peer can have at most half the target
// in flight per round trip. A window-limited channel thus doubles its
// target every round trip; one limited by something else settles at twice
// the rate it needs.
//
// The round trip is measured without the peer's help: after a
// WINDOW_ADJUST, the first byte beyond the old grant cannot have been sent
// before the adjust reached the peer, so the time until it arrives is at
// least one round trip, and exactly one when the peer was waiting for the
// grant (which is the case that matters). The smallest sample is kept.
//
// Memory is not what the target bounds: data is still refilled on arrival,
// and what the consumer has not taken stays bounded by the channel queue
// (the session loop waits on it) or by the application's own spill.

use std::time::{Duration, Instant};

use log::debug;

/// One channel's tuning state.
#[derive(Debug, Default)]
pub(crate) struct WindowTuner {
    /// The channel's current target window; 0 until first used.
    target: u32,
    /// Bytes of data received on the channel.
    received: u64,
    /// An RTT probe: the grant limit before the last adjust, and when that
    /// adjust was sent.
    probe: Option<(u64, Instant)>,
    /// The smallest RTT sample so far.
    rtt: Option<Duration>,
    /// Start of the current measuring interval and the bytes received then.
    epoch: Option<(Instant, u64)>,
}

impl WindowTuner {
    /// Accounts for `len` bytes that just arrived and returns the channel's
    /// target window: `floor` (the configured window) while tuning is off
    /// (`cap <= floor`) or nothing called for more, at most `cap`.
    pub(crate) fn on_data(&mut self, len: usize, floor: u32, cap: u32) -> u32 {
        self.target = self.target.max(floor);
        if cap <= floor {
            return floor;
        }
        let now = Instant::now();
        self.received += len as u64;
        if let Some((limit, sent)) = self.probe {
            if self.received > limit {
                let sample = now.duration_since(sent);
                self.rtt = Some(self.rtt.map_or(sample, |rtt| rtt.min(sample)));
                self.probe = None;
            }
        }
        let Some(rtt) = self.rtt else {
            return self.target;
        };
        let (start, at) = *self.epoch.get_or_insert((now, self.received));
        let elapsed = now.duration_since(start);
        if elapsed >= rtt {
            let per_rtt =
                u128::from(self.received - at) * rtt.as_nanos() / elapsed.as_nanos().max(1);
            let wanted = (4 * per_rtt).min(u128::from(cap)) as u32;
            if wanted > self.target {
                debug!("channel window target {} -> {wanted} (rtt {rtt:?})", self.target);
            }
            self.target = self.target.max(wanted);
            self.epoch = Some((now, self.received));
        }
        self.target.min(cap)
    }

    /// Notes an adjust sent while `remaining` bytes of the old grant were
    /// still due: the first byte past them times a round trip.
    pub(crate) fn on_adjust(&mut self, remaining: u32) {
        if self.probe.is_none() {
            self.probe = Some((self.received + u64::from(remaining), Instant::now()));
        }
    }
}
