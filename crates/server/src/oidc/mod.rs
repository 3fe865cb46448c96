//! The OpenID Connect provider: discovery and keys, clients, the login page,
//! the authorization, token and userinfo endpoints, and logout.

pub mod authorize;
pub mod backchannel;
pub mod carry_on;
pub mod clients;
pub mod device;
pub mod discovery;
pub mod keys;
pub mod login;
pub mod logout;
pub mod revocation;
pub mod session;
pub mod token;
pub mod tokens;
pub mod userinfo;

use axum::{
    Router,
    http::{HeaderValue, StatusCode, header},
    response::IntoResponse,
    routing::{get, post},
};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            discovery::AUTHORIZATION_PATH,
            get(authorize::authorize).post(authorize::authorize_form),
        )
        .route("/login", get(login::show).post(login::submit))
        .route(
            discovery::INTROSPECTION_PATH,
            post(revocation::introspect).fallback(json_method_not_allowed),
        )
        .route(
            discovery::END_SESSION_PATH,
            get(logout::ask).post(logout::confirm),
        )
        .route(logout::LOGGED_OUT_PATH, get(logout::logged_out))
        .merge(for_browser_apps())
}

/// What a browser app (a public client) calls from its own page, so from
/// another origin: these answer CORS requests from any origin. None of them
/// reads a cookie, so an origin gains nothing it could not do from a server;
/// the pages a member sees (authorization, login, logout) are left out.
fn for_browser_apps() -> Router<AppState> {
    let any_origin = SetResponseHeaderLayer::overriding(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    // A bearer token's error code is only in this header (RFC 6750 §3),
    // which a script of another origin otherwise cannot read.
    let error_readable = SetResponseHeaderLayer::overriding(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("WWW-Authenticate"),
    );
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration).options(preflight),
        )
        // The same metadata where plain OAuth 2.0 clients look (RFC 8414 §3).
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::configuration).options(preflight),
        )
        .route(discovery::JWKS_PATH, get(keys::jwks_endpoint).options(preflight))
        .route(discovery::TOKEN_PATH, post(token::token).options(preflight))
        .route(
            discovery::USERINFO_PATH,
            get(userinfo::userinfo)
                .post(userinfo::userinfo_posted)
                .options(preflight),
        )
        .route(
            discovery::REVOCATION_PATH,
            post(revocation::revoke).options(preflight),
        )
        .method_not_allowed_fallback(json_method_not_allowed)
        .layer(any_origin)
        .layer(error_readable)
}

/// Endpoints that programs call answer a wrong method in JSON too.
async fn json_method_not_allowed() -> token::OAuthError {
    token::OAuthError::method_not_allowed()
}

/// A browser's preflight before it sends a request with an `Authorization`
/// header or a body: allowed, and it need not ask again within the hour.
async fn preflight() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "authorization, content-type",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "3600"),
        ],
    )
}
