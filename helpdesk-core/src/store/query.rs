//! Ticket listing: filters (those of our users' ticket lists, plus status, priority, queue and
//! assignee), keyset pagination with an opaque cursor, and facets. The matching rules live
//! here so every store implements the same semantics ([`TicketQuery::matches`] is the
//! reference).

use crate::domain::board::Stage;
use crate::domain::phone::PhoneNumber;
use crate::domain::text::fold;
use crate::domain::ticket::{Priority, Ticket, TicketStatus};
use crate::domain::tracking::SourceType;
use crate::ids::*;
use crate::{Error, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Largest page a listing may ask for ([`TicketQuery::limit`]); larger is [`Error::Invalid`].
pub const MAX_PAGE_SIZE: u32 = 100;
/// Page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// Listing totals are exact up to a count limit (this one unless the caller asks for another);
/// beyond, a page says "at least this many" ([`TicketPage::total_exact`] is false). Counting a
/// million rows for every page would cost far more than the page itself.
pub const DEFAULT_COUNT_LIMIT: u32 = 1_000;
/// The largest count limit a caller may ask for.
pub const MAX_COUNT: u32 = 100_000;

/// A half-open UTC range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    /// First instant in the range (inclusive).
    pub from: DateTime<Utc>,
    /// First instant after the range (exclusive).
    pub to: DateTime<Utc>,
}

/// Date range presets of our users' ticket lists, resolved in the organization's time zone
/// by [`DateRangePreset::resolve`]; every range ends at a local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DateRangePreset {
    /// Today: from local midnight to the next one.
    #[serde(rename = "today")]
    Today,
    /// The previous local day, midnight to midnight.
    #[serde(rename = "yesterday")]
    Yesterday,
    /// Today and the 6 days before.
    #[serde(rename = "7d")]
    Last7Days,
    /// Today and the 29 days before.
    #[serde(rename = "30d")]
    Last30Days,
    /// Today and the 89 days before.
    #[serde(rename = "90d")]
    Last90Days,
    /// Since the 1st of this month.
    #[serde(rename = "thisMonth")]
    ThisMonth,
    /// The previous calendar month, from its 1st to the 1st of this month.
    #[serde(rename = "lastMonth")]
    LastMonth,
    /// Since 1 January.
    #[serde(rename = "thisYear")]
    ThisYear,
}

impl DateRangePreset {
    /// Every preset with its wire name.
    pub const ALL: [(&'static str, DateRangePreset); 8] = [
        ("today", Self::Today),
        ("yesterday", Self::Yesterday),
        ("7d", Self::Last7Days),
        ("30d", Self::Last30Days),
        ("90d", Self::Last90Days),
        ("thisMonth", Self::ThisMonth),
        ("lastMonth", Self::LastMonth),
        ("thisYear", Self::ThisYear),
    ];

    /// Parses a wire name (`7d`, `thisMonth`…).
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s.trim()))
            .map(|(_, p)| *p)
            .ok_or_else(|| {
                Error::invalid_with(
                    "dateRange",
                    format!("unknown preset {s:?}"),
                    Self::ALL.map(|(n, _)| n),
                )
            })
    }

    /// The UTC range of this preset at `now`, with days cut in `tz`.
    pub fn resolve(self, now: DateTime<Utc>, tz: Tz) -> DateRange {
        let today = now.with_timezone(&tz).date_naive();
        let start = |d: NaiveDate| local_midnight(d, tz);
        let tomorrow = today + Duration::days(1);
        let first_of_month = today.with_day(1).unwrap_or(today);
        let (from, to) = match self {
            Self::Today => (today, tomorrow),
            Self::Yesterday => (today - Duration::days(1), today),
            Self::Last7Days => (today - Duration::days(6), tomorrow),
            Self::Last30Days => (today - Duration::days(29), tomorrow),
            Self::Last90Days => (today - Duration::days(89), tomorrow),
            Self::ThisMonth => (first_of_month, tomorrow),
            Self::LastMonth => {
                let prev = (first_of_month - Duration::days(1))
                    .with_day(1)
                    .unwrap_or(first_of_month);
                (prev, first_of_month)
            }
            Self::ThisYear => (today.with_ordinal(1).unwrap_or(today), tomorrow),
        };
        DateRange {
            from: start(from),
            to: start(to),
        }
    }
}

/// The first instant of local date `d` in `tz` (a day starting in a DST gap starts at the
/// first existing instant).
pub fn local_midnight(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let naive = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    for h in 0..3 {
        if let Some(t) = tz
            .from_local_datetime(&(naive + Duration::hours(h)))
            .earliest()
        {
            return t.with_timezone(&Utc);
        }
    }
    Utc.from_utc_datetime(&naive)
}

