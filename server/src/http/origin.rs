//! Which web pages may open the MQTT WebSocket: the `Origin` allow-list.
//!
//! A browser lets any page open a WebSocket to any address, and the broker allows anonymous
//! clients by default, so without this check a page on another site could connect to
//! `ws://127.0.0.1:8080/mqtt` from a visitor's browser, read `#` and publish (cross-site
//! WebSocket hijacking). Browsers always send `Origin` on a WebSocket handshake, and a page
//! cannot forge it; non-browser clients usually send none, and are allowed.
//!
//! Allowed by default:
//! - the page's own origins: every HTTP/HTTPS listener's address and port;
//! - for a listener on an unspecified address (`0.0.0.0`, `::`), the address the browser
//!   used, when it is an IP literal or this machine's host name and equal to the request's
//!   `Host` (a class's phones opening `http://192.168.1.5:8080/`). A host *name* in general
//!   is not trusted by equality with `Host`: a DNS-rebinding page (`evil.example` resolved to
//!   this machine) passes that test;
//! - loopback origins on any port (`localhost`, `127.0.0.0/8`, `[::1]`): only a program on
//!   this machine can serve one, e.g. `trunk serve`'s proxy on 8081 during development.
//!
//! plus everything in `allowed_origins` (`"*"` allows any origin).

use std::net::{IpAddr, SocketAddr};

/// Scheme, lower-case host (IPv6 without brackets), port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

/// Parses `scheme://host[:port]` (what browsers send); `None` for anything else, including
/// the opaque origin `null`.
pub fn parse(text: &str) -> Option<Origin> {
    let (scheme, rest) = text.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    let (host, port) = split_host_port(rest)?;
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default_port,
    };
    Some(Origin {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// `host[:port]` or `[v6][:port]` → host (without brackets) and the port text.
fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            a => Some((host, Some(a.strip_prefix(':')?))),
        };
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h, Some(p))),
        Some(_) => None,
        None => Some((s, None)),
    }
}

/// The allow-list of one broker (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    any: bool,
    extra: Vec<Origin>,
    /// Scheme and address of each web listener, as bound.
    listeners: Vec<(&'static str, SocketAddr)>,
    /// This machine's host name, lower case.
    hostname: Option<String>,
}

impl OriginPolicy {
    /// `allowed_origins` entries must already be valid (`Config::validate`).
    pub fn new(
        allowed: &[String],
        http: SocketAddr,
        https: Option<SocketAddr>,
        hostname: Option<String>,
    ) -> OriginPolicy {
        let mut listeners = vec![("http", http)];
        listeners.extend(https.map(|a| ("https", a)));
        OriginPolicy {
            any: allowed.iter().any(|o| o == "*"),
            extra: allowed.iter().filter_map(|o| parse(o)).collect(),
            listeners,
            hostname: hostname.map(|h| h.to_ascii_lowercase()),
        }
    }

    /// Whether a WebSocket handshake with `origin` (the header's value, `None` when absent)
    /// and `host` (the `Host` header) may proceed.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        if self.any {
            return true;
        }
        let Some(o) = parse(origin) else {
            return false;
        };
        if self.extra.contains(&o) || is_loopback(&o.host) {
            return true;
        }
        let requested = host
            .and_then(split_host_port)
            .map(|(h, _)| h.to_ascii_lowercase());
        self.listeners.iter().any(|(scheme, addr)| {
            if o.scheme != *scheme || o.port != addr.port() {
                return false;
            }
            if o.host.parse::<IpAddr>().ok() == Some(addr.ip()) {
                return true;
            }
            addr.ip().is_unspecified()
                && requested.as_deref() == Some(o.host.as_str())
                && (o.host.parse::<IpAddr>().is_ok()
                    || self.hostname.as_deref() == Some(o.host.as_str()))
        })
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// This machine's host name (for listeners on unspecified addresses).
pub fn local_hostname() -> Option<String> {
    let name = rustix::system::uname().nodename().to_str().ok()?.to_owned();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_browser_origins() {
        let o = parse("http://LocalHost:8080").unwrap();
        assert_eq!(
            (o.scheme.as_str(), o.host.as_str(), o.port),
            ("http", "localhost", 8080)
        );
        assert_eq!(parse("https://app.example").unwrap().port, 443);
        assert_eq!(parse("http://[::1]:81").unwrap().host, "::1");
        assert!(parse("null").is_none());
        assert!(parse("ftp://x").is_none());
        assert!(parse("http://a/b").is_none());
        assert!(parse("http://a:99999").is_none());
    }

    #[test]
    fn own_origins_and_loopback_only_by_default() {
        let p = OriginPolicy::new(&[], addr("127.0.0.1:8080"), None, None);
        assert!(
            p.allows(None, Some("127.0.0.1:8080")),
            "no Origin: not a browser"
        );
        assert!(p.allows(Some("http://127.0.0.1:8080"), Some("127.0.0.1:8080")));
        assert!(p.allows(Some("http://localhost:8080"), Some("localhost:8080")));
        assert!(
            p.allows(Some("http://127.0.0.1:8081"), None),
            "trunk serve proxy"
        );
        assert!(!p.allows(Some("http://evil.example"), Some("127.0.0.1:8080")));
        // DNS rebinding: the page's host name resolves here and equals Host.
        assert!(!p.allows(Some("http://evil.example:8080"), Some("evil.example:8080")));
        assert!(!p.allows(Some("null"), Some("127.0.0.1:8080")));
    }

    #[test]
    fn unspecified_listener_allows_its_ip_literals_and_hostname() {
        let p = OriginPolicy::new(
            &[],
            addr("0.0.0.0:8080"),
            Some(addr("[::]:8443")),
            Some("Classroom-PC".into()),
        );
        assert!(p.allows(Some("http://192.168.1.5:8080"), Some("192.168.1.5:8080")));
        assert!(p.allows(Some("https://[fe80::1]:8443"), Some("[fe80::1]:8443")));
        assert!(p.allows(Some("http://classroom-pc:8080"), Some("classroom-pc:8080")));
        assert!(!p.allows(Some("http://192.168.1.9:8080"), Some("192.168.1.5:8080")));
        assert!(!p.allows(Some("http://192.168.1.5:9000"), Some("192.168.1.5:9000")));
        assert!(!p.allows(Some("http://evil.example:8080"), Some("evil.example:8080")));
    }

    #[test]
    fn configured_origins_and_star() {
        let p = OriginPolicy::new(
            &["https://app.example".into()],
            addr("127.0.0.1:8080"),
            None,
            None,
        );
        assert!(p.allows(Some("https://app.example"), Some("127.0.0.1:8080")));
        assert!(p.allows(Some("https://app.example:443"), None));
        assert!(
            !p.allows(Some("http://app.example"), None),
            "scheme differs"
        );
        let any = OriginPolicy::new(&["*".into()], addr("127.0.0.1:8080"), None, None);
        assert!(any.allows(Some("http://evil.example"), None));
    }
}
