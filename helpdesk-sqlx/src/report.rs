//! Reporting in SQL, with the semantics of core's `Report::compute` (the conformance suite
//! compares both stores).
//!
//! Each population is a range of one index that carries every column its queries read
//! (migration 0005), so a report never visits ticket rows. The queries group by the finest
//! key a figure needs (hash aggregates, no sorts) and the breakdowns are summed here;
//! durations come as arrays of the stored instants and are summarized with the reference's
//! own `TimeStats::of`. A report reads in one REPEATABLE READ snapshot outside any workflow
//! transaction; on a pool with room, two of its three parts run at once on connections that
//! import that snapshot, so it takes as long as its slowest part. A semaphore caps the
//! reports running at once, so they never take the connections the desk's traffic needs.

use crate::error::db;
use chrono::{DateTime, NaiveDate, Utc};
use helpdesk_core::Result;
use helpdesk_core::domain::party::ChannelKind;
use helpdesk_core::domain::ticket::{Priority, TicketStatus};
use helpdesk_core::domain::tracking::AdPlatform;
use helpdesk_core::ids::{AgentId, CategoryId, ChannelAccountId, OrgId, QueueId, SlaPolicyId};
use helpdesk_core::store::report::{
    CampaignKey, Compliance, MetricCompliance, Names, Part, Report, ReportQuery, Tally,
};
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Postgres, Row, Transaction};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Runs `sql` with `$1` org, `$2` from, `$3` to, `$4` queue filter, `$5` now bound.
async fn rows(c: &mut PgConnection, org: OrgId, q: &ReportQuery, sql: &str) -> Result<Vec<PgRow>> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(org.0)
        .bind(q.range.from)
        .bind(q.range.to)
        .bind(q.queue_id.map(|x| x.0))
        .bind(q.now)
        .fetch_all(c)
        .await
        .map_err(db)
}

fn get<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(
    r: &'r PgRow,
    i: usize,
) -> Result<T> {
    r.try_get(i).map_err(db)
}

fn uuid_at(r: &PgRow, i: usize) -> Result<Option<Uuid>> {
    get(r, i)
}

fn count_at(r: &PgRow, i: usize) -> Result<u64> {
    Ok(get::<i64>(r, i)?.max(0) as u64)
}

/// `org_id = $1` and the column `c` in the range.
fn in_range(c: &str) -> String {
    format!("org_id = $1 AND {c} >= $2 AND {c} < $3")
}

/// The queue filter on the column `c`.
fn in_queue(c: &str) -> String {
    format!("($4::uuid IS NULL OR {c} = $4)")
}

/// The local day, weekday (Monday 0) and hour of an instant, in the organization's zone.
fn local(q: &ReportQuery, t: DateTime<Utc>) -> (NaiveDate, usize, usize) {
    use chrono::{Datelike, Timelike};
    let t = t.with_timezone(&q.timezone);
    (
        t.date_naive(),
        t.weekday().num_days_from_monday() as usize,
        t.hour() as usize,
    )
}

/// A population's rows for one agent and queue: the instant each event happened (`ends`),
/// its wall duration (`a`: from `starts`, computed here exactly as the reference does), and
/// the business seconds where known (`b`).
struct Group {
    agent: Option<AgentId>,
    queue: Option<QueueId>,
    ends: Vec<DateTime<Utc>>,
    a: Vec<i64>,
    b: Vec<i64>,
}

/// Runs `sql`, which answers `agent, queue, array_agg(start), array_agg(end),
/// array_agg(business seconds)` per agent and queue. Postgres only hashes the rows into their
/// groups and hands the instants over as they are stored; the durations and their statistics
/// are computed here (sorting every breakdown for every percentile in SQL, and the numeric
/// arithmetic of `extract(epoch …)` per row, cost several times more).
async fn groups(
    c: &mut PgConnection,
    org: OrgId,
    q: &ReportQuery,
    sql: &str,
) -> Result<Vec<Group>> {
    rows(c, org, q, sql)
        .await?
        .iter()
        .map(|r| {
            let starts = get::<Option<Vec<DateTime<Utc>>>>(r, 2)?.unwrap_or_default();
            let ends = get::<Option<Vec<DateTime<Utc>>>>(r, 3)?.unwrap_or_default();
            Ok(Group {
                agent: uuid_at(r, 0)?.map(AgentId),
                queue: uuid_at(r, 1)?.map(QueueId),
                a: starts
                    .iter()
                    .zip(&ends)
                    .map(|(s, e)| (*e - *s).num_seconds())
                    .collect(),
                ends,
                b: get::<Option<Vec<i64>>>(r, 4)?.unwrap_or_default(),
            })
        })
        .collect()
}