/// Filters tickets by who holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AssigneeFilter {
    /// Only tickets assigned to this agent.
    Agent(AgentId),
    /// Only tickets nobody is assigned to.
    Unassigned,
}

/// Which tickets the caller may see (set by the service from the actor, not by callers).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Visibility {
    /// `None` = every ticket of the tenant; otherwise tickets of these queues…
    pub queues: Option<Vec<QueueId>>,
    /// …or assigned to this agent…
    pub assignee: Option<AgentId>,
    /// …or (supervisors) with no queue.
    pub include_unqueued: bool,
    /// Only this contact's tickets (customers).
    pub contact: Option<ContactId>,
}

/// Position after which the next page starts. Opaque to API users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Creation instant of the last item returned.
    pub created_at: DateTime<Utc>,
    /// Id of the last item returned, breaking ties between equal creation instants.
    pub id: TicketId,
}

impl Cursor {
    /// The cursor after `t`.
    pub fn after(t: &Ticket) -> Cursor {
        Cursor {
            created_at: t.created_at,
            id: t.id,
        }
    }

    /// The opaque text form handed to API users (hex); [`Cursor::decode`] reads it back.
    pub fn encode(&self) -> String {
        let raw = format!(
            "{}:{}:{}",
            self.created_at.timestamp(),
            self.created_at.timestamp_subsec_nanos(),
            self.id
        );
        raw.bytes().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses the opaque text form of [`Cursor::encode`]; anything else is [`Error::Invalid`].
    pub fn decode(s: &str) -> Result<Cursor> {
        let bad = || Error::invalid("cursor", "not a cursor returned by this API");
        if !s.len().is_multiple_of(2) || s.len() > 256 {
            return Err(bad());
        }
        let bytes: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad())?;
        let raw = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut it = raw.splitn(3, ':');
        let secs: i64 = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
        let nanos: u32 = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
        let id: TicketId = it.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let created_at = DateTime::<Utc>::from_timestamp(secs, nanos).ok_or_else(bad)?;
        Ok(Cursor { created_at, id })
    }
}

/// A listing request. Order: newest first (`created_at` desc, then id desc).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicketQuery {
    /// Free search over lead name, phone, e-mail, ticket number (`1001` or `#1001`) and
    /// assignee name; case- and accent-insensitive.
    pub q: Option<String>,
    /// Only tickets created in this range; `None` for any time.
    pub created: Option<DateRange>,
    /// Only tickets in this Kanban stage; `None` for any stage.
    pub stage_id: Option<StageId>,
    /// `utm_source` of the ticket (the lists' "origin" filter), case-insensitive.
    pub origin: Option<String>,
    /// Only paid or only organic tickets (by their effective source type); `None` for both.
    pub source: Option<SourceType>,
    /// Only tickets with (true) or without (false) sales.
    pub has_sales: Option<bool>,
    /// Any of these statuses (empty = all).
    pub statuses: Vec<TicketStatus>,
    /// Only tickets of this priority; `None` for any.
    pub priority: Option<Priority>,
    /// Only tickets in this queue; `None` for any.
    pub queue_id: Option<QueueId>,
    /// Only tickets held by this agent, or unassigned ones; `None` for any.
    pub assignee: Option<AssigneeFilter>,
    /// Only this contact's tickets; `None` for any.
    pub contact_id: Option<ContactId>,
    /// Only tickets carrying a click id of this kind (the inbounds view).
    pub click_id: Option<crate::domain::tracking::ClickIdKind>,
    /// Which tickets the caller may see; set by the service from the actor, never by callers.
    pub visibility: Visibility,
    /// Continue after this position (the previous page's `next_cursor`); `None` for the first page.
    pub cursor: Option<Cursor>,
    /// Page size (1 to [`MAX_PAGE_SIZE`]).
    pub limit: u32,
    /// Count matching tickets up to this many (1 to [`MAX_COUNT`]; 0 = [`DEFAULT_COUNT_LIMIT`]).
    pub count_limit: u32,
}

/// A ticket with the joined data lists need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketSummary {
    /// The ticket itself.
    pub ticket: Ticket,
    /// The contact's name; `None` when unknown.
    pub lead_name: Option<String>,
    /// The contact's phone; `None` when unknown.
    pub lead_phone: Option<PhoneNumber>,
    /// The contact's e-mail; `None` when unknown.
    pub lead_email: Option<String>,
    /// Name of the ticket's assignee; `None` when unassigned.
    pub assignee_name: Option<String>,
    /// The ticket's Kanban stage; `None` when it has none.
    pub stage: Option<Stage>,
    /// Number of messages (notes included).
    pub messages_count: u64,
    /// Number of sales recorded on the ticket.
    pub sales_count: u64,
    /// Sum of the ticket's sales in minor units (mixed currencies are simply added).
    pub sales_total_minor: i64,
}

