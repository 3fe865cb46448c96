//! sea-orm entities: the rows as the database holds them. Private to the
//! store; repositories hand out their own record types.

pub mod account;
pub mod audit_entry;
pub mod branch;
pub mod client;
pub mod library;
pub mod membership;
pub mod outbox_mail;
pub mod signing_key;
pub mod subscription_type;
