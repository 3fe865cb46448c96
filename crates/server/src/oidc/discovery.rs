//! OpenID Provider metadata (OIDC Discovery 1.0, RFC 8414) at
//! `/.well-known/openid-configuration` and, for plain OAuth 2.0 clients,
//! `/.well-known/oauth-authorization-server`.

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::keys::SigningAlgorithm;
use crate::app::AppState;

pub const AUTHORIZATION_PATH: &str = "/authorize";
pub const TOKEN_PATH: &str = "/token";
pub const USERINFO_PATH: &str = "/userinfo";
pub const JWKS_PATH: &str = "/jwks";
pub const END_SESSION_PATH: &str = "/logout";
pub const REVOCATION_PATH: &str = "/revoke";
pub const INTROSPECTION_PATH: &str = "/introspect";

pub async fn configuration(State(state): State<AppState>) -> Response {
    let issuer = state.public_url.as_str();
    let algorithms: Vec<&str> = SigningAlgorithm::ALL.iter().map(|a| a.as_str()).collect();
    let document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZATION_PATH}"),
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "userinfo_endpoint": format!("{issuer}{USERINFO_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "end_session_endpoint": format!("{issuer}{END_SESSION_PATH}"),
        "revocation_endpoint": format!("{issuer}{REVOCATION_PATH}"),
        "introspection_endpoint": format!("{issuer}{INTROSPECTION_PATH}"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "library"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid",
            "preferred_username", "name", "email", "email_verified", "memberships"
        ],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "ui_locales_supported": ["nl", "en"],
        // Back-Channel Logout 1.0 §2.1: left out, both would mean false.
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    });
    let mut response = Json(document).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
