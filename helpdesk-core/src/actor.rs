//! Who acts, and what they may do.
//!
//! Every workflow is called on behalf of an [`Actor`]. The rules are pure functions of the
//! actor, their agent record and queue memberships, and the ticket's queue and assignee:
//!
//! * **Admin**: everything in their organization, configuration included.
//! * **Supervisor**: every ticket action on tickets of their queues (and unqueued tickets),
//!   including reassigning and transferring; a transfer's target must be one of their queues.
//! * **Agent**: works tickets of their queues or assigned to them: view, reply, note, status,
//!   classify, update; may take an unassigned ticket or release their own; may not reassign
//!   someone else's ticket, transfer, or merge.
//! * **Bot**: exactly the actions its integrator allowed ([`BotPermissions`]).
//! * **Customer**: views and rates their own tickets.
//! * **System**: everything (webhooks, schedulers).
//!
//! A refusal is [`Error::Forbidden`].

use crate::domain::team::{Agent, Role};
use crate::ids::*;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An action an integrator may allow an [`Actor::Bot`], listed in its [`BotPermissions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BotAction {
    /// Read tickets and their messages ([`Action::View`]).
    View,
    /// Open tickets ([`Action::CreateTicket`]).
    CreateTicket,
    /// Send replies to the customer ([`Action::Reply`]).
    Reply,
    /// Add internal notes, never sent to the customer ([`Action::Note`]).
    Note,
    /// Set setor × motivo.
    Classify,
    /// Move tickets to another queue ([`Action::Transfer`]).
    Transfer,
    /// Pending / resolve / close / reopen.
    ChangeStatus,
    /// Assign tickets to agents and unassign them ([`Action::Assign`], [`Action::Unassign`]).
    Assign,
    /// Change stage, priority, deal value, protocol.
    Update,
}

/// What an integrator lets a bot do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotPermissions(pub Vec<BotAction>);

impl Default for BotPermissions {
    /// View, create tickets, reply, note, classify and transfer.
    fn default() -> Self {
        use BotAction::*;
        BotPermissions(vec![View, CreateTicket, Reply, Note, Classify, Transfer])
    }
}

/// Who a workflow runs on behalf of: permissions are checked against it and the audit trail and
/// events record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// A human agent (their role comes from their record).
    Agent {
        /// The agent acting; their role and queues are read from the store.
        id: AgentId,
    },
    /// Automation inside the service (webhooks, schedulers).
    System,
    /// An AI assistant acting through tool calls, limited to its [`BotPermissions`].
    Bot {
        /// Name for the audit trail (`assistente-financeiro`).
        name: String,
        /// The actions its integrator allows; anything else is [`Error::Forbidden`].
        permissions: BotPermissions,
    },
    /// A customer acting on their own tickets (viewing and rating them).
    Customer {
        /// The customer's contact; only tickets about this contact are in reach.
        id: ContactId,
    },
}

impl Actor {
    /// Builds [`Actor::Agent`] for the agent with this id.
    pub fn agent(id: AgentId) -> Actor {
        Actor::Agent { id }
    }

    /// A bot with the default permissions.
    pub fn bot(name: impl Into<String>) -> Actor {
        Actor::Bot {
            name: name.into(),
            permissions: BotPermissions::default(),
        }
    }

    /// The agent id, when the actor is an agent.
    pub fn agent_id(&self) -> Option<AgentId> {
        match self {
            Actor::Agent { id } => Some(*id),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Agent { id } => write!(f, "agent {id}"),
            Actor::System => f.write_str("system"),
            Actor::Bot { name, .. } => write!(f, "bot {name}"),
            Actor::Customer { id } => write!(f, "customer {id}"),
        }
    }
}

/// Something an actor wants to do, checked by [`Principal::authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read a ticket and its messages.
    View,
    /// Open a new ticket.
    CreateTicket,
    /// Send a reply to the ticket's customer.
    Reply,
    /// Add an internal note, never sent to the customer.
    Note,
    /// Assign the ticket to an agent (taking it, when `to` is the acting agent).
    Assign {
        /// The agent who would get the ticket.
        to: AgentId,
    },
    /// Remove the ticket's assignee, putting it back in its queue.
    Unassign,
    /// Move the ticket to another queue.
    Transfer {
        /// The queue the ticket would move to.
        to: QueueId,
    },
    /// Pending / resolve / close / reopen.
    ChangeStatus,
    /// Setor × motivo.
    Classify,
    /// Stage, priority, deal value, subject, category, protocol, sales.
    Update,
    /// Merge the ticket into another ticket of the same customer.
    Merge,
    /// Rate the ticket (CSAT, 1 to 5); only customers, admins and the system may.
    Rate,
    /// Organization configuration (queues, agents, stages, canned responses, catalogue, SLA).
    Configure,
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::View => "view this ticket",
            Action::CreateTicket => "create tickets",
            Action::Reply => "reply on this ticket",
            Action::Note => "add notes to this ticket",
            Action::Assign { .. } => "assign this ticket to that agent",
            Action::Unassign => "unassign this ticket",
            Action::Transfer { .. } => "transfer this ticket to that queue",
            Action::ChangeStatus => "change this ticket's status",
            Action::Classify => "classify this ticket",
            Action::Update => "update this ticket",
            Action::Merge => "merge tickets",
            Action::Rate => "rate this ticket",
            Action::Configure => "change the organization's configuration",
        }
    }

    fn bot_action(&self) -> Option<BotAction> {
        Some(match self {
            Action::View => BotAction::View,
            Action::CreateTicket => BotAction::CreateTicket,
            Action::Reply => BotAction::Reply,
            Action::Note => BotAction::Note,
            Action::Assign { .. } | Action::Unassign => BotAction::Assign,
            Action::Transfer { .. } => BotAction::Transfer,
            Action::ChangeStatus => BotAction::ChangeStatus,
            Action::Classify => BotAction::Classify,
            Action::Update => BotAction::Update,
            Action::Merge | Action::Rate | Action::Configure => return None,
        })
    }
}

