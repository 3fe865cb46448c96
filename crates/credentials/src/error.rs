//! The one error type of the crate: every way a credential operation can fail.

use crate::HashFormat;

/// Why a credential operation failed. Messages never contain passwords, tokens or the
/// stored hash itself, so they are safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Empty, or a prefix none of the supported formats uses.
    #[error("not a recognised password hash format")]
    UnknownFormat,
    /// A format that is recognised on purpose but deliberately not verified.
    #[error("unsupported password hash format: {0}")]
    Unsupported(&'static str),
    /// The prefix names a supported format but the rest does not follow it.
    #[error("malformed {format} hash: {reason}")]
    Malformed {
        format: HashFormat,
        reason: &'static str,
    },
    /// Well-formed, but verifying it would cost more memory or time than we allow a
    /// single login, so a hostile or corrupt row cannot stall or exhaust the server.
    #[error("{format} hash parameters exceed the verification budget: {reason}")]
    TooExpensive {
        format: HashFormat,
        reason: &'static str,
    },
    #[error("password is longer than {max} bytes")]
    PasswordTooLong { max: usize },
    #[error("invalid argon2 parameters: {0}")]
    InvalidParams(&'static str),
    #[error("the operating system's random number generator failed")]
    Randomness,
    #[error("argon2 hashing failed: {0}")]
    Hashing(String),
    #[error("the hashing worker stopped before finishing")]
    WorkerLost,
}

impl CredentialError {
    pub(crate) fn malformed(format: HashFormat, reason: &'static str) -> Self {
        Self::Malformed { format, reason }
    }

    pub(crate) fn too_expensive(format: HashFormat, reason: &'static str) -> Self {
        Self::TooExpensive { format, reason }
    }
}
