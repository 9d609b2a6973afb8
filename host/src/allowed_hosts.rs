//! `allowed_outbound_hosts`, parsed and enforced by Spin's rules: wasmtime
//! itself has no allow-list, and a host that accepted entries Spin refuses
//! would let an app pass here and fail at `spin up` or deploy.
//!
//! An entry is `<scheme>://<host>[:<port>]`: `*` for any scheme, host or port;
//! `*.domain` for subdomains; a CIDR block for addresses; `self` for the
//! app's own relative requests; `a..b` for a port range (end exclusive). The
//! port defaults to the scheme's well-known one. Paths, an empty host and an
//! unknown scheme without a port are refused, as `spin up` refuses them.
//! Parsing splits the entry exactly where Spin does (at the last `:`), so
//! the same entries fail, with Spin's words.

mod address;

use std::net::IpAddr;

use ipnet::IpNet;
use url::Host;

use address::Target;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AllowedHostError(String);

const FORMAT_HELP: &str = "Hosts must be in the form <scheme>://<host>[:<port>], with '*' wildcards allowed for each.\nIf you intended to allow all outbound networking, you can use '*://*:*' - this will obviate all network sandboxing.";

#[derive(Debug, Clone, PartialEq, Eq)]
enum SchemeRule {
    Any,
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostRule {
    Any,
    /// `*.example.com`, kept as `.example.com`.
    Subdomain(String),
    /// `self`: relative requests to the app itself, never an absolute URL.
    ToSelf,
    Literal(Host),
    Network(IpNet),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortRule {
    Any,
    Exact(u16),
    /// `start..end`, end exclusive as in Spin.
    Range(u16, u16),
}

/// One parsed `allowed_outbound_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: SchemeRule,
    host: HostRule,
    port: PortRule,
}

/// The component's whole allow-list, every entry resolved and parsed.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    rules: Vec<AllowedHost>,
}

fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl AllowedHosts {
    /// Parses resolved entries (templates already expanded); the first entry
    /// Spin would refuse is the error.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, AllowedHostError> {
        refuse_allow_all_keyword(entries)?;
        let rules = entries
            .iter()
            .map(|entry| AllowedHost::parse(entry.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// Whether a request to `scheme://host[:port]` may leave the sandbox.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let Ok(host) = Host::parse(host) else {
            return false;
        };
        self.rules
            .iter()
            .any(|rule| rule.allows(scheme, &host, port))
    }

    /// Whether a guest may connect to `address`, an address for an
    /// interface whose scheme is `default_scheme` (`"redis"` for
    /// `fermyon:spin/redis`), read as Spin's `check_url` reads it (see
    /// [`address`]). `Err` carries the reason, fit to log: the scheme and
    /// authority only, never user information.
    pub fn allows_address(&self, address: &str, default_scheme: &str) -> Result<(), String> {
        let Some(target) = Target::parse(address, default_scheme) else {
            return Err("the address could not be parsed as a URL".into());
        };
        if self.allows(&target.scheme, &target.host, target.port) {
            return Ok(());
        }
        Err(format!(
            "{}://{} is not in allowed_outbound_hosts",
            target.scheme,
            target.authority()
        ))
    }
}

/// Entries already parsed one by one (Spin checks the `insecure:allow-all`
/// keyword on the manifest's raw entries, not on resolved values).
impl From<Vec<AllowedHost>> for AllowedHosts {
    fn from(rules: Vec<AllowedHost>) -> Self {
        Self { rules }
    }
}

/// Spin's one keyword from its first manifest version, refused with a hint.
pub fn refuse_allow_all_keyword<S: AsRef<str>>(entries: &[S]) -> Result<(), AllowedHostError> {
    if entries.len() == 1 && entries[0].as_ref() == "insecure:allow-all" {
        return Err(AllowedHostError(
            "'insecure:allow-all' is not allowed - use '*://*:*' instead if you really want to allow all outbound traffic'".into(),
        ));
    }
    Ok(())
}

