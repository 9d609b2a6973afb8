//! Failover after the first byte, its effectful part: a stream that broke
//! or stalled once content reached the client is continued on the plan's
//! next provider from the text already sent, spliced into the same
//! response, ended with a notice naming both, and logged with the gap the
//! client saw (the pure rules are in `splice.rs`).

use std::time::Instant;

use super::attempts::first_answer;
use super::body::ChatRequest;
use super::splice;
use super::usage::{Meter, UsageTap};
use crate::bindings::mylder::wws::router::{Plan, Target};
use crate::observe::access_log;
use crate::reply::{Piped, Writer};

/// What a stream may be continued with: the request's plan and its caller.
pub struct Onward<'a> {
    pub plan: &'a Plan,
    pub caller: &'a str,
}

/// A continuation that reached the client: its tap (for the tokens to
/// charge) and how its body ended.
pub struct Continued {
    pub tap: UsageTap,
    pub piped: Piped,
}

/// Asks the plan's targets after `broken`, on other providers, to continue
/// `partial`; pipes the first one that answers 200 into `writer`. `None`
/// when none could, and the caller ends the stream with the error event.
pub fn resume(
    request: &ChatRequest,
    partial: &str,
    broken: &Target,
    onward: &Onward<'_>,
    writer: &mut Writer,
    meter: Option<Meter>,
) -> Option<Continued> {
    let started = Instant::now();
    let plan = remaining(onward.plan, broken)?;
    let continuation = request.with_prefill(partial);
    let answer = first_answer(&continuation, &plan, onward.caller)
        .ok()
        .filter(|answer| answer.status == 200)?;
    let to = answer.target.provider.clone();
    let model = answer.target.model.clone();
    access_log::continued(&broken.provider, &to, started.elapsed());
    eprintln!(
        "gateway: {}'s stream broke after its first bytes; {to} continues it",
        broken.provider
    );
    let mut tap = UsageTap::continuation(request.dialect(), request.asks_for_usage());
    if let Some(meter) = meter {
        // The budget spans both streams.
        tap = tap.metered(meter);
    }
    let piped = writer.pipe(answer.body.into_reader(), &mut tap);
    if piped.is_complete() {
        let created = wws_guest::time::now_secs();
        let notice = splice::notice(request.dialect(), &broken.provider, &to, &model, created);
        writer.write_all(notice.as_bytes());
        match tap.cut_off() {
            Some(meter) => {
                access_log::error("tokens_exceeded");
                writer.write_all(meter.ending(request.dialect()).as_bytes());
            }
            None => {
                if let Some(end) = tap.take_held_end() {
                    writer.write_all(&end);
                }
            }
        }
    }
    Some(Continued { tap, piped })
}

/// The plan's targets after `broken` that are on another provider: the
/// broken one is likely to break again.
fn remaining(plan: &Plan, broken: &Target) -> Option<Plan> {
    let after = plan
        .targets
        .iter()
        .position(|target| target.provider == broken.provider && target.model == broken.model)
        .map_or(0, |index| index + 1);
    let targets: Vec<Target> = plan.targets[after..]
        .iter()
        .filter(|target| target.provider != broken.provider)
        .cloned()
        .collect();
    (!targets.is_empty()).then(|| Plan {
        targets,
        long_context: Vec::new(),
        reason: plan.reason.clone(),
    })
}
