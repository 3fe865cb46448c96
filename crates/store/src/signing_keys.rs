//! Signing keys of the OpenID Connect provider, shared by every node.
// (filled in by the keys work)

use sea_orm::ConnectionTrait;

use crate::Clock;

pub struct SigningKeys<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> SigningKeys<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }
}
