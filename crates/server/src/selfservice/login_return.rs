//! The way back to a website's sign-in after "Wachtwoord vergeten?" or
//! "Gebruikersnaam vergeten?": the login page of that sign-in (`/login?…`,
//! the authorization request in its query) travels with the forgot page,
//! its form and the reset mail's link, so that the member logs in and goes
//! on to the website instead of landing on the account page.

/// The longest way back carried along; an authorization request is far shorter.
const LONGEST: usize = 2_000;

/// The login page to go back to, when a sign-in sent the member here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginReturn(Option<String>);

impl LoginReturn {
    /// Keeps only a login page of this site with a request in its query.
    pub fn from_given(given: Option<&str>) -> Self {
        Self(given.filter(|path| is_login_page(path)).map(str::to_owned))
    }

    /// The login page to go back to: the sign-in's, or the plain one.
    pub fn login_page(&self) -> &str {
        self.0.as_deref().unwrap_or("/login")
    }

    /// The value of the `return` field, empty when there is no sign-in.
    pub fn field(&self) -> &str {
        self.0.as_deref().unwrap_or_default()
    }

    /// `path` with `token` (when given) and the way back in its query.
    pub fn add_to(&self, path: &str, token: Option<&str>) -> String {
        let pairs: Vec<(&str, &str)> = token
            .map(|token| ("token", token))
            .into_iter()
            .chain(self.0.as_deref().map(|back| ("return", back)))
            .collect();
        if pairs.is_empty() {
            return path.to_owned();
        }
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

fn is_login_page(path: &str) -> bool {
    path.len() <= LONGEST
        && crate::http::is_local_path(path)
        && path
            .strip_prefix("/login?")
            .is_some_and(|query| !query.is_empty())
}

#[cfg(test)]
mod tests {
    use super::LoginReturn;

    #[test]
    fn only_a_login_page_of_this_site_with_a_request_is_a_way_back() {
        let request = "/login?client_id=website&redirect_uri=https%3A%2F%2Fbieb.example%2Fcb";
        assert_eq!(LoginReturn::from_given(Some(request)).login_page(), request);
        for not_one in [
            "/login",
            "/login?",
            "/account",
            "//evil.example/login?x=1",
            "https://evil.example/login?x=1",
            "/login?x=1 2",
            "/login?x=\\1",
        ] {
            let given = LoginReturn::from_given(Some(not_one));
            assert_eq!(given, LoginReturn::default(), "{not_one}");
            assert_eq!(given.login_page(), "/login");
        }
        let too_long = format!("/login?x={}", "a".repeat(2_000));
        assert_eq!(LoginReturn::from_given(Some(&too_long)), LoginReturn::default());
    }

    #[test]
    fn the_way_back_rides_along_in_a_query() {
        let back = LoginReturn::from_given(Some("/login?client_id=a&state=b"));
        assert_eq!(
            back.add_to("/reset-password", Some("t0k")),
            "/reset-password?token=t0k&return=%2Flogin%3Fclient_id%3Da%26state%3Db"
        );
        assert_eq!(
            back.add_to("/forgot-password", None),
            "/forgot-password?return=%2Flogin%3Fclient_id%3Da%26state%3Db"
        );
        let none = LoginReturn::default();
        assert_eq!(
            none.add_to("/reset-password", Some("t0k")),
            "/reset-password?token=t0k"
        );
        assert_eq!(none.add_to("/forgot-password", None), "/forgot-password");
    }
}
