//! The storage contract.
//!
//! A store offers transactions scoped to one organization ([`StoreCore::begin`]). A transaction
//! ([`StoreTx`]) is a set of small, documented primitives, grouped by area ([`SettingsTx`],
//! [`TeamTx`], [`ContactTx`], [`TicketTx`], [`MessageTx`], [`RecordTx`]); the
//! [`Helpdesk`](crate::service::Helpdesk) service writes every workflow once on top of them, so
//! no business rule lives in a store. What runs outside a tenant's transaction is an extension
//! of its own: the event [`Outbox`], the [`SlaSchedule`], [`Reporting`] and the
//! [`InboundFastPath`]. [`Store`] is the sum of them all; the [guide] says what to write first.
//!
//! The concurrency guarantees come from the primitives' constraints, not from the caller
//! checking first:
//!
//! * `insert_*` and `update_*` methods return
//!   [`Error::unique_violation`](crate::Error::unique_violation) (an
//!   [`AlreadyExists`](crate::Error::AlreadyExists) naming the entity and key, with the store's
//!   own error as its source, or a [`UniqueRule`] when the store has none) when a uniqueness
//!   rule is violated (same channel message id, second live ticket in a conversation, same
//!   contact phone key…); each method says which keys, and the conformance suite checks every
//!   store names the same entity and key;
//! * `update_*` methods of versioned rows (tickets, queues, agents) return
//!   [`Error::Conflict`](crate::Error::Conflict) when the stored version is not
//!   `row.version - 1` (someone else changed it first), and so does a transaction the store
//!   cannot serialize;
//! * a transaction dropped without [`StoreTx::commit`] leaves no trace, and a failed commit
//!   leaves no trace either.
//!
//! The service treats both as "lost a race": it drops the transaction and runs the whole
//! workflow again, which then sees the winner's rows (a unique violation reruns once: met
//! twice, the key is taken and the caller gets it). So numbers stay gap-free, inbound
//! messages are stored once, and side effects fire once.
//!
//! Every read and write of a transaction is scoped to its organization: an id of another
//! tenant behaves exactly like an unknown id ([`Error::NotFound`](crate::Error::NotFound) or `None`).

#[doc = include_str!("guide.md")]
pub mod guide {}
pub mod inbound;
pub mod query;
pub mod report;

use crate::Result;
use crate::domain::board::{Category, Stage};
use crate::domain::canned::CannedResponse;
use crate::domain::message::Message;
use crate::domain::party::{
    ChannelAccount, ChannelKind, Contact, ContactKey, Conversation, Organization,
};
use crate::domain::records::{AssignmentCycle, AuditEntry, Event, Sale};
use crate::domain::team::{Agent, Queue, QueueMember};
use crate::domain::ticket::Ticket;
use crate::ids::*;
use async_trait::async_trait;
use query::{TicketPage, TicketQuery};

/// Keys for pessimistic locks held until the transaction ends. A second transaction taking
/// the same key waits until the first ends, and what it reads afterwards includes what the
/// first committed (SQL stores: a transaction-scoped advisory lock, and reads after it are
/// fresh). Stores that run one transaction at a time (the in-memory store) may treat them as
/// no-ops. Uniqueness and versions never depend on them: every contended write is also
/// guarded by a constraint or a version, and locks only spare the service reruns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockKey {
    /// Serializes automatic assignment in one queue (exact round robin without retries).
    Queue(QueueId),
    /// Serializes ticket creation in one conversation.
    Conversation(ConversationId),
}

