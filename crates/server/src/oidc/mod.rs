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

use axum::{
    Router,
    routing::{get, post},
};

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery::configuration))
        .route(discovery::JWKS_PATH, get(keys::jwks_endpoint))
        .route(
            discovery::AUTHORIZATION_PATH,
            get(authorize::authorize).post(authorize::authorize_form),
        )
        .route("/login", get(login::show).post(login::submit))
        .route(discovery::TOKEN_PATH, post(token::token))
        .route(
            discovery::USERINFO_PATH,
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(discovery::REVOCATION_PATH, post(revocation::revoke))
        .route(discovery::INTROSPECTION_PATH, post(revocation::introspect))
        .route(
            discovery::END_SESSION_PATH,
            get(logout::ask).post(logout::confirm),
        )
}
