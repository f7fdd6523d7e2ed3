//! Reporting in SQL, with the semantics of core's `Report::compute` (the conformance suite
//! compares both stores). Each population is one indexed range query whose `GROUPING SETS`
//! give the overall figure and its breakdowns (per agent, per queue, per day…) in one pass;
//! the columns they read are projected from the documents by the database (migration 0005).

use crate::error::db;
use crate::tx::PgTx;
use chrono::NaiveDate;
use helpdesk_core::Result;
use helpdesk_core::domain::party::ChannelKind;
use helpdesk_core::domain::ticket::{Priority, TicketStatus};
use helpdesk_core::domain::tracking::AdPlatform;
use helpdesk_core::ids::{AgentId, CategoryId, ChannelAccountId, QueueId, SlaPolicyId};
use helpdesk_core::store::StoreTx;
use helpdesk_core::store::report::{
    AgentReport, CampaignValue, ChannelCount, Compliance, Csat, DayVolume, Distribution,
    MetricCompliance, NamedCount, Overview, PeakHours, PolicyCompliance, QueueReport, Report,
    ReportQuery, SlaCompliance, TimeStats,
};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Binds `$1` org, `$2` from, `$3` to, `$4` queue filter, `$5` zone, `$6` now to `sql`.
fn query<'q>(
    tx: &PgTx,
    q: &ReportQuery,
    sql: String,
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tx.org_id().0)
        .bind(q.range.from)
        .bind(q.range.to)
        .bind(q.queue_id.map(|x| x.0))
        .bind(q.timezone.name())
        .bind(q.now)
}

async fn rows(tx: &mut PgTx, q: &ReportQuery, sql: String) -> Result<Vec<PgRow>> {
    let qq = query(tx, q, sql);
    qq.fetch_all(&mut *tx.tx).await.map_err(db)
}

fn get<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(
    r: &'r PgRow,
    i: usize,
) -> Result<T> {
    r.try_get(i).map_err(db)
}

/// `count, sum, p50, p90` of the expression `x` (NULLs left out), as SQL.
fn stats_sql(x: &str) -> String {
    format!(
        "count({x}), COALESCE(sum({x}), 0)::bigint,
         percentile_disc(0.5) WITHIN GROUP (ORDER BY {x}), percentile_disc(0.9) WITHIN GROUP (ORDER BY {x})"
    )
}

/// Reads the four columns of [`stats_sql`] starting at `i`.
fn stats_at(r: &PgRow, i: usize) -> Result<TimeStats> {
    let count: i64 = get(r, i)?;
    let sum: i64 = get(r, i + 1)?;
    Ok(TimeStats {
        count: count as u64,
        sum_secs: sum,
        avg_secs: (count > 0).then(|| sum / count),
        p50_secs: get(r, i + 2)?,
        p90_secs: get(r, i + 3)?,
    })
}

/// The five score counts of a CSAT distribution, as SQL.
const CSAT_SQL: &str = "count(*) FILTER (WHERE rating <= 1), count(*) FILTER (WHERE rating = 2),
    count(*) FILTER (WHERE rating = 3), count(*) FILTER (WHERE rating = 4),
    count(*) FILTER (WHERE rating >= 5)";

fn csat_at(r: &PgRow, i: usize) -> Result<Csat> {
    let mut d = [0u64; 5];
    for (k, x) in d.iter_mut().enumerate() {
        *x = get::<i64>(r, i + k)? as u64;
    }
    Ok(Csat::from_distribution(d))
}

fn uuid_at(r: &PgRow, i: usize) -> Result<Option<Uuid>> {
    get(r, i)
}

/// Per-breakdown accumulators of the event populations.
#[derive(Default)]
struct Acc {
    created: u64,
    frb: TimeStats,
    resolved: u64,
    rb: TimeStats,
    wait: TimeStats,
    csat: Csat,
    assigned: u64,
}

