//! The one error type of `helpdesk-core`.
//!
//! Adapters convert their own errors into [`Error`] and keep the source, so a caller can always
//! ask two questions: *what kind of failure is this* ([`Error::kind`]) and *can a retry help*
//! ([`Error::is_retryable`]).

use std::fmt;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Boxed source error kept by adapter failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Every failure a helpdesk workflow can report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input failed validation. `field` names the offending field (dotted path), `reason` says why.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Dotted path of the field (`lead.phone`, `schedule.monday[0].end`).
        field: String,
        /// Why the value was refused, in words meant for the person who sent it.
        reason: String,
        /// Values that would have been accepted, when the set is small and known.
        allowed: Vec<String>,
    },
    /// The entity does not exist in the caller's organization (foreign tenants look the same),
    /// or the caller may not know it exists.
    #[error("{entity} not found: {id}")]
    NotFound {
        /// Which kind of record was looked up.
        entity: Entity,
        /// The id or key that was looked up, as text (a UUID, a ticket number…).
        id: String,
    },
    /// A lifecycle move that the state machine does not allow.
    #[error("invalid transition from {from} to {to}")]
    InvalidTransition {
        /// Status the ticket is in (`open`).
        from: String,
        /// Status the caller asked for (`closed`).
        to: String,
    },
    /// The actor's role or permissions do not allow this action on this ticket or organization
    /// (see [`Principal::authorize`](crate::actor::Principal::authorize)).
    #[error("forbidden: {actor} may not {action}")]
    Forbidden {
        /// The actor who tried, as displayed (`agent <id>`, `bot <name>`, `system`).
        actor: String,
        /// The refused action in words (`transfer this ticket to that queue`).
        action: String,
    },
    /// Lost a race: another transaction changed what this one read (a stale row version, a
    /// serialization failure). Running the same call again can succeed; the service's
    /// workflows already rerun themselves a few times before reporting it.
    #[error("conflict{}: {detail}", entity.map(|e| format!(" on {e}")).unwrap_or_default())]
    Conflict {
        /// What changed underneath, when the store knows.
        entity: Option<Entity>,
        /// What collided, in words (`stale version 3 (stored 4)`).
        detail: String,
    },
    /// A business key is taken: the queue name, the agent's e-mail, the contact's phone, a
    /// second live ticket for a conversation. Permanent until the other one changes.
    #[error("{entity} already exists ({key}{})", existing.as_ref().map(|x| format!(": {x}")).unwrap_or_default())]
    AlreadyExists {
        /// Which kind of record already has the key.
        entity: Entity,
        /// Which of its keys collided (`id`, `name`, `email`, `phone`, `number`…).
        key: &'static str,
        /// The existing one's id (or ticket number), when known.
        existing: Option<String>,
        /// The store's own error (a unique violation), when a store reported it.
        #[source]
        source: Option<BoxError>,
    },
    /// A permanent refusal: the request is valid but the state forbids it (a queue that still
    /// has tickets, a policy a queue uses, the last stage of the board). Retrying will not
    /// help; changing the state first will.
    #[error("{entity} refused: {reason}")]
    Refused {
        /// Which kind of record the refusal is about.
        entity: Entity,
        /// Why, and what to do first.
        reason: String,
    },
    /// The setor × motivo pair is not in the catalogue.
    #[error("motivo {motivo:?} is not valid for setor {setor:?}{}", closest.as_ref().map(|c| format!(" (closest: {c:?})")).unwrap_or_default())]
    InvalidClassification {
        /// The setor as given (or as resolved).
        setor: String,
        /// The motivo as given by the caller.
        motivo: String,
        /// Valid motivos for the setor, or valid setores when the setor itself is unknown.
        allowed: Vec<String>,
        /// Closest valid value to what was given.
        closest: Option<String>,
    },
    /// A calendar has no business time where some was needed.
    #[error("calendar has no business time {0}")]
    NoBusinessTime(String),
    /// The backing store failed. `retryable` tells whether trying again can help.
    #[error("store error: {message}")]
    Store {
        /// What failed, in words (the operation or the store's message).
        message: String,
        /// Whether a retry can help (connection loss, serialization failure).
        retryable: bool,
        /// The store's own error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// A channel (WhatsApp, e-mail…) failed to deliver.
    #[error("channel error ({failure:?}): {message}")]
    Channel {
        /// Why, in channel-neutral terms.
        failure: crate::channel::ChannelFailure,
        /// What failed, in words (the channel's error message).
        message: String,
        /// Whether a retry can help (rate limit, 5xx, timeout).
        retryable: bool,
        /// The channel adapter's own error (HTTP or API error), when there is one.
        #[source]
        source: Option<BoxError>,
    },
}

