use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "migrated_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    pub old_username: Option<String>,
    pub username_outcome: String,
    pub announced_at: Option<i64>,
    pub went_live_at: Option<i64>,
    /// [`crate::legacy_import::MergedLogins`] as JSON.
    pub merged_logins: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
