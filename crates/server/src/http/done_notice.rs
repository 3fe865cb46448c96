//! What an action did, carried from its POST to the page it redirects to
//! (303 See Other): the desk's member page, the member's account page. So
//! the browser's history holds only GETs: Back and reload never offer to
//! send the action again. Each
//! action's notice has an id of its own, in the redirect's address
//! (`?done=<id>`) and in the name of the cookie that carries it (ours, so
//! `__Host-` and Secure behind https), SameSite=Strict, for one minute,
//! bound to that one member page, read once. Actions in two tabs, or sent
//! side by side, each find their own.

use axum::{
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Redirect, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::http::cookies;

const COOKIE_PREFIX: &str = "si_done_";

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

    /// A new notice id, and the `Set-Cookie` value that carries this notice
    /// under it to its page.
    pub fn cookie(&self) -> Option<(String, HeaderValue)> {
        let id = format!("{:016x}", rand::random::<u64>());
        let json = serde_json::to_vec(self).ok()?;
        let value = URL_SAFE_NO_PAD.encode(json);
        let cookie = HeaderValue::from_str(&format!(
            "{COOKIE_PREFIX}{id}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        ))
        .ok()?;
        Some((id, cookie))
    }

    /// The redirect (303) to the notice's page, carrying it when there is
    /// anything to tell.
    pub fn redirect(&self) -> Response {
        let told = (self.done.is_some() || self.noted.is_some())
            .then(|| self.cookie())
            .flatten();
        match told {
            Some((id, cookie)) => {
                let mut to_page = Redirect::to(&format!("{}?done={id}", self.page)).into_response();
                to_page.headers_mut().append(header::SET_COOKIE, cookie);
                to_page
            }
            None => Redirect::to(&self.page).into_response(),
        }
    }

    /// The notice with `id` the request brings for `page`, if any.
    pub fn brought_to(headers: &HeaderMap, id: &str, page: &str) -> Option<Self> {
        let value = cookies::value(headers, &cookie_name(id)?)?;
        let json = URL_SAFE_NO_PAD.decode(value).ok()?;
        serde_json::from_slice::<Self>(&json)
            .ok()
            .filter(|notice| notice.page == page)
    }

    /// The `Set-Cookie` value that ends the notice with `id` once shown.
    pub fn cleared(id: &str) -> Option<HeaderValue> {
        let name = cookie_name(id)?;
        HeaderValue::from_str(&format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")).ok()
    }
}

/// The cookie of notice `id`; none for an id that is not one of ours.
fn cookie_name(id: &str) -> Option<String> {
    (id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("{COOKIE_PREFIX}{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with(cookies: &[&HeaderValue]) -> HeaderMap {
        let pairs: Vec<&str> = cookies
            .iter()
            .map(|cookie| cookie.to_str().unwrap().split(';').next().unwrap())
            .collect();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&pairs.join("; ")).unwrap());
        headers
    }

    #[test]
    fn each_notice_reaches_its_own_page_under_its_own_id_only() {
        let page = "/frontoffice/DRE01/members/20000012345678";
        let linked = DoneNotice::for_page(
            page,
            Some("Gekoppeld; \"klaar\" — één".into()),
            vec!["Een mail gaat naar de eigenaar.".into()],
            None,
        );
        let resent = DoneNotice::for_page(page, None, Vec::new(), Some("Net verstuurd.".into()));
        let (linked_id, linked_cookie) = linked.cookie().unwrap();
        let (resent_id, resent_cookie) = resent.cookie().unwrap();
        assert_ne!(linked_id, resent_id);
        let headers = request_with(&[&linked_cookie, &resent_cookie]);
        assert_eq!(DoneNotice::brought_to(&headers, &linked_id, page), Some(linked));
        assert_eq!(DoneNotice::brought_to(&headers, &resent_id, page), Some(resent));
        assert_eq!(
            DoneNotice::brought_to(&headers, &linked_id, "/frontoffice/DRE01/members/20000087654321"),
            None
        );
        let cleared = DoneNotice::cleared(&linked_id).unwrap();
        assert!(
            cleared
                .to_str()
                .unwrap()
                .starts_with(&format!("si_done_{linked_id}=;"))
        );
    }

    #[test]
    fn an_id_or_a_cookie_that_is_not_ours_shows_nothing() {
        let page = "/frontoffice";
        let id = "0123456789abcdef";
        for value in ["", "%%%", "e30"] {
            let cookie = HeaderValue::from_str(&format!("si_done_{id}={value}")).unwrap();
            let headers = request_with(&[&cookie]);
            assert_eq!(DoneNotice::brought_to(&headers, id, page), None, "{value}");
        }
        for id in ["", "x", "0123456789abcdef0", "0123456789abcdeg", "../../etc"] {
            assert_eq!(DoneNotice::cleared(id), None, "{id}");
        }
    }
}