/// Which grouping set a row belongs to: `GROUPING(a, b, …)` has a bit per argument, the
/// first one highest, set when the row is not grouped by that argument (so the overall row
/// has every bit set, a row per value of `b` alone is `0b101` for three arguments).
fn grouping(r: &PgRow, i: usize) -> Result<i32> {
    get(r, i)
}

pub(crate) async fn report(tx: &mut PgTx, q: &ReportQuery) -> Result<Report> {
    let mut overall = Acc::default();
    let mut agents: BTreeMap<AgentId, Acc> = BTreeMap::new();
    let mut queues: BTreeMap<Option<QueueId>, Acc> = BTreeMap::new();
    let mut days: BTreeMap<NaiveDate, (u64, u64)> = BTreeMap::new();
    let mut peak = [[0u64; 24]; 7];
    let mut done = 0u64;
    let in_range = |c: &str| format!("org_id = $1 AND {c} >= $2 AND {c} < $3");
    let in_queue = |c: &str| format!("($4::uuid IS NULL OR {c} = $4)");

    // Arrivals: created in the range, in the queue they were created in.
    let sql = format!(
        "SELECT GROUPING(d, dow, hr, origin_queue_id), d, dow, hr, count(*),
                count(*) FILTER (WHERE status IN ('resolved', 'closed')), origin_queue_id
         FROM (SELECT *, (created_at AT TIME ZONE $5)::date AS d,
                      extract(isodow FROM created_at AT TIME ZONE $5)::int - 1 AS dow,
                      extract(hour FROM created_at AT TIME ZONE $5)::int AS hr
               FROM tickets WHERE {r} AND {qf}) t
         GROUP BY GROUPING SETS ((), (d), (dow, hr), (origin_queue_id))",
        r = in_range("created_at"),
        qf = in_queue("origin_queue_id"),
    );
    for r in rows(tx, q, sql).await? {
        let n = get::<i64>(&r, 4)? as u64;
        match grouping(&r, 0)? {
            15 => {
                overall.created = n;
                done = get::<i64>(&r, 5)? as u64;
            }
            14 => {
                queues
                    .entry(uuid_at(&r, 6)?.map(QueueId))
                    .or_default()
                    .created = n
            }
            7 => days.entry(get(&r, 1)?).or_default().0 = n,
            9 => {
                let (dow, hr): (i32, i32) = (get(&r, 2)?, get(&r, 3)?);
                if let (Ok(dw), Ok(h)) = (usize::try_from(dow), usize::try_from(hr))
                    && dw < 7
                    && h < 24
                {
                    peak[dw][h] = n;
                }
            }
            _ => {}
        }
    }

    // First responses sent in the range, in the queue the ticket was in then.
    let sql = format!(
        "SELECT GROUPING(first_response_by, first_response_queue_id), first_response_by, first_response_queue_id,
                {wall}, {business}
         FROM (SELECT first_response_by, first_response_queue_id,
                      trunc(extract(epoch FROM first_response_at - created_at))::bigint AS wall,
                      first_response_bsecs AS business
               FROM tickets WHERE {r} AND {qf}) t
         GROUP BY GROUPING SETS ((), (first_response_by), (first_response_queue_id))",
        wall = stats_sql("wall"),
        business = stats_sql("business"),
        r = in_range("first_response_at"),
        qf = in_queue("first_response_queue_id"),
    );
    let mut frw = TimeStats::default();
    for r in rows(tx, q, sql).await? {
        let business = stats_at(&r, 7)?;
        match grouping(&r, 0)? {
            3 => {
                frw = stats_at(&r, 3)?;
                overall.frb = business;
            }
            1 => {
                if let Some(a) = uuid_at(&r, 1)? {
                    agents.entry(AgentId(a)).or_default().frb = business;
                }
            }
            2 => queues.entry(uuid_at(&r, 2)?.map(QueueId)).or_default().frb = business,
            _ => {}
        }
    }

    // Resolutions in the range, in the queue the ticket was in then.
    let sql = format!(
        "SELECT GROUPING(resolved_by, resolved_queue_id, d), resolved_by, resolved_queue_id, d,
                {wall}, {business}
         FROM (SELECT resolved_by, resolved_queue_id, (resolved_at AT TIME ZONE $5)::date AS d,
                      trunc(extract(epoch FROM resolved_at - created_at))::bigint AS wall,
                      resolution_bsecs AS business
               FROM tickets WHERE {r} AND {qf}) t
         GROUP BY GROUPING SETS ((), (resolved_by), (resolved_queue_id), (d))",
        wall = stats_sql("wall"),
        business = stats_sql("business"),
        r = in_range("resolved_at"),
        qf = in_queue("resolved_queue_id"),
    );
    let mut rw = TimeStats::default();
    for r in rows(tx, q, sql).await? {
        let wall = stats_at(&r, 4)?;
        let business = stats_at(&r, 8)?;
        match grouping(&r, 0)? {
            7 => {
                rw = wall;
                overall.resolved = wall.count;
                overall.rb = business;
            }
            3 => {
                if let Some(a) = uuid_at(&r, 1)? {
                    let acc = agents.entry(AgentId(a)).or_default();
                    acc.resolved = wall.count;
                    acc.rb = business;
                }
            }
            5 => {
                let acc = queues.entry(uuid_at(&r, 2)?.map(QueueId)).or_default();
                acc.resolved = wall.count;
                acc.rb = business;
            }
            6 => days.entry(get(&r, 3)?).or_default().1 = wall.count,
            _ => {}
        }
    }

    // Ratings given in the range, to the agent and queue they rate.
    let sql = format!(
        "SELECT GROUPING(rating_agent_id, rating_queue_id), rating_agent_id, rating_queue_id, {CSAT_SQL}
         FROM tickets WHERE {r} AND {qf} AND rating IS NOT NULL
         GROUP BY GROUPING SETS ((), (rating_agent_id), (rating_queue_id))",
        r = in_range("rated_at"),
        qf = in_queue("rating_queue_id"),
    );
    for r in rows(tx, q, sql).await? {
        let c = csat_at(&r, 3)?;
        match grouping(&r, 0)? {
            3 => overall.csat = c,
            1 => {
                if let Some(a) = uuid_at(&r, 1)? {
                    agents.entry(AgentId(a)).or_default().csat = c;
                }
            }
            2 => queues.entry(uuid_at(&r, 2)?.map(QueueId)).or_default().csat = c,
            _ => {}
        }
    }

    // Attendances taken in the range: the wait in their queue.
    let sql = format!(
        "SELECT GROUPING(agent_id, queue_id), agent_id, queue_id, {wait}
         FROM (SELECT agent_id, queue_id, trunc(extract(epoch FROM started_at - queued_at))::bigint AS wait
               FROM assignment_cycles WHERE {r} AND {qf} AND agent_id IS NOT NULL) c
         GROUP BY GROUPING SETS ((), (agent_id), (queue_id))",
        wait = stats_sql("wait"),
        r = in_range("started_at"),
        qf = in_queue("queue_id"),
    );
    for r in rows(tx, q, sql).await? {
        let w = stats_at(&r, 3)?;
        match grouping(&r, 0)? {
            3 => overall.wait = w,
            1 => {
                if let Some(a) = uuid_at(&r, 1)? {
                    agents.entry(AgentId(a)).or_default().assigned = w.count;
                }
            }
            2 => queues.entry(uuid_at(&r, 2)?.map(QueueId)).or_default().wait = w,
            _ => {}
        }
    }

    let distribution = distribution(tx, q).await?;
    let sla = sla_compliance(tx, q).await?;
    let campaigns = campaigns(tx, q).await?;

    let agent_names: BTreeMap<AgentId, String> = tx
        .agents()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let queue_names = queue_names(tx).await?;
    Ok(Report {
        range: q.range,
        overview: Overview {
            created: overall.created,
            resolved: overall.resolved,
            created_and_done: done,
            resolution_rate: (overall.created > 0).then(|| done as f64 / overall.created as f64),
            first_response_wall: frw,
            first_response_business: overall.frb,
            resolution_wall: rw,
            resolution_business: overall.rb,
            wait_in_queue: overall.wait,
        },
        volume: days
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
        sla,
        csat: overall.csat,
        agents: agents
            .into_iter()
            .map(|(agent_id, a)| AgentReport {
                agent_id,
                name: agent_names.get(&agent_id).cloned(),
                assigned: a.assigned,
                first_response_business: a.frb,
                resolved: a.resolved,
                resolution_business: a.rb,
                csat: a.csat,
            })
            .collect(),
        queues: queues
            .into_iter()
            .map(|(queue_id, a)| QueueReport {
                queue_id,
                name: queue_id.and_then(|id| queue_names.get(&id).cloned()),
                created: a.created,
                first_response_business: a.frb,
                resolved: a.resolved,
                resolution_business: a.rb,
                wait_in_queue: a.wait,
                csat: a.csat,
            })
            .collect(),
        campaigns,
    })
}

