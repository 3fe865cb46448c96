//! Access to the repositories, the same on a plain connection and inside a
//! transaction, so an action and what it causes (an audit entry, a mail) can
//! commit together.

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::{
    Clock, Store, StoreError, account_links::AccountLinks, accounts::Accounts, audit::AuditLog,
    catalogue::Catalogue, clients::Clients, desk_requests::DeskRequests, grants::Grants,
    housekeeping::Housekeeping, legacy_import::LegacyImport, logout_queue::LogoutQueue,
    memberships::Memberships, outbox::Outbox, recovery_requests::RecoveryRequests, sessions::Sessions,
    signing_keys::SigningKeys, staff::Staff, throttle::Throttle,
};

/// Anything repositories can run on: the store itself or an open transaction.
pub trait Repositories {
    type Conn: ConnectionTrait;

    fn conn(&self) -> &Self::Conn;
    fn clock(&self) -> &dyn Clock;

    fn catalogue(&self) -> Catalogue<'_, Self::Conn> {
        Catalogue::new(self.conn(), self.clock())
    }
    fn account_links(&self) -> AccountLinks<'_, Self::Conn> {
        AccountLinks::new(self.conn(), self.clock())
    }
    fn accounts(&self) -> Accounts<'_, Self::Conn> {
        Accounts::new(self.conn(), self.clock())
    }
    fn memberships(&self) -> Memberships<'_, Self::Conn> {
        Memberships::new(self.conn(), self.clock())
    }
    fn audit(&self) -> AuditLog<'_, Self::Conn> {
        AuditLog::new(self.conn(), self.clock())
    }
    fn outbox(&self) -> Outbox<'_, Self::Conn> {
        Outbox::new(self.conn(), self.clock())
    }
    fn signing_keys(&self) -> SigningKeys<'_, Self::Conn> {
        SigningKeys::new(self.conn(), self.clock())
    }
    fn clients(&self) -> Clients<'_, Self::Conn> {
        Clients::new(self.conn(), self.clock())
    }
    fn sessions(&self) -> Sessions<'_, Self::Conn> {
        Sessions::new(self.conn(), self.clock())
    }
    fn throttle(&self) -> Throttle<'_, Self::Conn> {
        Throttle::new(self.conn(), self.clock())
    }
    fn grants(&self) -> Grants<'_, Self::Conn> {
        Grants::new(self.conn(), self.clock())
    }
    fn logout_queue(&self) -> LogoutQueue<'_, Self::Conn> {
        LogoutQueue::new(self.conn(), self.clock())
    }
    fn staff(&self) -> Staff<'_, Self::Conn> {
        Staff::new(self.conn(), self.clock())
    }
    fn desk_requests(&self) -> DeskRequests<'_, Self::Conn> {
        DeskRequests::new(self.conn(), self.clock())
    }
    fn legacy_import(&self) -> LegacyImport<'_, Self::Conn> {
        LegacyImport::new(self.conn(), self.clock())
    }
    fn recovery_requests(&self) -> RecoveryRequests<'_, Self::Conn> {
        RecoveryRequests::new(self.conn(), self.clock())
    }
    fn housekeeping(&self) -> Housekeeping<'_, Self::Conn> {
        Housekeeping::new(self.conn(), self.clock())
    }
}

impl Repositories for Store {
    type Conn = sea_orm::DatabaseConnection;

    fn conn(&self) -> &Self::Conn {
        &self.db
    }
    fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
}

/// A unit of work: everything done through it commits together or not at all.
pub struct Transaction<'s> {
    txn: DatabaseTransaction,
    clock: &'s dyn Clock,
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Store {
    /// Begins a transaction; on SQLite it first waits its turn as the writer,
    /// then takes SQLite's write lock at once (`BEGIN IMMEDIATE`). A deferred
    /// transaction that reads first could not turn into a writer once a
    /// statement outside it (a mail worker's update) had committed: SQLite
    /// answers that with `SQLITE_BUSY_SNAPSHOT` instead of waiting.
    pub async fn begin(&self) -> Result<Transaction<'_>, StoreError> {
        let writer = self.writer_turn().await;
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        Ok(Transaction {
            txn: self.db.begin_with_options(options).await?,
            clock: self.clock.as_ref(),
            _writer: writer,
        })
    }

    /// Waits until this process's SQLite writer is free; none on PostgreSQL.
    async fn writer_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.writer {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        }
    }
}

/// Statements that write but need no transaction (each is atomic by itself),
/// run while holding SQLite's writer turn: they queue with the transactions
/// instead of meeting them in SQLite's busy handler. Costs nothing on
/// PostgreSQL.
pub struct Writer<'s> {
    store: &'s Store,
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Store {
    pub async fn as_writer(&self) -> Writer<'_> {
        Writer {
            store: self,
            _writer: self.writer_turn().await,
        }
    }
}

impl Repositories for Writer<'_> {
    type Conn = sea_orm::DatabaseConnection;

    fn conn(&self) -> &Self::Conn {
        &self.store.db
    }
    fn clock(&self) -> &dyn Clock {
        self.store.clock.as_ref()
    }
}

impl Transaction<'_> {
    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.txn.commit().await?)
    }

    /// Undoes what it wrote, at once, before SQLite's writer turn passes
    /// on (dropping it rolls back too, but only when the connection is next
    /// used).
    pub async fn rollback(self) -> Result<(), StoreError> {
        Ok(self.txn.rollback().await?)
    }
}

impl Repositories for Transaction<'_> {
    type Conn = DatabaseTransaction;

    fn conn(&self) -> &Self::Conn {
        &self.txn
    }
    fn clock(&self) -> &dyn Clock {
        self.clock
    }
}
