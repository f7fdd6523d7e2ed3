//! The seed's analytics endpoints over `Helpdesk::report`: overview, volume, distribution,
//! agents (and queues), SLA, CSAT, peak hours, campaigns, and the CSV export of the period's
//! tickets. Each takes the period as `dateRange` (a preset: `today`, `yesterday`, `7d`,
//! `30d`, `90d`, `thisMonth`, `lastMonth`, `thisYear`; default `30d`) or `from` and `to`
//! (local dates `2026-03-01`, both included, or RFC 3339 instants, `to` excluded), and
//! `queueId` for one queue's figures. The bodies are explicit camelCase wire types.

use super::{ApiError, AppState, Caller, bad, param};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use helpdesk_core::domain::party::ChannelKind;
use helpdesk_core::domain::ticket::{Priority, TicketStatus};
use helpdesk_core::domain::tracking::AdPlatform;
use helpdesk_core::ids::{AgentId, CategoryId, ChannelAccountId, QueueId, SlaPolicyId};
use helpdesk_core::service::{DateFilter, ListTickets, ReportRequest};
use helpdesk_core::sla::{ClockOutcome, SlaMetric};
use helpdesk_core::store::query::{DateRange, DateRangePreset};
use helpdesk_core::store::report::{
    self, CampaignMoney, Compliance, MetricCompliance, Report, TimeStats,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The period and queue of an analytics request, from its query string.
fn request(q: &HashMap<String, String>) -> Result<ReportRequest, ApiError> {
    let given = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let date = match (given("dateRange"), given("from"), given("to")) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(bad("dateRange", "give dateRange or from/to, not both"));
        }
        (Some(p), None, None) => DateFilter::Preset(param("dateRange", DateRangePreset::parse(p))?),
        (None, None, None) => DateFilter::Preset(DateRangePreset::Last30Days),
        (None, Some(from), Some(to)) => period(from, to)?,
        (None, None, Some(_)) => return Err(bad("from", "to needs from")),
        (None, Some(_), None) => return Err(bad("to", "from needs to")),
    };
    let queue_id = given("queueId")
        .map(|v| {
            v.parse()
                .map(QueueId)
                .map_err(|_| bad("queueId", "not a queue id"))
        })
        .transpose()?;
    Ok(ReportRequest { date, queue_id })
}

/// `from` and `to` as local dates (both included) or as instants (`to` excluded).
fn period(from: &str, to: &str) -> Result<DateFilter, ApiError> {
    // Years the calendars support; anything else is a typo.
    let supported = |y: i32| (1900..2300).contains(&y);
    let date = |v: &str| {
        NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .ok()
            .filter(|d| supported(chrono::Datelike::year(d)))
    };
    let instant = |v: &str| {
        DateTime::parse_from_rfc3339(v)
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .filter(|t| supported(chrono::Datelike::year(t)))
    };
    let f = match (date(from), date(to), instant(from), instant(to)) {
        (Some(from), Some(to), _, _) => DateFilter::Days { from, to },
        (_, _, Some(from), Some(to)) => DateFilter::Range(DateRange { from, to }),
        (None, _, None, _) => {
            return Err(bad(
                "from",
                "a date (2026-03-01) or an instant (2026-03-01T00:00:00-03:00), years 1900 to 2299",
            ));
        }
        (_, None, _, None) => {
            return Err(bad(
                "to",
                "a date (2026-03-31) or an instant, years 1900 to 2299",
            ));
        }
        _ => return Err(bad("to", "a date or an instant, as from is")),
    };
    let ok = match f {
        DateFilter::Days { from, to } => from <= to,
        DateFilter::Range(r) => r.from < r.to,
        DateFilter::Preset(_) => true,
    };
    if !ok {
        return Err(bad("to", "the period ends before it starts"));
    }
    Ok(f)
}

async fn report(
    state: &AppState,
    caller: &Caller,
    q: &HashMap<String, String>,
) -> Result<Report, ApiError> {
    Ok(state.hd.report(state.org, &caller.0, request(q)?).await?)
}

/// The period a report covers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl From<DateRange> for Period {
    fn from(r: DateRange) -> Period {
        Period {
            from: r.from,
            to: r.to,
        }
    }
}

/// Durations in seconds.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Durations {
    count: u64,
    avg_secs: Option<i64>,
    p50_secs: Option<i64>,
    p90_secs: Option<i64>,
}

impl From<TimeStats> for Durations {
    fn from(t: TimeStats) -> Durations {
        Durations {
            count: t.count,
            avg_secs: t.avg_secs,
            p50_secs: t.p50_secs,
            p90_secs: t.p90_secs,
        }
    }
}

/// A duration in wall-clock and in business time.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WallAndBusiness {
    wall: Durations,
    business: Durations,
}