/// A connection reading in the report's snapshot.
async fn on_snapshot(pool: &PgPool, snapshot: &str) -> Result<Transaction<'static, Postgres>> {
    // The id comes from pg_export_snapshot (hex digits and dashes); checked all the same,
    // since SET TRANSACTION SNAPSHOT takes no parameters.
    if !snapshot.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(helpdesk_core::Error::store(
            "unexpected snapshot id",
            false,
            std::fmt::Error,
        ));
    }
    let mut t = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(db)?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SET TRANSACTION SNAPSHOT '{snapshot}'"
    )))
    .execute(&mut *t)
    .await
    .map_err(db)?;
    // The grouping sets hash their groups in memory (not sort them on disk).
    sqlx::query("SET LOCAL work_mem = '64MB'")
        .execute(&mut *t)
        .await
        .map_err(db)?;
    Ok(t)
}

/// How a clock of a row counts at the report's `now`: `outcome` as stored (`met`, `late`,
/// `breached`, `running`), whether it is due, and the queue it is credited to.
fn clock_at(outcome: Option<String>, due: bool) -> MetricCompliance {
    match outcome.as_deref() {
        Some("met") => MetricCompliance::of(1, 0, 0),
        Some("late" | "breached") => MetricCompliance::of(0, 1, 0),
        Some("running") if due => MetricCompliance::of(0, 1, 0),
        Some("running") => MetricCompliance::of(0, 0, 1),
        _ => MetricCompliance::default(),
    }
}

fn times(m: MetricCompliance, n: u64) -> MetricCompliance {
    MetricCompliance::of(m.met * n, m.breached * n, m.running * n)
}

