//! SLA clocks on a ticket: pure state machines driven by what happens to the ticket.
//!
//! * First response and resolution start at creation; first response is met by the first
//!   agent reply, resolution by Resolved.
//! * Next response starts at each customer message that follows an agent reply and is met by
//!   the next agent reply.
//! * Pending pauses every running clock; leaving Pending (or reopening) resumes them. Paused
//!   time never counts, in business or wall time. Reopening a resolved ticket resumes the
//!   resolution clock where it stopped.
//! * Status: On track, At risk (the policy's share of the target used) or Breached, and for a
//!   running clock the instant it will change, so a scheduler can sleep exactly until then.

use super::Calendar;
use super::policy::{SlaPolicy, SlaTargets};
use crate::Result;
use crate::ids::SlaPolicyId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which SLA metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaMetric {
    /// First response.
    FirstResponse,
    /// Next response.
    NextResponse,
    /// Resolution.
    Resolution,
}

/// Where a clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaStatus {
    /// Below the at-risk share.
    OnTrack,
    /// At or above the at-risk share, below the target.
    AtRisk,
    /// Target used up.
    Breached,
}

/// One clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaClock {
    /// Target in (business) seconds.
    pub target_secs: i64,
    /// When this clock (this cycle, for next response) started.
    pub started_at: DateTime<Utc>,
    /// Seconds counted before the current running stretch.
    pub consumed_secs: i64,
    /// Start of the current running stretch; `None` while paused or stopped.
    pub running_since: Option<DateTime<Utc>>,
    /// When it was met (stopped for good unless the ticket reopens).
    pub met_at: Option<DateTime<Utc>>,
    /// When the target runs out, while running.
    pub due_at: Option<DateTime<Utc>>,
    /// When it becomes at risk, while running and not yet at risk.
    pub at_risk_at: Option<DateTime<Utc>>,
    /// `sla.warning` was emitted for this cycle.
    pub warned: bool,
    /// `sla.breached` was emitted for this cycle.
    pub breached: bool,
}

impl SlaClock {
    fn start(target: i64, now: DateTime<Utc>) -> SlaClock {
        SlaClock {
            target_secs: target,
            started_at: now,
            consumed_secs: 0,
            running_since: Some(now),
            met_at: None,
            due_at: None,
            at_risk_at: None,
            warned: false,
            breached: false,
        }
    }

    /// Seconds used at `now`.
    pub fn used(&self, cal: &Calendar, now: DateTime<Utc>) -> Result<i64> {
        Ok(self.consumed_secs
            + match self.running_since {
                Some(s) => cal.elapsed(s, now)?,
                None => 0,
            })
    }

    /// Seconds that make the clock at risk.
    pub fn at_risk_secs(&self, permille: u16) -> i64 {
        (self.target_secs * i64::from(permille) + 999) / 1000
    }

    /// Status at `now`.
    pub fn status(&self, cal: &Calendar, permille: u16, now: DateTime<Utc>) -> Result<SlaStatus> {
        let used = self.used(cal, now)?;
        Ok(if used >= self.target_secs {
            SlaStatus::Breached
        } else if used >= self.at_risk_secs(permille) {
            SlaStatus::AtRisk
        } else {
            SlaStatus::OnTrack
        })
    }

    fn pause(&mut self, cal: &Calendar, now: DateTime<Utc>) -> Result<()> {
        if let Some(s) = self.running_since.take() {
            self.consumed_secs += cal.elapsed(s, now)?;
        }
        self.due_at = None;
        self.at_risk_at = None;
        Ok(())
    }

    fn resume(&mut self, now: DateTime<Utc>) {
        if self.met_at.is_none() && self.running_since.is_none() {
            self.running_since = Some(now);
        }
    }

    fn meet(&mut self, cal: &Calendar, now: DateTime<Utc>) -> Result<()> {
        if self.met_at.is_none() {
            self.pause(cal, now)?;
            self.met_at = Some(now);
        }
        Ok(())
    }