/// Coarse classification of an [`Error`], stable for matching in callers and HTTP mappers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::Invalid`]: the input failed validation.
    Invalid,
    /// Unknown id (or another tenant's).
    NotFound,
    /// [`Error::InvalidTransition`]: the lifecycle does not allow the status move.
    InvalidTransition,
    /// [`Error::Forbidden`]: the actor may not do this.
    Forbidden,
    /// Lost race; rerunning can succeed.
    Conflict,
    /// [`Error::AlreadyExists`]: a business key (name, e-mail, phone…) is taken.
    AlreadyExists,
    /// The state forbids it, permanently until it changes.
    Refused,
    /// Invalid setor × motivo.
    InvalidClassification,
    /// [`Error::NoBusinessTime`]: a calendar has no business time where some was needed.
    NoBusinessTime,
    /// [`Error::Store`]: the backing store failed.
    Store,
    /// [`Error::Channel`]: a channel failed to deliver.
    Channel,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&s)
    }
}

impl Error {
    /// Validation error for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
            allowed: Vec::new(),
        }
    }

    /// Validation error listing the accepted values.
    pub fn invalid_with(
        field: impl Into<String>,
        reason: impl Into<String>,
        allowed: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
            allowed: allowed.into_iter().map(Into::into).collect(),
        }
    }

    /// Not-found error.
    pub fn not_found(entity: Entity, id: impl fmt::Display) -> Self {
        Error::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// A lost race on `entity` (a stale version): rerunning can succeed.
    pub fn conflict(entity: Entity, detail: impl Into<String>) -> Self {
        Error::Conflict {
            entity: Some(entity),
            detail: detail.into(),
        }
    }

    /// `entity`'s `key` is taken by `existing` (an id or number, when known).
    pub fn already_exists(entity: Entity, key: &'static str, existing: Option<String>) -> Self {
        Error::AlreadyExists {
            entity,
            key,
            existing,
            source: None,
        }
    }

    /// A store's unique violation: `entity`'s `key` is taken, `source` is the store's error.
    /// The service reruns a workflow that meets one (a concurrent transaction committed the
    /// key after this one looked); the rerun sees the row and answers for it.
    pub fn unique_violation(
        entity: Entity,
        key: &'static str,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::AlreadyExists {
            entity,
            key,
            existing: None,
            source: Some(source.into()),
        }
    }

    /// A permanent refusal about `entity`.
    pub fn refused(entity: Entity, reason: impl Into<String>) -> Self {
        Error::Refused {
            entity,
            reason: reason.into(),
        }
    }

    /// A store failure carrying the store's own error as its source; `retryable` says whether
    /// trying again can help.
    pub fn store(message: impl Into<String>, retryable: bool, source: impl Into<BoxError>) -> Self {
        Error::Store {
            message: message.into(),
            retryable,
            source: Some(source.into()),
        }
    }

    /// The coarse [`ErrorKind`] of this error, for matching and for mapping to HTTP statuses.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid { .. } => ErrorKind::Invalid,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::InvalidTransition { .. } => ErrorKind::InvalidTransition,
            Error::Forbidden { .. } => ErrorKind::Forbidden,
            Error::Conflict { .. } => ErrorKind::Conflict,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::Refused { .. } => ErrorKind::Refused,
            Error::InvalidClassification { .. } => ErrorKind::InvalidClassification,
            Error::NoBusinessTime(_) => ErrorKind::NoBusinessTime,
            Error::Store { .. } => ErrorKind::Store,
            Error::Channel { .. } => ErrorKind::Channel,
        }
    }

    /// Whether repeating the same call can succeed (lost races, connection loss, rate limits).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Conflict { .. } => true,
            Error::Store { retryable, .. } | Error::Channel { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// Whether a workflow should run again: it lost a race ([`Error::Conflict`]) or a store
    /// refused a key another transaction committed after this one looked
    /// ([`Error::unique_violation`]).
    pub(crate) fn reruns(&self) -> bool {
        matches!(self, Error::Conflict { .. }) || self.collision().is_some()
    }

    /// The entity and key of a store's unique violation (not of a workflow's own
    /// `AlreadyExists`, which has no source).
    pub(crate) fn collision(&self) -> Option<(Entity, &'static str)> {
        match self {
            Error::AlreadyExists {
                entity,
                key,
                source: Some(_),
                ..
            } => Some((*entity, key)),
            _ => None,
        }
    }

    /// The entity an error is about, if any.
    pub fn entity(&self) -> Option<Entity> {
        match self {
            Error::NotFound { entity, .. }
            | Error::AlreadyExists { entity, .. }
            | Error::Refused { entity, .. } => Some(*entity),
            Error::Conflict { entity, .. } => *entity,
            _ => None,
        }
    }

    /// The field a validation error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            Error::InvalidClassification { .. } => Some("motivo"),
            _ => None,
        }
    }

    /// Values that would have been accepted, if known.
    pub fn allowed_values(&self) -> &[String] {
        match self {
            Error::Invalid { allowed, .. } | Error::InvalidClassification { allowed, .. } => {
                allowed
            }
            _ => &[],
        }
    }
}

