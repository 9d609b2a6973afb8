//! Sliding-window counter arithmetic.
//!
//! Why this algorithm: every admission is one atomic add to the current
//! window's counter plus a read of the previous one (one script on Redis). Increments
//! never conflict, so there is no compare-and-swap to retry under contention
//! (GCRA needs one per request and would under-admit when retries run out).
//! The usage seen at a moment is the current window's count plus the previous
//! window's count weighted by how much of it still overlaps the last
//! `length` seconds, which smooths the burst a fixed window allows at its
//! boundary.
//!
//! Why it is exact under concurrency: a request adds its amount first and
//! is admitted only if the total it observed (which includes every request
//! that added before it) stays within the limit; a rejected request takes its
//! amount back. The counter therefore never under-counts what was admitted,
//! so no interleaving admits more than the limit.

/// `rl:`, 32 hex, the name, and a window length and index of at most 10
/// and 20 digits with their colons stay well within 255 bytes.
const MAX_NAME_BYTES: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    index: u64,
    length_secs: u32,
}

impl Window {
    pub fn containing(now_millis: u64, length_secs: u32) -> Self {
        let length_secs = length_secs.max(1);
        Self {
            index: now_millis / (u64::from(length_secs) * 1000),
            length_secs,
        }
    }

    pub fn index(self) -> u64 {
        self.index
    }

    pub fn length_secs(self) -> u32 {
        self.length_secs
    }

    pub fn back(self, windows: u64) -> Self {
        Self {
            index: self.index.saturating_sub(windows),
            ..self
        }
    }

    pub fn length_millis(self) -> u64 {
        u64::from(self.length_secs) * 1000
    }

    /// How much of the previous window still lies within the last window
    /// length: its weight in a decision at `now_millis`.
    pub fn previous_overlap_millis(self, now_millis: u64) -> u64 {
        self.length_millis() - self.elapsed_millis(now_millis)
    }

    fn elapsed_millis(self, now_millis: u64) -> u64 {
        now_millis
            .saturating_sub(self.index * self.length_millis())
            .min(self.length_millis())
    }

    pub fn seconds_left(self, now_millis: u64) -> u32 {
        let left = self.length_millis() - self.elapsed_millis(now_millis);
        left.div_ceil(1000).max(1) as u32
    }

    /// Counter key: a digest of the principal, never the identity itself.
    /// The window's length and index come last so a sweep can tell its age.
    /// A counter name (an endpoint class from `rate_limits`) longer than
    /// [`MAX_NAME_BYTES`] is replaced by its digest, so every key stays
    /// within the 255 bytes Fermyon Cloud allows.
    pub fn key(self, principal_digest: &str, counter: &str) -> String {
        let digest;
        let counter = if counter.len() > MAX_NAME_BYTES {
            digest = format!("sha256-{}", &wws_guest::digest::sha256_hex(counter)[..32]);
            digest.as_str()
        } else {
            counter
        };
        format!(
            "rl:{}:{}:{}:{}",
            &principal_digest[..principal_digest.len().min(32)],
            counter,
            self.length_secs,
            self.index
        )
    }
}

/// The two counters a decision reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub previous: u64,
    /// The current window's count, including the amount being admitted.
    pub current: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub allowed: bool,
    pub remaining: u64,
    /// Seconds until the same amount would be admitted; 0 when allowed.
    pub retry_after_secs: u32,
}

/// Decides on `amount` (already added to `counts.current`) at `now_millis`.
pub fn admit(counts: Counts, amount: u64, limit: u64, window: Window, now_millis: u64) -> Outcome {
    let overlap = window.previous_overlap_millis(now_millis);
    let carried = weighted(counts.previous, overlap, window.length_millis());
    let used = counts.current.saturating_add(carried);
    if used <= limit {
        return Outcome {
            allowed: true,
            remaining: limit - used,
            retry_after_secs: 0,
        };
    }
    let before = counts.current.saturating_sub(amount);
    Outcome {
        allowed: false,
        remaining: limit.saturating_sub(before.saturating_add(carried)),
        retry_after_secs: retry_after(counts.previous, before, amount, limit, window, now_millis),
    }
}

/// Rounded up, so a burst straddling a window boundary is never under-counted
/// by a fraction the floor would drop.
fn weighted(count: u64, overlap_millis: u64, length_millis: u64) -> u64 {
    (u128::from(count) * u128::from(overlap_millis)).div_ceil(u128::from(length_millis)) as u64
}