    /// Recomputes the instants at which a running clock changes status.
    fn plan(&mut self, cal: &Calendar, permille: u16) -> Result<()> {
        match self.running_since {
            Some(s) => {
                let left = (self.target_secs - self.consumed_secs).max(0);
                self.due_at = Some(cal.due(s, left)?);
                let risk_left = self.at_risk_secs(permille) - self.consumed_secs;
                self.at_risk_at = if risk_left > 0 {
                    Some(cal.due(s, risk_left)?)
                } else {
                    None
                };
            }
            None => {
                self.due_at = None;
                self.at_risk_at = None;
            }
        }
        Ok(())
    }

    /// The next instant this clock needs attention (an event not yet emitted), if any.
    fn wake(&self) -> Option<DateTime<Utc>> {
        self.running_since?;
        if !self.warned
            && let Some(t) = self.at_risk_at
        {
            return Some(t);
        }
        if !self.breached { self.due_at } else { None }
    }
}

/// What happened to a ticket, as the clocks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaEvent {
    /// The ticket was created.
    Created,
    /// An agent replied.
    AgentReply,
    /// The customer wrote.
    CustomerMessage,
    /// The ticket went Pending.
    Paused,
    /// The ticket left Pending (or was reopened).
    Resumed,
    /// The ticket was resolved.
    Resolved,
    /// The ticket was closed.
    Closed,
    /// Priority or policy changed: recompute targets.
    Retarget,
}

/// The SLA state of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSla {
    /// Policy in force.
    pub policy_id: SlaPolicyId,
    /// At-risk share of the policy, in thousandths.
    pub at_risk_permille: u16,
    /// First response clock.
    pub first_response: Option<SlaClock>,
    /// Next response clock (the current cycle).
    pub next_response: Option<SlaClock>,
    /// Resolution clock.
    pub resolution: Option<SlaClock>,
}

/// A clock's status with the instant it will next change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockView {
    /// Metric.
    pub metric: SlaMetric,
    /// Status now.
    pub status: SlaStatus,
    /// Met (stopped) at.
    pub met_at: Option<DateTime<Utc>>,
    /// Running or paused.
    pub running: bool,
    /// Seconds used.
    pub used_secs: i64,
    /// Target.
    pub target_secs: i64,
    /// When the status changes next, while running.
    pub changes_at: Option<DateTime<Utc>>,
}

impl TicketSla {
    /// Starts the clocks of a new ticket.
    pub fn new(policy: &SlaPolicy, targets: SlaTargets, now: DateTime<Utc>) -> TicketSla {
        TicketSla {
            policy_id: policy.id,
            at_risk_permille: policy.at_risk_permille,
            first_response: targets.first_response.map(|t| SlaClock::start(t, now)),
            next_response: None,
            resolution: targets.resolution.map(|t| SlaClock::start(t, now)),
        }
    }

    /// The clocks with their metric.
    pub fn clocks(&self) -> impl Iterator<Item = (SlaMetric, &SlaClock)> {
        [
            (SlaMetric::FirstResponse, &self.first_response),
            (SlaMetric::NextResponse, &self.next_response),
            (SlaMetric::Resolution, &self.resolution),
        ]
        .into_iter()
        .filter_map(|(m, c)| c.as_ref().map(|c| (m, c)))
    }

    fn clocks_mut(&mut self) -> impl Iterator<Item = &mut SlaClock> {
        [
            &mut self.first_response,
            &mut self.next_response,
            &mut self.resolution,
        ]
        .into_iter()
        .flatten()
    }

