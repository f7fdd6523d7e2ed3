//! One store transaction: every `StoreTx` primitive in SQL, scoped to the tenant.

use crate::error::{bad_row, db};
use crate::read_cache::ReadCache;
use crate::write_behind::WriteBehind;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::domain::board::{Category, Stage};
use helpdesk_core::domain::canned::CannedResponse;
use helpdesk_core::domain::message::Message;
use helpdesk_core::domain::party::{
    ChannelAccount, Contact, ContactKey, Conversation, Organization,
};
use helpdesk_core::domain::records::{AssignmentCycle, AuditEntry, Event, Sale};
use helpdesk_core::domain::team::{Agent, Queue, QueueMember};
use helpdesk_core::domain::text::fold;
use helpdesk_core::domain::ticket::Ticket;
use helpdesk_core::ids::*;
use helpdesk_core::sla::SlaPolicy;
use helpdesk_core::store::query::{TicketPage, TicketQuery};
use helpdesk_core::store::{
    ContactTx, LockKey, MessageTx, RecordTx, SettingsTx, StoreTx, TeamTx, TicketTx,
};
use helpdesk_core::{Entity, Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::{Postgres, Transaction};

/// A domain value as its stored document.
pub(crate) fn to_doc<T: Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::store("cannot encode document", false, e))
}

/// A stored document as a domain value.
pub(crate) fn from_doc<T: DeserializeOwned>(table: &str, v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| bad_row(table, e))
}

/// `SELECT doc …` returning at most one row, decoded.
macro_rules! doc_opt {
    ($self:ident, $table:literal, $sql:literal $(, $b:expr)* $(,)?) => {{
        let d: Option<Value> = sqlx::query_scalar($sql)$(.bind($b))*.fetch_optional(&mut *$self.tx).await.map_err(db)?;
        d.map(|d| from_doc($table, d)).transpose()
    }};
}

/// `SELECT doc …` returning rows, decoded.
macro_rules! doc_all {
    ($self:ident, $table:literal, $sql:literal $(, $b:expr)* $(,)?) => {{
        let d: Vec<Value> = sqlx::query_scalar($sql)$(.bind($b))*.fetch_all(&mut *$self.tx).await.map_err(db)?;
        d.into_iter().map(|d| from_doc($table, d)).collect::<Result<Vec<_>>>()
    }};
}

/// Executes a statement; evaluates to the number of rows affected.
macro_rules! exec {
    ($self:ident, $sql:literal $(, $b:expr)* $(,)?) => {{
        sqlx::query($sql)$(.bind($b))*.execute(&mut *$self.tx).await.map_err(db)?.rows_affected()
    }};
}

/// Takes the tenant's next ticket number (`$1` the organization) as `number`: the counter row
/// is locked until the transaction ends, so creators of one tenant take numbers in turn, and
/// a rollback gives the number back (no gaps).
macro_rules! take_ticket_number {
    () => {
        "INSERT INTO ticket_counters (org_id, next_number)
         VALUES ($1, (SELECT (doc->>'first_ticket_number')::bigint FROM organizations WHERE id = $1) + 1)
         ON CONFLICT (org_id) DO UPDATE SET next_number = ticket_counters.next_number + 1
         RETURNING next_number - 1 AS number"
    };
}

/// The columns of a ticket insert, bound as `$1`–`$24` by `insert_ticket_row`.
macro_rules! ticket_insert_columns {
    () => {
        "org_id, id, number, conversation_id, contact_id, created_at, version, status, priority,
         queue_id, assignee_id, stage_id, utm_source, utm_source_key, source_type, sla_wake_at,
         doc, click_kinds, first_response_at, first_response_bsecs, resolved_at,
         resolution_bsecs, rating, rated_at"
    };
}

/// The `SET` list of a ticket update; its parameters are bound by [`bind_ticket_update`]
/// (`$1` org, `$2` id, `$3` new version, `$4`–`$20` the projected columns and the document).
macro_rules! ticket_update_set {
    () => {
        "status = $4, priority = $5, queue_id = $6, assignee_id = $7, stage_id = $8, utm_source = $9,
         utm_source_key = $10, source_type = $11, sla_wake_at = $12, version = $3, doc = $13,
         click_kinds = $14, first_response_at = $15, first_response_bsecs = $16, resolved_at = $17,
         resolution_bsecs = $18, rating = $19, rated_at = $20"
    };
}
pub(crate) use ticket_update_set;

pub(crate) struct PgTx {
    org: OrgId,
    pub(crate) tx: Transaction<'static, Postgres>,
    /// The organization's document, read by `begin` (which must check the tenant exists
    /// anyway): `organization()` costs no round trip.
    org_doc: Value,
    pub(crate) search_id_limit: i64,
    /// Writes not sent yet (see `write_behind`).
    wb: WriteBehind,
    /// Configuration read already (see `read_cache`).
    cache: ReadCache,
}

impl PgTx {
    pub(crate) fn new(
        org: OrgId,
        tx: Transaction<'static, Postgres>,
        org_doc: Value,
        search_id_limit: i64,
    ) -> PgTx {
        PgTx {
            org,
            tx,
            org_doc,
            search_id_limit,
            wb: WriteBehind::default(),
            cache: ReadCache::default(),
        }
    }

