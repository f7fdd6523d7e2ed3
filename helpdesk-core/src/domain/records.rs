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
    /// Dotted wire name (`ticket.created`), as subscribers and webhooks see it.
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

/// Something that happened to a ticket, stored in the outbox in the same transaction as the
/// change and relayed to subscribers at least once. Built from an [`EventData`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Id (time ordered).
    pub id: EventId,
    /// Organization the event belongs to; subscribers only ever see their own tenant's events.
    pub org_id: OrgId,
    /// What happened, which decides the shape of [`Event::payload`].
    pub kind: EventKind,
    /// The ticket the event is about; every current kind is about one, so `None` only for an
    /// event not tied to a ticket.
    pub ticket_id: Option<TicketId>,
    /// Who caused the change: an agent, a bot, the customer or the system.
    pub actor: Actor,
    /// Details (ids and states only; no personal data).
    pub payload: serde_json::Value,
    /// When the change happened (UTC).
    pub occurred_at: DateTime<Utc>,
}

/// An audit trail entry: who changed what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Identifies the audit entry (UUID v7, so entries sort by time).
    pub id: AuditId,
    /// Organization the entry belongs to.
    pub org_id: OrgId,
    /// Ticket concerned (none for configuration changes).
    pub ticket_id: Option<TicketId>,
    /// Who made the change.
    pub actor: Actor,
    /// What (`ticket.assign`, `queue.create`…).
    pub action: String,
    /// Before / after details.
    pub details: serde_json::Value,
    /// When the change was made (UTC).
    pub at: DateTime<Utc>,
}

/// One attendance of a ticket in a queue: queued, started by an agent, finished, rated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentCycle {
    /// Identifies the cycle.
    pub id: CycleId,
    /// Organization the cycle belongs to.
    pub org_id: OrgId,
    /// The ticket being attended.
    pub ticket_id: TicketId,
    /// Queue the ticket waited in during this cycle; `None` for a ticket without a queue.
    pub queue_id: Option<QueueId>,
    /// Agent who took the ticket in this cycle; `None` while it waits unassigned.
    pub agent_id: Option<AgentId>,
    /// When the ticket entered the queue for this cycle, by creation, transfer, unassignment
    /// or reopening (UTC).
    pub queued_at: DateTime<Utc>,
    /// When the agent took the ticket; `None` while it waits, which makes `started_at - queued_at`
    /// the waiting time.
    pub started_at: Option<DateTime<Utc>>,
    /// Attendance ended (resolved, transferred, unassigned, merged).
    pub finished_at: Option<DateTime<Utc>>,
    /// CSAT score (1 to 5) the customer gave, recorded on the ticket's last cycle; `None` when not
    /// rated.
    pub rating: Option<u8>,
}

/// A sale generated from a ticket's conversation, counted by reports per agent, queue and
/// campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    /// Identifies the sale.
    pub id: SaleId,
    /// Organization the sale belongs to.
    pub org_id: OrgId,
    /// The ticket the sale came from.
    pub ticket_id: TicketId,
    /// Value of the sale in minor units and its currency.
    pub amount: Money,
    /// Free text about what was sold; `None` when not given.
    pub description: Option<String>,
    /// When the sale was recorded (UTC).
    pub created_at: DateTime<Utc>,
}

