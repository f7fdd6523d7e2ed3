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
            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
            /// Entity name used in errors.
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
    /// An organization (tenant).
    OrgId => "organization",
    /// A contact (lead / customer).
    ContactId => "contact",
    /// A channel account (inbox): one WhatsApp number, one e-mail address…
    ChannelAccountId => "channel_account",
    /// A conversation: contact × channel account.
    ConversationId => "conversation",
    /// A ticket.
    TicketId => "ticket",
    /// A message.
    MessageId => "message",
    /// A Kanban stage.
    StageId => "stage",
    /// A queue (fila / setor).
    QueueId => "queue",
    /// An agent (human user of the desk).
    AgentId => "agent",
    /// A ticket category.
    CategoryId => "category",
    /// A canned response.
    CannedResponseId => "canned_response",
    /// A sale linked to a ticket.
    SaleId => "sale",
    /// An audit entry.
    AuditId => "audit_entry",
    /// An event (outbox row).
    EventId => "event",
    /// An assignment cycle (one attendance of a ticket by an agent in a queue).
    CycleId => "assignment_cycle",
    /// An SLA policy.
    SlaPolicyId => "sla_policy",
}
