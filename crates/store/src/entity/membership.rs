use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub library_id: i64,
    pub branch_id: i64,
    pub card_number: String,
    pub member_name: String,
    pub birth_date: TimeDate,
    pub email: Option<String>,
    pub subscription_type_id: i64,
    pub valid_until: TimeDate,
    pub account_id: Option<String>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