    /// Sends the writes kept back, before a statement that could see them.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        self.wb.flush(self.org, &mut self.tx).await
    }

    /// Locks a queue and reads, in the same round trip and under the lock, what automatic
    /// assignment reads next: the queue, its members and their agents. They go into the read
    /// cache, so those reads cost nothing; a queue or agent that is missing is left out, and
    /// its read reports it as usual.
    async fn lock_queue(&mut self, q: QueueId) -> Result<()> {
        // The cache is filled from the database: kept-back team changes go first.
        self.flush_team().await?;
        let (queue, members, agents): (Option<Value>, Vec<Value>, Vec<Value>) =
            sqlx::query_as("SELECT * FROM helpdesk_lock_queue($1, $2, $3)")
                .bind(lock_key(LockKey::Queue(q)))
                .bind(self.org.0)
                .bind(q.0)
                .fetch_one(&mut *self.tx)
                .await
                .map_err(db)?;
        let Some(queue) = queue else {
            return Ok(());
        };
        self.cache.queues.insert(q, from_doc("queues", queue)?);
        let members = members
            .into_iter()
            .map(|d| from_doc("queue_members", d))
            .collect::<Result<Vec<QueueMember>>>()?;
        self.cache.members.insert(q, members);
        for d in agents {
            let a: Agent = from_doc("agents", d)?;
            self.cache.agents.insert(a.id, a);
        }
        Ok(())
    }

    /// Inserts a ticket (at version 1) with `sql`, which binds the columns of
    /// [`ticket_insert_columns`] as `$1`–`$24` and returns the row's number.
    async fn insert_ticket_row(&mut self, t: &Ticket, sql: &'static str) -> Result<u64> {
        // A kept-back change (a closed ticket of this transaction) must be in place before
        // the unique indexes judge this row.
        self.flush_rows().await?;
        let t = Ticket {
            org_id: self.org,
            version: 1,
            ..t.clone()
        };
        let q = sqlx::query(sql)
            .bind(self.org.0)
            .bind(t.id.0)
            .bind(t.number as i64)
            .bind(t.conversation_id.0)
            .bind(t.contact_id.0)
            .bind(t.created_at)
            .bind(1i64);
        let row = TicketColumns::of(&t)?
            .bind(q)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db)?;
        self.wb.ticket_inserted(t.id);
        number(sqlx::Row::try_get(&row, 0).map_err(db)?)
    }

    /// Flushes when changes of tickets or conversations this transaction inserted are kept
    /// back (before reading or inserting those; appended rows do not change what they read).
    async fn flush_rows(&mut self) -> Result<()> {
        if self.wb.has_row_changes() {
            self.flush().await?;
        }
        Ok(())
    }

    /// Flushes when queue, agent or membership changes are kept back (before reading those
    /// tables from the database).
    async fn flush_team(&mut self) -> Result<()> {
        if self.wb.has_team_changes() {
            self.flush().await?;
        }
        Ok(())
    }

    /// Flushes when outbound messages are kept back (before reading or writing messages).
    async fn flush_messages(&mut self) -> Result<()> {
        if self.wb.has_messages() {
            self.flush().await?;
        }
        Ok(())
    }

    fn found<T>(v: Option<T>, entity: Entity, id: impl std::fmt::Display) -> Result<T> {
        v.ok_or_else(|| Error::not_found(entity, id))
    }

    /// After a versioned update matched nothing: unknown row, or someone changed it first.
    async fn stale_or_missing(
        &mut self,
        table_exists: bool,
        entity: Entity,
        id: impl std::fmt::Display,
    ) -> Result<()> {
        if table_exists {
            Err(Error::conflict(
                entity,
                "changed by someone else first (stale version)",
            ))
        } else {
            Err(Error::not_found(entity, id))
        }
    }
}

fn lock_key(k: LockKey) -> i64 {
    let (tag, u): (u64, uuid::Uuid) = match k {
        LockKey::Queue(q) => (1, q.0),
        LockKey::Conversation(c) => (2, c.0),
    };
    let v = u.as_u128();
    ((v >> 64) as u64 ^ v as u64 ^ tag.rotate_left(56)) as i64
}

#[async_trait]
impl StoreTx for PgTx {
    fn org_id(&self) -> OrgId {
        self.org
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        self.flush().await?;
        self.tx.commit().await.map_err(db)
    }

    async fn lock(&mut self, key: LockKey) -> Result<()> {
        // What was read before the lock may have changed until it was granted (reads that
        // miss the cache send the changes kept back first, so they find them).
        self.cache.clear();
        if let LockKey::Queue(q) = key {
            return self.lock_queue(q).await;
        }
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(lock_key(key))
            .execute(&mut *self.tx)
            .await
            .map_err(db)?;
        Ok(())
    }
}

#[async_trait]
impl SettingsTx for PgTx {
    async fn organization(&mut self) -> Result<Organization> {
        from_doc("organizations", self.org_doc.clone())
    }

    async fn update_organization(&mut self, org: &Organization) -> Result<()> {
        if org.id != self.org {
            return Err(Error::not_found(Entity::Organization, org.id));
        }
        exec!(
            self,
            "UPDATE organizations SET doc = $2 WHERE id = $1",
            org.id.0,
            to_doc(org)?
        );
        self.org_doc = to_doc(org)?;
        Ok(())
    }

    async fn channel_accounts(&mut self) -> Result<Vec<ChannelAccount>> {
        doc_all!(
            self,
            "channel_accounts",
            "SELECT doc FROM channel_accounts WHERE org_id = $1 ORDER BY created_at, id",
            self.org.0
        )
    }

