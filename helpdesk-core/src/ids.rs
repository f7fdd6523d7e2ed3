//! Newtype ids over UUID v7 (time ordered, so ids sort by creation).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident => $entity:literal),* $(,)?) => {$(
        #[$doc]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// The underlying UUID, for storage and wire formats that take one.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
            /// Snake-case name of the entity the id names (`ticket`), as in the field a parse error
            /// names (`ticket_id`).
            pub const ENTITY: &'static str = $entity;
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|e| crate::Error::invalid(concat!($entity, "_id"), e.to_string()))
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    )*};
}

id_type! {
    /// Identifies an organization (tenant, [`Organization`](crate::domain::party::Organization)).
    OrgId => "organization",
    /// Identifies a contact (lead / customer, [`Contact`](crate::domain::party::Contact)).
    ContactId => "contact",
    /// Identifies a channel account (inbox): one WhatsApp number, one e-mail address…
    ChannelAccountId => "channel_account",
    /// Identifies a conversation: contact × channel account.
    ConversationId => "conversation",
    /// Identifies a ticket ([`Ticket`](crate::domain::ticket::Ticket)); users see its number.
    TicketId => "ticket",
    /// Identifies a message of a ticket ([`Message`](crate::domain::message::Message)).
    MessageId => "message",
    /// Identifies a Kanban stage ([`Stage`](crate::domain::board::Stage)).
    StageId => "stage",
    /// Identifies a queue (fila / setor, [`Queue`](crate::domain::team::Queue)).
    QueueId => "queue",
    /// Identifies an agent (a human user of the desk, [`Agent`](crate::domain::team::Agent)).
    AgentId => "agent",
    /// Identifies a ticket category ([`Category`](crate::domain::board::Category)).
    CategoryId => "category",
    /// Identifies a canned response ([`CannedResponse`](crate::domain::canned::CannedResponse)).
    CannedResponseId => "canned_response",
    /// Identifies a sale recorded on a ticket ([`Sale`](crate::domain::records::Sale)).
    SaleId => "sale",
    /// Identifies an audit trail entry ([`AuditEntry`](crate::domain::records::AuditEntry)).
    AuditId => "audit_entry",
    /// Identifies an event (an outbox row, [`Event`](crate::domain::records::Event)).
    EventId => "event",
    /// Identifies an assignment cycle (one attendance of a ticket by an agent in a queue).
    CycleId => "assignment_cycle",
    /// Identifies an SLA policy ([`SlaPolicy`](crate::sla::SlaPolicy)).
    SlaPolicyId => "sla_policy",
}
