//! Two counts in one counter: requests in the low bits, tokens above them.
//!
//! Why: Spin's SQLite store makes every increment a write transaction of
//! its own, synced to disk, under one lock for the whole app. An AI request
//! that charges its request and its tokens to one counter costs one such
//! write instead of two. Decoding is plain two's-complement arithmetic, so
//! a settlement that briefly takes a token count below zero still leaves
//! the request count intact.

/// Requests a counter can hold per window; a limit above it is held to it.
pub const MAX_REQUESTS: u64 = (1 << REQUEST_BITS) - 1;

/// Tokens a counter can hold per window (about 5.5 * 10^11), within the 63
/// value bits of an `i64` above the requests.
pub const MAX_TOKENS: u64 = (1 << (63 - REQUEST_BITS)) - 1;

const REQUEST_BITS: u32 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Requests,
    Tokens,
}

impl Lane {
    pub fn max(self) -> u64 {
        match self {
            Lane::Requests => MAX_REQUESTS,
            Lane::Tokens => MAX_TOKENS,
        }
    }

    /// `amount` in this lane, as a counter delta (negative to take back).
    pub fn delta(self, amount: i64) -> i64 {
        match self {
            Lane::Requests => amount,
            Lane::Tokens => amount.saturating_mul(1 << REQUEST_BITS),
        }
    }

    /// This lane's count in a counter's value; below zero counts as none.
    pub fn count(self, value: i64) -> u64 {
        let count = match self {
            Lane::Requests => value & MAX_REQUESTS as i64,
            Lane::Tokens => value >> REQUEST_BITS,
        };
        count.max(0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_lanes_round_trip_at_their_limits() {
        for (requests, tokens) in [
            (0, 0),
            (1, 0),
            (0, 1),
            (MAX_REQUESTS, MAX_TOKENS),
            (60, 1_500_000),
        ] {
            let value = Lane::Requests.delta(requests as i64) + Lane::Tokens.delta(tokens as i64);
            assert_eq!(Lane::Requests.count(value), requests);
            assert_eq!(Lane::Tokens.count(value), tokens);
        }
    }

    #[test]
    fn taking_tokens_back_leaves_the_requests() {
        let held = Lane::Requests.delta(3) + Lane::Tokens.delta(1000);
        let settled = held + Lane::Tokens.delta(-1000 + 250);
        assert_eq!(
            (Lane::Requests.count(settled), Lane::Tokens.count(settled)),
            (3, 250)
        );
        // A settlement on a counter that expired meanwhile goes below zero.
        let orphan = Lane::Tokens.delta(-700);
        assert_eq!(
            (Lane::Requests.count(orphan), Lane::Tokens.count(orphan)),
            (0, 0)
        );
        let next = orphan + Lane::Requests.delta(2);
        assert_eq!(Lane::Requests.count(next), 2);
    }
}
