//! OpenID Connect clients (relying parties and library systems).
// (filled in by the clients work)

use sea_orm::ConnectionTrait;

use crate::Clock;

pub struct Clients<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> Clients<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }
}
