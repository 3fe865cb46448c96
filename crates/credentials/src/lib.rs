//! Password hashing, legacy verification and upgrade, random secrets: the CPU-only
//! credential primitives of Single Identity. Nothing here touches storage or policy.
//!
//! * [`hash_password`] makes an argon2id PHC string for a new or changed password.
//! * [`verify_password`] checks a password against any stored format the migration
//!   imports ([`HashFormat`]) and says whether the stored hash should be replaced.
//! * [`HashFormat::detect`] classifies and validates a stored hash without running it;
//!   [`HashCost`] names its settings and [`slowest_refusal`] times its worst refusal.
//! * [`HashingPool`] runs the above off the async runtime, bounded in concurrency.
//! * [`secrets`] makes random tokens and the digests the database keeps of them.

mod argon2id;
mod error;
mod format;
mod legacy;
mod normalize;
mod pool;
pub mod secrets;
mod verify;

pub use argon2id::{Argon2Params, dummy_verify, hash_password};
pub use error::CredentialError;
pub use format::{HashCost, HashFormat, MAX_PASSWORD_BYTES};
pub use normalize::normalized_password;
pub use pool::{Admission, HashingPool, MOST_HASHES_AT_ONCE};
pub use verify::{Verification, costliest_password, slowest_refusal, verify_password};
