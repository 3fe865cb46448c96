//! The OpenID Connect provider: discovery and keys, clients, the login page,
//! the authorization, token and userinfo endpoints, and logout.

pub mod authorize;
pub mod backchannel;
pub mod clients;
pub mod discovery;
pub mod keys;
pub mod login;
pub mod logout;
pub mod revocation;
pub mod session;
pub mod token;
pub mod tokens;
pub mod userinfo;

use std::time::Duration;

use axum::{
    Router,
    http::{Method, StatusCode, header},
    routing::{get, post},
};
use tower_http::cors::{Any, CorsLayer};

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            discovery::AUTHORIZATION_PATH,
            get(authorize::authorize).post(authorize::authorize_form),
        )
        .route("/login", get(login::show).post(login::submit))
        .route(discovery::INTROSPECTION_PATH, post(revocation::introspect))
        .route(
            discovery::END_SESSION_PATH,
            get(logout::ask).post(logout::confirm),
        )
        .merge(for_browser_apps())
}

/// What a browser app (a public client) calls from its own page, so from
/// another origin: these answer CORS requests from any origin. None of them
/// reads a cookie, so an origin gains nothing it could not do from a server;
/// the pages a member sees (authorization, login, logout) are left out.
fn for_browser_apps() -> Router<AppState> {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600));
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration).options(preflight),
        )
        .route(discovery::JWKS_PATH, get(keys::jwks_endpoint).options(preflight))
        .route(discovery::TOKEN_PATH, post(token::token).options(preflight))
        .route(
            discovery::USERINFO_PATH,
            get(userinfo::userinfo)
                .post(userinfo::userinfo)
                .options(preflight),
        )
        .route(
            discovery::REVOCATION_PATH,
            post(revocation::revoke).options(preflight),
        )
        .layer(cors)
}

/// `OPTIONS` must reach the CORS layer, which answers a browser's preflight
/// itself: the app's answer to a method a route lacks would come first.
async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}
