//! Kanban stages and ticket categories.

use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A Kanban column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// Id.
    pub id: StageId,
    /// Tenant.
    pub org_id: OrgId,
    /// Name (`Novo`).
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    /// Position, ascending left to right. The first stage is where new tickets start.
    pub position: i32,
    /// Creation instant.
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
    /// Id.
    pub id: CategoryId,
    /// Tenant.
    pub org_id: OrgId,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// `#rrggbb`.
    pub color: Option<String>,
    /// Parent category.
    pub parent_id: Option<CategoryId>,
}
