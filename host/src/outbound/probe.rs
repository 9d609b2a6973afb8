//! One unauthenticated GET to learn whether an upstream URL redirects.
//!
//! The gateway never follows a provider's redirect (that would resend the
//! provider key to wherever it points), so a base URL that redirects fails
//! every call. `wws-host check` asks once, before traffic, so the operator
//! hears which URL is wrong instead of watching every request fail over.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use wasmtime_wasi_http::{Error, RequestOptions};

use super::pool::Pool;

/// Longest wait for each phase: a check must not hang on a dead upstream.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Where a redirecting URL points.
#[derive(Debug, PartialEq, Eq)]
pub struct Redirect {
    pub status: u16,
    /// The `Location` header's scheme and authority (its path and query may
    /// carry anything), or `None` when it names none.
    pub location_origin: Option<String>,
}

/// `Ok(Some)` if `url` answers a plain GET with a 3xx; `Ok(None)` for any
/// other answer (a 401 without a key is the expected one).
pub async fn redirect_of(url: &str) -> Result<Option<Redirect>, Error> {
    let uri: http::Uri = url.parse().map_err(|_| Error::HttpRequestUriInvalid)?;
    let authority = uri
        .authority()
        .ok_or(Error::HttpRequestUriInvalid)?
        .to_string();
    let request = http::Request::get(uri)
        .header(http::header::HOST, authority)
        .header(http::header::USER_AGENT, "wws-host-check")
        .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
        .map_err(|_| Error::HttpRequestUriInvalid)?;
    let options = RequestOptions {
        connect_timeout: Some(PROBE_TIMEOUT),
        first_byte_timeout: Some(PROBE_TIMEOUT),
        between_bytes_timeout: Some(PROBE_TIMEOUT),
    };
    let response = Arc::new(Pool::default())
        .send(request, Some(options))
        .await?;
    let status = response.status();
    if !status.is_redirection() {
        return Ok(None);
    }
    let location_origin = response
        .headers()
        .get(http::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<http::Uri>().ok())
        .and_then(|location| {
            Some(format!(
                "{}://{}",
                location.scheme_str()?,
                location.authority()?
            ))
        });
    Ok(Some(Redirect {
        status: status.as_u16(),
        location_origin,
    }))
}
