//! What a member-page action did, carried from its POST to the member page
//! it redirects to (303 See Other), so that the browser's history holds
//! only GETs: Back and reload never offer to send the action again. It
//! travels in a cookie of our own (`__Host-` and Secure behind https),
//! SameSite=Strict, for one minute, bound to that one member page, and read
//! once.

use axum::http::{HeaderMap, HeaderValue};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::http::cookies;

const COOKIE: &str = "si_desk_done";

/// The notice of an action, in the language it was taken in.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DoneNotice {
    /// The member page it is for: another page does not show it.
    page: String,
    /// What was done, shown in the success style.
    pub done: Option<String>,
    /// What the desk tells the member after it.
    pub notes: Vec<String>,
    /// Nothing was done, and why that is fine.
    pub noted: Option<String>,
}

impl DoneNotice {
    pub fn for_page(page: &str, done: Option<String>, notes: Vec<String>, noted: Option<String>) -> Self {
        Self {
            page: page.to_owned(),
            done,
            notes,
            noted,
        }
    }

    /// The `Set-Cookie` value that carries this notice to its page.
    pub fn cookie(&self) -> Option<HeaderValue> {
        let json = serde_json::to_vec(self).ok()?;
        let value = URL_SAFE_NO_PAD.encode(json);
        HeaderValue::from_str(&format!(
            "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        ))
        .ok()
    }

    /// The notice the request brings for `page`, if any. Whether or not
    /// there is one, the page clears the cookie with [`Self::CLEARED`].
    pub fn brought_to(headers: &HeaderMap, page: &str) -> Option<Self> {
        let value = cookies::value(headers, COOKIE)?;
        let json = URL_SAFE_NO_PAD.decode(value).ok()?;
        serde_json::from_slice::<Self>(&json)
            .ok()
            .filter(|notice| notice.page == page)
    }

    /// Whether the request brings a notice cookie, for any page.
    pub fn is_brought(headers: &HeaderMap) -> bool {
        cookies::value(headers, COOKIE).is_some()
    }

    /// The `Set-Cookie` value that ends the notice once shown.
    pub const CLEARED: HeaderValue =
        HeaderValue::from_static("si_desk_done=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}

#[cfg(test)]
mod tests {
    use axum::http::header;

    use super::*;

    fn request_with(cookie: &HeaderValue) -> HeaderMap {
        let pair = cookie.to_str().unwrap().split(';').next().unwrap().to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        headers
    }

    #[test]
    fn a_notice_reaches_its_own_page_only() {
        let page = "/frontoffice/DRE01/members/20000012345678";
        let notice = DoneNotice::for_page(
            page,
            Some("Gekoppeld; \"klaar\" — één".into()),
            vec!["Een mail gaat naar de eigenaar.".into()],
            None,
        );
        let headers = request_with(&notice.cookie().unwrap());
        assert_eq!(DoneNotice::brought_to(&headers, page), Some(notice));
        assert_eq!(
            DoneNotice::brought_to(&headers, "/frontoffice/DRE01/members/20000087654321"),
            None
        );
        assert!(DoneNotice::is_brought(&headers));
    }

    #[test]
    fn a_cookie_that_does_not_read_as_a_notice_shows_nothing() {
        for value in ["si_desk_done=", "si_desk_done=%%%", "si_desk_done=e30"] {
            let headers = request_with(&HeaderValue::from_static(value));
            assert_eq!(DoneNotice::brought_to(&headers, "/frontoffice"), None, "{value}");
        }
    }
}
