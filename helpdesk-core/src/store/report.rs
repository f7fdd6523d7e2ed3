//! Reporting: what the desk did in a period, credited to who did it and where.
//! [`Report::compute`] is the reference semantics; a SQL store computes the same numbers in the
//! database (the conformance suite compares them).
//!
//! Each figure is about an event or about a state. An event is counted in the period when it
//! happened in it, and credited to the agent who did it and to the queue the ticket was in at
//! the time (never to the ticket's current assignee or queue); a state is the ticket's now.
//! For a range `[from, to)` and an optional queue:
//!
//! * **arrivals**: tickets created in the range, in the queue they were created in
//!   ([`Ticket::origin_queue_id`]): the volume per local day (the organization's zone), the
//!   peak hours (local weekday × hour), the resolution rate (the share of them resolved or
//!   closed now), SLA compliance, and the value per campaign;
//! * **first responses**: first agent replies sent in the range, credited to the agent who
//!   sent it and the queue at that moment; wall seconds from the ticket's creation, business
//!   seconds from the SLA clock (pauses excluded; tickets without clocks count in wall time
//!   only);
//! * **resolutions**: tickets whose (last) resolution is in the range, credited to the agent
//!   who resolved (none when the system or a bot did) and the queue at that moment; wall
//!   seconds from creation, business seconds from the SLA clock;
//! * **ratings** (CSAT): ratings given in the range, credited to the agent and queue the rating
//!   was given to (the assignee and queue when the customer rated);
//! * **waits**: attendances (assignment cycles) an agent took in the range: seconds from
//!   entering the queue to being taken, credited to that queue and agent;
//! * **distribution** (a state): tickets created in the range by status, priority, current
//!   queue, category and inbox, now; with a queue filter, those in that queue now;
//! * **SLA compliance**: the clocks of tickets created in the range, each met in time,
//!   breached (met late, or out of time at `now`) or still running; next-response cycles
//!   count one each. A met clock is credited to the queue it was met in (first response:
//!   the queue at the first reply; resolution: the queue at the resolution); a clock that
//!   runs, to the ticket's queue now;
//! * **campaigns**: tickets created in the range grouped by `utm_source` (lower case), ad
//!   platform (of the first click id) and `utm_campaign`, with the value in negotiation (their
//!   deal values) and the value won (their sales, whenever made), per currency.
//!
//! Durations are whole seconds (truncated). Averages are integer divisions of the sum;
//! percentiles are discrete (the value at rank `ceil(p · n)`, as Postgres' `percentile_disc`).
//! Lists are in key order (ids, names); rates are computed from the counts.

use crate::domain::board::Category;
use crate::domain::party::{ChannelAccount, ChannelKind};
use crate::domain::records::{AssignmentCycle, Sale};
use crate::domain::team::{Agent, Queue};
use crate::domain::ticket::{Priority, Ticket, TicketStatus};
use crate::domain::tracking::AdPlatform;
use crate::ids::{AgentId, CategoryId, ChannelAccountId, QueueId, SlaPolicyId};
use crate::sla::{ClockOutcome, SlaPolicy, TicketSla};
use crate::store::query::DateRange;
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a [`Report`] covers: a period, the time zone its days and hours are cut in, an optional
/// queue, and the instant it is made.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportQuery {
    /// The period `[from, to)`: events in it are counted, tickets created in it are the arrivals.
    pub range: DateRange,
    /// Days and hours are cut in this zone (the organization's).
    pub timezone: Tz,
    /// Only what happened in (or, for states, is in) this queue.
    pub queue_id: Option<QueueId>,
    /// The instant the report is made: SLA clocks still running past their due instant count
    /// as breached.
    pub now: DateTime<Utc>,
}

impl ReportQuery {
    fn contains(&self, t: DateTime<Utc>) -> bool {
        self.range.from <= t && t < self.range.to
    }

    /// Whether a figure credited to `queue` passes the queue filter.
    fn in_queue(&self, queue: Option<QueueId>) -> bool {
        self.queue_id.is_none_or(|q| queue == Some(q))
    }
}

/// Tickets created and resolved on one local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayVolume {
    /// The local date (in the report's time zone).
    pub day: NaiveDate,
    /// Tickets created that local day (arrivals).
    pub created: u64,
    /// Tickets whose last resolution fell on that local day.
    pub resolved: u64,
}

/// Summary of a set of durations in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeStats {
    /// Number of durations summarized.
    pub count: u64,
    /// Sum (for averaging across groups).
    pub sum_secs: i64,
    /// Average (integer division), when any.
    pub avg_secs: Option<i64>,
    /// Median (discrete).
    pub p50_secs: Option<i64>,
    /// 90th percentile (discrete).
    pub p90_secs: Option<i64>,
}