async fn queue_names(tx: &mut PgTx) -> Result<BTreeMap<QueueId, String>> {
    Ok(tx
        .queues()
        .await?
        .into_iter()
        .map(|x| (x.id, x.name))
        .collect())
}

/// Where the tickets created in the range are now (in the queue they are in now).
async fn distribution(tx: &mut PgTx, q: &ReportQuery) -> Result<Distribution> {
    let sql = "SELECT GROUPING(status, priority, queue_id, category_id, channel_account_id),
                      status, priority, queue_id, category_id, channel_account_id, count(*)
               FROM tickets
               WHERE org_id = $1 AND created_at >= $2 AND created_at < $3
                 AND ($4::uuid IS NULL OR queue_id = $4)
               GROUP BY GROUPING SETS ((status), (priority), (queue_id), (category_id), (channel_account_id))"
        .to_owned();
    let mut d = Distribution::default();
    let (mut by_queue, mut by_category, mut by_channel) = (
        BTreeMap::<Option<QueueId>, u64>::new(),
        BTreeMap::<Option<CategoryId>, u64>::new(),
        BTreeMap::<ChannelAccountId, u64>::new(),
    );
    for r in rows(tx, q, sql).await? {
        let n = get::<i64>(&r, 6)? as u64;
        // GROUPING(a, b, c, d, e) has the bit of every column not grouped by: 31 minus one bit.
        match grouping(&r, 0)? {
            15 => {
                d.by_status
                    .insert(TicketStatus::parse(&get::<String>(&r, 1)?)?, n);
            }
            23 => {
                d.by_priority
                    .insert(Priority::parse(&get::<String>(&r, 2)?)?, n);
            }
            27 => {
                by_queue.insert(uuid_at(&r, 3)?.map(QueueId), n);
            }
            29 => {
                by_category.insert(uuid_at(&r, 4)?.map(CategoryId), n);
            }
            30 => {
                if let Some(a) = uuid_at(&r, 5)? {
                    by_channel.insert(ChannelAccountId(a), n);
                }
            }
            _ => {}
        }
    }
    let queue_names = queue_names(tx).await?;
    let categories: BTreeMap<CategoryId, String> = tx
        .categories()
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let accounts: BTreeMap<ChannelAccountId, (ChannelKind, String)> = tx
        .channel_accounts()
        .await?
        .into_iter()
        .map(|a| (a.id, (a.kind, a.name)))
        .collect();
    d.by_queue = by_queue
        .into_iter()
        .map(|(id, count)| NamedCount {
            id,
            name: id.and_then(|i| queue_names.get(&i).cloned()),
            count,
        })
        .collect();
    d.by_category = by_category
        .into_iter()
        .map(|(id, count)| NamedCount {
            id,
            name: id.and_then(|i| categories.get(&i).cloned()),
            count,
        })
        .collect();
    d.by_channel = by_channel
        .into_iter()
        .map(|(id, count)| {
            let a = accounts.get(&id);
            ChannelCount {
                channel_account_id: id,
                kind: a.map(|a| a.0),
                name: a.map(|a| a.1.clone()),
                count,
            }
        })
        .collect();
    Ok(d)
}

