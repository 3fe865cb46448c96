//! The repository suite: runs on SQLite, or on PostgreSQL when
//! `SI_TEST_DATABASE_URL` is set. Each test gets a database of its own.

mod clients;
mod repositories;
mod signing_keys;