impl TimeStats {
    /// Stats of `values` (any order).
    pub fn of(mut values: Vec<i64>) -> TimeStats {
        values.sort_unstable();
        let n = values.len();
        let sum: i64 = values.iter().sum();
        let pick = |p: f64| {
            let rank = ((p * n as f64).ceil() as usize).clamp(1, n.max(1));
            values.get(rank - 1).copied()
        };
        TimeStats {
            count: n as u64,
            sum_secs: sum,
            avg_secs: (n > 0).then(|| sum / n as i64),
            p50_secs: pick(0.5),
            p90_secs: pick(0.9),
        }
    }
}

/// Customer satisfaction (CSAT) of a set of ratings, each a score from 1 to 5.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Csat {
    /// Number of ratings given.
    pub responses: u64,
    /// Sum of the scores (for averaging across groups).
    pub score_sum: u64,
    /// Average score (1–5), when any.
    pub average: Option<f64>,
    /// Share of ratings of 4 or 5, when any.
    pub satisfied_share: Option<f64>,
    /// Ratings per score: index 0 is score 1.
    pub distribution: [u64; 5],
}

impl Csat {
    /// Builds the figures from the ratings per score (index 0 is score 1).
    pub fn from_distribution(distribution: [u64; 5]) -> Csat {
        let responses: u64 = distribution.iter().sum();
        let score_sum: u64 = distribution
            .iter()
            .enumerate()
            .map(|(i, c)| (i as u64 + 1) * c)
            .sum();
        Csat {
            responses,
            score_sum,
            average: (responses > 0).then(|| score_sum as f64 / responses as f64),
            satisfied_share: (responses > 0)
                .then(|| (distribution[3] + distribution[4]) as f64 / responses as f64),
            distribution,
        }
    }
}

/// The headline numbers of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// Tickets created in the period (arrivals).
    pub created: u64,
    /// Tickets whose last resolution is in the period, whenever they were created.
    pub resolved: u64,
    /// Tickets created in the period that are resolved or closed now.
    pub created_and_done: u64,
    /// `created_and_done / created`, when any were created.
    pub resolution_rate: Option<f64>,
    /// First response, wall clock.
    pub first_response_wall: TimeStats,
    /// First response, business hours.
    pub first_response_business: TimeStats,
    /// Resolution, wall clock.
    pub resolution_wall: TimeStats,
    /// Resolution, business hours.
    pub resolution_business: TimeStats,
    /// Time in queue before an agent took the ticket (wall clock).
    pub wait_in_queue: TimeStats,
}

/// Tickets created in the period per local weekday and hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeakHours {
    /// Per hour of the day (0–23), every weekday together.
    pub by_hour: [u64; 24],
    /// Per weekday (Monday first) and hour.
    pub by_weekday_hour: [[u64; 24]; 7],
}

/// A count under an id, with the name it has now (`None` for "none", or a deleted thing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedCount<K> {
    /// The id (`None`: tickets without one).
    pub id: Option<K>,
    /// Its name now; `None` for tickets without one or for a deleted record.
    pub name: Option<String>,
    /// Number of tickets.
    pub count: u64,
}

/// Tickets per inbox (channel account), with the inbox's channel and name now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelCount {
    /// The inbox the tickets run on.
    pub channel_account_id: ChannelAccountId,
    /// The inbox's channel kind now; `None` when the inbox is not found.
    pub kind: Option<ChannelKind>,
    /// The inbox's name now; `None` when the inbox is not found.
    pub name: Option<String>,
    /// Number of tickets.
    pub count: u64,
}

/// Where the tickets created in the period are now.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Distribution {
    /// Tickets per current lifecycle status.
    pub by_status: BTreeMap<TicketStatus, u64>,
    /// Tickets per current priority.
    pub by_priority: BTreeMap<Priority, u64>,
    /// Tickets per current queue, the unqueued under `None`.
    pub by_queue: Vec<NamedCount<QueueId>>,
    /// Tickets per category, the uncategorized under `None`.
    pub by_category: Vec<NamedCount<CategoryId>>,
    /// By inbox (channel).
    pub by_channel: Vec<ChannelCount>,
}

/// How one SLA metric's clocks stand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricCompliance {
    /// Clocks met within their target.
    pub met: u64,
    /// Met late, or out of time.
    pub breached: u64,
    /// Clocks neither met nor out of time yet (running or paused).
    pub running: u64,
    /// `met / (met + breached)`, when any ended.
    pub compliance_rate: Option<f64>,
}