/// What happened to a ticket, typed: the one place an event's kind, its JSON payload (what
/// webhook subscribers receive in [`Event::payload`]) and its audit entry come from.
///
/// The payloads are a contract, version [`EVENT_PAYLOAD_VERSION`]: ids and states only, never
/// personal data; fields are only ever added. Each variant's documentation shows its JSON.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventData {
    /// `ticket.created`: `{"number": 1001, "queue_id": "…", "source": "organic"}`.
    TicketCreated {
        /// The per-tenant ticket number (`1001`).
        number: u64,
        /// Queue the ticket was created in; `None` when it has none.
        queue_id: Option<QueueId>,
        /// Attribution of the ticket's origin: paid (from an ad) or organic.
        source: crate::domain::tracking::SourceType,
    },
    /// `ticket.assigned`: `{"from": "…" | null, "to": "…"}`.
    Assigned {
        /// Agent who had the ticket before; `None` when it was unassigned.
        from: Option<AgentId>,
        /// Agent who has the ticket now.
        to: AgentId,
    },
    /// `ticket.assigned` with no assignee: `{"from": "…", "to": null}`.
    Unassigned {
        /// Agent who had the ticket before; `None` when nobody had it.
        from: Option<AgentId>,
    },
    /// `ticket.updated`: `{"queue": {"from": "…", "to": "…"}, "unassigned": "…" | null}`.
    Transferred {
        /// Queue the ticket left; `None` when it had none.
        from: Option<QueueId>,
        /// Queue the ticket is in now.
        to: QueueId,
        /// The assignee the transfer released, if any.
        unassigned: Option<AgentId>,
    },
    /// `ticket.resolved`, `ticket.closed` or `ticket.status_changed` (by `to`):
    /// `{"from": "open", "to": "resolved"}`.
    StatusChanged {
        /// Status before the change.
        from: crate::domain::ticket::TicketStatus,
        /// Status after the change; it picks the event's kind.
        to: crate::domain::ticket::TicketStatus,
    },
    /// `ticket.updated`: `{"rating": 5}`.
    Rated {
        /// Score 1 to 5.
        rating: u8,
    },
    /// `ticket.updated`: `{"classification": {"setor": "SUPORTE", "motivo": "SEM CONEXÃO"}}`.
    Classified {
        /// Setor, as in the catalogue.
        setor: String,
        /// Motivo, as in the catalogue.
        motivo: String,
    },
    /// `ticket.updated`: the changed fields only, e.g. `{"priority": "high", "subject": true}`
    /// (the subject's text is not sent).
    Updated(TicketChanges),
    /// `ticket.updated`: `{"sale_id": "…"}`.
    SaleRecorded {
        /// The sale recorded.
        sale_id: SaleId,
    },
    /// `ticket.closed` on the ticket merged away: `{"from": "open", "to": "closed",
    /// "merged_into": "…"}`.
    MergedInto {
        /// Status of the merged-away ticket before it was closed.
        from: crate::domain::ticket::TicketStatus,
        /// The ticket that now holds its messages.
        into: TicketId,
        /// Number of messages moved to the other ticket.
        messages_moved: u64,
    },
    /// `ticket.updated` on the ticket that received a merge: `{"merged_from": "…",
    /// "messages_moved": 3}`.
    MergedFrom {
        /// The ticket that was merged into this one (now closed).
        source: TicketId,
        /// Number of messages moved into this ticket.
        messages_moved: u64,
    },
    /// `message.added`, a customer's message: `{"message_id": "…", "direction": "inbound",
    /// "kind": "text"}`.
    Received {
        /// The customer's message.
        message_id: MessageId,
        /// Its content kind (`text`, `image`…).
        kind: &'static str,
    },
    /// `message.added`, an agent's or bot's reply: `{"message_id": "…", "direction":
    /// "outbound"}`.
    Replied {
        /// The reply.
        message_id: MessageId,
    },
    /// `message.added`, a queue's automatic reply: `{"message_id": "…", "direction":
    /// "outbound", "auto_reply": true}`.
    AutoReplied {
        /// The automatic reply.
        message_id: MessageId,
    },
    /// `message.added`, an internal note: `{"message_id": "…", "direction": "note"}`.
    Noted {
        /// The internal note.
        message_id: MessageId,
    },
    /// `message.status_changed` from the channel's report: `{"message_id": "…", "status":
    /// "delivered", "error_code": 131047 | null, "error_title": "…" | null, "outside_window":
    /// false}`.
    DeliveryReported {
        /// The message whose delivery status changed.
        message_id: MessageId,
        /// Its new delivery status; it only moves forward.
        status: crate::domain::message::DeliveryStatus,
        /// The channel's error code.
        error_code: Option<i64>,
        /// The channel's error title.
        error_title: Option<String>,
    },
    /// `message.status_changed` when a send failed: `{"message_id": "…", "status": "failed",
    /// "reason": "…" | null}`.
    SendFailed {
        /// The message that could not be sent.
        message_id: MessageId,
        /// Why, in the channel's terms.
        reason: Option<String>,
    },
    /// `sla.warning` or `sla.breached` (by `status`): `{"metric": "first_response", "status":
    /// "breached", "due_at": "…" | null, "policy_id": "…"}`.
    Sla {
        /// Which SLA metric the clock measures.
        metric: crate::sla::SlaMetric,
        /// `at_risk` (a warning) or `breached`.
        status: crate::sla::SlaStatus,
        /// When the clock's target runs out; `None` when the clock is not running.
        due_at: Option<DateTime<Utc>>,
        /// The SLA policy the ticket's clocks run under.
        policy_id: SlaPolicyId,
    },
}

