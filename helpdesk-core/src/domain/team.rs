//! Agents, queues (filas / setores) and queue membership.

use crate::ids::*;
use crate::sla::spec::CalendarSpec;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an agent may do in the organization; checked by
/// [`Principal::authorize`](crate::actor::Principal::authorize).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works the tickets of their queues and those assigned to them; may take an unassigned
    /// ticket, but not reassign, transfer or merge.
    Agent,
    /// Also reassigns and transfers within their queues.
    Supervisor,
    /// Everything in the organization, configuration included.
    Admin,
}

/// Whether an agent is working now; only [`Presence::Online`] agents are picked by automatic
/// assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Working and taking new tickets from automatic assignment.
    Online,
    /// Signed in, not taking new tickets.
    Away,
    /// Not working; gets no new tickets and keeps the ones they hold.
    Offline,
}

/// A person who works tickets: a user of the desk with a role, a presence and a capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Identifies the agent; tickets, messages and cycles point at it.
    pub id: AgentId,
    /// Organization the agent works for.
    pub org_id: OrgId,
    /// Display name (`{{agent_name}}`).
    pub name: String,
    /// E-mail, unique per tenant.
    pub email: String,
    /// What the agent may do (agent, supervisor or admin).
    pub role: Role,
    /// Whether the agent takes new tickets now (online, away, offline).
    pub presence: Presence,
    /// Most tickets (New/Open/Pending) assigned at once.
    pub capacity: u32,
    /// Tickets (New/Open/Pending) assigned now. Kept by the service on every change.
    pub open_tickets: u32,
    /// Last time a ticket was assigned to this agent (least-busy tie break).
    pub last_assigned_at: Option<DateTime<Utc>>,
    /// Whether the agent can still sign in.
    pub active: bool,
    /// When the agent was created (UTC).
    pub created_at: DateTime<Utc>,
    /// Optimistic concurrency version: each stored change writes the stored version plus one, and
    /// a change based on an older version is refused as a conflict.
    pub version: u64,
}

impl Agent {
    /// Whether the agent holds fewer live tickets than their capacity, so one more may be assigned.
    pub fn has_capacity(&self) -> bool {
        self.open_tickets < self.capacity
    }
}

/// How a queue hands tickets to agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// Rotate over online agents with room, skipping the others.
    #[default]
    RoundRobin,
    /// Fewest open tickets first, then the longest idle.
    LeastBusy,
    /// Nobody is assigned automatically.
    Manual,
}

/// Messages a queue sends by itself.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AutoReplies {
    /// Sent when a new ticket arrives in business hours.
    pub greeting: Option<String>,
    /// Sent instead of the greeting outside business hours.
    pub out_of_hours: Option<String>,
    /// Sent when no agent can take the ticket now.
    pub no_agent: Option<String>,
}

/// What a customer's message to a resolved ticket of the queue does (a reply such as
/// "obrigado" after the resolution is common on WhatsApp).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Reopen {
    /// Always reopens the ticket (its clocks resume where they stopped).
    #[default]
    Always,
    /// Reopens it when the customer wrote within `minutes` of the resolution; later, the
    /// resolved ticket closes and the message opens a new ticket.
    Within {
        /// Minutes after the resolution (1 to 525,600, a year).
        minutes: u32,
    },
    /// Never reopens: the resolved ticket closes and the message opens a new ticket.
    Never,
}

impl Reopen {
    /// Whether a customer who wrote at `wrote_at` reopens a ticket resolved at `resolved_at`.
    pub fn reopens(self, resolved_at: Option<DateTime<Utc>>, wrote_at: DateTime<Utc>) -> bool {
        match self {
            Reopen::Always => true,
            Reopen::Never => false,
            Reopen::Within { minutes } => resolved_at
                .is_none_or(|r| wrote_at - r <= chrono::Duration::minutes(i64::from(minutes))),
        }
    }

    /// Checks the [`Reopen::Within`] window (1 to 525,600 minutes) and returns the value unchanged;
    /// an out-of-range window is [`Error::Invalid`].
    pub fn validate(self) -> Result<Reopen> {
        match self {
            Reopen::Within { minutes } if !(1..=525_600).contains(&minutes) => Err(Error::invalid(
                "reopen.minutes",
                "must be 1 to 525600 (a year)",
            )),
            r => Ok(r),
        }
    }
}

/// A queue (fila / setor): where tickets wait and are worked from, with its members, business
/// hours, auto-replies, distribution strategy and SLA policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    /// Identifies the queue; tickets and memberships point at it.
    pub id: QueueId,
    /// Organization the queue belongs to.
    pub org_id: OrgId,
    /// Name, unique per tenant.
    pub name: String,
    /// `#rrggbb` color used to tell queues apart in UIs; `None` when not set.
    pub color: Option<String>,
    /// Business hours (for out-of-hours replies and business-hours SLAs); `None` = always open.
    pub business_hours: Option<CalendarSpec>,
    /// Messages the queue sends by itself when a new ticket arrives in it.
    pub auto_replies: AutoReplies,
    /// How tickets in the queue are handed to agents (round robin, least busy or manual).
    pub distribution: Distribution,
    /// SLA policy for its tickets (the tenant default when unset).
    pub sla_policy_id: Option<SlaPolicyId>,
    /// What a customer's message to a resolved ticket does.
    #[serde(default)]
    pub reopen: Reopen,
    /// Round-robin rotation counter: bumped by each automatic assignment.
    pub rotation: u64,
    /// When the queue was created (UTC).
    pub created_at: DateTime<Utc>,
    /// Optimistic concurrency version: each stored change writes the stored version plus one, and
    /// a change based on an older version is refused as a conflict.
    pub version: u64,
}

/// An agent's membership in a queue: agents work, and are assigned, the tickets of the queues
/// they belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMember {
    /// The queue the agent belongs to.
    pub queue_id: QueueId,
    /// The member agent.
    pub agent_id: AgentId,
    /// Organization of both the queue and the agent.
    pub org_id: OrgId,
    /// Skills this agent brings to this queue (lower case).
    pub skills: Vec<String>,
    /// Value of the queue's rotation counter at this member's last automatic assignment
    /// (0 = never): round robin picks the smallest.
    pub last_rotation: u64,
    /// When the agent joined the queue.
    pub joined_at: DateTime<Utc>,
}

/// Validates a display name (trimmed, 1-120 chars).
pub fn validate_name(field: &str, name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 120 {
        return Err(Error::invalid(field, "must be 1 to 120 characters"));
    }
    Ok(n.to_owned())
}

/// Validates a `#rrggbb` color.
pub fn validate_color(field: &str, color: &str) -> Result<String> {
    let c = color.trim();
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(c.to_ascii_lowercase())
    } else {
        Err(Error::invalid(
            field,
            format!("{color:?} is not a #rrggbb color"),
        ))
    }
}