/// What every store writes first: transactions scoped to one organization, and the two
/// entry points that come before any tenant is known (creating one, routing inbound traffic
/// to one). With [`StoreTx`] and its areas, this is enough to run every workflow and the
/// [conformance suite](crate::testing::conformance); the other capabilities of a [`Store`]
/// build on it.
#[async_trait]
pub trait StoreCore: Send + Sync + 'static {
    /// Starts a transaction scoped to `org`: everything it reads and writes is that tenant's
    /// (see [`StoreTx`]). `NotFound` (organization) when `org` does not exist; a store that
    /// cannot reach its database answers a retryable [`Error::Store`](crate::Error::Store).
    async fn begin(&self, org: OrgId) -> Result<Box<dyn StoreTx>>;

    /// Creates a tenant, outside any transaction, committed when it returns; its settings
    /// (zone, first ticket number…) are stored as given. `AlreadyExists` (`id`) when an
    /// organization with this id exists.
    async fn create_organization(&self, org: &Organization) -> Result<()>;

    /// Routes inbound traffic: the channel account (inbox) with this kind and external id (the
    /// channel's own id of the number or page), searched across all tenants, since the pair
    /// is unique store-wide. `None` when no inbox has it.
    async fn find_channel_account(
        &self,
        kind: ChannelKind,
        external_id: &str,
    ) -> Result<Option<ChannelAccount>>;
}

/// The event outbox seen from its relays: cross-tenant claims with a lease, outside any
/// workflow transaction (events are written by [`RecordTx::insert_event`], in the
/// transaction of the change that caused them).
#[async_trait]
pub trait Outbox: StoreCore {
    /// Claims up to `limit` committed events, of any tenant, that are neither delivered nor
    /// dead, whose next attempt is due at `now` (never retried, or `retry_at <= now`) and
    /// whose previous claim (if any) has expired, oldest first (outbox order). Until
    /// `now + lease` no other caller can claim them, whatever instance it runs in (SQL:
    /// `FOR UPDATE SKIP LOCKED`). Each claim carries a fresh token; an empty vector when
    /// nothing is due.
    async fn claim_events(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: u32,
        lease: chrono::Duration,
    ) -> Result<Vec<ClaimedEvent>>;

    /// Records what delivering a claimed event came to (see [`EventOutcome`]) and releases the
    /// claim. Returns `false` (and changes nothing) when the claim is no longer the current
    /// one (its lease expired and another relay took the event) or the event is settled
    /// already. `now` is the settling instant, for stores that record it.
    async fn settle_event(
        &self,
        claim: &EventClaim,
        outcome: &EventOutcome,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool>;
}

/// The SLA scan's cross-tenant index: which tenants have a clock due, and when the next one
/// is (so a scheduler sleeps until then instead of polling). Both read the wake instant that
/// [`TicketTx::update_ticket`] stores with each ticket.
#[async_trait]
pub trait SlaSchedule: StoreCore {
    /// Organizations with a ticket whose stored SLA wake instant
    /// ([`Ticket::sla_wake_at`]) is at or before `until`, each once, in id order (the SLA
    /// scan's cross-tenant entry point). Empty when nothing is due.
    async fn orgs_with_sla_due(&self, until: chrono::DateTime<chrono::Utc>) -> Result<Vec<OrgId>>;

    /// The earliest stored SLA wake instant ([`Ticket::sla_wake_at`]) of any ticket in any
    /// tenant, so a scheduler sleeps until then; `None` when no ticket has a clock to wake
    /// for.
    async fn next_sla_wake(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>>;
}

/// Management reports, read outside any workflow transaction.
#[async_trait]
pub trait Reporting: StoreCore {
    /// The report of `org` (see [`report::Report::compute`] for the semantics), read outside
    /// any workflow transaction: a store may read it on several connections, all in one
    /// snapshot.
    async fn report(&self, org: OrgId, q: &report::ReportQuery) -> Result<report::Report>;
}

/// The inbound fast path (see [`inbound`]): a message that continues a live ticket is stored
/// with one read and one atomic write instead of a full workflow transaction. Both methods
/// have defaults written with the transaction primitives, so `impl InboundFastPath for MyStore
/// {}` is a correct start; a store overrides them to answer in fewer round trips.
#[async_trait]
pub trait InboundFastPath: StoreCore {
    /// Everything an inbound message from `whatsapp_id` with channel id `external_id` would
    /// touch in the inbox `(kind, account_external_id)`, read at once outside a transaction:
    /// the inbox, a message already stored under that id, the contact with that WhatsApp id,
    /// its conversation on the inbox and that conversation's live ticket, each `None` when
    /// absent. `None` when the inbox is unknown. The default uses the transaction primitives;
    /// a store may answer with one query.
    async fn inbound_snapshot(
        &self,
        kind: ChannelKind,
        account_external_id: &str,
        whatsapp_id: &str,
        external_id: &str,
    ) -> Result<Option<inbound::InboundSnapshot>> {
        inbound::snapshot_with_primitives(self, kind, account_external_id, whatsapp_id, external_id)
            .await
    }