impl MetricCompliance {
    /// Builds the figures from the three counts, computing the rate.
    pub fn of(met: u64, breached: u64, running: u64) -> MetricCompliance {
        MetricCompliance {
            met,
            breached,
            running,
            compliance_rate: (met + breached > 0).then(|| met as f64 / (met + breached) as f64),
        }
    }

    fn add(&mut self, met: u64, breached: u64, running: u64) {
        *self = MetricCompliance::of(
            self.met + met,
            self.breached + breached,
            self.running + running,
        );
    }

    fn add_outcome(&mut self, o: ClockOutcome) {
        match o {
            ClockOutcome::Met => self.add(1, 0, 0),
            ClockOutcome::Breached => self.add(0, 1, 0),
            ClockOutcome::Running => self.add(0, 0, 1),
        }
    }
}

impl Compliance {
    /// Adds another set of counts (a store summing its groups).
    pub fn add(&mut self, o: &Compliance) {
        for (a, b) in [
            (&mut self.first_response, &o.first_response),
            (&mut self.next_response, &o.next_response),
            (&mut self.resolution, &o.resolution),
        ] {
            a.add(b.met, b.breached, b.running);
        }
    }
}

/// SLA compliance of one policy (or of all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Compliance {
    /// First-response clocks.
    pub first_response: MetricCompliance,
    /// Next response (each cycle counts).
    pub next_response: MetricCompliance,
    /// Resolution clocks.
    pub resolution: MetricCompliance,
}

/// SLA compliance of the clocks that ran under one policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyCompliance {
    /// The policy the clocks ran under.
    pub policy_id: SlaPolicyId,
    /// Its name now (`None` once deleted).
    pub name: Option<String>,
    /// How the policy's clocks stand, per metric.
    pub compliance: Compliance,
}

/// SLA compliance of the tickets created in the period.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SlaCompliance {
    /// The clocks of every policy together.
    pub overall: Compliance,
    /// Per policy the clocks ran under, by id.
    pub policies: Vec<PolicyCompliance>,
}

/// One agent's numbers, for what the agent did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentReport {
    /// The agent credited.
    pub agent_id: AgentId,
    /// The agent's name now; `None` when the agent is not found.
    pub name: Option<String>,
    /// Attendances it took in the period (assignments it started).
    pub assigned: u64,
    /// First responses it sent, business seconds.
    pub first_response_business: TimeStats,
    /// Tickets the agent resolved in the period (last resolution).
    pub resolved: u64,
    /// Resolution of the tickets it resolved, business seconds.
    pub resolution_business: TimeStats,
    /// Ratings given in the period to attendances of this agent.
    pub csat: Csat,
}

/// One queue's numbers, for what happened in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueReport {
    /// The queue (`None`: tickets in no queue).
    pub queue_id: Option<QueueId>,
    /// The queue's name now; `None` for no queue or a deleted one.
    pub name: Option<String>,
    /// Tickets created in the queue in the period (arrivals).
    pub created: u64,
    /// First responses sent while tickets were in it, business seconds.
    pub first_response_business: TimeStats,
    /// Tickets resolved in the period while in this queue.
    pub resolved: u64,
    /// Resolution of the tickets resolved in it, business seconds.
    pub resolution_business: TimeStats,
    /// Time in it before an agent took the ticket.
    pub wait_in_queue: TimeStats,
    /// Ratings given to its attendances.
    pub csat: Csat,
}

/// What a campaign's tickets are worth in one currency; amounts in minor units (centavos).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignMoney {
    /// Sum of the deal values of the campaign's tickets, minor units.
    pub in_negotiation_minor: i64,
    /// Number of the campaign's tickets with a deal value.
    pub deals: u64,
    /// Sum of their sales, minor units.
    pub won_minor: i64,
    /// Number of sales recorded on the campaign's tickets, whenever made.
    pub sales: u64,
}

/// What one campaign (a `utm_source`, ad platform and `utm_campaign`) brought in: its tickets
/// and their value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignValue {
    /// `utm_source`, lower case.
    pub utm_source: Option<String>,
    /// Ad platform of the first click id.
    pub ad_platform: Option<AdPlatform>,
    /// `utm_campaign`.
    pub utm_campaign: Option<String>,
    /// Tickets created in the period under this campaign key.
    pub tickets: u64,
    /// Value per currency (ISO 4217).
    pub value: BTreeMap<String, CampaignMoney>,
}

