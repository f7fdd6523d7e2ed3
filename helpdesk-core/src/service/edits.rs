//! Changing and removing configuration: queues, agents, stages, SLA policies and canned
//! responses. Each needs [`Action::Configure`](crate::actor::Action::Configure): admins and
//! the system may, everyone else (supervisors included) is
//! [`Forbidden`](crate::Error::Forbidden); each change leaves an audit entry. Removal never
//! strands a ticket: a queue, stage or policy still in use is
//! [`Refused`](crate::Error::Refused), saying what uses it.

use super::setup::validate_queue_settings;
use super::*;
use crate::domain::board::Stage;
use crate::domain::canned::{CannedResponse, normalize_shortcut};
use crate::domain::team::{Agent, Presence, Queue, validate_color, validate_name};
use crate::sla::SlaPolicy;
use crate::store::query::TicketQuery;

/// Whether any ticket (live or closed: history keeps pointing at it) matches `q`.
async fn any_ticket(tx: &mut dyn StoreTx, q: TicketQuery) -> Result<bool> {
    let page = tx
        .list_tickets(&TicketQuery {
            limit: 1,
            count_limit: 1,
            ..q
        })
        .await?;
    Ok(!page.items.is_empty())
}

/// `AlreadyExists` when another row (`is_self` false) has `name`, compared case-insensitively.
fn taken<'a>(
    entity: Entity,
    rows: impl Iterator<Item = (bool, &'a str, String)>,
    name: &str,
) -> Result<()> {
    for (is_self, n, id) in rows {
        if !is_self && n.to_lowercase() == name.to_lowercase() {
            return Err(Error::already_exists(entity, "name", Some(id)));
        }
    }
    Ok(())
}

impl Helpdesk {
    /// Changes a queue's name, color, business hours, auto-replies, strategy, SLA policy or
    /// reopen rule (see [`QueueChanges`] for the checks). Admins and the system only; audited
    /// as `queue.update`.
    pub async fn update_queue(
        &self,
        org: OrgId,
        actor: &Actor,
        id: QueueId,
        changes: QueueChanges,
    ) -> Result<Queue> {
        let c = &changes;
        workflow!(self, org, |tx, now| {
            configure(&mut *tx, actor).await?;
            let mut q = tx.queue(id).await?;
            if let Some(n) = &c.name {
                q.name = validate_name("name", n)?;
                taken(
                    Entity::Queue,
                    tx.queues()
                        .await?
                        .iter()
                        .map(|x| (x.id == id, x.name.as_str(), x.id.to_string())),
                    &q.name,
                )?;
            }
            if let Some(color) = &c.color {
                q.color = color
                    .as_deref()
                    .map(|x| validate_color("color", x))
                    .transpose()?;
            }
            if let Some(h) = &c.business_hours {
                q.business_hours = h.clone();
            }
            if let Some(a) = &c.auto_replies {
                q.auto_replies = a.clone();
            }
            if let Some(d) = c.distribution {
                q.distribution = d;
            }
            if let Some(r) = c.reopen {
                q.reopen = r.validate()?;
            }
            if let Some(p) = c.sla_policy_id {
                super::sla::ensure_policy(&mut *tx, p).await?;
                q.sla_policy_id = p;
            }
            validate_queue_settings(q.business_hours.as_ref(), &q.auto_replies)?;
            q.version += 1;
            tx.update_queue(&q).await?;
            audit_config(&mut *tx, actor, ConfigChange::QueueUpdated { id }, now).await?;
            q
        })
    }

    /// Deletes a queue nobody refers to: `Refused` while a ticket (even a closed one) or an
    /// inbox's default routing points at it. Its memberships go with it. Admins and the system
    /// only; audited as `queue.delete`.
    pub async fn delete_queue(&self, org: OrgId, actor: &Actor, id: QueueId) -> Result<()> {
        let now = self.now();
        let mut tx = self.admin_tx(org, actor).await?;
        tx.queue(id).await?;
        if tx
            .channel_accounts()
            .await?
            .iter()
            .any(|a| a.default_queue_id == Some(id))
        {
            return Err(Error::refused(
                Entity::Queue,
                "an inbox routes new conversations to it",
            ));
        }
        if any_ticket(
            &mut *tx,
            TicketQuery {
                queue_id: Some(id),
                ..TicketQuery::default()
            },
        )
        .await?
        {
            return Err(Error::refused(
                Entity::Queue,
                "tickets are in it; transfer them first",
            ));
        }
        tx.delete_queue(id).await?;
        audit_config(&mut *tx, actor, ConfigChange::QueueDeleted { id }, now).await?;
        tx.commit().await
    }