    /// Stores a fast-path message atomically: the message (unless its channel id is stored
    /// already: nothing is written and the answer is
    /// [`Duplicate`](inbound::InboundWritten::Duplicate)), the conversation, the ticket (only
    /// if the stored one is still live at `ticket.version - 1`; otherwise nothing is written
    /// and the answer is [`Stale`](inbound::InboundWritten::Stale) or a
    /// [`Conflict`](crate::Error::Conflict), which the service treats alike) and the events.
    /// The default uses the transaction primitives; a store may do it in one statement.
    async fn write_inbound(&self, w: &inbound::InboundWrite) -> Result<inbound::InboundWritten> {
        inbound::write_with_primitives(self, w).await
    }
}

/// A storage backend: everything the [`Helpdesk`](crate::service::Helpdesk) service needs,
/// implemented for any type that has each capability. A store implements [`StoreCore`] (and
/// the [`StoreTx`] areas of its transactions) first, then the extensions: [`Outbox`],
/// [`SlaSchedule`], [`Reporting`] and [`InboundFastPath`] (whose defaults suffice). The
/// [guide] walks through it.
pub trait Store: StoreCore + Outbox + SlaSchedule + Reporting + InboundFastPath {}

impl<S> Store for S where S: StoreCore + Outbox + SlaSchedule + Reporting + InboundFastPath + ?Sized {}

/// A claim on an outbox event, returned by [`Outbox::claim_events`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventClaim {
    /// Id of the claimed event.
    pub event_id: EventId,
    /// Identifies this claim (a later claim of the same event gets another token); settling
    /// requires it to still be the current one.
    pub token: uuid::Uuid,
}

/// A claimed event with its delivery history.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedEvent {
    /// The claim to pass to [`Outbox::settle_event`] once delivery is tried.
    pub claim: EventClaim,
    /// The event to deliver, as written by the change that caused it.
    pub event: Event,
    /// Failed attempts so far (settled as [`Retry`](EventOutcome::Retry) or
    /// [`Dead`](EventOutcome::Dead)); 0 on the first delivery.
    pub attempts: u32,
}

/// What happened to a claimed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// Delivered: never claimed again.
    Delivered,
    /// Failed; counts one more failed attempt and makes the event claimable again from
    /// `retry_at`. A store may keep the error for operators.
    Retry {
        /// When the event becomes claimable again (UTC).
        retry_at: chrono::DateTime<chrono::Utc>,
        /// Why the attempt failed (no personal data).
        error: String,
    },
    /// Failed for good (dead letter): counts one more failed attempt, never claimed again;
    /// the event stays stored for inspection.
    Dead {
        /// Why delivery was given up (no personal data).
        error: String,
    },
}

/// One transaction in one organization. Dropping it without `commit` rolls it back.
///
/// A store may keep writes back and send them with a later statement: a transaction always
/// reads its own writes, and everything is written by the time `commit` returns. A kept-back
/// write's failure (a stale version of a queue or agent, a missing row) then comes from a
/// later call or from `commit`; workflows rerun on lost races wherever they come from. These
/// report their failure from the call itself, always: `insert_ticket` (a second live ticket),
/// `insert_message` with a channel id (a redelivery), `update_ticket` of a stored ticket.
///
/// Its primitives are grouped by area in the supertraits [`SettingsTx`], [`TeamTx`],
/// [`ContactTx`], [`TicketTx`], [`MessageTx`] and [`RecordTx`]; a `Box<dyn StoreTx>` has them
/// all.
#[async_trait]
pub trait StoreTx:
    SettingsTx + TeamTx + ContactTx + TicketTx + MessageTx + RecordTx + Send
{
    /// The organization this transaction is scoped to (the `org` given to
    /// [`StoreCore::begin`]); every row it writes is stored under this tenant, whatever
    /// `org_id` the value carries.
    fn org_id(&self) -> OrgId;

    /// Makes every write of the transaction durable and visible to others, atomically, and
    /// sends the writes kept back first. When it fails nothing is written: a kept-back
    /// write's unique violation or stale version comes back here, and a transaction the
    /// store cannot serialize is a [`Conflict`](crate::Error::Conflict).
    async fn commit(self: Box<Self>) -> Result<()>;

    /// Takes the pessimistic lock `key` (see [`LockKey`]), held until the transaction
    /// commits or is dropped; waits while another transaction holds it. What the
    /// transaction reads after it returns is read under the lock. A store that serializes
    /// every transaction may do nothing.
    async fn lock(&mut self, key: LockKey) -> Result<()>;
}

