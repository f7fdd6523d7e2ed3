//! [`Desk`]: the service as one party sees it, a tenant and who acts in it, so the common
//! calls say only what they are about.
//!
//! ```
//! # use helpdesk_core::{Helpdesk, actor::Actor, ids::{OrgId, TicketId}, domain::message::MessageContent};
//! # async fn f(hd: Helpdesk, org: OrgId, agent: helpdesk_core::ids::AgentId, id: TicketId) -> helpdesk_core::Result<()> {
//! // Without the handle every call repeats the tenant and the actor:
//! hd.reply(org, &Actor::agent(agent), id, MessageContent::text("Olá!")).await?;
//! // With it, once per request (or per task):
//! let desk = hd.desk(org, Actor::agent(agent));
//! desk.reply(id, MessageContent::text("Olá!")).await?;
//! desk.resolve(id).await?;
//! # Ok(()) }
//! ```

use super::*;
use crate::domain::message::MessageContent;
use crate::domain::party::{ChannelAccount, Contact, ContactKey};
use crate::domain::records::Sale;
use crate::domain::team::{Agent, Presence, Queue, QueueMember};
use crate::domain::ticket::{Money, TicketStatus};
use crate::sla::SlaPolicy;
use crate::sla::SlaView;
use crate::store::query::TicketPage;
use crate::store::report::Report;
use std::collections::BTreeMap;

/// The desk of one tenant as one actor: every call is authorized for that actor and scoped to
/// that tenant, exactly as the [`Helpdesk`] method of the same name with `(org, &actor, …)`.
/// Cheap to clone and to build (one per request is fine); it holds no transaction.
#[derive(Clone)]
pub struct Desk {
    hd: Helpdesk,
    org: OrgId,
    actor: Actor,
}

impl Helpdesk {
    /// The desk of `org` as `actor` sees it.
    pub fn desk(&self, org: OrgId, actor: Actor) -> Desk {
        Desk {
            hd: self.clone(),
            org,
            actor,
        }
    }
}

/// One delegating method per line: the name, its arguments after `(org, &actor)` and what it
/// answers; each documents itself by pointing at the service method.
macro_rules! scoped {
    ($( fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*) => {
        $(
            #[doc = concat!("[`Helpdesk::", stringify!($name), "`] in this tenant, as this actor.")]
            pub async fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
                self.hd.$name(self.org, &self.actor, $($arg),*).await
            }
        )*
    };
}

impl Desk {
    /// The tenant every call of this desk is scoped to.
    pub fn org(&self) -> OrgId {
        self.org
    }

    /// Who every call of this desk runs as: whose permissions are checked, and who events and
    /// the audit trail name.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The same tenant as another actor (a bot handing over to an agent, the system running a
    /// timer).
    pub fn as_actor(&self, actor: Actor) -> Desk {
        Desk {
            actor,
            ..self.clone()
        }
    }

    /// The service underneath, for the calls outside a tenant (creating one, ingesting a
    /// channel's message, scanning SLAs).
    pub fn helpdesk(&self) -> &Helpdesk {
        &self.hd
    }

    scoped! {
        fn create_ticket(new: NewTicket) -> Ticket;
        fn ticket(id: TicketId) -> Ticket;
        fn ticket_by_number(number: u64) -> Ticket;
        fn list_tickets(req: ListTickets) -> TicketPage;
        fn messages(ticket: TicketId) -> Vec<Message>;
        fn reply(ticket: TicketId, content: MessageContent) -> Message;
        fn reply_canned(ticket: TicketId, shortcut: &str, extra: BTreeMap<String, String>) -> Message;
        fn add_note(ticket: TicketId, text: &str) -> Message;
        fn assign(ticket: TicketId, agent: AgentId) -> Ticket;
        fn unassign(ticket: TicketId) -> Ticket;
        fn transfer(ticket: TicketId, to: QueueId) -> Ticket;
        fn set_pending(ticket: TicketId) -> Ticket;
        fn resolve(ticket: TicketId) -> Ticket;
        fn close(ticket: TicketId) -> Ticket;
        fn reopen(ticket: TicketId) -> Ticket;
        fn change_status(ticket: TicketId, to: TicketStatus) -> Ticket;
        fn merge(source: TicketId, target: TicketId) -> Ticket;
        fn classify(ticket: TicketId, setor: &str, motivo: &str) -> Ticket;
        fn update_ticket(ticket: TicketId, patch: TicketPatch) -> Ticket;
        fn rate(ticket: TicketId, score: u8, feedback: Option<String>) -> Ticket;
        fn record_sale(ticket: TicketId, amount: Money, description: Option<String>) -> Sale;
        fn sla_state(ticket: TicketId) -> Option<SlaView>;
        fn contact(id: ContactId) -> Contact;
        fn find_contact(key: &ContactKey) -> Option<Contact>;
        fn update_contact(id: ContactId, patch: ContactPatch) -> Contact;
        fn report(req: ReportRequest) -> Report;
        fn create_queue(new: NewQueue) -> Queue;
        fn create_agent(new: NewAgent) -> Agent;
        fn add_queue_member(queue: QueueId, agent: AgentId, skills: Vec<String>) -> QueueMember;
        fn set_presence(agent: AgentId, presence: Presence) -> Agent;
        fn add_channel_account(new: NewChannelAccount) -> ChannelAccount;
        fn create_sla_policy(new: NewSlaPolicy) -> SlaPolicy;
        fn set_queue_sla_policy(queue: QueueId, policy: Option<SlaPolicyId>) -> Queue;
        fn update_queue(id: QueueId, changes: QueueChanges) -> Queue;
        fn update_agent(id: AgentId, changes: AgentChanges) -> Agent;
    }
}
