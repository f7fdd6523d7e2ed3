//! Inbound traffic: customer messages and delivery statuses from channels.

use super::tickets::{
    TicketDraft, auto_assign_in, change_status_at, change_status_in, find_or_create_contact,
    find_or_create_conversation, insert_new_ticket, refield,
};
use super::*;
use crate::channel::{InboundMessage, InboundStatus};
use crate::domain::canned::render;
use crate::domain::message::{Author, Direction, MessageContent};
use crate::domain::party::ContactKey;
use crate::domain::phone::PhoneNumber;
use crate::domain::ticket::{Creator, Priority, TicketStatus};
use crate::sla::Calendar;
use std::collections::BTreeMap;

/// What [`Helpdesk::ingest`] did with an inbound message: where it went and what it caused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The tenant whose inbox received the message (found by the inbox's channel id).
    pub org_id: OrgId,
    /// The ticket the message was added to: the conversation's live ticket, or a new one.
    pub ticket_id: TicketId,
    /// The stored inbound message (for a duplicate, the one stored the first time).
    pub message_id: MessageId,
    /// It had been stored before: nothing was done this time.
    pub duplicate: bool,
    /// A new ticket was opened for it.
    pub created_ticket: bool,
    /// The agent automatic assignment gave the new ticket to; `None` when nobody was
    /// assigned by this message (always for a continued ticket).
    pub assigned_to: Option<AgentId>,
    /// The auto-replies this message triggered (greeting, out of hours, no agent), as stored
    /// messages; with [`Helpdesk::ingest_deferred`] they are still `queued`.
    pub auto_replies: Vec<MessageId>,
}

/// Outbound messages stored by a workflow and not sent yet (the auto-replies of
/// [`Helpdesk::ingest_deferred`]); [`Deliveries::run`] sends them.
#[must_use = "run() sends them; dropping leaves them queued"]
pub struct Deliveries {
    hd: Helpdesk,
    org: OrgId,
    pending: Vec<Pending>,
}

impl Deliveries {
    /// How many messages wait to be sent.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Sends them and records each result on its message.
    pub async fn run(self) -> Vec<Message> {
        if self.pending.is_empty() {
            return Vec::new();
        }
        self.hd.deliver(self.org, self.pending).await
    }
}

/// What [`Helpdesk::apply_status`] did with a delivery status from the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusOutcome {
    /// The message moved forward to this status.
    Applied(DeliveryStatus),
    /// The status was not newer than the stored one (out of order or repeated).
    Ignored,
    /// No outbound message with that channel id (sent outside this desk).
    UnknownMessage,
}

/// The sender as a lead. Channel senders are international numbers, written with or without
/// '+'.
fn inbound_lead(msg: &InboundMessage) -> LeadInput {
    let phone = msg
        .from
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            if p.starts_with('+') {
                p.to_owned()
            } else {
                format!("+{p}")
            }
        });
    LeadInput {
        name: msg.from.name.clone(),
        phone,
        email: msg.from.email.clone(),
        document: None,
        whatsapp_id: msg.from.whatsapp_id.clone(),
        visitor_id: msg.from.visitor_id.clone(),
    }
}

/// Whether the ingestion workflow would find `contact` for `lead` and leave it as it is (the
/// same [`Lead`](super::tickets::Lead) step decides): only then may the fast path take the
/// message. A lead the workflow would refuse, a field to fill in, or a visitor id (looked up
/// before the WhatsApp id the snapshot used) sends it to the workflow.
fn contact_is_settled(contact: &crate::domain::party::Contact, lead: &LeadInput) -> bool {
    // Inbound phones are international ('+'), so the region plays no part.
    match super::tickets::Lead::parse(lead, Default::default()) {
        Ok(parsed) => {
            matches!(parsed.keys().first(), Some(ContactKey::WhatsappId(_)))
                && !parsed.fill(&mut contact.clone())
        }
        Err(_) => false,
    }
}

