//! One store transaction: every `StoreTx` primitive in SQL, scoped to the tenant.

use crate::error::{bad_row, db};
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
use helpdesk_core::store::{LockKey, StoreTx};
use helpdesk_core::{Error, Result};
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
        }
    }

    fn found<T>(v: Option<T>, entity: &'static str, id: impl std::fmt::Display) -> Result<T> {
        v.ok_or_else(|| Error::not_found(entity, id))
    }

    /// After a versioned update matched nothing: unknown row, or someone changed it first.
    async fn stale_or_missing(
        &mut self,
        table_exists: bool,
        entity: &'static str,
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
        LockKey::ContactKey(h) => (3, uuid::Uuid::from_u64_pair(h, 0)),
    };
    let v = u.as_u128();
    ((v >> 64) as u64 ^ v as u64 ^ tag.rotate_left(56)) as i64
}

#[async_trait]
impl StoreTx for PgTx {
    fn org_id(&self) -> OrgId {
        self.org
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await.map_err(db)
    }

    async fn lock(&mut self, key: LockKey) -> Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(lock_key(key))
            .execute(&mut *self.tx)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn organization(&mut self) -> Result<Organization> {
        from_doc("organizations", self.org_doc.clone())
    }

    async fn update_organization(&mut self, org: &Organization) -> Result<()> {
        if org.id != self.org {
            return Err(Error::not_found("organization", org.id));
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
        Self::found(v, "channel_account", id)
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

    async fn contact(&mut self, id: ContactId) -> Result<Contact> {
        let v = doc_opt!(
            self,
            "contacts",
            "SELECT doc FROM contacts WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        )?;
        Self::found(v, "contact", id)
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
        }
    }

    async fn insert_contact(&mut self, c: &Contact) -> Result<()> {
        let c = Contact {
            org_id: self.org,
            ..c.clone()
        };
        exec!(
            self,
            "INSERT INTO contacts (org_id, id, phone_key, whatsapp_id, email, name_folded, phone_digits, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            self.org.0,
            c.id.0,
            c.phone.as_ref().map(|p| p.match_key()),
            c.whatsapp_id.clone(),
            c.email.clone(),
            c.name.as_deref().map(fold),
            c.phone.as_ref().map(|p| p.digits().to_owned()),
            to_doc(&c)?
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
            "UPDATE contacts SET phone_key = $3, whatsapp_id = $4, email = $5, name_folded = $6, phone_digits = $7, doc = $8 WHERE org_id = $1 AND id = $2",
            self.org.0,
            c.id.0,
            c.phone.as_ref().map(|p| p.match_key()),
            c.whatsapp_id.clone(),
            c.email.clone(),
            c.name.as_deref().map(fold),
            c.phone.as_ref().map(|p| p.digits().to_owned()),
            to_doc(&c)?
        );
        if n == 0 {
            return Err(Error::not_found("contact", c.id));
        }
        Ok(())
    }

    async fn conversation(&mut self, id: ConversationId) -> Result<Conversation> {
        let v = doc_opt!(
            self,
            "conversations",
            "SELECT doc FROM conversations WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        )?;
        Self::found(v, "conversation", id)
    }

    async fn find_conversation(
        &mut self,
        contact: ContactId,
        account: ChannelAccountId,
    ) -> Result<Option<Conversation>> {
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
        Ok(())
    }

    async fn update_conversation(&mut self, c: &Conversation) -> Result<()> {
        let c = Conversation {
            org_id: self.org,
            ..c.clone()
        };
        let n = exec!(
            self,
            "UPDATE conversations SET doc = $3 WHERE org_id = $1 AND id = $2",
            self.org.0,
            c.id.0,
            to_doc(&c)?
        );
        if n == 0 {
            return Err(Error::not_found("conversation", c.id));
        }
        Ok(())
    }

    async fn ticket(&mut self, id: TicketId) -> Result<Ticket> {
        let v = doc_opt!(
            self,
            "tickets",
            "SELECT doc FROM tickets WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        )?;
        Self::found(v, "ticket", id)
    }

    async fn ticket_by_number(&mut self, number: u64) -> Result<Option<Ticket>> {
        doc_opt!(
            self,
            "tickets",
            "SELECT doc FROM tickets WHERE org_id = $1 AND number = $2",
            self.org.0,
            number as i64
        )
    }

    async fn live_ticket(&mut self, conversation: ConversationId) -> Result<Option<Ticket>> {
        doc_opt!(
            self,
            "tickets",
            "SELECT doc FROM tickets WHERE org_id = $1 AND conversation_id = $2 AND status <> 'closed'",
            self.org.0,
            conversation.0
        )
    }

    async fn next_ticket_number(&mut self) -> Result<u64> {
        // The counter row is locked until the transaction ends: creators of one tenant take
        // numbers in turn, and a rollback gives the number back (no gaps).
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO ticket_counters (org_id, next_number)
             VALUES ($1, (SELECT (doc->>'first_ticket_number')::bigint FROM organizations WHERE id = $1) + 1)
             ON CONFLICT (org_id) DO UPDATE SET next_number = ticket_counters.next_number + 1
             RETURNING next_number - 1",
        )
        .bind(self.org.0)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db)?;
        u64::try_from(n)
            .map_err(|_| Error::store("ticket counter is negative", false, std::fmt::Error))
    }

    async fn insert_ticket(&mut self, t: &Ticket) -> Result<()> {
        let t = Ticket {
            org_id: self.org,
            version: 1,
            ..t.clone()
        };
        exec!(
            self,
            "INSERT INTO tickets (org_id, id, number, conversation_id, contact_id, status, priority, queue_id, assignee_id, stage_id,
                                  utm_source, utm_source_key, source_type, created_at, sla_wake_at, version, doc,
                                  click_kinds, first_response_at, first_response_bsecs, resolved_at, resolution_bsecs, rating, rated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                     $18, $19, $20, $21, $22, $23, $24)",
            self.org.0,
            t.id.0,
            t.number as i64,
            t.conversation_id.0,
            t.contact_id.0,
            t.status.as_str(),
            t.priority.as_str(),
            t.queue_id.map(|x| x.0),
            t.assignee_id.map(|x| x.0),
            t.stage_id.map(|x| x.0),
            t.tracking.utm_source.clone(),
            t.tracking.utm_source.as_ref().map(|s| s.to_lowercase()),
            t.tracking.effective_source().as_str(),
            t.created_at,
            t.sla_wake_at,
            1i64,
            to_doc(&t)?,
            click_kinds(&t),
            t.first_response_at,
            t.sla.as_ref().and_then(|s| s.first_response_secs()),
            t.resolved_at,
            t.sla.as_ref().and_then(|s| s.resolution_secs()),
            t.rating.as_ref().map(|r| i16::from(r.score)),
            t.rating.as_ref().map(|r| r.rated_at)
        );
        Ok(())
    }

    async fn update_ticket(&mut self, t: &Ticket) -> Result<()> {
        let t = Ticket {
            org_id: self.org,
            ..t.clone()
        };
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
                .stale_or_missing(exists.is_some(), "ticket", t.id)
                .await;
        }
        Ok(())
    }

