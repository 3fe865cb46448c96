//! The repository suite: runs on SQLite, or on PostgreSQL when
//! `SI_TEST_DATABASE_URL` is set. Each test gets a database of its own.

/// The default `oidc.refresh_max_days`: the longest a login's refresh
/// tokens live, from its `auth_time`.
const LOGIN_LIFETIME: si_store::time::Duration = si_store::time::Duration::days(365);

mod clients;
mod repositories;
mod signing_keys;
