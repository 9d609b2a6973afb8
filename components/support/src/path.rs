//! Request paths as the origin will read them, normalised once at the edge
//! so the rate limiter, the cache policies and the origin all act on the
//! same path: `//lim/a`, `/./lim/a` and `/%6Cim/a` are `/lim/a` to an origin,
//! so they must be `/lim/a` to every limit and policy too.

/// RFC 3986 normalisation: percent-encoded unreserved characters decoded,
/// other escapes upper-cased (an encoded `/` stays encoded, so it never
/// becomes a separator), runs of `/` merged (as nginx and most origins
/// merge them), and `.`/`..` segments removed, never above the root.
pub fn normalise(path: &str) -> String {
    let decoded = decode_unreserved(path);
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/').skip(1) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    // A trailing `/`, `/.` or `/..` names a folder: keep its slash.
    let folder = decoded.ends_with('/') || decoded.ends_with("/.") || decoded.ends_with("/..");
    let mut normalised = format!("/{}", segments.join("/"));
    if folder && !segments.is_empty() {
        normalised.push('/');
    }
    normalised
}

fn decode_unreserved(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut output = String::with_capacity(path.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = path.get(index + 1..index + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                output.push(char::from(byte));
            } else {
                output.push('%');
                output.push_str(&hex.to_ascii_uppercase());
            }
            index += 3;
            continue;
        }
        let next = path[index..].chars().next().unwrap_or('\u{FFFD}');
        output.push(next);
        index += next.len_utf8().max(1);
    }
    output
}

/// Whether a route `prefix` covers `path` by whole segments: `/api/docs`
/// covers `/api/docs` and `/api/docs/x`, never `/api/docs-admin`.
pub fn covers(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || prefix.ends_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_path_normalise_to_it() {
        for spelling in [
            "/lim/a",
            "//lim/a",
            "/./lim/a",
            "/%6Cim/a",
            "/%6cim/%61",
            "/x/../lim/a",
            "/lim//a",
            "/../lim/a",
        ] {
            assert_eq!(normalise(spelling), "/lim/a", "{spelling}");
        }
    }

    #[test]
    fn escapes_that_change_meaning_stay_escaped() {
        assert_eq!(normalise("/a%2fb"), "/a%2Fb");
        assert_eq!(normalise("/x/%2e%2e/b"), "/b", "%2e is an unreserved '.'");
        assert_eq!(normalise("/a%2e%2e/b"), "/a../b");
        assert_eq!(normalise("/caf%C3%A9"), "/caf%C3%A9");
        assert_eq!(normalise("/100%"), "/100%");
        assert_eq!(normalise("/"), "/");
        assert_eq!(normalise("/docs/"), "/docs/");
        assert_eq!(normalise("/docs/x/.."), "/docs/");
        assert_eq!(normalise("/é"), "/é");
    }

    #[test]
    fn prefixes_cover_whole_segments() {
        assert!(covers("/api/docs", "/api/docs"));
        assert!(covers("/api/docs", "/api/docs/x"));
        assert!(!covers("/api/docs", "/api/docs-admin"));
        assert!(covers("/api/", "/api/x"));
        assert!(covers("/", "/anything"));
        assert!(!covers("/api/docs/x", "/api/docs"));
    }
}
