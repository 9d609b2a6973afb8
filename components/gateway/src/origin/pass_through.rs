//! Sending the origin's response on as it arrives, minus the headers of
//! its hop.

use wasip2::http::types::ResponseOutparam;
use wws_guest::http::Response;

use crate::context::Context;
use crate::filter::Unchanged;
use crate::head::{Head, is_hop_by_hop};
use crate::reply::Writer;

/// Sends the origin's response on as it arrives, minus hop-by-hop headers.
pub fn pass_through(
    response: Response,
    context: &Context,
    out: ResponseOutparam,
    with_body: bool,
    cache_label: Option<&str>,
) {
    let mut head = response_head(&response);
    head.extend(&context.headers());
    if let Some(label) = cache_label {
        head.set("x-wws-cache", label);
    }
    if let Some(mut writer) = Writer::start(out, head) {
        let complete = !with_body
            || writer
                .pipe(response.into_body(), &mut Unchanged)
                .is_complete();
        writer.end(complete);
    }
}

pub fn response_head(response: &Response) -> Head {
    let mut head = Head::new(response.status);
    for (name, value) in &response.headers {
        if !is_hop_by_hop(name) {
            head.headers.push((name.clone(), value.clone()));
        }
    }
    head
}