/// Distinct values for filter dropdowns, over the tickets the caller may see.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Facets {
    /// Distinct `utm_source` values, sorted.
    pub origins: Vec<String>,
    /// Distinct source types, sorted (`organic` before `paid`).
    pub sources: Vec<SourceType>,
    /// The tenant's stages in board order.
    pub stages: Vec<Stage>,
}

/// One page of a ticket listing, with its total and facets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketPage {
    /// Items, newest first.
    pub items: Vec<TicketSummary>,
    /// Cursor for the next page, when there is one.
    pub next_cursor: Option<String>,
    /// Number of tickets matching the filters (all pages), counted up to the query's count
    /// limit ([`TicketQuery::count_limit`]).
    pub total: u64,
    /// `false` when more tickets match than `total` (the count stopped at the limit).
    pub total_exact: bool,
    /// Distinct values for the filter dropdowns, over the tickets the caller may see.
    pub facets: Facets,
}

/// One row of the inbounds view: a ticket's marketing attribution (click ids and UTMs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundRow {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The ticket's per-tenant number.
    pub number: u64,
    /// The ticket's lifecycle status.
    pub status: TicketStatus,
    /// Google Ads click id (`gclid`); `None` when the ticket has none.
    pub gclid: Option<String>,
    /// Meta ad click id (`fbclid`); `None` when the ticket has none.
    pub fbclid: Option<String>,
    /// Click-to-WhatsApp ad click id (`ctwa_clid`); `None` when the ticket has none.
    pub ctwa_clid: Option<String>,
    /// TikTok Ads click id (`ttclid`); `None` when the ticket has none.
    pub ttclid: Option<String>,
    /// `utm_source`.
    pub utm_source: Option<String>,
    /// `utm_medium`.
    pub utm_medium: Option<String>,
    /// `utm_campaign`.
    pub utm_campaign: Option<String>,
    /// `utm_term`.
    pub utm_term: Option<String>,
    /// `utm_content`.
    pub utm_content: Option<String>,
    /// Paid or organic (effective).
    pub source_type: SourceType,
    /// Ad headline (Click-to-WhatsApp).
    pub ad_headline: Option<String>,
    /// The contact the ticket is about.
    pub lead_id: ContactId,
    /// The contact's name; `None` when unknown.
    pub lead_name: Option<String>,
    /// When the ticket was created (UTC).
    pub created_at: DateTime<Utc>,
}

impl From<&TicketSummary> for InboundRow {
    fn from(s: &TicketSummary) -> InboundRow {
        let t = &s.ticket;
        let click = |k: crate::domain::tracking::ClickIdKind| {
            t.tracking
                .click_ids
                .iter()
                .find(|c| c.kind == k)
                .map(|c| c.value.clone())
        };
        use crate::domain::tracking::ClickIdKind as K;
        InboundRow {
            ticket_id: t.id,
            number: t.number,
            status: t.status,
            gclid: click(K::Gclid),
            fbclid: click(K::Fbclid),
            ctwa_clid: click(K::CtwaClid),
            ttclid: click(K::Ttclid),
            utm_source: t.tracking.utm_source.clone(),
            utm_medium: t.tracking.utm_medium.clone(),
            utm_campaign: t.tracking.utm_campaign.clone(),
            utm_term: t.tracking.utm_term.clone(),
            utm_content: t.tracking.utm_content.clone(),
            source_type: t.tracking.effective_source(),
            ad_headline: t.tracking.ad_headline.clone(),
            lead_id: t.contact_id,
            lead_name: s.lead_name.clone(),
            created_at: t.created_at,
        }
    }
}

/// A page of the inbounds view (tickets with their attribution), newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundPage {
    /// Rows, newest first.
    pub items: Vec<InboundRow>,
    /// Cursor for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// Matching tickets in all pages (counted up to the count limit).
    pub total: u64,
    /// `false` when more tickets match than `total`.
    pub total_exact: bool,
}

