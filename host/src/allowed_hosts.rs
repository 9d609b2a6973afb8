//! `allowed_outbound_hosts`, enforced the way Spin does: wasmtime itself has
//! no allow-list, so without this check a guest could reach any address.
//!
//! Entries are `scheme://host[:port]` with `*` for any scheme, host or port
//! and `*.domain` for subdomains. An entry whose template resolved to an empty
//! value (an optional endpoint left unset) is skipped, as in Spin.

#[derive(Debug, thiserror::Error)]
#[error("invalid allowed_outbound_hosts entry {entry:?}: {reason}")]
pub struct AllowedHostError {
    entry: String,
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Any,
    Subdomain(String),
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Port {
    Any,
    Exact(u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    scheme: Option<String>,
    host: Host,
    port: Port,
}

#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    rules: Vec<Rule>,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl AllowedHosts {
    /// Parses resolved entries (templates already expanded).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, AllowedHostError> {
        let mut rules = Vec::new();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry.is_empty() || entry == "http://" || entry == "https://" {
                continue;
            }
            rules.push(parse_rule(entry)?);
        }
        Ok(Self { rules })
    }

    /// Whether a request to `scheme://host:port` may leave the sandbox.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let scheme = scheme.to_ascii_lowercase();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let Some(port) = port.or_else(|| default_port(&scheme)) else {
            return false;
        };
        self.rules.iter().any(|rule| {
            let scheme_ok = rule
                .scheme
                .as_ref()
                .is_none_or(|allowed| *allowed == scheme);
            let host_ok = match &rule.host {
                Host::Any => true,
                Host::Subdomain(suffix) => host.ends_with(suffix.as_str()),
                Host::Exact(exact) => *exact == host,
            };
            let port_ok = match rule.port {
                Port::Any => true,
                Port::Exact(allowed) => allowed == port,
            };
            scheme_ok && host_ok && port_ok
        })
    }
}

fn parse_rule(entry: &str) -> Result<Rule, AllowedHostError> {
    let error = |reason| AllowedHostError {
        entry: entry.to_string(),
        reason,
    };
    let (scheme, rest) = entry
        .split_once("://")
        .ok_or_else(|| error("expected <scheme>://<host>[:<port>]"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('/') {
        return Err(error("must not include a path"));
    }
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| error("invalid host"))?;
        (host, after.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    let scheme = match scheme {
        "*" => None,
        s if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic()) => {
            Some(s.to_ascii_lowercase())
        }
        _ => return Err(error("invalid scheme")),
    };
    let host = match host {
        "*" => Host::Any,
        h if h.starts_with("*.") && !h[2..].contains('*') && !h[2..].is_empty() => {
            Host::Subdomain(h[1..].to_ascii_lowercase())
        }
        h if h.is_empty() || h.contains('*') => return Err(error("invalid host")),
        h => Host::Exact(h.to_ascii_lowercase()),
    };
    let port = match port {
        Some("*") => Port::Any,
        Some(port) => Port::Exact(port.parse().map_err(|_| error("invalid port"))?),
        None => match scheme.as_deref().and_then(default_port) {
            Some(port) => Port::Exact(port),
            None => return Err(error("a port is required for this scheme")),
        },
    };
    Ok(Rule { scheme, host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_hosts_use_the_scheme_default_port() {
        let allowed = AllowedHosts::parse(&["https://api.z.ai", "http://127.0.0.1:8080/"]).unwrap();
        assert!(allowed.allows("https", "api.z.ai", None));
        assert!(allowed.allows("https", "API.Z.AI", Some(443)));
        assert!(!allowed.allows("http", "api.z.ai", None));
        assert!(!allowed.allows("https", "api.z.ai", Some(8443)));
        assert!(allowed.allows("http", "127.0.0.1", Some(8080)));
        assert!(!allowed.allows("http", "127.0.0.1", Some(8081)));
        assert!(!allowed.allows("https", "evil.api.z.ai", None));
    }

    #[test]
    fn wildcards() {
        let allowed = AllowedHosts::parse(&["https://*.supabase.co", "*://localhost:*"]).unwrap();
        assert!(allowed.allows("https", "abc.supabase.co", None));
        assert!(!allowed.allows("https", "supabase.co", None));
        assert!(!allowed.allows("https", "abc.supabase.co.evil", None));
        assert!(allowed.allows("http", "localhost", Some(1234)));
        assert!(
            AllowedHosts::parse(&["*://*:*"])
                .unwrap()
                .allows("http", "x", Some(1))
        );
        let ipv6 = AllowedHosts::parse(&["http://[::1]:8080", "https://[::2]"]).unwrap();
        assert!(ipv6.allows("http", "[::1]", Some(8080)));
        assert!(ipv6.allows("https", "::2", None));
    }

    #[test]
    fn empty_resolutions_are_skipped_and_paths_refused() {
        let allowed = AllowedHosts::parse(&["", "https://"]).unwrap();
        assert!(!allowed.allows("https", "api.z.ai", None));
        assert!(AllowedHosts::parse(&["https://api.synthetic.new/openai/v1"]).is_err());
        assert!(AllowedHosts::parse(&["api.z.ai"]).is_err());
        assert!(AllowedHosts::parse(&["https://a.*.com"]).is_err());
    }
}
