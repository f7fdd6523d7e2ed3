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

/// A tenant to create with [`Helpdesk::create_organization`](super::Helpdesk::create_organization);
/// [`NewOrganization::brazil`] fills the usual Brazilian settings.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    /// The tenant's display name, trimmed; empty or longer than 120 characters is
    /// [`Error::Invalid`](crate::Error::Invalid).
    pub name: String,
    /// The zone local days are cut in: date presets, [`DateFilter::Days`], and the reports'
    /// per-day volume and peak hours.
    pub timezone: Tz,
    /// ISO code of the region (`BR`) that phone numbers written without a country code belong
    /// to; an unknown region is [`Error::Invalid`](crate::Error::Invalid) listing the known ones.
    pub phone_region: String,
    /// The number the tenant's first ticket gets; later tickets count up by one without gaps
    /// (0 is taken as 1).
    pub first_ticket_number: u64,
    /// The setor × motivo catalogue tickets are classified against; `None` gives
    /// [`Catalogue::default`], our users' CRM table.
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

/// An inbox to register with
/// [`Helpdesk::add_channel_account`](super::Helpdesk::add_channel_account): one number or
/// address of a channel, through which customers write and replies go out.
#[derive(Debug, Clone)]
pub struct NewChannelAccount {
    /// The channel it runs on, which picks the adapter that sends its messages.
    pub kind: ChannelKind,
    /// The channel's own id of the inbox (WhatsApp `phone_number_id`, an e-mail address), by
    /// which inbound traffic finds its tenant. Trimmed; empty is
    /// [`Error::Invalid`](crate::Error::Invalid), and one already registered for the same kind,
    /// in any tenant, is [`Error::AlreadyExists`](crate::Error::AlreadyExists).
    pub external_id: String,
    /// Display name shown to agents, trimmed, 1 to 120 characters.
    pub name: String,
    /// The queue that tickets opened on this inbox go to when no queue is given (it must
    /// exist); `None` leaves them unqueued. While set, the queue cannot be deleted.
    pub default_queue_id: Option<QueueId>,
}

/// A new queue. [`NewQueue::new`] takes what is required (the name) and gives the rest the
/// documented defaults; set a field to change one:
/// `NewQueue { distribution: Distribution::LeastBusy, ..NewQueue::new("Financeiro") }`.
#[derive(Debug, Clone)]
pub struct NewQueue {
    /// Display name, trimmed, 1 to 120 characters, unique in the tenant ignoring case
    /// ([`Error::AlreadyExists`](crate::Error::AlreadyExists) otherwise).
    pub name: String,
    /// Color of the queue's badge as `#rrggbb` (stored lower case); `None` for no color.
    pub color: Option<String>,
    /// When the queue is open: outside these hours a new ticket gets the out-of-hours reply
    /// instead of the greeting. `None` = always open. A calendar without any open hour is
    /// [`Error::NoBusinessTime`](crate::Error::NoBusinessTime). SLA clocks follow the SLA
    /// policy's hours, not these.
    pub business_hours: Option<CalendarSpec>,
    /// Messages sent by the queue itself when a ticket arrives (greeting, out of hours, no
    /// agent). They may use only `{{customer_name}}`, `{{ticket_number}}` and
    /// `{{queue_name}}`, and may not be blank; otherwise [`Error::Invalid`](crate::Error::Invalid).
    pub auto_replies: AutoReplies,
    /// How new tickets are handed to the queue's agents: round robin (the default), least
    /// busy, or manual (nobody is assigned automatically).
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

/// An agent to create with [`Helpdesk::create_agent`](super::Helpdesk::create_agent): a person
/// who works tickets. The agent starts active, with no tickets, in no queue
/// ([`Helpdesk::add_queue_member`](super::Helpdesk::add_queue_member) adds them to one).
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// Display name (`{{agent_name}}` in canned responses), trimmed, 1 to 120 characters.
    pub name: String,
    /// The agent's e-mail, normalized; a malformed one is
    /// [`Error::Invalid`](crate::Error::Invalid), one another agent of the tenant has is
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists).
    pub email: String,
    /// What the agent may do: agent, supervisor or admin (see [`crate::actor`]).
    pub role: Role,
    /// How many live tickets (new, open, pending) the agent may hold at once, 1 to 1000
    /// ([`Error::Invalid`](crate::Error::Invalid) otherwise); assignments beyond it are refused.
    pub capacity: u32,
    /// The presence the agent starts with; only online agents get tickets from automatic
    /// assignment.
    pub presence: Presence,
}