    async fn report(
        &mut self,
        q: &helpdesk_core::store::report::ReportQuery,
    ) -> Result<helpdesk_core::store::report::Report> {
        crate::report::report(self, q).await
    }

    async fn list_tickets(&mut self, q: &TicketQuery) -> Result<TicketPage> {
        crate::listing::list(self, q).await
    }

    async fn waiting_tickets(&mut self, queue: QueueId) -> Result<Vec<Ticket>> {
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

    async fn message(&mut self, id: MessageId) -> Result<Message> {
        let v = doc_opt!(
            self,
            "messages",
            "SELECT doc FROM messages WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        )?;
        Self::found(v, "message", id)
    }

    async fn message_by_external_id(
        &mut self,
        account: ChannelAccountId,
        external_id: &str,
    ) -> Result<Option<Message>> {
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
            return Err(Error::not_found("message", m.id));
        }
        Ok(())
    }

    async fn messages(&mut self, ticket: TicketId) -> Result<Vec<Message>> {
        doc_all!(
            self,
            "messages",
            "SELECT doc FROM messages WHERE org_id = $1 AND ticket_id = $2 ORDER BY created_at, seq",
            self.org.0,
            ticket.0
        )
    }

    async fn stages(&mut self) -> Result<Vec<Stage>> {
        doc_all!(
            self,
            "stages",
            "SELECT doc FROM stages WHERE org_id = $1 ORDER BY position, created_at, id",
            self.org.0
        )
    }

    async fn update_stage(&mut self, s: &Stage) -> Result<()> {
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
            return Err(Error::not_found("stage", s.id));
        }
        Ok(())
    }

