//! Tickets and their lifecycle.

use crate::domain::catalogue::Classification;
use crate::domain::tracking::Tracking;
use crate::ids::*;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a ticket is in its lifecycle; moves are checked by [`TicketStatus::check_move`].
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
    /// Being worked on: an agent replied or moved it here (a reopened ticket comes back here).
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

    /// Parses a wire name as [`TicketStatus::as_str`] writes it (case and surrounding spaces
    /// ignored); an unknown name is [`Error::Invalid`] listing the valid ones.
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

/// How urgent a ticket is: it orders waiting tickets in routing and picks the per-priority SLA
/// targets of the ticket's policy.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Can wait; served after every other priority.
    Low,
    /// The default for new tickets.
    #[default]
    Medium,
    /// Served before Medium and Low, with tighter default SLA targets.
    High,
    /// Served first, with the tightest default SLA targets.
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [Self::Low, Self::Medium, Self::High, Self::Urgent];

    /// Wire / storage name (`low`, `medium`, `high`, `urgent`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    /// Parses a wire name as [`Priority::as_str`] writes it (case and surrounding spaces
    /// ignored); an unknown name is [`Error::Invalid`] listing the valid ones.
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

/// Who created a ticket: an agent by hand, or the desk itself (serialized as the
/// `TicketCreatorType` of our users' REST APIs, `USER` / `SYSTEM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Creator {
    /// An agent created it by hand, on their own behalf.
    User(AgentId),
    /// The system (inbound message, automation, bot).
    System,
}

/// A customer satisfaction (CSAT) rating of a ticket, validated by [`Rating::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// 1 to 5.
    pub score: u8,
    /// The customer's comment, trimmed, at most 2,000 characters; `None` when they wrote none.
    pub feedback: Option<String>,
    /// When the customer gave the rating (UTC).
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

/// A support ticket: a customer's request worked in one conversation, with its lifecycle,
/// routing, classification, attribution and SLA state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// Identifies the ticket across every tenant (UUID v7); users see [`Ticket::number`] instead.
    pub id: TicketId,
    /// Organization the ticket belongs to; every read and write is scoped by it.
    pub org_id: OrgId,
    /// Per-tenant number, gap-free and increasing.
    pub number: u64,
    /// Conversation (contact × channel account) the ticket belongs to; a conversation has at most
    /// one live (not Closed) ticket at a time.
    pub conversation_id: ConversationId,
    /// The customer the ticket is about (the conversation's contact).
    pub contact_id: ContactId,
    /// Channel account (inbox) the conversation runs on; replies leave through it.
    pub channel_account_id: ChannelAccountId,
    /// Lifecycle status; changed only through [`Ticket::move_to`] and its checked moves.
    pub status: TicketStatus,
    /// Priority: orders the queue and picks the SLA targets.
    pub priority: Priority,
    /// Queue (fila / setor) it waits in or is worked from.
    pub queue_id: Option<QueueId>,
    /// Queue it was created in (reports credit its arrival there).
    #[serde(default)]
    pub origin_queue_id: Option<QueueId>,
    /// Agent currently working the ticket; `None` while it waits in its queue unassigned.
    pub assignee_id: Option<AgentId>,
    /// Kanban stage it is shown in; new tickets start in the organization's first stage.
    pub stage_id: Option<StageId>,
    /// Category (see [`Category`](crate::domain::board::Category)); `None` when uncategorized.
    pub category_id: Option<CategoryId>,
    /// Setor × motivo, as the organization's catalogue spells them; `None` until classified.
    pub classification: Option<Classification>,
    /// Short human-readable title, at most 250 characters; `None` when none was given (tickets
    /// opened by an inbound message have none).
    pub subject: Option<String>,
    /// Skills an agent needs to take it (empty = anyone in the queue).
    pub required_skills: Vec<String>,
    /// Marketing attribution (UTM fields, click ids, ad platform, paid or organic), normalized
    /// when the ticket is created; empty when nothing is known.
    pub tracking: Tracking,
    /// Value of the deal being negotiated in this ticket; `None` when no value was set.
    pub deal_value: Option<Money>,
    /// Who created the ticket: an agent by hand, or the system for inbound messages, automations
    /// and bots.
    pub creator: Creator,
    /// Protocol number the external CRM gave for this ticket (`abrir_ticket_crm`); `None` until
    /// one is recorded.
    pub external_protocol: Option<String>,
    /// The customer's satisfaction rating; `None` until the customer rates the ticket.
    pub rating: Option<Rating>,
    /// Set when merged into another ticket (and then closed).
    pub merged_into: Option<TicketId>,
    /// When the ticket was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the ticket last changed (UTC).
    pub updated_at: DateTime<Utc>,
    /// Since when it has been waiting in its queue without an agent (for queue ordering).
    pub waiting_since: Option<DateTime<Utc>>,
    /// When an agent first replied to the customer; `None` until then (bot and system replies do
    /// not count). Stops the first-response SLA clock.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Agent who sent the first reply; `None` until an agent replies.
    #[serde(default)]
    pub first_response_by: Option<AgentId>,
    /// Queue the ticket was in at the first reply.
    #[serde(default)]
    pub first_response_queue_id: Option<QueueId>,
    /// When the customer last wrote in this ticket; `None` for a ticket opened by an agent before
    /// the customer wrote.
    pub last_customer_message_at: Option<DateTime<Utc>>,
    /// When an agent last replied to the customer; `None` until an agent replies.
    pub last_agent_reply_at: Option<DateTime<Utc>>,
    /// When it was (last) resolved; `None` while not resolved (reopening clears it).
    pub resolved_at: Option<DateTime<Utc>>,
    /// Agent who (last) resolved it (`None` when the system or a bot did).
    #[serde(default)]
    pub resolved_by: Option<AgentId>,
    /// Queue it was in when (last) resolved.
    #[serde(default)]
    pub resolved_queue_id: Option<QueueId>,
    /// When it was (last) closed; `None` while not closed (reopening clears it).
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
