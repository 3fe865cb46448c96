//! OpenID Connect clients (relying parties and library systems) as stored: the
//! rules about what a client may be live with the provider, not here.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, Statement,
};
use serde::Serialize;
use si_domain::{DisplayName, LibraryCode};
use time::OffsetDateTime;

use crate::{
    Clock, StoreError,
    accounts::millis_to_time,
    catalogue::{Catalogue, Library},
    entity::{authorization_code, client, library, refresh_family},
    error::parse_stored,
};

/// A client to store, already checked by the provider's registration rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    pub id: String,
    pub name: DisplayName,
    pub kind: String,
    /// SHA-256 hex digest of a confidential client's secret; never the secret.
    pub secret_digest: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    /// Resolved to the library's id on create; an unknown code is `NotFound`.
    pub library: Option<LibraryCode>,
    pub id_token_algorithm: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientRecord {
    pub id: String,
    pub name: DisplayName,
    pub kind: String,
    /// Needed to authenticate the client, never shown to anyone.
    #[serde(skip)]
    pub secret_digest: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub library: Option<Library>,
    pub id_token_algorithm: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub struct Clients<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> Clients<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    /// Stores the client; an id already in use is `StoreError::Duplicate`, an
    /// unknown library `StoreError::NotFound { what: "library" }`. Call it
    /// in a transaction, so that the client comes with a clean slate.
    pub async fn create(&self, new: NewClient) -> Result<ClientRecord, StoreError> {
        let library = match &new.library {
            Some(code) => Some(self.catalogue().library(code).await?),
            None => None,
        };
        let row = client::ActiveModel {
            id: Set(new.id),
            name: Set(new.name.as_str().to_owned()),
            kind: Set(new.kind),
            secret_digest: Set(new.secret_digest),
            redirect_uris: Set(to_json(&new.redirect_uris)),
            post_logout_redirect_uris: Set(to_json(&new.post_logout_redirect_uris)),
            backchannel_logout_uri: Set(new.backchannel_logout_uri),
            grant_types: Set(to_json(&new.grant_types)),
            scopes: Set(to_json(&new.scopes)),
            library_id: Set(library.as_ref().map(|l| l.id)),
            id_token_algorithm: Set(new.id_token_algorithm),
            created_at: Set(self.clock.now_millis()),
        }
        .insert(self.conn)
        .await
        .map_err(|e| StoreError::on_write("client", e))?;
        // Grants under this id are an earlier registration's: a node that
        // still held it in the second after its deletion may have given some.
        self.delete_grants(&row.id).await?;
        client_from_row(row, |_| library.clone())
    }

    /// `None` when no client has this id: callers at the protocol's edge
    /// answer that like any other refusal.
    pub async fn get(&self, id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let Some(row) = client::Entity::find_by_id(id.to_owned()).one(self.conn).await? else {
            return Ok(None);
        };
        // One library by id, not the whole catalogue: this runs on every token request.
        let library = match row.library_id {
            Some(library_id) => library::Entity::find_by_id(library_id)
                .one(self.conn)
                .await?
                .map(|row| {
                    Ok::<_, StoreError>(Library {
                        id: row.id,
                        code: parse_stored("library code", &row.code, LibraryCode::parse)?,
                        name: parse_stored("library name", &row.name, DisplayName::parse)?,
                    })
                })
                .transpose()?,
            None => None,
        };
        client_from_row(row, |_| library.clone()).map(Some)
    }

    /// Every client, ordered by id.
    pub async fn list(&self) -> Result<Vec<ClientRecord>, StoreError> {
        let rows = client::Entity::find()
            .order_by_asc(client::Column::Id)
            .all(self.conn)
            .await?;
        let libraries = self.libraries_by_id().await?;
        rows.into_iter()
            .map(|row| client_from_row(row, |id| libraries.get(&id).cloned()))
            .collect()
    }

    /// How many clients were ever deleted: a node that held a client may
    /// hold it no longer once this moved. (No client is changed in place,
    /// and one created was not held before.)
    pub async fn deletions(&self) -> Result<i64, StoreError> {
        let row = self
            .conn
            .query_one_raw(Statement::from_string(
                self.conn.get_database_backend(),
                "SELECT deleted FROM client_deletions",
            ))
            .await?
            .ok_or(StoreError::NotFound {
                what: "client deletions",
            })?;
        Ok(row.try_get::<i64>("", "deleted")?)
    }

    /// Deletes the client with the refresh tokens and codes it holds: a
    /// client made again under the same id must not inherit them. Call it
    /// in a transaction, so that all of it goes or none.
    pub async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let result = client::Entity::delete_by_id(id.to_owned())
            .exec(self.conn)
            .await?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound { what: "client" });
        }
        self.conn
            .execute_raw(Statement::from_string(
                self.conn.get_database_backend(),
                "UPDATE client_deletions SET deleted = deleted + 1",
            ))
            .await?;
        self.delete_grants(id).await
    }

    /// The refresh tokens and the codes in flight given to a client id.
    async fn delete_grants(&self, id: &str) -> Result<(), StoreError> {
        refresh_family::Entity::delete_many()
            .filter(refresh_family::Column::ClientId.eq(id))
            .exec(self.conn)
            .await?;
        authorization_code::Entity::delete_many()
            .filter(authorization_code::Column::ClientId.eq(id))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    fn catalogue(&self) -> Catalogue<'c, C> {
        Catalogue::new(self.conn, self.clock)
    }

    /// There are a few hundred libraries at most: one query for all of them
    /// beats one per client.
    async fn libraries_by_id(&self) -> Result<HashMap<i64, Library>, StoreError> {
        Ok(self
            .catalogue()
            .libraries()
            .await?
            .into_iter()
            .map(|library| (library.id, library))
            .collect())
    }
}

fn to_json(values: &[String]) -> String {
    serde_json::Value::from(values.to_vec()).to_string()
}

fn from_json(what: &'static str, text: &str) -> Result<Vec<String>, StoreError> {
    parse_stored(what, text, |t| serde_json::from_str(t))
}

fn client_from_row(
    row: client::Model,
    library: impl Fn(i64) -> Option<Library>,
) -> Result<ClientRecord, StoreError> {
    // library_id has no foreign key (libraries are never deleted), so a
    // dangling one means the row was edited by hand.
    let library = row
        .library_id
        .map(|id| {
            library(id).ok_or(StoreError::Corrupt {
                what: "client library",
                value: id.to_string(),
            })
        })
        .transpose()?;
    Ok(ClientRecord {
        name: parse_stored("client name", &row.name, DisplayName::parse)?,
        redirect_uris: from_json("redirect URIs", &row.redirect_uris)?,
        post_logout_redirect_uris: from_json("post-logout redirect URIs", &row.post_logout_redirect_uris)?,
        grant_types: from_json("grant types", &row.grant_types)?,
        scopes: from_json("scopes", &row.scopes)?,
        created_at: millis_to_time("created at", row.created_at)?,
        id: row.id,
        kind: row.kind,
        secret_digest: row.secret_digest,
        backchannel_logout_uri: row.backchannel_logout_uri,
        library,
        id_token_algorithm: row.id_token_algorithm,
    })
}