/// What the tickets created in the range give, grouped: distribution, SLA compliance and
/// campaigns (with their sales).
async fn created(c: &mut PgConnection, org: OrgId, q: &ReportQuery) -> Result<Tally> {
    let mut out = Tally::default();
    let in_filter = |queue: Option<Uuid>| q.queue_id.is_none_or(|f| queue == Some(f.0));
    // One pass over the range's tickets, grouped three ways: distribution, SLA clocks,
    // campaigns. Every grouping carries the queue its figures are credited to, so the queue
    // filter is applied here.
    const DISTRIBUTION: &[&str] = &[
        "status",
        "priority",
        "queue_id",
        "category_id",
        "channel_account_id",
    ];
    const SLA: &[&str] = &[
        "sla_policy_id",
        "sla_fr",
        "fr_due",
        "fr_queue",
        "sla_nr",
        "nr_due",
        "sla_res",
        "res_due",
        "res_queue",
        "queue_id",
    ];
    const CAMPAIGNS: &[&str] = &[
        "utm_source_key",
        "ad_platform",
        "utm_campaign",
        "deal_currency",
        "origin_queue_id",
    ];
    // Every key of the three sets once, in a fixed order: the GROUPING column's bits and the
    // result's columns follow it.
    let mut all: Vec<&str> = Vec::new();
    for key in DISTRIBUTION.iter().chain(SLA).chain(CAMPAIGNS) {
        if !all.contains(key) {
            all.push(key);
        }
    }
    let keys = all.join(", ");
    let sql = format!(
        "SELECT GROUPING({keys}), {keys},
                count(*), COALESCE(sum(sla_nr_met), 0)::bigint, COALESCE(sum(sla_nr_late), 0)::bigint,
                COALESCE(sum(deal_minor), 0)::bigint, count(deal_minor)
         FROM (SELECT *,
                      COALESCE(sla_fr_due <= $5, false) AS fr_due,
                      CASE WHEN sla_fr IN ('met', 'late') THEN first_response_queue_id ELSE queue_id END AS fr_queue,
                      COALESCE(sla_nr_due <= $5, false) AS nr_due,
                      COALESCE(sla_res_due <= $5, false) AS res_due,
                      CASE WHEN sla_res IN ('met', 'late') THEN resolved_queue_id ELSE queue_id END AS res_queue
               FROM tickets WHERE {r}) t
         GROUP BY GROUPING SETS (({d}), ({s}), ({c}))",
        r = in_range("created_at"),
        d = DISTRIBUTION.join(", "),
        s = SLA.join(", "),
        c = CAMPAIGNS.join(", "),
    );
    // A key's column (after the GROUPING column), and the aggregates after the keys.
    let k = |name: &str| 1 + all.iter().position(|x| *x == name).unwrap_or(all.len());
    let count = 1 + all.len();
    let (nr_met, nr_late, deal_sum, deals) = (count + 1, count + 2, count + 3, count + 4);
    // GROUPING(…) sets a bit per key a row is not grouped by, the first key highest.
    let grouped_by = |set: &[&str]| -> i32 {
        all.iter()
            .enumerate()
            .filter(|(_, x)| !set.contains(x))
            .map(|(i, _)| 1 << (all.len() - 1 - i))
            .sum()
    };
    let (distribution, sla, campaigns) = (
        grouped_by(DISTRIBUTION),
        grouped_by(SLA),
        grouped_by(CAMPAIGNS),
    );
    for r in rows(c, org, q, &sql).await? {
        let n = count_at(&r, count)?;
        let set: i32 = get(&r, 0)?;
        if set == distribution {
            let queue = uuid_at(&r, k("queue_id"))?;
            if !in_filter(queue) {
                continue;
            }
            let d = &mut out.distribution;
            *d.by_status
                .entry(TicketStatus::parse(&get::<String>(&r, k("status"))?)?)
                .or_default() += n;
            *d.by_priority
                .entry(Priority::parse(&get::<String>(&r, k("priority"))?)?)
                .or_default() += n;
            *out.by_queue.entry(queue.map(QueueId)).or_default() += n;
            *out.by_category
                .entry(uuid_at(&r, k("category_id"))?.map(CategoryId))
                .or_default() += n;
            if let Some(a) = uuid_at(&r, k("channel_account_id"))? {
                *out.by_channel.entry(ChannelAccountId(a)).or_default() += n;
            }
        } else if set == sla {
            let Some(policy) = uuid_at(&r, k("sla_policy_id"))? else {
                continue;
            };
            let credited = |col: &str| -> Result<bool> { Ok(in_filter(uuid_at(&r, k(col))?)) };
            let clock = |outcome: &str, due: &str| -> Result<MetricCompliance> {
                Ok(times(clock_at(get(&r, k(outcome))?, get(&r, k(due))?), n))
            };
            let mut m = Compliance::default();
            if credited("fr_queue")? {
                m.first_response = clock("sla_fr", "fr_due")?;
            }
            if credited("queue_id")? {
                // The current next-response cycle (while not met), and the cycles completed,
                // all credited to the ticket's queue now.
                let current = clock("sla_nr", "nr_due")?;
                m.next_response = MetricCompliance::of(
                    current.met + count_at(&r, nr_met)?,
                    current.breached + count_at(&r, nr_late)?,
                    current.running,
                );
            }
            if credited("res_queue")? {
                m.resolution = clock("sla_res", "res_due")?;
            }
            if m != Compliance::default() {
                out.sla.add(&m);
                out.sla_per_policy
                    .entry(SlaPolicyId(policy))
                    .or_default()
                    .add(&m);
            }
        } else if set == campaigns {
            if !in_filter(uuid_at(&r, k("origin_queue_id"))?) {
                continue;
            }
            let camp = out.campaign(campaign_key(
                get(&r, k("utm_source_key"))?,
                get(&r, k("ad_platform"))?,
                get(&r, k("utm_campaign"))?,
            ));
            camp.tickets += n;
            if let Some(cur) = get::<Option<String>>(&r, k("deal_currency"))? {
                let m = camp.value.entry(cur).or_default();
                m.in_negotiation_minor += get::<i64>(&r, deal_sum)?;
                m.deals += count_at(&r, deals)?;
            }
        }
    }
    // The sales of the range's tickets: a sale carries its ticket's creation, queue and
    // campaign (migration 0005).
    let sql = format!(
        "SELECT ticket_utm_source_key, ticket_ad_platform, ticket_utm_campaign, currency,
                sum(amount_minor)::bigint, count(*)
         FROM sales WHERE {r} AND {qf}
         GROUP BY 1, 2, 3, 4",
        r = in_range("ticket_created_at"),
        qf = in_queue("ticket_origin_queue_id"),
    );
    for r in rows(c, org, q, &sql).await? {
        let camp = out.campaign(campaign_key(get(&r, 0)?, get(&r, 1)?, get(&r, 2)?));
        if let Some(cur) = get::<Option<String>>(&r, 3)? {
            let m = camp.value.entry(cur).or_default();
            m.won_minor += get::<i64>(&r, 4)?;
            m.sales += count_at(&r, 5)?;
        }
    }
    Ok(out)
}