/// SLA compliance of the tickets created in the range: each clock in the queue it is
/// credited to (where it was met, or the ticket's queue while it runs).
async fn sla_compliance(tx: &mut PgTx, q: &ReportQuery) -> Result<SlaCompliance> {
    // Outcome at `now` of a clock: 'met', 'breached' or 'running'; credited queue filter.
    let outcome = |o: &str, due: &str| {
        format!(
            "CASE WHEN {o} = 'met' THEN 'met' WHEN {o} IN ('late', 'breached') THEN 'breached'
                  WHEN {o} = 'running' AND {due} <= $6 THEN 'breached'
                  WHEN {o} = 'running' THEN 'running' END"
        )
    };
    let credited = |o: &str, met_queue: &str| {
        format!(
            "($4::uuid IS NULL OR (CASE WHEN {o} IN ('met', 'late') THEN {met_queue} ELSE queue_id END) = $4)"
        )
    };
    let counts = |col: &str| {
        format!(
            "count(*) FILTER (WHERE {col} = 'met'), count(*) FILTER (WHERE {col} = 'breached'),
             count(*) FILTER (WHERE {col} = 'running')"
        )
    };
    let sql = format!(
        "SELECT GROUPING(sla_policy_id), sla_policy_id, {fr}, {nr}, {res},
                COALESCE(sum(sla_nr_met) FILTER (WHERE nr_done), 0)::bigint,
                COALESCE(sum(sla_nr_late) FILTER (WHERE nr_done), 0)::bigint
         FROM (SELECT sla_policy_id, sla_nr_met, sla_nr_late,
                      CASE WHEN {fr_q} THEN {fr_o} END AS fr,
                      CASE WHEN {nr_q} THEN {nr_o} END AS nr,
                      CASE WHEN {res_q} THEN {res_o} END AS res,
                      ($4::uuid IS NULL OR queue_id = $4) AND (sla_nr_met > 0 OR sla_nr_late > 0) AS nr_done
               FROM tickets
               WHERE org_id = $1 AND created_at >= $2 AND created_at < $3 AND sla_policy_id IS NOT NULL) t
         WHERE fr IS NOT NULL OR nr IS NOT NULL OR res IS NOT NULL OR nr_done
         GROUP BY GROUPING SETS ((), (sla_policy_id))",
        fr = counts("fr"),
        nr = counts("nr"),
        res = counts("res"),
        fr_q = credited("sla_fr", "first_response_queue_id"),
        fr_o = outcome("sla_fr", "sla_fr_due"),
        nr_q = credited("sla_nr", "queue_id"),
        nr_o = outcome("sla_nr", "sla_nr_due"),
        res_q = credited("sla_res", "resolved_queue_id"),
        res_o = outcome("sla_res", "sla_res_due"),
    );
    let mut out = SlaCompliance::default();
    let names: BTreeMap<SlaPolicyId, String> = tx
        .sla_policies()
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let mut per: BTreeMap<SlaPolicyId, Compliance> = BTreeMap::new();
    for r in rows(tx, q, sql).await? {
        let m = |i: usize| -> Result<MetricCompliance> {
            Ok(MetricCompliance::of(
                get::<i64>(&r, i)? as u64,
                get::<i64>(&r, i + 1)? as u64,
                get::<i64>(&r, i + 2)? as u64,
            ))
        };
        let (nr_met, nr_late) = (get::<i64>(&r, 11)? as u64, get::<i64>(&r, 12)? as u64);
        let nr = m(5)?;
        let c = Compliance {
            first_response: m(2)?,
            next_response: MetricCompliance::of(nr.met + nr_met, nr.breached + nr_late, nr.running),
            resolution: m(8)?,
        };
        match grouping(&r, 0)? {
            1 => out.overall = c,
            _ => {
                if let Some(p) = uuid_at(&r, 1)? {
                    per.insert(SlaPolicyId(p), c);
                }
            }
        }
    }
    out.policies = per
        .into_iter()
        .map(|(policy_id, compliance)| PolicyCompliance {
            policy_id,
            name: names.get(&policy_id).cloned(),
            compliance,
        })
        .collect();
    Ok(out)
}