/// The stored row of an inbound message.
fn inbound_row(
    account: &crate::domain::party::ChannelAccount,
    contact: &crate::domain::party::Contact,
    conv: &crate::domain::party::Conversation,
    ticket: &Ticket,
    msg: &InboundMessage,
) -> Message {
    Message {
        id: MessageId::new(),
        org_id: account.org_id,
        ticket_id: ticket.id,
        conversation_id: conv.id,
        channel_account_id: account.id,
        direction: Direction::Inbound,
        author: Author::Contact(contact.id),
        content: msg.content.clone(),
        external_id: Some(msg.external_id.clone()),
        reply_to_external_id: msg.reply_to_external_id.clone(),
        status: None,
        delivery_error: None,
        created_at: msg.sent_at,
        status_at: None,
        pricing_category: None,
    }
}

/// Whether a customer who wrote at `wrote_at` reopens the resolved ticket `t` (its queue's
/// [`Reopen`](crate::domain::team::Reopen) setting; a ticket without a queue always reopens).
async fn reopens(tx: &mut dyn StoreTx, t: &Ticket, wrote_at: DateTime<Utc>) -> Result<bool> {
    Ok(match t.queue_id {
        Some(q) => tx.queue(q).await?.reopen.reopens(t.resolved_at, wrote_at),
        None => true,
    })
}

/// When the customer wrote, as the SLA clocks count it: the channel's send instant, or now
/// when the sender's clock is ahead of ours. (Meta redelivers for days after an outage; the
/// customer's waiting time counts from when they wrote.)
fn customer_instant(msg: &InboundMessage, now: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::DurationRound;
    // Whole microseconds, as every store keeps instants.
    let sent = msg
        .sent_at
        .duration_trunc(chrono::Duration::microseconds(1))
        .unwrap_or(msg.sent_at);
    sent.min(now)
}

/// The `message.added` payload of an inbound message.
fn inbound_added(m: &Message) -> EventData {
    EventData::Received {
        message_id: m.id,
        kind: m.content.kind_name(),
    }
}

/// What a redelivery of a stored message reports.
fn duplicate(org: OrgId, m: &Message) -> Ingested {
    Ingested {
        org_id: org,
        ticket_id: m.ticket_id,
        message_id: m.id,
        duplicate: true,
        created_ticket: false,
        assigned_to: None,
        auto_replies: Vec::new(),
    }
}

impl Helpdesk {
    /// Ingests one inbound message. Idempotent: the same (inbox, channel message id) is stored
    /// once however often and however concurrently it arrives, and its side effects (ticket,
    /// events, auto-replies, assignment) happen once. Finds or creates the contact (WhatsApp id,
    /// phone with ninth-digit matching, e-mail) and the conversation, continues the live ticket
    /// or opens a new one in the inbox's default queue, assigns it by the queue's strategy, and
    /// sends the queue's greeting / out-of-hours / no-agent replies after the commit.
    ///
    /// A pending ticket reopens. A resolved one follows its queue's
    /// [`Reopen`](crate::domain::team::Reopen) setting: it reopens (the default), or, when the
    /// setting says no (never, or the customer wrote after the window), it closes and the
    /// message opens a new ticket. SLA clocks count from when the customer wrote (the message's
    /// `sent_at`, or now when that is in the future), never from before the clocks' last change.
    ///
    /// An inbox nobody registered is [`Error::NotFound`] (`channel_account`): acknowledge the
    /// webhook, store nothing.
    pub async fn ingest(&self, msg: InboundMessage) -> Result<Ingested> {
        let (out, deliveries) = self.ingest_deferred(msg).await?;
        deliveries.run().await;
        Ok(out)
    }