/// Arrivals per queue they arrived in, their instants cut into local days and hours here.
async fn arrivals(c: &mut PgConnection, org: OrgId, q: &ReportQuery) -> Result<Tally> {
    let mut out = Tally::default();
    let sql = format!(
        "SELECT origin_queue_id, status IN ('resolved', 'closed'), array_agg(created_at)
         FROM tickets WHERE {r} AND {qf}
         GROUP BY 1, 2",
        r = in_range("created_at"),
        qf = in_queue("origin_queue_id"),
    );
    for r in rows(c, org, q, &sql).await? {
        let instants = get::<Vec<DateTime<Utc>>>(&r, 2)?;
        let n = instants.len() as u64;
        out.created += n;
        if get::<bool>(&r, 1)? {
            out.created_and_done += n;
        }
        out.queues
            .entry(uuid_at(&r, 0)?.map(QueueId))
            .or_default()
            .created += n;
        for t in instants {
            let (day, wd, h) = local(q, t);
            out.days.entry(day).or_default().0 += 1;
            out.peak[wd][h] += 1;
        }
    }
    Ok(out)
}

/// The campaign key of a source, platform (its storage name) and campaign.
fn campaign_key(
    source: Option<String>,
    platform: Option<String>,
    name: Option<String>,
) -> CampaignKey {
    (
        source,
        platform.and_then(|s| AdPlatform::ALL.into_iter().find(|p| p.as_str() == s)),
        name,
    )
}

/// First responses sent in the range, in the queue the ticket was in then.
async fn first_responses(c: &mut PgConnection, org: OrgId, q: &ReportQuery) -> Result<Tally> {
    let sql = format!(
        "SELECT first_response_by, first_response_queue_id, array_agg(created_at), array_agg(first_response_at),
                array_agg(first_response_bsecs) FILTER (WHERE first_response_bsecs IS NOT NULL)
         FROM tickets WHERE {r} AND {qf}
         GROUP BY 1, 2",
        r = in_range("first_response_at"),
        qf = in_queue("first_response_queue_id"),
    );
    let mut out = Tally::default();
    for g in groups(c, org, q, &sql).await? {
        out.first_response_wall.extend(&g.a);
        out.first_response_business.extend(&g.b);
        let credit = |p: &mut Part| p.first_response_business.extend(&g.b);
        credit(out.queues.entry(g.queue).or_default());
        if let Some(a) = g.agent {
            credit(out.agents.entry(a).or_default());
        }
    }
    Ok(out)
}

/// Resolutions in the range, in the queue the ticket was in then, and the days they fell on.
async fn resolutions(c: &mut PgConnection, org: OrgId, q: &ReportQuery) -> Result<Tally> {
    let sql = format!(
        "SELECT resolved_by, resolved_queue_id, array_agg(created_at), array_agg(resolved_at),
                array_agg(resolution_bsecs) FILTER (WHERE resolution_bsecs IS NOT NULL)
         FROM tickets WHERE {r} AND {qf}
         GROUP BY 1, 2",
        r = in_range("resolved_at"),
        qf = in_queue("resolved_queue_id"),
    );
    let mut out = Tally::default();
    for g in groups(c, org, q, &sql).await? {
        for t in &g.ends {
            out.days.entry(local(q, *t).0).or_default().1 += 1;
        }
        out.resolution_wall.extend(&g.a);
        out.resolution_business.extend(&g.b);
        let credit = |p: &mut Part| {
            p.resolved += g.ends.len() as u64;
            p.resolution_business.extend(&g.b);
        };
        credit(out.queues.entry(g.queue).or_default());
        if let Some(a) = g.agent {
            credit(out.agents.entry(a).or_default());
        }
    }
    Ok(out)
}

