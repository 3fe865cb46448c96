//! `client`: registering relying parties and library systems.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {}