    /// [`ingest`](Self::ingest) without the sends: the message is stored and routed, and the
    /// auto-replies are stored `queued` and handed back to be sent later (a webhook handler
    /// acknowledges first, then runs them in the background, so it never waits on the
    /// channel). Dropping the [`Deliveries`] leaves the replies `queued`, never lost.
    pub async fn ingest_deferred(&self, msg: InboundMessage) -> Result<(Ingested, Deliveries)> {
        if msg.external_id.trim().is_empty() {
            return Err(Error::invalid(
                "external_id",
                "inbound messages need the channel's message id",
            ));
        }
        let unknown = || {
            Error::not_found(
                Entity::ChannelAccount,
                format!("{} {}", msg.channel.as_str(), msg.account_external_id),
            )
        };
        let whatsapp_id = msg
            .from
            .whatsapp_id
            .as_deref()
            .map(str::trim)
            .filter(|w| !w.is_empty());
        let account = match whatsapp_id {
            // A sender known by its channel id: the common case (a message that continues a
            // live ticket) is one read and one atomic write; anything else falls through to
            // the workflow below.
            Some(wa) if self.inbound_fast_path => {
                let snap = self
                    .store
                    .inbound_snapshot(msg.channel, &msg.account_external_id, wa, &msg.external_id)
                    .await?
                    .ok_or_else(unknown)?;
                if let Some(out) = self.ingest_fast(&snap, &msg).await? {
                    let org = out.org_id;
                    return Ok((
                        out,
                        Deliveries {
                            hd: self.clone(),
                            org,
                            pending: Vec::new(),
                        },
                    ));
                }
                snap.account
            }
            _ => self
                .store
                .find_channel_account(msg.channel, &msg.account_external_id)
                .await?
                .ok_or_else(unknown)?,
        };
        let (out, pending) = self.ingest_full(&account, &msg).await?;
        Ok((
            out,
            Deliveries {
                hd: self.clone(),
                org: account.org_id,
                pending,
            },
        ))
    }

