//! The [`Helpdesk`] service: every workflow, written once, for every store.
//!
//! Each workflow runs in one store transaction. When a store reports a lost race (a
//! [`Conflict`](crate::Error::Conflict): a stale row version, a serialization failure; or a
//! [unique violation](crate::Error::unique_violation): the same message delivered twice at
//! once, two first messages from one new contact), the transaction is dropped and the whole
//! workflow runs again; the second run sees the winner's rows (the `workflow!` skeleton below
//! is that loop, written once). Channel sends never happen inside a transaction: outbound
//! messages are stored first (status `queued`), sent after the commit, and their delivery
//! result is stored after that, so a channel outage loses nothing and a store outage sends
//! nothing that was not recorded.

mod desk;
mod edits;
mod inbound;
mod inputs;
mod relay;
mod setup;
mod sla;
mod tickets;
mod views;

pub use desk::Desk;
pub use inbound::{Deliveries, Ingested, StatusOutcome};
pub use inputs::*;
pub use relay::{EventSink, RelayOptions, RelayReport, SinkError};
pub use sla::{NewSlaPolicy, SlaScan};

use crate::actor::{Action, Actor, Principal, TicketScope};
use crate::channel::{Channel, OutboundMessage, Recipient};
use crate::clock::Clock;
use crate::domain::message::{DeliveryError, DeliveryStatus, Message};
use crate::domain::records::{
    AssignmentCycle, AuditEntry, ConfigChange, Event, EventData, TicketChanges,
};
use crate::domain::ticket::Ticket;
use crate::ids::*;
use crate::store::{Store, StoreTx};
use crate::{Entity, Error, Result};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;

/// How many times a workflow runs when it keeps losing races.
const DEFAULT_ATTEMPTS: u32 = 16;