    async fn delete_stage(&mut self, id: StageId) -> Result<()> {
        let n = exec!(
            self,
            "DELETE FROM stages WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        );
        if n == 0 {
            return Err(Error::not_found("stage", id));
        }
        Ok(())
    }

    async fn insert_stage(&mut self, s: &Stage) -> Result<()> {
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

    async fn queue(&mut self, id: QueueId) -> Result<Queue> {
        let v = doc_opt!(
            self,
            "queues",
            "SELECT doc FROM queues WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        )?;
        Self::found(v, "queue", id)
    }

    async fn queues(&mut self) -> Result<Vec<Queue>> {
        doc_all!(
            self,
            "queues",
            "SELECT doc FROM queues WHERE org_id = $1 ORDER BY created_at, id",
            self.org.0
        )
    }

    async fn insert_queue(&mut self, q: &Queue) -> Result<()> {
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
            return Err(Error::not_found("queue", id));
        }
        Ok(())
    }

    async fn update_queue(&mut self, q: &Queue) -> Result<()> {
        let q = Queue {
            org_id: self.org,
            ..q.clone()
        };
        let n = exec!(
            self,
            "UPDATE queues SET name_key = $4, version = $3, doc = $5 WHERE org_id = $1 AND id = $2 AND version = $3 - 1",
            self.org.0,
            q.id.0,
            q.version as i64,
            q.name.to_lowercase(),
            to_doc(&q)?
        );
        if n == 0 {
            let exists: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM queues WHERE org_id = $1 AND id = $2")
                    .bind(self.org.0)
                    .bind(q.id.0)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db)?;
            return self.stale_or_missing(exists.is_some(), "queue", q.id).await;
        }
        Ok(())
    }

    async fn agent(&mut self, id: AgentId) -> Result<Agent> {
        let v = doc_opt!(
            self,
            "agents",
            "SELECT doc FROM agents WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        )?;
        Self::found(v, "agent", id)
    }

    async fn agents(&mut self) -> Result<Vec<Agent>> {
        doc_all!(
            self,
            "agents",
            "SELECT doc FROM agents WHERE org_id = $1 ORDER BY created_at, id",
            self.org.0
        )
    }

    async fn agents_in(&mut self, ids: &[AgentId]) -> Result<Vec<Agent>> {
        let want: Vec<uuid::Uuid> = ids.iter().map(|a| a.0).collect();
        let found: Vec<Agent> = doc_all!(
            self,
            "agents",
            "SELECT doc FROM agents WHERE org_id = $1 AND id = ANY($2)",
            self.org.0,
            &want
        )?;
        if let Some(missing) = ids.iter().find(|id| !found.iter().any(|a| a.id == **id)) {
            return Err(Error::not_found("agent", missing));
        }
        Ok(found)
    }

    async fn insert_agent(&mut self, a: &Agent) -> Result<()> {
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
        let a = Agent {
            org_id: self.org,
            ..a.clone()
        };
        let n = exec!(
            self,
            "UPDATE agents SET email = $4, name_folded = $5, version = $3, doc = $6 WHERE org_id = $1 AND id = $2 AND version = $3 - 1",
            self.org.0,
            a.id.0,
            a.version as i64,
            a.email.clone(),
            fold(&a.name),
            to_doc(&a)?
        );
        if n == 0 {
            let exists: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM agents WHERE org_id = $1 AND id = $2")
                    .bind(self.org.0)
                    .bind(a.id.0)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db)?;
            return self.stale_or_missing(exists.is_some(), "agent", a.id).await;
        }
        Ok(())
    }

    async fn queue_members(&mut self, queue: QueueId) -> Result<Vec<QueueMember>> {
        doc_all!(
            self,
            "queue_members",
            "SELECT doc FROM queue_members WHERE org_id = $1 AND queue_id = $2 ORDER BY joined_at, agent_id",
            self.org.0,
            queue.0
        )
    }

    async fn agent_queues(&mut self, agent: AgentId) -> Result<Vec<QueueId>> {
        let v: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT queue_id FROM queue_members WHERE org_id = $1 AND agent_id = $2 ORDER BY queue_id")
            .bind(self.org.0)
            .bind(agent.0)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db)?;
        Ok(v.into_iter().map(QueueId).collect())
    }

