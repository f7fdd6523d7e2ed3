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

/// Keys for pessimistic locks held until the transaction ends. Stores that serialize every
/// transaction (the in-memory store) may treat them as no-ops; SQL stores take a
/// transaction-scoped advisory lock. They are an optimization: correctness never depends on
/// them, because every contended write is also guarded by a constraint or a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockKey {
    /// Serializes automatic assignment in one queue (exact round robin without retries).
    Queue(QueueId),
    /// Serializes ticket creation in one conversation.
    Conversation(ConversationId),
    /// Serializes contact creation for one lookup key (hash of the key).
    ContactKey(u64),
}

/// What every store writes first: transactions scoped to one organization, and the two
/// entry points that come before any tenant is known (creating one, routing inbound traffic
/// to one). With [`StoreTx`] and its areas, this is enough to run every workflow and the
/// [conformance suite](crate::testing::conformance); the other capabilities of a [`Store`]
/// build on it.
#[async_trait]
pub trait StoreCore: Send + Sync + 'static {
    /// Starts a transaction scoped to `org`. Fails with `NotFound` when the organization does
    /// not exist.
    async fn begin(&self, org: OrgId) -> Result<Box<dyn StoreTx>>;

    /// Creates an organization (outside any tenant). `AlreadyExists` (`id`) if the id exists.
    async fn create_organization(&self, org: &Organization) -> Result<()>;

    /// Routes inbound traffic: the channel account with this kind and external id, in
    /// whatever tenant it belongs to. `None` when unknown.
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
    /// Claims up to `limit` committed events that are neither delivered nor dead, whose next
    /// attempt is due at `now` and whose previous claim (if any) has expired, oldest first.
    /// Until `now + lease` no other caller can claim them, whatever instance it runs in (SQL:
    /// `FOR UPDATE SKIP LOCKED`). Each claim carries a fresh token.
    async fn claim_events(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: u32,
        lease: chrono::Duration,
    ) -> Result<Vec<ClaimedEvent>>;

    /// Settles a claimed event. Returns `false` (and changes nothing) when the claim is no
    /// longer the current one (its lease expired and another relay took the event).
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
    /// Organizations with a ticket whose SLA wake instant is at or before `until` (the SLA
    /// scan's cross-tenant entry point).
    async fn orgs_with_sla_due(&self, until: chrono::DateTime<chrono::Utc>) -> Result<Vec<OrgId>>;

    /// The earliest SLA wake instant of any live ticket in any tenant (a scheduler sleeps
    /// until then).
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
    /// touch in the inbox `(kind, account_external_id)`, read at once outside a transaction.
    /// `None` when the inbox is unknown. The default uses the transaction primitives; a store
    /// may answer with one query.
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
    /// already: [`Duplicate`](inbound::InboundWritten::Duplicate)), the conversation, the ticket
    /// (only if the stored one is still live at `ticket.version - 1`, else nothing is written:
    /// [`Stale`](inbound::InboundWritten::Stale)) and the events. The default uses the
    /// transaction primitives; a store may do it in one statement.
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
    /// The event.
    pub event_id: EventId,
    /// Identifies this claim (a later claim of the same event gets another token).
    pub token: uuid::Uuid,
}

/// A claimed event with its delivery history.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedEvent {
    /// The claim to settle.
    pub claim: EventClaim,
    /// The event.
    pub event: Event,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// What happened to a claimed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// Delivered: never claimed again.
    Delivered,
    /// Failed; try again at `retry_at`. The error is kept for operators.
    Retry {
        /// Next attempt.
        retry_at: chrono::DateTime<chrono::Utc>,
        /// Why it failed (no personal data).
        error: String,
    },
    /// Failed for good (dead letter): never claimed again, kept for inspection.
    Dead {
        /// Why.
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
    /// The organization this transaction is scoped to.
    fn org_id(&self) -> OrgId;

    /// Makes every write of the transaction durable and visible, atomically.
    async fn commit(self: Box<Self>) -> Result<()>;

    /// Takes a lock held until the transaction ends.
    async fn lock(&mut self, key: LockKey) -> Result<()>;
}

/// A transaction's view of the tenant's settings: the organization, its inboxes (channel
/// accounts), board stages, categories, canned responses and SLA policies.
#[async_trait]
pub trait SettingsTx: Send {
    /// The organization.
    async fn organization(&mut self) -> Result<Organization>;

    /// Replaces the organization's settings (name, zone, catalogue…).
    async fn update_organization(&mut self, org: &Organization) -> Result<()>;

    /// All channel accounts, oldest first.
    async fn channel_accounts(&mut self) -> Result<Vec<ChannelAccount>>;

    /// A channel account by id.
    async fn channel_account(&mut self, id: ChannelAccountId) -> Result<ChannelAccount>;

