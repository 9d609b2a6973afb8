//! One request's admission: the request against its endpoint class's limit
//! and, for an AI request, its tokens against the budgets, charged in one
//! round trip to the counters.

use wws_guest::kv::{Counters, Kv, KvError};

use crate::bindings::exports::mylder::wws::ratelimit::{
    Admission, Decision, Reservation, TokenDecision, Verdict,
};
use crate::counter::{Charging, Counter, charge_stages};
use crate::lanes::Lane;
use crate::policy::{Limits, Rule};
use crate::tokens;
use crate::window::Outcome;

/// What is charged for one request, before it is.
pub struct Request<'a> {
    pub limits: &'a Limits,
    pub principal_digest: &'a str,
    pub path: &'a str,
    /// The tokens to hold, for a request that will reach a provider.
    pub tokens: Option<u64>,
    pub now_millis: u64,
}

/// Charges the request, then its tokens: a request over its limit holds
/// nothing; tokens over a budget are taken back while the request stays
/// counted, so a client retrying without room still spends its requests.
///
/// Tokens refused are tried once more, alone: in a burst, requests that
/// their own limit turns down add their tokens before they take them back,
/// and a budget judged in between would refuse tokens that fit. A retry
/// never over-admits (it adds before it judges, like the first try); it
/// costs two more additions, only on the way to a refusal.
pub fn admit<K: Kv>(
    counters: &impl Counters,
    store: impl Fn() -> Result<K, KvError>,
    request: &Request,
) -> Result<Admission, KvError> {
    let rule = request.limits.for_path(request.path);
    let counter = Counter::new(
        request.principal_digest,
        &rule.name,
        rule.window_secs,
        request.now_millis,
    );
    let budgets = request.tokens.map(|estimate| {
        let budgets = tokens::budgets(
            request.limits,
            request.principal_digest,
            &counter,
            estimate,
            request.now_millis,
        );
        (estimate, budgets)
    });
    let charging = Charging {
        counter: counter.clone(),
        lane: Lane::Requests,
        amount: 1,
        limit: u64::from(rule.limit),
        shared_with: Vec::new(),
    };
    let token_charges = budgets
        .iter()
        .flat_map(|(_, budgets)| budgets.iter().map(|budget| budget.charging.clone()))
        .collect();
    let stages = [vec![charging], token_charges];
    let outcomes = charge_stages(counters, &store, &stages, request.now_millis)?;
    let [requests, mut token_outcomes] = <[Vec<Outcome>; 2]>::try_from(outcomes)
        .map_err(|_| KvError::Store("a charge came back without its counts".into()))?;
    let requested = requests
        .first()
        .copied()
        .ok_or_else(|| KvError::Store("a charge came back without its counts".into()))?;
    let tokens_refused = token_outcomes.iter().any(|outcome| !outcome.allowed);
    if requested.allowed && tokens_refused {
        let retry = std::slice::from_ref(&stages[1]);
        if let Some(again) = charge_stages(counters, &store, retry, request.now_millis)?.pop() {
            token_outcomes = again;
        }
    }
    let decision = decision(rule, &counter, requested, request.now_millis);
    let tokens = budgets
        .filter(|_| requested.allowed)
        .map(|(estimate, budgets)| match budgets.is_empty() {
            true => tokens::unbudgeted(Reservation {
                tokens: estimate,
                counters: Vec::new(),
            }),
            false => tokens::decide(&budgets, &token_outcomes, estimate, request.now_millis),
        });
    Ok(Admission { decision, tokens })
}

/// What a request gets when the counters failed: `verdict`, which the
/// store policy chose, with nothing counted.
pub fn without_counters(request: &Request, verdict: Verdict) -> Admission {
    let rule = request.limits.for_path(request.path);
    let counter = Counter::new(
        request.principal_digest,
        &rule.name,
        rule.window_secs,
        request.now_millis,
    );
    let limit = u64::from(rule.limit);
    let unlimited = Outcome {
        allowed: true,
        remaining: limit,
        retry_after_secs: 0,
    };
    let decision = Decision {
        verdict,
        ..decision(rule, &counter, unlimited, request.now_millis)
    };
    let tokens = request.tokens.map(|estimate| {
        let reservation = Reservation {
            tokens: estimate,
            counters: Vec::new(),
        };
        TokenDecision {
            verdict,
            reservation: (verdict == Verdict::Admitted).then(|| reservation.clone()),
            ..tokens::unbudgeted(reservation)
        }
    });
    Admission { decision, tokens }
}

