//! SLA policies: targets per metric, per-priority overrides, business hours or 24 × 7.

use super::spec::CalendarSpec;
use crate::domain::ticket::Priority;
use crate::ids::*;
use crate::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Targets in seconds (business seconds when the policy has business hours). `None` = the
/// metric is not tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SlaTargets {
    /// Seconds from when the customer wrote (the first message's instant, or the ticket's
    /// creation) to the first agent reply; time Pending does not count.
    pub first_response: Option<i64>,
    /// Customer message (after an agent reply) to the next agent reply.
    pub next_response: Option<i64>,
    /// Seconds from when the customer wrote (as for first response) to Resolved; time Pending
    /// does not count.
    pub resolution: Option<i64>,
}

impl SlaTargets {
    /// No metric tracked (a per-priority override that changes nothing).
    pub const NONE: SlaTargets = SlaTargets {
        first_response: None,
        next_response: None,
        resolution: None,
    };

    /// Every reply (the first, and the next after each customer message) within `d`, nothing
    /// else tracked yet: `SlaTargets::replies_within(Duration::hours(2))
    /// .with_resolution(Duration::hours(8))`. Each builder names its metric, so targets cannot
    /// be given in the wrong order.
    pub fn replies_within(d: chrono::Duration) -> SlaTargets {
        SlaTargets::NONE
            .with_first_response(d)
            .with_next_response(d)
    }

    /// These targets, with first response within `d` (a builder: `SlaTargets::NONE
    /// .with_first_response(Duration::hours(2)).with_resolution(Duration::hours(8))`).
    pub fn with_first_response(mut self, d: chrono::Duration) -> SlaTargets {
        self.first_response = Some(d.num_seconds());
        self
    }

    /// These targets, with the next response (to each customer message after a reply) within
    /// `d`.
    pub fn with_next_response(mut self, d: chrono::Duration) -> SlaTargets {
        self.next_response = Some(d.num_seconds());
        self
    }

    /// These targets, with resolution within `d`.
    pub fn with_resolution(mut self, d: chrono::Duration) -> SlaTargets {
        self.resolution = Some(d.num_seconds());
        self
    }

    /// Whether no metric is tracked (every target `None`).
    pub fn is_empty(&self) -> bool {
        *self == SlaTargets::NONE
    }

    /// `self`, with what it leaves unset taken from `base` (how a per-priority override
    /// falls back to the policy's targets).
    pub fn or(self, base: SlaTargets) -> SlaTargets {
        SlaTargets {
            first_response: self.first_response.or(base.first_response),
            next_response: self.next_response.or(base.next_response),
            resolution: self.resolution.or(base.resolution),
        }
    }

    fn validate(&self, field: &str) -> Result<()> {
        for (name, v) in [
            ("first_response", self.first_response),
            ("next_response", self.next_response),
            ("resolution", self.resolution),
        ] {
            if let Some(v) = v
                && !(1..=10 * 365 * 86_400).contains(&v)
            {
                return Err(Error::invalid(
                    format!("{field}.{name}"),
                    "must be 1 second to 10 years",
                ));
            }
        }
        Ok(())
    }
}

/// The default per-priority table: urgent 1 h / 4 h, high 4 h / 8 h, medium 8 h / 24 h, low 24 h /
/// 72 h (first response / resolution); next response as first response. A policy gets it only
/// when asked for ([`NewSlaPolicy::seed`](crate::service::NewSlaPolicy::seed)).
pub fn default_priority_targets() -> BTreeMap<Priority, SlaTargets> {
    BTreeMap::from([
        (
            Priority::Urgent,
            SlaTargets::replies_within(Duration::hours(1)).with_resolution(Duration::hours(4)),
        ),
        (
            Priority::High,
            SlaTargets::replies_within(Duration::hours(4)).with_resolution(Duration::hours(8)),
        ),
        (
            Priority::Medium,
            SlaTargets::replies_within(Duration::hours(8)).with_resolution(Duration::hours(24)),
        ),
        (
            Priority::Low,
            SlaTargets::replies_within(Duration::hours(24)).with_resolution(Duration::hours(72)),
        ),
    ])
}

/// An SLA policy: the response and resolution targets a ticket is held to, per priority, measured
/// in business hours or around the clock. Queues pick one; the tenant's default covers the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaPolicy {
    /// Identifies the policy; queues and tickets' clocks point at it.
    pub id: SlaPolicyId,
    /// Organization the policy belongs to.
    pub org_id: OrgId,
    /// Name shown to admins and in reports (`Padrão`, `Clientes VIP`).
    pub name: String,
    /// Targets when the priority has no override.
    pub targets: SlaTargets,
    /// Per-priority overrides (a metric left `None` in an override falls back to `targets`);
    /// empty unless given.
    pub priority_targets: BTreeMap<Priority, SlaTargets>,
    /// Business hours; `None` = 24 × 7 (wall-clock seconds).
    pub business_hours: Option<CalendarSpec>,
    /// Share of a target after which the clock is "at risk", in thousandths (800 = 80 %).
    pub at_risk_permille: u16,
    /// The tenant's default policy (used by queues without one).
    pub is_default: bool,
    /// When the policy was created (UTC).
    pub created_at: DateTime<Utc>,
}

impl SlaPolicy {
    /// Validates targets (at least one metric tracked for some priority), the at-risk share
    /// and the calendar.
    pub fn validate(&self) -> Result<()> {
        self.targets.validate("targets")?;
        for (p, t) in &self.priority_targets {
            t.validate(&format!("priority_targets.{p}"))?;
        }
        if Priority::ALL
            .iter()
            .all(|p| self.targets_for(*p).is_empty())
        {
            return Err(Error::invalid(
                "targets",
                "a policy needs at least one target (first response, next response or resolution)",
            ));
        }
        if !(1..=1000).contains(&self.at_risk_permille) {
            return Err(Error::invalid("at_risk", "must be between 0.1 % and 100 %"));
        }
        if let Some(spec) = &self.business_hours {
            super::Calendar::new(spec.clone())?;
        }
        Ok(())
    }

    /// Effective targets for a priority: its override, and the policy's targets for what the
    /// override leaves unset.
    pub fn targets_for(&self, p: Priority) -> SlaTargets {
        self.priority_targets
            .get(&p)
            .copied()
            .unwrap_or_default()
            .or(self.targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_override_falls_back_to_the_policy_targets_metric_by_metric() {
        let base = SlaTargets::NONE
            .with_first_response(Duration::hours(2))
            .with_next_response(Duration::minutes(30))
            .with_resolution(Duration::hours(8));
        assert_eq!(
            (base.first_response, base.next_response, base.resolution),
            (Some(7200), Some(1800), Some(28800)),
            "targets are seconds"
        );
        assert_eq!(
            SlaTargets::replies_within(Duration::minutes(45)),
            SlaTargets {
                first_response: Some(2700),
                next_response: Some(2700),
                resolution: None,
            }
        );
        let urgent = SlaTargets::NONE.with_first_response(Duration::hours(1));
        assert_eq!(
            urgent.or(base),
            SlaTargets {
                first_response: Some(3600),
                next_response: Some(1800),
                resolution: Some(8 * 3600),
            }
        );
        assert!(SlaTargets::NONE.is_empty() && !urgent.is_empty());
    }
}
