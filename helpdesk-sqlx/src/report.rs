//! Reporting in SQL, with the semantics of core's `Report::compute` (the conformance suite
//! compares both stores). Each population is one indexed range query; overall and per-agent
//! numbers come from one `GROUPING SETS` query each.

use crate::error::db;
use crate::tx::PgTx;
use helpdesk_core::Result;
use helpdesk_core::ids::AgentId;
use helpdesk_core::store::StoreTx;
use helpdesk_core::store::report::{AgentReport, Csat, DayVolume, Report, ReportQuery, TimeStats};
use std::collections::BTreeMap;

/// Which rows form a population: the range column.
#[derive(Clone, Copy)]
enum Range {
    Created,
    Resolved,
    Rated,
}

impl Range {
    fn column(self) -> &'static str {
        match self {
            Range::Created => "created_at",
            Range::Resolved => "resolved_at",
            Range::Rated => "rated_at",
        }
    }
}

/// `$1` org, `$2` from, `$3` to, `$4` queue.
fn population(r: Range) -> String {
    format!(
        "FROM tickets WHERE org_id = $1 AND {c} >= $2 AND {c} < $3 AND ($4::uuid IS NULL OR queue_id = $4)",
        c = r.column()
    )
}

type Grouped<T> = (T, BTreeMap<AgentId, T>);

/// A `query_as` over a population's SQL with its parameters bound ($1..$4).
macro_rules! population_query {
    ($sql:expr, $tx:expr, $q:expr) => {
        sqlx::query_as(sqlx::AssertSqlSafe($sql))
            .bind($tx.org_id().0)
            .bind($q.range.from)
            .bind($q.range.to)
            .bind($q.queue_id.map(|x| x.0))
    };
}

/// Duration stats of `expr` (NULLs left out) over a population, overall and per assignee.
async fn stats(tx: &mut PgTx, q: &ReportQuery, r: Range, expr: &str) -> Result<Grouped<TimeStats>> {
    let sql = format!(
        "SELECT GROUPING(assignee_id) = 1 AS overall, assignee_id, count(x), COALESCE(sum(x), 0)::bigint,
                percentile_disc(0.5) WITHIN GROUP (ORDER BY x), percentile_disc(0.9) WITHIN GROUP (ORDER BY x)
         FROM (SELECT assignee_id, ({expr})::bigint AS x {pop}) s
         WHERE x IS NOT NULL
         GROUP BY GROUPING SETS ((), (assignee_id))",
        pop = population(r)
    );
    type Row = (bool, Option<uuid::Uuid>, i64, i64, Option<i64>, Option<i64>);
    let rows: Vec<Row> = population_query!(sql, tx, q)
        .fetch_all(&mut *tx.tx)
        .await
        .map_err(db)?;
    let mut overall = TimeStats::default();
    let mut per = BTreeMap::new();
    for (is_overall, agent, count, sum, p50, p90) in rows {
        let s = TimeStats {
            count: count as u64,
            sum_secs: sum,
            avg_secs: (count > 0).then(|| sum / count),
            p50_secs: p50,
            p90_secs: p90,
        };
        if is_overall {
            overall = s;
        } else if let Some(a) = agent {
            per.insert(AgentId(a), s);
        }
    }
    Ok((overall, per))
}

/// Row counts of a population, overall and per assignee.
async fn counts(tx: &mut PgTx, q: &ReportQuery, r: Range) -> Result<Grouped<u64>> {
    let sql = format!(
        "SELECT GROUPING(assignee_id) = 1, assignee_id, count(*) {pop}
         GROUP BY GROUPING SETS ((), (assignee_id))",
        pop = population(r)
    );
    let rows: Vec<(bool, Option<uuid::Uuid>, i64)> = population_query!(sql, tx, q)
        .fetch_all(&mut *tx.tx)
        .await
        .map_err(db)?;
    let mut overall = 0;
    let mut per = BTreeMap::new();
    for (is_overall, agent, n) in rows {
        if is_overall {
            overall = n as u64;
        } else if let Some(a) = agent {
            per.insert(AgentId(a), n as u64);
        }
    }
    Ok((overall, per))
}

