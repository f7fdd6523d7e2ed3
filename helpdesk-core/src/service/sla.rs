//! SLA workflows: policies, the clock step run by every ticket change, the scan that emits
//! `sla.warning` / `sla.breached`, and the per-ticket view.

use super::*;
use crate::actor::Action;
use crate::domain::team::validate_name;
use crate::domain::ticket::{Priority, TicketStatus};
use crate::sla::{
    CalendarSpec, ClockContext, SlaEvent, SlaPolicy, SlaStatus, SlaTargets, SlaView, TicketSla,
};
use std::collections::BTreeMap;

/// A new SLA policy: a name and the targets every priority gets, and what the builder
/// methods add. Nothing is implied: no per-priority table unless given, 24 × 7 unless given
/// business hours, not the tenant's default unless [`as_default`](Self::as_default).
///
/// ```
/// use helpdesk_core::domain::ticket::Priority;
/// use helpdesk_core::service::NewSlaPolicy;
/// use helpdesk_core::sla::{CalendarSpec, SlaTargets};
/// use helpdesk_core::chrono::Duration;
///
/// // First response within 2 business hours, resolution within 8; urgent tickets 1 h / 4 h.
/// let hours = CalendarSpec::weekdays(chrono_tz::America::Sao_Paulo, "09:00", "18:00").unwrap();
/// let targets = SlaTargets::replies_within(Duration::hours(2)).with_resolution(Duration::hours(8));
/// let urgent = SlaTargets::replies_within(Duration::hours(1)).with_resolution(Duration::hours(4));
/// let policy = NewSlaPolicy::new("Comercial", targets)
///     .with_business_hours(hours)
///     .with_priority(Priority::Urgent, urgent)
///     .as_default();
/// assert!(policy.is_default);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewSlaPolicy {
    /// Display name, trimmed, 1 to 120 characters; a new policy's name must be unique in the
    /// tenant, ignoring case ([`Error::AlreadyExists`]).
    pub name: String,
    /// First response, next response and resolution targets of every priority without an
    /// override; a policy with no target at all is [`Error::Invalid`].
    pub targets: SlaTargets,
    /// Per-priority overrides; what an override leaves unset falls back to `targets`.
    pub priority_targets: BTreeMap<Priority, SlaTargets>,
    /// The hours the clocks run in (they stop outside them); `None` = 24 × 7. A calendar
    /// without any open hour is [`Error::NoBusinessTime`].
    pub business_hours: Option<CalendarSpec>,
    /// The share of a target after which a clock is at risk and `sla.warning` is emitted,
    /// 0 < x ≤ 1 ([`Error::Invalid`] otherwise; [`NewSlaPolicy::new`] sets 0.8).
    pub at_risk: f64,
    /// Make it the tenant's default (the policy of queues without one).
    pub is_default: bool,
}

impl NewSlaPolicy {
    /// A policy with these targets for every priority, counted 24 × 7, at risk at 80 % of a
    /// target, not the default.
    pub fn new(name: impl Into<String>, targets: SlaTargets) -> NewSlaPolicy {
        NewSlaPolicy {
            name: name.into(),
            targets,
            priority_targets: BTreeMap::new(),
            business_hours: None,
            at_risk: 0.8,
            is_default: false,
        }
    }

    /// The seed's table (urgent 1 h / 4 h, high 4 h / 8 h, medium 8 h / 24 h, low 24 h / 72 h
    /// for first response / resolution; next response as first response), 24 × 7.
    pub fn seed(name: impl Into<String>) -> NewSlaPolicy {
        let table = crate::sla::policy::default_priority_targets();
        let medium = table
            .get(&Priority::Medium)
            .copied()
            .unwrap_or(SlaTargets::NONE);
        NewSlaPolicy {
            priority_targets: table,
            ..NewSlaPolicy::new(name, medium)
        }
    }