/// A transaction's view of the tenant's settings: the organization, its inboxes (channel
/// accounts), board stages, categories, canned responses and SLA policies.
#[async_trait]
pub trait SettingsTx: Send {
    /// The transaction's organization (name, zone, phone region, first ticket number,
    /// catalogue…), including this transaction's own
    /// [`update_organization`](Self::update_organization). Never absent: `begin` checked it.
    async fn organization(&mut self) -> Result<Organization>;

    /// Replaces the organization's settings with `org` as a whole. `NotFound` (organization)
    /// when `org.id` is not the transaction's tenant.
    async fn update_organization(&mut self, org: &Organization) -> Result<()>;

    /// The tenant's inboxes (one per WhatsApp number, web chat…), oldest first (creation
    /// instant, then id); empty when it has none.
    async fn channel_accounts(&mut self) -> Result<Vec<ChannelAccount>>;

    /// The tenant's inbox with this id; `NotFound` when absent (or another tenant's).
    async fn channel_account(&mut self, id: ChannelAccountId) -> Result<ChannelAccount>;

    /// Registers an inbox in the tenant. `AlreadyExists` (`external_id`) when an inbox with
    /// the same kind and external id exists in any tenant: inbound routing
    /// ([`StoreCore::find_channel_account`]) needs the pair to name one inbox store-wide.
    async fn insert_channel_account(&mut self, a: &ChannelAccount) -> Result<()>;

    /// The Kanban board's columns in board order: by `position`, then creation instant, then
    /// id. The service keeps at least one; the first holds new tickets.
    async fn stages(&mut self) -> Result<Vec<Stage>>;

    /// Adds a board column. `AlreadyExists` (`name`) when another stage of the tenant has
    /// the same name, ignoring case.
    async fn insert_stage(&mut self, s: &Stage) -> Result<()>;

    /// Replaces a stage (name, color, position). `NotFound` when absent, `AlreadyExists`
    /// (`name`) when another stage of the tenant has the same name, ignoring case.
    async fn update_stage(&mut self, s: &Stage) -> Result<()>;

    /// Deletes a stage; `NotFound` when absent. Tickets are not touched: the service first
    /// checks no ticket is in it and it is not the last one.
    async fn delete_stage(&mut self, id: StageId) -> Result<()>;

    /// The tenant's ticket categories, sorted by name (byte order); empty when it has none.
    async fn categories(&mut self) -> Result<Vec<Category>>;

    /// Adds a category. `AlreadyExists` (`name`) when another category of the tenant has the
    /// same name, ignoring case.
    async fn insert_category(&mut self, c: &Category) -> Result<()>;

    /// The tenant's canned responses (saved replies), sorted by shortcut (byte order).
    async fn canned_responses(&mut self) -> Result<Vec<CannedResponse>>;

    /// The canned response whose stored shortcut equals `shortcut` exactly; the caller
    /// passes it through [`normalize_shortcut`](crate::domain::canned::normalize_shortcut)
    /// first, as stored shortcuts are. `None` when the tenant has none with it.
    async fn canned_by_shortcut(&mut self, shortcut: &str) -> Result<Option<CannedResponse>>;

