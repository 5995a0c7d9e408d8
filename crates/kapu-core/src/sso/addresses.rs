//! Where Kapu may send a request of its own (a back-channel logout): never to this machine
//! or its network, by name or by number, so that a service's registration cannot reach the
//! machines behind Kapu.

/// Whether an address's host is this machine or its network (loopback, private, link-local,
/// unspecified), by its name or its literal address. Kapu posts to back-channel addresses:
/// one of these would let a service's registration reach the machines behind Kapu.
pub fn internal_address(uri: &str) -> bool {
    let Some(origin) = super::authorize::origin_of(uri) else {
        return true;
    };
    let host = origin.split_once("://").map_or("", |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    if host == "localhost" || host.ends_with(".localhost") || host.ends_with(".local") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => internal_ip(ip),
        Err(_) => false,
    }
}

/// Loopback, private, link-local, unspecified or unique-local.
pub fn internal_ip(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 0
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| internal_ip(v4.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_known_by_name_and_by_number() {
        for internal in [
            "http://127.0.0.1:8080/bc",
            "http://localhost/bc",
            "https://10.1.2.3/bc",
            "https://192.168.0.5/bc",
            "https://169.254.169.254/latest",
            "https://[::1]:9000/bc",
            "https://[fe80::1]/bc",
            "https://[::ffff:127.0.0.1]/bc",
            "https://0.0.0.0/bc",
        ] {
            assert!(internal_address(internal), "{internal}");
        }
        for outside in [
            "https://portal.example.hu/bc",
            "https://8.8.8.8/bc",
            "https://[2001:db8::1]/bc",
        ] {
            assert!(!internal_address(outside), "{outside}");
        }
    }
}
