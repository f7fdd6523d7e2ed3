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
        /// Human readable reason.
        reason: String,
        /// Values that would have been accepted, when the set is small and known.
        allowed: Vec<String>,
    },
    /// The entity does not exist in the caller's organization (foreign tenants look the same).
    #[error("{entity} not found: {id}")]
    NotFound {
        /// Entity kind (`ticket`, `queue`…).
        entity: &'static str,
        /// The id or key that was looked up.
        id: String,
    },
    /// A lifecycle move that the state machine does not allow.
    #[error("invalid transition from {from} to {to}")]
    InvalidTransition {
        /// Current status.
        from: String,
        /// Requested status.
        to: String,
    },
    /// The actor may not do this.
    #[error("forbidden: {actor} may not {action}")]
    Forbidden {
        /// Who tried.
        actor: String,
        /// What was refused.
        action: String,
    },
    /// A uniqueness or concurrency conflict (duplicate key, lost race, stale version).
    #[error("conflict on {entity}: {detail}")]
    Conflict {
        /// Entity kind.
        entity: &'static str,
        /// What collided.
        detail: String,
    },
    /// The thing to create exists already (a second live ticket for a conversation…).
    #[error("{entity} already exists: {id}")]
    AlreadyExists {
        /// Entity kind.
        entity: &'static str,
        /// The existing one.
        id: String,
    },
    /// The setor × motivo pair is not in the catalogue.
    #[error("motivo {motivo:?} is not valid for setor {setor:?}{}", closest.as_ref().map(|c| format!(" (closest: {c:?})")).unwrap_or_default())]
    InvalidClassification {
        /// The setor as given (or as resolved).
        setor: String,
        /// The motivo as given.
        motivo: String,
        /// Valid motivos for the setor, or valid setores when the setor itself is unknown.
        allowed: Vec<String>,
        /// Closest valid value to what was given.
        closest: Option<String>,
    },
    /// No agent could take the ticket (all offline, full, or lacking skills).
    #[error("no agent available in queue {queue}")]
    NoAgentAvailable {
        /// Queue id.
        queue: String,
    },
    /// A calendar has no business time where some was needed.
    #[error("calendar has no business time {0}")]
    NoBusinessTime(String),
    /// The backing store failed. `retryable` tells whether trying again can help.
    #[error("store error: {message}")]
    Store {
        /// What failed.
        message: String,
        /// Whether a retry can help (connection loss, serialization failure).
        retryable: bool,
        /// Underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// A channel (WhatsApp, e-mail…) failed to deliver.
    #[error("channel error ({failure:?}): {message}")]
    Channel {
        /// Why, in channel-neutral terms.
        failure: crate::channel::ChannelFailure,
        /// What failed.
        message: String,
        /// Whether a retry can help (rate limit, 5xx, timeout).
        retryable: bool,
        /// Underlying error.
        #[source]
        source: Option<BoxError>,
    },
}

/// Coarse classification of an [`Error`], stable for matching in callers and HTTP mappers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad input.
    Invalid,
    /// Unknown id (or another tenant's).
    NotFound,
    /// Lifecycle move not allowed.
    InvalidTransition,
    /// Actor not allowed.
    Forbidden,
    /// Duplicate or lost race.
    Conflict,
    /// Already exists.
    AlreadyExists,
    /// Invalid setor × motivo.
    InvalidClassification,
    /// No agent could take the work.
    NoAgentAvailable,
    /// Calendar never open.
    NoBusinessTime,
    /// Storage failure.
    Store,
    /// Channel failure.
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
    pub fn not_found(entity: &'static str, id: impl fmt::Display) -> Self {
        Error::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// Conflict error.
    pub fn conflict(entity: &'static str, detail: impl Into<String>) -> Self {
        Error::Conflict {
            entity,
            detail: detail.into(),
        }
    }

    /// Store failure with a source.
    pub fn store(message: impl Into<String>, retryable: bool, source: impl Into<BoxError>) -> Self {
        Error::Store {
            message: message.into(),
            retryable,
            source: Some(source.into()),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid { .. } => ErrorKind::Invalid,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::InvalidTransition { .. } => ErrorKind::InvalidTransition,
            Error::Forbidden { .. } => ErrorKind::Forbidden,
            Error::Conflict { .. } => ErrorKind::Conflict,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::InvalidClassification { .. } => ErrorKind::InvalidClassification,
            Error::NoAgentAvailable { .. } => ErrorKind::NoAgentAvailable,
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