/// Ratings given in the range (to the agent and queue they rate), and the attendances taken
/// in it (the wait in their queue).
async fn ratings_and_waits(c: &mut PgConnection, org: OrgId, q: &ReportQuery) -> Result<Tally> {
    let mut out = Tally::default();
    let sql = format!(
        "SELECT rating_agent_id, rating_queue_id, LEAST(GREATEST(rating, 1), 5)::int2, count(*)
         FROM tickets WHERE {r} AND {qf} AND rating IS NOT NULL
         GROUP BY 1, 2, 3",
        r = in_range("rated_at"),
        qf = in_queue("rating_queue_id"),
    );
    for r in rows(c, org, q, &sql).await? {
        let score: i16 = get(&r, 2)?;
        let i = usize::from(score.clamp(1, 5).unsigned_abs()) - 1;
        let n = count_at(&r, 3)?;
        out.csat[i] += n;
        out.queues
            .entry(uuid_at(&r, 1)?.map(QueueId))
            .or_default()
            .csat[i] += n;
        if let Some(a) = uuid_at(&r, 0)? {
            out.agents.entry(AgentId(a)).or_default().csat[i] += n;
        }
    }
    let sql = format!(
        "SELECT agent_id, queue_id, array_agg(queued_at), array_agg(started_at), NULL::bigint[]
         FROM assignment_cycles WHERE {r} AND {qf} AND agent_id IS NOT NULL
         GROUP BY 1, 2",
        r = in_range("started_at"),
        qf = in_queue("queue_id"),
    );
    for g in groups(c, org, q, &sql).await? {
        out.waits.extend(&g.a);
        out.queues.entry(g.queue).or_default().waits.extend(&g.a);
        if let Some(a) = g.agent {
            out.agents.entry(a).or_default().assigned += g.a.len() as u64;
        }
    }
    Ok(out)
}

/// How many reports may run at once on a pool of `max` connections: each holds up to three,
/// and at least four stay for the desk's own traffic (webhooks, agents).
pub(crate) fn slots(max: u32) -> usize {
    usize::try_from(max.saturating_sub(4) / 3)
        .unwrap_or(1)
        .max(1)
}

/// `(id, name)` of a configuration table's rows.
async fn names<K: Ord + From<Uuid>>(
    c: &mut PgConnection,
    org: OrgId,
    table: &str,
) -> Result<BTreeMap<K, String>> {
    let rows: Vec<(Uuid, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, doc ->> 'name' FROM {table} WHERE org_id = $1"
    )))
    .bind(org.0)
    .fetch_all(c)
    .await
    .map_err(db)?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (K::from(id), n.unwrap_or_default()))
        .collect())
}

pub(crate) async fn report(
    pool: &PgPool,
    slots: &tokio::sync::Semaphore,
    org: OrgId,
    q: &ReportQuery,
) -> Result<Report> {
    // Taken before any connection: reports queue here, not in the pool.
    let _slot = slots
        .acquire()
        .await
        .map_err(|e| helpdesk_core::Error::store("report slots closed", false, e))?;
    let mut main = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(db)?;
    sqlx::query("SET LOCAL work_mem = '64MB'")
        .execute(&mut *main)
        .await
        .map_err(db)?;
    let channels = sqlx::query_as::<_, (Uuid, String, Option<String>)>(
        "SELECT id, kind, doc ->> 'name' FROM channel_accounts WHERE org_id = $1",
    )
    .bind(org.0)
    .fetch_all(&mut *main)
    .await
    .map_err(db)?
    .into_iter()
    .filter_map(|(id, kind, name)| {
        let kind = ChannelKind::from_name(&kind)?;
        Some((ChannelAccountId(id), (kind, name.unwrap_or_default())))
    })
    .collect();
    let names = Names {
        agents: names(&mut main, org, "agents").await?,
        queues: names(&mut main, org, "queues").await?,
        categories: names(&mut main, org, "categories").await?,
        channels,
        policies: names(&mut main, org, "sla_policies").await?,
    };
    // The three parts: the tickets created in the range, grouped; first responses, ratings and
    // waits; resolutions and the arrivals' instants. On a pool with room, at once on two more connections that import this
    // transaction's snapshot; otherwise one after the other here.
    let parallel = pool.options().get_max_connections() >= 7;
    let (mut tally, b, c) = if parallel {
        let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *main)
            .await
            .map_err(db)?;
        tokio::try_join!(
            created(&mut main, org, q),
            async {
                let mut c = on_snapshot(pool, &snapshot).await?;
                let mut t = first_responses(&mut c, org, q).await?;
                t.absorb(ratings_and_waits(&mut c, org, q).await?);
                Ok(t)
            },
            async {
                let mut c = on_snapshot(pool, &snapshot).await?;
                let mut t = resolutions(&mut c, org, q).await?;
                t.absorb(arrivals(&mut c, org, q).await?);
                Ok(t)
            },
        )?
    } else {
        let mut a = created(&mut main, org, q).await?;
        a.absorb(arrivals(&mut main, org, q).await?);
        let mut b = first_responses(&mut main, org, q).await?;
        b.absorb(ratings_and_waits(&mut main, org, q).await?);
        (a, b, resolutions(&mut main, org, q).await?)
    };
    tally.absorb(b);
    tally.absorb(c);
    Ok(tally.finish(q.range, &names))
}
