//! Reporting: volume per day, first response and resolution times (wall clock and business
//! hours), CSAT, per agent. [`Report::compute`] is the reference semantics; a SQL store
//! computes the same numbers in the database (the conformance suite compares them).
//!
//! Populations, for a range `[from, to)` and an optional queue:
//! * created: tickets with `created_at` in the range; their local creation day (in the
//!   organization's time zone) gives the per-day volume;
//! * resolved: tickets whose (last) `resolved_at` is in the range, counted on that local day;
//! * first response: created tickets that got an agent reply; wall seconds from creation to the
//!   reply, business seconds from the SLA clock (pauses excluded; tickets without SLA clocks
//!   count in wall time only);
//! * resolution: resolved tickets; wall seconds from creation to resolution, business seconds
//!   from the SLA clock;
//! * CSAT: ratings given in the range;
//! * per agent: the same, grouped by the ticket's current assignee.
//!
//! Durations are whole seconds (truncated). Averages are integer divisions of the sum;
//! percentiles are discrete (the value at rank `ceil(p · n)`, as Postgres' `percentile_disc`).

use crate::domain::ticket::Ticket;
use crate::ids::{AgentId, QueueId};
use crate::store::query::DateRange;
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What to report on.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportQuery {
    /// The period.
    pub range: DateRange,
    /// Days are cut in this zone (the organization's).
    pub timezone: Tz,
    /// Only this queue's tickets.
    pub queue_id: Option<QueueId>,
}

/// Tickets created and resolved on one local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayVolume {
    /// Local date.
    pub day: NaiveDate,
    /// Tickets created that day.
    pub created: u64,
    /// Tickets resolved that day.
    pub resolved: u64,
}

/// Summary of a set of durations in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeStats {
    /// How many.
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

/// Customer satisfaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Csat {
    /// Ratings given.
    pub responses: u64,
    /// Sum of scores.
    pub score_sum: u64,
    /// Average score (1–5), when any.
    pub average: Option<f64>,
    /// Share of ratings of 4 or 5, when any.
    pub satisfied_share: Option<f64>,
    /// Ratings per score: index 0 is score 1.
    pub distribution: [u64; 5],
}

impl Csat {
    /// Builds from the distribution.
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

/// One agent's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentReport {
    /// The agent.
    pub agent_id: AgentId,
    /// Tickets created in the period and assigned to the agent now.
    pub tickets: u64,
    /// Tickets resolved in the period and assigned to the agent.
    pub resolved: u64,
    /// First response, business seconds.
    pub first_response_business: TimeStats,
    /// Resolution, business seconds.
    pub resolution_business: TimeStats,
    /// CSAT of the agent's tickets rated in the period.
    pub csat: Csat,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The period.
    pub range: DateRange,
    /// Tickets created in the period.
    pub created: u64,
    /// Tickets resolved in the period.
    pub resolved: u64,
    /// Per local day, days with no activity left out, in date order.
    pub volume: Vec<DayVolume>,
    /// First response, wall clock.
    pub first_response_wall: TimeStats,
    /// First response, business hours.
    pub first_response_business: TimeStats,
    /// Resolution, wall clock.
    pub resolution_wall: TimeStats,
    /// Resolution, business hours.
    pub resolution_business: TimeStats,
    /// CSAT.
    pub csat: Csat,
    /// Per agent (current assignee), by agent id.
    pub agents: Vec<AgentReport>,
}

#[derive(Default)]
struct AgentAcc {
    tickets: u64,
    resolved: u64,
    frb: Vec<i64>,
    rb: Vec<i64>,
    csat: [u64; 5],
}

impl Report {
    /// The reference computation over every ticket of the organization.
    pub fn compute<'a>(tickets: impl IntoIterator<Item = &'a Ticket>, q: &ReportQuery) -> Report {
        let inr = |t: chrono::DateTime<chrono::Utc>| q.range.from <= t && t < q.range.to;
        let day = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&q.timezone).date_naive();
        let mut days: BTreeMap<NaiveDate, (u64, u64)> = BTreeMap::new();
        let (mut created, mut resolved) = (0, 0);
        let (mut frw, mut frb, mut rw, mut rb) = (vec![], vec![], vec![], vec![]);
        let mut csat = [0u64; 5];
        let mut agents: BTreeMap<AgentId, AgentAcc> = BTreeMap::new();
        for t in tickets {
            if q.queue_id.is_some_and(|x| t.queue_id != Some(x)) {
                continue;
            }
            if inr(t.created_at) {
                created += 1;
                days.entry(day(t.created_at)).or_default().0 += 1;
                if let Some(a) = t.assignee_id {
                    agents.entry(a).or_default().tickets += 1;
                }
                if let Some(fr) = t.first_response_at {
                    frw.push((fr - t.created_at).num_seconds());
                    if let Some(b) = t.sla.as_ref().and_then(|s| s.first_response_secs()) {
                        frb.push(b);
                        if let Some(a) = t.assignee_id {
                            agents.entry(a).or_default().frb.push(b);
                        }
                    }
                }
            }
            if let Some(r) = t.resolved_at.filter(|r| inr(*r)) {
                resolved += 1;
                days.entry(day(r)).or_default().1 += 1;
                rw.push((r - t.created_at).num_seconds());
                let b = t.sla.as_ref().and_then(|s| s.resolution_secs());
                if let Some(b) = b {
                    rb.push(b);
                }
                if let Some(a) = t.assignee_id {
                    let acc = agents.entry(a).or_default();
                    acc.resolved += 1;
                    if let Some(b) = b {
                        acc.rb.push(b);
                    }
                }
            }
            if let Some(rating) = t.rating.as_ref().filter(|r| inr(r.rated_at)) {
                let i = usize::from(rating.score.clamp(1, 5)) - 1;
                csat[i] += 1;
                if let Some(a) = t.assignee_id {
                    agents.entry(a).or_default().csat[i] += 1;
                }
            }
        }
        Report {
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
            first_response_wall: TimeStats::of(frw),
            first_response_business: TimeStats::of(frb),
            resolution_wall: TimeStats::of(rw),
            resolution_business: TimeStats::of(rb),
            csat: Csat::from_distribution(csat),
            agents: agents
                .into_iter()
                .map(|(agent_id, a)| AgentReport {
                    agent_id,
                    tickets: a.tickets,
                    resolved: a.resolved,
                    first_response_business: TimeStats::of(a.frb),
                    resolution_business: TimeStats::of(a.rb),
                    csat: Csat::from_distribution(a.csat),
                })
                .collect(),
        }
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
}