/// The wait until `amount` fits, with no other traffic meanwhile: either
/// later in this window, as the previous window's weight fades, or in the
/// next one, where this window's count becomes the fading one.
fn retry_after(
    previous: u64,
    current: u64,
    amount: u64,
    limit: u64,
    window: Window,
    now_millis: u64,
) -> u32 {
    let length = window.length_millis();
    let elapsed = window.elapsed_millis(now_millis);
    let Some(room) = limit.checked_sub(amount) else {
        // Never fits: the caller reports that the amount itself is too large.
        return window.length_secs;
    };
    // Earliest elapsed time in a window whose previous count is `carried`
    // at which `carried`'s weight has fallen to `room`.
    let fade = |carried: u64, room: u64| -> u64 {
        if carried <= room {
            0
        } else {
            (u128::from(length) * u128::from(carried - room)).div_ceil(u128::from(carried)) as u64
        }
    };
    let wait_millis = match room.checked_sub(current) {
        Some(room_now) => fade(previous, room_now).saturating_sub(elapsed),
        None => (length - elapsed) + fade(current, room),
    };
    wait_millis.div_ceil(1000).max(1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Window = Window {
        index: 10,
        length_secs: 60,
    };
    const START: u64 = 600_000;

    fn at(counts: (u64, u64), amount: u64, limit: u64, millis_in: u64) -> Outcome {
        let counts = Counts {
            previous: counts.0,
            current: counts.1,
        };
        admit(counts, amount, limit, MINUTE, START + millis_in)
    }

    #[test]
    fn admits_exactly_the_limit_in_a_fresh_window() {
        assert!(at((0, 1), 1, 60, 0).allowed);
        let last = at((0, 60), 1, 60, 0);
        assert_eq!((last.allowed, last.remaining), (true, 0));
        let over = at((0, 61), 1, 60, 0);
        assert_eq!((over.allowed, over.remaining), (false, 0));
        // A full window reopens at its end plus one slot's fade (60 s / 60).
        assert_eq!(over.retry_after_secs, 61);
    }

    #[test]
    fn the_previous_window_fades_out() {
        // Half-way through, a full previous window still weighs 30.
        assert!(!at((60, 31), 1, 60, 30_000).allowed);
        let admitted = at((60, 30), 1, 60, 30_000);
        assert_eq!((admitted.allowed, admitted.remaining), (true, 0));
        // Near the end it weighs almost nothing.
        assert!(at((60, 55), 1, 60, 59_000).allowed);
    }

    #[test]
    fn a_burst_across_the_boundary_is_not_over_admitted() {
        // 20 admitted just before the boundary, 10 just after: the limit of 30.
        assert!(at((20, 10), 1, 30, 1).allowed);
        assert!(!at((20, 11), 1, 30, 1).allowed);
    }

    #[test]
    fn retry_after_waits_for_the_fade() {
        // 30 s in, previous 60 weighs 30, current 30: the next slot opens
        // when the weight drops to 29, at 31 s, one second from now.
        assert_eq!(at((60, 31), 1, 60, 30_000).retry_after_secs, 1);
        // Tokens: a 500-token request against 1000 with 900 used now waits
        // for the next window, then until 900's weight is down to 500.
        let tokens = at((0, 1400), 500, 1000, 0);
        assert!(!tokens.allowed);
        assert_eq!(tokens.remaining, 100);
        assert_eq!(tokens.retry_after_secs, 60 + 27);
    }

    #[test]
    fn keys_stay_within_255_bytes_whatever_the_endpoint_name() {
        let window = Window::containing(u64::MAX, u32::MAX);
        let digest = "f".repeat(64);
        let long = format!("/api/{}", "segment/".repeat(100));
        let key = window.key(&digest, &long);
        assert!(key.len() <= 255, "{} bytes", key.len());
        assert_ne!(key, window.key(&digest, &format!("{long}x")));
        let at_limit = "n".repeat(MAX_NAME_BYTES);
        assert!(window.key(&digest, &at_limit).contains(&at_limit));
        assert!(window.key(&digest, &at_limit).len() <= 255);
    }

    #[test]
    fn windows_align_to_their_length() {
        let window = Window::containing(125_000, 60);
        assert_eq!(window.seconds_left(125_000), 55);
        assert_eq!(window.back(1), Window::containing(60_000, 60));
        assert_ne!(window.key("ab", "chat"), window.back(1).key("ab", "chat"));
        assert!(window.key("ab", "/api/ai/chat").ends_with(":60:2"));
    }
}
