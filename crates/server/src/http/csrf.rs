//! Forms carry a token that must match the `si_csrf` cookie (double submit):
//! another site can make a browser post a form, but cannot read the cookie
//! to put its token in the form. A link on another site can still make
//! the browser open a page: [`sent_by_another_site`] tells those apart.

use axum::{
    http::{HeaderMap, HeaderValue, header},
    response::Response,
};
use si_credentials::secrets::{SecretToken, digest, verify_digest};

use super::cookies;

const COOKIE: &str = "si_csrf";
/// Length of a token as [`SecretToken`] writes it.
const TOKEN_CHARS: usize = 43;

/// The token a form page embeds, and the cookie to set if the browser had none.
pub struct FormToken {
    pub token: String,
    set_cookie: Option<HeaderValue>,
}

impl FormToken {
    /// The browser's token, or a new one.
    pub fn for_page(headers: &HeaderMap) -> Self {
        match cookies::value(headers, COOKIE).filter(|t| t.len() == TOKEN_CHARS) {
            Some(token) => Self {
                token: token.to_owned(),
                set_cookie: None,
            },
            None => {
                let token = SecretToken::generate()
                    .map(|t| t.expose().to_owned())
                    .unwrap_or_default();
                let value = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax");
                Self {
                    set_cookie: HeaderValue::from_str(&value).ok(),
                    token,
                }
            }
        }
    }

    /// Sets the cookie on the page's response, when it is new.
    pub fn attach(self, mut response: Response) -> Response {
        if let Some(set_cookie) = self.set_cookie {
            response.headers_mut().append(header::SET_COOKIE, set_cookie);
        }
        response
    }
}

/// Whether a posted form's token matches the browser's cookie.
pub fn is_valid(headers: &HeaderMap, posted: &str) -> bool {
    cookies::value(headers, COOKIE)
        .is_some_and(|token| !posted.is_empty() && verify_digest(posted, &digest(token)))
}

/// Whether the browser says another site sent this request (Fetch
/// Metadata's `Sec-Fetch-Site`): a link or a script elsewhere, rather than
/// our own pages, a bookmark or the address bar. A browser that sends no
/// such header is taken at its word.
pub fn sent_by_another_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|site| !matches!(site.as_bytes(), b"same-origin" | b"none"))
}