    async fn put_queue_member(&mut self, m: &QueueMember) -> Result<()> {
        let m = QueueMember {
            org_id: self.org,
            ..m.clone()
        };
        exec!(
            self,
            "INSERT INTO queue_members (org_id, queue_id, agent_id, joined_at, doc) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (org_id, queue_id, agent_id) DO UPDATE SET joined_at = EXCLUDED.joined_at, doc = EXCLUDED.doc",
            self.org.0,
            m.queue_id.0,
            m.agent_id.0,
            m.joined_at,
            to_doc(&m)?
        );
        Ok(())
    }

    async fn remove_queue_member(&mut self, queue: QueueId, agent: AgentId) -> Result<()> {
        exec!(
            self,
            "DELETE FROM queue_members WHERE org_id = $1 AND queue_id = $2 AND agent_id = $3",
            self.org.0,
            queue.0,
            agent.0
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
            return Err(Error::not_found("canned_response", id));
        }
        Ok(())
    }

    async fn sla_policies(&mut self) -> Result<Vec<SlaPolicy>> {
        doc_all!(
            self,
            "sla_policies",
            "SELECT doc FROM sla_policies WHERE org_id = $1 ORDER BY created_at, id",
            self.org.0
        )
    }

    async fn insert_sla_policy(&mut self, p: &SlaPolicy) -> Result<()> {
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
        let n = exec!(
            self,
            "DELETE FROM sla_policies WHERE org_id = $1 AND id = $2",
            self.org.0,
            id.0
        );
        if n == 0 {
            return Err(Error::not_found("sla_policy", id));
        }
        Ok(())
    }

