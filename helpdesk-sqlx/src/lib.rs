//! # helpdesk-sqlx
//!
//! The Postgres implementation of helpdesk-core's [`Store`]: every guarantee of the store
//! contract comes from Postgres constraints and row versions, so any number of app instances
//! can share one database.
//!
//! * inbound idempotency: a unique index on `(channel_account_id, external_id)`;
//! * one live ticket per conversation: a partial unique index (`WHERE status <> 'closed'`);
//! * gap-free per-tenant numbers: a counter row bumped in the ticket's transaction (a rolled
//!   back transaction gives its number back);
//! * exact round robin and capacity: the queue and agent rows are versioned, and automatic
//!   assignment takes a transaction-scoped advisory lock per queue;
//! * events in an outbox table written in the change's transaction.
//!
//! ```no_run
//! # async fn run() -> helpdesk_core::Result<()> {
//! let store = helpdesk_sqlx::PgStore::connect("postgres://localhost/helpdesk").await?;
//! store.migrate().await?;
//! # Ok(()) }
//! ```

mod error;
mod listing;
mod tx;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::domain::party::{ChannelAccount, ChannelKind, Organization};
use helpdesk_core::ids::OrgId;
use helpdesk_core::store::{Store, StoreTx};
use helpdesk_core::{Error, Result};
use sqlx::postgres::{PgPool, PgPoolOptions};

pub use sqlx::migrate::Migrator;

/// The schema migrations. Run them at start-up (several instances may run them at once: the
/// migrator takes an advisory lock).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The Postgres store. Cheap to clone (shares the pool).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects with a pool of up to 10 connections.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(error::db)?;
        Ok(PgStore { pool })
    }

    /// Wraps an existing pool.
    pub fn from_pool(pool: PgPool) -> PgStore {
        PgStore { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs [`MIGRATOR`].
    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => error::db(e),
            e => Error::store("migration failed", false, e),
        })
    }
}

#[async_trait]
impl Store for PgStore {
    async fn begin(&self, org: OrgId) -> Result<Box<dyn StoreTx>> {
        let mut tx = self.pool.begin().await.map_err(error::db)?;
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM organizations WHERE id = $1")
            .bind(org.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(error::db)?;
        if exists.is_none() {
            return Err(Error::not_found("organization", org));
        }
        Ok(Box::new(tx::PgTx::new(org, tx)))
    }

    async fn create_organization(&self, org: &Organization) -> Result<()> {
        sqlx::query("INSERT INTO organizations (id, created_at, doc) VALUES ($1, $2, $3)")
            .bind(org.id.0)
            .bind(org.created_at)
            .bind(tx::to_doc(org)?)
            .execute(&self.pool)
            .await
            .map_err(error::db)?;
        Ok(())
    }

    async fn orgs_with_sla_due(&self, until: DateTime<Utc>) -> Result<Vec<OrgId>> {
        let v: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT DISTINCT org_id FROM tickets WHERE sla_wake_at <= $1 ORDER BY org_id",
        )
        .bind(until)
        .fetch_all(&self.pool)
        .await
        .map_err(error::db)?;
        Ok(v.into_iter().map(OrgId).collect())
    }

    async fn next_sla_wake(&self) -> Result<Option<DateTime<Utc>>> {
        sqlx::query_scalar("SELECT min(sla_wake_at) FROM tickets WHERE sla_wake_at IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(error::db)
    }

    async fn find_channel_account(
        &self,
        kind: ChannelKind,
        external_id: &str,
    ) -> Result<Option<ChannelAccount>> {
        let doc: Option<serde_json::Value> = sqlx::query_scalar(
            "SELECT doc FROM channel_accounts WHERE kind = $1 AND external_id = $2",
        )
        .bind(kind.as_str())
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(error::db)?;
        doc.map(|d| tx::from_doc("channel_accounts", d)).transpose()
    }
}
