//! Write-behind for one transaction.
//!
//! Some writes of a workflow are never read back by the statements that follow them: the
//! events, audit entries, assignment cycles and outbound messages it appends, the changes it
//! makes to a ticket or conversation it inserted itself (nobody else can see that row before
//! the commit, so its version cannot go stale), and its queue, agent and membership changes
//! (written only if the row is still at the version read). Those are kept in memory and
//! written together in one statement before the next statement that could see them, and at
//! the latest right before the commit. Opening a ticket from a new conversation sends 29
//! statements instead of 50, and 9 instead of about 25 while the transaction holds the
//! tenant's number counter, so the creators of one tenant wait on each other for less time
//! (24 and 5 since the queue's lock and reads are one call, see `PgTx::lock_queue`, the
//! number and the ticket's insert are one statement, and ingestion reads the live ticket
//! once).
//!
//! What reads or writes the same rows flushes first (see the callers in `tx.rs`), so a
//! transaction always sees its own writes. Writes the store contract says fail at once (a
//! stale ticket version, a duplicate message, a second live ticket) are still sent at once.

use crate::error::db;
use crate::tx::{TicketColumns, to_doc};
use helpdesk_core::domain::message::Message;
use helpdesk_core::domain::party::Conversation;
use helpdesk_core::domain::records::{AssignmentCycle, AuditEntry, Event};
use helpdesk_core::domain::team::{Agent, Queue, QueueMember};
use helpdesk_core::domain::text::fold;
use helpdesk_core::domain::ticket::Ticket;
use helpdesk_core::ids::{AgentId, ConversationId, OrgId, QueueId, TicketId};
use helpdesk_core::{Entity, Error, Result};
use sqlx::{Postgres, QueryBuilder, Row, Transaction};
use std::collections::HashMap;

/// `unnest(<bind>::<type>[], …)`: parallel arrays as rows.
macro_rules! unnest {
    ($qb:expr; $($v:expr => $ty:literal),+ $(,)?) => {{
        $qb.push("unnest(");
        let mut sep = "";
        $(
            $qb.push(sep).push_bind($v).push(concat!("::", $ty, "[]"));
            sep = ", ";
        )+
        let _ = sep;
        $qb.push(")");
    }};
}

/// `(<bind>, <bind>, …)` as the `i`-th row of a VALUES list.
macro_rules! values_row {
    ($qb:expr, $i:expr; $($v:expr),+ $(,)?) => {{
        $qb.push(if $i == 0 { "(" } else { ", (" });
        let mut sep = "";
        $(
            $qb.push(sep).push_bind($v);
            sep = ", ";
        )+
        let _ = sep;
        $qb.push(")");
    }};
}

/// A ticket inserted by this transaction: its last version, and that version when it is not
/// written yet.
struct NewTicket {
    version: u64,
    pending: Option<Ticket>,
}

/// A versioned row changed by this transaction and not written yet: the version it had when
/// read (the write requires it still), and its last state.
struct Versioned<T> {
    base: u64,
    version: u64,
    row: T,
}

/// The writes a transaction has not sent yet.
#[derive(Default)]
pub(crate) struct WriteBehind {
    events: Vec<Event>,
    audits: Vec<AuditEntry>,
    /// Cycles inserted by this transaction and not written yet (an update before the flush
    /// replaces the row here).
    cycles: Vec<AssignmentCycle>,
    tickets: HashMap<TicketId, NewTicket>,
    /// Conversations inserted by this transaction, with a change not written yet.
    conversations: HashMap<ConversationId, Option<Conversation>>,
    queues: HashMap<QueueId, Versioned<Queue>>,
    agents: HashMap<AgentId, Versioned<Agent>>,
    /// Memberships to insert or replace, the last write of each (queue, agent) pair.
    members: Vec<QueueMember>,
    /// Outbound messages (no channel id yet, so no uniqueness to check).
    messages: Vec<Message>,
    /// Some cycle was written by a flush: cycles of new tickets are no longer all here.
    cycles_flushed: bool,
}