    /// Overrides the targets of one priority (unset metrics fall back to the policy's).
    pub fn with_priority(mut self, priority: Priority, targets: SlaTargets) -> NewSlaPolicy {
        self.priority_targets.insert(priority, targets);
        self
    }

    /// Counts in these business hours instead of 24 × 7.
    pub fn with_business_hours(mut self, hours: CalendarSpec) -> NewSlaPolicy {
        self.business_hours = Some(hours);
        self
    }

    /// The share of a target after which a clock is at risk (0 < share ≤ 1).
    pub fn with_at_risk(mut self, share: f64) -> NewSlaPolicy {
        self.at_risk = share;
        self
    }

    /// Makes it the tenant's default policy (the previous default stops being one).
    pub fn as_default(mut self) -> NewSlaPolicy {
        self.is_default = true;
        self
    }

    /// The stored policy, validated.
    pub(crate) fn into_policy(
        self,
        id: SlaPolicyId,
        org_id: OrgId,
        created_at: DateTime<Utc>,
    ) -> Result<SlaPolicy> {
        if !(self.at_risk > 0.0 && self.at_risk <= 1.0) {
            return Err(Error::invalid("at_risk", "must be in (0, 1]"));
        }
        let p = SlaPolicy {
            id,
            org_id,
            name: validate_name("name", &self.name)?,
            targets: self.targets,
            priority_targets: self.priority_targets,
            business_hours: self.business_hours,
            at_risk_permille: (self.at_risk * 1000.0).round().clamp(1.0, 1000.0) as u16,
            is_default: self.is_default,
            created_at,
        };
        p.validate()?;
        Ok(p)
    }
}

/// What an SLA scan ([`Helpdesk::scan_sla`], [`Helpdesk::scan_sla_in`]) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlaScan {
    /// Tickets whose wake instant had come and that the scan looked at.
    pub tickets: usize,
    /// `sla.warning` events emitted.
    pub warnings: usize,
    /// `sla.breached` events emitted.
    pub breaches: usize,
}

/// The policy for a ticket: its queue's, else the tenant default.
async fn resolve_policy(tx: &mut dyn StoreTx, t: &Ticket) -> Result<Option<SlaPolicy>> {
    let policies = tx.sla_policies().await?;
    let queue_policy = match t.queue_id {
        Some(q) => tx.queue(q).await?.sla_policy_id,
        None => None,
    };
    Ok(queue_policy
        .and_then(|id| policies.iter().find(|p| p.id == id).cloned())
        .or_else(|| policies.into_iter().find(|p| p.is_default)))
}

/// Runs the ticket's SLA clocks through `ev` at `at` and refreshes its wake instant.
///
/// [`SlaEvent::Created`] and [`SlaEvent::Retarget`] (and a reopening of a ticket without
/// clocks) look the ticket's policy up (its queue's, else the tenant's default) and take a
/// snapshot of it: a ticket without clocks gets them then (they start at `at`), one with
/// clocks moves under the policy found. Every other event runs on the snapshot the ticket
/// carries and reads nothing.
pub(crate) async fn sla_step(
    tx: &mut dyn StoreTx,
    t: &mut Ticket,
    ev: SlaEvent,
    at: DateTime<Utc>,
) -> Result<()> {
    // A ticket without clocks that reopens is work again: its policy is looked up then.
    let looks_up = matches!(ev, SlaEvent::Created | SlaEvent::Retarget)
        || (ev == SlaEvent::Resumed && t.sla.is_none());
    if !looks_up {
        return apply_sla_event(t, ev, at);
    }
    let Some(policy) = resolve_policy(tx, t).await? else {
        return Ok(());
    };
    let ctx = ClockContext {
        responded: t.first_response_at.is_some(),
        paused: t.status == TicketStatus::Pending,
        done: matches!(t.status, TicketStatus::Resolved | TicketStatus::Closed),
    };
    match &mut t.sla {
        Some(sla) => sla.retarget(&policy, t.priority, at, ctx)?,
        None if ctx.done => {}
        None => t.sla = Some(TicketSla::start(&policy, t.priority, at, ctx)?),
    }
    t.sla_wake_at = t.sla.as_ref().and_then(TicketSla::wake_at);
    Ok(())
}

