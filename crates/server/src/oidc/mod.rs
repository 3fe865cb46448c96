//! The OpenID Connect provider: signing keys, clients, and (to come) the
//! login, authorization, token, userinfo and logout endpoints.

pub mod clients;
pub mod keys;