    /// Changes an agent's name, role, capacity or active flag (see [`AgentChanges`]; a
    /// capacity outside 1 to 1000 is [`Error::Invalid`], and so is an agent deactivating
    /// itself or changing its own role). Deactivating also sets it offline; its tickets stay
    /// assigned until reassigned. Admins and the system only; audited as `agent.update`.
    pub async fn update_agent(
        &self,
        org: OrgId,
        actor: &Actor,
        id: AgentId,
        changes: AgentChanges,
    ) -> Result<Agent> {
        if let Some(c) = changes.capacity
            && !(1..=1000).contains(&c)
        {
            return Err(Error::invalid("capacity", "must be 1 to 1000"));
        }
        let c = &changes;
        workflow!(self, org, |tx, now| {
            configure(&mut *tx, actor).await?;
            let mut a = tx.agent(id).await?;
            if actor.agent_id() == Some(id) && (c.active == Some(false) || c.role.is_some()) {
                return Err(Error::invalid(
                    "agentId",
                    "an agent cannot deactivate itself or change its own role",
                ));
            }
            if let Some(n) = &c.name {
                a.name = validate_name("name", n)?;
            }
            if let Some(r) = c.role {
                a.role = r;
            }
            if let Some(cap) = c.capacity {
                a.capacity = cap;
            }
            if let Some(active) = c.active {
                a.active = active;
                if !active {
                    a.presence = Presence::Offline;
                }
            }
            a.version += 1;
            tx.update_agent(&a).await?;
            audit_config(
                &mut *tx,
                actor,
                ConfigChange::AgentUpdated {
                    id,
                    active: a.active,
                    role: a.role,
                    capacity: a.capacity,
                },
                now,
            )
            .await?;
            a
        })
    }

