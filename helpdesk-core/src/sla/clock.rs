//! SLA clocks on a ticket: pure state machines driven by what happens to the ticket.
//!
//! * A ticket runs under a snapshot of its policy ([`TicketSla`] keeps the policy's targets
//!   for the ticket's priority, its calendar and its at-risk share): editing or deleting the
//!   policy never moves the clocks of tickets already under it. The snapshot is taken when
//!   the clocks start and again when the ticket's policy is looked up anew (a transfer, a
//!   priority change: [`TicketSla::retarget`]).
//! * First response and resolution start when the customer wrote (the first message's
//!   instant, or the creation); first response is met by the first agent reply, resolution
//!   by Resolved.
//! * Next response starts at each customer message that follows an agent reply and is met by
//!   the next agent reply; completed cycles are counted (met in time, or late).
//! * Pending pauses every running clock; leaving Pending (or reopening) resumes them. Paused
//!   time never counts, in business or wall time. Reopening a resolved ticket resumes the
//!   resolution clock where it stopped.
//! * Events may carry an instant in the past (a customer message delivered late): the clocks
//!   never move back before their last change ([`TicketSla::last_event_at`]).
//! * Status: On track, At risk (the policy's share of the target used) or Breached, and for a
//!   running clock the instant it will change, so a scheduler can sleep exactly until then.

