//! sqlx errors as core errors.

use helpdesk_core::{Entity, Error};

/// Maps a database error: a unique violation is `AlreadyExists` naming the entity and key its
/// constraint protects (the database error kept as the source; the service reruns a workflow
/// that meets one), a serialization failure or deadlock a `Conflict`, a foreign-key violation
/// `NotFound` of the referenced entity, lost connections a retryable store error, anything else
/// a store error that a retry will not fix.
pub(crate) fn db(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) => match d.code().as_deref() {
            Some("23505") => {
                let (entity, key) = d
                    .constraint()
                    .and_then(unique_key)
                    .unwrap_or((Entity::Organization, "unknown unique constraint"));
                Error::unique_violation(entity, key, e)
            }
            Some("40001" | "40P01") => Error::Conflict {
                entity: None,
                detail: d.message().to_owned(),
            },
            Some("23503") => Error::NotFound {
                entity: d
                    .constraint()
                    .and_then(referenced)
                    .unwrap_or(Entity::Organization),
                id: d.constraint().unwrap_or("foreign key").to_owned(),
            },
            // Admin shutdown, crash shutdown, cannot connect now, insufficient resources (too
            // many connections, disk full, out of memory), connection failures, and a database
            // not accepting connections (55000 at connect time).
            Some(
                "57P01" | "57P02" | "57P03" | "53000" | "53100" | "53200" | "53300" | "53400"
                | "08000" | "08001" | "08003" | "08004" | "08006" | "55000",
            ) => Error::store("database unavailable", true, e),
            _ => Error::store("database error", false, e),
        },
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => Error::store("database connection lost", true, e),
        _ => Error::store("database error", false, e),
    }
}

/// A stored document that does not decode: a bad row, reported, never a panic.
pub(crate) fn bad_row(table: &str, e: serde_json::Error) -> Error {
    Error::store(format!("row of {table} does not decode"), false, e)
}

/// Every unique constraint of the schema: the entity it belongs to and the business key it
/// protects, named as the in-memory store names them. A test checks the list against the
/// migrated schema, so a new constraint cannot be forgotten.
pub const UNIQUE_KEYS: &[(&str, Entity, &str)] = &[
    ("organizations_pkey", Entity::Organization, "id"),
    ("ticket_counters_pkey", Entity::Organization, "id"),
    ("channel_accounts_pkey", Entity::ChannelAccount, "id"),
    (
        "channel_accounts_kind_external_id_key",
        Entity::ChannelAccount,
        "external_id",
    ),
    ("contacts_pkey", Entity::Contact, "id"),
    ("contacts_org_id_phone_key_key", Entity::Contact, "phone"),
    (
        "contacts_org_id_whatsapp_id_key",
        Entity::Contact,
        "whatsapp_id",
    ),
    ("contacts_org_id_email_key", Entity::Contact, "email"),
    (
        "contacts_org_id_visitor_id_key",
        Entity::Contact,
        "visitor_id",
    ),
    ("conversations_pkey", Entity::Conversation, "id"),
    (
        "conversations_org_id_contact_id_channel_account_id_key",
        Entity::Conversation,
        "contact and inbox",
    ),
    ("stages_pkey", Entity::Stage, "id"),
    ("stages_org_id_name_key_key", Entity::Stage, "name"),
    ("categories_pkey", Entity::Category, "id"),
    ("categories_org_id_name_key_key", Entity::Category, "name"),
    ("queues_pkey", Entity::Queue, "id"),
    ("queues_org_id_name_key_key", Entity::Queue, "name"),
    ("agents_pkey", Entity::Agent, "id"),
    ("agents_org_id_email_key", Entity::Agent, "email"),
    ("queue_members_pkey", Entity::QueueMember, "queue and agent"),
    ("tickets_pkey", Entity::Ticket, "id"),
    ("tickets_org_id_number_key", Entity::Ticket, "number"),
    (
        "tickets_one_live_per_conversation",
        Entity::Ticket,
        "live ticket of the conversation",
    ),
    ("messages_pkey", Entity::Message, "id"),
    ("messages_external", Entity::Message, "external_id"),
    ("canned_responses_pkey", Entity::CannedResponse, "id"),
    (
        "canned_responses_org_id_shortcut_key",
        Entity::CannedResponse,
        "shortcut",
    ),
    ("sla_policies_pkey", Entity::SlaPolicy, "id"),
    (
        "sla_policies_org_id_name_key_key",
        Entity::SlaPolicy,
        "name",
    ),
    ("sales_pkey", Entity::Sale, "id"),
    ("assignment_cycles_pkey", Entity::AssignmentCycle, "id"),
    ("audit_entries_pkey", Entity::AuditEntry, "id"),
    ("events_pkey", Entity::Event, "seq"),
    ("events_id_key", Entity::Event, "id"),
];

/// Every foreign key of the schema and the entity it refers to.
pub const FOREIGN_KEYS: &[(&str, Entity)] = &[
    ("ticket_counters_org_id_fkey", Entity::Organization),
    ("channel_accounts_org_id_fkey", Entity::Organization),
    ("contacts_org_id_fkey", Entity::Organization),
    (
        "conversations_org_id_channel_account_id_fkey",
        Entity::ChannelAccount,
    ),
    ("conversations_org_id_contact_id_fkey", Entity::Contact),
    ("stages_org_id_fkey", Entity::Organization),
    ("categories_org_id_fkey", Entity::Organization),
    ("queues_org_id_fkey", Entity::Organization),
    ("agents_org_id_fkey", Entity::Organization),
    ("queue_members_org_id_agent_id_fkey", Entity::Agent),
    ("queue_members_org_id_queue_id_fkey", Entity::Queue),
    ("tickets_org_id_conversation_id_fkey", Entity::Conversation),
    ("messages_org_id_ticket_id_fkey", Entity::Ticket),
    ("canned_responses_org_id_fkey", Entity::Organization),
    ("sla_policies_org_id_fkey", Entity::Organization),
    ("sales_org_id_ticket_id_fkey", Entity::Ticket),
    ("assignment_cycles_org_id_ticket_id_fkey", Entity::Ticket),
    ("audit_entries_org_id_fkey", Entity::Organization),
    ("events_org_id_fkey", Entity::Organization),
];

fn unique_key(constraint: &str) -> Option<(Entity, &'static str)> {
    UNIQUE_KEYS
        .iter()
        .find(|(c, ..)| *c == constraint)
        .map(|&(_, e, k)| (e, k))
}

fn referenced(constraint: &str) -> Option<Entity> {
    FOREIGN_KEYS
        .iter()
        .find(|(c, _)| *c == constraint)
        .map(|&(_, e)| e)
}
