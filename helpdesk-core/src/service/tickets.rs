//! Ticket workflows: create, reply, note, assign, transfer, status, merge, rate, classify,
//! update, sales.

use super::setup::ensure_stages_in;
use super::*;
use crate::actor::Action;
use crate::domain::canned::{normalize_shortcut, render};
use crate::domain::document::Document;
use crate::domain::message::{Author, Direction, MessageContent};
use crate::domain::party::{
    ChannelAccount, Contact, ContactKey, Conversation, Organization, normalize_email,
};
use crate::domain::phone::{PhoneNumber, PhoneRegion};
use crate::domain::records::Sale;
use crate::domain::ticket::{Creator, Money, Rating, TicketStatus};
use crate::domain::tracking::Tracking;
use crate::routing::{self, Candidate};
use crate::store::LockKey;
use std::collections::BTreeMap;

/// `e` about `field` instead, when it is a validation error.
pub(crate) fn refield(e: Error, field: &str) -> Error {
    match e {
        Error::Invalid {
            reason, allowed, ..
        } => Error::Invalid {
            field: field.to_owned(),
            reason,
            allowed,
        },
        e => e,
    }
}

/// A lead's details, parsed and checked: the one pure step behind finding, filling and
/// creating its contact, shared by the ingestion workflow and the inbound fast path.
pub(crate) struct Lead {
    name: Option<String>,
    phone: Option<PhoneNumber>,
    email: Option<String>,
    document: Option<Document>,
    whatsapp_id: Option<String>,
    visitor_id: Option<String>,
}

impl Lead {
    /// Parses `lead` (national phone numbers in `region`); an error names the field.
    pub(crate) fn parse(lead: &LeadInput, region: PhoneRegion) -> Result<Lead> {
        let phone = lead
            .phone
            .as_deref()
            .map(|p| PhoneNumber::parse(p, region))
            .transpose()
            .map_err(|e| refield(e, "lead.phone"))?;
        let email = lead
            .email
            .as_deref()
            .map(normalize_email)
            .transpose()
            .map_err(|e| refield(e, "lead.email"))?;
        let document = lead
            .document
            .as_deref()
            .map(Document::parse)
            .transpose()
            .map_err(|e| refield(e, "lead.document"))?;
        let opaque = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
        };
        let visitor_id = opaque(&lead.visitor_id);
        if let Some(v) = &visitor_id
            && (v.chars().count() > 200 || v.contains('\0'))
        {
            return Err(Error::invalid(
                "lead.visitor_id",
                "a visitor id has at most 200 characters and no NUL",
            ));
        }
        let parsed = Lead {
            name: lead
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| n.chars().take(120).collect::<String>()),
            phone,
            email,
            document,
            whatsapp_id: opaque(&lead.whatsapp_id),
            visitor_id,
        };
        if parsed.keys().is_empty() {
            return Err(Error::invalid(
                "lead",
                "a phone, an e-mail, a WhatsApp id or a visitor id is needed",
            ));
        }
        Ok(parsed)
    }

    /// The keys its contact is looked up by, in order: visitor id, WhatsApp id, phone
    /// (ninth-digit aware), e-mail. The first that finds a contact wins.
    pub(crate) fn keys(&self) -> Vec<ContactKey> {
        let mut keys = Vec::new();
        keys.extend(self.visitor_id.clone().map(ContactKey::VisitorId));
        keys.extend(self.whatsapp_id.clone().map(ContactKey::WhatsappId));
        keys.extend(self.phone.clone().map(ContactKey::Phone));
        keys.extend(self.email.clone().map(ContactKey::Email));
        keys
    }

    /// Fills in what `c` lacks (never overwrites what it has); whether anything changed.
    pub(crate) fn fill(&self, c: &mut Contact) -> bool {
        fn fill<T: Clone>(slot: &mut Option<T>, v: &Option<T>) -> bool {
            let filled = slot.is_none() && v.is_some();
            if filled {
                slot.clone_from(v);
            }
            filled
        }
        // Every field is filled: no short-circuit.
        [
            fill(&mut c.name, &self.name),
            fill(&mut c.phone, &self.phone),
            fill(&mut c.whatsapp_id, &self.whatsapp_id),
            fill(&mut c.visitor_id, &self.visitor_id),
            fill(&mut c.email, &self.email),
            fill(&mut c.document, &self.document),
        ]
        .contains(&true)
    }

    /// A new contact with these details.
    fn into_contact(self, org: OrgId, now: DateTime<Utc>) -> Contact {
        Contact {
            id: ContactId::new(),
            org_id: org,
            name: self.name,
            phone: self.phone,
            whatsapp_id: self.whatsapp_id,
            email: self.email,
            visitor_id: self.visitor_id,
            document: self.document,
            vip: false,
            attributes: BTreeMap::new(),
            created_at: now,
            updated_at: now,
        }
    }
}

/// Finds the lead's contact by its [keys](Lead::keys); creates it when unknown; fills fields
/// it lacked.
pub(crate) async fn find_or_create_contact(
    tx: &mut dyn StoreTx,
    org: &Organization,
    lead: &LeadInput,
    now: DateTime<Utc>,
) -> Result<Contact> {
    let lead = Lead::parse(lead, org.region())?;
    let mut found = None;
    for key in lead.keys() {
        found = tx.find_contact(&key).await?;
        if found.is_some() {
            break;
        }
    }
    match found {
        Some(mut c) => {
            if lead.fill(&mut c) {
                c.updated_at = now;
                tx.update_contact(&c).await?;
            }
            Ok(c)
        }
        None => {
            let c = lead.into_contact(org.id, now);
            tx.insert_contact(&c).await?;
            Ok(c)
        }
    }
}