    /// The fast path: a message from a known contact that continues its conversation's live
    /// ticket (`new` or `open`, so no status moves), with nothing to learn about the contact.
    /// Computes exactly the rows the workflow would (message, conversation, ticket with its
    /// SLA step, event) and writes them at once if the ticket is still as read. `None` means
    /// "run the workflow" (another case, or the ticket changed meanwhile).
    async fn ingest_fast(
        &self,
        snap: &crate::store::inbound::InboundSnapshot,
        msg: &InboundMessage,
    ) -> Result<Option<Ingested>> {
        use crate::store::inbound::{InboundWrite, InboundWritten};
        let org = snap.account.org_id;
        if let Some(m) = &snap.duplicate {
            return Ok(Some(duplicate(org, m)));
        }
        let (Some(contact), Some(conv), Some(ticket)) =
            (&snap.contact, &snap.conversation, &snap.ticket)
        else {
            return Ok(None);
        };
        if !matches!(ticket.status, TicketStatus::New | TicketStatus::Open)
            || !contact_is_settled(contact, &inbound_lead(msg))
        {
            return Ok(None);
        }
        let now = self.now();
        let m = inbound_row(&snap.account, contact, conv, ticket, msg);
        let mut conversation = conv.clone();
        conversation.last_inbound_at = conversation.last_inbound_at.max(Some(msg.sent_at));
        let mut t = ticket.clone();
        t.last_customer_message_at = t.last_customer_message_at.max(Some(msg.sent_at));
        super::sla::apply_sla_event(
            &mut t,
            crate::sla::SlaEvent::CustomerMessage,
            customer_instant(msg, now),
        )?;
        t.updated_at = now;
        t.version = ticket.version + 1;
        let event = super::event(org, Some(t.id), &Actor::System, &inbound_added(&m), now);
        let w = InboundWrite {
            message: m,
            conversation,
            ticket: t,
            events: vec![event],
        };
        match self.store.write_inbound(&w).await {
            Ok(InboundWritten::Stored) => Ok(Some(Ingested {
                org_id: org,
                ticket_id: w.ticket.id,
                message_id: w.message.id,
                duplicate: false,
                created_ticket: false,
                assigned_to: None,
                auto_replies: Vec::new(),
            })),
            Ok(InboundWritten::Duplicate(m)) => Ok(Some(duplicate(org, &m))),
            Ok(InboundWritten::Stale) => Ok(None),
            Err(e) if e.reruns() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The full ingestion workflow (the fast path's fallback, and every case it does not
    /// take): the message and its ticket, and the auto-replies stored to send after it.
    async fn ingest_full(
        &self,
        account: &crate::domain::party::ChannelAccount,
        msg: &InboundMessage,
    ) -> Result<(Ingested, Vec<Pending>)> {
        let org = account.org_id;
        workflow!(self, org, |tx, now| {
            // Duplicates are recognized below, under the conversation's lock (a redelivery's
            // contact and conversation exist already, so nothing is created before that check).
            let organization = tx.organization().await?;
            let lead = inbound_lead(msg);
            let contact = find_or_create_contact(&mut *tx, &organization, &lead, now).await?;
            let mut conv = find_or_create_conversation(&mut *tx, &contact, account, now).await?;
            // Messages of one conversation queue here instead of racing for the same ticket row
            // (an album of 30 photos arrives at once); constraints still decide if a store
            // ignores the hint.
            tx.lock(crate::store::LockKey::Conversation(conv.id))
                .await?;
            if let Some(m) = tx
                .message_by_external_id(account.id, &msg.external_id)
                .await?
            {
                return Ok((duplicate(org, &m), Vec::new()));
            }
            let actor = Actor::System;

            let wrote_at = customer_instant(msg, now);
            let live = match tx.live_ticket(conv.id).await? {
                // A resolved ticket whose queue does not reopen it (any more): it closes, and the
                // message opens a new ticket.
                Some(t)
                    if t.status == TicketStatus::Resolved
                        && !reopens(&mut *tx, &t, wrote_at).await? =>
                {
                    change_status_in(&mut *tx, &t, TicketStatus::Closed, &actor, now).await?;
                    None
                }
                live => live,
            };
            let (mut ticket, created) = match live {
                Some(t) => {
                    let t = match t.status {
                        TicketStatus::Pending | TicketStatus::Resolved => {
                            change_status_at(
                                &mut *tx,
                                &t,
                                TicketStatus::Open,
                                &actor,
                                now,
                                wrote_at,
                            )
                            .await?
                        }
                        _ => t,
                    };
                    (t, false)
                }
                None => {
                    let queue_id = match account.default_queue_id {
                        Some(q) => Some(q),
                        None => tx.queues().await?.first().map(|q| q.id),
                    };
                    let draft = TicketDraft {
                        queue_id,
                        stage_id: None,
                        priority: Priority::default(),
                        subject: None,
                        deal_value: None,
                        tracking: msg.tracking.clone().unwrap_or_default(),
                        category_id: None,
                        required_skills: Vec::new(),
                        creator: Creator::System,
                        clocks_from: wrote_at,
                    };
                    (
                        insert_new_ticket(&mut *tx, &conv, draft, &actor, now).await?,
                        true,
                    )
                }
            };

            let m = inbound_row(account, &contact, &conv, &ticket, msg);
            tx.insert_message(&m).await?;
            conv.last_inbound_at = conv.last_inbound_at.max(Some(msg.sent_at));
            tx.update_conversation(&conv).await?;
            let before = ticket.clone();
            ticket.last_customer_message_at =
                ticket.last_customer_message_at.max(Some(msg.sent_at));
            if !created {
                super::sla::sla_step(
                    &mut *tx,
                    &mut ticket,
                    crate::sla::SlaEvent::CustomerMessage,
                    wrote_at,
                )
                .await?;
            }
            save_ticket(&mut *tx, &before, &mut ticket, now).await?;
            emit(&mut *tx, Some(ticket.id), &actor, &inbound_added(&m), now).await?;

            let mut assigned_to = None;
            let mut pending = Vec::new();
            let mut auto_replies = Vec::new();
            if created {
                if let Some(t) = auto_assign_in(&mut *tx, &ticket, &actor, now).await? {
                    assigned_to = t.assignee_id;
                    ticket = t;
                }
                if let Some(qid) = ticket.queue_id {
                    let queue = tx.queue(qid).await?;
                    let open = match &queue.business_hours {
                        Some(spec) => Calendar::new(spec.clone())?.is_open(now)?,
                        None => true,
                    };
                    let ar = &queue.auto_replies;
                    let mut texts = Vec::new();
                    if open {
                        texts.extend(ar.greeting.clone());
                        if assigned_to.is_none()
                            && queue.distribution != crate::domain::team::Distribution::Manual
                        {
                            texts.extend(ar.no_agent.clone());
                        }
                    } else {
                        texts.extend(ar.out_of_hours.clone());
                    }
                    let mut vars = BTreeMap::new();
                    vars.insert(
                        "customer_name".to_owned(),
                        contact.name.clone().unwrap_or_default(),
                    );
                    vars.insert("ticket_number".to_owned(), ticket.number.to_string());
                    vars.insert("queue_name".to_owned(), queue.name.clone());
                    for text in texts {
                        let body = render(&text, &vars).text;
                        let reply = Message::written(
                            &ticket,
                            Direction::Outbound,
                            Author::System,
                            MessageContent::text(body),
                            now,
                        );
                        tx.insert_message(&reply).await?;
                        emit(
                            &mut *tx,
                            Some(ticket.id),
                            &actor,
                            &EventData::AutoReplied {
                                message_id: reply.id,
                            },
                            now,
                        )
                        .await?;
                        auto_replies.push(reply.id);
                        pending.push(Pending::of(&reply, account.clone(), &contact));
                    }
                }
            }
            (
                Ingested {
                    org_id: org,
                    ticket_id: ticket.id,
                    message_id: m.id,
                    duplicate: false,
                    created_ticket: created,
                    assigned_to,
                    auto_replies,
                },
                pending,
            )
        })
    }

    /// The customer changed their phone number (WhatsApp's `user_changed_number`): the
    /// contact found by the old number gets the new one, so the conversation continues.
    /// `Ok(None)` when no contact has the old number; `AlreadyExists` when another contact
    /// already has the new one (nothing is changed then).
    pub async fn change_contact_phone(
        &self,
        channel: crate::domain::party::ChannelKind,
        account_external_id: &str,
        old: &str,
        new: &str,
    ) -> Result<Option<crate::domain::party::Contact>> {
        let account = self
            .store
            .find_channel_account(channel, account_external_id)
            .await?
            .ok_or_else(|| {
                Error::not_found(
                    Entity::ChannelAccount,
                    format!("{} {account_external_id}", channel.as_str()),
                )
            })?;
        let intl = |p: &str| {
            if p.starts_with('+') {
                p.to_owned()
            } else {
                format!("+{p}")
            }
        };
        workflow!(self, account.org_id, |tx, now| {
            let region = tx.organization().await?.region();
            let old =
                PhoneNumber::parse(&intl(old), region).map_err(|e| refield(e, "old_phone"))?;
            let new =
                PhoneNumber::parse(&intl(new), region).map_err(|e| refield(e, "new_phone"))?;
            let Some(mut c) = tx.find_contact(&ContactKey::Phone(old)).await? else {
                return Ok(None);
            };
            if let Some(other) = tx.find_contact(&ContactKey::Phone(new.clone())).await?
                && other.id != c.id
            {
                return Err(Error::already_exists(
                    Entity::Contact,
                    "phone",
                    Some(other.id.to_string()),
                ));
            }
            c.phone = Some(new);
            c.updated_at = now;
            tx.update_contact(&c).await?;
            audit_config(
                &mut *tx,
                &Actor::System,
                ConfigChange::ContactPhoneChanged { contact_id: c.id },
                now,
            )
            .await?;
            Some(c)
        })
    }

    /// Applies a delivery status to an outbound message. Statuses only move forward
    /// (`sent < delivered < read`, `failed` terminal), whatever order they arrive in; a failure
    /// is reported as a `message.status_changed` event with its code (131047 = the 24-hour
    /// window closed) so nothing is swallowed.
    pub async fn apply_status(&self, st: InboundStatus) -> Result<StatusOutcome> {
        let account = self
            .store
            .find_channel_account(st.channel, &st.account_external_id)
            .await?
            .ok_or_else(|| {
                Error::not_found(
                    Entity::ChannelAccount,
                    format!("{} {}", st.channel.as_str(), st.account_external_id),
                )
            })?;
        workflow!(self, account.org_id, |tx, now| {
            let Some(mut m) = tx
                .message_by_external_id(account.id, &st.external_id)
                .await?
            else {
                return Ok(StatusOutcome::UnknownMessage);
            };
            if m.direction != Direction::Outbound
                || !m.status.is_none_or(|s| s.can_advance_to(st.status))
            {
                return Ok(StatusOutcome::Ignored);
            }
            m.status = Some(st.status);
            m.status_at = Some(st.at);
            if st.status == DeliveryStatus::Failed {
                m.delivery_error = st.error.clone();
            }
            if st.pricing_category.is_some() {
                m.pricing_category = st.pricing_category.clone();
            }
            tx.update_message(&m).await?;
            let reported = EventData::DeliveryReported {
                message_id: m.id,
                status: st.status,
                error_code: st.error.as_ref().and_then(|e| e.code),
                error_title: st.error.as_ref().map(|e| e.title.clone()),
            };
            emit(&mut *tx, Some(m.ticket_id), &Actor::System, &reported, now).await?;
            StatusOutcome::Applied(st.status)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::party::Contact;
    use crate::domain::phone::{PhoneNumber, PhoneRegion};

    fn contact() -> Contact {
        let t = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        Contact {
            id: ContactId::new(),
            org_id: OrgId::new(),
            name: Some("Ana".into()),
            phone: Some(PhoneNumber::parse("+5511987654321", PhoneRegion::BR).unwrap()),
            whatsapp_id: Some("5511987654321".into()),
            email: None,
            visitor_id: None,
            document: None,
            vip: false,
            attributes: Default::default(),
            created_at: t,
            updated_at: t,
        }
    }

    fn lead() -> LeadInput {
        LeadInput {
            name: Some("Ana Maria".into()),
            phone: Some("+5511987654321".into()),
            whatsapp_id: Some("5511987654321".into()),
            ..LeadInput::default()
        }
    }

    /// The fast path takes a message only when the workflow's own contact step would change
    /// nothing; every other case goes to the workflow.
    #[test]
    fn the_fast_path_takes_only_what_the_contact_step_leaves_alone() {
        assert!(contact_is_settled(&contact(), &lead()), "known, complete");
        let unnamed = Contact {
            name: None,
            ..contact()
        };
        assert!(!contact_is_settled(&unnamed, &lead()), "a name to fill in");
        let bad_phone = LeadInput {
            phone: Some("+55".into()),
            ..lead()
        };
        assert!(!contact_is_settled(&contact(), &bad_phone), "refused lead");
        let with_mail = LeadInput {
            email: Some("ana@example.com".into()),
            ..lead()
        };
        assert!(
            !contact_is_settled(&contact(), &with_mail),
            "an e-mail to add"
        );
        let visitor = LeadInput {
            visitor_id: Some("v-1".into()),
            ..lead()
        };
        assert!(
            !contact_is_settled(&contact(), &visitor),
            "a visitor id is looked up first"
        );
    }
}