fn decision(rule: &Rule, counter: &Counter, outcome: Outcome, now_millis: u64) -> Decision {
    let limit = u64::from(rule.limit);
    Decision {
        verdict: if outcome.allowed {
            Verdict::Admitted
        } else {
            Verdict::Limited
        },
        limit: rule.limit,
        remaining: outcome.remaining.min(limit) as u32,
        reset_secs: counter.window.seconds_left(now_millis),
        window_secs: rule.window_secs,
        retry_after_secs: outcome.retry_after_secs,
        policy: rule.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use wws_guest::kv::{Addition, CountersOnKv, MemoryKv};

    use super::*;
    use crate::policy::Policies;

    /// The last millisecond of a minute, 20,000 days in: the previous
    /// minute weighs nothing and the previous day held nothing.
    const NOW: u64 = 20_000 * 86_400_000 + 59_999;

    fn limits(json: &str) -> Limits {
        Policies::from_json(json)
            .expect("policy")
            .for_role("user")
            .clone()
    }

    fn admit_on(
        counters: &CountersOnKv<MemoryKv>,
        limits: &Limits,
        path: &str,
        tokens: Option<u64>,
    ) -> Admission {
        let request = Request {
            limits,
            principal_digest: "abc",
            path,
            tokens,
            now_millis: NOW,
        };
        admit(counters, || Ok::<_, KvError>(counters.store()), &request).expect("admit")
    }

    /// The counters, with what each `add_then_read` asked of them.
    struct Recording<'a> {
        inner: &'a CountersOnKv<MemoryKv>,
        calls: RefCell<Vec<(usize, usize)>>,
    }

    impl Counters for Recording<'_> {
        fn add_then_read(
            &self,
            additions: &[Addition],
            keys: &[String],
        ) -> Result<Vec<i64>, KvError> {
            self.calls.borrow_mut().push((additions.len(), keys.len()));
            self.inner.add_then_read(additions, keys)
        }
        fn add(&self, key: &str, delta: i64, ttl_secs: u32) -> Result<i64, KvError> {
            self.inner.add(key, delta, ttl_secs)
        }
        fn read(&self, keys: &[String]) -> Result<Vec<i64>, KvError> {
            self.inner.read(keys)
        }
        fn claim(&self, key: &str, ttl_secs: u32) -> Result<bool, KvError> {
            self.inner.claim(key, ttl_secs)
        }
        fn record(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
            self.inner.record(key)
        }
        fn compare_and_set(
            &self,
            key: &str,
            expected: Option<&[u8]>,
            value: &[u8],
            ttl_secs: u32,
        ) -> Result<bool, KvError> {
            self.inner.compare_and_set(key, expected, value, ttl_secs)
        }
        fn remove(&self, keys: &[String]) -> Result<(), KvError> {
            self.inner.remove(keys)
        }
        fn forgets(&self) -> bool {
            self.inner.forgets()
        }
    }

    #[test]
    fn an_ai_request_and_its_minute_tokens_are_one_addition() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let limits = limits(r#"{"/v1/chat": 10, "tokens": {"per_minute": 1000}}"#);
        admit_on(&counters, &limits, "/v1/chat", Some(100));
        let recording = Recording {
            inner: &counters,
            calls: RefCell::new(Vec::new()),
        };
        let request = Request {
            limits: &limits,
            principal_digest: "abc",
            path: "/v1/chat",
            tokens: Some(100),
            now_millis: NOW,
        };
        let admitted =
            admit(&recording, || Ok::<_, KvError>(counters.store()), &request).expect("admit");
        assert_eq!(admitted.decision.remaining, 8);
        assert_eq!(admitted.tokens.expect("tokens").remaining, 800);
        let calls = recording.calls.into_inner();
        assert_eq!(calls.len(), 1, "one round trip: {calls:?}");
        assert_eq!(calls[0].0, 1, "one addition for the request and its tokens");
    }

    #[test]
    fn a_single_budget_is_named_with_its_limit_and_held() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let limits = limits(r#"{"tokens": {"per_minute": 1000}}"#);
        let first = admit_on(&counters, &limits, "/v1/chat/completions", Some(400))
            .tokens
            .expect("tokens");
        assert_eq!(first.verdict, Verdict::Admitted);
        assert_eq!(
            (first.budget.as_str(), first.limit, first.remaining),
            ("tokens-per-minute", 1000, 600)
        );
        let held = first.reservation.expect("a reservation");
        assert_eq!((held.tokens, held.counters.len()), (400, 1));
        let second = admit_on(&counters, &limits, "/v1/messages", Some(400));
        assert_eq!(
            second.tokens.expect("tokens").remaining,
            200,
            "shared by classes"
        );
        let refused = admit_on(&counters, &limits, "/v1/chat/completions", Some(400));
        assert_eq!(refused.decision.verdict, Verdict::Admitted);
        let refused = refused.tokens.expect("tokens");
        assert_eq!(refused.verdict, Verdict::Limited);
        assert!(refused.reservation.is_none());
        assert!(refused.retry_after_secs >= 1);
    }

    #[test]
    fn the_tightest_budget_decides_and_a_refusal_holds_nothing() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let limits = limits(r#"{"tokens": {"per_minute": 1000, "per_day": 500}}"#);
        let first = admit_on(&counters, &limits, "/v1/chat", Some(300))
            .tokens
            .expect("tokens");
        assert_eq!(
            (first.budget.as_str(), first.remaining),
            ("tokens-per-day", 200)
        );
        let refused = admit_on(&counters, &limits, "/v1/chat", Some(300))
            .tokens
            .expect("tokens");
        assert_eq!(
            (refused.verdict, refused.budget.as_str()),
            (Verdict::Limited, "tokens-per-day")
        );
        let third = admit_on(&counters, &limits, "/v1/chat", Some(200))
            .tokens
            .expect("tokens");
        assert_eq!(
            (third.verdict, third.remaining),
            (Verdict::Admitted, 0),
            "the minute's hold was taken back with the day's"
        );
    }

    #[test]
    fn a_class_counted_over_an_hour_holds_its_tokens_on_the_principals_own_counter() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let limits = limits(
            r#"{"/v1/slow": {"requests": 5, "window_secs": 3600}, "tokens": {"per_minute": 1000}}"#,
        );
        let hourly = admit_on(&counters, &limits, "/v1/slow", Some(700))
            .tokens
            .expect("tokens");
        assert_eq!(hourly.reservation.expect("held").counters.len(), 1);
        let minute = admit_on(&counters, &limits, "/v1/chat", Some(400))
            .tokens
            .expect("tokens");
        assert_eq!(minute.verdict, Verdict::Limited, "700 + 400 > 1000");
    }

    #[test]
    fn a_request_over_its_limit_holds_no_tokens() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let limits = limits(r#"{"/v1/chat": 1, "tokens": {"per_minute": 1000}}"#);
        assert!(
            admit_on(&counters, &limits, "/v1/chat", Some(100))
                .tokens
                .is_some()
        );
        let refused = admit_on(&counters, &limits, "/v1/chat", Some(100));
        assert_eq!(refused.decision.verdict, Verdict::Limited);
        assert!(refused.tokens.is_none());
        let other = admit_on(&counters, &limits, "/v1/messages", Some(900))
            .tokens
            .expect("tokens");
        assert_eq!(
            other.verdict,
            Verdict::Admitted,
            "only the first 100 are held"
        );
    }

    #[test]
    fn without_budgets_everything_is_admitted() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let limits = limits(r#"{"tokens": {"per_minute": null}}"#);
        let open = admit_on(&counters, &limits, "/v1/chat", Some(10_000))
            .tokens
            .expect("tokens");
        assert_eq!((open.verdict, open.limit), (Verdict::Admitted, u64::MAX));
        assert!(open.reservation.expect("reservation").counters.is_empty());
    }
}
