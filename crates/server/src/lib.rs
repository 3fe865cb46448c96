//! Single Identity: one login account per library member, for every library
//! service. This crate is the binary's library: configuration, the HTTP
//! application and the command line.

pub mod app;
pub mod backoff;
pub mod cli;
pub mod config;
pub mod demo;
pub mod frontoffice;
pub mod health;
pub mod http;
pub mod json_fields;
pub mod mail;
pub mod migration;
pub mod oidc;
pub mod private_dir;
pub mod selfservice;
