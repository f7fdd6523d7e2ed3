//! SLA workflows: policies, the clock step run by every ticket change, the scan that emits
//! `sla.warning` / `sla.breached`, and the per-ticket view.

use super::*;
use crate::actor::Action;
use crate::domain::team::validate_name;
use crate::domain::ticket::{Priority, TicketStatus};
use crate::sla::calendar::cached;
use crate::sla::clock::ClockView;
use crate::sla::{CalendarSpec, SlaEvent, SlaPolicy, SlaStatus, SlaTargets, TicketSla};
use std::collections::BTreeMap;

/// A new SLA policy.
#[derive(Debug, Clone)]
pub struct NewSlaPolicy {
    /// Name.
    pub name: String,
    /// Targets without a priority override.
    pub targets: SlaTargets,
    /// Per-priority overrides (see [`crate::sla::policy::default_priority_targets`]).
    pub priority_targets: BTreeMap<Priority, SlaTargets>,
    /// Business hours; `None` = 24 × 7.
    pub business_hours: Option<CalendarSpec>,
    /// At-risk share of a target, 0 < x ≤ 1 (default 0.8).
    pub at_risk: f64,
    /// Make it the tenant's default.
    pub is_default: bool,
}

impl Default for NewSlaPolicy {
    /// The seed's per-priority defaults, 24 × 7, at risk at 80 %, default policy.
    fn default() -> Self {
        NewSlaPolicy {
            name: "Padrão".into(),
            targets: SlaTargets::hours(8.0, 8.0, 24.0),
            priority_targets: crate::sla::policy::default_priority_targets(),
            business_hours: None,
            at_risk: 0.8,
            is_default: true,
        }
    }
}

/// What a scan did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlaScan {
    /// Tickets looked at.
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

/// Runs the ticket's SLA clocks through `ev` and refreshes its wake instant.
pub(crate) async fn sla_step(
    tx: &mut dyn StoreTx,
    t: &mut Ticket,
    ev: SlaEvent,
    now: DateTime<Utc>,
) -> Result<()> {
    if t.sla.is_none() && ev != SlaEvent::Created {
        return Ok(());
    }
    let policy = match (&t.sla, ev) {
        (Some(s), e) if e != SlaEvent::Retarget => {
            let id = s.policy_id;
            match tx.sla_policies().await?.into_iter().find(|p| p.id == id) {
                Some(p) => Some(p),
                None => resolve_policy(tx, t).await?,
            }
        }
        _ => resolve_policy(tx, t).await?,
    };
    let Some(policy) = policy else { return Ok(()) };
    apply_sla_event(t, ev, &policy, now)
}

/// Applies `ev` to the ticket's clocks under `policy` (the pure part of [`sla_step`]).
pub(crate) fn apply_sla_event(
    t: &mut Ticket,
    ev: SlaEvent,
    policy: &SlaPolicy,
    now: DateTime<Utc>,
) -> Result<()> {
    let cal = cached(policy.business_hours.as_ref())?;
    let targets = policy.targets_for(t.priority);
    let mut sla = t
        .sla
        .take()
        .unwrap_or_else(|| TicketSla::new(policy, targets, now));
    sla.apply(
        ev,
        policy,
        targets,
        &cal,
        now,
        t.status == TicketStatus::Pending,
    )?;
    t.sla_wake_at = sla.wake_at();
    t.sla = Some(sla);
    Ok(())
}

