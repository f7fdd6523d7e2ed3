//! Read workflows: listing with filters and facets, the board, messages, audit, events.

use super::*;
use crate::actor::Action;
use crate::domain::message::{Direction, Message};
use crate::domain::records::{AssignmentCycle, AuditEntry};
use crate::domain::team::Role;
use crate::store::query::{Cursor, TicketPage, TicketQuery, Visibility};

impl Helpdesk {
    /// Lists tickets the actor may see, newest first, with the ticket list's filters
    /// ([`ListTickets`]), a keyset cursor and facets (origins, sources, stages). Admins, the
    /// system and bots allowed to view see every ticket; supervisors those of their queues,
    /// unqueued ones and their own; agents those of their queues and their own; customers
    /// their own. A bot not allowed to view is [`Error::Forbidden`].
    pub async fn list_tickets(
        &self,
        org: OrgId,
        actor: &Actor,
        req: ListTickets,
    ) -> Result<TicketPage> {
        let now = self.now();
        let mut tx = self.store.begin(org).await?;
        let p = principal(&mut *tx, actor).await?;
        let organization = tx.organization().await?;
        let visibility = visibility(&p, actor)?;
        let q = TicketQuery {
            q: req.q,
            created: req.date.map(|d| d.resolve(now, organization.timezone)),
            stage_id: req.stage_id,
            origin: req.origin,
            source: req.source,
            has_sales: req.has_sales,
            statuses: req.statuses,
            priority: req.priority,
            queue_id: req.queue_id,
            assignee: req.assignee,
            contact_id: None,
            click_id: req.click_id,
            visibility,
            cursor: req.cursor.as_deref().map(Cursor::decode).transpose()?,
            limit: req.page_size.unwrap_or(0),
            count_limit: req.count_limit.unwrap_or(0),
        }
        .normalized()?;
        tx.list_tickets(&q).await
    }

    /// The inbounds view (the REST API's `GET /api/v1/tickets/inbounds`): the same filters,
    /// visibility and pagination as [`Helpdesk::list_tickets`], each ticket reduced to its
    /// attribution (UTM fields, click ids, paid or organic, lead).
    pub async fn inbounds(
        &self,
        org: OrgId,
        actor: &Actor,
        req: ListTickets,
    ) -> Result<crate::store::query::InboundPage> {
        let page = self.list_tickets(org, actor, req).await?;
        Ok(crate::store::query::InboundPage {
            items: page.items.iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
            total: page.total,
            total_exact: page.total_exact,
        })
    }

    /// The report of a period (and optionally one queue): overview, volume per local day,
    /// peak hours, distribution, SLA compliance, CSAT, per agent and per queue, value per
    /// campaign. Work is counted when it was done (first responses, resolutions, ratings and
    /// attendances in the period), credited to the agent who did it and the queue the ticket
    /// was in at the time; what is about tickets (arrivals, where they are now, their SLA
    /// compliance, campaigns) is about the tickets created in the period. See
    /// [`Report::compute`](crate::store::report::Report::compute) for the exact semantics.
    /// Admins and supervisors (and the system) only.
    pub async fn report(
        &self,
        org: OrgId,
        actor: &Actor,
        req: ReportRequest,
    ) -> Result<crate::store::report::Report> {
        let now = self.now();
        let mut tx = self.store.begin(org).await?;
        let p = principal(&mut *tx, actor).await?;
        let allowed = match actor {
            Actor::System => true,
            Actor::Agent { .. } => p
                .agent
                .as_ref()
                .is_some_and(|a| a.active && matches!(a.role, Role::Admin | Role::Supervisor)),
            _ => false,
        };
        if !allowed {
            return Err(Error::Forbidden {
                actor: actor.to_string(),
                action: "see reports".into(),
            });
        }
        let organization = tx.organization().await?;
        // The report is read outside this transaction (a store may use several connections).
        drop(tx);
        let range = req.date.resolve(now, organization.timezone);
        if range.to <= range.from {
            return Err(Error::invalid("date", "the period ends before it starts"));
        }
        self.store
            .report(
                org,
                &crate::store::report::ReportQuery {
                    range,
                    timezone: organization.timezone,
                    queue_id: req.queue_id,
                    now,
                },
            )
            .await
    }

    /// The Kanban board: each stage in board order with its newest live tickets (at most 100
    /// per column) and their total, among the tickets the actor may see (as
    /// [`Helpdesk::list_tickets`]). The default stages are created when the tenant has none.
    pub async fn board(&self, org: OrgId, actor: &Actor) -> Result<Vec<BoardColumn>> {
        let stages = self.ensure_stages(org).await?;
        let mut out = Vec::with_capacity(stages.len());
        for stage in stages {
            let page = self
                .list_tickets(
                    org,
                    actor,
                    ListTickets {
                        stage_id: Some(stage.id),
                        statuses: vec![
                            crate::domain::ticket::TicketStatus::New,
                            crate::domain::ticket::TicketStatus::Open,
                            crate::domain::ticket::TicketStatus::Pending,
                            crate::domain::ticket::TicketStatus::Resolved,
                        ],
                        page_size: Some(100),
                        ..ListTickets::default()
                    },
                )
                .await?;
            out.push(BoardColumn {
                stage,
                tickets: page.items,
                total: page.total,
                total_exact: page.total_exact,
            });
        }
        Ok(out)
    }

