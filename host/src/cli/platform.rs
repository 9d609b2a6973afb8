//! What `up` and `check` say about `--platform`: one banner line naming the
//! platform and its quotas, and, at the end, how often each was exceeded.

use std::fmt::Write;

use wws_host::Platform;
use wws_host::platform::{Quota, Quotas};

/// `platform  akamai (Akamai Functions): no wasi:keyvalue/atomics; quotas ...`.
pub fn banner_line(platform: Platform) -> String {
    let spec = platform.spec();
    let mut line = format!("  {:<10} {platform} ({})", "platform", spec.title);
    let missing: Vec<&str> = wws_host::platform::HostInterface::ALL
        .iter()
        .filter(|interface| !platform.provides(**interface))
        .map(|interface| interface.name())
        .collect();
    if !missing.is_empty() {
        let _ = write!(line, "; without {}", missing.join(", "));
    }
    let quotas = enforced(&spec.quotas);
    if !quotas.is_empty() {
        let _ = write!(line, "; quotas: {quotas}");
    }
    line
}

fn enforced(quotas: &Quotas) -> String {
    Quota::ALL
        .iter()
        .filter_map(|quota| Some(format!("{quota} {}", quotas.limit(*quota)?)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line counting each quota exceeded during the run, if any was.
pub fn breach_summary(server: &wws_host::Server) -> Option<String> {
    summarise(server.platform(), &server.quota_breaches())
}

fn summarise(platform: Platform, breaches: &[(Quota, u64)]) -> Option<String> {
    if breaches.is_empty() {
        return None;
    }
    let counts = breaches
        .iter()
        .map(|(quota, count)| format!("{quota} {count}x"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "wws-host: {} quotas were exceeded during this run: {counts}",
        platform.spec().title
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_names_what_is_missing_and_the_quotas() {
        let line = banner_line(Platform::Akamai);
        assert!(line.contains("akamai (Akamai Functions)"), "{line}");
        assert!(
            line.contains("without wasi:keyvalue/atomics@0.2.0-draft2"),
            "{line}"
        );
        assert!(line.contains("key-value writes per second 50"), "{line}");
        assert!(line.contains("handler duration 30s"), "{line}");
        let spin = banner_line(Platform::Spin);
        assert!(
            !spin.contains("without") && !spin.contains("quotas"),
            "{spin}"
        );
    }

    #[test]
    fn the_summary_counts_each_quota_and_is_not_a_breach_line() {
        assert_eq!(summarise(Platform::Akamai, &[]), None);
        let summary = summarise(
            Platform::Akamai,
            &[(Quota::KvWritesPerSecond, 3), (Quota::HandlerDuration, 1)],
        )
        .expect("a summary");
        assert_eq!(
            summary,
            "wws-host: Akamai Functions quotas were exceeded during this run: \
             key-value writes per second 3x, handler duration 1x"
        );
        assert!(!summary.starts_with(wws_host::platform::BREACH_PREFIX));
    }
}