impl AllowedHost {
    pub fn parse(original: &str) -> Result<Self, AllowedHostError> {
        let entry = original.trim();
        let Some((scheme, rest)) = entry.split_once("://") else {
            return Err(AllowedHostError(match entry {
                "*" | ":" | "" | "?" => {
                    format!("{entry:?} is not an allowed outbound host format.\n{FORMAT_HELP}")
                }
                _ => format!("{entry:?} does not contain a scheme (e.g., 'http://' or '*://')"),
            }));
        };
        let (host, after_host) = rest.rsplit_once(':').unwrap_or((rest, ""));
        let port = match after_host.split_once('/') {
            Some((_, path)) if !path.is_empty() => {
                return Err(AllowedHostError(format!(
                    "{entry:?} has a path but is not allowed to"
                )));
            }
            Some((port, _)) => port,
            None => after_host,
        };
        let port = parse_port(port, scheme).map_err(|reason| {
            AllowedHostError(format!("Invalid allowed host port {port:?}: {reason}"))
        })?;
        let scheme = parse_scheme(scheme).map_err(|reason| {
            AllowedHostError(format!("Invalid allowed host scheme {scheme:?}: {reason}"))
        })?;
        let host = parse_host(host).map_err(|reason| {
            AllowedHostError(format!("Invalid allowed host {host:?}: {reason}"))
        })?;
        Ok(Self { scheme, host, port })
    }

    fn allows(&self, scheme: &str, host: &Host, port: Option<u16>) -> bool {
        let scheme_ok = match &self.scheme {
            SchemeRule::Any => true,
            SchemeRule::Exact(allowed) => allowed == scheme,
        };
        let host_ok = match (&self.host, host) {
            (HostRule::Any, _) => true,
            (HostRule::Subdomain(suffix), Host::Domain(domain)) => domain.ends_with(suffix),
            (HostRule::Literal(literal), host) => literal == host,
            (HostRule::Network(network), Host::Ipv4(ip)) => network.contains(&IpAddr::V4(*ip)),
            (HostRule::Network(network), Host::Ipv6(ip)) => network.contains(&IpAddr::V6(*ip)),
            (HostRule::Subdomain(_) | HostRule::Network(_) | HostRule::ToSelf, _) => false,
        };
        let effective_port = port.or_else(|| well_known_port(scheme));
        let port_ok = match self.port {
            PortRule::Any => true,
            PortRule::Exact(allowed) => effective_port == Some(allowed),
            PortRule::Range(start, end) => {
                effective_port.is_some_and(|p| (start..end).contains(&p))
            }
        };
        scheme_ok && host_ok && port_ok
    }
}

fn parse_scheme(scheme: &str) -> Result<SchemeRule, &'static str> {
    if scheme == "*" {
        return Ok(SchemeRule::Any);
    }
    if scheme.starts_with('{') {
        return Err("scheme lists are not supported");
    }
    if scheme.chars().any(|c| !c.is_alphabetic()) {
        return Err("only alphabetic characters are allowed");
    }
    Ok(SchemeRule::Exact(scheme.to_string()))
}

fn parse_host(host: &str) -> Result<HostRule, String> {
    let host = host.trim();
    match host {
        "*" => return Ok(HostRule::Any),
        "self" | "self.alt" => return Ok(HostRule::ToSelf),
        _ => {}
    }
    if host.starts_with('{') {
        return Err(if host.ends_with('}') {
            "host lists are not yet supported".into()
        } else {
            "Condition failed: `host.ends_with('}')`".into()
        });
    }
    if let Ok(network) = host.parse::<IpNet>() {
        return Ok(HostRule::Network(network.trunc()));
    }
    let host = host.trim_end_matches('/');
    if host.contains('/') {
        return Err("must not include a path".into());
    }
    if let Some(domain) = host.strip_prefix("*.") {
        if domain.contains('*') {
            return Err("wildcards are allowed only as prefixes".into());
        }
        return Ok(HostRule::Subdomain(format!(".{domain}")));
    }
    if host.contains('*') {
        return Err("wildcards are allowed only as subdomains".into());
    }
    Host::parse(host)
        .map(HostRule::Literal)
        .map_err(|error| error.to_string())
}