    /// Changes a stage's name, color or position (see [`StageChanges`]); its tickets stay in
    /// it. Admins and the system only; audited as `stage.update`.
    pub async fn update_stage(
        &self,
        org: OrgId,
        actor: &Actor,
        id: StageId,
        c: StageChanges,
    ) -> Result<Stage> {
        let now = self.now();
        let mut tx = self.admin_tx(org, actor).await?;
        let stages = tx.stages().await?;
        let mut s = stages
            .iter()
            .find(|s| s.id == id)
            .cloned()
            .ok_or_else(|| Error::not_found(Entity::Stage, id))?;
        if let Some(n) = &c.name {
            s.name = validate_name("name", n)?;
            taken(
                Entity::Stage,
                stages
                    .iter()
                    .map(|x| (x.id == id, x.name.as_str(), x.id.to_string())),
                &s.name,
            )?;
        }
        if let Some(color) = &c.color {
            s.color = validate_color("color", color)?;
        }
        if let Some(p) = c.position {
            s.position = p;
        }
        tx.update_stage(&s).await?;
        audit_config(&mut *tx, actor, ConfigChange::StageUpdated { id }, now).await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Deletes an empty stage: `Refused` while a ticket is in it, or when it is the last one
    /// (new tickets need a first stage). Admins and the system only; audited as
    /// `stage.delete`.
    pub async fn delete_stage(&self, org: OrgId, actor: &Actor, id: StageId) -> Result<()> {
        let now = self.now();
        let mut tx = self.admin_tx(org, actor).await?;
        let stages = tx.stages().await?;
        if !stages.iter().any(|s| s.id == id) {
            return Err(Error::not_found(Entity::Stage, id));
        }
        if stages.len() == 1 {
            return Err(Error::refused(
                Entity::Stage,
                "the board needs at least one stage",
            ));
        }
        if any_ticket(
            &mut *tx,
            TicketQuery {
                stage_id: Some(id),
                ..TicketQuery::default()
            },
        )
        .await?
        {
            return Err(Error::refused(
                Entity::Stage,
                "tickets are in it; move them first",
            ));
        }
        tx.delete_stage(id).await?;
        audit_config(&mut *tx, actor, ConfigChange::StageDeleted { id }, now).await?;
        tx.commit().await
    }

    /// Replaces an SLA policy's settings (name, targets, business hours, at-risk share,
    /// default flag). Tickets already under it keep the snapshot they took (targets and
    /// calendar, so their due instants stay true); the new settings apply to tickets that come
    /// under it from now on (created, transferred, or a priority change). Checked as on
    /// creation; an unknown id is [`Error::NotFound`]. Admins and the system only; audited as
    /// `sla_policy.update`.
    pub async fn update_sla_policy(
        &self,
        org: OrgId,
        actor: &Actor,
        id: SlaPolicyId,
        new: NewSlaPolicy,
    ) -> Result<SlaPolicy> {
        let now = self.now();
        let mut tx = self.admin_tx(org, actor).await?;
        let policies = tx.sla_policies().await?;
        let old = policies
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::not_found(Entity::SlaPolicy, id))?;
        let p = new.into_policy(id, org, old.created_at)?;
        if p.is_default {
            super::sla::clear_default_policy(&mut *tx, id).await?;
        }
        tx.update_sla_policy(&p).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::SlaPolicyUpdated {
                id,
                default: p.is_default,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Deletes an SLA policy no queue uses (`Refused` otherwise). Tickets under it keep
    /// running on their snapshot of it (targets and calendar) until a transfer or a priority
    /// change moves them under the policy that applies then. Admins and the system only;
    /// audited as `sla_policy.delete`.
    pub async fn delete_sla_policy(
        &self,
        org: OrgId,
        actor: &Actor,
        id: SlaPolicyId,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.admin_tx(org, actor).await?;
        if !tx.sla_policies().await?.iter().any(|p| p.id == id) {
            return Err(Error::not_found(Entity::SlaPolicy, id));
        }
        if let Some(q) = tx
            .queues()
            .await?
            .iter()
            .find(|q| q.sla_policy_id == Some(id))
        {
            return Err(Error::refused(
                Entity::SlaPolicy,
                format!("queue {:?} uses it", q.name),
            ));
        }
        tx.delete_sla_policy(id).await?;
        audit_config(&mut *tx, actor, ConfigChange::SlaPolicyDeleted { id }, now).await?;
        tx.commit().await
    }

    /// Changes a canned response's shortcut, title, body or category (`None` keeps a field;
    /// see [`CannedChanges`] for the checks); it keeps its id. Admins and the system only;
    /// audited as `canned_response.update`.
    pub async fn update_canned_response(
        &self,
        org: OrgId,
        actor: &Actor,
        id: CannedResponseId,
        changes: CannedChanges,
    ) -> Result<CannedResponse> {
        let CannedChanges {
            shortcut,
            title,
            body,
            category,
        } = changes;
        let now = self.now();
        let mut tx = self.admin_tx(org, actor).await?;
        let all = tx.canned_responses().await?;
        let mut c = all
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .ok_or_else(|| Error::not_found(Entity::CannedResponse, id))?;
        if let Some(s) = &shortcut {
            c.shortcut = normalize_shortcut(s)?;
            if let Some(other) = all.iter().find(|x| x.id != id && x.shortcut == c.shortcut) {
                return Err(Error::already_exists(
                    Entity::CannedResponse,
                    "shortcut",
                    Some(other.id.to_string()),
                ));
            }
        }
        if let Some(t) = &title {
            c.title = validate_name("title", t)?;
        }
        if let Some(b) = body {
            if b.trim().is_empty() {
                return Err(Error::invalid("body", "empty"));
            }
            c.body = b;
        }
        if let Some(cat) = category {
            c.category = cat;
        }
        // Replaced in place: same id, and the shortcut's uniqueness is checked by the insert.
        tx.delete_canned(id).await?;
        tx.insert_canned(&c).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::CannedResponseUpdated {
                id,
                shortcut: c.shortcut.clone(),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(c)
    }
}