/// Who a new ticket is about: the customer's details, as in the `lead` object of the REST
/// API's create body. At least a phone, an e-mail, a WhatsApp id or a visitor id is needed
/// ([`Error::Invalid`](crate::Error::Invalid) on `lead` otherwise). The contact is looked up by
/// visitor id, WhatsApp id, phone, then e-mail (the first key that finds one wins) and
/// created when none does; a found contact gets the fields it lacked, never overwritten.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LeadInput {
    /// The customer's name, trimmed and cut to 120 characters; blank counts as none. Not a
    /// lookup key.
    pub name: Option<String>,
    /// Phone in any common format; a national number is read in the organization's phone
    /// region. Matched ninth-digit aware; an unreadable one is
    /// [`Error::Invalid`](crate::Error::Invalid) on `lead.phone`.
    pub phone: Option<String>,
    /// E-mail, normalized; a malformed one is [`Error::Invalid`](crate::Error::Invalid) on
    /// `lead.email`.
    pub email: Option<String>,
    /// CPF or CNPJ, with or without punctuation; check digits are verified
    /// ([`Error::Invalid`](crate::Error::Invalid) on `lead.document`). Stored on the contact,
    /// never used to look it up.
    pub document: Option<String>,
    /// The customer's WhatsApp user id (`wa_id`); blank counts as none.
    pub whatsapp_id: Option<String>,
    /// The opaque id of a web-chat visitor or an integrator's own user, at most 200
    /// characters and no NUL ([`Error::Invalid`](crate::Error::Invalid) on `lead.visitor_id`);
    /// blank counts as none.
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

/// A ticket to open with [`Helpdesk::create_ticket`](super::Helpdesk::create_ticket) (what
/// the REST API's create body becomes). Every id given must exist in the tenant
/// ([`Error::NotFound`](crate::Error::NotFound) otherwise).
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// The customer the ticket is about: found by visitor id, WhatsApp id, phone or e-mail,
    /// created when unknown (see [`LeadInput`]).
    pub lead: LeadInput,
    /// The inbox the ticket's conversation runs on, through which replies go out; `None`
    /// takes the organization's first inbox ([`Error::Invalid`](crate::Error::Invalid) when it
    /// has none).
    pub channel_account_id: Option<ChannelAccountId>,
    /// The queue that works the ticket; `None` takes the inbox's default queue, and leaves the
    /// ticket unqueued when the inbox has none.
    pub queue_id: Option<QueueId>,
    /// The Kanban stage; `None` takes the first one (the default stages are created when the
    /// tenant has none).
    pub stage_id: Option<StageId>,
    /// The agent to assign at once; the actor must be allowed to assign them
    /// ([`Error::Forbidden`](crate::Error::Forbidden)), and they must be active, a member of the
    /// ticket's queue and below capacity ([`Error::Invalid`](crate::Error::Invalid)). `None`
    /// lets the queue's strategy pick.
    pub assignee_id: Option<AgentId>,
    /// How urgent the ticket is (routing order and SLA targets); `None` = medium.
    pub priority: Option<Priority>,
    /// A short summary for lists, trimmed; blank counts as none, more than 250 characters is
    /// [`Error::Invalid`](crate::Error::Invalid).
    pub subject: Option<String>,
    /// The expected value of the deal the conversation may close (reports add it up per
    /// campaign); `None` when there is none.
    pub deal_value: Option<Money>,
    /// Marketing attribution: UTM fields, ad click ids, ad referral; the default is none (an
    /// organic ticket).
    pub tracking: Tracking,
    /// The ticket's category (the tenant's own taxonomy, apart from setor × motivo); `None`
    /// for none.
    pub category_id: Option<CategoryId>,
    /// Skills (trimmed, lower case, blanks dropped) an agent needs in the ticket's queue to
    /// get it from automatic assignment; manual assignment does not check them.
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

