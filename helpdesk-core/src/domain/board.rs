//! Kanban stages and ticket categories.

use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A Kanban column of the ticket board; each ticket sits in at most one
/// (its [`stage_id`](crate::domain::ticket::Ticket::stage_id)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// Identifies the stage; tickets point at it through
    /// [`Ticket::stage_id`](crate::domain::ticket::Ticket::stage_id).
    pub id: StageId,
    /// Organization the stage belongs to; every tenant has its own board.
    pub org_id: OrgId,
    /// Column title shown on the board (`Novo`), trimmed, 1 to 120 characters.
    pub name: String,
    /// Column color for UIs, `#rrggbb` in lower case.
    pub color: String,
    /// Position, ascending left to right. The first stage is where new tickets start.
    pub position: i32,
    /// When the stage was created (UTC).
    pub created_at: DateTime<Utc>,
}

/// The stages created for a tenant that has none (`ensure`).
pub const DEFAULT_STAGES: [(&str, &str); 4] = [
    ("Novo", "#3b82f6"),
    ("Em Andamento", "#f59e0b"),
    ("Aguardando Cliente", "#8b5cf6"),
    ("Fechado", "#10b981"),
];

/// A ticket category (optionally nested).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// Identifies the category; tickets point at it through
    /// [`Ticket::category_id`](crate::domain::ticket::Ticket::category_id).
    pub id: CategoryId,
    /// Organization the category belongs to.
    pub org_id: OrgId,
    /// Label shown to agents and used in reports (`Financeiro`), trimmed, 1 to 120 characters.
    pub name: String,
    /// Free text explaining when to use the category; `None` when none was given.
    pub description: Option<String>,
    /// Color for UIs, `#rrggbb` in lower case; `None` when not set.
    pub color: Option<String>,
    /// The category this one is nested under, of the same organization; `None` for a top-level
    /// category.
    pub parent_id: Option<CategoryId>,
}