/// What the desk did in a period: arrivals, responses, resolutions, waits, CSAT, SLA
/// compliance and campaigns, per agent and per queue. Computed from the rows by
/// [`Report::compute`], or by a store through [`Tally::finish`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The period reported on.
    pub range: DateRange,
    /// Headline numbers: volumes, resolution rate, response, resolution and wait times.
    pub overview: Overview,
    /// Per local day, days with no activity left out, in date order.
    pub volume: Vec<DayVolume>,
    /// Arrivals per local weekday and hour.
    pub peak_hours: PeakHours,
    /// Where the period's tickets are now.
    pub distribution: Distribution,
    /// SLA compliance of the period's tickets.
    pub sla: SlaCompliance,
    /// CSAT of the ratings given in the period.
    pub csat: Csat,
    /// Per agent who did something in the period, by id.
    pub agents: Vec<AgentReport>,
    /// Per queue where something happened in the period, by id (no queue first).
    pub queues: Vec<QueueReport>,
    /// Per campaign, by source, platform and campaign (none first).
    pub campaigns: Vec<CampaignValue>,
}

/// Everything the reference computation reads: a tenant's rows.
#[derive(Debug, Clone, Copy)]
pub struct ReportData<'a> {
    /// The tenant's tickets.
    pub tickets: &'a [Ticket],
    /// The tenant's assignment cycles (attendances), for waits and assignments.
    pub cycles: &'a [AssignmentCycle],
    /// The tenant's sales, for campaign value.
    pub sales: &'a [Sale],
    /// Agents (names).
    pub agents: &'a [Agent],
    /// Queues (names).
    pub queues: &'a [Queue],
    /// Categories (names).
    pub categories: &'a [Category],
    /// Inboxes (kinds and names).
    pub channel_accounts: &'a [ChannelAccount],
    /// SLA policies (names).
    pub policies: &'a [SlaPolicy],
}

/// A key's local day, weekday (Monday 0) and hour.
fn local(t: DateTime<Utc>, tz: Tz) -> (NaiveDate, usize, usize) {
    let l = t.with_timezone(&tz);
    (
        l.date_naive(),
        l.weekday().num_days_from_monday() as usize,
        l.hour() as usize,
    )
}

/// The compliance of a ticket's clocks at `now`, each with the queue it is credited to.
fn clock_outcomes(t: &Ticket, sla: &TicketSla, now: DateTime<Utc>) -> [ClockCredit; 3] {
    let credit = |c: Option<&crate::sla::clock::SlaClock>, met_queue: Option<QueueId>| {
        c.map(|c| {
            let o = c.outcome(now);
            let q = if c.met_at.is_some() {
                met_queue
            } else {
                t.queue_id
            };
            (o, q)
        })
    };
    let next = sla.next_response.as_ref().filter(|c| c.met_at.is_none());
    [
        ClockCredit {
            single: credit(sla.first_response.as_ref(), t.first_response_queue_id),
            completed: (0, 0),
        },
        ClockCredit {
            single: credit(next, t.queue_id),
            completed: (
                u64::from(sla.next_responses_met),
                u64::from(sla.next_responses_breached),
            ),
        },
        ClockCredit {
            single: credit(sla.resolution.as_ref(), t.resolved_queue_id),
            completed: (0, 0),
        },
    ]
}

/// One metric of one ticket: its clock's outcome and the queue it is credited to, and the
/// completed next-response cycles (met, met late), credited to the ticket's current queue.
struct ClockCredit {
    single: Option<(ClockOutcome, Option<QueueId>)>,
    completed: (u64, u64),
}

/// The figures of one agent or queue as a store gathers them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Part {
    /// Tickets created (queues).
    pub created: u64,
    /// Attendances taken (agents).
    pub assigned: u64,
    /// Tickets resolved in the period (agents: by them; queues: while in it).
    pub resolved: u64,
    /// Business seconds of the first responses.
    pub first_response_business: Vec<i64>,
    /// Business seconds of the resolutions.
    pub resolution_business: Vec<i64>,
    /// Seconds waited before an agent took the ticket (queues).
    pub waits: Vec<i64>,
    /// Ratings per score (index 0 is score 1).
    pub csat: [u64; 5],
}

/// The campaign key: `utm_source` (lower case), ad platform, `utm_campaign`.
pub type CampaignKey = (Option<String>, Option<AdPlatform>, Option<String>);

