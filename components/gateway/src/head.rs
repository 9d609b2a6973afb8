//! A response head as the gateway builds it: status and headers, with
//! the hop-by-hop names that never cross from one connection to another.

/// Header names that describe one hop and are never copied between hops.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.iter().any(|hop| hop.eq_ignore_ascii_case(name))
}

pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Head {
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
        }
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.headers
            .retain(|(key, _)| !key.eq_ignore_ascii_case(name));
        self.headers
            .push((name.to_string(), value.into().into_bytes()));
    }

    pub fn extend(&mut self, headers: &[(String, String)]) {
        for (name, value) in headers {
            self.set(name, value.clone());
        }
    }
}