    /// A ticket's messages (inbound, outbound and notes, with delivery status), oldest first,
    /// for whoever may view the ticket ([`Error::Forbidden`] otherwise). Customers do not see
    /// internal notes.
    pub async fn messages(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
    ) -> Result<Vec<Message>> {
        let mut tx = self.store.begin(org).await?;
        authorized_ticket(&mut *tx, actor, ticket, Action::View).await?;
        let mut v = tx.messages(ticket).await?;
        if matches!(actor, Actor::Customer { .. }) {
            v.retain(|m| m.direction != Direction::Note);
        }
        Ok(v)
    }

    /// Who changed what on a ticket (creation, assignment, transfer, status, classification,
    /// updates, sales, ratings, merges), oldest first. Anyone who may view the ticket may
    /// read it, except customers ([`Error::Forbidden`]).
    pub async fn audit_trail(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
    ) -> Result<Vec<AuditEntry>> {
        let mut tx = self.store.begin(org).await?;
        authorized_ticket(&mut *tx, actor, ticket, Action::View).await?;
        not_for_customers(actor, "read the audit trail")?;
        tx.audit_trail(ticket).await
    }

    /// A ticket's attendance cycles (queued, started, finished, rating), oldest first: one per
    /// stay in a queue or with an agent, what the reports' waits and attendances count.
    /// Anyone who may view the ticket may read them.
    pub async fn assignment_cycles(
        &self,
        org: OrgId,
        actor: &Actor,
        ticket: TicketId,
    ) -> Result<Vec<AssignmentCycle>> {
        let mut tx = self.store.begin(org).await?;
        authorized_ticket(&mut *tx, actor, ticket, Action::View).await?;
        tx.cycles(ticket).await
    }

    /// The tenant's outbox events after `after` (from the first when `None`), at most
    /// `limit` (taken as 1 to 1000), in an order that only grows at its end: paging with the
    /// last id seen meets every committed event exactly once (see
    /// [`RecordTx::events`](crate::store::RecordTx::events)). For readers that poll instead
    /// of using [`Helpdesk::relay_events`]. No actor and no permission check.
    pub async fn events(
        &self,
        org: OrgId,
        after: Option<EventId>,
        limit: u32,
    ) -> Result<Vec<crate::domain::records::Event>> {
        self.store
            .begin(org)
            .await?
            .events(after, limit.clamp(1, 1000))
            .await
    }
}

/// Which tickets `actor` (resolved as `p`) may list; contact reads use it too (a contact is
/// visible through the tickets it has).
pub(crate) fn visibility(p: &Principal, actor: &Actor) -> Result<Visibility> {
    Ok(match actor {
        Actor::System => Visibility::default(),
        Actor::Bot { .. } => {
            p.authorize(Action::View, None).or_else(|e| match actor {
                Actor::Bot { permissions, .. }
                    if permissions.0.contains(&crate::actor::BotAction::View) =>
                {
                    Ok(())
                }
                _ => Err(e),
            })?;
            Visibility::default()
        }
        Actor::Customer { id } => Visibility {
            contact: Some(*id),
            ..Visibility::default()
        },
        // A deactivated agent is refused like an unknown one: it reads nothing.
        Actor::Agent { id } => match p.agent.as_ref().filter(|a| a.active).map(|a| a.role) {
            Some(Role::Admin) => Visibility::default(),
            Some(role) => Visibility {
                queues: Some(p.queues.clone()),
                assignee: Some(*id),
                include_unqueued: role == Role::Supervisor,
                contact: None,
            },
            None => {
                return Err(Error::Forbidden {
                    actor: actor.to_string(),
                    action: "list tickets".into(),
                });
            }
        },
    })
}

/// Whether the actor may see contact `id`: admins, the system and bots that may view tickets
/// see every contact; a customer sees itself; other agents see the contacts of the tickets
/// they may see.
pub(crate) async fn may_see_contact(
    tx: &mut dyn StoreTx,
    p: &Principal,
    actor: &Actor,
    id: ContactId,
) -> Result<bool> {
    let v = visibility(p, actor)?;
    if let Some(me) = v.contact {
        return Ok(me == id);
    }
    if v == Visibility::default() {
        return Ok(true);
    }
    let q = TicketQuery {
        contact_id: Some(id),
        visibility: v,
        limit: 1,
        count_limit: 1,
        ..TicketQuery::default()
    }
    .normalized()?;
    Ok(!tx.list_tickets(&q).await?.items.is_empty())
}
