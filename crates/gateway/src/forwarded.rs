//! Whose request it is, behind a load balancer: the first step of every request to a
//! GraphQL route, before the per-address rate limit and the access log's client address.
//! A request from a configured trusted proxy (an ingress, haproxy) names its client in
//! `X-Forwarded-For`; each proxy appends the address it was reached from, so the list is
//! read from the right, past the trusted hops, and the first address no trusted proxy
//! stands for is the client. Anything left of it was written by the client itself and
//! could be anything, so it is never believed. A request from any other peer is that
//! peer's, whatever its headers say.

use std::net::IpAddr;

use axum::http::HeaderMap;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// A network of trusted proxies, as `10.0.0.0/8`, `fd00::/8` or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `ip` is in this network. IPv4 peers seen as IPv4-mapped IPv6 addresses
    /// (a dual-stack listener) count as their IPv4 selves.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or network (CIDR)"))?;
        let address = canonical(address);
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {bits}"))?,
        };
        Ok(Self { address, prefix })
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The proxies whose `X-Forwarded-For` is believed. Empty: nobody's.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// Parses each entry of the configuration's list; the first bad one is the error.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| entry.as_ref().parse())
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(ip))
    }

    /// The client's address: `peer`'s own unless `peer` is a trusted proxy, else the
    /// rightmost address in `X-Forwarded-For` that is not a trusted proxy. A malformed
    /// entry ends the walk at the last hop vouched for, since nothing left of it can be
    /// told apart from what the client wrote.
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        // Several headers are one list in order (RFC 9110, 5.3).
        let hops = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            let Some(address) = parse_hop(hop) else {
                break;
            };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        client
    }
}

/// One hop: an address, possibly with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|socket| canonical(socket.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(X_FORWARDED_FOR, value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let net: Network = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.255.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")), "IPv4-mapped peers");
        let one: Network = "127.0.0.3".parse().unwrap();
        assert!(one.contains(ip("127.0.0.3")) && !one.contains(ip("127.0.0.2")));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")) && !all.contains(ip("2001:db8::1")));
        let v6: Network = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        for bad in [
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0/8",
            "ten",
            "10.0.0.0/x",
            "",
        ] {
            assert!(bad.parse::<Network>().is_err(), "{bad} is refused");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        let got = trusted.client_of(ip("198.51.100.4"), &headers(&["203.0.113.7"]));
        assert_eq!(got, ip("198.51.100.4"));
        let nobody = TrustedProxies::default();
        assert_eq!(
            nobody.client_of(ip("10.0.0.1"), &headers(&["203.0.113.7"])),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8", "192.0.2.10"]).unwrap();
        // The client wrote 1.2.3.4 itself; the ingress (192.0.2.10) appended the client
        // and the balancer (10.0.0.5) appended the ingress.
        let forwarded = headers(&["1.2.3.4, 203.0.113.7, 192.0.2.10"]);
        assert_eq!(
            trusted.client_of(ip("10.0.0.5"), &forwarded),
            ip("203.0.113.7")
        );
        // The same list in two headers, and a hop with a port.
        let split = headers(&["1.2.3.4", "203.0.113.7:5123 ,192.0.2.10"]);
        assert_eq!(trusted.client_of(ip("10.0.0.5"), &split), ip("203.0.113.7"));
        let v6 = headers(&["[2001:db8::7]:443"]);
        assert_eq!(trusted.client_of(ip("10.0.0.5"), &v6), ip("2001:db8::7"));
    }

    #[test]
    fn a_trusted_peer_without_a_usable_list_is_the_client() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        assert_eq!(
            trusted.client_of(ip("10.0.0.5"), &HeaderMap::new()),
            ip("10.0.0.5")
        );
        // Garbage stops the walk at the last hop a trusted proxy vouched for.
        let garbage = headers(&["203.0.113.7, not-an-address, 10.0.0.9"]);
        assert_eq!(trusted.client_of(ip("10.0.0.5"), &garbage), ip("10.0.0.9"));
        // Only trusted hops: the leftmost is as far as anyone vouches.
        let all_trusted = headers(&["10.0.0.8, 10.0.0.9"]);
        assert_eq!(
            trusted.client_of(ip("10.0.0.5"), &all_trusted),
            ip("10.0.0.8")
        );
    }
}
