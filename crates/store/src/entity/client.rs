use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub kind: String,
    pub secret_digest: Option<String>,
    /// JSON array of strings.
    pub redirect_uris: String,
    /// JSON array of strings.
    pub post_logout_redirect_uris: String,
    pub backchannel_logout_uri: Option<String>,
    /// JSON array of strings.
    pub grant_types: String,
    /// JSON array of strings.
    pub scopes: String,
    pub library_id: Option<i64>,
    pub id_token_algorithm: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
