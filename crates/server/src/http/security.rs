//! Security headers on every response: no framing, no sniffing, no referrer
//! leaks, a strict content security policy, and no caching unless the
//! response allows it (pages show personal data on a library's shared
//! computers); behind https, HSTS, the `Secure` attribute on every cookie
//! set, and the `__Host-` prefix on our own cookies.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, header},
    middleware::Next,
    response::Response,
};

/// Headers added to every response; `strict_transport` only behind https.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    strict_transport: bool,
}

impl SecurityHeaders {
    pub fn new(strict_transport: bool) -> Self {
        Self { strict_transport }
    }
}

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

pub async fn add_security_headers(
    State(policy): State<SecurityHeaders>,
    mut request: Request,
    next: Next,
) -> Response {
    if policy.strict_transport {
        take_off_host_prefix(request.headers_mut());
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::CACHE_CONTROL, "no-store");
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    if policy.strict_transport {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
        secure_cookies(headers);
    }
    response
}

/// Our own cookies (the session, the form token, the device, the language)
/// are named `__Host-si_…` behind https. A browser accepts such a cookie
/// only from this very host, over https, for every path: a site on a
/// sibling domain (`*.bibliotheek.example`) cannot plant a session or a
/// form token of its choosing in a member's browser. The handlers keep the
/// plain names: the prefix goes on here on the way out and comes off on the
/// way in.
const HOST_PREFIX: &str = "__Host-";
const OUR_COOKIES: &str = "si_";

/// The cookies a request brings, with ours under their plain names, and any
/// of ours that came without the prefix left out: only another site can
/// have set those. Cookies that are not plain text pass as they came.
fn take_off_host_prefix(headers: &mut HeaderMap) {
    if !headers.contains_key(header::COOKIE) {
        return;
    }
    let (prefix, ours) = (HOST_PREFIX.as_bytes(), OUR_COOKIES.as_bytes());
    let kept: Vec<&[u8]> = super::cookies::pairs(headers)
        .filter_map(|pair| match pair.strip_prefix(prefix) {
            Some(named) if named.starts_with(ours) => Some(named),
            _ if pair.starts_with(ours) => None,
            _ => Some(pair),
        })
        .collect();
    let kept = HeaderValue::from_bytes(&kept.join(&b"; "[..]));
    headers.remove(header::COOKIE);
    if let Ok(kept) = kept {
        headers.insert(header::COOKIE, kept);
    }
}

/// Every cookie set over https is sent back over https only, and ours
/// (all set for `Path=/` and no `Domain`) only to this host.
fn secure_cookies(headers: &mut HeaderMap) {
    let cookies: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).iter().cloned().collect();
    if cookies.is_empty() {
        return;
    }
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        let secured = match cookie.to_str() {
            Ok(text) => {
                let prefix = if text.starts_with(OUR_COOKIES) {
                    HOST_PREFIX
                } else {
                    ""
                };
                let already = text.split(';').any(|a| a.trim().eq_ignore_ascii_case("secure"));
                let secure = if already { "" } else { "; Secure" };
                HeaderValue::from_str(&format!("{prefix}{text}{secure}")).unwrap_or(cookie)
            }
            _ => cookie,
        };
        headers.append(header::SET_COOKIE, secured);
    }
}