/// What an error is about: every kind of record the desk keeps. Callers match on it
/// (`Error::NotFound { entity: Entity::ChannelAccount, .. }`); its `Display` and JSON form
/// are the snake-case name (`channel_account`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Entity {
    /// An organization (tenant).
    Organization,
    /// An inbox (a WhatsApp number, an e-mail address…).
    ChannelAccount,
    /// A customer ([`Contact`](crate::domain::party::Contact)).
    Contact,
    /// A contact's thread on one inbox.
    Conversation,
    /// A ticket ([`Ticket`](crate::domain::ticket::Ticket)).
    Ticket,
    /// A message of a ticket ([`Message`](crate::domain::message::Message)).
    Message,
    /// A Kanban column ([`Stage`](crate::domain::board::Stage)).
    Stage,
    /// A ticket category ([`Category`](crate::domain::board::Category)).
    Category,
    /// A queue (a setor's line).
    Queue,
    /// An agent's membership of a queue.
    QueueMember,
    /// A human agent ([`Agent`](crate::domain::team::Agent)).
    Agent,
    /// A saved reply ([`CannedResponse`](crate::domain::canned::CannedResponse)).
    CannedResponse,
    /// An SLA policy ([`SlaPolicy`](crate::sla::SlaPolicy)).
    SlaPolicy,
    /// A sale recorded on a ticket ([`Sale`](crate::domain::records::Sale)).
    Sale,
    /// One attendance of a ticket by an agent.
    AssignmentCycle,
    /// A row of the audit trail ([`AuditEntry`](crate::domain::records::AuditEntry)).
    AuditEntry,
    /// An event of the outbox ([`Event`](crate::domain::records::Event)).
    Event,
    /// The setor × motivo catalogue.
    Catalogue,
}

impl Entity {
    /// The snake-case name (`sla_policy`).
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Organization => "organization",
            Entity::ChannelAccount => "channel_account",
            Entity::Contact => "contact",
            Entity::Conversation => "conversation",
            Entity::Ticket => "ticket",
            Entity::Message => "message",
            Entity::Stage => "stage",
            Entity::Category => "category",
            Entity::Queue => "queue",
            Entity::QueueMember => "queue_member",
            Entity::Agent => "agent",
            Entity::CannedResponse => "canned_response",
            Entity::SlaPolicy => "sla_policy",
            Entity::Sale => "sale",
            Entity::AssignmentCycle => "assignment_cycle",
            Entity::AuditEntry => "audit_entry",
            Entity::Event => "event",
            Entity::Catalogue => "catalogue",
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
