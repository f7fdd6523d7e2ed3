//! Configuration workflows: organizations, inboxes, queues, agents, stages, categories,
//! canned responses, the catalogue, and contacts.
//!
//! Changing configuration needs [`Action::Configure`]: admins and the system may, everyone
//! else is [`Error::Forbidden`]; each change leaves an audit entry. The plain listings
//! (organization, queues, agents, stages, canned responses) take no actor and check nothing:
//! the caller decides who may read them.

use super::*;
use crate::actor::Action;
use crate::domain::board::{Category, DEFAULT_STAGES, Stage};
use crate::domain::canned::{CannedResponse, normalize_shortcut, render};
use crate::domain::catalogue::Catalogue;
use crate::domain::document::Document;
use crate::domain::party::{ChannelAccount, Contact, ContactKey, Organization, normalize_email};
use crate::domain::phone::PhoneRegion;
use crate::domain::team::{Agent, Presence, Queue, QueueMember, validate_color, validate_name};
use crate::sla::Calendar;
use std::collections::BTreeMap;

/// Variables auto-replies may use.
pub(crate) const AUTO_REPLY_VARS: [&str; 3] = ["customer_name", "ticket_number", "queue_name"];

/// A queue's business hours must be a valid calendar, and its auto-replies non-empty texts
/// that use only the known variables.
pub(crate) fn validate_queue_settings(
    business_hours: Option<&crate::sla::CalendarSpec>,
    auto_replies: &crate::domain::team::AutoReplies,
) -> Result<()> {
    if let Some(spec) = business_hours {
        Calendar::new(spec.clone())?;
    }
    let known: BTreeMap<String, String> = AUTO_REPLY_VARS
        .iter()
        .map(|v| ((*v).to_owned(), String::new()))
        .collect();
    for (field, text) in [
        ("auto_replies.greeting", &auto_replies.greeting),
        ("auto_replies.out_of_hours", &auto_replies.out_of_hours),
        ("auto_replies.no_agent", &auto_replies.no_agent),
    ] {
        if let Some(t) = text {
            let r = render(t, &known);
            if !r.unknown.is_empty() {
                return Err(Error::invalid_with(
                    field,
                    format!("unknown variables {:?}", r.unknown),
                    AUTO_REPLY_VARS,
                ));
            }
            if t.trim().is_empty() {
                return Err(Error::invalid(
                    field,
                    "empty auto-reply; leave it unset instead",
                ));
            }
        }
    }
    Ok(())
}

impl Helpdesk {
    pub(crate) async fn admin_tx(&self, org: OrgId, actor: &Actor) -> Result<Box<dyn StoreTx>> {
        let mut tx = self.store.begin(org).await?;
        configure(&mut *tx, actor).await?;
        Ok(tx)
    }

    /// Creates a tenant: the integrator's bootstrap, with no actor and no permission check. A
    /// blank or too long name, or an unknown phone region, is [`Error::Invalid`]; the
    /// default stages are created when first needed.
    pub async fn create_organization(&self, new: NewOrganization) -> Result<Organization> {
        PhoneRegion::from_iso(&new.phone_region)?;
        let org = Organization {
            id: OrgId::new(),
            name: validate_name("name", &new.name)?,
            timezone: new.timezone,
            phone_region: new.phone_region.to_ascii_uppercase(),
            first_ticket_number: new.first_ticket_number.max(1),
            catalogue: new.catalogue.unwrap_or_default(),
            created_at: self.now(),
        };
        self.store.create_organization(&org).await?;
        Ok(org)
    }

    /// The tenant's settings: name, time zone, phone region, ticket numbering and setor ×
    /// motivo catalogue. No permission check.
    pub async fn organization(&self, org: OrgId) -> Result<Organization> {
        self.store.begin(org).await?.organization().await
    }

