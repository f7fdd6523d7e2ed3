//! The inbound fast path in one statement each way: a join that reads everything a message
//! touches, and a statement that writes message, ticket, conversation and events atomically
//! (autocommit), or nothing.

use crate::error::db;
use crate::tx::{bind_ticket_update, from_doc, ticket_update_set, to_doc};
use helpdesk_core::Result;
use helpdesk_core::domain::party::ChannelKind;
use helpdesk_core::store::inbound::{InboundSnapshot, InboundWrite, InboundWritten};
use serde_json::Value;
use sqlx::{PgPool, Row};

type Docs = (
    Value,
    Option<Value>,
    Option<Value>,
    Option<Value>,
    Option<Value>,
);

pub(crate) async fn snapshot(
    pool: &PgPool,
    kind: ChannelKind,
    account_external_id: &str,
    whatsapp_id: &str,
    external_id: &str,
) -> Result<Option<InboundSnapshot>> {
    let row: Option<Docs> = sqlx::query_as(
        "SELECT a.doc, m.doc, c.doc, cv.doc, t.doc
         FROM channel_accounts a
         LEFT JOIN messages m
                ON m.channel_account_id = a.id AND m.external_id = $4 AND m.org_id = a.org_id
         LEFT JOIN contacts c ON c.org_id = a.org_id AND c.whatsapp_id = $3
         LEFT JOIN conversations cv
                ON cv.org_id = a.org_id AND cv.contact_id = c.id AND cv.channel_account_id = a.id
         LEFT JOIN tickets t
                ON t.org_id = a.org_id AND t.conversation_id = cv.id AND t.status <> 'closed'
         WHERE a.kind = $1 AND a.external_id = $2",
    )
    .bind(kind.as_str())
    .bind(account_external_id)
    .bind(whatsapp_id)
    .bind(external_id)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    let Some((account, duplicate, contact, conversation, ticket)) = row else {
        return Ok(None);
    };
    Ok(Some(InboundSnapshot {
        account: from_doc("channel_accounts", account)?,
        duplicate: duplicate.map(|d| from_doc("messages", d)).transpose()?,
        contact: contact.map(|d| from_doc("contacts", d)).transpose()?,
        conversation: conversation
            .map(|d| from_doc("conversations", d))
            .transpose()?,
        ticket: ticket.map(|d| from_doc("tickets", d)).transpose()?,
    }))
}

pub(crate) async fn write(pool: &PgPool, w: &InboundWrite) -> Result<InboundWritten> {
    let org = w.ticket.org_id;
    let m = &w.message;
    let (mut ids, mut tickets, mut kinds, mut docs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for e in &w.events {
        ids.push(e.id.0);
        tickets.push(e.ticket_id.map(|t| t.0));
        kinds.push(e.kind.as_str());
        docs.push(to_doc(e)?);
    }
    // The message goes first: a redelivery inserts nothing and so changes nothing. A ticket
    // that moved on since it was read aborts the whole statement (helpdesk_stale).
    let row = bind_ticket_update(
        sqlx::query(concat!(
            "WITH msg AS (
                 INSERT INTO messages (org_id, id, ticket_id, channel_account_id, external_id, created_at, doc)
                 VALUES ($1, $21, $2, $22, $23, $24, $25)
                 ON CONFLICT (channel_account_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
                 RETURNING 1
             ), t AS (
                 UPDATE tickets SET ",
            ticket_update_set!(),
            " WHERE org_id = $1 AND id = $2 AND version = $3 - 1 AND status <> 'closed'
                   AND EXISTS (SELECT 1 FROM msg)
                 RETURNING 1
             ), c AS (
                 UPDATE conversations SET doc = $26
                 WHERE org_id = $1 AND id = $27 AND EXISTS (SELECT 1 FROM t)
                 RETURNING 1
             ), e AS (
                 INSERT INTO events (org_id, id, ticket_id, kind, doc)
                 SELECT $1, u.id, u.ticket_id, u.kind, u.doc
                 FROM unnest($28::uuid[], $29::uuid[], $30::text[], $31::jsonb[]) AS u(id, ticket_id, kind, doc)
                 WHERE EXISTS (SELECT 1 FROM t)
                 RETURNING 1
             )
             SELECT CASE
                 WHEN NOT EXISTS (SELECT 1 FROM msg) THEN 0
                 WHEN NOT EXISTS (SELECT 1 FROM t) AND helpdesk_stale('ticket') THEN -1
                 ELSE 1
             END"
        )),
        &w.ticket,
    )?
    .bind(m.id.0)
    .bind(m.channel_account_id.0)
    .bind(m.external_id.clone())
    .bind(m.created_at)
    .bind(to_doc(m)?)
    .bind(to_doc(&w.conversation)?)
    .bind(w.conversation.id.0)
    .bind(ids)
    .bind(tickets)
    .bind(kinds)
    .bind(docs)
    .fetch_one(pool)
    .await
    .map_err(db)?;
    let outcome: i32 = row.try_get(0).map_err(db)?;
    if outcome == 1 {
        return Ok(InboundWritten::Stored);
    }
    // A redelivery: report the stored message (in this tenant; anything else is for the
    // workflow to sort out).
    let doc: Option<Value> = sqlx::query_scalar(
        "SELECT doc FROM messages WHERE org_id = $1 AND channel_account_id = $2 AND external_id = $3",
    )
    .bind(org.0)
    .bind(m.channel_account_id.0)
    .bind(m.external_id.clone())
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    Ok(match doc {
        Some(d) => InboundWritten::Duplicate(Box::new(from_doc("messages", d)?)),
        None => InboundWritten::Stale,
    })
}