/// The skeleton of every workflow that writes: begin a transaction, run the body, commit,
/// and run it all again while it loses races.
///
/// ```ignore
/// workflow!(self, org, |tx, now| {
///     let t = authorized_ticket(&mut *tx, actor, ticket, Action::Unassign).await?;
///     if t.assignee_id.is_none() {
///         return Ok(t); // nothing to do: answered without a commit
///     }
///     // … writes through `tx` …
///     t
/// })
/// ```
///
/// Each attempt reads `now` from the service's clock (`_` for a workflow given its instant),
/// begins a transaction of `org` as `tx`, and evaluates the body; its value is the workflow's
/// answer once `tx` commits. Inside the body, `?` and `return` leave the attempt, not the
/// method: an error drops the transaction (nothing it wrote is kept), and `return Ok(v)`
/// answers `v` without committing (for a body that found nothing to write). An attempt that
/// fails with a lost race (from the body or from the commit) runs again from the start: a
/// [`Conflict`](crate::Error::Conflict) up to the service's attempts; a store's unique
/// violation once (the rerun sees the row a concurrent transaction committed and answers for
/// it), and the same violation twice in a row is the answer: the key is taken. Any other
/// outcome is the answer.
///
/// So the body must be rerunnable: every effect goes through `tx`, and nothing outside the
/// transaction (a channel send, a change to the caller's variables) happens in it. The
/// compiler holds part of that: the body can only borrow the caller's values, not consume
/// them. Work that must follow the commit (sending the messages a workflow stored) comes
/// after the macro, on its answer.
///
/// A macro rather than a function taking an async closure: the body is written in place, so
/// it borrows the caller's arguments as they are, and the workflow's future is `Send` exactly
/// when what the body holds across an await is (the service's futures run in spawned tasks
/// and web handlers).
macro_rules! workflow {
    ($self:ident, $org:expr, |$tx:ident, $now:pat_param| $body:block) => {{
        let mut attempt = 0u32;
        let mut collided: Option<($crate::Entity, &'static str)> = None;
        loop {
            attempt += 1;
            let run = async {
                let $now = $self.now();
                let mut $tx = $self.store.begin($org).await?;
                let out = $body;
                $tx.commit().await?;
                Ok(out)
            };
            let result: $crate::Result<_> = run.await;
            match result {
                // A second run into the same taken key is the answer, not a race.
                Err(e)
                    if e.reruns()
                        && attempt < $self.max_attempts
                        && (e.collision().is_none() || e.collision() != collided) =>
                {
                    collided = e.collision();
                    continue;
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use workflow;

/// The helpdesk service: every workflow of every tenant, over one store, one channel and one
/// clock. Each method takes the tenant and the actor it runs for, checks the actor's
/// permission ([`crate::actor`]) and records events and audit entries in the same transaction;
/// [`Helpdesk::desk`] fixes both once. Cheap to clone; share it across tasks.
#[derive(Clone)]
pub struct Helpdesk {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) channel: Arc<dyn Channel>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) max_attempts: u32,
    pub(crate) inbound_fast_path: bool,
}

impl Helpdesk {
    /// A service over `store`, sending through `channel`, reading time from `clock`.
    pub fn new(
        store: Arc<dyn Store>,
        channel: Arc<dyn Channel>,
        clock: Arc<dyn Clock>,
    ) -> Helpdesk {
        Helpdesk {
            store,
            channel,
            clock,
            max_attempts: DEFAULT_ATTEMPTS,
            inbound_fast_path: true,
        }
    }

    /// Turns the inbound fast path off (on by default): every message then runs the full
    /// ingestion workflow. Both leave the same rows; the switch exists so tests and benchmarks
    /// can compare them, and so is only there with the `testing` feature.
    #[cfg(feature = "testing")]
    pub fn with_inbound_fast_path(mut self, on: bool) -> Helpdesk {
        self.inbound_fast_path = on;
        self
    }

    /// The store the service runs on, for what the workflows do not cover (maintenance,
    /// tests); reads and writes through it check no permission and record no event.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The current instant from the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Sends stored outbound messages and records each result. Never fails: a send error is
    /// stored on the message (status `failed` with the reason) and reported as an event.
    pub(crate) async fn deliver(&self, org: OrgId, pending: Vec<Pending>) -> Vec<Message> {
        let mut out = Vec::with_capacity(pending.len());
        for p in pending {
            let result = self.channel.send(&p.account, &p.to, &p.outbound).await;
            let recorded = workflow!(self, org, |tx, now| {
                let mut m = tx.message(p.message_id).await?;
                let (status, err) = match &result {
                    Ok(r) => {
                        m.external_id = Some(r.external_id.clone());
                        (DeliveryStatus::Sent, None)
                    }
                    Err(e) => (
                        DeliveryStatus::Failed,
                        Some(DeliveryError {
                            code: None,
                            title: match e {
                                Error::Channel { failure, .. } => format!("{failure:?}"),
                                _ => "send failed".into(),
                            },
                            details: Some(e.to_string()),
                        }),
                    ),
                };
                // A status webhook may already have moved it further (sent → delivered before
                // we got here): only move forward.
                if m.status.is_none_or(|s| s.can_advance_to(status)) {
                    m.status = Some(status);
                    m.status_at = Some(now);
                    m.delivery_error = err.clone();
                    if status == DeliveryStatus::Failed {
                        let failed = EventData::SendFailed {
                            message_id: m.id,
                            reason: err.map(|e| e.title),
                        };
                        emit(&mut *tx, Some(m.ticket_id), &Actor::System, &failed, now).await?;
                    }
                }
                tx.update_message(&m).await?;
                m
            });
            match recorded {
                Ok(m) => out.push(m),
                Err(_) => {
                    // The message stays `queued` in the store; a later status webhook or a
                    // resend can still settle it. Nothing else to do without the store.
                }
            }
        }
        out
    }
}

/// An outbound message stored in a transaction, to send after it commits.
pub(crate) struct Pending {
    pub message_id: MessageId,
    pub account: crate::domain::party::ChannelAccount,
    pub to: Recipient,
    pub outbound: OutboundMessage,
}

impl Pending {
    /// The send of the stored outbound message `m` to `contact` through `account`.
    pub(crate) fn of(
        m: &Message,
        account: crate::domain::party::ChannelAccount,
        contact: &crate::domain::party::Contact,
    ) -> Pending {
        Pending {
            message_id: m.id,
            account,
            to: Recipient::of(contact),
            outbound: OutboundMessage {
                content: m.content.clone(),
                reply_to_external_id: m.reply_to_external_id.clone(),
            },
        }
    }
}

/// Resolves an actor against the store.
pub(crate) async fn principal(tx: &mut dyn StoreTx, actor: &Actor) -> Result<Principal> {
    match actor {
        Actor::Agent { id } => {
            let agent = tx.agent(*id).await.map_err(|e| match e {
                Error::NotFound { .. } => Error::Forbidden {
                    actor: actor.to_string(),
                    action: "act in this organization".into(),
                },
                e => e,
            })?;
            let queues = tx.agent_queues(*id).await?;
            Ok(Principal {
                actor: actor.clone(),
                agent: Some(agent),
                queues,
            })
        }
        _ => Ok(Principal {
            actor: actor.clone(),
            agent: None,
            queues: Vec::new(),
        }),
    }
}

/// `Forbidden` unless the actor may configure the organization (admins).
pub(crate) async fn configure(tx: &mut dyn StoreTx, actor: &Actor) -> Result<()> {
    principal(tx, actor)
        .await?
        .authorize(Action::Configure, None)
}

/// The ticket `id`, once the actor may do `action` on it.
pub(crate) async fn authorized_ticket(
    tx: &mut dyn StoreTx,
    actor: &Actor,
    id: TicketId,
    action: Action,
) -> Result<Ticket> {
    let t = tx.ticket(id).await?;
    principal(tx, actor)
        .await?
        .authorize(action, Some(&scope(&t)))?;
    Ok(t)
}

/// Refuses a customer what `action` names (a customer may view its ticket but neither read its
/// audit trail nor ask for an assignment).
pub(crate) fn not_for_customers(actor: &Actor, action: &str) -> Result<()> {
    if matches!(actor, Actor::Customer { .. }) {
        return Err(Error::Forbidden {
            actor: actor.to_string(),
            action: action.into(),
        });
    }
    Ok(())
}

/// The permission-relevant facts of a ticket.
pub(crate) fn scope(t: &Ticket) -> TicketScope {
    TicketScope {
        queue_id: t.queue_id,
        assignee_id: t.assignee_id,
        contact_id: t.contact_id,
    }
}

/// Appends what happened to the outbox, as an event of its kind.
pub(crate) async fn emit(
    tx: &mut dyn StoreTx,
    ticket: Option<TicketId>,
    actor: &Actor,
    data: &EventData,
    now: DateTime<Utc>,
) -> Result<()> {
    let e = event(tx.org_id(), ticket, actor, data, now);
    tx.insert_event(&e).await
}

/// The outbox event of what happened.
pub(crate) fn event(
    org_id: OrgId,
    ticket: Option<TicketId>,
    actor: &Actor,
    data: &EventData,
    now: DateTime<Utc>,
) -> Event {
    Event {
        id: EventId::new(),
        org_id,
        kind: data.kind(),
        ticket_id: ticket,
        actor: actor.clone(),
        payload: data.payload(),
        occurred_at: now,
    }
}

/// Appends an audit entry.
pub(crate) async fn audit(
    tx: &mut dyn StoreTx,
    ticket: Option<TicketId>,
    actor: &Actor,
    action: &str,
    details: Value,
    now: DateTime<Utc>,
) -> Result<()> {
    let org_id = tx.org_id();
    tx.insert_audit(&AuditEntry {
        id: AuditId::new(),
        org_id,
        ticket_id: ticket,
        actor: actor.clone(),
        action: action.to_owned(),
        details,
        at: now,
    })
    .await
}

/// Records a configuration or contact change in the audit trail (no ticket).
pub(crate) async fn audit_config(
    tx: &mut dyn StoreTx,
    actor: &Actor,
    change: ConfigChange,
    now: DateTime<Utc>,
) -> Result<()> {
    audit(tx, None, actor, change.action(), change.details(), now).await
}

/// Keeps agents' open-ticket counts right across a ticket change: the old assignee loses the
/// ticket if it counted, the new one gains it if it counts. A gain beyond capacity is refused.
pub(crate) async fn adjust_load(
    tx: &mut dyn StoreTx,
    before: &Ticket,
    after: &Ticket,
    now: DateTime<Utc>,
) -> Result<()> {
    let was = before
        .assignee_id
        .filter(|_| before.status.counts_as_load());
    let is = after.assignee_id.filter(|_| after.status.counts_as_load());
    if was == is {
        return Ok(());
    }
    if let Some(a) = was {
        let mut agent = tx.agent(a).await?;
        agent.open_tickets = agent.open_tickets.saturating_sub(1);
        agent.version += 1;
        tx.update_agent(&agent).await?;
    }
    if let Some(a) = is {
        let mut agent = tx.agent(a).await?;
        if !agent.has_capacity() {
            return Err(Error::invalid(
                "assigneeId",
                format!(
                    "agent {} is at capacity ({}/{})",
                    agent.name, agent.open_tickets, agent.capacity
                ),
            ));
        }
        agent.open_tickets += 1;
        if after.assignee_id != before.assignee_id {
            agent.last_assigned_at = Some(now);
        }
        agent.version += 1;
        tx.update_agent(&agent).await?;
    }
    Ok(())
}

/// What happened to a ticket's attendance, for its assignment cycles.
pub(crate) enum CycleChange {
    /// Entered a queue (creation, transfer, unassignment, reopening).
    Queued,
    /// An agent took it.
    Started(AgentId),
    /// Attendance ended (resolved, closed, merged).
    Finished,
    /// The customer rated the ticket (score 1 to 5), recorded on its last cycle.
    Rated(u8),
}

/// Records a cycle change.
pub(crate) async fn cycle(
    tx: &mut dyn StoreTx,
    t: &Ticket,
    change: CycleChange,
    now: DateTime<Utc>,
) -> Result<()> {
    let cycles = tx.cycles(t.id).await?;
    let open = cycles
        .iter()
        .rev()
        .find(|c| c.finished_at.is_none())
        .cloned();
    let new = |agent: Option<AgentId>| AssignmentCycle {
        id: CycleId::new(),
        org_id: t.org_id,
        ticket_id: t.id,
        queue_id: t.queue_id,
        agent_id: agent,
        queued_at: now,
        started_at: agent.map(|_| now),
        finished_at: None,
        rating: None,
    };
    match change {
        CycleChange::Queued => {
            if let Some(mut c) = open {
                c.finished_at = Some(now);
                tx.update_cycle(&c).await?;
            }
            tx.insert_cycle(&new(t.assignee_id)).await
        }
        CycleChange::Started(a) => match open {
            Some(mut c) if c.agent_id.is_none() => {
                c.agent_id = Some(a);
                c.started_at = Some(now);
                c.queue_id = t.queue_id;
                tx.update_cycle(&c).await
            }
            Some(c) if c.agent_id == Some(a) => Ok(()),
            Some(mut c) => {
                c.finished_at = Some(now);
                tx.update_cycle(&c).await?;
                tx.insert_cycle(&new(Some(a))).await
            }
            None => tx.insert_cycle(&new(Some(a))).await,
        },
        CycleChange::Finished => match open {
            Some(mut c) => {
                c.finished_at = Some(now);
                tx.update_cycle(&c).await
            }
            None => Ok(()),
        },
        CycleChange::Rated(score) => match cycles.last() {
            Some(c) => {
                let mut c = c.clone();
                c.rating = Some(score);
                tx.update_cycle(&c).await
            }
            None => Ok(()),
        },
    }
}

/// Stores a changed ticket (bumping its version) and keeps loads right.
pub(crate) async fn save_ticket(
    tx: &mut dyn StoreTx,
    before: &Ticket,
    after: &mut Ticket,
    now: DateTime<Utc>,
) -> Result<()> {
    adjust_load(tx, before, after, now).await?;
    after.updated_at = now;
    after.version = before.version + 1;
    tx.update_ticket(after).await
}

/// Records what happened to a ticket: its outbox event and its audit entry, in the change's
/// transaction.
pub(crate) async fn record(
    tx: &mut dyn StoreTx,
    ticket: TicketId,
    actor: &Actor,
    data: EventData,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some((action, details)) = data.audit() {
        audit(tx, Some(ticket), actor, action, details, now).await?;
    }
    emit(tx, Some(ticket), actor, &data, now).await
}