/// A report's figures as a store gathers them, before statistics and names are put on them
/// by [`finish`](Self::finish). The reference computation fills one from the rows; a SQL
/// store fills one from its queries' groups, so both lay the report out the same way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Tickets created in the period (in the filtered queue).
    pub created: u64,
    /// Of those, resolved or closed now.
    pub created_and_done: u64,
    /// Wall seconds of the first responses.
    pub first_response_wall: Vec<i64>,
    /// Business seconds of the first responses.
    pub first_response_business: Vec<i64>,
    /// Wall seconds of the resolutions.
    pub resolution_wall: Vec<i64>,
    /// Business seconds of the resolutions.
    pub resolution_business: Vec<i64>,
    /// Seconds each attendance of the period waited in queue before an agent took it.
    pub waits: Vec<i64>,
    /// Ratings per score (index 0 is score 1).
    pub csat: [u64; 5],
    /// Created and resolved per local day.
    pub days: BTreeMap<NaiveDate, (u64, u64)>,
    /// Created per local weekday (Monday first) and hour.
    pub peak: [[u64; 24]; 7],
    /// Where the period's tickets are now (queues, categories and inboxes are named by
    /// `finish` from the counts below).
    pub distribution: Distribution,
    /// Tickets per current queue (`None`: no queue).
    pub by_queue: BTreeMap<Option<QueueId>, u64>,
    /// Tickets per category (`None`: uncategorized).
    pub by_category: BTreeMap<Option<CategoryId>, u64>,
    /// Tickets per inbox (channel account).
    pub by_channel: BTreeMap<ChannelAccountId, u64>,
    /// SLA compliance, every policy together.
    pub sla: Compliance,
    /// SLA compliance per policy the clocks ran under.
    pub sla_per_policy: BTreeMap<SlaPolicyId, Compliance>,
    /// Figures per agent credited.
    pub agents: BTreeMap<AgentId, Part>,
    /// Figures per queue credited (`None`: tickets in no queue).
    pub queues: BTreeMap<Option<QueueId>, Part>,
    /// Value per campaign key.
    pub campaigns: BTreeMap<CampaignKey, CampaignValue>,
}

/// What a report names things by: the names (and inbox kinds) now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    /// Agent names by id.
    pub agents: BTreeMap<AgentId, String>,
    /// Queue names by id.
    pub queues: BTreeMap<QueueId, String>,
    /// Category names by id.
    pub categories: BTreeMap<CategoryId, String>,
    /// Inboxes, with their channel.
    pub channels: BTreeMap<ChannelAccountId, (ChannelKind, String)>,
    /// SLA policy names by id.
    pub policies: BTreeMap<SlaPolicyId, String>,
}

impl Part {
    fn absorb(&mut self, o: Part) {
        self.created += o.created;
        self.assigned += o.assigned;
        self.resolved += o.resolved;
        self.first_response_business
            .extend(o.first_response_business);
        self.resolution_business.extend(o.resolution_business);
        self.waits.extend(o.waits);
        for (x, y) in self.csat.iter_mut().zip(o.csat) {
            *x += y;
        }
    }
}

impl Tally {
    /// Adds what another part of the work gathered (a store that gathers a report in parts).
    pub fn absorb(&mut self, o: Tally) {
        self.created += o.created;
        self.created_and_done += o.created_and_done;
        self.first_response_wall.extend(o.first_response_wall);
        self.first_response_business
            .extend(o.first_response_business);
        self.resolution_wall.extend(o.resolution_wall);
        self.resolution_business.extend(o.resolution_business);
        self.waits.extend(o.waits);
        for (x, y) in self.csat.iter_mut().zip(o.csat) {
            *x += y;
        }
        for (d, (c, r)) in o.days {
            let e = self.days.entry(d).or_default();
            e.0 += c;
            e.1 += r;
        }
        for (row, other) in self.peak.iter_mut().zip(o.peak) {
            for (x, y) in row.iter_mut().zip(other) {
                *x += y;
            }
        }
        for (k, n) in o.distribution.by_status {
            *self.distribution.by_status.entry(k).or_default() += n;
        }
        for (k, n) in o.distribution.by_priority {
            *self.distribution.by_priority.entry(k).or_default() += n;
        }
        for (k, n) in o.by_queue {
            *self.by_queue.entry(k).or_default() += n;
        }
        for (k, n) in o.by_category {
            *self.by_category.entry(k).or_default() += n;
        }
        for (k, n) in o.by_channel {
            *self.by_channel.entry(k).or_default() += n;
        }
        self.sla.add(&o.sla);
        for (k, c) in o.sla_per_policy {
            self.sla_per_policy.entry(k).or_default().add(&c);
        }
        for (k, p) in o.agents {
            self.agents.entry(k).or_default().absorb(p);
        }
        for (k, p) in o.queues {
            self.queues.entry(k).or_default().absorb(p);
        }
        for (k, c) in o.campaigns {
            let mine = self.campaign(k);
            mine.tickets += c.tickets;
            for (cur, m) in c.value {
                let e = mine.value.entry(cur).or_default();
                e.in_negotiation_minor += m.in_negotiation_minor;
                e.deals += m.deals;
                e.won_minor += m.won_minor;
                e.sales += m.sales;
            }
        }
    }

