//! Token budgets: the holds a request's estimate takes against the
//! principal's per-minute and per-day budgets, charged together (all held
//! or none), and the decision the gateway gets back.

use wws_guest::kv::{Counters, Kv, KvError};

use crate::bindings::exports::mylder::wws::ratelimit::{Reservation, TokenDecision, Verdict};
use crate::counter::{self, Charging, Counter};
use crate::policy::TokenBudgets;

const MINUTE_SECS: u32 = 60;
const DAY_SECS: u32 = 86_400;

/// One budget that applies, with the counter it is held on.
pub struct Budget {
    pub name: &'static str,
    pub limit: u64,
    pub counter: Counter,
}

/// The budgets set for a principal (a budget that is `null` is off).
pub fn budgets(tokens: &TokenBudgets, principal_digest: &str, now_millis: u64) -> Vec<Budget> {
    [
        ("tokens-per-minute", tokens.per_minute, MINUTE_SECS),
        ("tokens-per-day", tokens.per_day, DAY_SECS),
    ]
    .into_iter()
    .filter_map(|(name, limit, window_secs)| {
        Some(Budget {
            name,
            limit: limit?,
            counter: Counter::new(principal_digest, "tokens", window_secs, now_millis),
        })
    })
    .collect()
}

/// Holds `estimate` on every budget or on none. Admitted, the decision
/// names the tightest budget and carries the reservation to settle;
/// refused, the budget that did not fit.
pub fn reserve<S: Kv>(
    counters: &impl Counters,
    store: impl FnOnce() -> Result<S, KvError>,
    budgets: Vec<Budget>,
    estimate: u64,
    now_millis: u64,
) -> Result<TokenDecision, KvError> {
    let charges: Vec<Charging> = budgets
        .iter()
        .map(|budget| Charging {
            counter: &budget.counter,
            amount: estimate,
            limit: budget.limit,
        })
        .collect();
    let admission = counter::charge_all(counters, store, &charges, now_millis)?;
    let mut decisions: Vec<TokenDecision> = budgets
        .iter()
        .zip(admission.outcomes)
        .map(|(budget, outcome)| TokenDecision {
            verdict: if outcome.allowed {
                Verdict::Admitted
            } else {
                Verdict::Limited
            },
            budget: budget.name.into(),
            limit: budget.limit,
            remaining: outcome.remaining,
            reset_secs: budget.counter.window.seconds_left(now_millis),
            retry_after_secs: outcome.retry_after_secs,
            reservation: None,
        })
        .collect();
    if !admission.admitted {
        return decisions
            .pop()
            .ok_or_else(|| KvError::Store("a refused charge came back without its counts".into()));
    }
    let reservation = Reservation {
        tokens: estimate,
        counters: budgets
            .into_iter()
            .map(|budget| budget.counter.key)
            .collect(),
    };
    Ok(
        match decisions
            .into_iter()
            .min_by_key(|decision| decision.remaining)
        {
            Some(tightest) => TokenDecision {
                reservation: Some(reservation),
                ..tightest
            },
            None => unbudgeted(reservation),
        },
    )
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
    use wws_guest::kv::{CountersOnKv, MemoryKv};

    use super::*;

    /// The last millisecond of a minute, 20,000 days in: the previous
    /// minute weighs nothing and the previous day held nothing.
    const NOW: u64 = 20_000 * 86_400_000 + 59_999;

    fn reserve_on(
        counters: &CountersOnKv<MemoryKv>,
        per_minute: Option<u64>,
        per_day: Option<u64>,
        estimate: u64,
    ) -> TokenDecision {
        let tokens = TokenBudgets {
            per_minute,
            per_day,
        };
        let store = || Ok::<_, KvError>(counters.store());
        reserve(counters, store, budgets(&tokens, "abc", NOW), estimate, NOW).expect("reserve")
    }

    #[test]
    fn a_single_budget_is_named_with_its_limit_and_held() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let first = reserve_on(&counters, Some(1000), None, 400);
        assert_eq!(first.verdict, Verdict::Admitted);
        assert_eq!(
            (first.budget.as_str(), first.limit, first.remaining),
            ("tokens-per-minute", 1000, 600)
        );
        let held = first.reservation.expect("a reservation");
        assert_eq!((held.tokens, held.counters.len()), (400, 1));
        assert_eq!(reserve_on(&counters, Some(1000), None, 400).remaining, 200);
        let refused = reserve_on(&counters, Some(1000), None, 400);
        assert_eq!(refused.verdict, Verdict::Limited);
        assert!(refused.reservation.is_none());
        assert!(refused.retry_after_secs >= 1);
    }

    #[test]
    fn the_tightest_budget_decides_and_a_refusal_holds_nothing() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let first = reserve_on(&counters, Some(1000), Some(500), 300);
        assert_eq!(
            (first.budget.as_str(), first.remaining),
            ("tokens-per-day", 200)
        );
        let refused = reserve_on(&counters, Some(1000), Some(500), 300);
        assert_eq!(
            (refused.verdict, refused.budget.as_str()),
            (Verdict::Limited, "tokens-per-day")
        );
        let minute = Counter::new("abc", "tokens", MINUTE_SECS, NOW);
        assert_eq!(
            counters.counter(&minute.key).expect("read"),
            300,
            "the minute's hold was taken back with the day's"
        );
    }

    #[test]
    fn without_budgets_everything_is_admitted() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let open = reserve_on(&counters, None, None, 10_000);
        assert_eq!((open.verdict, open.limit), (Verdict::Admitted, u64::MAX));
        assert!(open.reservation.expect("reservation").counters.is_empty());
    }
}