use super::Calendar;
use super::calendar::cached;
use super::policy::{SlaPolicy, SlaTargets};
use super::spec::CalendarSpec;
use crate::Result;
use crate::domain::ticket::Priority;
use crate::ids::SlaPolicyId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which SLA metric a clock measures; each has its own target in [`SlaTargets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaMetric {
    /// From when the customer wrote to the first agent reply.
    FirstResponse,
    /// From each customer message that follows an agent reply to the next agent reply (one cycle
    /// per such message).
    NextResponse,
    /// From when the customer wrote to Resolved.
    Resolution,
}

/// How a clock ended, or stands, for compliance reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockOutcome {
    /// Met within its target: stopped before the target was used up.
    Met,
    /// Met late, or its target is used up.
    Breached,
    /// Neither yet (running or paused).
    Running,
}

/// Where a running clock stands against its target, by the share of it used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaStatus {
    /// Below the at-risk share.
    OnTrack,
    /// At or above the at-risk share, below the target.
    AtRisk,
    /// Target used up (whether or not the clock has since been met).
    Breached,
}

/// One SLA clock of a ticket: its target, the time it has counted, and the instants it will
/// change status while running. Seconds are business seconds under a policy with business
/// hours, wall-clock seconds otherwise.
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

    /// Whether it was met (stopped for good unless the ticket reopens) with the target
    /// already used up.
    pub fn met_late(&self) -> bool {
        self.met_at.is_some() && self.consumed_secs >= self.target_secs
    }

    /// How the clock stands at `now` for a report, from what is stored (no calendar needed):
    /// met in time, breached (met late, or out of time), or still running (paused included).
    pub fn outcome(&self, now: DateTime<Utc>) -> ClockOutcome {
        if self.met_at.is_some() {
            if self.met_late() {
                ClockOutcome::Breached
            } else {
                ClockOutcome::Met
            }
        } else if self.consumed_secs >= self.target_secs
            || (self.running_since.is_some() && self.due_at.is_some_and(|d| d <= now))
        {
            ClockOutcome::Breached
        } else {
            ClockOutcome::Running
        }
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
    /// The ticket was created; clocks start through [`TicketSla::start`], not [`TicketSla::apply`].
    Created,
    /// An agent replied to the customer: meets the first-response clock and the running
    /// next-response cycle.
    AgentReply,
    /// The customer wrote: starts a next-response cycle if an agent has replied and none is
    /// running.
    CustomerMessage,
    /// The ticket went Pending: every running clock pauses.
    Paused,
    /// The ticket left Pending (or was reopened).
    Resumed,
    /// The ticket was resolved: the resolution clock is met and every other clock pauses.
    Resolved,
    /// The ticket was closed: every running clock pauses.
    Closed,
    /// Priority or queue changed: the ticket's policy is looked up again.
    Retarget,
}

/// What the clocks need to know of a ticket when they start, or move under another policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockContext {
    /// An agent has replied already (no first-response clock starts).
    pub responded: bool,
    /// The ticket is pending: clocks that start are paused.
    pub paused: bool,
    /// The ticket is resolved or closed: no clock starts (they measure work still to do).
    pub done: bool,
}

/// The SLA state of a ticket: the snapshot of the policy it runs under, and its clocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSla {
    /// Policy the clocks run under (it may have been deleted since).
    pub policy_id: SlaPolicyId,
    /// Its name when the snapshot was taken.
    pub policy_name: String,
    /// The policy's targets for the ticket's priority.
    pub targets: SlaTargets,
    /// The policy's business hours; `None` = 24 × 7.
    pub business_hours: Option<CalendarSpec>,
    /// At-risk share of the policy, in thousandths.
    pub at_risk_permille: u16,
    /// First response clock; `None` when the policy does not track it, or an agent had already
    /// replied when the ticket came under the policy.
    pub first_response: Option<SlaClock>,
    /// Next response clock (the current cycle).
    pub next_response: Option<SlaClock>,
    /// Resolution clock; `None` when the policy does not track it, or the ticket was resolved or
    /// closed when it came under the policy.
    pub resolution: Option<SlaClock>,
    /// Next-response cycles met within their target (the current cycle not included).
    #[serde(default)]
    pub next_responses_met: u32,
    /// Next-response cycles met late (the current cycle not included).
    #[serde(default)]
    pub next_responses_breached: u32,
    /// Instant of the last event applied: later events never count from before it.
    #[serde(default)]
    pub last_event_at: DateTime<Utc>,
    /// An agent has replied to the ticket (next-response cycles start only after that, even
    /// under a policy that does not track first response).
    #[serde(default)]
    pub agent_replied: bool,
}

/// A clock's state, for people: its status, when it is due, how much is used and left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockView {
    /// Which metric the clock measures.
    pub metric: SlaMetric,
    /// Status at the instant the view was taken.
    pub status: SlaStatus,
    /// Started at (this cycle, for next response).
    pub started_at: DateTime<Utc>,
    /// Met (stopped) at.
    pub met_at: Option<DateTime<Utc>>,
    /// Counting now (not met, not paused).
    pub running: bool,
    /// Target, in (business) seconds.
    pub target_secs: i64,
    /// Seconds counted so far (business seconds under business hours), pauses excluded.
    pub used_secs: i64,
    /// Seconds left before the target is used up (0 once breached).
    pub remaining_secs: i64,
    /// When the target runs out, while running (in the past when breached).
    pub due_at: Option<DateTime<Utc>>,
    /// When the clock reaches the at-risk share, while running and when that happens in the
    /// current running stretch (in the past when already at risk).
    pub at_risk_at: Option<DateTime<Utc>>,
    /// When the status changes next, while running.
    pub changes_at: Option<DateTime<Utc>>,
}

/// A ticket's SLA for people: the policy it runs under and every clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaView {
    /// Policy the clocks run under (it may have been deleted since).
    pub policy_id: SlaPolicyId,
    /// Its name when the ticket came under it.
    pub policy_name: String,
    /// Counted in business hours (`false`: 24 × 7).
    pub business_hours: bool,
    /// Next-response cycles met within their target.
    pub next_responses_met: u32,
    /// Next-response cycles met late.
    pub next_responses_breached: u32,
    /// Every clock the ticket has: first response, next response (the current cycle) and
    /// resolution, each only when present.
    pub clocks: Vec<ClockView>,
}

impl TicketSla {
    /// Starts the clocks of a ticket coming under `policy` at `at`, for the metrics the
    /// policy tracks at the ticket's priority: resolution, and first response unless an agent
    /// has replied already (next response starts with the customer's next message after a
    /// reply); paused when the ticket is pending; none when it is resolved or closed.
    pub fn start(
        policy: &SlaPolicy,
        priority: Priority,
        at: DateTime<Utc>,
        ctx: ClockContext,
    ) -> Result<TicketSla> {
        let targets = policy.targets_for(priority);
        let clock = |t: i64| {
            let mut c = SlaClock::start(t, at);
            if ctx.paused {
                c.running_since = None;
            }
            c
        };
        let mut sla = TicketSla {
            policy_id: policy.id,
            policy_name: policy.name.clone(),
            targets,
            business_hours: policy.business_hours.clone(),
            at_risk_permille: policy.at_risk_permille,
            first_response: targets
                .first_response
                .filter(|_| !ctx.responded && !ctx.done)
                .map(clock),
            next_response: None,
            resolution: targets.resolution.filter(|_| !ctx.done).map(clock),
            next_responses_met: 0,
            next_responses_breached: 0,
            last_event_at: at,
            agent_replied: ctx.responded,
        };
        sla.plan()?;
        Ok(sla)
    }

    /// The compiled calendar the clocks count in.
    pub fn calendar(&self) -> Result<Calendar> {
        cached(self.business_hours.as_ref())
    }

    /// The clocks the ticket has, each with its metric, in the order first response, next response,
    /// resolution.
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

    /// The instant an event at `at` counts from: never before the last one.
    fn instant(&mut self, at: DateTime<Utc>) -> DateTime<Utc> {
        let at = at.max(self.last_event_at);
        self.last_event_at = at;
        at
    }

    /// Applies an event at `at` (`paused`: the ticket is pending now), then recomputes the
    /// change instants. [`SlaEvent::Created`] and [`SlaEvent::Retarget`] need the policy:
    /// see [`start`](Self::start) and [`retarget`](Self::retarget).
    pub fn apply(&mut self, ev: SlaEvent, at: DateTime<Utc>, paused: bool) -> Result<()> {
        let cal = self.calendar()?;
        let now = self.instant(at);
        match ev {
            SlaEvent::Created | SlaEvent::Retarget => {}
            SlaEvent::AgentReply => {
                self.agent_replied = true;
                if let Some(c) = &mut self.first_response {
                    c.meet(&cal, now)?;
                }
                if let Some(c) = &mut self.next_response
                    && c.met_at.is_none()
                {
                    c.meet(&cal, now)?;
                    if c.met_late() {
                        self.next_responses_breached += 1;
                    } else {
                        self.next_responses_met += 1;
                    }
                }
            }
            SlaEvent::CustomerMessage => {
                // A new next-response cycle starts only when an agent has answered and no cycle runs.
                let replied = self.agent_replied
                    || self
                        .first_response
                        .as_ref()
                        .is_some_and(|c| c.met_at.is_some());
                let cycle_open = self
                    .next_response
                    .as_ref()
                    .is_some_and(|c| c.met_at.is_none());
                if replied
                    && !cycle_open
                    && let Some(t) = self.targets.next_response
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
                    c.pause(&cal, now)?;
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
                    c.meet(&cal, now)?;
                }
                for c in self.clocks_mut() {
                    c.pause(&cal, now)?;
                }
            }
            SlaEvent::Closed => {
                for c in self.clocks_mut() {
                    c.pause(&cal, now)?;
                }
            }
        }
        self.plan()
    }

    /// Moves the ticket under `policy` (its targets for `priority`, its calendar and at-risk
    /// share) at `at`. Time already used stays used: running stretches are counted up to `at`
    /// in the calendar they ran under, then continue in the new one. A met clock keeps its
    /// result; a clock not met takes the new target, or goes when the new policy does not
    /// track its metric, and its warning and breach are due again if the new target puts it
    /// back on track. Clocks the new targets track and the ticket lacks start at `at` (as in
    /// [`start`](Self::start)).
    pub fn retarget(
        &mut self,
        policy: &SlaPolicy,
        priority: Priority,
        at: DateTime<Utc>,
        ctx: ClockContext,
    ) -> Result<()> {
        let old = self.calendar()?;
        let now = self.instant(at);
        for c in self.clocks_mut() {
            if let Some(s) = c.running_since {
                c.consumed_secs += old.elapsed(s, now)?;
                c.running_since = Some(now);
            }
        }
        let targets = policy.targets_for(priority);
        self.policy_id = policy.id;
        self.policy_name = policy.name.clone();
        self.targets = targets;
        self.business_hours = policy.business_hours.clone();
        self.at_risk_permille = policy.at_risk_permille;
        self.agent_replied |= ctx.responded;
        let permille = self.at_risk_permille;
        for (slot, target, wanted) in [
            (
                &mut self.first_response,
                targets.first_response,
                !ctx.responded,
            ),
            (&mut self.next_response, targets.next_response, false),
            (&mut self.resolution, targets.resolution, true),
        ] {
            match (slot.as_mut(), target) {
                (Some(c), _) if c.met_at.is_some() => {}
                (Some(c), Some(t)) => {
                    c.target_secs = t;
                    // Time used is `consumed_secs` now (the running stretch was counted).
                    if c.consumed_secs < c.at_risk_secs(permille) {
                        c.warned = false;
                    }
                    if c.consumed_secs < t {
                        c.breached = false;
                    }
                }
                (Some(_), None) => *slot = None,
                (None, Some(t)) if wanted && !ctx.done => {
                    let mut c = SlaClock::start(t, now);
                    if ctx.paused {
                        c.running_since = None;
                    }
                    *slot = Some(c);
                }
                (None, _) => {}
            }
        }
        self.plan()
    }

    /// Recomputes every clock's change instants.
    fn plan(&mut self) -> Result<()> {
        let cal = self.calendar()?;
        let permille = self.at_risk_permille;
        for c in self.clocks_mut() {
            c.plan(&cal, permille)?;
        }
        Ok(())
    }

    /// The earliest instant a clock changes status with an event still to emit.
    pub fn wake_at(&self) -> Option<DateTime<Utc>> {
        self.clocks().filter_map(|(_, c)| c.wake()).min()
    }

    /// The policy and every clock's status at `now`, with its due and at-risk instants.
    pub fn view(&self, now: DateTime<Utc>) -> Result<SlaView> {
        let cal = self.calendar()?;
        let clocks = self
            .clocks()
            .map(|(metric, c)| {
                let status = c.status(&cal, self.at_risk_permille, now)?;
                let running = c.running_since.is_some();
                let changes_at = match status {
                    SlaStatus::OnTrack => c.at_risk_at.or(c.due_at),
                    SlaStatus::AtRisk => c.due_at,
                    SlaStatus::Breached => None,
                };
                let used = c.used(&cal, now)?;
                Ok(ClockView {
                    metric,
                    status,
                    started_at: c.started_at,
                    met_at: c.met_at,
                    running,
                    target_secs: c.target_secs,
                    used_secs: used,
                    remaining_secs: (c.target_secs - used).max(0),
                    due_at: c.due_at.filter(|_| running),
                    at_risk_at: c.at_risk_at.filter(|_| running),
                    changes_at: changes_at.filter(|_| running),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SlaView {
            policy_id: self.policy_id,
            policy_name: self.policy_name.clone(),
            business_hours: self.business_hours.is_some(),
            next_responses_met: self.next_responses_met,
            next_responses_breached: self.next_responses_breached,
            clocks,
        })
    }

    /// Marks the events due at `now` as emitted and returns them (metric, breached?): a
    /// warning for clocks that reached the at-risk share, a breach for clocks out of time.
    /// A clock found already breached gets only the breach event.
    pub fn take_due_events(&mut self, now: DateTime<Utc>) -> Result<Vec<(SlaMetric, SlaStatus)>> {
        let cal = self.calendar()?;
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
            match c.status(&cal, permille, now)? {
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

    /// The clock of `metric`; `None` when the ticket has none for it.
    pub fn clock(&self, metric: SlaMetric) -> Option<&SlaClock> {
        match metric {
            SlaMetric::FirstResponse => self.first_response.as_ref(),
            SlaMetric::NextResponse => self.next_response.as_ref(),
            SlaMetric::Resolution => self.resolution.as_ref(),
        }
    }

    /// Business seconds from the customer's first message to the first agent reply (pauses
    /// excluded), once met.
    pub fn first_response_secs(&self) -> Option<i64> {
        self.first_response
            .as_ref()
            .filter(|c| c.met_at.is_some())
            .map(|c| c.consumed_secs)
    }

    /// Business seconds from the customer's first message to resolution (pauses excluded),
    /// once resolved.
    pub fn resolution_secs(&self) -> Option<i64> {
        self.resolution
            .as_ref()
            .filter(|c| c.met_at.is_some())
            .map(|c| c.consumed_secs)
    }
}
