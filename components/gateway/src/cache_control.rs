//! `Cache-Control` directives, as far as a shared cache in front of one
//! origin needs them (RFC 9111 5.2, RFC 5861). Unknown directives are
//! ignored, a malformed number makes its directive absent.

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheControl {
    pub no_store: bool,
    pub no_cache: bool,
    pub private: bool,
    pub public: bool,
    pub must_revalidate: bool,
    pub max_age: Option<u64>,
    pub s_maxage: Option<u64>,
    pub stale_while_revalidate: Option<u64>,
    pub stale_if_error: Option<u64>,
}

impl CacheControl {
    /// Parses every value of the header, joined with commas.
    pub fn parse(value: &str) -> Self {
        let mut directives = Self::default();
        for directive in value.split(',') {
            let (name, argument) = match directive.split_once('=') {
                Some((name, argument)) => (name, Some(argument.trim().trim_matches('"'))),
                None => (directive, None),
            };
            let seconds = || argument.and_then(|argument| argument.parse::<u64>().ok());
            match name.trim().to_ascii_lowercase().as_str() {
                "no-store" => directives.no_store = true,
                "no-cache" => directives.no_cache = true,
                "private" => directives.private = true,
                "public" => directives.public = true,
                "must-revalidate" => directives.must_revalidate = true,
                "max-age" => directives.max_age = seconds(),
                "s-maxage" => directives.s_maxage = seconds(),
                "stale-while-revalidate" => directives.stale_while_revalidate = seconds(),
                "stale-if-error" => directives.stale_if_error = seconds(),
                _ => {}
            }
        }
        directives
    }

    /// Freshness a shared cache may give the response: `s-maxage` over
    /// `max-age`; none when it must not be stored or has no lifetime.
    pub fn shared_lifetime(&self) -> Option<u64> {
        if self.no_store || self.private || self.no_cache {
            return None;
        }
        self.s_maxage.or(self.max_age).filter(|secs| *secs > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_directives_that_matter() {
        let cc =
            CacheControl::parse("public, max-age=60, s-maxage=\"120\", stale-while-revalidate=30");
        assert!(cc.public);
        assert_eq!(cc.max_age, Some(60));
        assert_eq!(cc.shared_lifetime(), Some(120));
        assert_eq!(cc.stale_while_revalidate, Some(30));
    }

    #[test]
    fn refusals_win() {
        for value in [
            "no-store, max-age=60",
            "private, max-age=60",
            "no-cache, max-age=60",
            "max-age=0",
            "",
        ] {
            assert_eq!(
                CacheControl::parse(value).shared_lifetime(),
                None,
                "{value}"
            );
        }
        let cc = CacheControl::parse("NO-STORE");
        assert!(cc.no_store);
    }

    #[test]
    fn malformed_numbers_are_absent() {
        let cc = CacheControl::parse("max-age=soon, stale-if-error=-1, max-age");
        assert_eq!(cc.max_age, None);
        assert_eq!(cc.stale_if_error, None);
    }
}
