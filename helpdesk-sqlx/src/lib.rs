//! # helpdesk-sqlx
//!
//! The Postgres implementation of helpdesk-core's [`Store`](helpdesk_core::store::Store): every guarantee of the store
//! contract comes from Postgres constraints and row versions, so any number of app instances
//! can share one database.
//!
//! * inbound idempotency: a unique index on `(channel_account_id, external_id)`;
//! * one live ticket per conversation: a partial unique index (`WHERE status <> 'closed'`);
//! * gap-free per-tenant numbers: a counter row bumped in the ticket's transaction (a rolled
//!   back transaction gives its number back);
//! * exact round robin and capacity: the queue and agent rows are versioned, and automatic
//!   assignment takes a transaction-scoped advisory lock per queue and reads the rotation,
//!   members and loads in the same call (`helpdesk_lock_queue`, migration 0003);
//! * events in an outbox table written in the change's transaction, claimed by relays in any
//!   instance with `FOR UPDATE SKIP LOCKED` and a lease, settled with the claim's token.
//!
//! ```no_run
//! # async fn run() -> helpdesk_core::Result<()> {
//! let store = helpdesk_sqlx::PgStore::connect("postgres://localhost/helpdesk").await?;
//! store.migrate().await?;
//! # Ok(()) }
//! ```

mod error;
mod inbound;
mod listing;
mod read_cache;
mod report;
mod tx;
mod write_behind;

/// How the schema's constraints map to the entities and keys errors name (checked against the
/// migrated schema by the tests).
#[doc(hidden)]
pub use error::{FOREIGN_KEYS, UNIQUE_KEYS};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::domain::party::{ChannelAccount, ChannelKind, Organization};
use helpdesk_core::domain::records::Event;
use helpdesk_core::ids::OrgId;
use helpdesk_core::store::{
    ClaimedEvent, EventClaim, EventOutcome, InboundFastPath, Outbox, Reporting, SlaSchedule,
    StoreCore, StoreTx,
};
use helpdesk_core::{Entity, Error, Result};
use sqlx::postgres::{PgPool, PgPoolOptions};

pub use sqlx::migrate::Migrator;

/// The schema migrations. Run them at start-up (several instances may run them at once: the
/// migrator takes an advisory lock).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The Postgres store: every trait of helpdesk-core's [`Store`](helpdesk_core::store::Store),
/// with all tenants in one schema, each row keyed by its organization. Cheap to clone (clones
/// share the pool).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    search_id_limit: i64,
    /// Reports running at once: each takes up to three connections, and the pool must keep
    /// room for the desk's own traffic (see `report`).
    report_slots: std::sync::Arc<tokio::sync::Semaphore>,
}

impl PgStore {
    /// Connects with a pool of up to 10 connections. Waiting for a connection gives up after
    /// 3 s with a retryable error, so a webhook answers 503 quickly while the database is down.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(std::time::Duration::from_secs(3))
            .connect(url)
            .await
            .map_err(error::db)?;
        Ok(PgStore::from_pool(pool))
    }

    /// Builds the store on a pool the application configured itself (size, timeouts, TLS).
    /// How many reports may run at once follows from the pool's maximum size, so reports
    /// always leave connections for the desk's own traffic. Run [`migrate`](Self::migrate)
    /// before the first transaction.
    pub fn from_pool(pool: PgPool) -> PgStore {
        let slots = report::slots(pool.options().get_max_connections());
        PgStore {
            pool,
            search_id_limit: listing::DEFAULT_SEARCH_ID_LIMIT,
            report_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(slots)),
        }
    }

    /// How many contacts a free search may match before the listing stops fetching tickets
    /// by contact id and checks each ticket in listing order instead (default 2,000). Both
    /// give the same results; the first is fast for narrow searches, the second for broad ones.
    pub fn with_search_id_limit(mut self, n: u32) -> PgStore {
        self.search_id_limit = i64::from(n);
        self
    }

    /// The connection pool the store runs on, for the application's own statements (health
    /// checks, its own tables); what runs through it is outside any store transaction.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Brings the database schema up to date by running [`MIGRATOR`]; safe at every start-up
    /// and from several instances at once. Fails with a store error; one raised by a
    /// migration's statement is mapped like any other database error.
    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => error::db(e),
            e => Error::store("migration failed", false, e),
        })
    }
}