/// The facts about a ticket that permissions depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketScope {
    /// The ticket's queue; `None` for an unqueued ticket.
    pub queue_id: Option<QueueId>,
    /// The ticket's assignee; `None` while unassigned.
    pub assignee_id: Option<AgentId>,
    /// The ticket's customer (a [`Actor::Customer`] may act only on their own tickets).
    pub contact_id: ContactId,
}

/// An actor resolved against the store: the agent record and queues when the actor is an agent.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The actor being checked.
    pub actor: Actor,
    /// The agent record, for agent actors; `None` for other actors (an agent actor without one
    /// is refused everything).
    pub agent: Option<Agent>,
    /// Queues the agent is a member of; empty for other actors.
    pub queues: Vec<QueueId>,
}

impl Principal {
    fn forbid(&self, action: &Action) -> Error {
        Error::Forbidden {
            actor: self.actor.to_string(),
            action: action.name().to_owned(),
        }
    }

    /// Queues whose tickets this principal may see; `None` = all.
    pub fn visible_queues(&self) -> Option<&[QueueId]> {
        match &self.agent {
            Some(a) if a.role != Role::Admin => Some(&self.queues),
            _ => None,
        }
    }

    /// Checks `action` on `ticket` (`None` for actions not about one ticket).
    pub fn authorize(&self, action: Action, ticket: Option<&TicketScope>) -> Result<()> {
        let allowed = match &self.actor {
            Actor::System => true,
            Actor::Customer { id } => {
                matches!(action, Action::View | Action::Rate)
                    && ticket.is_some_and(|t| t.contact_id == *id)
            }
            Actor::Bot { permissions, .. } => action
                .bot_action()
                .is_some_and(|b| permissions.0.contains(&b)),
            Actor::Agent { id } => match &self.agent {
                None => false,
                Some(a) if !a.active => false,
                Some(a) => self.agent_allows(a, *id, action, ticket),
            },
        };
        if allowed {
            Ok(())
        } else {
            Err(self.forbid(&action))
        }
    }

    fn agent_allows(
        &self,
        a: &Agent,
        me: AgentId,
        action: Action,
        ticket: Option<&TicketScope>,
    ) -> bool {
        if a.role == Role::Admin {
            return true;
        }
        if matches!(action, Action::Configure | Action::Rate) {
            return false;
        }
        if action == Action::CreateTicket {
            return true;
        }
        let Some(t) = ticket else { return false };
        let in_my_queue = t.queue_id.is_some_and(|q| self.queues.contains(&q));
        let mine = t.assignee_id == Some(me);
        match a.role {
            Role::Supervisor => {
                let in_scope = in_my_queue || mine || t.queue_id.is_none();
                in_scope
                    && match action {
                        Action::Transfer { to } => self.queues.contains(&to),
                        _ => true,
                    }
            }
            _ => {
                let in_scope = in_my_queue || mine;
                in_scope
                    && match action {
                        Action::Assign { to } => to == me && (t.assignee_id.is_none() || mine),
                        Action::Unassign => mine,
                        Action::Transfer { .. } | Action::Merge => false,
                        _ => true,
                    }
            }
        }
    }
}
