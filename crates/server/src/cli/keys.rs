//! `keys`: the provider's signing keys.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {}
