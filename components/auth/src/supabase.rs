//! Token verification by Supabase Auth: `GET {supabase_url}/auth/v1/user`.

use serde::Deserialize;
use wasip2::http::types::Method;
use wws_guest::config;
use wws_guest::http::{self, HttpError};

use crate::bindings::exports::mylder::wws::auth::AuthError;
use crate::bindings::mylder::wws::types::Principal;
use crate::settings::{identity_deadline, identity_timeouts};

const MAX_USER_BODY: usize = 256 * 1024;

#[derive(Deserialize)]
struct SupabaseUser {
    id: String,
    email: Option<String>,
    role: Option<String>,
}

pub fn verify(token: &str, supabase_url: Option<&str>) -> Result<Principal, AuthError> {
    let base = supabase_url
        .ok_or_else(|| AuthError::Unavailable("identity provider not configured".into()))?;
    let anon_key = config::get("supabase_anon_key").unwrap_or_default();
    let url = format!("{}/auth/v1/user", base.trim_end_matches('/'));
    let request = http::Request {
        method: Method::Get,
        url: &url,
        headers: vec![
            ("apikey".into(), anon_key.into_bytes()),
            (
                "authorization".into(),
                format!("Bearer {token}").into_bytes(),
            ),
            ("accept".into(), b"application/json".to_vec()),
        ],
        body: http::Body::Bytes(&[]),
    };
    let unavailable = |error: HttpError| {
        eprintln!("auth: identity provider call failed: {error}");
        AuthError::Unavailable(match error {
            HttpError::Denied => "the host refused the call to the identity provider: set supabase_url to its scheme://host[:port] (allowed_outbound_hosts is built from it)".into(),
            _ => "identity provider unreachable".into(),
        })
    };
    let deadline = identity_deadline();
    let response = http::send(request, identity_timeouts()).map_err(unavailable)?;
    if response.status == 401 {
        if refuses_the_gateway(response, deadline) {
            eprintln!("auth: Supabase refused the gateway's anon key (supabase_anon_key)");
            return Err(AuthError::Unavailable(
                "the identity provider refused the gateway's own API key: check supabase_anon_key"
                    .into(),
            ));
        }
        return Err(AuthError::InvalidToken("token rejected".into()));
    }
    match response.status {
        200 => {
            let body = response
                .read_all_by(MAX_USER_BODY, deadline)
                .map_err(unavailable)?;
            let user: SupabaseUser = serde_json::from_slice(&body).map_err(|_| {
                AuthError::Unavailable("identity provider sent an unreadable user".into())
            })?;
            Ok(Principal {
                id: user.id,
                email: user.email,
                role: user.role.unwrap_or_else(|| "authenticated".into()),
                expires_at: None,
            })
        }
        400 | 403 | 404 => Err(AuthError::InvalidToken("token rejected".into())),
        status => {
            eprintln!("auth: identity provider answered {status}");
            Err(AuthError::Unavailable(format!(
                "identity provider answered {status}"
            )))
        }
    }
}

/// Supabase's answer to a wrong or missing `apikey` (the gateway's anon key,
/// not the user's token): `{"message":"Invalid API key", ...}`. It must not
/// be cached as a rejection of the user, or a rotated key logs everyone out.
fn refuses_the_gateway(response: http::Response, deadline: std::time::Instant) -> bool {
    response
        .read_all_by(MAX_USER_BODY, deadline)
        .is_ok_and(|body| is_api_key_refusal(&body))
}

fn is_api_key_refusal(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    text.contains("invalid api key") || text.contains("no api key found")
}

#[cfg(test)]
mod tests {
    #[test]
    fn tells_a_refused_anon_key_from_a_refused_token() {
        assert!(super::is_api_key_refusal(
            br#"{"message":"Invalid API key","hint":"Double check"}"#
        ));
        assert!(super::is_api_key_refusal(
            br#"{"message":"No API key found in request"}"#
        ));
        assert!(!super::is_api_key_refusal(
            br#"{"code":401,"msg":"invalid JWT"}"#
        ));
    }
}
