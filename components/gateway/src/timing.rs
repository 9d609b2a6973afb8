//! `Server-Timing`: one entry per core function, in milliseconds.

use std::time::Instant;

#[derive(Default)]
pub struct ServerTiming {
    entries: Vec<(&'static str, f64)>,
}

impl ServerTiming {
    /// Runs `stage` and records how long it took under `name`.
    pub fn measure<T>(&mut self, name: &'static str, stage: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let result = stage();
        self.entries
            .push((name, started.elapsed().as_secs_f64() * 1000.0));
        result
    }

    pub fn header_value(&self) -> String {
        self.entries
            .iter()
            .map(|(name, millis)| format!("{name};dur={millis:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_stages_in_order() {
        let mut timing = ServerTiming::default();
        assert_eq!(timing.measure("auth", || 7), 7);
        timing.measure("route", || ());
        let header = timing.header_value();
        assert!(header.starts_with("auth;dur="), "{header}");
        assert!(header.contains(", route;dur="), "{header}");
    }
}