/// The version of the [`EventData`] payloads (sent to subscribers with every event).
pub const EVENT_PAYLOAD_VERSION: u32 = 1;

/// The fields a ticket update changed (the others stay `None` / `false`); its JSON has the
/// changed fields only (the subscribers' `ticket.updated` payload).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TicketChanges {
    /// New Kanban stage; `None` when unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_id: Option<StageId>,
    /// New priority; `None` when unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<crate::domain::ticket::Priority>,
    /// New deal value (`Some(None)` = cleared).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deal_value: Option<Option<Money>>,
    /// The subject changed (its text is not in the event).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub subject: bool,
    /// New category (`Some(None)` = cleared).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_id: Option<Option<CategoryId>>,
    /// New protocol number in the external CRM; `None` when unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_protocol: Option<String>,
    /// New skills an agent needs to take the ticket; `None` when unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_skills: Option<Vec<String>>,
}

impl TicketChanges {
    /// Whether nothing changed, so no `ticket.updated` event is due.
    pub fn is_empty(&self) -> bool {
        *self == TicketChanges::default()
    }
}

impl EventData {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        use crate::domain::ticket::TicketStatus;
        match self {
            Self::TicketCreated { .. } => EventKind::TicketCreated,
            Self::Assigned { .. } | Self::Unassigned { .. } => EventKind::TicketAssigned,
            Self::StatusChanged { to, .. } => match to {
                TicketStatus::Resolved => EventKind::TicketResolved,
                TicketStatus::Closed => EventKind::TicketClosed,
                _ => EventKind::TicketStatusChanged,
            },
            Self::MergedInto { .. } => EventKind::TicketClosed,
            Self::Transferred { .. }
            | Self::Rated { .. }
            | Self::Classified { .. }
            | Self::Updated(_)
            | Self::SaleRecorded { .. }
            | Self::MergedFrom { .. } => EventKind::TicketUpdated,
            Self::Received { .. }
            | Self::Replied { .. }
            | Self::AutoReplied { .. }
            | Self::Noted { .. } => EventKind::MessageAdded,
            Self::DeliveryReported { .. } | Self::SendFailed { .. } => {
                EventKind::MessageStatusChanged
            }
            Self::Sla { status, .. } => match status {
                crate::sla::SlaStatus::Breached => EventKind::SlaBreached,
                _ => EventKind::SlaWarning,
            },
        }
    }

    /// The JSON subscribers receive (see each variant).
    pub fn payload(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Self::TicketCreated {
                number,
                queue_id,
                source,
            } => json!({"number": number, "queue_id": queue_id, "source": source}),
            Self::Assigned { from, to } => json!({"from": from, "to": to}),
            Self::Unassigned { from } => json!({"from": from, "to": null}),
            Self::Transferred {
                from,
                to,
                unassigned,
            } => json!({"queue": {"from": from, "to": to}, "unassigned": unassigned}),
            Self::StatusChanged { from, to } => json!({"from": from, "to": to}),
            Self::Rated { rating } => json!({"rating": rating}),
            Self::Classified { setor, motivo } => {
                json!({"classification": {"setor": setor, "motivo": motivo}})
            }
            Self::Updated(c) => json!(c),
            Self::SaleRecorded { sale_id } => json!({"sale_id": sale_id}),
            Self::MergedInto { from, into, .. } => {
                json!({"from": from, "to": "closed", "merged_into": into})
            }
            Self::MergedFrom {
                source,
                messages_moved,
            } => json!({"merged_from": source, "messages_moved": messages_moved}),
            Self::Received { message_id, kind } => {
                json!({"message_id": message_id, "direction": "inbound", "kind": kind})
            }
            Self::Replied { message_id } => {
                json!({"message_id": message_id, "direction": "outbound"})
            }
            Self::AutoReplied { message_id } => {
                json!({"message_id": message_id, "direction": "outbound", "auto_reply": true})
            }
            Self::Noted { message_id } => json!({"message_id": message_id, "direction": "note"}),
            Self::DeliveryReported {
                message_id,
                status,
                error_code,
                error_title,
            } => json!({
                "message_id": message_id,
                "status": status,
                "error_code": error_code,
                "error_title": error_title,
                "outside_window": *error_code == Some(131047),
            }),
            Self::SendFailed { message_id, reason } => {
                json!({"message_id": message_id, "status": "failed", "reason": reason})
            }
            Self::Sla {
                metric,
                status,
                due_at,
                policy_id,
            } => {
                json!({"metric": metric, "status": status, "due_at": due_at, "policy_id": policy_id})
            }
        }
    }

    /// The audit entry a ticket change leaves (its action and details); `None` for what is
    /// not a change someone made (messages, delivery reports, SLA clocks).
    pub fn audit(&self) -> Option<(&'static str, serde_json::Value)> {
        use serde_json::json;
        let action = match self {
            Self::TicketCreated { .. } => "ticket.create",
            Self::Assigned { .. } => "ticket.assign",
            Self::Unassigned { .. } => "ticket.unassign",
            Self::Transferred { .. } => "ticket.transfer",
            Self::StatusChanged { .. } => "ticket.status",
            Self::Rated { .. } => "ticket.rate",
            Self::Classified { .. } => "ticket.classify",
            Self::Updated(_) => "ticket.update",
            Self::SaleRecorded { .. } => "ticket.sale",
            Self::MergedInto {
                into,
                messages_moved,
                ..
            } => {
                return Some((
                    "ticket.merge.source",
                    json!({"into": into, "messages_moved": messages_moved}),
                ));
            }
            Self::MergedFrom {
                source,
                messages_moved,
            } => {
                return Some((
                    "ticket.merge.target",
                    json!({"from": source, "messages_moved": messages_moved}),
                ));
            }
            Self::Received { .. }
            | Self::Replied { .. }
            | Self::AutoReplied { .. }
            | Self::Noted { .. }
            | Self::DeliveryReported { .. }
            | Self::SendFailed { .. }
            | Self::Sla { .. } => return None,
        };
        Some((action, self.payload()))
    }
}