/// Customer satisfaction.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CsatWire {
    responses: u64,
    average: Option<f64>,
    satisfied_share: Option<f64>,
    /// Ratings per score, `"1"` to `"5"`.
    distribution: BTreeMap<String, u64>,
}

impl From<report::Csat> for CsatWire {
    fn from(c: report::Csat) -> CsatWire {
        CsatWire {
            responses: c.responses,
            average: c.average,
            satisfied_share: c.satisfied_share,
            distribution: c
                .distribution
                .iter()
                .enumerate()
                .map(|(i, n)| ((i + 1).to_string(), *n))
                .collect(),
        }
    }
}

/// One SLA metric's clocks.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricWire {
    met: u64,
    breached: u64,
    running: u64,
    compliance_rate: Option<f64>,
}

impl From<MetricCompliance> for MetricWire {
    fn from(m: MetricCompliance) -> MetricWire {
        MetricWire {
            met: m.met,
            breached: m.breached,
            running: m.running,
            compliance_rate: m.compliance_rate,
        }
    }
}

/// Every metric's clocks.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceWire {
    first_response: MetricWire,
    next_response: MetricWire,
    resolution: MetricWire,
}

impl From<Compliance> for ComplianceWire {
    fn from(c: Compliance) -> ComplianceWire {
        ComplianceWire {
            first_response: c.first_response.into(),
            next_response: c.next_response.into(),
            resolution: c.resolution.into(),
        }
    }
}

/// `GET /api/v1/analytics/overview`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OverviewWire {
    period: Period,
    overview: OverviewNumbers,
    csat: CsatWire,
    sla: ComplianceWire,
}

/// The headline numbers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OverviewNumbers {
    created: u64,
    resolved: u64,
    created_and_done: u64,
    resolution_rate: Option<f64>,
    first_response: WallAndBusiness,
    resolution: WallAndBusiness,
    wait_in_queue: Durations,
}

pub(super) async fn overview(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<OverviewWire>, ApiError> {
    let r = report(&state, &caller, &q).await?;
    let o = r.overview;
    Ok(Json(OverviewWire {
        period: r.range.into(),
        overview: OverviewNumbers {
            created: o.created,
            resolved: o.resolved,
            created_and_done: o.created_and_done,
            resolution_rate: o.resolution_rate,
            first_response: WallAndBusiness {
                wall: o.first_response_wall.into(),
                business: o.first_response_business.into(),
            },
            resolution: WallAndBusiness {
                wall: o.resolution_wall.into(),
                business: o.resolution_business.into(),
            },
            wait_in_queue: o.wait_in_queue.into(),
        },
        csat: r.csat.into(),
        sla: r.sla.overall.into(),
    }))
}

/// `GET /api/v1/analytics/volume`: per local day.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeWire {
    period: Period,
    days: Vec<DayWire>,
}

/// One local day.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayWire {
    day: NaiveDate,
    created: u64,
    resolved: u64,
}

pub(super) async fn volume(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<VolumeWire>, ApiError> {
    let r = report(&state, &caller, &q).await?;
    Ok(Json(VolumeWire {
        period: r.range.into(),
        days: r
            .volume
            .iter()
            .map(|d| DayWire {
                day: d.day,
                created: d.created,
                resolved: d.resolved,
            })
            .collect(),
    }))
}

/// A count under an id and its name.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CountWire<K> {
    id: Option<K>,
    name: Option<String>,
    count: u64,
}

/// Tickets per inbox.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelWire {
    channel_account_id: ChannelAccountId,
    kind: Option<ChannelKind>,
    name: Option<String>,
    count: u64,
}

/// `GET /api/v1/analytics/distribution`: the period's tickets as they are now.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DistributionWire {
    period: Period,
    by_status: BTreeMap<TicketStatus, u64>,
    by_priority: BTreeMap<Priority, u64>,
    by_queue: Vec<CountWire<QueueId>>,
    by_category: Vec<CountWire<CategoryId>>,
    by_channel: Vec<ChannelWire>,
}

fn counts<K: Copy>(v: Vec<report::NamedCount<K>>) -> Vec<CountWire<K>> {
    v.into_iter()
        .map(|c| CountWire {
            id: c.id,
            name: c.name,
            count: c.count,
        })
        .collect()
}

pub(super) async fn distribution(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<DistributionWire>, ApiError> {
    let r = report(&state, &caller, &q).await?;
    let d = r.distribution;
    Ok(Json(DistributionWire {
        period: r.range.into(),
        by_status: d.by_status,
        by_priority: d.by_priority,
        by_queue: counts(d.by_queue),
        by_category: counts(d.by_category),
        by_channel: d
            .by_channel
            .into_iter()
            .map(|c| ChannelWire {
                channel_account_id: c.channel_account_id,
                kind: c.kind,
                name: c.name,
                count: c.count,
            })
            .collect(),
    }))
}

/// One agent's figures, for what it did.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentWire {
    agent_id: AgentId,
    name: Option<String>,
    assigned: u64,
    first_response: Durations,
    resolved: u64,
    resolution: Durations,
    csat: CsatWire,
}