    /// Adds a canned response. `AlreadyExists` (`shortcut`) when the tenant has one with the
    /// same (normalized) shortcut.
    async fn insert_canned(&mut self, c: &CannedResponse) -> Result<()>;

    /// Deletes a canned response; `NotFound` when absent.
    async fn delete_canned(&mut self, id: CannedResponseId) -> Result<()>;

    /// The tenant's SLA policies (targets, business hours, default flag), oldest first
    /// (creation instant, then id); empty when it has none.
    async fn sla_policies(&mut self) -> Result<Vec<crate::sla::SlaPolicy>>;

    /// Adds an SLA policy. `AlreadyExists` (`name`) when another policy of the tenant has the
    /// same name, ignoring case. The store does not enforce a single default policy: the
    /// service clears the previous default in the same transaction.
    async fn insert_sla_policy(&mut self, p: &crate::sla::SlaPolicy) -> Result<()>;

    /// Replaces an SLA policy's settings; `NotFound` when absent. Tickets already under it
    /// keep the snapshot they took, so nothing else changes.
    async fn update_sla_policy(&mut self, p: &crate::sla::SlaPolicy) -> Result<()>;

    /// Deletes an SLA policy; `NotFound` when absent. Tickets keep their snapshot of it; the
    /// service first checks no queue uses it.
    async fn delete_sla_policy(&mut self, id: SlaPolicyId) -> Result<()>;
}

/// A transaction's view of the team: queues (setores), agents and queue memberships. Queues
/// and agents are versioned rows: their updates follow the version rule of the
/// [module docs](self).
#[async_trait]
pub trait TeamTx: Send {
    /// The tenant's queue (setor) with this id; `NotFound` when absent (or another tenant's). A
    /// store may answer with what this transaction read or wrote before: its versioned
    /// update catches a change made meanwhile.
    async fn queue(&mut self, id: QueueId) -> Result<Queue>;

    /// The tenant's queues, oldest first (creation instant, then id); empty when it has none.
    async fn queues(&mut self) -> Result<Vec<Queue>>;

    /// Adds a queue, stored with `version` 1 whatever `q.version` says. `AlreadyExists`
    /// (`name`) when another queue of the tenant has the same name, ignoring case.
    async fn insert_queue(&mut self, q: &Queue) -> Result<()>;

    /// Replaces a queue (settings, round-robin rotation counter…). `q.version` must be the
    /// stored version + 1, else `Conflict`; `NotFound` when absent, `AlreadyExists` (`name`)
    /// on another queue's name, ignoring case. May be kept back: its failure can then come
    /// from a later call or from `commit` (see [`StoreTx`]).
    async fn update_queue(&mut self, q: &Queue) -> Result<()>;

    /// Deletes the queue and its memberships; `NotFound` when absent. Tickets and inboxes are
    /// not touched: the service first checks none refers to it.
    async fn delete_queue(&mut self, id: QueueId) -> Result<()>;

    /// The tenant's agent with this id; `NotFound` when absent (or another tenant's). A
    /// store may answer with what this transaction read or wrote before: its versioned
    /// update catches a change made meanwhile.
    async fn agent(&mut self, id: AgentId) -> Result<Agent>;

    /// The tenant's agents, active or not, oldest first (creation instant, then id).
    async fn agents(&mut self) -> Result<Vec<Agent>>;

    /// The agents with these ids, in any order (automatic assignment reads a queue's members
    /// at once); `NotFound` (agent) if one is unknown. The default reads them one by one; SQL
    /// stores answer with one query.
    async fn agents_in(&mut self, ids: &[AgentId]) -> Result<Vec<Agent>> {
        let mut v = Vec::with_capacity(ids.len());
        for id in ids {
            v.push(self.agent(*id).await?);
        }
        Ok(v)
    }

    /// Adds an agent, stored with `version` 1 whatever `a.version` says. `AlreadyExists`
    /// (`email`) when another agent of the tenant has the same (normalized) e-mail.
    async fn insert_agent(&mut self, a: &Agent) -> Result<()>;

