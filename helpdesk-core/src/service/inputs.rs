//! Inputs of the service's workflows.

use crate::domain::board::Stage;
use crate::domain::catalogue::Catalogue;
use crate::domain::party::ChannelKind;
use crate::domain::team::{AutoReplies, Distribution, Presence, Role};
use crate::domain::ticket::{Money, Priority, TicketStatus};
use crate::domain::tracking::{SourceType, Tracking};
use crate::ids::*;
use crate::sla::CalendarSpec;
use crate::store::query::{AssigneeFilter, DateRange, DateRangePreset, TicketSummary};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A new organization.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    /// Name.
    pub name: String,
    /// Time zone (date presets, reports).
    pub timezone: Tz,
    /// Phone region ISO code (`BR`).
    pub phone_region: String,
    /// First ticket number (default 1).
    pub first_ticket_number: u64,
    /// Catalogue (default: the seed's table).
    pub catalogue: Option<Catalogue>,
}

impl NewOrganization {
    /// An organization in São Paulo time with Brazilian phone numbers, numbering from 1.
    pub fn brazil(name: impl Into<String>) -> NewOrganization {
        NewOrganization {
            name: name.into(),
            timezone: chrono_tz::America::Sao_Paulo,
            phone_region: "BR".into(),
            first_ticket_number: 1,
            catalogue: None,
        }
    }
}

/// A new inbox.
#[derive(Debug, Clone)]
pub struct NewChannelAccount {
    /// Kind.
    pub kind: ChannelKind,
    /// The channel's id (WhatsApp `phone_number_id`).
    pub external_id: String,
    /// Display name.
    pub name: String,
    /// Queue new conversations go to.
    pub default_queue_id: Option<QueueId>,
}

/// A new queue. [`NewQueue::new`] takes what is required (the name) and gives the rest the
/// documented defaults; set a field to change one:
/// `NewQueue { distribution: Distribution::LeastBusy, ..NewQueue::new("Financeiro") }`.
#[derive(Debug, Clone)]
pub struct NewQueue {
    /// Name.
    pub name: String,
    /// `#rrggbb`.
    pub color: Option<String>,
    /// Business hours; `None` = always open.
    pub business_hours: Option<CalendarSpec>,
    /// Auto-replies (variables: `customer_name`, `ticket_number`, `queue_name`).
    pub auto_replies: AutoReplies,
    /// Strategy.
    pub distribution: Distribution,
    /// What a customer's message to a resolved ticket does (default: reopen it).
    pub reopen: crate::domain::team::Reopen,
}

impl NewQueue {
    /// A queue named `name`: always open (no business hours), no auto-replies, round robin,
    /// a customer's message reopens a resolved ticket, no color.
    pub fn new(name: impl Into<String>) -> NewQueue {
        NewQueue {
            name: name.into(),
            color: None,
            business_hours: None,
            auto_replies: AutoReplies::default(),
            distribution: Distribution::default(),
            reopen: crate::domain::team::Reopen::default(),
        }
    }
}

/// A new agent.
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Most open tickets at once.
    pub capacity: u32,
    /// Initial presence.
    pub presence: Presence,
}

/// The lead part of a new ticket (the PRD's `lead`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LeadInput {
    /// Name.
    pub name: Option<String>,
    /// Phone in any common format.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// CPF / CNPJ.
    pub document: Option<String>,
    /// WhatsApp user id.
    pub whatsapp_id: Option<String>,
    /// The opaque id of a web-chat visitor or an integrator's own user.
    #[serde(default)]
    pub visitor_id: Option<String>,
}

impl LeadInput {
    /// A lead known by phone (any common format; national numbers use the organization's
    /// region).
    pub fn phone(phone: impl Into<String>) -> LeadInput {
        LeadInput {
            phone: Some(phone.into()),
            ..LeadInput::default()
        }
    }

    /// A lead known by e-mail.
    pub fn email(email: impl Into<String>) -> LeadInput {
        LeadInput {
            email: Some(email.into()),
            ..LeadInput::default()
        }
    }

