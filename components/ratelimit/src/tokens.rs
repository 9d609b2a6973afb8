//! Token budgets: the holds a request's estimate takes against the
//! principal's per-minute and per-day budgets, charged together (all held
//! or none), and the decision the gateway gets back.
//!
//! The minute's hold rides on the request's own counter when its endpoint
//! class counts per minute (the default for every class), so an AI request
//! adds to one counter for both, one write on Spin's store. The budget is
//! then judged over the principal's every per-minute class counter and one
//! of its own, which holds the tokens of classes counted over other windows.
//! The day's budget has a counter of its own.

use crate::bindings::exports::mylder::wws::ratelimit::{Reservation, TokenDecision, Verdict};
use crate::counter::{Charging, Counter};
use crate::lanes::Lane;
use crate::policy::Limits;
use crate::window::Outcome;

const MINUTE_SECS: u32 = 60;
const DAY_SECS: u32 = 86_400;

/// One budget that applies, with the charge it takes.
pub struct Budget {
    pub name: &'static str,
    pub charging: Charging,
}

/// The budgets set for a principal (a budget that is `null` is off), each
/// charged `estimate`; `request` is the counter the request itself is
/// charged to.
pub fn budgets(
    limits: &Limits,
    principal_digest: &str,
    request: &Counter,
    estimate: u64,
    now_millis: u64,
) -> Vec<Budget> {
    let own = |window_secs| Counter::new(principal_digest, "tokens", window_secs, now_millis);
    let mut budgets = Vec::new();
    if let Some(limit) = limits.tokens.per_minute {
        let carrier = if request.window.length_secs() == MINUTE_SECS {
            request.clone()
        } else {
            own(MINUTE_SECS)
        };
        let shared_with = limits
            .rules()
            .filter(|rule| rule.window_secs == MINUTE_SECS)
            .map(|rule| Counter::new(principal_digest, &rule.name, MINUTE_SECS, now_millis))
            .chain(std::iter::once(own(MINUTE_SECS)))
            .filter(|counter| counter.key != carrier.key)
            .collect();
        budgets.push(Budget {
            name: "tokens-per-minute",
            charging: Charging {
                counter: carrier,
                lane: Lane::Tokens,
                amount: estimate,
                limit,
                shared_with,
            },
        });
    }
    if let Some(limit) = limits.tokens.per_day {
        budgets.push(Budget {
            name: "tokens-per-day",
            charging: Charging {
                counter: own(DAY_SECS),
                lane: Lane::Tokens,
                amount: estimate,
                limit,
                shared_with: Vec::new(),
            },
        });
    }
    budgets
}

/// What the budgets' outcomes (one per budget, in order) mean for the
/// request. Admitted, the decision names the tightest budget and carries
/// the reservation to settle; refused, the first budget that did not fit.
pub fn decide(
    budgets: &[Budget],
    outcomes: &[Outcome],
    estimate: u64,
    now_millis: u64,
) -> TokenDecision {
    let decisions: Vec<TokenDecision> = budgets
        .iter()
        .zip(outcomes)
        .map(|(budget, outcome)| TokenDecision {
            verdict: if outcome.allowed {
                Verdict::Admitted
            } else {
                Verdict::Limited
            },
            budget: budget.name.into(),
            limit: budget.charging.limit,
            remaining: outcome.remaining,
            reset_secs: budget.charging.counter.window.seconds_left(now_millis),
            retry_after_secs: outcome.retry_after_secs,
            reservation: None,
        })
        .collect();
    if let Some(refused) = decisions
        .iter()
        .find(|decision| decision.verdict == Verdict::Limited)
    {
        return refused.clone();
    }
    let reservation = Reservation {
        tokens: estimate,
        counters: budgets
            .iter()
            .map(|budget| budget.charging.counter.key.clone())
            .collect(),
    };
    match decisions
        .into_iter()
        .min_by_key(|decision| decision.remaining)
    {
        Some(tightest) => TokenDecision {
            reservation: Some(reservation),
            ..tightest
        },
        None => unbudgeted(reservation),
    }
}

/// No budget applies: admitted, with an empty reservation to settle.
pub fn unbudgeted(reservation: Reservation) -> TokenDecision {
    TokenDecision {
        verdict: Verdict::Admitted,
        budget: "none".into(),
        limit: u64::MAX,
        remaining: u64::MAX,
        reset_secs: 0,
        retry_after_secs: 0,
        reservation: Some(reservation),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policies;

    const NOW: u64 = 20_000 * 86_400_000 + 59_999;

    fn limits(json: &str) -> Limits {
        Policies::from_json(json)
            .expect("policy")
            .for_role("user")
            .clone()
    }

    #[test]
    fn the_minute_rides_on_a_per_minute_request_counter_and_sees_every_class() {
        let limits =
            limits(r#"{"/v1/a": 5, "/v1/b": 5, "tokens": {"per_minute": 1000, "per_day": 9000}}"#);
        let request = Counter::new("abc", "/v1/a", 60, NOW);
        let budgets = budgets(&limits, "abc", &request, 10, NOW);
        let names: Vec<&str> = budgets.iter().map(|budget| budget.name).collect();
        assert_eq!(names, ["tokens-per-minute", "tokens-per-day"]);
        let minute = &budgets[0].charging;
        assert_eq!(minute.counter.key, request.key);
        let shared: Vec<&str> = minute.shared_with.iter().map(|c| c.key.as_str()).collect();
        assert!(shared.contains(&Counter::new("abc", "/v1/b", 60, NOW).key.as_str()));
        assert!(shared.contains(&Counter::new("abc", "tokens", 60, NOW).key.as_str()));
        assert!(!shared.contains(&request.key.as_str()));
        assert!(budgets[1].charging.shared_with.is_empty());
    }

    #[test]
    fn a_class_over_another_window_holds_the_minute_on_the_principals_counter() {
        let limits = limits(r#"{"/v1/slow": {"requests": 5, "window_secs": 3600}}"#);
        let request = Counter::new("abc", "/v1/slow", 3600, NOW);
        let budgets = budgets(&limits, "abc", &request, 10, NOW);
        let minute = &budgets[0].charging;
        assert_eq!(
            minute.counter.key,
            Counter::new("abc", "tokens", 60, NOW).key
        );
        assert!(
            minute
                .shared_with
                .iter()
                .all(|counter| counter.window.length_secs() == 60)
        );
    }
}