    /// Replaces an agent (name, role, capacity, presence, active flag…). `a.version` must be
    /// the stored version + 1, else `Conflict`; `NotFound` when absent. May be kept back like
    /// [`update_queue`](Self::update_queue).
    async fn update_agent(&mut self, a: &Agent) -> Result<()>;

    /// The members of a queue (the agents automatic assignment picks from), in joining order
    /// (joining instant, then agent id). Empty for a queue without members or an unknown one.
    async fn queue_members(&mut self, queue: QueueId) -> Result<Vec<QueueMember>>;

    /// The ids of the queues an agent is a member of, sorted by id; empty when none (or the
    /// agent is unknown).
    async fn agent_queues(&mut self, agent: AgentId) -> Result<Vec<QueueId>>;

    /// Stores the membership of `m.agent_id` in `m.queue_id`, replacing the pair's previous
    /// one (skills, rotation value of its last assignment, joining instant). `NotFound` when
    /// the queue or the agent is unknown, possibly only from a later call or `commit` when
    /// the write is kept back.
    async fn put_queue_member(&mut self, m: &QueueMember) -> Result<()>;

    /// Removes the agent from the queue; does nothing when it is not a member.
    async fn remove_queue_member(&mut self, queue: QueueId, agent: AgentId) -> Result<()>;
}

/// A transaction's view of the customers: contacts and their conversations (one per contact
/// and inbox).
#[async_trait]
pub trait ContactTx: Send {
    /// The tenant's contact (customer) with this id; `NotFound` when absent (or another
    /// tenant's).
    async fn contact(&mut self, id: ContactId) -> Result<Contact>;

    /// The tenant's contact holding this key: a phone compared through
    /// [`PhoneNumber::match_key`](crate::domain::phone::PhoneNumber::match_key) (so ninth-digit
    /// variants match), or a WhatsApp user id, normalized e-mail or visitor id compared
    /// exactly. The keys are unique per tenant, so at most one matches; `None` when none does.
    async fn find_contact(&mut self, key: &ContactKey) -> Result<Option<Contact>>;

    /// Adds a contact. `AlreadyExists` (`phone`, `whatsapp_id`, `email` or `visitor_id`) when
    /// another contact of the tenant holds its phone match key, WhatsApp id, e-mail or
    /// visitor id (absent keys never clash).
    async fn insert_contact(&mut self, c: &Contact) -> Result<()>;

    /// Replaces a contact (name, keys, CPF/CNPJ, VIP flag…). `NotFound` when absent;
    /// `AlreadyExists` as for [`insert_contact`](Self::insert_contact) when a key it now
    /// holds belongs to another contact.
    async fn update_contact(&mut self, c: &Contact) -> Result<()>;

    /// The tenant's conversation with this id; `NotFound` when absent (or another tenant's).
    async fn conversation(&mut self, id: ConversationId) -> Result<Conversation>;

    /// The conversation of `contact` on the inbox `account` (there is at most one per
    /// pair); `None` when the contact has none there yet.
    async fn find_conversation(
        &mut self,
        contact: ContactId,
        account: ChannelAccountId,
    ) -> Result<Option<Conversation>>;

    /// Adds a conversation. `AlreadyExists` (`contact and inbox`) when the contact already
    /// has one on that inbox; `NotFound` when the contact or the inbox is unknown.
    async fn insert_conversation(&mut self, c: &Conversation) -> Result<()>;

    /// Replaces a conversation (in practice its `last_inbound_at`, which opens WhatsApp's
    /// 24-hour window); `NotFound` when absent.
    async fn update_conversation(&mut self, c: &Conversation) -> Result<()>;
}

/// A transaction's view of tickets: the gap-free number counter, the one-live-ticket-per-
/// conversation rule, versioned updates, listing and the queues' waiting lines.
#[async_trait]
pub trait TicketTx: Send {
    /// The tenant's ticket with this id, with this transaction's own changes; `NotFound`
    /// when absent (or another tenant's).
    async fn ticket(&mut self, id: TicketId) -> Result<Ticket>;

