//! The server's integration suite: the real server on port 0 and the real
//! binary, on SQLite, or on PostgreSQL when `SI_TEST_DATABASE_URL` is set.

mod backchannel;
mod browser;
mod cli;
mod clients;
mod config;
mod demo;
mod desk;
mod desk_browser;
mod health;
mod interop;
mod keys;
mod mail;
mod migration;
mod oauth_security;
mod pages;
mod selfservice;
mod smtp;
mod support;