/// Changes to a ticket's working fields, applied by
/// [`Helpdesk::update_ticket`](super::Helpdesk::update_ticket) (what the REST API's ticket
/// `PATCH` body becomes, assignment aside). `None` leaves a field unchanged; a patch that
/// changes nothing emits nothing.
#[derive(Debug, Clone, Default)]
pub struct TicketPatch {
    /// Moves the ticket to this Kanban stage ([`Error::NotFound`](crate::Error::NotFound) when
    /// the tenant has no such stage).
    pub stage_id: Option<StageId>,
    /// The new priority; a change moves the SLA clocks to the new priority's targets.
    pub priority: Option<Priority>,
    /// The expected value of the deal (`Some(None)` clears it).
    pub deal_value: Option<Option<Money>>,
    /// The summary shown in lists, trimmed; `Some(None)` or blank clears it, more than 250
    /// characters is [`Error::Invalid`](crate::Error::Invalid).
    pub subject: Option<Option<String>>,
    /// The ticket's category, which must exist (`Some(None)` clears it).
    pub category_id: Option<Option<CategoryId>>,
    /// The protocol number an external CRM gave the ticket, trimmed, 1 to 64 characters
    /// ([`Error::Invalid`](crate::Error::Invalid) otherwise); it cannot be cleared.
    pub external_protocol: Option<String>,
    /// Replaces the skills automatic assignment requires of the assignee (trimmed, lower
    /// case, blanks dropped; an empty list requires none).
    pub required_skills: Option<Vec<String>>,
}

/// Changes to a customer's contact, applied by
/// [`Helpdesk::update_contact`](super::Helpdesk::update_contact). `None` leaves a field
/// unchanged; name, e-mail and document can be replaced but not cleared.
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    /// The customer's name, trimmed, 1 to 120 characters.
    pub name: Option<String>,
    /// The customer's e-mail, normalized; a malformed one is
    /// [`Error::Invalid`](crate::Error::Invalid).
    pub email: Option<String>,
    /// CPF or CNPJ, with or without punctuation; a wrong check digit is
    /// [`Error::Invalid`](crate::Error::Invalid) on `document`.
    pub document: Option<String>,
    /// Whether the customer is a VIP: among waiting tickets of the same priority, a VIP's go
    /// first.
    pub vip: Option<bool>,
    /// Free attributes to set, key by key (an empty value removes the key); keys not named
    /// are kept.
    pub attributes: BTreeMap<String, String>,
}

/// A period for ticket lists and reports: a preset of the lists' date filter (today, last 7
/// days…), local calendar days, or an explicit UTC range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFilter {
    /// A preset resolved in the organization's zone.
    Preset(DateRangePreset),
    /// Local calendar days in the organization's zone, both included (`from` 00:00 to the
    /// end of `to`).
    Days {
        /// The first day of the period, in the organization's zone.
        from: chrono::NaiveDate,
        /// Last day (included).
        to: chrono::NaiveDate,
    },
    /// An explicit UTC range, `from` included and `to` excluded.
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

/// What a report covers, for [`Helpdesk::report`](super::Helpdesk::report): a period, and
/// optionally one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRequest {
    /// The period (a preset is resolved in the organization's zone); one that ends before it
    /// starts is [`Error::Invalid`](crate::Error::Invalid).
    pub date: DateFilter,
    /// Only the work and tickets of this queue; `None` for every queue.
    pub queue_id: Option<QueueId>,
}