    /// The campaign of `key`, created when missing.
    pub fn campaign(&mut self, key: CampaignKey) -> &mut CampaignValue {
        self.campaigns.entry(key.clone()).or_insert(CampaignValue {
            utm_source: key.0,
            ad_platform: key.1,
            utm_campaign: key.2,
            tickets: 0,
            value: BTreeMap::new(),
        })
    }

    /// The report of `range`: statistics of the durations, names on what has one, lists in
    /// key order.
    pub fn finish(self, range: DateRange, names: &Names) -> Report {
        let queue_name = |id: Option<QueueId>| id.and_then(|i| names.queues.get(&i).cloned());
        let mut distribution = self.distribution;
        distribution.by_queue = self
            .by_queue
            .into_iter()
            .map(|(id, count)| NamedCount {
                id,
                name: queue_name(id),
                count,
            })
            .collect();
        distribution.by_category = self
            .by_category
            .into_iter()
            .map(|(id, count)| NamedCount {
                id,
                name: id.and_then(|i| names.categories.get(&i).cloned()),
                count,
            })
            .collect();
        distribution.by_channel = self
            .by_channel
            .into_iter()
            .map(|(id, count)| {
                let a = names.channels.get(&id);
                ChannelCount {
                    channel_account_id: id,
                    kind: a.map(|a| a.0),
                    name: a.map(|a| a.1.clone()),
                    count,
                }
            })
            .collect();
        let peak = self.peak;
        let created = self.created;
        let done = self.created_and_done;
        Report {
            range,
            overview: Overview {
                created,
                resolved: self.resolution_wall.len() as u64,
                created_and_done: done,
                resolution_rate: (created > 0).then(|| done as f64 / created as f64),
                first_response_wall: TimeStats::of(self.first_response_wall),
                first_response_business: TimeStats::of(self.first_response_business),
                resolution_wall: TimeStats::of(self.resolution_wall),
                resolution_business: TimeStats::of(self.resolution_business),
                wait_in_queue: TimeStats::of(self.waits),
            },
            volume: self
                .days
                .into_iter()
                .map(|(day, (created, resolved))| DayVolume {
                    day,
                    created,
                    resolved,
                })
                .collect(),
            peak_hours: PeakHours {
                by_hour: std::array::from_fn(|h| peak.iter().map(|d| d[h]).sum()),
                by_weekday_hour: peak,
            },
            distribution,
            sla: SlaCompliance {
                overall: self.sla,
                policies: self
                    .sla_per_policy
                    .into_iter()
                    .map(|(policy_id, compliance)| PolicyCompliance {
                        policy_id,
                        name: names.policies.get(&policy_id).cloned(),
                        compliance,
                    })
                    .collect(),
            },
            csat: Csat::from_distribution(self.csat),
            agents: self
                .agents
                .into_iter()
                .map(|(agent_id, a)| AgentReport {
                    agent_id,
                    name: names.agents.get(&agent_id).cloned(),
                    assigned: a.assigned,
                    first_response_business: TimeStats::of(a.first_response_business),
                    resolved: a.resolved,
                    resolution_business: TimeStats::of(a.resolution_business),
                    csat: Csat::from_distribution(a.csat),
                })
                .collect(),
            queues: self
                .queues
                .into_iter()
                .map(|(queue_id, a)| QueueReport {
                    queue_id,
                    name: queue_name(queue_id),
                    created: a.created,
                    first_response_business: TimeStats::of(a.first_response_business),
                    resolved: a.resolved,
                    resolution_business: TimeStats::of(a.resolution_business),
                    wait_in_queue: TimeStats::of(a.waits),
                    csat: Csat::from_distribution(a.csat),
                })
                .collect(),
            campaigns: self.campaigns.into_values().collect(),
        }
    }
}

impl Names {
    /// The names of a tenant's rows.
    pub fn of(d: &ReportData<'_>) -> Names {
        Names {
            agents: d.agents.iter().map(|a| (a.id, a.name.clone())).collect(),
            queues: d.queues.iter().map(|q| (q.id, q.name.clone())).collect(),
            categories: d
                .categories
                .iter()
                .map(|c| (c.id, c.name.clone()))
                .collect(),
            channels: d
                .channel_accounts
                .iter()
                .map(|a| (a.id, (a.kind, a.name.clone())))
                .collect(),
            policies: d.policies.iter().map(|p| (p.id, p.name.clone())).collect(),
        }
    }
}

