//! Server-sent events, split as they arrive.
//!
//! Providers send one `data:` line per event and a blank line between events;
//! a network read can end anywhere inside one. The splitter hands out whole
//! events only, so a filter never sees half an event, and keeps the rest
//! until the next read completes it.

/// Largest event held back whole. No chat completion chunk comes near it;
/// past it the stream is passed on as it arrives, uninspected, so one huge
/// event can neither grow memory without bound nor hold the client waiting.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Accumulates stream bytes and yields complete events (terminator included).
/// Each byte is scanned once: `scanned` remembers how far the pending bytes
/// are known to hold no terminator.
#[derive(Default)]
pub struct EventSplitter {
    pending: Vec<u8>,
    scanned: usize,
    overflowed: bool,
}

impl EventSplitter {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        if self.overflowed {
            return vec![chunk.to_vec()];
        }
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = event_end(&self.pending, self.scanned) {
            let rest = self.pending.split_off(end);
            events.push(std::mem::replace(&mut self.pending, rest));
            self.scanned = 0;
        }
        // A terminator is at most 4 bytes: its start may be in the last 3.
        self.scanned = self.pending.len().saturating_sub(3);
        if self.pending.len() > MAX_EVENT_BYTES {
            self.overflowed = true;
            events.push(std::mem::take(&mut self.pending));
        }
        events
    }

    /// Whether an event outgrew [`MAX_EVENT_BYTES`]: from then on chunks
    /// pass through as they came and are no longer whole events.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Whatever is left when the stream ends: an unterminated last event.
    pub fn finish(self) -> Vec<u8> {
        self.pending
    }
}

/// Where the first event ends: after a blank line (`\n\n`, `\r\n\r\n` or
/// `\r\r`, the terminators the SSE specification allows), looking from `from`.
fn event_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut index = from;
    while index + 1 < bytes.len() {
        match &bytes[index..] {
            [b'\r', b'\n', b'\r', b'\n', ..] => return Some(index + 4),
            [b'\n', b'\n', ..] | [b'\r', b'\r', ..] => return Some(index + 2),
            _ => index += 1,
        }
    }
    None
}

/// The joined `data:` lines of one event, if it has any.
pub fn data(event: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(event).ok()?;
    let lines: Vec<&str> = text
        .split(['\r', '\n'])
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|value| value.strip_prefix(' ').unwrap_or(value))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// Whether every line of `event` is blank, a comment or a `data:` line: the
/// only lines a chat completion stream carries. `event:`, `id:` or stray
/// text mean the stream is something else (an in-band error, garbage).
pub fn only_data_lines(event: &[u8]) -> bool {
    std::str::from_utf8(event).is_ok_and(|text| {
        text.split(['\r', '\n'])
            .all(|line| line.is_empty() || line.starts_with(':') || line.starts_with("data:"))
    })
}

/// The same for a stream of named events (the Messages API's): `event:`
/// lines are allowed too, `id:`, `retry:` or stray text still are not.
pub fn only_named_data_lines(event: &[u8]) -> bool {
    std::str::from_utf8(event).is_ok_and(|text| {
        text.split(['\r', '\n']).all(|line| {
            line.is_empty()
                || line.starts_with(':')
                || line.starts_with("data:")
                || line.starts_with("event:")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yields_whole_events_across_reads() {
        let mut splitter = EventSplitter::default();
        assert!(splitter.push(b"data: {\"a\"").is_empty());
        let events = splitter.push(b":1}\n\ndata: [DONE]\n");
        assert_eq!(events, vec![b"data: {\"a\":1}\n\n".to_vec()]);
        let events = splitter.push(b"\n");
        assert_eq!(data(&events[0]).as_deref(), Some("[DONE]"));
        assert!(splitter.finish().is_empty());
    }

    #[test]
    fn accepts_every_terminator_and_multi_line_data() {
        let mut splitter = EventSplitter::default();
        let events = splitter.push(b"data: a\r\ndata: b\r\n\r\nevent: x\rdata:c\r\rtail");
        assert_eq!(events.len(), 2);
        assert_eq!(data(&events[0]).as_deref(), Some("a\nb"));
        assert_eq!(data(&events[1]).as_deref(), Some("c"));
        assert_eq!(splitter.finish(), b"tail");
        assert_eq!(data(b": comment\n\n"), None);
    }

    #[test]
    fn a_huge_event_is_bounded_then_passed_through() {
        let mut splitter = EventSplitter::default();
        let mut passed = 0;
        // 24 MiB in 4 KiB reads with no blank line: quadratic rescans took
        // seconds; held whole it would take 24 MiB.
        let chunk = vec![b'x'; 4096];
        for _ in 0..(24 * 256) {
            passed += splitter.push(&chunk).iter().map(Vec::len).sum::<usize>();
        }
        assert!(splitter.overflowed());
        assert_eq!(passed, 24 * 1024 * 1024, "every byte passes on");
    }

    #[test]
    fn a_terminator_split_across_reads_is_found() {
        let mut splitter = EventSplitter::default();
        assert!(splitter.push(b"data: a\r\n").is_empty());
        assert!(splitter.push(b"\r").is_empty());
        assert_eq!(
            splitter.push(b"\ndata: b"),
            vec![b"data: a\r\n\r\n".to_vec()]
        );
    }

    #[test]
    fn tells_data_events_from_other_lines() {
        assert!(only_data_lines(b"data: {}\n\n"));
        assert!(only_data_lines(b": keep-alive\r\n\r\n"));
        assert!(!only_data_lines(b"event: error\ndata: {}\n\n"));
        assert!(!only_data_lines(b"garbage\n\n"));
        assert!(!only_data_lines(b"data: \xff\n\n"));
        assert!(only_named_data_lines(b"event: ping\ndata: {}\n\n"));
        assert!(!only_named_data_lines(b"id: 4\ndata: {}\n\n"));
        assert!(!only_named_data_lines(b"garbage\n\n"));
    }
}