    async fn channel_account(&mut self, id: ChannelAccountId) -> Result<ChannelAccount> {
        let v = doc_opt!(
            self,
            "channel_accounts",
            "SELECT doc FROM channel_accounts WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        )?;
        Self::found(v, Entity::ChannelAccount, id)
    }

    async fn insert_channel_account(&mut self, a: &ChannelAccount) -> Result<()> {
        let a = ChannelAccount {
            org_id: self.org,
            ..a.clone()
        };
        exec!(
            self,
            "INSERT INTO channel_accounts (org_id, id, kind, external_id, created_at, doc) VALUES ($1, $2, $3, $4, $5, $6)",
            self.org.0,
            a.id.0,
            a.kind.as_str(),
            a.external_id.clone(),
            a.created_at,
            to_doc(&a)?
        );
        Ok(())
    }

    async fn stages(&mut self) -> Result<Vec<Stage>> {
        if let Some(v) = &self.cache.stages {
            return Ok(v.clone());
        }
        let v: Vec<Stage> = doc_all!(
            self,
            "stages",
            "SELECT doc FROM stages WHERE org_id = $1 ORDER BY position, created_at, id",
            self.org.0
        )?;
        self.cache.stages = Some(v.clone());
        Ok(v)
    }

    async fn update_stage(&mut self, s: &Stage) -> Result<()> {
        self.cache.stages = None;
        let n = exec!(
            self,
            "UPDATE stages SET name_key = $3, position = $4, doc = $5 WHERE org_id = $1 AND id = $2",
            self.org.0,
            s.id.0,
            s.name.to_lowercase(),
            s.position,
            to_doc(&Stage {
                org_id: self.org,
                ..s.clone()
            })?
        );
        if n == 0 {
            return Err(Error::not_found(Entity::Stage, s.id));
        }
        Ok(())
    }

    async fn delete_stage(&mut self, id: StageId) -> Result<()> {
        self.flush().await?;
        self.cache.stages = None;
        let n = exec!(
            self,
            "DELETE FROM stages WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        );
        if n == 0 {
            return Err(Error::not_found(Entity::Stage, id));
        }
        Ok(())
    }

    async fn insert_stage(&mut self, s: &Stage) -> Result<()> {
        self.cache.stages = None;
        let s = Stage {
            org_id: self.org,
            ..s.clone()
        };
        exec!(
            self,
            "INSERT INTO stages (org_id, id, name_key, position, created_at, doc) VALUES ($1, $2, $3, $4, $5, $6)",
            self.org.0,
            s.id.0,
            s.name.to_lowercase(),
            s.position,
            s.created_at,
            to_doc(&s)?
        );
        Ok(())
    }

    async fn categories(&mut self) -> Result<Vec<Category>> {
        doc_all!(
            self,
            "categories",
            "SELECT doc FROM categories WHERE org_id = $1 ORDER BY doc->>'name' COLLATE \"C\"",
            self.org.0
        )
    }

    async fn insert_category(&mut self, c: &Category) -> Result<()> {
        let c = Category {
            org_id: self.org,
            ..c.clone()
        };
        exec!(
            self,
            "INSERT INTO categories (org_id, id, name_key, doc) VALUES ($1, $2, $3, $4)",
            self.org.0,
            c.id.0,
            c.name.to_lowercase(),
            to_doc(&c)?
        );
        Ok(())
    }

    async fn canned_responses(&mut self) -> Result<Vec<CannedResponse>> {
        doc_all!(
            self,
            "canned_responses",
            "SELECT doc FROM canned_responses WHERE org_id = $1 ORDER BY shortcut COLLATE \"C\"",
            self.org.0
        )
    }

    async fn canned_by_shortcut(&mut self, shortcut: &str) -> Result<Option<CannedResponse>> {
        doc_opt!(
            self,
            "canned_responses",
            "SELECT doc FROM canned_responses WHERE org_id = $1 AND shortcut = $2",
            self.org.0,
            shortcut.to_owned()
        )
    }

    async fn insert_canned(&mut self, c: &CannedResponse) -> Result<()> {
        let c = CannedResponse {
            org_id: self.org,
            ..c.clone()
        };
        exec!(
            self,
            "INSERT INTO canned_responses (org_id, id, shortcut, doc) VALUES ($1, $2, $3, $4)",
            self.org.0,
            c.id.0,
            c.shortcut.clone(),
            to_doc(&c)?
        );
        Ok(())
    }

    async fn delete_canned(&mut self, id: CannedResponseId) -> Result<()> {
        let n = exec!(
            self,
            "DELETE FROM canned_responses WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        );
        if n == 0 {
            return Err(Error::not_found(Entity::CannedResponse, id));
        }
        Ok(())
    }

    async fn sla_policies(&mut self) -> Result<Vec<SlaPolicy>> {
        if let Some(v) = &self.cache.sla_policies {
            return Ok(v.clone());
        }
        let v: Vec<SlaPolicy> = doc_all!(
            self,
            "sla_policies",
            "SELECT doc FROM sla_policies WHERE org_id = $1 ORDER BY created_at, id",
            self.org.0
        )?;
        self.cache.sla_policies = Some(v.clone());
        Ok(v)
    }

    async fn insert_sla_policy(&mut self, p: &SlaPolicy) -> Result<()> {
        self.cache.sla_policies = None;
        let p = SlaPolicy {
            org_id: self.org,
            ..p.clone()
        };
        exec!(
            self,
            "INSERT INTO sla_policies (org_id, id, name_key, created_at, doc) VALUES ($1, $2, $3, $4, $5)",
            self.org.0,
            p.id.0,
            p.name.to_lowercase(),
            p.created_at,
            to_doc(&p)?
        );
        Ok(())
    }

    async fn delete_sla_policy(&mut self, id: SlaPolicyId) -> Result<()> {
        self.flush().await?;
        self.cache.sla_policies = None;
        let n = exec!(
            self,
            "DELETE FROM sla_policies WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        );
        if n == 0 {
            return Err(Error::not_found(Entity::SlaPolicy, id));
        }
        Ok(())
    }

    async fn update_sla_policy(&mut self, p: &SlaPolicy) -> Result<()> {
        self.cache.sla_policies = None;
        let p = SlaPolicy {
            org_id: self.org,
            ..p.clone()
        };
        let n = exec!(
            self,
            "UPDATE sla_policies SET name_key = $3, doc = $4 WHERE org_id = $1 AND id = $2",
            self.org.0,
            p.id.0,
            p.name.to_lowercase(),
            to_doc(&p)?
        );
        if n == 0 {
            return Err(Error::not_found(Entity::SlaPolicy, p.id));
        }
        Ok(())
    }
}

#[async_trait]
impl TeamTx for PgTx {
    async fn queue(&mut self, id: QueueId) -> Result<Queue> {
        if let Some(q) = self.cache.queues.get(&id) {
            return Ok(q.clone());
        }
        self.flush_team().await?;
        let v: Option<Queue> = doc_opt!(
            self,
            "queues",
            "SELECT doc FROM queues WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        )?;
        let q = Self::found(v, Entity::Queue, id)?;
        self.cache.queues.insert(id, q.clone());
        Ok(q)
    }

    async fn queues(&mut self) -> Result<Vec<Queue>> {
        self.flush_team().await?;
        let v: Vec<Queue> = doc_all!(
            self,
            "queues",
            "SELECT doc FROM queues WHERE org_id = $1 ORDER BY created_at, id",
            self.org.0
        )?;
        for q in &v {
            self.cache.queues.insert(q.id, q.clone());
        }
        Ok(v)
    }

    async fn insert_queue(&mut self, q: &Queue) -> Result<()> {
        self.flush_team().await?;
        let q = Queue {
            org_id: self.org,
            version: 1,
            ..q.clone()
        };
        exec!(
            self,
            "INSERT INTO queues (org_id, id, name_key, created_at, version, doc) VALUES ($1, $2, $3, $4, 1, $5)",
            self.org.0,
            q.id.0,
            q.name.to_lowercase(),
            q.created_at,
            to_doc(&q)?
        );
        Ok(())
    }

    async fn delete_queue(&mut self, id: QueueId) -> Result<()> {
        self.flush().await?;
        self.cache.queues.remove(&id);
        self.cache.members.remove(&id);
        exec!(
            self,
            "DELETE FROM queue_members WHERE org_id = $1 AND queue_id = $2",
            self.org.0,
            id.0
        );
        let n = exec!(
            self,
            "DELETE FROM queues WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        );
        if n == 0 {
            return Err(Error::not_found(Entity::Queue, id));
        }
        Ok(())
    }

    async fn update_queue(&mut self, q: &Queue) -> Result<()> {
        // Kept back: written (if still at the version read) by the next flush.
        let q = Queue {
            org_id: self.org,
            ..q.clone()
        };
        self.wb.update_queue(&q)?;
        self.cache.queues.insert(q.id, q);
        Ok(())
    }

    async fn agent(&mut self, id: AgentId) -> Result<Agent> {
        if let Some(a) = self.cache.agents.get(&id) {
            return Ok(a.clone());
        }
        self.flush_team().await?;
        let v: Option<Agent> = doc_opt!(
            self,
            "agents",
            "SELECT doc FROM agents WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        )?;
        let a = Self::found(v, Entity::Agent, id)?;
        self.cache.agents.insert(id, a.clone());
        Ok(a)
    }

    async fn agents(&mut self) -> Result<Vec<Agent>> {
        self.flush_team().await?;
        doc_all!(
            self,
            "agents",
            "SELECT doc FROM agents WHERE org_id = $1 ORDER BY created_at, id",
            self.org.0
        )
    }

    async fn agents_in(&mut self, ids: &[AgentId]) -> Result<Vec<Agent>> {
        if let Some(v) = self.cache.agents_in(ids) {
            return Ok(v);
        }
        self.flush_team().await?;
        let want: Vec<uuid::Uuid> = ids.iter().map(|a| a.0).collect();
        let found: Vec<Agent> = doc_all!(
            self,
            "agents",
            "SELECT doc FROM agents WHERE org_id = $1 AND id = ANY($2)",
            self.org.0,
            &want
        )?;
        if let Some(missing) = ids.iter().find(|id| !found.iter().any(|a| a.id == **id)) {
            return Err(Error::not_found(Entity::Agent, missing));
        }
        for a in &found {
            self.cache.agents.insert(a.id, a.clone());
        }
        Ok(found)
    }

    async fn insert_agent(&mut self, a: &Agent) -> Result<()> {
        self.flush_team().await?;
        let a = Agent {
            org_id: self.org,
            version: 1,
            ..a.clone()
        };
        exec!(
            self,
            "INSERT INTO agents (org_id, id, email, name_folded, created_at, version, doc) VALUES ($1, $2, $3, $4, $5, 1, $6)",
            self.org.0,
            a.id.0,
            a.email.clone(),
            fold(&a.name),
            a.created_at,
            to_doc(&a)?
        );
        Ok(())
    }

    async fn update_agent(&mut self, a: &Agent) -> Result<()> {
        // Kept back: written (if still at the version read) by the next flush.
        let a = Agent {
            org_id: self.org,
            ..a.clone()
        };
        self.wb.update_agent(&a)?;
        self.cache.agents.insert(a.id, a);
        Ok(())
    }

    async fn queue_members(&mut self, queue: QueueId) -> Result<Vec<QueueMember>> {
        if let Some(v) = self.cache.members.get(&queue) {
            return Ok(v.clone());
        }
        self.flush_team().await?;
        let v: Vec<QueueMember> = doc_all!(
            self,
            "queue_members",
            "SELECT doc FROM queue_members WHERE org_id = $1 AND queue_id = $2 ORDER BY joined_at, agent_id",
            self.org.0,
            queue.0
        )?;
        self.cache.members.insert(queue, v.clone());
        Ok(v)
    }

    async fn agent_queues(&mut self, agent: AgentId) -> Result<Vec<QueueId>> {
        self.flush_team().await?;
        let v: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT queue_id FROM queue_members WHERE org_id = $1 AND agent_id = $2 ORDER BY queue_id")
            .bind(self.org.0)
            .bind(agent.0)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db)?;
        Ok(v.into_iter().map(QueueId).collect())
    }

    async fn put_queue_member(&mut self, m: &QueueMember) -> Result<()> {
        // Kept back: inserted or replaced by the next flush.
        let m = QueueMember {
            org_id: self.org,
            ..m.clone()
        };
        self.wb.put_member(&m);
        self.cache.put_member(&m);
        Ok(())
    }

    async fn remove_queue_member(&mut self, queue: QueueId, agent: AgentId) -> Result<()> {
        self.cache.members.remove(&queue);
        self.wb.forget_member(queue, agent);
        exec!(
            self,
            "DELETE FROM queue_members WHERE org_id = $1 AND queue_id = $2 AND agent_id = $3",
            self.org.0,
            queue.0,
            agent.0
        );
        Ok(())
    }
}

#[async_trait]
impl ContactTx for PgTx {
    async fn contact(&mut self, id: ContactId) -> Result<Contact> {
        let v = doc_opt!(
            self,
            "contacts",
            "SELECT doc FROM contacts WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        )?;
        Self::found(v, Entity::Contact, id)
    }

    async fn find_contact(&mut self, key: &ContactKey) -> Result<Option<Contact>> {
        let org = self.org.0;
        match key {
            ContactKey::Phone(p) => doc_opt!(
                self,
                "contacts",
                "SELECT doc FROM contacts WHERE org_id = $1 AND phone_key = $2",
                org,
                p.match_key()
            ),
            ContactKey::WhatsappId(w) => doc_opt!(
                self,
                "contacts",
                "SELECT doc FROM contacts WHERE org_id = $1 AND whatsapp_id = $2",
                org,
                w.clone()
            ),
            ContactKey::Email(e) => doc_opt!(
                self,
                "contacts",
                "SELECT doc FROM contacts WHERE org_id = $1 AND email = $2",
                org,
                e.clone()
            ),
            ContactKey::VisitorId(v) => doc_opt!(
                self,
                "contacts",
                "SELECT doc FROM contacts WHERE org_id = $1 AND visitor_id = $2",
                org,
                v.clone()
            ),
        }
    }

    async fn insert_contact(&mut self, c: &Contact) -> Result<()> {
        let c = Contact {
            org_id: self.org,
            ..c.clone()
        };
        exec!(
            self,
            "INSERT INTO contacts (org_id, id, phone_key, whatsapp_id, email, name_folded, phone_digits, doc, visitor_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            self.org.0,
            c.id.0,
            c.phone.as_ref().map(|p| p.match_key()),
            c.whatsapp_id.clone(),
            c.email.clone(),
            c.name.as_deref().map(fold),
            c.phone.as_ref().map(|p| p.digits().to_owned()),
            to_doc(&c)?,
            c.visitor_id.clone()
        );
        Ok(())
    }

    async fn update_contact(&mut self, c: &Contact) -> Result<()> {
        let c = Contact {
            org_id: self.org,
            ..c.clone()
        };
        let n = exec!(
            self,
            "UPDATE contacts SET phone_key = $3, whatsapp_id = $4, email = $5, name_folded = $6, phone_digits = $7, doc = $8, visitor_id = $9 WHERE org_id = $1 AND id = $2",
            self.org.0,
            c.id.0,
            c.phone.as_ref().map(|p| p.match_key()),
            c.whatsapp_id.clone(),
            c.email.clone(),
            c.name.as_deref().map(fold),
            c.phone.as_ref().map(|p| p.digits().to_owned()),
            to_doc(&c)?,
            c.visitor_id.clone()
        );
        if n == 0 {
            return Err(Error::not_found(Entity::Contact, c.id));
        }
        Ok(())
    }

    async fn conversation(&mut self, id: ConversationId) -> Result<Conversation> {
        self.flush_rows().await?;
        let v = doc_opt!(
            self,
            "conversations",
            "SELECT doc FROM conversations WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        )?;
        Self::found(v, Entity::Conversation, id)
    }

    async fn find_conversation(
        &mut self,
        contact: ContactId,
        account: ChannelAccountId,
    ) -> Result<Option<Conversation>> {
        self.flush_rows().await?;
        doc_opt!(
            self,
            "conversations",
            "SELECT doc FROM conversations WHERE org_id = $1 AND contact_id = $2 AND channel_account_id = $3",
            self.org.0,
            contact.0,
            account.0
        )
    }

    async fn insert_conversation(&mut self, c: &Conversation) -> Result<()> {
        let c = Conversation {
            org_id: self.org,
            ..c.clone()
        };
        exec!(
            self,
            "INSERT INTO conversations (org_id, id, contact_id, channel_account_id, doc) VALUES ($1, $2, $3, $4, $5)",
            self.org.0,
            c.id.0,
            c.contact_id.0,
            c.channel_account_id.0,
            to_doc(&c)?
        );
        self.wb.conversation_inserted(c.id);
        Ok(())
    }

    async fn update_conversation(&mut self, c: &Conversation) -> Result<()> {
        let c = Conversation {
            org_id: self.org,
            ..c.clone()
        };
        if self.wb.update_conversation(&c) {
            return Ok(());
        }
        let n = exec!(
            self,
            "UPDATE conversations SET doc = $3 WHERE org_id = $1 AND id = $2",
            self.org.0,
            c.id.0,
            to_doc(&c)?
        );
        if n == 0 {
            return Err(Error::not_found(Entity::Conversation, c.id));
        }
        Ok(())
    }
}

#[async_trait]
impl TicketTx for PgTx {
    async fn ticket(&mut self, id: TicketId) -> Result<Ticket> {
        self.flush_rows().await?;
        let v = doc_opt!(
            self,
            "tickets",
            "SELECT doc FROM tickets WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        )?;
        Self::found(v, Entity::Ticket, id)
    }

    async fn ticket_by_number(&mut self, number: u64) -> Result<Option<Ticket>> {
        self.flush_rows().await?;
        doc_opt!(
            self,
            "tickets",
            "SELECT doc FROM tickets WHERE org_id = $1 AND number = $2",
            self.org.0,
            number as i64
        )
    }

    async fn live_ticket(&mut self, conversation: ConversationId) -> Result<Option<Ticket>> {
        self.flush_rows().await?;
        doc_opt!(
            self,
            "tickets",
            "SELECT doc FROM tickets WHERE org_id = $1 AND conversation_id = $2 AND status <> 'closed'",
            self.org.0,
            conversation.0
        )
    }

    async fn next_ticket_number(&mut self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(concat!(
            "WITH n AS (",
            take_ticket_number!(),
            ") SELECT number FROM n"
        ))
        .bind(self.org.0)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db)?;
        number(n)
    }

    async fn insert_ticket(&mut self, t: &Ticket) -> Result<()> {
        self.insert_ticket_row(
            t,
            concat!(
                "INSERT INTO tickets (",
                ticket_insert_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                           $16, $17, $18, $19, $20, $21, $22, $23, $24)
                 RETURNING number"
            ),
        )
        .await
        .map(|_| ())
    }

    async fn insert_ticket_numbered(&mut self, t: &Ticket) -> Result<u64> {
        // The number and the row in one statement: the tenant's counter, locked from here to
        // the end of the transaction, waits on one round trip less.
        self.insert_ticket_row(
            t,
            concat!(
                "WITH n AS (",
                take_ticket_number!(),
                ") INSERT INTO tickets (",
                ticket_insert_columns!(),
                ") SELECT $1, $2, n.number, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                          $16, jsonb_set($17::jsonb, '{number}', to_jsonb(n.number)),
                          $18, $19, $20, $21, $22, $23, $24
                   FROM n
                 RETURNING number"
            ),
        )
        .await
    }

    async fn update_ticket(&mut self, t: &Ticket) -> Result<()> {
        let t = Ticket {
            org_id: self.org,
            ..t.clone()
        };
        if self.wb.update_ticket(&t)? {
            return Ok(());
        }
        let n = bind_ticket_update(
            sqlx::query(concat!(
                "UPDATE tickets SET ",
                ticket_update_set!(),
                " WHERE org_id = $1 AND id = $2 AND version = $3 - 1"
            )),
            &t,
        )?
        .execute(&mut *self.tx)
        .await
        .map_err(db)?
        .rows_affected();
        if n == 0 {
            let exists: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM tickets WHERE org_id = $1 AND id = $2")
                    .bind(self.org.0)
                    .bind(t.id.0)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db)?;
            return self
                .stale_or_missing(exists.is_some(), Entity::Ticket, t.id)
                .await;
        }
        Ok(())
    }

    async fn list_tickets(&mut self, q: &TicketQuery) -> Result<TicketPage> {
        self.flush().await?;
        crate::listing::list(self, q).await
    }

    async fn waiting_tickets(&mut self, queue: QueueId) -> Result<Vec<Ticket>> {
        self.flush_rows().await?;
        doc_all!(
            self,
            "tickets",
            "SELECT doc FROM tickets WHERE org_id = $1 AND queue_id = $2 AND assignee_id IS NULL AND status IN ('new', 'open', 'pending')",
            self.org.0,
            queue.0
        )
    }

    async fn tickets_due_for_sla(
        &mut self,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Ticket>> {
        self.flush_rows().await?;
        // SKIP LOCKED: scanners in several instances split the work instead of queueing on it.
        doc_all!(
            self,
            "tickets",
            "SELECT doc FROM tickets WHERE org_id = $1 AND sla_wake_at <= $2 ORDER BY sla_wake_at, id LIMIT $3 FOR UPDATE SKIP LOCKED",
            self.org.0,
            until,
            i64::from(limit)
        )
    }
}

#[async_trait]
impl MessageTx for PgTx {
    async fn message(&mut self, id: MessageId) -> Result<Message> {
        self.flush_messages().await?;
        let v = doc_opt!(
            self,
            "messages",
            "SELECT doc FROM messages WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        )?;
        Self::found(v, Entity::Message, id)
    }

    async fn message_by_external_id(
        &mut self,
        account: ChannelAccountId,
        external_id: &str,
    ) -> Result<Option<Message>> {
        self.flush_messages().await?;
        doc_opt!(
            self,
            "messages",
            "SELECT doc FROM messages WHERE org_id = $1 AND channel_account_id = $2 AND external_id = $3",
            self.org.0,
            account.0,
            external_id.to_owned()
        )
    }

    async fn insert_message(&mut self, m: &Message) -> Result<()> {
        let m = Message {
            org_id: self.org,
            ..m.clone()
        };
        // Without a channel id there is no uniqueness to check now: kept back. Otherwise the
        // kept-back ones go first (the order of messages is the order of their writes).
        if m.external_id.is_none() {
            self.wb.message(m);
            return Ok(());
        }
        self.flush_messages().await?;
        exec!(
            self,
            "INSERT INTO messages (org_id, id, ticket_id, channel_account_id, external_id, created_at, doc) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            self.org.0,
            m.id.0,
            m.ticket_id.0,
            m.channel_account_id.0,
            m.external_id.clone(),
            m.created_at,
            to_doc(&m)?
        );
        Ok(())
    }

    async fn update_message(&mut self, m: &Message) -> Result<()> {
        self.flush_messages().await?;
        let m = Message {
            org_id: self.org,
            ..m.clone()
        };
        let n = exec!(
            self,
            "UPDATE messages SET ticket_id = $3, external_id = $4, doc = $5 WHERE org_id = $1 AND id = $2",
            self.org.0,
            m.id.0,
            m.ticket_id.0,
            m.external_id.clone(),
            to_doc(&m)?
        );
        if n == 0 {
            return Err(Error::not_found(Entity::Message, m.id));
        }
        Ok(())
    }

    async fn messages(&mut self, ticket: TicketId) -> Result<Vec<Message>> {
        self.flush_messages().await?;
        doc_all!(
            self,
            "messages",
            "SELECT doc FROM messages WHERE org_id = $1 AND ticket_id = $2 ORDER BY created_at, seq",
            self.org.0,
            ticket.0
        )
    }
}

#[async_trait]
impl RecordTx for PgTx {
    async fn insert_sale(&mut self, s: &Sale) -> Result<()> {
        let s = Sale {
            org_id: self.org,
            ..s.clone()
        };
        // The ticket's attribution goes with the sale (reports read sales alone); a kept-back
        // change of the ticket is written first.
        self.flush_rows().await?;
        let inserted = exec!(
            self,
            "INSERT INTO sales (org_id, id, ticket_id, amount_minor, created_at, doc, ticket_created_at,
                                ticket_origin_queue_id, ticket_utm_source_key, ticket_ad_platform,
                                ticket_utm_campaign)
             SELECT $1, $2, $3, $4, $5, $6, t.created_at, t.origin_queue_id, t.utm_source_key,
                    t.ad_platform, t.utm_campaign
             FROM tickets t WHERE t.org_id = $1 AND t.id = $3",
            self.org.0,
            s.id.0,
            s.ticket_id.0,
            s.amount.minor,
            s.created_at,
            to_doc(&s)?
        );
        if inserted == 0 {
            return Err(Error::not_found(Entity::Ticket, s.ticket_id));
        }
        Ok(())
    }

    async fn sales(&mut self, ticket: TicketId) -> Result<Vec<Sale>> {
        doc_all!(
            self,
            "sales",
            "SELECT doc FROM sales WHERE org_id = $1 AND ticket_id = $2 ORDER BY created_at, id",
            self.org.0,
            ticket.0
        )
    }

    async fn insert_cycle(&mut self, c: &AssignmentCycle) -> Result<()> {
        self.wb.insert_cycle(AssignmentCycle {
            org_id: self.org,
            ..c.clone()
        });
        Ok(())
    }

    async fn update_cycle(&mut self, c: &AssignmentCycle) -> Result<()> {
        let c = AssignmentCycle {
            org_id: self.org,
            ..c.clone()
        };
        if self.wb.update_cycle(&c) {
            return Ok(());
        }
        let n = exec!(
            self,
            "UPDATE assignment_cycles SET doc = $3 WHERE org_id = $1 AND id = $2",
            self.org.0,
            c.id.0,
            to_doc(&c)?
        );
        if n == 0 {
            return Err(Error::not_found(Entity::AssignmentCycle, c.id));
        }
        Ok(())
    }

    async fn cycles(&mut self, ticket: TicketId) -> Result<Vec<AssignmentCycle>> {
        if let Some(v) = self.wb.cycles_of_new_ticket(ticket) {
            return Ok(v);
        }
        self.flush().await?;
        doc_all!(
            self,
            "assignment_cycles",
            "SELECT doc FROM assignment_cycles WHERE org_id = $1 AND ticket_id = $2 ORDER BY seq",
            self.org.0,
            ticket.0
        )
    }

    async fn insert_audit(&mut self, a: &AuditEntry) -> Result<()> {
        self.wb.audit(AuditEntry {
            org_id: self.org,
            ..a.clone()
        });
        Ok(())
    }

    async fn audit_trail(&mut self, ticket: TicketId) -> Result<Vec<AuditEntry>> {
        self.flush().await?;
        doc_all!(
            self,
            "audit_entries",
            "SELECT doc FROM audit_entries WHERE org_id = $1 AND ticket_id = $2 ORDER BY seq",
            self.org.0,
            ticket.0
        )
    }

    async fn insert_event(&mut self, e: &Event) -> Result<()> {
        self.wb.event(Event {
            org_id: self.org,
            ..e.clone()
        });
        Ok(())
    }

    async fn events(&mut self, after: Option<EventId>, limit: u32) -> Result<Vec<Event>> {
        self.flush().await?;
        // In the order of the transactions that wrote them, and only those below the oldest
        // running transaction (migration 0008), plus this transaction's own: a page never
        // passes an event that commits later. Committed events held back by an older
        // transaction still running are waited for a little (write transactions last
        // milliseconds), so a reader sees what was committed before it asked; after the wait
        // the page stops before them, and the next page lists them.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        let mut pause = std::time::Duration::from_millis(1);
        loop {
            let (docs, held_back): (Vec<Value>, bool) = sqlx::query_as(
                "WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin,
                                   pg_current_xact_id_if_assigned() AS me,
                                   COALESCE((SELECT (tx, seq) FROM events WHERE id = $2 AND org_id = $1),
                                            ('0'::xid8, 0::bigint)) AS cursor)
                 SELECT COALESCE((SELECT array_agg(doc ORDER BY tx, seq) FROM (
                            SELECT e.doc, e.tx, e.seq FROM events e, h
                             WHERE e.org_id = $1 AND (e.tx < h.xmin OR e.tx = h.me)
                               AND (e.tx, e.seq) > h.cursor
                             ORDER BY e.tx, e.seq LIMIT $3) page), '{}'),
                        h.me IS NULL AND EXISTS (
                            SELECT 1 FROM events e
                             WHERE e.org_id = $1 AND e.tx >= h.xmin AND (e.tx, e.seq) > h.cursor)
                   FROM h",
            )
            .bind(self.org.0)
            .bind(after.map(|a| a.0))
            .bind(i64::from(limit))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db)?;
            if !held_back || std::time::Instant::now() >= deadline {
                return docs.into_iter().map(|d| from_doc("events", d)).collect();
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_millis(50));
        }
    }
}

/// The columns a ticket row carries beside its document (what listing, the inbounds view, the
/// SLA scan and reports filter and sort on), derived from the ticket in one place for every
/// statement that writes a ticket.
pub(crate) struct TicketColumns {
    pub(crate) status: &'static str,
    pub(crate) priority: &'static str,
    pub(crate) queue_id: Option<uuid::Uuid>,
    pub(crate) assignee_id: Option<uuid::Uuid>,
    pub(crate) stage_id: Option<uuid::Uuid>,
    pub(crate) utm_source: Option<String>,
    pub(crate) utm_source_key: Option<String>,
    pub(crate) source_type: &'static str,
    pub(crate) sla_wake_at: Option<DateTime<Utc>>,
    pub(crate) doc: Value,
    pub(crate) click_kinds: Vec<&'static str>,
    pub(crate) first_response_at: Option<DateTime<Utc>>,
    pub(crate) first_response_bsecs: Option<i64>,
    pub(crate) resolved_at: Option<DateTime<Utc>>,
    pub(crate) resolution_bsecs: Option<i64>,
    pub(crate) rating: Option<i16>,
    pub(crate) rated_at: Option<DateTime<Utc>>,
}

impl TicketColumns {
    pub(crate) fn of(t: &Ticket) -> Result<TicketColumns> {
        Ok(TicketColumns {
            status: t.status.as_str(),
            priority: t.priority.as_str(),
            queue_id: t.queue_id.map(|x| x.0),
            assignee_id: t.assignee_id.map(|x| x.0),
            stage_id: t.stage_id.map(|x| x.0),
            utm_source: t.tracking.utm_source.clone(),
            utm_source_key: t.tracking.utm_source.as_ref().map(|s| s.to_lowercase()),
            source_type: t.tracking.effective_source().as_str(),
            sla_wake_at: t.sla_wake_at,
            doc: to_doc(t)?,
            click_kinds: click_kinds(t),
            first_response_at: t.first_response_at,
            first_response_bsecs: t.sla.as_ref().and_then(|s| s.first_response_secs()),
            resolved_at: t.resolved_at,
            resolution_bsecs: t.sla.as_ref().and_then(|s| s.resolution_secs()),
            rating: t.rating.as_ref().map(|r| i16::from(r.score)),
            rated_at: t.rating.as_ref().map(|r| r.rated_at),
        })
    }

    /// Binds the 17 columns as the next parameters, in the order the insert's column list
    /// and the update's `SET` list name them (status … sla_wake_at, doc, click_kinds,
    /// first_response_at … rated_at).
    fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
        q.bind(self.status)
            .bind(self.priority)
            .bind(self.queue_id)
            .bind(self.assignee_id)
            .bind(self.stage_id)
            .bind(self.utm_source)
            .bind(self.utm_source_key)
            .bind(self.source_type)
            .bind(self.sla_wake_at)
            .bind(self.doc)
            .bind(self.click_kinds)
            .bind(self.first_response_at)
            .bind(self.first_response_bsecs)
            .bind(self.resolved_at)
            .bind(self.resolution_bsecs)
            .bind(self.rating)
            .bind(self.rated_at)
    }
}

/// Binds `$1`–`$20` of a statement that uses [`ticket_update_set`].
pub(crate) fn bind_ticket_update<'q>(
    q: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    t: &Ticket,
) -> Result<sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>> {
    let q = q.bind(t.org_id.0).bind(t.id.0).bind(t.version as i64);
    Ok(TicketColumns::of(t)?.bind(q))
}

/// The kinds of click id a ticket carries (for the inbounds view's filter).
fn click_kinds(t: &Ticket) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = t
        .tracking
        .click_ids
        .iter()
        .map(|c| c.kind.as_str())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// A ticket number read back from the database.
fn number(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| Error::store("ticket counter is negative", false, std::fmt::Error))
}
