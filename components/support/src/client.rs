//! Who is calling, as the host reports it.

/// The IP address in Spin's `spin-client-addr` header (`ip:port`). The port
/// changes with every connection, so only the address identifies a client;
/// a value that is not `ip:port` is kept as it is.
pub fn ip(spin_client_addr: &str) -> String {
    spin_client_addr
        .parse::<std::net::SocketAddr>()
        .map_or_else(
            |_| spin_client_addr.to_string(),
            |socket| socket.ip().to_string(),
        )
}

#[cfg(test)]
mod tests {
    #[test]
    fn drops_the_port() {
        assert_eq!(super::ip("127.0.0.1:5311"), "127.0.0.1");
        assert_eq!(super::ip("[::1]:80"), "::1");
        assert_eq!(super::ip("unknown"), "unknown");
    }
}
