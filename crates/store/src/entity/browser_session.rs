use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "browser_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id_digest: String,
    /// The digest of the cookie's token now (none: the session's first).
    pub token_digest: Option<String>,
    /// The digest of the token the last renewal replaced, if any.
    pub previous_token_digest: Option<String>,
    pub account_id: String,
    pub created_at: i64,
    pub auth_time: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