    /// Inserts; `AlreadyExists` (`external_id`) when (kind, external id) exists in any tenant.
    async fn insert_channel_account(&mut self, a: &ChannelAccount) -> Result<()>;

    /// Stages in board order.
    async fn stages(&mut self) -> Result<Vec<Stage>>;

    /// Inserts; `AlreadyExists` (`name`) on a duplicate name.
    async fn insert_stage(&mut self, s: &Stage) -> Result<()>;

    /// Replaces; `NotFound` when absent, `AlreadyExists` (`name`) on a duplicate name.
    async fn update_stage(&mut self, s: &Stage) -> Result<()>;

    /// Deletes; `NotFound` when absent. (The service checks no ticket is in it.)
    async fn delete_stage(&mut self, id: StageId) -> Result<()>;

    /// Categories.
    async fn categories(&mut self) -> Result<Vec<Category>>;

    /// Inserts; `AlreadyExists` (`name`) on a duplicate name.
    async fn insert_category(&mut self, c: &Category) -> Result<()>;

    /// All canned responses, by shortcut.
    async fn canned_responses(&mut self) -> Result<Vec<CannedResponse>>;

    /// One by normalized shortcut.
    async fn canned_by_shortcut(&mut self, shortcut: &str) -> Result<Option<CannedResponse>>;

    /// Inserts; `AlreadyExists` (`shortcut`) on a duplicate shortcut.
    async fn insert_canned(&mut self, c: &CannedResponse) -> Result<()>;

    /// Deletes; `NotFound` when absent.
    async fn delete_canned(&mut self, id: CannedResponseId) -> Result<()>;

    /// All SLA policies, oldest first.
    async fn sla_policies(&mut self) -> Result<Vec<crate::sla::SlaPolicy>>;

    /// Inserts; `AlreadyExists` (`name`) on a duplicate name.
    async fn insert_sla_policy(&mut self, p: &crate::sla::SlaPolicy) -> Result<()>;

    /// Replaces; `NotFound` when absent.
    async fn update_sla_policy(&mut self, p: &crate::sla::SlaPolicy) -> Result<()>;

    /// Deletes; `NotFound` when absent. (The service checks no queue uses it.)
    async fn delete_sla_policy(&mut self, id: SlaPolicyId) -> Result<()>;
}

/// A transaction's view of the team: queues (setores), agents and queue memberships. Queues
/// and agents are versioned rows: their updates follow the version rule of the
/// [module docs](self).
#[async_trait]
pub trait TeamTx: Send {
    /// A queue by id.
    async fn queue(&mut self, id: QueueId) -> Result<Queue>;

    /// All queues, oldest first.
    async fn queues(&mut self) -> Result<Vec<Queue>>;

    /// Inserts with `version` 1; `AlreadyExists` (`name`) on a duplicate name.
    async fn insert_queue(&mut self, q: &Queue) -> Result<()>;

    /// Replaces; versioned like tickets.
    async fn update_queue(&mut self, q: &Queue) -> Result<()>;

    /// Deletes the queue and its memberships; `NotFound` when absent. (The service checks no
    /// ticket or inbox refers to it.)
    async fn delete_queue(&mut self, id: QueueId) -> Result<()>;

    /// An agent by id.
    async fn agent(&mut self, id: AgentId) -> Result<Agent>;

    /// All agents, oldest first.
    async fn agents(&mut self) -> Result<Vec<Agent>>;

    /// These agents (any order); `NotFound` if one is unknown. The default reads them one by
    /// one; SQL stores answer with one query.
    async fn agents_in(&mut self, ids: &[AgentId]) -> Result<Vec<Agent>> {
        let mut v = Vec::with_capacity(ids.len());
        for id in ids {
            v.push(self.agent(*id).await?);
        }
        Ok(v)
    }

    /// Inserts with `version` 1; `AlreadyExists` (`email`) on a duplicate e-mail.
    async fn insert_agent(&mut self, a: &Agent) -> Result<()>;

    /// Replaces; versioned like tickets.
    async fn update_agent(&mut self, a: &Agent) -> Result<()>;

    /// Members of a queue, in joining order.
    async fn queue_members(&mut self, queue: QueueId) -> Result<Vec<QueueMember>>;

    /// Queues an agent belongs to.
    async fn agent_queues(&mut self, agent: AgentId) -> Result<Vec<QueueId>>;

    /// Inserts or replaces a membership.
    async fn put_queue_member(&mut self, m: &QueueMember) -> Result<()>;

    /// Removes a membership (no-op when absent).
    async fn remove_queue_member(&mut self, queue: QueueId, agent: AgentId) -> Result<()>;
}

/// A transaction's view of the customers: contacts and their conversations (one per contact
/// and inbox).
#[async_trait]
pub trait ContactTx: Send {
    /// A contact by id.
    async fn contact(&mut self, id: ContactId) -> Result<Contact>;