    /// The tenant's ticket with this number (the number agents and customers quote, unique
    /// per tenant); `None` when no ticket has it.
    async fn ticket_by_number(&mut self, number: u64) -> Result<Option<Ticket>>;

    /// The conversation's live (not closed) ticket, the one a new customer message goes to;
    /// at most one exists. `None` when every ticket of the conversation is closed, or it has
    /// none.
    async fn live_ticket(&mut self, conversation: ConversationId) -> Result<Option<Ticket>>;

    /// Takes the tenant's next ticket number: the organization's
    /// [`first_ticket_number`](Organization::first_ticket_number) the first time, then one
    /// more each call. The counter is part of the transaction: it is held until the
    /// transaction ends (the tenant's other creators wait), and a rollback gives the number
    /// back, so committed numbers have no gaps.
    async fn next_ticket_number(&mut self) -> Result<u64>;

    /// Adds a ticket, stored with `version` 1 whatever `t.version` says, and reports a
    /// failure from this call itself. `AlreadyExists` (`live ticket of the conversation`)
    /// when `t` is live and its conversation has a live ticket, (`number`) when the tenant
    /// has a ticket with its number; `NotFound` when the conversation is unknown.
    async fn insert_ticket(&mut self, t: &Ticket) -> Result<()>;

    /// Takes the next ticket number and inserts `t` with it (its own `number` is ignored);
    /// returns the number. The same as [`next_ticket_number`](Self::next_ticket_number) then
    /// [`insert_ticket`](Self::insert_ticket); a store that can do both in one step should,
    /// since the counter is held from the number to the end of the transaction and the
    /// tenant's other creators wait on it.
    async fn insert_ticket_numbered(&mut self, t: &Ticket) -> Result<u64> {
        let number = self.next_ticket_number().await?;
        self.insert_ticket(&Ticket {
            number,
            ..t.clone()
        })
        .await?;
        Ok(number)
    }

    /// Replaces a ticket, including its [`sla_wake_at`](Ticket::sla_wake_at), which the
    /// store keeps where [`SlaSchedule`] and [`tickets_due_for_sla`](Self::tickets_due_for_sla)
    /// can search it. `t.version` must be the stored version + 1, else `Conflict`; `NotFound`
    /// when absent. `AlreadyExists` (`live ticket of the conversation`) when reopening would
    /// give the conversation a second live ticket.
    async fn update_ticket(&mut self, t: &Ticket) -> Result<()>;

    /// One page of the tenant's tickets that `q` lets through (see [`TicketQuery::matches`]
    /// for the semantics), newest first (creation instant, then id), at most `q.limit` of
    /// them, with the cursor of the next page (`None` on the last), the total (capped at
    /// `q.count_limit`) and the facets filters offer.
    async fn list_tickets(&mut self, q: &TicketQuery) -> Result<TicketPage>;

    /// The tickets waiting in a queue for an agent: in `queue`, with no assignee and New,
    /// Open or Pending (the statuses that count as load), in any order (the service orders
    /// them by priority, VIP and waiting time). Empty when none waits.
    async fn waiting_tickets(&mut self, queue: QueueId) -> Result<Vec<Ticket>>;

    /// The tenant's tickets whose stored SLA wake instant is at or before `until`, earliest
    /// first (wake instant, then id), at most `limit` (the SLA scan's batch). A store with
    /// concurrent transactions may lock the rows it returns and skip rows another
    /// transaction holds, so parallel scans split the work (SQL: `FOR UPDATE SKIP LOCKED`).
    async fn tickets_due_for_sla(
        &mut self,
        until: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<Ticket>>;
}

/// A transaction's view of messages: a ticket's thread, and inbound redeliveries recognised
/// by their channel message id.
#[async_trait]
pub trait MessageTx: Send {
    /// The tenant's message with this id; `NotFound` when absent (or another tenant's).
    async fn message(&mut self, id: MessageId) -> Result<Message>;

    /// The tenant's message stored under the channel's message id `external_id` on the inbox
    /// `account`: how a redelivered inbound message, or a delivery status report, finds the
    /// message it is about. `None` when no message has it.
    async fn message_by_external_id(
        &mut self,
        account: ChannelAccountId,
        external_id: &str,
    ) -> Result<Option<Message>>;