    /// Applies an event at `now`, then recomputes the change instants.
    pub fn apply(
        &mut self,
        ev: SlaEvent,
        policy: &SlaPolicy,
        targets: SlaTargets,
        cal: &Calendar,
        now: DateTime<Utc>,
        paused: bool,
    ) -> Result<()> {
        match ev {
            SlaEvent::Created => {}
            SlaEvent::AgentReply => {
                if let Some(c) = &mut self.first_response {
                    c.meet(cal, now)?;
                }
                if let Some(c) = &mut self.next_response {
                    c.meet(cal, now)?;
                }
            }
            SlaEvent::CustomerMessage => {
                // A new next-response cycle starts only when an agent has answered and no cycle runs.
                let replied = self
                    .first_response
                    .as_ref()
                    .is_none_or(|c| c.met_at.is_some());
                let cycle_open = self
                    .next_response
                    .as_ref()
                    .is_some_and(|c| c.met_at.is_none());
                if replied
                    && !cycle_open
                    && let Some(t) = targets.next_response
                {
                    let mut c = SlaClock::start(t, now);
                    if paused {
                        c.running_since = None;
                    }
                    self.next_response = Some(c);
                }
            }
            SlaEvent::Paused => {
                for c in self.clocks_mut() {
                    c.pause(cal, now)?;
                }
            }
            SlaEvent::Resumed => {
                if let Some(c) = &mut self.resolution {
                    c.met_at = None;
                }
                for c in self.clocks_mut() {
                    c.resume(now);
                }
            }
            SlaEvent::Resolved => {
                if let Some(c) = &mut self.resolution {
                    c.meet(cal, now)?;
                }
                for c in self.clocks_mut() {
                    c.pause(cal, now)?;
                }
            }
            SlaEvent::Closed => {
                for c in self.clocks_mut() {
                    c.pause(cal, now)?;
                }
            }
            SlaEvent::Retarget => {
                self.policy_id = policy.id;
                self.at_risk_permille = policy.at_risk_permille;
                if let (Some(c), Some(t)) = (&mut self.first_response, targets.first_response) {
                    c.target_secs = t;
                }
                if let (Some(c), Some(t)) = (&mut self.next_response, targets.next_response) {
                    c.target_secs = t;
                }
                if let (Some(c), Some(t)) = (&mut self.resolution, targets.resolution) {
                    c.target_secs = t;
                }
            }
        }
        let permille = self.at_risk_permille;
        for c in self.clocks_mut() {
            c.plan(cal, permille)?;
        }
        Ok(())
    }

    /// The earliest instant a clock changes status with an event still to emit.
    pub fn wake_at(&self) -> Option<DateTime<Utc>> {
        self.clocks().filter_map(|(_, c)| c.wake()).min()
    }

    /// Every clock's status at `now`.
    pub fn view(&self, cal: &Calendar, now: DateTime<Utc>) -> Result<Vec<ClockView>> {
        self.clocks()
            .map(|(metric, c)| {
                let status = c.status(cal, self.at_risk_permille, now)?;
                let changes_at = match status {
                    SlaStatus::OnTrack => c.at_risk_at.or(c.due_at),
                    SlaStatus::AtRisk => c.due_at,
                    SlaStatus::Breached => None,
                };
                Ok(ClockView {
                    metric,
                    status,
                    met_at: c.met_at,
                    running: c.running_since.is_some(),
                    used_secs: c.used(cal, now)?,
                    target_secs: c.target_secs,
                    changes_at: changes_at.filter(|_| c.running_since.is_some()),
                })
            })
            .collect()
    }

    /// Marks the events due at `now` as emitted and returns them (metric, breached?): a
    /// warning for clocks that reached the at-risk share, a breach for clocks out of time.
    /// A clock found already breached gets only the breach event.
    pub fn take_due_events(
        &mut self,
        cal: &Calendar,
        now: DateTime<Utc>,
    ) -> Result<Vec<(SlaMetric, SlaStatus)>> {
        let permille = self.at_risk_permille;
        let mut out = Vec::new();
        for (metric, slot) in [
            (SlaMetric::FirstResponse, &mut self.first_response),
            (SlaMetric::NextResponse, &mut self.next_response),
            (SlaMetric::Resolution, &mut self.resolution),
        ] {
            let Some(c) = slot else { continue };
            if c.running_since.is_none() {
                continue;
            }
            match c.status(cal, permille, now)? {
                SlaStatus::Breached if !c.breached => {
                    c.breached = true;
                    c.warned = true;
                    out.push((metric, SlaStatus::Breached));
                }
                SlaStatus::AtRisk if !c.warned => {
                    c.warned = true;
                    out.push((metric, SlaStatus::AtRisk));
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Business seconds from creation to the first agent reply (pauses excluded), once met.
    pub fn first_response_secs(&self) -> Option<i64> {
        self.first_response
            .as_ref()
            .filter(|c| c.met_at.is_some())
            .map(|c| c.consumed_secs)
    }

    /// Business seconds from creation to resolution (pauses excluded), once resolved.
    pub fn resolution_secs(&self) -> Option<i64> {
        self.resolution
            .as_ref()
            .filter(|c| c.met_at.is_some())
            .map(|c| c.consumed_secs)
    }
}