/// The filters and paging of a ticket list
/// ([`Helpdesk::list_tickets`](super::Helpdesk::list_tickets),
/// [`Helpdesk::inbounds`](super::Helpdesk::inbounds)), as the REST API's ticket list takes
/// them in its query string. A ticket must match every filter given (`None` or empty = no
/// filter), among the tickets the actor may see.
#[derive(Debug, Clone, Default)]
pub struct ListTickets {
    /// Free search over the lead's name, phone and e-mail, the ticket number (`1001` or
    /// `#1001`) and the assignee's name; case- and accent-insensitive, blank = none.
    pub q: Option<String>,
    /// Only tickets created in this period.
    pub date: Option<DateFilter>,
    /// Only tickets in this Kanban stage.
    pub stage_id: Option<StageId>,
    /// Only tickets whose `utm_source` is this (the lists' "origin"), ignoring case.
    pub origin: Option<String>,
    /// Only paid or only organic tickets, by their effective source.
    pub source: Option<SourceType>,
    /// Only tickets with (`true`) or without (`false`) a recorded sale.
    pub has_sales: Option<bool>,
    /// Only tickets in any of these statuses; empty = every status.
    pub statuses: Vec<TicketStatus>,
    /// Only tickets of this priority.
    pub priority: Option<Priority>,
    /// Only tickets in this queue.
    pub queue_id: Option<QueueId>,
    /// Only tickets held by this agent, or only unassigned ones.
    pub assignee: Option<AssigneeFilter>,
    /// Only tickets with a click id of this kind.
    pub click_id: Option<crate::domain::tracking::ClickIdKind>,
    /// Where to continue: the previous page's `next_cursor`; `None` for the first page. Any
    /// other string is [`Error::Invalid`](crate::Error::Invalid).
    pub cursor: Option<String>,
    /// Page size (default 20, at most 100; more is [`Error::Invalid`](crate::Error::Invalid)).
    pub page_size: Option<u32>,
    /// Count matching tickets up to this many (default
    /// [`DEFAULT_COUNT_LIMIT`](crate::store::query::DEFAULT_COUNT_LIMIT), at most
    /// [`MAX_COUNT`](crate::store::query::MAX_COUNT)).
    pub count_limit: Option<u32>,
}

/// One column of the Kanban board ([`Helpdesk::board`](super::Helpdesk::board)): a stage and
/// the live tickets in it that the actor may see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardColumn {
    /// The stage the column shows, as stored (name, color, position).
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
    /// New display name, trimmed, 1 to 120 characters, unique in the tenant ignoring case
    /// ([`Error::AlreadyExists`](crate::Error::AlreadyExists) otherwise).
    pub name: Option<String>,
    /// `#rrggbb`, or `Some(None)` to clear it.
    pub color: Option<Option<String>>,
    /// Business hours, or `Some(None)` for always open.
    pub business_hours: Option<Option<CalendarSpec>>,
    /// Auto-replies (replaced as a whole), checked as on creation: known variables only, no
    /// blank text.
    pub auto_replies: Option<AutoReplies>,
    /// How the queue hands new tickets to its agents (round robin, least busy, manual).
    pub distribution: Option<Distribution>,
    /// SLA policy of the queue's tickets, which must exist, or `Some(None)` for the
    /// organization's default. Tickets already in the queue keep theirs until transferred or
    /// reprioritized.
    pub sla_policy_id: Option<Option<SlaPolicyId>>,
    /// What a customer's message to a resolved ticket does (a window of 1 to 525,600 minutes).
    pub reopen: Option<crate::domain::team::Reopen>,
}

/// Changes to an agent; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AgentChanges {
    /// New display name, trimmed, 1 to 120 characters.
    pub name: Option<String>,
    /// New role; an agent cannot change its own ([`Error::Invalid`](crate::Error::Invalid)).
    pub role: Option<crate::domain::team::Role>,
    /// Open tickets it may hold (1 to 1000). Lowering it below the current load assigns
    /// nothing more until the load drops; no ticket is taken away.
    pub capacity: Option<u32>,
    /// `false` deactivates the agent: offline, never assigned again, its tickets stay with it
    /// until someone reassigns them; an agent cannot deactivate itself. `true` reactivates.
    pub active: Option<bool>,
}

/// Changes to a stage; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct StageChanges {
    /// New column title, trimmed, 1 to 120 characters, unique in the tenant ignoring case
    /// ([`Error::AlreadyExists`](crate::Error::AlreadyExists) otherwise).
    pub name: Option<String>,
    /// New column color as `#rrggbb`.
    pub color: Option<String>,
    /// New place on the board: columns are shown in ascending position.
    pub position: Option<i32>,
}

/// Changes to a canned response; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CannedChanges {
    /// New shortcut agents type (`/thanks`), normalized as on creation; one another canned
    /// response has is [`Error::AlreadyExists`](crate::Error::AlreadyExists).
    pub shortcut: Option<String>,
    /// New title shown in pickers, trimmed, 1 to 120 characters.
    pub title: Option<String>,
    /// New text sent to the customer, with `{{variable}}` placeholders; blank is
    /// [`Error::Invalid`](crate::Error::Invalid).
    pub body: Option<String>,
    /// The label grouping it in pickers, or `Some(None)` to clear it.
    pub category: Option<Option<String>>,
}
