//! What one target measured at each load, next to that load's baseline.

use std::time::Duration;

use crate::load::Measured;

/// One target's measurements, phase by phase, with the baseline of each.
pub struct Measurements {
    pub target: String,
    pub phases: Vec<Phase>,
}

pub struct Phase {
    pub rate: Option<u32>,
    pub baseline: Measured,
    pub measured: Measured,
}

impl Phase {
    pub fn overhead_p50(&self) -> f64 {
        self.measured.p50 - self.baseline.p50
    }

    pub fn overhead_p99(&self) -> f64 {
        self.measured.p99 - self.baseline.p99
    }

    /// The offered rate was answered, nearly all of it; concurrency 1 has
    /// no offered rate.
    pub fn kept_up(&self, duration: Duration) -> bool {
        let answered_right = self.measured.requests.saturating_sub(self.measured.errors);
        self.rate.is_none_or(|rate| {
            answered_right as f64 >= 0.95 * f64::from(rate) * duration.as_secs_f64()
        })
    }

    /// Kept up, and answered right (at most one error in a thousand).
    pub fn held(&self, duration: Duration) -> bool {
        self.kept_up(duration) && self.measured.errors * 1000 <= self.measured.requests
    }
}
