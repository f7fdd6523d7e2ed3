//! Tickets and their lifecycle.

use crate::domain::catalogue::Classification;
use crate::domain::tracking::Tracking;
use crate::ids::*;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a ticket is in its life.
///
/// The allowed moves (anything else is [`Error::InvalidTransition`] naming both states):
///
/// | from | to |
/// |---|---|
/// | New | Open, Pending, Resolved |
/// | Open | Pending, Resolved |
/// | Pending | Open, Resolved |
/// | Resolved | Closed, Open (reopen) |
/// | Closed | Open (reopen) |
///
/// Merging closes the merged ticket from any state but Closed ([`TicketStatus::can_merge_from`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Created, nobody has worked on it yet.
    New,
    /// Being worked on.
    Open,
    /// Waiting on the customer or a third party: SLA clocks pause.
    Pending,
    /// Answer given; the customer can still reply (which reopens it).
    Resolved,
    /// Done. A new customer message starts a new ticket.
    Closed,
}

impl TicketStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [TicketStatus; 5] = [
        Self::New,
        Self::Open,
        Self::Pending,
        Self::Resolved,
        Self::Closed,
    ];

    /// Wire / storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                Error::invalid_with(
                    "status",
                    format!("unknown status {s:?}"),
                    Self::ALL.map(|x| x.as_str()),
                )
            })
    }

    /// Whether `self -> to` is a lifecycle move.
    pub fn can_move_to(self, to: TicketStatus) -> bool {
        use TicketStatus::*;
        matches!(
            (self, to),
            (New, Open | Pending | Resolved)
                | (Open, Pending | Resolved)
                | (Pending, Open | Resolved)
                | (Resolved, Closed | Open)
                | (Closed, Open)
        )
    }

    /// Checks a move, naming both states on refusal.
    pub fn check_move(self, to: TicketStatus) -> Result<()> {
        if self.can_move_to(to) {
            Ok(())
        } else {
            Err(Error::InvalidTransition {
                from: self.to_string(),
                to: to.to_string(),
            })
        }
    }

    /// A merge may close a ticket from any state but Closed.
    pub fn can_merge_from(self) -> bool {
        self != TicketStatus::Closed
    }

    /// Not closed: the conversation's one live ticket (a customer reply reopens a Resolved one).
    pub fn is_live(self) -> bool {
        self != TicketStatus::Closed
    }

    /// Counts toward an agent's load (capacity): New, Open and Pending.
    pub fn counts_as_load(self) -> bool {
        matches!(self, Self::New | Self::Open | Self::Pending)
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Ticket priority (also picks the SLA targets).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Lowest.
    Low,
    /// Default.
    #[default]
    Medium,
    /// High.
    High,
    /// Highest.
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [Self::Low, Self::Medium, Self::High, Self::Urgent];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                Error::invalid_with(
                    "priority",
                    format!("unknown priority {s:?}"),
                    Self::ALL.map(|x| x.as_str()),
                )
            })
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount of money in minor units (centavos) with its ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (R$ 1.500,00 = 150000).
    pub minor: i64,
    /// ISO 4217 code, upper case (`BRL`).
    pub currency: String,
}

impl Money {
    /// Builds a value, validating the currency code.
    pub fn new(minor: i64, currency: &str) -> Result<Money> {
        let c = currency.trim().to_ascii_uppercase();
        if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::invalid(
                "currency",
                format!("{currency:?} is not an ISO 4217 code"),
            ));
        }
        Ok(Money { minor, currency: c })
    }

    /// Reais (or any 2-decimal currency) from a decimal amount as our users' APIs send it
    /// (`1500.00`), rounded to the nearest centavo.
    pub fn from_decimal(amount: f64, currency: &str) -> Result<Money> {
        if !amount.is_finite() || amount.abs() > 9.0e15 {
            return Err(Error::invalid("dealValue", "not a finite amount"));
        }
        Money::new((amount * 100.0).round() as i64, currency)
    }

    /// The amount as a decimal (for display and JSON APIs that use decimals).
    pub fn to_decimal(&self) -> f64 {
        self.minor as f64 / 100.0
    }
}

/// Who created a ticket (the PRD's `TicketCreatorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Creator {
    /// An agent.
    User(AgentId),
    /// The system (inbound message, automation, bot).
    System,
}

/// A customer satisfaction rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// 1 to 5.
    pub score: u8,
    /// Free text, optional.
    pub feedback: Option<String>,
    /// When it was given.
    pub rated_at: DateTime<Utc>,
    /// The agent it rates (the ticket's assignee when the customer rated).
    #[serde(default)]
    pub agent_id: Option<AgentId>,
    /// The queue it rates (the ticket's queue when the customer rated).
    #[serde(default)]
    pub queue_id: Option<QueueId>,
}

impl Rating {
    /// Validates the score (1-5) and trims the feedback.
    pub fn new(score: u8, feedback: Option<String>, at: DateTime<Utc>) -> Result<Rating> {
        if !(1..=5).contains(&score) {
            return Err(Error::invalid_with(
                "rating",
                format!("score {score} is outside 1-5"),
                ["1", "2", "3", "4", "5"],
            ));
        }
        let feedback = feedback
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty());
        if feedback.as_ref().is_some_and(|f| f.chars().count() > 2000) {
            return Err(Error::invalid("feedback", "longer than 2000 characters"));
        }
        Ok(Rating {
            score,
            feedback,
            rated_at: at,
            agent_id: None,
            queue_id: None,
        })
    }
}

