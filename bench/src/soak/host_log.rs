//! Reading the host's stderr after the soak.

use std::path::Path;

use serde::Serialize;

/// How wws-host starts a line for each platform quota exceeded.
const QUOTA_BREACH: &str = "wws-host: platform quota exceeded:";

/// The host's stderr: the gateway's JSON access log, and anything else
/// (warnings, errors, or access records torn apart by concurrent writes).
#[derive(Default, Serialize)]
pub struct HostLog {
    pub lines: usize,
    /// `wws-host --platform` lines saying a platform quota was exceeded.
    pub quota_breaches: usize,
    pub not_json: usize,
    pub not_json_samples: Vec<String>,
}

impl HostLog {
    pub fn read(path: &Path) -> Self {
        let mut log = Self::default();
        let Ok(text) = std::fs::read_to_string(path) else {
            return log;
        };
        for line in text.lines() {
            log.lines += 1;
            if line.starts_with(QUOTA_BREACH) {
                log.quota_breaches += 1;
            }
            if serde_json::from_str::<serde::de::IgnoredAny>(line).is_err() {
                log.not_json += 1;
                if log.not_json_samples.len() < 5 {
                    log.not_json_samples.push(line.chars().take(300).collect());
                }
            }
        }
        log
    }
}
