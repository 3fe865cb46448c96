//! OpenID Connect clients as stored.
