//! The comparison's output: the side-by-side table, each peer's overheads as
//! multiples of WWS's (the first target), the raw numbers behind them, and
//! the same as JSON.

use std::time::Duration;

use serde_json::{Value, json};

use super::phase::{Measurements, Phase};
use crate::load::label;

/// `+p50 / +p99`, with the rate actually served where it fell behind and
/// the failures where there were any.
fn cell(phase: &Phase, duration: Duration) -> String {
    let overhead = format!(
        "{:+.2} / {:+.1}",
        phase.overhead_p50(),
        phase.overhead_p99()
    );
    let errors = phase.measured.errors;
    if !phase.kept_up(duration) {
        format!("saturated at ~{:.0} rps ({overhead})", phase.measured.rps)
    } else if errors > 0 {
        format!("{overhead}, {errors} failed")
    } else {
        overhead
    }
}

/// A peer's overhead as a multiple of WWS's: meaningless where either fell
/// behind the rate (queueing, not overhead) or where WWS's own is within
/// noise of zero.
fn ratio(peer: f64, wws: f64) -> String {
    if wws > 0.005 {
        format!("{:.1}x", peer / wws)
    } else {
        "n/a".into()
    }
}

fn ratios(peer: &Phase, wws: &Phase, duration: Duration) -> String {
    if !peer.kept_up(duration) || !wws.kept_up(duration) {
        return "saturated".into();
    }
    format!(
        "{} / {}",
        ratio(peer.overhead_p50(), wws.overhead_p50()),
        ratio(peer.overhead_p99(), wws.overhead_p99())
    )
}

pub fn print(all: &[Measurements], duration: Duration) {
    let Some(first) = all.first() else {
        return;
    };
    let loads: Vec<String> = first.phases.iter().map(|phase| label(phase.rate)).collect();
    println!(
        "\n| target (overhead over direct-to-mock, ms: +p50 / +p99) | {} | held {} |",
        loads.join(" | "),
        loads.last().map_or("", String::as_str)
    );
    println!("|---|{}---|", "---|".repeat(loads.len()));
    for target in all {
        let cells: Vec<String> = target
            .phases
            .iter()
            .map(|phase| cell(phase, duration))
            .collect();
        let held = target
            .phases
            .last()
            .is_some_and(|phase| phase.held(duration));
        println!(
            "| {} | {} | {} |",
            target.target,
            cells.join(" | "),
            if held { "yes" } else { "no" }
        );
    }

    println!(
        "\n| overhead as a multiple of {}'s (+p50 / +p99) | {} |",
        first.target,
        loads.join(" | ")
    );
    println!("|---|{}", "---|".repeat(loads.len()));
    for target in &all[1..] {
        let cells: Vec<String> = target
            .phases
            .iter()
            .zip(&first.phases)
            .map(|(peer, wws)| ratios(peer, wws, duration))
            .collect();
        println!("| {} | {} |", target.target, cells.join(" | "));
    }

    println!(
        "\n| target | load | p50 ms | p99 ms | baseline p50 | baseline p99 | rps | requests | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for target in all {
        for phase in &target.phases {
            let (m, b) = (&phase.measured, &phase.baseline);
            println!(
                "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} | {} | {} |",
                target.target,
                label(phase.rate),
                m.p50,
                m.p99,
                b.p50,
                b.p99,
                m.rps,
                m.requests,
                m.errors
            );
        }
    }
}

pub fn to_json(all: &[Measurements], duration: Duration) -> Value {
    json!(
        all.iter()
            .map(|target| json!({
                "target": target.target,
                "phases": target.phases.iter().map(|phase| json!({
                    "load": label(phase.rate),
                    "baseline": phase.baseline,
                    "measured": phase.measured,
                    "overhead_p50": phase.overhead_p50(),
                    "overhead_p99": phase.overhead_p99(),
                    "held": phase.held(duration),
                })).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Measured;

    fn measured(p50: f64, p99: f64, requests: u64, errors: u64) -> Measured {
        Measured {
            p50,
            p90: p99,
            p99,
            rps: requests as f64 / 8.0,
            requests,
            errors,
        }
    }

    fn phase(rate: Option<u32>, requests: u64, errors: u64) -> Phase {
        Phase {
            rate,
            baseline: measured(0.2, 0.5, requests, 0),
            measured: measured(1.2, 3.5, requests, errors),
        }
    }

    const EIGHT_SECONDS: Duration = Duration::from_secs(8);

    #[test]
    fn a_rate_is_held_when_nearly_all_of_it_is_answered_right() {
        assert!(phase(Some(200), 1600, 0).held(EIGHT_SECONDS));
        assert!(phase(Some(200), 1530, 1).held(EIGHT_SECONDS));
        assert!(!phase(Some(200), 1500, 0).held(EIGHT_SECONDS));
        assert!(!phase(Some(200), 1600, 2).held(EIGHT_SECONDS));
    }

    #[test]
    fn concurrency_one_keeps_up_and_shows_its_failures() {
        assert!(phase(None, 3, 0).held(EIGHT_SECONDS));
        assert!(!phase(None, 3000, 4).held(EIGHT_SECONDS));
        assert_eq!(cell(&phase(None, 3, 0), EIGHT_SECONDS), "+1.00 / +3.0");
        assert_eq!(
            cell(&phase(None, 3000, 4), EIGHT_SECONDS),
            "+1.00 / +3.0, 4 failed"
        );
    }

    #[test]
    fn a_saturated_rate_shows_what_was_served() {
        let served = phase(Some(1000), 880, 0);
        assert_eq!(
            cell(&served, EIGHT_SECONDS),
            "saturated at ~110 rps (+1.00 / +3.0)"
        );
        assert_eq!(
            cell(&phase(Some(100), 800, 0), EIGHT_SECONDS),
            "+1.00 / +3.0"
        );
    }

    #[test]
    fn ratios_are_not_taken_of_queueing() {
        let kept_up = phase(Some(100), 800, 0);
        let fell_behind = phase(Some(1000), 880, 0);
        assert_eq!(ratios(&kept_up, &kept_up, EIGHT_SECONDS), "1.0x / 1.0x");
        assert_eq!(ratios(&fell_behind, &kept_up, EIGHT_SECONDS), "saturated");
        assert_eq!(ratios(&kept_up, &fell_behind, EIGHT_SECONDS), "saturated");
    }

    #[test]
    fn ratios_need_a_measurable_wws_overhead() {
        assert_eq!(ratio(3.0, 1.0), "3.0x");
        assert_eq!(ratio(3.0, 0.0), "n/a");
        assert_eq!(ratio(3.0, -0.2), "n/a");
    }
}