type CampaignKey = (Option<String>, Option<AdPlatform>, Option<String>);

/// The campaign of a row whose first three columns are source, platform and campaign.
fn campaign<'a>(
    out: &'a mut BTreeMap<CampaignKey, CampaignValue>,
    r: &PgRow,
) -> Result<&'a mut CampaignValue> {
    let platform: Option<String> = get(r, 1)?;
    let key: CampaignKey = (
        get(r, 0)?,
        platform.and_then(|s| AdPlatform::ALL.into_iter().find(|p| p.as_str() == s)),
        get(r, 2)?,
    );
    Ok(out.entry(key.clone()).or_insert(CampaignValue {
        utm_source: key.0,
        ad_platform: key.1,
        utm_campaign: key.2,
        tickets: 0,
        value: BTreeMap::new(),
    }))
}

/// Tickets created in the range (in the queue they were created in) per source, platform and
/// campaign, with their deal values and sales per currency.
async fn campaigns(tx: &mut PgTx, q: &ReportQuery) -> Result<Vec<CampaignValue>> {
    let mut out: BTreeMap<CampaignKey, CampaignValue> = BTreeMap::new();
    let sql = "SELECT utm_source_key, ad_platform, utm_campaign, deal_currency, count(*),
                      COALESCE(sum(deal_minor), 0)::bigint, count(deal_minor)
               FROM tickets
               WHERE org_id = $1 AND created_at >= $2 AND created_at < $3
                 AND ($4::uuid IS NULL OR origin_queue_id = $4)
               GROUP BY utm_source_key, ad_platform, utm_campaign, deal_currency";
    for r in rows(tx, q, sql.to_owned()).await? {
        let c = campaign(&mut out, &r)?;
        c.tickets += get::<i64>(&r, 4)? as u64;
        if let Some(cur) = get::<Option<String>>(&r, 3)? {
            let m = c.value.entry(cur).or_default();
            m.in_negotiation_minor += get::<i64>(&r, 5)?;
            m.deals += get::<i64>(&r, 6)? as u64;
        }
    }
    let sql = "SELECT t.utm_source_key, t.ad_platform, t.utm_campaign, s.currency,
                      COALESCE(sum(s.amount_minor), 0)::bigint, count(*)
               FROM tickets t JOIN sales s ON s.org_id = t.org_id AND s.ticket_id = t.id
               WHERE t.org_id = $1 AND t.created_at >= $2 AND t.created_at < $3
                 AND ($4::uuid IS NULL OR t.origin_queue_id = $4)
               GROUP BY t.utm_source_key, t.ad_platform, t.utm_campaign, s.currency";
    for r in rows(tx, q, sql.to_owned()).await? {
        let c = campaign(&mut out, &r)?;
        if let Some(cur) = get::<Option<String>>(&r, 3)? {
            let m = c.value.entry(cur).or_default();
            m.won_minor += get::<i64>(&r, 4)?;
            m.sales += get::<i64>(&r, 5)? as u64;
        }
    }
    Ok(out.into_values().collect())
}