fn parse_port(port: &str, scheme: &str) -> Result<PortRule, String> {
    if port.is_empty() {
        return well_known_port(scheme).map(PortRule::Exact).ok_or_else(|| {
            format!(
                "no port was provided and the scheme {scheme:?} does not have a known default port number"
            )
        });
    }
    if port == "*" {
        return Ok(PortRule::Any);
    }
    if port.starts_with('{') {
        return Err("port lists are not yet supported".into());
    }
    if let Some((start, end)) = port.split_once("..") {
        let number = |text: &str| {
            text.parse::<u16>()
                .map_err(|_| format!("port range {port:?} contains non-number"))
        };
        return Ok(PortRule::Range(number(start)?, number(end)?));
    }
    port.parse()
        .map(PortRule::Exact)
        .map_err(|_| format!("port {port:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(entry: &str) -> String {
        AllowedHosts::parse(&[entry]).unwrap_err().to_string()
    }

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
    fn wildcards_networks_and_ranges() {
        let allowed = AllowedHosts::parse(&[
            "https://*.supabase.co",
            "*://localhost:*",
            "http://10.0.0.0/8:8000..8002",
        ])
        .unwrap();
        assert!(allowed.allows("https", "abc.supabase.co", None));
        assert!(!allowed.allows("https", "supabase.co", None));
        assert!(!allowed.allows("https", "abc.supabase.co.evil", None));
        assert!(allowed.allows("http", "localhost", Some(1234)));
        assert!(allowed.allows("http", "10.1.2.3", Some(8001)));
        assert!(
            !allowed.allows("http", "10.1.2.3", Some(8002)),
            "end is exclusive"
        );
        assert!(!allowed.allows("http", "11.1.2.3", Some(8001)));
        let any = AllowedHosts::parse(&["*://*:*"]).unwrap();
        assert!(any.allows("http", "x", Some(1)));
        let ipv6 = AllowedHosts::parse(&["http://[::1]:8080"]).unwrap();
        assert!(ipv6.allows("http", "[::1]", Some(8080)));
    }

    #[test]
    fn self_allows_no_absolute_url() {
        let allowed = AllowedHosts::parse(&["http://self", "https://self"]).unwrap();
        assert!(!allowed.allows("http", "self", None));
        assert!(!allowed.allows("http", "127.0.0.1", Some(3000)));
    }

    #[test]
    fn refuses_what_spin_refuses_with_its_words() {
        assert!(error("").starts_with("\"\" is not an allowed outbound host format."));
        assert!(error("*").contains("is not an allowed outbound host format"));
        assert_eq!(
            error("api.z.ai"),
            "\"api.z.ai\" does not contain a scheme (e.g., 'http://' or '*://')"
        );
        assert_eq!(
            error("https://api.synthetic.new/openai/v1"),
            "Invalid allowed host \"api.synthetic.new/openai/v1\": must not include a path"
        );
        assert_eq!(
            error("http://localhost:8080/v1"),
            "\"http://localhost:8080/v1\" has a path but is not allowed to"
        );
        assert!(error("https://").starts_with("Invalid allowed host \"\""));
        assert_eq!(
            error("h2c://host"),
            "Invalid allowed host port \"\": no port was provided and the scheme \"h2c\" does not have a known default port number"
        );
        assert_eq!(
            error("ht1p://host:80"),
            "Invalid allowed host scheme \"ht1p\": only alphabetic characters are allowed"
        );
        assert_eq!(
            error("https://host:44x"),
            "Invalid allowed host port \"44x\": port \"44x\" is not a number"
        );
        assert_eq!(
            error("https://a.*.com"),
            "Invalid allowed host \"a.*.com\": wildcards are allowed only as subdomains"
        );
        assert_eq!(
            error("https://*.a.*.com"),
            "Invalid allowed host \"*.a.*.com\": wildcards are allowed only as prefixes"
        );
        // Spin splits at the last ':', so a bracketed address needs a port.
        assert!(error("https://[::2]").starts_with("Invalid allowed host port \"2]\""));
        assert!(error("insecure:allow-all").contains("use '*://*:*' instead"));
    }

    #[test]
    fn redis_addresses_are_checked_as_spin_checks_them() {
        let allowed = AllowedHosts::parse(&[
            "redis://127.0.0.1:6399",
            "redis://cache.example.com",
            "rediss://*.upstash.io:6380",
        ])
        .unwrap();
        let allows = |address: &str| allowed.allows_address(address, "redis").is_ok();
        assert!(allows("redis://127.0.0.1:6399"));
        assert!(allows("redis://user:p@ss@127.0.0.1:6399/0"));
        assert!(allows("127.0.0.1:6399"), "the scheme is supplied");
        assert!(!allows("redis://127.0.0.1:6379"));
        assert!(allows("redis://cache.example.com"), "redis' port 6379");
        assert!(allows("redis://cache.example.com:6379"));
        assert!(
            !allows("rediss://cache.example.com"),
            "rediss has no default port"
        );
        assert!(allows("rediss://eu1.upstash.io:6380"));
        assert!(!allows("redis://eu1.upstash.io:6380"));
        assert!(!allows("not a url"));
        let refused = allowed
            .allows_address("redis://user:secret@10.0.0.1:6379", "redis")
            .unwrap_err();
        assert_eq!(
            refused,
            "redis://10.0.0.1:6379 is not in allowed_outbound_hosts"
        );
        let any = AllowedHosts::parse(&["*://*:*"]).unwrap();
        assert!(any.allows_address("rediss://anything:1", "redis").is_ok());
    }
}