/// The conversation of a contact on an inbox, created when missing.
pub(crate) async fn find_or_create_conversation(
    tx: &mut dyn StoreTx,
    contact: &Contact,
    account: &ChannelAccount,
    now: DateTime<Utc>,
) -> Result<Conversation> {
    if let Some(c) = tx.find_conversation(contact.id, account.id).await? {
        return Ok(c);
    }
    let c = Conversation {
        id: ConversationId::new(),
        org_id: contact.org_id,
        contact_id: contact.id,
        channel_account_id: account.id,
        last_inbound_at: None,
        created_at: now,
    };
    tx.insert_conversation(&c).await?;
    Ok(c)
}

/// Everything a new ticket needs besides its conversation.
pub(crate) struct TicketDraft {
    pub queue_id: Option<QueueId>,
    pub stage_id: Option<StageId>,
    pub priority: crate::domain::ticket::Priority,
    pub subject: Option<String>,
    pub deal_value: Option<Money>,
    pub tracking: Tracking,
    pub category_id: Option<CategoryId>,
    pub required_skills: Vec<String>,
    pub creator: Creator,
    /// When the SLA clocks start: when the customer wrote (at most now).
    pub clocks_from: DateTime<Utc>,
}

/// Inserts a new ticket (number, first stage by default, queued cycle, event, audit) in a
/// conversation the caller found without a live ticket in this transaction (the store's
/// one-live-ticket constraint refuses the insert if one appeared meanwhile).
pub(crate) async fn insert_new_ticket(
    tx: &mut dyn StoreTx,
    conv: &Conversation,
    d: TicketDraft,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Ticket> {
    let stages = ensure_stages_in(tx, now).await?;
    let stage_id = match d.stage_id {
        Some(s) if stages.iter().any(|x| x.id == s) => Some(s),
        Some(s) => return Err(Error::not_found(Entity::Stage, s)),
        None => stages.first().map(|s| s.id),
    };
    if let Some(q) = d.queue_id {
        tx.queue(q).await?;
    }
    if let Some(c) = d.category_id
        && !tx.categories().await?.iter().any(|x| x.id == c)
    {
        return Err(Error::not_found(Entity::Category, c));
    }
    let mut t = Ticket {
        id: TicketId::new(),
        org_id: conv.org_id,
        number: 0,
        conversation_id: conv.id,
        contact_id: conv.contact_id,
        channel_account_id: conv.channel_account_id,
        status: TicketStatus::New,
        priority: d.priority,
        queue_id: d.queue_id,
        origin_queue_id: d.queue_id,
        assignee_id: None,
        stage_id,
        category_id: d.category_id,
        classification: None,
        subject: d.subject,
        required_skills: d.required_skills,
        tracking: d.tracking.normalized(),
        deal_value: d.deal_value,
        creator: d.creator,
        external_protocol: None,
        rating: None,
        merged_into: None,
        created_at: now,
        updated_at: now,
        waiting_since: Some(now),
        first_response_at: None,
        first_response_by: None,
        first_response_queue_id: None,
        last_customer_message_at: None,
        last_agent_reply_at: None,
        resolved_at: None,
        resolved_by: None,
        resolved_queue_id: None,
        closed_at: None,
        sla: None,
        sla_wake_at: None,
        version: 1,
    };
    super::sla::sla_step(tx, &mut t, crate::sla::SlaEvent::Created, d.clocks_from).await?;
    // The number last: the tenant's creators wait on each other from here to the commit.
    t.number = tx.insert_ticket_numbered(&t).await?;
    cycle(tx, &t, CycleChange::Queued, now).await?;
    record(
        tx,
        t.id,
        actor,
        EventData::TicketCreated {
            number: t.number,
            queue_id: t.queue_id,
            source: t.tracking.effective_source(),
        },
        now,
    )
    .await?;
    Ok(t)
}

/// Assigns `before` to `agent`: membership, activity and capacity checked; load, cycle,
/// event and audit recorded.
pub(crate) async fn assign_in(
    tx: &mut dyn StoreTx,
    before: &Ticket,
    agent_id: AgentId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Ticket> {
    if before.assignee_id == Some(agent_id) {
        return Ok(before.clone());
    }
    if !before.status.counts_as_load() {
        return Err(Error::invalid(
            "status",
            format!(
                "a {} ticket cannot be assigned; reopen it first",
                before.status
            ),
        ));
    }
    let agent = tx.agent(agent_id).await?;
    if !agent.active {
        return Err(Error::invalid("assigneeId", "the agent is deactivated"));
    }
    if let Some(q) = before.queue_id
        && !tx
            .queue_members(q)
            .await?
            .iter()
            .any(|m| m.agent_id == agent_id)
    {
        return Err(Error::invalid(
            "assigneeId",
            "the agent is not a member of the ticket's queue",
        ));
    }
    let mut t = before.clone();
    t.assignee_id = Some(agent_id);
    t.waiting_since = None;
    save_ticket(tx, before, &mut t, now).await?;
    cycle(tx, &t, CycleChange::Started(agent_id), now).await?;
    record(
        tx,
        t.id,
        actor,
        EventData::Assigned {
            from: before.assignee_id,
            to: agent_id,
        },
        now,
    )
    .await?;
    Ok(t)
}

/// Picks an agent with the queue's strategy and assigns. `None` when nobody can take it.
pub(crate) async fn auto_assign_in(
    tx: &mut dyn StoreTx,
    before: &Ticket,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Ticket>> {
    let Some(qid) = before.queue_id else {
        return Ok(None);
    };
    if before.assignee_id.is_some() || !before.status.counts_as_load() {
        return Ok(None);
    }
    tx.lock(LockKey::Queue(qid)).await?;
    let mut queue = tx.queue(qid).await?;
    let members = tx.queue_members(qid).await?;
    let ids: Vec<AgentId> = members.iter().map(|m| m.agent_id).collect();
    let agents: std::collections::HashMap<AgentId, crate::domain::team::Agent> = tx
        .agents_in(&ids)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let mut cands = Vec::with_capacity(members.len());
    for m in &members {
        let a = agents
            .get(&m.agent_id)
            .ok_or_else(|| Error::not_found(Entity::Agent, m.agent_id))?;
        cands.push(Candidate {
            agent_id: a.id,
            presence: a.presence,
            active: a.active,
            open_tickets: a.open_tickets,
            capacity: a.capacity,
            last_assigned_at: a.last_assigned_at,
            last_rotation: m.last_rotation,
            joined_at: m.joined_at,
            skills: m.skills.clone(),
        });
    }
    let Some(pick) = routing::choose(queue.distribution, &cands, &before.required_skills) else {
        return Ok(None);
    };
    // Advance the rotation only together with the assignment (same transaction).
    queue.rotation += 1;
    queue.version += 1;
    tx.update_queue(&queue).await?;
    if let Some(m) = members.into_iter().find(|m| m.agent_id == pick) {
        tx.put_queue_member(&crate::domain::team::QueueMember {
            last_rotation: queue.rotation,
            ..m
        })
        .await?;
    }
    assign_in(tx, before, pick, actor, now).await.map(Some)
}

/// Moves `before` to queue `to`: unassigned, waiting, new cycle, event, audit.
pub(crate) async fn transfer_in(
    tx: &mut dyn StoreTx,
    before: &Ticket,
    to: QueueId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Ticket> {
    tx.queue(to).await?;
    if before.queue_id == Some(to) {
        return Ok(before.clone());
    }
    if before.status == TicketStatus::Closed {
        return Err(Error::invalid(
            "status",
            "a closed ticket cannot be transferred; reopen it first",
        ));
    }
    let mut t = before.clone();
    t.queue_id = Some(to);
    t.assignee_id = None;
    t.waiting_since = Some(now);
    super::sla::sla_step(tx, &mut t, crate::sla::SlaEvent::Retarget, now).await?;
    save_ticket(tx, before, &mut t, now).await?;
    cycle(tx, &t, CycleChange::Queued, now).await?;
    record(
        tx,
        t.id,
        actor,
        EventData::Transferred {
            from: before.queue_id,
            to,
            unassigned: before.assignee_id,
        },
        now,
    )
    .await?;
    Ok(t)
}

/// Moves a ticket's status with its side effects.
pub(crate) async fn change_status_in(
    tx: &mut dyn StoreTx,
    before: &Ticket,
    to: TicketStatus,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Ticket> {
    change_status_at(tx, before, to, actor, now, now).await
}

/// [`change_status_in`] whose SLA clocks move at `clocks_at` (a customer message reopening
/// the ticket counts from when the customer wrote).
pub(crate) async fn change_status_at(
    tx: &mut dyn StoreTx,
    before: &Ticket,
    to: TicketStatus,
    actor: &Actor,
    now: DateTime<Utc>,
    clocks_at: DateTime<Utc>,
) -> Result<Ticket> {
    let mut t = before.clone();
    let by = match actor {
        Actor::Agent { id } => Some(*id),
        _ => None,
    };
    let from = t.move_to(to, by, now)?;
    let reopening =
        to == TicketStatus::Open && matches!(from, TicketStatus::Resolved | TicketStatus::Closed);
    if reopening {
        if from == TicketStatus::Closed
            && let Some(other) = tx.live_ticket(t.conversation_id).await?
            && other.id != t.id
        {
            return Err(Error::already_exists(
                Entity::Ticket,
                "live ticket of the conversation",
                Some(other.display_number()),
            ));
        }
        // Reopening never pushes the assignee over capacity: the ticket waits in its queue.
        if let Some(a) = t.assignee_id
            && !tx.agent(a).await?.has_capacity()
        {
            t.assignee_id = None;
            t.waiting_since = Some(now);
        }
    }
    if let Some(ev) = super::sla::status_event(from, to) {
        super::sla::sla_step(tx, &mut t, ev, clocks_at).await?;
    }
    save_ticket(tx, before, &mut t, now).await?;
    match to {
        TicketStatus::Resolved | TicketStatus::Closed => {
            cycle(tx, &t, CycleChange::Finished, now).await?
        }
        _ if reopening => cycle(tx, &t, CycleChange::Queued, now).await?,
        _ => {}
    }
    record(tx, t.id, actor, EventData::StatusChanged { from, to }, now).await?;
    Ok(t)
}

impl Helpdesk {
    /// Opens a ticket (the REST API's create flow): finds or creates the lead's contact (by
    /// visitor id, WhatsApp id, phone or e-mail), resolves the inbox (given or the
    /// organization's first), finds or creates the conversation, creates the ticket in the
    /// first stage by default with tracking and deal value, then assigns the given agent or
    /// lets the queue's strategy pick one (see [`NewTicket`] for defaults and checks).
    ///
    /// Needs [`Action::CreateTicket`]: active agents of any role, the system and bots allowed
    /// to; customers are [`Error::Forbidden`]. A conversation that already has a live ticket
    /// is [`Error::AlreadyExists`] naming it. Emits `ticket.created`, and `ticket.assigned`
    /// when someone gets it.
    pub async fn create_ticket(&self, org: OrgId, actor: &Actor, new: NewTicket) -> Result<Ticket> {
        workflow!(self, org, |tx, now| {
            let p = principal(&mut *tx, actor).await?;
            p.authorize(Action::CreateTicket, None)?;
            let organization = tx.organization().await?;
            let subject = new
                .subject
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            if subject.as_ref().is_some_and(|s| s.chars().count() > 250) {
                return Err(Error::invalid("subject", "longer than 250 characters"));
            }
            let contact = find_or_create_contact(&mut *tx, &organization, &new.lead, now).await?;
            let account = match new.channel_account_id {
                Some(id) => tx.channel_account(id).await?,
                None => tx
                    .channel_accounts()
                    .await?
                    .into_iter()
                    .next()
                    .ok_or_else(|| {
                        Error::invalid(
                            "channel_account_id",
                            "the organization has no channel account",
                        )
                    })?,
            };
            let conv = find_or_create_conversation(&mut *tx, &contact, &account, now).await?;
            if let Some(existing) = tx.live_ticket(conv.id).await? {
                return Err(Error::already_exists(
                    Entity::Ticket,
                    "live ticket of the conversation",
                    Some(existing.display_number()),
                ));
            }
            let draft = TicketDraft {
                queue_id: new.queue_id.or(account.default_queue_id),
                stage_id: new.stage_id,
                priority: new.priority.unwrap_or_default(),
                subject,
                deal_value: new.deal_value.clone(),
                tracking: new.tracking.clone(),
                category_id: new.category_id,
                required_skills: new
                    .required_skills
                    .iter()
                    .map(|s| s.trim().to_lowercase())
                    .filter(|s| !s.is_empty())
                    .collect(),
                creator: match actor {
                    Actor::Agent { id } => Creator::User(*id),
                    _ => Creator::System,
                },
                clocks_from: now,
            };
            let t = insert_new_ticket(&mut *tx, &conv, draft, actor, now).await?;
            if let Some(a) = new.assignee_id {
                p.authorize(Action::Assign { to: a }, Some(&scope(&t)))?;
                assign_in(&mut *tx, &t, a, actor, now).await?
            } else {
                auto_assign_in(&mut *tx, &t, &Actor::System, now)
                    .await?
                    .unwrap_or(t)
            }
        })
    }

    /// A ticket by id, if the actor may view it ([`Error::Forbidden`] otherwise): admins, the
    /// system and bots allowed to view see every ticket; supervisors those of their queues,
    /// unqueued ones and their own; agents those of their queues and their own; customers
    /// their own.
    pub async fn ticket(&self, org: OrgId, actor: &Actor, id: TicketId) -> Result<Ticket> {
        let mut tx = self.store.begin(org).await?;
        authorized_ticket(&mut *tx, actor, id, Action::View).await
    }

    /// A ticket by its tenant-wide number (`1001`), if the actor may view it (as for
    /// [`Helpdesk::ticket`]); an unused number is [`Error::NotFound`].
    pub async fn ticket_by_number(&self, org: OrgId, actor: &Actor, number: u64) -> Result<Ticket> {
        let mut tx = self.store.begin(org).await?;
        let t = tx
            .ticket_by_number(number)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Ticket, format!("#{number}")))?;
        principal(&mut *tx, actor)
            .await?
            .authorize(Action::View, Some(&scope(&t)))?;
        Ok(t)
    }

    /// Sends a reply to the customer through the ticket's inbox. The message is stored before
    /// it is sent; its returned status says how the send went (`sent`, or `failed` with the
    /// reason). A closed ticket is [`Error::Invalid`] (reopen it first).
    ///
    /// Needs [`Action::Reply`]: agents on tickets of their queues or their own, supervisors in
    /// their scope, admins, the system, bots allowed to; customers are [`Error::Forbidden`].
    /// Only an agent's reply (an [`Actor::Agent`]) counts as the ticket's first response,
    /// moves a new ticket to open and meets the SLA clocks; a reply by the system or a bot
    /// does none of that. Emits `message.added` (and
    /// `ticket.status_changed`, or `message.status_changed` when the send fails).
    pub async fn reply(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
        content: MessageContent,
    ) -> Result<Message> {
        content.validate_outbound()?;
        let (m, pending) = workflow!(self, org, |tx, now| {
            let before = authorized_ticket(&mut *tx, actor, ticket, Action::Reply).await?;
            if before.status == TicketStatus::Closed {
                return Err(Error::invalid(
                    "status",
                    "a closed ticket takes no replies; reopen it first",
                ));
            }
            let account = tx.channel_account(before.channel_account_id).await?;
            let contact = tx.contact(before.contact_id).await?;
            let m = Message::written(
                &before,
                Direction::Outbound,
                Author::of(actor),
                content.clone(),
                now,
            );
            tx.insert_message(&m).await?;
            let mut t = before.clone();
            if let Actor::Agent { id } = actor {
                let replied = |t: &mut Ticket| {
                    if t.first_response_at.is_none() {
                        t.first_response_at = Some(now);
                        t.first_response_by = Some(*id);
                        t.first_response_queue_id = t.queue_id;
                    }
                    t.last_agent_reply_at = Some(now);
                };
                replied(&mut t);
                if t.status == TicketStatus::New {
                    t = change_status_in(&mut *tx, &before, TicketStatus::Open, actor, now).await?;
                    let fresh = t.clone();
                    replied(&mut t);
                    super::sla::sla_step(&mut *tx, &mut t, crate::sla::SlaEvent::AgentReply, now)
                        .await?;
                    save_ticket(&mut *tx, &fresh, &mut t, now).await?;
                } else {
                    super::sla::sla_step(&mut *tx, &mut t, crate::sla::SlaEvent::AgentReply, now)
                        .await?;
                    save_ticket(&mut *tx, &before, &mut t, now).await?;
                }
            }
            emit(
                &mut *tx,
                Some(t.id),
                actor,
                &EventData::Replied { message_id: m.id },
                now,
            )
            .await?;
            let pending = Pending::of(&m, account, &contact);
            (m, pending)
        })?;
        // Sent after the commit: the send is no part of the workflow and never reruns.
        Ok(self
            .deliver(org, vec![pending])
            .await
            .into_iter()
            .next()
            .unwrap_or(m))
    }

    /// Replies with a canned response found by shortcut (`/thanks` or `thanks`), filling
    /// `{{customer_name}}`, `{{ticket_number}}`, `{{agent_name}}` and `extra`. A variable
    /// without a value is an error naming it; nothing is sent. Otherwise exactly
    /// [`Helpdesk::reply`]: same permission, checks and events.
    pub async fn reply_canned(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
        shortcut: &str,
        extra: BTreeMap<String, String>,
    ) -> Result<Message> {
        let text = {
            let mut tx = self.store.begin(org).await?;
            let t = authorized_ticket(&mut *tx, actor, ticket, Action::Reply).await?;
            let sc = normalize_shortcut(shortcut)?;
            let canned = tx
                .canned_by_shortcut(&sc)
                .await?
                .ok_or_else(|| Error::not_found(Entity::CannedResponse, format!("/{sc}")))?;
            let contact = tx.contact(t.contact_id).await?;
            let mut vars = BTreeMap::new();
            if let Some(n) = contact.name {
                vars.insert("customer_name".to_owned(), n);
            }
            vars.insert("ticket_number".to_owned(), t.number.to_string());
            match actor {
                Actor::Agent { id } => {
                    vars.insert("agent_name".to_owned(), tx.agent(*id).await?.name);
                }
                Actor::Bot { name, .. } => {
                    vars.insert("agent_name".to_owned(), name.clone());
                }
                _ => {}
            }
            vars.extend(extra);
            let r = render(&canned.body, &vars);
            if !r.unknown.is_empty() {
                return Err(Error::invalid_with(
                    "variables",
                    format!("no value for {:?}", r.unknown),
                    r.unknown,
                ));
            }
            r.text
        };
        self.reply(org, actor, ticket, MessageContent::text(text))
            .await
    }

    /// Adds an internal note for the team: stored on the ticket, never sent to the customer
    /// and hidden from customers' reads; allowed on closed tickets too. Needs [`Action::Note`]
    /// (as replying does; customers are [`Error::Forbidden`]). Emits `message.added`.
    pub async fn add_note(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
        text: &str,
    ) -> Result<Message> {
        let content = MessageContent::text(text);
        content.validate_outbound()?;
        workflow!(self, org, |tx, now| {
            let t = authorized_ticket(&mut *tx, actor, ticket, Action::Note).await?;
            let m = Message::written(&t, Direction::Note, Author::of(actor), content.clone(), now);
            tx.insert_message(&m).await?;
            emit(
                &mut *tx,
                Some(t.id),
                actor,
                &EventData::Noted { message_id: m.id },
                now,
            )
            .await?;
            m
        })
    }

    /// Assigns a ticket to an agent, who must be active, a member of its queue and below
    /// capacity ([`Error::Invalid`] otherwise); a resolved or closed ticket is
    /// [`Error::Invalid`]. Admins, the system and supervisors (in their scope) may assign
    /// anyone; an agent may only take an unassigned ticket of their queues for themselves;
    /// bots need [`BotAction::Assign`](crate::actor::BotAction::Assign). Emits
    /// `ticket.assigned`.
    pub async fn assign(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
        agent: AgentId,
    ) -> Result<Ticket> {
        workflow!(self, org, |tx, now| {
            let t =
                authorized_ticket(&mut *tx, actor, ticket, Action::Assign { to: agent }).await?;
            assign_in(&mut *tx, &t, agent, actor, now).await?
        })
    }

    /// Lets the ticket's queue pick an agent by its strategy. Returns the ticket, assigned or
    /// still waiting (already assigned, resolved or closed, unqueued, or nobody can take it).
    /// Anyone who may view the ticket may ask, except customers ([`Error::Forbidden`]): the
    /// queue picks, not the caller. Emits `ticket.assigned` when someone is picked.
    pub async fn auto_assign(&self, org: OrgId, actor: &Actor, ticket: TicketId) -> Result<Ticket> {
        workflow!(self, org, |tx, now| {
            // Any agent of the queue may ask the queue to distribute: the queue picks, not them.
            let t = authorized_ticket(&mut *tx, actor, ticket, Action::View).await?;
            not_for_customers(actor, "assign tickets")?;
            match auto_assign_in(&mut *tx, &t, actor, now).await? {
                Some(a) => a,
                None => t,
            }
        })
    }

    /// Hands out the waiting tickets of a queue in order (priority, VIP, waiting time) while
    /// agents have room. Returns the tickets assigned. No actor: it runs as the system (for
    /// schedulers, or when an agent comes online).
    pub async fn distribute_queue(&self, org: OrgId, queue: QueueId) -> Result<Vec<Ticket>> {
        let mut assigned = Vec::new();
        loop {
            let next = {
                let mut tx = self.store.begin(org).await?;
                let waiting = tx.waiting_tickets(queue).await?;
                let mut order = Vec::with_capacity(waiting.len());
                for t in &waiting {
                    let vip = tx.contact(t.contact_id).await?.vip;
                    order.push(routing::Waiting {
                        ticket_id: t.id,
                        priority: t.priority,
                        vip,
                        since: t.waiting_since.unwrap_or(t.created_at),
                    });
                }
                routing::order_waiting(&mut order);
                order.first().map(|w| w.ticket_id)
            };
            let Some(id) = next else { break };
            let t = self.auto_assign(org, &Actor::System, id).await?;
            if t.assignee_id.is_none() {
                break;
            }
            assigned.push(t);
        }
        Ok(assigned)
    }

    /// Removes the assignee; a live ticket waits in its queue again. Supervisors (in their
    /// scope), admins and the system may; an agent only for a ticket they hold; bots need
    /// [`BotAction::Assign`](crate::actor::BotAction::Assign). Emits `ticket.assigned` with no
    /// new assignee.
    pub async fn unassign(&self, org: OrgId, actor: &Actor, ticket: TicketId) -> Result<Ticket> {
        workflow!(self, org, |tx, now| {
            let before = authorized_ticket(&mut *tx, actor, ticket, Action::Unassign).await?;
            if before.assignee_id.is_none() {
                return Ok(before);
            }
            let mut t = before.clone();
            t.assignee_id = None;
            t.waiting_since = t.status.counts_as_load().then_some(now);
            save_ticket(&mut *tx, &before, &mut t, now).await?;
            cycle(&mut *tx, &t, CycleChange::Queued, now).await?;
            record(
                &mut *tx,
                t.id,
                actor,
                EventData::Unassigned {
                    from: before.assignee_id,
                },
                now,
            )
            .await?;
            t
        })
    }

    /// Transfers a ticket to another queue (setor): unassigned, its SLA clocks moved under
    /// the new queue's policy, then offered to that queue's agents by its strategy. A closed
    /// ticket is [`Error::Invalid`]. Supervisors may transfer into their own queues, admins,
    /// the system and bots allowed to anywhere; agents are [`Error::Forbidden`]. Emits
    /// `ticket.updated`, and `ticket.assigned` when someone in the new queue gets it.
    pub async fn transfer(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
        to: QueueId,
    ) -> Result<Ticket> {
        workflow!(self, org, |tx, now| {
            let before =
                authorized_ticket(&mut *tx, actor, ticket, Action::Transfer { to }).await?;
            let t = transfer_in(&mut *tx, &before, to, actor, now).await?;
            auto_assign_in(&mut *tx, &t, &Actor::System, now)
                .await?
                .unwrap_or(t)
        })
    }

    /// Moves a new or open ticket to `Pending`: it waits on the customer or a third party and
    /// its SLA clocks pause. See [`Helpdesk::change_status`] for who may and what it emits.
    pub async fn set_pending(&self, org: OrgId, actor: &Actor, ticket: TicketId) -> Result<Ticket> {
        self.change_status(org, actor, ticket, TicketStatus::Pending)
            .await
    }

    /// Resolves a new, open or pending ticket: the answer was given, attendance ends and the
    /// SLA clocks stop; a customer reply may still reopen it (per its queue's
    /// [`Reopen`](crate::domain::team::Reopen)). Emits `ticket.resolved`; see
    /// [`Helpdesk::change_status`].
    pub async fn resolve(&self, org: OrgId, actor: &Actor, ticket: TicketId) -> Result<Ticket> {
        self.change_status(org, actor, ticket, TicketStatus::Resolved)
            .await
    }

    /// Closes a resolved ticket for good: a new customer message then opens a new ticket. Any
    /// other status is [`Error::InvalidTransition`]. Emits `ticket.closed`; see
    /// [`Helpdesk::change_status`].
    pub async fn close(&self, org: OrgId, actor: &Actor, ticket: TicketId) -> Result<Ticket> {
        self.change_status(org, actor, ticket, TicketStatus::Closed)
            .await
    }

    /// Moves a ticket back to open: a resolved or closed one (a closed one only if its
    /// conversation has no other live ticket, [`Error::AlreadyExists`] otherwise), or a new or
    /// pending one. A resolved or closed ticket whose assignee is at capacity comes back
    /// unassigned, waiting in its queue. See [`Helpdesk::change_status`].
    pub async fn reopen(&self, org: OrgId, actor: &Actor, ticket: TicketId) -> Result<Ticket> {
        self.change_status(org, actor, ticket, TicketStatus::Open)
            .await
    }

    /// Moves a ticket's status along the lifecycle: new → open, pending or resolved; open →
    /// pending or resolved; pending → open or resolved; resolved → open or closed; closed →
    /// open. Any other move is [`Error::InvalidTransition`]. Needs [`Action::ChangeStatus`]:
    /// agents on tickets of their queues or their own, supervisors in their scope, admins, the
    /// system, bots allowed to. Emits `ticket.resolved`, `ticket.closed` or
    /// `ticket.status_changed`.
    pub async fn change_status(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
        to: TicketStatus,
    ) -> Result<Ticket> {
        workflow!(self, org, |tx, now| {
            let before = authorized_ticket(&mut *tx, actor, ticket, Action::ChangeStatus).await?;
            change_status_in(&mut *tx, &before, to, actor, now).await?
        })
    }

    /// Merges `source` into `target` (same contact, both live): messages move, the source is
    /// closed and points at the target. A ticket merged into itself, tickets of different
    /// contacts, or a closed one is [`Error::Invalid`]. Needs [`Action::Merge`] on both:
    /// supervisors in their scope, admins and the system; agents, bots and customers are
    /// [`Error::Forbidden`]. Emits `ticket.closed` on the source and `ticket.updated` on the
    /// target.
    pub async fn merge(
        &self,
        org: OrgId,
        actor: &Actor,
        source: TicketId,
        target: TicketId,
    ) -> Result<Ticket> {
        if source == target {
            return Err(Error::invalid(
                "target",
                "a ticket cannot be merged into itself",
            ));
        }
        workflow!(self, org, |tx, now| {
            let s0 = tx.ticket(source).await?;
            let t0 = tx.ticket(target).await?;
            let p = principal(&mut *tx, actor).await?;
            p.authorize(Action::Merge, Some(&scope(&s0)))?;
            p.authorize(Action::Merge, Some(&scope(&t0)))?;
            if s0.contact_id != t0.contact_id {
                return Err(Error::invalid(
                    "target",
                    "tickets of different contacts cannot be merged",
                ));
            }
            if !s0.status.can_merge_from() || !t0.status.is_live() {
                return Err(Error::invalid(
                    "status",
                    "both tickets must be live (not closed)",
                ));
            }
            let mut moved = 0u64;
            for mut m in tx.messages(s0.id).await? {
                m.ticket_id = t0.id;
                tx.update_message(&m).await?;
                moved += 1;
            }
            let mut s = s0.clone();
            s.status = TicketStatus::Closed;
            s.closed_at = Some(now);
            s.merged_into = Some(t0.id);
            super::sla::sla_step(&mut *tx, &mut s, crate::sla::SlaEvent::Closed, now).await?;
            save_ticket(&mut *tx, &s0, &mut s, now).await?;
            cycle(&mut *tx, &s, CycleChange::Finished, now).await?;
            let mut t = t0.clone();
            t.last_customer_message_at =
                t.last_customer_message_at.max(s0.last_customer_message_at);
            save_ticket(&mut *tx, &t0, &mut t, now).await?;
            let into = EventData::MergedInto {
                from: s0.status,
                into: t.id,
                messages_moved: moved,
            };
            record(&mut *tx, s.id, actor, into, now).await?;
            let from = EventData::MergedFrom {
                source: s.id,
                messages_moved: moved,
            };
            record(&mut *tx, t.id, actor, from, now).await?;
            t
        })
    }

    /// Records the customer's rating (1-5, with optional feedback up to 2000 characters) of a
    /// resolved or closed ticket, credited to its assignee and queue at that moment; a later
    /// rating replaces it. Other scores or statuses are [`Error::Invalid`]. Only the ticket's
    /// customer, admins and the system may ([`Error::Forbidden`] otherwise). Emits
    /// `ticket.updated`.
    pub async fn rate(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
        score: u8,
        feedback: Option<String>,
    ) -> Result<Ticket> {
        let rating = Rating::new(score, feedback, self.now())?;
        workflow!(self, org, |tx, now| {
            let before = authorized_ticket(&mut *tx, actor, ticket, Action::Rate).await?;
            if !matches!(before.status, TicketStatus::Resolved | TicketStatus::Closed) {
                return Err(Error::invalid(
                    "status",
                    "only resolved or closed tickets can be rated",
                ));
            }
            let mut t = before.clone();
            t.rating = Some(Rating {
                agent_id: before.assignee_id,
                queue_id: before.queue_id,
                ..rating.clone()
            });
            save_ticket(&mut *tx, &before, &mut t, now).await?;
            cycle(&mut *tx, &t, CycleChange::Rated(rating.score), now).await?;
            record(
                &mut *tx,
                t.id,
                actor,
                EventData::Rated {
                    rating: rating.score,
                },
                now,
            )
            .await?;
            t
        })
    }

    /// Classifies a ticket (setor × motivo, validated against the tenant's catalogue, case and
    /// accents ignored; an unknown pair is [`Error::InvalidClassification`]). When the setor
    /// maps to a queue, a live ticket moves there (a transfer by the system). Needs
    /// [`Action::Classify`]: agents on tickets of their queues or their own, supervisors,
    /// admins, the system, bots allowed to. Emits `ticket.updated`.
    pub async fn classify(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
        setor: &str,
        motivo: &str,
    ) -> Result<Ticket> {
        workflow!(self, org, |tx, now| {
            let before = authorized_ticket(&mut *tx, actor, ticket, Action::Classify).await?;
            let organization = tx.organization().await?;
            let c = organization.catalogue.classify(setor, motivo)?;
            let target_queue = organization
                .catalogue
                .setor(&c.setor)
                .and_then(|s| s.queue_id);
            let mut t = before.clone();
            t.classification = Some(c.clone());
            save_ticket(&mut *tx, &before, &mut t, now).await?;
            record(
                &mut *tx,
                t.id,
                actor,
                EventData::Classified {
                    setor: c.setor.clone(),
                    motivo: c.motivo.clone(),
                },
                now,
            )
            .await?;
            if let Some(q) = target_queue
                && t.queue_id != Some(q)
                && t.status.is_live()
            {
                // The catalogue's mapping is configuration: the move is the system's, on behalf
                // of the classifier.
                let moved = transfer_in(&mut *tx, &t, q, &Actor::System, now).await?;
                t = auto_assign_in(&mut *tx, &moved, &Actor::System, now)
                    .await?
                    .unwrap_or(moved);
            }
            t
        })
    }

    /// Changes stage, priority, deal value, subject, category, protocol or required skills
    /// (see [`TicketPatch`] for the checks); a new priority moves the SLA clocks to its
    /// targets. Needs [`Action::Update`]: agents on tickets of their queues or their own,
    /// supervisors, admins, the system, bots allowed to. Emits `ticket.updated` naming what
    /// changed, nothing when nothing did.
    pub async fn update_ticket(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
        patch: TicketPatch,
    ) -> Result<Ticket> {
        workflow!(self, org, |tx, now| {
            let before = authorized_ticket(&mut *tx, actor, ticket, Action::Update).await?;
            let mut t = before.clone();
            let mut changed = TicketChanges::default();
            if let Some(s) = patch.stage_id {
                if !tx.stages().await?.iter().any(|x| x.id == s) {
                    return Err(Error::not_found(Entity::Stage, s));
                }
                t.stage_id = Some(s);
                changed.stage_id = Some(s);
            }
            if let Some(p) = patch.priority {
                t.priority = p;
                changed.priority = Some(p);
            }
            if let Some(v) = &patch.deal_value {
                t.deal_value = v.clone();
                changed.deal_value = Some(v.clone());
            }
            if let Some(s) = &patch.subject {
                let s = s
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
                if s.as_ref().is_some_and(|s| s.chars().count() > 250) {
                    return Err(Error::invalid("subject", "longer than 250 characters"));
                }
                t.subject = s;
                changed.subject = true;
            }
            if let Some(c) = patch.category_id {
                if let Some(id) = c
                    && !tx.categories().await?.iter().any(|x| x.id == id)
                {
                    return Err(Error::not_found(Entity::Category, id));
                }
                t.category_id = c;
                changed.category_id = Some(c);
            }
            if let Some(p) = &patch.external_protocol {
                let p = p.trim();
                if p.is_empty() || p.chars().count() > 64 {
                    return Err(Error::invalid(
                        "external_protocol",
                        "must be 1 to 64 characters",
                    ));
                }
                t.external_protocol = Some(p.to_owned());
                changed.external_protocol = Some(p.to_owned());
            }
            if let Some(s) = &patch.required_skills {
                t.required_skills = s
                    .iter()
                    .map(|x| x.trim().to_lowercase())
                    .filter(|x| !x.is_empty())
                    .collect();
                changed.required_skills = Some(t.required_skills.clone());
            }
            if changed.is_empty() {
                return Ok(before);
            }
            if t.priority != before.priority {
                super::sla::sla_step(&mut *tx, &mut t, crate::sla::SlaEvent::Retarget, now).await?;
            }
            save_ticket(&mut *tx, &before, &mut t, now).await?;
            record(&mut *tx, t.id, actor, EventData::Updated(changed), now).await?;
            t
        })
    }

    /// Records a sale the ticket's conversation won (`amount` positive, in minor units;
    /// [`Error::Invalid`] otherwise): it counts in the reports' campaign value and the lists'
    /// `has_sales` filter. Needs [`Action::Update`]. Emits `ticket.updated`.
    pub async fn record_sale(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
        amount: Money,
        description: Option<String>,
    ) -> Result<Sale> {
        if amount.minor <= 0 {
            return Err(Error::invalid("amount", "must be positive"));
        }
        let now = self.now();
        let mut tx = self.store.begin(org).await?;
        let t = authorized_ticket(&mut *tx, actor, ticket, Action::Update).await?;
        let s = Sale {
            id: SaleId::new(),
            org_id: org,
            ticket_id: t.id,
            amount,
            description,
            created_at: now,
        };
        tx.insert_sale(&s).await?;
        record(
            &mut *tx,
            t.id,
            actor,
            EventData::SaleRecorded { sale_id: s.id },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }
}