    async fn update_sla_policy(&mut self, p: &SlaPolicy) -> Result<()> {
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
            return Err(Error::not_found("sla_policy", p.id));
        }
        Ok(())
    }

    async fn insert_sale(&mut self, s: &Sale) -> Result<()> {
        let s = Sale {
            org_id: self.org,
            ..s.clone()
        };
        exec!(
            self,
            "INSERT INTO sales (org_id, id, ticket_id, amount_minor, created_at, doc) VALUES ($1, $2, $3, $4, $5, $6)",
            self.org.0,
            s.id.0,
            s.ticket_id.0,
            s.amount.minor,
            s.created_at,
            to_doc(&s)?
        );
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
        let c = AssignmentCycle {
            org_id: self.org,
            ..c.clone()
        };
        exec!(
            self,
            "INSERT INTO assignment_cycles (org_id, id, ticket_id, doc) VALUES ($1, $2, $3, $4)",
            self.org.0,
            c.id.0,
            c.ticket_id.0,
            to_doc(&c)?
        );
        Ok(())
    }

    async fn update_cycle(&mut self, c: &AssignmentCycle) -> Result<()> {
        let c = AssignmentCycle {
            org_id: self.org,
            ..c.clone()
        };
        let n = exec!(
            self,
            "UPDATE assignment_cycles SET doc = $3 WHERE org_id = $1 AND id = $2",
            self.org.0,
            c.id.0,
            to_doc(&c)?
        );
        if n == 0 {
            return Err(Error::not_found("assignment_cycle", c.id));
        }
        Ok(())
    }

    async fn cycles(&mut self, ticket: TicketId) -> Result<Vec<AssignmentCycle>> {
        doc_all!(
            self,
            "assignment_cycles",
            "SELECT doc FROM assignment_cycles WHERE org_id = $1 AND ticket_id = $2 ORDER BY seq",
            self.org.0,
            ticket.0
        )
    }

    async fn insert_audit(&mut self, a: &AuditEntry) -> Result<()> {
        let a = AuditEntry {
            org_id: self.org,
            ..a.clone()
        };
        exec!(
            self,
            "INSERT INTO audit_entries (org_id, id, ticket_id, doc) VALUES ($1, $2, $3, $4)",
            self.org.0,
            a.id.0,
            a.ticket_id.map(|x| x.0),
            to_doc(&a)?
        );
        Ok(())
    }

    async fn audit_trail(&mut self, ticket: TicketId) -> Result<Vec<AuditEntry>> {
        doc_all!(
            self,
            "audit_entries",
            "SELECT doc FROM audit_entries WHERE org_id = $1 AND ticket_id = $2 ORDER BY seq",
            self.org.0,
            ticket.0
        )
    }

    async fn insert_event(&mut self, e: &Event) -> Result<()> {
        let e = Event {
            org_id: self.org,
            ..e.clone()
        };
        exec!(
            self,
            "INSERT INTO events (org_id, id, ticket_id, kind, doc) VALUES ($1, $2, $3, $4, $5)",
            self.org.0,
            e.id.0,
            e.ticket_id.map(|x| x.0),
            e.kind.as_str(),
            to_doc(&e)?
        );
        Ok(())
    }

    async fn events(&mut self, after: Option<EventId>, limit: u32) -> Result<Vec<Event>> {
        doc_all!(
            self,
            "events",
            "SELECT doc FROM events WHERE org_id = $1 AND seq > COALESCE((SELECT seq FROM events WHERE id = $2 AND org_id = $1), 0) ORDER BY seq LIMIT $3",
            self.org.0,
            after.map(|a| a.0),
            i64::from(limit)
        )
    }
}

/// Binds `$1`–`$20` of a statement that uses [`ticket_update_set`].
pub(crate) fn bind_ticket_update<'q>(
    q: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    t: &Ticket,
) -> Result<sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>> {
    Ok(q.bind(t.org_id.0)
        .bind(t.id.0)
        .bind(t.version as i64)
        .bind(t.status.as_str())
        .bind(t.priority.as_str())
        .bind(t.queue_id.map(|x| x.0))
        .bind(t.assignee_id.map(|x| x.0))
        .bind(t.stage_id.map(|x| x.0))
        .bind(t.tracking.utm_source.clone())
        .bind(t.tracking.utm_source.as_ref().map(|s| s.to_lowercase()))
        .bind(t.tracking.effective_source().as_str())
        .bind(t.sla_wake_at)
        .bind(to_doc(t)?)
        .bind(click_kinds(t))
        .bind(t.first_response_at)
        .bind(t.sla.as_ref().and_then(|s| s.first_response_secs()))
        .bind(t.resolved_at)
        .bind(t.sla.as_ref().and_then(|s| s.resolution_secs()))
        .bind(t.rating.as_ref().map(|r| i16::from(r.score)))
        .bind(t.rating.as_ref().map(|r| r.rated_at)))
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
