//! The inbound fast path's storage contract: one read and one atomic write for a message that
//! continues a live ticket.
//!
//! Most inbound traffic continues a conversation whose ticket is already open. For that case
//! the service does not need a transaction of small primitives: it reads everything the
//! message touches at once ([`InboundFastPath::inbound_snapshot`](super::InboundFastPath::inbound_snapshot)),
//! computes the new rows in memory with the same rules as the full workflow, and hands them
//! to [`InboundFastPath::write_inbound`](super::InboundFastPath::write_inbound), which stores them atomically
//! only if the ticket is still at the version that was read. Anything else (a new contact or
//! conversation, a ticket to reopen, a changed contact, a lost race) runs the full workflow,
//! which stays the reference: the conformance suite checks both paths leave the same rows.
//!
//! A store may implement the two methods with one statement each (Postgres does); the
//! default implementations use the transaction primitives and are correct for any store.

use super::{LockKey, StoreCore};
use crate::Result;
use crate::domain::message::Message;
use crate::domain::party::{ChannelAccount, ChannelKind, Contact, ContactKey, Conversation};
use crate::domain::records::Event;
use crate::domain::ticket::Ticket;

/// What an inbound message would touch, read outside any transaction (so possibly stale; the
/// write checks the ticket's version).
#[derive(Debug, Clone, PartialEq)]
pub struct InboundSnapshot {
    /// The inbox the message arrived at (it names the tenant).
    pub account: ChannelAccount,
    /// The message already stored under this channel message id (a redelivery).
    pub duplicate: Option<Message>,
    /// The contact with the sender's WhatsApp id.
    pub contact: Option<Contact>,
    /// The contact's conversation in this inbox.
    pub conversation: Option<Conversation>,
    /// The conversation's live (not closed) ticket (its SLA clocks carry the policy they
    /// run under).
    pub ticket: Option<Ticket>,
}

/// The rows one inbound message produces on the fast path.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundWrite {
    /// The new message (its channel message id is the idempotency key).
    pub message: Message,
    /// The conversation with its new `last_inbound_at`.
    pub conversation: Conversation,
    /// The ticket at its new version (`version` = the version read + 1).
    pub ticket: Ticket,
    /// Outbox events.
    pub events: Vec<Event>,
}

/// What [`InboundFastPath::write_inbound`](super::InboundFastPath::write_inbound) did.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundWritten {
    /// Everything was stored.
    Stored,
    /// A message with that channel id was stored first (by a concurrent delivery): nothing was
    /// written. Carries the stored message.
    Duplicate(Box<Message>),
    /// The ticket changed since it was read (or is gone): nothing was written; run the full
    /// workflow.
    Stale,
}

/// [`InboundFastPath::inbound_snapshot`](super::InboundFastPath::inbound_snapshot) with transaction primitives.
pub async fn snapshot_with_primitives<S: StoreCore + ?Sized>(
    store: &S,
    kind: ChannelKind,
    account_external_id: &str,
    whatsapp_id: &str,
    external_id: &str,
) -> Result<Option<InboundSnapshot>> {
    let Some(account) = store
        .find_channel_account(kind, account_external_id)
        .await?
    else {
        return Ok(None);
    };
    let mut tx = store.begin(account.org_id).await?;
    let duplicate = tx.message_by_external_id(account.id, external_id).await?;
    let contact = tx
        .find_contact(&ContactKey::WhatsappId(whatsapp_id.to_owned()))
        .await?;
    let conversation = match &contact {
        Some(c) => tx.find_conversation(c.id, account.id).await?,
        None => None,
    };
    let ticket = match &conversation {
        Some(c) => tx.live_ticket(c.id).await?,
        None => None,
    };
    // Read only: dropping the transaction rolls it back.
    drop(tx);
    Ok(Some(InboundSnapshot {
        account,
        duplicate,
        contact,
        conversation,
        ticket,
    }))
}

/// [`InboundFastPath::write_inbound`](super::InboundFastPath::write_inbound) with transaction primitives.
pub async fn write_with_primitives<S: StoreCore + ?Sized>(
    store: &S,
    w: &InboundWrite,
) -> Result<InboundWritten> {
    let mut tx = store.begin(w.message.org_id).await?;
    tx.lock(LockKey::Conversation(w.conversation.id)).await?;
    if let Some(external_id) = &w.message.external_id
        && let Some(m) = tx
            .message_by_external_id(w.message.channel_account_id, external_id)
            .await?
    {
        return Ok(InboundWritten::Duplicate(Box::new(m)));
    }
    match tx.live_ticket(w.conversation.id).await? {
        Some(t) if t.id == w.ticket.id && t.version + 1 == w.ticket.version => {}
        _ => return Ok(InboundWritten::Stale),
    }
    tx.insert_message(&w.message).await?;
    tx.update_conversation(&w.conversation).await?;
    tx.update_ticket(&w.ticket).await?;
    for e in &w.events {
        tx.insert_event(e).await?;
    }
    tx.commit().await?;
    Ok(InboundWritten::Stored)
}