impl WriteBehind {
    fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.audits.is_empty()
            && self.cycles.is_empty()
            && !self.has_row_changes()
            && !self.has_team_changes()
            && !self.has_messages()
    }

    /// Changes of tickets or conversations wait to be written.
    pub(crate) fn has_row_changes(&self) -> bool {
        self.tickets.values().any(|t| t.pending.is_some())
            || self.conversations.values().any(Option::is_some)
    }

    /// Queues, agents or memberships wait to be written.
    pub(crate) fn has_team_changes(&self) -> bool {
        !(self.queues.is_empty() && self.agents.is_empty() && self.members.is_empty())
    }

    /// Outbound messages wait to be written.
    pub(crate) fn has_messages(&self) -> bool {
        !self.messages.is_empty()
    }

    pub(crate) fn event(&mut self, e: Event) {
        self.events.push(e);
    }

    pub(crate) fn audit(&mut self, a: AuditEntry) {
        self.audits.push(a);
    }

    pub(crate) fn message(&mut self, m: Message) {
        self.messages.push(m);
    }

    pub(crate) fn insert_cycle(&mut self, c: AssignmentCycle) {
        self.cycles.push(c);
    }

    /// Replaces a cycle that is not written yet; `false` when it is not one of those.
    pub(crate) fn update_cycle(&mut self, c: &AssignmentCycle) -> bool {
        match self.cycles.iter_mut().find(|x| x.id == c.id) {
            Some(x) => {
                *x = c.clone();
                true
            }
            None => false,
        }
    }

    /// The cycles of `ticket` when all of them are here (a ticket this transaction inserted,
    /// and no flush has written any cycle since).
    pub(crate) fn cycles_of_new_ticket(&self, ticket: TicketId) -> Option<Vec<AssignmentCycle>> {
        (self.tickets.contains_key(&ticket) && !self.cycles_flushed).then(|| {
            self.cycles
                .iter()
                .filter(|c| c.ticket_id == ticket)
                .cloned()
                .collect()
        })
    }

    /// Records a ticket this transaction inserted (at version 1).
    pub(crate) fn ticket_inserted(&mut self, id: TicketId) {
        self.tickets.insert(
            id,
            NewTicket {
                version: 1,
                pending: None,
            },
        );
    }

    /// Keeps the change of a ticket this transaction inserted, checking its version as the
    /// database would. `Ok(false)`: not such a ticket, write it now.
    pub(crate) fn update_ticket(&mut self, t: &Ticket) -> Result<bool> {
        let Some(n) = self.tickets.get_mut(&t.id) else {
            return Ok(false);
        };
        if t.version != n.version + 1 {
            return Err(stale(Entity::Ticket));
        }
        n.version = t.version;
        n.pending = Some(t.clone());
        Ok(true)
    }

    /// Records a conversation this transaction inserted.
    pub(crate) fn conversation_inserted(&mut self, id: ConversationId) {
        self.conversations.insert(id, None);
    }

    /// Keeps the change of a conversation this transaction inserted. `false`: not such a
    /// conversation, write it now.
    pub(crate) fn update_conversation(&mut self, c: &Conversation) -> bool {
        match self.conversations.get_mut(&c.id) {
            Some(p) => {
                *p = Some(c.clone());
                true
            }
            None => false,
        }
    }

    /// Keeps a queue change; the flush writes it only if the queue is still at the version
    /// before the first change of this transaction.
    pub(crate) fn update_queue(&mut self, q: &Queue) -> Result<()> {
        keep_versioned(&mut self.queues, q.id, q.version, q, Entity::Queue)
    }

    /// Keeps an agent change, like [`update_queue`](Self::update_queue).
    pub(crate) fn update_agent(&mut self, a: &Agent) -> Result<()> {
        keep_versioned(&mut self.agents, a.id, a.version, a, Entity::Agent)
    }

    /// Keeps a membership write (the last one of a pair wins).
    pub(crate) fn put_member(&mut self, m: &QueueMember) {
        self.members
            .retain(|x| !(x.queue_id == m.queue_id && x.agent_id == m.agent_id));
        self.members.push(m.clone());
    }

    /// Forgets the kept membership writes of a pair (it is being removed).
    pub(crate) fn forget_member(&mut self, queue: QueueId, agent: AgentId) {
        self.members
            .retain(|x| !(x.queue_id == queue && x.agent_id == agent));
    }

    /// Writes everything kept, in one statement. Nothing to write costs nothing.
    pub(crate) async fn flush(
        &mut self,
        org: OrgId,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let tickets: Vec<Ticket> = self
            .tickets
            .values_mut()
            .filter_map(|t| t.pending.take())
            .collect();
        let conversations: Vec<Conversation> = self
            .conversations
            .values_mut()
            .filter_map(Option::take)
            .collect();
        let events = std::mem::take(&mut self.events);
        let audits = std::mem::take(&mut self.audits);
        let cycles = std::mem::take(&mut self.cycles);
        let queues = std::mem::take(&mut self.queues);
        let agents = std::mem::take(&mut self.agents);
        let members = std::mem::take(&mut self.members);
        let messages = std::mem::take(&mut self.messages);
        self.cycles_flushed |= !cycles.is_empty();

        // One statement with a common table expression per table that has rows (a table
        // without rows would still cost opening it and its indexes). Versioned rows (queues,
        // agents) are written only if still at the version this transaction read, which the
        // counts tell.
        let mut qb = QueryBuilder::<Postgres>::new("WITH ");
        let mut sep = "";
        let mut cte = |qb: &mut QueryBuilder<Postgres>, name: &str| {
            qb.push(sep).push(name).push(" AS (");
            sep = ", ";
        };
        if !tickets.is_empty() {
            cte(&mut qb, "t");
            qb.push(
                "UPDATE tickets t SET status = x.status, priority = x.priority, queue_id = x.queue_id,
                 assignee_id = x.assignee_id, stage_id = x.stage_id, utm_source = x.utm_source,
                 utm_source_key = x.utm_source_key, source_type = x.source_type,
                 sla_wake_at = x.sla_wake_at, version = x.version, doc = x.doc,
                 click_kinds = ARRAY(SELECT jsonb_array_elements_text(x.click_kinds)),
                 first_response_at = x.first_response_at, first_response_bsecs = x.first_response_bsecs,
                 resolved_at = x.resolved_at, resolution_bsecs = x.resolution_bsecs,
                 rating = x.rating, rated_at = x.rated_at FROM ",
            );
            let cols = tickets
                .iter()
                .map(TicketColumns::of)
                .collect::<Result<Vec<_>>>()?;
            unnest!(qb;
                tickets.iter().map(|t| t.id.0).collect::<Vec<_>>() => "uuid",
                tickets.iter().map(|t| t.version as i64).collect::<Vec<_>>() => "int8",
                cols.iter().map(|c| c.status).collect::<Vec<_>>() => "text",
                cols.iter().map(|c| c.priority).collect::<Vec<_>>() => "text",
                cols.iter().map(|c| c.queue_id).collect::<Vec<_>>() => "uuid",
                cols.iter().map(|c| c.assignee_id).collect::<Vec<_>>() => "uuid",
                cols.iter().map(|c| c.stage_id).collect::<Vec<_>>() => "uuid",
                cols.iter().map(|c| c.utm_source.clone()).collect::<Vec<_>>() => "text",
                cols.iter().map(|c| c.utm_source_key.clone()).collect::<Vec<_>>() => "text",
                cols.iter().map(|c| c.source_type).collect::<Vec<_>>() => "text",
                cols.iter().map(|c| c.sla_wake_at).collect::<Vec<_>>() => "timestamptz",
                cols.iter().map(|c| c.doc.clone()).collect::<Vec<_>>() => "jsonb",
                // A text[] per row: arrays of arrays do not unnest row by row.
                cols.iter().map(|c| serde_json::json!(c.click_kinds)).collect::<Vec<_>>() => "jsonb",
                cols.iter().map(|c| c.first_response_at).collect::<Vec<_>>() => "timestamptz",
                cols.iter().map(|c| c.first_response_bsecs).collect::<Vec<_>>() => "int8",
                cols.iter().map(|c| c.resolved_at).collect::<Vec<_>>() => "timestamptz",
                cols.iter().map(|c| c.resolution_bsecs).collect::<Vec<_>>() => "int8",
                cols.iter().map(|c| c.rating).collect::<Vec<_>>() => "int2",
                cols.iter().map(|c| c.rated_at).collect::<Vec<_>>() => "timestamptz",
            );
            qb.push(
                " AS x(id, version, status, priority, queue_id, assignee_id, stage_id, utm_source,
                 utm_source_key, source_type, sla_wake_at, doc, click_kinds, first_response_at,
                 first_response_bsecs, resolved_at, resolution_bsecs, rating, rated_at)
                 WHERE t.org_id = ",
            )
            .push_bind(org.0)
            .push(" AND t.id = x.id RETURNING 1)");
        }
        if !conversations.is_empty() {
            cte(&mut qb, "cv");
            qb.push("UPDATE conversations c SET doc = x.doc FROM ");
            unnest!(qb;
                conversations.iter().map(|c| c.id.0).collect::<Vec<_>>() => "uuid",
                conversations.iter().map(to_doc).collect::<Result<Vec<_>>>()? => "jsonb",
            );
            qb.push(" AS x(id, doc) WHERE c.org_id = ")
                .push_bind(org.0)
                .push(" AND c.id = x.id RETURNING 1)");
        }
        // Appended rows as a VALUES list, in the order the workflow wrote them (`seq`).
        if !events.is_empty() {
            cte(&mut qb, "ev");
            qb.push("INSERT INTO events (org_id, id, ticket_id, kind, doc) VALUES ");
            for (i, e) in events.iter().enumerate() {
                values_row!(qb, i; org.0, e.id.0, e.ticket_id.map(|t| t.0), e.kind.as_str(), to_doc(e)?);
            }
            qb.push(")");
        }
        if !audits.is_empty() {
            cte(&mut qb, "au");
            qb.push("INSERT INTO audit_entries (org_id, id, ticket_id, doc) VALUES ");
            for (i, a) in audits.iter().enumerate() {
                values_row!(qb, i; org.0, a.id.0, a.ticket_id.map(|t| t.0), to_doc(a)?);
            }
            qb.push(")");
        }
        if !cycles.is_empty() {
            cte(&mut qb, "cy");
            qb.push("INSERT INTO assignment_cycles (org_id, id, ticket_id, doc) VALUES ");
            for (i, c) in cycles.iter().enumerate() {
                values_row!(qb, i; org.0, c.id.0, c.ticket_id.0, to_doc(c)?);
            }
            qb.push(")");
        }
        let queues: Vec<&Versioned<Queue>> = queues.values().collect();
        if !queues.is_empty() {
            cte(&mut qb, "qu");
            qb.push(
                "UPDATE queues q SET name_key = x.name_key, version = x.version, doc = x.doc FROM ",
            );
            unnest!(qb;
                queues.iter().map(|v| v.row.id.0).collect::<Vec<_>>() => "uuid",
                queues.iter().map(|v| v.base as i64).collect::<Vec<_>>() => "int8",
                queues.iter().map(|v| v.version as i64).collect::<Vec<_>>() => "int8",
                queues.iter().map(|v| v.row.name.to_lowercase()).collect::<Vec<_>>() => "text",
                queues.iter().map(|v| to_doc(&v.row)).collect::<Result<Vec<_>>>()? => "jsonb",
            );
            qb.push(" AS x(id, base, version, name_key, doc) WHERE q.org_id = ")
                .push_bind(org.0)
                .push(" AND q.id = x.id AND q.version = x.base RETURNING 1)");
        }
        let agents: Vec<&Versioned<Agent>> = agents.values().collect();
        if !agents.is_empty() {
            cte(&mut qb, "ag");
            qb.push(
                "UPDATE agents a SET email = x.email, name_folded = x.name_folded,
                 version = x.version, doc = x.doc FROM ",
            );
            unnest!(qb;
                agents.iter().map(|v| v.row.id.0).collect::<Vec<_>>() => "uuid",
                agents.iter().map(|v| v.base as i64).collect::<Vec<_>>() => "int8",
                agents.iter().map(|v| v.version as i64).collect::<Vec<_>>() => "int8",
                agents.iter().map(|v| v.row.email.clone()).collect::<Vec<_>>() => "text",
                agents.iter().map(|v| fold(&v.row.name)).collect::<Vec<_>>() => "text",
                agents.iter().map(|v| to_doc(&v.row)).collect::<Result<Vec<_>>>()? => "jsonb",
            );
            qb.push(" AS x(id, base, version, email, name_folded, doc) WHERE a.org_id = ")
                .push_bind(org.0)
                .push(" AND a.id = x.id AND a.version = x.base RETURNING 1)");
        }
        if !members.is_empty() {
            cte(&mut qb, "qm");
            qb.push(
                "INSERT INTO queue_members (org_id, queue_id, agent_id, joined_at, doc) SELECT ",
            )
            .push_bind(org.0)
            .push(", x.queue_id, x.agent_id, x.joined_at, x.doc FROM ");
            unnest!(qb;
                members.iter().map(|m| m.queue_id.0).collect::<Vec<_>>() => "uuid",
                members.iter().map(|m| m.agent_id.0).collect::<Vec<_>>() => "uuid",
                members.iter().map(|m| m.joined_at).collect::<Vec<_>>() => "timestamptz",
                members.iter().map(to_doc).collect::<Result<Vec<_>>>()? => "jsonb",
            );
            qb.push(
                " AS x(queue_id, agent_id, joined_at, doc)
                 ON CONFLICT (org_id, queue_id, agent_id)
                 DO UPDATE SET joined_at = EXCLUDED.joined_at, doc = EXCLUDED.doc)",
            );
        }
        if !messages.is_empty() {
            cte(&mut qb, "ms");
            qb.push(
                "INSERT INTO messages (org_id, id, ticket_id, channel_account_id, created_at, doc) VALUES ",
            );
            for (i, m) in messages.iter().enumerate() {
                values_row!(qb, i; org.0, m.id.0, m.ticket_id.0, m.channel_account_id.0, m.created_at, to_doc(m)?);
            }
            qb.push(")");
        }
        let count = |name: &str, rows: usize| {
            if rows == 0 {
                "0::bigint".to_owned()
            } else {
                format!("(SELECT count(*) FROM {name})")
            }
        };
        qb.push(format!(
            " SELECT {}, {}, {}, {}",
            count("t", tickets.len()),
            count("cv", conversations.len()),
            count("qu", queues.len()),
            count("ag", agents.len())
        ));
        let row = qb.build().fetch_one(&mut **tx).await.map_err(db)?;
        let written = |i: usize| -> Result<usize> {
            let n: i64 = row.try_get(i).map_err(db)?;
            Ok(n as usize)
        };
        if written(0)? != tickets.len() {
            return Err(lost(Entity::Ticket));
        }
        if written(1)? != conversations.len() {
            return Err(lost(Entity::Conversation));
        }
        if written(2)? != queues.len() {
            return Err(stale(Entity::Queue));
        }
        if written(3)? != agents.len() {
            return Err(stale(Entity::Agent));
        }
        Ok(())
    }
}

/// Keeps a versioned row's change, checking it follows the one kept before (as the database
/// would check it follows the stored one).
fn keep_versioned<K: std::hash::Hash + Eq, T: Clone>(
    map: &mut HashMap<K, Versioned<T>>,
    id: K,
    version: u64,
    row: &T,
    entity: Entity,
) -> Result<()> {
    match map.get_mut(&id) {
        Some(v) if version != v.version + 1 => Err(stale(entity)),
        Some(v) => {
            v.version = version;
            v.row = row.clone();
            Ok(())
        }
        None => {
            map.insert(
                id,
                Versioned {
                    base: version.saturating_sub(1),
                    version,
                    row: row.clone(),
                },
            );
            Ok(())
        }
    }
}

/// Changed by someone else first.
fn stale(entity: Entity) -> Error {
    Error::conflict(entity, "changed by someone else first (stale version)")
}

/// A row this transaction inserted is gone: only a bug in the store can do that.
fn lost(entity: Entity) -> Error {
    Error::store(
        format!("a {entity} inserted by this transaction was not found"),
        false,
        std::fmt::Error,
    )
}