/// `NotFound` unless `policy` (when given) exists.
pub(crate) async fn ensure_policy(tx: &mut dyn StoreTx, policy: Option<SlaPolicyId>) -> Result<()> {
    if let Some(p) = policy
        && !tx.sla_policies().await?.iter().any(|x| x.id == p)
    {
        return Err(Error::not_found("sla_policy", p));
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
    /// Creates an SLA policy (admins). A default policy replaces the previous default.
    pub async fn create_sla_policy(
        &self,
        org: OrgId,
        actor: &Actor,
        new: NewSlaPolicy,
    ) -> Result<SlaPolicy> {
        let now = self.now();
        if !(new.at_risk > 0.0 && new.at_risk <= 1.0) {
            return Err(Error::invalid("at_risk", "must be in (0, 1]"));
        }
        let p = SlaPolicy {
            id: SlaPolicyId::new(),
            org_id: org,
            name: validate_name("name", &new.name)?,
            targets: new.targets,
            priority_targets: new.priority_targets,
            business_hours: new.business_hours,
            at_risk_permille: (new.at_risk * 1000.0).round().clamp(1.0, 1000.0) as u16,
            is_default: new.is_default,
            created_at: now,
        };
        p.validate()?;
        let mut tx = self.store.begin(org).await?;
        principal(&mut *tx, actor)
            .await?
            .authorize(Action::Configure, None)?;
        if p.is_default {
            clear_default_policy(&mut *tx, p.id).await?;
        }
        tx.insert_sla_policy(&p).await?;
        audit(
            &mut *tx,
            None,
            actor,
            "sla_policy.create",
            json!({"id": p.id, "default": p.is_default}),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(p)
    }

    /// The tenant's SLA policies.
    pub async fn sla_policies(&self, org: OrgId) -> Result<Vec<SlaPolicy>> {
        self.store.begin(org).await?.sla_policies().await
    }

    /// Sets (or clears) a queue's SLA policy. Tickets get it when they are created in or
    /// transferred to the queue.
    pub async fn set_queue_sla_policy(
        &self,
        org: OrgId,
        actor: &Actor,
        queue: QueueId,
        policy: Option<SlaPolicyId>,
    ) -> Result<crate::domain::team::Queue> {
        // Every automatic assignment advances the queue's rotation (a new version): under
        // traffic, this change can lose the race and is run again.
        retrying!(
            self,
            self.set_queue_sla_policy_once(org, actor, queue, policy)
        )
    }

    async fn set_queue_sla_policy_once(
        &self,
        org: OrgId,
        actor: &Actor,
        queue: QueueId,
        policy: Option<SlaPolicyId>,
    ) -> Result<crate::domain::team::Queue> {
        let now = self.now();
        let mut tx = self.store.begin(org).await?;
        principal(&mut *tx, actor)
            .await?
            .authorize(Action::Configure, None)?;
        ensure_policy(&mut *tx, policy).await?;
        let mut q = tx.queue(queue).await?;
        q.sla_policy_id = policy;
        q.version += 1;
        tx.update_queue(&q).await?;
        audit(
            &mut *tx,
            None,
            actor,
            "queue.sla_policy",
            json!({"queue_id": queue, "policy_id": policy}),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(q)
    }

    /// Every SLA clock of a ticket with its status now and the instant it changes next.
    pub async fn sla_state(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
    ) -> Result<Vec<ClockView>> {
        let now = self.now();
        let mut tx = self.store.begin(org).await?;
        let t = tx.ticket(ticket).await?;
        principal(&mut *tx, actor)
            .await?
            .authorize(Action::View, Some(&scope(&t)))?;
        let Some(sla) = &t.sla else {
            return Ok(Vec::new());
        };
        let policy = tx
            .sla_policies()
            .await?
            .into_iter()
            .find(|p| p.id == sla.policy_id);
        let cal = cached(policy.as_ref().and_then(|p| p.business_hours.as_ref()))?;
        sla.view(&cal, now)
    }

    /// The earliest instant any ticket's SLA status changes (sleep until then, then scan).
    pub async fn next_sla_wake(&self) -> Result<Option<DateTime<Utc>>> {
        self.store.next_sla_wake().await
    }

    /// Emits `sla.warning` and `sla.breached` for every clock that reached its at-risk share
    /// or its target by `now`, once per clock and cycle, in every tenant; records that on the
    /// ticket and moves its wake instant on. Safe to run from several instances at once.
    pub async fn scan_sla(&self, now: DateTime<Utc>) -> Result<SlaScan> {
        let mut total = SlaScan::default();
        for org in self.store.orgs_with_sla_due(now).await? {
            loop {
                let batch = retrying!(self, self.scan_batch(org, now))?;
                total.tickets += batch.tickets;
                total.warnings += batch.warnings;
                total.breaches += batch.breaches;
                if batch.tickets == 0 {
                    break;
                }
            }
        }
        Ok(total)
    }

    async fn scan_batch(&self, org: OrgId, now: DateTime<Utc>) -> Result<SlaScan> {
        let mut out = SlaScan::default();
        let mut tx = self.store.begin(org).await?;
        let policies = tx.sla_policies().await?;
        for before in tx.tickets_due_for_sla(now, 100).await? {
            let mut t = before.clone();
            let Some(sla) = t.sla.as_mut() else {
                t.sla_wake_at = None;
                save_ticket(&mut *tx, &before, &mut t, now).await?;
                continue;
            };
            let policy = policies.iter().find(|p| p.id == sla.policy_id);
            let cal = cached(policy.and_then(|p| p.business_hours.as_ref()))?;
            for (metric, status) in sla.take_due_events(&cal, now)? {
                let (kind, n) = match status {
                    SlaStatus::Breached => (EventKind::SlaBreached, &mut out.breaches),
                    _ => (EventKind::SlaWarning, &mut out.warnings),
                };
                *n += 1;
                let clock = match metric {
                    crate::sla::SlaMetric::FirstResponse => &sla.first_response,
                    crate::sla::SlaMetric::NextResponse => &sla.next_response,
                    crate::sla::SlaMetric::Resolution => &sla.resolution,
                };
                let due_at = clock.as_ref().and_then(|c| c.due_at);
                emit(
                    &mut *tx,
                    kind,
                    Some(t.id),
                    &Actor::System,
                    json!({"metric": metric, "status": status, "due_at": due_at}),
                    now,
                )
                .await?;
            }
            t.sla_wake_at = sla.wake_at();
            // A wake instant that did not move (nothing was due yet) would spin the scan.
            if t.sla_wake_at.is_some_and(|w| w <= now) {
                t.sla_wake_at = None;
            }
            out.tickets += 1;
            save_ticket(&mut *tx, &before, &mut t, now).await?;
        }
        tx.commit().await?;
        Ok(out)
    }
}
