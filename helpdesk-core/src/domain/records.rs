//! What happens to tickets, kept: events (outbox), audit entries, assignment cycles, sales.

use crate::actor::Actor;
use crate::domain::ticket::Money;
use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Event types. Stores persist events in the same transaction as the change (outbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// `ticket.created`
    #[serde(rename = "ticket.created")]
    TicketCreated,
    /// `ticket.updated` (stage, priority, deal value, classification, queue…)
    #[serde(rename = "ticket.updated")]
    TicketUpdated,
    /// `ticket.assigned` (also unassignment, with no assignee)
    #[serde(rename = "ticket.assigned")]
    TicketAssigned,
    /// `ticket.status_changed` (every status change but to Resolved / Closed)
    #[serde(rename = "ticket.status_changed")]
    TicketStatusChanged,
    /// `ticket.resolved`
    #[serde(rename = "ticket.resolved")]
    TicketResolved,
    /// `ticket.closed`
    #[serde(rename = "ticket.closed")]
    TicketClosed,
    /// `message.added`
    #[serde(rename = "message.added")]
    MessageAdded,
    /// `message.status_changed` (delivery status moved forward; failures carry the reason)
    #[serde(rename = "message.status_changed")]
    MessageStatusChanged,
    /// `sla.warning`
    #[serde(rename = "sla.warning")]
    SlaWarning,
    /// `sla.breached`
    #[serde(rename = "sla.breached")]
    SlaBreached,
}

impl EventKind {
    /// Dotted name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TicketCreated => "ticket.created",
            Self::TicketUpdated => "ticket.updated",
            Self::TicketAssigned => "ticket.assigned",
            Self::TicketStatusChanged => "ticket.status_changed",
            Self::TicketResolved => "ticket.resolved",
            Self::TicketClosed => "ticket.closed",
            Self::MessageAdded => "message.added",
            Self::MessageStatusChanged => "message.status_changed",
            Self::SlaWarning => "sla.warning",
            Self::SlaBreached => "sla.breached",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Id (time ordered).
    pub id: EventId,
    /// Tenant.
    pub org_id: OrgId,
    /// Type.
    pub kind: EventKind,
    /// Ticket concerned.
    pub ticket_id: Option<TicketId>,
    /// Who caused it.
    pub actor: Actor,
    /// Details (ids and states only; no personal data).
    pub payload: serde_json::Value,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// An audit trail entry: who changed what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Id.
    pub id: AuditId,
    /// Tenant.
    pub org_id: OrgId,
    /// Ticket concerned (none for configuration changes).
    pub ticket_id: Option<TicketId>,
    /// Who.
    pub actor: Actor,
    /// What (`ticket.assign`, `queue.create`…).
    pub action: String,
    /// Before / after details.
    pub details: serde_json::Value,
    /// When.
    pub at: DateTime<Utc>,
}

/// One attendance of a ticket in a queue: queued, started by an agent, finished, rated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentCycle {
    /// Id.
    pub id: CycleId,
    /// Tenant.
    pub org_id: OrgId,
    /// Ticket.
    pub ticket_id: TicketId,
    /// Queue.
    pub queue_id: Option<QueueId>,
    /// Agent who took it.
    pub agent_id: Option<AgentId>,
    /// Entered the queue.
    pub queued_at: DateTime<Utc>,
    /// Agent started.
    pub started_at: Option<DateTime<Utc>>,
    /// Attendance ended (resolved, transferred, unassigned, merged).
    pub finished_at: Option<DateTime<Utc>>,
    /// CSAT score of this attendance.
    pub rating: Option<u8>,
}

/// A sale generated from a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    /// Id.
    pub id: SaleId,
    /// Tenant.
    pub org_id: OrgId,
    /// Ticket.
    pub ticket_id: TicketId,
    /// Amount.
    pub amount: Money,
    /// Note.
    pub description: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}
