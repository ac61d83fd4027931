//! Which addresses a pull may connect to. A pull makes the server fetch a
//! URL the client chose, so without these checks a client could reach the
//! cloud metadata service, our own databases on loopback, or the private
//! network behind us.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why `ip` must not be contacted, or `None` if it is a public address.
/// `allowed` lists addresses exempted by configuration.
pub fn refusal(ip: IpAddr, allowed: &[IpAddr]) -> Option<&'static str> {
    if allowed.contains(&ip) {
        return None;
    }
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => {
            // An IPv6 address that embeds an IPv4 one reaches that IPv4 host.
            if let Some(v4) = embedded_v4(v6) {
                let mapped = IpAddr::V4(v4);
                return if allowed.contains(&mapped) {
                    None
                } else {
                    refusal_v4(v4)
                };
            }
            refusal_v6(v6)
        }
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const RULES: &[([u8; 4], u32, &str)] = &[
        (
            [169, 254, 169, 254],
            32,
            "the cloud metadata address (169.254.169.254)",
        ),
        ([0, 0, 0, 0], 8, "an unspecified (0.0.0.0/8) address"),
        ([127, 0, 0, 0], 8, "a loopback address"),
        ([10, 0, 0, 0], 8, "a private (10.0.0.0/8) address"),
        ([172, 16, 0, 0], 12, "a private (172.16.0.0/12) address"),
        ([192, 168, 0, 0], 16, "a private (192.168.0.0/16) address"),
        (
            [169, 254, 0, 0],
            16,
            "a link-local (169.254.0.0/16) address",
        ),
        (
            [100, 64, 0, 0],
            10,
            "a carrier-grade NAT (100.64.0.0/10) address",
        ),
        (
            [192, 0, 0, 0],
            24,
            "an IETF protocol (192.0.0.0/24) address",
        ),
        (
            [198, 18, 0, 0],
            15,
            "a benchmarking (198.18.0.0/15) address",
        ),
        ([224, 0, 0, 0], 4, "a multicast address"),
        ([240, 0, 0, 0], 4, "a reserved or broadcast address"),
    ];
    RULES
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, why)| *why)
}

fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new(
        (s[6] >> 8) as u8,
        (s[6] & 0xff) as u8,
        (s[7] >> 8) as u8,
        (s[7] & 0xff) as u8,
    );
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    // NAT64 (64:ff9b::/96).
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail);
    }
    // 6to4 (2002::/16) carries the IPv4 address in segments 1 and 2.
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            (s[1] & 0xff) as u8,
            (s[2] >> 8) as u8,
            (s[2] & 0xff) as u8,
        ));
    }
    None
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_unspecified() {
        Some("the unspecified address (::)")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a unique-local (fc00::/7) address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local (fe80::/10) address")
    } else if first & 0xffc0 == 0xfec0 {
        Some("a site-local (fec0::/10) address")
    } else if first & 0xff00 == 0xff00 {
        Some("a multicast address")
    } else if ip.segments()[..2] == [0x2001, 0] {
        // Teredo tunnels to an obfuscated IPv4 address we cannot check.
        Some("a Teredo (2001::/32) address")
    } else if ip.segments()[..2] == [0x2001, 0xdb8] {
        Some("a documentation (2001:db8::/32) address")
    } else if ip.segments()[..6] == [0, 0, 0, 0, 0, 0] {
        // Deprecated IPv4-compatible form (::a.b.c.d).
        Some("an IPv4-compatible (::/96) address")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn refused_addresses() {
        for a in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:db8::1",
        ] {
            assert!(refusal(ip(a), &[]).is_some(), "{a} must be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for a in [
            "1.1.1.1",
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.1.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(refusal(ip(a), &[]), None, "{a} must pass");
        }
    }

    #[test]
    fn metadata_address_is_named() {
        let why = refusal(ip("169.254.169.254"), &[]).unwrap();
        assert!(why.contains("metadata"), "{why}");
    }

    #[test]
    fn allow_list_exempts_exactly_its_addresses() {
        let allowed = [ip("127.0.0.1")];
        assert_eq!(refusal(ip("127.0.0.1"), &allowed), None);
        assert_eq!(refusal(ip("::ffff:127.0.0.1"), &allowed), None);
        assert!(refusal(ip("127.0.0.2"), &allowed).is_some());
        assert!(refusal(ip("::1"), &allowed).is_some());
        assert!(refusal(ip("10.0.0.1"), &allowed).is_some());
    }
}