/// One queue's figures, for what happened in it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueWire {
    queue_id: Option<QueueId>,
    name: Option<String>,
    created: u64,
    first_response: Durations,
    resolved: u64,
    resolution: Durations,
    wait_in_queue: Durations,
    csat: CsatWire,
}

/// `GET /api/v1/analytics/agents`: per agent, and per queue. Durations are business seconds.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentsWire {
    period: Period,
    agents: Vec<AgentWire>,
    queues: Vec<QueueWire>,
}

pub(super) async fn agents(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<AgentsWire>, ApiError> {
    let r = report(&state, &caller, &q).await?;
    Ok(Json(AgentsWire {
        period: r.range.into(),
        agents: r
            .agents
            .into_iter()
            .map(|a| AgentWire {
                agent_id: a.agent_id,
                name: a.name,
                assigned: a.assigned,
                first_response: a.first_response_business.into(),
                resolved: a.resolved,
                resolution: a.resolution_business.into(),
                csat: a.csat.into(),
            })
            .collect(),
        queues: r
            .queues
            .into_iter()
            .map(|x| QueueWire {
                queue_id: x.queue_id,
                name: x.name,
                created: x.created,
                first_response: x.first_response_business.into(),
                resolved: x.resolved,
                resolution: x.resolution_business.into(),
                wait_in_queue: x.wait_in_queue.into(),
                csat: x.csat.into(),
            })
            .collect(),
    }))
}

/// One policy's clocks.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyWire {
    policy_id: SlaPolicyId,
    /// `null` once the policy is deleted (its tickets keep their clocks).
    name: Option<String>,
    #[serde(flatten)]
    compliance: ComplianceWire,
}

/// `GET /api/v1/analytics/sla`: compliance of the period's tickets, overall and per policy.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SlaWire {
    period: Period,
    overall: ComplianceWire,
    policies: Vec<PolicyWire>,
}

pub(super) async fn sla(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<SlaWire>, ApiError> {
    let r = report(&state, &caller, &q).await?;
    Ok(Json(SlaWire {
        period: r.range.into(),
        overall: r.sla.overall.into(),
        policies: r
            .sla
            .policies
            .into_iter()
            .map(|p| PolicyWire {
                policy_id: p.policy_id,
                name: p.name,
                compliance: p.compliance.into(),
            })
            .collect(),
    }))
}

/// A rated agent.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RatedAgent {
    agent_id: AgentId,
    name: Option<String>,
    csat: CsatWire,
}

/// `GET /api/v1/analytics/csat`: ratings given in the period, overall and per agent rated.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CsatReport {
    period: Period,
    #[serde(flatten)]
    csat: CsatWire,
    by_agent: Vec<RatedAgent>,
}

pub(super) async fn csat(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<CsatReport>, ApiError> {
    let r = report(&state, &caller, &q).await?;
    Ok(Json(CsatReport {
        period: r.range.into(),
        csat: r.csat.into(),
        by_agent: r
            .agents
            .into_iter()
            .filter(|a| a.csat.responses > 0)
            .map(|a| RatedAgent {
                agent_id: a.agent_id,
                name: a.name,
                csat: a.csat.into(),
            })
            .collect(),
    }))
}

/// `GET /api/v1/analytics/peak-hours`: arrivals per local hour, in the organization's zone.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeakHoursWire {
    period: Period,
    /// Per hour of the day, 0 to 23.
    by_hour: [u64; 24],
    /// Per weekday, Monday first, each with its 24 hours.
    by_weekday: Vec<WeekdayHours>,
}

/// One weekday's arrivals per hour.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WeekdayHours {
    weekday: &'static str,
    by_hour: [u64; 24],
}

pub(super) async fn peak_hours(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<PeakHoursWire>, ApiError> {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let r = report(&state, &caller, &q).await?;
    Ok(Json(PeakHoursWire {
        period: r.range.into(),
        by_hour: r.peak_hours.by_hour,
        by_weekday: DAYS
            .iter()
            .zip(r.peak_hours.by_weekday_hour)
            .map(|(d, h)| WeekdayHours {
                weekday: d,
                by_hour: h,
            })
            .collect(),
    }))
}

/// Value in one currency, as decimals (`1500.00`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyWire {
    in_negotiation: f64,
    deals: u64,
    won: f64,
    sales: u64,
}

impl From<CampaignMoney> for MoneyWire {
    fn from(m: CampaignMoney) -> MoneyWire {
        MoneyWire {
            in_negotiation: m.in_negotiation_minor as f64 / 100.0,
            deals: m.deals,
            won: m.won_minor as f64 / 100.0,
            sales: m.sales,
        }
    }
}

