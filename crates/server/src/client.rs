//! Who a request comes from, for the limits kept per client (rate limits, open streams, boards).
//!
//! A client is its IP address, IPv6 addresses by their /64 (one host or home gets a /64, so
//! its addresses are one client). Behind a proxy named by `--trusted-proxy`, it is the address
//! that proxy forwarded: the rightmost `X-Forwarded-For` entry not itself a trusted proxy
//! (each proxy appends the address it was reached from; entries to its left are whatever the
//! client sent). The header is ignored from every other peer, so a client cannot choose its own
//! key. Hand-written (thirty lines) rather than a crate: the crates that read `X-Forwarded-For`
//! (`axum-client-ip`, `tower_governor`'s `SmartIpKeyExtractor`) trust it from any peer.

use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use ipnet::IpNet;

/// The header a trusted proxy appends the address it was reached from to.
const FORWARDED_FOR: &str = "x-forwarded-for";

/// A client, as limits count it: an IPv4 address, or an IPv6 /64. `None` where the peer is
/// unknown (a server run without connection info): one client for all such requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey(Option<IpAddr>);

impl ClientKey {
    /// The client of a request with these `extensions` (the peer address, from axum's
    /// `ConnectInfo`) and `headers`, given the `trusted` proxies.
    pub(crate) fn of(extensions: &Extensions, headers: &HeaderMap, trusted: &[IpNet]) -> Self {
        let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip());
        Self(peer.map(|peer| client_address(peer, headers, trusted)).map(prefix))
    }
}

/// The proxies whose `X-Forwarded-For` is believed (`--trusted-proxy`), for the [`ClientKey`]
/// extractor.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustedProxies(pub(crate) Arc<[IpNet]>);

impl<S: Send + Sync> FromRequestParts<S> for ClientKey
where
    TrustedProxies: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let TrustedProxies(trusted) = TrustedProxies::from_ref(state);
        Ok(Self::of(&parts.extensions, &parts.headers, &trusted))
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("an unknown peer"),
            Some(IpAddr::V4(address)) => write!(f, "{address}"),
            Some(IpAddr::V6(address)) => write!(f, "{address}/64"),
        }
    }
}

/// The client's address: `peer`, or where `peer` is a trusted proxy, the address forwarded.
fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted =
        |address: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*address)));
    if !is_trusted(&peer) {
        return peer;
    }
    // Every `X-Forwarded-For` field, as one list; read from the right (the nearest hop).
    let fields: Vec<&str> =
        headers.get_all(FORWARDED_FOR).iter().filter_map(|value| value.to_str().ok()).collect();
    let mut nearest = peer;
    for entry in fields.iter().rev().flat_map(|field| field.rsplit(',')) {
        // An entry that is not an address was not written by a trusted proxy: stop at the hop
        // that passed it on.
        let Ok(address) = entry.trim().parse::<IpAddr>() else { return nearest };
        if !is_trusted(&address) {
            return address;
        }
        nearest = address;
    }
    nearest
}

/// An IPv4-mapped IPv6 address as IPv4; others as they are.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// The key of an address: IPv4 whole, IPv6 cut to its /64.
fn prefix(address: IpAddr) -> IpAddr {
    match canonical(address) {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

/// `--trusted-proxy`: an address (`10.0.0.5`, `::1`) or a network (`10.0.0.0/8`).
pub(crate) fn parse_trusted(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>().or_else(|_| text.parse::<IpAddr>().map(IpNet::from)).map_err(|_| {
        format!("{text:?} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/8)")
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn key(peer: &str, forwarded: &[&str], trusted: &[&str]) -> String {
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::new(peer.parse().unwrap(), 1)));
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        let trusted: Vec<IpNet> = trusted.iter().map(|net| parse_trusted(net).unwrap()).collect();
        ClientKey::of(&extensions, &headers, &trusted).to_string()
    }

    #[test]
    fn ipv6_clients_are_their_64_and_mapped_ipv4_is_ipv4() {
        assert_eq!(key("2001:db8:1:2:aaaa::1", &[], &[]), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:bbbb::9", &[], &[]), "2001:db8:1:2::/64");
        assert_eq!(key("::ffff:192.0.2.7", &[], &[]), "192.0.2.7");
        assert_eq!(key("192.0.2.7", &[], &[]), "192.0.2.7");
    }

    #[test]
    fn the_forwarded_address_counts_only_from_a_trusted_proxy() {
        // An untrusted peer cannot choose its key.
        assert_eq!(key("192.0.2.7", &["198.51.100.1"], &[]), "192.0.2.7");
        assert_eq!(key("192.0.2.7", &["198.51.100.1"], &["10.0.0.0/8"]), "192.0.2.7");
        // From the proxy: the address it appended, not what the client put to its left.
        assert_eq!(key("10.0.0.5", &["6.6.6.6, 198.51.100.1"], &["10.0.0.5"]), "198.51.100.1");
        // Two trusted hops (two fields, or one list), then the client.
        assert_eq!(key("10.0.0.5", &["198.51.100.1, 10.0.0.9"], &["10.0.0.0/8"]), "198.51.100.1");
        assert_eq!(key("10.0.0.5", &["198.51.100.1", "10.0.0.9"], &["10.0.0.0/8"]), "198.51.100.1");
        assert_eq!(key("::ffff:10.0.0.5", &["2001:db8::7"], &["10.0.0.5"]), "2001:db8::/64");
        // Nothing forwarded, or garbage where the proxy's entry should be: the last trusted hop.
        assert_eq!(key("10.0.0.5", &[], &["10.0.0.5"]), "10.0.0.5");
        assert_eq!(key("10.0.0.5", &["198.51.100.1, nonsense"], &["10.0.0.5"]), "10.0.0.5");
        assert!(parse_trusted("10.0.0.0/33").is_err() && parse_trusted("proxy").is_err());
    }
}