    /// Adds a message to its ticket's thread. `AlreadyExists` (`external_id`) when a message
    /// with the same channel message id is stored on the same inbox (in any tenant), reported
    /// from this call itself; a message without a channel id (a note, a reply not sent yet)
    /// never clashes. `NotFound` when the ticket is unknown, possibly only from a later call
    /// or `commit` when the write is kept back.
    async fn insert_message(&mut self, m: &Message) -> Result<()>;

    /// Replaces a message: its delivery status, the channel message id it got once sent, or
    /// its ticket after a merge. `NotFound` when absent; `AlreadyExists` (`external_id`) when
    /// its new channel message id is stored on another message of the inbox.
    async fn update_message(&mut self, m: &Message) -> Result<()>;

    /// A ticket's thread, oldest first (`created_at`, then the order they were inserted);
    /// empty for a ticket without messages or an unknown one.
    async fn messages(&mut self, ticket: TicketId) -> Result<Vec<Message>>;
}

/// A transaction's append-mostly records: sales, assignment cycles (for reports), the audit
/// trail and the event outbox.
#[async_trait]
pub trait RecordTx: Send {
    /// Records a sale closed on a ticket (its amount in minor units of its currency), which
    /// reports attribute to the ticket's origin. `NotFound` when the ticket is unknown.
    async fn insert_sale(&mut self, s: &Sale) -> Result<()>;

    /// The sales recorded on a ticket, oldest first (`created_at`, then id); empty when none.
    async fn sales(&mut self, ticket: TicketId) -> Result<Vec<Sale>>;

    /// Opens an assignment cycle: one stretch of a ticket waiting in a queue and being
    /// attended by one agent, which reports measure waits and handling times from.
    /// `NotFound` when the ticket is unknown, possibly only from a later call or `commit`
    /// when the write is kept back.
    async fn insert_cycle(&mut self, c: &AssignmentCycle) -> Result<()>;

    /// Replaces a cycle (the agent took the ticket, the cycle finished, the rating landed on
    /// it); `NotFound` when absent.
    async fn update_cycle(&mut self, c: &AssignmentCycle) -> Result<()>;

    /// A ticket's cycles in the order they were inserted (oldest first: the service takes
    /// the latest one as the ticket's current cycle); empty when none.
    async fn cycles(&mut self, ticket: TicketId) -> Result<Vec<AssignmentCycle>>;

    /// Appends an entry to the tenant's audit trail (who changed what, before and after);
    /// entries are never changed or removed. Configuration changes carry no ticket.
    async fn insert_audit(&mut self, a: &AuditEntry) -> Result<()>;

    /// The audit entries about one ticket, in the order they were appended; empty when none.
    async fn audit_trail(&mut self, ticket: TicketId) -> Result<Vec<AuditEntry>>;

    /// Appends an event to the outbox, in the transaction of the change that caused it: it
    /// becomes claimable by [`Outbox::claim_events`] when that transaction commits, and
    /// never if it rolls back.
    async fn insert_event(&mut self, e: &Event) -> Result<()>;

    /// The tenant's outbox events after the event `after` (exclusive; from the start when
    /// `None` or not one of the tenant's), at most `limit`, in an order that only ever grows
    /// at its end: an integration that pages through them with the last id it saw meets every
    /// committed event exactly once, even when transactions commit in another order than
    /// they wrote (a store that numbers events before commit lists one only once every
    /// transaction that could still commit a smaller number has ended). The transaction's
    /// own events are listed too.
    async fn events(&mut self, after: Option<EventId>, limit: u32) -> Result<Vec<Event>>;
}

/// The source of a [unique violation](crate::Error::unique_violation) reported by a store
/// without an error type of its own (the in-memory store): the contract's rule that a write
/// broke, in words.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct UniqueRule(String);

impl UniqueRule {
    /// The rule, in words (`"\"Suporte\" exists"`).
    pub fn new(rule: impl Into<String>) -> UniqueRule {
        UniqueRule(rule.into())
    }
}