/// One campaign.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignWire {
    utm_source: Option<String>,
    ad_platform: Option<AdPlatform>,
    utm_campaign: Option<String>,
    tickets: u64,
    /// Per currency (ISO 4217).
    value: BTreeMap<String, MoneyWire>,
}

/// `GET /api/v1/analytics/campaigns`: what each campaign brought in (ROI per campaign).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignsWire {
    period: Period,
    campaigns: Vec<CampaignWire>,
}

pub(super) async fn campaigns(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<CampaignsWire>, ApiError> {
    let r = report(&state, &caller, &q).await?;
    Ok(Json(CampaignsWire {
        period: r.range.into(),
        campaigns: r
            .campaigns
            .into_iter()
            .map(|c| CampaignWire {
                utm_source: c.utm_source,
                ad_platform: c.ad_platform,
                utm_campaign: c.utm_campaign,
                tickets: c.tickets,
                value: c.value.into_iter().map(|(k, v)| (k, v.into())).collect(),
            })
            .collect(),
    }))
}

/// One CSV field, quoted when it holds a separator, a quote or a line break.
fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

/// A text field someone else wrote (a name, a campaign from an ad link), defused when it
/// starts like a spreadsheet formula, so opening the export runs nothing.
fn csv_text(v: &str) -> String {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    }
}

/// How a ticket's clock stands now, for the export.
fn outcome(
    t: &helpdesk_core::domain::ticket::Ticket,
    m: SlaMetric,
    now: DateTime<Utc>,
) -> &'static str {
    match t
        .sla
        .as_ref()
        .and_then(|s| s.clock(m))
        .map(|c| c.outcome(now))
    {
        Some(ClockOutcome::Met) => "met",
        Some(ClockOutcome::Breached) => "breached",
        Some(ClockOutcome::Running) => "running",
        None => "",
    }
}

/// `GET /api/v1/analytics/export`: the period's tickets (created in it; with `queueId`, those
/// in that queue now) as CSV, one line each, as the caller may list them, without personal
/// data (no names, phones or messages).
pub(super) async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let req = request(&q)?;
    let now = state.hd.now();
    let names: HashMap<QueueId, String> = state
        .hd
        .queues(state.org)
        .await?
        .into_iter()
        .map(|x| (x.id, x.name))
        .collect();
    let agents: HashMap<AgentId, String> = state
        .hd
        .agents(state.org)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let mut out = String::from(
        "number,status,priority,queue,assignee,created_at,first_response_at,first_response_business_secs,\
         resolved_at,resolution_business_secs,sla_first_response,sla_resolution,rating,utm_source,\
         utm_campaign,ad_platform,deal_value,currency\n",
    );
    let mut cursor = None;
    loop {
        let page = state
            .hd
            .list_tickets(
                state.org,
                &caller.0,
                ListTickets {
                    date: Some(req.date),
                    queue_id: req.queue_id,
                    cursor,
                    page_size: Some(100),
                    ..ListTickets::default()
                },
            )
            .await?;
        for s in &page.items {
            let t = &s.ticket;
            let time = |v: Option<DateTime<Utc>>| v.map(|x| x.to_rfc3339()).unwrap_or_default();
            let num = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
            let fields = [
                t.number.to_string(),
                t.status.to_string(),
                t.priority.to_string(),
                csv_text(
                    &t.queue_id
                        .and_then(|x| names.get(&x).cloned())
                        .unwrap_or_default(),
                ),
                csv_text(
                    &t.assignee_id
                        .and_then(|x| agents.get(&x).cloned())
                        .unwrap_or_default(),
                ),
                t.created_at.to_rfc3339(),
                time(t.first_response_at),
                num(t.sla.as_ref().and_then(|x| x.first_response_secs())),
                time(t.resolved_at),
                num(t.sla.as_ref().and_then(|x| x.resolution_secs())),
                outcome(t, SlaMetric::FirstResponse, now).to_owned(),
                outcome(t, SlaMetric::Resolution, now).to_owned(),
                t.rating
                    .as_ref()
                    .map(|x| x.score.to_string())
                    .unwrap_or_default(),
                csv_text(t.tracking.utm_source.as_deref().unwrap_or_default()),
                csv_text(t.tracking.utm_campaign.as_deref().unwrap_or_default()),
                t.tracking
                    .ad_platform()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
                t.deal_value
                    .as_ref()
                    .map(|m| format!("{:.2}", m.to_decimal()))
                    .unwrap_or_default(),
                t.deal_value
                    .as_ref()
                    .map(|m| m.currency.clone())
                    .unwrap_or_default(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"tickets.csv\"".to_owned(),
            ),
        ],
        out,
    )
        .into_response())
}
