//! The audit log: who did what, when, at which library, to which account.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use si_domain::AccountId;
use time::OffsetDateTime;

use crate::{Clock, StoreError, accounts::millis_to_time, catalogue::Library, entity::audit_entry};

/// One action to record. `detail` is a short JSON object with no secrets in it.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub library: Option<&'a Library>,
    pub account: Option<&'a AccountId>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub library_id: Option<i64>,
    pub account: Option<String>,
    pub detail: serde_json::Value,
}

impl AuditEntry {
    /// When, as RFC 3339 text in UTC with milliseconds always written, so
    /// that the entries of a list line up.
    pub fn at_rfc3339(&self) -> String {
        self.at
            .to_offset(time::UtcOffset::UTC)
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            ))
            .unwrap_or_default()
    }
}

/// Which entries to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter<'a> {
    pub library: Option<&'a Library>,
    pub account: Option<&'a AccountId>,
    pub limit: u64,
}

pub struct AuditLog<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> AuditLog<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    pub async fn record(&self, entry: NewAuditEntry<'_>) -> Result<i64, StoreError> {
        let row = audit_entry::ActiveModel {
            at: Set(self.clock.now_millis()),
            actor: Set(entry.actor.to_owned()),
            action: Set(entry.action.to_owned()),
            library_id: Set(entry.library.map(|l| l.id)),
            account_id: Set(entry.account.map(ToString::to_string)),
            detail: Set(entry.detail.to_string()),
            ..Default::default()
        }
        .insert(self.conn)
        .await?;
        Ok(row.id)
    }

    pub async fn list(&self, filter: AuditFilter<'_>) -> Result<Vec<AuditEntry>, StoreError> {
        let mut query = audit_entry::Entity::find()
            .order_by_desc(audit_entry::Column::At)
            .order_by_desc(audit_entry::Column::Id);
        if let Some(library) = filter.library {
            query = query.filter(audit_entry::Column::LibraryId.eq(library.id));
        }
        if let Some(account) = filter.account {
            query = query.filter(audit_entry::Column::AccountId.eq(account.to_string()));
        }
        query
            .limit(filter.limit.max(1))
            .all(self.conn)
            .await?
            .into_iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.id,
                    at: millis_to_time("audit time", row.at)?,
                    actor: row.actor,
                    action: row.action,
                    library_id: row.library_id,
                    account: row.account_id,
                    detail: serde_json::from_str(&row.detail)
                        .unwrap_or(serde_json::Value::String(row.detail)),
                })
            })
            .collect()
    }
}