impl TicketQuery {
    /// Validates and clamps the page size.
    pub fn normalized(mut self) -> Result<TicketQuery> {
        if self.limit == 0 {
            self.limit = DEFAULT_PAGE_SIZE;
        }
        if self.count_limit == 0 {
            self.count_limit = DEFAULT_COUNT_LIMIT;
        }
        if self.count_limit > MAX_COUNT {
            return Err(Error::invalid("countLimit", format!("at most {MAX_COUNT}")));
        }
        if self.limit > MAX_PAGE_SIZE {
            return Err(Error::invalid(
                "pageSize",
                format!("at most {MAX_PAGE_SIZE}"),
            ));
        }
        self.q = self
            .q
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty());
        self.origin = self
            .origin
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty());
        if let Some(r) = &self.created
            && r.to < r.from
        {
            return Err(Error::invalid("dateRange", "end before start"));
        }
        Ok(self)
    }

    /// Whether ticket `t` is visible to the caller under [`TicketQuery::visibility`].
    pub fn visible(&self, t: &Ticket) -> bool {
        let v = &self.visibility;
        if v.contact.is_some_and(|c| c != t.contact_id) {
            return false;
        }
        match &v.queues {
            None => true,
            Some(qs) => {
                t.queue_id.is_some_and(|q| qs.contains(&q))
                    || (v.assignee.is_some() && t.assignee_id == v.assignee)
                    || (v.include_unqueued && t.queue_id.is_none())
            }
        }
    }

    /// Whether free text `q` matches the summary: its ticket number (`1001`, `#1001`), or the
    /// lead's name, phone or e-mail or the assignee's name, ignoring case and accents.
    pub fn matches_q(q: &str, s: &TicketSummary) -> bool {
        let num = q.trim_start_matches('#');
        if !num.is_empty()
            && num.bytes().all(|b| b.is_ascii_digit())
            && num.parse::<u64>().ok() == Some(s.ticket.number)
        {
            return true;
        }
        let fq = fold(q);
        let name_hit = |n: &Option<String>| n.as_deref().is_some_and(|n| fold(n).contains(&fq));
        if name_hit(&s.lead_name) || name_hit(&s.assignee_name) {
            return true;
        }
        if s.lead_email
            .as_deref()
            .is_some_and(|e| e.contains(&q.to_lowercase()))
        {
            return true;
        }
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        let phone_like = digits.len() >= 3
            && q.chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        phone_like
            && s.lead_phone
                .as_ref()
                .is_some_and(|p| p.digits().contains(&digits))
    }

    /// The reference semantics of every filter but the cursor.
    pub fn matches(&self, s: &TicketSummary) -> bool {
        let t = &s.ticket;
        self.visible(t)
            && self
                .created
                .is_none_or(|r| r.from <= t.created_at && t.created_at < r.to)
            && self.stage_id.is_none_or(|x| t.stage_id == Some(x))
            && self.origin.as_ref().is_none_or(|o| {
                t.tracking
                    .utm_source
                    .as_ref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(o))
            })
            && self
                .source
                .is_none_or(|x| t.tracking.effective_source() == x)
            && self.has_sales.is_none_or(|h| (s.sales_count > 0) == h)
            && (self.statuses.is_empty() || self.statuses.contains(&t.status))
            && self.priority.is_none_or(|p| t.priority == p)
            && self.queue_id.is_none_or(|q| t.queue_id == Some(q))
            && self.contact_id.is_none_or(|c| t.contact_id == c)
            && match self.assignee {
                None => true,
                Some(AssigneeFilter::Unassigned) => t.assignee_id.is_none(),
                Some(AssigneeFilter::Agent(a)) => t.assignee_id == Some(a),
            }
            && self
                .click_id
                .is_none_or(|k| t.tracking.click_ids.iter().any(|c| c.kind == k))
            && self.q.as_deref().is_none_or(|q| Self::matches_q(q, s))
    }

    /// Whether `t` comes after the cursor in listing order.
    pub fn after_cursor(&self, t: &Ticket) -> bool {
        self.cursor
            .is_none_or(|c| (t.created_at, t.id) < (c.created_at, c.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            created_at: DateTime::<Utc>::from_timestamp(1_700_000_000, 123).unwrap(),
            id: TicketId::new(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        for bad in ["", "zz", "abc", "00", &"41".repeat(10)] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn presets_cut_days_in_the_org_zone() {
        let tz: Tz = "America/Sao_Paulo".parse().unwrap();
        // 2026-01-15 01:00Z is still the 14th in São Paulo (UTC-3).
        let now = DateTime::parse_from_rfc3339("2026-01-15T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let today = DateRangePreset::Today.resolve(now, tz);
        assert_eq!(today.from.to_rfc3339(), "2026-01-14T03:00:00+00:00");
        assert_eq!(today.to.to_rfc3339(), "2026-01-15T03:00:00+00:00");
        let last = DateRangePreset::LastMonth.resolve(now, tz);
        assert_eq!(last.from.to_rfc3339(), "2025-12-01T03:00:00+00:00");
        assert_eq!(last.to.to_rfc3339(), "2026-01-01T03:00:00+00:00");
        assert_eq!(
            DateRangePreset::parse("7D").unwrap(),
            DateRangePreset::Last7Days
        );
        assert!(DateRangePreset::parse("fortnight").is_err());
    }
}