    /// A lead known by the opaque id of a web-chat visitor or an integrator's own user.
    pub fn visitor(id: impl Into<String>) -> LeadInput {
        LeadInput {
            visitor_id: Some(id.into()),
            ..LeadInput::default()
        }
    }

    /// This lead, with a name.
    pub fn named(mut self, name: impl Into<String>) -> LeadInput {
        self.name = Some(name.into());
        self
    }
}

/// A new ticket (the PRD's `POST /tickets` flow).
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// Lead: found by phone or e-mail, created when unknown.
    pub lead: LeadInput,
    /// Inbox (default: the organization's first).
    pub channel_account_id: Option<ChannelAccountId>,
    /// Queue (default: the inbox's default queue).
    pub queue_id: Option<QueueId>,
    /// Stage (default: the first stage).
    pub stage_id: Option<StageId>,
    /// Assignee.
    pub assignee_id: Option<AgentId>,
    /// Priority.
    pub priority: Option<Priority>,
    /// Subject.
    pub subject: Option<String>,
    /// Deal value.
    pub deal_value: Option<Money>,
    /// Attribution.
    pub tracking: Tracking,
    /// Category.
    pub category_id: Option<CategoryId>,
    /// Skills required of the assignee.
    pub required_skills: Vec<String>,
}

impl NewTicket {
    /// A ticket for `lead` (found by WhatsApp id, phone or e-mail, created when unknown), with
    /// everything else chosen by the desk's rules: the organization's first inbox, that
    /// inbox's queue, the first stage, no assignee (the queue distributes), medium priority.
    /// Set a field to choose it: `NewTicket { priority: Some(Priority::High),
    /// ..NewTicket::new(lead) }`.
    pub fn new(lead: LeadInput) -> NewTicket {
        NewTicket {
            lead,
            channel_account_id: None,
            queue_id: None,
            stage_id: None,
            assignee_id: None,
            priority: None,
            subject: None,
            deal_value: None,
            tracking: Tracking::default(),
            category_id: None,
            required_skills: Vec::new(),
        }
    }
}

/// Changes to a ticket (the PRD's `PATCH`). `None` = unchanged.
#[derive(Debug, Clone, Default)]
pub struct TicketPatch {
    /// Stage.
    pub stage_id: Option<StageId>,
    /// Priority.
    pub priority: Option<Priority>,
    /// Deal value (`Some(None)` clears it).
    pub deal_value: Option<Option<Money>>,
    /// Subject (`Some(None)` clears it).
    pub subject: Option<Option<String>>,
    /// Category (`Some(None)` clears it).
    pub category_id: Option<Option<CategoryId>>,
    /// External CRM protocol.
    pub external_protocol: Option<String>,
    /// Skills required of the assignee.
    pub required_skills: Option<Vec<String>>,
}

/// Changes to a contact. `None` = unchanged.
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    /// Name.
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// CPF / CNPJ.
    pub document: Option<String>,
    /// VIP flag.
    pub vip: Option<bool>,
    /// Attributes to set (an empty value removes the key).
    pub attributes: BTreeMap<String, String>,
}

/// A period: a PRD preset, local calendar days, or an explicit range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFilter {
    /// A preset resolved in the organization's zone.
    Preset(DateRangePreset),
    /// Local calendar days in the organization's zone, both included (`from` 00:00 to the
    /// end of `to`).
    Days {
        /// First day.
        from: chrono::NaiveDate,
        /// Last day (included).
        to: chrono::NaiveDate,
    },
    /// An explicit UTC range.
    Range(DateRange),
}

impl DateFilter {
    /// The UTC range at `now`, days cut in `tz`.
    pub fn resolve(self, now: chrono::DateTime<chrono::Utc>, tz: Tz) -> DateRange {
        use crate::store::query::local_midnight;
        match self {
            DateFilter::Preset(p) => p.resolve(now, tz),
            DateFilter::Days { from, to } => DateRange {
                from: local_midnight(from, tz),
                to: local_midnight(to.succ_opt().unwrap_or(to), tz),
            },
            DateFilter::Range(r) => r,
        }
    }
}

