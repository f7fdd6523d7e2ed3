//! Organizations (tenants), channel accounts (inboxes), contacts (leads) and conversations.

use crate::domain::catalogue::Catalogue;
use crate::domain::document::Document;
use crate::domain::phone::{PhoneNumber, PhoneRegion};
use crate::ids::*;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A tenant. Nothing crosses organizations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// Id.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Time zone for date presets and reports.
    pub timezone: Tz,
    /// Region (ISO code) used to read phone numbers written without a country code.
    pub phone_region: String,
    /// First ticket number (numbers then grow by one, gap-free).
    pub first_ticket_number: u64,
    /// Setor × motivo catalogue.
    pub catalogue: Catalogue,
    /// Creation instant.
    pub created_at: DateTime<Utc>,
}

impl Organization {
    /// The phone region as a value.
    pub fn region(&self) -> PhoneRegion {
        PhoneRegion::from_iso(&self.phone_region).unwrap_or_default()
    }
}

/// Kinds of channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// WhatsApp Cloud API (external id = `phone_number_id`).
    Whatsapp,
    /// E-mail (external id = address).
    Email,
    /// Web chat widget.
    WebChat,
    /// Anything else the integrator brings.
    Other,
}

impl ChannelKind {
    /// Every kind.
    pub const ALL: [ChannelKind; 4] = [Self::Whatsapp, Self::Email, Self::WebChat, Self::Other];

    /// The kind with this wire name.
    pub fn from_name(name: &str) -> Option<ChannelKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Whatsapp => "whatsapp",
            Self::Email => "email",
            Self::WebChat => "web_chat",
            Self::Other => "other",
        }
    }
}

/// An inbox: a WhatsApp number, an e-mail address, a web chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelAccount {
    /// Id.
    pub id: ChannelAccountId,
    /// Tenant.
    pub org_id: OrgId,
    /// Kind.
    pub kind: ChannelKind,
    /// The channel's own id (WhatsApp `phone_number_id`), unique per kind across tenants:
    /// inbound traffic is routed to its tenant by it.
    pub external_id: String,
    /// Display name.
    pub name: String,
    /// Queue new conversations of this inbox go to.
    pub default_queue_id: Option<QueueId>,
    /// Creation instant.
    pub created_at: DateTime<Utc>,
}

/// A customer (the PRD's lead).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Id.
    pub id: ContactId,
    /// Tenant.
    pub org_id: OrgId,
    /// Name as known.
    pub name: Option<String>,
    /// Phone in E.164.
    pub phone: Option<PhoneNumber>,
    /// WhatsApp user id (the business-scoped id; messages may carry it without a phone).
    pub whatsapp_id: Option<String>,
    /// E-mail, lower case.
    pub email: Option<String>,
    /// The opaque id a channel without phones or e-mails knows the customer by (a web-chat
    /// widget's visitor id, an integrator's own user id); unique in the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_id: Option<String>,
    /// CPF / CNPJ.
    pub document: Option<Document>,
    /// VIP customers go first in queues.
    pub vip: bool,
    /// Free attributes.
    pub attributes: BTreeMap<String, String>,
    /// Creation instant.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Normalizes an e-mail address (trim, lower case) and checks its basic shape.
pub fn normalize_email(s: &str) -> Result<String> {
    let e = s.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty()
                && d.contains('.')
                && !d.starts_with('.')
                && !d.ends_with('.')
                && !d.contains('@')
        })
        && !e.contains(char::is_whitespace);
    if valid {
        Ok(e)
    } else {
        Err(Error::invalid(
            "email",
            format!("{s:?} is not an e-mail address"),
        ))
    }
}

/// How a contact is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactKey {
    /// By phone (matches ninth-digit variants through [`PhoneNumber::match_key`]).
    Phone(PhoneNumber),
    /// By WhatsApp user id.
    WhatsappId(String),
    /// By e-mail (normalized).
    Email(String),
    /// By the opaque id a web chat or an integrator's channel gives its visitor.
    VisitorId(String),
}

/// A conversation: one contact on one inbox. At most one live ticket at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Id.
    pub id: ConversationId,
    /// Tenant.
    pub org_id: OrgId,
    /// Customer.
    pub contact_id: ContactId,
    /// Inbox.
    pub channel_account_id: ChannelAccountId,
    /// Last inbound message (WhatsApp's 24-hour customer service window starts here).
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// Creation instant.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_or_refused() {
        assert_eq!(
            normalize_email(" Joao@Email.com ").unwrap(),
            "joao@email.com"
        );
        for bad in ["", "joao", "joao@", "@x.com", "a@b", "a b@c.com", "a@.com"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