/// A change to a tenant's configuration (inboxes, queues, agents, stages, categories, canned
/// responses, SLA policies, the setor × motivo catalogue) or to a contact, typed: the one
/// place its audit action and details come from. Details carry ids and settings, never
/// personal data (a contact's change names the contact, not what changed).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ConfigChange {
    /// `channel_account.create`: `{"id": "…", "kind": "whatsapp"}`.
    ChannelAccountCreated {
        /// The new inbox.
        id: ChannelAccountId,
        /// Its channel.
        kind: crate::domain::party::ChannelKind,
    },
    /// `queue.create`: `{"id": "…", "name": "Financeiro"}`.
    QueueCreated {
        /// The new queue.
        id: QueueId,
        /// Its name.
        name: String,
    },
    /// `queue.update`: `{"id": "…"}`.
    QueueUpdated {
        /// The queue changed.
        id: QueueId,
    },
    /// `queue.delete`: `{"id": "…"}`.
    QueueDeleted {
        /// The queue removed.
        id: QueueId,
    },
    /// `queue.member.add`: `{"queue_id": "…", "agent_id": "…"}`.
    QueueMemberAdded {
        /// The queue joined.
        queue_id: QueueId,
        /// The agent who joined it.
        agent_id: AgentId,
    },
    /// `queue.member.remove`: `{"queue_id": "…", "agent_id": "…"}`.
    QueueMemberRemoved {
        /// The queue left.
        queue_id: QueueId,
        /// The agent who left it.
        agent_id: AgentId,
    },
    /// `queue.sla_policy`: `{"queue_id": "…", "policy_id": "…" | null}`.
    QueueSlaPolicySet {
        /// The queue.
        queue_id: QueueId,
        /// Its policy from now on; `None`: the tenant's default.
        policy_id: Option<SlaPolicyId>,
    },
    /// `agent.create`: `{"id": "…", "role": "agent"}`.
    AgentCreated {
        /// The new agent.
        id: AgentId,
        /// Their role.
        role: crate::domain::team::Role,
    },
    /// `agent.update`: `{"id": "…", "active": true, "role": "supervisor", "capacity": 8}`.
    AgentUpdated {
        /// The agent changed.
        id: AgentId,
        /// Whether they may still sign in and take tickets.
        active: bool,
        /// Their role after the change.
        role: crate::domain::team::Role,
        /// Their capacity after the change (most open tickets at once).
        capacity: u32,
    },
    /// `agent.presence`: `{"agent_id": "…", "presence": "online"}`.
    AgentPresenceChanged {
        /// The agent.
        agent_id: AgentId,
        /// Their presence now.
        presence: crate::domain::team::Presence,
    },
    /// `stage.create`: `{"id": "…"}`.
    StageCreated {
        /// The new board stage.
        id: StageId,
    },
    /// `stage.update`: `{"id": "…"}`.
    StageUpdated {
        /// The stage changed.
        id: StageId,
    },
    /// `stage.delete`: `{"id": "…"}`.
    StageDeleted {
        /// The stage removed.
        id: StageId,
    },
    /// `category.create`: `{"id": "…"}`.
    CategoryCreated {
        /// The new category.
        id: CategoryId,
    },
    /// `canned_response.create`: `{"id": "…", "shortcut": "/ola"}`.
    CannedResponseCreated {
        /// The new canned response.
        id: CannedResponseId,
        /// Its normalized shortcut.
        shortcut: String,
    },
    /// `canned_response.update`: `{"id": "…", "shortcut": "/ola"}`.
    CannedResponseUpdated {
        /// The canned response changed.
        id: CannedResponseId,
        /// Its shortcut after the change.
        shortcut: String,
    },
    /// `canned_response.delete`: `{"id": "…"}`.
    CannedResponseDeleted {
        /// The canned response removed.
        id: CannedResponseId,
    },
    /// `sla_policy.create`: `{"id": "…", "default": false}`.
    SlaPolicyCreated {
        /// The new policy.
        id: SlaPolicyId,
        /// Whether it became the tenant's default.
        default: bool,
    },
    /// `sla_policy.update`: `{"id": "…", "default": true}`.
    SlaPolicyUpdated {
        /// The policy changed.
        id: SlaPolicyId,
        /// Whether it is the tenant's default after the change.
        default: bool,
    },
    /// `sla_policy.delete`: `{"id": "…"}`.
    SlaPolicyDeleted {
        /// The policy removed (its tickets keep their snapshot of it).
        id: SlaPolicyId,
    },
    /// `catalogue.replace`: `{"setores": ["FINANCEIRO", "SUPORTE"]}`.
    CatalogueReplaced {
        /// The setores of the new catalogue.
        setores: Vec<String>,
    },
    /// `catalogue.map_queue`: `{"setor": "FINANCEIRO", "queue_id": "…" | null}`.
    SetorMapped {
        /// The setor.
        setor: String,
        /// The queue its tickets go to; `None`: no queue any more.
        queue_id: Option<QueueId>,
    },
    /// `contact.update`: `{"contact_id": "…"}`.
    ContactUpdated {
        /// The contact changed.
        contact_id: ContactId,
    },
    /// `contact.phone_changed`: `{"contact_id": "…"}` (the customer's WhatsApp number
    /// changed).
    ContactPhoneChanged {
        /// The contact whose number changed.
        contact_id: ContactId,
    },
}