#[async_trait]
impl StoreCore for PgStore {
    async fn begin(&self, org: OrgId) -> Result<Box<dyn StoreTx>> {
        let mut tx = self.pool.begin().await.map_err(error::db)?;
        let doc: Option<serde_json::Value> =
            sqlx::query_scalar("SELECT doc FROM organizations WHERE id = $1")
                .bind(org.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(error::db)?;
        let Some(doc) = doc else {
            return Err(Error::not_found(Entity::Organization, org));
        };
        Ok(Box::new(tx::PgTx::new(org, tx, doc, self.search_id_limit)))
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

#[async_trait]
impl Outbox for PgStore {
    async fn claim_events(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: chrono::Duration,
    ) -> Result<Vec<ClaimedEvent>> {
        let rows: Vec<(i64, uuid::Uuid, i32, serde_json::Value)> = sqlx::query_as(
            "WITH due AS (
                 SELECT seq FROM events
                 WHERE settled_at IS NULL
                   AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
                   AND (claimed_until IS NULL OR claimed_until <= $1)
                 ORDER BY seq
                 LIMIT $2
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE events e SET claimed_until = $3, claim_token = gen_random_uuid()
             FROM due WHERE e.seq = due.seq
             RETURNING e.seq, e.claim_token, e.attempts, e.doc",
        )
        .bind(now)
        .bind(i64::from(limit))
        .bind(now + lease)
        .fetch_all(&self.pool)
        .await
        .map_err(error::db)?;
        let mut rows = rows;
        rows.sort_by_key(|r| r.0);
        rows.into_iter()
            .map(|(_, token, attempts, doc)| {
                let event: Event = tx::from_doc("events", doc)?;
                Ok(ClaimedEvent {
                    claim: EventClaim {
                        event_id: event.id,
                        token,
                    },
                    event,
                    attempts: u32::try_from(attempts).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn settle_event(
        &self,
        claim: &EventClaim,
        outcome: &EventOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (settled, dead, failed, retry_at, err) = match outcome {
            EventOutcome::Delivered => (true, false, 0, None, None),
            EventOutcome::Retry { retry_at, error } => {
                (false, false, 1, Some(*retry_at), Some(error.as_str()))
            }
            EventOutcome::Dead { error } => (true, true, 1, None, Some(error.as_str())),
        };
        let done = sqlx::query(
            "UPDATE events SET claim_token = NULL, claimed_until = NULL,
                    settled_at = CASE WHEN $3 THEN $4 END, dead = $5,
                    attempts = attempts + $6, next_attempt_at = $7,
                    last_error = COALESCE($8, last_error)
             WHERE id = $1 AND claim_token = $2 AND settled_at IS NULL",
        )
        .bind(claim.event_id.0)
        .bind(claim.token)
        .bind(settled)
        .bind(now)
        .bind(dead)
        .bind(failed)
        .bind(retry_at)
        .bind(err)
        .execute(&self.pool)
        .await
        .map_err(error::db)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl SlaSchedule for PgStore {
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
}

#[async_trait]
impl Reporting for PgStore {
    async fn report(
        &self,
        org: OrgId,
        q: &helpdesk_core::store::report::ReportQuery,
    ) -> Result<helpdesk_core::store::report::Report> {
        report::report(&self.pool, &self.report_slots, org, q).await
    }
}

#[async_trait]
impl InboundFastPath for PgStore {
    async fn inbound_snapshot(
        &self,
        kind: ChannelKind,
        account_external_id: &str,
        whatsapp_id: &str,
        external_id: &str,
    ) -> Result<Option<helpdesk_core::store::inbound::InboundSnapshot>> {
        inbound::snapshot(
            &self.pool,
            kind,
            account_external_id,
            whatsapp_id,
            external_id,
        )
        .await
    }

    async fn write_inbound(
        &self,
        w: &helpdesk_core::store::inbound::InboundWrite,
    ) -> Result<helpdesk_core::store::inbound::InboundWritten> {
        inbound::write(&self.pool, w).await
    }
}