impl Report {
    /// The reference computation over a tenant's rows.
    pub fn compute(d: &ReportData<'_>, q: &ReportQuery) -> Report {
        let tz = q.timezone;
        let mut all = Tally::default();
        let mut sales_of: BTreeMap<crate::ids::TicketId, Vec<&Sale>> = BTreeMap::new();
        for s in d.sales {
            sales_of.entry(s.ticket_id).or_default().push(s);
        }
        for t in d.tickets {
            if q.contains(t.created_at) {
                // Arrivals, in the queue the ticket was created in.
                if q.in_queue(t.origin_queue_id) {
                    all.created += 1;
                    all.queues.entry(t.origin_queue_id).or_default().created += 1;
                    let (day, wd, h) = local(t.created_at, tz);
                    all.days.entry(day).or_default().0 += 1;
                    all.peak[wd][h] += 1;
                    if matches!(t.status, TicketStatus::Resolved | TicketStatus::Closed) {
                        all.created_and_done += 1;
                    }
                    let c = all.campaign((
                        t.tracking.utm_source.as_ref().map(|s| s.to_lowercase()),
                        t.tracking.ad_platform(),
                        t.tracking.utm_campaign.clone(),
                    ));
                    c.tickets += 1;
                    if let Some(v) = &t.deal_value {
                        let m = c.value.entry(v.currency.clone()).or_default();
                        m.in_negotiation_minor += v.minor;
                        m.deals += 1;
                    }
                    for s in sales_of.get(&t.id).into_iter().flatten() {
                        let m = c.value.entry(s.amount.currency.clone()).or_default();
                        m.won_minor += s.amount.minor;
                        m.sales += 1;
                    }
                }
                // States: where it is now.
                if q.in_queue(t.queue_id) {
                    *all.distribution.by_status.entry(t.status).or_default() += 1;
                    *all.distribution.by_priority.entry(t.priority).or_default() += 1;
                    *all.by_queue.entry(t.queue_id).or_default() += 1;
                    *all.by_category.entry(t.category_id).or_default() += 1;
                    *all.by_channel.entry(t.channel_account_id).or_default() += 1;
                }
                // SLA compliance, each clock in the queue it is credited to.
                if let Some(s) = &t.sla {
                    let mut mine = Compliance::default();
                    let mut any = false;
                    for (i, c) in clock_outcomes(t, s, q.now).into_iter().enumerate() {
                        let m = match i {
                            0 => &mut mine.first_response,
                            1 => &mut mine.next_response,
                            _ => &mut mine.resolution,
                        };
                        if let Some((o, queue)) = c.single
                            && q.in_queue(queue)
                        {
                            m.add_outcome(o);
                            any = true;
                        }
                        if c.completed != (0, 0) && q.in_queue(t.queue_id) {
                            m.add(c.completed.0, c.completed.1, 0);
                            any = true;
                        }
                    }
                    if any {
                        all.sla.add(&mine);
                        all.sla_per_policy
                            .entry(s.policy_id)
                            .or_default()
                            .add(&mine);
                    }
                }
            }
            // First responses sent in the period.
            if let Some(fr) = t.first_response_at.filter(|x| q.contains(*x))
                && q.in_queue(t.first_response_queue_id)
            {
                let business = t.sla.as_ref().and_then(TicketSla::first_response_secs);
                all.first_response_wall
                    .push((fr - t.created_at).num_seconds());
                all.first_response_business.extend(business);
                all.queues
                    .entry(t.first_response_queue_id)
                    .or_default()
                    .first_response_business
                    .extend(business);
                if let Some(a) = t.first_response_by {
                    all.agents
                        .entry(a)
                        .or_default()
                        .first_response_business
                        .extend(business);
                }
            }
            // Resolutions in the period.
            if let Some(r) = t.resolved_at.filter(|x| q.contains(*x))
                && q.in_queue(t.resolved_queue_id)
            {
                let business = t.sla.as_ref().and_then(TicketSla::resolution_secs);
                all.days.entry(local(r, tz).0).or_default().1 += 1;
                all.resolution_wall.push((r - t.created_at).num_seconds());
                all.resolution_business.extend(business);
                let credit = |p: &mut Part| {
                    p.resolved += 1;
                    p.resolution_business.extend(business);
                };
                credit(all.queues.entry(t.resolved_queue_id).or_default());
                if let Some(a) = t.resolved_by {
                    credit(all.agents.entry(a).or_default());
                }
            }
            // Ratings given in the period.
            if let Some(rating) = t.rating.as_ref().filter(|r| q.contains(r.rated_at))
                && q.in_queue(rating.queue_id)
            {
                let i = usize::from(rating.score.clamp(1, 5)) - 1;
                all.csat[i] += 1;
                all.queues.entry(rating.queue_id).or_default().csat[i] += 1;
                if let Some(a) = rating.agent_id {
                    all.agents.entry(a).or_default().csat[i] += 1;
                }
            }
        }
        // Attendances taken in the period.
        for c in d.cycles {
            if let (Some(started), Some(agent)) = (c.started_at, c.agent_id)
                && q.contains(started)
                && q.in_queue(c.queue_id)
            {
                let wait = (started - c.queued_at).num_seconds();
                all.waits.push(wait);
                all.queues.entry(c.queue_id).or_default().waits.push(wait);
                all.agents.entry(agent).or_default().assigned += 1;
            }
        }
        all.finish(q.range, &Names::of(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_discrete_ranks() {
        let s = TimeStats::of(vec![50, 10, 40, 20, 30, 60, 70, 80, 90, 100]);
        assert_eq!(s.count, 10);
        assert_eq!(s.avg_secs, Some(55));
        assert_eq!(s.p50_secs, Some(50)); // rank ceil(5) = 5
        assert_eq!(s.p90_secs, Some(90)); // rank ceil(9) = 9
        let one = TimeStats::of(vec![7]);
        assert_eq!((one.p50_secs, one.p90_secs), (Some(7), Some(7)));
        let none = TimeStats::of(vec![]);
        assert_eq!((none.avg_secs, none.p50_secs), (None, None));
        let three = TimeStats::of(vec![3, 1, 2]);
        assert_eq!((three.p50_secs, three.p90_secs), (Some(2), Some(3)));
    }

    #[test]
    fn csat_average_and_share() {
        let c = Csat::from_distribution([1, 0, 1, 1, 2]);
        assert_eq!(c.responses, 5);
        assert_eq!(c.score_sum, 1 + 3 + 4 + 10);
        assert_eq!(c.average, Some(18.0 / 5.0));
        assert_eq!(c.satisfied_share, Some(0.6));
    }

    #[test]
    fn absorbing_parts_adds_every_figure() {
        let agent = AgentId::new();
        let queue = Some(QueueId::new());
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let mut a = Tally {
            created: 2,
            first_response_business: vec![10],
            csat: [1, 0, 0, 0, 0],
            ..Tally::default()
        };
        a.days.insert(day, (2, 0));
        a.peak[0][9] = 2;
        a.agents.entry(agent).or_default().assigned = 1;
        a.queues.entry(queue).or_default().created = 2;
        a.campaign((Some("google".into()), None, None)).tickets = 2;
        let mut b = Tally {
            resolution_business: vec![20, 30],
            csat: [0, 0, 0, 0, 3],
            ..Tally::default()
        };
        b.days.insert(day, (0, 2));
        b.peak[0][9] = 1;
        let p = b.agents.entry(agent).or_default();
        p.resolved = 2;
        p.resolution_business = vec![20, 30];
        b.queues.entry(queue).or_default().resolved = 2;
        b.campaign((Some("google".into()), None, None)).tickets = 1;
        a.absorb(b);
        assert_eq!(a.created, 2);
        assert_eq!(a.first_response_business, vec![10]);
        assert_eq!(a.resolution_business, vec![20, 30]);
        assert_eq!(a.csat, [1, 0, 0, 0, 3]);
        assert_eq!(a.days[&day], (2, 2));
        assert_eq!(a.peak[0][9], 3);
        let p = &a.agents[&agent];
        assert_eq!((p.assigned, p.resolved), (1, 2));
        assert_eq!(p.resolution_business, vec![20, 30]);
        assert_eq!(
            (a.queues[&queue].created, a.queues[&queue].resolved),
            (2, 2)
        );
        assert_eq!(a.campaigns.len(), 1);
        assert_eq!(a.campaigns.values().next().map(|c| c.tickets), Some(3));
    }

    #[test]
    fn compliance_rate_is_met_over_ended() {
        let m = MetricCompliance::of(3, 1, 5);
        assert_eq!(m.compliance_rate, Some(0.75));
        assert_eq!(MetricCompliance::of(0, 0, 2).compliance_rate, None);
    }
}