/// Applies `ev` at `at` to the clocks the ticket carries (the pure part of [`sla_step`], for
/// every event but creation and retargeting); no-op for a ticket without clocks.
pub(crate) fn apply_sla_event(t: &mut Ticket, ev: SlaEvent, at: DateTime<Utc>) -> Result<()> {
    let paused = t.status == TicketStatus::Pending;
    if let Some(sla) = &mut t.sla {
        sla.apply(ev, at, paused)?;
        t.sla_wake_at = sla.wake_at();
    }
    Ok(())
}

/// `NotFound` unless `policy` (when given) exists.
pub(crate) async fn ensure_policy(tx: &mut dyn StoreTx, policy: Option<SlaPolicyId>) -> Result<()> {
    if let Some(p) = policy
        && !tx.sla_policies().await?.iter().any(|x| x.id == p)
    {
        return Err(Error::not_found(Entity::SlaPolicy, p));
    }
    Ok(())
}

/// One default policy per organization: every other policy stops being the default.
pub(crate) async fn clear_default_policy(tx: &mut dyn StoreTx, keep: SlaPolicyId) -> Result<()> {
    for mut old in tx
        .sla_policies()
        .await?
        .into_iter()
        .filter(|x| x.is_default && x.id != keep)
    {
        old.is_default = false;
        tx.update_sla_policy(&old).await?;
    }
    Ok(())
}

/// The SLA event of a status move, if any.
pub(crate) fn status_event(from: TicketStatus, to: TicketStatus) -> Option<SlaEvent> {
    use TicketStatus::*;
    match (from, to) {
        (_, Pending) => Some(SlaEvent::Paused),
        (Pending | Resolved | Closed, Open) => Some(SlaEvent::Resumed),
        (_, Resolved) => Some(SlaEvent::Resolved),
        (_, Closed) => Some(SlaEvent::Closed),
        _ => None,
    }
}

