//! The address a request came from, for throttling: the connection's peer,
//! or, when that peer is one of the operator's own proxies (`trusted_proxies`),
//! the last address in `X-Forwarded-For` that is not one of them. A client
//! can write anything into the header; only what a trusted proxy appended
//! counts.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};
use serde::{Deserialize, Serialize};

use crate::app::AppState;

/// A network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`) or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or a network such as 10.0.0.0/8"))?;
        let longest = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => longest,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= longest)
                .ok_or_else(|| format!("{text:?} has a prefix length outside 0 to {longest}"))?,
        };
        Ok(Self { address, prefix })
    }

    pub fn contains(&self, candidate: IpAddr) -> bool {
        match (self.address, canonical(candidate)) {
            (IpAddr::V4(network), IpAddr::V4(candidate)) => same_prefix(
                u32::from(network).into(),
                u32::from(candidate).into(),
                32,
                self.prefix,
            ),
            (IpAddr::V6(network), IpAddr::V6(candidate)) => {
                same_prefix(u128::from(network), u128::from(candidate), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// An IPv4 peer on a dual-stack socket arrives as `::ffff:a.b.c.d`.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

fn same_prefix(network: u128, candidate: u128, bits: u8, prefix: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = u32::from(bits - prefix);
    network >> shift == candidate >> shift
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// The operator's proxies: written as a list, or as one string with commas.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ProxyList", into = "Vec<String>")]
pub struct TrustedProxies(Vec<Network>);

#[derive(Deserialize)]
#[serde(untagged)]
enum ProxyList {
    Commas(String),
    List(Vec<String>),
    /// `SI_TRUSTED_PROXIES=0` or `=1.5` reads as a number: refused below as
    /// the address it is not.
    Number(i64),
    Decimal(f64),
    Truth(bool),
}

impl TryFrom<ProxyList> for TrustedProxies {
    type Error = String;

    fn try_from(list: ProxyList) -> Result<Self, String> {
        let items: Vec<String> = match list {
            ProxyList::Commas(text) => text.split(',').map(str::to_owned).collect(),
            ProxyList::List(items) => items,
            ProxyList::Number(number) => vec![number.to_string()],
            ProxyList::Decimal(number) => vec![number.to_string()],
            ProxyList::Truth(truth) => vec![truth.to_string()],
        };
        let networks: Vec<Network> = items
            .iter()
            .filter(|item| !item.trim().is_empty())
            .map(|item| Network::parse(item))
            .collect::<Result<_, _>>()?;
        // Trusting every address (or a good part of the Internet) lets any
        // client write the address it is counted under (and logged as) into
        // `X-Forwarded-For`. No private network is wider than 10.0.0.0/8 or
        // fc00::/7.
        let too_wide = |network: &&Network| network.prefix < if network.address.is_ipv4() { 8 } else { 7 };
        if let Some(wide) = networks.iter().find(too_wide) {
            return Err(format!(
                "{wide} trusts every address or a good part of them, so any client could choose the address it is throttled under: name the proxies' own addresses or networks (none wider than /8, or /7 for IPv6)"
            ));
        }
        Ok(Self(networks))
    }
}

impl From<TrustedProxies> for Vec<String> {
    fn from(proxies: TrustedProxies) -> Self {
        proxies.0.iter().map(Network::to_string).collect()
    }
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(address))
    }

    /// Who sent the request that `peer` passed on with this `X-Forwarded-For`.
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_for
            .into_iter()
            .flat_map(|header| header.split(','))
            .rev()
            .map(|hop| parse_hop(hop.trim()).map(canonical));
        let mut client = peer;
        for hop in hops {
            match hop {
                Ok(address) => {
                    client = address;
                    if !self.trusts(address) {
                        break;
                    }
                }
                // Garbage before a trusted hop: stop at the last address we can vouch for.
                Err(_) => break,
            }
        }
        client
    }
}

/// One hop of `X-Forwarded-For`: an address, or one with its port
/// (`192.0.2.7:51234`, `[2001:db8::7]:51234`), as some proxies write it.
fn parse_hop(hop: &str) -> Result<IpAddr, std::net::AddrParseError> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|address| address.ip()))
}

