//! Fixed-window arithmetic: which window a moment falls in, and admission.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    index: u64,
    length_secs: u32,
}

impl Window {
    pub fn containing(now_secs: u64, length_secs: u32) -> Self {
        let length_secs = length_secs.max(1);
        Self {
            index: now_secs / u64::from(length_secs),
            length_secs,
        }
    }

    pub fn previous(self) -> Self {
        Self {
            index: self.index.saturating_sub(1),
            ..self
        }
    }

    pub fn seconds_left(self, now_secs: u64) -> u32 {
        let end = (self.index + 1) * u64::from(self.length_secs);
        end.saturating_sub(now_secs).max(1) as u32
    }

    /// Counter key: digests only, so no identity appears in the store.
    pub fn key(self, principal_digest: &str, policy: &str) -> String {
        format!(
            "rl:{}:{}:{}:{}",
            &principal_digest[..principal_digest.len().min(32)],
            policy,
            self.length_secs,
            self.index
        )
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    pub allowed: bool,
    pub remaining: u32,
}

/// `count` is this request's position in the window (1-based).
pub fn admit(count: i64, limit: u32) -> Outcome {
    let allowed = count <= i64::from(limit);
    let used = count.clamp(0, i64::from(limit)) as u32;
    Outcome {
        allowed,
        remaining: limit - used,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_exactly_limit_requests() {
        assert_eq!(
            admit(1, 60),
            Outcome {
                allowed: true,
                remaining: 59
            }
        );
        assert_eq!(
            admit(60, 60),
            Outcome {
                allowed: true,
                remaining: 0
            }
        );
        assert_eq!(
            admit(61, 60),
            Outcome {
                allowed: false,
                remaining: 0
            }
        );
    }

    #[test]
    fn windows_align_to_their_length() {
        let window = Window::containing(125, 60);
        assert_eq!(window.seconds_left(125), 55);
        assert_eq!(window.previous(), Window::containing(60, 60));
        assert_ne!(
            window.key("ab", "chat"),
            window.previous().key("ab", "chat")
        );
    }
}