    /// Registers an inbox (see [`NewChannelAccount`] for the checks): a channel number or
    /// address through which this tenant's customers write. Its external id must be unique per
    /// kind across tenants ([`Error::AlreadyExists`]). Admins and the system only; audited as
    /// `channel_account.create`.
    pub async fn add_channel_account(
        &self,
        org: OrgId,
        actor: &Actor,
        new: NewChannelAccount,
    ) -> Result<ChannelAccount> {
        let now = self.now();
        let mut tx = self.admin_tx(org, actor).await?;
        let external_id = new.external_id.trim().to_owned();
        if external_id.is_empty() {
            return Err(Error::invalid("external_id", "empty"));
        }
        if let Some(q) = new.default_queue_id {
            tx.queue(q).await?;
        }
        let a = ChannelAccount {
            id: ChannelAccountId::new(),
            org_id: org,
            kind: new.kind,
            external_id,
            name: validate_name("name", &new.name)?,
            default_queue_id: new.default_queue_id,
            created_at: now,
        };
        tx.insert_channel_account(&a).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::ChannelAccountCreated {
                id: a.id,
                kind: a.kind,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Creates a queue (see [`NewQueue`]). Business hours must compile; auto-replies may only
    /// use `{{customer_name}}`, `{{ticket_number}}` and `{{queue_name}}`. The queue has no
    /// members and no SLA policy of its own yet. Admins and the system only; audited as
    /// `queue.create`.
    pub async fn create_queue(&self, org: OrgId, actor: &Actor, new: NewQueue) -> Result<Queue> {
        let now = self.now();
        validate_queue_settings(new.business_hours.as_ref(), &new.auto_replies)?;
        let mut tx = self.admin_tx(org, actor).await?;
        let q = Queue {
            id: QueueId::new(),
            org_id: org,
            name: validate_name("name", &new.name)?,
            color: new
                .color
                .as_deref()
                .map(|c| validate_color("color", c))
                .transpose()?,
            business_hours: new.business_hours,
            auto_replies: new.auto_replies,
            distribution: new.distribution,
            sla_policy_id: None,
            reopen: new.reopen.validate()?,
            rotation: 0,
            created_at: now,
            version: 1,
        };
        tx.insert_queue(&q).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::QueueCreated {
                id: q.id,
                name: q.name.clone(),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(q)
    }

    /// Every queue of the tenant with its settings. No permission check.
    pub async fn queues(&self, org: OrgId) -> Result<Vec<Queue>> {
        self.store.begin(org).await?.queues().await
    }

    /// Creates an agent, active and in no queue (see [`NewAgent`] for the checks; a capacity
    /// outside 1 to 1000 is [`Error::Invalid`]). Admins and the system only; audited as
    /// `agent.create`.
    pub async fn create_agent(&self, org: OrgId, actor: &Actor, new: NewAgent) -> Result<Agent> {
        let now = self.now();
        if new.capacity == 0 || new.capacity > 1000 {
            return Err(Error::invalid("capacity", "must be 1 to 1000"));
        }
        let mut tx = self.admin_tx(org, actor).await?;
        let a = Agent {
            id: AgentId::new(),
            org_id: org,
            name: validate_name("name", &new.name)?,
            email: normalize_email(&new.email)?,
            role: new.role,
            presence: new.presence,
            capacity: new.capacity,
            open_tickets: 0,
            last_assigned_at: None,
            active: true,
            created_at: now,
            version: 1,
        };
        tx.insert_agent(&a).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::AgentCreated {
                id: a.id,
                role: a.role,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Every agent of the tenant, active or not, with presence and current load. No
    /// permission check.
    pub async fn agents(&self, org: OrgId) -> Result<Vec<Agent>> {
        self.store.begin(org).await?.agents().await
    }

    /// Makes `agent` a member of `queue`, so they work its tickets and automatic assignment
    /// may pick them; for a member, replaces their skills there (trimmed, lower case, keeping
    /// their place in the rotation). Unknown queue or agent is [`Error::NotFound`]. Admins and
    /// the system only; audited as `queue.member.add`.
    pub async fn add_queue_member(
        &self,
        org: OrgId,
        actor: &Actor,
        queue: QueueId,
        agent: AgentId,
        skills: Vec<String>,
    ) -> Result<QueueMember> {
        let now = self.now();
        let mut tx = self.admin_tx(org, actor).await?;
        tx.queue(queue).await?;
        tx.agent(agent).await?;
        let existing = tx
            .queue_members(queue)
            .await?
            .into_iter()
            .find(|m| m.agent_id == agent);
        let m = QueueMember {
            queue_id: queue,
            agent_id: agent,
            org_id: org,
            skills: skills
                .iter()
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
            last_rotation: existing.as_ref().map_or(0, |e| e.last_rotation),
            joined_at: existing.map_or(now, |e| e.joined_at),
        };
        tx.put_queue_member(&m).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::QueueMemberAdded {
                queue_id: queue,
                agent_id: agent,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(m)
    }

    /// Takes `agent` out of `queue`: automatic assignment stops picking them there, and the
    /// tickets they hold stay assigned. Admins and the system only; audited as
    /// `queue.member.remove`.
    pub async fn remove_queue_member(
        &self,
        org: OrgId,
        actor: &Actor,
        queue: QueueId,
        agent: AgentId,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.admin_tx(org, actor).await?;
        tx.queue(queue).await?;
        tx.remove_queue_member(queue, agent).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::QueueMemberRemoved {
                queue_id: queue,
                agent_id: agent,
            },
            now,
        )
        .await?;
        tx.commit().await
    }

    /// Sets an agent's presence (only online agents get tickets from automatic assignment).
    /// Any agent may set their own; someone else's needs [`Action::Configure`] (admins, the
    /// system). Audited as `agent.presence`.
    pub async fn set_presence(
        &self,
        org: OrgId,
        actor: &Actor,
        agent: AgentId,
        presence: Presence,
    ) -> Result<Agent> {
        workflow!(self, org, |tx, now| {
            let p = principal(&mut *tx, actor).await?;
            if actor.agent_id() != Some(agent) {
                p.authorize(Action::Configure, None)?;
            }
            let mut a = tx.agent(agent).await?;
            a.presence = presence;
            a.version += 1;
            tx.update_agent(&a).await?;
            audit_config(
                &mut *tx,
                actor,
                ConfigChange::AgentPresenceChanged {
                    agent_id: agent,
                    presence,
                },
                now,
            )
            .await?;
            a
        })
    }

    /// The tenant's stages in board order, creating the defaults first when it has none
    /// ([`DEFAULT_STAGES`]). No actor and no permission check.
    pub async fn ensure_stages(&self, org: OrgId) -> Result<Vec<Stage>> {
        let mut tx = self.store.begin(org).await?;
        let stages = ensure_stages_in(&mut *tx, self.now()).await?;
        tx.commit().await?;
        Ok(stages)
    }

    /// Adds a Kanban stage: `name` (1 to 120 characters, unique in the tenant ignoring case),
    /// `color` (`#rrggbb`) and `position` (columns show in ascending position). Admins and the
    /// system only; audited as `stage.create`.
    pub async fn create_stage(
        &self,
        org: OrgId,
        actor: &Actor,
        name: &str,
        color: &str,
        position: i32,
    ) -> Result<Stage> {
        let now = self.now();
        let mut tx = self.admin_tx(org, actor).await?;
        let s = Stage {
            id: StageId::new(),
            org_id: org,
            name: validate_name("name", name)?,
            color: validate_color("color", color)?,
            position,
            created_at: now,
        };
        tx.insert_stage(&s).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::StageCreated { id: s.id },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }

    /// The tenant's stages in board order (ascending position); empty until stages are
    /// created or first needed. No permission check.
    pub async fn stages(&self, org: OrgId) -> Result<Vec<Stage>> {
        self.store.begin(org).await?.stages().await
    }

    /// Adds a ticket category: `name` (1 to 120 characters, unique in the tenant ignoring
    /// case), an optional description and `#rrggbb` color, and an optional parent, which must
    /// exist ([`Error::NotFound`]). Admins and the system only; audited as `category.create`.
    pub async fn create_category(
        &self,
        org: OrgId,
        actor: &Actor,
        name: &str,
        description: Option<String>,
        color: Option<&str>,
        parent_id: Option<CategoryId>,
    ) -> Result<Category> {
        let now = self.now();
        let mut tx = self.admin_tx(org, actor).await?;
        if let Some(p) = parent_id
            && !tx.categories().await?.iter().any(|c| c.id == p)
        {
            return Err(Error::not_found(Entity::Category, p));
        }
        let c = Category {
            id: CategoryId::new(),
            org_id: org,
            name: validate_name("name", name)?,
            description,
            color: color.map(|c| validate_color("color", c)).transpose()?,
            parent_id,
        };
        tx.insert_category(&c).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::CategoryCreated { id: c.id },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Adds a canned response agents send with [`Helpdesk::reply_canned`]: `shortcut`
    /// (leading `/` dropped, lower case, 1 to 32 of `a-z`, `0-9`, `_`, `-`, unique in the
    /// tenant), `title` (1 to 120 characters), a non-blank `body` with `{{variable}}`
    /// placeholders, and an optional grouping label. Admins and the system only; audited as
    /// `canned_response.create`.
    pub async fn create_canned_response(
        &self,
        org: OrgId,
        actor: &Actor,
        shortcut: &str,
        title: &str,
        body: &str,
        category: Option<String>,
    ) -> Result<CannedResponse> {
        let now = self.now();
        if body.trim().is_empty() {
            return Err(Error::invalid("body", "empty"));
        }
        let mut tx = self.admin_tx(org, actor).await?;
        let c = CannedResponse {
            id: CannedResponseId::new(),
            org_id: org,
            shortcut: normalize_shortcut(shortcut)?,
            title: validate_name("title", title)?,
            body: body.to_owned(),
            category,
            created_at: now,
        };
        tx.insert_canned(&c).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::CannedResponseCreated {
                id: c.id,
                shortcut: c.shortcut.clone(),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(c)
    }

    /// The tenant's canned responses, ordered by shortcut. No permission check.
    pub async fn canned_responses(&self, org: OrgId) -> Result<Vec<CannedResponse>> {
        self.store.begin(org).await?.canned_responses().await
    }

    /// Deletes a canned response ([`Error::NotFound`] when the tenant has none with that id).
    /// Admins and the system only; audited as `canned_response.delete`.
    pub async fn delete_canned_response(
        &self,
        org: OrgId,
        actor: &Actor,
        id: CannedResponseId,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.admin_tx(org, actor).await?;
        tx.delete_canned(id).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::CannedResponseDeleted { id },
            now,
        )
        .await?;
        tx.commit().await
    }

    /// Replaces the organization's setor × motivo catalogue, which classifications are
    /// checked against from now on (tickets keep the classification they have). Every queue a
    /// setor routes to must exist ([`Error::NotFound`]). Admins and the system only; audited as
    /// `catalogue.replace`.
    pub async fn set_catalogue(
        &self,
        org: OrgId,
        actor: &Actor,
        catalogue: Catalogue,
    ) -> Result<Organization> {
        let now = self.now();
        let mut tx = self.admin_tx(org, actor).await?;
        for s in catalogue.setores() {
            if let Some(q) = s.queue_id {
                tx.queue(q).await?;
            }
        }
        let mut o = tx.organization().await?;
        o.catalogue = catalogue;
        tx.update_organization(&o).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::CatalogueReplaced {
                setores: o.catalogue.setor_names(),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(o)
    }

    /// Routes tickets classified under `setor` to `queue` from now on (`None` stops routing
    /// it). An unknown setor is [`Error::Invalid`] listing the known ones; an unknown queue
    /// [`Error::NotFound`]. Admins and the system only; audited as `catalogue.map_queue`.
    pub async fn map_setor_to_queue(
        &self,
        org: OrgId,
        actor: &Actor,
        setor: &str,
        queue: Option<QueueId>,
    ) -> Result<Organization> {
        let now = self.now();
        let mut tx = self.admin_tx(org, actor).await?;
        if let Some(q) = queue {
            tx.queue(q).await?;
        }
        let mut o = tx.organization().await?;
        o.catalogue.set_queue(setor, queue)?;
        tx.update_organization(&o).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::SetorMapped {
                setor: setor.to_owned(),
                queue_id: queue,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(o)
    }

    /// A contact the actor may see (see [`Helpdesk::find_contact`] for who sees whom);
    /// `NotFound` otherwise, as for an unknown id.
    pub async fn contact(&self, org: OrgId, actor: &Actor, id: ContactId) -> Result<Contact> {
        let mut tx = self.store.begin(org).await?;
        let p = principal(&mut *tx, actor).await?;
        if !super::views::may_see_contact(&mut *tx, &p, actor, id).await? {
            return Err(Error::not_found(Entity::Contact, id));
        }
        tx.contact(id).await
    }

    /// Updates a contact (name, e-mail, CPF/CNPJ, VIP, attributes; see [`ContactPatch`]).
    /// Active agents of any role who may see the contact (as [`contact`](Self::contact)
    /// decides; one they may not see is [`Error::NotFound`]) and the system may; bots and
    /// customers are [`Error::Forbidden`]. Audited as `contact.update`.
    pub async fn update_contact(
        &self,
        org: OrgId,
        actor: &Actor,
        id: ContactId,
        patch: ContactPatch,
    ) -> Result<Contact> {
        let now = self.now();
        let mut tx = self.store.begin(org).await?;
        let p = principal(&mut *tx, actor).await?;
        // Agents (any role) and the system edit contacts; bots and customers do not.
        match actor {
            Actor::Agent { .. } | Actor::System => p.authorize(Action::CreateTicket, None)?,
            _ => p.authorize(Action::Configure, None)?,
        }
        // Editing shows the contact: only those who may see it may edit it.
        if !super::views::may_see_contact(&mut *tx, &p, actor, id).await? {
            return Err(Error::not_found(Entity::Contact, id));
        }
        let mut c = tx.contact(id).await?;
        if let Some(n) = patch.name {
            c.name = Some(validate_name("name", &n)?);
        }
        if let Some(e) = patch.email {
            c.email = Some(normalize_email(&e)?);
        }
        if let Some(d) = patch.document {
            c.document = Some(Document::parse(&d)?);
        }
        if let Some(v) = patch.vip {
            c.vip = v;
        }
        for (k, v) in patch.attributes {
            if v.is_empty() {
                c.attributes.remove(&k);
            } else {
                c.attributes.insert(k, v);
            }
        }
        c.updated_at = now;
        tx.update_contact(&c).await?;
        audit_config(
            &mut *tx,
            actor,
            ConfigChange::ContactUpdated { contact_id: id },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Finds a contact by phone (any common format; ninth-digit variants match), WhatsApp id or
    /// e-mail, among those the actor may see: admins, the system and bots allowed to view
    /// tickets see every contact; a customer sees itself; other agents see the contacts of
    /// the tickets they may see (their queues', their own). A contact the actor may not see is
    /// `None`, as if there were none, so a phone number cannot be probed.
    pub async fn find_contact(
        &self,
        org: OrgId,
        actor: &Actor,
        key: &ContactKey,
    ) -> Result<Option<Contact>> {
        let mut tx = self.store.begin(org).await?;
        let p = principal(&mut *tx, actor).await?;
        let Some(c) = tx.find_contact(key).await? else {
            return Ok(None);
        };
        Ok(super::views::may_see_contact(&mut *tx, &p, actor, c.id)
            .await?
            .then_some(c))
    }
}

/// Stages of the organization, creating the defaults first when there are none.
pub(crate) async fn ensure_stages_in(
    tx: &mut dyn StoreTx,
    now: DateTime<Utc>,
) -> Result<Vec<Stage>> {
    let stages = tx.stages().await?;
    if !stages.is_empty() {
        return Ok(stages);
    }
    let org_id = tx.org_id();
    for (i, (name, color)) in DEFAULT_STAGES.iter().enumerate() {
        let s = Stage {
            id: StageId::new(),
            org_id,
            name: (*name).to_owned(),
            color: (*color).to_owned(),
            position: i as i32,
            created_at: now,
        };
        tx.insert_stage(&s).await?;
    }
    tx.stages().await
}