/// The request's client address, see the module header.
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    /// What an address throttle counts: one IPv4 address, or the /64 of an
    /// IPv6 address. A household or a library is given a whole /64, so its
    /// other addresses must not be a fresh allowance each.
    pub fn throttle_subject(&self) -> String {
        let v6 = match self.0 {
            IpAddr::V4(v4) => return format!("ip:{v4}"),
            IpAddr::V6(v6) => v6,
        };
        if let Some(v4) = v6.to_ipv4_mapped() {
            return format!("ip:{v4}");
        }
        let [a, b, c, d, ..] = v6.segments();
        format!("ip:{a:x}:{b:x}:{c:x}:{d:x}::/64")
    }
}

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(address)| address.ip());
        // Read leniently: a byte a client put in its own part of the header
        // must not make the proxies' part unreadable (the client would then
        // be counted as the balancer).
        let forwarded_for = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()))
            .collect::<Vec<_>>()
            .join(",");
        let forwarded_for = (!forwarded_for.is_empty()).then_some(forwarded_for.as_str());
        Ok(Self(state.config.trusted_proxies.client(peer, forwarded_for)))
    }
}

#[cfg(test)]
mod tests {
    use super::{ClientAddress, Network, ProxyList, TrustedProxies};
    use std::net::IpAddr;

    #[test]
    fn an_ipv6_client_is_throttled_by_its_64_and_an_ipv4_one_by_its_address() {
        let subject = |text: &str| ClientAddress(ip(text)).throttle_subject();
        assert_eq!(subject("192.0.2.7"), "ip:192.0.2.7");
        assert_eq!(subject("::ffff:192.0.2.7"), "ip:192.0.2.7");
        assert_eq!(subject("2001:db8:0:1::7"), "ip:2001:db8:0:1::/64");
        assert_eq!(
            subject("2001:db8:0:1:ffff:ffff:ffff:fffe"),
            subject("2001:db8:0:1::7")
        );
        assert_ne!(subject("2001:db8:0:2::7"), subject("2001:db8:0:1::7"));
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies(text: &str) -> TrustedProxies {
        TrustedProxies::try_from(ProxyList::Commas(text.to_owned())).unwrap()
    }

    #[test]
    fn networks_match_by_prefix_in_both_families() {
        let network = Network::parse("10.1.0.0/16").unwrap();
        assert!(network.contains(ip("10.1.200.3")));
        assert!(network.contains(ip("::ffff:10.1.0.9")));
        assert!(!network.contains(ip("10.2.0.1")));
        assert!(
            Network::parse("2001:db8::/32")
                .unwrap()
                .contains(ip("2001:db8:1::5"))
        );
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.9")));
        assert!(Network::parse("192.0.2.7").unwrap().contains(ip("192.0.2.7")));
        for bad in ["10.0.0.0/33", "balancer", "10.0.0/8", "::/129"] {
            assert!(Network::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_what_trusted_proxies_appended_counts() {
        let trusted = proxies("10.0.0.0/8, 192.0.2.1");
        // No proxy configured or an untrusted peer: the header is ignored.
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.5"), Some("203.0.113.9")),
            ip("10.0.0.5")
        );
        assert_eq!(
            trusted.client(ip("198.51.100.4"), Some("203.0.113.9")),
            ip("198.51.100.4")
        );
        // Through the balancer: the address it saw.
        assert_eq!(
            trusted.client(ip("10.0.0.5"), Some("203.0.113.9")),
            ip("203.0.113.9")
        );
        // A client's own forged entries stay to the left of what the proxies wrote.
        assert_eq!(
            trusted.client(ip("10.0.0.5"), Some("1.2.3.4, 203.0.113.9, 192.0.2.1")),
            ip("203.0.113.9")
        );
        assert_eq!(
            trusted.client(ip("10.0.0.5"), Some("not-an-address, 10.0.0.7")),
            ip("10.0.0.7")
        );
        assert_eq!(trusted.client(ip("10.0.0.5"), None), ip("10.0.0.5"));
        // Proxies that write the port.
        assert_eq!(
            trusted.client(ip("10.0.0.5"), Some("203.0.113.9:51234")),
            ip("203.0.113.9")
        );
        assert_eq!(
            trusted.client(ip("10.0.0.5"), Some("[2001:db8::7]:443, 10.0.0.7:80")),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn trusting_every_address_is_refused() {
        for everyone in [
            "0.0.0.0/0",
            "10.0.0.1, ::/0",
            "0.0.0.0/1, 128.0.0.0/1",
            "2000::/3",
        ] {
            let refused = TrustedProxies::try_from(ProxyList::Commas(everyone.to_owned()));
            let message = refused.unwrap_err();
            assert!(message.contains("trusts every address"), "{message}");
        }
        for private in ["10.0.0.0/8", "fc00::/7", "192.168.0.0/16"] {
            assert!(
                TrustedProxies::try_from(ProxyList::Commas(private.to_owned())).is_ok(),
                "{private}"
            );
        }
    }
}
