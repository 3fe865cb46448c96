use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_throttle")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject: String,
    pub failures: i64,
    /// When the count was last whole: the last failure, or the moment the
    /// last one forgiven was due. Forgiveness counts from here.
    pub last_failure_at: i64,
    pub blocked_until: i64,
    /// Of `failures`, the attempts counted before their check that have
    /// not ended yet (see `throttle`).
    pub in_flight: i64,
    /// From when the attempts in flight leak away.
    pub in_flight_since: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
