//! Storage for Single Identity: one schema, one migration source and one set of
//! repositories that run unchanged on SQLite and PostgreSQL.

mod clock;
mod database;
mod entity;
mod error;
mod migrations;
mod repositories;
mod work_queue;

pub mod account_links;
pub mod accounts;
pub mod audit;
pub mod catalogue;
pub mod clients;
pub mod desk_requests;
pub mod grants;
pub mod housekeeping;
pub mod legacy_import;
pub mod logout_queue;
pub mod memberships;
pub mod outbox;
pub mod recovery_requests;
pub mod sessions;
pub mod signing_keys;
pub mod staff;
#[cfg(feature = "testing")]
pub mod testing;
pub mod throttle;

pub use clock::{Clock, FixedClock, SystemClock};
pub use database::{Backend, Store, Workload, missing_sqlite_file, redact_url, sqlite_path, url_problem};
pub use error::StoreError;
pub use migrations::Schema;
pub use repositories::{Repositories, Transaction, Writer};
pub use time;