impl ConfigChange {
    /// The audit action (`queue.create`, `agent.presence`…).
    pub fn action(&self) -> &'static str {
        match self {
            Self::ChannelAccountCreated { .. } => "channel_account.create",
            Self::QueueCreated { .. } => "queue.create",
            Self::QueueUpdated { .. } => "queue.update",
            Self::QueueDeleted { .. } => "queue.delete",
            Self::QueueMemberAdded { .. } => "queue.member.add",
            Self::QueueMemberRemoved { .. } => "queue.member.remove",
            Self::QueueSlaPolicySet { .. } => "queue.sla_policy",
            Self::AgentCreated { .. } => "agent.create",
            Self::AgentUpdated { .. } => "agent.update",
            Self::AgentPresenceChanged { .. } => "agent.presence",
            Self::StageCreated { .. } => "stage.create",
            Self::StageUpdated { .. } => "stage.update",
            Self::StageDeleted { .. } => "stage.delete",
            Self::CategoryCreated { .. } => "category.create",
            Self::CannedResponseCreated { .. } => "canned_response.create",
            Self::CannedResponseUpdated { .. } => "canned_response.update",
            Self::CannedResponseDeleted { .. } => "canned_response.delete",
            Self::SlaPolicyCreated { .. } => "sla_policy.create",
            Self::SlaPolicyUpdated { .. } => "sla_policy.update",
            Self::SlaPolicyDeleted { .. } => "sla_policy.delete",
            Self::CatalogueReplaced { .. } => "catalogue.replace",
            Self::SetorMapped { .. } => "catalogue.map_queue",
            Self::ContactUpdated { .. } => "contact.update",
            Self::ContactPhoneChanged { .. } => "contact.phone_changed",
        }
    }

    /// The audit details: the variant's fields as a JSON object.
    pub fn details(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::message::DeliveryStatus;
    use crate::domain::ticket::{Priority, TicketStatus};
    use crate::domain::tracking::SourceType;
    use crate::sla::{SlaMetric, SlaStatus};
    use serde_json::json;

    /// Every configuration change names its audit action and carries exactly these details.
    #[test]
    fn each_config_change_has_its_action_and_details() {
        use crate::domain::party::ChannelKind;
        use crate::domain::team::{Presence, Role};
        let q = QueueId::new();
        let a = AgentId::new();
        let id = uuid::Uuid::now_v7();
        let cases: Vec<(ConfigChange, &str, serde_json::Value)> = vec![
            (
                ConfigChange::ChannelAccountCreated {
                    id: ChannelAccountId(id),
                    kind: ChannelKind::Whatsapp,
                },
                "channel_account.create",
                json!({"id": id, "kind": "whatsapp"}),
            ),
            (
                ConfigChange::QueueCreated {
                    id: q,
                    name: "Financeiro".into(),
                },
                "queue.create",
                json!({"id": q, "name": "Financeiro"}),
            ),
            (
                ConfigChange::QueueUpdated { id: q },
                "queue.update",
                json!({"id": q}),
            ),
            (
                ConfigChange::QueueDeleted { id: q },
                "queue.delete",
                json!({"id": q}),
            ),
            (
                ConfigChange::QueueMemberAdded {
                    queue_id: q,
                    agent_id: a,
                },
                "queue.member.add",
                json!({"queue_id": q, "agent_id": a}),
            ),
            (
                ConfigChange::QueueMemberRemoved {
                    queue_id: q,
                    agent_id: a,
                },
                "queue.member.remove",
                json!({"queue_id": q, "agent_id": a}),
            ),
            (
                ConfigChange::QueueSlaPolicySet {
                    queue_id: q,
                    policy_id: None,
                },
                "queue.sla_policy",
                json!({"queue_id": q, "policy_id": null}),
            ),
            (
                ConfigChange::AgentCreated {
                    id: a,
                    role: Role::Agent,
                },
                "agent.create",
                json!({"id": a, "role": "agent"}),
            ),
            (
                ConfigChange::AgentUpdated {
                    id: a,
                    active: false,
                    role: Role::Supervisor,
                    capacity: 8,
                },
                "agent.update",
                json!({"id": a, "active": false, "role": "supervisor", "capacity": 8}),
            ),
            (
                ConfigChange::AgentPresenceChanged {
                    agent_id: a,
                    presence: Presence::Online,
                },
                "agent.presence",
                json!({"agent_id": a, "presence": "online"}),
            ),
            (
                ConfigChange::StageCreated { id: StageId(id) },
                "stage.create",
                json!({"id": id}),
            ),
            (
                ConfigChange::StageUpdated { id: StageId(id) },
                "stage.update",
                json!({"id": id}),
            ),
            (
                ConfigChange::StageDeleted { id: StageId(id) },
                "stage.delete",
                json!({"id": id}),
            ),
            (
                ConfigChange::CategoryCreated { id: CategoryId(id) },
                "category.create",
                json!({"id": id}),
            ),
            (
                ConfigChange::CannedResponseCreated {
                    id: CannedResponseId(id),
                    shortcut: "/ola".into(),
                },
                "canned_response.create",
                json!({"id": id, "shortcut": "/ola"}),
            ),
            (
                ConfigChange::CannedResponseUpdated {
                    id: CannedResponseId(id),
                    shortcut: "/oi".into(),
                },
                "canned_response.update",
                json!({"id": id, "shortcut": "/oi"}),
            ),
            (
                ConfigChange::CannedResponseDeleted {
                    id: CannedResponseId(id),
                },
                "canned_response.delete",
                json!({"id": id}),
            ),
            (
                ConfigChange::SlaPolicyCreated {
                    id: SlaPolicyId(id),
                    default: true,
                },
                "sla_policy.create",
                json!({"id": id, "default": true}),
            ),
            (
                ConfigChange::SlaPolicyUpdated {
                    id: SlaPolicyId(id),
                    default: false,
                },
                "sla_policy.update",
                json!({"id": id, "default": false}),
            ),
            (
                ConfigChange::SlaPolicyDeleted {
                    id: SlaPolicyId(id),
                },
                "sla_policy.delete",
                json!({"id": id}),
            ),
            (
                ConfigChange::CatalogueReplaced {
                    setores: vec!["FINANCEIRO".into()],
                },
                "catalogue.replace",
                json!({"setores": ["FINANCEIRO"]}),
            ),
            (
                ConfigChange::SetorMapped {
                    setor: "SUPORTE".into(),
                    queue_id: Some(q),
                },
                "catalogue.map_queue",
                json!({"setor": "SUPORTE", "queue_id": q}),
            ),
            (
                ConfigChange::ContactUpdated {
                    contact_id: ContactId(id),
                },
                "contact.update",
                json!({"contact_id": id}),
            ),
            (
                ConfigChange::ContactPhoneChanged {
                    contact_id: ContactId(id),
                },
                "contact.phone_changed",
                json!({"contact_id": id}),
            ),
        ];
        let mut actions = std::collections::HashSet::new();
        for (change, action, details) in cases {
            assert_eq!(change.action(), action);
            assert_eq!(change.details(), details, "{action}");
            assert!(actions.insert(action), "{action} used twice");
        }
        assert_eq!(actions.len(), 24, "every variant is listed");
    }

    /// Every payload's JSON is the contract subscribers rely on: kind, audit action and exact
    /// shape per variant.
    #[test]
    fn each_event_has_its_kind_action_and_shape() {
        let (t, u) = (TicketId::new(), TicketId::new());
        let (a, b) = (AgentId::new(), AgentId::new());
        let (q, r) = (QueueId::new(), QueueId::new());
        let m = MessageId::new();
        let sale = SaleId::new();
        let stage = StageId::new();
        let policy = SlaPolicyId::new();
        let due = DateTime::parse_from_rfc3339("2026-03-02T15:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let cases: Vec<(EventData, EventKind, Option<&str>, serde_json::Value)> = vec![
            (
                EventData::TicketCreated {
                    number: 1001,
                    queue_id: Some(q),
                    source: SourceType::Paid,
                },
                EventKind::TicketCreated,
                Some("ticket.create"),
                json!({"number": 1001, "queue_id": q, "source": "paid"}),
            ),
            (
                EventData::Assigned { from: None, to: a },
                EventKind::TicketAssigned,
                Some("ticket.assign"),
                json!({"from": null, "to": a}),
            ),
            (
                EventData::Unassigned { from: Some(a) },
                EventKind::TicketAssigned,
                Some("ticket.unassign"),
                json!({"from": a, "to": null}),
            ),
            (
                EventData::Transferred {
                    from: Some(q),
                    to: r,
                    unassigned: Some(b),
                },
                EventKind::TicketUpdated,
                Some("ticket.transfer"),
                json!({"queue": {"from": q, "to": r}, "unassigned": b}),
            ),
            (
                EventData::StatusChanged {
                    from: TicketStatus::Open,
                    to: TicketStatus::Resolved,
                },
                EventKind::TicketResolved,
                Some("ticket.status"),
                json!({"from": "open", "to": "resolved"}),
            ),
            (
                EventData::StatusChanged {
                    from: TicketStatus::Resolved,
                    to: TicketStatus::Closed,
                },
                EventKind::TicketClosed,
                Some("ticket.status"),
                json!({"from": "resolved", "to": "closed"}),
            ),
            (
                EventData::StatusChanged {
                    from: TicketStatus::Open,
                    to: TicketStatus::Pending,
                },
                EventKind::TicketStatusChanged,
                Some("ticket.status"),
                json!({"from": "open", "to": "pending"}),
            ),
            (
                EventData::Rated { rating: 5 },
                EventKind::TicketUpdated,
                Some("ticket.rate"),
                json!({"rating": 5}),
            ),
            (
                EventData::Classified {
                    setor: "SUPORTE".into(),
                    motivo: "SEM CONEXÃO".into(),
                },
                EventKind::TicketUpdated,
                Some("ticket.classify"),
                json!({"classification": {"setor": "SUPORTE", "motivo": "SEM CONEXÃO"}}),
            ),
            (
                EventData::Updated(TicketChanges {
                    priority: Some(Priority::High),
                    subject: true,
                    category_id: Some(None),
                    ..TicketChanges::default()
                }),
                EventKind::TicketUpdated,
                Some("ticket.update"),
                json!({"priority": "high", "subject": true, "category_id": null}),
            ),
            (
                EventData::Updated(TicketChanges {
                    stage_id: Some(stage),
                    deal_value: Some(Some(Money::new(150_000, "BRL").unwrap())),
                    external_protocol: Some("CRM-1".into()),
                    required_skills: Some(vec!["fibra".into()]),
                    ..TicketChanges::default()
                }),
                EventKind::TicketUpdated,
                Some("ticket.update"),
                json!({"stage_id": stage,
                       "deal_value": Money::new(150_000, "BRL").unwrap(),
                       "external_protocol": "CRM-1", "required_skills": ["fibra"]}),
            ),
            (
                EventData::SaleRecorded { sale_id: sale },
                EventKind::TicketUpdated,
                Some("ticket.sale"),
                json!({"sale_id": sale}),
            ),
            (
                EventData::MergedInto {
                    from: TicketStatus::Open,
                    into: u,
                    messages_moved: 3,
                },
                EventKind::TicketClosed,
                Some("ticket.merge.source"),
                json!({"from": "open", "to": "closed", "merged_into": u}),
            ),
            (
                EventData::MergedFrom {
                    source: t,
                    messages_moved: 3,
                },
                EventKind::TicketUpdated,
                Some("ticket.merge.target"),
                json!({"merged_from": t, "messages_moved": 3}),
            ),
            (
                EventData::Received {
                    message_id: m,
                    kind: "image",
                },
                EventKind::MessageAdded,
                None,
                json!({"message_id": m, "direction": "inbound", "kind": "image"}),
            ),
            (
                EventData::Replied { message_id: m },
                EventKind::MessageAdded,
                None,
                json!({"message_id": m, "direction": "outbound"}),
            ),
            (
                EventData::AutoReplied { message_id: m },
                EventKind::MessageAdded,
                None,
                json!({"message_id": m, "direction": "outbound", "auto_reply": true}),
            ),
            (
                EventData::Noted { message_id: m },
                EventKind::MessageAdded,
                None,
                json!({"message_id": m, "direction": "note"}),
            ),
            (
                EventData::DeliveryReported {
                    message_id: m,
                    status: DeliveryStatus::Failed,
                    error_code: Some(131047),
                    error_title: Some("Re-engagement message".into()),
                },
                EventKind::MessageStatusChanged,
                None,
                json!({"message_id": m, "status": "failed", "error_code": 131047,
                       "error_title": "Re-engagement message", "outside_window": true}),
            ),
            (
                EventData::SendFailed {
                    message_id: m,
                    reason: None,
                },
                EventKind::MessageStatusChanged,
                None,
                json!({"message_id": m, "status": "failed", "reason": null}),
            ),
            (
                EventData::Sla {
                    metric: SlaMetric::FirstResponse,
                    status: SlaStatus::Breached,
                    due_at: Some(due),
                    policy_id: policy,
                },
                EventKind::SlaBreached,
                None,
                json!({"metric": "first_response", "status": "breached",
                       "due_at": "2026-03-02T15:00:00Z", "policy_id": policy}),
            ),
            (
                EventData::Sla {
                    metric: SlaMetric::Resolution,
                    status: SlaStatus::AtRisk,
                    due_at: None,
                    policy_id: policy,
                },
                EventKind::SlaWarning,
                None,
                json!({"metric": "resolution", "status": "at_risk", "due_at": null,
                       "policy_id": policy}),
            ),
        ];
        for (data, kind, action, shape) in cases {
            assert_eq!(data.kind(), kind, "{data:?}");
            assert_eq!(data.payload(), shape, "{data:?}");
            assert_eq!(data.audit().map(|(a, _)| a), action, "{data:?}");
        }
        // A merge's audit entries say where the messages went (not the event's shape).
        let merged = EventData::MergedInto {
            from: TicketStatus::Open,
            into: u,
            messages_moved: 2,
        };
        assert_eq!(
            merged.audit().map(|(_, d)| d),
            Some(json!({"into": u, "messages_moved": 2}))
        );
    }
}