/// A support ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// Id.
    pub id: TicketId,
    /// Tenant.
    pub org_id: OrgId,
    /// Per-tenant number, gap-free and increasing.
    pub number: u64,
    /// Conversation it belongs to.
    pub conversation_id: ConversationId,
    /// The customer.
    pub contact_id: ContactId,
    /// Inbox the conversation runs on.
    pub channel_account_id: ChannelAccountId,
    /// Lifecycle status.
    pub status: TicketStatus,
    /// Priority.
    pub priority: Priority,
    /// Queue (fila / setor) it waits in or is worked from.
    pub queue_id: Option<QueueId>,
    /// Queue it was created in (reports credit its arrival there).
    #[serde(default)]
    pub origin_queue_id: Option<QueueId>,
    /// Agent working on it.
    pub assignee_id: Option<AgentId>,
    /// Kanban stage.
    pub stage_id: Option<StageId>,
    /// Category.
    pub category_id: Option<CategoryId>,
    /// Setor × motivo.
    pub classification: Option<Classification>,
    /// Subject line.
    pub subject: Option<String>,
    /// Skills an agent needs to take it (empty = anyone in the queue).
    pub required_skills: Vec<String>,
    /// Marketing attribution.
    pub tracking: Tracking,
    /// Value in negotiation.
    pub deal_value: Option<Money>,
    /// Who created it.
    pub creator: Creator,
    /// Protocol number in an external CRM.
    pub external_protocol: Option<String>,
    /// CSAT.
    pub rating: Option<Rating>,
    /// Set when merged into another ticket (and then closed).
    pub merged_into: Option<TicketId>,
    /// Creation instant.
    pub created_at: DateTime<Utc>,
    /// Last change instant.
    pub updated_at: DateTime<Utc>,
    /// Since when it has been waiting in its queue without an agent (for queue ordering).
    pub waiting_since: Option<DateTime<Utc>>,
    /// First agent reply.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Agent who sent the first reply.
    #[serde(default)]
    pub first_response_by: Option<AgentId>,
    /// Queue the ticket was in at the first reply.
    #[serde(default)]
    pub first_response_queue_id: Option<QueueId>,
    /// Last customer message.
    pub last_customer_message_at: Option<DateTime<Utc>>,
    /// Last agent reply.
    pub last_agent_reply_at: Option<DateTime<Utc>>,
    /// When it was (last) resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Agent who (last) resolved it (`None` when the system or a bot did).
    #[serde(default)]
    pub resolved_by: Option<AgentId>,
    /// Queue it was in when (last) resolved.
    #[serde(default)]
    pub resolved_queue_id: Option<QueueId>,
    /// When it was (last) closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// SLA clocks (`None` when no policy applied at creation).
    pub sla: Option<crate::sla::TicketSla>,
    /// Next instant the SLA status changes (stored and indexed so the SLA scan is a range
    /// scan); `None` when no clock runs.
    pub sla_wake_at: Option<DateTime<Utc>>,
    /// Optimistic concurrency version, bumped by every stored change.
    pub version: u64,
}

impl Ticket {
    /// Moves the status, checking the lifecycle and keeping the timestamps that depend on it.
    /// `by` is the agent who moves it, if an agent does (a resolution is credited to them).
    pub fn move_to(
        &mut self,
        to: TicketStatus,
        by: Option<AgentId>,
        now: DateTime<Utc>,
    ) -> Result<TicketStatus> {
        let from = self.status;
        from.check_move(to)?;
        self.status = to;
        match to {
            TicketStatus::Resolved => {
                self.resolved_at = Some(now);
                self.resolved_by = by;
                self.resolved_queue_id = self.queue_id;
            }
            TicketStatus::Closed => self.closed_at = Some(now),
            TicketStatus::Open if matches!(from, TicketStatus::Resolved | TicketStatus::Closed) => {
                self.resolved_at = None;
                self.resolved_by = None;
                self.resolved_queue_id = None;
                self.closed_at = None;
            }
            _ => {}
        }
        self.updated_at = now;
        Ok(from)
    }

    /// Display form of the number (`#1001`).
    pub fn display_number(&self) -> String {
        format!("#{}", self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_moves_follow_the_table() {
        use TicketStatus::*;
        let allowed = [
            (New, Open),
            (New, Pending),
            (New, Resolved),
            (Open, Pending),
            (Open, Resolved),
            (Pending, Open),
            (Pending, Resolved),
            (Resolved, Closed),
            (Resolved, Open),
            (Closed, Open),
        ];
        for a in TicketStatus::ALL {
            for b in TicketStatus::ALL {
                assert_eq!(a.can_move_to(b), allowed.contains(&(a, b)), "{a} -> {b}");
            }
        }
    }

    #[test]
    fn refused_move_names_both_states() {
        let e = TicketStatus::Open
            .check_move(TicketStatus::Closed)
            .unwrap_err();
        assert_eq!(e.to_string(), "invalid transition from open to closed");
    }

    #[test]
    fn rating_outside_range_is_invalid() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert!(Rating::new(0, None, now).is_err());
        assert!(Rating::new(6, None, now).is_err());
        assert_eq!(
            Rating::new(5, Some("  ótimo ".into()), now)
                .unwrap()
                .feedback
                .as_deref(),
            Some("ótimo")
        );
    }

    #[test]
    fn money_from_decimal_rounds_to_minor_units() {
        assert_eq!(
            Money::from_decimal(1500.0, "brl").unwrap(),
            Money {
                minor: 150000,
                currency: "BRL".into()
            }
        );
        assert_eq!(Money::from_decimal(0.1 + 0.2, "BRL").unwrap().minor, 30);
        assert!(Money::new(1, "R$").is_err());
        assert!(Money::from_decimal(f64::NAN, "BRL").is_err());
    }
}