/// A reporting request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRequest {
    /// The period (a preset is resolved in the organization's zone).
    pub date: DateFilter,
    /// Only this queue.
    pub queue_id: Option<QueueId>,
}

/// A listing request (the PRD's query parameters plus status, priority, queue, assignee).
#[derive(Debug, Clone, Default)]
pub struct ListTickets {
    /// Free search.
    pub q: Option<String>,
    /// Creation date.
    pub date: Option<DateFilter>,
    /// Stage.
    pub stage_id: Option<StageId>,
    /// `utm_source`.
    pub origin: Option<String>,
    /// Paid / organic.
    pub source: Option<SourceType>,
    /// Has sales.
    pub has_sales: Option<bool>,
    /// Statuses.
    pub statuses: Vec<TicketStatus>,
    /// Priority.
    pub priority: Option<Priority>,
    /// Queue.
    pub queue_id: Option<QueueId>,
    /// Assignee.
    pub assignee: Option<AssigneeFilter>,
    /// Only tickets with a click id of this kind.
    pub click_id: Option<crate::domain::tracking::ClickIdKind>,
    /// Opaque cursor from a previous page.
    pub cursor: Option<String>,
    /// Page size (default 20, at most 100).
    pub page_size: Option<u32>,
    /// Count matching tickets up to this many (default
    /// [`DEFAULT_COUNT_LIMIT`](crate::store::query::DEFAULT_COUNT_LIMIT), at most
    /// [`MAX_COUNT`](crate::store::query::MAX_COUNT)).
    pub count_limit: Option<u32>,
}

/// A Kanban column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardColumn {
    /// The stage.
    pub stage: Stage,
    /// Its tickets (newest first, at most 100).
    pub tickets: Vec<TicketSummary>,
    /// How many tickets the stage holds in all (counted up to
    /// [`DEFAULT_COUNT_LIMIT`](crate::store::query::DEFAULT_COUNT_LIMIT)).
    pub total: u64,
    /// `false` when the stage holds more than `total`.
    pub total_exact: bool,
}

/// Changes to a queue; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct QueueChanges {
    /// Name.
    pub name: Option<String>,
    /// `#rrggbb`, or `Some(None)` to clear it.
    pub color: Option<Option<String>>,
    /// Business hours, or `Some(None)` for always open.
    pub business_hours: Option<Option<CalendarSpec>>,
    /// Auto-replies (replaced as a whole).
    pub auto_replies: Option<AutoReplies>,
    /// Strategy.
    pub distribution: Option<Distribution>,
    /// SLA policy, or `Some(None)` for the organization's default.
    pub sla_policy_id: Option<Option<SlaPolicyId>>,
    /// What a customer's message to a resolved ticket does.
    pub reopen: Option<crate::domain::team::Reopen>,
}

/// Changes to an agent; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AgentChanges {
    /// Name.
    pub name: Option<String>,
    /// Role.
    pub role: Option<crate::domain::team::Role>,
    /// Open tickets it may hold (1 to 1000). Lowering it below the current load assigns
    /// nothing more until the load drops; no ticket is taken away.
    pub capacity: Option<u32>,
    /// `false` deactivates the agent: offline, never assigned again, its tickets stay with it
    /// until someone reassigns them.
    pub active: Option<bool>,
}

/// Changes to a stage; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct StageChanges {
    /// Name.
    pub name: Option<String>,
    /// `#rrggbb`.
    pub color: Option<String>,
    /// Board position.
    pub position: Option<i32>,
}

/// Changes to a canned response; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CannedChanges {
    /// Shortcut (normalized like on creation).
    pub shortcut: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Body.
    pub body: Option<String>,
    /// Category, or `Some(None)` to clear it.
    pub category: Option<Option<String>>,
}