impl Helpdesk {
    /// Creates an SLA policy (see [`NewSlaPolicy`] for the checks). Admins and the system only
    /// ([`Error::Forbidden`] otherwise); audited as `sla_policy.create`. A default policy
    /// replaces the previous default.
    /// Tickets come under it when they are created in, or transferred to, a queue it applies
    /// to, or when their priority changes (see [`TicketSla`] for what they keep).
    pub async fn create_sla_policy(
        &self,
        org: OrgId,
        actor: &Actor,
        new: NewSlaPolicy,
    ) -> Result<SlaPolicy> {
        let now = self.now();
        let p = new.into_policy(SlaPolicyId::new(), org, now)?;
        let mut tx = self.store.begin(org).await?;
        configure(&mut *tx, actor).await?;
        if p.is_default {
            clear_default_policy(&mut *tx, p.id).await?;
        }
        tx.insert_sla_policy(&p).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::SlaPolicyCreated {
                id: p.id,
                default: p.is_default,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(p)
    }

    /// The tenant's SLA policies with their targets and calendars. No actor and no
    /// permission check.
    pub async fn sla_policies(&self, org: OrgId) -> Result<Vec<SlaPolicy>> {
        self.store.begin(org).await?.sla_policies().await
    }

    /// Sets a queue's SLA policy, which must exist ([`Error::NotFound`]), or clears it
    /// (`None`: the tenant's default applies). Tickets get it when they are created in or
    /// transferred to the queue. Admins and the system only; audited as `queue.sla_policy`.
    pub async fn set_queue_sla_policy(
        &self,
        org: OrgId,
        actor: &Actor,
        queue: QueueId,
        policy: Option<SlaPolicyId>,
    ) -> Result<crate::domain::team::Queue> {
        // Every automatic assignment advances the queue's rotation (a new version): under
        // traffic, this change can lose the race and is run again.
        workflow!(self, org, |tx, now| {
            configure(&mut *tx, actor).await?;
            ensure_policy(&mut *tx, policy).await?;
            let mut q = tx.queue(queue).await?;
            q.sla_policy_id = policy;
            q.version += 1;
            tx.update_queue(&q).await?;
            audit_config(
                &mut *tx,
                actor,
                ConfigChange::QueueSlaPolicySet {
                    queue_id: queue,
                    policy_id: policy,
                },
                now,
            )
            .await?;
            q
        })
    }

    /// The SLA of a ticket: the policy it runs under and each clock's status now, when it is
    /// due, when it gets at risk, and the seconds used and left. `None` when the ticket has no
    /// clocks (no policy applied to it). Anyone who may view the ticket may read it.
    pub async fn sla_state(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
    ) -> Result<Option<SlaView>> {
        let now = self.now();
        let mut tx = self.store.begin(org).await?;
        let t = authorized_ticket(&mut *tx, actor, ticket, Action::View).await?;
        t.sla.as_ref().map(|s| s.view(now)).transpose()
    }

    /// The earliest instant any ticket's SLA status changes, across every tenant (sleep until
    /// then, then scan); `None` when no ticket has a clock whose status will change.
    pub async fn next_sla_wake(&self) -> Result<Option<DateTime<Utc>>> {
        self.store.next_sla_wake().await
    }

    /// Emits `sla.warning` and `sla.breached` for every clock that reached its at-risk share
    /// or its target by `now`, once per clock and cycle, in every tenant; records that on the
    /// ticket and moves its wake instant on. Safe to run from several instances at once.
    pub async fn scan_sla(&self, now: DateTime<Utc>) -> Result<SlaScan> {
        let mut total = SlaScan::default();
        for org in self.store.orgs_with_sla_due(now).await? {
            let s = self.scan_sla_in(org, now).await?;
            total.tickets += s.tickets;
            total.warnings += s.warnings;
            total.breaches += s.breaches;
        }
        Ok(total)
    }

    /// [`scan_sla`](Self::scan_sla) in one tenant only.
    pub async fn scan_sla_in(&self, org: OrgId, now: DateTime<Utc>) -> Result<SlaScan> {
        let mut total = SlaScan::default();
        loop {
            // One batch of up to 100 due tickets per transaction, at the scan's `now`.
            let (batch, seen) = workflow!(self, org, |tx, _| {
                let mut out = SlaScan::default();
                let due = tx.tickets_due_for_sla(now, 100).await?;
                let seen = due.len();
                for before in due {
                    let mut t = before.clone();
                    let Some(sla) = t.sla.as_mut() else {
                        t.sla_wake_at = None;
                        save_ticket(&mut *tx, &before, &mut t, now).await?;
                        continue;
                    };
                    for (metric, status) in sla.take_due_events(now)? {
                        let n = match status {
                            SlaStatus::Breached => &mut out.breaches,
                            _ => &mut out.warnings,
                        };
                        *n += 1;
                        let happened = EventData::Sla {
                            metric,
                            status,
                            due_at: sla.clock(metric).and_then(|c| c.due_at),
                            policy_id: sla.policy_id,
                        };
                        emit(&mut *tx, Some(t.id), &Actor::System, &happened, now).await?;
                    }
                    t.sla_wake_at = sla.wake_at();
                    // A wake instant that did not move (nothing was due yet) would spin the scan.
                    if t.sla_wake_at.is_some_and(|w| w <= now) {
                        t.sla_wake_at = None;
                    }
                    out.tickets += 1;
                    save_ticket(&mut *tx, &before, &mut t, now).await?;
                }
                (out, seen)
            })?;
            total.tickets += batch.tickets;
            total.warnings += batch.warnings;
            total.breaches += batch.breaches;
            // Every ticket of the batch left it (its wake moved past `now` or was cleared),
            // clockless ones included: go on until a batch comes back empty.
            if seen == 0 {
                return Ok(total);
            }
        }
    }
}