    /// Finds a contact by phone (through [`PhoneNumber::match_key`](crate::domain::phone::PhoneNumber::match_key)),
    /// WhatsApp user id or e-mail.
    async fn find_contact(&mut self, key: &ContactKey) -> Result<Option<Contact>>;

    /// Inserts; `AlreadyExists` (`phone`, `whatsapp_id` or `email`) when its phone match key,
    /// WhatsApp id or e-mail is taken.
    async fn insert_contact(&mut self, c: &Contact) -> Result<()>;

    /// Replaces; `AlreadyExists` as for insert.
    async fn update_contact(&mut self, c: &Contact) -> Result<()>;

    /// A conversation by id.
    async fn conversation(&mut self, id: ConversationId) -> Result<Conversation>;

    /// The conversation of a contact on an inbox.
    async fn find_conversation(
        &mut self,
        contact: ContactId,
        account: ChannelAccountId,
    ) -> Result<Option<Conversation>>;

    /// Inserts; `AlreadyExists` (`contact and inbox`) when (contact, account) exists.
    async fn insert_conversation(&mut self, c: &Conversation) -> Result<()>;

    /// Replaces.
    async fn update_conversation(&mut self, c: &Conversation) -> Result<()>;
}

/// A transaction's view of tickets: the gap-free number counter, the one-live-ticket-per-
/// conversation rule, versioned updates, listing and the queues' waiting lines.
#[async_trait]
pub trait TicketTx: Send {
    /// A ticket by id.
    async fn ticket(&mut self, id: TicketId) -> Result<Ticket>;

    /// A ticket by number.
    async fn ticket_by_number(&mut self, number: u64) -> Result<Option<Ticket>>;

    /// The conversation's live (not closed) ticket.
    async fn live_ticket(&mut self, conversation: ConversationId) -> Result<Option<Ticket>>;

    /// Takes the next ticket number (starting at the organization's first number). The
    /// counter is part of the transaction: a rollback gives the number back.
    async fn next_ticket_number(&mut self) -> Result<u64>;

    /// Inserts with `version` 1; `AlreadyExists` (`live ticket of the conversation`) when the
    /// conversation has a live ticket, (`number`) when the number is taken.
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

    /// Replaces; `t.version` must be the stored version + 1, else `Conflict`.
    /// `AlreadyExists` (`live ticket of the conversation`) when reopening would give the
    /// conversation a second live ticket.
    async fn update_ticket(&mut self, t: &Ticket) -> Result<()>;

    /// A page of tickets with facets (see [`TicketQuery::matches`] for the semantics).
    async fn list_tickets(&mut self, q: &TicketQuery) -> Result<TicketPage>;

    /// Live, unassigned tickets of a queue (any order; the service orders them).
    async fn waiting_tickets(&mut self, queue: QueueId) -> Result<Vec<Ticket>>;

    /// Live tickets with an SLA instant at or before `until` (for the SLA scan), at most `limit`.
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
    /// A message by id.
    async fn message(&mut self, id: MessageId) -> Result<Message>;

    /// A message by channel message id on an inbox.
    async fn message_by_external_id(
        &mut self,
        account: ChannelAccountId,
        external_id: &str,
    ) -> Result<Option<Message>>;

    /// Inserts; `AlreadyExists` (`external_id`) when (account, external id) exists.
    async fn insert_message(&mut self, m: &Message) -> Result<()>;

    /// Replaces (delivery status, external id after sending, ticket after merge).
    async fn update_message(&mut self, m: &Message) -> Result<()>;

    /// A ticket's messages, oldest first.
    async fn messages(&mut self, ticket: TicketId) -> Result<Vec<Message>>;
}

/// A transaction's append-mostly records: sales, assignment cycles (for reports), the audit
/// trail and the event outbox.
#[async_trait]
pub trait RecordTx: Send {
    /// Inserts a sale.
    async fn insert_sale(&mut self, s: &Sale) -> Result<()>;

    /// A ticket's sales.
    async fn sales(&mut self, ticket: TicketId) -> Result<Vec<Sale>>;

    /// Inserts an assignment cycle.
    async fn insert_cycle(&mut self, c: &AssignmentCycle) -> Result<()>;

    /// Replaces an assignment cycle.
    async fn update_cycle(&mut self, c: &AssignmentCycle) -> Result<()>;

    /// A ticket's cycles, oldest first.
    async fn cycles(&mut self, ticket: TicketId) -> Result<Vec<AssignmentCycle>>;

    /// Appends an audit entry.
    async fn insert_audit(&mut self, a: &AuditEntry) -> Result<()>;

    /// A ticket's audit trail, oldest first.
    async fn audit_trail(&mut self, ticket: TicketId) -> Result<Vec<AuditEntry>>;

    /// Appends an event to the outbox (committed with the change that caused it).
    async fn insert_event(&mut self, e: &Event) -> Result<()>;

    /// Events in commit order after `after` (exclusive), at most `limit`.
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