/// Per local day counts of a population.
async fn per_day(
    tx: &mut PgTx,
    q: &ReportQuery,
    r: Range,
) -> Result<BTreeMap<chrono::NaiveDate, u64>> {
    let sql = format!(
        "SELECT ({c} AT TIME ZONE $5)::date AS d, count(*) {pop} GROUP BY d",
        c = r.column(),
        pop = population(r)
    );
    let rows: Vec<(chrono::NaiveDate, i64)> = population_query!(sql, tx, q)
        .bind(q.timezone.name())
        .fetch_all(&mut *tx.tx)
        .await
        .map_err(db)?;
    Ok(rows.into_iter().map(|(d, n)| (d, n as u64)).collect())
}

/// CSAT distributions, overall and per assignee.
async fn csat(tx: &mut PgTx, q: &ReportQuery) -> Result<Grouped<Csat>> {
    let sql = format!(
        "SELECT GROUPING(assignee_id) = 1, assignee_id,
                count(*) FILTER (WHERE rating <= 1), count(*) FILTER (WHERE rating = 2),
                count(*) FILTER (WHERE rating = 3), count(*) FILTER (WHERE rating = 4),
                count(*) FILTER (WHERE rating >= 5)
         {pop} AND rating IS NOT NULL
         GROUP BY GROUPING SETS ((), (assignee_id))",
        pop = population(Range::Rated)
    );
    type Row = (bool, Option<uuid::Uuid>, i64, i64, i64, i64, i64);
    let rows: Vec<Row> = population_query!(sql, tx, q)
        .fetch_all(&mut *tx.tx)
        .await
        .map_err(db)?;
    let mut overall = Csat::default();
    let mut per = BTreeMap::new();
    for (is_overall, agent, s1, s2, s3, s4, s5) in rows {
        let c = Csat::from_distribution([s1, s2, s3, s4, s5].map(|n| n as u64));
        if is_overall {
            overall = c;
        } else if let Some(a) = agent {
            per.insert(AgentId(a), c);
        }
    }
    Ok((overall, per))
}

pub(crate) async fn report(tx: &mut PgTx, q: &ReportQuery) -> Result<Report> {
    const FR_WALL: &str = "CASE WHEN first_response_at IS NOT NULL THEN trunc(extract(epoch FROM first_response_at - created_at)) END";
    const FR_BUS: &str = "CASE WHEN first_response_at IS NOT NULL THEN first_response_bsecs END";
    const RES_WALL: &str = "trunc(extract(epoch FROM resolved_at - created_at))";
    let (created, created_by) = counts(tx, q, Range::Created).await?;
    let (resolved, resolved_by) = counts(tx, q, Range::Resolved).await?;
    let (frw, _) = stats(tx, q, Range::Created, FR_WALL).await?;
    let (frb, frb_by) = stats(tx, q, Range::Created, FR_BUS).await?;
    let (rw, _) = stats(tx, q, Range::Resolved, RES_WALL).await?;
    let (rb, rb_by) = stats(tx, q, Range::Resolved, "resolution_bsecs").await?;
    let (csat_all, csat_by) = csat(tx, q).await?;
    let mut days: BTreeMap<chrono::NaiveDate, (u64, u64)> = BTreeMap::new();
    for (d, n) in per_day(tx, q, Range::Created).await? {
        days.entry(d).or_default().0 = n;
    }
    for (d, n) in per_day(tx, q, Range::Resolved).await? {
        days.entry(d).or_default().1 = n;
    }
    let mut agents: Vec<AgentId> = created_by
        .keys()
        .chain(resolved_by.keys())
        .chain(csat_by.keys())
        .copied()
        .collect();
    agents.sort();
    agents.dedup();
    Ok(Report {
        range: q.range,
        created,
        resolved,
        volume: days
            .into_iter()
            .map(|(day, (created, resolved))| DayVolume {
                day,
                created,
                resolved,
            })
            .collect(),
        first_response_wall: frw,
        first_response_business: frb,
        resolution_wall: rw,
        resolution_business: rb,
        csat: csat_all,
        agents: agents
            .into_iter()
            .map(|a| AgentReport {
                agent_id: a,
                tickets: created_by.get(&a).copied().unwrap_or(0),
                resolved: resolved_by.get(&a).copied().unwrap_or(0),
                first_response_business: frb_by.get(&a).copied().unwrap_or_default(),
                resolution_business: rb_by.get(&a).copied().unwrap_or_default(),
                csat: csat_by.get(&a).copied().unwrap_or_default(),
            })
            .collect(),
    })
}
